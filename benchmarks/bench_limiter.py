"""Benchmark: sonicmix.Limiter against pedalboard.Limiter on 300 s of stereo 48 kHz float32.

Run with ``python benchmarks/bench_limiter.py [seconds]``. Both limiters process the
same loud, music-like material (kick, snare, hats, bass, chords over a pink bed,
about -10 LUFS with peaks near +3 dBTP) in the same process, single-threaded,
one whole buffer at a time. After a warm-up the runs alternate between them and
the median CPU time (``time.process_time``: the machine is shared, and wall time
would count the other work too) of 7 is reported in ns per channel-sample, with
the ratio; ``true_peak="ideal"`` is timed in the same rotation, against the default.

pedalboard's Limiter wraps JUCE's ``dsp::Limiter``: two compressors, automatic
makeup gain and a hard clip at 0 dBFS, with no lookahead and no oversampling.
It does not promise a true-peak ceiling (its clipped output reads about +3 dBTP
here); its output's true peak is printed next to ours, as read by our meter, by
libebur128 and by a 16x FFT reconstruction of the first 20 s (ideal, band-limited).

The goal (issue 18: at most half of pedalboard's time) holds on an AVX2-only CPU;
on a larger one, compile for one::

    NUMBA_CPU_NAME=haswell NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/bench_limiter.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402

RATE = 48_000
RUNS = 7


def material(seconds: float, sample_rate: int = RATE, seed: int = 1) -> np.ndarray:
    """Loud music-like stereo: kick, snare, hats, a bass line and chords over pink noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    beat = 0.5  # 120 bpm
    phase = (t % beat) / beat
    kick = np.sin(2 * np.pi * 55.0 * t * (1 + 2 * np.exp(-phase * 20))) * np.exp(-phase * 8)
    snare = rng.standard_normal(n) * np.exp(-(((t + beat / 2) % (2 * beat)) / (2 * beat)) * 30)
    hats = np.diff(rng.standard_normal(n + 1)) * np.exp(-((t % (beat / 4)) / (beat / 4)) * 60) * 0.3
    notes = 55.0 * 2 ** (rng.integers(0, 12, size=int(seconds / beat) + 1) / 12)
    bass = np.tanh(2 * np.sin(2 * np.pi * np.cumsum(notes[(t / beat).astype(int)]) / sample_rate))
    chords = sum(np.sin(2 * np.pi * 220.0 * k * t + rng.uniform(0, 6)) for k in (1, 1.26, 1.5, 2.0)) / 4
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=-1)
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    pink = np.fft.irfft(spectrum / np.sqrt(f), n, axis=-1)
    pink /= pink.std()
    mono = 0.5 * kick + 0.3 * snare + 0.2 * hats + 0.3 * bass + 0.2 * chords
    x = np.stack([mono + 0.1 * pink[0] + 0.05 * chords, mono + 0.1 * pink[1] - 0.05 * chords])
    x *= 1.4 / np.abs(x).max()
    return x.astype(np.float32)


def true_peaks_dbtp(y: np.ndarray) -> tuple[float, float, float]:
    """(our meter, libebur128, 16x FFT reconstruction of the first 20 s) true peak of ``y`` in dBTP."""
    import pyebur128 as ebu
    from scipy.signal import resample

    from sonicmix.loudness import measure

    state = ebu.R128State(y.shape[0], RATE, ebu.MeasurementMode.MODE_TRUE_PEAK)
    frames = np.ascontiguousarray(y.T, dtype=np.float64).reshape(-1)
    state.add_frames(frames, y.shape[1])
    lib = 20 * math.log10(max(ebu.get_true_peak(state, c) for c in range(y.shape[0])))
    # 20 s and 4096 samples on each side (the silence before the start if there is no more), whose
    # reconstruction is not counted: the cut there would ring, the sinc's tails reach 4096 samples
    edge = 4096
    head = np.pad(y[:, : 20 * RATE + edge].astype(np.float64), ((0, 0), (edge, 0)))
    up = resample(head, 16 * head.shape[1], axis=1)[:, 16 * edge : -16 * edge]
    return measure(y, RATE).true_peak_dbtp, lib, 20 * math.log10(np.abs(up).max())


def median_ns(fns: dict, x: np.ndarray) -> dict[str, float]:
    """Median CPU time per channel-sample of each function, runs interleaved."""
    for fn in fns.values():
        fn(x[:, :RATE])  # warm-up: numba compilation and caches
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(RUNS):
        for name, fn in fns.items():
            start = time.process_time()
            fn(x)
            times[name].append(time.process_time() - start)
    return {name: statistics.median(t) / x.size * 1e9 for name, t in times.items()}


def flushed(limiter, x: np.ndarray) -> np.ndarray:
    """The whole output of ``limiter``: the input followed by its latency of silence."""
    tail = np.zeros((x.shape[0], limiter.latency_samples(RATE)), x.dtype)
    return limiter(np.concatenate([x, tail], axis=1), RATE)


def main() -> None:
    import pedalboard

    from sonicmix.nodes.limiter import Limiter

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    x = material(seconds)
    ours = Limiter(ceiling_dbtp=-1.0, release_s=0.1)
    ideal = Limiter(ceiling_dbtp=-1.0, release_s=0.1, true_peak="ideal")
    theirs = pedalboard.Limiter(threshold_db=-1.0, release_ms=100.0)
    per = median_ns(
        {
            "sonicmix": lambda a: ours(a, RATE),
            "ideal": lambda a: ideal(a, RATE),
            "pedalboard": lambda a: theirs(a, RATE),
        },
        x,
    )
    print(describe())
    print(
        f"material: {seconds:g} s stereo {RATE} Hz float32; input true peak "
        "%.2f dBTP (ours) / %.2f (libebur128) / %.2f (ideal)" % true_peaks_dbtp(x)
    )
    for name, label, y in (
        ("sonicmix", "sonicmix.Limiter  ", flushed(ours, x)),
        ("ideal", "  true_peak=ideal  ", flushed(ideal, x)),
        ("pedalboard", "pedalboard.Limiter", theirs(x, RATE)),
    ):
        print(
            f"{label} {per[name]:6.2f} ns per channel-sample (median CPU time of {RUNS}); "
            "output true peak %.4f / %.4f / %.4f dBTP" % true_peaks_dbtp(y)
        )
    print(f"ratio sonicmix / pedalboard: {per['sonicmix'] / per['pedalboard']:.2f}")
    print(f"ratio true_peak='ideal' / default: {per['ideal'] / per['sonicmix']:.2f}")


if __name__ == "__main__":
    main()

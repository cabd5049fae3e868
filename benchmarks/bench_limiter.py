"""Benchmark: sonicmix.Limiter against pedalboard.Limiter on 300 s of stereo 48 kHz float32.

Run with ``python benchmarks/bench_limiter.py [seconds]``. Both limiters process the
same loud, music-like material (kick, snare, hats, bass, chords over a pink bed,
about -10 LUFS with peaks near +3 dBTP) in the same process, single-threaded,
one whole buffer at a time; after a warm-up, the runs alternate between the two
and the median of 5 is reported in ns per channel-sample, with the ratio.

pedalboard's Limiter wraps JUCE's ``dsp::Limiter``: two compressors, automatic
makeup gain and a hard clip at 0 dBFS, with no lookahead and no oversampling.
It does not promise a true-peak ceiling (its clipped output reads about +3 dBTP
here); its output's true peak is printed next to ours, as read by our meter and
by libebur128.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

RATE = 48_000
RUNS = 5


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


def true_peaks_dbtp(y: np.ndarray) -> tuple[float, float]:
    """(our meter, libebur128) true peak of ``y`` in dBTP."""
    import pyebur128 as ebu

    from sonicmix.loudness import measure

    state = ebu.R128State(y.shape[0], RATE, ebu.MeasurementMode.MODE_TRUE_PEAK)
    frames = np.ascontiguousarray(y.T, dtype=np.float64).reshape(-1)
    state.add_frames(frames, y.shape[1])
    lib = 20 * math.log10(max(ebu.get_true_peak(state, c) for c in range(y.shape[0])))
    return measure(y, RATE).true_peak_dbtp, lib


def main() -> None:
    import pedalboard

    from sonicmix.nodes.limiter import Limiter

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    x = material(seconds)
    ours = Limiter(ceiling_dbtp=-1.0, release_s=0.1)
    theirs = pedalboard.Limiter(threshold_db=-1.0, release_ms=100.0)
    ours(x[:, :RATE], RATE)  # warm-up: numba compilation and caches
    theirs(x[:, :RATE], RATE)
    times: dict[str, list[float]] = {"sonicmix": [], "pedalboard": []}
    y_ours = y_theirs = x
    for _ in range(RUNS):
        start = time.perf_counter()
        y_ours = ours(x, RATE)
        times["sonicmix"].append(time.perf_counter() - start)
        start = time.perf_counter()
        y_theirs = theirs(x, RATE)
        times["pedalboard"].append(time.perf_counter() - start)
    per = {k: statistics.median(v) / x.size * 1e9 for k, v in times.items()}
    # flush our lookahead so that the measured output is complete
    tail = np.zeros((2, ours.latency_samples(RATE)), np.float32)
    state = ours.init_state(2, RATE, np.float32)
    _, state = ours.process(x, RATE, state)
    rest, _ = ours.process(tail, RATE, state)
    y_full = np.concatenate([y_ours[:, : x.shape[1]], rest], axis=1)
    print(
        f"material: {seconds:g} s stereo {RATE} Hz float32; input true peak "
        "%.2f dBTP (ours) / %.2f dBTP (libebur128)" % true_peaks_dbtp(x)
    )
    print(
        f"sonicmix.Limiter   {per['sonicmix']:6.2f} ns per channel-sample (median of {RUNS}); "
        "output true peak %.4f / %.4f dBTP" % true_peaks_dbtp(y_full)
    )
    print(
        f"pedalboard.Limiter {per['pedalboard']:6.2f} ns per channel-sample (median of {RUNS}); "
        "output true peak %.4f / %.4f dBTP" % true_peaks_dbtp(y_theirs)
    )
    print(f"ratio sonicmix / pedalboard: {per['sonicmix'] / per['pedalboard']:.2f}")


if __name__ == "__main__":
    main()

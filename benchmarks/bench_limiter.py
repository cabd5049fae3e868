"""Benchmark: sonicmix.Limiter against pedalboard.Limiter on 300 s of stereo 48 kHz float32.

Run with ``python benchmarks/bench_limiter.py [seconds] [--timing-only]`` (the second leaves
out the true peaks, whose ideal reconstruction takes minutes). Both limiters process the
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
libebur128 and by the ideal (sinc) reconstruction of the whole output (:func:`ideal_peaks`), with
the places where that passes the ceiling.

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


def true_peaks_dbtp(y: np.ndarray, peaks: list | None = None) -> tuple[float, float, float]:
    """(our meter, libebur128, ideal reconstruction of the whole signal) true peak of ``y`` in dBTP;
    ``peaks``, if given, from :func:`ideal_peaks` (otherwise those within 0.3 dB of our meter's)."""
    import pyebur128 as ebu

    from sonicmix.loudness import measure

    state = ebu.R128State(y.shape[0], RATE, ebu.MeasurementMode.MODE_TRUE_PEAK)
    frames = np.ascontiguousarray(y.T, dtype=np.float64).reshape(-1)
    state.add_frames(frames, y.shape[1])
    lib = 20 * math.log10(max(ebu.get_true_peak(state, c) for c in range(y.shape[0])))
    meter = measure(y, RATE).true_peak_dbtp
    ideal = peaks if peaks is not None else ideal_peaks(y, 10 ** ((meter - 0.3) / 20))
    return meter, lib, 20 * math.log10(ideal[0][2]) if ideal else -math.inf


# ----------------------------------------------------------------------------- ideal reconstruction
# The reference for true_peak="ideal": the sinc series sum_k y[k] sinc(t - k) of the whole signal
# (zero outside it), by two independent methods. (1) Segments of 65536 samples with 32768 more on
# each side, zero-padded to twice their length (so that the FFT's periodic wrap joins zeros to zeros
# and rings nowhere), upsampled 8x by FFT: it finds every place whose 8x grid reaches the level asked
# for, 0.3 dB below the ceiling (an 8x grid reads a peak at most 0.17 dB low). (2) At each such place,
# the direct sum over 8192 samples on each side, maximised by golden section, and over 65536 where
# that comes within 0.1 dB of the ceiling. They leave out samples beyond 32768 / 65536 samples: for
# white noise of rms s, about 0.45 s / sqrt(reach), 0.0025 s / 0.0018 s (8192: 0.005 s). (3) A
# cross-check of the highest: one segment around it upsampled 256x by FFT.


def _fft_upsampled(seg: np.ndarray, factor: int) -> np.ndarray:
    """Band-limited interpolation of ``seg`` (zero beyond it) at ``factor`` points per sample."""
    from scipy import fft

    m = 2 * seg.size
    spec = fft.rfft(seg, m)
    big = np.zeros(m * factor // 2 + 1, complex)
    big[: m // 2] = spec[: m // 2]  # the Nyquist bin of the zero-padded segment: left out (it is ~0)
    return fft.irfft(big, m * factor)[: seg.size * factor] * factor


def _segment(y: np.ndarray, channel: int, lo: int, hi: int) -> np.ndarray:
    seg = np.zeros(hi - lo)
    a, b = max(lo, 0), min(hi, y.shape[1])
    seg[a - lo : b - lo] = y[channel, a:b]
    return seg


def _sinc_sum(y: np.ndarray, channel: int, t: float, reach: int) -> float:
    m = int(math.floor(t))
    k = np.arange(max(0, m - reach), min(y.shape[1], m + reach + 1))
    return float(np.dot(y[channel, k].astype(np.float64), np.sinc(t - k)))


def _golden_max(y: np.ndarray, channel: int, t0: float, half_width: float, reach: int) -> tuple[float, float]:
    """The largest ``|sinc sum|`` within ``t0 +- half_width`` (golden section, to 1e-6 samples)."""
    f = lambda t: abs(_sinc_sum(y, channel, t, reach))  # noqa: E731
    a, b, g = t0 - half_width, t0 + half_width, (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > 1e-6:
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return (c, fc) if fc > fd else (d, fd)


def ideal_peaks(y: np.ndarray, level: float, core: int = 1 << 16) -> list[tuple[int, float, float]]:
    """Every local peak of the ideal reconstruction whose 8x grid reaches ``level`` (linear).

    Returns ``(channel, position in samples, peak)``, highest first; the peak from the direct sum,
    over 8192 samples on each side, then over 65536 for the five highest and those within 0.1 dB of
    ``level * 10^(0.3 / 20)`` (the ceiling, when ``level`` is 0.3 dB below it).
    """
    context, factor, found = core // 2, 8, []
    for ch in range(y.shape[0]):
        for a in range(0, y.shape[1], core):
            b = min(y.shape[1], a + core)
            up = np.abs(_fft_upsampled(_segment(y, ch, a - context, b + context), factor))
            up = up[context * factor : (context + b - a) * factor]
            idx = np.flatnonzero(up >= level)
            for run in np.split(idx, np.flatnonzero(np.diff(idx) > 4 * factor) + 1) if idx.size else []:
                t, peak = _golden_max(y, ch, a + run[np.argmax(up[run])] / factor, 1.0 / factor, 8192)
                found.append((ch, t, peak))
    found.sort(key=lambda p: -p[2])
    near = level * 10 ** (0.2 / 20)
    found = [
        (ch, *_golden_max(y, ch, t, 0.05, 65536)) if i < 5 or peak >= near else (ch, t, peak)
        for i, (ch, t, peak) in enumerate(found)
    ]
    return sorted(found, key=lambda p: -p[2])


def fft_check(y: np.ndarray, channel: int, t: float, half: int = 32768, factor: int = 256) -> float:
    """Peak within a sample of ``t`` from one segment of ``+-half`` samples upsampled ``factor`` x."""
    lo = int(t) - half
    up = np.abs(_fft_upsampled(_segment(y, channel, lo, int(t) + half), factor))
    at = int(round((t - lo) * factor))
    return float(up[at - factor : at + factor].max())


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

    from sonicmix.loudness import measure
    from sonicmix.nodes.limiter import Limiter

    args = [a for a in sys.argv[1:] if a != "--timing-only"]
    seconds = float(args[0]) if args else 300.0
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
    if "--timing-only" in sys.argv:
        for name in per:
            print(f"{name:10} {per[name]:6.2f} ns per channel-sample (median CPU time of {RUNS})")
        print(f"ratio sonicmix / pedalboard: {per['sonicmix'] / per['pedalboard']:.2f}")
        print(f"ratio true_peak='ideal' / default: {per['ideal'] / per['sonicmix']:.2f}")
        return
    print(
        f"material: {seconds:g} s stereo {RATE} Hz float32; input true peak "
        "%.2f dBTP (ours) / %.2f (libebur128) / %.2f (ideal)" % true_peaks_dbtp(x)
    )
    ceiling = 10 ** (-1.0 / 20)
    for name, label, y in (
        ("sonicmix", "sonicmix.Limiter  ", flushed(ours, x)),
        ("ideal", "  true_peak=ideal  ", flushed(ideal, x)),
        ("pedalboard", "pedalboard.Limiter", theirs(x, RATE)),
    ):
        peaks = ideal_peaks(y, ceiling * 10 ** (-0.3 / 20)) if name != "pedalboard" else None
        print(
            f"{label} {per[name]:6.2f} ns per channel-sample (median CPU time of {RUNS}); "
            "output true peak %.4f / %.4f / %.4f dBTP" % true_peaks_dbtp(y, peaks)
        )
        if peaks is not None:
            report_ideal(y, ceiling, peaks)
            print(f"    integrated loudness {measure(y, RATE).integrated_lufs:.2f} LUFS")
    print(f"ratio sonicmix / pedalboard: {per['sonicmix'] / per['pedalboard']:.2f}")
    print(f"ratio true_peak='ideal' / default: {per['ideal'] / per['sonicmix']:.2f}")


def report_ideal(y: np.ndarray, ceiling: float, peaks: list) -> None:
    """Where the ideal reconstruction of the whole output passes the ceiling, and by how much
    (``peaks`` from :func:`ideal_peaks` at 0.3 dB below the ceiling)."""
    overs = [p for p in peaks if p[2] > ceiling]
    print(f"    ideal reconstruction: {len(overs)} peaks over {20 * math.log10(ceiling):.2f} dBTP", end="")
    if peaks:
        ch, t, peak = peaks[0]
        check = fft_check(y, ch, t)
        print(
            f"; highest {20 * math.log10(peak):+.4f} dBTP (direct sum) / {20 * math.log10(check):+.4f} "
            f"(256x FFT of +-32768 samples) in channel {ch} at {t / RATE:.4f} s; next: "
            + ", ".join(f"{20 * math.log10(p):+.3f} at {tt / RATE:.3f} s" for _, tt, p in peaks[1:5])
        )
    else:
        print()


if __name__ == "__main__":
    main()

"""Loudness meter speed against libebur128 (pyebur128) and pyloudnorm.

Same 10-minute stereo 48 kHz float32 programme for everyone, in one process,
single thread; each peer gets the input in its own layout, prepared outside
the timed region. Prints medians in ns per channel-sample and the ratios.

    python benchmarks/bench_meter.py [--seconds 600] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def programme(seconds: float, sample_rate: int, seed: int = 7) -> np.ndarray:
    """Music-bed-like programme: pink noise under a slow level envelope, speech-like bursts, a tone."""
    import scipy.signal as ss

    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    white = rng.standard_normal((2, n)).astype(np.float32)
    # Paul Kellet's economy pink-noise filter (about -3 dB/octave)
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    pink = ss.lfilter(b, a, white, axis=1).astype(np.float32)
    level_db = np.repeat(rng.uniform(-18.0, 0.0, n // (5 * sample_rate) + 1), 5 * sample_rate)[:n]
    level = ss.lfilter([0.0005], [1.0, -0.9995], 10 ** (level_db / 20.0)).astype(np.float32)
    t = np.arange(n, dtype=np.float32) / sample_rate
    bursts = (np.sin(2 * np.pi * 0.7 * t) > 0.3).astype(np.float32) * 0.2
    voice = ss.lfilter([1.0], [1.0, -1.6, 0.8], rng.standard_normal(n)).astype(np.float32) * bursts * 0.05
    x = 0.25 * pink * level + voice
    x += 0.05 * np.sin(2 * np.pi * 440.0 * t, dtype=np.float32)
    return x.astype(np.float32)


def timed(fn, runs: int) -> float:
    fn()  # warm-up (numba compile, caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import pyebur128
    import pyloudnorm

    import sonicmix
    import sonicmix.loudness

    fs = 48000
    materials = {
        "programme": programme(args.seconds, fs),
        "white noise (worst case for true peak)": (
            np.random.default_rng(1).standard_normal((2, int(args.seconds * fs))) * 0.1
        ).astype(np.float32),
    }
    mode = pyebur128.MeasurementMode
    for name, x in materials.items():
        samples = x.size
        interleaved = np.ascontiguousarray(x.T).ravel()
        frames_f64 = np.ascontiguousarray(x.T, dtype=np.float64)
        pyln_meter = pyloudnorm.Meter(fs)

        def ebur_i_lra_tp(interleaved=interleaved, frames=x.shape[1]):
            state = pyebur128.R128State(2, fs, mode.MODE_I | mode.MODE_LRA | mode.MODE_TRUE_PEAK)
            state.add_frames(interleaved, frames)
            return (
                pyebur128.get_loudness_global(state),
                pyebur128.get_loudness_range(state),
                max(pyebur128.get_true_peak(state, c) for c in range(2)),
            )

        full_name = "sonicmix full (I, M/S series+max, LRA, TP)"
        results = {
            full_name: timed(lambda x=x: sonicmix.measure(x, fs), args.runs),
            "sonicmix integrated only": timed(
                lambda x=x: sonicmix.loudness.integrated_loudness(x, fs), args.runs
            ),
            "sonicmix measure, no true peak": timed(
                lambda x=x: sonicmix.measure(x, fs, true_peak=False), args.runs
            ),
            "pyebur128 I + LRA + TP": timed(ebur_i_lra_tp, args.runs),
            "pyloudnorm integrated": timed(
                lambda f=frames_f64, m=pyln_meter: m.integrated_loudness(f), args.runs
            ),
        }
        ns = {k: v / samples * 1e9 for k, v in results.items()}
        ours = sonicmix.measure(x, fs)
        ref_i, ref_lra, ref_tp = ebur_i_lra_tp()
        print(f"\n{name}: {args.seconds:g} s stereo {fs} Hz float32, median of {args.runs} runs")
        for k, v in ns.items():
            print(f"  {k:<45} {v:7.2f} ns/channel-sample")
        full_ratio = ns["pyebur128 I + LRA + TP"] / ns[full_name]
        integrated_ratio = ns["pyloudnorm integrated"] / ns["sonicmix integrated only"]
        print(f"  speed-up, full vs pyebur128 I+LRA+TP: {full_ratio:.1f}x")
        print(f"  speed-up, integrated vs pyloudnorm:   {integrated_ratio:.1f}x")
        print(f"  I    {ours.integrated_lufs:8.3f} LUFS (pyebur128 {ref_i:8.3f})")
        print(f"  LRA  {ours.lra_lu:8.2f} LU   (pyebur128 {ref_lra:8.2f})")
        print(f"  TP   {ours.true_peak_dbtp:8.2f} dBTP (pyebur128 {20 * np.log10(ref_tp):8.2f})")


if __name__ == "__main__":
    main()

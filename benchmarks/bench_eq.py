"""Benchmark: a 4-band EQ in sonicmix against the same chain in pedalboard.

The EQ is a broadcast-style clean-up: high-pass 80 Hz, bell 250 Hz -3 dB,
bell 3 kHz +2 dB, high shelf 10 kHz +3 dB, on 300 s of stereo 48 kHz float32
noise. sonicmix runs it as one ParametricEQ (one cascade of 4 biquads, one
``sosfilt`` pass); pedalboard as HighpassFilter, PeakFilter, PeakFilter and
HighShelfFilter in a Pedalboard (its HighpassFilter is first order, so
sonicmix does slightly more work here). Both run single-threaded in this
process on the same array, their runs interleaved; each figure is the median
CPU time (``time.process_time``: the machine is shared) of 7 runs after a
warm-up, in ns per channel-sample.

Run: ``python benchmarks/bench_eq.py`` (optionally ``--seconds 60`` for a
quicker look). The linear-phase variant is timed too, for information.
The goal holds on an AVX2-only CPU; on a larger one, compile for one and keep
numpy off AVX-512: ``NUMBA_CPU_NAME=haswell NUMBA_CACHE_DIR=$(mktemp -d)
NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL" python benchmarks/bench_eq.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from sonicmix.nodes.eq import ParametricEQ  # noqa: E402

SAMPLE_RATE = 48000
RUNS = 7
Band = ParametricEQ.Band
BANDS = (
    Band(kind="high_pass", freq_hz=80.0),
    Band(kind="peak", freq_hz=250.0, gain_db=-3.0, q=1.0),
    Band(kind="peak", freq_hz=3000.0, gain_db=2.0, q=1.0),
    Band(kind="high_shelf", freq_hz=10000.0, gain_db=3.0, q=0.7071067811865476),
)


def median_ns_per_sample(fns: dict, samples: int, runs: int = RUNS) -> dict:
    """Median CPU time per channel-sample of each function, their runs interleaved."""
    for fn in fns.values():
        fn()  # warm-up: imports, designs, first-touch of memory
    times: dict = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(t) / samples * 1e9 for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="audio length in seconds")
    parser.add_argument("--no-linear", action="store_true", help="skip the linear-phase timing")
    args = parser.parse_args()

    import pedalboard

    n = int(args.seconds * SAMPLE_RATE)
    x = (0.1 * np.random.default_rng(0).standard_normal((2, n))).astype(np.float32)
    samples = x.size

    eq = ParametricEQ(bands=BANDS)
    board = pedalboard.Pedalboard(
        [
            pedalboard.HighpassFilter(cutoff_frequency_hz=80.0),
            pedalboard.PeakFilter(cutoff_frequency_hz=250.0, gain_db=-3.0, q=1.0),
            pedalboard.PeakFilter(cutoff_frequency_hz=3000.0, gain_db=2.0, q=1.0),
            pedalboard.HighShelfFilter(cutoff_frequency_hz=10000.0, gain_db=3.0, q=0.7071067811865476),
        ]
    )
    assert eq(x[:, :1000], SAMPLE_RATE).dtype == np.float32
    state = eq.init_state(2, SAMPLE_RATE, np.float32)
    print(describe())
    print(f"numpy CPU features disabled: {os.environ.get('NPY_DISABLE_CPU_FEATURES', 'none')}")
    print(f"material: {args.seconds:g} s stereo {SAMPLE_RATE} Hz float32; CPU-time median of {RUNS} runs")
    print(f"sonicmix cascade: {state.sos.shape[0]} sections, working dtype {state.sos.dtype}")

    ns = median_ns_per_sample({"ours": lambda: eq(x, SAMPLE_RATE), "theirs": lambda: board(x, SAMPLE_RATE)},
                              samples)  # fmt: skip
    ours, theirs = ns["ours"], ns["theirs"]
    print(f"sonicmix ParametricEQ (minimum phase): {ours:7.2f} ns per channel-sample")
    print(f"pedalboard Pedalboard (4 filters):     {theirs:7.2f} ns per channel-sample")
    print(f"ratio sonicmix / pedalboard:           {ours / theirs:7.3f}  (goal <= 0.3)")

    if not args.no_linear:
        lin = ParametricEQ(bands=BANDS, phase="linear")
        taps = len(lin.fir(SAMPLE_RATE))
        t_lin = median_ns_per_sample({"lin": lambda: lin(x, SAMPLE_RATE)}, samples, runs=3)["lin"]
        print(
            f"sonicmix ParametricEQ (linear phase, {taps} taps, "
            f"{lin.latency_samples(SAMPLE_RATE)} samples latency): {t_lin:7.2f} ns per channel-sample"
        )


if __name__ == "__main__":
    main()

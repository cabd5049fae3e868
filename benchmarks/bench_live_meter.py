"""The live meter and the series at any hop: what they cost, against libebur128 (pyebur128).

Run: ``python benchmarks/bench_live_meter.py [--seconds 120] [--runs 7]``

1. ``measure()`` on a stereo 48 kHz float32 programme with the default 0.1 s hop, a 10 ms
   hop and a one-sample hop, full report (true peak included): ns per channel-sample.
2. One live reading (momentary, short-term, integrated so far) after 1 min and after
   ``--seconds`` of audio, ours and libebur128's: microseconds per reading. Ours is O(1):
   the same after 1 min as after 10; libebur128 sums its window (400 ms or 3 s of samples)
   at every reading, and its integrated loudness walks every block so far.
3. A live display: the programme fed 10 ms at a time, M and S read after every block
   (libebur128's test program reads cases 13/14 that way), and I once a second: CPU time
   as a real-time factor (audio seconds per CPU second).

Times are medians of ``--runs`` runs of CPU time (``time.process_time``: steadier than the
wall clock on a shared machine), after a warm-up, one thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.bench_meter import programme  # noqa: E402
from benchmarks.machine import describe  # noqa: E402

RATE = 48_000


def median_cpu_s(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: compiles or loads the kernels
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def per_call_us(fn: Callable[[], object], calls: int, runs: int) -> float:
    def many() -> None:
        for _ in range(calls):
            fn()

    return median_cpu_s(many, runs) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    import pyebur128 as ebu

    from sonicmix.loudness import LoudnessMeter, measure

    print(f"CPU: {describe()}")
    x = programme(args.seconds, RATE)
    channel_samples = x.size
    print(f"\n1. measure(), {args.seconds:g} s stereo float32, median CPU time of {args.runs} runs")
    for label, hop_s in (("hop_s=0.1 (default)", 0.1), ("hop_s=0.01", 0.01), ("hop_s=1/48000", 1 / RATE)):
        seconds = median_cpu_s(lambda hop_s=hop_s: measure(x, RATE, hop_s=hop_s), args.runs)
        print(f"   {label:22} {seconds / channel_samples * 1e9:6.2f} ns/channel-sample")

    print("\n2. one reading, microseconds (median)")
    modes = ebu.MeasurementMode.MODE_M | ebu.MeasurementMode.MODE_S | ebu.MeasurementMode.MODE_I
    frames = np.ascontiguousarray(x.T, dtype=np.float64).reshape(-1)
    for seconds in sorted({min(60.0, args.seconds), args.seconds}):
        n = int(seconds * RATE)
        meter = LoudnessMeter(RATE, channels=2, true_peak=False)
        meter.update(x[:, :n])
        _ = meter.integrated_lufs  # fold the blocks in once: later readings are the steady state
        state = ebu.R128State(2, RATE, modes)
        state.add_frames(frames[: 2 * n], n)
        ours = {
            "momentary": per_call_us(lambda m=meter: m.momentary_lufs, 2000, args.runs),
            "short-term": per_call_us(lambda m=meter: m.short_term_lufs, 2000, args.runs),
            "integrated": per_call_us(lambda m=meter: m.integrated_lufs, 2000, args.runs),
        }
        theirs = {
            "momentary": per_call_us(lambda s=state: ebu.get_loudness_momentary(s), 200, args.runs),
            "short-term": per_call_us(lambda s=state: ebu.get_loudness_shortterm(s), 50, args.runs),
            "integrated": per_call_us(lambda s=state: ebu.get_loudness_global(s), 50, args.runs),
        }
        print(f"   after {seconds:5g} s: " + "; ".join(
            f"{k} {ours[k]:.1f} (libebur128 {theirs[k]:.1f})" for k in ours
        ))  # fmt: skip

    print("\n3. a live display: 10 ms blocks, M and S after each, I every second (audio s per CPU s)")
    step = RATE // 100

    def ours_live() -> None:
        meter = LoudnessMeter(RATE, channels=2)
        for i, start in enumerate(range(0, x.shape[1], step)):
            meter.update(x[:, start : start + step])
            _ = meter.momentary_lufs, meter.short_term_lufs
            if i % 100 == 99:
                _ = meter.integrated_lufs

    def theirs_live() -> None:
        state = ebu.R128State(2, RATE, modes | ebu.MeasurementMode.MODE_TRUE_PEAK)
        for i, start in enumerate(range(0, x.shape[1], step)):
            state.add_frames(frames[2 * start : 2 * (start + step)], step)
            _ = ebu.get_loudness_momentary(state), ebu.get_loudness_shortterm(state)
            if i % 100 == 99:
                _ = ebu.get_loudness_global(state)

    ours_s = median_cpu_s(ours_live, args.runs)
    theirs_s = median_cpu_s(theirs_live, args.runs)
    print(f"   sonicmix (with true peak)   {args.seconds / ours_s:7.0f}x real time")
    print(f"   libebur128 (with true peak) {args.seconds / theirs_s:7.0f}x real time")


if __name__ == "__main__":
    main()

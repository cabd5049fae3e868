"""Benchmark: sonicmix's reverbs against pedalboard's Reverb and Convolution.

Material: 300 s of stereo 48 kHz float32 noise, the same array for both
libraries, in this process, single-threaded. Each figure is the median of 7
runs after a warm-up (imports, numba compilation, designs), in ns per
channel-sample; runs of the two libraries alternate so that both see the
same machine load. Wall-clock and CPU-time (process_time) medians are both
printed: on a shared machine the CPU time is the steadier of the two, and the
median of the runs' paired ratios (each run of ours against the run of
pedalboard beside it) the steadiest. The first line records the machine
(``benchmarks/machine.py``); ``NUMBA_CPU_NAME=haswell`` with an empty
``NUMBA_CACHE_DIR`` compiles the kernels for an AVX2-only CPU.

- Algorithmic: ``Reverb(decay_s=1.2, mix=0.45)`` (a 16-line FDN with early
  reflections, diffusers and three-band decay) against
  ``pedalboard.Reverb(room_size=0.5, wet_level=0.33, dry_level=0.4)``
  (Freeverb: 8 combs and 4 all-passes per channel). The settings are roughly
  comparable (Freeverb's room 0.5 decays in about 1.2 s); the cost of either
  does not depend on them.
- Convolution: a 2 s stereo impulse response (decaying noise), wet only,
  ``ConvolutionReverb`` against ``pedalboard.Convolution`` (JUCE; it also
  normalises the response, so the outputs differ in level).

Run: ``python benchmarks/bench_reverb.py`` (``--seconds 60`` for a quicker look).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.machine import describe  # noqa: E402
from sonicmix.nodes.reverb import ConvolutionReverb, Reverb  # noqa: E402

SAMPLE_RATE = 48000
RUNS = 7


def race(ours, theirs, samples: int, runs: int = RUNS) -> dict[str, float]:
    """Median ns per channel-sample (wall and CPU) of two callables run alternately,
    and the median of the paired CPU-time ratios (``paired``)."""
    ours()
    theirs()
    times: dict[str, list[float]] = {"ours_wall": [], "ours_cpu": [], "theirs_wall": [], "theirs_cpu": []}
    for _ in range(runs):
        for name, fn in (("ours", ours), ("theirs", theirs)):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[f"{name}_wall"].append(time.perf_counter() - wall)
            times[f"{name}_cpu"].append(time.process_time() - cpu)
    figures = {key: statistics.median(values) / samples * 1e9 for key, values in times.items()}
    pairs = zip(times["ours_cpu"], times["theirs_cpu"], strict=True)
    figures["paired"] = statistics.median(a / b for a, b in pairs)
    return figures


def report(title: str, figures: dict[str, float], ours: str, theirs: str) -> None:
    print(title)
    for clock in ("wall", "cpu"):
        a, b = figures[f"ours_{clock}"], figures[f"theirs_{clock}"]
        print(f"  {clock:4}: {ours} {a:6.1f} ns, {theirs} {b:6.1f} ns per channel-sample; ratio {a / b:.2f}")
    print(f"  median of the {RUNS} paired CPU-time ratios: {figures['paired']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="audio length in seconds")
    args = parser.parse_args()

    import pedalboard

    print(describe())
    n = int(args.seconds * SAMPLE_RATE)
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
    print(f"material: {args.seconds:g} s stereo {SAMPLE_RATE} Hz float32; median of {RUNS} alternating runs")

    reverb = Reverb(decay_s=1.2, mix=0.45)
    freeverb = pedalboard.Reverb(room_size=0.5, wet_level=0.33, dry_level=0.4)
    assert reverb(x[:, :1000], SAMPLE_RATE).dtype == np.float32
    figures = race(lambda: reverb(x, SAMPLE_RATE), lambda: freeverb(x, SAMPLE_RATE), x.size)
    report("algorithmic reverb", figures, "sonicmix Reverb", "pedalboard Reverb")

    taps = 2 * SAMPLE_RATE
    ir = (0.05 * rng.standard_normal((2, taps)) * np.exp(-np.arange(taps) / (0.3 * SAMPLE_RATE))).astype(
        np.float32
    )
    convolver = ConvolutionReverb(impulse_response=ir)
    juce = pedalboard.Convolution(ir, mix=1.0, sample_rate=SAMPLE_RATE)
    figures = race(lambda: convolver(x, SAMPLE_RATE), lambda: juce(x, SAMPLE_RATE), x.size)
    report("convolution, 2 s stereo response", figures, "sonicmix ConvolutionReverb", "pedalboard")


if __name__ == "__main__":
    main()

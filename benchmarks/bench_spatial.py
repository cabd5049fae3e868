"""Spatial nodes: object panning and Ambisonics, as real-time factors in CPU time.

Run: ``python benchmarks/bench_spatial.py [seconds]`` (default 60 s of audio at 48 kHz, float32).
Each figure is the median of 5 runs after a warm-up, single-threaded, as CPU seconds
(``time.process_time``) per second of audio, printed as "x real time":

- ObjectPanner into 7.1.4, mono source, fixed position (node called on the array);
- the same in a graph render whose azimuth sweeps a full turn (retuned every 256 samples, every
  gain glided over 5 ms), and the render of the same graph without automation;
- AmbisonicEncoder order 3 (1 -> 16 channels), AmbisonicRotator order 3 (16 -> 16), fixed and
  automated (head tracking: yaw sweeping) in a graph, and AmbisonicDecoder order 3 to 7.1.4
  (16 -> 12), node called on the array.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

RATE = 48_000
RUNS = 5


def cpu_s(fn) -> float:
    fn()  # warm-up: imports, caches (VBAP setups, decoder matrices)
    times = []
    for _ in range(RUNS):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main() -> None:
    from benchmarks.machine import describe
    from sonicmix.automation import Automation
    from sonicmix.graph import Bus, Graph, Track
    from sonicmix.nodes.ambisonics import AmbisonicDecoder, AmbisonicEncoder, AmbisonicRotator
    from sonicmix.nodes.objectpanner import ObjectPanner
    from sonicmix.renderer import render
    from sonicmix.timeline import ArraySource, Clip

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    n = int(seconds * RATE)
    rng = np.random.default_rng(1)
    mono = (0.1 * rng.standard_normal((1, n))).astype(np.float32)
    scene = AmbisonicEncoder(order=3, azimuth_deg=40.0, elevation_deg=10.0)(mono, RATE)
    turn = Automation(((0.0, 0.0), (seconds, 360.0)))

    def graph(chain, layout, automation=None):
        track = Track(clips=(Clip(source=ArraySource(mono, RATE, name="src")),), layout="mono", chain=chain,
                      automation=automation or {})  # fmt: skip
        return Graph(tracks={"src": track}, buses={"master": Bus(layout=layout, output=None)})

    panner = ObjectPanner(layout="7.1.4", azimuth_deg=100.0, elevation_deg=20.0)
    ambi = (AmbisonicEncoder(order=3, azimuth_deg=40.0), AmbisonicRotator(order=3, frame="head"),
            AmbisonicDecoder(order=3, layout="7.1.4"))  # fmt: skip
    cases = [
        ("ObjectPanner 7.1.4, fixed (node)", lambda: panner(mono, RATE)),
        ("ObjectPanner 7.1.4, render, fixed", lambda: render(graph((panner,), "7.1.4"), sample_rate=RATE)),
        ("ObjectPanner 7.1.4, render, azimuth sweeping",
         lambda: render(graph((panner,), "7.1.4", {"chain[0].azimuth_deg": turn}), sample_rate=RATE)),
        ("AmbisonicEncoder order 3 (node)", lambda: AmbisonicEncoder(order=3, azimuth_deg=40.0)(mono, RATE)),
        ("AmbisonicRotator order 3, fixed (node)",
         lambda: AmbisonicRotator(order=3, yaw_deg=30.0)(scene, RATE)),
        ("AmbisonicDecoder order 3 -> 7.1.4 (node)",
         lambda: AmbisonicDecoder(order=3, layout="7.1.4")(scene, RATE)),
        ("encode + rotate + decode order 3 -> 7.1.4, render, fixed",
         lambda: render(graph(ambi, "7.1.4"), sample_rate=RATE)),
        ("encode + rotate + decode order 3 -> 7.1.4, render, yaw sweeping",
         lambda: render(graph(ambi, "7.1.4", {"chain[1].yaw_deg": turn}), sample_rate=RATE)),
    ]  # fmt: skip
    print(describe())
    print(f"{seconds:g} s of audio at {RATE} Hz, float32; median of {RUNS} runs, CPU time")
    for name, fn in cases:
        spent = cpu_s(fn)
        print(f"{name:62} {spent:7.3f} s CPU  {seconds / spent:8.0f}x real time")


if __name__ == "__main__":
    main()

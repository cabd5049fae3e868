"""An Ambisonics bus rendered for headphones: speed in CPU time, against scipy on the same filters.

Run: ``python benchmarks/bench_ambix_bus.py [seconds]`` (default 30 s of audio at 48 kHz, float32).
Single thread; each figure is the median of 5 runs after a warm-up, as CPU seconds
(``time.process_time``), the sonicmix and scipy runs interleaved:

- ``Binaural(layout="ambix3")`` on a 16-channel scene (node called on the array), against
  ``scipy.signal.oaconvolve`` of the same 2 x 16 filters (the node's own response matrix), summed
  per ear: the peer computes the same output (checked to 1e-4 of the peak, float32);
- a graph: eight mono tracks into an ``ambix3`` bus (four encoded at their directions, four by
  their pans), the bus running a linked compressor, a head-tracking rotator and
  ``Binaural(layout="ambix3")`` into a stereo master, with the rotator fixed and with its yaw
  automated (retuned every 256 samples): x real time.
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
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def interleaved(*fns) -> list[float]:
    """Median CPU seconds of each function, run alternately after one warm-up each."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(RUNS):
        for spent, fn in zip(times, fns, strict=True):
            spent.append(cpu_s(fn))
    return [statistics.median(t) for t in times]


def main() -> None:
    import scipy.signal

    from benchmarks.machine import describe
    from sonicmix.automation import Automation
    from sonicmix.graph import Bus, Graph, Track
    from sonicmix.nodes.ambisonics import AmbisonicEncoder, AmbisonicRotator
    from sonicmix.nodes.dynamics import Compressor
    from sonicmix.renderer import render
    from sonicmix.spatial.binaural import Binaural, _responses
    from sonicmix.timeline import ArraySource, Clip

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    n = int(seconds * RATE)
    rng = np.random.default_rng(1)
    mono = (0.1 * rng.standard_normal((8, n))).astype(np.float32)
    scene = AmbisonicEncoder(order=3, azimuth_deg=40.0, elevation_deg=10.0)(mono[:1], RATE)
    node = Binaural(layout="ambix3")
    filters = _responses(node, RATE)[0].astype(np.float32)  # (2, 16, taps)

    def peer() -> np.ndarray:
        return np.stack([
            sum(scipy.signal.oaconvolve(scene[c], filters[e, c])[:n] for c in range(16)) for e in range(2)
        ])  # fmt: skip

    ours = node(scene, RATE)
    theirs = peer()
    assert np.max(np.abs(ours - theirs)) <= 1e-4 * np.max(np.abs(theirs)), "the peer computes another output"

    def track(i: int) -> Track:
        clip = Clip(source=ArraySource(mono[i : i + 1], RATE, name=f"t{i}"))
        if i < 4:
            chain = (AmbisonicEncoder(order=3, azimuth_deg=90.0 * i, elevation_deg=10.0 * i),)
            return Track(clips=(clip,), layout="mono", chain=chain, output="scene")
        return Track(clips=(clip,), layout="mono", pan=-0.75 + 0.5 * (i - 4), output="scene")

    head = Automation(((0.0, 0.0), (seconds, 360.0)))
    chain = (Compressor(threshold_db=-30.0), AmbisonicRotator(order=3, frame="head"), node)

    def graph(automation: dict) -> Graph:
        bus = Bus(layout="ambix3", chain=chain, automation=automation)
        tracks = {f"t{i}": track(i) for i in range(8)}
        return Graph(tracks=tracks, buses={"scene": bus, "master": Bus(output=None)})

    fixed, tracked = graph({}), graph({"chain[1].yaw_deg": head})

    print(describe())
    print(f"{seconds:g} s of audio at {RATE} Hz, float32; median of {RUNS} interleaved runs, CPU time")
    node_s, peer_s = interleaved(lambda: node(scene, RATE), peer)
    fixed_s, tracked_s = interleaved(lambda: render(fixed, sample_rate=RATE, tail_s=0.0),
                                     lambda: render(tracked, sample_rate=RATE, tail_s=0.0))  # fmt: skip
    for label, spent in (("Binaural(layout=ambix3), node", node_s),
                         ("scipy.signal.oaconvolve, same filters", peer_s),
                         ("8 tracks -> ambix3 bus -> binaural, render", fixed_s),
                         ("the same, head's yaw automated", tracked_s)):  # fmt: skip
        print(f"{label:44} {spent:7.3f} s CPU  {seconds / spent:6.0f}x real time")
    print(f"{'ratio (scipy / sonicmix)':44} {peer_s / node_s:7.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: the cost of node-parameter automation, interpolated within control blocks or held.

Renders of stereo float32 noise at 48 kHz (20 s unless ``--seconds``) through one node, static,
then with one parameter automated: "slow" is a linear ramp over the whole programme, "fast" a
triangle from one value to the other every 0.1 s. "held" is the same automated render with
interpolation switched off (the nodes' ``interpolated`` sets emptied for the run: every value held
through its 256-sample control block, the rule before interpolation); "interpolated" is the
renderer's rule (docs/automation.md). Each figure is the median CPU time (``time.process_time``:
the machine is shared) of 3 runs after a warm-up, the three renders interleaved, one thread.

Run: ``python benchmarks/bench_automation.py [--seconds 20]``. This is no speed goal: it shows
where the extra retunes cost (a 4-band EQ's retune is about 0.7 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from sonicmix.automation import Automation  # noqa: E402
from sonicmix.graph import Bus, Graph, Track  # noqa: E402
from sonicmix.nodes import eq  # noqa: E402
from sonicmix.nodes.base import Node  # noqa: E402
from sonicmix.nodes.eq import ParametricEQ, Peak  # noqa: E402
from sonicmix.nodes.gain import Gain  # noqa: E402
from sonicmix.renderer import render  # noqa: E402
from sonicmix.timeline import ArraySource, Clip  # noqa: E402

SAMPLE_RATE = 48000
Band = ParametricEQ.Band
EQ4 = ParametricEQ(bands=(
    Band(kind="high_pass", freq_hz=80.0), Band(freq_hz=250.0, gain_db=-3.0, q=1.0),
    Band(freq_hz=3000.0, gain_db=2.0, q=1.0), Band(kind="high_shelf", freq_hz=10000.0, gain_db=3.0),
))  # fmt: skip
CASES: list[tuple[str, Node, str, tuple[float, float]]] = [
    ("Gain.gain_db (-12 to 0 dB)", Gain(gain_db=-12.0), "gain_db", (-12.0, 0.0)),
    ("Peak.freq_hz (300 to 3000 Hz)", Peak(freq_hz=300.0, gain_db=6.0, q=2.0), "freq_hz", (300.0, 3000.0)),
    ("4-band ParametricEQ bands[1].gain_db (-6 to -1 dB)", EQ4, "bands[1].gain_db", (-6.0, -1.0)),
    ("4-band ParametricEQ bands[1].freq_hz (250 to 2500 Hz)", EQ4, "bands[1].freq_hz", (250.0, 2500.0)),
]


def _graph(x: np.ndarray, node: Node, target: str | None, ends: tuple[float, float], fast: bool) -> Graph:
    automation = {}
    if target is not None:
        seconds = x.shape[1] / SAMPLE_RATE
        if fast:
            points = tuple((0.1 * i, ends[i % 2]) for i in range(int(seconds / 0.1) + 1))
        else:
            points = ((0.0, ends[0]), (seconds, ends[1]))
        automation = {f"chain[0].{target}": Automation(points)}
    track = Track(clips=(Clip(source=ArraySource(x, SAMPLE_RATE)),), chain=(node,), automation=automation)
    return Graph(tracks={"t": track}, buses={"master": Bus(output=None)})


@contextmanager
def _held() -> Iterator[None]:
    """Interpolation off: every automated value held through its control block."""
    saved = (Gain.interpolated, eq._Cascade.interpolated, ParametricEQ.interpolated)
    Gain.interpolated = eq._Cascade.interpolated = frozenset()  # type: ignore[misc]
    ParametricEQ.interpolated = property(lambda self: frozenset())  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        Gain.interpolated, eq._Cascade.interpolated, ParametricEQ.interpolated = saved  # type: ignore[misc]


def _cpu(graph: Graph) -> float:
    start = time.process_time()
    render(graph, sample_rate=SAMPLE_RATE, tail_s=0.0)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    noise = np.random.default_rng(0).standard_normal((2, round(args.seconds * SAMPLE_RATE)))
    x = (0.1 * noise).astype(np.float32)
    print(describe())
    print(f"{args.seconds:g} s of stereo float32 noise at {SAMPLE_RATE} Hz; CPU s, medians of 3")
    for name, node, target, ends in CASES:
        for fast in (False, True):
            static, automated = _graph(x, node, None, ends, fast), _graph(x, node, target, ends, fast)
            _cpu(static), _cpu(automated)  # warm-up: compilation, caches
            times: dict[str, list[float]] = {"static": [], "held": [], "interpolated": []}
            for _ in range(3):
                times["static"].append(_cpu(static))
                with _held():
                    times["held"].append(_cpu(automated))
                times["interpolated"].append(_cpu(automated))
            figures = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in times.items())
            print(f"{name}, {'fast' if fast else 'slow'}: {figures}", flush=True)


if __name__ == "__main__":
    main()

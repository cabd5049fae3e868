"""Benchmark: what PluginNode costs on top of calling the pedalboard plugin directly.

Run with ``python benchmarks/bench_plugin.py [seconds]`` (default 30 s of stereo 48 kHz float32
noise). For each plugin and block size, the same audio is streamed block by block through
``plugin.process(block, 48000, reset=False)`` on a pedalboard instance (the floor: what any host
pays) and through ``PluginNode.process`` (a stream of its own, in the node's way of feeding the
plugin); runs alternate, after a warm-up, and the median of 5 is reported as microseconds per
block and the overhead per block (node minus direct). Chorus and Compressor stream on the
caller's blocks; BrickwallLimiter is fed fixed 512-sample blocks (its direct run here uses
512-sample blocks too, the node re-blocks whatever it is given).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

RATE = 48_000
RUNS = 5
BLOCKS = (64, 256, 1024, 4096)


def _direct(make, x: np.ndarray, block: int, fixed: int | None) -> float:
    plugin = make()
    size = fixed or block
    start = time.perf_counter()
    for i in range(0, x.shape[1], size):
        plugin.process(x[:, i : i + size], RATE, buffer_size=8192 if fixed is None else fixed, reset=False)
    return time.perf_counter() - start


def _node(node, x: np.ndarray, block: int) -> float:
    state = node.init_state(x.shape[0], RATE, x.dtype)
    start = time.perf_counter()
    for i in range(0, x.shape[1], block):
        _, state = node.process(x[:, i : i + block], RATE, state)
    return time.perf_counter() - start


def main(seconds: float = 30.0) -> None:
    import pedalboard

    from benchmarks.machine import describe
    from sonicmix.nodes.plugin import PluginNode

    print(describe())
    print(f"pedalboard {pedalboard.__version__}; {seconds:g} s of stereo {RATE} Hz float32 noise")
    x = (0.1 * np.random.default_rng(1).standard_normal((2, int(seconds * RATE)))).astype(np.float32)
    cases = [
        ("Chorus", pedalboard.Chorus, PluginNode("Chorus"), None),
        (
            "Compressor",
            lambda: pedalboard.Compressor(threshold_db=-20, ratio=4),
            PluginNode("Compressor", threshold_db=-20.0, ratio=4.0),
            None,
        ),
        ("BrickwallLimiter", pedalboard.BrickwallLimiter, PluginNode("BrickwallLimiter"), 512),
    ]
    print("| plugin | block | direct us/block | node us/block | overhead us/block | node / direct |")
    print("|---|---|---|---|---|---|")
    for name, make, node, fixed in cases:
        node.latency_samples(RATE)  # the latency probe (fixed blocks) happens once, before timing
        for block in BLOCKS:
            _direct(make, x[:, :RATE], block, fixed)
            _node(node, x[:, :RATE], block)
            direct, mine = [], []
            for _ in range(RUNS):
                direct.append(_direct(make, x, block, fixed))
                mine.append(_node(node, x, block))
            blocks = -(-x.shape[1] // block)
            d = statistics.median(direct) / blocks * 1e6
            m = statistics.median(mine) / blocks * 1e6
            print(f"| {name} | {block} | {d:.2f} | {m:.2f} | {m - d:+.2f} | {m / d:.2f} |")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)

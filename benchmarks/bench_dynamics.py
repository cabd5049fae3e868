"""Compressor speed against pedalboard.Compressor, same material, same process, one thread.

Run: ``python benchmarks/bench_dynamics.py [seconds] [--runs N] [--no-compile]`` (default 300 s of stereo
48 kHz float32). Both compressors use threshold -20 dB, ratio 4, attack 5 ms, release 100 ms (our
knee is set to 0 to match pedalboard's hard knee). Prints the median CPU time
(``time.process_time``, one thread: the machine is shared, and wall time would count the other
work too) of 7 (or N) interleaved runs after a warm-up, in ns per channel-sample, and the ratio sonicmix /
pedalboard: whole-buffer calls (a fresh 300 s output array, whose page faults cost about 2 ns per
sample here, on both sides) and streamed in 65536-sample blocks as the renderer runs nodes. Also
reports Gate and DeEsser for reference, and the numba compile time of the kernels (first use in a
fresh process with an empty on-disk cache, then with that cache filled).

The goals hold on an AVX2-only CPU; on a larger one, compile for one and keep numpy off AVX-512::

    NUMBA_CPU_NAME=haswell NUMBA_CACHE_DIR=$(mktemp -d) NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL" \\
        python benchmarks/bench_dynamics.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402

RATE = 48_000
RUNS = 7
BLOCK = 1 << 16  # the renderer's block


def material(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    # Programme-like: noise and a tone under a slow, deep level modulation (bursts and pauses).
    env = 0.05 + 0.45 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t)) ** 3
    x = np.empty((2, n), np.float32)
    for c in range(2):
        x[c] = env * (0.6 * rng.standard_normal(n) + 0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t))
    return x


def median_ns(fns: dict, x: np.ndarray, runs: int = RUNS) -> dict:
    """Median CPU time per channel-sample of each function, runs interleaved (fair on a shared machine)."""
    for fn in fns.values():
        fn(x)  # warm-up: compiles, loads caches
    times: dict = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.process_time()
            fn(x)
            times[name].append(time.process_time() - t0)
    return {name: statistics.median(t) / x.size * 1e9 for name, t in times.items()}


# First use of the three kernels (float32): the time beyond importing numba is compiling or loading.
COMPILE_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
from sonicmix.nodes.dynamics import Compressor, Gate
x = np.zeros((2, 64), np.float32)
Compressor()(x, 48000); Compressor(detector="rms")(x, 48000); Gate()(x, 48000)
print(t1 - t0, time.perf_counter() - t1)
"""


def compile_seconds(cache_dir: str) -> tuple[float, float]:
    """(numba import, first use of the kernels) in seconds, in a fresh process caching in ``cache_dir``."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, NUMBA_NUM_THREADS="1", NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], cwd=root, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    numba_s, first_s = (float(v) for v in out.stdout.split())
    return numba_s, first_s


def main() -> None:
    import pedalboard

    from sonicmix.nodes.dynamics import Compressor, DeEsser, Gate

    argv = sys.argv[1:]
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else RUNS
    args = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--runs")]
    seconds = float(args[0]) if args else 300.0
    x = material(seconds)
    board = pedalboard.Compressor(threshold_db=-20, ratio=4, attack_ms=5, release_ms=100)
    ours = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.005, release_s=0.1)
    others = {
        "Compressor (6 dB knee)": Compressor(threshold_db=-20.0, ratio=4.0, knee_db=6.0),
        "Compressor (rms, link 0.5)": Compressor(threshold_db=-20.0, detector="rms", stereo_link=0.5),
        "Compressor (lookahead 5 ms)": Compressor(threshold_db=-20.0, knee_db=0.0, lookahead_s=0.005),
        "Gate": Gate(threshold_db=-30.0),
        "DeEsser (band)": DeEsser(),
    }
    fns = {
        "pedalboard": lambda a: board.process(a, RATE, reset=True),
        "Compressor (hard knee, peak)": lambda a: ours(a, RATE),
    }
    fns.update({name: (lambda a, node=node: node(a, RATE)) for name, node in others.items()})

    def streamed(node):  # as a render runs it: 65536-sample blocks into a reused state
        def run(a):
            state = node.init_state(a.shape[0], RATE, a.dtype)
            for start in range(0, a.shape[1], BLOCK):
                _, state = node.process(a[:, start : start + BLOCK], RATE, state)

        return run

    def board_streamed(a):
        board.reset()
        for start in range(0, a.shape[1], BLOCK):
            board.process(a[:, start : start + BLOCK], RATE, reset=False)

    fns["pedalboard, streamed"] = board_streamed
    fns["Compressor (hard knee), streamed"] = streamed(ours)
    fns["Compressor (6 dB knee), streamed"] = streamed(others["Compressor (6 dB knee)"])
    ns = median_ns(fns, x, runs)
    pb_streamed = ns.pop("pedalboard, streamed")
    pb = ns.pop("pedalboard")
    print(describe())
    print(f"numpy CPU features disabled: {os.environ.get('NPY_DISABLE_CPU_FEATURES', 'none')}")
    print(f"material: {seconds:g} s stereo {RATE} Hz float32, CPU-time median of {runs} interleaved runs")
    print(f"pedalboard.Compressor                {pb:6.2f} ns/channel-sample")
    print(f"pedalboard.Compressor, streamed      {pb_streamed:6.2f} ns/channel-sample")
    for name, value in ns.items():
        peer = pb_streamed if name.endswith("streamed") else pb
        print(f"sonicmix {name:34s} {value:6.2f} ns/channel-sample   ratio {value / peer:.2f}")
    if "--no-compile" in sys.argv:
        return
    with tempfile.TemporaryDirectory() as cache_dir:  # an empty cache, then the same one filled
        for label in ("no cache", "with cache"):
            numba_s, first_s = compile_seconds(cache_dir)
            print(f"kernels' first use, {label:10s}: {first_s:.2f} s (plus {numba_s:.2f} s to import numba)")


if __name__ == "__main__":
    main()

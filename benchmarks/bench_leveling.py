"""Leveling on a realistic podcast: line loudness spread, host/guest balance, and speed.

Material (tests/reference/dialogue.py, real recordings from Debian packages): a clean host
(Allison's studio prompts) and a guest on a noisy narrowband line (codec2's male radio
recordings, vinyl hiss at 20 dB SNR), 4-7 LU quieter, taking turns; every line has its own
level (+-3 dB). Line loudness is pyloudnorm's BS.1770 integrated loudness of each line's known
interval in the dialogue bus. Issue 15's goal: with ``clip_loudness_lufs`` and the Leveler at
their defaults, max - min over all lines <= 2 LU and the speakers' medians within 1 LU.

Seeds 1-5 are the material the Leveler's defaults were chosen on (seed 1 is also the tests');
seeds 6-20 are held out: the same generator, other prompts, radio excerpts and line levels.

Run: python benchmarks/bench_leveling.py [--seeds 1 2 3] [--repeats 5] [--no-speed]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import sonicmix as sm  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from sonicmix.nodes.leveler import Leveler  # noqa: E402
from tests.reference import dialogue  # noqa: E402

FS = 48_000
#: The seeds the defaults were chosen on; the others are held out.
DEVELOPMENT = frozenset(range(1, 6))
CONDITIONS = (("raw", False, False), ("clip loudness", False, True), ("Leveler", True, False),
              ("both (defaults)", True, True))


def graph(p: dialogue.Podcast, *, leveler: bool, clip: bool) -> sm.Graph:
    chain = (Leveler(),) if leveler else ()

    def track(name: str, audio: np.ndarray) -> sm.Track:
        return sm.Track(clips=(sm.Clip(source=sm.ArraySource(audio.astype(np.float32), FS, name=name)),),
                        layout="mono", chain=chain, clip_loudness_lufs=-20.0 if clip else None,
                        output="dialogue")

    return sm.Graph(tracks={"host": track("host", p.host), "guest": track("guest", p.guest)},
                    buses={"dialogue": sm.Bus(layout="mono"), "master": sm.Bus(layout="mono", output=None)})


def spread(p: dialogue.Podcast, audio: np.ndarray) -> tuple[float, float]:
    """(max - min of the lines' loudness, host median - guest median), LU, by pyloudnorm."""
    import pyloudnorm

    meter = pyloudnorm.Meter(FS)
    loud: dict[str, list[float]] = {"host": [], "guest": []}
    for who, a, b in p.lines:
        loud[who].append(meter.integrated_loudness(audio[0, int(a * FS) : int(b * FS)]))
    every = loud["host"] + loud["guest"]
    return max(every) - min(every), float(np.median(loud["host"]) - np.median(loud["guest"]))


def quieter_lu(seed: int) -> float:
    """How much quieter the guest is: 4, 5, 6, 7 LU across seeds."""
    return 4.0 + 3.0 * (seed % 4) / 3


def leveling(seeds: list[int]) -> None:
    print("\n| seed (guest quieter by) | " + " | ".join(c[0] for c in CONDITIONS) + " |")
    print("|---|" + "---|" * len(CONDITIONS))
    both: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for seed in seeds:
        p = dialogue.podcast(FS, turns=8, quieter_lu=quieter_lu(seed), seed=seed)
        cells = []
        for _, lev, clip in CONDITIONS:
            s, d = spread(p, sm.render(graph(p, leveler=lev, clip=clip), sample_rate=FS).master)
            cells.append(f"{s:.2f} / {d:+.2f}")
        both[seed in DEVELOPMENT].append((s, d))
        met = s <= 2.0 and abs(d) <= 1.0
        cells[-1] = f"**{cells[-1]}**" if met else f"{cells[-1]} (goal missed)"
        print(f"| {seed}{'' if seed in DEVELOPMENT else ' (held out)'} ({quieter_lu(seed):.0f} LU) | "
              + " | ".join(cells) + " |", flush=True)
    for dev, rows in both.items():
        if rows:
            s, d = np.array(rows).T
            print(f"{'development' if dev else 'held-out'} seeds, both: spread median {np.median(s):.2f}, "
                  f"max {s.max():.2f} LU; |host - guest| max {np.abs(d).max():.2f} LU; "
                  f"goal met on {int(np.sum((s <= 2.0) & (np.abs(d) <= 1.0)))} of {len(rows)}")


def speed(repeats: int) -> None:
    """The node alone on the guest track (detector and K-weighting included), one thread, CPU time."""
    p = dialogue.podcast(FS, turns=8, seed=1)
    x = p.guest.astype(np.float32)
    Leveler()(x[:, :FS], FS)  # compile or load the kernels outside the timing
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        Leveler()(x, FS)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    seconds = x.shape[1] / FS
    c, w = statistics.median(cpu), statistics.median(wall)
    print(f"\nLeveler on {seconds:.0f} s mono float32 at 48 kHz, median of {repeats}: CPU {c:.3f} s = "
          f"{seconds / c:.0f}x real time ({c / x.size * 1e9:.1f} ns per sample); wall {w:.3f} s "
          f"({seconds / w:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 21)))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    if not dialogue.available():
        sys.exit(dialogue.SKIP_REASON)
    print(f"CPU: {describe()}")
    print("cells: spread (max - min over the 16 lines) / host median - guest median, LU")
    leveling(args.seeds)
    if not args.no_speed:
        speed(args.repeats)


if __name__ == "__main__":
    main()

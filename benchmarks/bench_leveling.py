"""Leveling on a realistic podcast: line loudness spread, host/guest balance, and speed.

Material (tests/reference/dialogue.py, real recordings from Debian packages): a clean host
(Allison's studio prompts) and a guest on a noisy narrowband line (codec2's male radio
recordings, vinyl hiss at 20 dB SNR), 4-7 LU quieter, taking turns; every line has its own
level (+-3 dB). Line loudness is pyloudnorm's BS.1770 integrated loudness of each line's known
interval in the dialogue bus. Issue 15's goal: with ``clip_loudness_lufs`` and the Leveler at
their defaults, max - min over all lines <= 2 LU and the speakers' medians within 1 LU.

Run: python benchmarks/bench_leveling.py [--seeds 1 2 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sonicmix as sm  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from sonicmix.nodes.leveler import Leveler  # noqa: E402
from tests.reference import dialogue  # noqa: E402

FS = 48_000


def graph(p: dialogue.Podcast, *, leveler: bool, clip: bool) -> sm.Graph:
    chain = (Leveler(),) if leveler else ()

    def track(name: str, audio: np.ndarray) -> sm.Track:
        return sm.Track(clips=(sm.Clip(source=sm.ArraySource(audio.astype(np.float32), FS, name=name)),),
                        layout="mono", chain=chain, clip_loudness_lufs=-20.0 if clip else None,
                        output="dialogue")

    return sm.Graph(tracks={"host": track("host", p.host), "guest": track("guest", p.guest)},
                    buses={"dialogue": sm.Bus(layout="mono"), "master": sm.Bus(layout="mono", output=None)})


def spread(p: dialogue.Podcast, audio: np.ndarray) -> tuple[float, float]:
    import pyloudnorm

    meter = pyloudnorm.Meter(FS)
    loud: dict[str, list[float]] = {"host": [], "guest": []}
    for who, a, b in p.lines:
        loud[who].append(meter.integrated_loudness(audio[0, int(a * FS) : int(b * FS)]))
    every = loud["host"] + loud["guest"]
    return max(every) - min(every), float(np.median(loud["host"]) - np.median(loud["guest"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not dialogue.available():
        sys.exit(dialogue.SKIP_REASON)
    print(f"CPU: {describe()}")
    print("seed  quieter  condition                     spread LU  host-guest LU")
    for seed in args.seeds:
        quieter = 4.0 + 3.0 * (seed % 4) / 3  # 4, 5, 6, 7 LU across seeds
        p = dialogue.podcast(FS, turns=8, quieter_lu=quieter, seed=seed)
        for name, lev, clip in (("raw", False, False), ("clip loudness", False, True),
                                ("leveler", True, False), ("clip loudness + leveler", True, True)):
            s, d = spread(p, sm.render(graph(p, leveler=lev, clip=clip), sample_rate=FS).master)
            print(f"{seed:4d}  {quieter:5.1f}    {name:<28}  {s:8.2f}  {d:+12.2f}")
    # speed of the node alone on the guest track (speech detector included), whole buffer
    p = dialogue.podcast(FS, turns=8, seed=1)
    x = p.guest.astype(np.float32)
    Leveler()(x[:, :FS], FS)  # compile
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        Leveler()(x, FS)
        times.append(time.perf_counter() - t)
    seconds = x.shape[1] / FS
    median = statistics.median(times)
    print(f"Leveler on {seconds:.0f} s mono at 48 kHz: median {median:.3f} s = "
          f"{seconds / median:.0f}x real time, "
          f"{median / x.size * 1e9:.1f} ns per sample")


if __name__ == "__main__":
    main()

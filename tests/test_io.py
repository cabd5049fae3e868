"""Tests for sonicmix.io: reading, resampling, dithered PCM writing, atomic and safe output."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import sonicmix.io as sio
from sonicmix.errors import AudioError, AudioFileError, LayoutError, ParameterError

SR = 48_000
LSB = {"PCM_16": 2.0**-15, "PCM_24": 2.0**-23}
BITS = {"PCM_16": 16, "PCM_24": 24}


def noise(rng: np.random.Generator, channels: int, frames: int, peak: float = 0.9) -> np.ndarray:
    return (peak * rng.uniform(-1.0, 1.0, size=(channels, frames))).astype(np.float64)


def read_ints(path) -> np.ndarray:
    """The integers stored in a 16- or 24-bit file, as (channels, frames) int64, read by soundfile."""
    kind = sf.info(str(path)).subtype
    data, _ = sf.read(str(path), dtype="int32", always_2d=True)
    # soundfile returns PCM left-aligned in int32: shift down by 32 - bits.
    return (data.astype(np.int64) >> (32 - BITS[kind])).T


def sine(freq_hz: float, sample_rate: int, duration_s: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_round_trip_is_exact(tmp_path, rng, dtype):
    audio = (1.5 * rng.standard_normal((3, 5000))).astype(dtype)  # beyond +-1 on purpose: FLOAT keeps it
    result = sio.write(tmp_path / "f.wav", audio, SR, subtype="FLOAT")
    assert result == sio.WriteResult(tmp_path.resolve() / "f.wav", 5000, 3, "FLOAT", 0)
    back, rate = sio.read(tmp_path / "f.wav", dtype=dtype)
    assert rate == SR and back.dtype == dtype and back.shape == (3, 5000)
    # The file stores float32: exact for float32 input, exact to the float32 cast for float64.
    np.testing.assert_array_equal(back, audio.astype(np.float32).astype(dtype))


@pytest.mark.parametrize("ext", [".wav", ".flac"])
@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
@pytest.mark.parametrize("dither", [False, True])
def test_pcm_round_trip_error_bound(tmp_path, rng, ext, subtype, dither):
    audio = noise(rng, 2, 20_000)
    sio.write(tmp_path / f"p{ext}", audio, SR, subtype=subtype, dither=dither)
    back, _ = sio.read(tmp_path / f"p{ext}", dtype="float64")
    err_lsb = np.abs(back - audio) / LSB[subtype]
    # Rounding alone errs by at most 0.5 LSB. With dither d in (-1, 1) LSB, |round(x + d) - x|
    # <= |round(x + d) - (x + d)| + |d| < 0.5 + 1 = 1.5 LSB. Small slack for float64 arithmetic.
    bound = 1.5 if dither else 0.5
    assert err_lsb.max() <= bound + 1e-9
    if dither:
        # ...and the dither really is wider than rounding: some errors exceed 0.5 LSB
        # (for TPDF plus rounding that happens for about half of the samples).
        assert err_lsb.max() > 1.0


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_pcm24_integers_come_back_exactly(tmp_path, ext):
    # Every 24-bit integer we hand over (as int32 << 8) must be stored exactly, extremes included.
    ints = np.array([[-(2**23), -(2**23) + 1, -1, 0, 1, 12345, -54321, 2**23 - 2, 2**23 - 1]])
    sio.write(tmp_path / f"x{ext}", ints / 2.0**23, SR, subtype="PCM_24", dither=False)
    np.testing.assert_array_equal(read_ints(tmp_path / f"x{ext}"), ints)


def test_pcm16_integers_come_back_exactly(tmp_path):
    ints = np.array([[-32768, -32767, -1, 0, 1, 32766, 32767]])
    result = sio.write(tmp_path / "x.wav", ints / 32768.0, SR, subtype="PCM_16", dither=False)
    assert result.clipped_samples == 0
    np.testing.assert_array_equal(read_ints(tmp_path / "x.wav"), ints)


def test_clipping_is_counted_and_clips_to_integer_range(tmp_path):
    # +1.0 * 32768 is one beyond 32767; -1.0 maps to -32768 exactly. So 1.0, 1.2, -1.5 clip: 3.
    audio = np.array([[1.0, -1.0, 1.2, -1.5, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]])
    result = sio.write(tmp_path / "c.wav", audio, SR, subtype="PCM_16", dither=False)
    assert result.clipped_samples == 3
    np.testing.assert_array_equal(read_ints(tmp_path / "c.wav")[0], [32767, -32768, 32767, -32768, 16384])


def test_int16_file_reads_scaled_by_32768(tmp_path, rng):
    ints = rng.integers(-32768, 32768, size=(4000, 2), dtype=np.int16)
    ints[:2, 0] = [-32768, 32767]
    sf.write(str(tmp_path / "i.wav"), ints, 44_100, subtype="PCM_16")
    audio, rate = sio.read(tmp_path / "i.wav")
    assert rate == 44_100 and audio.dtype == np.float32 and audio.shape == (2, 4000)
    assert audio.flags.c_contiguous
    # k / 32768 is exact in float32 for every 16-bit k.
    np.testing.assert_array_equal(audio, (ints.T / 32768.0).astype(np.float32))


def test_int24_file_reads_scaled_by_2_pow_23(tmp_path, rng):
    ints = rng.integers(-(2**23), 2**23, size=(3000, 1), dtype=np.int32)
    sf.write(str(tmp_path / "i.flac"), ints << 8, SR, subtype="PCM_24")
    audio, _ = sio.read(tmp_path / "i.flac", dtype="float64")
    np.testing.assert_array_equal(audio, ints.T / 2.0**23)


def test_mono_reads_as_one_row(tmp_path):
    sf.write(str(tmp_path / "m.wav"), np.zeros(100, np.float32), SR, subtype="FLOAT")
    audio, _ = sio.read(tmp_path / "m.wav")
    assert audio.shape == (1, 100)


# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("file_rate", "target_rate"), [(44_100, 48_000), (96_000, 48_000), (48_000, 44_100)])
def test_resample_on_read_length_and_tone(tmp_path, dtype, file_rate, target_rate):
    tone = sine(1000.0, file_rate, 1.0)
    sio.write(tmp_path / "t.wav", np.vstack([tone, -tone]), file_rate, subtype="FLOAT")
    audio, rate = sio.read(tmp_path / "t.wav", sample_rate=target_rate, dtype=dtype)
    assert rate == target_rate and audio.dtype == np.dtype(dtype) and audio.shape[0] == 2
    assert audio.flags.c_contiguous
    # The length scales by the rate ratio, to the nearest sample.
    assert abs(audio.shape[1] - file_rate * target_rate / file_rate) <= 0.5
    # One second at the target rate: FFT bins are exactly 1 Hz apart, so the tone must peak at bin 1000.
    spectrum = np.abs(np.fft.rfft(audio[0, :target_rate] * np.hanning(target_rate)))
    assert np.argmax(spectrum) == 1000
    # Amplitude preserved: a Hann-windowed sine peaks at A * N / 4 in the rfft magnitude; the 1%
    # allows for the resampler's passband ripple and edge transients.
    assert spectrum[1000] == pytest.approx(0.5 * target_rate / 4, rel=0.01)
    # The second channel (the negated tone) was resampled with the first, not shifted or swapped.
    np.testing.assert_allclose(audio[1], -audio[0], atol=1e-6)


def test_same_rate_does_not_resample(tmp_path, rng):
    audio = noise(rng, 2, 1000).astype(np.float32)
    sio.write(tmp_path / "s.wav", audio, SR, subtype="FLOAT")
    back, rate = sio.read(tmp_path / "s.wav", sample_rate=SR)
    assert rate == SR
    np.testing.assert_array_equal(back, audio)


@pytest.mark.parametrize("bad", [48.0 + 0.5, "48000", 0, True])
def test_read_refuses_bad_sample_rate(tmp_path, bad):
    sio.write(tmp_path / "s.wav", np.zeros((1, 10)), SR)
    with pytest.raises(ParameterError, match="sample_rate="):
        sio.read(tmp_path / "s.wav", sample_rate=bad)


def test_read_refuses_integer_dtype(tmp_path):
    sio.write(tmp_path / "s.wav", np.zeros((1, 10)), SR)
    with pytest.raises(ParameterError, match=r"dtype='int16'.*'float32' or 'float64'"):
        sio.read(tmp_path / "s.wav", dtype="int16")


def test_read_checks_layout(tmp_path):
    sio.write(tmp_path / "s.wav", np.zeros((2, 10)), SR)
    assert sio.read(tmp_path / "s.wav", layout="stereo")[0].shape == (2, 10)
    with pytest.raises(LayoutError, match=r"layout='5\.1' has 6 channels"):
        sio.read(tmp_path / "s.wav", layout="5.1")


# --------------------------------------------------------------------------- dither


def test_dither_same_seed_same_bytes_other_seed_other_bytes(tmp_path, rng):
    audio = noise(rng, 2, 10_000)
    for name, seed in [("a", 7), ("b", 7), ("c", 8)]:
        sio.write(tmp_path / f"{name}.wav", audio, SR, subtype="PCM_24", seed=seed)
    a, b, c = ((tmp_path / f"{n}.wav").read_bytes() for n in "abc")
    assert a == b
    assert a != c


def test_without_dither_seed_is_irrelevant(tmp_path, rng):
    audio = noise(rng, 2, 10_000)
    sio.write(tmp_path / "a.wav", audio, SR, subtype="PCM_16", dither=False, seed=1)
    sio.write(tmp_path / "b.wav", audio, SR, subtype="PCM_16", dither=False, seed=2)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    # And it is plain rounding: the stored integers are rint(x * 32768).
    np.testing.assert_array_equal(read_ints(tmp_path / "a.wav"), np.rint(audio * 32768))


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_bytes_do_not_depend_on_block_size(tmp_path, rng, ext):
    audio = noise(rng, 3, 10_007)
    paths = []
    for block_size in (1, 63, 4097, 2**16):
        paths.append(tmp_path / f"b{block_size}{ext}")
        sio.write(paths[-1], audio, SR, subtype="PCM_16", seed=3, block_size=block_size)
    first = paths[0].read_bytes()
    assert all(p.read_bytes() == first for p in paths[1:])


def test_dither_on_silence_has_the_tpdf_distribution(tmp_path):
    # For digital silence the output is round(d), d triangular on (-1, 1) LSB. From the
    # triangle's area: P(d > 0.5) = P(d < -0.5) = 0.5 * 0.5 * 0.5 = 1/8, so the output is
    # +1 and -1 with probability 1/8 each and 0 with 3/4; never anything else.
    n = 200_000
    sio.write(tmp_path / "z.wav", np.zeros((1, n)), SR, subtype="PCM_16", seed=11)
    ints = read_ints(tmp_path / "z.wav")[0]
    assert set(np.unique(ints)) <= {-1, 0, 1}
    # Binomial standard deviation sqrt(p (1 - p) / n) = 7.4e-4 for p = 1/8; allow 5 of them.
    assert np.mean(ints == 1) == pytest.approx(1 / 8, abs=5 * 7.4e-4)
    assert np.mean(ints == -1) == pytest.approx(1 / 8, abs=5 * 7.4e-4)


@pytest.mark.parametrize("offset_lsb", [0.0, 0.25, 0.5])
def test_tpdf_error_is_unbiased_with_signal_independent_power(tmp_path, offset_lsb):
    # With TPDF dither the total error e = out - x has mean 0 and variance 1/6 (dither) +
    # 1/12 (rounding) = 1/4 LSB^2 for ANY input (Wannamaker, Lipshitz & Vanderkooy, JAES 2000).
    # Rectangular dither would give variance 0 at offset 0 and 3/16 at 0.25 (noise modulation),
    # and no dither would give a mean error of -offset for offset < 0.5.
    n = 200_000
    x = np.full((1, n), offset_lsb / 32768)
    sio.write(tmp_path / "d.wav", x, SR, subtype="PCM_16", seed=5)
    err = read_ints(tmp_path / "d.wav")[0] - offset_lsb
    # sd of the mean: 0.5 / sqrt(n) = 1.1e-3 -> 5 sd = 0.0056.
    assert abs(err.mean()) < 0.0056
    # sd of the sample variance <= sqrt(E[e^4] / n) <= sqrt(1.5**4 / n) = 5e-3; 0.01 is 2 of those and
    # still far from the rectangular-dither value 3/16.
    assert err.var() == pytest.approx(0.25, abs=0.01)
    assert np.abs(err).max() < 1.5


def test_undithered_small_dc_is_lost(tmp_path):
    # The contrast case for the test above: without dither, a 0.25 LSB DC rounds to silence.
    sio.write(tmp_path / "d.wav", np.full((1, 1000), 0.25 / 32768), SR, subtype="PCM_16", dither=False)
    assert not read_ints(tmp_path / "d.wav").any()


# --------------------------------------------------------------------------- atomic writing


def fail_on_call(monkeypatch, ext: str, number: int, failure: BaseException) -> list[int]:
    """Make the ``number``-th block write raise ``failure`` (WAV: in sonicmix._wav; FLAC: in soundfile)."""
    import sonicmix._wav as wav

    cls, name = (wav.WavWriter, "_append") if ext == ".wav" else (sf.SoundFile, "write")
    calls: list[int] = []
    original = getattr(cls, name)

    def write_then_fail(self, data):
        calls.append(len(data))
        if len(calls) == number:
            raise failure
        return original(self, data)

    monkeypatch.setattr(cls, name, write_then_fail)
    return calls


@pytest.mark.parametrize("ext", [".wav", ".flac"])
@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_nothing(tmp_path, rng, monkeypatch, failure, ext):
    calls = fail_on_call(monkeypatch, ext, 3, failure)
    expected = AudioFileError if isinstance(failure, OSError) else KeyboardInterrupt
    message = r"out\.(wav|flac).*No space left" if expected is AudioFileError else None
    with pytest.raises(expected, match=message):
        sio.write(tmp_path / f"out{ext}", noise(rng, 2, 10_000), SR, block_size=1000)
    assert len(calls) == 3  # it failed mid-way, after two blocks had been written
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_failure_keeps_the_previous_file_intact(tmp_path, rng, monkeypatch, ext):
    target = tmp_path / f"out{ext}"
    sio.write(target, noise(rng, 1, 100), SR)
    before = target.read_bytes()
    failure = sf.LibsndfileError(0, prefix="x: ") if ext == ".flac" else OSError(errno.EIO, "I/O error")
    fail_on_call(monkeypatch, ext, 1, failure)
    with pytest.raises(AudioFileError, match=f"out\\{ext}"):
        sio.write(target, noise(rng, 1, 100), SR, seed=1)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == [target.name]


def test_failure_while_finishing_the_header_leaves_nothing(tmp_path, rng, monkeypatch):
    def no_space(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    import sonicmix._wav as wav

    monkeypatch.setattr(wav.os, "pwrite", no_space)
    with pytest.raises(AudioFileError, match=r"out\.wav': No space left on device \(nothing was written\)"):
        sio.write(tmp_path / "out.wav", noise(rng, 2, 100), SR, subtype="FLOAT")
    assert os.listdir(tmp_path) == []


def test_write_goes_through_fsynced_hidden_partial_file(tmp_path, rng, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", fd)), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", a, b)), real_replace(a, b))[1])
    result = sio.write(tmp_path / "out.flac", noise(rng, 2, 1000), SR, subtype="PCM_16")
    replaces = [e for e in events if e[0] == "replace"]
    assert len(replaces) == 1
    _, src, dst = replaces[0]
    assert os.path.dirname(src) == str(tmp_path.resolve()) and dst == str(result.path)
    assert os.path.basename(src).startswith(".") and src.endswith(".partial")
    assert events.index(replaces[0]) > 0 and events[0][0] == "fsync"  # data flushed before the rename
    assert os.listdir(tmp_path) == ["out.flac"]


def test_new_file_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        sio.write(tmp_path / "p.wav", np.zeros((1, 10)), SR)
    finally:
        os.umask(old)
    assert (tmp_path / "p.wav").stat().st_mode & 0o777 == 0o644  # 0o666 & ~0o022, like open()


# --------------------------------------------------------------------------- refusing before writing


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_refused_before_anything_is_written(tmp_path, bad):
    audio = np.zeros((2, 100))
    audio[1, 5] = bad
    with pytest.raises(AudioError, match="channel 1, sample 5"):
        sio.write(tmp_path / "n.wav", audio, SR)
    assert os.listdir(tmp_path) == []


def test_transposed_audio_refused_with_hint(tmp_path):
    with pytest.raises(AudioError, match=r"shape=\(48000, 2\).*data\.T"):
        sio.write(tmp_path / "t.wav", np.zeros((48_000, 2)), SR)
    assert os.listdir(tmp_path) == []


def test_integer_audio_refused(tmp_path):
    with pytest.raises(AudioError, match="not floating point"):
        sio.write(tmp_path / "i.wav", np.zeros((1, 10), np.int16), SR)


@pytest.mark.parametrize("name", ["out.mp3", "out.ogg", "out"])
def test_unknown_extension_refused_with_hint(tmp_path, name):
    with pytest.raises(ParameterError, match=r"expected '\.wav' or '\.flac'"):
        sio.write(tmp_path / name, np.zeros((1, 10)), SR)
    assert os.listdir(tmp_path) == []


def test_extension_is_case_insensitive(tmp_path):
    sio.write(tmp_path / "UP.WAV", np.zeros((1, 10)), SR)
    assert sio.info(tmp_path / "UP.WAV").format == "WAV"


def test_flac_float_refused(tmp_path):
    with pytest.raises(ParameterError, match=r"subtype='FLOAT' is not possible in FLAC"):
        sio.write(tmp_path / "f.flac", np.zeros((1, 10)), SR, subtype="FLOAT")


def test_unknown_subtype_refused(tmp_path):
    with pytest.raises(ParameterError, match=r"subtype='PCM_32' is unknown"):
        sio.write(tmp_path / "f.wav", np.zeros((1, 10)), SR, subtype="PCM_32")


def test_flac_limits_checked_before_writing(tmp_path):
    with pytest.raises(ParameterError, match="9 channels"):
        sio.write(tmp_path / "f.flac", np.zeros((9, 10)), SR, subtype="PCM_16")
    with pytest.raises(ParameterError, match="sample_rate=768000"):
        sio.write(tmp_path / "f.flac", np.zeros((2, 10)), 768_000, subtype="PCM_16")
    assert os.listdir(tmp_path) == []


def test_wavs_beyond_4_gib_are_written_as_rf64(tmp_path, monkeypatch):
    # 2 x 2**30 PCM_24 samples need 6 GiB: beyond RIFF's 32-bit size field, so RF64 (EBU Tech 3306).
    writer = sio.AudioWriter(tmp_path / "big.wav", SR, 2, frames=2**30, open_now=False)
    assert writer._container == "RF64"
    assert os.listdir(tmp_path) == []
    # Shrink the limit to test the real thing cheaply: the file reads back as RF64, samples intact.
    monkeypatch.setattr(sio, "_WAV_MAX_DATA_BYTES", 3000)
    audio = np.linspace(-0.5, 0.5, 2000, dtype=np.float32).reshape(2, 1000)
    sio.write(tmp_path / "rf64.wav", audio, SR, subtype="FLOAT")
    assert sio.info(tmp_path / "rf64.wav").format == "RF64"
    np.testing.assert_array_equal(sio.read(tmp_path / "rf64.wav")[0], audio)
    # Streaming without the length: refused at the limit, nothing left behind
    with pytest.raises(ParameterError, match="pass frames="):
        with sio.AudioWriter(tmp_path / "stream.wav", SR, 2, subtype="FLOAT") as w:
            for _ in range(3):
                w.write(audio[:, :200])
    assert sorted(os.listdir(tmp_path)) == ["rf64.wav"]


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_bad_seed_refused(tmp_path, seed):
    with pytest.raises(ParameterError, match="seed="):
        sio.write(tmp_path / "s.wav", np.zeros((1, 10)), SR, seed=seed)


# --------------------------------------------------------------------------- safe targets


@pytest.fixture
def source(tmp_path, rng):
    path = tmp_path / "input.wav"
    sio.write(path, noise(rng, 2, 500), SR)
    return path


def _assert_input_refused(path, source, inputs):
    before = source.read_bytes()
    with pytest.raises(AudioFileError, match="refusing to overwrite"):
        sio.write(path, np.zeros((2, 500)), SR, inputs=inputs)
    assert source.read_bytes() == before
    assert not [p for p in os.listdir(source.parent) if p.endswith(".partial")]


def test_refuses_to_overwrite_an_input(source):
    _assert_input_refused(source, source, [source])


def test_refuses_input_given_by_relative_path(source, monkeypatch):
    monkeypatch.chdir(source.parent)
    _assert_input_refused("input.wav", source, [str(source)])
    _assert_input_refused(source, source, ["./input.wav"])


def test_refuses_input_reached_through_symlink(source, tmp_path):
    link = tmp_path / "link.wav"
    link.symlink_to(source)
    _assert_input_refused(link, source, [source])  # output is a link to the input
    _assert_input_refused(source, source, [link])  # input given as a link


def test_refuses_input_reached_through_hard_link(source, tmp_path):
    hard = tmp_path / "hard.wav"
    os.link(source, hard)
    _assert_input_refused(hard, source, [source])


def test_other_output_next_to_input_is_fine(source, tmp_path):
    result = sio.write(tmp_path / "output.wav", np.zeros((2, 500)), SR, inputs=[source])
    assert result.path.name == "output.wav"


def test_overwrite_false_refuses_existing_file(source):
    with pytest.raises(AudioFileError, match="overwrite=False"):
        sio.write(source, np.zeros((2, 10)), SR, overwrite=False)
    new = source.parent / "new.wav"
    assert sio.write(new, np.zeros((2, 10)), SR, overwrite=False).frames == 10


def test_writing_through_symlink_replaces_its_target(tmp_path):
    target = tmp_path / "real.wav"
    sio.write(target, np.zeros((1, 10)), SR)
    link = tmp_path / "link.wav"
    link.symlink_to(target)
    result = sio.write(link, np.zeros((1, 20)), SR)
    assert result.path == target.resolve()
    assert link.is_symlink() and sio.info(target).frames == 20


def test_missing_folder_named(tmp_path):
    folder = tmp_path / "nope"
    with pytest.raises(AudioFileError, match=f"folder '{folder}' does not exist"):
        sio.write(folder / "x.wav", np.zeros((1, 10)), SR)


def test_folder_that_is_a_file_named(tmp_path):
    # Works as root too, where chmod does not stop writes.
    not_a_folder = tmp_path / "plain.txt"
    not_a_folder.write_text("x")
    with pytest.raises(AudioFileError, match=f"'{not_a_folder}' is not a folder"):
        sio.write(not_a_folder / "x.wav", np.zeros((1, 10)), SR)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_named(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(AudioFileError, match=f"folder '{folder}' is not writable"):
            sio.write(folder / "x.wav", np.zeros((1, 10)), SR)
    finally:
        folder.chmod(0o700)


def test_directory_as_target_refused(tmp_path):
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(AudioFileError, match="is a directory"):
        sio.write(tmp_path / "d.wav", np.zeros((1, 10)), SR)


# --------------------------------------------------------------------------- unreadable files


@pytest.mark.parametrize("func", [sio.read, sio.info, lambda p: next(sio.blocks(p, 10))])
def test_missing_file(tmp_path, func):
    path = tmp_path / "missing.wav"
    with pytest.raises(AudioFileError, match=r"missing\.wav.*does not exist"):
        func(path)


def test_corrupt_file(tmp_path, rng):
    path = tmp_path / "noise.wav"
    path.write_bytes(rng.bytes(5000))
    with pytest.raises(AudioFileError, match=r"noise\.wav.*corrupt") as info:
        sio.read(path)
    assert isinstance(info.value.__cause__, sf.SoundFileError)  # raised from soundfile's error


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioFileError, match=r"empty\.wav.*empty \(0 bytes\)"):
        sio.read(path)


def test_file_without_frames(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros((0, 2)), SR)
    assert sio.info(path).frames == 0
    with pytest.raises(AudioFileError, match=r"zero\.wav.*0 frames"):
        sio.read(path)


def test_directory_read_refused(tmp_path):
    with pytest.raises(AudioFileError, match="is a directory"):
        sio.read(tmp_path)


@pytest.mark.parametrize("func", [sio.read, sio.info, lambda p: list(sio.blocks(p, 100))])
def test_truncated_wav_detected(tmp_path, rng, func):
    # libsndfile on its own reads a cut WAV silently as a shorter file (it trusts the file
    # size); the data chunk's declared size still says 1000 frames.
    path = tmp_path / "cut.wav"
    sf.write(str(path), noise(rng, 2, 1000).T, SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1001])  # 1001 bytes = 250 frames of 4 bytes, and one byte
    assert sf.info(str(path)).frames < 1000  # what soundfile alone would report
    with pytest.raises(AudioFileError, match=r"cut\.wav.*truncated.*declares 1000 frames.*only 749"):
        func(path)


def test_truncated_flac_detected(tmp_path, rng):
    path = tmp_path / "cut.flac"
    sio.write(path, noise(rng, 2, 20_000), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match=r"cut\.flac"):
        sio.read(path)


def test_wav_with_unknown_data_size_is_not_flagged(tmp_path, rng):
    # Streaming writers that cannot seek back leave the data size as 0xFFFFFFFF; that is
    # "unknown", not "truncated".
    path = tmp_path / "stream.wav"
    audio = noise(rng, 1, 100).astype(np.float32)
    sio.write(path, audio, SR, subtype="FLOAT")
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    back, _ = sio.read(path)
    np.testing.assert_array_equal(back, audio)


# --------------------------------------------------------------------------- streaming reader


@pytest.mark.parametrize("block_size", [1, 63, 64, 65, 4097])
def test_blocks_concatenate_to_read(tmp_path, rng, block_size):
    path = tmp_path / "b.flac"
    sio.write(path, noise(rng, 2, 5000), SR, subtype="PCM_24")
    whole, _ = sio.read(path, dtype="float64")
    parts = list(sio.blocks(path, block_size, dtype="float64"))
    assert all(p.shape == (2, block_size) for p in parts[:-1]) and 1 <= parts[-1].shape[1] <= block_size
    assert all(p.flags.c_contiguous and p.dtype == np.float64 for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


@pytest.mark.parametrize("bad", [0, -5, 2.5])
def test_blocks_refuses_bad_block_size(tmp_path, bad):
    sio.write(tmp_path / "b.wav", np.zeros((1, 10)), SR)
    with pytest.raises(ParameterError, match="block_size="):
        next(sio.blocks(tmp_path / "b.wav", bad))


def test_info_fields(tmp_path):
    sio.write(tmp_path / "i.flac", np.zeros((2, 22_050)), 44_100, subtype="PCM_16")
    assert sio.info(tmp_path / "i.flac") == sio.AudioInfo(
        sample_rate=44_100, channels=2, frames=22_050, duration_s=0.5, subtype="PCM_16", format="FLAC"
    )


def test_importing_io_does_not_load_soundfile_or_soxr():
    code = "import sys, sonicmix.io; print(sorted({'soundfile', 'soxr', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_long_file_asks_for_its_writing_to_disk_to_start_as_it_grows(tmp_path, monkeypatch):
    """Every 8 MiB the writer hints the kernel to start writing (the closing fsync then waits for
    little); the ranges follow each other from the file's start and the bytes are unchanged."""
    ranges = []
    real = sio._start_writeback

    def recording(fd, start, n):
        ranges.append((start, n))
        real(fd, start, n)

    monkeypatch.setattr(sio, "_start_writeback", recording)
    block = np.full((2, 1 << 18), 0.25, np.float32)  # 2 MiB a block
    path = tmp_path / "long.wav"
    with sio.AudioWriter(path, 48000, 2, subtype="FLOAT") as writer:
        for _ in range(10):
            writer.write(block)
    assert len(ranges) == 2 and ranges[0][0] == 0 and ranges[1][0] == sum(ranges[0])
    assert all(n >= sio._WRITEBACK_BYTES for _, n in ranges)
    audio, _ = sio.read(path)
    assert audio.shape == (2, 10 << 18) and np.all(audio == 0.25)

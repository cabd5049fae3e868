"""sonicmix._wav: the WAV and RF64 files AudioWriter writes are libsndfile's, byte for byte.

The oracle is libsndfile itself (through soundfile): given the samples our file
stores, it must write the very same bytes, but for the PEAK chunk's timestamp,
which is the time of writing for libsndfile and SOURCE_DATE_EPOCH (when set)
for us. The quantisation is checked against the formula sonicmix used before
it wrote WAV itself (when libsndfile got the integers), so that a seed still
gives the same samples.
"""

from __future__ import annotations

import os
import struct
import time

import numpy as np
import pytest
import soundfile as sf

import sonicmix._wav as wav
import sonicmix.io as sio
from sonicmix._pcm import Quantiser
from sonicmix.errors import AudioFileError, ParameterError

RATE = 48_000
SCALE = {"PCM_16": 2.0**15, "PCM_24": 2.0**23}


def chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(id, header offset, declared size) of every chunk; RF64's 0xFFFFFFFF data size ends the walk."""
    out, at = [], 12
    while at + 8 <= len(data):
        cid, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        out.append((cid, at, size))
        if size == 0xFFFFFFFF:
            break
        at += 8 + size + (size & 1)
    return out


def peak_chunk(data: bytes) -> tuple[int, list[tuple[float, int]]]:
    """(timestamp, [(value, frame) per channel]) of the PEAK chunk."""
    (_, at, size) = next(c for c in chunks(data) if c[0] == b"PEAK")
    version, stamp = struct.unpack_from("<II", data, at + 8)
    assert version == 1
    return stamp, list(struct.iter_unpack("<fI", data[at + 16 : at + 8 + size]))


def without_peak_time(data: bytes) -> bytes:
    for cid, at, _ in chunks(data):
        if cid == b"PEAK":
            return data[: at + 12] + bytes(4) + data[at + 16 :]
    return data


def libsndfile_bytes(path, stored: np.ndarray, subtype: str, container: str) -> bytes:
    """What libsndfile writes for these stored samples (float32, as AudioWriter.write returns them)."""
    if subtype == "FLOAT":
        frames = np.ascontiguousarray(stored.T)
    else:  # exact: the stored values are integers over 2**(bits - 1)
        ints = (stored.T.astype(np.float64) * SCALE[subtype]).astype(np.int32)
        frames = ints.astype(np.int16) if subtype == "PCM_16" else ints << 8
    sf.write(path, frames, RATE, subtype=subtype, format=container)
    return open(path, "rb").read()


def write_in_blocks(path, audio, subtype, block=1000, **kwargs) -> np.ndarray:
    stored = []
    with sio.AudioWriter(path, RATE, audio.shape[0], subtype=subtype, seed=7, **kwargs) as writer:
        for start in range(0, audio.shape[1], block):
            stored.append(writer.write(audio[:, start : start + block], stored=True))
    return np.concatenate(stored, axis=1)


@pytest.mark.parametrize("container", ["WAV", "RF64"])
@pytest.mark.parametrize("frames", [4800, 4801], ids=["even", "odd"])
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_same_bytes_as_libsndfile_for_the_same_samples(
    tmp_path, rng, monkeypatch, subtype, channels, frames, container
):
    # beyond full scale on purpose: PCM clips (counted), FLOAT keeps the values
    audio = rng.uniform(-1.05, 1.05, (channels, frames)).astype(np.float32)
    if container == "RF64":
        monkeypatch.setattr(sio, "_WAV_MAX_DATA_BYTES", 1)  # anything with frames= goes RF64
    ours = tmp_path / "ours.wav"
    stored = write_in_blocks(ours, audio, subtype, frames=frames)
    data = ours.read_bytes()
    assert data[:4] == (b"RF64" if container == "RF64" else b"RIFF")
    theirs = libsndfile_bytes(tmp_path / "theirs.wav", stored, subtype, container)
    assert len(data) == len(theirs)
    assert without_peak_time(data) == without_peak_time(theirs)
    # and libsndfile reads back exactly what write() said the file holds
    back, rate = sf.read(ours, dtype="float32", always_2d=True)
    assert rate == RATE and sf.info(ours).format == container
    np.testing.assert_array_equal(back.T, stored)
    if subtype == "PCM_24" and channels == 1 and frames % 2:  # 14403 data bytes: odd, padded
        (_, at, size) = chunks(data)[-1]
        assert size in (14403, 0xFFFFFFFF) and len(data) % 2 == 0 and data[-1] == 0


@pytest.mark.parametrize("channels", [3, 4, 8])
def test_rf64_channel_masks_match_libsndfile(tmp_path, rng, monkeypatch, channels):
    monkeypatch.setattr(sio, "_WAV_MAX_DATA_BYTES", 1)
    stored = write_in_blocks(tmp_path / "o.wav", rng.uniform(-1, 1, (channels, 11)), "PCM_24", frames=11)
    theirs = libsndfile_bytes(tmp_path / "t.wav", stored, "PCM_24", "RF64")
    assert (tmp_path / "o.wav").read_bytes() == theirs


def test_peak_values_and_first_positions(tmp_path, rng):
    audio = rng.uniform(-0.5, 0.5, (3, 70_000)).astype(np.float32)
    audio[0, 100] = audio[0, 50_000] = -0.9  # a tie: the first one counts
    audio[1, 69_999] = 0.75  # in the last block
    audio[2] = 0.0  # silence: 0 at frame 0
    path = tmp_path / "p.wav"
    write_in_blocks(path, audio, "FLOAT", block=16_384)
    _, peaks = peak_chunk(path.read_bytes())
    assert peaks == [(np.float32(0.9), 100), (0.75, 69_999), (0.0, 0)]


def test_peak_of_float64_input_is_that_of_the_stored_float32(tmp_path):
    # 0.5 - 1e-12 and 0.5 + 1e-12 both store as 0.5f: the first of them is the peak's frame
    audio = np.zeros((1, 10))
    audio[0, 3], audio[0, 6] = 0.5 - 1e-12, 0.5 + 1e-12
    path = tmp_path / "p.wav"
    sio.write(path, audio, RATE, subtype="FLOAT")
    assert peak_chunk(path.read_bytes())[1] == [(0.5, 3)]


def numpy_float_path(blocks: list[np.ndarray], channels: int) -> tuple[bytes, list[tuple[float, int]]]:
    """The float data and PEAK values as the writer's numpy code made them before its kernel.

    A cast to float32, then per slice of ``CHUNK_SAMPLES // channels`` frames and channel the
    first argmax and argmin, the larger magnitude (the earlier on a tie) replacing the peak only
    when strictly larger.
    """
    data, peaks, positions, frames = [], [0.0] * channels, [0] * channels, 0
    step = max(1, wav.CHUNK_SAMPLES // channels)
    for block in blocks:
        for start in range(0, block.shape[1], step):
            rows = block[:, start : start + step].astype(np.float32)
            data.append(rows.T.astype("<f4").tobytes())
            for c, row in enumerate(rows):
                high, low = int(row.argmax()), int(row.argmin())
                up, down = float(row[high]), -float(row[low])
                value, at = (up, high) if (up, -high) > (down, -low) else (down, low)
                if value > np.float32(peaks[c]):
                    peaks[c], positions[c] = value, frames + at
            frames += rows.shape[1]
    return b"".join(data), list(zip(np.float32(peaks).tolist(), positions, strict=True))


def tie_blocks(rng, channels: int) -> list[np.ndarray]:
    """Blocks of every kind the writer meets, with ties of the peak inside and across slices and blocks."""
    step = wav.CHUNK_SAMPLES // channels
    blocks = []
    for n, dtype in [(1, np.float32), (7, np.float64), (step + 3, np.float32), (3 * step + 11, np.float64)]:
        blocks.append(rng.uniform(-0.5, 0.5, (channels, n)).astype(dtype))
    big, long = blocks[2], blocks[3]
    big[0, 5], big[0, 2], big[-1, step + 1] = 0.8, -0.8, -0.8  # -x before +x; a tie in the next slice
    long[0, 4] = 0.8  # a tie with an earlier block
    # the peak: float64 values that store as the same float32, -x first, then ties in later slices
    long[:, step + 2], long[:, step + 9], long[:, 2 * step] = -(0.9 - 1e-12), 0.9 + 1e-12, 0.9
    wide = rng.uniform(-0.85, 0.85, (channels, 2 * step + 5)).astype(np.float32)
    blocks.append(wide[:, 3 : step + 40])  # a column slice: not C-ordered
    readonly = rng.uniform(-0.5, 0.5, (channels, 500)).astype(np.float32)
    readonly[:, 100] = -0.9  # a tie in a later block: the peak stays where it was
    readonly.flags.writeable = False
    blocks.append(readonly)
    blocks.append(np.asfortranarray(rng.uniform(-0.5, 0.5, (channels, 300))))
    return blocks


@pytest.mark.parametrize("channels", [1, 2, 3, 6])
def test_the_float_kernel_writes_the_numpy_paths_bytes_and_peaks(tmp_path, rng, channels):
    blocks = tie_blocks(rng, channels)
    path = tmp_path / "k.wav"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        writer = wav.WavWriter(fd, sample_rate=RATE, channels=channels, subtype="FLOAT", peak_time=0)
        assert all([writer.write_float(block) for block in blocks])
        writer.finish()
    finally:
        os.close(fd)
    data = path.read_bytes()
    expected_data, expected_peaks = numpy_float_path(blocks, channels)
    (_, at, size) = next(c for c in chunks(data) if c[0] == b"data")
    assert data[at + 8 : at + 8 + size] == expected_data
    assert peak_chunk(data)[1] == expected_peaks
    first = sum(b.shape[1] for b in blocks[:3]) + wav.CHUNK_SAMPLES // channels + 2
    assert expected_peaks == [(np.float32(0.9).item(), first)] * channels  # the ties are really there


def test_a_non_finite_slice_keeps_the_numpy_rule_and_is_reported(tmp_path, rng):
    blocks = [rng.uniform(-0.5, 0.5, (2, 20_000)).astype(np.float32) for _ in range(2)]
    blocks[0][1, 700] = -np.inf  # the other channel's peak still comes from the kernel
    path = tmp_path / "i.wav"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        writer = wav.WavWriter(fd, sample_rate=RATE, channels=2, subtype="FLOAT", peak_time=0)
        assert [writer.write_float(block) for block in blocks] == [False, True]
        writer.finish()
    finally:
        os.close(fd)
    expected_data, expected_peaks = numpy_float_path(blocks, 2)
    assert path.read_bytes().endswith(expected_data)
    assert peak_chunk(path.read_bytes())[1] == expected_peaks
    assert expected_peaks[1] == (np.inf, 700)


def test_peak_timestamp_is_source_date_epoch_or_now(tmp_path, rng, monkeypatch):
    audio = rng.uniform(-1, 1, (2, 1000))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = int(time.time())
    sio.write(tmp_path / "now.wav", audio, RATE, subtype="FLOAT")
    assert before <= peak_chunk((tmp_path / "now.wav").read_bytes())[0] <= time.time()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    sio.write(tmp_path / "a.wav", audio, RATE, subtype="FLOAT")
    time.sleep(1.1)
    sio.write(tmp_path / "b.wav", audio, RATE, subtype="FLOAT")
    assert peak_chunk((tmp_path / "a.wav").read_bytes())[0] == 1767225600
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


@pytest.mark.parametrize("value", ["yesterday", "-1", "4294967296", "1.5"])
def test_a_bad_source_date_epoch_is_refused_before_writing_float(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(ParameterError, match=f"SOURCE_DATE_EPOCH='{value}'; expected whole seconds"):
        sio.write(tmp_path / "f.wav", np.zeros((1, 10)), RATE, subtype="FLOAT")
    assert os.listdir(tmp_path) == []
    sio.write(tmp_path / "p.wav", np.zeros((1, 10)), RATE, subtype="PCM_24")  # no PEAK chunk, no need


def tpdf_reference(seed: int, count: int) -> np.ndarray:
    """The first ``count`` dither values (LSB) of a seed: SplitMix64 (Steele, Lea & Flood 2014) in numpy.

    Draw m mixes ``seed + (m + 1) * golden``; its bits 40-63 and 16-39 are two uniform
    variables on [0, 1) in steps of 2**-24, and their sum minus one the TPDF value.
    """
    u64 = np.uint64
    with np.errstate(over="ignore"):
        s = u64(seed) + u64(0x9E3779B97F4A7C15) * np.arange(1, count + 1, dtype=u64)
        z = (s ^ (s >> u64(30))) * u64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> u64(27))) * u64(0x94D049BB133111EB)
        z = z ^ (z >> u64(31))
    high, low = (z >> u64(40)).astype(np.float64), ((z >> u64(16)) & u64(0xFFFFFF)).astype(np.float64)
    return (high + low) * 2.0**-24 - 1.0


def reference_quantisation(audio: np.ndarray, bits: int, seed: int, dither: bool) -> tuple[np.ndarray, int]:
    """Scale, TPDF dither (draw m for the m-th sample in file order), round half to even, clip: in numpy."""
    scale = float(2 ** (bits - 1))
    y = audio.T.astype(np.float64) * scale  # (frames, channels): file order
    if dither:
        y += tpdf_reference(seed, y.size).reshape(y.shape)
    np.rint(y, out=y)
    clipped = int(np.count_nonzero(y < -scale) + np.count_nonzero(y > scale - 1.0))
    return np.clip(y, -scale, scale - 1.0).T, clipped


@pytest.mark.parametrize("dither", [True, False])
@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_stored_samples_are_the_reference_quantisation_in_any_blocks(tmp_path, rng, subtype, dither, ext):
    # blocks longer than the writer's internal slices, a float64 block among float32 ones, clipping
    audio = rng.uniform(-1.01, 1.01, (2, 60_000))
    blocks = [audio[:, :25_000].astype(np.float32), audio[:, 25_000:25_001], audio[:, 25_001:]]
    result = []
    path = tmp_path / f"q{ext}"
    with sio.AudioWriter(path, RATE, 2, subtype=subtype, seed=11, dither=dither) as writer:
        for block in blocks:
            result.append(writer.write(block, stored=True))
    stored = np.concatenate(result, axis=1)
    joined = np.concatenate([b.astype(np.float64) for b in blocks], axis=1)
    levels, clipped = reference_quantisation(joined, int(subtype[4:]), 11, dither)
    np.testing.assert_array_equal(stored * SCALE[subtype], levels)
    assert writer.result.clipped_samples == clipped > 0
    read, _ = sf.read(path, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(read.T, stored)


def test_the_dither_is_triangular_zero_mean_and_seeded():
    d = tpdf_reference(3, 400_000)
    assert -1.0 <= d.min() and d.max() < 1.0
    assert abs(d.mean()) < 3e-3 and d.var() == pytest.approx(1 / 6, rel=0.01)  # TPDF of +-1 LSB: variance 1/6
    counts, _ = np.histogram(d, bins=8, range=(-1, 1))
    triangle = np.array([1, 3, 5, 7, 7, 5, 3, 1]) / 32 * d.size
    np.testing.assert_allclose(counts, triangle, rtol=0.03)
    assert np.corrcoef(d[:-1], d[1:])[0, 1] == pytest.approx(0.0, abs=0.01)  # successive draws independent
    assert not np.array_equal(tpdf_reference(4, 100), d[:100])


def test_quantiser_streams_exactly_and_packs_little_endian():
    audio = np.random.default_rng(2).uniform(-1, 1, (2, 5000)).astype(np.float32)
    whole = Quantiser(24, seed=9, dither=True)
    expected = whole(audio)[0].copy()
    parts = Quantiser(24, seed=9, dither=True)
    got = b"".join(parts(audio[:, a:b])[0].tobytes() for a, b in [(0, 1), (1, 777), (777, 5000)])
    assert got == expected.tobytes()
    levels, _ = reference_quantisation(audio, 24, 9, True)
    packed = np.frombuffer(expected.tobytes(), np.uint8).reshape(-1, 3).astype(np.int32)
    ints = packed[:, 0] | packed[:, 1] << 8 | packed[:, 2] << 16
    ints = np.where(ints >= 2**23, ints - 2**24, ints)
    np.testing.assert_array_equal(ints.reshape(5000, 2).T, levels)


def test_reserve_leaves_a_junk_chunk_before_data_that_readers_skip(tmp_path, rng):
    audio = rng.uniform(-1, 1, (2, 1001)).astype(np.float32)
    for subtype in ("PCM_24", "FLOAT"):
        path = tmp_path / f"{subtype}.wav"
        stored = write_in_blocks(path, audio, subtype, reserve_bext=True)
        data = path.read_bytes()
        found = chunks(data)
        assert [c[0] for c in found][-2:] == [b"JUNK", b"data"]
        assert found[-2][2] == wav.BEXT_RESERVE_BYTES and data[found[-2][1] + 8 : found[-1][1]] == bytes(1024)
        back, _ = sf.read(path, dtype="float32", always_2d=True)
        np.testing.assert_array_equal(back.T, stored)
        assert sio.info(path).frames == 1001


def test_reserve_is_refused_for_flac_and_rf64(tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match=r"reserve_bext=True .* which will be FLAC; expected a RIFF WAV"):
        sio.AudioWriter(tmp_path / "a.flac", RATE, 2, reserve_bext=True)
    monkeypatch.setattr(sio, "_WAV_MAX_DATA_BYTES", 1)
    with pytest.raises(ParameterError, match=r"which will be RF64"):
        sio.AudioWriter(tmp_path / "a.wav", RATE, 2, frames=10, reserve_bext=True)
    assert os.listdir(tmp_path) == []


def test_the_riff_limit_counts_the_header(tmp_path):
    # A float WAV's header is 12 + 24 + 12 + (16 + 8 x channels) + 8 bytes, plus the reserve.
    with sio.AudioWriter(tmp_path / "x.wav", RATE, 2, subtype="FLOAT", reserve_bext=True) as writer:
        header = 12 + 24 + 12 + 32 + (8 + 1024) + 8
        assert writer._handle.header_bytes == header
        assert writer._handle.max_data_bytes == 2**32 - 1 - (header - 8) - 1


def test_writing_after_finish_is_refused_and_touches_no_other_file(tmp_path):
    # finish() closes the descriptor; the OS hands its number to the next file opened
    a = sio.AudioWriter(tmp_path / "a.wav", RATE, 2, subtype="PCM_16")
    a.write(np.zeros((2, 100), np.float32))
    a.finish()
    b = sio.AudioWriter(tmp_path / "b.wav", RATE, 2, subtype="PCM_16", dither=False)
    b.write(np.zeros((2, 10), np.float32))
    with pytest.raises(AudioFileError, match=r"a\.wav'.*the writer is closed"):
        a.write(np.full((2, 1000), 0.5, np.float32))
    b.commit()
    assert a.commit().frames == 100
    np.testing.assert_array_equal(sf.read(tmp_path / "b.wav")[0], np.zeros((10, 2)))
    assert sf.info(tmp_path / "a.wav").frames == 100


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2, 6, 500])
@pytest.mark.parametrize("reserve", [False, True])
def test_the_riff_room_formula_is_the_writers(tmp_path, subtype, channels, reserve):
    with sio.AudioWriter(tmp_path / "x.wav", RATE, channels, subtype=subtype, reserve_bext=reserve) as writer:
        assert writer._handle.max_data_bytes == wav.max_riff_data_bytes(channels, subtype, reserve)


def test_frames_that_fit_the_limit_but_not_the_header_are_written_as_rf64(tmp_path, monkeypatch):
    # 500 float channels make a 4 kB header: frames just under the data limit no longer fit in RIFF
    room = wav.max_riff_data_bytes(500, "FLOAT", False)
    frames = room // (500 * 4) + 1
    monkeypatch.setattr(sio, "_WAV_MAX_DATA_BYTES", 2**32 - 1)  # only the header decides here
    writer = sio.AudioWriter(tmp_path / "x.wav", RATE, 500, subtype="FLOAT", frames=frames, open_now=False)
    assert writer._container == "RF64"


def test_scratch_files_ignore_a_bad_source_date_epoch_and_deliveries_refuse_it_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "-1")
    with pytest.raises(ParameterError, match="SOURCE_DATE_EPOCH='-1'"):
        sio.AudioWriter(tmp_path / "user.wav", RATE, 1, subtype="FLOAT")
    with sio.AudioWriter(tmp_path / "scratch.wav", RATE, 1, subtype="FLOAT", peak_time=0) as writer:
        writer.write(np.zeros((1, 10), np.float32))
    src = tmp_path / "src.wav"
    sio.write(src, np.zeros((1, 4410)), 44100, subtype="PCM_16", dither=False)
    resampled = sio.resample_file(src, RATE, temp_dir=tmp_path)  # a scratch float file
    assert sf.info(resampled).samplerate == RATE
    import sonicmix as sm
    from sonicmix.deliver import deliver

    silence = sm.ArraySource(np.zeros((1, RATE), np.float32), RATE)
    graph = sm.Graph(
        tracks={"t": sm.Track(clips=(sm.Clip(source=silence),))}, buses={"master": sm.Bus(output=None)}
    )
    out = tmp_path / "out"

    def rendered(*_: object) -> None:
        pytest.fail("the delivery rendered before refusing SOURCE_DATE_EPOCH")

    with pytest.raises(ParameterError, match="SOURCE_DATE_EPOCH"):
        deliver(graph, "ebu-r128", out, subtype="FLOAT", bext=False, progress=rendered)
    assert not out.exists()

"""The BWF ``bext`` chunk (EBU Tech 3285 v2): layout, rounding, round trips, and the audio left intact.

Independent checks: chunks built here byte by byte from the spec's layout
(602-byte fixed part), the spec's own rounding table (section 2.4), libsndfile
reading our chunk (SFC_GET_BROADCAST_INFO) and writing one we read
(SFC_SET_BROADCAST_INFO), Python's ``wave`` module and soundfile reading the
audio back bit for bit.
"""

from __future__ import annotations

import os
import struct
import wave

import numpy as np
import pytest
import soundfile as sf

import sonicmix.bwf as bwf
import sonicmix.io as sio
from sonicmix.bwf import FIXED_SIZE_BYTES, build_bext, loudness_fields, parse_bext, read_bext, write_bext
from sonicmix.errors import AudioFileError, ParameterError
from sonicmix.loudness import measure

RATE = 48_000
DATE, TIME = "2024-05-01", "10:11:12"

# libsndfile's SF_BROADCAST_INFO (sndfile.h), native C alignment: the 32-bit time
# reference is padded to offset 340, unlike the packed chunk (338).
SF_INFO_FORMAT = "@256s32s32s10s8sIIh64shhhhh180sI"
SFC_GET_BROADCAST_INFO = 0x10F0
SFC_SET_BROADCAST_INFO = 0x10F1


# ------------------------------------------------------------------ helpers (independent of sonicmix.bwf)


def riff_chunks(path) -> list[tuple[bytes, int, int]]:
    """(id, header offset, declared size) of every chunk, walked here without sonicmix."""
    data = open(path, "rb").read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert int.from_bytes(data[4:8], "little") == len(data) - 8, "RIFF size must be file size - 8"
    out, pos = [], 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        out.append((cid, pos, size))
        pos += 8 + size + (size & 1)
    assert pos == len(data), "chunks must tile the file, each odd chunk followed by its pad byte"
    return out


def chunk_payload(path, chunk_id: bytes) -> bytes:
    data = open(path, "rb").read()
    for cid, pos, size in riff_chunks(path):
        if cid == chunk_id:
            return data[pos + 8 : pos + 8 + size]
    raise AssertionError(f"no {chunk_id!r} chunk")


def hand_built_fixed(
    *,
    description=b"",
    originator=b"",
    reference=b"",
    date=b"",
    time=b"",
    timeref=0,
    version=2,
    umid=b"",
    loudness=(0x7FFF,) * 5,
) -> bytes:
    """The 602-byte fixed part, assembled field by field from Tech 3285 v2 section 2.3."""
    parts = [
        description.ljust(256, b"\0"),  # Description[256]
        originator.ljust(32, b"\0"),  # Originator[32]
        reference.ljust(32, b"\0"),  # OriginatorReference[32]
        date.ljust(10, b"\0"),  # OriginationDate[10]
        time.ljust(8, b"\0"),  # OriginationTime[8]
        (timeref & 0xFFFFFFFF).to_bytes(4, "little"),  # TimeReferenceLow
        (timeref >> 32).to_bytes(4, "little"),  # TimeReferenceHigh
        version.to_bytes(2, "little"),  # Version
        umid.ljust(64, b"\0"),  # UMID[64]
        b"".join(v.to_bytes(2, "little", signed=v != 0x7FFF) for v in loudness),  # 5 x WORD
        bytes(180),  # Reserved[180]
    ]
    fixed = b"".join(parts)
    assert len(fixed) == 602
    return fixed


def insert_chunk_after_fmt(path, chunk_id: bytes, payload: bytes) -> None:
    """Insert a chunk right after 'fmt ', with its pad byte, fixing the RIFF size (test-side writer)."""
    data = bytearray(open(path, "rb").read())
    _, pos, size = next(c for c in riff_chunks(path) if c[0] == b"fmt ")
    at = pos + 8 + size + (size & 1)
    chunk = chunk_id + len(payload).to_bytes(4, "little") + payload + (b"\0" if len(payload) & 1 else b"")
    data[at:at] = chunk
    data[4:8] = (len(data) - 8).to_bytes(4, "little")
    open(path, "wb").write(bytes(data))


def libsndfile_bext(path) -> tuple:
    """What libsndfile reads from the file's bext chunk (SFC_GET_BROADCAST_INFO)."""
    from soundfile import _ffi, _snd

    with sf.SoundFile(path) as handle:
        buf = _ffi.new("char[]", 8192)
        assert _snd.sf_command(handle._file, SFC_GET_BROADCAST_INFO, buf, 8192) == 1, "libsndfile saw no bext"
        raw = bytes(_ffi.buffer(buf))
    n = struct.calcsize(SF_INFO_FORMAT)
    fields = struct.unpack(SF_INFO_FORMAT, raw[:n])
    return fields + (raw[n : n + fields[-1]],)


def raw_samples(path) -> np.ndarray:
    """Samples exactly as stored: integers for PCM, float bit patterns for FLOAT."""
    subtype = sf.info(path).subtype
    if subtype == "FLOAT":
        return sf.read(path, dtype="float32", always_2d=True)[0].view(np.uint32)
    return sf.read(path, dtype="int32", always_2d=True)[0]


@pytest.fixture
def wav(tmp_path, rng):
    """Factory: a WAV written by sonicmix.io.write with random audio."""

    def make(subtype="PCM_24", channels=2, frames=4801, name="mix.wav"):
        path = tmp_path / name
        audio = rng.uniform(-0.9, 0.9, (channels, frames)).astype(np.float32)
        sio.write(path, audio, RATE, subtype=subtype, seed=3)
        return path

    return make


# ------------------------------------------------------------------ encoding


# EBU Tech 3285 v2, section 2.4: value -> integer carried in the BWF (decimal / hex).
SPEC_ROUNDING = [
    (-22.644, -2264, 0xF728),
    (-22.645, -2265, 0xF727),
    (-22.646, -2265, 0xF727),
    (12.764, 1276, 0x04FC),
    (12.765, 1277, 0x04FD),
    (12.766, 1277, 0x04FD),
]


@pytest.mark.parametrize(("value", "stored", "word"), SPEC_ROUNDING)
def test_rounding_matches_the_spec_table(value, stored, word):
    payload = build_bext(origination_date=DATE, origination_time=TIME, loudness_value_lufs=value)
    raw = payload[412:414]  # LoudnessValue
    assert int.from_bytes(raw, "little", signed=True) == stored
    assert int.from_bytes(raw, "little") == word


def test_unused_loudness_fields_are_7fff():
    payload = build_bext(origination_date=DATE, origination_time=TIME)
    assert payload[412:422] == bytes.fromhex("ff7f") * 5
    parsed = parse_bext(payload)
    names = [
        "loudness_value_lufs",
        "loudness_range_lu",
        "max_true_peak_level_dbtp",
        "max_momentary_loudness_lufs",
        "max_short_term_loudness_lufs",
    ]
    assert [parsed[name] for name in names] == [None] * 5


def test_built_chunk_equals_the_hand_built_layout():
    umid = bytes(range(1, 33))  # a 32-byte basic UMID: the last 32 bytes are zero
    payload = build_bext(
        description="Programme 7",
        originator="sonicmix",
        originator_reference="REF-0001",
        origination_date=DATE,
        origination_time=TIME,
        time_reference_samples=2**32 * 3 + 17,
        umid=umid,
        loudness_value_lufs=-23.0,
        loudness_range_lu=8.25,
        max_true_peak_level_dbtp=-1.5,
        max_momentary_loudness_lufs=-15.25,
        max_short_term_loudness_lufs=-18.75,
        coding_history="A=PCM,F=48000,W=24,M=stereo,T=test\r\n",
    )
    expected = hand_built_fixed(
        description=b"Programme 7",
        originator=b"sonicmix",
        reference=b"REF-0001",
        date=b"2024-05-01",
        time=b"10:11:12",
        timeref=2**32 * 3 + 17,
        umid=umid,
        loudness=(-2300, 825, -150, -1525, -1875),
    )
    assert payload == expected + b"A=PCM,F=48000,W=24,M=stereo,T=test\r\n"


def test_parse_a_hand_built_chunk():
    fixed = hand_built_fixed(
        description=b"hand made",
        originator=b"EBU",
        reference=b"X1",
        date=b"2011:05:31",
        time=b"23_59_58",
        timeref=123_456_789_012,
        umid=b"\x06\x0a\x2b\x34" + bytes(60),
        loudness=(-2450, 1234, -99, 0x7FFF, -2001),
    )
    parsed = parse_bext(fixed + b"A=PCM,F=44100,W=16,M=mono\r\n\0")
    assert parsed == {
        "description": "hand made",
        "originator": "EBU",
        "originator_reference": "X1",
        "origination_date": "2011:05:31",
        "origination_time": "23_59_58",
        "time_reference_samples": 123_456_789_012,
        "version": 2,
        "umid": b"\x06\x0a\x2b\x34" + bytes(60),
        "loudness_value_lufs": -24.5,
        "loudness_range_lu": 12.34,
        "max_true_peak_level_dbtp": -0.99,
        "max_momentary_loudness_lufs": None,
        "max_short_term_loudness_lufs": -20.01,
        "coding_history": "A=PCM,F=44100,W=16,M=mono\r\n",
    }


@pytest.mark.parametrize("version", [0, 1])
def test_loudness_of_version_0_and_1_chunks_is_ignored(version):
    # Those versions kept the bytes reserved: zeros must not read as 0.00 LUFS.
    parsed = parse_bext(hand_built_fixed(version=version, loudness=(0, 0, 0, 0, 0)))
    assert parsed["version"] == version
    assert parsed["loudness_value_lufs"] is None and parsed["max_true_peak_level_dbtp"] is None


def test_values_outside_the_valid_ranges_read_as_unset():
    # Section 2.4: valid -99.99..99.99 (D8F1h..270Fh), LoudnessRange 0..99.99; others are ignored.
    parsed = parse_bext(hand_built_fixed(loudness=(-10000, -1, 10000, -9999, 9999)))
    assert parsed["loudness_value_lufs"] is None  # below D8F1h
    assert parsed["loudness_range_lu"] is None  # negative range
    assert parsed["max_true_peak_level_dbtp"] is None  # above 270Fh
    assert parsed["max_momentary_loudness_lufs"] == -99.99
    assert parsed["max_short_term_loudness_lufs"] == 99.99


def test_parse_refuses_a_short_payload():
    with pytest.raises(ParameterError, match=r"payload has 601 bytes; expected at least 602"):
        parse_bext(bytes(601))


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"description": "Mélange"}, r"description='Mélange' is not ASCII"),
        ({"description": "x" * 257}, r"description has 257 characters; expected at most 256"),
        ({"originator": "o" * 33}, r"originator has 33 characters; expected at most 32"),
        ({"originator_reference": "a\0b"}, r"originator_reference='a\\x00b' contains a NUL"),
        ({"origination_date": "01/05/2024"}, r"origination_date='01/05/2024' is invalid"),
        ({"origination_date": "2024-13-01"}, r"origination_date='2024-13-01' is invalid"),
        ({"origination_time": "24:00:00"}, r"origination_time='24:00:00' is invalid"),
        ({"time_reference_samples": -1}, r"time_reference_samples=-1 is invalid"),
        ({"umid": bytes(10)}, r"umid is 10 bytes; expected 64 bytes"),
        ({"loudness_value_lufs": -120.0}, r"loudness_value_lufs=-120 cannot be stored; expected -99.99 <="),
        ({"loudness_range_lu": -0.5}, r"loudness_range_lu=-0.5 cannot be stored; expected 0.00 <="),
        ({"max_true_peak_level_dbtp": float("nan")}, r"max_true_peak_level_dbtp=nan is not finite"),
        ({"max_momentary_loudness_lufs": "-20"}, r"max_momentary_loudness_lufs='-20' is not a number"),
    ],
)
def test_build_validates_every_field(kwargs, pattern):
    with pytest.raises(ParameterError, match=pattern):
        build_bext(**{"origination_date": DATE, "origination_time": TIME, **kwargs})


def test_longest_strings_fill_their_fields_without_terminator():
    payload = build_bext(
        description="d" * 256, originator="o" * 32, origination_date=DATE, origination_time=TIME
    )
    parsed = parse_bext(payload)
    assert parsed["description"] == "d" * 256 and parsed["originator"] == "o" * 32
    assert payload[256:288] == b"o" * 32


# ------------------------------------------------------------------ files


@pytest.mark.parametrize("subtype", ["PCM_24", "FLOAT"])
@pytest.mark.parametrize(("channels", "frames"), [(2, 4800), (1, 4801), (6, 1000)])
def test_round_trip_keeps_the_audio_bit_identical(wav, subtype, channels, frames):
    path = wav(subtype, channels, frames)
    before_raw = raw_samples(path)
    before_io, _ = sio.read(path, dtype="float64")
    chunks_before = [c[0] for c in riff_chunks(path)]
    info = write_bext(
        path,
        description="round trip",
        originator_reference="RT-1",
        origination_date=DATE,
        origination_time=TIME,
        time_reference_samples=RATE * 3600,
        loudness_value_lufs=-23.01,
        loudness_range_lu=4.5,
        max_true_peak_level_dbtp=-1.04,
        max_momentary_loudness_lufs=-19.5,
        max_short_term_loudness_lufs=-21.25,
    )
    assert read_bext(path) == info
    assert info["loudness_value_lufs"] == -23.01 and info["time_reference_samples"] == RATE * 3600
    # audio: bit-identical through soundfile and through sonicmix.io
    assert np.array_equal(raw_samples(path), before_raw)
    after_io, rate = sio.read(path, dtype="float64")
    assert rate == RATE and np.array_equal(after_io, before_io)
    # structure: every old chunk kept in order, bext inserted right before data
    ids = [c[0] for c in riff_chunks(path)]
    assert ids == [c for c in chunks_before if c != b"data"] + [b"bext", b"data"]
    history = info["coding_history"]
    bits = 24 if subtype == "PCM_24" else 32
    assert history.startswith(f"A=PCM,F={RATE},W={bits},") and history.endswith("\r\n")
    assert len(chunk_payload(path, b"bext")) == FIXED_SIZE_BYTES + len(history)


def test_pcm_file_still_reads_with_the_wave_module(wav):
    path = wav("PCM_24", 2, 4801)
    with wave.open(str(path)) as w:
        before = w.readframes(w.getnframes())
    write_bext(path, origination_date=DATE, origination_time=TIME)
    with wave.open(str(path)) as w:  # a second, independent RIFF parser
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 3, RATE)
        assert w.readframes(w.getnframes()) == before


@pytest.mark.parametrize("history", ["", "A=PCM\r\n", "A=PCM,F=48000\r\n"])  # payload even, odd, even
def test_odd_sized_chunk_gets_a_pad_byte(wav, history):
    path = wav("PCM_24", 1, 1001)  # odd data chunk (3003 bytes) too
    write_bext(path, origination_date=DATE, origination_time=TIME, coding_history=history)
    (bext,) = [c for c in riff_chunks(path) if c[0] == b"bext"]  # riff_chunks checks the tiling
    assert bext[2] == FIXED_SIZE_BYTES + len(history)
    data = open(path, "rb").read()
    if bext[2] & 1:
        assert data[bext[1] + 8 + bext[2]] == 0  # the pad byte
    assert read_bext(path)["coding_history"] == history


def test_libsndfile_reads_our_chunk(wav):
    path = wav("FLOAT", 2, 4800)
    write_bext(
        path,
        description="read by libsndfile",
        originator_reference="LSF",
        origination_date=DATE,
        origination_time=TIME,
        time_reference_samples=2**32 * 2 + 5,
        loudness_value_lufs=-23.04,
        loudness_range_lu=7.5,
        max_true_peak_level_dbtp=-1.23,
        max_momentary_loudness_lufs=-18.0,
        max_short_term_loudness_lufs=-20.01,
        coding_history="A=PCM,F=48000,W=32,M=stereo,T=test\r\n",
    )
    desc, orig, ref, date, time, low, high, version, _umid, *loud, _res, _size, history = libsndfile_bext(
        path
    )
    assert desc.rstrip(b"\0") == b"read by libsndfile" and orig.rstrip(b"\0") == b"sonicmix"
    assert ref.rstrip(b"\0") == b"LSF" and (date, time) == (b"2024-05-01", b"10:11:12")
    assert (low, high, version) == (5, 2, 2)
    assert loud == [-2304, 750, -123, -1800, -2001]
    assert history == b"A=PCM,F=48000,W=32,M=stereo,T=test\r\n"


def test_we_read_a_chunk_libsndfile_wrote(tmp_path):
    from soundfile import _ffi, _snd

    path = tmp_path / "libsndfile.wav"
    history = b"A=PCM,F=44100,W=16,M=mono,T=written by libsndfile\r\n"
    info = struct.pack(
        SF_INFO_FORMAT,
        b"from libsndfile",
        b"orig",
        b"ref",
        b"2021-02-03",
        b"04:05:06",
        7,
        1,
        2,
        bytes(64),
        -2400,
        512,
        -150,
        -1700,
        -1999,
        bytes(180),
        len(history),
    )
    buf = _ffi.new("char[]", (info + history).ljust(4096, b"\0"))
    with sf.SoundFile(path, "w", 44_100, 1, "PCM_16") as handle:
        assert _snd.sf_command(handle._file, SFC_SET_BROADCAST_INFO, buf, 4096) == 1
        handle.write(np.zeros(100, np.int16))
    got = read_bext(path)
    assert got["description"] == "from libsndfile"
    assert (got["originator"], got["originator_reference"]) == ("orig", "ref")
    assert (got["origination_date"], got["origination_time"]) == ("2021-02-03", "04:05:06")
    assert got["time_reference_samples"] == 2**32 + 7 and got["version"] == 2
    assert (got["loudness_value_lufs"], got["loudness_range_lu"]) == (-24.0, 5.12)
    assert (got["max_true_peak_level_dbtp"], got["max_momentary_loudness_lufs"]) == (-1.5, -17.0)
    assert got["max_short_term_loudness_lufs"] == -19.99
    assert got["coding_history"].startswith(history.decode())


def test_read_a_hand_inserted_chunk_and_the_audio_still_reads(wav):
    path = wav("PCM_24", 2, 4800)
    before = raw_samples(path)
    fixed = hand_built_fixed(description=b"inserted by hand", loudness=(-2300, 0x7FFF, -100, 0x7FFF, 0x7FFF))
    insert_chunk_after_fmt(path, b"bext", fixed + b"A=PCM\r\n")  # odd payload: padded
    got = read_bext(path)
    assert got["description"] == "inserted by hand"
    assert (got["loudness_value_lufs"], got["max_true_peak_level_dbtp"]) == (-23.0, -1.0)
    assert np.array_equal(raw_samples(path), before)
    # and replacing it removes the old chunk wherever it was
    write_bext(path, description="replaced", origination_date=DATE, origination_time=TIME)
    assert [c[0] for c in riff_chunks(path)] == [b"fmt ", b"bext", b"data"]
    assert read_bext(path)["description"] == "replaced"
    assert np.array_equal(raw_samples(path), before)


def test_rewriting_replaces_the_chunk_and_is_reproducible(wav, tmp_path):
    path = wav("PCM_24", 2, 4800)
    kwargs = dict(origination_date=DATE, origination_time=TIME, loudness_value_lufs=-23.0)
    write_bext(path, description="first", **kwargs)
    write_bext(path, description="second", **kwargs)
    assert [c[0] for c in riff_chunks(path)].count(b"bext") == 1
    assert read_bext(path)["description"] == "second"
    other = wav("PCM_24", 2, 4800, name="other.wav")  # other samples, same format: same chunk
    write_bext(other, description="second", **kwargs)
    assert chunk_payload(path, b"bext") == chunk_payload(other, b"bext")


def test_file_without_bext_reads_none(wav):
    assert read_bext(wav()) is None


def test_loudness_from_a_report(wav, rng):
    t = np.arange(5 * RATE) / RATE
    tone = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
    report = measure(np.stack([tone, tone]), RATE)
    path = wav("FLOAT", 2, 4800)
    info = write_bext(path, report=report, origination_date=DATE, origination_time=TIME)
    # stored in hundredths: each value within half a hundredth of the report's
    assert info["loudness_value_lufs"] == pytest.approx(report.integrated_lufs, abs=0.005)
    assert info["loudness_range_lu"] == pytest.approx(report.lra_lu, abs=0.005)
    assert info["max_true_peak_level_dbtp"] == pytest.approx(report.true_peak_dbtp, abs=0.005)
    assert info["max_momentary_loudness_lufs"] == pytest.approx(report.momentary_max_lufs, abs=0.005)
    assert info["max_short_term_loudness_lufs"] == pytest.approx(report.short_term_max_lufs, abs=0.005)


def test_undefined_report_values_are_stored_as_unset():
    fields = loudness_fields(measure(np.zeros((2, RATE)), RATE))  # silence, 1 s
    assert fields == dict.fromkeys(fields, None)
    assert len(fields) == 5


def test_report_and_explicit_values_together_are_refused(wav):
    path = wav()
    report = measure(np.zeros((2, RATE)), RATE)
    with pytest.raises(ParameterError, match=r"report and loudness_value_lufs were both given"):
        write_bext(path, report=report, loudness_value_lufs=-23.0)


def test_invalid_values_leave_the_file_untouched(wav):
    path = wav()
    before, mtime = open(path, "rb").read(), os.stat(path).st_mtime_ns
    with pytest.raises(ParameterError, match=r"description='Ünïcode' is not ASCII"):
        write_bext(path, description="Ünïcode")
    with pytest.raises(ParameterError, match=r"max_true_peak_level_dbtp=120 cannot be stored"):
        write_bext(path, max_true_peak_level_dbtp=120.0)
    assert open(path, "rb").read() == before and os.stat(path).st_mtime_ns == mtime
    assert os.listdir(path.parent) == [path.name]


def test_flac_missing_and_truncated_files_are_refused(tmp_path, wav):
    flac = tmp_path / "a.flac"
    sio.write(flac, np.zeros((1, 100)), RATE, subtype="PCM_16")
    with pytest.raises(AudioFileError, match=r"it is a FLAC file; expected a \.wav"):
        write_bext(flac, origination_date=DATE, origination_time=TIME, coding_history="")
    with pytest.raises(AudioFileError, match=r"the file does not exist"):
        write_bext(tmp_path / "missing.wav")
    path = wav("PCM_24", 2, 4800)
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-100])
    # 4800 frames x 2 channels x 3 bytes = 28800 declared, 100 bytes cut off
    expected = r"'data' chunk declares 28800 bytes but the file holds only 28700"
    with pytest.raises(AudioFileError, match=expected):
        write_bext(path, origination_date=DATE, origination_time=TIME, coding_history="")
    assert open(path, "rb").read() == data[:-100]


def test_failed_replace_leaves_the_original_and_no_temporary(wav, monkeypatch):
    path = wav()
    before = open(path, "rb").read()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(bwf.os, "replace", refuse)
    with pytest.raises(AudioFileError, match=r"Permission denied \(nothing was changed\)"):
        write_bext(path, origination_date=DATE, origination_time=TIME)
    assert open(path, "rb").read() == before
    assert os.listdir(path.parent) == [path.name]


def test_verification_catches_corrupted_audio(wav, monkeypatch):
    path = wav("PCM_24", 2, 4800)
    before = open(path, "rb").read()

    def corrupting_copy(src, dst, start, length):
        src.seek(start)
        block = bytearray(src.read(length))
        if length > 1000:  # the data chunk: flip the lowest bit of one byte in the middle
            block[length // 2] ^= 0x01
        dst.write(bytes(block))

    monkeypatch.setattr(bwf, "_copy", corrupting_copy)
    expected = r"verification failed, the samples differ .*nothing was changed"
    with pytest.raises(AudioFileError, match=expected):
        write_bext(path, origination_date=DATE, origination_time=TIME)
    assert open(path, "rb").read() == before
    assert os.listdir(path.parent) == [path.name]


def test_symlink_is_followed_and_kept(wav):
    target = wav()
    link = target.parent / "link.wav"
    link.symlink_to(target.name)
    write_bext(link, description="via link", origination_date=DATE, origination_time=TIME)
    assert link.is_symlink()
    assert read_bext(target)["description"] == "via link"


def test_file_mode_is_kept(wav):
    path = wav()
    os.chmod(path, 0o640)
    write_bext(path, origination_date=DATE, origination_time=TIME)
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_default_date_and_time_are_now(wav):
    from datetime import datetime

    path = wav()
    before = datetime.now().replace(microsecond=0)
    info = write_bext(path)
    after = datetime.now()
    stamp = datetime.strptime(f"{info['origination_date']} {info['origination_time']}", "%Y-%m-%d %H:%M:%S")
    assert before <= stamp <= after
    assert info["originator"] == "sonicmix" and info["umid"] == bytes(64)


# ------------------------------------------------------------------ in place, in the room AudioWriter leaves


@pytest.fixture
def reserved(tmp_path, rng):
    """Factory: a WAV written by AudioWriter with room for a bext chunk (a JUNK chunk before data)."""

    def make(subtype="PCM_24", channels=2, frames=4801, name="room.wav"):
        path = tmp_path / name
        audio = rng.uniform(-0.9, 0.9, (channels, frames)).astype(np.float32)
        with sio.AudioWriter(path, RATE, channels, subtype=subtype, seed=3, reserve_bext=True) as writer:
            writer.write(audio)
        return path

    return make


def refuse_rewriting(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the file was rewritten, not written in place")

    monkeypatch.setattr(bwf, "_copy", refuse)
    monkeypatch.setattr(bwf.os, "replace", refuse)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_the_reserved_room_is_filled_in_place(reserved, monkeypatch, subtype, channels):
    path = reserved(subtype, channels)
    before = open(path, "rb").read()
    data_at = [c for c in riff_chunks(path) if c[0] == b"data"][0][1]
    refuse_rewriting(monkeypatch)
    info = write_bext(
        path, description="in place", origination_date=DATE, origination_time=TIME, loudness_value_lufs=-23.0
    )
    after = open(path, "rb").read()
    # nothing from the data chunk on moved or changed, nor the file's length
    assert len(after) == len(before) and after[data_at:] == before[data_at:]
    ids = [c[0] for c in riff_chunks(path)]  # checks the tiling and the RIFF size
    header = [b"fmt ", b"fact", b"PEAK"] if subtype == "FLOAT" else [b"fmt "]
    assert ids == [*header, b"bext", b"JUNK", b"data"]
    assert after[:data_at].startswith(before[: riff_chunks(path)[len(header)][1]])  # the header chunks too
    assert read_bext(path) == info and info["description"] == "in place"
    history = info["coding_history"]
    assert history.startswith(f"A=PCM,F={RATE},") and history.endswith("\r\n")
    assert libsndfile_bext(path)[0].rstrip(b"\0") == b"in place"
    assert sio.info(path).frames == 4801
    if subtype != "FLOAT":
        with wave.open(str(path)) as w:  # an independent RIFF parser skips both chunks
            assert w.getnframes() == 4801


@pytest.mark.parametrize("rest", [0, 2, 4, 6, 8, 10])
def test_a_chunk_that_nearly_fills_the_room(reserved, monkeypatch, rest):
    # The payload fills the 1024 bytes of room up to `rest`; fewer than 8 cannot hold a JUNK header,
    # so the bext chunk takes them as NULs after its coding history.
    path = reserved("PCM_24", 1, 1001)  # an odd data chunk too
    history = "A" * (1024 - FIXED_SIZE_BYTES - rest)
    refuse_rewriting(monkeypatch)
    write_bext(path, origination_date=DATE, origination_time=TIME, coding_history=history)
    found = {c[0]: c for c in riff_chunks(path)}
    if rest >= 8:
        assert found[b"bext"][2] == FIXED_SIZE_BYTES + len(history) and found[b"JUNK"][2] == rest - 8
    else:
        assert found[b"bext"][2] == 1024 and b"JUNK" not in found
        assert chunk_payload(path, b"bext").endswith(history.encode() + bytes(rest))
    assert read_bext(path)["coding_history"] == history


def test_an_odd_sized_chunk_in_the_room_gets_its_pad_byte(reserved, monkeypatch):
    path = reserved()
    refuse_rewriting(monkeypatch)
    write_bext(path, origination_date=DATE, origination_time=TIME, coding_history="A=PCM\r\n")  # 609 bytes
    (bext,) = [c for c in riff_chunks(path) if c[0] == b"bext"]
    assert bext[2] == 609 and open(path, "rb").read()[bext[1] + 8 + 609] == 0


def test_replacing_a_chunk_in_the_room_stays_in_place(reserved, monkeypatch):
    path = reserved()
    write_bext(path, description="first", origination_date=DATE, origination_time=TIME)
    refuse_rewriting(monkeypatch)
    write_bext(path, description="second", origination_date=DATE, origination_time=TIME, coding_history="")
    assert [c[0] for c in riff_chunks(path)] == [b"fmt ", b"bext", b"JUNK", b"data"]
    got = read_bext(path)
    assert got["description"] == "second" and got["coding_history"] == ""


def test_a_chunk_too_big_for_the_room_rewrites_the_file(reserved):
    path = reserved()
    before = raw_samples(path)
    history = "A=PCM,F=48000,W=24,M=stereo,T=a long history line\r\n" * 10  # 520 > 422 bytes
    write_bext(path, origination_date=DATE, origination_time=TIME, coding_history=history)
    assert [c[0] for c in riff_chunks(path)] == [b"fmt ", b"JUNK", b"bext", b"data"]
    assert read_bext(path)["coding_history"] == history
    assert np.array_equal(raw_samples(path), before)


def test_a_bext_elsewhere_is_not_left_beside_the_new_one(reserved):
    path = reserved()
    insert_chunk_after_fmt(path, b"bext", hand_built_fixed(description=b"old"))
    write_bext(path, description="new", origination_date=DATE, origination_time=TIME)
    assert [c[0] for c in riff_chunks(path)].count(b"bext") == 1
    assert read_bext(path)["description"] == "new"


@pytest.mark.parametrize(
    ("replacing", "interrupted_at", "expected"),
    [
        # fresh room: the payload goes under the JUNK header (fsync 1), then the bext header (fsync 2)
        (False, 1, None),
        (False, 2, "new"),
        # replacing: the old chunk is first hidden under one JUNK header (fsync 1), then the same
        (True, 1, None),
        (True, 2, None),
        (True, 3, "new"),
    ],
)
def test_an_interrupted_in_place_write_leaves_a_valid_wav(
    reserved, monkeypatch, replacing, interrupted_at, expected
):
    path = reserved()
    before = raw_samples(path)
    if replacing:
        write_bext(path, description="old", origination_date=DATE, origination_time=TIME)
    real, calls = os.fsync, []

    def fsync(fd):
        real(fd)
        calls.append(fd)
        if len(calls) == interrupted_at:
            raise KeyboardInterrupt

    monkeypatch.setattr(bwf.os, "fsync", fsync)
    with pytest.raises(KeyboardInterrupt):
        write_bext(path, description="new", origination_date=DATE, origination_time=TIME)
    monkeypatch.undo()
    riff_chunks(path)  # the chunks still tile the file
    got = read_bext(path)
    assert (got if got is None else got["description"]) == expected
    assert np.array_equal(raw_samples(path), before)
    write_bext(path, description="again", origination_date=DATE, origination_time=TIME)
    assert read_bext(path)["description"] == "again"

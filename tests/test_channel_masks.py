"""Channel masks in files: sonicmix.io and sonicmix._wav write and check WAVE_FORMAT_EXTENSIBLE masks.

Oracles: an independent ``fmt `` parser written here from the
WAVEFORMATEXTENSIBLE definition (Microsoft Learn), libsndfile (through
soundfile) for the samples and for the bytes of its own WAVEX files, and
ffprobe/ffmpeg where installed (``apt-get install ffmpeg``; the tests that need
them skip with that reason otherwise).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile as sf

import sonicmix.io as sio
from sonicmix.cli import main
from sonicmix.errors import LayoutError, ParameterError
from sonicmix.layouts import LAYOUTS, get_layout
from sonicmix.layouts.masks import WAVE_SPEAKER_BITS

RATE = 48_000
PCM_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
#: FL FR FC LFE BL BR FLC FRC BC SL SR TC TFL TFC TFR TBL TBC TBR = bits 0..17 (ksmedia.h)
MASKS = {
    "5.0": 0x1 | 0x2 | 0x4 | 0x10 | 0x20,
    "5.1": 0x3F,
    "7.1": 0x3F | 0x200 | 0x400,
    "5.1.2": 0x3F | 0x1000 | 0x4000,
    "5.1.4": 0x3F | 0x1000 | 0x4000 | 0x8000 | 0x20000,
    "7.1.2": 0x63F | 0x1000 | 0x4000,
    "7.1.4": 0x63F | 0x1000 | 0x4000 | 0x8000 | 0x20000,
    "9.1.6": 0x63F | 0x40 | 0x80 | 0x1000 | 0x4000 | 0x8000 | 0x20000,  # TSL, TSR unassigned
    "22.2": 0x3FFFF,  # LFE2, TSL, TSR, BFC, BFL, BFR unassigned
}
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None,
    reason="ffmpeg/ffprobe not installed (apt-get install -y ffmpeg)",
)


def parse_fmt(path) -> dict[str, int]:
    """The ``fmt `` chunk of a RIFF/RF64 WAVE file, read with struct (independent of sonicmix._wav)."""
    data = open(path, "rb").read()
    assert data[8:12] == b"WAVE"
    at = 12
    while at + 8 <= len(data):
        cid, size = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if cid == b"fmt ":
            tag, channels, _, _, _, bits = struct.unpack_from("<HHIIHH", data, at + 8)
            out = {"tag": tag, "channels": channels, "bits": bits, "size": size}
            if tag == 0xFFFE:
                cb, valid, mask, code = struct.unpack_from("<HHIH", data, at + 24)
                assert cb == 22 and data[at + 34 : at + 48] == PCM_GUID_TAIL
                out.update(valid=valid, mask=mask, code=code)
            return out
        at += 8 + size + (size & 1)
    raise AssertionError("no fmt chunk")


def signal(channels: int, frames: int = 4801, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (channels, frames)).astype(np.float32)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("name", [n for n in LAYOUTS if LAYOUTS[n].n_channels > 2])
def test_a_layout_is_written_as_its_channel_mask(tmp_path, name, subtype):
    layout = get_layout(name)
    path = tmp_path / "bed.wav"
    x = signal(layout.n_channels)
    result = sio.write(path, x, RATE, subtype=subtype, layout=name, dither=False)
    fmt = parse_fmt(path)
    assert fmt["tag"] == 0xFFFE and fmt["channels"] == layout.n_channels
    assert fmt["code"] == (3 if subtype == "FLOAT" else 1) and fmt["valid"] == fmt["bits"]
    assert fmt["mask"] == MASKS[name] == layout.channel_mask
    assert [WAVE_SPEAKER_BITS.get(s) for s in layout.speakers[: bin(MASKS[name]).count("1")]] == [
        1 << k for k in range(32) if MASKS[name] >> k & 1
    ]  # the mask's speakers are the file's leading channels, in order
    back, rate = sf.read(path, dtype="float32", always_2d=True)  # libsndfile reads every sample back
    assert rate == RATE and back.shape == (x.shape[1], layout.n_channels)
    if subtype == "FLOAT":
        np.testing.assert_array_equal(back.T, x)
    info = sio.info(path)
    assert (info.format, info.channel_mask, info.layout) == ("WAVEX", layout.channel_mask, name)
    assert result.frames == x.shape[1] and sio.file_layout(path).name == name


def test_mono_and_stereo_keep_the_plain_fmt_chunk(tmp_path):
    for name in ("mono", "stereo"):
        path = tmp_path / f"{name}.wav"
        sio.write(path, signal(get_layout(name).n_channels), RATE, layout=name)
        assert parse_fmt(path)["tag"] == 1 and parse_fmt(path)["size"] == 16
        assert sio.info(path).channel_mask is None and sio.file_layout(path).name == name


def test_without_a_layout_nothing_changes(tmp_path):
    path = tmp_path / "six.wav"
    sio.write(path, signal(6), RATE)
    assert parse_fmt(path)["size"] == 16 and sio.info(path).layout is None
    assert sio.file_layout(path).name == "5.1"  # assumed from the count, as before


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize(("name", "channels"), [("5.1", 6), ("7.1", 8)])
def test_the_bytes_are_libsndfiles_wavex(tmp_path, monkeypatch, subtype, name, channels):
    """libsndfile's WAVEX writes 0x3F for 6 channels (our 5.1) and 0xFF for 8 (we write 7.1's 0x63F)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    stored = []
    ours = tmp_path / "ours.wav"
    with sio.AudioWriter(ours, RATE, channels, subtype=subtype, layout=name, dither=False) as writer:
        stored.append(writer.write(signal(channels, 1001), stored=True))
    samples = np.ascontiguousarray(np.concatenate(stored, axis=1).T)
    if subtype != "FLOAT":  # exact integers, as tests/test_wav.py gives libsndfile
        scale = 2.0 ** (15 if subtype == "PCM_16" else 23)
        ints = (samples.astype(np.float64) * scale).astype(np.int32)
        samples = ints.astype(np.int16) if subtype == "PCM_16" else ints << 8
    theirs = tmp_path / "theirs.wav"
    sf.write(theirs, samples, RATE, subtype=subtype, format="WAVEX")
    a, b = bytearray(ours.read_bytes()), bytearray(theirs.read_bytes())
    assert parse_fmt(theirs)["mask"] == (0x3F if channels == 6 else 0xFF)
    mask_at = 12 + 8 + 20
    assert a[mask_at : mask_at + 4] == get_layout(name).channel_mask.to_bytes(4, "little")
    a[mask_at : mask_at + 4] = b[mask_at : mask_at + 4]
    if subtype == "FLOAT":  # the PEAK chunk's timestamp: SOURCE_DATE_EPOCH for us, now for libsndfile
        peak = bytes(a).index(b"PEAK")
        a[peak + 12 : peak + 16] = b[peak + 12 : peak + 16]
    assert bytes(a) == bytes(b)


def test_rf64_carries_the_layouts_mask(tmp_path, monkeypatch):
    monkeypatch.setattr(sio, "_WAV_MAX_DATA_BYTES", 1)  # anything with frames= goes RF64
    path = tmp_path / "long.wav"
    sio.write(path, signal(12), RATE, layout="7.1.4")
    assert open(path, "rb").read(4) == b"RF64"
    assert parse_fmt(path)["mask"] == 0x2D63F and sio.info(path).layout == "7.1.4"
    path8 = tmp_path / "long8.wav"
    sio.write(path8, signal(8), RATE)  # no layout: libsndfile's mask for 8 channels, read as 7.1
    assert parse_fmt(path8)["mask"] == 0xFF and sio.file_layout(path8, "7.1").name == "7.1"


def test_reserve_bext_with_a_layout(tmp_path):
    from sonicmix.bwf import read_bext, write_bext

    path = tmp_path / "bed.wav"
    with sio.AudioWriter(path, RATE, 12, layout="7.1.4", reserve_bext=True) as writer:
        writer.write(signal(12))
    write_bext(path, description="7.1.4 printmaster")
    assert read_bext(path)["description"] == "7.1.4 printmaster"
    assert parse_fmt(path)["mask"] == 0x2D63F
    np.testing.assert_allclose(sio.read(path, layout="7.1.4")[0], signal(12), atol=2**-22)


def test_a_file_whose_mask_contradicts_the_layout_is_refused(tmp_path):
    path = tmp_path / "bed.wav"
    sio.write(path, signal(10), RATE, layout="5.1.4")
    with pytest.raises(LayoutError) as caught:
        sio.read(path, layout="7.1.2")
    message = str(caught.value)
    assert f"file {str(path)!r} has channel mask 0x2D03F (FL+FR+FC+LFE+BL+BR+TFL+TFR+TBL+TBR)" in message
    assert "which is not layout '7.1.2'" in message and "pass layout='5.1.4'" in message
    with pytest.raises(LayoutError, match=r"layout='7\.1\.4' has 12 channels but file .* has 10"):
        sio.read(path, layout="7.1.4")
    assert sio.read(path, layout="5.1.4")[0].shape == (10, 4801)


def test_a_5_1_file_with_side_surround_bits_reads_as_5_1(tmp_path):
    path = tmp_path / "side.wav"
    sio.write(path, signal(6), RATE, layout="5.1")
    data = bytearray(path.read_bytes())
    data[40:44] = (0x60F).to_bytes(4, "little")  # KSAUDIO_SPEAKER_5POINT1_SURROUND
    path.write_bytes(bytes(data))
    assert sio.info(path).layout == "5.1" and sio.read(path, layout="5.1")[0].shape == (6, 4801)


def test_writing_refuses_a_layout_of_another_count_before_touching_the_disk(tmp_path):
    path = tmp_path / "bed.wav"
    with pytest.raises(LayoutError, match=r"layout='7\.1\.4' has 12 channels but .*bed\.wav' has 10"):
        sio.write(path, signal(10), RATE, layout="7.1.4")
    with pytest.raises(LayoutError, match=r"did you mean '9\.1\.6'"):
        sio.write(path, signal(16), RATE, layout="916")
    assert list(tmp_path.iterdir()) == []


def test_flac_refuses_a_layout_its_channel_assignment_cannot_hold(tmp_path):
    with pytest.raises(ParameterError, match=r"layout='5\.1\.2' is not possible in FLAC.*FL\+FR\+FC\+LFE"
                       r"\+BL\+BR\+SL\+SR, not FL\+FR\+FC\+LFE\+BL\+BR\+TFL\+TFR"):
        sio.write(tmp_path / "bed.flac", signal(8), RATE, layout="5.1.2")
    assert list(tmp_path.iterdir()) == []
    sio.write(tmp_path / "bed.flac", signal(8), RATE, layout="7.1")  # FLAC's own 8-channel assignment
    assert sio.info(tmp_path / "bed.flac").channel_mask is None


@needs_ffmpeg
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_ffprobe_reads_the_layout(tmp_path, name):
    layout = get_layout(name)
    path = tmp_path / "bed.wav"
    sio.write(path, signal(layout.n_channels), RATE, layout=name, subtype="FLOAT")
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=channels,channel_layout", "-of", "json",
         str(path)],
        capture_output=True, text=True, check=True,
    )
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["channels"] == layout.n_channels
    described = stream.get("channel_layout", "unknown")
    if layout.n_channels <= 2 or layout.channel_mask is None or bin(layout.channel_mask).count("1") < len(
        layout.speakers
    ):
        # a plain fmt chunk (mono, stereo) or a partial mask (9.1.6, 22.2): FFmpeg names no layout
        assert described == "unknown" or _decomposed(described) == "+".join(layout.speakers)
    else:
        assert _decomposed(described) == "+".join(layout.speakers), described


def _decomposed(described: str) -> str:
    """``12 channels (FL+FR+...)`` -> ``FL+FR+...``; a layout name -> its decomposition (ffmpeg -layouts)."""
    inner = re.fullmatch(r"\d+ channels \((.*)\)", described)
    if inner:
        return inner.group(1)
    listing = subprocess.run(["ffmpeg", "-hide_banner", "-layouts"], capture_output=True, text=True).stdout
    known = dict(re.findall(r"^(\S+)\s+([A-Z0-9]+(?:\+[A-Z0-9]+)*)\s*$", listing.split("Standard")[1], re.M))
    return known.get(described, described)


@needs_ffmpeg
def test_files_ffmpeg_writes_are_read_with_their_layout(tmp_path):
    def ffmpeg_wav(speakers: str, path) -> None:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
             f"anullsrc=channel_layout={speakers}:sample_rate=48000", "-t", "0.1", "-c:a", "pcm_s24le",
             str(path)],
            check=True,
        )

    bed = tmp_path / "ffmpeg-714.wav"
    ffmpeg_wav("FL+FR+FC+LFE+BL+BR+SL+SR+TFL+TFR+TBL+TBR", bed)
    assert parse_fmt(bed)["mask"] == 0x2D63F and sio.file_layout(bed).name == "7.1.4"
    with pytest.raises(LayoutError, match=r"which is not layout '9\.1\.6'|has 16 channels but file"):
        sio.file_layout(bed, "9.1.6")
    big = tmp_path / "ffmpeg-222.wav"
    ffmpeg_wav("22.2", big)
    assert parse_fmt(big)["mask"] == 0  # FFmpeg writes no mask beyond the 18 WAVE bits
    with pytest.raises(LayoutError, match=r"24 channels and no layout was given.*'22\.2' for this count"):
        sio.file_layout(big)
    assert sio.file_layout(big, "22.2").name == "22.2"  # mask 0 assigns nothing: the count decides


def test_cli_measures_an_immersive_file_with_the_layout_its_mask_names(tmp_path, capsys):
    from tests.reference.immersive import programme

    x, _ = programme("7.1.4", RATE, 4.0, seed=5)
    path = tmp_path / "bed.wav"
    sio.write(path, x, RATE, layout="7.1.4", subtype="FLOAT")
    assert main(["measure", "--json", str(path)]) == 0
    entry = json.loads(capsys.readouterr().out)[0]
    from sonicmix.loudness import measure

    assert entry["layout"] == "7.1.4" and entry["channels"] == 12
    expected = measure(x, RATE, layout="7.1.4").integrated_lufs
    assert entry["integrated_lufs"] == pytest.approx(expected, abs=0.01)
    assert main(["measure", "--layout", "7.1.2", str(path)]) == 2
    err = capsys.readouterr().err
    assert "layout='7.1.2' has 10 channels" in err and "bed.wav" in err
    plain = tmp_path / "plain.wav"
    sio.write(plain, x, RATE, subtype="FLOAT")  # no mask: 12 channels need --layout
    assert main(["measure", str(plain)]) == 2
    assert "'7.1.4' for this count" in capsys.readouterr().err
    assert main(["measure", "--json", "--layout", "7.1.4", str(plain)]) == 0

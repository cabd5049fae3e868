"""Encoded deliverables (MP3, AAC, Opus, Vorbis, FLAC) verified after the codec.

Oracles: the ffmpeg command line (Debian's package, a separate build of FFmpeg from the one in
PyAV's wheel) decodes every file, libebur128 (pyebur128) measures the decoded samples, and
ffprobe reads the loudness tags back. Tests that need the command line skip where it is missing
(``scripts/install_tools.sh`` installs it; CI runs that).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import sonicmix as sm
from sonicmix.delivery import deliver, deliver_all
from sonicmix.delivery.formats import parse_format, parse_formats
from sonicmix.errors import AudioFileError, ParameterError
from sonicmix.targets import LoudnessTarget
from tests.reference.trailer import trailer

pytest.importorskip("av", reason="encoded deliverables need PyAV (pip install 'sonicmix[encode]')")
pytest.importorskip("mutagen", reason="loudness tags need mutagen (pip install 'sonicmix[encode]')")

FFMPEG, FFPROBE = shutil.which("ffmpeg"), shutil.which("ffprobe")
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None or FFPROBE is None,
    reason="the ffmpeg command line is the independent decoder: "
    "bash scripts/install_tools.sh (Debian's ffmpeg package)",
)
LOSSY = ("mp3:128k", "aac:128k", "opus:96k", "vorbis:q5")
EXTENSIONS = {"mp3": ".mp3", "aac": ".m4a", "opus": ".opus", "vorbis": ".ogg"}


def ffprobe(path: str) -> dict:
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def ffmpeg_decode(path: str) -> tuple[np.ndarray, int]:
    """Decode with the ffmpeg command line, keeping the file's own rate and channels."""
    stream = ffprobe(path)["streams"][0]
    channels, rate = int(stream["channels"]), int(stream["sample_rate"])
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-i", path, "-f", "f64le", "-acodec", "pcm_f64le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.float64).reshape(-1, channels).T.copy(), rate


def libebur128(audio: np.ndarray, rate: int) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) by libebur128."""
    import pyebur128 as ebu

    state = ebu.R128State(
        audio.shape[0], rate, ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_TRUE_PEAK
    )
    frames = np.ascontiguousarray(audio.T).reshape(-1)
    state.add_frames(frames, audio.shape[1])
    peak = max(ebu.get_true_peak(state, c) for c in range(audio.shape[0]))
    return ebu.get_loudness_global(state), 20 * np.log10(peak)


@pytest.fixture(scope="module")
def hot(tmp_path_factory):
    """The hot trailer delivered at -1 and -2 dBTP in every lossy format (and WAV)."""
    graph = trailer(seconds=10.0)
    out = {}
    for ceiling in (-1.0, -2.0):
        target = LoudnessTarget(integrated_lufs=-14.0, true_peak_dbtp=ceiling, name=f"hot{-ceiling:g}")
        folder = tmp_path_factory.mktemp(f"hot{-ceiling:g}")
        out[ceiling] = deliver(graph, target, folder, formats=["wav", *LOSSY], stems=[])
    return out


# ------------------------------------------------------------------------------------ format specs


def test_format_specs_and_defaults():
    assert parse_format("mp3").spec == "mp3:192k"
    assert parse_format("mp3", ["mp3:128k"]).bitrate_kbps == 128  # a target's default bitrate
    assert parse_format("ogg").codec == "vorbis" and parse_format("m4a").codec == "aac"
    assert [f.spec for f in parse_formats(["wav", "opus:96k", "vorbis:q3"])] == [
        "wav",
        "opus:96k",
        "vorbis:q3",
    ]
    assert parse_format("aac:256k").extension == ".m4a"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("mp4", "unknown codec 'mp4'"),
        ("mp3:100k", "not an MP3 bitrate"),
        ("opus:900k", "out of range"),
        ("vorbis:160k", "Vorbis quality"),
        ("vorbis:q12", "q0 to q10"),
        ("flac:24", "takes no setting"),
        ("mp3:fast", "bitrate in kbit/s"),
    ],
)
def test_bad_format_specs_are_named(spec, words):
    with pytest.raises(ParameterError, match="format") as info:
        parse_format(spec)
    assert words in str(info.value) and repr(spec) in str(info.value)


def test_a_codec_twice_is_refused():
    with pytest.raises(ParameterError, match="'mp3' twice"):
        parse_formats("mp3:128k,mp3:320k")


def test_unknown_format_fails_before_anything_is_written(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ParameterError, match="did you mean 'opus'"):
        deliver(trailer(seconds=2.0), "spotify", out, formats=["opux"])
    assert not out.exists()


def test_mp3_refuses_more_than_two_channels(tmp_path):
    x = np.zeros((6, 48000), np.float32)
    graph = sm.Graph(
        tracks={"t": sm.Track(clips=(sm.Clip(source=sm.ArraySource(x, 48000)),), layout="5.1")},
        buses={"master": sm.Bus(output=None, layout="5.1")},
    )
    with pytest.raises(ParameterError, match="at most 2 channels and the mix has 6"):
        deliver(graph, "ebu-r128", tmp_path / "o", formats=["mp3"])
    assert not (tmp_path / "o").exists()


def test_a_missing_encoder_says_what_to_install(tmp_path, monkeypatch):
    from sonicmix.delivery import codecs

    monkeypatch.setattr(codecs, "lame_library", lambda: None)  # MP3 falls back on PyAV's LAME
    monkeypatch.setitem(codecs._PYAV, "mp3", ("libmp3lame-not-built", "mp3", "fltp", 2))
    with pytest.raises(ParameterError, match=r"lacks; install PyAV.*sonicmix\[encode\]"):
        deliver(trailer(seconds=2.0), "spotify", tmp_path / "o", formats=["mp3"])
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------- after the codec


@needs_ffmpeg
@pytest.mark.parametrize("ceiling", [-1.0, -2.0])
@pytest.mark.parametrize("spec", LOSSY)
def test_no_decoded_overs_on_hot_material(hot, ceiling, spec):
    """The goal: 0 decoded overs, and the decoded loudness within the target's tolerance.

    The ffmpeg command line decodes (another build of FFmpeg than the one sonicmix verified with)
    and libebur128 measures. Tolerance on the true peak: 0.05 dB, for the two meters' different
    interpolation filters (libebur128 oversamples by 4 at 48 kHz with its own FIR; sonicmix's is
    ITU-R BS.1770-5's 48-tap filter; they differ by a few hundredths of a dB on such peaks).
    """
    delivery = hot[ceiling]
    assert delivery.passed, delivery.reasons
    key = "mix" + EXTENSIONS[parse_format(spec).codec]
    audio, rate = ffmpeg_decode(delivery.files[key])
    integrated, peak = libebur128(audio, rate)
    assert peak <= ceiling + 0.05, (spec, ceiling, peak, delivery.encodings[key].passes)
    assert abs(integrated - -14.0) <= 0.2  # the loop aims off the codec's own loudness change
    assert delivery.encodings[key].decoded.true_peak_dbtp <= ceiling  # what sonicmix judged


@needs_ffmpeg
def test_the_report_gives_figures_before_the_codec_and_decoded(hot):
    delivery = hot[-2.0]
    report = delivery.to_dict()
    for spec in LOSSY:
        key = "mix" + EXTENSIONS[parse_format(spec).codec]
        encoding = report["encodings"][key]
        assert encoding["format"] == spec
        assert encoding["before_codec"]["integrated_lufs"] is not None
        assert encoding["decoded"]["true_peak_dbtp"] <= -2.0
        first = encoding["passes"][0]
        assert first["ceiling_dbtp"] == -2.0
        # a format encoded again had its ceiling lowered by at least the overshoot
        for before, after in zip(encoding["passes"], encoding["passes"][1:], strict=False):
            overshoot = before["true_peak_decoded_dbtp"] - -2.0
            if overshoot > 0:
                assert after["ceiling_dbtp"] <= before["ceiling_dbtp"] - overshoot + 1e-3
            else:  # a pass for the codec's loudness change only
                assert after["ceiling_dbtp"] == before["ceiling_dbtp"]
        assert report["measurements"][key]["true_peak_dbtp"] == encoding["decoded"]["true_peak_dbtp"]
    # some format needed a second encode on this material: the loop is exercised, not idle
    assert any(len(e.passes) > 1 for e in delivery.encodings.values())
    assert "decoded" in str(delivery)


@needs_ffmpeg
def test_loudness_tags_read_back_by_ffprobe(hot):
    delivery = hot[-1.0]
    for spec in LOSSY:
        codec = parse_format(spec).codec
        key = "mix" + EXTENSIONS[codec]
        info = ffprobe(delivery.files[key])
        tags = {
            k.upper(): v
            for k, v in {**info["format"].get("tags", {}), **info["streams"][0].get("tags", {})}.items()
        }
        decoded = delivery.reports[key]
        if codec == "opus":
            assert "REPLAYGAIN_TRACK_GAIN" not in tags  # RFC 7845 forbids them in Opus
            assert int(tags["R128_TRACK_GAIN"]) == round((-23.0 - decoded.integrated_lufs) * 256)
        else:
            assert tags["REPLAYGAIN_TRACK_GAIN"] == f"{-18.0 - decoded.integrated_lufs:.2f} dB"
            assert float(tags["REPLAYGAIN_TRACK_PEAK"]) == pytest.approx(
                10 ** (decoded.true_peak_dbtp / 20), abs=1e-6
            )


@needs_ffmpeg
def test_bitrates_and_rates_as_asked(hot):
    delivery = hot[-1.0]
    mp3 = ffprobe(delivery.files["mix.mp3"])
    assert int(mp3["streams"][0]["bit_rate"]) == 128000  # constant bitrate
    opus = ffprobe(delivery.files["mix.opus"])
    assert opus["streams"][0]["codec_name"] == "opus"
    aac = ffprobe(delivery.files["mix.m4a"])["streams"][0]
    assert aac["codec_name"] == "aac" and int(aac["channels"]) == 2


def test_a_target_unmet_after_the_codec_writes_nothing(tmp_path):
    """AAC at 32 kbit/s on hot material cannot be held under -2 dBTP in one encode: nothing written."""
    target = LoudnessTarget(integrated_lufs=-14.0, true_peak_dbtp=-2.0, name="hot")
    delivery = deliver(
        trailer(seconds=6.0), target, tmp_path / "o", formats=["wav", "aac:32k"], stems=[], max_codec_passes=1
    )
    assert not delivery.passed
    assert any("aac:32k: the decoded true peak" in r and "max_codec_passes" in r for r in delivery.reasons)
    # the report keeps the encode that failed: its ceiling and its decoded true peak over the target's
    (encoding,) = delivery.encodings.values()
    assert len(encoding.passes) == 1 and encoding.passes[0]["true_peak_decoded_dbtp"] > -2.0
    assert delivery.to_dict()["encodings"]["mix.m4a"]["decoded"]["true_peak_dbtp"] > -2.0
    assert not (tmp_path / "o").exists() or os.listdir(tmp_path / "o") == []


@pytest.mark.parametrize("encoder", ["lameenc", "pyav"])
def test_a_full_disk_mid_encode_leaves_nothing(tmp_path, monkeypatch, encoder):
    from sonicmix.delivery import codecs, mp3

    if encoder == "lameenc" and mp3.lame_library() is None:
        pytest.skip("lameenc is not installed")
    calls = {"n": 0}
    owner, name = (mp3.LameStream, "_put") if encoder == "lameenc" else (codecs.EncodedWriter, "_frame")
    real = getattr(owner, name)

    def failing(self, *args):  # the encoder's write fails as on a full disk, on the third block
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args)

    if encoder == "pyav":
        monkeypatch.setattr(codecs, "lame_library", lambda: None)
    monkeypatch.setattr(owner, name, failing)
    out = tmp_path / "o"
    with pytest.raises(AudioFileError, match=r"mix\.mp3.*No space left on device"):
        deliver(trailer(seconds=6.0), "spotify", out, formats=["wav", "mp3"], block_size=8192)
    assert calls["n"] == 3
    assert not out.exists() or os.listdir(out) == []


def test_deliver_all_renders_once(tmp_path, monkeypatch):
    import sonicmix.renderer as renderer

    calls = {"n": 0}
    real = renderer.render_blocks

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(renderer, "render_blocks", counting)
    done = deliver_all(
        trailer(seconds=6.0),
        {"spotify": ["opus:96k"], "apple-podcasts": ["mp3"], "ebu-r128": ["wav"]},
        tmp_path,
        reports=False,
    )
    assert calls["n"] == 1
    assert {t: d.passed for t, d in done.items()} == {
        "spotify": True,
        "apple-podcasts": True,
        "ebu-r128": True,
    }
    assert sorted(os.listdir(tmp_path)) == ["apple-podcasts", "ebu-r128", "spotify"]
    assert os.listdir(tmp_path / "apple-podcasts") == ["mix.mp3"]
    assert done["apple-podcasts"].encodings["mix.mp3"].format.spec == "mp3:128k"  # the preset's bitrate
    # each target its own gain: -14 LUFS and -16 LUFS and -23 LUFS from one render
    gains = [done[t].gain_db for t in ("spotify", "apple-podcasts", "ebu-r128")]
    assert gains[0] - gains[2] == pytest.approx(9.0, abs=0.3)


@needs_ffmpeg
def test_opus_from_44k1_is_resampled_to_48k(tmp_path):
    delivery = deliver(trailer(44100, seconds=4.0), "spotify", tmp_path, formats=["opus"], sample_rate=44100)
    assert delivery.passed, delivery.reasons
    audio, rate = ffmpeg_decode(delivery.files["mix.opus"])
    assert rate == 48000
    assert abs(audio.shape[1] - 4.0 * 48000) < 0.01 * 48000


def test_flac_is_lossless_and_tagged(tmp_path):
    import soundfile as sf
    from mutagen.flac import FLAC

    delivery = deliver(trailer(seconds=4.0), "spotify", tmp_path, formats=["wav", "flac"], stems=[])
    wav, _ = sf.read(delivery.files["mix"])
    flac, _ = sf.read(delivery.files["mix.flac"])
    # the same 24-bit samples but for each file's own TPDF dither (at most 1 LSB each way)
    assert np.abs(wav - flac).max() <= 2 * 2.0**-23
    assert FLAC(delivery.files["mix.flac"])["REPLAYGAIN_TRACK_GAIN"][0].endswith(" dB")


# ---------------------------------------------------------------------------- sessions, command line


@pytest.fixture
def session_file(tmp_path):
    import soundfile as sf

    from sonicmix.session import Session, save_session
    from sonicmix.timeline import FileSource

    rng = np.random.default_rng(3)
    from scipy.signal import lfilter

    bed = lfilter([0.05], [1, -0.95], rng.standard_normal((2, 48000 * 5)) * 0.3)  # noise, little top octave
    sf.write(tmp_path / "bed.wav", bed.T.astype(np.float32), 48000, subtype="FLOAT")
    graph = sm.Graph(
        tracks={
            "bed": sm.Track(clips=(sm.Clip(source=FileSource(str(tmp_path / "bed.wav"))),), output="music")
        },
        buses={"music": sm.Bus(), "master": sm.Bus(output=None)},
    )
    path = tmp_path / "s.toml"
    save_session(
        Session(graph=graph, target=sm.targets.get_target("ebu-r128"), options={"formats": ["wav", "flac"]}),
        path,
    )
    return path


def test_session_formats_round_trip_and_are_checked(session_file, tmp_path):
    from sonicmix.session import SessionError, load_session

    assert load_session(session_file).options["formats"] == ["wav", "flac"]
    bad = tmp_path / "bad.toml"
    bad.write_text(session_file.read_text().replace('"flac"', '"mp3:100k"'))
    with pytest.raises(SessionError, match=r"session\.formats.*not an MP3 bitrate"):
        load_session(bad)


def test_cli_deliver_renders_once_into_a_folder_per_target(session_file, tmp_path, capsys):
    from sonicmix.cli import main

    out = tmp_path / "out"
    code = main(
        [
            "--quiet",
            "render",
            str(session_file),
            "-o",
            str(out),
            "--deliver",
            "spotify:opus:96k,apple-podcasts:mp3,ebu-r128:wav",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert [line.split()[2] for line in lines] == ["spotify:", "apple-podcasts:", "ebu-r128:"]
    assert (out / "spotify" / "mix.opus").exists() and (out / "apple-podcasts" / "mix.mp3").exists()
    assert (out / "ebu-r128" / "mix.wav").exists() and not (out / "ebu-r128" / "mix.flac").exists()


def test_cli_formats_and_bad_deliver_items(session_file, tmp_path, capsys):
    from sonicmix.cli import main

    out = tmp_path / "out"
    assert main(["--quiet", "render", str(session_file), "-o", str(out), "--formats", "wav,vorbis:q4"]) == 0
    assert sorted(p.name for p in out.glob("mix.*")) == [
        "mix.loudness.png",
        "mix.music.wav",
        "mix.ogg",
        "mix.report.json",
        "mix.report.txt",
        "mix.wav",
    ]
    capsys.readouterr()
    assert main(["render", str(session_file), "-o", str(tmp_path / "o2"), "--deliver", "spotify"]) == 2
    assert "expected TARGET:FORMAT" in capsys.readouterr().err
    assert (
        main(
            [
                "render",
                str(session_file),
                "-o",
                str(tmp_path / "o3"),
                "--deliver",
                "spotify:opus",
                "--target",
                "ebu-r128",
            ]
        )
        == 2
    )
    assert "no --target or --formats" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()


def test_formats_encode_side_by_side_in_threads_into_the_same_files(tmp_path, monkeypatch):
    """threads=2: the lossy formats are encoded in the pool's threads at once, and every file is the same
    byte for byte as one thread's (Opus: decoded sample for sample; its Ogg stream has a random serial
    number)."""
    import threading

    from sonicmix.delivery import encoded
    from sonicmix.delivery.codecs import decoded_blocks

    seen: dict[str, str] = {}
    real = encoded.encode_verified

    def recording(renders, fmt, *args, **kwargs):
        seen[fmt.codec] = threading.current_thread().name
        return real(renders, fmt, *args, **kwargs)

    monkeypatch.setattr(encoded, "encode_verified", recording)
    files = {}
    for threads in (1, 2):
        done = deliver(
            trailer(seconds=4.0), "spotify", tmp_path / str(threads), formats=["wav", "mp3", "aac", "opus"],
            stems=[], bext=False, reports=False, threads=threads,
        )  # fmt: skip
        assert done.passed, done.reasons
        files[threads] = {
            k: np.hstack(list(decoded_blocks(p))) if p.endswith(".opus") else open(p, "rb").read()
            for k, p in done.files.items()
        }
        names = set(seen.values())
        if threads == 1:
            assert names == {"MainThread"}
        else:  # the three encodes on two threads: the pool's worker, and the caller's, which takes one too
            assert len(names) == 2 and "MainThread" in names, names
            assert any(n.startswith("sonicmix-deliver") for n in names), names
    assert files[1].keys() == files[2].keys() == {"mix", "mix.mp3", "mix.m4a", "mix.opus"}
    for key, content in files[1].items():
        assert np.array_equal(content, files[2][key]) if key == "mix.opus" else content == files[2][key], key

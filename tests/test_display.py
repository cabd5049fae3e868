"""Notebook display: players, HTML of results, reports and graphs, and the text tree."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import sonicmix as sm
from sonicmix import display
from sonicmix.deliver import deliver
from sonicmix.errors import AudioError, ParameterError

FS = 48000


def tone(seconds: float, level_dbfs: float, channels: int = 2, freq_hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    x = 10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)
    return np.tile(x, (channels, 1)).astype(np.float32)


def embedded_wavs(page: str) -> list[tuple[np.ndarray, int]]:
    """Every WAV embedded in an HTML page, decoded by soundfile (an independent reader)."""
    out = []
    for data in re.findall(r'src="data:audio/wav;base64,([A-Za-z0-9+/=]+)"', page):
        samples, rate = sf.read(io.BytesIO(base64.b64decode(data)), dtype="float64", always_2d=True)
        out.append((samples.T, rate))
    return out


# ------------------------------------------------------------------------------------------ players


def test_player_embeds_the_audio_as_16_bit_wav(rng):
    x = (0.5 * rng.uniform(-1, 1, (2, 4800))).astype(np.float32)
    page = display.audio(x, FS, title="noise")._repr_html_()
    ((wav, rate),) = embedded_wavs(page)
    assert rate == FS and wav.shape == x.shape
    # 16-bit PCM: every sample within half a step (1/32767 full scale) of the original
    assert np.abs(wav * 32768 / 32767 - x).max() <= 0.5 / 32767 + 1e-9
    with sf.SoundFile(io.BytesIO(display.audio(x, FS).wav()[0])) as f:
        assert f.subtype == "PCM_16"


def test_player_embeds_only_the_start_of_long_audio_and_says_so():
    x = np.zeros((1, 60 * FS), np.float32)
    page = display.audio(x, FS, max_duration_s=2.5)._repr_html_()
    ((wav, _),) = embedded_wavs(page)
    assert wav.shape[1] == int(2.5 * FS)
    assert "the first 2.5 s of 60.0 s" in page
    capped = display.AudioPlayer(x, FS, max_bytes=10_000)  # 5000 mono 16-bit frames
    data, notes = capped.wav()
    assert len(data) - 44 == 10_000 and notes == ["the first 0.1 s of 60.0 s"]


def test_player_folds_5_1_down_to_stereo_with_bs775_coefficients(rng):
    x = rng.uniform(-0.2, 0.2, (6, 2000)).astype(np.float32)
    data, notes = display.audio(x, FS).wav()
    wav, _ = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    # ITU-R BS.775 Table 2: Lo = L + 0.7071 C + 0.7071 Ls, Ro = R + 0.7071 C + 0.7071 Rs (LFE dropped)
    h = np.sqrt(0.5)
    left = x[0] + h * x[2] + h * x[4]
    right = x[1] + h * x[2] + h * x[5]
    assert np.abs(wav.T * 32768 / 32767 - np.vstack([left, right])).max() <= 0.5 / 32767 + 1e-7
    assert notes == ["5.1 folded down to stereo (ITU-R BS.775) for the preview"]


def test_player_notes_clipping_and_non_finite_samples():
    x = np.array([[0.0, 2.0, np.nan, -0.5]], np.float32)
    data, notes = display.audio(x, FS).wav()
    wav, _ = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
    assert wav[:, 0].tolist() == [0, 32767, 0, -16384]  # 2.0 clipped, NaN silent, -0.5 rounded
    assert "1 non-finite samples played as silence" in notes
    assert "peaks of +6.0 dBFS clipped to full scale in the preview" in notes


def test_player_accepts_1d_audio_and_escapes_its_title():
    page = display.audio(np.zeros(480), FS, title='<script>alert("x")</script>')._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert embedded_wavs(page)[0][0].shape == (1, 480)


@pytest.mark.parametrize(
    ("array", "kwargs", "error", "match"),
    [
        (np.zeros((2, 10), np.int16), {}, AudioError, r"array.dtype=int16 is not floating point"),
        (np.zeros((2, 2, 10)), {}, AudioError, r"array.shape=\(2, 2, 10\)"),
        (np.zeros((1, 10)), {"sample_rate": 48}, ParameterError, r"sample_rate=48"),
        (np.zeros((1, 10)), {"max_duration_s": 0.0}, ParameterError, r"max_duration_s=0"),
    ],
)
def test_audio_refuses(array, kwargs, error, match):
    with pytest.raises(error, match=match):
        display.audio(array, **{"sample_rate": FS, **kwargs})


# ------------------------------------------------------------------------------------------ reports


def test_loudness_report_html_shows_the_ebu_3341_figures():
    # EBU Tech 3341 case 1: a 1 kHz stereo sine at -23 dBFS measures -23.0 LUFS (+-0.1 LU)
    page = sm.measure(tone(20.0, -23.0), FS)._repr_html_()
    assert "<table" in page and "-23.0 LUFS" in page
    assert "Loudness report: 20.000 s, 2 ch (stereo), 48000 Hz" in page
    # the sine's true peak is its sample peak: -23.00 dBTP on every channel
    assert "-23.00 dBTP" in page and "-23.00, -23.00 dBTP" in page


def test_undefined_loudness_is_said_in_words():
    page = sm.measure(np.zeros((1, FS), np.float32), FS)._repr_html_()
    assert "-inf LUFS" in page and "undefined" in page and "<li>" in page  # the notes say why


def _graph(name: str = "voice") -> sm.Graph:
    clip = sm.Clip(source=sm.ArraySource(tone(2.0, -23.0, channels=1), FS))
    bed = sm.Clip(source=sm.ArraySource(tone(2.0, -30.0, freq_hz=220.0), FS))
    return sm.Graph(
        tracks={
            name: sm.Track(
                clips=(clip,), layout="mono", pan=-0.5, output="dialogue",
                chain=(sm.HighPass(cutoff_hz=100.0), sm.Compressor(ratio=3.0)),
                sends=(sm.Send(to="room", level_db=-12.0, pre_fader=True),),
            ),
            "bed": sm.Track(clips=(bed,), fader_db=-6.0, output="music"),
            "spare": sm.Track(clips=(bed,), output=None),
        },
        buses={
            "dialogue": sm.Bus(),
            "music": sm.Bus(chain=(sm.Ducker(depth_db=9.0),), key="dialogue"),
            "room": sm.Bus(chain=(sm.Reverb(decay_s=1.0),)),
            "master": sm.Bus(output=None, chain=(sm.Limiter(),)),
        },
    )  # fmt: skip


def test_tree_shows_routing_chains_sends_and_keys():
    text = display.tree(_graph())
    assert text.splitlines() == [
        "master  bus, stereo | Limiter()",
        "├── dialogue  bus, stereo",
        "│   └── voice  track, mono, 1 clip, pan -0.5 | HighPass(cutoff_hz=100) > Compressor(ratio=3) | "
        "send to room -12 dB pre-fader",
        "├── music  bus, stereo | Ducker(depth_db=9) | key: dialogue",
        "│   └── bed  track, stereo, 1 clip, fader -6 dB",
        "└── room  bus, stereo | Reverb(decay_s=1) | sends in from voice",
        "not routed to the master:",
        "    spare  track, stereo, 1 clip",
    ]
    with pytest.raises(ParameterError, match=r"expected a sonicmix.graph.Graph"):
        display.tree("master")


def test_graph_html_is_a_nested_list_with_escaped_names():
    page = _graph("<b>host<b>")._repr_html_()  # names have no "/" (issue 20); "<", ">" are fine
    assert "<b>host<b>" not in page and "&lt;b&gt;host&lt;b&gt;" in page
    # master > dialogue > the voice: three nested lists
    path = page.index("master"), page.index("dialogue"), page.index("&lt;b&gt;host")
    assert path == tuple(sorted(path))
    assert page[: path[2]].count("<ul") == 3
    assert "key: dialogue" in page and "send to room -12 dB pre-fader" in page


def test_render_result_html_has_figures_players_and_a_plot():
    pytest.importorskip("matplotlib")
    graph = sm.Graph(
        tracks={"t": sm.Track(clips=(sm.Clip(source=sm.ArraySource(tone(12.0, -23.0), FS)),), output="dx")},
        buses={"dx": sm.Bus(), "master": sm.Bus(output=None)},
    )
    result = sm.render(graph, sample_rate=FS)
    page = result._repr_html_()
    # Tech 3341 case 1 again, through the render: the mix measures -23.0 LUFS
    assert "-23.0 LUFS" in page
    # the master bus and dx carry the mix's very samples: one player, and a note
    assert "identical to the mix: dx, master" in page
    ((wav, rate),) = embedded_wavs(page)
    assert rate == FS and wav.shape == (2, int(10.0 * FS))  # 10 s: 1.8 MiB, under the 4 MiB share
    assert "the first 10.0 s of 12.0 s" in page
    # a stem that differs gets its own row and player; they share 4 MiB: 2 MiB = 10.9 s each
    graph = sm.Graph(
        tracks={"t": sm.Track(clips=(sm.Clip(source=sm.ArraySource(tone(12.0, -23.0), FS)),), output="dx")},
        buses={"dx": sm.Bus(), "master": sm.Bus(output=None, chain=(sm.Gain(gain_db=-10.0),))},
    )
    page = sm.render(graph, sample_rate=FS)._repr_html_()
    assert "-23.0 LUFS" in page and "-33.0 LUFS" in page  # dx, and the mix 10 dB down
    assert [w.shape for w, _ in embedded_wavs(page)] == [(2, 10 * FS)] * 2  # the mix and dx
    png = re.search(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert base64.b64decode(png.group(1))[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_without_matplotlib_says_how_to_get_the_plot(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    graph = sm.Graph(
        tracks={"t": sm.Track(clips=(sm.Clip(source=sm.ArraySource(tone(1.0, -20.0), FS)),))},
        buses={"master": sm.Bus(output=None)},
    )
    page = sm.render(graph, sample_rate=FS)._repr_html_()
    assert "pip install sonicmix[plot]" in page and "<img" not in page and "<audio" in page


def test_delivery_html_shows_compliance_files_and_players(tmp_path, rng):
    pytest.importorskip("matplotlib")
    speechy = tone(6.0, -30.0, channels=1) * (rng.uniform(size=(1, 6 * FS)) > 0.0)
    graph = sm.Graph(
        tracks={"dx": sm.Track(clips=(sm.Clip(source=sm.ArraySource(speechy, FS)),), layout="mono",
                               pan=0.0, output="dialogue")},
        buses={"dialogue": sm.Bus(), "master": sm.Bus(output=None)},
    )  # fmt: skip
    delivery = deliver(graph, "apple-podcasts", tmp_path, name="ep", bext=False)
    page = delivery._repr_html_()
    assert "PASSED" in page and "ep.wav" in page and "ep.dialogue.wav" in page
    assert "integrated" in page and "true_peak" in page  # the compliance criteria
    assert len(embedded_wavs(page)) == 2 and "data:image/png;base64," in page
    # Apple Podcasts: -16 LUFS; the delivered tone is steady, so its row reads -16.0 LUFS
    assert "-16.0 LUFS" in page
    for path in delivery.files.values():
        (tmp_path / path).unlink()
    page = delivery._repr_html_()
    assert "cannot be read back for a player" in page and not embedded_wavs(page)


def test_failed_delivery_html_gives_the_reasons(tmp_path):
    silent = sm.Graph(
        tracks={"t": sm.Track(clips=(sm.Clip(source=sm.ArraySource(np.zeros((2, FS), np.float32), FS)),))},
        buses={"master": sm.Bus(output=None)},
    )
    page = deliver(silent, "ebu-r128", tmp_path)._repr_html_()
    assert "FAILED" in page and "silent" in page and "<audio" not in page


def test_html_refuses_other_objects():
    with pytest.raises(ParameterError, match=r"cannot show a dict as HTML"):
        display.html({})


def test_import_sonicmix_loads_neither_display_nor_matplotlib():
    code = "import sys, sonicmix; print('sonicmix.display' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

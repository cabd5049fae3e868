"""PluginNode with a real VST3 file, loaded through ``pedalboard.load_plugin``.

The plugin is sonicmix's own (tests/plugins: a one-pole low-pass, a gain, a 64-sample delay it
reports as latency), built by ``scripts/build_test_plugin.sh`` with DPF; these tests skip where it
is not built. Its arithmetic is known, so the oracle is :func:`tests.plugins.model`: the plugin runs
in float32 with a float64 filter state, so its output matches the float64 model to a few float32
roundings (tolerance 2e-6 of the signal's scale). Streams, automation, the graph's latency
compensation and sessions are checked against it, where the built-in tests (test_plugin.py) can
only check a stand-in for a plugin file.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf

from sonicmix.automation import Automation
from sonicmix.errors import GraphError, LayoutError, ParameterError
from sonicmix.graph import Bus, Graph, Track
from sonicmix.nodes.utility import Polarity
from sonicmix.renderer import CONTROL_SAMPLES, render
from sonicmix.session import Session, dumps_session, load_session, loads_session, render_session, save_session
from sonicmix.timeline import ArraySource, Clip, FileSource
from tests.nodes.node_checks import programme, run_streamed
from tests.plugins import PLUGIN_LATENCY, TEST_PLUGIN, built, model

pb = pytest.importorskip("pedalboard")

from sonicmix.nodes.plugin import PluginNode  # noqa: E402

pytestmark = pytest.mark.skipif(not built(), reason="test VST3 not built: bash scripts/build_test_plugin.sh")

FS = 48000
PATH = str(TEST_PLUGIN)
LATE = 511 + PLUGIN_LATENCY  # fixed blocks of 512 (one block less a sample) plus the plugin's own


def _close(y, expected):
    np.testing.assert_allclose(y, expected, rtol=0, atol=2e-6 * np.max(np.abs(expected)))


def _graph(tracks):
    return Graph(tracks=tracks, buses={"master": Bus(output=None)})


def _track(x, node, rate=FS, **kw):
    return Track(clips=(Clip(source=ArraySource(x, rate, name="x")),), chain=(node,), **kw)


def test_output_is_the_plugins_arithmetic_late_by_the_latency_it_reports(rng):
    """pedalboard holds a file plugin's latency back only after a reset; a fresh instance streamed
    straight away came out 64 samples later than latency_samples said."""
    node = PluginNode(path=PATH, gain_db=-6.0, tone_hz=2000.0)
    assert node.latency_samples(FS) == LATE
    x = programme(rng, 2, 3 * FS)
    y = node(x, FS)
    assert not np.any(y[:, :LATE])
    _close(y[:, LATE:], model(x, FS, -6.0, 2000.0)[:, :-LATE])


@pytest.mark.parametrize("sizes", [(1,), (63,), (4097,), (1, 2, 63, 64, 65, 4097), (3000, 7, 1500, 1)])
def test_streamed_equals_whole_at_odd_block_sizes(sizes, rng):
    node = PluginNode(path=PATH, gain_db=3.0, tone_hz=800.0)
    x = programme(rng, 2, 2 * 4097 + 17)
    np.testing.assert_array_equal(run_streamed(node, x, FS, sizes), node(x, FS))


def test_latency_null_against_a_dry_path_in_a_graph(rng):
    """At 40 kHz a 20 kHz tone is Nyquist, where the plugin's low-pass passes every sample unchanged:
    with 0 dB it is a pure delay, and the graph's compensation cancels it against the inverted dry
    path to exactly zero; one sample off would not."""
    rate = 40000
    x = programme(rng, 2, 2 * rate)
    wet = PluginNode(path=PATH, tone_hz=20000.0)
    graph = _graph({"wet": _track(x, wet, rate), "dry": _track(x, Polarity(), rate)})
    for block_size in (None, 1000, 4097):
        result = render(graph, sample_rate=rate, tail_s=0.0, block_size=block_size)
        assert result.latency_samples == LATE
        assert np.max(np.abs(result.master)) == 0.0, block_size


def test_gain_follows_automation_at_the_control_block(rng):
    """A step of the plugin's gain at a control block that is also a plugin block boundary lands on
    that sample, after the graph's compensation, whole and streamed."""
    x = programme(rng, 2, FS)
    step = 40 * CONTROL_SAMPLES  # = 20 blocks of 512
    automation = {"chain[0].gain_db": Automation(((0.0, -6.0), (step / FS, -12.0, "step")))}
    graph = _graph({"t": _track(x, PluginNode(path=PATH, tone_hz=3000.0), automation=automation)})
    low = model(x, FS, 0.0, 3000.0)
    expected = np.concatenate([low[:, :step] * 10 ** (-6 / 20), low[:, step:] * 10 ** (-12 / 20)], axis=1)
    whole = render(graph, sample_rate=FS, tail_s=0.0).master
    _close(whole, expected)
    for block_size in (1000, 333):
        np.testing.assert_array_equal(render(graph, sample_rate=FS, tail_s=0.0, block_size=block_size).master,
                                      whole)  # fmt: skip


def test_two_tracks_with_one_node_never_share_its_plugin(rng):
    node = PluginNode(path=PATH, gain_db=-3.0, tone_hz=500.0)  # the filter's memory would show sharing
    a, b = programme(rng, 2, FS), 0.5 * programme(rng, 2, FS)
    graph = Graph(
        tracks={"a": _track(a, node, output="bus_a"), "b": _track(b, node, output="bus_b")},
        buses={"bus_a": Bus(), "bus_b": Bus(), "master": Bus(output=None)},
    )
    for threads in (1, 2):
        stems = render(graph, sample_rate=FS, tail_s=0.0, block_size=1000, threads=threads).stems
        _close(stems["bus_a"], model(a, FS, -3.0, 500.0))
        _close(stems["bus_b"], model(b, FS, -3.0, 500.0))


def test_raw_state_then_parameters_survive_a_session_round_trip(tmp_path, rng):
    """The state of a plugin set up by hand carries its gain; the node's parameters are set after it.
    A VST3 hears parameter changes in its process calls, so its state holds them after one call."""
    loaded = pb.load_plugin(PATH)
    loaded.gain_db, loaded.tone_hz = -9.0, 12000.0
    loaded(np.zeros((2, 64), np.float32), FS)
    node = PluginNode(path=PATH, raw_state=loaded.raw_state, tone_hz=5000.0)
    x = programme(rng, 2, FS)
    _close(node(x, FS)[:, LATE:], model(x, FS, -9.0, 5000.0)[:, :-LATE])
    sf.write(tmp_path / "dx.wav", x.T, FS, subtype="FLOAT")
    graph = _graph({"t": Track(clips=(Clip(source=FileSource(str(tmp_path / "dx.wav"))),), chain=(node,))})
    text = dumps_session(Session(graph=graph), folder=tmp_path)
    saved = r'path = "[^"]*sonicmix-test\.vst3", parameters = \{tone_hz = 5000\.0\}, raw_state = "'
    assert re.search(saved, text)
    again = loads_session(text, folder=tmp_path)
    assert again.graph == graph
    first, second = (render(g, sample_rate=FS, tail_s=0.0).master for g in (graph, again.graph))
    np.testing.assert_array_equal(second, first)


def test_bad_use_is_named():
    with pytest.raises(ParameterError, match=r"has no parameter 'gain' \(did you mean 'gain_db'\?\)"):
        PluginNode(path=PATH, gain=1.0)
    with pytest.raises(
        ParameterError, match=r"gain_db=40\.0 is out of the plugin's range; expected -24 to 24 dB"
    ):
        PluginNode(path=PATH, gain_db=40.0)
    with pytest.raises(ParameterError, match=r"holds the plugin 'sonicmix test', not plugin_name='nope'"):
        PluginNode(path=PATH, plugin_name="nope")
    assert PluginNode(path=PATH, plugin_name="sonicmix test").plugin_name == "sonicmix test"
    node = PluginNode(path=PATH)
    assert node.automatable == {"gain_db", "tone_hz"}
    with pytest.raises(GraphError, match=r"latency_frames cannot be automated .*marks it as not automatable"):
        Track(chain=(node,), automation={"chain[0].latency_frames": Automation(((0.0, 64.0),))})
    with pytest.raises(GraphError, match=r"reaches 30: .*gain_db=30\.0 is out of the plugin's range"):
        Track(chain=(node,), automation={"chain[0].gain_db": Automation(((0.0, 0.0), (1.0, 30.0)))})
    with pytest.raises(
        LayoutError, match=r"the plugin refuses 1-channel audio \(Plugin 'sonicmix test' does not"
    ):
        node(np.zeros((1, 1000), np.float32), FS)
    with pytest.raises(GraphError, match=r"'t': chain\[0\] PluginNode cannot take 1 channels: .*1-channel"):
        _graph({"t": Track(layout="mono", chain=(node,))})


def test_loading_the_plugin_keeps_subnormal_floats():
    """A plugin built with -ffast-math links gcc's crtfastmath.o, which turns flush-to-zero on for
    the whole process on loading: every later subnormal reads as 0. The build script leaves it out."""
    tiny = np.array([1e-310])
    pb.load_plugin(PATH)
    assert (tiny * 1.0)[0] == 1e-310


def test_values_are_held_as_the_plugin_runs_them(rng):
    """pedalboard sets the nearest of a parameter's probed steps: 1234.5 Hz runs as 1238.78 Hz."""
    node = PluginNode(path=PATH, tone_hz=1234.5, gain_db=-6.0)
    runs_at = node.parameters["tone_hz"]
    assert runs_at == pytest.approx(1238.78, abs=1e-3) and node.parameters["gain_db"] == -6.0
    assert PluginNode(path=PATH, tone_hz=runs_at).parameters["tone_hz"] == runs_at  # a fixed point
    x = programme(rng, 2, FS // 2)
    _close(node(x, FS)[:, LATE:], model(x, FS, -6.0, runs_at)[:, :-LATE])


def test_automated_plugin_tracks_start_on_the_calling_thread(rng):
    """With threads the pool's tracks run on worker threads, but pedalboard loads a plugin file on
    the main thread only: an automated track's stream is started before its first job."""
    a, b = programme(rng, 2, FS), 0.5 * programme(rng, 2, FS)
    ramp = {"chain[0].gain_db": Automation(((0.0, -6.0), (0.5, 0.0)))}
    node = PluginNode(path=PATH, tone_hz=3000.0)
    graph = Graph(
        tracks={"a": _track(a, node, output="bus_a", automation=ramp),
                "b": _track(b, node, output="bus_b", automation=ramp)},
        buses={"bus_a": Bus(), "bus_b": Bus(), "master": Bus(output=None)},
    )  # fmt: skip
    one = render(graph, sample_rate=FS, tail_s=0.0, block_size=1000)
    two = render(graph, sample_rate=FS, tail_s=0.0, block_size=1000, threads=2)
    for bus in ("bus_a", "bus_b"):
        np.testing.assert_array_equal(two.stems[bus], one.stems[bus])


def test_a_session_file_with_a_plugin_bundle_renders(tmp_path, rng):
    """A VST3 is a folder on Linux and macOS: render_session checks it exists, not that it is a file."""
    x = programme(rng, 2, 3 * FS)
    sf.write(tmp_path / "dx.wav", x.T, FS, subtype="FLOAT")
    track = Track(clips=(Clip(source=FileSource(str(tmp_path / "dx.wav"))),),
                  chain=(PluginNode(path=PATH, tone_hz=2000.0),))  # fmt: skip
    save_session(Session(graph=_graph({"dx": track}), target="ebu-r128"), tmp_path / "mix.toml")
    done = render_session(load_session(tmp_path / "mix.toml"), tmp_path / "out")
    assert done.passed, done.reasons

"""PluginNode: pedalboard plugins as nodes (issue 19, item 1).

Oracles are pedalboard itself, called directly, and the standard's arithmetic where there is one:

- on the caller's blocks, a stream equals pedalboard's own one-shot ``plugin(audio, rate)`` **bit for
  bit**, at any split: both run the same float32 code on the same samples, and these plugins keep no
  per-call state that depends on where calls start (pedalboard prepares once; the tests split at
  1, 2, 63, 64, 65 and 4097 samples and at random points). The one exception is Convolution, whose
  FFT partitions follow the calls: it agrees to 1e-7 (a few float32 rounding steps at full scale);
- on fixed blocks, a stream equals the plugin fed those blocks directly, ``latency_samples`` late;
- a lookahead limiter below its ceiling is a pure delay, so a dry path in parallel nulls to exactly 0;
- pedalboard's Gain is ``x * 10 ** (gain_db / 20)`` (juce::dsp::Gain, no ramp), which automation must follow
  at the control block where it changes.

No VST3 or Audio Unit file exists on the test machine: file plugins are tested through their errors
(a WAV file, a folder, a missing path) and, where nothing else can, through a stand-in for what
``pedalboard.load_plugin`` returns (``_FakeFilePlugin``), which models how pedalboard hands back an
external plugin's output (its reported latency held back at the start).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import sonicmix
from sonicmix.automation import Automation
from sonicmix.errors import GraphError, ParameterError, SonicmixError
from sonicmix.graph import Bus, Graph, Track
from sonicmix.nodes import plugin as plugin_module
from sonicmix.nodes.utility import Polarity
from sonicmix.renderer import CONTROL_SAMPLES, render
from sonicmix.session import Session, SessionError, dumps_session, load_session, loads_session, save_session
from sonicmix.timeline import ArraySource, Clip, FileSource
from tests.nodes.node_checks import BLOCK_SIZES, programme, run_streamed

pb = pytest.importorskip("pedalboard")

from sonicmix.nodes.plugin import ANY_BLOCKS, BUILTIN_PLUGINS, FIXED_BLOCKS, PluginNode  # noqa: E402

FS = 48000
N = 3 * 4097 + 17
SPLITS = [(size,) for size in BLOCK_SIZES] + [(1, 2, 63, 64, 65, 4097), (3000, 7, 1500, 1)]


@pytest.fixture(scope="module")
def ir_file(tmp_path_factory):
    rng = np.random.default_rng(5)
    ir = (0.3 * rng.standard_normal(1500) * np.exp(-np.arange(1500) / 250)).astype(np.float32)
    path = tmp_path_factory.mktemp("ir") / "ir.wav"
    sf.write(path, ir, FS, subtype="FLOAT")
    return str(path)


def _caller_block_cases(ir_file):
    """(node, the same plugin made by pedalboard directly) for every built-in on the caller's blocks."""
    settings = {
        "Bitcrush": {"bit_depth": 6.0},
        "Chorus": {"rate_hz": 3.0, "depth": 0.6, "mix": 0.7, "feedback": 0.3},
        "Clipping": {"threshold_db": -12.0},
        "Compressor": {"threshold_db": -20.0, "ratio": 4.0, "attack_ms": 2.0, "release_ms": 60.0},
        "Convolution": {"impulse_response_filename": ir_file, "mix": 0.6},
        "Delay": {"delay_seconds": 0.013, "feedback": 0.5, "mix": 0.5},
        "Distortion": {"drive_db": 20.0},
        "Gain": {"gain_db": -7.5},
        "HighShelfFilter": {"cutoff_frequency_hz": 3000.0, "gain_db": 6.0, "q": 1.2},
        "HighpassFilter": {"cutoff_frequency_hz": 200.0},
        "Invert": {},
        "LadderFilter": {"cutoff_hz": 800.0, "resonance": 0.6, "drive": 2.0},
        "Limiter": {"threshold_db": -15.0, "release_ms": 50.0},
        "LowShelfFilter": {"cutoff_frequency_hz": 200.0, "gain_db": -6.0},
        "LowpassFilter": {"cutoff_frequency_hz": 2000.0},
        "NoiseGate": {"threshold_db": -20.0, "ratio": 6.0},
        "PeakFilter": {"cutoff_frequency_hz": 1000.0, "gain_db": 9.0, "q": 2.0},
        "Phaser": {"rate_hz": 2.0, "depth": 0.8, "feedback": 0.6, "mix": 0.8},
        "Reverb": {"room_size": 0.8, "wet_level": 0.5, "damping": 0.3},
    }
    assert set(settings) == set(ANY_BLOCKS)
    return [
        (PluginNode(name, **kw), lambda name=name, kw=kw: getattr(pb, name)(**kw))
        for name, kw in settings.items()
    ]


# -- the built-ins: streamed == whole == pedalboard ----------------------------------------


#: JUCE's IIR filters set state values below 1e-8 to zero at the end of every block they process
#: (juce::dsp::IIR::Filter::snapToZero), so where the signal decays toward silence a split flushes
#: them at other places: the splits differ by up to 2.9e-7 (measured, LowShelfFilter at 1-sample
#: blocks). juce::dsp::Convolution's FFT partitions follow the calls: 3e-8. Everything else: 0.
TOLERANCE = {"Convolution": 1e-7, "HighShelfFilter": 1e-6, "HighpassFilter": 1e-6, "LowShelfFilter": 1e-6,
             "LowpassFilter": 1e-6, "PeakFilter": 1e-6}  # fmt: skip


@pytest.mark.parametrize("name", ANY_BLOCKS)
def test_caller_blocks_give_pedalboards_one_shot_samples_at_any_split(name, ir_file, rng):
    node, make = next((n, m) for n, m in _caller_block_cases(ir_file) if n.plugin == name)
    x = programme(rng, 2, N)
    expected = make()(x, FS)  # pedalboard's own one-shot call (reset=True, 8192-sample buffers)
    assert node.latency_samples(FS) == 0
    tolerance = TOLERANCE.get(name, 0.0)
    np.testing.assert_array_equal(node(x, FS), expected)  # one call: the same blocks as pedalboard's
    # pedalboard's Convolution prepares its engine on every call (0.7 ms here): no 1- and 2-sample splits
    for sizes in SPLITS if name != "Convolution" else SPLITS[2:]:
        streamed = run_streamed(node, x, FS, sizes)
        assert streamed.dtype == np.float32
        err = float(np.max(np.abs(streamed - expected)))
        assert err <= tolerance, f"{name}: streamed in {sizes} differs from pedalboard by {err:g}"


@pytest.mark.parametrize("name", ["Chorus", "Phaser", "Compressor", "Reverb", "LadderFilter", "Delay"])
def test_caller_blocks_shorter_than_the_channel_count(name, ir_file, rng):
    # pedalboard tells channels from samples by which is fewer; a prepared stream knows the count.
    node, make = next((n, m) for n, m in _caller_block_cases(ir_file) if n.plugin == name)
    x = programme(rng, 6, 5000)
    expected = make()(x, FS)
    for sizes in [(1,), (2,), (5,), (6,), (1, 5, 6, 7)]:
        np.testing.assert_allclose(run_streamed(node, x, FS, sizes), expected, rtol=0,
                                   atol=TOLERANCE.get(name, 0.0), err_msg=str(sizes))  # fmt: skip


def _fed_fixed_blocks(make, x, block, latency):
    """The oracle for fixed blocks: pedalboard fed ``block``-sample blocks directly, ``latency`` late."""
    plugin = make()
    whole = x.shape[1] // block * block
    c = [
        plugin.process(x[:, i : i + block], FS, buffer_size=block, reset=False)
        for i in range(0, whole, block)
    ]
    c = np.concatenate([np.zeros((x.shape[0], latency), np.float32)] + [y for y in c if y.shape[-1]], axis=1)
    return c[:, : x.shape[1]]


FIXED_CASES = [
    ("BrickwallLimiter", {"ceiling_db": -9.0, "release_ms": 50.0}, None),
    ("BrickwallLimiter", {"ceiling_db": -9.0, "true_peak": True}, None),
    ("Resample", {"target_sample_rate": 11025.0}, None),
    ("MP3Compressor", {"vbr_quality": 4.0}, None),
    ("GSMFullRateCompressor", {}, None),
    ("Chorus", {"mix": 0.9}, 100),  # a caller's-blocks built-in forced to fixed blocks
]


@pytest.mark.parametrize(("name", "kw", "block"), FIXED_CASES, ids=lambda v: str(v))
def test_fixed_blocks_stream_equal_to_whole_and_to_the_plugin_fed_directly(name, kw, block, rng):
    assert name in FIXED_BLOCKS or block is not None
    node = PluginNode(name, **kw, block_samples=block)
    size = block or 512
    latency = node.latency_samples(FS)
    assert latency >= size - 1
    x = programme(rng, 2, 3 * FS // 2)
    whole = node(x, FS)
    native = {k: (pb.Resample.Quality.__members__[v] if k == "quality" else v) for k, v in kw.items()}
    np.testing.assert_array_equal(
        whole, _fed_fixed_blocks(lambda: getattr(pb, name)(**native), x, size, latency)
    )
    assert np.any(whole[:, latency:])  # the plugin's output is there, not only the queued silence
    for sizes in [(1,), (63,), (4097,), (3000, 7, 1500, 1)]:
        np.testing.assert_array_equal(run_streamed(node, x, FS, sizes), whole, err_msg=str(sizes))


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
@pytest.mark.parametrize("lookahead_ms", [2.0, 5.0])
def test_lookahead_limiter_latency_is_its_lookahead_plus_a_block(rate, lookahead_ms):
    # BrickwallLimiter.h: lookahead = max(1, (int)(sampleRate * lookaheadMs / 1000.0f)) samples.
    node = PluginNode("BrickwallLimiter", lookahead_ms=lookahead_ms)
    lookahead = max(1, int(rate * lookahead_ms / 1000.0))
    assert node.latency_samples(rate) == 511 + lookahead
    assert PluginNode("BrickwallLimiter", lookahead_ms=lookahead_ms, block_samples=64).latency_samples(
        rate
    ) == (63 + lookahead)


def _render(graph, **options):
    """A render of the programme's length (no tail), to compare with arrays of that length."""
    return render(graph, sample_rate=FS, tail_s=0.0, **options)


def test_latency_null_against_a_dry_path_in_a_graph(rng):
    """A limiter below its ceiling delays and does nothing else: with the graph's compensation the
    dry path (inverted) cancels it to exactly zero, whole and streamed; one sample off would not."""
    x = (0.25 * programme(rng, 2, 2 * FS)).astype(np.float32)  # peaks well below -3 dBFS
    assert np.abs(x).max() < 10 ** (-3 / 20)
    source = ArraySource(x, FS, name="x")
    limiter = PluginNode("BrickwallLimiter", ceiling_db=-0.1)
    graph = Graph(
        tracks={
            "wet": Track(clips=(Clip(source=source),), chain=(limiter,)),
            "dry": Track(clips=(Clip(source=source),), chain=(Polarity(),)),
        },
        buses={"master": Bus(output=None)},
    )
    for block_size in (None, 1000, 4097):
        result = _render(graph, block_size=block_size)
        assert result.latency_samples == limiter.latency_samples(FS) == 511 + 240
        assert np.max(np.abs(result.master)) == 0.0, block_size
    # the wet path alone is the input, compensated; the node itself is the input 751 samples late
    alone = _render(dataclasses.replace(graph, tracks={"wet": graph.tracks["wet"]}))
    np.testing.assert_array_equal(alone.master, x)
    y = limiter(x, FS)
    np.testing.assert_array_equal(y[:, 751:], x[:, :-751])
    assert not np.array_equal(y[:, 750:-1], x[:, :-751])


def test_pitch_shift_is_refused_while_pedalboard_streams_it_as_silence():
    """pedalboard 0.9.26's PitchShift clears its one-second priming delay line on every process()
    call, so with reset=False it returns only zeros (spotify/pedalboard#415). If this test fails on
    the first assertion, pedalboard has fixed it: PluginNode then accepts PitchShift by itself (its
    probe), and the docs and this test should say so."""
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * FS) / FS)).astype(np.float32)[None, :]
    shifter = pb.PitchShift(semitones=0.0)
    out = np.concatenate(
        [
            shifter.process(tone[:, i : i + 4096], FS, buffer_size=4096, reset=False)
            for i in range(0, 3 * FS, 4096)
        ],
        axis=1,
    )
    assert out.shape[1] > FS and not np.any(out)  # the bug: a second and more of output, all zeros
    assert np.any(pb.PitchShift(semitones=0.0)(tone, FS))  # one-shot works
    with pytest.raises(ParameterError, match=r"plugin='PitchShift': .*returns silence.*pedalboard#415"):
        PluginNode("PitchShift", semitones=3.0)
    with pytest.raises(ParameterError, match="pedalboard#415"):
        PluginNode(pb.PitchShift())


# -- streams are separate ------------------------------------------------------------------------


def test_two_tracks_with_one_node_never_share_its_plugin(rng):
    delay = PluginNode("Delay", delay_seconds=0.05, feedback=0.7, mix=0.5)  # long memory: sharing would show
    a, b = programme(rng, 2, FS), (0.5 * programme(rng, 2, FS)).astype(np.float32)
    graph = Graph(
        tracks={
            "a": Track(clips=(Clip(source=ArraySource(a, FS, name="a")),), chain=(delay,), output="bus_a"),
            "b": Track(clips=(Clip(source=ArraySource(b, FS, name="b")),), chain=(delay,), output="bus_b"),
        },
        buses={"bus_a": Bus(), "bus_b": Bus(), "master": Bus(output=None)},
    )
    for threads in (1, 2):
        result = _render(graph, block_size=1000, threads=threads)
        np.testing.assert_array_equal(result.stems["bus_a"], pb.Delay(0.05, 0.7, 0.5)(a, FS))
        np.testing.assert_array_equal(result.stems["bus_b"], pb.Delay(0.05, 0.7, 0.5)(b, FS))


def test_interleaved_streams_of_one_node_are_independent(rng):
    node = PluginNode("Phaser", rate_hz=1.5, feedback=0.5)
    a, b = programme(rng, 2, 10000), programme(rng, 1, 10000)
    sa, sb = node.init_state(2, FS), node.init_state(1, FS)
    ya, yb = [], []
    for i in range(0, 10000, 700):
        y, sa = node.process(a[:, i : i + 700], FS, sa)
        ya.append(y)
        y, sb = node.process(b[:, i : i + 700], FS, sb)
        yb.append(y)
    np.testing.assert_array_equal(np.concatenate(ya, axis=1), node(a, FS))
    np.testing.assert_array_equal(np.concatenate(yb, axis=1), node(b, FS))
    assert sa.plugin is not sb.plugin
    with pytest.raises(SonicmixError, match="cannot be copied"):
        copy.deepcopy(sa)


# -- automation ------------------------------------------------------------------------------------


def _one_track(x, node, automation=None):
    return Graph(
        tracks={"t": Track(clips=(Clip(source=ArraySource(x, FS, name="x")),), chain=(node,),
                           automation=automation or {})},
        buses={"master": Bus(output=None)},
    )  # fmt: skip


def test_a_plugin_parameter_follows_automation_at_the_control_block(rng):
    """pedalboard's Gain is x * 10 ** (gain_db / 20) with no ramp: a step from -6 to -12 dB at a
    control-grid boundary T is exactly there in the render, whole and streamed."""
    x = programme(rng, 2, FS)
    step = 40 * CONTROL_SAMPLES
    steps = Automation(((0.0, -6.0), (step / FS, -12.0, "step")))
    graph = _one_track(x, PluginNode("Gain", gain_db=-6.0), {"chain[0].gain_db": steps})
    expected = np.concatenate([x[:, :step] * 10 ** (-6 / 20), x[:, step:] * 10 ** (-12 / 20)], axis=1)
    whole = _render(graph).master
    np.testing.assert_allclose(whole, expected, rtol=5e-7, atol=0)  # float32 gain and product roundings
    for block_size in (1000, 4097, 333):
        np.testing.assert_array_equal(_render(graph, block_size=block_size).master, whole)


def test_automating_a_chorus_rate(rng):
    x = programme(rng, 2, FS)
    chorus = PluginNode("Chorus", rate_hz=1.0, depth=0.8, mix=1.0)
    static = _render(_one_track(x, chorus)).master
    constant = _render(_one_track(x, chorus, {"chain[0].rate_hz": Automation(((0.0, 1.0),))}))
    np.testing.assert_array_equal(constant.master, static)  # retuning to the same value changes nothing
    step = 20 * CONTROL_SAMPLES
    ramp = {"chain[0].rate_hz": Automation(((0.0, 1.0), (step / FS, 1.0), (0.9, 8.0)))}
    moved = _render(_one_track(x, chorus, ramp)).master
    np.testing.assert_array_equal(
        moved[:, : step + 1], static[:, : step + 1]
    )  # the same until the ramp starts
    assert np.max(np.abs(moved[:, step + CONTROL_SAMPLES :] - static[:, step + CONTROL_SAMPLES :])) > 0.01
    np.testing.assert_array_equal(_render(_one_track(x, chorus, ramp), block_size=777).master, moved)


def test_automation_errors_name_the_plugin_parameter():
    chorus, limiter = PluginNode("Chorus"), PluginNode("BrickwallLimiter")
    ladder = PluginNode("LadderFilter")
    cases = [
        (chorus, "rate", r"PluginNode has no parameter 'rate' \(did you mean 'rate_hz'\?\)"),
        (limiter, "lookahead_ms", r"PluginNode\.lookahead_ms cannot be automated while streaming "
         r"\(it sets the plugin's latency.*expected one of \['ceiling_db', 'release_ms'\]"),
        (ladder, "mode", r"PluginNode\.mode cannot be automated while streaming \(a choice, not a number\)"),
    ]  # fmt: skip
    for node, name, message in cases:
        with pytest.raises(GraphError, match=message):
            Track(chain=(node,), automation={f"chain[0].{name}": Automation(((0.0, 1.0),))})
    with pytest.raises(GraphError, match=r"reaches 200: plugin='Chorus': rate_hz=200\.0 is out of range"):
        Track(chain=(chorus,), automation={"chain[0].rate_hz": Automation(((0.0, 1.0), (1.0, 200.0)))})
    assert chorus.automatable == frozenset(chorus.parameters)
    assert limiter.automatable | set(limiter.automation_refusals) == set(limiter.parameter_names)


# -- sessions --------------------------------------------------------------------------------------


def test_session_round_trip_renders_the_same(tmp_path, rng):
    x = programme(rng, 2, FS)
    sf.write(tmp_path / "dx.wav", x.T, FS, subtype="FLOAT")
    chain = (
        PluginNode(pb.Chorus(rate_hz=0.7, mix=0.4)),
        PluginNode("LadderFilter", mode="HPF24", cutoff_hz=120.0),
        PluginNode("BrickwallLimiter", ceiling_db=-3.0, true_peak=True),
        PluginNode("Reverb", wet_level=0.33, block_samples=256),
    )
    graph = Graph(
        tracks={"dx": Track(clips=(Clip(source=FileSource(str(tmp_path / "dx.wav"))),), chain=chain,
                            automation={"chain[0].rate_hz": Automation(((0.0, 0.7), (0.8, 3.0)))})},
        buses={"master": Bus(output=None)},
    )  # fmt: skip
    save_session(Session(graph=graph), tmp_path / "mix.toml")
    text = (tmp_path / "mix.toml").read_text()
    assert '{type = "PluginNode", plugin = "Chorus", parameters = {centre_delay_ms = 7.0' in text
    assert 'mode = "HPF24"' in text and "true_peak = true" in text and "wet_level = 0.33," in text
    loaded = load_session(tmp_path / "mix.toml")
    assert loaded.graph == graph
    np.testing.assert_array_equal(_render(loaded.graph).master, _render(graph).master)
    assert dumps_session(loaded, folder=tmp_path) == text  # a second save is the same file


def test_session_plugin_errors_name_file_table_and_key(tmp_path):
    (tmp_path / "not-a-plugin.vst3").write_text("plain text")
    cases = {
        '{type = "PluginNode", plugin = "Chorus", parameters = {rate = 2.0}}':
            r"mix\.toml: tracks\.t\.chain\[0\] \(PluginNode\): plugin='Chorus' has no parameter 'rate' "
            r"\(did you mean 'rate_hz'\?\)",
        '{type = "PluginNode", plugin = "Chrous"}': r"tracks\.t\.chain\[0\].*\(did you mean 'Chorus'\?\)",
        '{type = "PluginNode", path = "not-a-plugin.vst3"}':
            r"tracks\.t\.chain\[0\] \(PluginNode\): path='.*not-a-plugin\.vst3' cannot be loaded as a plugin",
        '{type = "PluginNode", path = "missing.vst3"}': r"path='.*missing\.vst3': no such file or folder",
        '{type = "PluginNode", plugin = "Chorus", parameters = {rate_hz = "fast"}}':
            r"rate_hz='fast'; expected a number",
    }  # fmt: skip
    for node, message in cases.items():
        path = tmp_path / "mix.toml"
        path.write_text(f"[tracks.t]\nchain = [{node}]\n[buses.master]\n")
        with pytest.raises(SessionError, match=message):
            load_session(path)


def test_a_bad_plugin_in_a_session_writes_nothing(tmp_path, capsys):
    from sonicmix.cli import main

    sf.write(tmp_path / "dx.wav", np.zeros((FS, 2), np.float32), FS, subtype="FLOAT")
    sf.write(tmp_path / "fx.wav", np.zeros((FS, 2), np.float32), FS, subtype="FLOAT")
    path = tmp_path / "mix.toml"
    path.write_text(
        '[session]\ntarget = "ebu-r128"\n[tracks.t]\nchain = [{type = "PluginNode", path = "fx.wav"}]\n'
        '[[tracks.t.clips]]\nfile = "dx.wav"\n[buses.master]\n'
    )
    out = tmp_path / "delivery"
    assert main(["render", str(path), "-o", str(out)]) == 2
    assert "fx.wav' cannot be loaded as a plugin" in capsys.readouterr().err
    assert not out.exists()


# -- bad input -----------------------------------------------------------------------------------


def test_paths_that_are_not_plugins(tmp_path):
    wav = tmp_path / "voice.wav"
    sf.write(wav, np.zeros((100, 1), np.float32), FS)
    (tmp_path / "Folder.vst3").mkdir()
    for path in (wav, tmp_path / "Folder.vst3", tmp_path):
        with pytest.raises(
            ParameterError, match=rf"path='{re.escape(str(path))}' cannot be loaded as a plugin \(.*VST3"
        ):
            PluginNode(path=path)
    with pytest.raises(ParameterError, match=r"path='.*Gone\.vst3': no such file or folder"):
        PluginNode(str(tmp_path / "Gone.vst3"))  # a file name given as plugin is taken as the path


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("Chrous",), {}, r"plugin='Chrous' is not a pedalboard built-in \(did you mean 'Chorus'\?\)"),
        (
            ("Chorus",),
            {"rate": 2.0},
            r"plugin='Chorus' has no parameter 'rate' \(did you mean 'rate_hz'\?\); "
            r"its parameters are \['centre_delay_ms', 'depth', 'feedback', 'mix', 'rate_hz'\]",
        ),
        (("Chorus",), {"parameters": {"deph": 0.2}}, r"no parameter 'deph' \(did you mean 'depth'\?\)"),
        (
            ("Chorus",),
            {"rate_hz": -1.0},
            r"plugin='Chorus': rate_hz=-1\.0 is out of range: Rate must be between",
        ),
        (("Chorus",), {"rate_hz": float("nan")}, r"rate_hz=nan is not finite"),
        (("Chorus",), {"mix": True}, r"mix=True; expected a number"),
        (("BrickwallLimiter",), {"true_peak": 1}, r"true_peak=1; expected True or False"),
        (
            ("LadderFilter",),
            {"mode": "LPF25"},
            r"mode='LPF25' is not one of its values \(did you mean 'LPF24'\?\)",
        ),
        (
            ("Convolution",),
            {},
            r"plugin='Convolution' needs parameters=\{'impulse_response_filename': \.\.\.\}",
        ),
        (("Chorus",), {"block_samples": 16}, r"block_samples=16; expected a whole number of samples >= 32"),
        (("Chorus",), {"raw_state": b"x"}, r"raw_state= is given for the built-in 'Chorus'"),
        (("Chorus",), {"path": "x.vst3"}, r"plugin='Chorus' and path='x\.vst3' are both given"),
        ((), {}, r"no plugin given; expected a pedalboard built-in"),
        ((3,), {}, r"plugin=3 is not a pedalboard built-in"),
    ],
)
def test_bad_parameters_are_named(args, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        PluginNode(*args, **kwargs)


def test_containers_are_refused():
    with pytest.raises(ParameterError, match=r"holds several plugins; expected one plugin"):
        PluginNode(pb.Pedalboard([pb.Gain(), pb.Chorus()]))


def test_too_many_channels_for_the_block_size():
    with pytest.raises(ParameterError, match=r"block_samples=32 cannot take 40 channels"):
        PluginNode("Gain", block_samples=32).init_state(40, FS)


def test_a_plugin_that_holds_back_more_than_measured_stops_the_stream():
    node = PluginNode("BrickwallLimiter")
    state = node.init_state(2, FS)

    class Silent:  # a stand-in that never returns a sample (pedalboard's plugins cannot be made to)
        def process(self, x, sample_rate, buffer_size, reset):
            return np.zeros((x.shape[0], 0), np.float32)

    state.plugin = Silent()
    with pytest.raises(SonicmixError, match=r"held back at least .* more than the 240 it held back"):
        for _ in range(10):
            _, state = node.process(np.zeros((2, 512), np.float32), FS, state)


# -- a value like every node --------------------------------------------------------------------


def test_nodes_are_values_taken_from_pedalboard_objects():
    node = PluginNode(pb.Reverb(wet_level=0.33, room_size=0.9))
    assert node.parameters["wet_level"] == 0.33  # not 0.33000001311302185, the float32 read back
    assert node == PluginNode("Reverb", wet_level=0.33, room_size=0.9)
    assert node == PluginNode("Reverb", parameters={"wet_level": 0.33}, room_size=0.9)
    assert node != PluginNode("Reverb", wet_level=0.34, room_size=0.9)
    assert hash(node) == hash(PluginNode("Reverb", wet_level=0.33, room_size=0.9))
    assert eval(repr(node), {"PluginNode": PluginNode}) == node  # noqa: S307 - our own repr
    assert pickle.loads(pickle.dumps(node)) == node
    assert dataclasses.replace(node, room_size=0.1).parameters["room_size"] == 0.1
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.plugin = "Chorus"  # type: ignore[misc]
    with pytest.raises(TypeError):
        node.parameters["wet_level"] = 1.0  # type: ignore[index]
    assert set(BUILTIN_PLUGINS) == set(ANY_BLOCKS) | set(FIXED_BLOCKS)
    assert sonicmix.PluginNode is PluginNode


def test_float64_audio_is_processed_in_float32_and_returned_as_float64(rng):
    node = PluginNode("Compressor", threshold_db=-24.0, ratio=3.0)
    x = programme(rng, 2, 9000, np.float64)
    y = node(x, FS)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, node(x.astype(np.float32), FS).astype(np.float64))


def test_sonicmix_imports_without_pedalboard():
    code = (
        "import sys; sys.modules['pedalboard'] = None\n"
        "import sonicmix\n"
        "from sonicmix.plain import registry\n"
        "assert registry()['PluginNode'] is sonicmix.PluginNode\n"
        "try:\n"
        "    sonicmix.PluginNode('Chorus')\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == (
        "PluginNode needs pedalboard, which is not installed; "
        "install it with: pip install 'sonicmix[plugins]'"
    )


# -- plugin files, through a stand-in for pedalboard.load_plugin ----------------------------------


class _Parameter:
    def __init__(self, kind, valid=()):
        self.type = kind
        self.valid_values = list(valid)


class _FakeFilePlugin:
    """What ``pedalboard.load_plugin`` returns, as far as PluginNode uses it: ``parameters``, attribute
    access to them, ``raw_state``, ``reset()``, and ``process(..., reset=False)`` handing back the
    plugin's output with its reported latency held back at the start once it has been reset, as
    pedalboard 0.9.26 does (a fresh instance holds nothing back: tests/nodes/test_plugin_file.py shows
    it on a real VST3). The plugin is a gain; it records the order in which its state and parameters
    were set."""

    LATENCY = 100

    def __init__(self, path, plugin_name=None):
        self.__dict__.update(
            log=[], path=path, plugin_name=plugin_name, gain_db=0.0, type="bell", bypass=False
        )
        self.__dict__.update(_raw=b"", _history=[], _returned=0, _holding=0)

    parameters = property(
        lambda self: {
            "gain_db": _Parameter(float),
            "type": _Parameter(str, ("bell", "shelf")),
            "bypass": _Parameter(bool),
        }
    )

    def __setattr__(self, name, value):
        self.log.append((name, value))
        self.__dict__[name] = value

    @property
    def raw_state(self):
        return self._raw

    @raw_state.setter
    def raw_state(self, value):
        self.log.append(("raw_state", value))
        self.__dict__["_raw"] = value

    @property
    def reported_latency_samples(self):
        return self.LATENCY if self.gain_db < 20.0 else 2 * self.LATENCY  # as if it switched to oversampling

    def reset(self):
        self.__dict__.update(_history=[], _returned=0, _holding=self.reported_latency_samples)

    def process(self, x, sample_rate, buffer_size=8192, reset=True):
        if reset:  # a one-shot call (PluginNode's probe of the channel count)
            return x * np.float32(10 ** (self.gain_db / 20))
        assert x.dtype == np.float32 and x.shape[1] == buffer_size * (x.shape[1] // buffer_size)
        self._history.append(x * np.float32(10 ** (self.gain_db / 20)))
        done = np.concatenate(self._history, axis=1)
        ready = max(0, done.shape[1] - self._holding)
        out = done[:, self._returned : ready]
        self.__dict__["_returned"] = ready
        return out


@pytest.fixture
def fake_plugin(tmp_path, monkeypatch):
    path = tmp_path / "plugins" / "Fake EQ.vst3"
    path.mkdir(parents=True)
    made = []

    def load_plugin(path_to_plugin_file, plugin_name=None, **_):
        made.append(_FakeFilePlugin(path_to_plugin_file, plugin_name))
        return made[-1]

    monkeypatch.setattr(pb, "load_plugin", load_plugin)
    monkeypatch.setattr(plugin_module, "_EXTERNAL", {})
    return path, made


def test_file_plugin_state_then_parameters_and_its_latency(fake_plugin, rng):
    path, made = fake_plugin
    node = PluginNode(str(path), gain_db=-6.0, raw_state=b"\x00preset\xff")
    assert node.path == str(path) and node.plugin is None and node.raw_state == "AHByZXNldP8="
    assert node.parameters == {"gain_db": -6.0}  # only the values given: the state holds the rest
    assert node.automatable == {"gain_db"}
    assert node.automation_refusals == {"type": "a choice, not a number", "bypass": "a switch, not a number"}
    with pytest.raises(ParameterError, match=r"has no parameter 'gain' \(did you mean 'gain_db'\?\)"):
        PluginNode(path=path, gain=1.0)
    with pytest.raises(ParameterError, match=r"type='peak' is not one of its values"):
        PluginNode(path=path, parameters={"type": "peak"})
    assert node.latency_samples(FS) == 511 + _FakeFilePlugin.LATENCY
    x = programme(rng, 2, 5000)
    y = node(x, FS)
    stream = made[-1]
    assert stream.log[:2] == [("raw_state", b"\x00preset\xff"), ("gain_db", -6.0)]  # state, then values
    late = 511 + _FakeFilePlugin.LATENCY
    np.testing.assert_array_equal(y[:, late:], x[:, :-late] * np.float32(10 ** (-6 / 20)))
    assert not np.any(y[:, :late])
    np.testing.assert_array_equal(run_streamed(node, x, FS, (1, 700, 63)), y)


def test_file_plugin_session_round_trip_keeps_a_relative_path_and_a_type_parameter(fake_plugin, tmp_path):
    path, _ = fake_plugin
    node = PluginNode(path=path, plugin_name="Fake EQ", parameters={"type": "shelf"}, gain_db=3.0,
                      raw_state=b"state")  # fmt: skip
    graph = Graph(tracks={"t": Track(chain=(node,))}, buses={"master": Bus(output=None)})
    text = dumps_session(Session(graph=graph), folder=tmp_path)
    assert ('{type = "PluginNode", path = "plugins/Fake EQ.vst3", plugin_name = "Fake EQ", '
            'parameters = {type = "shelf", gain_db = 3.0}, raw_state = "c3RhdGU="}') in text  # fmt: skip
    loaded = loads_session(text, folder=tmp_path)
    assert loaded.graph.tracks["t"].chain == (node,)


def test_file_plugin_whose_latency_moves_with_automation_stops_the_render(fake_plugin, rng):
    path, _ = fake_plugin
    node = PluginNode(path=path, gain_db=0.0)
    x = programme(rng, 2, FS // 2)
    track = Track(
        clips=(Clip(source=ArraySource(x, FS, name="x")),),
        chain=(node,),
        automation={"chain[0].gain_db": Automation(((0.0, 0.0), (0.25, 24.0, "step")))},
    )
    graph = Graph(tracks={"t": track}, buses={"master": Bus(output=None)})
    with pytest.raises(SonicmixError, match=r"gain_db=24\.0 changed the plugin's latency from 100 to 200"):
        _render(graph)
    quieter = dataclasses.replace(
        track, automation={"chain[0].gain_db": Automation(((0.0, 0.0), (0.25, -6.0)))}
    )
    _render(dataclasses.replace(graph, tracks={"t": quieter}))  # latency unmoved: fine

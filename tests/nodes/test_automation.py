"""Automation of node parameters in a graph: every parameter a node lists in ``automatable``.

For each one, three properties (the issue's acceptance tests):

(a) automating it to a constant equal to the static value gives the samples of the
    static node, bit-exact (the renderer retunes every control block, and a retune
    to the same parameters must change nothing), except for the convolution reverb,
    whose FFT rounding depends on where a stream is split;
(b) a step from ``old`` to ``new`` at a control-grid boundary ``T`` gives exactly
    the oracle built by hand: the static node with ``old`` up to ``T``, then
    ``replace(node, param=new)`` and its ``retune`` on the carried state. Output
    before ``T`` is therefore the static old node's. Because that oracle shares the
    retune under test, the render must also *settle* onto an independent one, the
    static node built with ``new`` from the start, once the node's memory of the
    old value has died away (``settle_s``; the static old and new outputs are
    checked to differ there, so the comparison can fail);
(c) rendering with automation whole equals rendering block-wise, for a few block
    sizes.

Signals are generated in code (seeded); renders are float32 at 48 kHz.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sonicmix.automation import Automation
from sonicmix.errors import GraphError
from sonicmix.graph import Bus, Graph, Send, Track
from sonicmix.nodes.ambisonics import (
    AmbisonicDecoder,
    AmbisonicEncoder,
    AmbisonicParametricDecoder,
    AmbisonicRotator,
)
from sonicmix.nodes.base import Node
from sonicmix.nodes.delay import Delay
from sonicmix.nodes.denoise import Denoise
from sonicmix.nodes.ducking import Ducker
from sonicmix.nodes.dynamics import Compressor, DeEsser, Gate, KeyedCompressor
from sonicmix.nodes.eq import ParametricEQ
from sonicmix.nodes.fade import Fade
from sonicmix.nodes.leveler import Leveler
from sonicmix.nodes.limiter import Limiter
from sonicmix.nodes.objectpanner import ObjectPanner
from sonicmix.nodes.pan import Pan, Width
from sonicmix.nodes.reverb import ConvolutionReverb, Reverb
from sonicmix.nodes.saturation import Saturation
from sonicmix.nodes.utility import DCBlocker, Polarity
from sonicmix.renderer import CONTROL_SAMPLES, render
from sonicmix.timeline import ArraySource, Clip
from tests.nodes.node_checks import programme

FS = 48000
N = 36000  # 0.75 s
STEP = 40 * CONTROL_SAMPLES  # 10240 samples, 0.213 s: a control-grid boundary
#: Float32 renders of the same arithmetic split differently agree to a few rounding steps of
#: full scale (scipy's sosfilt and the kernels run the same recursion whatever the split).
SPLIT_ATOL = 2e-6


@dataclass(frozen=True)
class Case:
    node: Node  # built with the old value
    param: str
    new: float
    settle_s: float  # time after the step by which the new static node's output is matched
    settle_tol: float = 1e-4  # largest difference there, relative to the output's peak
    split_exact: bool = True  # False: the node's float rounding depends on how a stream is split

    @property
    def id(self) -> str:
        return f"{type(self.node).__name__}.{self.param}"

    @property
    def old(self) -> float:
        return float(getattr(self.node, self.param))


_IR = np.random.default_rng(3).standard_normal((1, 2000)) * np.exp(-np.arange(2000) / 300.0) * 0.1

CASES = [
    # dynamics: the smoother forgets its start at exp(-t / release_s)
    Case(Compressor(threshold_db=-30.0, release_s=0.02), "threshold_db", -12.0, 0.2),
    Case(Compressor(threshold_db=-30.0, release_s=0.02), "ratio", 1.5, 0.2),
    Case(Compressor(threshold_db=-24.0, knee_db=0.0, release_s=0.02), "knee_db", 24.0, 0.2),
    Case(Compressor(threshold_db=-30.0, attack_s=0.0, release_s=0.02), "attack_s", 0.02, 0.2),
    Case(Compressor(threshold_db=-30.0, release_s=0.01), "release_s", 0.02, 0.2),
    Case(Compressor(threshold_db=-30.0, release_s=0.02), "makeup_db", 6.0, 0.2),
    Case(Compressor(threshold_db=-30.0, release_s=0.02, stereo_link=1.0), "stereo_link", 0.0, 0.2),
    Case(Compressor(threshold_db=-30.0, release_s=0.02, stereo_link=0.0), "stereo_link", 1.0, 0.2),
    Case(Compressor(threshold_db=-30.0, release_s=0.02), "key_highpass_hz", 2000.0, 0.2),
    Case(Compressor(threshold_db=-30.0, release_s=0.02, key_highpass_hz=200.0), "key_highpass_hz", 3e3, 0.2),
    Case(KeyedCompressor(threshold_db=-30.0, release_s=0.02), "threshold_db", -10.0, 0.2),
    Case(Gate(threshold_db=-8.0, release_s=0.01, hold_s=0.005), "threshold_db", -14.0, 0.2),
    Case(Gate(threshold_db=-8.0, release_s=0.01, hold_s=0.005), "ratio", 2.0, 0.2),
    Case(Gate(threshold_db=-8.0, release_s=0.01, hold_s=0.005), "range_db", 12.0, 0.2),
    Case(Gate(threshold_db=-8.0, release_s=0.01, hold_s=0.005), "attack_s", 0.02, 0.2),
    Case(Gate(threshold_db=-8.0, release_s=0.01, hold_s=0.05), "hold_s", 0.0, 0.2),
    Case(Gate(threshold_db=-8.0, release_s=0.01, hold_s=0.005), "release_s", 0.03, 0.25),
    Case(Gate(threshold_db=-8.0, release_s=0.01, hold_s=0.005, stereo_link=1.0), "stereo_link", 0.0, 0.2),
    Case(DeEsser(threshold_db=-50.0, range_db=24.0, release_s=0.02), "freq_hz", 3000.0, 0.2),
    Case(DeEsser(threshold_db=-50.0, range_db=24.0, release_s=0.02), "q", 4.0, 0.2),
    Case(DeEsser(threshold_db=-50.0, range_db=24.0, release_s=0.02), "threshold_db", -20.0, 0.2),
    Case(DeEsser(threshold_db=-50.0, range_db=24.0, release_s=0.02), "ratio", 1.5, 0.2),
    Case(DeEsser(threshold_db=-50.0, range_db=24.0, release_s=0.02), "range_db", 3.0, 0.2),
    Case(DeEsser(threshold_db=-50.0, range_db=24.0, release_s=0.02, attack_s=0.0), "attack_s", 0.01, 0.2),
    Case(DeEsser(threshold_db=-50.0, range_db=24.0, release_s=0.01), "release_s", 0.03, 0.25, 1e-5),
    Case(DeEsser(threshold_db=-50.0, range_db=24.0, release_s=0.02, stereo_link=1.0), "stereo_link", 0, 0.2),
    # delay: the old echoes die away as feedback ** k
    Case(Delay(time_s=0.01, feedback=0.3), "time_s", 0.017, 0.15),
    Case(Delay(time_s=0.01, feedback=0.3), "time_s", 0.004, 0.15),
    Case(Delay(time_s=0.01, feedback=0.3), "feedback", 0.1, 0.15),
    Case(Delay(time_s=0.01, feedback=0.0, feedback_lowpass_hz=2000.0), "feedback", 0.3, 0.15),
    Case(Delay(time_s=0.01, feedback=0.3), "mix", 0.9, 0.15),
    Case(Delay(time_s=0.01, feedback=0.3, feedback_lowpass_hz=8000.0), "feedback_lowpass_hz", 1000.0, 0.15),
    Case(Delay(time_s=0.01, feedback=0.3, feedback_highpass_hz=100.0), "feedback_highpass_hz", 2000.0, 0.15),
    # reverbs: output gains change at once; a new network design settles as the old tail decays
    Case(ConvolutionReverb(impulse_response=_IR, mix=0.5), "mix", 0.1, 0.0, 1e-5, split_exact=False),
    Case(Reverb(decay_s=0.2, mix=0.5), "mix", 0.9, 0.0, 1e-6),
    Case(Reverb(decay_s=0.2, mix=0.5), "width", 0.2, 0.0, 1e-6),
    Case(Reverb(decay_s=0.2, mix=0.5), "early_db", 0.0, 0.0, 1e-6),
    Case(Reverb(decay_s=0.15, mix=0.5), "decay_s", 0.1, 0.2),
    Case(Reverb(decay_s=0.15, decay_low_s=0.15, mix=0.5), "decay_low_s", 0.1, 0.2),
    Case(Reverb(decay_s=0.15, decay_high_s=0.15, mix=0.5), "decay_high_s", 0.1, 0.2),
    Case(Reverb(decay_s=0.15, decay_low_s=0.3, mix=0.5), "crossover_low_hz", 1000.0, 0.4),
    Case(Reverb(decay_s=0.15, decay_high_s=0.3, mix=0.5), "crossover_high_hz", 8000.0, 0.3),
    Case(Reverb(decay_s=0.15, mix=0.5), "damping_hz", 1000.0, 0.25),
    Case(Reverb(decay_s=0.15, mix=0.5), "diffusion", 0.3, 0.25),
    # memoryless gains and a stateless waveshaper: the new value holds at once
    Case(Pan(position=-0.5), "position", 0.7, 0.0, 1e-6),
    Case(Width(width=1.0), "width", 0.3, 0.0, 1e-6),
    Case(Saturation(drive_db=0.0, oversampling=1), "drive_db", 18.0, 0.0, 1e-6),
    Case(Saturation(drive_db=12.0, oversampling=1, mix=1.0), "mix", 0.3, 0.0, 1e-6),
    # with oversampling the filters' memory holds the old shaping for 26 samples
    Case(Saturation(drive_db=0.0, oversampling=4), "drive_db", 18.0, 0.002),
    Case(DCBlocker(cutoff_hz=5.0), "cutoff_hz", 200.0, 0.05),
    # the limiter: the old plan leaves within the lookahead and the release
    Case(Limiter(ceiling_dbtp=-1.0, release_s=0.005), "ceiling_dbtp", -9.0, 0.05),
    Case(Limiter(ceiling_dbtp=-9.0, release_s=0.005), "ceiling_dbtp", -3.0, 0.08),
    Case(Limiter(ceiling_dbtp=-9.0, release_s=0.005), "release_s", 0.02, 0.3),
    # an object panned inside the stereo track: its gains glide to the new ones over ramp_s (5 ms)
    Case(ObjectPanner(layout="stereo", azimuth_deg=20.0), "azimuth_deg", -10.0, 0.006, 1e-6),
    Case(ObjectPanner(layout="stereo", spread_deg=0.0), "spread_deg", 120.0, 0.006, 1e-6),
    Case(ObjectPanner(layout="stereo", stereo_width_deg=60.0), "stereo_width_deg", 0.0, 0.006, 1e-6),
]

_DUCK = dict(attack_s=0.01, release_s=0.02, hold_s=0.01, lookahead_s=0.02, min_speech_s=0.01)
DUCKER_CASES = [
    Case(Ducker(**_DUCK), "depth_db", 3.0, 0.05),
    Case(Ducker(**_DUCK), "attack_s", 0.2, 0.2),
    Case(Ducker(**_DUCK), "release_s", 0.005, 0.1),
    Case(Ducker(**_DUCK), "hold_s", 0.1, 0.15),
    Case(Ducker(**_DUCK, threshold_db=-60.0), "threshold_db", -10.0, 0.1),
    Case(Ducker(**_DUCK, threshold_db=-30.0), "min_speech_s", 0.05, 0.1),
    Case(Ducker(**_DUCK, threshold_db=-30.0), "key_highpass_hz", 1000.0, 0.1),
    Case(Ducker(**_DUCK, threshold_db=-30.0), "key_lowpass_hz", 600.0, 0.1),
    Case(Ducker(**_DUCK, mode="band"), "band_low_hz", 1000.0, 0.1),
    Case(Ducker(**_DUCK, mode="band"), "band_high_hz", 12000.0, 0.1),
    Case(Ducker(**_DUCK, depth_db=24.0, below_lu=0.0), "below_lu", 10.0, 0.1),
]
ALL = CASES + DUCKER_CASES


def _signals() -> tuple[np.ndarray, np.ndarray]:
    """A stereo programme (bursts, a sweep, silence) and a mono key that talks in bursts."""
    rng = np.random.default_rng(20261127)
    x = programme(rng, 2, N)
    t = np.arange(N) / FS
    talking = ((t % 0.12) < 0.07) & (t > 0.03)
    key = 0.3 * np.sin(2 * np.pi * 440.0 * t) * talking + 0.003 * rng.standard_normal(N)
    return x, key[np.newaxis].astype(np.float32)


X, KEY = _signals()


def _graph(node: Node, automation: dict[str, Automation] | None = None) -> Graph:
    tracks = {"t": Track(clips=(Clip(source=ArraySource(X, FS, name="x")),), chain=(node,),
                         automation=automation or {}, key="dx" if node.takes_key else None)}  # fmt: skip
    if node.takes_key:
        key = Clip(source=ArraySource(KEY, FS, name="key"))
        tracks["dx"] = Track(clips=(key,), layout="mono", output=None)
    return Graph(tracks=tracks, buses={"master": Bus(output=None)})


def _render(graph: Graph, block_size: int | None = None) -> np.ndarray:
    # the programme only (no automatic tail): compared sample by sample with the node called directly
    return render(graph, sample_rate=FS, block_size=block_size, tail_s=0.0).master


def _direct(node: Node, new: Node | None = None, at: int = STEP) -> np.ndarray:
    """The node run on the arrays (delayed by its latency, as a render removes it); switched to
    ``new`` with ``new.retune`` at input sample ``at`` if given."""
    latency = node.latency_samples(FS)
    x = np.pad(X, ((0, 0), (0, latency)))
    key = np.pad(KEY, ((0, 0), (0, latency))) if node.takes_key else None
    state = node.init_state(2, FS, np.float32)
    split = at if new is not None else x.shape[1]
    a, state = node.process(x[:, :split], FS, state, key=None if key is None else key[:, :split])
    pieces = [a]
    if new is not None:
        state = new.retune(state, FS)
        b, state = new.process(x[:, split:], FS, state, key=None if key is None else key[:, split:])
        pieces.append(b)
    return np.concatenate(pieces, axis=1)[:, latency:]


def _step(case: Case) -> Automation:
    return Automation(((0.0, case.old), (STEP / FS, case.new, "step")))


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.id)
def test_a_constant_automation_gives_the_static_node(case):
    static = _render(_graph(case.node))
    np.testing.assert_allclose(static, _direct(case.node), rtol=0, atol=SPLIT_ATOL)
    constant = Automation(((0.0, case.old),))
    automated = _render(_graph(case.node, {f"chain[0].{case.param}": constant}))
    if case.split_exact:
        np.testing.assert_array_equal(automated, static)
    else:  # the FFT convolution's partial blocks follow the 256-sample control blocks
        np.testing.assert_allclose(automated, static, rtol=0, atol=SPLIT_ATOL)


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.id)
def test_a_step_follows_the_retune_oracle_and_settles_on_the_new_static_node(case):
    new = dataclasses.replace(case.node, **{case.param: case.new})
    out = _render(_graph(case.node, {f"chain[0].{case.param}": _step(case)}))
    oracle = _direct(case.node, new)
    np.testing.assert_allclose(out, oracle, rtol=0, atol=SPLIT_ATOL)
    latency = case.node.latency_samples(FS)
    before = STEP - latency  # output samples that carry input from before the step
    np.testing.assert_allclose(out[:, :before], _direct(case.node)[:, :before], rtol=0, atol=SPLIT_ATOL)

    settled = slice(STEP - latency + round(case.settle_s * FS), N)
    old_static, new_static = _direct(case.node)[:, settled], _direct(new)[:, settled]
    peak = np.abs(new_static).max()
    assert np.abs(old_static - new_static).max() > 30 * case.settle_tol * peak, "old and new look alike"
    np.testing.assert_allclose(out[:, settled], new_static, rtol=0, atol=case.settle_tol * peak)


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.id)
def test_a_render_with_automation_is_the_same_whole_and_block_wise(case):
    # steps, and a ramp over 19 control blocks (each new value of a reverb's decay costs a
    # simulation of its network, so the ramp is short)
    old, new = case.old, case.new
    envelope = Automation(((0.05, old), (0.2, new, "step"), (0.35, old, "step"), (0.45, new)))
    graph = _graph(case.node, {f"chain[0].{case.param}": envelope})
    whole = _render(graph)
    for block_size in (255, 4097):  # 255: every block straddles a control-grid boundary
        blocks = _render(graph, block_size)
        if case.split_exact:
            np.testing.assert_array_equal(blocks, whole)
        else:  # the FFT convolution's rounding depends on the split
            np.testing.assert_allclose(blocks, whole, rtol=0, atol=SPLIT_ATOL)


@pytest.mark.parametrize(
    ("node", "param", "value"),
    [
        (Ducker(**_DUCK), "threshold_db", -10.0),  # automatic threshold -> fixed
        (Ducker(**_DUCK), "below_lu", 6.0),  # fixed depth -> loudness-aware (K-weighting, 3 s windows)
        (Delay(time_s=0.01, feedback=0.3), "feedback_lowpass_hz", 3000.0),  # no filter -> a filter
        (Reverb(decay_s=0.2), "decay_low_s", 0.4),  # "as decay_s" -> its own decay
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_automating_an_optional_parameter_from_none_starts_as_the_static_node(node, param, value):
    # Automation has numbers only, so a static None is replaced at the first control block,
    # before any audio: the render is the static node built with the number.
    automated = _render(_graph(node, {f"chain[0].{param}": Automation(((0.0, value),))}))
    np.testing.assert_array_equal(automated, _render(_graph(dataclasses.replace(node, **{param: value}))))


def test_a_limiter_ceiling_stepped_down_holds_from_the_step_on():
    from numpy.lib.stride_tricks import sliding_window_view

    from sonicmix.dsp import lookahead

    hot = 4.0 * X  # peaks around +10 dBFS: limited all the time
    limiter = Limiter(ceiling_dbtp=-1.0)
    step = Automation(((0.0, -1.0), (STEP / FS, -12.0, "step")))
    clip = Clip(source=ArraySource(hot, FS))
    track = Track(clips=(clip,), chain=(limiter,), automation={"chain[0].ceiling_dbtp": step})
    graph = Graph(tracks={"t": track}, buses={"master": Bus(output=None)})
    y = _render(graph).astype(np.float64)
    ceiling = 10 ** (-12.0 / 20)
    # samples from the step on (a graph has removed the latency: output sample i is input sample i)
    assert np.abs(y[:, STEP:]).max() <= ceiling
    # and every inter-sample value of both true-peak meters (the rows of BS.1770's and libebur128's
    # interpolators, checked against the meters in test_limiter.py) whose taps all lie after the step
    rows = lookahead.true_peak_rows(FS).rows
    for channel in y:
        values = sliding_window_view(channel[STEP:], rows.shape[1]) @ rows.T
        assert np.abs(values).max() <= ceiling
    # before the step the old ceiling was in force: the test's signal did reach above the new one
    assert np.abs(y[:, : STEP - limiter.latency_samples(FS)]).max() > 2 * ceiling


@pytest.mark.parametrize(("new_samples", "echo_at"), [(80, 80), (120, 120), (30, None)])
def test_a_new_delay_time_jumps_and_keeps_the_latest_samples(new_samples, echo_at):
    # An impulse written at sample 0 into a 100-sample line; at sample 50 the line becomes
    # `new_samples` long. It keeps the last `new_samples` samples written, so the impulse comes
    # back `new_samples` after it was written, or never if it is older than the new line.
    rate = 1000
    x = np.zeros((1, 200))
    x[0, 0] = 1.0
    node = Delay(time_s=0.1, feedback=0.0, mix=1.0)
    state = node.init_state(1, rate, np.float64)
    a, state = node.process(x[:, :50], rate, state)
    new = dataclasses.replace(node, time_s=new_samples / rate)
    b, state = new.process(x[:, 50:], rate, new.retune(state, rate))
    expected = np.zeros(200)
    if echo_at is not None:
        expected[echo_at] = 1.0
    np.testing.assert_array_equal(np.concatenate([a, b], axis=1)[0], expected)


def test_a_reverb_mix_change_replaces_the_output_gains_as_a_full_design_would():
    from sonicmix.dsp import fdn

    node = Reverb(decay_s=0.3, mix=0.5)
    new = dataclasses.replace(node, mix=0.8, width=0.4, early_db=-2.0)
    state = new.retune(node.init_state(2, FS, np.float32), FS)
    designed = fdn.new_state(new._design(2, FS), 2, np.float32)
    for ours, theirs in zip(state.fdn.coefs, designed.coefs, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(state.fdn.work, designed.work)


def test_a_ducker_depth_lowered_to_zero_releases_at_once():
    # While the key talks the ducker is down 12 dB; a depth of 0 caps the reduction at 0 dB at
    # the step (without the cap, a depth of 0 gives gain slopes of 0 and the gain would stay down).
    talking = (0.3 * np.sin(2 * np.pi * 440.0 * np.arange(N) / FS))[np.newaxis].astype(np.float32)
    x = np.full((2, N), 0.1, np.float32)
    node = Ducker(**_DUCK, threshold_db=-30.0)
    tracks = {
        "t": Track(clips=(Clip(source=ArraySource(x, FS)),), chain=(node,), key="dx",
                   automation={"chain[0].depth_db": Automation(((0.0, 12.0), (STEP / FS, 0.0, "step")))}),
        "dx": Track(clips=(Clip(source=ArraySource(talking, FS)),), layout="mono", output=None),
    }  # fmt: skip
    out = _render(Graph(tracks=tracks, buses={"master": Bus(output=None)}))
    latency = node.latency_samples(FS)
    np.testing.assert_allclose(out[:, STEP - latency - 1], 0.1 * 10 ** (-12 / 20), rtol=1e-5)  # ducked
    np.testing.assert_array_equal(out[:, STEP - latency :], x[:, STEP - latency :])  # the gain is 0 dB


#: Every node class in the modules that state automation, with a valid instance.
NODES = [
    Compressor(), KeyedCompressor(), Gate(), DeEsser(), Delay(), ConvolutionReverb(impulse_response=_IR),
    Reverb(), Pan(), Width(), Saturation(), Ducker(), Limiter(), DCBlocker(), Polarity(), Fade(),
    Leveler(), Denoise(), ObjectPanner(), AmbisonicEncoder(), AmbisonicRotator(), AmbisonicDecoder(),
    AmbisonicParametricDecoder(),
]  # fmt: skip


@pytest.mark.parametrize("node", NODES, ids=lambda n: type(n).__name__)
def test_every_parameter_is_automatable_or_says_why_not(node):
    names = {f.name for f in dataclasses.fields(node)}
    automatable = set(type(node).automatable)
    refused = set(type(node).automation_refusals)
    assert automatable | refused == names
    assert not automatable & refused
    for name, reason in type(node).automation_refusals.items():
        said = rf"{type(node).__name__}\.{name} cannot be automated while streaming \({re.escape(reason)}\);"
        with pytest.raises(GraphError, match=said):
            Track(chain=(node,), automation={f"chain[0].{name}": Automation(((0.0, 1.0),))})


DOC = Path(__file__).resolve().parents[2] / "docs" / "automation.md"


def test_the_documented_table_matches_the_nodes():
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| (yes|no)\b", DOC.read_text(), re.M)
    documented = {(node, param): answer == "yes" for node, param, answer in rows}
    expected = {}
    for node in NODES:
        for f in dataclasses.fields(node):
            expected[(type(node).__name__, f.name)] = f.name in type(node).automatable
    missing = {k: v for k, v in expected.items() if documented.get(k) != v}
    assert not missing, f"docs/automation.md disagrees with the nodes on {missing}"


def test_the_documented_examples_run():
    namespace: dict[str, Any] = {}
    for code in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["result"].master.shape[1] > 0
    assert namespace["graph"].tracks["guitar"].automation  # the last example's graph


# --------------------------------------------------------------------------- ParametricEQ bands

_EQ = ParametricEQ(bands=(
    ParametricEQ.Band(kind="high_pass", freq_hz=60.0),
    ParametricEQ.Band(kind="peak", freq_hz=800.0, gain_db=-6.0, q=1.0),
    ParametricEQ.Band(kind="high_shelf", freq_hz=6000.0, gain_db=3.0, enabled=False),
))  # fmt: skip


@pytest.mark.parametrize(
    ("path", "old", "new"), [("bands[1].gain_db", -6.0, 6.0), ("bands[0].freq_hz", 60.0, 400.0)]
)
def test_a_parametric_eq_band_follows_automation_by_its_path(path, old, new):
    target = f"chain[0].{path}"
    static = _render(_graph(_EQ))
    np.testing.assert_array_equal(_render(_graph(_EQ, {target: Automation(((0.0, old),))})), static)
    # a step: the old EQ's samples until the control block before it, the new EQ's once it has settled
    out = _render(_graph(_EQ, {target: Automation(((0.0, old), (STEP / FS, new, "step")))}))
    np.testing.assert_array_equal(out[:, : STEP - CONTROL_SAMPLES], static[:, : STEP - CONTROL_SAMPLES])
    settled = _direct(_EQ.with_parameter(path, new))[:, STEP + FS // 10 :]
    assert np.abs(settled - static[:, STEP + FS // 10 :]).max() > 1e-2  # the change is audible
    np.testing.assert_allclose(out[:, STEP + FS // 10 :], settled, rtol=0, atol=1e-4 * np.abs(settled).max())
    envelope = Automation(((0.05, old), (0.2, new, "step"), (0.35, old, "step"), (0.45, new)))
    graph = _graph(_EQ, {target: envelope})
    np.testing.assert_array_equal(_render(graph, 255), _render(graph))  # 255: straddles every boundary


@pytest.mark.parametrize(
    ("node", "path", "message"),
    [
        (_EQ, "bands[3].gain_db", r"ParametricEQ has no parameter 'bands\[3\]\.gain_db' \(did you mean"),
        (_EQ, "bands[1].gain", r"has no parameter 'bands\[1\]\.gain' \(did you mean 'bands\[1\]\.gain_db'"),
        (_EQ, "bands[0].gain_db", r"bands\[0\]\.gain_db cannot be automated .*'high_pass' band has no gain"),
        (_EQ, "bands[2].q", r"bands\[2\] is disabled \(enabled=False\)"),
        (_EQ, "bands[1].kind", r"ParametricEQ\.bands\[1\]\.kind cannot be automated .*a choice of filter"),
        (_EQ, "bands", r"automate one band's field by its path, e.g. 'bands\[0\]\.gain_db'"),
        (dataclasses.replace(_EQ, phase="linear"), "bands[1].gain_db",
         r"phase='linear' every new value redesigns an FIR .*; ParametricEQ has no automatable parameter"),
    ],
    ids=lambda v: v if isinstance(v, str) and "[" in v else "",
)
def test_a_parametric_eq_band_that_cannot_be_automated_is_refused_by_name(node, path, message):
    with pytest.raises(GraphError, match=message):
        Track(chain=(node,), automation={f"chain[0].{path}": Automation(((0.0, 1.0),))})


def test_a_parametric_eq_band_automation_is_checked_at_both_extremes():
    with pytest.raises(GraphError, match=r"reaches 60: bands\[1\]\.gain_db: gain_db=60 is out of range"):
        Track(chain=(_EQ,), automation={"chain[0].bands[1].gain_db": Automation(((0.0, -6.0), (1.0, 60.0)))})


def test_parametric_eq_band_automation_survives_a_session_round_trip(tmp_path):
    from sonicmix.session import Session, load_session, save_session

    envelope = Automation(((0.0, -6.0), (1.0, 3.0), (2.0, -2.0, "step")))
    track = Track(chain=(_EQ,), automation={"chain[0].bands[1].gain_db": envelope})
    session = Session(graph=Graph(tracks={"eq": track}, buses={"master": Bus(output=None)}))
    save_session(session, tmp_path / "eq.toml")
    assert load_session(tmp_path / "eq.toml").graph == session.graph


# --------------------------------------------------------------------------- click-free changes
#
# A 1 kHz sine at -6 dBFS whose gain, or whose EQ band, moves a long way within one control block
# (the envelope runs from `a` to `b` between two control points). The click is measured against a
# smooth reference that moves at every sample: the largest second difference of the output, and the
# energy above 5 kHz (a 1 kHz sine has none; a click is broadband), around the change.

CLICK_AT = 16 * CONTROL_SAMPLES
_SINE = (0.5 * np.sin(2 * np.pi * 1000.0 * np.arange(CLICK_AT + 4096) / FS))[np.newaxis]


def _click(y: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(max |second difference|, energy above 5 kHz) of ``y`` around the change, over the reference's."""
    import scipy.signal as ss

    window = slice(CLICK_AT - 64, CLICK_AT + 2 * CONTROL_SAMPLES + 64)
    highpass = ss.butter(8, 5000.0, "highpass", fs=FS, output="sos")
    d2, d2_ref = (np.abs(np.diff(s[0, window], 2)).max() for s in (y, reference))
    hf, hf_ref = (np.sum(ss.sosfilt(highpass, s[0])[window] ** 2) for s in (y, reference))
    return float(d2 / d2_ref), float(hf / hf_ref)


def _ramp_render(node: Node, target: str, a: float, b: float) -> np.ndarray:
    envelope = Automation(((CLICK_AT / FS, a), ((CLICK_AT + CONTROL_SAMPLES) / FS, b)))
    track = Track(clips=(Clip(source=ArraySource(_SINE, FS)),), layout="mono", chain=(node,),
                  automation={target: envelope})  # fmt: skip
    graph = Graph(tracks={"t": track}, buses={"master": Bus(layout="mono", output=None)})
    return render(graph, sample_rate=FS, tail_s=0.0, dtype=np.float64).master


def _retuned_every_sample(node: Any, path: str, values: np.ndarray) -> np.ndarray:
    """``node`` run directly, with ``values[i]`` from sample ``CLICK_AT + i`` on (the last held)."""
    state = node.init_state(1, FS, np.float64)
    out, state = node.process(_SINE[:, :CLICK_AT], FS, state)
    pieces = [out]
    for i, value in enumerate(values):
        now = node.with_parameter(path, float(value))
        stop = CLICK_AT + i + 1 if i + 1 < len(values) else _SINE.shape[1]
        y, state = now.process(_SINE[:, CLICK_AT + i : stop], FS, now.retune(state, FS))
        pieces.append(y)
    return np.concatenate(pieces, axis=1)


def test_a_gain_jump_within_one_control_block_does_not_click():
    from sonicmix.nodes.gain import Gain

    # the envelope's dB at every sample, 32 samples late: eight steps, each reached by a 32-sample glide
    line_db = np.clip((np.arange(_SINE.shape[1]) - CLICK_AT - 32) / CONTROL_SAMPLES, 0.0, 1.0) * -12.0
    reference = _SINE * 10 ** (line_db / 20)
    held = _SINE * np.where(np.arange(_SINE.shape[1]) < CLICK_AT + CONTROL_SAMPLES, 1.0, 10 ** (-12 / 20))
    out = _ramp_render(Gain(gain_db=0.0), "chain[0].gain_db", 0.0, -12.0)
    d2, hf = _click(out, reference)
    held_d2, held_hf = _click(held, reference)  # the value held through each control block, as before
    assert held_d2 > 20 and held_hf > 1000  # the old staircase clicks (measured 39 and 87000)
    assert d2 < 1.05 and hf < 2.0  # measured 1.0 and 1.3: the glides' corners, 32 samples apart
    np.testing.assert_allclose(out, reference, rtol=0, atol=2e-3)


@pytest.mark.parametrize(
    ("path", "a", "b"), [("bands[1].gain_db", -0.5, -12.0), ("bands[1].freq_hz", 500.0, 2000.0)]
)
def test_an_eq_band_moved_within_one_control_block_clicks_less_than_a_step(path, a, b):
    # a high-pass band too: its memory must carry through the other band's retunes
    bands = (ParametricEQ.Band(kind="high_pass", freq_hz=80.0), ParametricEQ.Band(gain_db=-12.0, q=1.0))
    node = ParametricEQ(bands=bands).with_parameter(path, a)
    line = a + (b - a) * np.arange(CONTROL_SAMPLES + 1) / CONTROL_SAMPLES
    reference = _retuned_every_sample(node, path, line)
    held = _retuned_every_sample(node, path, np.append(np.full(CONTROL_SAMPLES, a), b))
    out = _ramp_render(node, f"chain[0].{path}", a, b)
    d2, hf = _click(out, reference)
    held_d2, held_hf = _click(held, reference)
    assert held_d2 > 4 and held_hf > 2e4  # the old held value clicks (measured: 5.6 and 10 times the
    assert d2 < held_d2 / 3 and hf < held_hf / 10  # reference's second difference; 32-sample steps: 1.4, 1.7)


def test_interpolated_automation_renders_the_same_samples_in_blocks_of_any_size():
    from sonicmix.nodes.eq import Peak
    from sonicmix.nodes.gain import Gain

    # moves of every size (0.16, 0.64, 1.1 and 14 dB per control block: 1, 2, 4 and 8 steps), a step shape
    points = ((0.01, -0.3), (0.02, -1.5), (0.04, -5.5), (0.045, -20.0), (0.055, -20.0), (0.06, 0.0, "step"))
    gain = Automation(((0.0, 0.0), *points))
    freq = Automation(((0.0, 300.0), (0.02, 330.0), (0.04, 3000.0, "exponential"), (0.06, 500.0)))
    x = _SINE[:, :4000].astype(np.float32)
    track = Track(clips=(Clip(source=ArraySource(x, FS)),), layout="mono", chain=(Gain(), Peak(gain_db=6.0)),
                  automation={"chain[0].gain_db": gain, "chain[1].freq_hz": freq})  # fmt: skip
    graph = Graph(tracks={"t": track}, buses={"master": Bus(layout="mono", output=None)})
    whole = render(graph, sample_rate=FS, tail_s=0.0).master
    for block_size in (7, 31, 255, 1000):
        blocks = render(graph, sample_rate=FS, tail_s=0.0, block_size=block_size).master
        np.testing.assert_array_equal(blocks, whole)


@pytest.mark.parametrize(
    ("where", "points", "message"),
    [
        # a rotation's yaw takes any finite angle, but -1e308 to 1e308 cannot be interpolated in floats
        ("automation", ((0.0, -1e308), (0.5, 0.0), (1.0, -1e308), (1.5, 1e308)),
         r"track 't': automation 'chain\[0\]\.yaw_deg' \(AmbisonicRotator\): its linear ramp from "
         r"points\[2\] \(-1e\+308 at 1 s\) to points\[3\] \(1e\+308 at 1\.5 s\) overflows: "
         r"every value after 1 s"),
        # both ends are legal fader levels, their ratio (1e308) is not a float
        ("fader_db", ((0.0, -1e-300), (2.0, -1e10, "exponential")),
         r"bus 'scene': fader_db: its exponential ramp from points\[0\] \(-1e-300 at 0 s\) to points\[1\]"),
        ("send", ((0.0, -1e-300), (1.0, -1e10, "exponential")), r"track 't': sends\[0\]\.level_db: its exp"),
    ],
)  # fmt: skip
def test_an_envelope_that_overflows_between_its_points_is_refused_naming_strip_and_parameter(
    where, points, message
):
    # each point is finite, so Automation takes it; before, render failed with "yaw_deg=inf is not finite"
    envelope = Automation(points)
    track = Track(
        layout="ambix1", output="scene", chain=(AmbisonicRotator(order=1),),
        automation={"chain[0].yaw_deg": envelope} if where == "automation" else {},
        sends=(Send(to="scene", level_db=envelope if where == "send" else 0.0),),
    )  # fmt: skip
    scene = Bus(layout="ambix1", output=None, fader_db=envelope if where == "fader_db" else 0.0)
    with pytest.raises(GraphError, match=message):
        Graph(tracks={"t": track}, buses={"scene": scene}, master="scene")

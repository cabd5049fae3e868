"""The contract every node keeps, checked on every node example.

Examples come from ``tests/nodes/examples_*.py`` (see node_checks.py).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sonicmix
import sonicmix.nodes
from sonicmix.errors import AudioError, LayoutError, SonicmixError
from sonicmix.nodes.base import Node
from tests.nodes.node_checks import BLOCK_SIZES, assert_streaming_matches, programme, run_streamed

_HERE = Path(__file__).parent


def _examples():
    out = []
    for path in sorted(_HERE.glob("examples_*.py")):
        module = importlib.import_module(f"tests.nodes.{path.stem}")
        for node, key_channels in module.EXAMPLES:
            out.append(
                pytest.param(node, key_channels, id=f"{path.stem[9:]}-{type(node).__name__}-{len(out)}")
            )
    return out


EXAMPLES = _examples()

# Field names may be unitless only when listed here (STYLE: every physical quantity has a unit suffix).
UNITLESS = {
    "ratio",
    "q",
    "mix",
    "channels",
    "nodes",
    "order",
    "kind",
    "curve",
    "law",
    "mode",
    "detector",
    "shape",
    "stereo_link",
    "density",
    "width",
    "quality",
    "oversampling",
    "bands",
    "impulse_response",
    "seed",
    "taps",
    "method",
    "key_filter",
    "band",
    "enabled",
    "phase",
    "diffusion",
    "slope",
    "position",  # pan position, -1 (left) to 1 (right)
    "feedback",  # linear gain of each delay repeat, 0 <= feedback < 1
    "rate",  # TimeStretch speed factor (librosa's name); never a sample rate, which is sample_rate
    "semitones",  # the name is the unit (equal-tempered semitones)
    "ir_sample_rate",  # an impulse response's sample rate in Hz, spelt like every `sample_rate: int`
    "harmonics",  # DeHum: how many harmonics of the mains are removed (a count)
    "follow_changes",  # DeHum: a choice (True/False), whether a hum that stops or jumps is released
    "speech_gate",  # Ducker: a choice (True/False), whether the speech detector gates the key
    # PluginNode: which plugin (a pedalboard built-in's name, or a file), and the plugin's own values,
    # whose names (with pedalboard's units: rate_hz, attack_ms) the plugin sets
    "plugin",
    "path",
    "plugin_name",
    "parameters",
    "raw_state",
    # Binaural (sonicmix.spatial): the input's layout (a name or a Layout) and the HRIR set (a SOFA
    # file's path or an HrirSet)
    "layout",
    "sofa",
    "frame",  # AmbisonicRotator: a choice, whether the angles turn the scene or are the listener's head
    "max_re",  # AmbisonicDecoder: a choice (True/False), the max-rE weights
    "true_peak",  # Limiter: a choice, the reconstruction the ceiling holds for ("bs1770" or "ideal")
}
UNIT_SUFFIX = re.compile(r".*_(hz|s|db|lufs|lu|dbtp|dbfs|samples|deg|ms_never)$")


def _channels(node) -> int:
    """Input channels the contract tests feed a node: 2, or the count it takes if it refuses 2
    (an Ambisonics rotator or decoder of order 3 takes 16)."""
    for channels in (2, *range(1, 65)):
        try:
            node.output_channels(channels)
        except LayoutError:
            continue
        return channels
    raise AssertionError(f"{node!r} takes no channel count from 1 to 64")


def _key_for(node, key_channels, rng, n, dtype):
    if key_channels is None:
        return None
    return programme(rng, key_channels, n, dtype)


def _output_samples(node, n, sample_rate):
    """One-shot output length: n, unless the node says otherwise (a resampler, a time stretch)."""
    output_samples = getattr(node, "output_samples", None)
    return n if output_samples is None else output_samples(n, sample_rate)


def _assert_streams(node, x, sample_rate, sizes, key):
    """Streamed == whole, with the two declared exceptions to plain streaming."""
    if getattr(node, "offline", False):
        # An offline node (class attribute offline = True) needs the whole programme: it must
        # refuse to stream with a clear error rather than stream wrongly.
        with pytest.raises(SonicmixError, match="offline"):
            node.init_state(x.shape[0], sample_rate, x.dtype)
        return
    if not hasattr(node, "flush"):
        assert_streaming_matches(node, x, sample_rate, sizes, key=key)
        return
    # A node with a tail (a resampler) emits it from flush(state) when the stream ends; the
    # blocks plus the flush equal the one-shot output.
    whole = node(x, sample_rate, key=key)
    state = node.init_state(x.shape[0], sample_rate, x.dtype)
    out, start, i = [], 0, 0
    while start < x.shape[1]:
        stop = min(x.shape[1], start + sizes[i % len(sizes)])
        y, state = node.process(x[:, start:stop], sample_rate, state)
        out.append(y)
        start, i = stop, i + 1
    out.append(node.flush(state)[0])
    streamed = np.concatenate(out, axis=1)
    assert streamed.shape == whole.shape and streamed.dtype == whole.dtype
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=2e-5 if x.dtype == np.float32 else 1e-10)


#: Blocks of 2 samples cost a Python call per pair of samples on every example (a sixth of this file's
#: time; blocks of 1, a third). Blocks of 1 already feed every node less than any of its filter
#: orders, frames or oversampling factors, 63/64/65 straddle a power of two, and the random splits
#: draw sizes from 1 up: blocks of exactly 2 run with ``-m slow``.
GRID_SIZES = [pytest.param(size, marks=pytest.mark.slow) if size == 2 else size for size in BLOCK_SIZES]


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
@pytest.mark.parametrize("size", GRID_SIZES)
def test_streamed_equals_whole_on_fixed_grid(node, key_channels, size, rng):
    n = 3 * 4097 + 17
    x = programme(rng, _channels(node), n)
    key = _key_for(node, key_channels, rng, n, x.dtype)
    _assert_streams(node, x, 48000, (size,), key)


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=6))
def test_streamed_equals_whole_on_random_splits(node, key_channels, sizes, rng):
    n = 6000
    x = programme(rng, _channels(node), n, np.float64)
    key = _key_for(node, key_channels, rng, n, x.dtype)
    _assert_streams(node, x, 44100, tuple(sizes), key)


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_dtype_shape_and_finiteness(node, key_channels, dtype, channels, rng):
    n = 9000
    x = programme(rng, channels, n, dtype)
    key = _key_for(node, key_channels, rng, n, dtype)
    try:
        out_channels = node.output_channels(channels)
    except LayoutError:
        # The node does not take this many channels (Width needs stereo): it must say so when used.
        with pytest.raises(LayoutError):
            node(x, 96000, key=key)
        return
    y = node(x, 96000, key=key)
    assert y.dtype == dtype
    assert y.shape == (out_channels, _output_samples(node, n, 96000))
    assert np.isfinite(y).all()


# A stream whose blocks do not have the dtype its state was made for, at 48 kHz in blocks of 4097
# samples: at least 3 s, and longer than the node's latency plus twice its longest internal block.
MISMATCH_RATE = 48000
MISMATCH_BLOCK = 4097


def _internal_blocks_samples(sample_rate: int) -> dict[str, int]:
    """The longest stretches the nodes process at a time internally, in samples."""
    from sonicmix.dsp import _cascade, fdn
    from sonicmix.dsp.spectral import stft_plan
    from sonicmix.nodes import denoise, ducking, dynamics, limiter, saturation

    plan = stft_plan(0.032, sample_rate)  # Denoise's default frame
    return {
        "biquad cascade chunk": _cascade._CHUNK,
        "dynamics chunk": dynamics._CHUNK,
        "ducker chunk": ducking._CHUNK,
        "limiter chunk": limiter._CHUNK,
        "saturation chunk": saturation._CHUNK,
        "reverb (FDN) block": fdn._MAX_BLOCK,
        "denoise batch of frames": denoise._BATCH * plan.hop + plan.frame,
    }


def _mismatch_samples(node: Node) -> int:
    longest = max(_internal_blocks_samples(MISMATCH_RATE).values())
    return max(3 * MISMATCH_RATE, node.latency_samples(MISMATCH_RATE) + 2 * longest) + 17


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
def test_float64_blocks_never_run_through_a_float32_state(node, key_channels, rng):
    """init_state's dtype defaults to float32. Fed float64 blocks, such a stream either refuses them
    (AudioError naming the node and both dtypes) or gives the float64 one-shot output to float64
    rounding: never float32 arithmetic behind a float64 result (issue 18: the Reverb differed by
    8e-6, the Limiter by 3.4e-7)."""
    if getattr(node, "offline", False):
        pytest.skip("an offline node does not stream (test_streamed_equals_whole_on_fixed_grid)")
    n = _mismatch_samples(node)
    x = programme(rng, _channels(node), n, np.float64)
    key = _key_for(node, key_channels, rng, n, np.float64)
    name = type(node).__name__
    try:
        streamed = run_streamed(node, x, MISMATCH_RATE, (MISMATCH_BLOCK,), key, state_dtype=np.float32)
    except AudioError as error:
        assert re.search(rf"^{name}: block dtype=float64 but .* made for float32", str(error)), str(error)
        assert "init_state" in str(error)
        return
    whole = node(x, MISMATCH_RATE, key=key)
    if hasattr(node, "flush"):  # a node with a tail: compare the samples both give
        whole = whole[:, : streamed.shape[1]]
    assert streamed.dtype == np.float64
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-10)


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
def test_float32_blocks_into_a_float64_state_stay_float32(node, key_channels, rng):
    """The other mismatch: refused (AudioError), or float32 out (float32 stays float32)."""
    if getattr(node, "offline", False):
        pytest.skip("an offline node does not stream")
    n = MISMATCH_RATE // 2
    x = programme(rng, _channels(node), n, np.float32)
    key = _key_for(node, key_channels, rng, n, np.float32)
    try:
        y = run_streamed(node, x, MISMATCH_RATE, (MISMATCH_BLOCK,), key, state_dtype=np.float64)
    except AudioError as error:
        assert str(error).startswith(f"{type(node).__name__}: block dtype=float32 but"), str(error)
        return
    assert y.dtype == np.float32
    assert np.isfinite(y).all()


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
def test_input_is_not_modified(node, key_channels, rng):
    x = programme(rng, _channels(node), 5000)
    before = x.copy()
    key = _key_for(node, key_channels, rng, 5000, x.dtype)
    node(x, 48000, key=key)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
def test_empty_block_is_fine(node, key_channels):
    x = np.zeros((_channels(node), 0), np.float32)
    key = None if key_channels is None else np.zeros((key_channels, 0), np.float32)
    assert node(x, 48000, key=key).shape == (node.output_channels(x.shape[0]), 0)


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
def test_repr_round_trips_and_nodes_are_values(node, key_channels):
    namespace = {name: getattr(sonicmix, name) for name in dir(sonicmix)}
    namespace.update(_node_classes())
    namespace["HrirSet"] = importlib.import_module("sonicmix.spatial.sofa").HrirSet  # Binaural's HRIRs
    namespace["np"] = np
    namespace["array"] = np.array
    namespace["float32"] = np.float32
    clone = eval(repr(node), namespace)  # noqa: S307 - our own repr
    assert clone == node
    hash(node)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(node, dataclasses.fields(node)[0].name, None)


@pytest.mark.parametrize(("node", "key_channels"), EXAMPLES)
def test_latency_is_a_whole_number_of_samples(node, key_channels):
    for rate in (44100, 48000, 96000):
        latency = node.latency_samples(rate)
        assert isinstance(latency, int) and latency >= 0


#: Packages whose modules define nodes (sonicmix.spatial: Binaural and the panners).
NODE_PACKAGES = ("sonicmix.nodes", "sonicmix.spatial")


def _node_classes():
    classes = {}
    for package_name in NODE_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package_name}.{info.name}")
            for name, obj in vars(module).items():
                if isinstance(obj, type) and issubclass(obj, Node):
                    classes[name] = obj
    return classes


def test_every_field_has_a_unit_or_is_unitless_by_design():
    bad = []
    for cls in _node_classes().values():
        if not dataclasses.is_dataclass(cls):
            continue
        for f in dataclasses.fields(cls):
            if f.name.startswith("_"):
                continue
            if f.name not in UNITLESS and not UNIT_SUFFIX.match(f.name):
                bad.append(f"{cls.__name__}.{f.name}")
    assert not bad, f"fields without a unit suffix (or add to UNITLESS with a reason): {bad}"


def test_every_node_class_has_an_example():
    covered = {type(p.values[0]).__name__ for p in EXAMPLES}
    missing = [
        name
        for name, cls in _node_classes().items()
        if dataclasses.is_dataclass(cls) and name not in covered and not name.startswith("_")
    ]
    assert not missing, f"node classes without an example in tests/nodes/examples_*.py: {missing}"


# Nodes whose fields all have defaults but that need one of them given: no default would make sense.
NEED_AN_ARGUMENT = {"PluginNode": "a plugin: a pedalboard built-in, or path= to a plugin file"}


def test_defaults_pass_their_own_validation():
    for cls in _node_classes().values():
        if not dataclasses.is_dataclass(cls):
            continue
        required = [
            f
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        if cls.__name__ in NEED_AN_ARGUMENT:
            with pytest.raises(SonicmixError):  # refused with a message, never half-built
                cls()
        elif not required:
            cls()  # must not raise

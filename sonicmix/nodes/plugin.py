"""Pedalboard plugins as sonicmix nodes: its built-ins, and VST3 / Audio Unit files.

:class:`PluginNode` hosts one `pedalboard <https://github.com/spotify/pedalboard>`_
plugin (an optional extra: ``pip install "sonicmix[plugins]"``) as a node: a
frozen value with parameters, one-shot ``node(audio, sample_rate)`` and
streamed ``init_state`` / ``process`` with explicit state, latency that graphs
compensate, parameters that graphs automate by name, and a plain form that
session files store.

How a stream runs the plugin
----------------------------
Every stream (``init_state``) gets its own pedalboard instance, built from the
node's parameters (built-ins) or loaded again from the file (VST3 / AU), so two
tracks using one node never share a delay line or an LFO. Blocks go to
``plugin.process(..., reset=False)``. pedalboard prepares a plugin again, which
clears its state, whenever a call brings a larger block than any before, and a
plugin with latency hands back fewer samples than it was given; so there are
two ways to feed it:

- **the caller's blocks** (``block_samples=None`` for the built-ins in
  :data:`ANY_BLOCKS`): the stream is first prepared for 8192-sample blocks
  (pedalboard's default buffer size) on silence and reset, and then each block
  goes straight through. These built-ins have no latency and give the same
  samples however the audio is split, bit for bit, and the same samples as
  pedalboard's own one-shot ``plugin(audio, sample_rate)`` (the tests check
  both for every one of them);
- **fixed blocks** of ``block_samples`` samples (512 unless set), as a DAW
  hosts a plugin: for VST3 / AU plugins, for the built-ins with latency or
  whose output depends on the split (:data:`FIXED_BLOCKS`), and for any
  plugin given ``block_samples``. The plugin always sees the same sequence of
  blocks, so streamed equals one-shot for any plugin that is deterministic.
  The input waits until a block is full and the output waits for what the
  plugin holds back, so the node's latency is ``block_samples - 1`` plus the
  samples the plugin holds back, measured once per sample rate on a scratch
  instance fed silence (a VST3's ``reported_latency_samples`` is what it holds
  back). A plugin that later holds back more than it did then stops the stream
  with :class:`~sonicmix.errors.SonicmixError` rather than shift the audio.

pedalboard computes in float32: float64 audio is rounded to float32 on the way
in and the output converted back to float64.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import inspect
import math
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sonicmix._typing import Audio
from sonicmix.errors import LayoutError, ParameterError, SonicmixError
from sonicmix.nodes.base import Node

__all__ = ["PluginNode", "PluginParameters", "PluginState", "ANY_BLOCKS", "FIXED_BLOCKS", "BUILTIN_PLUGINS"]

_INSTALL = "pip install 'sonicmix[plugins]'"

#: pedalboard built-ins that stream on the caller's blocks with no latency: the same samples for
#: any split (checked for each by tests/nodes/test_plugin.py, at block sizes 1 to 4097, 1 to 6 channels).
ANY_BLOCKS = (
    "Bitcrush", "Chorus", "Clipping", "Compressor", "Convolution", "Delay", "Distortion", "Gain",
    "HighShelfFilter", "HighpassFilter", "Invert", "LadderFilter", "Limiter", "LowShelfFilter",
    "LowpassFilter", "NoiseGate", "PeakFilter", "Phaser", "Reverb",
)  # fmt: skip
#: pedalboard built-ins fed fixed blocks: they hold samples back (a lookahead, a codec's frames, a
#: resampler's filter), and how many, or their samples, would otherwise depend on the caller's blocks.
FIXED_BLOCKS = ("BrickwallLimiter", "GSMFullRateCompressor", "MP3Compressor", "PitchShift", "Resample")
#: Every pedalboard built-in a PluginNode hosts, by class name.
BUILTIN_PLUGINS = tuple(sorted(ANY_BLOCKS + FIXED_BLOCKS))

#: File names of plugins pedalboard loads (VST3 everywhere, Audio Units on macOS).
_PLUGIN_SUFFIXES = (".vst3", ".component")
#: Fixed block size unless ``block_samples`` says otherwise (a common DAW buffer size).
_DEFAULT_BLOCK_SAMPLES = 512
#: Block size the caller's-blocks streams are prepared for (pedalboard's default ``buffer_size``).
_PREPARED_SAMPLES = 8192
#: Names that are PluginNode's own fields: a plugin parameter spelt so is set through parameters={...}.
_FIELDS = ("plugin", "path", "plugin_name", "parameters", "raw_state", "block_samples")
#: pedalboard containers: several plugins in one object, which a sonicmix chain does better.
_CONTAINERS = ("Pedalboard", "Chain", "Mix", "PluginContainer")
#: Built-in parameters that set the plugin's latency (which a graph compensates once, before the render).
_SETS_LATENCY = {
    "BrickwallLimiter": ("lookahead_ms", "true_peak"),
    "GSMFullRateCompressor": ("quality",),
    "MP3Compressor": ("vbr_quality",),
    "PitchShift": ("semitones",),
    "Resample": ("target_sample_rate", "quality"),
}
#: Built-ins without a default instance: their parameters and the ones the constructor needs.
_NO_DEFAULT_INSTANCE = {"Convolution": ({"impulse_response_filename": "str", "mix": "float"},
                                        ("impulse_response_filename",))}  # fmt: skip
#: Properties of built-ins that are not parameters a session can hold.
_NOT_PARAMETERS = ("is_effect", "is_instrument", "impulse_response")

_LOCK = threading.Lock()
_HELD_BACK: dict[tuple[Any, int], int] = {}  # (node, sample rate) -> samples the plugin holds back
_BUILTIN_KINDS: dict[str, dict[str, str]] = {}  # built-in -> {parameter: "float" | "bool" | "str" | "enum"}
_EXTERNAL: dict[tuple[str, str | None], _ExternalInfo] = {}  # (path, plugin_name) -> what loading found
_PITCH_SHIFT_STREAMS: list[bool] = []  # one probe per process (see _check_pitch_shift_streams)


def _pedalboard() -> Any:
    """The pedalboard module, or an ImportError that names the extra to install."""
    try:
        import pedalboard
    except ImportError:
        raise ImportError(
            f"PluginNode needs pedalboard, which is not installed; install it with: {_INSTALL}"
        ) from None
    return pedalboard


def _did_you_mean(name: object, names: Any) -> str:
    close = difflib.get_close_matches(str(name), list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class PluginParameters(Mapping[str, Any]):
    """A plugin's parameter values: a read-only, hashable mapping that prints (and compares) as a dict.

    >>> PluginParameters({"mix": 0.5}) == {"mix": 0.5}, hash(PluginParameters({"mix": 0.5})) is not None
    (True, True)
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_items", dict(items or {}))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("a PluginNode's parameters are read-only; use dataclasses.replace(node, name=value)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._items == dict(other)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self) -> tuple[Any, ...]:
        return (PluginParameters, (self._items,))


@dataclass(frozen=True)
class _ExternalInfo:
    """What loading a VST3 / AU file told us: its parameters' kinds, allowed values, numeric ranges
    and those it marks as not automatable (a read-only meter such as a latency display, a setup
    choice)."""

    kinds: dict[str, str]
    valid: dict[str, tuple[Any, ...]]
    ranges: dict[str, tuple[float, float, str]] = field(default_factory=dict)  # name -> (low, high, unit)
    fixed: frozenset[str] = frozenset()
    probe: Any = field(default=None, compare=False, repr=False)  # an instance to read values back from
    runs_at: dict[tuple[str, float], float] = field(default_factory=dict, compare=False, repr=False)
    refused: dict[int, str | None] = field(default_factory=dict, compare=False, repr=False)  # channels -> why


@dataclass(slots=True)
class PluginState:
    """Stream state of a :class:`PluginNode`: the stream's own pedalboard instance and its buffers.

    ``plugin`` is never shared with another stream. ``applied`` holds the
    parameter values set on it. With fixed blocks (``block_samples`` not
    None), ``pending[:, :filled]`` waits for a full block and ``ready`` holds
    output not yet returned (the latency's worth of silence at first). A
    pedalboard instance cannot be copied, so neither can this state.
    """

    plugin: Any
    applied: dict[str, Any]
    block_samples: int | None
    pending: np.ndarray
    filled: int
    ready: np.ndarray
    held_back: int  # what the plugin held back when the stream began (fixed blocks)

    def __deepcopy__(self, memo: Any) -> PluginState:
        raise SonicmixError(
            "a PluginNode stream cannot be copied: pedalboard plugins cannot be cloned mid-stream; "
            "start a second stream with node.init_state(...) instead"
        )


@dataclass(frozen=True, slots=True, init=False, repr=False)
class PluginNode(Node):
    """A pedalboard plugin (a built-in, or a VST3 / Audio Unit file) as a node.

    Needs the optional pedalboard package: ``pip install "sonicmix[plugins]"``.
    How streams feed the plugin, and where latency comes from, is in the
    module notes (:mod:`sonicmix.nodes.plugin`).

    Parameters
    ----------
    plugin : str or pedalboard.Plugin, optional
        A pedalboard built-in: its class name (``"Chorus"``, one of
        :data:`BUILTIN_PLUGINS`) or an instance (``pedalboard.Chorus(mix=0.3)``),
        whose current parameter values are taken. A string ending in ``.vst3``
        or ``.component``, or holding a folder separator, is taken as
        ``path``. A plugin already loaded with ``pedalboard.load_plugin`` does
        not record its file: pass ``path`` (and ``raw_state=plugin.raw_state``
        to keep its settings).
    path : str or os.PathLike, optional
        A VST3 (``.vst3``) or Audio Unit (``.component``, macOS) plugin file
        or bundle, loaded with ``pedalboard.load_plugin``. Exactly one of
        ``plugin`` and ``path``. In a session file a relative path is relative
        to the session's folder.
    parameters : mapping of str to float, bool or str, optional
        Parameter values by the plugin's own names (``{"rate_hz": 2.0}``);
        keyword arguments (``rate_hz=2.0``) are merged over it. A built-in's
        ``parameters`` always holds all of its parameters (unset ones at
        pedalboard's defaults), as read back from the plugin (a float that
        pedalboard keeps in float32 is written as the shortest decimal of that
        float32, ``0.33`` rather than ``0.33000001311302185``), so equal nodes
        sound the same. A file plugin's holds only the values given, applied
        after ``raw_state``. Choices of a built-in (``LadderFilter.mode``,
        ``Resample.quality``) are their names, e.g. ``"LPF24"``.
    **values
        More parameter values, by name.

    Other Parameters
    ----------------
    plugin_name : str, optional
        The plugin to load from a file that holds several (pedalboard's
        ``plugin_name``).
    raw_state : str or bytes, optional
        A file plugin's whole state (pedalboard's ``raw_state``), as bytes or
        their base64 text (kept as base64, which a session file can hold).
    block_samples : int, optional
        Feed the plugin fixed blocks of this many samples (>= 32). ``None``
        (default) streams the built-ins in :data:`ANY_BLOCKS` on the caller's
        blocks, with no added latency, and feeds everything else 512-sample
        blocks.

    Raises
    ------
    ParameterError
        ``plugin`` is not a built-in (with a "did you mean"), or is a
        container or a loaded file plugin; ``path`` is missing or cannot be
        loaded as a plugin (pedalboard's reason is quoted); a parameter the
        plugin does not have (with a "did you mean" and the plugin's
        parameters); a value of the wrong kind, not finite, or out of the
        plugin's range (pedalboard's reason is quoted); a ``raw_state`` that is
        not base64; ``block_samples`` below 32; pedalboard's ``PitchShift``
        while it cannot stream (it returns silence with ``reset=False``:
        spotify/pedalboard#415).
    ImportError
        pedalboard is not installed (the message says how to install it).

    See Also
    --------
    sonicmix.nodes.base.Node : the node contract.
    sonicmix.graph.Track : ``automation={"chain[0].rate_hz": Automation(...)}`` automates a
        plugin's numeric parameter by its name.

    Notes
    -----
    Latency: none on the caller's blocks; with fixed blocks, ``block_samples - 1``
    plus what the plugin holds back (``latency_samples``). A graph delays the
    parallel paths by as much, so a dry path and the plugin's path stay
    aligned.

    Automation: every numeric (float) parameter, except those that set the
    plugin's latency (``BrickwallLimiter.lookahead_ms``, ``Resample.target_sample_rate``,
    ...), is in :attr:`automatable`; the others are refused with the reason
    (:attr:`automation_refusals`). A new value is set on the stream's plugin
    before the next block it receives (with fixed blocks, the next full block).

    Examples
    --------
    >>> import numpy as np
    >>> import pedalboard
    >>> chorus = PluginNode(pedalboard.Chorus(rate_hz=0.5, mix=0.3))
    >>> chorus
    PluginNode('Chorus', parameters={'centre_delay_ms': 7.0, 'depth': 0.25, 'feedback': 0.0, \
'mix': 0.3, 'rate_hz': 0.5})
    >>> chorus == PluginNode("Chorus", rate_hz=0.5, mix=0.3), chorus.latency_samples(48000)
    (True, 0)
    >>> x = (0.1 * np.random.default_rng(0).standard_normal((2, 9600))).astype(np.float32)
    >>> whole = chorus(x, 48000)
    >>> state = chorus.init_state(2, 48000)
    >>> first, state = chorus.process(x[:, :4000], 48000, state)
    >>> second, state = chorus.process(x[:, 4000:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([first, second], axis=1), whole))
    True
    >>> bool(np.array_equal(whole, pedalboard.Chorus(rate_hz=0.5, mix=0.3)(x, 48000)))
    True

    A built-in with latency streams in fixed blocks; its output comes
    ``latency_samples`` late, and a graph compensates that:

    >>> limiter = PluginNode("BrickwallLimiter", lookahead_ms=5.0)
    >>> limiter.latency_samples(48000)  # 511 for the 512-sample blocks, 240 of lookahead
    751
    """

    plugin: str | None = None
    path: str | None = None
    plugin_name: str | None = None
    parameters: PluginParameters = field(default_factory=PluginParameters)
    raw_state: str | None = None
    block_samples: int | None = None

    def __init__(
        self,
        plugin: Any = None,
        *,
        path: str | os.PathLike[str] | None = None,
        plugin_name: str | None = None,
        parameters: Mapping[str, Any] | Any = None,
        raw_state: str | bytes | None = None,
        block_samples: int | None = None,
        **values: Any,
    ) -> None:
        pb = _pedalboard()
        given = dict(_parameter_items(parameters))
        given.update(values)
        if isinstance(plugin, pb.Plugin):
            plugin, captured = _capture(pb, plugin, path)
            given = {**captured, **given}
        elif (
            isinstance(plugin, str)
            and plugin not in BUILTIN_PLUGINS
            and path is None
            and _is_file_name(plugin)
        ):
            plugin, path = None, plugin
        if plugin is not None and path is not None:
            raise ParameterError(
                f"plugin={plugin!r} and path={os.fspath(path)!r} are both given; expected a built-in "
                "(plugin=...) or a plugin file (path=...)"
            )
        if block_samples is not None and (
            isinstance(block_samples, bool) or not isinstance(block_samples, int) or block_samples < 32
        ):
            raise ParameterError(
                f"block_samples={block_samples!r}; expected a whole number of samples >= 32, or None "
                "(the caller's blocks for the built-ins that allow it, else 512)"
            )
        if plugin is not None:
            if not isinstance(plugin, str) or plugin not in BUILTIN_PLUGINS:
                hint = "" if not isinstance(plugin, str) else _did_you_mean(plugin, BUILTIN_PLUGINS)
                raise ParameterError(
                    f"plugin={plugin!r} is not a pedalboard built-in{hint}; expected one of "
                    f"{list(BUILTIN_PLUGINS)}, a pedalboard plugin object, or path='<file>.vst3'"
                )
            for name, value in (("plugin_name", plugin_name), ("raw_state", raw_state)):
                if value is not None:
                    raise ParameterError(
                        f"{name}= is given for the built-in {plugin!r}; a built-in's parameters are its "
                        f"whole state (expected {name}=None, or path=... for a plugin file)"
                    )
            if plugin == "PitchShift":
                _check_pitch_shift_streams(pb)
            values_out = _builtin_parameters(pb, plugin, given)
            path_out = None
        elif path is not None:
            if not isinstance(path, (str, os.PathLike)):
                raise ParameterError(f"path={path!r}; expected the path of a .vst3 or .component plugin")
            path_out = os.fspath(path)
            if plugin_name is not None and not isinstance(plugin_name, str):
                raise ParameterError(
                    f"plugin_name={plugin_name!r}; expected the name of a plugin in the file"
                )
            raw_state = _check_raw_state(raw_state)
            info = _external_info(pb, path_out, plugin_name)
            values_out = _external_parameters(info, path_out, given)
        else:
            raise ParameterError(
                "no plugin given; expected a pedalboard built-in (PluginNode('Chorus') or "
                "PluginNode(pedalboard.Chorus())) or a plugin file (PluginNode(path='<file>.vst3'))"
            )
        object.__setattr__(self, "plugin", plugin)
        object.__setattr__(self, "path", path_out)
        object.__setattr__(self, "plugin_name", plugin_name)
        object.__setattr__(self, "parameters", PluginParameters(values_out))
        object.__setattr__(self, "raw_state", raw_state)
        object.__setattr__(self, "block_samples", block_samples)

    def __repr__(self) -> str:
        parts = [repr(self.plugin)] if self.plugin is not None else [f"path={self.path!r}"]
        if self.plugin_name is not None:
            parts.append(f"plugin_name={self.plugin_name!r}")
        if self.parameters:
            parts.append(f"parameters={self.parameters!r}")
        if self.raw_state is not None:
            parts.append(f"raw_state={self.raw_state!r}")
        if self.block_samples is not None:
            parts.append(f"block_samples={self.block_samples!r}")
        return f"PluginNode({', '.join(parts)})"

    # -- what the plugin offers -----------------------------------------------------------------
    def _kinds(self) -> dict[str, str]:
        """Each parameter's kind: "float", "bool", "str" or "enum" (a built-in's choice)."""
        pb = _pedalboard()
        if self.plugin is not None:
            return _builtin_kinds(pb, self.plugin)
        return _external_info(pb, self.path or "", self.plugin_name).kinds

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Every parameter the plugin has, by the names ``parameters`` and automation use."""
        return tuple(self._kinds())

    @property
    def automation_refusals(self) -> dict[str, str]:  # type: ignore[override]
        """Why each parameter that cannot be automated cannot be."""
        out = {}
        latency = _SETS_LATENCY.get(self.plugin or "", ())
        fixed = _external_info(_pedalboard(), self.path or "", self.plugin_name).fixed if self.path else ()
        for name, kind in self._kinds().items():
            if name in _FIELDS:
                out[name] = "its name is one of PluginNode's own fields; set it in parameters={...}"
            elif name in fixed:
                out[name] = "the plugin marks it as not automatable"
            elif name in latency:
                out[name] = "it sets the plugin's latency, which a graph compensates once, before the render"
            elif kind != "float":
                out[name] = f"a {'choice' if kind in ('enum', 'str') else 'switch'}, not a number"
        return out

    @property
    def automatable(self) -> frozenset[str]:  # type: ignore[override]
        """The plugin's numeric parameters, less those that set its latency."""
        refused = self.automation_refusals
        return frozenset(name for name in self._kinds() if name not in refused)

    def _fixed_block(self) -> int | None:
        """Samples per block fed to the plugin, or None for the caller's blocks."""
        if self.block_samples is not None:
            return self.block_samples
        return None if self.plugin in ANY_BLOCKS else _DEFAULT_BLOCK_SAMPLES

    def _label(self) -> str:
        return (
            f"PluginNode({self.plugin!r})" if self.plugin is not None else f"PluginNode(path={self.path!r})"
        )

    def _instantiate(self) -> Any:
        """A new pedalboard instance with this node's parameters (and state)."""
        pb = _pedalboard()
        if self.plugin is not None:
            return _make_builtin(pb, self.plugin, dict(self.parameters))
        plugin = _load(pb, self.path or "", self.plugin_name)
        if self.raw_state is not None:
            plugin.raw_state = base64.b64decode(self.raw_state)
        for name, value in self.parameters.items():
            try:
                setattr(plugin, name, value)
            except (ValueError, TypeError) as err:
                raise ParameterError(
                    f"{self._label()}: {name}={value!r} is refused by the plugin: {err}"
                ) from None
        # pedalboard starts holding back a file plugin's reported latency at a reset, not on a fresh
        # instance: without this a stream would come out that much later than latency_samples says
        plugin.reset()
        return plugin

    # -- the node contract ----------------------------------------------------------------------
    def output_channels(self, channels: int) -> int:
        """``channels``; a plugin file that cannot take that many raises :class:`LayoutError`."""
        if self.path is not None:
            reason = _channels_refused(self, channels)
            if reason is not None:
                raise LayoutError(
                    f"{self._label()}: the plugin refuses {channels}-channel audio ({reason}); expected a "
                    "track or bus in a layout it takes"
                )
        return channels

    def latency_samples(self, sample_rate: int) -> int:
        """Samples by which the output comes late.

        0 on the caller's blocks; with fixed blocks ``block_samples - 1`` plus what the plugin holds
        back, measured once per sample rate on a scratch instance fed silence.
        """
        block = self._fixed_block()
        if block is None:
            return 0
        return block - 1 + _held_back(self, int(sample_rate))

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> PluginState:
        """A new pedalboard instance for the stream, prepared (caller's blocks) or with its latency queued."""
        self.output_channels(channels)
        plugin = self._instantiate()
        block = self._fixed_block()
        if block is None:
            # Prepare for blocks up to 8192 samples and cache the channel layout, then clear the audio
            # state: pedalboard's reset inside process() keeps the prepared size (plugin.reset() would not).
            plugin.process(np.zeros((channels, _PREPARED_SAMPLES), np.float32), sample_rate,
                           buffer_size=_PREPARED_SAMPLES, reset=True)  # fmt: skip
            plugin.process(np.zeros((channels, 0), np.float32), sample_rate,
                           buffer_size=_PREPARED_SAMPLES, reset=True)  # fmt: skip
            empty = np.zeros((channels, 0), np.float32)
            return PluginState(plugin, dict(self.parameters), None, empty, 0, empty, 0)
        if channels >= block:
            raise ParameterError(
                f"{self._label()} with block_samples={block} cannot take {channels} channels; expected "
                "fewer channels than block samples (pedalboard tells channels from samples by their count)"
            )
        latency = self.latency_samples(sample_rate)
        return PluginState(
            plugin,
            dict(self.parameters),
            block,
            np.zeros((channels, block), np.float32),
            0,
            np.zeros((channels, latency), np.float32),
            latency - (block - 1),
        )

    def retune(self, state: PluginState, sample_rate: int) -> PluginState:
        """Set the parameters that changed (automation) on the stream's own plugin.

        A plugin file whose reported latency changes with the new value stops the stream with
        :class:`~sonicmix.errors.SonicmixError`: a graph compensates a fixed latency.
        """
        for name, value in self.parameters.items():
            if state.applied.get(name) != value:
                before = getattr(state.plugin, "reported_latency_samples", None)
                setattr(state.plugin, name, _native(state.plugin, name, value))
                state.applied[name] = value
                after = getattr(state.plugin, "reported_latency_samples", None)
                if before != after:
                    raise SonicmixError(
                        f"{self._label()}: {name}={value!r} changed the plugin's latency from {before} to "
                        f"{after} samples; expected a parameter that leaves it alone (a graph compensates "
                        "a fixed latency, so this one cannot be automated)"
                    )
        return state

    def process(
        self, x: Audio, sample_rate: int, state: PluginState, *, key: Audio | None = None
    ) -> tuple[Audio, PluginState]:
        n = x.shape[1]
        x32 = x if x.dtype == np.float32 else x.astype(np.float32)
        block = state.block_samples
        if block is None:
            if n == 0:
                return np.zeros(x.shape, x.dtype), state
            y = self._run(state, x32, sample_rate, _PREPARED_SAMPLES)
            if y.shape != x.shape:
                raise SonicmixError(
                    f"{self._label()} returned {y.shape[-1]} samples for a block of {n}; "
                    f"expected the same number (set block_samples to feed it fixed blocks)"
                )
            return (y if x.dtype == np.float32 else y.astype(x.dtype)), state
        produced = [state.ready]
        start = 0
        if state.filled:
            take = min(block - state.filled, n)
            state.pending[:, state.filled : state.filled + take] = x32[:, :take]
            state.filled += take
            start = take
            if state.filled == block:
                produced.append(self._run(state, state.pending, sample_rate, block))
                state.filled = 0
        # One call per block: a plugin that returns part of a block mid-call (GSMFullRateCompressor)
        # gives other samples when pedalboard is handed several blocks at once.
        while n - start >= block:
            produced.append(self._run(state, x32[:, start : start + block], sample_rate, block))
            start += block
        if start < n:
            state.pending[:, : n - start] = x32[:, start:]
            state.filled = n - start
        ready = np.concatenate(produced, axis=1) if len(produced) > 1 else state.ready
        if ready.shape[1] < n:
            held = state.held_back + (n - ready.shape[1])
            raise SonicmixError(
                f"{self._label()} held back at least {held} samples, more than the {state.held_back} it "
                f"held back when the stream began at {sample_rate} Hz: its latency is not steady, and a "
                "graph compensates a fixed latency"
            )
        y, state.ready = ready[:, :n], ready[:, n:]
        return (np.ascontiguousarray(y) if x.dtype == np.float32 else y.astype(x.dtype)), state

    def _run(self, state: PluginState, x32: np.ndarray, sample_rate: int, buffer_size: int) -> np.ndarray:
        try:
            y = state.plugin.process(x32, sample_rate, buffer_size=buffer_size, reset=False)
        except (RuntimeError, ValueError, TypeError) as err:
            raise SonicmixError(
                f"{self._label()}: pedalboard refused a block of shape {x32.shape}: {err}"
            ) from None
        if y.shape[-1] == 0:
            return np.zeros((x32.shape[0], 0), np.float32)
        return y


# ---------------------------------------------------------------------------------------- helpers


def _parameter_items(parameters: Any) -> list[tuple[str, Any]]:
    """``parameters`` as (name, value) pairs: a mapping, or pairs (a session file's form)."""
    if parameters is None:
        return []
    if isinstance(parameters, Mapping):
        items = list(parameters.items())
    elif isinstance(parameters, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in parameters
    ):
        items = [(p[0], p[1]) for p in parameters]
    else:
        raise ParameterError(f"parameters={parameters!r}; expected a mapping of parameter names to values")
    for name, _ in items:
        if not isinstance(name, str):
            raise ParameterError(f"parameters has the key {name!r}; expected parameter names (strings)")
    return items


def _is_file_name(text: str) -> bool:
    return text.lower().rstrip("/\\").endswith(_PLUGIN_SUFFIXES) or "/" in text or os.sep in text


def _capture(pb: Any, plugin: Any, path: Any) -> tuple[str, dict[str, Any]]:
    """A built-in instance -> (class name, its parameter values); refuse containers and loaded files."""
    kind = type(plugin).__name__
    if any(c.__name__ in _CONTAINERS for c in type(plugin).__mro__):
        raise ParameterError(
            f"plugin=<pedalboard.{kind}> holds several plugins; expected one plugin (put one PluginNode per "
            "plugin in a track's or bus's chain)"
        )
    if isinstance(plugin, pb.ExternalPlugin) or kind in ("VST3Plugin", "AudioUnitPlugin"):
        raise ParameterError(
            f"plugin=<pedalboard.{kind} {getattr(plugin, 'name', '')!r}> was loaded from a file that "
            "pedalboard does not record; expected its path: "
            "PluginNode(path='<file>.vst3', raw_state=plugin.raw_state)"
        )
    if kind not in BUILTIN_PLUGINS:
        raise ParameterError(f"plugin=<pedalboard.{kind}> is not a built-in PluginNode hosts; expected one "
                             f"of {list(BUILTIN_PLUGINS)}")  # fmt: skip
    if path is not None:
        raise ParameterError(f"plugin=<pedalboard.{kind}> and path={path!r} are both given; expected one")
    return kind, _read_back(plugin, _builtin_kinds(pb, kind))


def _builtin_kinds(pb: Any, name: str) -> dict[str, str]:
    """A built-in's parameters and their kinds, from a default instance (cached)."""
    kinds = _BUILTIN_KINDS.get(name)
    if kinds is not None:
        return kinds
    cls = getattr(pb, name, None)
    if cls is None:
        raise ParameterError(
            f"plugin={name!r} is not in the installed pedalboard {getattr(pb, '__version__', '')}; "
            f"upgrade it: pip install -U pedalboard"
        )
    if name in _NO_DEFAULT_INSTANCE:
        kinds = dict(_NO_DEFAULT_INSTANCE[name][0])
    else:
        instance = cls()
        kinds = {}
        for prop, _ in inspect.getmembers(cls, lambda v: isinstance(v, property)):
            if prop in _NOT_PARAMETERS:
                continue
            value = getattr(instance, prop)
            if isinstance(value, bool):
                kinds[prop] = "bool"
            elif isinstance(value, (int, float)):
                kinds[prop] = "float"
            elif isinstance(value, str):
                kinds[prop] = "str"
            elif hasattr(type(value), "__members__"):  # a pybind11 enum: LadderFilter.Mode, Resample.Quality
                kinds[prop] = "enum"
    _BUILTIN_KINDS[name] = kinds
    return kinds


def _clean(value: float) -> float:
    """A float32 value as the shortest decimal that is that float32; other values as they are."""
    single = np.float32(value)
    return float(str(single)) if float(single) == value and math.isfinite(value) else float(value)


def _read_back(plugin: Any, kinds: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        value = getattr(plugin, name)
        if kind == "enum":
            out[name] = value.name
        elif kind == "float":
            out[name] = _clean(float(value))
        else:
            out[name] = value
    return out


def _check_value(label: str, name: str, value: Any, kind: str, choices: Any = ()) -> Any:
    """A value of the parameter's kind (ints taken as floats); a ParameterError naming it otherwise."""
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ParameterError(f"{label}: {name}={value!r}; expected a number")
        if not math.isfinite(float(value)):
            raise ParameterError(f"{label}: {name}={value!r} is not finite; expected a finite number")
        return float(value)
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"{label}: {name}={value!r}; expected True or False")
        return bool(value)
    if kind == "enum" and not isinstance(value, str) and hasattr(value, "name"):
        value = value.name  # the enum member itself: LadderFilter.Mode.LPF24
    if not isinstance(value, str):
        raise ParameterError(f"{label}: {name}={value!r}; expected a string")
    if choices and value not in choices:
        raise ParameterError(
            f"{label}: {name}={value!r} is not one of its values{_did_you_mean(value, choices)}; "
            f"expected one of {list(choices)}"
        )
    return value


def _enum_type(pb: Any, plugin: str, name: str) -> Any:
    return type(getattr(getattr(pb, plugin)(), name))


def _builtin_parameters(pb: Any, plugin: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``given`` against the built-in, apply it to an instance, and read every parameter back."""
    kinds = _builtin_kinds(pb, plugin)
    label = f"plugin={plugin!r}"
    checked = {}
    for name, value in given.items():
        if name not in kinds:
            raise ParameterError(
                f"{label} has no parameter {name!r}{_did_you_mean(name, kinds)}; "
                f"its parameters are {list(kinds)}"
            )
        choices = tuple(_enum_type(pb, plugin, name).__members__) if kinds[name] == "enum" else ()
        checked[name] = _check_value(label, name, value, kinds[name], choices)
    instance = _make_builtin(pb, plugin, checked)
    return _read_back(instance, kinds)


def _make_builtin(pb: Any, plugin: str, values: Mapping[str, Any]) -> Any:
    """A built-in instance with ``values`` set one by one, so that a refusal names its parameter."""
    cls = getattr(pb, plugin)
    required = _NO_DEFAULT_INSTANCE.get(plugin, ({}, ()))[1]
    for name in required:
        if name not in values:
            raise ParameterError(f"plugin={plugin!r} needs parameters={{{name!r}: ...}}; none was given")
    try:
        instance = cls(**{name: values[name] for name in required})
    except (ValueError, TypeError, RuntimeError) as err:
        name = required[0]
        raise ParameterError(
            f"plugin={plugin!r}: {name}={values[name]!r} is refused by pedalboard: {err}"
        ) from None
    for name, value in values.items():
        if name in required:
            continue
        try:
            setattr(instance, name, _native_builtin(pb, plugin, name, value))
        except (ValueError, TypeError, RuntimeError) as err:
            raise ParameterError(f"plugin={plugin!r}: {name}={value!r} is out of range: {err}") from None
    return instance


def _native_builtin(pb: Any, plugin: str, name: str, value: Any) -> Any:
    if _builtin_kinds(pb, plugin).get(name) == "enum":
        return _enum_type(pb, plugin, name).__members__[value]
    return value


def _native(instance: Any, name: str, value: Any) -> Any:
    """A value as the plugin instance takes it (a built-in's choice by its enum member)."""
    current = getattr(instance, name, None)
    members = getattr(type(current), "__members__", None)
    if isinstance(value, str) and members is not None and not isinstance(current, str):
        return members[value]
    return value


def _check_raw_state(raw_state: Any) -> str | None:
    if raw_state is None:
        return None
    if isinstance(raw_state, (bytes, bytearray)):
        return base64.b64encode(bytes(raw_state)).decode("ascii")
    if not isinstance(raw_state, str):
        raise ParameterError(
            f"raw_state={raw_state!r}; expected bytes (plugin.raw_state) or their base64 text"
        )
    try:
        base64.b64decode(raw_state, validate=True)
    except (binascii.Error, ValueError):
        shown = raw_state if len(raw_state) <= 40 else raw_state[:37] + "..."
        raise ParameterError(
            f"raw_state={shown!r} is not base64 text; expected bytes or their base64 text"
        ) from None
    return raw_state


def _load(pb: Any, path: str, plugin_name: str | None) -> Any:
    """``pedalboard.load_plugin``, with a ParameterError that names the path and quotes pedalboard."""
    if not os.path.exists(path):
        raise ParameterError(
            f"path={path!r}: no such file or folder; expected a VST3 (.vst3) or Audio Unit (.component) "
            "plugin"
        )
    try:
        return pb.load_plugin(path, plugin_name=plugin_name)
    except (ImportError, RuntimeError, ValueError, OSError) as err:
        reason = " ".join(str(err).split())
        if threading.current_thread() is not threading.main_thread():
            raise SonicmixError(
                f"path={path!r}: pedalboard loads plugin files on the main thread only, and this is "
                f"{threading.current_thread().name!r} ({reason}); expected its stream started on the main "
                "thread"
            ) from None
        raise ParameterError(
            f"path={path!r} cannot be loaded as a plugin ({reason}); expected a VST3 (.vst3) or, on macOS, "
            "an Audio Unit (.component) plugin file or bundle"
        ) from None


def _external_info(pb: Any, path: str, plugin_name: str | None) -> _ExternalInfo:
    """Load a plugin file once per process to learn its parameters (cached by path and plugin name)."""
    key = (os.path.abspath(path), plugin_name)
    with _LOCK:
        info = _EXTERNAL.get(key)
    if info is not None:
        return info
    plugin = _load(pb, path, plugin_name)
    found = getattr(plugin, "name", None)
    if plugin_name is not None and isinstance(found, str) and found != plugin_name:
        # pedalboard ignores plugin_name for a file that holds one plugin
        raise ParameterError(
            f"path={path!r} holds the plugin {found!r}, not plugin_name={plugin_name!r}; expected "
            f"plugin_name={found!r} or None"
        )
    kinds: dict[str, str] = {}
    valid: dict[str, tuple[Any, ...]] = {}
    ranges: dict[str, tuple[float, float, str]] = {}
    for name, parameter in plugin.parameters.items():
        kind = getattr(parameter, "type", float)
        kinds[name] = "bool" if kind is bool else "str" if kind is str else "float"
        if kinds[name] == "str":
            valid[name] = tuple(getattr(parameter, "valid_values", ()) or ())
        low, high = getattr(parameter, "min_value", None), getattr(parameter, "max_value", None)
        if kinds[name] == "float" and isinstance(low, (int, float)) and isinstance(high, (int, float)):
            ranges[name] = (float(low), float(high), str(getattr(parameter, "units", "") or ""))
    fixed = frozenset(n for n, p in plugin.parameters.items() if not getattr(p, "is_automatable", True))
    info = _ExternalInfo(kinds, valid, ranges, fixed, plugin)
    with _LOCK:
        _EXTERNAL[key] = info
    return info


def _external_parameters(info: _ExternalInfo, path: str, given: Mapping[str, Any]) -> dict[str, Any]:
    label = f"path={path!r}"
    out = {}
    for name, value in given.items():
        if name not in info.kinds:
            raise ParameterError(
                f"{label} has no parameter {name!r}{_did_you_mean(name, info.kinds)}; its parameters are "
                f"{list(info.kinds)}"
            )
        out[name] = _check_value(label, name, value, info.kinds[name], info.valid.get(name, ()))
        low, high, unit = info.ranges.get(name, (-math.inf, math.inf, ""))
        if name in info.ranges and not low <= out[name] <= high:
            raise ParameterError(
                f"{label}: {name}={value!r} is out of the plugin's range; expected {low:g} to {high:g}"
                + (f" {unit}" if unit else "")
            )
        if info.kinds[name] == "float" and info.probe is not None:
            out[name] = _runs_at(info, name, out[name])
    return out


def _runs_at(info: _ExternalInfo, name: str, value: float) -> float:
    """The value a plugin file runs at when given ``value``, read back from a scratch instance:
    pedalboard sets the nearest of a parameter's probed steps (1234.5 Hz can run as 1238.78;
    spotify/pedalboard#243), so the node holds what the plugin will hear, as for a built-in."""
    key = (name, value)
    with _LOCK:
        found = info.runs_at.get(key)
        if found is None:
            setattr(info.probe, name, value)
            found = info.runs_at[key] = _clean(float(getattr(info.probe, name)))
    return found


def _held_back(node: PluginNode, sample_rate: int) -> int:
    """Samples a fixed-block stream's plugin holds back, measured on a scratch instance fed silence.

    Blocks of silence go in until output has come out for a second; what is then still inside is
    the count. Cached per (node, sample rate).
    """
    key = (node, sample_rate)
    with _LOCK:
        found = _HELD_BACK.get(key)
    if found is not None:
        return found
    block = node._fixed_block() or _DEFAULT_BLOCK_SAMPLES
    plugin = node._instantiate()
    for channels in (2, 1):  # a plugin that takes only mono refuses two channels
        zeros = np.zeros((channels, block), np.float32)  # one block per call, as the streams feed it
        try:
            fed = got = 0
            first = None
            while first is None or fed - first < sample_rate:
                if fed > 60 * sample_rate:
                    raise SonicmixError(
                        f"{node._label()} returned no audio for 60 s of input at {sample_rate} Hz; "
                        "expected a plugin that processes audio (an effect, not an instrument)"
                    )
                y = plugin.process(zeros, sample_rate, buffer_size=block, reset=False)
                fed += block
                got += y.shape[-1] if y.shape[0] == channels else 0
                if got and first is None:
                    first = fed
            break
        except (RuntimeError, ValueError) as err:
            if channels == 1:
                raise SonicmixError(f"{node._label()}: pedalboard refused to run the plugin: {err}") from None
            plugin = node._instantiate()
    held = fed - got
    with _LOCK:
        _HELD_BACK[key] = held
    return held


def _channels_refused(node: PluginNode, channels: int) -> str | None:
    """Why a plugin file refuses ``channels`` channels (pedalboard's reason), or None: tried once per
    process on the scratch instance. A VST3's buses are fixed when it is built: many take stereo only."""
    info = _external_info(_pedalboard(), node.path or "", node.plugin_name)
    with _LOCK:
        if channels not in info.refused:
            try:
                info.probe.process(np.zeros((channels, 64), np.float32), 48000, buffer_size=64, reset=True)
                info.refused[channels] = None
            except (RuntimeError, ValueError) as err:
                info.refused[channels] = " ".join(str(err).split())
        return info.refused[channels]


def _check_pitch_shift_streams(pb: Any) -> None:
    """Refuse pedalboard's PitchShift while it returns silence when streamed (spotify/pedalboard#415).

    Its one-second priming delay line is cleared on every ``process`` call with ``reset=False``, so
    a stream hears only silence. Probed once per process: two seconds of a tone in 512-sample blocks.
    """
    if not _PITCH_SHIFT_STREAMS:
        rate = 48000
        tone = (0.5 * np.sin(2 * np.pi * 440.0 * np.arange(2 * rate) / rate)).astype(np.float32)[None, :]
        shifter = pb.PitchShift(semitones=0.0)
        out = [shifter.process(tone[:, i : i + 512], rate, buffer_size=512, reset=False)
               for i in range(0, tone.shape[1], 512)]  # fmt: skip
        _PITCH_SHIFT_STREAMS.append(any(bool(np.any(y)) for y in out))
    if not _PITCH_SHIFT_STREAMS[0]:
        raise ParameterError(
            f"plugin='PitchShift': pedalboard {getattr(pb, '__version__', '')}'s PitchShift returns silence "
            "when streamed (reset=False clears its priming delay line on every call: "
            "spotify/pedalboard#415), so it cannot run as a node; expected another plugin, or "
            "sonicmix.PitchShift on the whole programme"
        )

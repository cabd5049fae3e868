"""The node model: parameters as frozen values, state passed explicitly.

A node is a small frozen dataclass holding parameters (with units in their
names), validated on construction. It processes audio in two ways:

- one-shot: ``y = node(audio, sample_rate)`` validates the input, builds a
  fresh state and processes the whole buffer;
- streamed: ``state = node.init_state(channels, sample_rate, dtype)``, then
  ``y, state = node.process(block, sample_rate, state)`` block after block.

Both give the same samples (to float tolerance) for any block sizes, which
the test suite checks for every node. ``process`` may reuse the buffers of
the state it is given, so a state must not be used again after it has been
passed on; ``copy.deepcopy`` it to branch. ``process`` does no validation:
it is the hot path, and checks happen at the entry points. The one exception
is the block's dtype, compared with the state's in O(1): a state holds its
memories and coefficients in the dtype given to ``init_state``, and a block of
another dtype raises :class:`~sonicmix.errors.AudioError` (see
:func:`check_stream_dtype`) instead of running float64 audio through float32
arithmetic, or returning float64 for float32 audio. Stateless nodes (state
``None``) and nodes whose state holds nothing dtype-bound take either dtype.
A node whose state would carry a NaN forever (the phase vocoder of
``PitchShift`` and ``TimeStretch``) also refuses a block with a non-finite
sample, naming its position in the stream, before the state is touched.

A node that takes a side-chain key (a ducker, a keyed compressor) sets
``takes_key = True`` and receives it as ``process(..., key=...)``, an array
with the same number of samples as the block. A node with lookahead reports
it as ``latency_samples(sample_rate)``; its output is delayed by that much,
and graphs compensate parallel paths for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_audio, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.dsp.sosfilter import retune_sos_state, sos_process, sos_state
from sonicmix.errors import AudioError, ParameterError

__all__ = ["Node", "Chain", "ChainState", "check_stream_dtype", "layout_after"]


class Node:
    """Base class of every processing node.

    Subclasses are ``@dataclass(frozen=True, slots=True, kw_only=True)``
    and override :meth:`process`, and :meth:`init_state` if they keep state.
    """

    #: True if the node needs a side-chain key passed to ``process(..., key=...)``.
    takes_key: ClassVar[bool] = False
    #: Parameters a graph may automate while streaming (see :meth:`retune`).
    automatable: ClassVar[frozenset[str]] = frozenset()

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> Any:
        """Return the state before the first sample (``None`` for stateless nodes)."""
        return None

    def process(
        self, x: Audio, sample_rate: int, state: Any, *, key: Audio | None = None
    ) -> tuple[Audio, Any]:
        """Process one block ``x`` of shape ``(channels, n)``; return ``(y, next_state)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement process()")  # pragma: no cover

    def latency_samples(self, sample_rate: int) -> int:
        """Delay, in samples, that the node adds to its input (lookahead)."""
        return 0

    def retune(self, state: Any, sample_rate: int) -> Any:
        """Carry a stream's ``state`` over to this node's (changed) parameters.

        Called when automation changes a parameter in :attr:`automatable`
        mid-stream: the signal memory in ``state`` is kept and anything
        derived from the parameters is redone. The default keeps the state as
        it is, which is right for nodes whose state holds no parameter-derived
        values.
        """
        return state

    def sections(self, sample_rate: int) -> np.ndarray | None:
        """The node as second-order sections ``(n, 6)``, if it is exactly a biquad cascade.

        A :class:`Chain` runs neighbouring cascades as one filter (one
        ``sosfilt`` call costs about as much for three sections as for one).
        """
        return None

    def output_channels(self, channels: int) -> int:
        """Channel count of the output for ``channels`` input channels."""
        return channels

    def output_layout(self, channels: int) -> str | None:
        """Name of the layout the output is in, for a node that renders into one, else None.

        A panner or a decoder into a named layout (``ObjectPanner(layout="7.1.4")``)
        returns that layout's name, which a graph routes its output by. None (the
        default): a node that keeps the channel count keeps its input's layout;
        one that changes it leaves the usual layout of its output count (stereo
        for two channels), or none (an Ambisonics signal, until a decoder).
        """
        return None

    def __call__(self, audio: Audio, sample_rate: int, *, key: Audio | None = None) -> Audio:
        """Process a whole buffer in one go and return the output.

        Parameters
        ----------
        audio : np.ndarray, shape=(channels, samples)
            float32 or float64 input; the output has the same dtype.
        sample_rate : int
            Sample rate in Hz.
        key : np.ndarray, shape=(key_channels, samples), optional
            Side-chain key, for nodes that take one.
        """
        x = check_audio(audio, "audio", min_samples=0)
        rate = check_sample_rate(sample_rate)
        key = self._check_key(x, key)
        state = self.init_state(x.shape[0], rate, x.dtype)
        y, _ = self.process(x, rate, state, key=key)
        return y

    def _check_key(self, x: np.ndarray, key: Audio | None) -> Audio | None:
        name = type(self).__name__
        if key is None:
            if self.takes_key:
                raise ParameterError(f"{name} needs a side-chain key; pass key=<(channels, samples) array>")
            return None
        if not self.takes_key:
            raise ParameterError(f"{name} takes no side-chain key, but key= was given")
        k = check_audio(key, "key", min_samples=0)
        if k.shape[1] != x.shape[1]:
            raise AudioError(
                f"key has {k.shape[1]} samples but audio has {x.shape[1]}; expected the same length"
            )
        return k.astype(x.dtype, copy=False)


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """Nodes applied one after the other; itself a node.

    The key, if given, is passed to every node in the chain that takes one.
    Latency is the sum of the nodes' latencies.

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.nodes.gain import Gain
    >>> chain = Chain((Gain(gain_db=-6.0), Gain(gain_db=6.0)))
    >>> x = np.ones((2, 4), dtype=np.float32)
    >>> bool(np.allclose(chain(x, 48000), x))
    True
    """

    nodes: tuple[Node, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.nodes, tuple):
            if isinstance(self.nodes, Sequence):
                object.__setattr__(self, "nodes", tuple(self.nodes))
            else:
                raise ParameterError(f"nodes={self.nodes!r}; expected a tuple of nodes")
        for i, node in enumerate(self.nodes):
            if not isinstance(node, Node):
                raise ParameterError(f"nodes[{i}]={node!r} is not a sonicmix node")

    @property
    def takes_key(self) -> bool:  # type: ignore[override]
        return any(node.takes_key for node in self.nodes)

    def _plan(self, sample_rate: int) -> list[Node | np.ndarray]:
        """Processing stages: a node, or the concatenated sections of a run of cascade nodes."""
        plan: list[Node | np.ndarray] = []
        run: list[np.ndarray] = []
        for node in self.nodes:
            sections = None if node.takes_key else node.sections(sample_rate)
            if sections is not None:
                run.append(sections)
                continue
            if run:
                plan.append(np.concatenate(run))
                run = []
            plan.append(node)
        if run:
            plan.append(np.concatenate(run))
        return plan

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> ChainState:
        """The stages' states; each run of biquad-cascade nodes becomes one fused filter stage."""
        stages: list[Node | None] = []
        states: list[Any] = []
        inputs: list[int] = []
        for stage in self._plan(sample_rate):
            inputs.append(channels)
            if isinstance(stage, Node):
                stages.append(stage)
                states.append(stage.init_state(channels, sample_rate, dtype))
                channels = stage.output_channels(channels)
            else:
                stages.append(None)
                states.append(sos_state(stage, channels, dtype))
        return ChainState(tuple(stages), states, tuple(inputs), np.dtype(dtype))

    def retune(self, state: ChainState, sample_rate: int) -> ChainState:
        """Move a chain's stream state to this chain's parameters (same node types, same order)."""
        stages: list[Node | None] = []
        for i, stage in enumerate(self._plan(sample_rate)):
            old = state.states[i]
            if isinstance(stage, Node):
                stages.append(stage)
                state.states[i] = stage.retune(old, sample_rate)
            else:
                stages.append(None)
                state.states[i] = retune_sos_state(old, stage, state.inputs[i], state.dtype)
        state.stages = tuple(stages)
        return state

    def process(
        self, x: Audio, sample_rate: int, state: ChainState, *, key: Audio | None = None
    ) -> tuple[Audio, ChainState]:
        check_stream_dtype(self, x, state.dtype)
        for i, stage in enumerate(state.stages):
            if stage is None:
                x, state.states[i] = sos_process(x, state.states[i])
            else:
                x, state.states[i] = stage.process(
                    x, sample_rate, state.states[i], key=key if stage.takes_key else None
                )
        return x, state

    def latency_samples(self, sample_rate: int) -> int:
        return sum(node.latency_samples(sample_rate) for node in self.nodes)

    def output_channels(self, channels: int) -> int:
        for node in self.nodes:
            channels = node.output_channels(channels)
        return channels

    def output_layout(self, channels: int) -> str | None:
        named = None
        for node in self.nodes:
            channels, named = layout_after(node, channels, named)
        return named


def layout_after(node: Node, channels: int, layout: str | None) -> tuple[int, str | None]:
    """Channel count and layout name after ``node``, given those it receives (the rule a chain keeps).

    A node that names the layout it renders into sets it; one that changes the
    channel count without naming one leaves none (the caller picks the usual
    layout of the count); any other keeps ``layout``. Used by :class:`Chain`
    and by :meth:`sonicmix.graph.Graph.chain_layout`.

    Examples
    --------
    >>> from sonicmix.nodes.gain import Gain
    >>> from sonicmix.nodes.pan import Pan
    >>> layout_after(Gain(), 1, "mono"), layout_after(Pan(), 1, "mono")
    ((1, 'mono'), (2, None))
    """
    out = node.output_channels(channels)
    named = node.output_layout(channels)
    if named is not None:
        return out, named
    return out, layout if out == channels else None


@dataclass(slots=True)
class ChainState:
    """State of a :class:`Chain`: its stages (a node, or None for a fused run of
    biquad cascades) and one state per stage."""

    stages: tuple[Node | None, ...]
    states: list[Any]
    inputs: tuple[int, ...] = ()  # channel count entering each stage
    dtype: Any = np.float32


def check_stream_dtype(node: Node, x: np.ndarray, state_dtype: Any) -> None:
    """Refuse a streamed block whose dtype is not the one its state was made for.

    Called at the top of ``process`` by every node whose state holds memories
    or coefficients in a fixed dtype (filters, delay lines, reverbs, limiter,
    dynamics, resampler...). A float32 state fed float64 blocks would run them
    in float32 arithmetic behind a float64 result (a Reverb's output then
    differs from the one-shot float64 call by ~1e-5); a float64 state fed
    float32 blocks may return float64. Either is refused rather than silently
    converted: a state that changed precision mid-stream would be as surprising.

    Parameters
    ----------
    node : Node
        The node being run (named in the message).
    x : np.ndarray, shape=(channels, n)
        The block.
    state_dtype : np.dtype or type
        The dtype the state was made for (``init_state(..., dtype)``).

    Raises
    ------
    AudioError
        ``x.dtype != state_dtype``; the message names the node, both dtypes and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.nodes.reverb import Reverb
    >>> rev = Reverb()
    >>> state = rev.init_state(2, 48000)  # dtype defaults to float32
    >>> rev.process(np.zeros((2, 480)), 48000, state)  # float64 blocks
    Traceback (most recent call last):
    ...
    sonicmix.errors.AudioError: Reverb: block dtype=float64 but the stream's state was made for float32; \
expected blocks of the dtype given to init_state (make the state with Reverb.init_state(channels, \
sample_rate, np.float64), or convert the blocks with .astype(np.float32))
    """
    if x.dtype != state_dtype:
        name = type(node).__name__
        want = np.dtype(state_dtype).name
        raise AudioError(
            f"{name}: block dtype={x.dtype.name} but the stream's state was made for {want}; expected "
            f"blocks of the dtype given to init_state (make the state with {name}.init_state(channels, "
            f"sample_rate, np.{x.dtype.name}), or convert the blocks with .astype(np.{want}))"
        )


def check_stream_channels(node: Node, x: np.ndarray, channels: int) -> None:
    """Refuse a streamed block whose channel count is not the one its state was made for.

    Raises
    ------
    AudioError
        ``x.shape[0] != channels``; the message names the node and both counts.

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.nodes.resample import Resample
    >>> node = Resample(target_rate_hz=16000)
    >>> node.process(np.zeros((1, 480), np.float32), 48000, node.init_state(2, 48000))
    Traceback (most recent call last):
    ...
    sonicmix.errors.AudioError: Resample: the block has 1 channel but the stream's state was made for 2; \
expected blocks of the channel count given to init_state
    """
    if x.shape[0] != channels:
        got = x.shape[0]
        raise AudioError(
            f"{type(node).__name__}: the block has {got} channel{'s' if got != 1 else ''} but the stream's "
            f"state was made for {channels}; expected blocks of the channel count given to init_state"
        )


def replace(node: Node, **changes: Any) -> Node:
    """Return a copy of ``node`` with some parameters changed (validated again)."""
    return dataclasses.replace(node, **changes)  # type: ignore[type-var]

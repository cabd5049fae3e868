"""Gain: a level change that glides, rather than steps, when automation changes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.nodes.base import Node
from sonicmix.units import db_to_gain

__all__ = ["Gain", "GainState", "GLIDE_SAMPLES"]

#: A retuned gain glides to its new value over this many samples (a graph's automation retunes
#: a moving Gain every 32 samples, ``sonicmix.renderer.RAMP_SAMPLES``, so the glides join up).
GLIDE_SAMPLES = 32


@dataclass(slots=True)
class GainState:
    """Stream state of a :class:`Gain`: the glide from ``start`` to ``target`` (linear gains).

    Attributes
    ----------
    start, target : float
        Linear gains at the glide's first sample and after it.
    done : int
        Samples of the glide processed, up to ``GLIDE_SAMPLES`` (then ``target`` holds).
    """

    start: float
    target: float
    done: int = GLIDE_SAMPLES


@dataclass(frozen=True, slots=True, kw_only=True)
class Gain(Node):
    """Multiply the signal by a gain.

    Parameters
    ----------
    gain_db : float, default 0.0
        Level change in dB (relative). Must be finite and <= +96 dB; use
        :class:`Polarity` to invert the signal.

    Notes
    -----
    A retune to a new ``gain_db`` mid-stream (automation) does not step the
    level: the linear gain moves along a straight line from the gain in force
    to the new one over ``GLIDE_SAMPLES`` (32) samples, the first of them still
    at the old gain. A glide under way is cut short and the next starts from
    where it was.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 3), dtype=np.float32)
    >>> Gain(gain_db=-6.0206)(x, 48000).round(3)
    array([[0.5, 0.5, 0.5]], dtype=float32)

    Retuned, it glides:

    >>> state = Gain(gain_db=0.0).init_state(1, 48000)
    >>> _, state = Gain(gain_db=0.0).process(np.ones((1, 8)), 48000, state)
    >>> quiet = Gain(gain_db=-120.0)
    >>> y, state = quiet.process(np.ones((1, 40)), 48000, quiet.retune(state, 48000))
    >>> y[0, [0, 16, 31, 32]].round(3).tolist()
    [1.0, 0.5, 0.031, 0.0]
    """

    gain_db: float = 0.0
    automatable: ClassVar[frozenset[str]] = frozenset({"gain_db"})
    #: A graph moves these along the automation's line (see :meth:`retune`).
    interpolated: ClassVar[frozenset[str]] = frozenset({"gain_db"})

    def __post_init__(self) -> None:
        check_range("gain_db", self.gain_db, high=96.0)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> GainState:
        """The gain in force, with no glide under way."""
        gain = db_to_gain(self.gain_db)
        return GainState(start=gain, target=gain)

    def retune(self, state: GainState, sample_rate: int) -> GainState:
        """Glide from the gain in force to this node's over ``GLIDE_SAMPLES`` samples."""
        target = db_to_gain(self.gain_db)
        if target == state.target:
            return state
        now = state.start + (state.target - state.start) * min(state.done, GLIDE_SAMPLES) / GLIDE_SAMPLES
        return GainState(start=now, target=target, done=0)

    def process(
        self, x: Audio, sample_rate: int, state: GainState, *, key: Audio | None = None
    ) -> tuple[Audio, GainState]:
        """Apply the gain (gliding, if a retune started a glide); the state tracks the glide."""
        if state.done >= GLIDE_SAMPLES:
            return x * x.dtype.type(state.target), state
        m = min(x.shape[1], GLIDE_SAMPLES - state.done)
        ramp = state.start + (state.target - state.start) * (state.done + np.arange(m)) / GLIDE_SAMPLES
        y = np.empty_like(x)
        np.multiply(x[:, :m], ramp.astype(x.dtype), out=y[:, :m])
        np.multiply(x[:, m:], x.dtype.type(state.target), out=y[:, m:])
        state.done += m
        return y, state

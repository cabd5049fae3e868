"""Feedback delay (echo) with filters in the feedback path."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.errors import ParameterError
from sonicmix.nodes.base import Node

__all__ = ["Delay"]

_BUTTERWORTH_Q = 1.0 / math.sqrt(2.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Delay(Node):
    """Echoes: a delay line whose output is filtered and fed back into it.

    With ``D = round(time_s * sample_rate)`` samples and ``F`` the feedback
    filter (identity when both filter frequencies are None), the delayed
    ("wet") signal is the recursion

    ``w[n] = x[n - D] + feedback * F(w)[n - D]``

    so an impulse gives echoes at ``D, 2D, 3D, ...`` samples with gains
    ``1, feedback, feedback**2, ...``, each repeat passing through ``F`` once
    more (high echoes grow darker and thinner). The output crossfades dry
    and wet, ``y = (1 - mix) * x + mix * w``, like pedalboard's ``Delay``.
    Channels are independent. The filters act on the feedback only, so they
    have no effect when ``feedback=0`` (a single echo is unfiltered).

    Parameters
    ----------
    time_s : float, default 0.25
        Delay time in seconds, 0 < time_s <= 30; at least one sample at the
        sample rate in use.
    feedback : float, default 0.35
        Gain of each repeat relative to the previous, 0 <= feedback < 1 (for
        a decaying tail).
    mix : float, default 0.5
        Wet share of the output, 0 (dry only) to 1 (wet only).
    feedback_lowpass_hz : float or None, default None
        Cutoff of a second-order Butterworth low-pass (Audio EQ Cookbook,
        Q = 1/sqrt(2)) in the feedback path; None for none. Must lie below
        the Nyquist frequency.
    feedback_highpass_hz : float or None, default None
        Cutoff of a second-order Butterworth high-pass in the feedback path;
        None for none.

    Notes
    -----
    The recursion runs in a small compiled loop (numba, float64 arithmetic)
    that carries the delay line and filter state between blocks, so
    streamed output equals one-shot output exactly for any block sizes.
    The state holds a ring buffer of ``channels * D`` float64 values.

    Automation (in a graph; see ``docs/automation.md``): every parameter
    may follow an envelope, changing at the start of each control block.
    ``mix`` and ``feedback`` change the gains and nothing else; the
    feedback filters are redesigned and keep their memory (a filter
    switched on by automation starts from rest). The filters keep running
    while ``feedback`` is 0, so they carry on where they were when it rises
    again. A new ``time_s`` *jumps*: the line keeps the last ``D'`` samples
    written to it (``D'`` the new length), and from the change on it reads
    back what was written ``D'`` samples earlier. Shortening forgets the oldest
    ``D - D'`` samples; lengthening by ``k`` samples reads ``k`` samples of
    silence first, which the line never held. A jump is a discontinuity in
    the wet signal (a click on sustained material), and a ramp of
    ``time_s`` becomes a staircase of jumps: there is no interpolated,
    pitch-bending read.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 8), dtype=np.float32)
    >>> x[0, 0] = 1.0
    >>> Delay(time_s=0.002, feedback=0.5, mix=1.0)(x, 1000)
    array([[0.  , 0.  , 1.  , 0.  , 0.5 , 0.  , 0.25, 0.  ]], dtype=float32)

    Two chunks give the one-shot result:

    >>> node = Delay(time_s=0.002, feedback=0.5, mix=1.0)
    >>> state = node.init_state(1, 1000, np.float32)
    >>> a, state = node.process(x[:, :3], 1000, state)
    >>> b, state = node.process(x[:, 3:], 1000, state)
    >>> np.concatenate([a, b], axis=1)
    array([[0.  , 0.  , 1.  , 0.  , 0.5 , 0.  , 0.25, 0.  ]], dtype=float32)
    """

    time_s: float = 0.25
    feedback: float = 0.35
    mix: float = 0.5
    feedback_lowpass_hz: float | None = None
    feedback_highpass_hz: float | None = None

    automatable: ClassVar[frozenset[str]] = frozenset(
        {"time_s", "feedback", "mix", "feedback_lowpass_hz", "feedback_highpass_hz"}
    )
    #: Parameters that cannot follow automation, and why (none: every parameter can).
    automation_refusals: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self) -> None:
        check_range(
            "time_s",
            self.time_s,
            low=0.0,
            high=30.0,
            low_inclusive=False,
            hint="seconds: for 250 ms use 0.25",
        )
        check_range(
            "feedback",
            self.feedback,
            low=0.0,
            high=1.0,
            high_inclusive=False,
            hint="feedback >= 1 never decays; for inverted repeats use Polarity on the input",
        )
        check_range("mix", self.mix, low=0.0, high=1.0)
        for name in ("feedback_lowpass_hz", "feedback_highpass_hz"):
            value = getattr(self, name)
            if value is not None:
                check_range(name, value, low=0.0, low_inclusive=False)

    def _delay_samples(self, sample_rate: int) -> int:
        d = round(self.time_s * sample_rate)
        if d < 1:
            raise ParameterError(
                f"time_s={self.time_s:g} is less than one sample at sample_rate={sample_rate}; "
                f"expected time_s >= {0.5 / sample_rate:.3g}"
            )
        return d

    def _feedback_sos(self, sample_rate: int) -> np.ndarray:
        from sonicmix.dsp import biquad

        sections = [np.zeros((0, 6))]
        nyquist = sample_rate / 2
        for name, design in (
            ("feedback_lowpass_hz", biquad.lowpass),
            ("feedback_highpass_hz", biquad.highpass),
        ):
            freq = getattr(self, name)
            if freq is None:
                continue
            if freq >= nyquist:
                raise ParameterError(
                    f"{name}={freq:g} is at or above the Nyquist frequency of sample_rate={sample_rate}; "
                    f"expected {name} < {nyquist:g} (or None for no filter)"
                )
            sections.append(design(freq_hz=freq, q=_BUTTERWORTH_Q, sample_rate=sample_rate))
        return np.concatenate(sections, axis=0)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> dict[str, Any]:
        # The filters run even at feedback=0, where their output is multiplied by 0, so that
        # automation raising the feedback finds them with their memory.
        sos = self._feedback_sos(sample_rate)
        return {
            "ring": np.zeros((channels, self._delay_samples(sample_rate))),
            "position": 0,
            "sos": np.ascontiguousarray(sos),
            "zf": np.zeros((channels, sos.shape[0], 2)),
            "node": self,  # the parameters "ring" and "sos" follow (what retune compares against)
        }

    def retune(self, state: dict[str, Any], sample_rate: int) -> dict[str, Any]:
        """Carry a stream over to changed parameters (automation; see the Notes).

        The delay line keeps its most recent samples (a new ``time_s`` jumps)
        and the feedback filters keep their memory when their number of
        sections is unchanged; otherwise they start from rest.
        """
        if state["node"] == self:
            return state
        ring, position = state["ring"], state["position"]
        channels, old = ring.shape
        new = self._delay_samples(sample_rate)
        if new != old:
            # oldest first: the value at `position` was written `old` samples ago
            history = np.concatenate((ring[:, position:], ring[:, :position]), axis=1)
            ring = np.zeros((channels, new))
            keep = min(old, new)
            ring[:, new - keep :] = history[:, old - keep :]
            state["ring"], state["position"] = ring, 0
        sos = np.ascontiguousarray(self._feedback_sos(sample_rate))
        if state["zf"].shape[1] != sos.shape[0]:  # a filter switched on (at the start: None -> a number)
            state["zf"] = np.zeros((channels, sos.shape[0], 2))
        state["sos"], state["node"] = sos, self
        return state

    def process(
        self, x: Audio, sample_rate: int, state: dict[str, Any], *, key: Audio | None = None
    ) -> tuple[Audio, dict[str, Any]]:
        from sonicmix.nodes._delay_kernel import feedback_delay

        y = np.empty_like(x)
        if x.shape[1]:
            state["position"] = feedback_delay(
                x,
                y,
                state["ring"],
                state["position"],
                state["sos"],
                state["zf"],
                float(self.feedback),
                1.0 - float(self.mix),
                float(self.mix),
            )
        return y, state

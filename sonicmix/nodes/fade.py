"""Fades: a gain ramp in at the start of a programme and out at its end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.errors import ParameterError
from sonicmix.nodes.base import Node
from sonicmix.nodes.utility import _check_choice

__all__ = ["Fade", "fade_curve"]

FadeCurve = Literal["linear", "equal_power", "exponential", "logarithmic", "s_curve"]
_CURVES: tuple[str, ...] = ("linear", "equal_power", "exponential", "logarithmic", "s_curve")

# The exponential curve spans 60 dB: 10**(3 t) runs from 1 to 1000.
_EXP_SPAN = 1000.0


def fade_curve(t: np.ndarray, curve: FadeCurve = "linear") -> np.ndarray:
    """Fade-in gain at normalised time ``t`` (0 = start of the fade, 1 = end).

    Every curve rises from 0 at ``t=0`` to 1 at ``t=1``; a fade-out uses the
    same curve backwards, ``fade_curve(1 - t)``.

    - ``"linear"``: ``t``. A linear fade-out and fade-in of the same length
      sum to 1 in amplitude (a crossfade of correlated material keeps its level).
    - ``"equal_power"``: ``sin(pi t / 2)``. Fade-out and fade-in sum to 1 in
      power, ``sin**2 + cos**2 == 1`` (a crossfade of uncorrelated material
      keeps its level).
    - ``"exponential"``: ``(1000**t - 1) / 999``; starts slowly. Over its
      second half the level is within 0.3 dB of a straight 60 dB ramp in dB,
      ``60 (t - 1)``.
    - ``"logarithmic"``: ``1 - exponential(1 - t)``; rises fast, then settles.
    - ``"s_curve"``: the raised cosine ``(1 - cos(pi t)) / 2``; slow at both
      ends, and like "linear" a fade-out and fade-in sum to 1 in amplitude.

    Parameters
    ----------
    t : np.ndarray
        Normalised times, clipped to [0, 1].
    curve : str, default "linear"
        One of the curves above.

    Returns
    -------
    np.ndarray
        Gains, float64 (or ``t``'s float dtype).

    Examples
    --------
    >>> import numpy as np
    >>> fade_curve(np.array([0.0, 0.5, 1.0]), "equal_power").round(4)
    array([0.    , 0.7071, 1.    ])
    """
    _check_choice("curve", curve, _CURVES)
    t = np.clip(np.asarray(t, dtype=np.result_type(t, np.float32)), 0.0, 1.0)
    if curve == "linear":
        return t
    if curve == "equal_power":
        return np.sin(t * (np.pi / 2))
    if curve == "exponential":
        return (np.power(_EXP_SPAN, t) - 1.0) / (_EXP_SPAN - 1.0)
    if curve == "logarithmic":
        return 1.0 - (np.power(_EXP_SPAN, 1.0 - t) - 1.0) / (_EXP_SPAN - 1.0)
    return 0.5 - 0.5 * np.cos(t * np.pi)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fade(Node):
    """Fade in from the start of the programme and out at its end.

    Times are counted from the first sample the node processes. The fade-in
    gain at sample ``n`` is ``fade_curve(n / N_in)`` (0 at the first sample,
    full level from sample ``N_in``). The fade-out ends at the programme end
    ``E``: the gain at sample ``n`` is ``fade_curve((E - n) / N_out)``, full
    level until sample ``E - N_out``, falling towards 0 at ``E``, the first
    sample after the end; samples from ``E`` on are silenced. The fade-out is
    therefore the exact time-reverse of a fade-in of the same length, so a
    fade-out and a fade-in that overlap sample for sample form a crossfade
    (equal-power curves sum to unity power). Overlapping fades multiply.

    Where is the end? One-shot, ``node(audio, sample_rate)``, takes the end
    of ``audio`` when ``duration_s`` is None. Streaming cannot know it, so a
    streamed fade-out needs ``duration_s``: ``init_state`` raises
    ParameterError for ``fade_out_s > 0`` without it. A Fade inside a
    :class:`~sonicmix.nodes.base.Chain` or a render is streamed, so it needs
    ``duration_s`` there too.

    Parameters
    ----------
    fade_in_s : float, default 0.0
        Fade-in length in seconds, >= 0 (0 for none).
    fade_out_s : float, default 0.0
        Fade-out length in seconds, >= 0 (0 for none); at most ``duration_s``.
    curve : {"linear", "equal_power", "exponential", "logarithmic", "s_curve"}, default "linear"
        Shape of both fades; see :func:`fade_curve`.
    duration_s : float or None, default None
        Programme length in seconds: the fade-out ends here and later samples
        are silenced. ``None``: the end of the buffer in one-shot use;
        required for a streamed fade-out.

    Raises
    ------
    ParameterError
        From ``init_state`` for a streamed fade-out without ``duration_s``.

    Notes
    -----
    A fade is itself a gain envelope fixed to the programme's start and end,
    so none of its parameters can follow automation in a graph: automate a
    :class:`~sonicmix.nodes.gain.Gain` node's ``gain_db`` or the track's
    ``fader_db`` (sample-accurate) for any other shape.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 8), dtype=np.float32)
    >>> Fade(fade_in_s=0.002, fade_out_s=0.001)(x, 2000)
    array([[0.  , 0.25, 0.5 , 0.75, 1.  , 1.  , 1.  , 0.5 ]], dtype=float32)

    Streamed in two chunks, with the programme length given:

    >>> node = Fade(fade_in_s=0.002, fade_out_s=0.001, duration_s=0.004)
    >>> state = node.init_state(1, 2000, np.float32)
    >>> a, state = node.process(x[:, :3], 2000, state)
    >>> b, state = node.process(x[:, 3:], 2000, state)
    >>> np.concatenate([a, b], axis=1)
    array([[0.  , 0.25, 0.5 , 0.75, 1.  , 1.  , 1.  , 0.5 ]], dtype=float32)
    """

    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    curve: FadeCurve = "linear"
    duration_s: float | None = None

    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "fade_in_s": "a fade is already a gain envelope; automate a Gain's gain_db or the fader_db instead",
        "fade_out_s": "a fade is already a gain envelope; automate a Gain's gain_db or the fader_db instead",
        "curve": "it is a choice, not a number",
        "duration_s": "it fixes where the programme ends, which the fade-out counts back from",
    }

    def __post_init__(self) -> None:
        hint = "seconds: for 10 ms use 0.01"
        check_range("fade_in_s", self.fade_in_s, low=0.0, hint=hint)
        check_range("fade_out_s", self.fade_out_s, low=0.0, hint=hint)
        _check_choice("curve", self.curve, _CURVES)
        if self.duration_s is not None:
            check_range("duration_s", self.duration_s, low=0.0, low_inclusive=False, hint=hint)
            if self.fade_out_s > self.duration_s:
                raise ParameterError(
                    f"fade_out_s={self.fade_out_s:g} is longer than duration_s={self.duration_s:g}; "
                    "expected fade_out_s <= duration_s"
                )

    def _state(self, sample_rate: int, end_samples: int | None) -> dict[str, Any]:
        return {
            "position": 0,
            "in_samples": round(self.fade_in_s * sample_rate),
            "out_samples": round(self.fade_out_s * sample_rate),
            "end": end_samples,
        }

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> dict[str, Any]:
        if self.duration_s is None:
            if self.fade_out_s > 0:
                raise ParameterError(
                    f"Fade(fade_out_s={self.fade_out_s:g}) cannot stream without duration_s: the fade-out "
                    "ends at the programme end, which a stream does not know; expected duration_s=<programme "
                    "length in seconds> (one-shot calls use the buffer length)"
                )
            return self._state(sample_rate, None)
        return self._state(sample_rate, round(self.duration_s * sample_rate))

    def __call__(self, audio: Audio, sample_rate: int, *, key: Audio | None = None) -> Audio:
        if self.duration_s is not None:
            return Node.__call__(self, audio, sample_rate, key=key)
        x = check_audio(audio, "audio", min_samples=0)
        rate = check_sample_rate(sample_rate)
        self._check_key(x, key)
        y, _ = self.process(x, rate, self._state(rate, x.shape[1]))
        return y

    def process(
        self, x: Audio, sample_rate: int, state: dict[str, Any], *, key: Audio | None = None
    ) -> tuple[Audio, dict[str, Any]]:
        n = x.shape[1]
        start = state["position"]
        stop = start + n
        n_in, n_out, end = state["in_samples"], state["out_samples"], state["end"]
        state["position"] = stop
        fading_in = start < n_in
        fading_out = end is not None and stop > end - n_out
        if not (fading_in or fading_out):
            return x.copy(), state
        idx = np.arange(start, stop, dtype=np.float64)
        gain = np.ones(n, dtype=np.float64)
        if fading_in:
            gain *= fade_curve(idx / n_in, self.curve)
        if fading_out:
            if n_out > 0:
                gain *= fade_curve((end - idx) / n_out, self.curve)
            else:
                gain[idx >= end] = 0.0
        return x * gain.astype(x.dtype), state

"""Stereo placement: panning (with selectable pan law) and mid/side width."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.errors import LayoutError
from sonicmix.nodes.base import Node
from sonicmix.nodes.utility import _check_choice

__all__ = ["Pan", "Width", "pan_gains", "pan_gains_array", "placement_gains"]

PanLaw = Literal["constant_power", "compromise", "linear"]
_LAWS: tuple[str, ...] = ("constant_power", "compromise", "linear")


def pan_gains(position: float, law: PanLaw = "constant_power") -> tuple[float, float]:
    """Left and right gains that place a mono source at ``position``.

    With ``theta = (position + 1) * pi / 4`` (0 hard left, pi/2 hard right):

    - ``"constant_power"``: ``(cos theta, sin theta)``; ``L**2 + R**2 == 1``
      everywhere, so the power is constant; -3.01 dB each at the centre.
    - ``"linear"``: ``((1 - position) / 2, (1 + position) / 2)``; ``L + R == 1``
      everywhere (the amplitude is constant); -6.02 dB each at the centre.
    - ``"compromise"``: the geometric mean of the two above,
      ``sqrt(cos theta * (1 - position) / 2)`` and its mirror; -4.52 dB each at
      the centre (the "-4.5 dB" law).

    Every law gives ``(1, 0)`` hard left and ``(0, 1)`` hard right.

    Parameters
    ----------
    position : float
        -1 (hard left) to 1 (hard right); 0 is the centre.
    law : {"constant_power", "compromise", "linear"}, default "constant_power"
        The pan law.

    Returns
    -------
    (left, right) : tuple of float
        Amplitude gains.

    Examples
    --------
    >>> [round(g, 4) for g in pan_gains(0.0)]
    [0.7071, 0.7071]
    >>> pan_gains(-1.0, "linear")
    (1.0, 0.0)
    """
    p = check_range("position", position, low=-1.0, high=1.0)
    _check_choice("law", law, _LAWS)
    left, right = pan_gains_array(np.array(p), law)
    return float(left), float(right)


def pan_gains_array(position: np.ndarray, law: PanLaw = "constant_power") -> tuple[np.ndarray, np.ndarray]:
    """:func:`pan_gains` for an array of positions (no validation: positions are clipped to [-1, 1])."""
    p = np.clip(np.asarray(position, dtype=np.float64), -1.0, 1.0)
    theta = (p + 1.0) * (math.pi / 4.0)
    # Exact end points: cos(pi/2) is 6e-17, not 0.
    cos_t = np.where(p == 1.0, 0.0, np.cos(theta))
    sin_t = np.where(p == -1.0, 0.0, np.sin(theta))
    lin_l, lin_r = (1.0 - p) / 2.0, (1.0 + p) / 2.0
    if law == "constant_power":
        return cos_t, sin_t
    if law == "linear":
        return lin_l, lin_r
    return np.sqrt(cos_t * lin_l), np.sqrt(sin_t * lin_r)


def placement_gains(position: np.ndarray, law: PanLaw, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Left and right gains that :class:`Pan` applies to a mono (pan) or stereo (balance) input.

    Mono: the law's gains. Stereo: each channel keeps unity gain until the
    position moves away from it, then follows the law relative to its centre
    value, so the centre leaves a stereo input unchanged.
    """
    left, right = pan_gains_array(position, law)
    if channels == 1:
        return left, right
    centre_l, centre_r = pan_gains_array(np.zeros(()), law)
    return np.minimum(1.0, left / centre_l), np.minimum(1.0, right / centre_r)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pan(Node):
    """Place a mono source in the stereo field, or balance a stereo one.

    Mono input (1 channel) becomes stereo: left is ``gL * x`` and right is
    ``gR * x`` with the gains of :func:`pan_gains`.

    Stereo input (2 channels) stays stereo and is *balanced*: the channels are
    never mixed into each other; the channel on the side the position moves
    towards keeps unity gain and the other is scaled by the law's gain at
    ``position`` relative to its gain at the centre, reaching silence at the
    far side. At ``position=0`` a stereo input passes unchanged, for every law.
    (With ``position > 0``: ``L * gL(position) / gL(0)`` and ``R``.)

    Parameters
    ----------
    position : float, default 0.0
        -1 (hard left) to 1 (hard right); 0 is the centre.
    law : {"constant_power", "compromise", "linear"}, default "constant_power"
        The pan law, by its centre gain: "constant_power" -3.01 dB (power is
        the same at every position), "compromise" -4.52 dB (the "-4.5 dB" law,
        the geometric mean of the other two), "linear" -6.02 dB (the two gains
        sum to 1).

    Raises
    ------
    LayoutError
        For input with more than two channels.

    See Also
    --------
    pan_gains : The gains of each law.
    Width : Stereo width by mid/side scaling.
    sonicmix.graph.Track : ``pan=`` places a track with sample-accurate automation.

    Notes
    -----
    Automation (in a graph; see ``docs/automation.md``): ``position`` may
    follow an envelope; it changes at the start of each control block, a
    step of the gains there. For a pan that moves every sample, use the
    track's own ``pan``, which takes an
    :class:`~sonicmix.automation.Automation` directly.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 2), dtype=np.float32)
    >>> Pan(position=0.0)(x, 48000).round(4)
    array([[0.7071, 0.7071],
           [0.7071, 0.7071]], dtype=float32)
    >>> Pan(position=1.0, law="linear")(np.ones((2, 1)), 48000)
    array([[0.],
           [1.]])
    """

    position: float = 0.0
    law: PanLaw = "constant_power"

    automatable: ClassVar[frozenset[str]] = frozenset({"position"})
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "law": "it is a choice, not a number ('constant_power', 'compromise' or 'linear')"
    }

    def __post_init__(self) -> None:
        check_range("position", self.position, low=-1.0, high=1.0, hint="-1 is hard left, 1 hard right")
        _check_choice("law", self.law, _LAWS)

    def output_channels(self, channels: int) -> int:
        if channels not in (1, 2):
            raise LayoutError(
                f"Pan takes mono or stereo input but got channels={channels}; expected 1 or 2 "
                "(downmix multichannel audio first)"
            )
        return 2

    def _gains(self, channels: int) -> tuple[float, float]:
        left, right = placement_gains(np.array(self.position), self.law, channels)
        return float(left), float(right)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> None:
        self.output_channels(channels)
        return None

    def process(
        self, x: Audio, sample_rate: int, state: Any, *, key: Audio | None = None
    ) -> tuple[Audio, Any]:
        left, right = self._gains(x.shape[0])
        y = np.empty((2, x.shape[1]), dtype=x.dtype)
        np.multiply(x[0], x.dtype.type(left), out=y[0])
        np.multiply(x[-1], x.dtype.type(right), out=y[1])
        return y, state


@dataclass(frozen=True, slots=True, kw_only=True)
class Width(Node):
    """Scale the side (L - R) signal of a stereo pair against its mid (L + R).

    With ``M = (L + R) / 2`` and ``S = (L - R) / 2`` the output is
    ``L' = M + width * S`` and ``R' = M - width * S``: ``width=1`` leaves the
    signal unchanged, 0 collapses it to mono (both channels ``M``), 2 doubles
    the side signal. The mid signal is never changed, so a mono-compatible
    downmix ``L' + R'`` is the same at every width.

    Parameters
    ----------
    width : float, default 1.0
        Side gain relative to mid, 0 to 2.

    Raises
    ------
    LayoutError
        For input that is not stereo.

    Notes
    -----
    Automation (in a graph; see ``docs/automation.md``): ``width`` may
    follow an envelope; it changes at the start of each control block.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0], [0.0]])
    >>> Width(width=0.0)(x, 48000)
    array([[0.5],
           [0.5]])
    >>> Width(width=2.0)(x, 48000)
    array([[ 1.5],
           [-0.5]])
    """

    width: float = 1.0

    automatable: ClassVar[frozenset[str]] = frozenset({"width"})
    #: Parameters that cannot follow automation, and why (none: every parameter can).
    automation_refusals: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self) -> None:
        check_range("width", self.width, low=0.0, high=2.0, hint="1 leaves the image unchanged, 0 is mono")

    def output_channels(self, channels: int) -> int:
        if channels != 2:
            raise LayoutError(
                f"Width needs stereo input but got channels={channels}; expected 2 "
                "(for a mono source, use Pan first)"
            )
        return 2

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> None:
        self.output_channels(channels)
        return None

    def process(
        self, x: Audio, sample_rate: int, state: Any, *, key: Audio | None = None
    ) -> tuple[Audio, Any]:
        # L' = a L + b R and R' = b L + a R, the mid/side scaling written out.
        a = x.dtype.type((1.0 + self.width) / 2.0)
        b = x.dtype.type((1.0 - self.width) / 2.0)
        y = np.empty_like(x)
        np.multiply(x[0], a, out=y[0])
        y[0] += b * x[1]
        np.multiply(x[1], a, out=y[1])
        y[1] += b * x[0]
        return y, state

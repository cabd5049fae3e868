"""Ambisonics nodes (AmbiX: ACN order, SN3D): encode a source, rotate a scene, decode to loudspeakers.

A chain ``(AmbisonicEncoder(order=3, ...), AmbisonicRotator(order=3, ...),
AmbisonicDecoder(order=3, layout="7.1.4"))`` on a mono track places the source
in a third-order scene, turns the scene (head tracking, a 360-degree video's
orientation) and renders it for a 7.1.4 room; the track leaves as 7.1.4. The
maths is in :mod:`sonicmix.spatial.ambisonics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_range
from sonicmix.errors import LayoutError, ParameterError
from sonicmix.layouts import Layout, get_layout
from sonicmix.nodes.base import Node
from sonicmix.nodes.objectpanner import check_direction, routable_name
from sonicmix.spatial.ambisonics import (
    DecoderMethod,
    Frame,
    channel_count,
    check_order,
    decoder_matrix,
    rotation_matrix,
    spherical_harmonics,
)
from sonicmix.spatial.matrix import GainMatrixNode, MatrixState

__all__ = ["AmbisonicEncoder", "AmbisonicRotator", "AmbisonicDecoder"]


def _check_ambisonic_input(node: Node, order: int, channels: int) -> None:
    expected = channel_count(order)
    if channels != expected:
        orders = {channel_count(n): n for n in (1, 2, 3)}
        hint = ""
        if channels in orders:
            hint = f" (that is order {orders[channels]}: pass order={orders[channels]})"
        raise LayoutError(
            f"{type(node).__name__}(order={order}) takes {expected} ACN channels but got "
            f"channels={channels}; expected (order + 1) ** 2 = {expected}{hint}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbisonicEncoder(GainMatrixNode):
    """Encode a mono (or stereo) source at a direction into an Ambisonics scene (AmbiX: ACN, SN3D).

    Output channel ``acn`` is the source times the real SN3D spherical
    harmonic of that channel at the direction
    (:func:`~sonicmix.spatial.ambisonics.spherical_harmonics`): W = x, Y = x sin az cos el,
    Z = x sin el, X = x cos az cos el, and so on up to ``order``. A stereo
    source is two sources ``stereo_width_deg`` apart, centred on the direction.

    Parameters
    ----------
    order : int, default 1
        Ambisonics order, 1 to 3: the output has 4, 9 or 16 channels.
    azimuth_deg : float, default 0.0
        Direction in degrees, positive to the left (BS.2051 and AmbiX agree);
        any finite value, taken modulo 360.
    elevation_deg : float, default 0.0
        Degrees above the horizontal plane, -90 to 90.
    stereo_width_deg : float, default 60.0
        Stereo input only: the angle between the two channels, 0 to 180.
    ramp_s : float, default 0.005
        When automation moves the source, the time the encoding gains take to
        glide (linearly, per sample) to the new direction; 0 jumps.

    Raises
    ------
    ParameterError
        For an order other than 1, 2 or 3; an angle not finite or out of range.
    LayoutError
        For input that is not mono or stereo.

    Notes
    -----
    Automation (``docs/automation.md``): ``azimuth_deg``, ``elevation_deg``
    and ``stereo_width_deg``, read every control block, then glided over
    ``ramp_s``. A glide between two directions passes through encodings of no
    single direction (the straight line between two gain vectors), which
    over 5 ms is inaudible; for a fast-moving source, automate in small steps.

    References
    ----------
    C. Nachbar, F. Zotter, E. Deleflie, A. Sontacchi, "AMBIX - a suggested
    Ambisonics format", Ambisonics Symposium 2011.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 3))
    >>> AmbisonicEncoder(order=1, azimuth_deg=90.0)(x, 48000).round(12)   # on the left: W and Y
    array([[1., 1., 1.],
           [1., 1., 1.],
           [0., 0., 0.],
           [0., 0., 0.]])

    Streamed in two blocks, the same samples:

    >>> enc = AmbisonicEncoder(order=3, azimuth_deg=30.0, elevation_deg=20.0)
    >>> x = np.random.default_rng(0).standard_normal((1, 500))
    >>> state = enc.init_state(1, 48000, x.dtype)
    >>> a, state = enc.process(x[:, :123], 48000, state)
    >>> b, state = enc.process(x[:, 123:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), enc(x, 48000)))
    True
    """

    order: int = 1
    azimuth_deg: float = 0.0
    elevation_deg: float = 0.0
    stereo_width_deg: float = 60.0
    ramp_s: float = 0.005

    automatable: ClassVar[frozenset[str]] = frozenset({"azimuth_deg", "elevation_deg", "stereo_width_deg"})
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "order": "it sets the number of output channels",
        "ramp_s": "it is the length of the glide that automation itself uses",
    }

    def __post_init__(self) -> None:
        check_order(self.order)
        check_direction(self.azimuth_deg, self.elevation_deg)
        check_range(
            "stereo_width_deg",
            self.stereo_width_deg,
            low=0.0,
            high=180.0,
            hint="the angle between a stereo source's two channels",
        )
        check_range("ramp_s", self.ramp_s, low=0.0, high=1.0, hint="0 jumps to a new direction")

    def output_channels(self, channels: int) -> int:
        if channels not in (1, 2):
            raise LayoutError(
                f"AmbisonicEncoder takes a mono or stereo source but got channels={channels}; "
                "expected 1 or 2 "
                "(encode each channel of a multichannel source with its own encoder)"
            )
        return channel_count(self.order)

    def gains(self, channels: int = 1) -> np.ndarray:
        """The encoding matrix ``((order + 1) ** 2, channels)``."""
        self.output_channels(channels)
        if channels == 1:
            azimuths = np.array([self.azimuth_deg])
        else:
            half = self.stereo_width_deg / 2.0
            azimuths = np.array([self.azimuth_deg + half, self.azimuth_deg - half])
        return spherical_harmonics(self.order, azimuths, np.full(channels, self.elevation_deg)).T

    def _key(self) -> tuple[Any, ...]:
        return (self.azimuth_deg, self.elevation_deg, self.stereo_width_deg)

    def _target(self, inputs: int) -> np.ndarray:
        return self.gains(inputs)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> MatrixState:
        return MatrixState.fixed(self.gains(channels), key=self._key())


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbisonicRotator(GainMatrixNode):
    """Rotate an Ambisonics scene (ACN, SN3D) by yaw, pitch and roll: head tracking, 360-degree video.

    With ``frame="scene"`` the scene turns: ``yaw_deg=30`` moves a source in
    front to 30 degrees left. With ``frame="head"`` the angles are the
    listener's head orientation (yaw to the left, pitch up, roll lifting the
    left ear, as a head tracker reports them in these signs) and the scene
    turns the other way, so sources stay put in the room while the head moves.
    The rotation is roll about the front axis, then pitch about the left axis,
    then yaw about the vertical (:func:`~sonicmix.spatial.ambisonics.rotation_3x3`).

    Parameters
    ----------
    order : int, default 1
        Order of the input (and output): 4, 9 or 16 channels.
    yaw_deg : float, default 0.0
        Turn about the vertical, positive to the left; any finite value (modulo 360).
    pitch_deg : float, default 0.0
        Tilt of the front upwards, -90 to 90.
    roll_deg : float, default 0.0
        Roll lifting the left side; any finite value (modulo 360).
    frame : {"scene", "head"}, default "scene"
        Whether the angles turn the scene, or are the head's orientation.
    ramp_s : float, default 0.005
        When automation changes the angles, the time the rotation matrix takes
        to glide (linearly, per sample) to the new one; 0 jumps.

    Raises
    ------
    ParameterError
        For an order other than 1 to 3, angles not finite, a pitch out of range,
        an unknown frame.
    LayoutError
        For input with another channel count than ``(order + 1) ** 2``.

    Notes
    -----
    The rotation matrix is exact (numeric projection, see
    :func:`~sonicmix.spatial.ambisonics.rotation_matrix`): a rotated encoding
    equals the encoding at the rotated direction to about 1e-15. Automation
    (``docs/automation.md``): ``yaw_deg``, ``pitch_deg``, ``roll_deg`` every
    control block, glided over ``ramp_s``.

    Examples
    --------
    >>> import numpy as np
    >>> front = AmbisonicEncoder(order=1)(np.ones((1, 1)), 48000)
    >>> AmbisonicRotator(order=1, yaw_deg=90.0)(front, 48000).round(12).ravel() + 0.0  # now on the left
    array([1., 1., 0., 0.])
    >>> AmbisonicRotator(order=1, yaw_deg=90.0, frame="head")(front, 48000).round(12).ravel() + 0.0
    array([ 1., -1.,  0.,  0.])

    Streamed in two blocks, the same samples:

    >>> rot = AmbisonicRotator(order=2, yaw_deg=10.0, pitch_deg=5.0)
    >>> x = np.random.default_rng(0).standard_normal((9, 400))
    >>> state = rot.init_state(9, 48000, x.dtype)
    >>> a, state = rot.process(x[:, :100], 48000, state)
    >>> b, state = rot.process(x[:, 100:], 48000, state)
    >>> bool(np.allclose(np.concatenate([a, b], axis=1), rot(x, 48000), rtol=0, atol=1e-12))
    True
    """

    order: int = 1
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    frame: Frame = "scene"
    ramp_s: float = 0.005

    automatable: ClassVar[frozenset[str]] = frozenset({"yaw_deg", "pitch_deg", "roll_deg"})
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "order": "it sets the number of channels",
        "frame": "it is a choice, not a number ('scene' or 'head')",
        "ramp_s": "it is the length of the glide that automation itself uses",
    }

    def __post_init__(self) -> None:
        check_order(self.order)
        check_range("yaw_deg", self.yaw_deg, hint="degrees, positive to the left")
        check_range(
            "pitch_deg", self.pitch_deg, low=-90.0, high=90.0, hint="degrees, positive tilts the front up"
        )
        check_range("roll_deg", self.roll_deg, hint="degrees, positive lifts the left side")
        if self.frame not in ("scene", "head"):
            raise ParameterError(f"frame={self.frame!r}; expected 'scene' or 'head'")
        check_range("ramp_s", self.ramp_s, low=0.0, high=1.0, hint="0 jumps to a new rotation")

    def output_channels(self, channels: int) -> int:
        _check_ambisonic_input(self, self.order, channels)
        return channels

    def matrix(self) -> np.ndarray:
        """The rotation matrix ``(C, C)`` applied (``C = (order + 1) ** 2``)."""
        return rotation_matrix(self.order, self.yaw_deg, self.pitch_deg, self.roll_deg, frame=self.frame)

    def _key(self) -> tuple[Any, ...]:
        return (self.yaw_deg, self.pitch_deg, self.roll_deg)

    def _target(self, inputs: int) -> np.ndarray:
        return self.matrix()

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> MatrixState:
        self.output_channels(channels)
        return MatrixState.fixed(self.matrix(), key=self._key())


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbisonicDecoder(GainMatrixNode):
    """Decode an Ambisonics scene (ACN, SN3D) to a loudspeaker layout, by AllRAD with max-rE weights.

    AllRAD (Zotter & Frank 2012): the scene is decoded to 250 virtual
    loudspeakers on a spherical 21-design, which are then panned to the real
    loudspeakers by VBAP; it suits irregular layouts (5.1, 7.1.4, 22.2) where
    a plain sampling or mode-matching decoder does not. The decoder is scaled
    so that a source's loudspeaker energy, averaged over all directions, is 1,
    as VBAP's is. The LFE channels get nothing. See
    :func:`~sonicmix.spatial.ambisonics.decoder_matrix`.

    Parameters
    ----------
    order : int, default 1
        Order of the input: 4, 9 or 16 channels.
    layout : str or Layout, default "5.1"
        The loudspeaker layout; the output has its channels in its order. A
        :class:`~sonicmix.layouts.Layout` with positions decodes to any
        directions (virtual loudspeakers for binaural rendering).
    method : {"allrad", "sampling"}, default "allrad"
        "sampling" samples the harmonics at the loudspeakers directly: only for
        nearly uniform sets of directions (dense virtual loudspeakers).
    max_re : bool, default True
        Max-rE weights (the narrowest energy spread the order allows); False
        for the basic decoder.

    Raises
    ------
    ParameterError
        For an order other than 1 to 3, or an unknown method.
    LayoutError
        For an unknown layout or one without positions; for input with another
        channel count than ``(order + 1) ** 2``.

    Examples
    --------
    >>> import numpy as np
    >>> scene = AmbisonicEncoder(order=3, azimuth_deg=30.0)(np.ones((1, 1)), 48000)
    >>> feeds = AmbisonicDecoder(order=3, layout="5.1")(scene, 48000)[:, 0]
    >>> int(np.argmax(feeds)), round(float(feeds[3]), 12)          # loudest at L; the LFE silent
    (0, 0.0)
    """

    order: int = 1
    layout: str | Layout = "5.1"
    method: DecoderMethod = "allrad"
    max_re: bool = True

    automatable: ClassVar[frozenset[str]] = frozenset()
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "order": "it sets the number of input channels",
        "layout": "it sets the output channels, which a graph routes once",
        "method": "it is a choice, not a number ('allrad' or 'sampling')",
        "max_re": "it is a choice (True or False), not a number",
    }

    def __post_init__(self) -> None:
        check_order(self.order)
        if not isinstance(self.max_re, bool):
            raise ParameterError(f"max_re={self.max_re!r}; expected True or False")
        decoder_matrix(self.order, self.layout, method=self.method, max_re=self.max_re)  # validates, caches

    def output_channels(self, channels: int) -> int:
        _check_ambisonic_input(self, self.order, channels)
        return get_layout(self.layout).n_channels

    def output_layout(self, channels: int) -> str | None:
        return routable_name(self.layout)

    def matrix(self) -> np.ndarray:
        """The decoding matrix ``(layout channels, (order + 1) ** 2)``."""
        return decoder_matrix(self.order, self.layout, method=self.method, max_re=self.max_re)

    def _target(self, inputs: int) -> np.ndarray:
        return self.matrix()

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> MatrixState:
        self.output_channels(channels)
        return MatrixState.fixed(self.matrix())

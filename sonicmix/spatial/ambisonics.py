"""Ambisonics in AmbiX: ACN channel order, SN3D normalisation, orders 1 to 3.

- :func:`spherical_harmonics`: the real spherical harmonics of a direction, the
  gains that encode a plane wave from there;
- :func:`rotation_matrix`: the matrix that rotates an Ambisonics signal (a
  sound scene, or its inverse for a listener's head);
- :func:`decoder_matrix`: a decoder to any loudspeaker layout, or to any set of
  directions (virtual loudspeakers for binaural rendering): AllRAD (Zotter &
  Frank 2012) by default, or a sampling decoder;
- :func:`max_re_weights`, :func:`design_directions`;
- :func:`encode_panned`: a panned track routed into an Ambisonics bus.

The harmonics, the channel counts and the max-rE weights live below the
layouts, in :mod:`sonicmix.layouts.ambix` (a layout conversion encodes
loudspeakers into a scene), and are re-exported here.

Conventions (AmbiX, Nachbar et al. 2011): channel ``acn = n (n + 1) + m`` holds
the harmonic of degree ``n`` and index ``m`` (``-n <= m <= n``); SN3D, so the
harmonics of degree ``n`` have ``sum_m Y_nm(a) Y_nm(b) = P_n(cos angle(a, b))``
and W, the omnidirectional channel, is 1 for every direction; no Condon-Shortley
phase. Angles are BS.2051's, which are also AmbiX's: azimuth positive to the
left (counter-clockwise seen from above), elevation positive upwards, so first
order is ``(W, Y, Z, X) = (1, sin az cos el, sin el, cos az cos el)``.

References
----------
C. Nachbar, F. Zotter, E. Deleflie, A. Sontacchi, "AMBIX - a suggested
Ambisonics format", Ambisonics Symposium, Lexington, 2011.
F. Zotter, M. Frank, "All-round Ambisonic panning and decoding", J. Audio Eng.
Soc. 60(10), 807-820, 2012 (AllRAD and the max-rE weights).

Examples
--------
>>> import numpy as np
>>> from sonicmix.spatial.ambisonics import spherical_harmonics
>>> spherical_harmonics(1, 90.0, 0.0).round(12)          # a source on the left: W and Y
array([1., 1., 0., 0.])
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from sonicmix.errors import LayoutError, ParameterError
from sonicmix.layouts import Layout, get_layout
from sonicmix.layouts.ambix import (
    MAX_ORDER,
    channel_count,
    check_order,
    degrees_of_channels,
    max_re_weights,
    spherical_harmonics,
)
from sonicmix.spatial._design import DESIGN
from sonicmix.spatial.vbap import VbapSetup, unit_vectors, vbap_setup

__all__ = [
    "MAX_ORDER",
    "channel_count",
    "degrees_of_channels",
    "spherical_harmonics",
    "max_re_weights",
    "rotation_matrix",
    "design_directions",
    "decoder_matrix",
    "check_order",
    "order_of_channels",
    "encode_panned",
    "PAN_AZIMUTH_DEG",
]

DecoderMethod = Literal["allrad", "sampling"]
Frame = Literal["scene", "head"]


# -- rotation ---------------------------------------------------------------------------------------

def rotation_3x3(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The 3x3 rotation of directions: roll about x, then pitch about y, then yaw about z.

    ``R = Rz(yaw) Ry(-pitch) Rx(roll)`` in coordinates x front, y left, z up:
    positive yaw turns the front towards the left (azimuth grows), positive
    pitch tilts the front upwards, positive roll lifts the left side.

    Examples
    --------
    >>> (rotation_3x3(90.0, 0.0, 0.0) @ [1.0, 0.0, 0.0]).round(12)   # the front goes to the left
    array([0., 1., 0.])
    """
    a, b, g = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    rz = np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[math.cos(b), 0.0, -math.sin(b)], [0.0, 1.0, 0.0], [math.sin(b), 0.0, math.cos(b)]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(g), -math.sin(g)], [0.0, math.sin(g), math.cos(g)]])
    return rz @ ry @ rx


_R3, _R15, _R38, _R58 = math.sqrt(3.0), math.sqrt(15.0), math.sqrt(3.0 / 8.0), math.sqrt(5.0 / 8.0)


def _harmonics_xyz(order: int, v: np.ndarray) -> np.ndarray:
    """:func:`spherical_harmonics` of unit vectors ``(k, 3)`` for order <= 3, as polynomials in x, y, z.

    The same functions written in Cartesian form (no trigonometry): what a rotation, evaluated at
    every control block of head tracking, needs fast. Checked against the recursion by the tests
    (a rotated encoding equals the recursion's encoding at the rotated direction).
    """
    if order > 3:
        az, el = _angles_of(v)
        return spherical_harmonics(order, az, el)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    out = np.empty((v.shape[0], channel_count(order)))
    out[:, 0] = 1.0
    out[:, 1], out[:, 2], out[:, 3] = y, z, x
    if order >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out[:, 4] = _R3 * x * y
        out[:, 5] = _R3 * y * z
        out[:, 6] = 1.5 * zz - 0.5
        out[:, 7] = _R3 * x * z
        out[:, 8] = 0.5 * _R3 * (xx - yy)
    if order >= 3:
        five = 5.0 * zz - 1.0
        out[:, 9] = _R58 * y * (3.0 * xx - yy)
        out[:, 10] = _R15 * x * y * z
        out[:, 11] = _R38 * y * five
        out[:, 12] = 0.5 * z * (5.0 * zz - 3.0)
        out[:, 13] = _R38 * x * five
        out[:, 14] = 0.5 * _R15 * z * (xx - yy)
        out[:, 15] = _R58 * x * (xx - 3.0 * yy)
    return out


@functools.lru_cache(maxsize=8)
def _projection(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed sampling directions (unit vectors) and the pseudo-inverse of their harmonics.

    63 directions of the 21-design (every fourth point): far more than the 16 harmonics of order
    3 need for a well-conditioned least-squares fit.
    """
    az, el = design_directions()
    points = unit_vectors(az, el)[::4]
    return points, np.linalg.pinv(_harmonics_xyz(order, points))


def rotation_matrix(
    order: int, yaw_deg: float, pitch_deg: float = 0.0, roll_deg: float = 0.0, *, frame: Frame = "scene"
) -> np.ndarray:
    """The ``(C, C)`` matrix that rotates an ACN/SN3D signal of ``order`` (``C = (order + 1) ** 2``).

    With ``frame="scene"`` the sound scene turns by :func:`rotation_3x3`: a
    source at direction ``d`` is heard from ``R d`` (a yaw of 30 degrees moves a
    source at azimuth 0 to azimuth 30, to the left). With ``frame="head"`` the
    angles are the listener's head orientation (same signs: head turned 30
    degrees to the left) and the scene is turned the other way, by ``R^T``, so
    that sources stay where they are in the room: what head tracking needs.

    The matrix is found by numeric projection: the harmonics of 63 fixed
    directions, rotated, are projected back onto the harmonics of the same
    directions (least squares, exact for a rotation because rotating harmonics
    of degree ``n`` gives harmonics of degree ``n``). Blocks between different
    degrees are exactly 0. ``rotation_matrix(...) @ spherical_harmonics(order,
    d)`` equals ``spherical_harmonics(order, R d)`` to about 1e-15.

    Examples
    --------
    >>> import numpy as np
    >>> m = rotation_matrix(1, 90.0)
    >>> (m @ spherical_harmonics(1, 0.0, 0.0)).round(12) + 0.0  # the front source goes to the left
    array([1., 1., 0., 0.])
    """
    rotation = rotation_3x3(yaw_deg, pitch_deg, roll_deg)
    if frame == "head":
        rotation = rotation.T
    points, pinv = _projection(order)
    m = (pinv @ _harmonics_xyz(order, points @ rotation.T)).T
    degrees = degrees_of_channels(order)
    m[degrees[:, None] != degrees[None, :]] = 0.0
    return m


def _angles_of(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))


# -- decoding ---------------------------------------------------------------------------------------

def design_directions() -> tuple[np.ndarray, np.ndarray]:
    """The 250 virtual loudspeaker directions AllRAD decodes to, ``(azimuth_deg, elevation_deg)``.

    A spherical 21-design of 250 points: every spherical harmonic of degree 1
    to 21 sums to 0 over them (to rounding, about 1e-15), so they integrate
    every product of two harmonics up to order 10 exactly. Computed by
    ``scripts/make_t_design.py`` (Gauss-Newton from a Fibonacci sphere) rather
    than copied from Hardin and Sloane's 240-point table; Zotter and Frank use
    a 21-design for AllRAD too.

    Examples
    --------
    >>> az, el = design_directions()
    >>> az.shape
    (250,)
    """
    v = np.asarray(DESIGN, dtype=np.float64)
    return _angles_of(v)


def _directions_setup(target: str | Layout | VbapSetup) -> tuple[VbapSetup, np.ndarray, np.ndarray]:
    """VBAP setup, loudspeaker azimuths and elevations (per output channel, NaN for LFE)."""
    setup = target if isinstance(target, VbapSetup) else vbap_setup(target, close_top=True)
    az = np.full(setup.n_channels, np.nan)
    el = np.full(setup.n_channels, np.nan)
    az[setup.channels] = setup.azimuth_deg
    el[setup.channels] = setup.elevation_deg
    return setup, az, el


def _mirror_permutation(az: np.ndarray, el: np.ndarray) -> np.ndarray | None:
    """For loudspeakers (NaN: LFE) symmetric about the median plane, the index of each one's mirror
    image (azimuth negated; an LFE maps to itself); None if the layout is not symmetric."""
    out = np.arange(az.size)
    for i in np.flatnonzero(np.isfinite(az)):
        angle = np.abs(np.mod(az + az[i] + 180.0, 360.0) - 180.0)  # |azimuth_j - (-azimuth_i)|, wrapped
        match = np.flatnonzero((angle < 1e-6) & (np.abs(el - el[i]) < 1e-6))
        if match.size != 1:
            return None
        out[i] = match[0]
    return out


def decoder_matrix(
    order: int,
    layout: str | Layout | VbapSetup,
    *,
    method: DecoderMethod = "allrad",
    max_re: bool = True,
) -> np.ndarray:
    """A decoder ``(channels, (order + 1) ** 2)`` from ACN/SN3D to a layout's loudspeakers.

    ``"allrad"`` (Zotter & Frank 2012): decode to the 250 virtual loudspeakers
    of :func:`design_directions` with a sampling decoder (each virtual feed is
    the panning function ``sum_n (2n + 1) a_n P_n(cos angle)`` of the source,
    ``a_n`` the max-rE weights), then pan each virtual loudspeaker to the real
    ones with VBAP (:mod:`sonicmix.spatial.vbap`), with virtual loudspeakers
    at the nadir and at the zenith where the layout has none below -45 or
    above 45 degrees (``close_top=True``): their gains are dropped and the rest
    renormalised, so a virtual loudspeaker below the lowest real ones plays on
    the two real ones at its azimuth (Zotter and Frank discard the imaginary
    loudspeaker's signal instead; renormalising keeps the energy). Works for
    any layout, regular or not. For a layout that is symmetric left to right
    (every BS.2051 layout), the virtual loudspeakers are the design and its
    mirror image (500 points), and each is panned as the average of its VBAP
    gains and its mirror image's, mirrored back: the decoder is then exactly
    symmetric (VBAP splits coplanar quadrilaterals of loudspeakers along one
    diagonal, favouring one side).

    ``"sampling"``: the sampling decoder directly on the loudspeakers (feed
    ``l`` is ``(1 / L) sum_n (2n + 1) a_n sum_m Y_nm(l) b_nm``); only good for
    nearly uniform layouts (a t-design; dense virtual loudspeakers for binaural
    rendering), never for a 5.1 or 7.1.4 room.

    Either decoder is scaled so that the total loudspeaker energy of a source,
    averaged over all directions, is 1, as VBAP's is everywhere. LFE channels
    get nothing.

    Parameters
    ----------
    order : int
        1, 2 or 3.
    layout : str, Layout or VbapSetup
        A layout with positions, or a :class:`~sonicmix.spatial.vbap.VbapSetup`
        built from any directions (virtual loudspeakers).
    method : {"allrad", "sampling"}, default "allrad"
    max_re : bool, default True
        Apply the max-rE weights (narrower energy spread; ``False``: the basic
        weights, all 1).

    Returns
    -------
    np.ndarray, shape=(channels, (order + 1) ** 2)

    Raises
    ------
    ParameterError
        For an order other than 1, 2 or 3, or an unknown method.
    LayoutError
        For an unknown layout, one without positions, or an Ambisonics scene.

    Examples
    --------
    >>> d = decoder_matrix(3, "7.1.4")
    >>> d.shape
    (12, 16)
    >>> float(np.abs(d[3]).max())                      # nothing to the LFE
    0.0
    """
    order = check_order(order)
    if method not in ("allrad", "sampling"):
        raise ParameterError(f"method={method!r}; expected 'allrad' or 'sampling'")
    if not isinstance(target := layout, VbapSetup):
        target = get_layout(layout)
        if target.is_ambisonic:
            raise LayoutError(
                f"layout={target.name!r} is an Ambisonics scene; a decoder renders a scene to loudspeakers: "
                "expected a loudspeaker layout (a name such as '7.1.4', or a Layout with positions). To "
                "change a scene's order, route it to an Ambisonics bus of that order"
            )
    return _decoder(order, target, method, bool(max_re)).copy()


def order_of_channels(channels: int) -> int | None:
    """The order of an Ambisonics scene of ``channels`` channels (4, 9, 16: 1, 2, 3), else None.

    What the refusals of a scene of the wrong order suggest instead.

    Examples
    --------
    >>> order_of_channels(9), order_of_channels(6)
    (2, None)
    """
    order = math.isqrt(channels) - 1 if channels > 0 else 0
    return order if 1 <= order <= MAX_ORDER and channel_count(order) == channels else None


@functools.lru_cache(maxsize=64)
def _decoder(order: int, target: Layout | VbapSetup, method: str, max_re: bool) -> np.ndarray:
    setup, az, el = _directions_setup(target)
    weights = max_re_weights(order) if max_re else np.ones(channel_count(order))
    weights = weights * (2 * degrees_of_channels(order) + 1)
    if method == "allrad":
        vaz, vel = design_directions()
        mirror = _mirror_permutation(az, el)
        if mirror is None:
            gains = setup.gains(vaz, vel)  # (K, L)
        else:
            # A left/right symmetric layout gets an exactly symmetric decoder: the virtual loudspeakers
            # are the design and its mirror image (500 points, still a 21-design), and each is panned
            # as the average of its own VBAP gains and its mirror image's, mirrored back. (The hull
            # splits coplanar quadrilaterals, such as 7.1.4's rear Lrs-Rrs-Ltr-Rtr, along one
            # diagonal, so VBAP alone treats the two sides differently.)
            vaz, vel = np.concatenate([vaz, -vaz]), np.concatenate([vel, vel])
            gains = 0.5 * (setup.gains(vaz, vel) + setup.gains(-vaz, vel)[:, mirror])
        virtual = spherical_harmonics(order, vaz, vel) * weights / vaz.size  # (K, C)
        matrix = gains.T @ virtual  # (L, K) @ (K, C)
    else:
        speakers = setup.channels
        matrix = np.zeros((setup.n_channels, channel_count(order)))
        matrix[speakers] = spherical_harmonics(order, az[speakers], el[speakers]) * weights / speakers.size
    # mean energy over all directions: the design integrates polynomials up to degree 21 >= 2 order
    daz, del_ = design_directions()
    energy = np.mean(np.sum((matrix @ spherical_harmonics(order, daz, del_).T) ** 2, axis=0))
    if not energy > 0.0:  # pragma: no cover - a layout with loudspeakers always receives energy
        raise LayoutError("the decoder gives no loudspeaker any signal")
    matrix /= math.sqrt(energy)
    matrix.setflags(write=False)
    return matrix


# -- panned tracks ----------------------------------------------------------------------------------

#: Azimuth in degrees of a track panned hard left (pan -1) into an Ambisonics bus; hard right is minus this.
PAN_AZIMUTH_DEG = 90.0


def encode_panned(x: np.ndarray, pan: ArrayLike, order: int) -> np.ndarray:
    """A panned mono or stereo track encoded into an AmbiX scene of ``order``, on the horizontal plane.

    The pan ``p`` (-1 left .. 1 right) turns into an azimuth ``-90 p`` degrees
    (BS.2051 signs: +90 is the left, 0 the front, -90 the right), so the pan
    sweeps the front half circle as it sweeps a stereo image; a source behind
    or above takes an ``AmbisonicEncoder`` on the track instead. A stereo track
    is its two channels 60 degrees apart (the stereo loudspeakers' own angle),
    centred on that azimuth. Each sample takes the gains of its own pan value,
    so automation is exact at every sample and blocks need no state.

    Parameters
    ----------
    x : np.ndarray, shape=(1 or 2, samples)
        The track after its fader.
    pan : float or np.ndarray, shape=(samples,)
        Pan position(s), -1 to 1.
    order : int
        1, 2 or 3: the output has ``(order + 1) ** 2`` channels, of ``x``'s dtype.

    Examples
    --------
    >>> import numpy as np
    >>> encode_panned(np.ones((1, 2)), -1.0, 1).round(12) + 0.0        # hard left: W and Y
    array([[1., 1.],
           [1., 1.],
           [0., 0.],
           [0., 0.]])
    """
    azimuth = -PAN_AZIMUTH_DEG * np.asarray(pan, dtype=np.float64)
    offsets = (0.0,) if x.shape[0] == 1 else (30.0, -30.0)
    y = np.zeros((channel_count(order), x.shape[1]), x.dtype)
    for channel, offset in enumerate(offsets):
        gains = spherical_harmonics(order, azimuth + offset, 0.0).astype(x.dtype)  # (C,) or (samples, C)
        y += gains[:, None] * x[channel] if gains.ndim == 1 else gains.T * x[channel]
    return y

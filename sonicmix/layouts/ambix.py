"""AmbiX (ACN channel order, SN3D) below the layouts: harmonics, channel names, loudness weights.

The layouts ``"ambix1"``, ``"ambix2"`` and ``"ambix3"`` (4, 9 and 16 channels)
carry an Ambisonics scene, not loudspeaker feeds. What they need lives here,
under :mod:`sonicmix.layouts`, so that a layout conversion can encode a
loudspeaker layout into a scene; :mod:`sonicmix.spatial.ambisonics` builds the
rotations and decoders on top and re-exports these functions.

Conventions (AmbiX, Nachbar et al. 2011): channel ``acn = n (n + 1) + m`` holds
the harmonic of degree ``n`` and index ``m`` (``-n <= m <= n``); SN3D, so the
harmonics of degree ``n`` have ``sum_m Y_nm(a) Y_nm(b) = P_n(cos angle(a, b))``
and W is 1 for every direction; no Condon-Shortley phase; BS.2051 angles
(azimuth positive to the left, elevation positive upwards).

Loudness. BS.1770 defines no loudness for an Ambisonics scene. sonicmix
measures one as the energy the scene gives a dense, uniform set of virtual
loudspeakers, each weighted 1: the max-rE sampling decode onto a spherical
t-design (``t >= 2 order``), the first stage of the AllRAD decoder. Because the
design integrates every product of two harmonics exactly, that energy is a
weighted sum of the channels' energies, ``sum_c G_c x_c**2`` with
``G_c = (2n + 1) a_n**2 / sum_k (2k + 1) a_k**2`` (``a_n`` the max-rE weights),
so the meter takes it as per-channel weights (:func:`loudness_weights`). A plane
wave from any direction then measures exactly as the same signal on a single
loudspeaker at weight 1 (a mono file), a diffuse field as its total power, and
a rotation of the scene changes nothing. No channel is an LFE; BS.1770's
side weighting (+1.5 dB at 60-120 degrees azimuth) does not apply.

Examples
--------
>>> from sonicmix.layouts.ambix import acn_names, loudness_weights
>>> acn_names(1)
('W', 'Y', 'Z', 'X')
>>> loudness_weights(1).round(4)
array([0.5, 0.5, 0.5, 0.5])
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import legendre
from numpy.typing import ArrayLike

from sonicmix.errors import ParameterError

__all__ = [
    "MAX_ORDER",
    "ACN_LETTERS",
    "acn_names",
    "channel_count",
    "check_order",
    "degrees_of_channels",
    "loudness_weights",
    "max_re_weights",
    "spherical_harmonics",
]

#: Highest Ambisonics order supported.
MAX_ORDER = 3

#: The Furse-Malham letter of each ACN channel up to order 3, the names AmbiX tools show.
ACN_LETTERS = ("W", "Y", "Z", "X", "V", "T", "R", "S", "U", "Q", "O", "M", "K", "L", "N", "P")


def check_order(order: object, name: str = "order") -> int:
    """Return ``order`` if it is an int from 1 to :data:`MAX_ORDER`, else raise ParameterError."""
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order <= MAX_ORDER:
        raise ParameterError(
            f"{name}={order!r}; expected an Ambisonics order 1, 2 or 3 (4, 9 or 16 channels)"
        )
    return int(order)


def channel_count(order: int) -> int:
    """Channels of an Ambisonics signal of ``order``: ``(order + 1) ** 2``.

    Examples
    --------
    >>> [channel_count(n) for n in (1, 2, 3)]
    [4, 9, 16]
    """
    return (order + 1) ** 2


def acn_names(order: int) -> tuple[str, ...]:
    """Channel names of an AmbiX signal of ``order`` (1 to 3), in ACN order.

    Examples
    --------
    >>> " ".join(acn_names(2))
    'W Y Z X V T R S U'
    """
    return ACN_LETTERS[: channel_count(check_order(order))]


def degrees_of_channels(order: int) -> np.ndarray:
    """The degree ``n`` of each ACN channel of an ``order`` signal.

    Examples
    --------
    >>> degrees_of_channels(2)
    array([0, 1, 1, 1, 2, 2, 2, 2, 2])
    """
    return np.concatenate([np.full(2 * n + 1, n) for n in range(order + 1)])


def spherical_harmonics(order: int, azimuth_deg: ArrayLike, elevation_deg: ArrayLike) -> np.ndarray:
    """Real SN3D spherical harmonics in ACN order, ``(..., (order + 1) ** 2)``: AmbiX encoding gains.

    ``Y_nm(az, el) = N_n|m| P_n|m|(sin el) cos(m az)`` for ``m >= 0`` and
    ``N_n|m| P_n|m|(sin el) sin(|m| az)`` for ``m < 0``, with
    ``N_nm = sqrt((2 - delta_m0) (n - m)! / (n + m)!)`` and the associated
    Legendre functions without the Condon-Shortley phase.

    Parameters
    ----------
    order : int
        Highest degree (any order >= 0 is computed; the nodes take 1 to 3).
    azimuth_deg, elevation_deg : array_like
        Directions in degrees (BS.2051 / AmbiX signs), broadcast together.

    Returns
    -------
    np.ndarray, shape=(..., (order + 1) ** 2)

    Examples
    --------
    >>> spherical_harmonics(2, 0.0, 90.0).round(12)       # the zenith: W, Z and R only
    array([1., 0., 1., 0., 0., 0., 1., 0., 0.])
    """
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    az, el = np.broadcast_arrays(az, el)
    x, c = np.sin(el), np.cos(el)  # the Legendre argument, and sqrt(1 - x^2) (>= 0 for |el| <= 90)
    out = np.empty(az.shape + (channel_count(order),))
    # P[n][m] for the current m, by the standard recurrences in n (no Condon-Shortley phase)
    p_mm = np.ones_like(x)
    for m in range(order + 1):
        if m > 0:
            p_mm = p_mm * (2 * m - 1) * c
        p_prev, p = np.zeros_like(x), p_mm
        for n in range(m, order + 1):
            if n == m + 1:
                p_prev, p = p, x * (2 * m + 1) * p_mm
            elif n > m + 1:
                p_prev, p = p, ((2 * n - 1) * x * p - (n + m - 1) * p_prev) / (n - m)
            norm = math.sqrt((2.0 - (m == 0)) * math.factorial(n - m) / math.factorial(n + m))
            out[..., n * (n + 1) + m] = norm * p * np.cos(m * az)
            if m > 0:
                out[..., n * (n + 1) - m] = norm * p * np.sin(m * az)
    return out


def max_re_weights(order: int) -> np.ndarray:
    """Max-rE weight of each ACN channel: ``P_n(r_E)``, with ``r_E`` the largest root of ``P_{order+1}``.

    These weights narrow the energy spread of a decoded source as far as the
    order allows, making the energy vector ``r_E`` as long as possible (Zotter &
    Frank 2012, eq. 10; Daniel's max-rE).

    Examples
    --------
    >>> max_re_weights(1).round(4)
    array([1.    , 0.5774, 0.5774, 0.5774])
    """
    r_e = float(np.max(legendre.legroots([0.0] * (order + 1) + [1.0])))
    per_degree = np.array([legendre.legval(r_e, [0.0] * n + [1.0]) for n in range(order + 1)])
    return per_degree[degrees_of_channels(order)]


def loudness_weights(order: int) -> np.ndarray:
    """Per-channel loudness weights of an AmbiX scene: ``(2n + 1) a_n**2``, scaled to sum 1 per plane wave.

    The energy of the scene's max-rE sampling decode onto uniform virtual
    loudspeakers (module docstring). For a plane wave ``Y(d) s`` the weighted
    energy ``sum_c G_c Y_c(d)**2 s**2`` is ``s**2`` for every direction ``d``,
    because ``sum_m Y_nm(d)**2 = 1`` for each degree in SN3D.

    Examples
    --------
    >>> w = loudness_weights(3)
    >>> round(float(w @ spherical_harmonics(3, 123.0, -40.0) ** 2), 12)   # a plane wave from anywhere
    1.0
    """
    degrees = degrees_of_channels(order)
    a_n = max_re_weights(order)[[n * n for n in range(order + 1)]]  # the first channel of each degree
    per_degree = (2 * np.arange(order + 1) + 1) * a_n**2
    return per_degree[degrees] / per_degree.sum()

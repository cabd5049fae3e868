"""Vector base amplitude panning (VBAP) over a layout's loudspeakers, with MDAP spread.

A point source is reproduced by the two (on a ring) or three (on the sphere)
loudspeakers around its direction, with the gains that make the weighted sum of
the loudspeakers' unit vectors point at the source (Pulkki 1997), scaled so that
the sum of squared gains is 1 (constant power). A source at a loudspeaker's
position plays on that loudspeaker alone.

How the loudspeakers are grouped:

- **3-D layouts** (any loudspeaker above or below ear height): the triangles of
  the convex hull of the non-LFE loudspeaker directions. A layout with no
  loudspeaker at or below -45 degrees elevation (every BS.2051 layout: 22.2's
  bottom layer sits at -30) gets a *virtual* loudspeaker at the nadir, so
  that the hull closes underneath with triangles of real loudspeakers and the
  virtual one. Its gain is **dropped** and the remaining gains renormalised to
  unit power: a source below the lowest loudspeakers plays on the two real
  loudspeakers of its triangle at full power, as if projected up onto them
  along the vertical (for an ear-level ring, the 2-D pan of its azimuth). A
  source exactly at the nadir, where the projection has no direction, plays
  on all the virtual loudspeaker's neighbours at equal power. No virtual
  loudspeaker is added above by default: where the top layer is a polygon
  (7.1.4's four tops), its triangulation splits it along a diagonal, so an
  overhead source plays on three of the four, the known asymmetry of plain
  VBAP, but moves continuously over the top. ``close_top=True`` adds a
  virtual zenith loudspeaker handled like the nadir one (the AllRAD decoder
  of :mod:`sonicmix.spatial.ambisonics` uses it).
- **2-D layouts** (every loudspeaker at elevation 0: stereo, 5.1, 7.1): pairs of
  neighbours around the circle (Pulkki 1997, pair-wise 2-D VBAP). The
  elevation of the source is ignored: it is panned at its azimuth, its
  projection onto the horizontal plane. A gap wider than 180 degrees between
  neighbours (stereo's 300 degrees behind the listener) cannot be spanned by a
  vector base. Of such a gap of G degrees, the first and last G - 180 degrees
  play on the loudspeaker at that end alone, and the middle 360 - G degrees
  are mirrored across the diameter perpendicular to the gap's middle onto the
  loudspeakers opposite: in stereo, a source anywhere from 30 to 150 degrees
  plays on L alone, and one behind plays where its mirror image in front
  would (180 degrees: both at -3 dB), as BS.775's fold-down puts a left
  surround into L.
- **One loudspeaker** (mono): everything plays on it.

Spread (MDAP, Pulkki 1999): the source is replaced by 37 virtual sources,
one at its direction and rings of 6, 12 and 18 at a third, two thirds and
all of half the spread angle around it; their VBAP gains are summed and the
sum is scaled to unit power. ``spread_deg=0`` is the point source.

Angles follow ITU-R BS.2051: azimuth in degrees, **positive to the left**,
elevation positive upwards. Coordinates are x to the front, y to the left and
z up.

References
----------
V. Pulkki, "Virtual sound source positioning using vector base amplitude
panning", J. Audio Eng. Soc. 45(6), 456-466, 1997.
V. Pulkki, "Uniform spreading of amplitude panned virtual sources", Proc. IEEE
WASPAA, 1999 (multiple-direction amplitude panning, MDAP).

Examples
--------
>>> import numpy as np
>>> from sonicmix.spatial.vbap import vbap_gains
>>> g = vbap_gains("7.1.4", 45.0, 30.0)          # at the left top front loudspeaker
>>> np.flatnonzero(g), float(g[8])
(array([8]), 1.0)
>>> g = vbap_gains("5.1", 15.0, 0.0)             # between C and L
>>> np.flatnonzero(g), round(float(np.sum(g**2)), 12)
(array([0, 2]), 1.0)
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from sonicmix.errors import LayoutError
from sonicmix.layouts import Layout, get_layout

__all__ = ["VbapSetup", "vbap_setup", "vbap_gains", "unit_vectors", "spread_directions"]

#: Lowest loudspeaker elevation, in degrees, at which a layout counts as covering the bottom; a layout
#: with no loudspeaker at or below it gets a virtual loudspeaker at the nadir.
BOTTOM_COVERED_DEG = -45.0
#: Highest loudspeaker elevation, in degrees, at which a layout counts as covering the top; with
#: ``close_top=True`` (what AllRAD uses) a layout with none at or above it gets a virtual zenith.
TOP_COVERED_DEG = 45.0
#: Gains below this (relative to unit power) are set to 0: rounding residue of a vector base
#: (a source at a loudspeaker gives its neighbours +-1e-17, not 0).
_TINY = 1e-12
#: A triangle whose base determinant is below this lies in a plane through the listener: no base.
_FLAT = 1e-9

# MDAP pattern: (radius as a fraction of half the spread, number of points on the ring).
_RINGS = ((1.0 / 3.0, 6), (2.0 / 3.0, 12), (1.0, 18))


def unit_vectors(azimuth_deg: ArrayLike, elevation_deg: ArrayLike) -> np.ndarray:
    """Unit vectors ``(..., 3)`` of directions: x front, y left, z up (BS.2051 angles).

    Examples
    --------
    >>> unit_vectors(90.0, 0.0).round(12)
    array([0., 1., 0.])
    """
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    az, el = np.broadcast_arrays(az, el)
    cos_el = np.cos(el)
    return np.stack([cos_el * np.cos(az), cos_el * np.sin(az), np.sin(el)], axis=-1)


def _angles(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation in degrees of (not necessarily unit) vectors ``(..., 3)``."""
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))


def spread_directions(
    azimuth_deg: ArrayLike, elevation_deg: ArrayLike, spread_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """The 37 MDAP virtual source directions around each direction, ``(..., 37)`` each, in degrees.

    One at the direction itself, then rings of 6, 12 and 18 directions at 1/3,
    2/3 and 3/3 of ``spread_deg / 2`` from it (the rings' points evenly spaced
    around it, starting towards the zenith). With ``spread_deg=0`` all 37 are
    the direction itself.

    Examples
    --------
    >>> az, el = spread_directions(0.0, 0.0, 60.0)
    >>> az.shape, float(el.max().round(9))
    ((37,), 30.0)
    """
    d = unit_vectors(azimuth_deg, elevation_deg)
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    az, el = np.broadcast_arrays(az, el)
    # Tangent frame at each direction: towards the zenith (up) and towards positive azimuth (left).
    # Both are defined at the poles too (from the azimuth given), and orthogonal to d.
    up = np.stack([-np.sin(el) * np.cos(az), -np.sin(el) * np.sin(az), np.cos(el)], axis=-1)
    left = np.stack([-np.sin(az), np.cos(az), np.zeros_like(az)], axis=-1)
    half = math.radians(spread_deg) / 2.0
    vectors = [d]
    for fraction, count in _RINGS:
        r = half * fraction
        for phi in 2.0 * np.pi * np.arange(count) / count:
            vectors.append(math.cos(r) * d + math.sin(r) * (math.cos(phi) * up + math.sin(phi) * left))
    out_az, out_el = _angles(np.stack(vectors, axis=-2))
    return out_az, out_el


class VbapSetup:
    """The loudspeaker groups of a layout and the inverted vector bases that pan into them.

    Build one with :func:`vbap_setup` (cached per layout), or directly from
    loudspeaker directions (the virtual loudspeakers of an Ambisonics decoder,
    an HRIR set's measurement directions).

    Parameters
    ----------
    azimuth_deg, elevation_deg : array_like, shape=(speakers,)
        Loudspeaker directions in degrees (BS.2051 signs).
    channels : sequence of int, optional
        Output channel of each loudspeaker (default ``0 .. speakers-1``).
    n_channels : int, optional
        Number of output channels (default ``speakers``); channels no
        loudspeaker maps to (an LFE) always get gain 0.
    close_top : bool, default False
        Also add a virtual loudspeaker at the zenith when none is at or above
        45 degrees, handled like the nadir one (its gain dropped, the rest
        renormalised). Plain VBAP (False) splits a top polygon (7.1.4's four
        tops, 9.1.6's six) along diagonals, which pans an overhead source
        continuously but unevenly; with True an overhead source pans between
        the two top loudspeakers at its azimuth, evenly, but jumps from the
        front pair to the rear pair as it crosses the zenith. AllRAD uses
        True: it pans many fixed virtual loudspeakers, never a moving source,
        and the uneven split shows as a lopsided decoder.

    Attributes
    ----------
    kind : {"single", "2d", "3d"}
        How the loudspeakers are grouped (module docstring).
    triangles : np.ndarray, shape=(groups, 3) or (groups, 2)
        Loudspeaker indices of each vector base; indices from ``speakers`` on
        are the virtual loudspeakers (nadir first, then zenith).
    virtual_nadir, virtual_zenith : bool
        Whether a virtual loudspeaker was added at the nadir, at the zenith.

    Raises
    ------
    LayoutError
        For no loudspeakers, two at the same direction, or non-finite angles.

    Examples
    --------
    >>> setup = VbapSetup([30.0, -30.0, 0.0, 110.0, -110.0], [0.0] * 5)
    >>> setup.kind, setup.triangles.shape
    ('2d', (5, 2))
    >>> setup.gains(0.0, 0.0)
    array([0., 0., 1., 0., 0.])
    """

    def __init__(
        self,
        azimuth_deg: ArrayLike,
        elevation_deg: ArrayLike,
        *,
        channels: list[int] | tuple[int, ...] | None = None,
        n_channels: int | None = None,
        close_top: bool = False,
    ) -> None:
        az = np.atleast_1d(np.asarray(azimuth_deg, dtype=np.float64))
        el = np.atleast_1d(np.asarray(elevation_deg, dtype=np.float64))
        if az.ndim != 1 or az.shape != el.shape or az.size == 0:
            raise LayoutError(
                f"loudspeaker directions of shapes {az.shape} and {el.shape}; expected two equal, "
                "non-empty 1-D sequences of azimuth_deg and elevation_deg"
            )
        if not (np.isfinite(az).all() and np.isfinite(el).all()):
            raise LayoutError("a loudspeaker direction is not finite; expected finite angles in degrees")
        self.n_speakers = az.size
        self.channels = np.arange(az.size) if channels is None else np.asarray(channels, dtype=np.intp)
        self.n_channels = az.size if n_channels is None else int(n_channels)
        self.azimuth_deg, self.elevation_deg = az, el
        vectors = unit_vectors(az, el)
        if az.size > 1:
            closest = np.max(np.triu(vectors @ vectors.T, 1))
            if closest > 1.0 - 1e-12:
                raise LayoutError(
                    "two loudspeakers share a direction; expected distinct directions (a VBAP base needs "
                    "loudspeakers in different directions)"
                )
        self.virtual_nadir = self.virtual_zenith = False
        self.kind: Literal["single", "2d", "3d"]
        if az.size == 1:
            self.kind = "single"
            self.triangles = np.zeros((0, 1), dtype=np.intp)
        elif np.all(np.abs(el) < 1e-9):
            self.kind = "2d"
            self._setup_2d(az)
        else:
            self.kind = "3d"
            self._setup_3d(vectors, el, close_top)

    # -- 2-D: pairs around the circle ----------------------------------------------------------------
    def _setup_2d(self, az: np.ndarray) -> None:
        order = np.argsort(np.mod(az, 360.0))
        self._sorted_deg = np.mod(az[order], 360.0)
        nxt = np.roll(order, -1)
        self.triangles = np.stack([order, nxt], axis=1)
        # counter-clockwise gap from each loudspeaker to the next (the last one's wraps round to the first)
        gap = np.mod(np.roll(self._sorted_deg, -1) - self._sorted_deg, 360.0)
        self._gap_deg = gap
        self._wide = gap >= 180.0 - 1e-9
        inv = np.zeros((az.size, 2, 2))
        for i, (a, b) in enumerate(self.triangles):
            if not self._wide[i]:
                base = np.array([[math.cos(math.radians(az[a])), math.sin(math.radians(az[a]))],
                                 [math.cos(math.radians(az[b])), math.sin(math.radians(az[b]))]])
                inv[i] = np.linalg.inv(base)
        self._inv2 = inv

    def _pair_of(self, phi: np.ndarray) -> np.ndarray:
        # pair i spans sorted[i] .. sorted[i] + gap[i], counter-clockwise; below the smallest
        # azimuth a source is in the last pair, the one that wraps round
        return np.mod(np.searchsorted(self._sorted_deg, phi, side="right") - 1, self.n_speakers)

    def _gains_2d(self, azimuth_deg: np.ndarray) -> np.ndarray:
        phi = np.mod(azimuth_deg, 360.0).reshape(-1)
        pair = self._pair_of(phi)
        start, gap = self._sorted_deg[pair], self._gap_deg[pair]
        crossed = np.mod(phi - start, 360.0)
        wide = self._wide[pair]
        # A gap of G >= 180 degrees from A to B: its first G - 180 degrees play on A alone, its last
        # G - 180 on B alone, and the middle 360 - G degrees are mirrored across the diameter
        # perpendicular to the gap's middle, onto the arc from B round to A (stereo: a source behind
        # plays where its mirror image in front would, a source at the side on that side's speaker).
        near_a = wide & (crossed <= gap - 180.0)
        near_b = wide & (crossed >= 180.0)
        middle = wide & ~near_a & ~near_b
        image = np.where(middle, np.mod(2.0 * start + gap + 180.0 - phi, 360.0), phi)
        image_pair = self._pair_of(image)
        p = np.stack([np.cos(np.radians(image)), np.sin(np.radians(image))], axis=-1)
        g = np.einsum("ni,nij->nj", p, self._inv2[image_pair])  # the pair's 2-D vector base
        pair = np.where(middle, image_pair, pair)
        # an image in a wide gap too (two loudspeakers 180 degrees apart): constant-power law over the
        # fraction of the gap crossed
        fallback = middle & self._wide[image_pair]
        t = crossed / gap
        g = np.where(fallback[:, None], np.stack([np.cos(t * np.pi / 2), np.sin(t * np.pi / 2)], -1), g)
        pair = np.where(fallback, self._pair_of(phi), pair)
        g[near_a] = (1.0, 0.0)
        g[near_b] = (0.0, 1.0)
        g = np.maximum(g, 0.0)
        out = np.zeros((phi.size, self.n_speakers))
        rows = np.arange(phi.size)
        out[rows, self.triangles[pair, 0]] = g[:, 0]
        out[rows, self.triangles[pair, 1]] += g[:, 1]
        return out.reshape(np.shape(azimuth_deg) + (self.n_speakers,))

    # -- 3-D: triangles of the convex hull ----------------------------------------------------------
    def _setup_3d(self, vectors: np.ndarray, el: np.ndarray, close_top: bool) -> None:
        from scipy.spatial import ConvexHull, QhullError

        points = vectors
        if el.min() > BOTTOM_COVERED_DEG:
            points = np.vstack([points, [0.0, 0.0, -1.0]])
            self.virtual_nadir = True
        if close_top and el.max() < TOP_COVERED_DEG:
            points = np.vstack([points, [0.0, 0.0, 1.0]])
            self.virtual_zenith = True
        try:
            hull = ConvexHull(points)
        except QhullError as err:
            raise LayoutError(
                f"the loudspeaker directions span no volume ({str(err).splitlines()[0]}); expected "
                "loudspeakers around the listener"
            ) from None
        triangles = hull.simplices.astype(np.intp)
        bases = points[triangles]  # (T, 3 speakers, 3 coordinates): the rows are the speakers
        keep = np.abs(np.linalg.det(bases)) > _FLAT
        self.triangles = triangles[keep]
        self._inv3 = np.linalg.inv(bases[keep])
        self._points = points
        self._neighbours = {}  # virtual loudspeaker: the real ones it shares a triangle with
        for virtual in range(self.n_speakers, points.shape[0]):
            touching = self.triangles[np.any(self.triangles == virtual, axis=1)]
            self._neighbours[virtual] = np.unique(touching[touching < self.n_speakers])

    def _gains_3d(self, vectors: np.ndarray) -> np.ndarray:
        flat = vectors.reshape(-1, 3)
        out = np.zeros((flat.shape[0], self._points.shape[0]))
        # every base's gains; the base containing the direction has all three >= 0 (up to rounding),
        # so it is the one with the largest smallest gain
        for start in range(0, flat.shape[0], 4096):  # bounded memory for many directions at once
            p = flat[start : start + 4096]
            g = np.einsum("nj,tjk->ntk", p, self._inv3)
            best = np.argmax(g.min(axis=2), axis=1)
            rows = np.arange(p.shape[0])
            chosen = np.maximum(g[rows, best], 0.0)
            np.add.at(out, (rows[:, None] + start, self.triangles[best]), chosen)
        if self._neighbours:
            out = self._drop_virtual(out)
        return out.reshape(vectors.shape[:-1] + (self._points.shape[0],))[..., : self.n_speakers]

    def _drop_virtual(self, g: np.ndarray) -> np.ndarray:
        """Drop the virtual loudspeakers' gains (the caller renormalises what is left); a source at
        a virtual loudspeaker, which leaves nothing, plays on all its neighbours alike."""
        real = g[:, : self.n_speakers].copy()
        at_virtual = np.sum(real * real, axis=1) < 1e-18
        for row in np.flatnonzero(at_virtual):
            virtual = self.n_speakers + int(np.argmax(g[row, self.n_speakers :]))
            real[row, self._neighbours[virtual]] = 1.0
        out = np.zeros_like(g)
        out[:, : self.n_speakers] = real
        return out

    # -- the gains --------------------------------------------------------------------------------
    def _point_gains(self, azimuth_deg: np.ndarray, elevation_deg: np.ndarray) -> np.ndarray:
        """Unit-power gains ``(..., speakers)`` of point sources (no spread)."""
        if self.kind == "single":
            g = np.ones(np.shape(azimuth_deg) + (1,))
        elif self.kind == "2d":
            g = self._gains_2d(azimuth_deg)
        else:
            g = self._gains_3d(unit_vectors(azimuth_deg, elevation_deg))
        return _unit_power(g)

    def gains(self, azimuth_deg: ArrayLike, elevation_deg: ArrayLike, spread_deg: float = 0.0) -> np.ndarray:
        """Loudspeaker gains ``(..., n_channels)`` for sources at these directions.

        Parameters
        ----------
        azimuth_deg, elevation_deg : array_like
            Source directions in degrees (BS.2051 signs; any azimuth, taken
            modulo 360; elevation in [-90, 90]), broadcast together.
        spread_deg : float, default 0.0
            MDAP spread, the angular diameter of the source in degrees (0 to
            180; 0 is a point source).

        Returns
        -------
        np.ndarray, shape=(..., n_channels)
            Amplitude gains, each >= 0, with unit sum of squares; 0 for the
            channels no loudspeaker maps to (LFE).

        Examples
        --------
        >>> setup = vbap_setup("stereo")
        >>> setup.gains(0.0, 0.0).round(4), setup.gains(30.0, 0.0)
        (array([0.7071, 0.7071]), array([1., 0.]))
        """
        az = np.asarray(azimuth_deg, dtype=np.float64)
        el = np.asarray(elevation_deg, dtype=np.float64)
        az, el = np.broadcast_arrays(az, el)
        if spread_deg > 0.0:
            vaz, vel = spread_directions(az, el, spread_deg)
            g = _unit_power(self._point_gains(vaz, vel).sum(axis=-2))
        else:
            g = self._point_gains(az, el)
        out = np.zeros(az.shape + (self.n_channels,))
        out[..., self.channels] = g
        return out


def _unit_power(g: np.ndarray) -> np.ndarray:
    """Scale each gain vector (last axis) to unit sum of squares, zeroing rounding residue."""
    g = g / np.sqrt(np.sum(g * g, axis=-1, keepdims=True))
    g[g < _TINY] = 0.0
    return g / np.sqrt(np.sum(g * g, axis=-1, keepdims=True))


@functools.lru_cache(maxsize=64)
def _setup_for(layout: Layout, close_top: bool) -> VbapSetup:
    if layout.is_ambisonic:
        raise LayoutError(
            f"layout {layout.name!r} is an Ambisonics scene, not loudspeakers; VBAP pans into loudspeaker "
            f"layouts (to place a source in the scene use AmbisonicEncoder(order={layout.ambisonic_order}, "
            "azimuth_deg=...); to pan into loudspeakers, decode the scene first with AmbisonicDecoder)"
        )
    if not layout.positions:
        raise LayoutError(
            f"layout {layout.name!r} has no loudspeaker positions; expected a layout with positions "
            "(a named layout, or Layout(..., positions=...)) to pan into"
        )
    speakers = [i for i, p in enumerate(layout.positions) if p is not None and i not in layout.lfe_indices]
    if not speakers:
        raise LayoutError(f"layout {layout.name!r} has only LFE channels; expected a loudspeaker to pan to")
    az = [layout.positions[i].azimuth_deg for i in speakers]  # type: ignore[union-attr]
    el = [layout.positions[i].elevation_deg for i in speakers]  # type: ignore[union-attr]
    return VbapSetup(az, el, channels=speakers, n_channels=layout.n_channels, close_top=close_top)


def vbap_setup(layout: str | Layout, *, close_top: bool = False) -> VbapSetup:
    """The :class:`VbapSetup` of a layout's non-LFE loudspeakers (cached per layout).

    ``close_top=True`` adds a virtual zenith loudspeaker where the layout has
    none at or above 45 degrees (see :class:`VbapSetup`); AllRAD uses it.

    Raises
    ------
    LayoutError
        For an unknown layout name, or a layout without positions.

    Examples
    --------
    >>> s = vbap_setup("7.1.4")
    >>> s.kind, s.virtual_nadir, s.virtual_zenith, s.n_channels
    ('3d', True, False, 12)
    """
    return _setup_for(get_layout(layout), bool(close_top))


def vbap_gains(
    layout: str | Layout, azimuth_deg: ArrayLike, elevation_deg: ArrayLike, *, spread_deg: float = 0.0
) -> np.ndarray:
    """Gains ``(..., channels)`` that pan sources at these directions into ``layout`` (:class:`VbapSetup`).

    Examples
    --------
    >>> vbap_gains("5.1", [30.0, 110.0], 0.0)
    array([[1., 0., 0., 0., 0., 0.],
           [0., 0., 0., 0., 1., 0.]])
    """
    return vbap_setup(layout).gains(azimuth_deg, elevation_deg, spread_deg)

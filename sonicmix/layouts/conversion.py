"""Conversions between named layouts: fold-downs with documented coefficients, and placements.

Every named layout (22.2 aside) folds down along one chain, one documented
step at a time::

    9.1.6 -> 7.1.4 -> 7.1 -> 5.1 -> stereo -> mono
             7.1.2 -> 7.1     5.1.4 -> 5.1     5.1.2 -> 5.1     5.0 -> stereo

- **5.1 or 5.0 -> stereo**: L' = L + 0.7071 C + 0.7071 Ls, R' likewise, LFE
  dropped. ITU-R BS.775-3, Table 2 (the "Lo/Ro" down-mix); ATSC A/52's centre
  and surround mix levels offer the same -3 dB (clev, surmixlev = 0.707).
- **stereo -> mono**: C' = 0.7071 (L + R). BS.775-3, Table 2 (1/0 from 2/0).
- **7.1 -> 5.1**: Ls' = 0.7071 (Lss + Lrs), Rs' likewise: side and rear
  surround combined at -3 dB each, as the -3 dB surround level of BS.775's
  down-mixes. Content the two carry at the same level comes out at that level
  when uncorrelated and at most 3 dB above it when fully correlated (a unity
  sum, sonicmix's rule before, made it 3 dB and up to 6 dB hot).
- **7.1.4 -> 7.1, 7.1.2 -> 7.1**: Ltf -> L and Ltr -> Lrs at 0.7071 (right
  likewise): each height folded at -3 dB into the ear-level loudspeaker below it.
- **5.1.4 -> 5.1, 5.1.2 -> 5.1**: Ltf -> L and Ltr -> Ls at 0.7071, as above.
- **9.1.6 -> 7.1.4**: Lw -> L and Lss, Ltm -> Ltf and Ltr, each at 0.7071. A
  loudspeaker midway between two kept ones (+-60 between +-30 and +-90 degrees;
  U+-090 between U+-045 and U+-135) is panned to both at equal power, where
  pair-wise amplitude panning puts a source at the midpoint (V. Pulkki, "Virtual
  sound source positioning using vector base amplitude panning", JAES 45(6), 1997).

The LFE channel is dropped where the target has none (BS.775 leaves it out of
every down-mix); :func:`downmix` adds it back at a chosen level with ``lfe_db``.
22.2 has no fold-down here: ITU-R and ARIB publish 22.2 down-mixes, but their
coefficients could not be checked for this release, and a made-up matrix would
be worse than none.

A conversion that is not a fold-down *places* channels: each channel goes to
the channel of the same name, or else to the loudspeaker at the same position
(7.1.4's Ltf to 22.2's TpFL); an LFE goes to the target's first LFE, or nowhere;
mono into stereo goes to both sides at 0.7071 (a phantom centre of the same
power), and 5.x surrounds (M+-110) go to the side surrounds (M+-090) of 7.x or
22.2. Nothing is synthesised for the other channels. Between branches (7.1 to 5.0, 7.1.4 to 5.1.2) the source
is folded down only as far as the target can then hold every channel.

Ambisonics (``"ambix1"`` to ``"ambix3"``, :mod:`sonicmix.layouts.ambix`):

- **ambix to ambix**: the channels both orders have pass at unity, the others
  are dropped (a lower order: the scene truncated, blurred) or silent (a higher
  order: zero-padded); ACN/SN3D channels of degree ``n`` are the same at every order.
- **loudspeakers to ambix**: each loudspeaker is encoded as a plane wave from
  its position (its column is the SN3D harmonics there); the LFE is dropped
  (``downmix(..., lfe_db=...)`` encodes it from L's and R's directions). A
  mono channel arrives from the front, a stereo pair from +-30 degrees.
- **ambix to loudspeakers** is refused: decoding is a choice of decoder and
  layout, made with a node (``AmbisonicDecoder``, AllRAD; ``Binaural``), never
  silently. An ambix layout has no fold-down (:func:`fold_down_chain` is empty).

Examples
--------
>>> from sonicmix.layouts import conversion_matrix
>>> conversion_matrix("7.1", "5.1").round(4)
array([[1.    , 0.    , 0.    , 0.    , 0.    , 0.    , 0.    , 0.    ],
       [0.    , 1.    , 0.    , 0.    , 0.    , 0.    , 0.    , 0.    ],
       [0.    , 0.    , 1.    , 0.    , 0.    , 0.    , 0.    , 0.    ],
       [0.    , 0.    , 0.    , 1.    , 0.    , 0.    , 0.    , 0.    ],
       [0.    , 0.    , 0.    , 0.    , 0.7071, 0.    , 0.7071, 0.    ],
       [0.    , 0.    , 0.    , 0.    , 0.    , 0.7071, 0.    , 0.7071]])
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

from sonicmix._checks import check_audio
from sonicmix.errors import LayoutError, ParameterError
from sonicmix.layouts.ambix import spherical_harmonics
from sonicmix.layouts.catalog import LAYOUTS, Layout, get_layout

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix._typing import Audio

__all__ = ["FOLD_DOWN_STEPS", "fold_down_chain", "conversion_matrix", "downmix"]

_H = 1.0 / math.sqrt(2.0)  # -3.01 dB


def _pairs(*rows: tuple[str, tuple[str, ...]]) -> dict[tuple[str, str], float]:
    """``(source channel, (targets...))`` rows: each target gets the source at -3 dB."""
    return {(target, source): _H for source, targets in rows for target in targets}


#: Each fold-down step: source layout -> (target layout, {(target channel, source channel): gain}).
#: Channels of the same name in both layouts pass at unity (the LFE only where the target has one).
FOLD_DOWN_STEPS: dict[str, tuple[str, dict[tuple[str, str], float]]] = {
    "9.1.6": (
        "7.1.4",
        _pairs(("Lw", ("L", "Lss")), ("Rw", ("R", "Rss")), ("Ltm", ("Ltf", "Ltr")), ("Rtm", ("Rtf", "Rtr"))),
    ),
    "7.1.4": ("7.1", _pairs(("Ltf", ("L",)), ("Rtf", ("R",)), ("Ltr", ("Lrs",)), ("Rtr", ("Rrs",)))),
    "7.1.2": ("7.1", _pairs(("Ltf", ("L",)), ("Rtf", ("R",)))),
    "7.1": ("5.1", _pairs(("Lss", ("Ls",)), ("Lrs", ("Ls",)), ("Rss", ("Rs",)), ("Rrs", ("Rs",)))),
    "5.1.4": ("5.1", _pairs(("Ltf", ("L",)), ("Rtf", ("R",)), ("Ltr", ("Ls",)), ("Rtr", ("Rs",)))),
    "5.1.2": ("5.1", _pairs(("Ltf", ("L",)), ("Rtf", ("R",)))),
    "5.1": ("stereo", _pairs(("C", ("L", "R")), ("Ls", ("L",)), ("Rs", ("R",)))),
    "5.0": ("stereo", _pairs(("C", ("L", "R")), ("Ls", ("L",)), ("Rs", ("R",)))),
    "stereo": ("mono", _pairs(("L", ("C",)), ("R", ("C",)))),
}


def fold_down_chain(layout: str | Layout) -> tuple[str, ...]:
    """The layouts ``layout`` folds down to, widest first (not including itself).

    Examples
    --------
    >>> fold_down_chain("9.1.6")
    ('7.1.4', '7.1', '5.1', 'stereo', 'mono')
    >>> fold_down_chain("22.2"), fold_down_chain("ambix3")   # an AmbiX scene needs a decoder
    ((), ())
    """
    if get_layout(layout).is_ambisonic:
        return ()
    name = _named(get_layout(layout)).name
    chain = []
    while name in FOLD_DOWN_STEPS:
        name = FOLD_DOWN_STEPS[name][0]
        chain.append(name)
    return tuple(chain)


def _named(layout: Layout) -> Layout:
    if LAYOUTS.get(layout.name) != layout:
        raise LayoutError(
            f"layout {layout.name!r} is a custom layout; conversions are defined between the named "
            f"layouts {list(LAYOUTS)} only (a custom layout converts only to itself)"
        )
    return layout


def _step(src: str) -> np.ndarray:
    dst, pairs = FOLD_DOWN_STEPS[src]
    a, b = LAYOUTS[src], LAYOUTS[dst]
    m = np.zeros((b.n_channels, a.n_channels))
    for i, channel in enumerate(a.channels):
        if channel in b.channels:
            m[b.channels.index(channel), i] = 1.0
    for (out_name, in_name), gain in pairs.items():
        m[b.channels.index(out_name), a.channels.index(in_name)] = gain
    return m


def _place(a: Layout, b: Layout) -> np.ndarray | None:
    """The placement of every channel of ``a`` in ``b``, or None if one has no place (LFE aside)."""
    m = np.zeros((b.n_channels, a.n_channels))
    at = {p: j for j, p in enumerate(b.positions) if p is not None}
    for i, (channel, position) in enumerate(zip(a.channels, a.positions, strict=True)):
        if channel in b.channels:
            m[b.channels.index(channel), i] = 1.0
        elif i in a.lfe_indices:
            if b.lfe_indices:  # to the target's first LFE; where it has none, dropped as BS.775 does
                m[b.lfe_indices[0], i] = 1.0
        elif position in at:  # the loudspeaker at the same position under another name (22.2)
            m[at[position], i] = 1.0
        elif channel == "C" and {"L", "R"} <= set(b.channels):
            m[b.channels.index("L"), i] = m[b.channels.index("R"), i] = _H  # phantom centre
        elif channel in ("Ls", "Rs") and (side := (90.0 if channel == "Ls" else -90.0, 0.0)) in at:
            m[at[side], i] = 1.0  # 5.x surrounds (M+-110) to the side surrounds (M+-090) of 7.x
        else:
            return None
    return m


def conversion_matrix(src: str | Layout, dst: str | Layout) -> np.ndarray:
    """Matrix ``(dst_channels, src_channels)`` converting audio from one named layout to another.

    A fold-down (``dst`` in :func:`fold_down_chain` of ``src``) chains the
    documented steps of this module; any other conversion folds ``src`` down
    as far as needed and then places its channels (module docstring).

    Parameters
    ----------
    src, dst : str or Layout
        Named layouts (custom layouts convert only to themselves).

    Returns
    -------
    np.ndarray, shape=(dst_channels, src_channels)
        float64; ``y = m @ x`` converts ``x`` of shape ``(src_channels, samples)``.

    Raises
    ------
    LayoutError
        For an unknown name, a custom layout, or a pair with no defined
        conversion (22.2 to or from any other layout; an Ambisonics scene to
        loudspeakers, which needs a decoder).

    Examples
    --------
    >>> conversion_matrix("5.1", "stereo").round(4)
    array([[1.    , 0.    , 0.7071, 0.    , 0.7071, 0.    ],
           [0.    , 1.    , 0.7071, 0.    , 0.    , 0.7071]])
    >>> conversion_matrix("mono", "5.1").ravel()
    array([0., 0., 1., 0., 0., 0.])
    >>> conversion_matrix("mono", "ambix1").ravel()        # encoded from the front: W and X
    array([1., 0., 0., 1.])
    """
    a, b = get_layout(src), get_layout(dst)
    if a == b:
        return np.eye(a.n_channels)
    if a.is_ambisonic or b.is_ambisonic:
        return _ambisonic(a, b)
    _named(a)
    _named(b)
    m = np.eye(a.n_channels)
    node = a.name
    while True:
        placed = _place(LAYOUTS[node], b)
        if node == b.name or placed is not None:
            return m if node == b.name else placed @ m
        if node not in FOLD_DOWN_STEPS:
            break
        m = _step(node) @ m
        node = FOLD_DOWN_STEPS[node][0]
    chain = fold_down_chain(a)
    raise LayoutError(
        f"no conversion from layout {a.name!r} to {b.name!r}; "
        + (f"{a.name!r} folds down to {list(chain)}" if chain else f"{a.name!r} has no defined fold-down")
        + (" (22.2 converts only to itself: render it to another layout from its sources)"
           if "22.2" in (a.name, b.name) else "")
    )


def _ambisonic(a: Layout, b: Layout) -> np.ndarray:
    """Conversions to and between AmbiX layouts (module docstring); LayoutError for ambix to loudspeakers."""
    if a.is_ambisonic and b.is_ambisonic:  # truncate or zero-pad the ACN channels
        m = np.zeros((b.n_channels, a.n_channels))
        common = min(a.n_channels, b.n_channels)
        m[:common, :common] = np.eye(common)
        return m
    if a.is_ambisonic:
        order = a.ambisonic_order
        listen = (f"AmbisonicDecoder(order={order}, layout={b.name!r}) (AllRAD)" if b.positions else
                  "an AmbisonicDecoder(order=..., layout=...)")
        raise LayoutError(
            f"no conversion from the Ambisonics layout {a.name!r} to loudspeaker layout {b.name!r}: decoding "
            f"is a choice of decoder; decode first, with {listen} or, for headphones, "
            f"Binaural(layout={a.name!r}) at the end of the chain"
        )
    if not a.positions:
        raise LayoutError(
            f"layout {a.name!r} has no loudspeaker positions; expected a layout with positions to encode "
            f"into {b.name!r} (each loudspeaker becomes a plane wave from its position)"
        )
    m = np.zeros((b.n_channels, a.n_channels))
    for i, position in enumerate(a.positions):
        if position is not None and i not in a.lfe_indices:  # the LFE has no direction: dropped
            m[:, i] = spherical_harmonics(b.ambisonic_order, *position)
    return m


def _lfe_column(b: Layout) -> np.ndarray:
    """Where an LFE enters a target without one, at unity: L and R (C for mono), or their directions."""
    if b.is_ambisonic:  # a scene has no loudspeakers: plane waves from where L and R stand, +-30 degrees
        return spherical_harmonics(b.ambisonic_order, np.array([30.0, -30.0]), 0.0).sum(axis=0)
    fronts = [b.channels.index(c) for c in ("L", "R") if c in b.channels] or (
        [b.channels.index("C")] if "C" in b.channels else []
    )
    column = np.zeros(b.n_channels)
    column[fronts] = 1.0
    return column


def downmix(audio: Audio, src: str | Layout, dst: str | Layout, *, lfe_db: float | None = None) -> Audio:
    """Fold ``audio`` from layout ``src`` down (or convert it) to layout ``dst``.

    Parameters
    ----------
    audio : np.ndarray, shape=(channels, samples)
        float32 or float64 audio in layout ``src``; the result has the same dtype.
    src, dst : str or Layout
        Named layouts, e.g. ``"7.1.4"`` and ``"stereo"`` (:func:`conversion_matrix`).
    lfe_db : float, optional
        Gain in dB at which the LFE channel(s) enter a target that has no LFE:
        the front pair L and R (the centre for mono), each at this gain; an
        Ambisonics target takes them as plane waves from L's and R's directions
        (+-30 degrees), as its stereo encoding does. By
        default the LFE is dropped, as ITU-R BS.775 does. Must be <= 0 and is
        refused for a target that has an LFE channel (which carries it at unity).

    Returns
    -------
    np.ndarray, shape=(dst_channels, samples)
        The converted audio, of ``audio``'s dtype. Each sample depends only on
        the samples at the same time, computed the same way whatever the block
        length: folding blocks and joining them gives the whole's result.

    Raises
    ------
    AudioError
        If ``audio`` is not float ``(channels, samples)`` audio.
    LayoutError
        If ``audio`` does not have ``src``'s channel count, or the conversion is undefined.
    ParameterError
        For an ``lfe_db`` that is not finite, above 0, or given for a target with an LFE.

    Examples
    --------
    A 7.1 bed with the same signal in the side and rear left surrounds: folded
    to 5.1 it is 3 dB hotter in Ls (not 6 dB, as a unity sum made it).

    >>> import numpy as np
    >>> x = np.zeros((8, 4), np.float32)
    >>> x[4] = x[6] = 0.5                     # Lrs and Lss
    >>> y = downmix(x, "7.1", "5.1")
    >>> y.dtype, round(float(20 * np.log10(y[4, 0] / 0.5)), 2)
    (dtype('float32'), 3.01)
    >>> downmix(np.ones((6, 1)), "5.1", "stereo", lfe_db=-10.0).round(4).ravel()   # L, R
    array([2.7304, 2.7304])
    """
    a, b = get_layout(src), get_layout(dst)
    x = check_audio(audio, "audio", finite=False, min_samples=0)
    if x.shape[0] != a.n_channels:
        raise LayoutError(
            f"audio has {x.shape[0]} channels but layout={a.name!r} has {a.n_channels}; expected audio in "
            f"the source layout, shaped (channels, samples)"
        )
    m = conversion_matrix(a, b)
    if lfe_db is not None:
        if isinstance(lfe_db, bool) or not isinstance(lfe_db, Real) or not math.isfinite(lfe_db):
            raise ParameterError(f"lfe_db={lfe_db!r} is not a finite number of dB")
        if lfe_db > 0.0:
            raise ParameterError(f"lfe_db={lfe_db:g} is out of range; expected lfe_db <= 0 dB")
        if b.lfe_indices:
            raise ParameterError(
                f"lfe_db={lfe_db:g} was given but layout {b.name!r} has an LFE channel, which carries the "
                "LFE at unity; expected lfe_db=None (lfe_db sets the LFE's level in a target without one)"
            )
        gain = 10.0 ** (lfe_db / 20.0)
        for index in a.lfe_indices:
            m[:, index] += gain * _lfe_column(b)
    # Row by row over the nonzero coefficients, in a fixed order: every sample is computed the same
    # way whatever the block it comes in (a BLAS product may sum in another order for another width).
    gains = m.astype(x.dtype)
    y = np.zeros((b.n_channels, x.shape[1]), x.dtype)
    for o in range(b.n_channels):
        for i in np.flatnonzero(gains[o]):
            y[o] += x[i] if gains[o, i] == 1 else gains[o, i] * x[i]
    return y

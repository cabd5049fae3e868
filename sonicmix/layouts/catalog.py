"""Named channel layouts: channel names, loudspeaker positions, LFE channels, BS.1770 weights.

Positions follow ITU-R BS.2051-3 (Table 1 and the systems' figures): azimuth in
degrees, **positive to the left** of the front direction, in [-180, 180];
elevation in degrees, positive upwards, in [-90, 90]. An LFE channel has no
position (BS.2051 gives none), so its entry is ``None``.

Channel order is the WAVE order files use: the order of the WAVE_FORMAT_EXTENSIBLE
speaker bits (Microsoft ksmedia.h, ``SPEAKER_FRONT_LEFT`` = 0x1 ... ``SPEAKER_TOP_BACK_RIGHT``
= 0x20000), which is also FFmpeg's native order for its layouts of the same names
(``ffmpeg -layouts``: "5.1.2", "5.1.4", "7.1.2", "7.1.4", "9.1.6", "22.2"). Each
channel therefore also carries FFmpeg's short speaker name (``FL``, ``TFL``, ...),
from which the file's ``dwChannelMask`` follows (:mod:`sonicmix.layouts.masks`).

| layout | channels (file order) | positions (BS.2051-3) |
|---|---|---|
| mono | C | M+000 |
| stereo | L R | System A (0+2+0): M+-030 |
| 5.0, 5.1 | L R C [LFE] Ls Rs | System B (0+5+0): Ls/Rs at M+-110 |
| 5.1.2 | L R C LFE Ls Rs Ltf Rtf | System C (2+5+0): tops at U+-030 |
| 5.1.4 | L R C LFE Ls Rs Ltf Rtf Ltr Rtr | System D (4+5+0): U+-030, U+-110 |
| 7.1 | L R C LFE Lrs Rrs Lss Rss | System I (0+7+0): M+-135, M+-090 |
| 7.1.2 | 7.1, Ltf Rtf | System I and the front tops of J (U+-045) |
| 7.1.4 | 7.1, Ltf Rtf Ltr Rtr | System J (4+7+0): U+-045, U+-135 |
| 9.1.6 | L R C LFE Lrs Rrs Lw Rw Lss Rss Ltf Rtf Ltr Rtr Ltm Rtm | J, M+-060 and U+-090 (of H) |
| 22.2 | FL FR FC LFE1 BL BR FLc FRc BC SiL SiR TpC TpFL TpFC ... (24) | System H (9+10+3) |
| ambix1, ambix2, ambix3 | W Y Z X [V T R S U [Q O M K L N P]] (4, 9, 16) | none: an AmbiX scene |

The AmbiX layouts (:data:`AMBISONIC_LAYOUTS`, apart from :data:`LAYOUTS`, which
holds the loudspeaker layouts) carry an Ambisonics scene in ACN order with SN3D
normalisation (:mod:`sonicmix.layouts.ambix`): no positions, no LFE, no
speakers, and WAVE channel mask 0. Loudspeaker-only operations (VBAP, fold-downs,
conversion to loudspeakers) refuse them, and a scene reaches loudspeakers or
headphones only through a decoder (``AmbisonicDecoder``, ``Binaural``).
BS.1770 gives no weights for a scene: their ``loudness_weights`` measure it
through a documented decode to uniform virtual loudspeakers (:mod:`sonicmix.layouts.ambix`).

Notes on the choices:

- 7.1.2 is not one of BS.2051's systems; it is System I with System J's two
  front tops (U+-045), as IAMF (AOMedia, 2024) and FFmpeg's "7.1.2" (TFL, TFR) define it.
- 9.1.6 is not a BS.2051 system either. It is Dolby's 9.1.6 speaker set (L C R
  LFE, side and rear surrounds, wides Lw/Rw, top front, top middle, top rear)
  at BS.2051 positions: System J plus the wide pair M+-060 and the top-side
  pair U+-090 of System H. The channel order is FFmpeg's "9.1.6"
  (FL FR FC LFE BL BR FLC FRC SL SR TFL TFR TBL TBR TSL TSR), whose FLC/FRC
  slots carry the wides. (IAMF reads the same 16 slots as a subset of 22.2,
  where FL/FR sit at +-60 and FLC/FRC at +-30; sonicmix keeps the first two
  channels the +-30 degree mains in every layout from stereo to 9.1.6, so a
  fold-down maps L to L.)
- 22.2 keeps BS.2051 System H's loudspeakers and SMPTE ST 2036-2's channel
  labels, in FFmpeg's "22.2" order (the WAVE bit order, which differs from
  BS.2051's table order). In 22.2 the front pair FL/FR sits at +-60 degrees
  and FLc/FRc at +-30.

Loudness weights follow ITU-R BS.1770-5, Annex 3 (Table 4, weights by
position): G = 1.41 (+1.5 dB) for a loudspeaker with |elevation| < 30 degrees
and 60 <= |azimuth| <= 120 degrees, G = 1.00 for every other position, and the
LFE channels are left out of the measurement. libebur128 applies the same
rule to its channel types (1.41 for M+-060, M+-090, M+-110; 1.0 for the upper
and bottom layers). For 5.1 this gives Annex 1's Table 3 (Ls, Rs: 1.41).

Examples
--------
>>> from sonicmix.layouts import get_layout
>>> layout = get_layout("7.1.4")
>>> layout.channel_names
('L', 'R', 'C', 'LFE', 'Lrs', 'Rrs', 'Lss', 'Rss', 'Ltf', 'Rtf', 'Ltr', 'Rtr')
>>> layout.positions[8]
Position(azimuth_deg=45.0, elevation_deg=30.0)
>>> layout.lfe_indices
(3,)
>>> layout.loudness_weights
(1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.41, 1.41, 1.0, 1.0, 1.0, 1.0)
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from numbers import Real
from typing import NamedTuple

from sonicmix.errors import LayoutError
from sonicmix.layouts import ambix
from sonicmix.layouts.masks import accepted_masks, mask_of_speakers

__all__ = [
    "Position",
    "Layout",
    "LAYOUTS",
    "AMBISONIC_LAYOUTS",
    "bs1770_weight",
    "get_layout",
    "default_layout",
    "resolve_layout",
]

#: BS.1770-5 Annex 3 (Table 4): weight of a loudspeaker at ear height on the side.
SIDE_WEIGHT = 1.41


class Position(NamedTuple):
    """A loudspeaker direction, as BS.2051 gives it.

    Attributes
    ----------
    azimuth_deg : float
        Horizontal angle in degrees, 0 straight ahead, **positive to the left**,
        in [-180, 180].
    elevation_deg : float
        Vertical angle in degrees, 0 at ear height, positive upwards, in [-90, 90].

    Examples
    --------
    >>> Position(110.0, 0.0)   # BS.2051's M+110, the left surround of 5.1
    Position(azimuth_deg=110.0, elevation_deg=0.0)
    """

    azimuth_deg: float
    elevation_deg: float


def bs1770_weight(azimuth_deg: float, elevation_deg: float) -> float:
    """BS.1770-5 channel weight ``G`` of a loudspeaker at this position (LFE aside).

    Parameters
    ----------
    azimuth_deg : float
        Azimuth in degrees, in [-180, 180] (either sign convention: only
        ``|azimuth_deg|`` matters).
    elevation_deg : float
        Elevation in degrees, in [-90, 90].

    Returns
    -------
    float
        1.41 (+1.5 dB) where ``|elevation_deg| < 30`` and ``60 <= |azimuth_deg| <= 120``,
        else 1.0. LFE channels are not weighted but excluded (weight 0), which
        :class:`Layout` does from its ``lfe_indices``.

    Raises
    ------
    LayoutError
        If an angle is not finite or is out of its range.

    References
    ----------
    ITU-R BS.1770-5 (11/2023), Annex 3, Table 4: position-dependent channel weightings.

    Examples
    --------
    >>> bs1770_weight(110.0, 0.0), bs1770_weight(135.0, 0.0), bs1770_weight(90.0, 30.0)
    (1.41, 1.0, 1.0)
    """
    _check_angle("azimuth_deg", azimuth_deg, 180.0)
    _check_angle("elevation_deg", elevation_deg, 90.0)
    side = 60.0 <= abs(azimuth_deg) <= 120.0
    return SIDE_WEIGHT if side and abs(elevation_deg) < 30.0 else 1.0


def _check_angle(name: str, value: object, limit: float, where: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise LayoutError(f"{where}{name}={value!r} is not a finite number of degrees")
    if not -limit <= value <= limit:
        raise LayoutError(
            f"{where}{name}={value!r} is out of range; expected -{limit:g} <= {name} <= {limit:g} "
            "(BS.2051 angles: azimuth positive to the left, elevation positive upwards)"
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class Layout:
    """A channel layout: channel names in file order, and what each channel is.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"stereo"``, ``"5.1"`` or ``"7.1.4"``.
    channels : tuple of str
        Channel names in file order (also available as :attr:`channel_names`).
    loudness_weights : tuple of float, optional
        BS.1770 weight of each channel (0 leaves the channel out). By default
        derived from ``positions`` by :func:`bs1770_weight`, with 0 for the LFE
        channels; give them to override (a custom meter) or when the positions
        are unknown.

    Other Parameters
    ----------------
    positions : tuple of Position or None, optional
        Direction of each channel's loudspeaker (``None`` for an LFE channel).
        Empty when unknown.
    lfe_indices : tuple of int, default ()
        Indices of the LFE channels.
    speakers : tuple of str, optional
        FFmpeg's short name of each channel's speaker (``"FL"``, ``"LFE"``,
        ``"TBR"``, ...): what the WAVE channel mask is derived from. Empty when
        the layout has no speaker assignment.
    ambisonic_order : int, default 0
        1 to 3 for an AmbiX scene (ACN order, SN3D; ``(order + 1) ** 2``
        channels, no positions, no LFE, no speakers; default loudness weights
        :func:`sonicmix.layouts.ambix.loudness_weights`); 0 for loudspeaker feeds.

    Raises
    ------
    LayoutError
        If the tuples do not have one entry per channel, a name repeats, a
        weight is negative, an angle is out of range, an LFE index is out of
        range or has a position, or neither weights nor positions are given.

    Examples
    --------
    A custom layout: a front pair and a single overhead loudspeaker, weights
    from the positions.

    >>> custom = Layout("2.0.1", ("L", "R", "T"),
    ...                 positions=(Position(30.0, 0.0), Position(-30.0, 0.0), Position(0.0, 90.0)))
    >>> custom.loudness_weights
    (1.0, 1.0, 1.0)

    The form with explicit weights, as before positions existed:

    >>> Layout("pair", ("A", "B"), (1.0, 1.41)).loudness_weights
    (1.0, 1.41)
    """

    name: str
    channels: tuple[str, ...]
    loudness_weights: tuple[float, ...] = ()
    positions: tuple[Position | None, ...] = ()
    lfe_indices: tuple[int, ...] = ()
    speakers: tuple[str, ...] = ()
    ambisonic_order: int = 0

    def __post_init__(self) -> None:
        n = len(self.channels)
        where = f"layout {self.name!r}: "
        if n == 0:
            raise LayoutError(f"{where}no channels; expected at least one channel name")
        if self.ambisonic_order:
            self._check_ambisonic(where)
        if len(set(self.channels)) != n:
            repeated = sorted({c for c in self.channels if self.channels.count(c) > 1})
            raise LayoutError(f"{where}channel names {repeated} repeat; expected unique names")
        for index in self.lfe_indices:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                raise LayoutError(f"{where}lfe_indices holds {index!r}; expected channel indices 0..{n - 1}")
        if self.positions:
            if len(self.positions) != n:
                raise LayoutError(
                    f"{where}{n} channels but {len(self.positions)} positions; expected one per channel "
                    "(None for an LFE channel)"
                )
            checked: list[Position | None] = []
            for index, (channel, position) in enumerate(zip(self.channels, self.positions, strict=True)):
                if position is None:
                    if index not in self.lfe_indices:
                        raise LayoutError(
                            f"{where}channel {channel!r} has no position but is not in lfe_indices; "
                            "expected a Position(azimuth_deg, elevation_deg) (only LFE channels have none)"
                        )
                    checked.append(None)
                    continue
                if index in self.lfe_indices:
                    raise LayoutError(
                        f"{where}LFE channel {channel!r} has position {position!r}; expected None "
                        "(BS.2051 gives the LFE no position)"
                    )
                try:
                    azimuth_deg, elevation_deg = position
                except (TypeError, ValueError):
                    raise LayoutError(
                        f"{where}channel {channel!r} has position {position!r}; expected "
                        "Position(azimuth_deg, elevation_deg)"
                    ) from None
                at = f"{where}channel {channel!r}: "
                checked.append(
                    Position(
                        _check_angle("azimuth_deg", azimuth_deg, 180.0, at),
                        _check_angle("elevation_deg", elevation_deg, 90.0, at),
                    )
                )
            object.__setattr__(self, "positions", tuple(checked))
        if self.speakers and len(self.speakers) != n:
            raise LayoutError(
                f"{where}{n} channels but {len(self.speakers)} speakers; expected one per channel"
            )
        if not self.loudness_weights:
            if not self.positions:
                raise LayoutError(
                    f"{where}neither loudness_weights nor positions were given; expected one of them "
                    "(weights follow from positions by BS.1770-5 Annex 3)"
                )
            weights = tuple(
                0.0 if p is None or i in self.lfe_indices else bs1770_weight(*p)
                for i, p in enumerate(self.positions)
            )
            object.__setattr__(self, "loudness_weights", weights)
        if len(self.loudness_weights) != n:
            raise LayoutError(
                f"layout {self.name!r} has {n} channels but {len(self.loudness_weights)} loudness weights; "
                "expected one weight per channel"
            )
        if any(not math.isfinite(w) or w < 0 for w in self.loudness_weights):
            raise LayoutError(f"layout {self.name!r} has a negative loudness weight; expected weights >= 0")

    def _check_ambisonic(self, where: str) -> None:
        try:
            order = ambix.check_order(self.ambisonic_order, "ambisonic_order")
        except ValueError as err:
            raise LayoutError(f"{where}{err}") from None
        if len(self.channels) != ambix.channel_count(order):
            raise LayoutError(
                f"{where}{len(self.channels)} channels for ambisonic_order={order}; expected "
                f"(order + 1) ** 2 = {ambix.channel_count(order)}"
            )
        if self.positions or self.lfe_indices or self.speakers:
            raise LayoutError(
                f"{where}an Ambisonics layout has no positions, LFE channels or speakers; expected none "
                "(its channels are spherical harmonics, not loudspeaker feeds)"
            )
        if not self.loudness_weights:
            object.__setattr__(self, "loudness_weights", tuple(ambix.loudness_weights(order).tolist()))

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channels)

    @property
    def is_ambisonic(self) -> bool:
        """True for an AmbiX scene (``"ambix1"`` to ``"ambix3"``), False for loudspeaker feeds."""
        return self.ambisonic_order > 0

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel names in file order (the same as :attr:`channels`)."""
        return self.channels

    @property
    def channel_mask(self) -> int | None:
        """The WAVE_FORMAT_EXTENSIBLE ``dwChannelMask`` written for this layout, or None.

        The mask covers the leading channels whose speakers have a WAVE bit, in
        bit order; channels after them are unassigned (a *partial* mask, as
        the WAVEFORMATEXTENSIBLE documentation allows: 9.1.6's top-side pair and
        six of 22.2's channels have no WAVE bit). None when no channel has one.

        Examples
        --------
        An Ambisonics layout has mask 0 (WAVE_FORMAT_EXTENSIBLE's "no speaker
        assignment"): its channels are no loudspeakers.

        >>> hex(get_layout("7.1.4").channel_mask), hex(get_layout("22.2").channel_mask)
        ('0x2d63f', '0x3ffff')
        >>> get_layout("ambix3").channel_mask
        0
        """
        return 0 if self.is_ambisonic else mask_of_speakers(self.speakers)

    @property
    def accepted_masks(self) -> frozenset[int]:
        """Channel masks a file of this layout may carry (besides 0, "no assignment").

        :attr:`channel_mask` and, for 5.x layouts, the variant with the
        surrounds on the side bits (``KSAUDIO_SPEAKER_5POINT1_SURROUND``); for
        7.1, also 0xFF, the mask libsndfile writes for any 8 channels; for mono,
        also a single front-left or front-right speaker.
        """
        return accepted_masks(self.speakers)


def _layout(name: str, table: str) -> Layout:
    """A layout from rows ``channel speaker azimuth elevation`` (``LFE`` for no position)."""
    channels, speakers, positions, lfe = [], [], [], []
    rows = [line.split() for line in table.splitlines() if line.strip()]
    for index, row in enumerate(rows):
        channels.append(row[0])
        speakers.append(row[1])
        if row[2] == "LFE":
            positions.append(None)
            lfe.append(index)
        else:
            positions.append(Position(float(row[2]), float(row[3])))
    return Layout(
        name, tuple(channels), positions=tuple(positions), lfe_indices=tuple(lfe), speakers=tuple(speakers)
    )


# Rows: name, FFmpeg speaker, azimuth_deg, elevation_deg (BS.2051-3 Table 1 nominal positions).
_FRONT = """
L   FL   30  0
R   FR  -30  0
C   FC    0  0
"""
_LFE = "LFE LFE LFE\n"
_SURROUND_5 = """
Ls  BL  110  0
Rs  BR -110  0
"""
_SURROUND_7 = """
Lrs BL  135  0
Rrs BR -135  0
Lss SL   90  0
Rss SR  -90  0
"""
_TOP_5 = """
Ltf TFL  30 30
Rtf TFR -30 30
"""
_TOP_REAR_5 = """
Ltr TBL  110 30
Rtr TBR -110 30
"""
_TOP_7 = """
Ltf TFL  45 30
Rtf TFR -45 30
"""
_TOP_REAR_7 = """
Ltr TBL  135 30
Rtr TBR -135 30
"""
_9_1_6 = _FRONT + _LFE + """
Lrs BL   135  0
Rrs BR  -135  0
Lw  FLC   60  0
Rw  FRC  -60  0
Lss SL    90  0
Rss SR   -90  0
""" + _TOP_7 + _TOP_REAR_7 + """
Ltm TSL   90 30
Rtm TSR  -90 30
"""
# BS.2051 System H (9+10+3), SMPTE ST 2036-2 labels, in FFmpeg's (WAVE bit) order.
_22_2 = """
FL    FL     60   0
FR    FR    -60   0
FC    FC      0   0
LFE1  LFE   LFE
BL    BL    135   0
BR    BR   -135   0
FLc   FLC    30   0
FRc   FRC   -30   0
BC    BC    180   0
SiL   SL     90   0
SiR   SR    -90   0
TpC   TC      0  90
TpFL  TFL    45  30
TpFC  TFC     0  30
TpFR  TFR   -45  30
TpBL  TBL   135  30
TpBC  TBC   180  30
TpBR  TBR  -135  30
LFE2  LFE2  LFE
TpSiL TSL    90  30
TpSiR TSR   -90  30
BtFC  BFC     0 -30
BtFL  BFL    45 -30
BtFR  BFR   -45 -30
"""

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        _layout("mono", "C FC 0 0"),
        _layout("stereo", "L FL 30 0\nR FR -30 0"),
        _layout("5.0", _FRONT + _SURROUND_5),
        _layout("5.1", _FRONT + _LFE + _SURROUND_5),
        _layout("7.1", _FRONT + _LFE + _SURROUND_7),
        _layout("5.1.2", _FRONT + _LFE + _SURROUND_5 + _TOP_5),
        _layout("5.1.4", _FRONT + _LFE + _SURROUND_5 + _TOP_5 + _TOP_REAR_5),
        _layout("7.1.2", _FRONT + _LFE + _SURROUND_7 + _TOP_7),
        _layout("7.1.4", _FRONT + _LFE + _SURROUND_7 + _TOP_7 + _TOP_REAR_7),
        _layout("9.1.6", _9_1_6),
        _layout("22.2", _22_2),
    )
}

#: AmbiX scenes (ACN, SN3D) of orders 1 to 3: channels W Y Z X ..., no positions, no LFE, mask 0.
AMBISONIC_LAYOUTS: dict[str, Layout] = {
    f"ambix{order}": Layout(f"ambix{order}", ambix.acn_names(order), ambisonic_order=order)
    for order in range(1, ambix.MAX_ORDER + 1)
}

_DEFAULT_BY_COUNT = {1: "mono", 2: "stereo", 5: "5.0", 6: "5.1", 8: "7.1"}


def _named() -> dict[str, Layout]:
    return {**LAYOUTS, **AMBISONIC_LAYOUTS}


def get_layout(layout: str | Layout) -> Layout:
    """Return the Layout called ``layout`` (or ``layout`` itself if it is one).

    Parameters
    ----------
    layout : str or Layout
        A name from :data:`LAYOUTS` (``"mono"``, ``"stereo"``, ``"5.0"``,
        ``"5.1"``, ``"7.1"``, ``"5.1.2"``, ``"5.1.4"``, ``"7.1.2"``,
        ``"7.1.4"``, ``"9.1.6"``, ``"22.2"``) or :data:`AMBISONIC_LAYOUTS`
        (``"ambix1"``, ``"ambix2"``, ``"ambix3"``), or a Layout.

    Raises
    ------
    LayoutError
        For an unknown name, with the closest known name as a hint.

    Examples
    --------
    >>> get_layout("9.1.6").n_channels
    16
    >>> get_layout("ambix3").channels[:4], get_layout("ambix3").is_ambisonic
    (('W', 'Y', 'Z', 'X'), True)
    >>> get_layout("7.4.1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sonicmix.errors.LayoutError: layout='7.4.1' is unknown; expected one of [...] (did you mean '7.1.4'?)
    """
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, str) and layout in LAYOUTS:
        return LAYOUTS[layout]
    if isinstance(layout, str) and layout in AMBISONIC_LAYOUTS:
        return AMBISONIC_LAYOUTS[layout]
    close: list[str] = []
    if isinstance(layout, str):  # "714", "7_1_4" (the digits of a name), then "7.4.1" (reordered)
        digits = "".join(ch for ch in layout if ch.isdigit())
        plain = {name: name.replace(".", "") for name in LAYOUTS}
        close = [name for name, d in plain.items() if digits and d == digits]
        close = close or [name for name, d in plain.items() if digits and sorted(d) == sorted(digits)]
    close = close or difflib.get_close_matches(str(layout), list(_named()), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise LayoutError(f"layout={layout!r} is unknown; expected one of {list(_named())}{hint}")


def default_layout(n_channels: int, *, name: str = "audio") -> Layout:
    """Return the layout assumed for ``n_channels`` channels, or raise LayoutError.

    A layout is assumed only for 1, 2, 5, 6 and 8 channels (mono, stereo, 5.0,
    5.1, 7.1). Immersive layouts are never guessed from a count: 8 channels
    may be 5.1.2, 10 may be 5.1.4 or 7.1.2, 12 channels may be 7.1.4 or twelve
    microphones (whose LFE weight 0 would silence one of them), 16 may be 9.1.6
    or a third-order AmbiX scene.

    Examples
    --------
    >>> default_layout(6).name
    '5.1'
    """
    if n_channels in _DEFAULT_BY_COUNT:
        return LAYOUTS[_DEFAULT_BY_COUNT[n_channels]]
    same_count = [lay.name for lay in _named().values() if lay.n_channels == n_channels]
    hint = f" ({' or '.join(repr(n) for n in same_count)} for this count?)" if same_count else ""
    raise LayoutError(
        f"{name} has {n_channels} channels and no layout was given; a layout is assumed only for "
        f"{sorted(_DEFAULT_BY_COUNT)} channels. Pass layout= with a name from {list(_named())}{hint} "
        "or a sonicmix.layouts.Layout with one loudness weight per channel"
    )


def resolve_layout(layout: str | Layout | None, n_channels: int, *, name: str = "audio") -> Layout:
    """Return the layout for audio with ``n_channels`` channels, checking they agree.

    Raises
    ------
    LayoutError
        If the layout is unknown, or has another channel count than the audio.

    Examples
    --------
    >>> resolve_layout("7.1.4", 12).name
    '7.1.4'
    """
    resolved = default_layout(n_channels, name=name) if layout is None else get_layout(layout)
    if resolved.n_channels != n_channels:
        same_count = [lay.name for lay in _named().values() if lay.n_channels == n_channels]
        hint = f"; layouts with {n_channels} channels: {same_count}" if same_count else ""
        raise LayoutError(
            f"layout={resolved.name!r} has {resolved.n_channels} channels but {name} has {n_channels}; "
            f"expected matching channel counts (is the audio transposed, or is it another layout?){hint}"
        )
    return resolved

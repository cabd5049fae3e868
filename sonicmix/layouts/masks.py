"""WAVE_FORMAT_EXTENSIBLE channel masks (``dwChannelMask``) of layouts and files.

A WAVE file's ``fmt `` chunk in the WAVE_FORMAT_EXTENSIBLE form carries a
32-bit ``dwChannelMask``: one bit per loudspeaker position (Microsoft
ksmedia.h, ``SPEAKER_FRONT_LEFT`` = 0x1 up to ``SPEAKER_TOP_BACK_RIGHT`` =
0x20000; 0x7FFC0000 is reserved). The file's channels are those speakers *in
bit order*; when the file has more channels than bits set, the extra channels
are assigned to no speaker (WAVEFORMATEXTENSIBLE, Microsoft Learn). A mask of 0
assigns none.

Speakers are named here as FFmpeg names them (``ffmpeg -layouts``), which for
the 18 WAVE positions are the same bits in the same order. FFmpeg's further
speakers (``LFE2``, ``TSL``, ``TSR``, ``BFC``, ``BFL``, ``BFR``, ``WL``,
``WR``) have no WAVE bit: FFmpeg itself writes a mask of 0 for a layout with any
of them (libavformat/riffenc.c writes the mask only when it is below 0x40000).
sonicmix writes the *partial* mask of the leading channels that have a bit
(9.1.6: 14 of 16 channels; 22.2: 18 of 24), which the WAVE definition allows
and FFmpeg reads as an unknown layout rather than a wrong one.

Examples
--------
>>> from sonicmix.layouts import get_layout
>>> hex(mask_of_speakers(get_layout("7.1").speakers))
'0x63f'
>>> speakers_of_mask(0x63F)
('FL', 'FR', 'FC', 'LFE', 'BL', 'BR', 'SL', 'SR')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sonicmix.errors import LayoutError

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix.layouts.catalog import Layout

__all__ = [
    "WAVE_SPEAKER_BITS",
    "mask_of_speakers",
    "speakers_of_mask",
    "accepted_masks",
    "layout_for_mask",
    "describe_mask",
    "check_channel_mask",
]

#: The WAVE speaker positions (ksmedia.h ``SPEAKER_*``) under FFmpeg's short names, in bit order.
WAVE_SPEAKER_BITS: dict[str, int] = {
    "FL": 0x1,  # SPEAKER_FRONT_LEFT
    "FR": 0x2,  # SPEAKER_FRONT_RIGHT
    "FC": 0x4,  # SPEAKER_FRONT_CENTER
    "LFE": 0x8,  # SPEAKER_LOW_FREQUENCY
    "BL": 0x10,  # SPEAKER_BACK_LEFT
    "BR": 0x20,  # SPEAKER_BACK_RIGHT
    "FLC": 0x40,  # SPEAKER_FRONT_LEFT_OF_CENTER
    "FRC": 0x80,  # SPEAKER_FRONT_RIGHT_OF_CENTER
    "BC": 0x100,  # SPEAKER_BACK_CENTER
    "SL": 0x200,  # SPEAKER_SIDE_LEFT
    "SR": 0x400,  # SPEAKER_SIDE_RIGHT
    "TC": 0x800,  # SPEAKER_TOP_CENTER
    "TFL": 0x1000,  # SPEAKER_TOP_FRONT_LEFT
    "TFC": 0x2000,  # SPEAKER_TOP_FRONT_CENTER
    "TFR": 0x4000,  # SPEAKER_TOP_FRONT_RIGHT
    "TBL": 0x8000,  # SPEAKER_TOP_BACK_LEFT
    "TBC": 0x10000,  # SPEAKER_TOP_BACK_CENTER
    "TBR": 0x20000,  # SPEAKER_TOP_BACK_RIGHT
}
_BIT_NAMES = {bit: name for name, bit in WAVE_SPEAKER_BITS.items()}
_RESERVED = 0x7FFC0000
_ALL = 0x80000000  # SPEAKER_ALL

#: 5.x surrounds on the side bits instead of the back bits (KSAUDIO_SPEAKER_5POINT1_SURROUND = 0x60F).
_BACK_TO_SIDE = {"BL": "SL", "BR": "SR"}
#: KSAUDIO_SPEAKER_7POINT1 ("7.1 wide", FL FR FC LFE BL BR FLC FRC): libsndfile 1.2.2 writes it for
#: every 8-channel WAVEX or RF64 file, sonicmix's own RF64 writer too when no layout is given.
_LIBSNDFILE_8_CHANNELS = 0xFF


def mask_of_speakers(speakers: tuple[str, ...]) -> int | None:
    """The channel mask of channels with these speakers, or None if the first has no WAVE bit.

    The mask covers the longest run of leading channels whose speakers have
    WAVE bits in strictly increasing order; the channels after it are left
    unassigned (a partial mask).

    Examples
    --------
    >>> hex(mask_of_speakers(("FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "SL", "SR",
    ...                       "TFL", "TFR", "TBL", "TBR", "TSL", "TSR")))   # 9.1.6: 14 of 16
    '0x2d6ff'
    """
    mask, last = 0, 0
    for speaker in speakers:
        bit = WAVE_SPEAKER_BITS.get(speaker)
        if bit is None or bit <= last:
            break
        mask, last = mask | bit, bit
    return mask or None


def speakers_of_mask(mask: int) -> tuple[str, ...]:
    """FFmpeg's names of the speakers a mask assigns, in channel order (reserved bits as hex).

    Examples
    --------
    >>> speakers_of_mask(0x3F)
    ('FL', 'FR', 'FC', 'LFE', 'BL', 'BR')
    """
    return tuple(_BIT_NAMES.get(1 << k, hex(1 << k)) for k in range(32) if mask >> k & 1)


def describe_mask(mask: int) -> str:
    """A mask as messages show it: in hex, with the speakers it assigns.

    Examples
    --------
    >>> describe_mask(0x63F)
    '0x63F (FL+FR+FC+LFE+BL+BR+SL+SR)'
    """
    if mask == 0:
        return "0x0 (no speakers assigned)"
    return f"0x{mask:X} ({'+'.join(speakers_of_mask(mask))})"


def accepted_masks(speakers: tuple[str, ...]) -> frozenset[int]:
    """Masks that describe channels with these speakers (see :attr:`Layout.accepted_masks`).

    Examples
    --------
    >>> sorted(hex(m) for m in accepted_masks(("FL", "FR", "FC", "LFE", "BL", "BR")))
    ['0x3f', '0x60f']
    """
    own = mask_of_speakers(speakers)
    if own is None:
        return frozenset()
    masks = {own}
    if "BL" in speakers and not {"SL", "SR"} & set(speakers):  # 5.x: surrounds on the side bits
        side = mask_of_speakers(tuple(_BACK_TO_SIDE.get(s, s) for s in speakers))
        if side is not None and bin(side).count("1") == bin(own).count("1"):
            masks.add(side)
    if speakers == ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"):
        masks.add(_LIBSNDFILE_8_CHANNELS)
    if speakers == ("FC",):  # mono files flagged as one front speaker: the level reads the same
        masks.update((WAVE_SPEAKER_BITS["FL"], WAVE_SPEAKER_BITS["FR"]))
    return frozenset(masks)


def layout_for_mask(mask: int | None, channels: int) -> Layout | None:
    """The named layout a file with this mask and channel count holds, or None if no single one.

    Examples
    --------
    >>> layout_for_mask(0x2D63F, 12).name
    '7.1.4'
    >>> layout_for_mask(0, 12) is None   # 0: no speakers assigned
    True
    """
    from sonicmix.layouts.catalog import LAYOUTS

    if not mask:
        return None
    found = [lay for lay in LAYOUTS.values() if lay.n_channels == channels and mask in lay.accepted_masks]
    return found[0] if len(found) == 1 else None


def check_channel_mask(mask: int | None, layout: Layout, *, name: str) -> None:
    """Raise LayoutError if a file's channel mask contradicts ``layout``.

    A file without a mask (a plain ``fmt `` chunk: None) or with mask 0
    assigns no speakers, so any layout of its channel count is accepted.

    Parameters
    ----------
    mask : int or None
        The file's ``dwChannelMask``, None when its ``fmt `` is not WAVE_FORMAT_EXTENSIBLE.
    layout : Layout
        The layout asked for (its channel count already checked).
    name : str
        What the message calls the file, e.g. ``"file 'mix.wav'"``.

    Raises
    ------
    LayoutError
        Naming the file, its mask (with the speakers it assigns), the layout and
        the masks it accepts, and the named layout the mask does describe if any.

    Examples
    --------
    >>> from sonicmix.layouts import get_layout
    >>> check_channel_mask(0x2D63F, get_layout("7.1.4"), name="file 'bed.wav'")
    >>> check_channel_mask(0x2D03F, get_layout("7.1.2"), name="file 'bed.wav'")
    Traceback (most recent call last):
    ...
    sonicmix.errors.LayoutError: file 'bed.wav' has channel mask 0x2D03F
    (FL+FR+FC+LFE+BL+BR+TFL+TFR+TBL+TBR), which is not layout '7.1.2' (expected 0x563F
    (FL+FR+FC+LFE+BL+BR+SL+SR+TFL+TFR)); it is '5.1.4': pass layout='5.1.4'
    """
    if not mask:
        return
    if layout.is_ambisonic:  # an AmbiX file assigns no speakers; a mask that does is another layout's
        actual = layout_for_mask(mask, layout.n_channels)
        hint = f": it is {actual.name!r}, pass layout={actual.name!r}" if actual is not None else ""
        raise LayoutError(
            f"{name} has channel mask {describe_mask(mask)}, loudspeaker feeds, which is not the Ambisonics "
            f"layout {layout.name!r} (expected mask 0 or none: a scene's channels are no loudspeakers){hint}"
        )
    expected = layout.accepted_masks
    if not expected:  # a custom layout without speakers: nothing to compare
        return
    if mask in expected:
        return
    problem = " (it sets reserved bits or SPEAKER_ALL)" if mask & (_RESERVED | _ALL) else ""
    actual = layout_for_mask(mask, layout.n_channels)
    hint = f"; it is {actual.name!r}: pass layout={actual.name!r}" if actual is not None else (
        "; no named layout has this mask (is the file from another layout, or its header wrong?)"
    )
    wanted = " or ".join(describe_mask(m) for m in sorted(expected, key=lambda m: m != layout.channel_mask))
    raise LayoutError(
        f"{name} has channel mask {describe_mask(mask)}{problem}, which is not layout {layout.name!r} "
        f"(expected {wanted}){hint}"
    )


"""sonicmix.layouts.masks: WAVE_FORMAT_EXTENSIBLE channel masks, against Microsoft's and FFmpeg's tables.

Oracles: the speaker bits and KSAUDIO_SPEAKER_* masks of Microsoft's ksmedia.h
(documented in the Windows driver docs, "Header File Changes"), FFmpeg's layout
definitions (libavutil/channel_layout.h, restated below) and, where FFmpeg is
installed, the layouts ``ffmpeg -layouts`` itself prints.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from sonicmix.errors import LayoutError
from sonicmix.layouts import LAYOUTS, Layout, check_channel_mask, get_layout, layout_for_mask
from sonicmix.layouts.masks import WAVE_SPEAKER_BITS, describe_mask, mask_of_speakers, speakers_of_mask

# ksmedia.h: SPEAKER_FRONT_LEFT 0x1 ... SPEAKER_TOP_BACK_RIGHT 0x20000, in this order
KSMEDIA_ORDER = (
    "FRONT_LEFT", "FRONT_RIGHT", "FRONT_CENTER", "LOW_FREQUENCY", "BACK_LEFT", "BACK_RIGHT",
    "FRONT_LEFT_OF_CENTER", "FRONT_RIGHT_OF_CENTER", "BACK_CENTER", "SIDE_LEFT", "SIDE_RIGHT",
    "TOP_CENTER", "TOP_FRONT_LEFT", "TOP_FRONT_CENTER", "TOP_FRONT_RIGHT", "TOP_BACK_LEFT",
    "TOP_BACK_CENTER", "TOP_BACK_RIGHT",
)
# KSAUDIO_SPEAKER_MONO, _STEREO, _5POINT1, _7POINT1_SURROUND
KSAUDIO = {"mono": 0x4, "stereo": 0x3, "5.1": 0x3F, "7.1": 0x63F}
# libavutil/channel_layout.h (FFmpeg 7): AV_CH_LAYOUT_5POINT0_BACK, _5POINT1_BACK, _7POINT1,
# _5POINT1POINT2_BACK, _5POINT1POINT4_BACK, _7POINT1POINT2, _7POINT1POINT4_BACK, _9POINT1POINT6, _22POINT2
FFMPEG = {
    "mono": "FC",
    "stereo": "FL+FR",
    "5.0": "FL+FR+FC+BL+BR",
    "5.1": "FL+FR+FC+LFE+BL+BR",
    "7.1": "FL+FR+FC+LFE+BL+BR+SL+SR",
    "5.1.2": "FL+FR+FC+LFE+BL+BR+TFL+TFR",
    "5.1.4": "FL+FR+FC+LFE+BL+BR+TFL+TFR+TBL+TBR",
    "7.1.2": "FL+FR+FC+LFE+BL+BR+SL+SR+TFL+TFR",
    "7.1.4": "FL+FR+FC+LFE+BL+BR+SL+SR+TFL+TFR+TBL+TBR",
    "9.1.6": "FL+FR+FC+LFE+BL+BR+FLC+FRC+SL+SR+TFL+TFR+TBL+TBR+TSL+TSR",
    "22.2": "FL+FR+FC+LFE+BL+BR+FLC+FRC+BC+SL+SR+TC+TFL+TFC+TFR+TBL+TBC+TBR+LFE2+TSL+TSR+BFC+BFL+BFR",
}


def test_the_speaker_bits_are_ksmedias():
    assert list(WAVE_SPEAKER_BITS.values()) == [1 << k for k in range(len(KSMEDIA_ORDER))]
    assert len(WAVE_SPEAKER_BITS) == 18


@pytest.mark.parametrize("name", list(FFMPEG))
def test_speakers_are_ffmpegs_layout_of_the_same_name(name):
    assert "+".join(get_layout(name).speakers) == FFMPEG[name]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (apt-get install ffmpeg)")
def test_speakers_match_the_installed_ffmpegs_layouts():
    """Every layout name the installed FFmpeg knows decomposes to our speakers, in our order."""
    listing = subprocess.run(["ffmpeg", "-hide_banner", "-layouts"], capture_output=True, text=True).stdout
    known = dict(re.findall(r"^(\S+)\s+([A-Z0-9]+(?:\+[A-Z0-9]+)*)\s*$", listing.split("Standard")[1], re.M))
    compared = [name for name in LAYOUTS if name in known]
    assert {"mono", "stereo", "5.1", "7.1", "22.2"} <= set(compared)  # in every FFmpeg since 5.1
    for name in compared:
        assert "+".join(get_layout(name).speakers) == known[name], name


@pytest.mark.parametrize("name", list(KSAUDIO))
def test_masks_of_the_classic_layouts_are_ksaudios(name):
    assert get_layout(name).channel_mask == KSAUDIO[name]


def test_immersive_masks():
    assert get_layout("5.1.2").channel_mask == 0x3F | 0x1000 | 0x4000
    assert get_layout("5.1.4").channel_mask == 0x3F | 0x1000 | 0x4000 | 0x8000 | 0x20000
    assert get_layout("7.1.4").channel_mask == 0x63F | 0x1000 | 0x4000 | 0x8000 | 0x20000
    # partial: TSL/TSR (9.1.6) and LFE2, TSL, TSR, BFC, BFL, BFR (22.2) have no WAVE bit
    assert get_layout("9.1.6").channel_mask == 0x2D6FF and bin(0x2D6FF).count("1") == 14
    assert get_layout("22.2").channel_mask == 0x3FFFF and bin(0x3FFFF).count("1") == 18


def test_a_mask_covers_only_channels_in_bit_order():
    assert mask_of_speakers(("FL", "FR", "TSL", "FC")) == 0x3  # FC after an unassigned channel: not in
    assert mask_of_speakers(("FR", "FL")) == 0x2  # out of order: the mask stops
    assert mask_of_speakers(("TSL",)) is None and mask_of_speakers(()) is None


def test_speakers_of_a_mask_and_its_description():
    assert speakers_of_mask(0x60F) == ("FL", "FR", "FC", "LFE", "SL", "SR")
    assert speakers_of_mask(0x80000001) == ("FL", "0x80000000")
    assert describe_mask(0x63F) == "0x63F (FL+FR+FC+LFE+BL+BR+SL+SR)"
    assert describe_mask(0) == "0x0 (no speakers assigned)"


def test_accepted_masks():
    assert get_layout("5.1").accepted_masks == {0x3F, 0x60F}  # KSAUDIO_SPEAKER_5POINT1 and _5POINT1_SURROUND
    assert get_layout("5.0").accepted_masks == {0x37, 0x607}
    assert get_layout("5.1.4").accepted_masks == {0x2D03F, 0x2D60F}
    assert get_layout("7.1").accepted_masks == {0x63F, 0xFF}  # 0xFF: what libsndfile writes for 8 channels
    assert get_layout("7.1.4").accepted_masks == {0x2D63F}
    assert get_layout("mono").accepted_masks == {0x4, 0x1, 0x2}  # FC, or one front speaker
    assert get_layout("stereo").accepted_masks == {0x3}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_accepted_mask_names_its_layout_alone(name):
    layout = get_layout(name)
    for mask in layout.accepted_masks:
        assert layout_for_mask(mask, layout.n_channels) is layout
    assert layout_for_mask(layout.channel_mask, layout.n_channels + 1) is None  # count must agree


def test_no_mask_or_mask_zero_accepts_any_layout_of_the_count():
    for mask in (None, 0):
        check_channel_mask(mask, get_layout("7.1.4"), name="file 'x.wav'")
    check_channel_mask(0x3F, Layout("six", tuple("ABCDEF"), (1.0,) * 6), name="file 'x.wav'")  # no speakers


def test_a_contradicting_mask_is_refused_naming_file_mask_layout_and_the_layout_it_is():
    with pytest.raises(LayoutError) as caught:
        check_channel_mask(0x503F, get_layout("7.1"), name="file 'bed.wav'")
    message = str(caught.value)
    assert message.startswith("file 'bed.wav' has channel mask 0x503F (FL+FR+FC+LFE+BL+BR+TFL+TFR)")
    assert "which is not layout '7.1' (expected 0x63F (FL+FR+FC+LFE+BL+BR+SL+SR) or 0xFF" in message
    assert message.endswith("it is '5.1.2': pass layout='5.1.2'")


def test_an_unknown_mask_says_no_layout_has_it():
    with pytest.raises(LayoutError, match=r"0x80000FFF .*reserved bits or SPEAKER_ALL.*no named layout has"):
        check_channel_mask(0x80000FFF, get_layout("7.1.4"), name="file 'x.wav'")

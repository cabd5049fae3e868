"""sonicmix.layouts.catalog: names, positions (ITU-R BS.2051-3), LFE channels and BS.1770-5 weights.

The expected positions are BS.2051-3's nominal loudspeaker positions, restated
here by label (layer M at 0 degrees, U at 30, T at 90, B at -30; azimuth
positive to the left) for each system, and the expected weights follow
BS.1770-5 Annex 3's rule restated independently of the code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sonicmix.errors import LayoutError
from sonicmix.layouts import (
    LAYOUTS,
    Layout,
    Position,
    bs1770_weight,
    default_layout,
    get_layout,
    resolve_layout,
)

# Channel order, then BS.2051 label per channel (None: LFE).
BS2051 = {
    "mono": ("M+000",),
    "stereo": ("M+030", "M-030"),
    "5.0": ("M+030", "M-030", "M+000", "M+110", "M-110"),  # System B without its LFE
    "5.1": ("M+030", "M-030", "M+000", None, "M+110", "M-110"),  # System B
    "5.1.2": ("M+030", "M-030", "M+000", None, "M+110", "M-110", "U+030", "U-030"),  # System C
    "5.1.4": ("M+030", "M-030", "M+000", None, "M+110", "M-110", "U+030", "U-030", "U+110", "U-110"),  # D
    "7.1": ("M+030", "M-030", "M+000", None, "M+135", "M-135", "M+090", "M-090"),  # System I
    "7.1.2": ("M+030", "M-030", "M+000", None, "M+135", "M-135", "M+090", "M-090", "U+045", "U-045"),
    "7.1.4": (  # System J
        "M+030", "M-030", "M+000", None, "M+135", "M-135", "M+090", "M-090",
        "U+045", "U-045", "U+135", "U-135",
    ),
    "9.1.6": (
        "M+030", "M-030", "M+000", None, "M+135", "M-135", "M+060", "M-060", "M+090", "M-090",
        "U+045", "U-045", "U+135", "U-135", "U+090", "U-090",
    ),
    "22.2": (  # System H, in FFmpeg's "22.2" channel order
        "M+060", "M-060", "M+000", None, "M+135", "M-135", "M+030", "M-030", "M+180", "M+090", "M-090",
        "T+000", "U+045", "U+000", "U-045", "U+135", "U+180", "U-135", None, "U+090", "U-090",
        "B+000", "B+045", "B-045",
    ),
}
LAYER_ELEVATION_DEG = {"M": 0.0, "U": 30.0, "T": 90.0, "B": -30.0}


def position_of(label: str | None) -> Position | None:
    return None if label is None else Position(float(label[1:]), LAYER_ELEVATION_DEG[label[0]])


def test_the_named_layouts_are_those_of_the_issue():
    assert sorted(LAYOUTS) == sorted(BS2051)


@pytest.mark.parametrize("name", list(BS2051))
def test_positions_are_bs2051(name):
    layout = get_layout(name)
    assert layout.positions == tuple(position_of(label) for label in BS2051[name])
    assert layout.lfe_indices == tuple(i for i, label in enumerate(BS2051[name]) if label is None)
    assert layout.channel_names == layout.channels and len(layout.channels) == layout.n_channels


@pytest.mark.parametrize("name", list(BS2051))
def test_weights_follow_bs1770_annex_3(name):
    expected = []
    for label in BS2051[name]:
        if label is None:
            expected.append(0.0)  # the LFE is not measured
        else:
            azimuth, elevation = abs(float(label[1:])), abs(LAYER_ELEVATION_DEG[label[0]])
            expected.append(1.41 if elevation < 30.0 and 60.0 <= azimuth <= 120.0 else 1.0)
    assert get_layout(name).loudness_weights == tuple(expected)


def test_the_classic_weights_are_kept():
    assert get_layout("5.1").loudness_weights == (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)  # BS.1770 Table 3
    assert get_layout("7.1").loudness_weights == (1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.41, 1.41)
    assert get_layout("5.1").channels == ("L", "R", "C", "LFE", "Ls", "Rs")
    assert get_layout("7.1").channels == ("L", "R", "C", "LFE", "Lrs", "Rrs", "Lss", "Rss")


@pytest.mark.parametrize(
    ("azimuth_deg", "elevation_deg", "weight"),
    [
        (60.0, 0.0, 1.41), (-120.0, 0.0, 1.41), (90.0, 29.9, 1.41), (90.0, -29.9, 1.41),
        (59.9, 0.0, 1.0), (120.1, 0.0, 1.0), (90.0, 30.0, 1.0), (90.0, -30.0, 1.0),
        (0.0, 0.0, 1.0), (180.0, 0.0, 1.0), (-180.0, 90.0, 1.0),
    ],
)
def test_bs1770_weight_at_the_edges_of_the_side_zone(azimuth_deg, elevation_deg, weight):
    assert bs1770_weight(azimuth_deg, elevation_deg) == weight


@pytest.mark.parametrize(
    ("azimuth_deg", "elevation_deg", "match"),
    [(181.0, 0.0, r"azimuth_deg=181\.0 is out of range"), (0.0, -90.5, r"elevation_deg=-90\.5"),
     (math.nan, 0.0, r"azimuth_deg=nan is not a finite"), ("left", 0.0, r"azimuth_deg='left'")],
)
def test_bs1770_weight_refuses_angles_out_of_range(azimuth_deg, elevation_deg, match):
    with pytest.raises(LayoutError, match=match):
        bs1770_weight(azimuth_deg, elevation_deg)


def test_a_custom_layout_takes_its_weights_from_positions():
    layout = Layout(
        "2.1.1", ("L", "R", "LFE", "T"),
        positions=(Position(30, 0), Position(-30, 0), None, Position(0, 90)), lfe_indices=(2,),
    )
    assert layout.loudness_weights == (1.0, 1.0, 0.0, 1.0)
    assert layout.positions[3] == Position(0.0, 90.0) and isinstance(layout.positions[3].azimuth_deg, float)
    assert layout.channel_mask is None and layout.accepted_masks == frozenset()


def test_the_old_positional_form_still_works():
    layout = Layout("quad", ("L", "R", "Ls", "Rs"), (1.0, 1.0, 1.41, 1.41))
    assert layout.positions == () and layout.lfe_indices == () and layout.n_channels == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"positions": (Position(30, 0), Position(200, 0))}, r"channel 'B': azimuth_deg=200 is out of range"),
        ({"positions": (Position(30, 0), Position(0, 95))}, r"channel 'B': elevation_deg=95 is out of range"),
        ({"positions": (Position(30, 0),)}, r"2 channels but 1 positions"),
        ({"positions": (Position(30, 0), None)}, r"channel 'B' has no position but is not in lfe_indices"),
        ({"positions": (Position(30, 0), Position(0, 0)), "lfe_indices": (1,)}, r"LFE channel 'B' has posit"),
        ({"positions": (Position(30, 0), (1, 2, 3))}, r"channel 'B' has position \(1, 2, 3\)"),
        ({"lfe_indices": (2,), "loudness_weights": (1.0, 1.0)}, r"lfe_indices holds 2"),
        ({}, r"neither loudness_weights nor positions"),
        ({"loudness_weights": (1.0, -1.0)}, r"negative loudness weight"),
        ({"loudness_weights": (1.0,)}, r"2 channels but 1 loudness weights"),
        ({"loudness_weights": (1.0, 1.0), "speakers": ("FL",)}, r"2 channels but 1 speakers"),
    ],
)
def test_bad_custom_layouts_are_named_errors(kwargs, match):
    with pytest.raises(LayoutError, match=match):
        Layout("custom", ("A", "B"), **kwargs)


def test_repeated_channel_names_are_refused():
    with pytest.raises(LayoutError, match=r"channel names \['A'\] repeat"):
        Layout("custom", ("A", "A"), (1.0, 1.0))


@pytest.mark.parametrize(
    ("given", "suggestion"),
    [("7.4.1", "7.1.4"), ("714", "7.1.4"), ("9_1_6", "9.1.6"), ("22.1", "22.2"), ("stero", "stereo")],
)
def test_unknown_names_get_a_did_you_mean(given, suggestion):
    with pytest.raises(LayoutError, match=rf"layout='{given}' is unknown.*did you mean '{suggestion}'"):
        get_layout(given)


def test_immersive_layouts_are_never_guessed_from_a_channel_count():
    assert default_layout(8).name == "7.1"  # as before
    with pytest.raises(LayoutError, match=r"12 channels and no layout was given.*'7\.1\.4' for this count"):
        default_layout(12)
    with pytest.raises(LayoutError, match=r"'5\.1\.4' or '7\.1\.2' for this count"):
        default_layout(10)


def test_a_channel_count_mismatch_names_the_layouts_of_that_count():
    with pytest.raises(LayoutError, match=r"layout='7\.1\.4' has 12 channels but audio has 16.*\['9\.1\.6"):
        resolve_layout("7.1.4", 16)


def test_layouts_are_hashable_values():
    assert get_layout("7.1.4") == Layout(
        "7.1.4", get_layout("7.1.4").channels, positions=get_layout("7.1.4").positions, lfe_indices=(3,),
        speakers=get_layout("7.1.4").speakers,
    )
    assert len({get_layout(name) for name in LAYOUTS}) == len(LAYOUTS)
    assert np.isclose(sum(get_layout("22.2").loudness_weights), 4 * 1.41 + 18)

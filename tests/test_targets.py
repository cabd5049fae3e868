"""Loudness targets: preset values from the published texts, validation, plain-data round trips."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from sonicmix import targets
from sonicmix.errors import ParameterError
from sonicmix.targets import PRESETS, LoudnessTarget, get_target

# (name, integrated LUFS, below LU, above LU, true peak dBTP, measurement, recommendation,
#  max short-term LUFS). The numbers are the published ones recorded in docs/targets.md,
# typed in from the texts, not taken from the module.
PUBLISHED = [
    ("ebu-r128", -23.0, 1.0, 1.0, -1.0, "programme", False, None),  # R 128 v4.0 production
    ("ebu-r128-qc", -23.0, 0.2, 0.2, -1.0, "programme", False, None),  # R 128 v4.0 QC
    ("ebu-r128-s1", -23.0, 1.0, 1.0, -1.0, "programme", False, -18.0),  # R 128 s1
    ("ebu-r128-s4", -23.0, 1.0, 1.0, -1.0, "programme", False, None),  # R 128 s4: and LDR <= 5 LU
    ("atsc-a85", -24.0, 2.0, 2.0, -2.0, "programme", False, None),
    ("arib-tr-b32", -24.0, 1.0, 1.0, -1.0, "programme", False, None),
    ("op-59", -24.0, 1.0, 1.0, -2.0, "programme", False, None),
    ("netflix", -27.0, 2.0, 2.0, -2.0, "dialogue", False, None),
    ("netflix-programme", -24.0, 2.0, 2.0, -2.0, "programme", False, None),
    ("apple-podcasts", -16.0, 1.0, 1.0, -1.0, "programme", True, None),
    ("spotify", -14.0, 1.0, 1.0, -1.0, "programme", True, None),
    ("youtube", -14.0, 1.0, 1.0, -1.0, "programme", True, None),
    ("aes-td1004", -18.0, 2.0, 2.0, -1.0, "programme", True, None),  # -20 .. -16 LUFS
    ("aes-td1008-speech", -18.0, 2.0, 2.0, -1.0, "dialogue", True, None),
    ("aes-td1008-music", -16.0, 1.0, 1.0, -1.0, "programme", True, None),
]


@pytest.mark.parametrize(("name", "lufs", "below", "above", "tp", "measurement", "rec", "st_max"), PUBLISHED)
def test_preset_values_match_published_texts(name, lufs, below, above, tp, measurement, rec, st_max):
    t = PRESETS[name]
    assert t.name == name
    assert t.integrated_lufs == lufs
    assert (t.tolerance_below_lu, t.tolerance_above_lu) == (below, above)
    assert t.true_peak_dbtp == tp
    assert t.measurement == measurement
    assert t.recommendation is rec
    assert t.max_short_term_lufs == st_max
    assert t.max_momentary_lufs is None  # R 128 s1 (2016) dropped the momentary option
    assert t.max_lra_lu is None  # no preset's text makes LRA a pass/fail limit
    assert t.max_ldr_lu == (5.0 if name == "ebu-r128-s4" else None)
    assert len(t.source) > 20, "every preset cites its source"


def test_every_preset_is_in_the_table_and_exported():
    assert sorted(PRESETS) == sorted(row[0] for row in PUBLISHED)
    for name, preset in PRESETS.items():
        constant = name.upper().replace("-", "_")
        assert getattr(targets, constant) is preset
        assert constant in targets.__all__


def test_aes_td1004_window_is_minus_20_to_minus_16():
    # TD1004: target loudness "not exceed -16 LUFS" and "not be lower than -20 LUFS".
    assert (targets.AES_TD1004.lower_lufs, targets.AES_TD1004.upper_lufs) == (-20.0, -16.0)


def test_presets_registry_is_read_only():
    with pytest.raises(TypeError):
        PRESETS["mine"] = targets.EBU_R128  # type: ignore[index]


def test_get_target_is_case_and_separator_insensitive_and_passes_targets_through():
    assert get_target("EBU_R128") is targets.EBU_R128
    assert get_target(" Atsc A85 ") is targets.ATSC_A85
    custom = LoudnessTarget(integrated_lufs=-20.0)
    assert get_target(custom) is custom


@pytest.mark.parametrize(("typo", "suggestion"), [("ebu-r129", "ebu-r128"), ("spotfy", "spotify")])
def test_get_target_unknown_name_suggests_the_closest(typo, suggestion):
    expected = rf"target '{typo}' is unknown \(did you mean '{suggestion}'\?\)"
    with pytest.raises(ParameterError, match=expected):
        get_target(typo)


def test_get_target_refuses_a_non_string():
    with pytest.raises(ParameterError, match=r"target=-23 is a int; expected a preset name"):
        get_target(-23)  # type: ignore[arg-type]


def test_defaults_pass_their_own_validation():
    t = LoudnessTarget(integrated_lufs=-23.0)
    assert (t.tolerance_lu, t.true_peak_dbtp, t.measurement, t.name) == (1.0, -1.0, "programme", "custom")


def test_window_bounds_are_inclusive_and_undefined_is_never_inside():
    t = LoudnessTarget(integrated_lufs=-23.0, tolerance_lu=0.5)
    assert t.contains(-23.5) and t.contains(-22.5)
    assert not t.contains(math.nextafter(-23.5, -math.inf))
    assert not t.contains(math.nextafter(-22.5, math.inf))
    assert not t.contains(-math.inf) and not t.contains(math.nan)


def test_asymmetric_tolerance():
    t = LoudnessTarget(integrated_lufs=-23.0, tolerance_lu=(2.0, 0.5))
    assert (t.lower_lufs, t.upper_lufs) == (-25.0, -22.5)
    assert (t.tolerance_below_lu, t.tolerance_above_lu) == (2.0, 0.5)
    assert t.contains(-24.9) and not t.contains(-22.4)


def test_list_tolerance_becomes_a_hashable_tuple():
    t = LoudnessTarget(integrated_lufs=-23.0, tolerance_lu=[1, 2])  # type: ignore[arg-type]
    assert t.tolerance_lu == (1.0, 2.0)
    assert hash(t) == hash(LoudnessTarget(integrated_lufs=-23.0, tolerance_lu=(1.0, 2.0)))


def test_target_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        targets.EBU_R128.integrated_lufs = -24.0  # type: ignore[misc]


@pytest.mark.parametrize("preset", list(PRESETS.values()), ids=list(PRESETS))
def test_repr_evaluates_back_to_an_equal_target(preset):
    assert eval(repr(preset), {"LoudnessTarget": LoudnessTarget}) == preset


@pytest.mark.parametrize("preset", list(PRESETS.values()), ids=list(PRESETS))
def test_json_round_trip(preset):
    text = json.dumps(preset.to_dict(), allow_nan=False)
    assert LoudnessTarget.from_dict(json.loads(text)) == preset


def test_json_round_trip_of_a_custom_target_with_every_field():
    t = LoudnessTarget(
        name="house-spec",
        integrated_lufs=-24.0,
        tolerance_lu=(1.5, 0.5),
        true_peak_dbtp=-3.0,
        max_lra_lu=15.0,
        max_short_term_lufs=-18.0,
        max_momentary_lufs=-15.0,
        measurement="dialogue",
        source="our delivery spec, rev. 4",
        recommendation=True,
    )
    data = json.loads(json.dumps(t.to_dict()))
    assert data["tolerance_lu"] == [1.5, 0.5]
    assert LoudnessTarget.from_dict(data) == t


def test_from_dict_takes_defaults_for_missing_keys():
    assert LoudnessTarget.from_dict({"integrated_lufs": -16}) == LoudnessTarget(integrated_lufs=-16.0)


def test_from_dict_refuses_unknown_keys_with_a_hint():
    expected = r"key 'true_peak_dbfs' is not a LoudnessTarget field \(did you mean 'true_peak_dbtp'\?\)"
    with pytest.raises(ParameterError, match=expected):
        LoudnessTarget.from_dict({"integrated_lufs": -23.0, "true_peak_dbfs": -1.0})


def test_from_dict_needs_the_integrated_loudness():
    with pytest.raises(ParameterError, match=r"data has no 'integrated_lufs'"):
        LoudnessTarget.from_dict({"true_peak_dbtp": -1.0})


def test_from_dict_refuses_a_non_mapping():
    with pytest.raises(ParameterError, match=r"data is a list; expected a mapping"):
        LoudnessTarget.from_dict([("integrated_lufs", -23.0)])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"integrated_lufs": 23.0}, r"integrated_lufs=23 is out of range; expected integrated_lufs > -70"),
        ({"integrated_lufs": -70.0}, r"integrated_lufs=-70 is out of range"),  # at the absolute gate
        ({"integrated_lufs": math.nan}, r"integrated_lufs=nan is not finite"),
        ({"integrated_lufs": "-23"}, r"integrated_lufs='-23' is not a real number"),
        ({"integrated_lufs": -23.0, "tolerance_lu": -0.5}, r"tolerance_lu=-0.5 is out of range"),
        ({"integrated_lufs": -23.0, "tolerance_lu": (1.0,)}, r"tolerance_lu=\(1.0,\) has 1 items"),
        ({"integrated_lufs": -23.0, "tolerance_lu": (1.0, -1.0)}, r"tolerance_lu\[1\] \(above\)=-1"),
        ({"integrated_lufs": -23.0, "true_peak_dbtp": 1.0}, r"true_peak_dbtp=1 is out of range"),
        ({"integrated_lufs": -23.0, "max_lra_lu": -1.0}, r"max_lra_lu=-1 is out of range"),
        ({"integrated_lufs": -23.0, "max_short_term_lufs": 18.0}, r"max_short_term_lufs=18 is out of range"),
        ({"integrated_lufs": -23.0, "max_momentary_lufs": -30.0}, r"max_momentary_lufs=-30 is below"),
        ({"integrated_lufs": -23.0, "measurement": "program"}, r"measurement='program' .*'programme'"),
        ({"integrated_lufs": -23.0, "name": ""}, r"name='' is invalid"),
        ({"integrated_lufs": -23.0, "source": None}, r"source=None is not a string"),
        ({"integrated_lufs": -23.0, "recommendation": 1}, r"recommendation=1 is not a bool"),
    ],
)
def test_validation_names_the_parameter(kwargs, pattern):
    with pytest.raises(ParameterError, match=pattern):
        LoudnessTarget(**kwargs)


def test_replace_revalidates():
    with pytest.raises(ParameterError, match=r"true_peak_dbtp=3 is out of range"):
        dataclasses.replace(targets.EBU_R128, true_peak_dbtp=3.0)

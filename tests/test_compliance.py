"""Compliance of a measured programme with a loudness target.

Signals follow EBU Tech 3341: a stereo 1 kHz sine at L dBFS per channel
measures L LUFS (cases 1 and 2: -23 and -33 dBFS). The meter's tolerance for
those cases is +-0.1 LU (Tech 3341), so margins built on them are checked to
0.1 LU; true peak of a sine is its amplitude within +0.2/-0.4 dB (Tech 3341).
Exact boundary behaviour is checked with hand-made reports, whose values are
exact by construction.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from sonicmix import targets
from sonicmix.compliance import Compliance, evaluate
from sonicmix.errors import ParameterError
from sonicmix.loudness import measure
from sonicmix.targets import LoudnessTarget

RATE = 48_000
METER_TOL_LU = 0.1  # EBU Tech 3341 cases 1-2: +-0.1 LU


def sine(level_dbfs: float, seconds: float, *, channels: int = 2, freq_hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    x = 10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)
    return np.tile(x, (channels, 1))


def fake_report(**values: float) -> SimpleNamespace:
    """An exact report: evaluate reads only these attributes."""
    base = dict(
        integrated_lufs=-23.0,
        true_peak_dbtp=-10.0,
        lra_lu=5.0,
        short_term_max_lufs=-20.0,
        momentary_max_lufs=-18.0,
    )
    base.update(values)
    return SimpleNamespace(**base)


@pytest.fixture(scope="module")
def case1_report():
    """EBU Tech 3341 case 1: stereo 1 kHz sine at -23 dBFS, 20 s -> -23.0 LUFS."""
    return measure(sine(-23.0, 20.0), RATE)


def test_tech3341_case1_complies_with_r128(case1_report):
    result = evaluate(case1_report, targets.EBU_R128)
    assert result.passed
    integrated = result["integrated"]
    assert integrated.measured == pytest.approx(-23.0, abs=METER_TOL_LU)
    # window -24 .. -22: the nearest limit is 1 LU away
    assert integrated.margin == pytest.approx(1.0, abs=METER_TOL_LU)
    # true peak of a -23 dBFS sine is -23 dBTP (+0.2/-0.4 dB): 22 dB below -1 dBTP
    assert 22.0 - 0.2 <= result["true_peak"].margin <= 22.0 + 0.4


def test_tech3341_case2_fails_r128_by_nine_lu():
    report = measure(sine(-33.0, 20.0), RATE)  # case 2: -33.0 LUFS
    result = evaluate(report, "ebu-r128")
    assert not result.passed
    assert [c.name for c in result.failures] == ["integrated"]
    # -33 LUFS against the lower limit -24 LUFS: 9 LU short
    assert result["integrated"].margin == pytest.approx(-9.0, abs=METER_TOL_LU)
    assert "below the lower limit -24.00 LUFS" in result["integrated"].reason


def test_case1_against_other_presets_by_their_own_numbers(case1_report):
    # -23 LUFS: inside ATSC's -26..-22 (margin 1 LU), 8 LU below Spotify's -15..-13.
    atsc = evaluate(case1_report, "atsc-a85")
    assert atsc.passed and atsc["integrated"].margin == pytest.approx(1.0, abs=METER_TOL_LU)
    spotify = evaluate(case1_report, "spotify")  # -15 .. -13
    assert not spotify.passed and spotify["integrated"].margin == pytest.approx(-8.0, abs=METER_TOL_LU)


def test_silence_fails_with_a_reason_and_serialises():
    report = measure(np.zeros((2, 5 * RATE)), RATE)
    result = evaluate(report, targets.EBU_R128)
    assert not result.passed
    integrated = result["integrated"]
    assert integrated.measured == -math.inf and math.isnan(integrated.margin)
    assert "undefined" in integrated.reason
    assert result["true_peak"].passed  # -inf dBTP exceeds nothing
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["passed"] is False
    assert data["criteria"][0]["measured"] is None and data["criteria"][0]["margin"] is None
    assert data["target"]["name"] == "ebu-r128"


def test_true_peak_over_the_ceiling_fails():
    report = measure(sine(0.0, 5.0, freq_hz=997.0), RATE)  # full-scale sine: about 0 dBTP
    result = evaluate(report, LoudnessTarget(integrated_lufs=-3.0, tolerance_lu=3.0, true_peak_dbtp=-1.0))
    tp = result["true_peak"]
    assert not tp.passed
    # measured 0 dBTP (+0.2/-0.4 dB) against -1 dBTP: margin -1 dB
    assert -1.0 - 0.2 <= tp.margin <= -1.0 + 0.4
    assert "exceeds the limit -1.00 dBTP" in tp.reason


def test_short_form_short_term_maximum():
    # 16 s at -26 LUFS with a 4 s burst at -16 LUFS: the 3 s windows inside the burst read -16.
    quiet, loud = sine(-26.0, 8.0), sine(-16.0, 4.0)
    report = measure(np.concatenate([quiet, loud, quiet], axis=1), RATE)
    result = evaluate(report, targets.EBU_R128_S1)
    st = result["short_term_max"]
    assert not st.passed
    assert st.high == -18.0
    assert st.margin == pytest.approx(-2.0, abs=METER_TOL_LU)
    steady = evaluate(measure(sine(-23.0, 5.0), RATE), targets.EBU_R128_S1)
    assert steady.passed and steady["short_term_max"].margin == pytest.approx(5.0, abs=METER_TOL_LU)


def test_criteria_appear_only_when_the_target_sets_them(case1_report):
    assert [c.name for c in evaluate(case1_report, targets.EBU_R128).criteria] == ["integrated", "true_peak"]
    full = LoudnessTarget(
        integrated_lufs=-23.0, max_lra_lu=10.0, max_short_term_lufs=-18.0, max_momentary_lufs=-15.0
    )
    names = [c.name for c in evaluate(case1_report, full).criteria]
    assert names == ["integrated", "true_peak", "lra", "short_term_max", "momentary_max"]


def test_momentary_and_lra_limits(case1_report):
    # A steady sine: momentary max = -23 LUFS, LRA about 0 LU.
    t = LoudnessTarget(integrated_lufs=-23.0, max_momentary_lufs=-20.0, max_lra_lu=1.0)
    result = evaluate(case1_report, t)
    assert result.passed
    assert result["momentary_max"].margin == pytest.approx(3.0, abs=METER_TOL_LU)
    strict = LoudnessTarget(integrated_lufs=-23.0, max_momentary_lufs=-23.5)
    assert not evaluate(case1_report, strict)["momentary_max"].passed


def test_undefined_lra_fails_a_target_that_limits_it():
    report = measure(sine(-23.0, 2.0), RATE)  # shorter than a 3 s window: LRA undefined
    assert math.isnan(report.lra_lu)
    result = evaluate(report, LoudnessTarget(integrated_lufs=-23.0, max_lra_lu=20.0))
    assert not result["lra"].passed and "undefined" in result["lra"].reason
    # the same programme has no 3 s window, so nothing exceeds a short-term limit
    assert evaluate(report, targets.EBU_R128_S1)["short_term_max"].passed


def test_window_bounds_are_inclusive():
    t = LoudnessTarget(integrated_lufs=-23.0, tolerance_lu=0.5)
    assert evaluate(fake_report(integrated_lufs=-23.5), t).passed
    assert evaluate(fake_report(integrated_lufs=-22.5), t).passed
    below = evaluate(fake_report(integrated_lufs=math.nextafter(-23.5, -math.inf)), t)
    assert not below.passed and below["integrated"].margin < 0
    assert evaluate(fake_report(true_peak_dbtp=-1.0), t)["true_peak"].passed
    assert not evaluate(fake_report(true_peak_dbtp=math.nextafter(-1.0, 0.0)), t)["true_peak"].passed


def test_asymmetric_window_margins():
    t = LoudnessTarget(integrated_lufs=-23.0, tolerance_lu=(2.0, 0.5))
    inside = evaluate(fake_report(integrated_lufs=-22.75), t)["integrated"]
    assert inside.passed and inside.margin == pytest.approx(0.25)  # nearer the upper limit -22.5
    above = evaluate(fake_report(integrated_lufs=-22.0), t)["integrated"]
    assert not above.passed and above.margin == pytest.approx(-0.5)
    assert "0.50 LU above the upper limit -22.50 LUFS" in above.reason


def test_dialogue_gated_target_without_a_dialogue_measurement_fails_and_says_why(case1_report):
    result = evaluate(case1_report, "netflix")
    integrated = result["integrated"]
    assert not integrated.passed and math.isnan(integrated.measured)
    assert "dialogue-gated" in integrated.reason
    assert f"programme loudness is {case1_report.integrated_lufs:.2f} LUFS" in integrated.reason
    assert "(dialogue-gated)" in str(result)


def test_dialogue_gated_target_uses_the_dialogue_field_when_present():
    report = fake_report(integrated_lufs=-20.0, dialogue_lufs=-27.5)
    result = evaluate(report, targets.NETFLIX)
    assert result.passed
    assert result["integrated"].measured == -27.5 and result["integrated"].margin == pytest.approx(1.5)


def test_unknown_preset_name_is_refused(case1_report):
    with pytest.raises(ParameterError, match=r"target 'ebu' is unknown"):
        evaluate(case1_report, "ebu")


def test_text_table_lists_every_criterion_and_the_failures():
    result = evaluate(fake_report(integrated_lufs=-21.0, true_peak_dbtp=-0.5), targets.EBU_R128_S1)
    text = str(result)
    lines = text.splitlines()
    assert lines[0] == "Compliance with ebu-r128-s1: FAIL"
    assert lines[1].split() == ["criterion", "measured", "limit", "margin", "result"]
    body = "\n".join(lines[2:5])
    assert "Integrated" in body and "True peak" in body and "Short-term max" in body
    assert "-24.00 .. -22.00 LUFS" in text and "<= -1.00 dBTP" in text and "<= -18.00 LUFS" in text
    assert "-1.00 LU" in text and "-0.50 dB" in text  # margins with their units
    assert text.count("FAIL") == 3  # header + two failing rows
    assert "Integrated: -21.00 LUFS is 1.00 LU above the upper limit" in text
    assert "True peak: true peak -0.50 dBTP exceeds the limit -1.00 dBTP by 0.50" in text


def test_passing_table_says_pass_and_lists_no_reasons():
    text = str(evaluate(fake_report(), targets.EBU_R128))
    assert text.splitlines()[0] == "Compliance with ebu-r128: PASS"
    assert len(text.splitlines()) == 4  # header, column titles, two criteria
    podcast = str(evaluate(fake_report(integrated_lufs=-16.0), "apple-podcasts"))
    assert podcast.splitlines()[0] == "Compliance with apple-podcasts, recommendation: PASS"


def test_getitem_names_the_criteria():
    result = evaluate(fake_report(), targets.EBU_R128)
    assert isinstance(result, Compliance)
    with pytest.raises(KeyError, match=r"'lra' is not a criterion here"):
        result["lra"]


def test_to_dict_is_json_safe_and_complete():
    t = LoudnessTarget(integrated_lufs=-23.0, max_lra_lu=10.0)
    result = evaluate(fake_report(lra_lu=math.nan), t)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert [c["name"] for c in data["criteria"]] == ["integrated", "true_peak", "lra"]
    lra = data["criteria"][2]
    assert lra == {
        "name": "lra",
        "measured": None,
        "unit": "LU",
        "low": None,
        "high": 10.0,
        "target": None,
        "margin": None,
        "passed": False,
        "reason": lra["reason"],
    }
    assert data["criteria"][0]["low"] == -24.0 and data["criteria"][0]["target"] == -23.0

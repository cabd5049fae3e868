"""Pan laws and stereo width, against their defining formulas.

The centre gains are the laws' definitions: constant power is 1/sqrt(2)
(10*log10(1/2) = -3.0103 dB), linear is 1/2 (20*log10(1/2) = -6.0206 dB), and
the compromise law is their geometric mean, the average of the two in dB
(-4.5154 dB, the nominal "-4.5 dB" law).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sonicmix.errors import LayoutError, ParameterError
from sonicmix.nodes.pan import Pan, Width, pan_gains

LAWS = ["constant_power", "compromise", "linear"]
POSITIONS = np.linspace(-1.0, 1.0, 41)

# Gains are computed in float64 from sin/cos: 1e-12 is a few float64 rounding steps.
TOL = 1e-12


def db(g: float) -> float:
    return 20.0 * math.log10(g)


@pytest.mark.parametrize(
    ("law", "centre_db"),
    [
        ("constant_power", 10 * math.log10(0.5)),
        ("linear", 20 * math.log10(0.5)),
        ("compromise", (10 * math.log10(0.5) + 20 * math.log10(0.5)) / 2),
    ],
)
def test_centre_gain_of_each_law(law, centre_db):
    left, right = pan_gains(0.0, law)
    assert left == pytest.approx(right, abs=TOL)
    assert db(left) == pytest.approx(centre_db, abs=1e-9)


def test_centre_gains_in_round_numbers():
    # The laws' names: -3, -4.5 and -6 dB at the centre, to 0.02 dB.
    assert db(pan_gains(0.0, "constant_power")[0]) == pytest.approx(-3.01, abs=0.005)
    assert db(pan_gains(0.0, "compromise")[0]) == pytest.approx(-4.5, abs=0.02)
    assert db(pan_gains(0.0, "linear")[0]) == pytest.approx(-6.02, abs=0.005)


@pytest.mark.parametrize("position", POSITIONS)
def test_constant_power_law_keeps_power_everywhere(position):
    left, right = pan_gains(float(position), "constant_power")
    assert left**2 + right**2 == pytest.approx(1.0, abs=TOL)


@pytest.mark.parametrize("position", POSITIONS)
def test_linear_law_keeps_amplitude_and_compromise_lies_between(position):
    p = float(position)
    lin = pan_gains(p, "linear")
    cp = pan_gains(p, "constant_power")
    mid = pan_gains(p, "compromise")
    assert sum(lin) == pytest.approx(1.0, abs=TOL)
    for a, b, c in zip(lin, mid, cp, strict=True):
        assert b == pytest.approx(math.sqrt(a * c), abs=TOL)
        assert a - TOL <= b <= c + TOL


@pytest.mark.parametrize("law", LAWS)
def test_ends_symmetry_and_monotonicity(law):
    assert pan_gains(-1.0, law) == (1.0, 0.0)
    assert pan_gains(1.0, law) == (0.0, 1.0)
    lefts = [pan_gains(float(p), law)[0] for p in POSITIONS]
    rights = [pan_gains(float(p), law)[1] for p in POSITIONS]
    assert np.all(np.diff(lefts) < 0) and np.all(np.diff(rights) > 0)
    np.testing.assert_allclose(lefts, rights[::-1], atol=TOL)


def test_mono_source_keeps_its_power_with_constant_power_law(rng):
    x = rng.standard_normal((1, 20000))
    for p in (-0.7, 0.0, 0.4):
        y = Pan(position=p)(x, 48000)
        assert y.shape == (2, 20000)
        # Exactly L**2 + R**2 == x**2 sample by sample, up to float64 rounding.
        np.testing.assert_allclose((y**2).sum(axis=0), x[0] ** 2, rtol=1e-12)


@pytest.mark.parametrize("law", LAWS)
def test_mono_is_scaled_by_the_law(law, rng):
    x = rng.standard_normal((1, 1000)).astype(np.float32)
    y = Pan(position=-0.3, law=law)(x, 48000)
    left, right = pan_gains(-0.3, law)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y[0], x[0] * np.float32(left))
    np.testing.assert_array_equal(y[1], x[0] * np.float32(right))


@pytest.mark.parametrize("law", LAWS)
def test_stereo_balance(law, rng):
    x = rng.standard_normal((2, 1000))
    np.testing.assert_array_equal(Pan(position=0.0, law=law)(x, 48000), x)
    y = Pan(position=1.0, law=law)(x, 48000)
    np.testing.assert_array_equal(y[0], 0.0)
    np.testing.assert_array_equal(y[1], x[1])
    # Part way left: the right channel falls by the law's gain relative to its centre value.
    y = Pan(position=-0.5, law=law)(x, 48000)
    ratio = pan_gains(-0.5, law)[1] / pan_gains(0.0, law)[1]
    np.testing.assert_allclose(y[1], x[1] * ratio, rtol=1e-12)
    np.testing.assert_array_equal(y[0], x[0])


def test_stereo_balance_constant_power_by_formula():
    # theta = (p + 1) * pi / 4; the left gain relative to the centre is cos(theta) / cos(pi / 4).
    y = Pan(position=0.5)(np.ones((2, 1)), 48000)
    assert y[0, 0] == pytest.approx(math.cos(3 * math.pi / 8) * math.sqrt(2), abs=TOL)
    assert y[1, 0] == 1.0


def test_pan_rejects_multichannel_and_bad_parameters():
    with pytest.raises(LayoutError, match=r"channels=6"):
        Pan()(np.zeros((6, 10)), 48000)
    with pytest.raises(LayoutError, match=r"channels=3"):
        Pan().init_state(3, 48000)
    with pytest.raises(ParameterError, match=r"position=1\.5 is out of range"):
        Pan(position=1.5)
    with pytest.raises(ParameterError, match=r"law='-3dB' is not supported"):
        Pan(law="-3dB")


@pytest.mark.parametrize("width", [0.0, 0.35, 1.0, 1.7, 2.0])
def test_width_scales_side_and_keeps_mid(width, rng):
    x = rng.standard_normal((2, 5000))
    y = Width(width=width)(x, 48000)
    np.testing.assert_allclose(y[0] + y[1], x[0] + x[1], atol=1e-12)
    np.testing.assert_allclose(y[0] - y[1], width * (x[0] - x[1]), atol=1e-12)


def test_width_one_is_identity_and_zero_is_mono(rng):
    x = rng.standard_normal((2, 5000)).astype(np.float32)
    np.testing.assert_array_equal(Width(width=1.0)(x, 48000), x)
    y = Width(width=0.0)(x, 48000)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y[0], y[1])
    np.testing.assert_allclose(y[0], (x[0] + x[1]) / 2, atol=1e-6)  # float32 rounding of a sum


def test_width_needs_stereo():
    with pytest.raises(LayoutError, match=r"Width needs stereo input but got channels=1.*Pan"):
        Width()(np.zeros((1, 10)), 48000)
    with pytest.raises(ParameterError, match=r"width=3 is out of range"):
        Width(width=3.0)

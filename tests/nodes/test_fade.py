"""Fade: curve definitions, crossfade sums, where fades start and end, streaming rules."""

from __future__ import annotations

import numpy as np
import pytest

from sonicmix.errors import ParameterError
from sonicmix.nodes.fade import Fade, fade_curve
from tests.nodes.node_checks import BLOCK_SIZES, assert_streaming_matches

CURVES = ["linear", "equal_power", "exponential", "logarithmic", "s_curve"]
T = np.linspace(0.0, 1.0, 1001)
# The curves are closed-form float64 expressions: 1e-12 is a few rounding steps.
TOL = 1e-12


@pytest.mark.parametrize("curve", CURVES)
def test_every_curve_rises_from_0_to_1(curve):
    g = fade_curve(T, curve)
    assert g[0] == pytest.approx(0.0, abs=TOL) and g[-1] == pytest.approx(1.0, abs=TOL)
    assert np.all(np.diff(g) > 0)
    np.testing.assert_array_equal(
        fade_curve(np.array([-1.0, 2.0]), curve), fade_curve(np.array([0.0, 1.0]), curve)
    )


def test_curve_formulas():
    np.testing.assert_allclose(fade_curve(T, "linear"), T, atol=TOL)
    np.testing.assert_allclose(fade_curve(T, "equal_power"), np.sin(np.pi / 2 * T), atol=TOL)
    np.testing.assert_allclose(fade_curve(T, "s_curve"), np.sin(np.pi / 2 * T) ** 2, atol=TOL)
    exp = fade_curve(T, "exponential")
    np.testing.assert_allclose(exp, (1000.0**T - 1) / 999, atol=TOL)
    np.testing.assert_allclose(fade_curve(T, "logarithmic"), 1 - exp[::-1], atol=TOL)


def test_exponential_is_a_straight_line_in_db_over_its_second_half():
    # 20*log10((1000**t - 1) / 999) departs from the 60 dB line 60 (t - 1) by
    # 20*log10((1000 - 1000**(1 - t)) / 999), at most 0.28 dB for t >= 0.5.
    t = T[T >= 0.5]
    level_db = 20 * np.log10(fade_curve(t, "exponential"))
    assert np.max(np.abs(level_db - 60 * (t - 1))) < 0.3


def test_curve_shapes():
    assert np.all(fade_curve(T[1:-1], "exponential") < T[1:-1])  # slow start
    assert np.all(fade_curve(T[1:-1], "logarithmic") > T[1:-1])  # fast start
    s = fade_curve(T, "s_curve")
    np.testing.assert_allclose(s + s[::-1], 1.0, atol=TOL)  # point symmetric about (1/2, 1/2)


def test_unknown_curve():
    with pytest.raises(ParameterError, match=r"curve='cosine' is not supported; expected one of 'linear'"):
        Fade(curve="cosine")


def _crossfade(curve, n_fade=480, n_total=2000, rate=48000):
    """Gains of a fade-out ending at n_total and a fade-in starting n_fade before it."""
    out = Fade(fade_out_s=n_fade / rate, curve=curve)(np.ones((1, n_total)), rate)[0, -n_fade:]
    inn = Fade(fade_in_s=n_fade / rate, curve=curve)(np.ones((1, n_fade)), rate)[0]
    return out, inn


def test_equal_power_fades_sum_to_unity_power():
    out, inn = _crossfade("equal_power")
    np.testing.assert_allclose(out**2 + inn**2, 1.0, atol=TOL)


@pytest.mark.parametrize("curve", ["linear", "s_curve"])
def test_linear_and_s_curve_fades_sum_to_unity_amplitude(curve):
    out, inn = _crossfade(curve)
    np.testing.assert_allclose(out + inn, 1.0, atol=TOL)


@pytest.mark.parametrize("curve", CURVES)
def test_fade_out_is_the_time_reverse_of_fade_in(curve):
    # Fade-in gain at sample n is g(n / N); fade-out gain at sample E - N + k is g((N - k) / N).
    n_fade, rate = 300, 48000
    inn = Fade(fade_in_s=n_fade / rate, curve=curve)(np.ones((1, n_fade + 1)), rate)[0]
    out = Fade(fade_out_s=n_fade / rate, curve=curve)(np.ones((1, n_fade + 1)), rate)[0]
    np.testing.assert_allclose(out[1:], inn[1:][::-1], atol=TOL)


def test_where_fades_start_and_end(rng):
    rate = 8000
    x = rng.standard_normal((2, 8000)).astype(np.float32)
    y = Fade(fade_in_s=0.1, fade_out_s=0.25)(x, rate)
    assert y.dtype == np.float32
    n_in, n_out = 800, 2000
    np.testing.assert_array_equal(y[:, 0], 0.0)
    np.testing.assert_allclose(y[:, :n_in], x[:, :n_in] * (np.arange(n_in) / n_in).astype(np.float32))
    np.testing.assert_array_equal(y[:, n_in : 8000 - n_out + 1], x[:, n_in : 8000 - n_out + 1])
    gain_out = (8000 - np.arange(8000 - n_out, 8000)) / n_out
    np.testing.assert_allclose(y[:, -n_out:], x[:, -n_out:] * gain_out.astype(np.float32))


def test_overlapping_fades_multiply():
    rate, n = 1000, 100
    y = Fade(fade_in_s=0.1, fade_out_s=0.1)(np.ones((1, n)), rate)[0]
    idx = np.arange(n)
    np.testing.assert_allclose(y, (idx / n) * ((n - idx) / n), atol=TOL)


def test_duration_sets_the_end_and_silences_what_follows(rng):
    rate = 1000
    x = rng.standard_normal((1, 500))
    node = Fade(fade_out_s=0.1, duration_s=0.3)
    y = node(x, rate)[0]
    np.testing.assert_array_equal(y[300:], 0.0)
    np.testing.assert_array_equal(y[:200], x[0, :200])
    np.testing.assert_allclose(y[200:300], x[0, 200:300] * (300 - np.arange(200, 300)) / 100, atol=TOL)


def test_one_shot_end_is_the_buffer_end(rng):
    x = rng.standard_normal((2, 4410))
    one_shot = Fade(fade_out_s=0.05, curve="equal_power")(x, 44100)
    explicit = Fade(fade_out_s=0.05, curve="equal_power", duration_s=0.1)(x, 44100)
    np.testing.assert_array_equal(one_shot, explicit)


def test_fade_out_longer_than_a_one_shot_buffer_starts_part_way():
    y = Fade(fade_out_s=1.0)(np.ones((1, 500)), 1000)[0]
    np.testing.assert_allclose(y, (500 - np.arange(500)) / 1000, atol=TOL)


@pytest.mark.parametrize("size", BLOCK_SIZES)
def test_streamed_fade_with_duration_is_exact(size, rng):
    x = rng.standard_normal((2, 9000))
    node = Fade(fade_in_s=0.05, fade_out_s=0.04, curve="logarithmic", duration_s=0.18)
    assert_streaming_matches(node, x, 48000, (size,), atol=0.0)


def test_streamed_fade_out_needs_a_duration():
    with pytest.raises(ParameterError, match=r"Fade\(fade_out_s=0\.5\) cannot stream without duration_s"):
        Fade(fade_out_s=0.5).init_state(2, 48000)
    Fade(fade_in_s=0.5).init_state(2, 48000)  # a fade-in alone needs no end


def test_rejects_bad_parameters():
    with pytest.raises(ParameterError, match=r"fade_in_s=-1 is out of range.*for 10 ms use 0\.01"):
        Fade(fade_in_s=-1.0)
    with pytest.raises(ParameterError, match=r"fade_out_s=2 is longer than duration_s=1"):
        Fade(fade_out_s=2.0, duration_s=1.0)
    with pytest.raises(ParameterError, match=r"duration_s=0 is out of range"):
        Fade(duration_s=0.0)

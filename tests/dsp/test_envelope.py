"""Gain computers, level detectors and smoothers of sonicmix.dsp.envelope.

The oracles are the textbook formulas (Giannoulis, Massberg & Reiss, JAES 2012, eq. 4 and 16)
written out here sample by sample in plain Python, numpy convolution for the moving mean square,
and the one-pole step response 1 - a**k.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sonicmix.dsp import envelope as env
from sonicmix.errors import ParameterError


def textbook_output_db(x: float, t: float, r: float, w: float) -> float:
    """Giannoulis et al. eq. 4: output level of the soft-knee static curve."""
    if 2 * (x - t) < -w:
        return x
    if w > 0 and 2 * abs(x - t) <= w:  # with W = 0 the knee is a single point, on both lines
        return x + (1 / r - 1) * (x - t + w / 2) ** 2 / (2 * w)
    return t + (x - t) / r


def reference_smoother(target, fall, rise, y0=0.0):
    """Eq. 16's branching one-pole, in plain Python."""
    out, y = [], y0
    for u in target:
        a = fall if u < y else rise
        y = a * y + (1 - a) * u
        out.append(y)
    return np.array(out)


# --------------------------------------------------------------------------- gain computers


@pytest.mark.parametrize(("t", "r", "w"), [(-20.0, 4.0, 0.0), (-20.0, 4.0, 6.0), (-35.0, 1.5, 12.0),
                                           (-10.0, 100.0, 3.0), (-18.0, 1.0, 6.0)])  # fmt: skip
def test_compressor_curve_is_the_textbook_curve(t, r, w):
    levels = np.linspace(-80.0, 6.0, 861)  # 0.1 dB steps, through the knee
    got = env.compressor_gain_db(levels, threshold_db=t, ratio=r, knee_db=w)
    want = np.array([textbook_output_db(x, t, r, w) - x for x in levels])
    # float64 evaluation of the same algebra in another arrangement: agreement to rounding.
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_compressor_curve_known_values():
    # Hard knee, T=-20, R=4: 10 dB over the threshold comes out 2.5 dB over it (7.5 dB reduction).
    assert env.compressor_gain_db(np.array([-10.0]), threshold_db=-20.0, ratio=4.0)[0] == pytest.approx(-7.5)
    # At the threshold a soft knee of width W reduces by (1 - 1/R) W / 8 (eq. 4 at x = T).
    got = env.compressor_gain_db(np.array([-20.0]), threshold_db=-20.0, ratio=4.0, knee_db=6.0)[0]
    assert got == pytest.approx(-0.75 * 6.0 / 8.0)


def test_compressor_curve_is_smooth_at_the_knee_edges():
    t, r, w = -20.0, 4.0, 8.0
    for edge in (t - w / 2, t + w / 2):
        x = np.array([edge - 1e-6, edge, edge + 1e-6])
        g = env.compressor_gain_db(x, threshold_db=t, ratio=r, knee_db=w)
        slopes = np.diff(g) / 1e-6
        # Eq. 4's quadratic meets both lines with equal value and slope (C1): slopes agree to 1e-4.
        assert abs(slopes[0] - slopes[1]) < 1e-4


def test_compressor_range_limits_the_reduction():
    g = env.compressor_gain_db(np.array([-40.0, -10.0, 0.0]), threshold_db=-30.0, ratio=4.0, range_db=12.0)
    np.testing.assert_allclose(g, [0.0, -12.0, -12.0])


def test_compressor_curve_in_place_float32_keeps_dtype():
    levels = np.linspace(-40, 0, 101, dtype=np.float32)
    want = env.compressor_gain_db(levels.astype(np.float64), threshold_db=-20.0, ratio=3.0, knee_db=6.0)
    work = np.empty_like(levels)
    got = env.compressor_gain_db(levels, threshold_db=-20.0, ratio=3.0, knee_db=6.0, out=levels, work=work)
    assert got is levels and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)  # float32 resolution of levels near 40 dB


def test_expander_curve():
    t, r, rng_db = -40.0, 3.0, 30.0
    levels = np.linspace(-100.0, 0.0, 1001)
    got = env.expander_gain_db(levels, threshold_db=t, ratio=r, range_db=rng_db)
    # Below T the output level is T + (x - T) R, so the gain is (x - T)(R - 1), floored at -range.
    want = np.array([max(-rng_db, (x - t) * (r - 1)) if x < t else 0.0 for x in levels])
    np.testing.assert_allclose(got, want, atol=1e-12)


# --------------------------------------------------------------------------- level detection


def test_peak_and_power_db():
    np.testing.assert_allclose(env.peak_db(np.array([1.0, -0.5, 1e-3])), [0.0, -6.0206, -60.0], atol=1e-4)
    assert env.peak_db(np.zeros(1, np.float32))[0] == pytest.approx(-400.0)
    # A full-scale sine's mean square is 1/2: -3.0103 dB.
    assert env.power_db(np.array([0.5]))[0] == pytest.approx(-3.0103, abs=1e-4)
    assert np.isfinite(env.power_db(np.zeros(3, np.float32))).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", [1, 7, 480])
def test_moving_mean_square_is_a_running_window_mean(rng, dtype, window):
    x = rng.standard_normal((2, 3000))
    squares = (x * x).astype(dtype)
    state = env.init_mean_square(2, window)
    got = env.moving_mean_square(squares, state)
    want = np.stack([np.convolve(s, np.ones(window))[:3000] / window for s in squares.astype(np.float64)])
    # float64 sums; float32 output rounding only.
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-12)


def test_moving_mean_square_blocks_equal_whole_bit_for_bit(rng):
    squares = rng.standard_normal((3, 5000)) ** 2
    whole = env.moving_mean_square(squares, env.init_mean_square(3, 333))
    state = env.init_mean_square(3, 333)
    splits = [(0, 1), (1, 400), (400, 401), (401, 5000)]
    parts = [env.moving_mean_square(squares[:, a:b], state) for a, b in splits]
    np.testing.assert_array_equal(np.hstack(parts), whole)


def test_moving_mean_square_returns_to_exact_zero(rng):
    squares = np.concatenate([rng.uniform(0, 100, (1, 100_000)), np.zeros((1, 1000))], axis=1)
    out = env.moving_mean_square(squares, env.init_mean_square(1, 100))
    # After a whole window of zeros the sum is recomputed from the buffer: exactly zero, no drift.
    assert (out[0, -800:] == 0.0).all()


def test_init_mean_square_rejects_empty_window():
    with pytest.raises(ParameterError, match=r"window_samples=0"):
        env.init_mean_square(1, 0)


# --------------------------------------------------------------------------- smoothers


def test_one_pole_coefficient_step_reaches_63_percent_after_the_time_constant():
    for tau, rate in [(0.005, 48000), (0.1, 44100), (0.0013, 96000)]:
        a = env.one_pole_coefficient(tau, rate)
        k = tau * rate
        assert 1 - a**k == pytest.approx(1 - math.exp(-1), rel=1e-12)
    assert env.one_pole_coefficient(0.0, 48000) == 0.0


def test_one_pole_coefficient_rejects_negative_time():
    with pytest.raises(ParameterError, match=r"time_s=-1"):
        env.one_pole_coefficient(-1.0, 48000)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_smoother_step_uses_attack_down_and_release_up(dtype):
    rate, attack_s, release_s = 48000, 0.005, 0.1
    fall = env.one_pole_coefficient(attack_s, rate)
    rise = env.one_pole_coefficient(release_s, rate)
    target = np.concatenate([np.full(20_000, -12.0), np.zeros(20_000)])[np.newaxis].astype(dtype)
    y = env.smooth_gain_db(target, fall=fall, rise=rise, state=np.zeros(1))[0]
    k_a, k_r = round(attack_s * rate), round(release_s * rate)
    # k samples after a step (counting the step's own sample) the smoother has covered 1 - 1/e of it;
    # float32 output rounding is ~1e-6 dB.
    assert y[k_a - 1] == pytest.approx(-12.0 * (1 - math.exp(-1)), abs=1e-5)
    start = -12.0 * (1 - fall**20_000)  # settled to -12 (within rounding) before the release
    assert y[20_000 + k_r - 1] == pytest.approx(start * math.exp(-1), abs=1e-5)


def test_smoother_matches_the_textbook_recursion(rng):
    target = np.minimum(0.0, rng.normal(-6, 6, (2, 3000)))
    fall, rise = 0.9, 0.99
    state = np.array([0.0, -3.0])
    got = env.smooth_gain_db(target, fall=fall, rise=rise, state=state)
    for c, y0 in enumerate([0.0, -3.0]):
        # FMA contraction in the kernel changes the last bits only.
        np.testing.assert_allclose(got[c], reference_smoother(target[c], fall, rise, y0), atol=1e-10)
    np.testing.assert_array_equal(state, got[:, -1])


def test_smoother_blocks_equal_whole(rng):
    target = np.minimum(0.0, rng.normal(-6, 6, (2, 5000))).astype(np.float32)
    whole = env.smooth_gain_db(target, fall=0.95, rise=0.999, state=np.zeros(2))
    state = np.zeros(2)
    parts = [env.smooth_gain_db(target[:, a:b], fall=0.95, rise=0.999, state=state)
             for a, b in [(0, 1), (1, 2), (2, 4097), (4097, 5000)]]  # fmt: skip
    np.testing.assert_array_equal(np.hstack(parts), whole)


def test_hold_smoother_matches_a_reference_loop(rng):
    level = rng.normal(-40, 15, (1, 4000))
    target = env.expander_gain_db(level, threshold_db=-40.0, ratio=4.0, range_db=50.0)
    hold, fall, rise = 25, 0.97, 0.5
    got = env.smooth_gain_db_hold(target, level, threshold_db=-40.0, hold_samples=hold, fall=fall, rise=rise,
                                  state=np.zeros(1), counters=np.zeros(1, np.int64))[0]  # fmt: skip
    held, count = [], 0
    for lv, u in zip(level[0], target[0], strict=True):
        if lv >= -40.0:
            count = hold
        elif count > 0:
            count -= 1
            u = 0.0
        held.append(u)
    np.testing.assert_allclose(got, reference_smoother(held, fall, rise), atol=1e-10)


@pytest.mark.parametrize(
    "knee_db, range_db", [(0.0, None), (1e-7, None), (6.0, None), (0.0, 12.0), (10.0, 3.0)]
)
@pytest.mark.parametrize("db_per_decade", [20.0, 10.0])
def test_compressor_gain_is_the_textbook_curve_and_smoother(knee_db, range_db, db_per_decade):
    # The fused kernel against eq. 4 (with the range floor) and eq. 16, both in plain Python, per
    # row (unlinked), and the makeup; float64 throughout.
    rng = np.random.default_rng(5)
    detector = 10.0 ** rng.uniform(-4.0, 0.3, size=(2, 3000))  # -80..6 dB as amplitudes
    t, r, fall, rise, makeup = -20.0, 4.0, 0.7, 0.99, 2.5
    state = np.array([0.0, -3.0])
    gain = env.compressor_gain(
        detector, db_per_decade=db_per_decade, threshold_db=t, ratio=r, knee_db=knee_db, range_db=range_db,
        fall=fall, rise=rise, state=state, makeup_db=makeup, linked=False,
    )  # fmt: skip
    for c, y0 in enumerate([0.0, -3.0]):
        x_db = db_per_decade * np.log10(detector[c])
        target = [textbook_output_db(x, t, r, knee_db) - x for x in x_db]
        if range_db is not None:
            target = [max(g, -range_db) for g in target]
        expected = reference_smoother(np.array(target), fall, rise, y0)
        # Knees narrower than 1e-6 dB are taken as hard: within W/8 dB of the soft curve. The
        # smoother's step a y + (1 - a) u rounds differently from the textbook's: 1e-12 dB.
        np.testing.assert_allclose(20 * np.log10(gain[c]), expected + makeup, rtol=0, atol=1e-9)
        assert state[c] == pytest.approx(expected[-1], abs=1e-9)


def test_compressor_gain_links_to_the_loudest_channel_and_is_exactly_unity_below_the_knee():
    x = np.array([[0.01, 0.5, 0.001], [0.02, -0.05, 0.0]], np.float32)  # -34 dB and quieter
    kwargs = dict(db_per_decade=20.0, threshold_db=-20.0, ratio=4.0, knee_db=6.0, fall=0.5, rise=0.9)
    gain = env.compressor_gain(x, state=np.zeros(1), **kwargs)
    loudest = env.compressor_gain(np.abs(x).max(axis=0, keepdims=True), state=np.zeros(1), **kwargs)
    np.testing.assert_array_equal(gain, loudest)
    assert gain.shape == (1, 3) and gain.dtype == np.float32
    assert gain[0, 0] == 1.0 and gain[0, 1] < 1.0  # 0 dB gives exactly 1 (a band split stays exact)
    made_up = env.compressor_gain(x[:, :1], state=np.zeros(1), makeup_db=6.0, **kwargs)
    assert made_up[0, 0] == np.float32(10 ** (6 / 20))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compressor_gain_streams_exactly(dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5000)).astype(dtype)
    kwargs = dict(db_per_decade=20.0, threshold_db=-12.0, ratio=3.0, knee_db=6.0, fall=0.5, rise=0.999)
    whole = env.compressor_gain(x, state=np.zeros(1), **kwargs)
    state = np.zeros(1)
    splits = [(0, 7), (7, 4000), (4000, 5000)]
    parts = [env.compressor_gain(x[:, a:b], state=state, **kwargs) for a, b in splits]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


def test_compressor_gain_in_float32_is_float64_within_its_stated_error():
    # float32 audio takes the float32 log and exp: level error <= 2.4e-7 of the level (1e-5 dB at
    # -40 dB; times 1 - 1/R in the gain), exp within 1 ulp of its float32-rounded argument.
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((2, 20000)) * np.repeat(rng.uniform(0.001, 1.0, (1, 20)), 1000, axis=1))
    kwargs = dict(db_per_decade=20.0, threshold_db=-40.0, ratio=4.0, knee_db=6.0, fall=0.9, rise=0.999)
    g64 = env.compressor_gain(x, state=np.zeros(1), **kwargs)
    g32 = env.compressor_gain(x.astype(np.float32), state=np.zeros(1), **kwargs)
    np.testing.assert_allclose(20 * np.log10(g32), 20 * np.log10(g64), rtol=0, atol=2e-5)


# --------------------------------------------------------------------------- logarithm and exponential


@pytest.mark.parametrize("db_per_decade", [20.0, 10.0])
def test_level_db_is_log10_to_the_stated_error(rng, db_per_decade):
    x = np.concatenate([10.0 ** rng.uniform(-300, 300, 100_000), rng.uniform(0.5, 2.0, 100_000), [1.0]])
    want = db_per_decade * np.log10(x)  # numpy's float64 log10 (< 1 ulp)
    got = env.level_db(x, db_per_decade=db_per_decade, floor=1e-305)
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=1e-14)  # the docstring's bounds and numpy's
    x32 = x[np.abs(np.log10(x)) < 35].astype(np.float32)  # float32's normal range
    got = env.level_db(x32, db_per_decade=db_per_decade, floor=1e-37)
    assert got.dtype == np.float32
    want = db_per_decade * np.log10(x32.astype(np.float64))
    # 2 ulp of ln(x) and the float32 rounding of the level
    np.testing.assert_allclose(got, want, rtol=3.6e-7, atol=db_per_decade * 1e-7)
    assert env.level_db(np.ones(3, np.float32), db_per_decade=20.0, floor=1e-20)[0] == 0.0


def test_level_db_refuses_a_floor_its_logarithm_cannot_take():
    with pytest.raises(ParameterError, match=r"floor=0 is out of range.*normal float32"):
        env.level_db(np.ones(2, np.float32), db_per_decade=20.0, floor=0.0)
    with pytest.raises(ParameterError, match=r"floor=1e-40"):
        env.level_db(np.ones(2, np.float32), db_per_decade=20.0, floor=1e-40)


def test_level_db_floors_and_takes_magnitudes():
    got = env.level_db(np.array([-0.1, 0.0, 1e-30]), db_per_decade=20.0, floor=1e-20)
    np.testing.assert_allclose(got, [-20.0, -400.0, -400.0], rtol=1e-15)
    assert env.peak_db(np.array([-0.5]))[0] == pytest.approx(-6.020599913279624, abs=1e-13)


def test_db_to_amplitude_is_exp_to_the_stated_error(rng):
    # The exponential of the argument gain_db * ln(10) / 20 as rounded: numpy's exp (< 1 ulp) as
    # the oracle, and 4e-16 + 1 ulp between them; in float32, 1 ulp of the float32 argument's exp.
    gain_db = np.concatenate([rng.uniform(-6000.0, 6000.0, 100_000), rng.uniform(-120.0, 48.0, 100_000)])
    argument = gain_db * (math.log(10.0) / 20.0)
    np.testing.assert_allclose(env.db_to_amplitude(gain_db), np.exp(argument), rtol=7e-16)
    small = rng.uniform(-120.0, 48.0, 100_000).astype(np.float32)
    got = env.db_to_amplitude(small, makeup_db=-3.0)
    assert got.dtype == np.float32
    scale = math.log(10.0) / 20.0
    argument = (small.astype(np.float64) * scale + (-3.0 * scale)).astype(np.float32)
    np.testing.assert_allclose(got, np.exp(argument.astype(np.float64)), rtol=1.2e-7)
    assert env.db_to_amplitude(np.zeros(2, np.float32))[0] == 1.0
    assert env.db_to_amplitude(np.array([-1e4, 1e4])).tolist() == [np.exp(-700.0), np.exp(700.0)]

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
def test_fused_compressor_smoother_matches_the_textbook_curve_and_smoother(knee_db, range_db, db_per_decade):
    # The fused kernel against eq. 4 (with the range floor) and eq. 16, both in plain Python, per row.
    rng = np.random.default_rng(5)
    level = rng.uniform(-4.0, 0.3, size=(2, 3000))  # log10 of levels: -80..6 dB (amplitude)
    t, r, fall, rise = -20.0, 4.0, 0.7, 0.99
    state = np.array([0.0, -3.0])
    scale, offset = math.log(10) / 20, 0.25
    out = env.smooth_compressor_gain_db(
        level, db_per_decade=db_per_decade, threshold_db=t, ratio=r, knee_db=knee_db, range_db=range_db,
        fall=fall, rise=rise, state=state, scale=scale, offset=offset,
    )  # fmt: skip
    for c, y0 in enumerate([0.0, -3.0]):
        x_db = db_per_decade * level[c]
        target = [textbook_output_db(x, t, r, knee_db) - x for x in x_db]
        if range_db is not None:
            target = [max(g, -range_db) for g in target]
        expected = np.array(reference_smoother(np.array(target), fall, rise, y0))
        # knees narrower than 1e-6 dB are taken as hard: within W/8 dB of the soft curve
        np.testing.assert_allclose(out[c], expected * scale + offset, rtol=0, atol=1e-9)
        assert state[c] == pytest.approx(expected[-1], abs=1e-9)


def test_fused_compressor_smoother_streams_exactly():
    rng = np.random.default_rng(6)
    level = np.log10(np.abs(rng.standard_normal((1, 5000))).astype(np.float32) + 1e-9)
    kwargs = dict(db_per_decade=20.0, threshold_db=-12.0, ratio=3.0, knee_db=6.0, fall=0.5, rise=0.999)
    whole = env.smooth_compressor_gain_db(level, state=np.zeros(1), **kwargs)
    state = np.zeros(1)
    parts = [
        env.smooth_compressor_gain_db(level[:, a:b], state=state, **kwargs)
        for a, b in [(0, 7), (7, 4000), (4000, 5000)]
    ]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


def test_linked_level_is_the_loudest_channel_above_the_floor():
    x = np.array([[0.5, -0.1, 0.0, -2.0], [-0.25, 0.2, 0.0, 1.0]], np.float32)
    np.testing.assert_array_equal(env.linked_level(x, floor=1e-20), np.float32([0.5, 0.2, 1e-20, 2.0]))
    np.testing.assert_array_equal(env.linked_level(x[:1], floor=0.3), np.float32([0.5, 0.3, 0.3, 2.0]))

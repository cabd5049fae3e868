"""sonicmix.dsp.click: the click extent's scores against direct least squares, and its choices."""

from __future__ import annotations

import numpy as np
import pytest

from sonicmix.dsp import click


def _ar_signal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A resonant AR(2) process plus a little white noise: predictable, as programme audio is."""
    e = rng.standard_normal(n)
    x = np.zeros(n)
    for i in range(2, n):
        x[i] = 1.8 * x[i - 1] - 0.9 * x[i - 2] + e[i]
    return x / np.std(x) + 1e-3 * rng.standard_normal(n)


@pytest.mark.parametrize(("start", "length"), [(200, 1), (250, 7), (300, 30)])
def test_saving_equals_direct_least_squares(rng, start, length):
    """The error energy a run's interpolation saves, from the Cholesky innovations, equals the direct one.

    Oracle: interpolate the run with ``interpolate_gap`` (an independent least-squares solve over
    the rows that touch it) and compare the prediction-error energy before and after.
    """
    x = _ar_signal(rng, 600)
    a = click.ar_coefficients(x, 12)
    e = click.prediction_error(x, a)
    p = a.size - 1
    fit = click.click_extent(
        e, a, start, start, max_samples=length, penalty=0.0, variance=1.0, tail_samples=0
    )
    assert fit is not None
    # with no penalty the longest run wins (each sample can only save more); its saving is the score
    assert (fit.start, fit.stop) == (start, start + length)
    repaired = x.copy()
    repaired[start : start + length] = click.interpolate_gap(x, a, start, start + length)
    rows = slice(start, start + length + p)
    direct = np.sum(e[rows] ** 2) - np.sum(click.prediction_error(repaired, a)[rows] ** 2)
    assert fit.score == pytest.approx(direct, rel=1e-9)
    # and the misfit is what is left over those rows, per row the run cannot absorb
    left = np.sum(click.prediction_error(repaired, a)[rows] ** 2)
    assert fit.misfit == pytest.approx(left / p, rel=1e-9)


def test_extent_of_a_pop_is_its_support(rng):
    """A pop with a smooth decay on an AR signal: the run found is the pop's, ends within 2 samples."""
    x = _ar_signal(rng, 800)
    a = click.ar_coefficients(x, 16)
    pop = 40.0 * np.exp(-np.arange(20) / 5.0)  # ends at 2 % of its peak
    y = x.copy()
    y[400:420] += pop
    e = click.prediction_error(y, a)
    variance = click.robust_scale(e) ** 2
    fit = click.click_extent(e, a, 390, 410, max_samples=40, penalty=16.0, variance=variance)
    assert fit is not None
    assert abs(fit.start - 400) <= 1 and abs(fit.stop - 420) <= 2
    assert fit.misfit < 10.0


def test_no_click_no_extent(rng):
    """On the programme alone no run saves more than it costs."""
    x = _ar_signal(rng, 800)
    a = click.ar_coefficients(x, 16)
    e = click.prediction_error(x, a)
    assert (
        click.click_extent(e, a, 300, 340, max_samples=40, penalty=16.0, variance=click.robust_scale(e) ** 2)
        is None
    )


def test_a_step_into_a_new_sound_is_a_misfit(rng):
    """After a click the programme goes on as before; after a step into another sound it does not."""
    x = _ar_signal(rng, 800)
    a = click.ar_coefficients(x[:400], 16)
    y = x.copy()
    y[400:] = 8.0 * _ar_signal(np.random.default_rng(99), 400)[:400]  # louder, unrelated
    e = click.prediction_error(y, a)
    fit = click.click_extent(
        e, a, 395, 405, max_samples=20, penalty=16.0, variance=click.robust_scale(e[:400]) ** 2
    )
    assert fit is not None and fit.misfit > 10.0
    assert click.onset_ratio(y, fit.start, fit.stop, 100) > 10.0


def test_detect_clicks_in_digital_silence_needs_the_floor():
    e = np.zeros(200)
    e[100] = 1e-3
    assert click.detect_clicks(e, e, threshold=20.0, max_samples=10, pad_samples=2) == []
    assert click.detect_clicks(e, e, threshold=20.0, max_samples=10, pad_samples=2, min_scale=1e-7) == [
        (98, 103)
    ]


# ---------------------------------------------------------------- the compiled linear algebra
#
# Oracles: numpy's matrix product over the good rows gathered explicitly, numpy's least squares
# (LAPACK's SVD solver) and numpy's Cholesky; the kernels replace these (BLAS's threads spun on
# busy cores), so they must give the same numbers to rounding.


@pytest.mark.parametrize("order", [2, 9, 33])
def test_covariance_of_the_good_rows_equals_the_gathered_product(rng, order):
    x = rng.standard_normal(700)
    for trial in range(4):
        starts = rng.integers(0, x.size, size=trial * 2)  # none; overlapping, at the ends
        bad = np.zeros(x.size, bool)
        for start in starts:
            bad[start : start + int(rng.integers(1, 50))] = True
        bad[: trial % 2] = True
        rows = np.lib.stride_tricks.sliding_window_view(x, order + 1)
        good = rows[np.convolve(bad, np.ones(order + 1), mode="valid") == 0]
        out = np.zeros((order + 1, order + 1))
        assert click._good_covariance(x, bad, order, out) == good.shape[0]
        expected = good.T @ good
        np.testing.assert_allclose(out, np.triu(expected), rtol=0.0, atol=1e-12 * np.max(expected))


def test_the_fit_equals_least_squares_and_zeroes_a_silent_lag(rng):
    """Lags at which every good row is silent (as where a sound starts from digital silence) get 0.

    By construction here: the good rows are every 14th, with a one-sample run after each, and the
    two oldest samples of each are 0. The coefficients of lags 11 and 12 are 0, as least squares'
    minimum-norm solution has them (a plain Cholesky finds the matrix singular), and the others
    are least squares'.
    """
    order = 12
    x = rng.standard_normal(1000)
    x[0::14] = x[1::14] = 0.0
    runs = [(start, start + 1) for start in range(13, 1000, 14)]
    a = click.ar_coefficients_around(x, order, runs)
    bad = np.zeros(x.size, bool)
    bad[13::14] = True
    covariance = np.zeros((order + 1, order + 1))
    click._good_covariance(x, bad, order, covariance)
    assert click._solve_normal(covariance, 1e-12, np.empty(order + 1)) == click._SOLVED  # no fallback
    good = np.lib.stride_tricks.sliding_window_view(x, order + 1)[0::14]
    expected, *_ = np.linalg.lstsq(good[:, -2::-1], -good[:, -1], rcond=None)
    assert np.all(expected[-2:] == 0.0) and np.all(a[-2:] == 0.0)
    np.testing.assert_allclose(a[1:], expected, rtol=0.0, atol=1e-9 * np.max(np.abs(expected)))


@pytest.mark.parametrize(("order", "size"), [(4, 3), (12, 40)])
def test_gap_factor_and_interpolation_equal_lapack(rng, order, size):
    x = _ar_signal(rng, 400)
    a = click.ar_coefficients(x, order)
    column = np.zeros(size)
    r = np.correlate(a, a, mode="full")[order:]
    column[: min(size, order + 1)] = r[:size]
    toeplitz = column[np.abs(np.subtract.outer(np.arange(size), np.arange(size)))]
    np.testing.assert_allclose(click.gap_cholesky(a, size), np.linalg.cholesky(toeplitz), atol=1e-12)
    start, stop = 200, 200 + size
    rows = np.arange(size + order)[:, np.newaxis] - np.arange(size)[np.newaxis, :]
    a_u = np.where((rows >= 0) & (rows <= order), a[np.clip(rows, 0, order)], 0.0)
    segment = x[start - order : stop + order].copy()
    segment[order:-order] = 0.0
    known = np.convolve(segment, a)[order : 2 * order + size]
    expected, *_ = np.linalg.lstsq(a_u, -known, rcond=None)
    np.testing.assert_allclose(click.interpolate_gap(x, a, start, stop), expected, atol=1e-10)

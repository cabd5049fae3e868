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

"""Clicks: detection by autoregressive prediction error, repair by least-squares AR interpolation.

After Godsill & Rayner ("Digital Audio Restoration", Springer 1998, ch. 5)
and Vaseghi & Rayner (1990): audio is locally well predicted by an
autoregressive (AR) model, an impulsive click is not, so the click stands out
in the prediction error ``e[n] = sum_i a_i x[n-i]`` (``a_0 = 1``), and the
samples under it are re-estimated as those that minimise the prediction
error energy around them given the samples on both sides (the least-squares
AR interpolator).

Functions work on one channel's analysis window, float64:

- :func:`ar_coefficients`: AR model of a window (autocorrelation method,
  Levinson-Durbin, on a Hann-windowed copy);
- :func:`prediction_error`: forward or backward;
- :func:`detect_clicks`: runs of samples whose forward and backward
  prediction errors both exceed a threshold above their robust scale
  (median absolute deviation);
- :func:`interpolate_gap`: the least-squares AR interpolation of one run.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ar_coefficients",
    "ar_coefficients_around",
    "prediction_error",
    "detect_clicks",
    "interpolate_gap",
]

#: Median absolute deviation to standard deviation, for Gaussian data.
_MAD_TO_STD = 1.4826


def ar_coefficients(x: NDArray[np.float64], order: int) -> NDArray[np.float64] | None:
    """AR coefficients ``[1, a_1, ..., a_order]`` of ``x``, or None if ``x`` is silent.

    Autocorrelation method on a Hann-windowed copy, with 1e-9 of white noise
    added to the zero lag (keeps the normal equations well conditioned on
    band-limited material).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> e = rng.standard_normal(20000)
    >>> x = np.zeros(20000)
    >>> for n in range(2, 20000):
    ...     x[n] = 1.6 * x[n - 1] - 0.8 * x[n - 2] + e[n]
    >>> np.round(ar_coefficients(x, 2), 2)
    array([ 1. , -1.6,  0.8])
    """
    from scipy.linalg import solve_toeplitz

    w = x * np.hanning(x.size)
    spectrum = np.fft.rfft(w, n=2 * x.size)
    r = np.fft.irfft(spectrum.real**2 + spectrum.imag**2)[: order + 1]
    if not r[0] > 0.0:
        return None
    r[0] *= 1.0 + 1e-9
    a = solve_toeplitz(r[:order], -r[1 : order + 1])
    return np.concatenate([[1.0], a])


def ar_coefficients_around(
    x: NDArray[np.float64], order: int, runs: list[tuple[int, int]]
) -> NDArray[np.float64] | None:
    """AR coefficients of ``x`` fitted without the samples in ``runs`` (covariance method).

    Least squares over the prediction errors ``e[n]`` whose ``order + 1``
    samples ``x[n - order .. n]`` are all outside the runs: a click's
    samples neither bias the model nor are needed. None if too few rows
    remain (fewer than ``4 * order``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> e = rng.standard_normal(4000)
    >>> x = np.zeros(4000)
    >>> for n in range(2, 4000):
    ...     x[n] = 1.6 * x[n - 1] - 0.8 * x[n - 2] + e[n]
    >>> x[2000:2010] += 50.0
    >>> np.round(ar_coefficients_around(x, 2, [(2000, 2010)]), 1)
    array([ 1. , -1.6,  0.8])
    """
    bad = np.zeros(x.size, bool)
    for start, stop in runs:
        bad[start:stop] = True
    rows = np.lib.stride_tricks.sliding_window_view(x, order + 1)  # row r: x[r .. r + order]
    touched = np.convolve(bad, np.ones(order + 1), mode="valid") > 0
    good = rows[~touched]
    if good.shape[0] < 4 * order:
        return None
    # e[n] = x[n] + sum_i a_i x[n - i]: the newest sample is the row's last
    a, *_ = np.linalg.lstsq(good[:, -2::-1], -good[:, -1], rcond=None)
    return np.concatenate([[1.0], a])


def prediction_error(
    x: NDArray[np.float64], a: NDArray[np.float64], *, backward: bool = False
) -> NDArray[np.float64]:
    """``e[n] = sum_i a[i] * x[n - i]`` for ``n >= order`` (the first ``order`` values are 0).

    With ``backward=True``, ``e[n] = sum_i a[i] * x[n + i]`` (the last
    ``order`` values are 0): the same model predicting from the future, as
    an autocorrelation-method model of a stationary signal does equally well.
    """
    if backward:
        return prediction_error(x[::-1], a)[::-1].copy()
    e = np.convolve(x, a, mode="full")[: x.size]
    e[: a.size - 1] = 0.0
    return e


def detect_clicks(
    forward: NDArray[np.float64],
    backward: NDArray[np.float64],
    *,
    threshold: float,
    max_samples: int,
    pad_samples: int,
    smear_samples: int = 0,
) -> list[tuple[int, int]]:
    """Runs ``(start, stop)`` of samples to repair, from the forward and backward prediction errors.

    A sample is flagged when either error exceeds ``threshold`` times its
    robust standard deviation (1.4826 times the median absolute value, which
    clicks barely move); flags closer than ``pad_samples`` are merged into
    one run, widened by ``pad_samples`` on each side. A click from ``t0`` to
    ``t1`` shows in the forward error from ``t0`` on, smearing over up to
    ``order`` samples after ``t1``, and in the backward error up to ``t1``,
    smearing before ``t0``: a run starts at its first forward flag and is
    cut to ``max_samples``. Runs longer than ``max_samples + smear_samples``
    are left alone (not a click: a transient of the programme the model does
    not follow).

    Examples
    --------
    >>> e = np.zeros(100) + 0.01 * (-1) ** np.arange(100)
    >>> e[50] = 1.0
    >>> detect_clicks(e, e, threshold=6.0, max_samples=20, pad_samples=2)
    [(48, 53)]
    """
    flags = []
    for e in (forward, backward):
        scale = _MAD_TO_STD * float(np.median(np.abs(e)))
        if scale <= 0.0:
            return []
        flags.append(np.abs(e) > threshold * scale)
    ahead, behind = flags
    runs: list[tuple[int, int]] = []
    for i in np.flatnonzero(ahead | behind):
        start, stop = int(i) - pad_samples, int(i) + pad_samples + 1
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], stop)
        else:
            runs.append((start, stop))
    out = []
    for start, stop in runs:
        start = max(start, 0)
        if stop - start > max_samples + smear_samples:
            continue  # too long for a click, even with the smear
        first = np.flatnonzero(ahead[start:stop])
        if first.size:
            # the click starts where the forward error jumps (the backward error smears before it)
            start = max(start, start + int(first[0]) - pad_samples)
        out.append((start, min(stop, start + max_samples, forward.size)))
    return out


def interpolate_gap(
    x: NDArray[np.float64], a: NDArray[np.float64], start: int, stop: int
) -> NDArray[np.float64]:
    """Least-squares AR interpolation of ``x[start:stop]`` from the samples around it.

    Minimises the energy of the prediction error over the rows it touches,
    ``n = start .. stop - 1 + order``, with respect to the missing samples
    (Vaseghi & Rayner 1990). ``x`` must hold ``order`` good samples before
    ``start`` and after ``stop``.

    Examples
    --------
    >>> t = np.arange(400)
    >>> x = np.sin(0.05 * t) + 0.5 * np.sin(0.13 * t)
    >>> a = ar_coefficients(x, 8)
    >>> broken = x.copy()
    >>> broken[200:206] += 3.0
    >>> bool(np.max(np.abs(interpolate_gap(broken, a, 200, 206) - x[200:206])) < 1e-3)
    True
    """
    p = a.size - 1
    m = stop - start
    rows = m + p
    # e[start + r] = sum_i a[i] * x[start + r - i]: unknown columns j (x[start + j]) where i = r - j
    r = np.arange(rows)[:, np.newaxis]
    j = np.arange(m)[np.newaxis, :]
    lag = r - j
    a_u = np.where((lag >= 0) & (lag <= p), a[np.clip(lag, 0, p)], 0.0)
    segment = x[start - p : stop + p].copy()
    segment[p : p + m] = 0.0
    known = np.convolve(segment, a, mode="full")[p : p + rows]
    solution, *_ = np.linalg.lstsq(a_u, -known, rcond=None)
    return solution

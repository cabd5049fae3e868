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
- :func:`detect_clicks`: candidate runs, samples whose forward or backward
  prediction error exceeds a threshold above its robust scale (median
  absolute deviation);
- :func:`click_extent`: where a candidate click starts and ends, by a
  penalised likelihood: the run whose interpolation lowers the prediction
  error energy most, less a cost per sample repaired;
- :func:`onset_ratio`: the signal's level after a run against before it (a
  note or a stroke that starts is not a click);
- :func:`interpolate_gap`: the least-squares AR interpolation of one run.

Why the extent needs its own estimate: a pop's onset is sharp and stands out
in the prediction error, but its decay is smooth and nearly as predictable as
the programme, so the flagged samples cover only the first few. Interpolated
from neighbours that still carry the decay, the repair follows the decay. The
error energy saved by declaring sample ``n`` missing as well is exactly the
square of an innovation of a triangular system (below), so every length of
run, from every start, is scored at the cost of one Cholesky factorisation
per model and one triangular solve per candidate.

The linear algebra of a frame (the covariance of the good rows, the Cholesky
factorisations, the triangular solves, the gap's least squares) runs in small
numba kernels that use the band of these matrices, not in BLAS/LAPACK: the
matrices are too small for threads, and OpenBLAS's threads spun against each
other on busy cores (a threaded render, a batch, a shared machine: 20 s
instead of 0.5 s for 12 s of 48 kHz speech on two shared cores). This module
imports numba; :class:`~sonicmix.nodes.dehum.DeClick` imports it when it
first repairs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = [
    "ar_coefficients",
    "ar_coefficients_around",
    "prediction_error",
    "robust_scale",
    "detect_clicks",
    "ClickFit",
    "gap_cholesky",
    "click_extent",
    "onset_ratio",
    "interpolate_gap",
]

#: Median absolute deviation to standard deviation, for Gaussian data.
_MAD_TO_STD = 1.4826


class ClickFit(NamedTuple):
    """A click's extent as :func:`click_extent` finds it.

    ``score`` is the error energy its interpolation saves, in units of the
    error variance, less the penalty per sample; ``misfit`` the error energy
    left over the rows the interpolation touches, per row that it cannot
    absorb, in the same units (about 1 for an additive click on a steady
    programme; large where what follows is not predicted by what came before).
    """

    score: float
    start: int
    stop: int
    misfit: float


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
    remain (fewer than ``4 * order``) or they are all silent. A lag at which
    every row is silent (the edge of digital silence) gets the coefficient
    0, as least squares' minimum-norm solution gives it.

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
    x = np.ascontiguousarray(x, dtype=np.float64)
    bad = np.zeros(x.size, np.bool_)
    for start, stop in runs:
        bad[start:stop] = True
    covariance = np.zeros((order + 1, order + 1))
    if _good_covariance(x, bad, order, covariance) < 4 * order:
        return None
    a = np.empty(order + 1)
    # The normal equations, loaded by 1e-12: the loading keeps a pure tone's singular matrix
    # solvable, and at 1e-12 the repairs equal least squares' (1e-9 already changed what a loop loses)
    status = _solve_normal(covariance, 1e-12, a)
    if status == _SILENT:
        return None
    if status == _SINGULAR:  # not met on the tests' material: a model from least squares, as before
        rows = np.lib.stride_tricks.sliding_window_view(x, order + 1)  # row r: x[r .. r + order]
        good = rows[np.convolve(bad, np.ones(order + 1), mode="valid") == 0]
        a[1:], *_ = np.linalg.lstsq(good[:, -2::-1], -good[:, -1], rcond=None)
    return a


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


def robust_scale(e: NDArray[np.float64]) -> float:
    """Standard deviation of ``e`` from its median absolute value (1.4826 times it), which clicks barely move.

    Examples
    --------
    >>> e = np.random.default_rng(0).standard_normal(10001)
    >>> e[::100] = 1e3  # 1 % outliers
    >>> round(robust_scale(e), 1)
    1.0
    """
    return _MAD_TO_STD * float(np.median(np.abs(e))) if e.size else 0.0


def detect_clicks(
    forward: NDArray[np.float64],
    backward: NDArray[np.float64],
    *,
    threshold: float,
    max_samples: int,
    pad_samples: int,
    smear_samples: int = 0,
    min_scale: float = 0.0,
) -> list[tuple[int, int]]:
    """Candidate runs ``(start, stop)`` of samples to repair, from the forward and backward prediction errors.

    A sample is flagged when either error exceeds ``threshold`` times its
    robust standard deviation (:func:`robust_scale`, at least ``min_scale``:
    in digital silence the median is 0 and any click stands out above the
    floor); flags closer than ``pad_samples`` are merged into
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
        scale = max(robust_scale(e), min_scale)
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


def gap_cholesky(a: NDArray[np.float64], max_samples: int) -> NDArray[np.float64]:
    """Lower Cholesky factor of the ``max_samples`` x ``max_samples`` normal matrix of a gap.

    For a run of missing samples, the prediction errors that involve them are
    ``e = A_u d + ...`` with ``A_u`` the model's convolution matrix over the
    run; ``A_u^T A_u`` is the Toeplitz matrix of the autocorrelation of the
    coefficients (every row that touches the run is counted), the same for
    every position. Its leading blocks are the matrices of shorter runs, and
    so are the leading blocks of its Cholesky factor. Both are banded: nothing
    lies more than ``order`` below the diagonal.

    Examples
    --------
    >>> a = np.array([1.0, -0.9])
    >>> np.round(gap_cholesky(a, 2) @ gap_cholesky(a, 2).T, 2)
    array([[ 1.81, -0.9 ],
           [-0.9 ,  1.81]])
    """
    p = a.size - 1
    r = np.correlate(a, a, mode="full")[p:]
    column = np.zeros(max_samples)
    column[: min(p + 1, max_samples)] = r[: min(p + 1, max_samples)]
    chol = np.zeros((max_samples, max_samples))
    if not _band_cholesky(column, p, chol):
        raise np.linalg.LinAlgError(f"the gap matrix of the order-{p} AR model is not positive definite")
    return chol


def click_extent(
    error: NDArray[np.float64],
    a: NDArray[np.float64],
    first: int,
    last: int,
    *,
    max_samples: int,
    penalty: float,
    variance: float,
    tail_samples: int = 0,
    chol: NDArray[np.float64] | None = None,
) -> ClickFit | None:
    """The run that best explains a click starting between ``first`` and ``last`` (penalised likelihood).

    For a run ``[s, s + m)`` of samples declared missing, the least-squares
    interpolation lowers the energy of the forward prediction error ``error``
    (of the model ``a``) by ``|L_m^-1 g_s|^2``, where ``g_s[j] = sum_i a_i
    error[s + j + i]`` (the error filtered backwards by the model: each
    sample's contribution to the rows it enters) and ``L_m`` is the leading
    block of :func:`gap_cholesky` (``chol``, if given, is that factor of the
    same model, at least as large). Each sample added to the run costs
    ``penalty`` times ``variance`` (the local error variance): the score
    ``saving / variance - penalty * m`` is the log-likelihood ratio, up to a
    constant, of the run being a click of large amplitude against the
    programme alone (Godsill & Rayner 1998, ch. 9, with the click's variance
    large against the error's). The run with the best score over every start
    in ``[first, last]`` and every length up to ``max_samples`` is returned,
    widened by ``tail_samples`` at its end (the last of a decay, below the
    noise, which the score cannot see), or None if no score is positive.
    Runs stay within ``[order, error.size - order)``.

    Examples
    --------
    >>> t = np.arange(600)
    >>> x = np.sin(0.05 * t) + 0.5 * np.sin(0.13 * t)
    >>> x += 1e-3 * np.random.default_rng(0).standard_normal(600)
    >>> a = ar_coefficients(x, 8)
    >>> x[300:306] += [1.0, 0.8, 0.6, 0.45, 0.3, 0.2]   # a pop with a smooth decay
    >>> e = prediction_error(x, a)
    >>> fit = click_extent(e, a, 295, 302, max_samples=20, penalty=16.0, variance=robust_scale(e) ** 2)
    >>> fit.start, fit.stop
    (300, 306)
    """
    p = a.size - 1
    lo, hi = p, error.size - p
    first, last = max(first, lo), min(last, hi - 1)
    if last < first or not variance > 0.0:
        return None
    span = max_samples + tail_samples
    if chol is None or chol.shape[0] < span:
        chol = gap_cholesky(a, span)
    starts = last - first + 1
    stop = min(last + span, hi)
    g = np.zeros(starts + span - 1)
    filtered = np.correlate(error[first : stop + p], a, mode="valid")  # g at first .. stop - 1
    g[: filtered.size] = filtered
    z = np.empty((span, starts))  # z[:, i] = L^-1 g[i : i + span]
    _band_forward(np.ascontiguousarray(chol, dtype=np.float64), g, p, z)
    saving = np.cumsum(z * z, axis=0)  # saving[m - 1, i]: run of m samples from first + i
    lengths = np.arange(1, max_samples + 1)[:, np.newaxis]
    score = saving[:max_samples] / variance - penalty * lengths
    score[np.arange(first, last + 1)[np.newaxis, :] + lengths > hi] = -np.inf
    best = int(np.argmax(score))
    k, i = divmod(best, starts)
    if not score[k, i] > 0.0:
        return None
    start = first + i
    length = min(k + 1 + tail_samples, hi - start)
    rows = np.sum(error[start : start + length + p] ** 2)
    misfit = max(rows - saving[length - 1, i], 0.0) / (p * variance)
    return ClickFit(float(score[k, i]), start, start + length, float(misfit))


def onset_ratio(x: NDArray[np.float64], start: int, stop: int, samples: int) -> float:
    """Power of ``x`` after ``stop`` over its power before ``start`` (medians of squares over ``samples``).

    A click leaves the programme's level as it was; a note, a stroke or a
    word that starts raises it. Medians, so that another click nearby does
    not count. Infinite after digital silence, unless silence follows too.

    Examples
    --------
    >>> x = np.r_[0.01 * np.ones(100), 1.0 * np.ones(100)]
    >>> round(onset_ratio(x, 95, 100, 50))
    10000
    """
    before = float(np.median(x[max(0, start - samples) : start] ** 2)) if start > 0 else 0.0
    after = float(np.median(x[stop : stop + samples] ** 2)) if stop < x.size else 0.0
    if after == 0.0:
        return 0.0
    return after / before if before > 0.0 else np.inf


def interpolate_gap(
    x: NDArray[np.float64], a: NDArray[np.float64], start: int, stop: int
) -> NDArray[np.float64]:
    """Least-squares AR interpolation of ``x[start:stop]`` from the samples around it.

    Minimises the energy of the prediction error over the rows it touches,
    ``n = start .. stop - 1 + order``, with respect to the missing samples
    (Vaseghi & Rayner 1990). ``x`` must hold ``order`` good samples before
    ``start`` and after ``stop``. Solved by Householder QR of the model's
    banded convolution matrix, not by its normal equations, which would
    square its condition number.

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
    # row r is e[start + r] = known[r] + sum_j a[r - j] * x[start + j] over the missing samples j
    segment = x[start - p : stop + p].astype(np.float64)
    segment[p : p + m] = 0.0
    known = np.convolve(segment, a, mode="full")[p : p + rows]
    solution = np.empty(m)
    _gap_least_squares(np.ascontiguousarray(a, dtype=np.float64), known, solution)
    return solution


# --------------------------------------------------------------------------- compiled kernels
#
# The matrices are small and banded, and no BLAS is called. The factorisations' updates run along
# contiguous rows with no sum to carry, so they vectorize as written; the covariance's long dot
# products index slices from 0 (numba's check for negative indices on x[r + j] kept LLVM from
# vectorizing them: 6 to 7 times slower) and are reassociated, as BLAS's are.

#: :func:`_solve_normal`'s outcomes.
_SOLVED, _SILENT, _SINGULAR = 0, 1, 2


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _good_covariance(x, bad, order, out):  # pragma: no cover - compiled
    # out[i, j] += sum of x[r + i] * x[r + j] (i <= j) over the rows r whose samples
    # x[r .. r + order] are all good; returns how many rows that is. A bad sample at k spoils rows
    # k - order .. k: the good rows come in runs between bad samples, each run's sums are dot products
    # of contiguous slices (reassociated, so that they vectorize with several partial sums, as BLAS's)
    rows = 0
    first = 0  # the current run's first row
    for k in range(x.size + 1):
        if k < x.size and not bad[k]:
            continue
        stop = k - order  # (k == x.size: the rows up to the end)
        if stop > first:
            rows += stop - first
            for i in range(order + 1):
                head = x[first + i : stop + i]
                for j in range(i, order + 1):
                    tail = x[first + j : stop + j]
                    acc = 0.0
                    for t in range(stop - first):
                        acc += head[t] * tail[t]
                    out[i, j] += acc
        first = k + 1
    return rows


@numba.njit(cache=True, nogil=True, inline="always")
def _cholesky_row(u, j, end):  # pragma: no cover - compiled
    # step j of a right-looking Cholesky U^T U in place in the upper triangle of `u`: row j becomes
    # U's, and the rows below it lose its part, over the columns up to `end` (the band's edge)
    s = np.sqrt(u[j, j])
    u[j, j] = s
    for m in range(j + 1, end):
        u[j, m] /= s
    for i in range(j + 1, end):
        f = u[j, i]
        for m in range(i, end):
            u[i, m] -= f * u[j, m]


@numba.njit(cache=True, nogil=True)
def _solve_normal(covariance, loading, a):  # pragma: no cover - compiled
    # The covariance method's normal equations R a = -b from _good_covariance's upper triangle
    # (x[r + order] is the predicted sample, x[r + order - 1 - k] the k-th past one), by a
    # right-looking Cholesky R = U^T U of the loaded R. A lag whose diagonal is exactly 0 has a
    # zero row and column: its coefficient is 0 and it is left out.
    p = covariance.shape[0] - 1
    u = np.zeros((p, p))
    b = np.empty(p)
    zero = np.empty(p, np.bool_)
    trace = 0.0
    for k in range(p):
        for m in range(k, p):
            u[k, m] = covariance[p - 1 - m, p - 1 - k]
        b[k] = covariance[p - 1 - k, p]
        trace += u[k, k]
        zero[k] = u[k, k] == 0.0
        u[k, k] *= 1.0 + loading
    a[0] = 1.0
    if not trace > 0.0:
        return _SILENT
    for j in range(p):
        if zero[j]:
            continue
        if not u[j, j] > 0.0:
            return _SINGULAR
        _cholesky_row(u, j, p)
    # U^T y = -b, then U a = y, both in place in b (the zero lags' y and a stay 0)
    for i in range(p):
        b[i] = 0.0 if zero[i] else -b[i] / u[i, i]
        for m in range(i + 1, p):
            b[m] += u[i, m] * b[i]
    for i in range(p - 1, -1, -1):
        s = 0.0
        if not zero[i]:
            s = b[i]
            for m in range(i + 1, p):
                s -= u[i, m] * a[m + 1]
            s /= u[i, i]
        a[i + 1] = s
    return _SOLVED


@numba.njit(cache=True, nogil=True)
def _band_cholesky(column, band, out):  # pragma: no cover - compiled
    # out = L, lower Cholesky factor of the symmetric Toeplitz matrix of `column`, which is 0 beyond
    # `band`; computed as U = L^T, right-looking along rows. False if not positive definite.
    n = column.size
    u = np.zeros((n, n))
    for i in range(n):
        for j in range(i, min(i + band + 1, n)):
            u[i, j] = column[j - i]
    for j in range(n):
        if not u[j, j] > 0.0:
            return False
        _cholesky_row(u, j, min(j + band + 1, n))
    for i in range(n):
        for j in range(max(0, i - band), i + 1):
            out[i, j] = u[j, i]
    return True


@numba.njit(cache=True, nogil=True)
def _band_forward(chol, g, band, z):  # pragma: no cover - compiled
    # z[:, c] = L^-1 g[c : c + span] for every column c, with L = chol[:span, :span], lower, 0 more
    # than `band` below the diagonal; row by row, along the columns
    span, starts = z.shape
    for k in range(span):
        for c in range(starts):
            z[k, c] = g[c + k]
        for m in range(max(0, k - band), k):
            f = chol[k, m]
            for c in range(starts):
                z[k, c] -= f * z[m, c]
        d = chol[k, k]
        for c in range(starts):
            z[k, c] /= d


@numba.njit(cache=True, nogil=True)
def _gap_least_squares(a, known, out):  # pragma: no cover - compiled
    # out = argmin |A d + known|, A the (m + p) x m convolution matrix of `a` (column j holds a at
    # rows j .. j + p), by Householder QR. Column j's reflector spans rows j .. j + p and reaches
    # columns j .. j + p, so R stays within p of its diagonal. Columns are stored as rows (at).
    p = a.size - 1
    m = out.size
    rows = known.size
    at = np.zeros((m, rows))
    for j in range(m):
        for i in range(p + 1):
            at[j, j + i] = a[i]
    b = np.empty(rows)
    for i in range(rows):
        b[i] = -known[i]
    v = np.empty(p + 1)
    for j in range(m):
        alpha = at[j, j]
        tail = 0.0
        for i in range(1, p + 1):
            tail += at[j, j + i] * at[j, j + i]
        if tail == 0.0:
            continue  # already upper triangular here
        beta = -np.copysign(np.sqrt(alpha * alpha + tail), alpha)
        tau = (beta - alpha) / beta
        scale = 1.0 / (alpha - beta)
        v[0] = 1.0
        for i in range(1, p + 1):
            v[i] = at[j, j + i] * scale
        at[j, j] = beta
        for k in range(j + 1, min(j + p + 1, m)):
            w = 0.0
            for i in range(p + 1):
                w += v[i] * at[k, j + i]
            w *= tau
            for i in range(p + 1):
                at[k, j + i] -= w * v[i]
        w = 0.0
        for i in range(p + 1):
            w += v[i] * b[j + i]
        w *= tau
        for i in range(p + 1):
            b[j + i] -= w * v[i]
    for j in range(m - 1, -1, -1):
        s = b[j]
        for k in range(j + 1, min(j + p + 1, m)):
            s -= at[k, j] * out[k]
        out[j] = s / at[j, j]

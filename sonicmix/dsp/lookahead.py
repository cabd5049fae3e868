"""Building blocks of a lookahead true-peak limiter, as plain functions over arrays.

* :func:`true_peak_rows`: the interpolation filters of the true-peak meters a
  limiter must satisfy (ours, :mod:`sonicmix.loudness.truepeak`, and
  libebur128's), arranged as one FIR row per inter-sample point.
* :func:`interval_peaks` and :func:`needed_gain`: the largest interpolated
  magnitude between each pair of samples (exact where it can matter, an upper
  bound elsewhere) and the gain each sample needs.
* :func:`ideal_rows` and :func:`grid_factor`: a 16x grid of band-limited
  interpolators, and the bound that carries a ceiling from such a grid to
  the continuous signal (a limiter's ``true_peak="ideal"``).
* :func:`sliding_min`: running minimum over a window (van Herk / Gil-Werman,
  about three comparisons per sample whatever the window); :func:`hold_min`
  and :func:`lookahead_min`, the same where the input is mostly 1 or rising.
* :func:`attack_release`: the limiter's main gain: hold, one-pole release,
  lookahead minimum and a triangular attack ramp.
* :func:`check_gain`: applies a gain and finds, exactly, where the result
  still overshoots between samples.
* :func:`lipschitz_floor` and :func:`final_gain`: the largest gain curve below
  a target whose slope never exceeds a given step per sample.
* :func:`limit`: all of them, chunk by chunk, as the limiter node runs them.

Arrays are ``(rows, samples)`` with time last. Streaming state lives in
*lines* that belong to the caller: the end of the previous block followed by
the new block, updated in place, so that a signal processed in blocks gives
the samples of the same signal processed whole, without allocating per block.
Gains are float64; audio stays in its own dtype.

This module imports numba (about 0.25 s), so nodes import it only when they
first process audio; the kernels are compiled on first use and cached on disk.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice
from sonicmix.loudness.truepeak import interpolation_filter, oversampling_factor

__all__ = [
    "HALF_SPAN",
    "TAPS",
    "BLOCK",
    "TruePeakRows",
    "true_peak_rows",
    "ideal_rows",
    "grid_factor",
    "libebur128_filter",
    "interval_peaks",
    "needed_gain",
    "check_gain",
    "sliding_min",
    "hold_min",
    "lookahead_min",
    "attack_release",
    "lipschitz_floor",
    "final_gain",
    "limit",
]

#: Samples on each side of an inter-sample point that its interpolation reads.
HALF_SPAN = 12
#: Taps per interpolation row: offsets -HALF_SPAN..HALF_SPAN around sample m.
TAPS = 2 * HALF_SPAN + 1
#: Intervals handled per step of the interval kernels (and per skip decision).
BLOCK = 64
_LIBEBUR128_TAPS = 49


def libebur128_filter(sample_rate: int) -> tuple[int, NDArray[np.float64] | None]:
    """Oversampling factor and interpolation filter of libebur128's true-peak meter.

    libebur128 (and so pyebur128) oversamples 4x below 96 kHz, 2x below
    192 kHz and not at all above, with a 49-tap Hann-windowed sinc whose
    phases are not normalised. The filter is ``h[j] = sinc((j - 24) / factor)
    * hann(j)``; phase ``f`` is ``h[f::factor]``, the value at ``n - 24 /
    factor + f / factor`` is ``sum_i h[f + factor * i] * x[n - i]``.
    """
    factor = 4 if sample_rate < 96_000 else 2 if sample_rate < 192_000 else 1
    if factor == 1:
        return 1, None
    j = np.arange(_LIBEBUR128_TAPS)
    m = (j - (_LIBEBUR128_TAPS - 1) / 2.0) / factor
    h = np.sinc(m) * 0.5 * (1.0 - np.cos(2.0 * np.pi * j / (_LIBEBUR128_TAPS - 1)))
    return factor, h


class TruePeakRows(NamedTuple):
    """Interpolation rows of every inter-sample point of the meters, grouped for the kernels.

    ``rows[r, o]`` weighs sample ``m - HALF_SPAN + o`` in the value at
    ``m + fractions[r]`` (``0 < fractions[r] < 1``). ``group_rows[g]`` holds
    the same rows trimmed to their non-zero taps, up to three rows with the
    same span per group (the kernel's register block), zero-padded to one
    shape; ``group_first[g]`` is the group's first tap, its number of rows and
    of taps. One array of each, whatever the sample rate (whose rows come in 1
    to 12 groups), so the kernels compile once for every rate.
    """

    rows: NDArray[np.float64]
    fractions: NDArray[np.float64]
    l1_norm: float  # max over rows of sum |row|: every value is within l1_norm * max |x|
    first_moment: float  # max over rows of sum |row[o]| * |o - HALF_SPAN - fraction|
    linear_norm: float  # max over rows of |p0| + |p1|, the two-tap part of the split below
    curvature_norm: float  # max over rows of sum |w|: row = p0 d[m] + p1 d[m + 1] + (second difference) * w
    group_first: NDArray[np.int64]  # (groups, 3): first tap, rows, taps
    group_rows: NDArray[np.float64]  # (groups, 3, longest span)


#: Kaiser window parameter of the band-limited rows of :func:`ideal_rows`: with 24 taps, the
#: best accuracy up to 0.42 times the sample rate (1.1e-3 at 0.4, 1.7e-3 at 0.42; 0.11 at 0.45).
IDEAL_KAISER_BETA = 6.0


def grid_factor(grid: int) -> float:
    """How far below the peak of a band-limited signal the largest of its values on a grid can lie.

    Bernstein's inequality bounds the second derivative of a signal
    band-limited to half the sample rate ``fs`` by ``(pi fs)^2`` times its
    peak ``P``. At the peak the first derivative vanishes, so within half a
    grid step ``1 / (2 grid fs)`` the signal stays above ``P (1 - pi^2 / (8
    grid^2))``: keeping every grid value below ``c`` times that factor keeps
    the peak below ``c``. 0.042 dB at ``grid=16``, 0.0105 dB at 32.

    Examples
    --------
    >>> round(-20 * math.log10(grid_factor(16)), 4), round(-20 * math.log10(grid_factor(32)), 4)
    (0.042, 0.0105)
    """
    return 1.0 - math.pi**2 / (8.0 * grid * grid)


def ideal_rows(grid: int) -> NDArray[np.float64]:
    """Band-limited interpolation rows at the points ``m + j / grid``, ``0 < j < grid``, scaled up.

    Row ``j - 1`` weighs sample ``m + d`` (``-12 < d <= 12``) by ``sinc(t -
    d)`` times a Kaiser window reaching 12 samples from ``t = j / grid``,
    normalised to unit sum, divided by :func:`grid_factor`: a value of these
    rows within a ceiling ``c`` is a point of the 24-tap reconstruction within
    ``c`` times the grid factor, which bounds the peak between the points.
    """
    d = np.arange(TAPS) - HALF_SPAN
    out = np.zeros((grid - 1, TAPS))
    for j in range(1, grid):
        u = j / grid - d
        inside = np.abs(u) < HALF_SPAN
        taper = np.sqrt(1.0 - (u[inside] / HALF_SPAN) ** 2)
        window = np.i0(IDEAL_KAISER_BETA * taper) / np.i0(IDEAL_KAISER_BETA)
        out[j - 1, inside] = np.sinc(u[inside]) * window
        out[j - 1] /= out[j - 1].sum() * grid_factor(grid)
    return out


@functools.lru_cache(maxsize=16)
def true_peak_rows(sample_rate: int, grid: int = 0) -> TruePeakRows:
    """Rows of our meter's interpolator and of libebur128's, at ``sample_rate``, and optionally a grid.

    A limiter that keeps every value of these rows (and every sample) below
    its ceiling reads at most the ceiling on both meters. With ``grid`` (16
    or more), the rows of :func:`ideal_rows` follow: they keep the
    band-limited reconstruction within the ceiling too (within the accuracy
    of 24 taps: see :data:`IDEAL_KAISER_BETA`).

    Examples
    --------
    >>> rows = true_peak_rows(48000)
    >>> rows.rows.shape, [float(f) for f in rows.fractions]
    ((6, 25), [0.25, 0.5, 0.75, 0.25, 0.5, 0.75])
    >>> true_peak_rows(48000, grid=16).rows.shape
    (21, 25)
    """
    rows: list[np.ndarray] = []
    fractions: list[float] = []
    factor = oversampling_factor(sample_rate)
    ours = interpolation_filter(factor)  # row p: weights of x[m - 12 .. m + 12] for the point m + p / factor
    for p in range(1, factor):
        rows.append(ours[p].astype(np.float64))
        fractions.append(p / factor)
    lib_factor, h = libebur128_filter(sample_rate)
    if h is not None:
        delay = (_LIBEBUR128_TAPS - 1) // 2 // lib_factor  # in input samples
        for f in range(1, lib_factor):
            row = np.zeros(TAPS)
            for i, value in enumerate(h[f::lib_factor]):
                row[HALF_SPAN + delay - i] = value  # value at (n - delay) + f/factor weighs x[n - i]
            rows.append(row)
            fractions.append(f / lib_factor)
    if grid:
        rows.extend(ideal_rows(grid))
        fractions.extend(j / grid for j in range(1, grid))
    table = np.array(rows)
    frac = np.array(fractions)
    offsets = np.arange(TAPS) - HALF_SPAN
    moment = max(float(np.sum(np.abs(r) * np.abs(offsets - t))) for r, t in zip(table, frac, strict=True))
    spans: dict[tuple[int, int], list[np.ndarray]] = {}
    for r in table:
        nz = np.flatnonzero(r)
        spans.setdefault((int(nz[0]), int(nz[-1]) + 1), []).append(r)
    firsts, groups = [], []
    for (lo, hi), members in spans.items():
        for i in range(0, len(members), 3):
            firsts.append((lo, len(members[i : i + 3]), hi - lo))
            groups.append(np.array(members[i : i + 3])[:, lo:hi])
    group_first = np.array(firsts, dtype=np.int64)
    group_rows = np.zeros((len(groups), 3, int(group_first[:, 2].max())))
    for g, rows_g in enumerate(groups):
        group_rows[g, : rows_g.shape[0], : rows_g.shape[1]] = rows_g
    linear, curvature = _second_difference_split(table)
    return TruePeakRows(
        rows=table,
        fractions=frac,
        l1_norm=float(np.abs(table).sum(axis=1).max()),
        first_moment=moment,
        linear_norm=linear,
        curvature_norm=curvature,
        group_first=group_first,
        group_rows=group_rows,
    )


def _second_difference_split(table: NDArray[np.float64]) -> tuple[float, float]:
    """Split every row into two taps and a filter on second differences; their largest norms.

    A row ``h`` (taps ``o = 0 .. TAPS - 1``, the interval's first sample at
    ``o = HALF_SPAN``) equals ``p0`` at ``HALF_SPAN`` plus ``p1`` at
    ``HALF_SPAN + 1`` plus ``sum_j w[j] (d[j] - 2 d[j + 1] + d[j + 2])``,
    where ``p0 + p1`` is the row's sum and ``p1`` its first moment about
    ``HALF_SPAN`` (what is left then has zero sum and zero first moment,
    so it is a second difference, and ``w`` is its double running sum).
    Hence ``|h . x| <= (|p0| + |p1|) max |x| + sum |w| max |second difference
    of x|``, much tighter than ``sum |h| max |x|`` for loud audio whose energy
    lies well below the Nyquist frequency.
    """
    offsets = np.arange(TAPS) - HALF_SPAN
    linear = curvature = 0.0
    for h in table:
        s0, s1 = float(h.sum()), float(offsets @ h)
        rest = h.copy()
        rest[HALF_SPAN] -= s0 - s1
        rest[HALF_SPAN + 1] -= s1
        w = np.cumsum(np.cumsum(rest))
        # the last two running sums are the remainder's sum and first moment: zero up to rounding
        assert abs(w[-1]) + abs(w[-2]) < 1e-9  # noqa: S101 - a property of the construction
        linear = max(linear, abs(s0 - s1) + abs(s1))
        curvature = max(curvature, float(np.abs(w[:-2]).sum()))
    return linear * (1.0 + 1e-9), curvature * (1.0 + 1e-9)


# --------------------------------------------------------------------------- interval peaks
# Performance notes (measured here): the block loops have a fixed trip count of BLOCK; at 64 LLVM
# vectorizes them, at 32 or less it unrolls them completely and they run 3 to 5 times slower. The
# helpers are inlined so that LLVM sees the scratch arrays as local allocations; passed as arguments
# they may alias the signal and the loops run 1.7 times slower. Sums keep their order (no
# reassociation), so a value never depends on where a block starts.

_FAST = {"contract", "nnan", "ninf", "nsz"}


@numba.njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _rows_block(z, start, h, best, acc0, acc1, acc2):  # pragma: no cover - compiled
    """best[i] = max(best[i], |sum_k h[r, k] * z[start + k + i]|) over the rows r of h, i < BLOCK."""
    rows, taps = h.shape
    for i in range(BLOCK):
        acc0[i] = 0.0
        acc1[i] = 0.0
        acc2[i] = 0.0
    zs = z[start:]
    if rows == 3:
        for k in range(taps):
            c0 = h[0, k]
            c1 = h[1, k]
            c2 = h[2, k]
            for i in range(BLOCK):
                v = zs[k + i]
                acc0[i] += c0 * v
                acc1[i] += c1 * v
                acc2[i] += c2 * v
    elif rows == 2:
        for k in range(taps):
            c0 = h[0, k]
            c1 = h[1, k]
            for i in range(BLOCK):
                v = zs[k + i]
                acc0[i] += c0 * v
                acc1[i] += c1 * v
    else:
        for k in range(taps):
            c0 = h[0, k]
            for i in range(BLOCK):
                acc0[i] += c0 * zs[k + i]
    for i in range(BLOCK):
        best[i] = max(best[i], abs(acc0[i]), abs(acc1[i]), abs(acc2[i]))


@numba.njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _peaks_block(z, start, group_first, group_rows, best, acc0, acc1, acc2):  # pragma: no cover - compiled
    """best[i] = exact peak of interval i < BLOCK, whose taps are z[start + i + o], o < TAPS."""
    for i in range(BLOCK):
        best[i] = 0.0
    for g in range(group_rows.shape[0]):
        h = group_rows[g, : group_first[g, 1], : group_first[g, 2]]
        _rows_block(z, start + group_first[g, 0], h, best, acc0, acc1, acc2)


@numba.njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _tree_max(lanes):  # pragma: no cover - compiled
    """max(lanes[:BLOCK]), destroying lanes: a tree of vector max instead of a chain of BLOCK."""
    width = BLOCK // 2
    while width >= 1:
        for i in range(width):
            lanes[i] = max(lanes[i], lanes[i + width])
        width //= 2
    return lanes[0]


@numba.njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _screen(norms, threshold, dtype):  # pragma: no cover - compiled
    """Levels ``(loud, bent)`` below which a block cannot reach ``threshold`` (see :func:`_needs_exact`)."""
    _, linear_norm, curvature_norm = norms
    budget = threshold * (1.0 - 1e-6)  # 1e-6: the rounding of the second differences, 5e-7 at most
    return dtype.type(0.8 * budget / linear_norm), dtype.type(0.2 * budget / curvature_norm)


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _needs_exact(zs, norms, threshold, loud, bent, lanes, ends, curv):  # pragma: no cover - compiled
    """Whether a row of some interval of the block whose taps start at ``zs[0]`` may reach ``threshold``.

    Every row is within ``linear_norm * E + curvature_norm * D`` (the split of
    :func:`true_peak_rows`), ``E`` the largest ``|x|`` at the intervals' ends,
    ``D`` the largest second difference over their taps, and within
    ``l1_norm * M``, ``M`` the largest ``|x|`` over the taps. A quick screen
    first: no ``|x| >= loud`` and no second difference ``>= bent`` (counts,
    which vectorise where maxima do not) proves the bound below
    ``threshold``; otherwise the maxima are taken.
    """
    hits = 0
    for i in range(BLOCK + TAPS - 1):
        hits += abs(zs[i]) >= loud
    for i in range(BLOCK + TAPS - 3):  # centred on tap i + 1; differences of differences stay in dtype
        hits += abs((zs[i] - zs[i + 1]) - (zs[i + 1] - zs[i + 2])) >= bent
    if hits == 0:
        return False
    for i in range(BLOCK):
        lanes[i] = abs(zs[i])
        ends[i] = abs(zs[HALF_SPAN + i])
        curv[i] = abs((zs[i] - zs[i + 1]) - (zs[i + 1] - zs[i + 2]))
    for i in range(TAPS - 1):
        lanes[i] = max(lanes[i], abs(zs[BLOCK + i]))
    for i in range(TAPS - 3):
        j = BLOCK + i
        curv[i] = max(curv[i], abs((zs[j] - zs[j + 1]) - (zs[j + 1] - zs[j + 2])))
    ends[0] = max(ends[0], abs(zs[HALF_SPAN + BLOCK]))
    top = np.float64(_tree_max(lanes))
    tight = norms[1] * np.float64(_tree_max(ends)) + norms[2] * np.float64(_tree_max(curv)) + 1e-6 * top
    return min(tight, norms[0] * top) >= threshold


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def interval_peaks(
    x, base, count, norms, group_first, group_rows, threshold, v, offset, busy
):  # pragma: no cover - compiled
    """Largest interpolated magnitude in each interval ``(m, m + 1)``, exact where it can reach ``threshold``.

    Interval ``k < count`` reads ``x[c, base + k + o]`` for ``o < TAPS`` (its
    first sample ``m`` is ``o = HALF_SPAN``); ``x`` must hold ``BLOCK``
    readable samples past the last interval's taps. ``norms`` is
    ``(l1_norm, linear_norm, curvature_norm)`` of :class:`TruePeakRows`.
    Blocks of ``BLOCK`` intervals that a bound (:func:`_needs_exact`) keeps
    below ``threshold`` get ``v = threshold``; the others are evaluated
    exactly. Results go to ``v[c, offset + k]`` for ``k`` up to ``count``
    rounded up to ``BLOCK``, and whether block ``b`` was evaluated exactly to
    ``busy[c, b]`` (where it was not, its intervals' ends are below
    ``threshold`` too). Returns the number of blocks evaluated exactly.
    """
    channels = x.shape[0]
    best = np.zeros(BLOCK, x.dtype)
    acc0 = np.zeros(BLOCK, x.dtype)
    acc1 = np.zeros(BLOCK, x.dtype)
    acc2 = np.zeros(BLOCK, x.dtype)
    lanes = np.zeros(BLOCK, x.dtype)
    ends = np.zeros(BLOCK, x.dtype)
    curv = np.zeros(BLOCK, x.dtype)
    loud, bent = _screen(norms, threshold, x.dtype)
    below = x.dtype.type(threshold)
    exact = 0
    for c in range(channels):
        z = x[c]
        for s in range(0, count, BLOCK):
            at = offset + s
            # (slice fills: a loop storing a float64 into float32 elements runs 3x slower here)
            quiet = not _needs_exact(z[base + s :], norms, threshold, loud, bent, lanes, ends, curv)
            busy[c, s // BLOCK] = not quiet
            if quiet:
                v[c, at : at + BLOCK] = below
                continue
            exact += 1
            _peaks_block(z, base + s, group_first, group_rows, best, acc0, acc1, acc2)
            v[c, at : at + BLOCK] = best
    return exact


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def needed_gain(
    x, base, n, norms, group_first, group_rows, ceiling, threshold, v, v_offset, r, r_offset, peak
):  # pragma: no cover - compiled
    """Gain each sample needs so that it and its interpolated neighbours stay within ``ceiling``.

    Runs :func:`interval_peaks` on the ``n + 1`` intervals from ``base`` (into
    ``v`` from ``v_offset``; ``threshold < ceiling``), then gives sample ``k`` (the second
    sample of interval ``k``: ``x[c, base + HALF_SPAN + 1 + k]``) the gain
    ``r[g, r_offset + k] = min(1, ceiling / max(|x|, v[k], v[k + 1]))``, the
    minimum over channels when ``r`` has one row (1 without a look where no
    block around ``k`` needed an exact evaluation). ``peak`` is scratch,
    ``(rows of r, >= BLOCK)`` float64. Returns the number of blocks evaluated
    exactly.
    """
    channels = x.shape[0]
    rows = r.shape[0]
    busy = np.zeros((channels, (n + BLOCK) // BLOCK + 1), np.bool_)
    exact = interval_peaks(x, base, n + 1, norms, group_first, group_rows, threshold, v, v_offset, busy)
    for s in range(0, n, BLOCK):
        count = min(BLOCK, n - s)
        b = s // BLOCK
        if not (busy[:, b].any() or busy[:, b + 1].any()):  # intervals k and k + 1 below the threshold
            r[:, r_offset + s : r_offset + s + count] = 1.0
            continue
        peak[:, :count] = 0.0
        for c in range(channels):  # the peak, the largest over channels when linked
            pc = peak[0] if rows == 1 else peak[c]
            z = x[c, base + HALF_SPAN + 1 + s :]
            vc = v[c, v_offset + s :]
            for k in range(count):
                pc[k] = max(pc[k], np.float64(max(abs(z[k]), vc[k], vc[k + 1])))
        for g in range(rows):  # dividing only where needed saves about 0.5 ns a sample
            pg = peak[g]
            rg = r[g, r_offset + s :]
            for k in range(count):
                p = pg[k]
                rg[k] = ceiling / p if p > ceiling else 1.0
    return exact


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def check_gain(
    x, x_base, n, gains, gain_new, y, norms, ceiling, threshold, group_first, group_rows, q, q_offset, v
):  # pragma: no cover - compiled
    """Apply the main gain and find where the result overshoots between samples.

    Writes ``y[c, TAPS + k] = gains[row, gain_new + k] * x[c, x_base + k]``
    for ``k < n`` (``y[:, :TAPS]`` holds the previous ``TAPS`` values), then
    bounds the interval peaks of ``y`` for the ``n + 1`` intervals whose taps
    are ``y[c, k + o]``, block by block, as :func:`interval_peaks` does
    (``norms``: ``(l1_norm, linear_norm, curvature_norm)``). Blocks whose
    bound stays below ``threshold`` are skipped; elsewhere the exact peaks
    ``V`` that exceed ``ceiling * (1 + 1e-6)`` (less is rounding, which the
    caller's margin covers) set the targets ``q[row, q_offset + k] = min(q,
    ceiling / max(V of interval k, V of interval k + 1))``. ``y`` must hold
    ``BLOCK`` samples past the newest (their values only loosen the bounds).
    ``v`` is scratch of at least ``n + 1`` rounded up to ``BLOCK``, in the
    audio's dtype. Returns the number of samples whose target fell below 1.
    """
    channels = x.shape[0]
    n_gains = gains.shape[0]
    count = n + 1
    best = np.zeros(BLOCK, y.dtype)
    acc0 = np.zeros(BLOCK, y.dtype)
    acc1 = np.zeros(BLOCK, y.dtype)
    acc2 = np.zeros(BLOCK, y.dtype)
    lanes = np.zeros(BLOCK, y.dtype)
    ends = np.zeros(BLOCK, y.dtype)
    curv = np.zeros(BLOCK, y.dtype)
    loud, bent = _screen(norms, threshold, y.dtype)
    flagged = 0
    limit = ceiling * (1.0 + 1e-6)
    for c in range(channels):
        row = 0 if n_gains == 1 else c
        xs = x[c, x_base:]
        gn = gains[row, gain_new:]
        yc = y[c, TAPS:]
        for k in range(n):
            yc[k] = gn[k] * xs[k]
        z = y[c]
        qr = q[row, q_offset:]
        was_exact = False
        for s in range(0, count, BLOCK):
            exact = _needs_exact(z[s:], norms, threshold, loud, bent, lanes, ends, curv)
            if exact:
                _peaks_block(z, s, group_first, group_rows, best, acc0, acc1, acc2)
                v[s : s + BLOCK] = best
            else:
                v[s : s + BLOCK] = 0.0
            # targets of the samples before this block's intervals: k uses intervals k and k + 1
            if exact or was_exact:
                for k in range(max(0, s - BLOCK), min(s, n)):
                    flagged += _target(qr, k, max(v[k], v[k + 1]), ceiling, limit)
            was_exact = exact
        if was_exact:  # the last block's own samples
            for k in range(max(0, count - 1) // BLOCK * BLOCK, n):
                flagged += _target(qr, k, max(v[k], v[k + 1]), ceiling, limit)
    return flagged


@numba.njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _target(qr, k, worst, ceiling, limit):  # pragma: no cover - compiled
    """Lower the correction target of sample ``k`` for an interpolated peak ``worst``; 1 if it was 1."""
    w = np.float64(worst)
    if w > limit and w * qr[k] > ceiling:
        first = qr[k] == 1.0
        qr[k] = ceiling / w
        return 1 if first else 0
    return 0


# --------------------------------------------------------------------------- gain smoothing


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def sliding_min(x, window, out, prefix, suffix):  # pragma: no cover - compiled
    """``out[i] = min(x[i : i + window])`` for ``i < len(x) - window + 1`` (van Herk / Gil-Werman).

    Each block of ``window`` samples gets a prefix and a suffix minimum (in
    the scratch arrays ``prefix`` and ``suffix``, at least ``len(x)`` long); a
    window straddles at most two blocks, so its minimum is the suffix minimum
    of the first and the prefix minimum of the second. Exact (min does not
    round) and about three comparisons per sample.
    """
    n = x.shape[0]
    n_out = n - window + 1
    if n_out <= 0:
        return
    for start in range(0, n, window):
        stop = min(n, start + window)
        m = x[start]
        for i in range(start, stop):
            m = min(m, x[i])
            prefix[i] = m
        m = x[stop - 1]
        for i in range(stop - 1, start - 1, -1):
            m = min(m, x[i])
            suffix[i] = m
    for i in range(n_out):
        out[i] = min(suffix[i], prefix[i + window - 1])


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def hold_min(r, span, n, out):  # pragma: no cover - compiled
    """``out[k] = min(r[k : k + span + 1])`` for ``k < n``, for gains ``r <= 1``.

    Block by block: where no gain the window reaches is below 1 (the
    common case: a limiter rarely has work to do) the block is 1; elsewhere
    the minimum is taken over the ``span + 1`` shifted copies of the block,
    vectorised. Exact.
    """
    for s in range(0, n, BLOCK):
        count = min(BLOCK, n - s)
        rs = r[s:]
        os = out[s:]
        low = 0
        for i in range(count + span):
            low += rs[i] < 1.0
        if low == 0:
            os[:count] = 1.0
            continue
        for i in range(count):
            os[i] = rs[i]
        for o in range(1, span + 1):
            for i in range(count):
                os[i] = min(os[i], rs[i + o])


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def lookahead_min(f, window, n, out, prefix, suffix):  # pragma: no cover - compiled
    """``out[k] = min(f[k : k + window])`` for ``k < n``, fast where ``f`` rises.

    A released gain rises except where a peak pulls it down (a *dip*,
    ``f[k] < f[k - 1]``, counted per block): a block of outputs with no dip
    in its windows is a copy of ``f``. Blocks with a dip get a van Herk minimum split at the
    block's end (a suffix minimum over the block, a prefix minimum over the
    rest of the window), or, when the window is shorter than a block, the
    minimum of its shifted copies. When too many blocks have dips for that to
    pay, :func:`sliding_min` runs over everything. ``prefix`` and ``suffix``
    are float64 scratch of at least ``n + window``. Exact.
    """
    total = n + window - 1
    if n <= 0 or window == 1:
        out[:n] = f[:n]
        return
    dips = prefix  # dips[b]: the dips among samples BLOCK * b + 1 .. BLOCK * (b + 1), counted vectorised
    n_blocks = (total - 2) // BLOCK + 1
    for b in range(n_blocks):
        fb = f[BLOCK * b :]
        found = 0
        if BLOCK * (b + 1) < total:
            for i in range(BLOCK):
                found += fb[i + 1] < fb[i]
        else:
            for i in range(total - 1 - BLOCK * b):
                found += fb[i + 1] < fb[i]
        dips[b] = found
    dipped = 0
    for s in range(0, n, BLOCK):  # dips among the samples s + 1 .. last (or a little beyond: a superset)
        last = min(s + BLOCK, n) + window - 2  # the last sample any window of this block reads
        dipped += dips[s // BLOCK : (last - 1) // BLOCK + 1].sum() > 0
    if dipped * (window + 2 * BLOCK) > 3 * (n + window):
        sliding_min(f[:total], window, out, prefix, suffix)
        return
    for s in range(0, n, BLOCK):
        count = min(BLOCK, n - s)
        last = s + count + window - 2
        if dips[s // BLOCK : (last - 1) // BLOCK + 1].sum() == 0:
            out[s : s + count] = f[s : s + count]
        elif window <= BLOCK:
            for i in range(count):
                out[s + i] = f[s + i]
            for o in range(1, window):
                for i in range(count):
                    out[s + i] = min(out[s + i], f[s + i + o])
        else:  # every window contains the block's last sample: suffix over the block, prefix beyond it
            m = f[s + count - 1]
            for i in range(count - 1, -1, -1):
                m = min(m, f[s + i])
                suffix[i] = m
            m = suffix[count - 1]
            for j in range(s + count, last + 1):
                m = min(m, f[j])
                suffix[BLOCK + j - s - count] = m
            for i in range(count):
                end = i + window - 1  # relative to s: the window's last sample
                out[s + i] = suffix[i] if end < count else min(suffix[i], suffix[BLOCK + end - count])


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def attack_release(
    r, n, span, release, held, floor, lookahead, box1, b1, box2, b2, sums, out, out_offset, scratch
):  # pragma: no cover - compiled
    """The main gain of a lookahead limiter, never above ``r`` within ``span / 2`` samples.

    The arrays ``r``, ``floor``, ``box1`` and ``box2`` are *lines*: their
    first ``span``, ``lookahead``, ``b1``, ``b2`` columns hold the end of the
    previous block, the next ``n`` columns this block's values, and the
    kernel moves the end of this block to the front when it is done. Per row
    ``g`` and per new sample (float64 throughout):

    1. hold: ``H[j] = min(r[j - span/2 .. j + span/2])``;
    2. release: ``F[j] = min(H[j], 1 - release * (1 - F[j - 1]))``, a one-pole
       return towards 1 (``held[g]`` is ``F`` of the previous sample), kept in
       ``floor``;
    3. lookahead: ``M[i] = min(F[i .. i + lookahead])``, kept in ``box1``;
    4. attack: two moving sums of lengths ``b1`` and ``b2`` (the first ones
       kept in ``box2``, both running sums in ``sums[g]``) with ``b1 + b2 - 1 =
       lookahead + 1``: every ``M`` averaged into the output at ``i`` covers
       ``i``, so the output never exceeds ``F[i]`` (it is clamped to ``F[i]``
       against rounding).

    ``out[g, out_offset + k]`` is the gain of the sample ``span / 2 +
    lookahead`` before sample ``k`` of this block of ``r``. ``scratch`` is
    float64 ``(3, >= lookahead + n + 1)``.
    """
    rows = r.shape[0]
    scale = 1.0 / (b1 * b2)
    hold = scratch[0]
    prefix = scratch[1]
    suffix = scratch[2]
    rise = 1.0 - release
    for g in range(rows):
        hold_min(r[g], span, n, hold)
        fl = floor[g]
        f = held[g]
        for k in range(n):
            f = min(hold[k], rise + release * f)
            fl[lookahead + k] = f
        held[g] = f
        m1 = box1[g]
        lookahead_min(fl, lookahead + 1, n, m1[b1:], prefix, suffix)
        m2 = box2[g]
        s1 = sums[g, 0]
        s2 = sums[g, 1]
        o = out[g, out_offset:]
        for k in range(n):
            s1 += m1[b1 + k] - m1[k]
            m2[b2 + k] = s1
            s2 += s1 - m2[k]
            o[k] = min(s2 * scale, fl[k])
        sums[g, 0] = s1
        sums[g, 1] = s2
        # move the end of this block to the front of each line (overlap-safe: front to back)
        for i in range(span):
            r[g, i] = r[g, n + i]
        for i in range(lookahead):
            fl[i] = fl[n + i]
        for i in range(b1):
            m1[i] = m1[n + i]
        for i in range(b2):
            m2[i] = m2[n + i]


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def lipschitz_floor(q, total, n, step, previous, out):  # pragma: no cover - compiled
    """The largest curve below ``q`` that moves by at most ``step`` per sample.

    ``q[:, :total]`` holds the targets of the ``n`` output samples followed by
    what is known of the future (``W = total - n`` samples). ``out[g, k] =
    min over i of q[g, i] + step * |i - k|``, the past entering through
    ``previous[g]`` (the last output of the previous block, updated). The
    future beyond ``total`` is taken as 1, which changes nothing as long as no
    target lies more than ``step * W`` below 1.
    """
    rows = q.shape[0]
    back = np.empty(n)
    for g in range(rows):
        b = 1.0
        for i in range(total - 1, -1, -1):
            b = min(q[g, i], b + step)
            if i < n:
                back[i] = b
        f = previous[g]
        for k in range(n):
            f = min(q[g, k], f + step)
            out[g, k] = min(f, back[k])
        previous[g] = min(f, 1.0)


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def final_gain(q, total, n, step, previous, cone, gains, gain_base, out):  # pragma: no cover - compiled
    """``out[g, k] = gains[g, gain_base + k] * corr[g, k]``, ``corr`` the :func:`lipschitz_floor` of ``q``.

    When ``cone`` is false (every target 1 and ``previous`` 1) the floor is 1
    and is not computed.
    """
    rows = out.shape[0]
    if cone:
        lipschitz_floor(q, total, n, step, previous, out)
        for g in range(rows):
            for k in range(n):
                out[g, k] *= gains[g, gain_base + k]
    else:
        for g in range(rows):
            for k in range(n):
                out[g, k] = gains[g, gain_base + k]


# --------------------------------------------------------------------------- the whole limiter


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _shift(line, n, length):  # pragma: no cover - compiled
    """Move ``line[:, n : n + length]`` to the front (front to back: safe although they overlap)."""
    for row in range(line.shape[0]):
        for i in range(length):
            line[row, i] = line[row, n + i]


def limit(
    x, out, want_output, sizes, levels, norms, group_first, group_rows, lines, gains, scratch, ideal=None
) -> None:
    """Run a lookahead true-peak limiter over ``x``, chunk by chunk, into ``out``.

    The stages of :mod:`sonicmix.nodes.limiter`, chunk by chunk: :func:`needed_gain`, :func:`attack_release`,
    :func:`check_gain` and :func:`final_gain`, then the output ``out[c, k] =
    x_delayed[c, k] * gain`` (``want_output``) or the gain itself, both in
    the audio's dtype. ``sizes`` is ``(latency, attack, correction, b1,
    b2, extra)``, ``levels`` ``(ceiling, release, step)``; ``lines`` holds the
    audio-dtype lines ``(x, y1, v, check)``, ``gains`` the float64 lines
    ``(r, floor, box1, box2, g1, q, gain, peak)`` and ``scratch`` ``(held,
    sums, previous, scratch)``, as :class:`sonicmix.nodes.limiter.LimiterState`
    lays them out; chunks are as long as the lines' capacity. (A compiled
    loop over the chunks, in chunks of 4096, ran about as fast but took 9 s
    more to compile: LLVM optimises every stage again inside it.)

    ``ideal`` (``true_peak="ideal"``), ``(past, rows, taus, sines, weights,
    screen, unseen)`` of :func:`sonicmix.dsp.longreach.long_peaks`: the stages run
    ``extra`` samples behind the newest, and the gain each sample needs also
    keeps the sinc sums over ``past`` samples back and ``12 + extra`` ahead
    within the ceiling (scaled by :func:`grid_factor`).
    """
    latency, attack, correction, b1, b2, extra = sizes
    ceiling, release, step = levels
    xl, y1, v, check = lines
    r, floor, box1, box2, g1, q, gain, peak = gains
    held, sums, previous, work = scratch
    capacity = gain.shape[1]
    hist = latency + TAPS
    kept = g1.shape[1] - capacity
    threshold = ceiling * (1.0 - 1e-5)  # bounds below it prove a value below the ceiling despite rounding
    span = 2 * HALF_SPAN
    for start in range(0, x.shape[1], capacity):
        n = min(capacity, x.shape[1] - start)
        xl[:, hist : hist + n] = x[:, start : start + n]
        xl[:, hist + n : hist + n + BLOCK] = 0.0
        # the gain each sample needs, 12 samples before this chunk's newest
        first = hist - TAPS - extra
        needed_gain(xl, first, n, norms, group_first, group_rows, ceiling, threshold, v, 0, r, span, peak)
        if ideal is not None:
            _long_gain(xl, first + HALF_SPAN, n, ideal, ceiling, v, r, span)
        # the main gain, 23 + attack samples before the newest
        attack_release(r, n, span, release, held, floor, attack - 1, box1, b1, box2, b2, sums, g1, kept, work)
        # y1 = main gain * x; correction targets where its interpolated peaks pass the ceiling
        q[:, correction : correction + n] = 1.0
        base = hist - 23 - attack - extra
        flagged = check_gain(
            xl,
            base,
            n,
            g1,
            kept,
            y1,
            norms,
            ceiling,
            threshold,
            group_first,
            group_rows,
            q,
            correction,
            check,
        )
        cone = flagged > 0 or previous.min() < 1.0 or (correction > 0 and q[:, :correction].min() < 1.0)
        final_gain(q, correction + n, n, step, previous, cone, g1, kept - correction - HALF_SPAN, gain)
        # out goes whole, with the chunk's first column: a column slice is a strided array for numba,
        # or a contiguous one when the signal fits in one chunk (a short file, a low rate), and each
        # array type compiles _finish again
        _finish(xl, y1, g1, q, gain, n, hist, want_output, out, start)


def _long_gain(xl, first, n, ideal, ceiling, v, r, span) -> None:
    """Lower ``r[:, span + k]`` so that the sinc sums of the two intervals around sample
    ``first + 1 + k`` of the line, over the 16x grid and scaled by the grid factor, stay within
    ``ceiling``; ``v`` is scratch."""
    from sonicmix.dsp.longreach import long_peaks

    past, rows, taus, sines, weights, screen, unseen = ideal
    long_peaks(xl, first, n + 1, past, rows, taus, sines, weights, screen, unseen, v)
    _apply_long(v, n, ceiling * grid_factor(rows.shape[0] + 1), r, span)


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _apply_long(v, n, limit, r, span):  # pragma: no cover - compiled
    """``r[g, span + k] = min(r, limit / max(v[c, k], v[c, k + 1]))`` where that is below 1; the
    largest over channels when ``r`` has one row."""
    rows = r.shape[0]
    for c in range(v.shape[0]):
        g = 0 if rows == 1 else c
        for k in range(n):
            p = np.float64(max(v[c, k], v[c, k + 1]))
            if p > limit:
                r[g, span + k] = min(r[g, span + k], limit / p)


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _finish(xl, y1, g1, q, gain, n, hist, want_output, out, start):  # pragma: no cover - compiled
    """Write the chunk's output (or gain) into ``out[:, start : start + n]``; move each line's history
    to its front."""
    _emit(xl, gain, n, want_output, out, start)
    _shift(xl, n, hist)
    _shift(y1, n, TAPS)
    _shift(g1, n, g1.shape[1] - gain.shape[1])
    _shift(q, n, q.shape[1] - gain.shape[1])


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _emit(xl, gain, n, want_output, out, start):  # pragma: no cover - compiled
    """The output (the delayed input times the gain, rounded to the audio's dtype first), or the gain,
    into ``out[:, start : start + n]``."""
    rows = gain.shape[0]
    if want_output:
        for c in range(out.shape[0]):
            gr = gain[0] if rows == 1 else gain[c]
            xs = xl[c, TAPS:]
            oc = out[c, start : start + n]
            for k in range(n):
                oc[k] = xs[k] * out.dtype.type(gr[k])
    else:
        for g in range(rows):
            og = out[g, start : start + n]
            for k in range(n):
                og[k] = gain[g, k]

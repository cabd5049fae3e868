"""Building blocks of a lookahead true-peak limiter, as plain functions over arrays.

* :func:`true_peak_rows`: the interpolation filters of the true-peak meters a
  limiter must satisfy (ours, :mod:`sonicmix.loudness.truepeak`, and
  libebur128's), arranged as one FIR row per inter-sample point.
* :func:`interval_peaks` and :func:`needed_gain`: the largest interpolated
  magnitude between each pair of samples (exact where it can matter, an upper
  bound elsewhere) and the gain each sample needs.
* :func:`sliding_min`: running minimum over a window (van Herk / Gil-Werman,
  about three comparisons per sample whatever the window).
* :func:`attack_release`: the limiter's main gain: hold, one-pole release,
  lookahead minimum and a triangular attack ramp.
* :func:`check_gain`: applies a gain and finds, exactly, where the result
  still overshoots between samples.
* :func:`lipschitz_floor` and :func:`final_gain`: the largest gain curve below
  a target whose slope never exceeds a given step per sample.

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
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

from sonicmix.loudness.truepeak import interpolation_filter, oversampling_factor

__all__ = [
    "HALF_SPAN",
    "TAPS",
    "BLOCK",
    "TruePeakRows",
    "true_peak_rows",
    "libebur128_filter",
    "interval_peaks",
    "needed_gain",
    "check_gain",
    "sliding_min",
    "attack_release",
    "lipschitz_floor",
    "final_gain",
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
    ``m + fractions[r]`` (``0 < fractions[r] < 1``). ``group_rows`` holds the
    same rows trimmed to their non-zero taps, up to three rows with the same
    span per group (the kernel's register block); ``group_first`` is each
    group's first tap.
    """

    rows: NDArray[np.float64]
    fractions: NDArray[np.float64]
    l1_norm: float  # max over rows of sum |row|: every value is within l1_norm * max |x|
    first_moment: float  # max over rows of sum |row[o]| * |o - HALF_SPAN - fraction|
    group_first: tuple[int, ...]
    group_rows: tuple[NDArray[np.float64], ...]


@functools.lru_cache(maxsize=16)
def true_peak_rows(sample_rate: int) -> TruePeakRows:
    """Rows of our meter's interpolator and of libebur128's, at ``sample_rate``.

    A limiter that keeps every value of these rows (and every sample) below
    its ceiling reads at most the ceiling on both meters.

    Examples
    --------
    >>> rows = true_peak_rows(48000)
    >>> rows.rows.shape, [float(f) for f in rows.fractions]
    ((6, 25), [0.25, 0.5, 0.75, 0.25, 0.5, 0.75])
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
    table = np.array(rows)
    frac = np.array(fractions)
    offsets = np.arange(TAPS) - HALF_SPAN
    moment = max(float(np.sum(np.abs(r) * np.abs(offsets - t))) for r, t in zip(table, frac, strict=True))
    spans: dict[tuple[int, int], list[np.ndarray]] = {}
    for r in table:
        nz = np.flatnonzero(r)
        spans.setdefault((int(nz[0]), int(nz[-1]) + 1), []).append(r)
    group_first, group_rows = [], []
    for (lo, hi), members in spans.items():
        for i in range(0, len(members), 3):
            group_first.append(lo)
            group_rows.append(np.ascontiguousarray(np.array(members[i : i + 3])[:, lo:hi]))
    return TruePeakRows(
        rows=table,
        fractions=frac,
        l1_norm=float(np.abs(table).sum(axis=1).max()),
        first_moment=moment,
        group_first=tuple(group_first),
        group_rows=tuple(group_rows),
    )


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
    for g in range(len(group_rows)):
        _rows_block(z, start + group_first[g], group_rows[g], best, acc0, acc1, acc2)


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
def _tree_min(lanes):  # pragma: no cover - compiled
    """min(lanes[:BLOCK]), destroying lanes."""
    width = BLOCK // 2
    while width >= 1:
        for i in range(width):
            lanes[i] = min(lanes[i], lanes[i + width])
        width //= 2
    return lanes[0]


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def interval_peaks(
    x, base, count, l1_norm, group_first, group_rows, threshold, v, bound, offset
):  # pragma: no cover - compiled
    """Largest interpolated magnitude in each interval ``(m, m + 1)``, exact where it can reach ``threshold``.

    Interval ``k < count`` reads ``x[c, base + k + o]`` for ``o < TAPS`` (its
    first sample ``m`` is ``o = HALF_SPAN``); ``x`` must hold ``BLOCK``
    readable samples past the last interval's taps. For each block of
    ``BLOCK`` intervals, ``bound = l1_norm * max |x|`` over the block's taps
    comes first (an upper bound of every row whose absolute coefficients sum
    to at most ``l1_norm``); where it reaches ``threshold`` the rows are
    evaluated exactly into ``v``, elsewhere ``v = bound``. Results go to
    ``v[c, offset + k]`` and ``bound[c, offset + k]`` for ``k`` up to
    ``count`` rounded up to ``BLOCK``. Returns the number of blocks evaluated
    exactly.
    """
    channels = x.shape[0]
    best = np.zeros(BLOCK, x.dtype)
    acc0 = np.zeros(BLOCK, x.dtype)
    acc1 = np.zeros(BLOCK, x.dtype)
    acc2 = np.zeros(BLOCK, x.dtype)
    lanes = np.zeros(BLOCK, x.dtype)
    exact = 0
    for c in range(channels):
        z = x[c]
        for s in range(0, count, BLOCK):
            zs = z[base + s :]
            for i in range(BLOCK):
                lanes[i] = abs(zs[i])
            for i in range(TAPS - 1):
                lanes[i] = max(lanes[i], abs(zs[BLOCK + i]))
            top = np.float64(_tree_max(lanes)) * l1_norm
            at = offset + s
            # (slice fills: a loop storing a float64 into float32 elements runs 3x slower here)
            bound[c, at : at + BLOCK] = x.dtype.type(top)
            if top < threshold:
                v[c, at : at + BLOCK] = x.dtype.type(top)
                continue
            exact += 1
            _peaks_block(z, base + s, group_first, group_rows, best, acc0, acc1, acc2)
            v[c, at : at + BLOCK] = best
    return exact


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def needed_gain(
    x, base, n, l1_norm, group_first, group_rows, ceiling, threshold, v, bound, v_offset, r, r_offset, peak
):  # pragma: no cover - compiled
    """Gain each sample needs so that it and its interpolated neighbours stay within ``ceiling``.

    Runs :func:`interval_peaks` on the ``n + 1`` intervals from ``base`` (into
    ``v`` and ``bound`` from ``v_offset``), then gives sample ``k`` (the second
    sample of interval ``k``: ``x[c, base + HALF_SPAN + 1 + k]``) the gain
    ``r[g, r_offset + k] = min(1, ceiling / max(|x|, v[k], v[k + 1]))``, the
    minimum over channels when ``r`` has one row. ``peak`` is scratch,
    ``(rows of r, >= n)`` float64. Returns the number of blocks evaluated
    exactly.
    """
    channels = x.shape[0]
    exact = interval_peaks(x, base, n + 1, l1_norm, group_first, group_rows, threshold, v, bound, v_offset)
    rows = r.shape[0]
    for g in range(rows):
        peak[g, :n] = 0.0
    for c in range(channels):  # the peak, the largest over channels when linked
        pc = peak[0] if rows == 1 else peak[c]
        z = x[c, base + HALF_SPAN + 1 :]
        vc = v[c, v_offset:]
        for k in range(n):
            pc[k] = max(pc[k], np.float64(max(abs(z[k]), vc[k], vc[k + 1])))
    for g in range(rows):  # dividing only where needed saves about 0.5 ns a sample
        pg = peak[g]
        rg = r[g, r_offset:]
        for k in range(n):
            p = pg[k]
            rg[k] = ceiling / p if p > ceiling else 1.0
    return exact


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def check_gain(
    x, x_base, n, gains, gain_new, y, vx, bound, ceiling, threshold, group_first, group_rows, q, q_offset, v
):  # pragma: no cover - compiled
    """Apply the main gain and find where the result overshoots between samples.

    Writes ``y[c, TAPS + k] = gains[row, gain_new + k] * x[c, x_base + k]``
    for ``k < n`` (``y[:, :TAPS]`` holds the previous ``TAPS`` values), then
    bounds the interval peaks of ``y`` for the ``n + 1`` intervals whose taps
    are ``y[c, k + o]``; the gain over interval ``k``'s span is ``gains[row,
    gain_new - TAPS + k + o]`` and ``vx[c, k]``, ``bound[c, k]`` are the input's
    interval peak (or an upper bound) and an upper bound of ``sum |row| |x|``.
    With ``g`` the gain at the interval's first sample, the peak of ``y`` is
    at most ``g * vx + (max gain - min gain over the span) * bound``. Blocks
    whose bound stays below ``threshold`` are skipped; elsewhere the exact
    peaks ``V`` that exceed ``ceiling * (1 + 1e-6)`` (less is rounding, which
    the caller's margin covers) set the targets ``q[row, q_offset + k] =
    min(q, ceiling / max(V of interval k, V of interval k + 1))``. ``v`` is
    scratch of at least ``n + 1`` rounded up to ``BLOCK``, in the audio's
    dtype. Returns the number of samples whose target fell below 1.
    """
    channels = x.shape[0]
    n_gains = gains.shape[0]
    count = n + 1
    n_blocks = (count + BLOCK - 1) // BLOCK
    gain_base = gain_new - TAPS
    best = np.zeros(BLOCK, y.dtype)
    acc0 = np.zeros(BLOCK, y.dtype)
    acc1 = np.zeros(BLOCK, y.dtype)
    acc2 = np.zeros(BLOCK, y.dtype)
    lo = np.empty(BLOCK)
    hi = np.empty(BLOCK)
    spread = np.empty((n_gains, n_blocks))  # max - min of the gain over each block's spans
    for g in range(n_gains):
        gr = gains[g, gain_base:]
        for b in range(n_blocks):
            s = b * BLOCK
            if s + BLOCK <= count:
                for i in range(BLOCK):
                    lo[i] = gr[s + i]
                    hi[i] = gr[s + i]
                for i in range(TAPS - 1):
                    lo[i] = min(lo[i], gr[s + BLOCK + i])
                    hi[i] = max(hi[i], gr[s + BLOCK + i])
                spread[g, b] = _tree_max(hi) - _tree_min(lo)
            else:
                low = gr[s]
                high = gr[s]
                for j in range(s, count + TAPS - 1):
                    low = min(low, gr[j])
                    high = max(high, gr[j])
                spread[g, b] = high - low
    flagged = 0
    limit = ceiling * (1.0 + 1e-6)
    for c in range(channels):
        row = 0 if n_gains == 1 else c
        xs = x[c, x_base:]
        gn = gains[row, gain_new:]
        yc = y[c, TAPS:]
        for k in range(n):
            yc[k] = gn[k] * xs[k]
        gr = gains[row, gain_base + HALF_SPAN :]
        vc = vx[c]
        bc = bound[c]
        z = y[c]
        any_exact = False
        for b in range(n_blocks):
            s = b * BLOCK
            if s + BLOCK <= count:
                for i in range(BLOCK):
                    lo[i] = gr[s + i] * vc[s + i]
                    hi[i] = bc[s + i]
                main = _tree_max(lo)
                widest = np.float64(_tree_max(hi))
            else:
                main = 0.0
                widest = 0.0
                for k in range(s, count):
                    main = max(main, gr[k] * vc[k])
                    widest = max(widest, np.float64(bc[k]))
            if main + spread[row, b] * widest < threshold:
                v[s : s + BLOCK] = 0.0
                continue
            any_exact = True
            _peaks_block(z, s, group_first, group_rows, best, acc0, acc1, acc2)
            v[s : s + BLOCK] = best
        if not any_exact:
            continue
        qr = q[row, q_offset:]
        for k in range(n):
            worst = np.float64(max(v[k], v[k + 1]))
            if worst > limit and worst * qr[k] > ceiling:
                if qr[k] == 1.0:
                    flagged += 1
                qr[k] = ceiling / worst
    return flagged


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
        sliding_min(r[g, : span + n], span + 1, hold, prefix, suffix)
        fl = floor[g]
        f = held[g]
        for k in range(n):
            f = min(hold[k], rise + release * f)
            fl[lookahead + k] = f
        held[g] = f
        m1 = box1[g]
        sliding_min(fl[: lookahead + n], lookahead + 1, m1[b1:], prefix, suffix)
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

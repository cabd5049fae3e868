"""Compiled inner loop of the meter: K-weighting fused with the power sum.

An IIR filter is a recursion: one sample waits on the one before. Fusing the
two biquads, the squaring and the channel sum into one pass avoids three
full-length temporaries, and two channels are filtered side by side so the CPU
can overlap their independent recursions (measured here: 1.9 ns per
channel-sample, against 6.1 for scipy's sosfilt alone). Where only 100 ms bin
sums are needed (integrated loudness), a long channel is also cut into
stretches filtered from rest in vector lanes, and each stretch's first bins
are filtered again from the state the one before it ended in: 0.94 ns per
channel-sample against 2.9 (AVX2). The filter runs in float64 whatever the
audio dtype.

This module imports numba, so it is imported only when a meter is built.
"""

from __future__ import annotations

import numpy as np

from sonicmix._compile import numba  # registers the first-run compile notice
from sonicmix.dsp._cascade import tdf2


@numba.njit(cache=True, nogil=True)
def kweighted_cumulative_power(x, channels, weights, sos, state, c, i0, windows, first_complete, max_sums):
    """Extend the cumulative K-weighted power ``c`` by the block ``x`` and track window maxima.

    ``c[i0 + i] = c[i0 + i - 1] + p[i]`` with
    ``p[i] = sum_k weights[k] * kweight(x[channels[k], i])**2``, so ``c[i0 - 1]``
    must hold the running total so far. ``state[k]`` holds the four delay
    elements (two per biquad, transposed direct form II) of ``channels[k]``
    and is updated in place. For each window length ``windows[w]``, the sum
    ``c[j] - c[j - windows[w]]`` of every window ending at an index
    ``j >= first_complete[w]`` is compared with ``max_sums[w]``, which keeps
    the largest.
    """
    out = c[i0 - 1 : i0 + x.shape[1]]
    accumulate = False
    n = x.shape[1]
    b0, b1, b2 = sos[0, 0], sos[0, 1], sos[0, 2]
    a1, a2 = sos[0, 4], sos[0, 5]
    c0, c1, c2 = sos[1, 0], sos[1, 1], sos[1, 2]
    d1, d2 = sos[1, 4], sos[1, 5]
    n_ch = channels.shape[0]
    # With one pass over the channels (mono, stereo) the running total is extended in the
    # filter loop itself; the additions happen in the same order either way.
    single = n_ch <= 2
    total = out[0]
    k = 0
    while k < n_ch:
        if k + 1 < n_ch:
            p, q = channels[k], channels[k + 1]
            wp, wq = weights[k], weights[k + 1]
            ps1, ps2, ph1, ph2 = state[k, 0], state[k, 1], state[k, 2], state[k, 3]
            qs1, qs2, qh1, qh2 = state[k + 1, 0], state[k + 1, 1], state[k + 1, 2], state[k + 1, 3]
            for i in range(n):
                u = np.float64(x[p, i])
                v = np.float64(x[q, i])
                su, ps1, ps2 = tdf2(u, b0, b1, b2, a1, a2, ps1, ps2)
                sv, qs1, qs2 = tdf2(v, b0, b1, b2, a1, a2, qs1, qs2)
                hu, ph1, ph2 = tdf2(su, c0, c1, c2, d1, d2, ph1, ph2)
                hv, qh1, qh2 = tdf2(sv, c0, c1, c2, d1, d2, qh1, qh2)
                e = wp * hu * hu + wq * hv * hv
                if single:
                    total += e
                    out[i + 1] = total
                elif accumulate:
                    out[i + 1] += e
                else:
                    out[i + 1] = e
            state[k, 0], state[k, 1], state[k, 2], state[k, 3] = ps1, ps2, ph1, ph2
            state[k + 1, 0], state[k + 1, 1], state[k + 1, 2], state[k + 1, 3] = qs1, qs2, qh1, qh2
            k += 2
        else:
            p = channels[k]
            wp = weights[k]
            ps1, ps2, ph1, ph2 = state[k, 0], state[k, 1], state[k, 2], state[k, 3]
            for i in range(n):
                u = np.float64(x[p, i])
                su, ps1, ps2 = tdf2(u, b0, b1, b2, a1, a2, ps1, ps2)
                hu, ph1, ph2 = tdf2(su, c0, c1, c2, d1, d2, ph1, ph2)
                e = wp * hu * hu
                if single:
                    total += e
                    out[i + 1] = total
                elif accumulate:
                    out[i + 1] += e
                else:
                    out[i + 1] = e
            state[k, 0], state[k, 1], state[k, 2], state[k, 3] = ps1, ps2, ph1, ph2
            k += 1
        accumulate = True
    if not accumulate:  # no weighted channel at all: the total stays where it was
        out[1:] = total
    elif not single:
        for i in range(n):
            total += out[i + 1]
            out[i + 1] = total
    for w in range(windows.shape[0]):
        start = max(i0, first_complete[w])
        if start < i0 + n:
            max_sums[w] = max(max_sums[w], _max_difference(c, start, i0 + n, windows[w]))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _max_difference(c, start, stop, lag):  # pragma: no cover - compiled
    """``max(c[j] - c[j - lag])`` for ``start <= j < stop``.

    A maximum of exact differences is the same in any order, so four running
    maxima take turns: the loop is bound by the latency of ``max``, and four
    independent chains run it at 0.31 ns per sample here instead of 0.67
    (numba does not vectorize it). Slices first: indexing from 0 spares the
    negative-index checks.
    """
    ends = c[start:stop]
    begins = c[start - lag : stop - lag]
    n = ends.shape[0]
    m0 = m1 = m2 = m3 = ends[0] - begins[0]
    j = 1
    while j + 4 <= n:
        m0 = max(m0, ends[j] - begins[j])
        m1 = max(m1, ends[j + 1] - begins[j + 1])
        m2 = max(m2, ends[j + 2] - begins[j + 2])
        m3 = max(m3, ends[j + 3] - begins[j + 3])
        j += 4
    while j < n:
        m0 = max(m0, ends[j] - begins[j])
        j += 1
    return max(max(m0, m1), max(m2, m3))


@numba.njit(cache=True, nogil=True, fastmath=True)
def block_abs_max(x, block, out):  # pragma: no cover - compiled
    """``out[c, b] = max |x[c, b*block : (b+1)*block]|`` (the last block may be short).

    Four running maxima, as in :func:`_max_difference` (0.50 -> 0.25 ns per sample).
    """
    channels, n = x.shape
    blocks = out.shape[1]
    for ch in range(channels):
        row = x[ch]
        for b in range(blocks):
            lo = b * block
            seg = row[lo : min(n, lo + block)]
            m0 = m1 = m2 = m3 = abs(seg[0])
            j = 0
            while j + 4 <= seg.shape[0]:
                m0 = max(m0, abs(seg[j]))
                m1 = max(m1, abs(seg[j + 1]))
                m2 = max(m2, abs(seg[j + 2]))
                m3 = max(m3, abs(seg[j + 3]))
                j += 4
            while j < seg.shape[0]:
                m0 = max(m0, abs(seg[j]))
                j += 1
            out[ch, b] = max(max(m0, m1), max(m2, m3))


#: Lanes the integrated path filters side by side: 16 float64 recursions, four AVX2 vectors
#: (8 and 32 lanes measured slower here), each on its own stretch of a channel.
_LANES = 16
#: Samples per lane moved into the lanes' interleaved buffer at a time (32: 0.95-1.0 ns per
#: channel-sample, 256: 1.2-1.4, on 600 s of stereo, AVX2 only).
_LANE_CHUNK = 32
#: A filter started from rest agrees with the true one, once its start has decayed below this
#: share of the state it left out.
_SETTLED = 1e-20


def kweighted_bin_sums(
    x: np.ndarray,
    channels: np.ndarray,
    weights: np.ndarray,
    sos: np.ndarray,
    bin_length: int,
    out: np.ndarray,
) -> None:
    """Add to ``out[b]`` the weighted K-weighted power summed over samples ``[b*L, (b+1)*L)``.

    ``L = bin_length``; the samples after the last whole bin go to ``out[-1]``
    (so a non-finite sample anywhere shows in ``out``). The filters start
    from rest. This is integrated loudness's whole need: 400 ms gating
    blocks are four consecutive 100 ms bins.

    The recursion is split, not approximated: each channel's bins are cut into
    stretches filtered side by side from rest in ``_LANES`` lanes; then the first
    bins of every stretch but the first are filtered again from the state the
    stretch before it ended in, until a start from rest has decayed below
    ``_SETTLED`` of it (2.2-2.5 bins at any rate). The sums equal the one-pass
    recursion's to float64 rounding, which weighs most in bins far under the ones
    before them: measured at worst (levels jumping by up to 60 dB every bin)
    3e-11 of a bin's power at 48 kHz, 1e-10 at 96 kHz, 2e-10 at 192 kHz (1.5e-9
    with jumps of 80 dB), integrated loudness within 1e-9 LU. A channel needs 12
    bins per stretch: the lanes start at 19.2 s of mono, 9.6 s of stereo, 3.6 s
    of 5.1; with 9 or more weighted channels (7.1.4 and up) each has a lane of
    its own from the first sample and the one-pass kernel runs instead.
    """
    whole = x.shape[1] // bin_length
    settle = _settling_bins(sos, bin_length)
    per = max(1, _LANES // max(1, channels.size))  # stretches per channel
    stretch_bins = whole // per
    if per < 2 or stretch_bins < 4 * settle:  # too short to gain from lanes
        _pair_bin_sums(x, channels, weights, sos, bin_length, out)
        return
    rows = np.repeat(channels, per)
    starts = np.tile(np.arange(per, dtype=np.int64) * (stretch_bins * bin_length), channels.size)
    sums = np.zeros((rows.size, stretch_bins))
    finals = np.zeros((rows.size, 4))
    _lane_bin_sums(x, rows, starts, stretch_bins, sos, bin_length, sums, finals)
    done_bins = per * stretch_bins
    for i, weight in enumerate(weights):
        row = x[rows[i * per]]
        for j in range(i * per + 1, (i + 1) * per):  # each stretch's head again, from the true state
            head = sums[j, :settle]
            head[:] = 0.0
            _bin_sums_from(row, starts[j], settle * bin_length, sos, bin_length, finals[j - 1].copy(), head)
        tail = np.zeros(whole - done_bins + 1)  # the bins after the stretches, and the partial one
        start, rest_samples = done_bins * bin_length, row.shape[0] - done_bins * bin_length
        _bin_sums_from(row, start, rest_samples, sos, bin_length, finals[(i + 1) * per - 1].copy(), tail)
        out[:done_bins] += weight * sums[i * per : (i + 1) * per].reshape(-1)
        out[done_bins:] += weight * tail


def _settling_bins(sos: np.ndarray, bin_length: int) -> int:
    """Bins after which a K-weighting started from rest is within ``_SETTLED`` of the true one."""
    radius = max(float(np.abs(np.roots([1.0, s[4], s[5]])).max()) for s in sos)
    samples = 1
    while (samples + 1) * radius**samples > _SETTLED:  # a double pole decays as k * r**k
        samples = int(samples * 1.05) + 1
    return -(-samples // bin_length)


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _lane_bin_sums(x, rows, starts, bins, sos, bin_length, out, finals):  # pragma: no cover - compiled
    """Lane ``j`` filters ``x[rows[j]]`` from ``starts[j]`` for ``bins`` bins, from rest: the bins'
    K-weighted power sums into ``out[j]`` and the four delay elements at the end into ``finals[j]``.

    The lanes are interleaved through a small buffer so that the loop over them, innermost,
    runs as vectors (fused multiply-adds allowed: rounding differs from the one-pass kernel's
    in the last bits).
    """
    b0, b1, b2 = sos[0, 0], sos[0, 1], sos[0, 2]
    a1, a2 = sos[0, 4], sos[0, 5]
    c0, c1, c2 = sos[1, 0], sos[1, 1], sos[1, 2]
    d1, d2 = sos[1, 4], sos[1, 5]
    lanes = rows.shape[0]
    st = np.zeros((5, lanes))  # the two biquads' delay elements, and the bin's running sum
    buf = np.empty((_LANE_CHUNK, lanes))
    for b in range(bins):
        st[4] = 0.0
        for lo in range(b * bin_length, (b + 1) * bin_length, _LANE_CHUNK):
            m = min(_LANE_CHUNK, (b + 1) * bin_length - lo)
            for j in range(lanes):
                src = x[rows[j], starts[j] + lo : starts[j] + lo + m]
                for i in range(m):
                    buf[i, j] = src[i]
            for i in range(m):
                for j in range(lanes):
                    y, st[0, j], st[1, j] = tdf2(buf[i, j], b0, b1, b2, a1, a2, st[0, j], st[1, j])
                    z, st[2, j], st[3, j] = tdf2(y, c0, c1, c2, d1, d2, st[2, j], st[3, j])
                    st[4, j] += z * z
        for j in range(lanes):
            out[j, b] = st[4, j]
    for j in range(lanes):
        for k in range(4):
            finals[j, k] = st[k, j]


@numba.njit(cache=True, nogil=True)
def _bin_sums_from(row, start, count, sos, bin_length, state, out):  # pragma: no cover - compiled
    """``row[start : start + count]`` through the K-weighting from ``state`` (updated): each bin's
    power sum into ``out`` (the last bin may be partial)."""
    b0, b1, b2 = sos[0, 0], sos[0, 1], sos[0, 2]
    a1, a2 = sos[0, 4], sos[0, 5]
    c0, c1, c2 = sos[1, 0], sos[1, 1], sos[1, 2]
    d1, d2 = sos[1, 4], sos[1, 5]
    s1, s2, h1, h2 = state[0], state[1], state[2], state[3]
    for b in range(out.shape[0]):
        acc = 0.0
        for i in range(start + b * bin_length, start + min(count, (b + 1) * bin_length)):
            y, s1, s2 = tdf2(np.float64(row[i]), b0, b1, b2, a1, a2, s1, s2)
            z, h1, h2 = tdf2(y, c0, c1, c2, d1, d2, h1, h2)
            acc += z * z
        out[b] += acc
    state[0], state[1], state[2], state[3] = s1, s2, h1, h2


@numba.njit(cache=True, nogil=True)
def _pair_bin_sums(x, channels, weights, sos, bin_length, out):  # pragma: no cover - compiled
    """Add to ``out[b]`` the weighted K-weighted power summed over samples ``[b*L, (b+1)*L)``.

    ``L = bin_length``; the samples after the last whole bin go to ``out[-1]``
    (so a non-finite sample anywhere shows in ``out``). The filters start
    from rest. This is integrated loudness's whole need: 400 ms gating
    blocks are four consecutive 100 ms bins. Channels are filtered two at a
    time, as in :func:`kweighted_cumulative_power`.
    """
    n = x.shape[1]
    whole = n // bin_length
    b0, b1, b2 = sos[0, 0], sos[0, 1], sos[0, 2]
    a1, a2 = sos[0, 4], sos[0, 5]
    c0, c1, c2 = sos[1, 0], sos[1, 1], sos[1, 2]
    d1, d2 = sos[1, 4], sos[1, 5]
    n_ch = channels.shape[0]
    k = 0
    while k < n_ch:
        pair = k + 1 < n_ch
        p = channels[k]
        q = channels[k + 1] if pair else channels[k]
        wp = weights[k]
        wq = weights[k + 1] if pair else 0.0
        ps1 = ps2 = ph1 = ph2 = 0.0
        qs1 = qs2 = qh1 = qh2 = 0.0
        for b in range(whole + 1):
            lo = b * bin_length
            hi = min(n, lo + bin_length)
            acc_p = 0.0
            acc_q = 0.0
            for i in range(lo, hi):
                u = np.float64(x[p, i])
                v = np.float64(x[q, i])
                su, ps1, ps2 = tdf2(u, b0, b1, b2, a1, a2, ps1, ps2)
                sv, qs1, qs2 = tdf2(v, b0, b1, b2, a1, a2, qs1, qs2)
                hu, ph1, ph2 = tdf2(su, c0, c1, c2, d1, d2, ph1, ph2)
                hv, qh1, qh2 = tdf2(sv, c0, c1, c2, d1, d2, qh1, qh2)
                acc_p += hu * hu
                acc_q += hv * hv
            out[b] += wp * acc_p + wq * acc_q
        k += 2


@numba.njit(cache=True, nogil=True)
def oversampled_block_max(full, phases, n, block, bound, order, best):  # pragma: no cover - compiled
    """Raise ``best`` to the largest ``|y|`` over the interpolated outputs of the blocks in ``order``.

    ``y_p(i) = sum_k phases[p, k] * full[i + k]`` is output ``i`` (``0 <= i < n``) of
    phase ``p``; block ``b`` holds outputs ``b*block .. (b+1)*block - 1``. Blocks are
    visited in the given order (highest bound first) and skipped once their
    ``bound[b]`` cannot beat ``best``. ``phases`` has a multiple of three rows (pad
    with zero rows): three phases share each pass over the input, and each output
    is summed over ``k`` in order in its own vector lane, so its value does not
    depend on where the block lies or on the order of the blocks.
    """
    n_phases, taps = phases.shape
    acc = np.empty((3, block), full.dtype)
    for j in range(order.shape[0]):
        b = order[j]
        if bound[b] <= best:
            continue
        lo = b * block
        m = min(block, n - lo)
        a0 = acc[0, :m]
        a1 = acc[1, :m]
        a2 = acc[2, :m]
        for g in range(0, n_phases, 3):
            a0[:] = 0.0
            a1[:] = 0.0
            a2[:] = 0.0
            for k in range(taps):
                h0 = phases[g, k]
                h1 = phases[g + 1, k]
                h2 = phases[g + 2, k]
                seg = full[lo + k : lo + k + m]
                for r in range(m):
                    v = seg[r]
                    a0[r] += h0 * v
                    a1[r] += h1 * v
                    a2[r] += h2 * v
            for r in range(m):
                v = max(abs(a0[r]), abs(a1[r]), abs(a2[r]))
                if v > best:
                    best = v
    return best


@numba.njit(cache=True, nogil=True)
def true_peak_segment(
    x, start, stop, block, phases, l1, oversample, context, previous, sample_peak, true_peak
):  # pragma: no cover - compiled
    """Measure ``x[:, start:stop]``, whole grid blocks or the programme's last partial one, in place.

    One call per segment does what took a dozen small numpy calls per channel with
    Python's lock held: the block maxima and the sample peak; then, with
    ``oversample``, each block's bound ``max(block, block before) * l1``, the blocks
    whose bound beats the channel's best so far, oversampled loudest bound first
    (:func:`oversampled_block_max`, ties in block order), and the last ``taps - 1``
    samples kept in ``context`` for the next segment. ``previous[c]`` is the
    channel's last block maximum. ``x`` is C-ordered and writable, ``phases`` and
    ``context`` of its dtype: one compiled version per dtype.
    """
    channels = x.shape[0]
    n = stop - start
    if n <= 0:  # nothing to measure (and no block maximum to read)
        return
    keep = context.shape[1]
    blocks = (n + block - 1) // block
    block_max = np.empty((1, blocks))
    bound = np.empty(blocks)
    full = np.empty(keep + n, x.dtype)  # full[i + keep] = x[c, start + i]
    for c in range(channels):
        row = x[c : c + 1, start:stop]
        block_abs_max(row, block, block_max)
        peak = block_max[0, 0]
        for b in range(1, blocks):
            peak = max(peak, block_max[0, b])
        sample_peak[c] = max(sample_peak[c], peak)
        if not oversample:
            continue
        # an output in block b depends on block b and the last taps - 1 samples of block b - 1
        before = previous[c]
        count = 0
        best = max(true_peak[c], sample_peak[c])
        for b in range(blocks):
            bound[b] = max(block_max[0, b], before) * l1
            before = block_max[0, b]
            if bound[b] > best:
                count += 1
        if count:
            candidates = np.empty(count, np.int64)
            count = 0
            for b in range(blocks):
                if bound[b] > best:
                    candidates[count] = b
                    count += 1
            order = candidates[np.argsort(-bound[candidates], kind="mergesort")]
            full[:keep] = context[c]
            full[keep:] = x[c, start:stop]
            best = oversampled_block_max(full, phases, n, block, bound, order, best)
        true_peak[c] = best
        previous[c] = block_max[0, blocks - 1]
        if n >= keep:
            context[c] = x[c, stop - keep : stop]
        else:
            context[c, : keep - n] = context[c, n:].copy()
            context[c, keep - n :] = x[c, start:stop]


@numba.njit(cache=True, nogil=True)
def window_powers(c, offset, first, last, num, den, length, out):  # pragma: no cover - compiled
    """Mean powers of the windows ``first .. last`` of a series on a grid ``num / den`` samples apart.

    ``out[j - first] = max(c[s + length] - c[s], 0) / length`` with ``s = j * num // den - offset``,
    from the cumulative power ``c`` (``c[i]``: the total over the samples before
    ``i + offset``), in one call with Python's lock released instead of a dozen small
    numpy calls per series and chunk. ``max`` keeps numpy's rule (a NaN stays): a
    difference of two large running totals can round below zero after loud passages.
    """
    for j in range(first, last + 1):
        s = j * num // den - offset
        d = c[s + length] - c[s]
        out[j - first] = (d if d >= 0.0 or d != d else 0.0) / length

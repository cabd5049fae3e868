"""A streaming BS.1770-5 / EBU Mode loudness meter.

One pass over the audio computes everything. A compiled kernel K-weights each
block and sums the weighted channel powers into a running cumulative sum
(float64) ``C``, so the power of any window ``[a, b)`` is ``C(b) - C(a)``.
That gives the 400 ms and 3 s windows ending at *every* sample, whose maxima
are exact at sample resolution, and the 100 ms series used for gating and
LRA. Only the last 3 s of ``C`` are kept; memory grows only by the two 10 Hz
series that integrated loudness and LRA need (and, with ``hop_s`` other than
0.1 s, by the two series on that grid).

Live readings. The momentary and short-term loudness after the last sample
are one difference of ``C`` each (O(1)). Integrated loudness so far gates
the 400 ms blocks completed so far; the blocks above the absolute gate are
kept in a histogram of their loudness (0.1 LU bins from -70 to +30 LUFS, as
in libebur128's histogram mode), folded in when a reading asks for them, so a
reading costs O(1) amortised: a sum over the 1000 bins, not over the
programme. Unlike libebur128, which reads each bin at its centre energy (an
error of up to 0.05 LU per block), each bin keeps the exact sum of its
blocks' powers and the powers themselves, and the bins within 0.1 LU of the
relative gate are gated block by block: the reading is the report's gated
mean, equal to within float64 rounding of the sums.

The cumulative sum is extended element by element in the same order whatever
the block sizes, and the true-peak grid is fixed to the programme's start, so
block-wise and whole-buffer measurements give identical results.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from sonicmix._checks import check_audio, check_finite, check_range, check_sample_rate, unmeasurable_error
from sonicmix.errors import AudioError, LayoutError, ParameterError
from sonicmix.layouts import Layout, get_layout, resolve_layout
from sonicmix.loudness.kweighting import k_weighting_sos
from sonicmix.loudness.report import LoudnessReport
from sonicmix.loudness.truepeak import TruePeakTracker

__all__ = ["LoudnessMeter", "integrated_loudness", "measure"]

# samples per pass of the kernels: a delivery's block in one pass (2**17 samples for stereo, see
# sonicmix.renderer.default_block_size), as cutting a multichannel block makes column slices that
# _chunk copies (1 << 15 against 1 << 16: 5 % more meter time; stereo blocks of 2**17 in passes of
# 2**16 against one: 2 %)
_CHUNK = 1 << 17
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0  # integrated loudness (BS.1770-5)
_LRA_RELATIVE_GATE_LU = -20.0  # loudness range (EBU Tech 3342)
_LRA_PERCENTILES = (10.0, 95.0)
_GATING_HOP = Fraction(1, 10)  # s: the BS.1770 block step (75 % overlap) and Tech 3342's 10 Hz
_HOP_DENOMINATOR_LIMIT = 10**6  # hop_s is read as the nearest fraction p/q with q <= this
_HISTOGRAM_LOW_LUFS = -70.0  # the absolute gate: no block below it is ever kept
_HISTOGRAM_BIN_LU = 0.1
_HISTOGRAM_BINS = 1000  # -70 .. +30 LUFS; louder blocks share the top bin (still exact)


def _lufs(power: float | np.ndarray) -> float | np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(power)


def _power(lufs: float) -> float:
    return 10.0 ** ((lufs + 0.691) / 10.0)


def _hop_samples(hop_s: object, sample_rate: int) -> Fraction:
    """Validate ``hop_s`` and return the hop in samples, exactly, as a fraction.

    The hop is read as the nearest fraction of a second with a denominator of at
    most 10**6 (0.1 is exactly 1/10, 1/48000 exactly 1/48000), times the sample
    rate. Window ``j`` then starts at sample ``floor(j * hop)``: a hop that is not
    a whole number of samples (0.1 s at 11025 Hz, 1102.5 samples) alternates
    between the two nearest whole hops and never drifts from the time grid.

    Raises
    ------
    ParameterError
        ``hop_s`` not a finite number > 0, or shorter than one sample.
    """
    if type(hop_s) is float and hop_s == 0.1:  # the default, without the cost of limit_denominator
        return _GATING_HOP * sample_rate
    value = check_range(
        "hop_s", hop_s, low=0.0, low_inclusive=False, hint="seconds between series values, e.g. 0.01"
    )
    samples = Fraction(value).limit_denominator(_HOP_DENOMINATOR_LIMIT) * sample_rate
    if samples < 1:
        raise ParameterError(
            f"hop_s={value:g} is shorter than one sample at sample_rate={sample_rate}; expected "
            f"hop_s >= {1 / sample_rate:.6g} (1/{sample_rate} s, a value after every sample)"
        )
    return samples


class _WindowSeries:
    """Window powers on a grid of window starts ``hop`` samples apart (a fraction).

    Window ``j`` covers samples ``[s_j, s_j + length)`` with ``s_j = floor(j * hop)``;
    on the 100 ms grid ``s_j = floor(j * fs / 10)``.
    """

    def __init__(self, length: int, hop: Fraction) -> None:
        self.length = length
        self._num = hop.numerator
        self._den = hop.denominator
        self.next_index = 0
        self._powers = np.empty(1024)  # grows by doubling: 8 bytes a window (80 a second at 10 Hz)

    def last_index_ending_by(self, end: int) -> int:
        """Largest ``j`` whose window ends at or before sample ``end`` (-1 if none)."""
        if end < self.length:
            return -1
        return ((end - self.length + 1) * self._den - 1) // self._num

    def starts(self, j: np.ndarray) -> np.ndarray:
        """First samples ``floor(j * hop)`` of windows ``j``."""
        return j * self._num // self._den

    def extend(self, c: np.ndarray, base: int, last: int) -> None:
        """Append the powers of windows ``next_index .. last`` from the cumulative power ``c``.

        ``c[i]`` is the weighted power of the samples before ``base + i``; one compiled
        call (:func:`~sonicmix.loudness._kernels.window_powers`) with Python's lock released.
        """
        from sonicmix.loudness._kernels import window_powers

        stop = last + 1
        if stop > self._powers.size:
            grown = np.empty(max(stop, 2 * self._powers.size))
            grown[: self.next_index] = self._powers[: self.next_index]
            self._powers = grown
        out = self._powers[self.next_index :]
        window_powers(c, base, self.next_index, last, self._num, self._den, self.length, out)
        self.next_index = stop

    def values(self) -> np.ndarray:
        return self._powers[: self.next_index].copy()

    def since(self, index: int) -> np.ndarray:
        """The powers of windows ``index`` onwards (a view: no copy of the history)."""
        return self._powers[index : self.next_index]

    def end_times_s(self, count: int, sample_rate: int) -> np.ndarray:
        j = np.arange(count, dtype=np.int64)
        return (self.starts(j) + self.length) / sample_rate


class _GatedBlocks:
    """400 ms block powers above the absolute gate, in a histogram by loudness: integrated in O(1).

    Bin ``b`` holds the blocks of loudness ``-70 + 0.1 b <= L < -70 + 0.1 (b + 1)`` LUFS
    (louder ones share the top bin): their count, the sum of their powers, and the
    powers themselves. A reading sums the bins more than one bin above the relative
    gate as they are and compares the blocks of the three bins around the gate one by
    one with it, so misplacing a block by rounding its loudness cannot change the
    result. Folding a block in is O(1); a reading is O(bins) plus the blocks within
    0.1 LU of the gate, whatever the programme's length. Memory: the block powers
    again, as Python floats (about 32 bytes per 100 ms of audio above -70 LUFS).
    """

    def __init__(self) -> None:
        self.folded = 0  # blocks of the momentary series seen so far
        self.count = 0  # blocks above the absolute gate
        self.total = 0.0  # their summed power
        self.table = np.zeros((2, _HISTOGRAM_BINS))  # per bin: summed power, count (exact up to 2**53)
        self.members: dict[int, list[float]] = {}  # per bin met so far: its blocks' powers

    @staticmethod
    def bins(lufs: np.ndarray) -> np.ndarray:
        index = np.floor((lufs - _HISTOGRAM_LOW_LUFS) / _HISTOGRAM_BIN_LU)
        return np.clip(index, 0, _HISTOGRAM_BINS - 1).astype(np.int64)

    def fold(self, powers: np.ndarray) -> None:
        """Take in the next blocks of the momentary series (in order)."""
        self.folded += powers.size
        above = powers[powers > _power(_ABSOLUTE_GATE_LUFS)]
        if above.size == 0:
            return
        where = self.bins(_lufs(above))
        np.add.at(self.table[0], where, above)
        np.add.at(self.table[1], where, 1.0)
        members = self.members
        for b, p in zip(where.tolist(), above.tolist(), strict=True):
            if b in members:
                members[b].append(p)
            else:
                members[b] = [p]
        self.count += above.size
        self.total += float(above.sum())

    def integrated(self) -> float:
        """Gated loudness of the blocks folded in (BS.1770-5 2.8), LUFS; -inf when undefined."""
        if self.count == 0:
            return -math.inf
        # scalar arithmetic as in _lufs and bins(), without numpy's per-call overhead
        gate = -0.691 + 10.0 * math.log10(self.total / self.count) + _RELATIVE_GATE_LU
        threshold = _power(gate)
        b = min(max(math.floor((gate - _HISTOGRAM_LOW_LUFS) / _HISTOGRAM_BIN_LU), 0), _HISTOGRAM_BINS - 1)
        low, high = max(b - 1, 0), min(b + 2, _HISTOGRAM_BINS)
        total, count = self.table[:, high:].sum(axis=1).tolist()
        for near in range(low, high):
            for p in self.members.get(near, ()):
                if p > threshold:
                    total += p
                    count += 1
        return -0.691 + 10.0 * math.log10(total / count)  # count >= 1: the loudest block is above the mean


class LoudnessMeter:
    """Streaming loudness meter: feed blocks of any size, then ask for a report.

    Parameters
    ----------
    sample_rate : int
        Sample rate of the audio, in Hz.
    channels : int, optional
        Channel count; the layout is then assumed (1 mono, 2 stereo, 5 "5.0",
        6 "5.1", 8 "7.1"). Give this or ``layout``.
    layout : str or Layout, optional
        Named layout (``"mono"``, ``"stereo"``, ``"5.0"``, ``"5.1"``, ``"7.1"``)
        or a :class:`~sonicmix.layouts.Layout` with custom weights.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the true-peak filter; blocks of the other dtype are converted.
    true_peak : bool, default True
        Measure the true peak. Without it the report's ``true_peak_dbtp``
        is ``nan``; loudness and the sample peak are unaffected.
    hop_s : float, default 0.1
        Seconds between the windows of the report's momentary and short-term
        series, down to one sample (``1 / sample_rate``); see :func:`measure`.
        Integrated loudness and LRA always use the 100 ms grid of BS.1770-5
        and Tech 3342, and the live readings below are at every sample.

    Notes
    -----
    Live readings, after any sample and without building a report, each in
    O(1) (amortised): :attr:`momentary_lufs`, :attr:`short_term_lufs`,
    :attr:`integrated_lufs` (of the 400 ms blocks completed so far),
    :attr:`momentary_max_lufs` and :attr:`short_term_max_lufs`. The loudness
    range and the true peak need :meth:`report`. Before 400 ms (3 s) of audio
    the momentary (short-term) window reaches back before the first sample,
    where it reads silence, as libebur128 does; reading any of them before the
    first sample raises :class:`~sonicmix.errors.AudioError`.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(20 * 48000) / 48000
    >>> x = np.tile(10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t), (2, 1)).astype(np.float32)
    >>> meter = LoudnessMeter(48000, channels=2)
    >>> for block in np.array_split(x, 7, axis=1):  # any block sizes
    ...     meter.update(block)
    >>> report = meter.report()
    >>> round(report.integrated_lufs, 1)
    -23.0
    >>> report.integrated_lufs == measure(x, 48000).integrated_lufs
    True

    Live, 10 ms at a time (a meter display):

    >>> live = LoudnessMeter(48000, channels=2)
    >>> for block in np.split(x[:, :48000], 100, axis=1):
    ...     live.update(block)
    ...     m = live.momentary_lufs        # the 400 ms ending now
    >>> round(m, 2), round(live.short_term_lufs, 2)   # the 3 s window still reads 2 s of silence
    (-22.99, -27.76)
    >>> round(live.integrated_lufs, 2)
    -22.99
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        channels: int | None = None,
        layout: str | Layout | None = None,
        dtype: str | np.dtype = "float32",
        true_peak: bool = True,
        hop_s: float = 0.1,
    ) -> None:
        from sonicmix.loudness import _kernels  # compiled on first use; imports numba

        self._kernel = _kernels.kweighted_cumulative_power
        self.sample_rate = check_sample_rate(sample_rate)
        if layout is not None:
            chosen = get_layout(layout)
            self.layout = resolve_layout(chosen, chosen.n_channels if channels is None else channels)
        elif channels is not None:
            self.layout = resolve_layout(None, channels)
        else:
            raise LayoutError("LoudnessMeter needs channels= or layout=; expected e.g. channels=2")
        self.channels = self.layout.n_channels
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise AudioError(f"dtype={self.dtype}; expected float32 or float64")
        weights = np.asarray(self.layout.loudness_weights, dtype=np.float64)
        self._channels_used = np.flatnonzero(weights > 0).astype(np.int64)
        self._weights = weights[self._channels_used].copy()
        self._sos = k_weighting_sos(self.sample_rate)
        self._filter_state = np.zeros((self._channels_used.size, 4))

        fs = self.sample_rate
        hop = _hop_samples(hop_s, fs)
        self.hop_s = float(hop / fs)
        gating = _GATING_HOP * fs
        self._momentary = _WindowSeries(round(0.4 * fs), gating)
        self._short_term = _WindowSeries(round(3.0 * fs), gating)
        self._series = [self._momentary, self._short_term]
        # the report's series: the gating grid's own, or two more on the hop's grid
        self._shown = (self._momentary, self._short_term)
        if hop != gating:
            self._shown = (
                _WindowSeries(self._momentary.length, hop),
                _WindowSeries(self._short_term.length, hop),
            )
            self._series += self._shown
        self._gated: _GatedBlocks | None = None  # made by the first integrated_lufs reading
        self._history = self._short_term.length  # samples of C kept before the current chunk
        # _cumulative[i] = C(_base + i); C(k) is the weighted power of samples [0, k)
        self._cumulative = np.zeros(self._history + 1 + 4 * _CHUNK)  # shifted back every 4 passes
        self._base = 0
        self._count = 1
        self._window_lengths = np.array([self._momentary.length, self._short_term.length], dtype=np.int64)
        self._max_sums = np.full(2, -1.0)  # largest window power sum so far; < 0 while none is complete
        self._samples = 0
        self._peaks = TruePeakTracker(self.channels, fs, self.dtype, oversample=true_peak)
        self._block_buffer: np.ndarray | None = None  # made when a block must be copied (_chunk)

    @property
    def samples_seen(self) -> int:
        """Number of samples (per channel) measured so far."""
        return self._samples

    @property
    def momentary_lufs(self) -> float:
        """Loudness of the 400 ms ending at the last sample measured, in LUFS (O(1)).

        ``-inf`` for silence. Before 400 ms of audio the window reads silence
        before the first sample. Raises :class:`~sonicmix.errors.AudioError` before any sample.
        """
        return self._window_lufs(self._momentary.length, "momentary_lufs")

    @property
    def short_term_lufs(self) -> float:
        """Loudness of the 3 s ending at the last sample measured, in LUFS (O(1)).

        ``-inf`` for silence. Before 3 s of audio the window reads silence
        before the first sample. Raises :class:`~sonicmix.errors.AudioError` before any sample.
        """
        return self._window_lufs(self._short_term.length, "short_term_lufs")

    @property
    def integrated_lufs(self) -> float:
        """Integrated loudness so far, in LUFS: the report's value, in O(1) amortised.

        Gates the 400 ms blocks (100 ms apart) completed so far, as :meth:`report`
        does, equal to its ``integrated_lufs`` to float64 rounding (1e-9 LU in
        the tests). ``-inf`` while undefined (under 400 ms, or silence).
        Raises :class:`~sonicmix.errors.AudioError` before any sample.
        """
        self._check_started("integrated_lufs")
        if self._gated is None:
            self._gated = _GatedBlocks()
        gated = self._gated
        if gated.folded < self._momentary.next_index:
            gated.fold(self._momentary.since(gated.folded))
        return gated.integrated()

    @property
    def momentary_max_lufs(self) -> float:
        """Largest loudness of a complete 400 ms window so far (windows ending at every sample), LUFS.

        ``-inf`` before the first complete window. Raises :class:`~sonicmix.errors.AudioError`
        before any sample.
        """
        self._check_started("momentary_max_lufs")
        return self._max_lufs(0)

    @property
    def short_term_max_lufs(self) -> float:
        """Largest loudness of a complete 3 s window so far (windows ending at every sample), LUFS.

        ``-inf`` before the first complete window. Raises :class:`~sonicmix.errors.AudioError`
        before any sample.
        """
        self._check_started("short_term_max_lufs")
        return self._max_lufs(1)

    def _max_lufs(self, which: int) -> float:
        best = self._max_sums[which]
        return float(_lufs(best / self._window_lengths[which])) if best >= 0 else -math.inf

    def _check_started(self, name: str) -> None:
        if self._samples == 0:
            raise AudioError(
                f"LoudnessMeter.{name} was read before any sample; expected a reading after update() "
                "has measured at least one sample"
            )

    def _window_lufs(self, length: int, name: str) -> float:
        self._check_started(name)
        c = self._cumulative
        end = self._count - 1  # C(samples) is c[end]; C(k) for k <= 0 is 0
        start = max(self._samples - length, 0) - self._base
        # a difference of two large running totals can round below zero after loud passages
        return float(_lufs(max(float(c[end] - c[start]), 0.0) / length))

    def update(self, audio: np.ndarray) -> None:
        """Measure the next block, shaped ``(channels, samples)``; any length, even 0."""
        x = check_audio(audio, "audio", channels=self.channels, min_samples=0, finite=False)
        if x.dtype != self.dtype:  # the true-peak filter runs in the meter's dtype
            x = x.astype(self.dtype)
        check_finite(x, "audio", self.sample_rate, offset=self._samples)
        self._update_checked(x)

    def _update_checked(self, x: np.ndarray) -> None:
        """:meth:`update` without its checks: ``x`` is a finite ``(channels, n)`` array of the meter's dtype.

        For a caller that has just looked at every sample itself (the deliverables' float WAV
        writer does, as it stores them): a second pass over the block holds Python's lock
        while the other files of a delivery wait for it.
        """
        for start in range(0, x.shape[1], _CHUNK):
            self._chunk(x[:, start : start + _CHUNK])

    def _chunk(self, x: np.ndarray) -> None:
        if not (x.flags.c_contiguous and x.flags.writeable):
            # The kernels get one array type (C order, writable) whatever the caller passed: a
            # column slice of a multichannel array, F order or read-only would each be compiled
            # again (seconds); the copy costs about 6 % of the meter's time on stereo here.
            if self._block_buffer is None:
                self._block_buffer = np.empty(self.channels * _CHUNK, self.dtype)
            block = self._block_buffer[: x.size].reshape(x.shape)
            np.copyto(block, x)
            x = block
        m = x.shape[1]
        if self._count + m > self._cumulative.size:  # drop what no window will need again
            drop = self._count - (self._history + 1)
            self._cumulative[: self._history + 1] = self._cumulative[drop : self._count]
            self._base += drop
            self._count = self._history + 1
        c = self._cumulative
        i0 = self._count
        first_complete = self._window_lengths - self._base  # buffer index of the first complete window
        kept = self._filter_state.copy(), self._max_sums.copy()  # for the way out of an overflow
        self._kernel(
            x,
            self._channels_used,
            self._weights,
            self._sos,
            self._filter_state,
            c,
            i0,
            self._window_lengths,
            first_complete,
            self._max_sums,
        )
        if not math.isfinite(c[i0 + m - 1]):  # finite samples, too large to square and sum
            self._filter_state[:], self._max_sums[:] = kept  # the meter as it was before the block
            raise unmeasurable_error(x, "audio", self.sample_rate, self._samples, self._channels_used)
        self._count += m
        last = self._samples + m  # the chunk's windows end at samples (self._samples, last]
        self._samples = last
        for series in self._series:
            j_last = series.last_index_ending_by(last)
            if j_last >= series.next_index:
                series.extend(c, self._base, j_last)
        self._peaks.update(x)

    def report(self) -> LoudnessReport:
        """Return the loudness report of everything measured so far.

        The meter can go on measuring afterwards; the last partial block of
        the true-peak grid is measured on a copy of the state.
        """
        import copy

        peaks = copy.deepcopy(self._peaks)
        peaks.finish()
        notes: list[str] = []
        duration_s = self._samples / self.sample_rate
        momentary = self._momentary.values()
        short_term = self._short_term.values()

        integrated, relative_gate = _integrated(momentary)
        if momentary.size == 0:
            notes.append(
                f"integrated loudness is undefined: the programme ({duration_s:.3f} s) is shorter than "
                "one 400 ms gating block"
            )
        elif not math.isfinite(integrated):
            notes.append(
                "integrated loudness is undefined: no 400 ms block is above the -70 LUFS absolute gate "
                "(silence?)"
            )
        lra, low, high = _loudness_range(short_term)
        if math.isnan(lra):
            if short_term.size == 0:
                notes.append(
                    f"loudness range is undefined: the programme ({duration_s:.3f} s) is shorter than "
                    "one 3 s short-term window"
                )
            else:
                notes.append("loudness range is undefined: no 3 s window is above the -70 LUFS absolute gate")
        momentary_max, short_term_max = self._max_sums / self._window_lengths
        if short_term_max < 0 and momentary.size:
            notes.append("short-term maximum is undefined: the programme is shorter than 3 s")
        if not peaks.oversample:
            notes.append("true peak was not measured (true_peak=False)")

        def db(v: np.ndarray) -> tuple[float, ...]:
            with np.errstate(divide="ignore"):
                return tuple(float(d) for d in 20.0 * np.log10(v))

        shown_m, shown_s = self._shown
        if shown_m is not self._momentary:  # the series on the hop's grid
            momentary, short_term = shown_m.values(), shown_s.values()

        true_peak = np.maximum(peaks.true_peak, peaks.sample_peak) if peaks.oversample else peaks.true_peak
        return LoudnessReport(
            integrated_lufs=float(integrated),
            lra_lu=float(lra),
            true_peak_dbtp=max(db(true_peak)),
            sample_peak_dbfs=max(db(peaks.sample_peak)),
            momentary_max_lufs=float(_lufs(momentary_max)) if momentary_max >= 0 else -math.inf,
            short_term_max_lufs=float(_lufs(short_term_max)) if short_term_max >= 0 else -math.inf,
            sample_rate=self.sample_rate,
            channels=self.channels,
            layout=self.layout.name,
            duration_s=duration_s,
            true_peak_per_channel_dbtp=db(true_peak),
            sample_peak_per_channel_dbfs=db(peaks.sample_peak),
            relative_gate_lufs=float(relative_gate),
            lra_low_lufs=float(low),
            lra_high_lufs=float(high),
            oversampling=peaks.factor,
            momentary_lufs=np.asarray(_lufs(momentary), dtype=np.float64),
            momentary_times_s=shown_m.end_times_s(momentary.size, self.sample_rate),
            short_term_lufs=np.asarray(_lufs(short_term), dtype=np.float64),
            short_term_times_s=shown_s.end_times_s(short_term.size, self.sample_rate),
            notes=tuple(notes),
            hop_s=self.hop_s,
        )


def gate_blocks(powers: np.ndarray, relative_lu: float = _RELATIVE_GATE_LU) -> tuple[np.ndarray, float]:
    """The BS.1770 two-stage gate over block powers: (mask of the blocks kept, relative gate in LUFS).

    A block is kept when it is above -70 LUFS and above the relative gate,
    ``relative_lu`` below the mean of the blocks above -70 LUFS (-10 LU for
    integrated loudness, -20 LU for loudness range). Without any block above
    -70 LUFS the gate is ``-inf`` and nothing is kept.
    """
    above = powers > _power(_ABSOLUTE_GATE_LUFS)
    if not above.any():
        return above, -math.inf
    gate = float(_lufs(powers[above].mean())) + relative_lu
    return above & (powers > _power(gate)), gate


def _integrated(powers: np.ndarray) -> tuple[float, float]:
    """Gated loudness of 400 ms block powers: (integrated LUFS, relative gate LUFS)."""
    kept, gate = gate_blocks(powers)
    if not kept.any():
        return -math.inf, gate
    return float(_lufs(powers[kept].mean())), gate


def _loudness_range(powers: np.ndarray) -> tuple[float, float, float]:
    """EBU Tech 3342 loudness range of 3 s window powers: (LRA, low, high) in LU / LUFS."""
    kept, _ = gate_blocks(powers, _LRA_RELATIVE_GATE_LU)
    if not kept.any():
        return math.nan, -math.inf, -math.inf
    gated = np.sort(_lufs(powers[kept]))
    low, high = np.percentile(gated, _LRA_PERCENTILES)
    return float(high - low), float(low), float(high)


def measure(
    audio: np.ndarray,
    sample_rate: int,
    *,
    layout: str | Layout | None = None,
    true_peak: bool = True,
    hop_s: float = 0.1,
) -> LoudnessReport:
    """Measure loudness, loudness range and peaks of a whole programme.

    Parameters
    ----------
    audio : np.ndarray, shape=(channels, samples)
        float32 or float64 samples, full scale = 1.0.
    sample_rate : int
        Sample rate in Hz.
    layout : str or Layout, optional
        Channel layout; assumed from the channel count when omitted (1 mono,
        2 stereo, 5 "5.0", 6 "5.1", 8 "7.1").
    true_peak : bool, default True
        Measure the true peak (most of the cost on noise-like material).
    hop_s : float, default 0.1
        Seconds between the windows of the momentary and short-term series
        (``momentary_lufs``, ``short_term_lufs`` and their times), from one
        sample (``1 / sample_rate``) up. Window ``j`` of each series starts at
        sample ``floor(j * hop_s * sample_rate)`` (``hop_s`` read as the nearest
        fraction with a denominator up to 10**6, so 0.1 is exactly 1/10): a hop
        that is not a whole number of samples alternates between the two
        nearest whole hops and never drifts. Integrated loudness, LRA and
        ``block_powers`` stay on the 100 ms grid the standards define (with
        another hop, ``block_powers`` refuses: the series are not the gating
        blocks). The default costs nothing extra; each other hop adds two
        series of 8 bytes per value (two values per sample at one sample).

    Returns
    -------
    LoudnessReport

    Raises
    ------
    AudioError
        Audio that is not 2-D float, has NaN/inf samples (named by channel and
        time) or no samples.
    LayoutError
        A layout that is unknown or does not match the channel count.
    ParameterError
        ``hop_s`` not finite, not > 0, or shorter than one sample.

    See Also
    --------
    LoudnessMeter : the same measurement, block by block.

    Notes
    -----
    Audio shorter than one 400 ms block, or silent, has undefined integrated
    loudness: the report gives ``-inf`` and says why in ``notes``.

    References
    ----------
    ITU-R BS.1770-5 (2023); EBU Tech 3341 (2023), EBU Tech 3342 (2023).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(10 * 48000) / 48000
    >>> tone = 10 ** (-20 / 20) * np.sin(2 * np.pi * 1000 * t)
    >>> report = measure(np.stack([tone, tone]), 48000)
    >>> round(report.integrated_lufs, 2), round(report.true_peak_dbtp, 2)
    (-20.0, -20.0)

    The series every 10 ms (windows ending at 0.40, 0.41, 0.42 ... s):

    >>> fine = measure(np.stack([tone, tone]), 48000, hop_s=0.01)
    >>> fine.momentary_times_s[:3].tolist(), fine.momentary_lufs.size
    ([0.4, 0.41, 0.42], 961)
    """
    x = check_audio(audio, "audio", min_samples=1, finite=False)
    rate = check_sample_rate(sample_rate)
    resolved = resolve_layout(layout, x.shape[0])
    meter = LoudnessMeter(rate, layout=resolved, dtype=x.dtype, true_peak=true_peak, hop_s=hop_s)
    meter.update(x)
    return meter.report()


def integrated_loudness(audio: np.ndarray, sample_rate: int, *, layout: str | Layout | None = None) -> float:
    """Integrated loudness (LUFS) of a whole programme, and nothing else: the fast path.

    The same quantity as ``measure(audio, sample_rate).integrated_lufs`` (equal to
    within float64 rounding of the power sums, about 1e-12 LU), in one compiled pass
    that sums K-weighted power into 100 ms bins: each 400 ms gating block is
    four consecutive bins. No loudness series, maxima or peaks are computed.
    Rates whose 100 ms is not a whole number of samples take the full meter.

    Parameters
    ----------
    audio : np.ndarray, shape=(channels, samples)
        float32 or float64 samples, full scale = 1.0.
    sample_rate : int
        Sample rate in Hz.
    layout : str or Layout, optional
        As for :func:`measure`.

    Returns
    -------
    float
        Gated integrated loudness in LUFS; ``-inf`` when undefined (silence,
        or shorter than one 400 ms block).

    Examples
    --------
    >>> t = np.arange(10 * 48000) / 48000
    >>> tone = 10 ** (-20 / 20) * np.sin(2 * np.pi * 1000 * t)
    >>> round(integrated_loudness(np.stack([tone, tone]), 48000), 2)
    -20.0
    """
    x = check_audio(audio, "audio", min_samples=1, finite=False)
    rate = check_sample_rate(sample_rate)
    resolved = resolve_layout(layout, x.shape[0])
    if rate % 10:
        return measure(x, rate, layout=resolved, true_peak=False).integrated_lufs
    from sonicmix.loudness._kernels import kweighted_bin_sums

    weights = np.asarray(resolved.loudness_weights, dtype=np.float64)
    used = np.flatnonzero(weights > 0).astype(np.int64)
    for c in np.flatnonzero(weights <= 0):  # channels outside the sum (LFE) must be finite all the same
        if not np.isfinite(x[c]).all():
            check_finite(x, "audio", rate)
    bin_length = rate // 10
    if not (x.flags.c_contiguous and x.flags.writeable):  # the kernel's one array type (see _chunk)
        x = np.array(x, order="C")
    sums = np.zeros(x.shape[1] // bin_length + 1)
    kweighted_bin_sums(x, used, weights[used].copy(), k_weighting_sos(rate), bin_length, sums)
    if not np.isfinite(sums).all():  # a NaN or inf sample made its bin non-finite: say where
        check_finite(x, "audio", rate)
        raise unmeasurable_error(x, "audio", rate, channels=used)  # ... or finite ones too large to square
    bins = sums[:-1]
    if bins.size < 4:
        return -math.inf
    # window j = bins j..j+3, summed in the order the full meter's running total would not need
    powers = (bins[:-3] + bins[1:-2] + bins[2:-1] + bins[3:]) / (4 * bin_length)
    return _integrated(powers)[0]

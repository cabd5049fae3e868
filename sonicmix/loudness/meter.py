"""A streaming BS.1770-5 / EBU Mode loudness meter.

One pass over the audio computes everything. A compiled kernel K-weights each
block and sums the weighted channel powers into a running cumulative sum
(float64) ``C``, so the power of any window ``[a, b)`` is ``C(b) - C(a)``.
That gives the 400 ms and 3 s windows ending at *every* sample, whose maxima
are exact at sample resolution, and the 100 ms series used for gating and
LRA. Only the last 3 s of ``C`` are kept; memory grows only by the two 10 Hz
series that integrated loudness and LRA need.

The cumulative sum is extended element by element in the same order whatever
the block sizes, and the true-peak grid is fixed to the programme's start, so
block-wise and whole-buffer measurements give identical results.
"""

from __future__ import annotations

import math

import numpy as np

from sonicmix._checks import check_audio, check_finite, check_sample_rate
from sonicmix.errors import AudioError, LayoutError
from sonicmix.layouts import Layout, get_layout, resolve_layout
from sonicmix.loudness.kweighting import k_weighting_sos
from sonicmix.loudness.report import LoudnessReport
from sonicmix.loudness.truepeak import TruePeakTracker

__all__ = ["LoudnessMeter", "integrated_loudness", "measure"]

_CHUNK = 1 << 15  # samples per pass of the kernel: its buffers stay in cache
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0  # integrated loudness (BS.1770-5)
_LRA_RELATIVE_GATE_LU = -20.0  # loudness range (EBU Tech 3342)
_LRA_PERCENTILES = (10.0, 95.0)


def _lufs(power: float | np.ndarray) -> float | np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(power)


def _power(lufs: float) -> float:
    return 10.0 ** ((lufs + 0.691) / 10.0)


class _WindowSeries:
    """Window powers on the 100 ms grid.

    Window ``j`` covers samples ``[s_j, s_j + length)`` with ``s_j = floor(j * fs / 10)``.
    """

    def __init__(self, length: int, sample_rate: int) -> None:
        self.length = length
        self.sample_rate = sample_rate
        self.next_index = 0
        self._powers = np.empty(1024)  # grows by doubling: 16 bytes a second for a 10 Hz series

    def last_index_ending_by(self, end: int) -> int:
        """Largest ``j`` whose window ends at or before sample ``end`` (-1 if none)."""
        if end < self.length:
            return -1
        return ((end - self.length + 1) * 10 - 1) // self.sample_rate

    def append(self, powers: np.ndarray) -> None:
        stop = self.next_index + powers.size
        if stop > self._powers.size:
            grown = np.empty(max(stop, 2 * self._powers.size))
            grown[: self.next_index] = self._powers[: self.next_index]
            self._powers = grown
        self._powers[self.next_index : stop] = powers
        self.next_index = stop

    def values(self) -> np.ndarray:
        return self._powers[: self.next_index].copy()

    def end_times_s(self, count: int) -> np.ndarray:
        j = np.arange(count, dtype=np.int64)
        return (j * self.sample_rate // 10 + self.length) / self.sample_rate


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
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        channels: int | None = None,
        layout: str | Layout | None = None,
        dtype: str | np.dtype = "float32",
        true_peak: bool = True,
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
        self._momentary = _WindowSeries(round(0.4 * fs), fs)
        self._short_term = _WindowSeries(round(3.0 * fs), fs)
        self._history = self._short_term.length  # samples of C kept before the current chunk
        # _cumulative[i] = C(_base + i); C(k) is the weighted power of samples [0, k)
        self._cumulative = np.zeros(self._history + 1 + 8 * _CHUNK)
        self._base = 0
        self._count = 1
        self._window_lengths = np.array([self._momentary.length, self._short_term.length], dtype=np.int64)
        self._max_sums = np.full(2, -1.0)  # largest window power sum so far; < 0 while none is complete
        self._samples = 0
        self._peaks = TruePeakTracker(self.channels, fs, self.dtype, oversample=true_peak)

    @property
    def samples_seen(self) -> int:
        """Number of samples (per channel) measured so far."""
        return self._samples

    def update(self, audio: np.ndarray) -> None:
        """Measure the next block, shaped ``(channels, samples)``; any length, even 0."""
        x = check_audio(audio, "audio", channels=self.channels, min_samples=0, finite=False)
        if x.dtype != self.dtype:  # the true-peak filter runs in the meter's dtype
            x = x.astype(self.dtype)
        check_finite(x, "audio", self.sample_rate, offset=self._samples)
        for start in range(0, x.shape[1], _CHUNK):
            self._chunk(x[:, start : start + _CHUNK])

    def _chunk(self, x: np.ndarray) -> None:
        m = x.shape[1]
        if self._count + m > self._cumulative.size:  # drop what no window will need again
            drop = self._count - (self._history + 1)
            self._cumulative[: self._history + 1] = self._cumulative[drop : self._count]
            self._base += drop
            self._count = self._history + 1
        c = self._cumulative
        i0 = self._count
        first_complete = self._window_lengths - self._base  # buffer index of the first complete window
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
        self._count += m
        last = self._samples + m  # the chunk's windows end at samples (self._samples, last]
        self._samples = last
        for series in (self._momentary, self._short_term):
            w = series.length
            j_last = series.last_index_ending_by(last)
            if j_last >= series.next_index:
                j = np.arange(series.next_index, j_last + 1, dtype=np.int64)
                starts = j * self.sample_rate // 10 - self._base
                # a difference of two large running totals can round below zero after loud passages
                series.append(np.maximum(c[starts + w] - c[starts], 0.0) / w)
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
            momentary_times_s=self._momentary.end_times_s(momentary.size),
            short_term_lufs=np.asarray(_lufs(short_term), dtype=np.float64),
            short_term_times_s=self._short_term.end_times_s(short_term.size),
            notes=tuple(notes),
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
    audio: np.ndarray, sample_rate: int, *, layout: str | Layout | None = None, true_peak: bool = True
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
    """
    x = check_audio(audio, "audio", min_samples=1, finite=False)
    rate = check_sample_rate(sample_rate)
    resolved = resolve_layout(layout, x.shape[0])
    meter = LoudnessMeter(rate, layout=resolved, dtype=x.dtype, true_peak=true_peak)
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
    sums = np.zeros(x.shape[1] // bin_length + 1)
    kweighted_bin_sums(x, used, weights[used].copy(), k_weighting_sos(rate), bin_length, sums)
    if not np.isfinite(sums).all():  # a NaN or inf sample made its bin non-finite: say where
        check_finite(x, "audio", rate)
    bins = sums[:-1]
    if bins.size < 4:
        return -math.inf
    # window j = bins j..j+3, summed in the order the full meter's running total would not need
    powers = (bins[:-3] + bins[1:-2] + bins[2:-1] + bins[3:]) / (4 * bin_length)
    return _integrated(powers)[0]

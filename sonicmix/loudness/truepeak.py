"""True-peak measurement (ITU-R BS.1770-5, Annex 2), exact without oversampling everything.

The true peak is the maximum of the signal reconstructed between samples,
estimated by oversampling with a polyphase interpolation filter. Every
interpolated value is a dot product of ``taps`` input samples with one phase
``h_p`` of the filter, so ``|y| <= max_p sum|h_p| * max|x|`` over those
samples. A block of the grid whose bound cannot beat the running maximum need
not be oversampled at all; blocks are visited loudest bound first. The result
equals the maximum over the fully oversampled signal, computed by the same
arithmetic, so whole-buffer and block-wise measurement agree exactly.

Oversampling is at least 4x, and enough to reach 192 kHz (8x at 44.1 kHz,
4x at 48 and 96 kHz): BS.1770 asks for 4x at 48 kHz, and 2x at 96 kHz
under-reads peaks of content near the new Nyquist frequency by up to 3 dB.
"""

from __future__ import annotations

import numpy as np

__all__ = ["oversampling_factor", "interpolation_filter", "TruePeakTracker", "true_peak"]

_TAPS_PER_PHASE = 24
_KAISER_BETA = 8.0
_BLOCK = 64  # grid block of the peak bound, in input samples (>= taps - 1)
_BOUND_MARGIN = 1.0 + 1e-5  # covers float32 rounding of a 24-term dot product


def oversampling_factor(sample_rate: int) -> int:
    """Oversampling factor used for ``sample_rate``: a power of two >= 4 reaching 192 kHz."""
    factor = 4
    while sample_rate * factor < 192_000:
        factor *= 2
    return factor


def interpolation_filter(factor: int, taps_per_phase: int = _TAPS_PER_PHASE) -> np.ndarray:
    """Polyphase interpolation filter, shape ``(factor, taps_per_phase + 1)``, phase-major.

    A Kaiser-windowed sinc with its cut-off at the input's Nyquist frequency
    and unity gain per phase. Its length is odd, so the oversampled grid
    contains the original sample instants (phase 0 reproduces the input) and
    the other phases fall exactly between them. Row ``p``, reversed, is the
    phase that yields output ``n * factor + p`` as a dot product with the
    ``taps_per_phase + 1`` samples ending at ``x[n]`` (delayed by half the
    filter length).
    """
    length = factor * taps_per_phase + 1
    t = (np.arange(length) - (length - 1) / 2.0) / factor
    h = np.sinc(t) * np.kaiser(length, _KAISER_BETA)
    h = np.concatenate([h, np.zeros(factor - 1)])  # pad to a whole number of taps per phase
    phases = h.reshape(taps_per_phase + 1, factor).T  # phases[p, k] = h[k * factor + p]
    phases = phases / phases.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(phases[:, ::-1])


class TruePeakTracker:
    """Running maximum of the sample peak and the true peak, per channel.

    Feed blocks of any size with :meth:`update`; call :meth:`finish` once at
    the end (it measures the last, partial block of the grid).
    """

    def __init__(self, channels: int, sample_rate: int, dtype: np.dtype, *, oversample: bool = True) -> None:
        self.oversample = oversample  # False: track the sample peak only (true_peak stays nan)
        self.factor = oversampling_factor(sample_rate)
        self._dtype = np.dtype(dtype)
        # Phase 0 reproduces the input samples, which the sample peak covers.
        phases = interpolation_filter(self.factor)[1:]
        self._taps = phases.shape[1]
        self._l1 = float(np.abs(phases).sum(axis=1).max()) * _BOUND_MARGIN
        # the compiled kernel takes phases three at a time: pad with zero phases (zero outputs)
        padded = np.zeros((-(-phases.shape[0] // 3) * 3, phases.shape[1]))
        padded[: phases.shape[0]] = phases
        self._phases = padded.astype(self._dtype)
        self._context = np.zeros((channels, self._taps - 1), self._dtype)
        self._pending = np.zeros((channels, _BLOCK), self._dtype)
        self._n_pending = 0
        self._previous_block_max = np.zeros(channels)
        self.sample_peak = np.zeros(channels)
        self.true_peak = np.zeros(channels) if oversample else np.full(channels, np.nan)

    def update(self, x: np.ndarray) -> None:
        """Take the next block ``x`` of shape ``(channels, n)``."""
        n = x.shape[1]
        start = 0
        if self._n_pending:
            take = min(_BLOCK - self._n_pending, n)
            self._pending[:, self._n_pending : self._n_pending + take] = x[:, :take]
            self._n_pending += take
            start = take
            if self._n_pending < _BLOCK:
                return
            self._blocks(self._pending, 0, _BLOCK)
            self._n_pending = 0
        whole = (n - start) // _BLOCK * _BLOCK
        if whole:
            self._blocks(x, start, start + whole)
        rest = n - start - whole
        if rest:
            self._pending[:, :rest] = x[:, start + whole :]
            self._n_pending = rest

    def finish(self) -> None:
        """Measure the end of the programme: the last partial grid block, and the
        interpolation around the final samples (the filter is centred, so it
        needs half its length of the silence that follows the programme)."""
        self.update(np.zeros((self._context.shape[0], (self._taps - 1) // 2), self._dtype))
        if self._n_pending:
            self._blocks(self._pending, 0, self._n_pending)
            self._n_pending = 0

    def _blocks(self, x: np.ndarray, start: int, stop: int) -> None:
        """Measure ``x[:, start:stop]``: whole grid blocks, or the programme's last partial one.

        One compiled call with Python's lock released (``true_peak_segment``): in a
        delivery's threads the five files' trackers held the lock for a dozen small numpy
        calls per channel and block (0.24 s of py-spy's samples per 300 s mix and stems).
        The blocks whose bound beats the running maximum are oversampled by a compiled
        kernel (three phases per pass over the input, vectorised across outputs: 4.5
        ns per input sample at 4x here), loudest bound first, skipping those whose
        bound no longer can; the whole meter on white noise went from 16.4 to 11.0 ns
        per channel-sample when that replaced a matrix product over gathered rows.
        """
        from sonicmix.loudness._kernels import true_peak_segment

        if not (x.flags.c_contiguous and x.flags.writeable):  # the kernel's one array type per dtype
            x, start, stop = np.array(x[:, start:stop], order="C"), 0, stop - start
        true_peak_segment(
            x,
            start,
            stop,
            _BLOCK,
            self._phases,
            self._l1,
            self.oversample,
            self._context,
            self._previous_block_max,
            self.sample_peak,
            self.true_peak,
        )


def true_peak(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-channel true peak (linear, not dB) of ``audio`` shaped ``(channels, samples)``.

    Examples
    --------
    >>> import numpy as np
    >>> n = np.arange(48000)
    >>> x = np.sin(2 * np.pi * n / 4 + np.pi / 4)[None, :]  # fs/4, samples at +-0.707
    >>> round(float(x.max()), 3), round(float(true_peak(x, 48000)[0]), 3)
    (0.707, 1.0)
    """
    tracker = TruePeakTracker(audio.shape[0], sample_rate, audio.dtype)
    if not (audio.flags.c_contiguous and audio.flags.writeable):  # the kernels' one array type
        audio = np.array(audio, order="C")
    tracker.update(audio)
    tracker.finish()
    return tracker.true_peak.copy()

"""EBU Tech 3341 / Tech 3342 test signals, and BS.1770 gating checks, generated in code.

Every builder returns ``(audio, sample_rate, expected)``: ``audio`` is
``(channels, samples)`` in the requested dtype, and ``expected`` holds the
published value and tolerance of each quantity the case checks. The wording of
each signal follows the standard's table; the sources are listed per case in
``docs/conformance.md``:

* EBU Tech 3341 (V3, January 2016; V4, November 2023 is "editorial and
  formatting changes" only), Table 1 "Minimum requirements test signals".
* EBU Tech 3342 (2016), Table 1 "Minimum requirements test signals".

Levels: in EBU's tables "-23 dBFS" for a sine is its *peak* amplitude,
``10 ** (-23 / 20)``; a stereo 1 kHz sine at that level reads -23 LUFS.

Cases that the standards define only as recorded files (Tech 3341 cases 7 and 8,
Tech 3342 cases 5 and 6, the ITU-R BS.2217 files) are listed in :data:`SKIPPED`
with the reason, and are not reproduced here.

Examples
--------
>>> audio, sample_rate, expected = tech3341_case1()
>>> audio.shape, audio.dtype, sample_rate
((2, 960000), dtype('float32'), 48000)
>>> expected.integrated_lufs
Target(value=-23.0, minus=0.1, plus=0.1)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "Target",
    "SeriesTarget",
    "Segment",
    "Expected",
    "CASES",
    "TRUE_PEAK_CASES",
    "TRUE_PEAK_SAMPLE_RATES",
    "SKIPPED",
    "bandlimited_peak_dbtp",
]

#: Rates at which the true-peak cases (defined relative to fs) are built.
TRUE_PEAK_SAMPLE_RATES = (44100, 48000, 96000)

_LOUDNESS_TOL_LU = 0.1  # Tech 3341 Table 1: M, S, I within +-0.1 LU
_TP_MINUS_DB, _TP_PLUS_DB = 0.4, 0.2  # Tech 3341 Table 1: true peak +0.2 / -0.4 dB
_LRA_TOL_LU = 1.0  # Tech 3342 Table 1: LRA within +-1 LU
_FADE_S = 0.010  # Tech 3341 cases 15-23: "tapered with a 10 ms fade-in and fade-out"


@dataclass(frozen=True, slots=True)
class Target:
    """A published value with its accepted deviation below (``minus``) and above (``plus``)."""

    value: float
    minus: float
    plus: float

    def contains(self, measured: float) -> bool:
        """True if ``measured`` lies within ``[value - minus, value + plus]``."""
        return self.value - self.minus <= measured <= self.value + self.plus

    def __str__(self) -> str:
        if self.minus == self.plus:
            return f"{self.value:+.1f} +-{self.plus:g}"
        return f"{self.value:+.1f} +{self.plus:g}/-{self.minus:g}"


def _sym(value: float, tol: float) -> Target:
    return Target(value, tol, tol)


@dataclass(frozen=True, slots=True)
class SeriesTarget:
    """Every value of a series whose window ends at or after ``from_s`` must meet ``target``."""

    from_s: float
    target: Target


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch ``[start_sample, end_sample)`` with its own expected maximum M or S.

    Used by the cases that check successive values (Tech 3341 cases 11 and 14).
    The maximum is taken over the windows that *end* inside the segment.
    """

    start_sample: int
    end_sample: int
    momentary_max_lufs: Target | None = None
    short_term_max_lufs: Target | None = None


@dataclass(frozen=True, slots=True)
class Expected:
    """Published expectations for one test signal; ``None`` means "not checked by this case"."""

    integrated_lufs: Target | None = None
    momentary_max_lufs: Target | None = None
    short_term_max_lufs: Target | None = None
    momentary_lufs: SeriesTarget | None = None
    short_term_lufs: SeriesTarget | None = None
    lra_lu: Target | None = None
    true_peak_dbtp: Target | None = None
    segments: tuple[Segment, ...] = ()
    layout: str | None = None
    #: Peak of the ideal band-limited reconstruction of the generated samples
    #: (not a published value; reported in docs/conformance.md).
    true_peak_truth_dbtp: float | None = None
    source: str = ""
    notes: str = field(default="", compare=False)


Built = tuple[NDArray[np.floating], int, Expected]


# --------------------------------------------------------------------------- helpers


def _db_to_amp(level_dbfs: float) -> float:
    return 10.0 ** (level_dbfs / 20.0)


def _n(duration_s: float, sample_rate: int) -> int:
    return int(round(duration_s * sample_rate))


def _stereo_tone_sequence(
    segments: Sequence[tuple[float, float | None]],
    sample_rate: int,
    *,
    frequency_hz: float = 1000.0,
    channels: int = 2,
) -> NDArray[np.float64]:
    """Concatenate ``(duration_s, level_dbfs or None for silence)`` segments of one sine.

    The sine runs with continuous phase across segments (only its amplitude
    steps); every channel carries the same signal, in phase.
    """
    lengths = [_n(d, sample_rate) for d, _ in segments]
    amp = np.concatenate(
        [
            np.full(n, 0.0 if lvl is None else _db_to_amp(lvl))
            for n, (_, lvl) in zip(lengths, segments, strict=True)
        ]
    )
    t = np.arange(amp.size, dtype=np.float64)
    tone = np.sin(2.0 * np.pi * frequency_hz / sample_rate * t) * amp
    return np.tile(tone, (channels, 1))


def _segment_starts(segments: Sequence[tuple[float, float | None]], sample_rate: int) -> list[int]:
    starts, pos = [], 0
    for d, _ in segments:
        starts.append(pos)
        pos += _n(d, sample_rate)
    return starts


def _fade(x: NDArray[np.float64], sample_rate: int, fade_s: float = _FADE_S) -> NDArray[np.float64]:
    """Raised-cosine fade-in and fade-out of ``fade_s`` at both ends (last axis)."""
    n = _n(fade_s, sample_rate)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    y = x.copy()
    y[..., :n] *= ramp
    y[..., -n:] *= ramp[::-1]
    return y


def bandlimited_peak_dbtp(audio: NDArray[np.floating], factor: int = 32) -> float:
    """Peak of the ideal (sinc) reconstruction of ``audio``, in dB re full scale.

    The signal is treated as one period of a periodic signal and resampled
    ``factor`` times by FFT zero-padding, which is exact band-limited
    interpolation for a periodic signal. Signals here fade to zero at both ends,
    so the periodic extension adds no discontinuity. Residual error of the grid
    is below ``1 - cos(pi / (2 * factor))`` of the peak (< 0.01 dB at 32x for
    content up to fs/2).
    """
    from scipy import signal

    x = np.asarray(audio, dtype=np.float64)
    up = signal.resample(x, x.shape[-1] * factor, axis=-1)
    return float(20.0 * np.log10(np.max(np.abs(up))))


def _finish(x: NDArray[np.float64], sample_rate: int, expected: Expected, dtype: DTypeLike) -> Built:
    return np.ascontiguousarray(x, dtype=dtype), sample_rate, expected


_T3341 = "EBU Tech 3341 (2016/2023) Table 1, case {}"
_T3342 = "EBU Tech 3342 (2016) Table 1, case {}"


# --------------------------------------------------------------------------- Tech 3341: M, S, I


def tech3341_case1(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """Stereo 1 kHz sine at -23 dBFS, 20 s: M, S, I = -23.0 +-0.1 LUFS."""
    x = _stereo_tone_sequence([(20.0, -23.0)], sample_rate)
    t = _sym(-23.0, _LOUDNESS_TOL_LU)
    exp = Expected(
        integrated_lufs=t,
        momentary_max_lufs=t,
        short_term_max_lufs=t,
        momentary_lufs=SeriesTarget(0.4, t),
        short_term_lufs=SeriesTarget(3.0, t),
        source=_T3341.format(1),
    )
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case2(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """As case 1 at -33 dBFS: M, S, I = -33.0 +-0.1 LUFS."""
    x = _stereo_tone_sequence([(20.0, -33.0)], sample_rate)
    t = _sym(-33.0, _LOUDNESS_TOL_LU)
    exp = Expected(
        integrated_lufs=t,
        momentary_max_lufs=t,
        short_term_max_lufs=t,
        momentary_lufs=SeriesTarget(0.4, t),
        short_term_lufs=SeriesTarget(3.0, t),
        source=_T3341.format(2),
    )
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case3(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """10 s at -36, 60 s at -23, 10 s at -36 dBFS: I = -23.0 +-0.1 (relative gate)."""
    x = _stereo_tone_sequence([(10.0, -36.0), (60.0, -23.0), (10.0, -36.0)], sample_rate)
    exp = Expected(integrated_lufs=_sym(-23.0, _LOUDNESS_TOL_LU), source=_T3341.format(3))
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case4(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """10 s -72, 10 s -36, 60 s -23, 10 s -36, 10 s -72 dBFS: I = -23.0 +-0.1 (both gates)."""
    segs = [(10.0, -72.0), (10.0, -36.0), (60.0, -23.0), (10.0, -36.0), (10.0, -72.0)]
    x = _stereo_tone_sequence(segs, sample_rate)
    exp = Expected(integrated_lufs=_sym(-23.0, _LOUDNESS_TOL_LU), source=_T3341.format(4))
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case5(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """20 s at -26, 20.1 s at -20, 20 s at -26 dBFS: I = -23.0 +-0.1."""
    x = _stereo_tone_sequence([(20.0, -26.0), (20.1, -20.0), (20.0, -26.0)], sample_rate)
    exp = Expected(integrated_lufs=_sym(-23.0, _LOUDNESS_TOL_LU), source=_T3341.format(5))
    return _finish(x, sample_rate, exp, dtype)


def _case6_levels() -> list[float]:
    # L, R, C, Ls, Rs per-channel peak levels of Tech 3341 case 6
    return [-28.0, -28.0, -24.0, -30.0, -30.0]


def tech3341_case6(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """5.0 (L R C Ls Rs) 1 kHz sine, 20 s, at -28/-28/-24/-30/-30 dBFS: I = -23.0 +-0.1."""
    n = _n(20.0, sample_rate)
    tone = np.sin(2.0 * np.pi * 1000.0 / sample_rate * np.arange(n))
    x = np.stack([tone * _db_to_amp(lvl) for lvl in _case6_levels()])
    exp = Expected(integrated_lufs=_sym(-23.0, _LOUDNESS_TOL_LU), layout="5.0", source=_T3341.format(6))
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case6_51(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """Case 6 as the test set's 6-channel file: 5.1 (L R C LFE Ls Rs) with a silent LFE."""
    x5, _, _ = tech3341_case6(sample_rate, np.float64)
    x = np.insert(x5, 3, 0.0, axis=0)
    exp = Expected(
        integrated_lufs=_sym(-23.0, _LOUDNESS_TOL_LU),
        layout="5.1",
        source=_T3341.format(6) + " (6-channel WAVEEX variant of the EBU test set: silent LFE)",
    )
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case9(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """(1.34 s at -20, 1.66 s at -30 dBFS) x 5: S = -23.0 +-0.1, constant after 3 s."""
    x = _stereo_tone_sequence([(1.34, -20.0), (1.66, -30.0)] * 5, sample_rate)
    t = _sym(-23.0, _LOUDNESS_TOL_LU)
    exp = Expected(short_term_lufs=SeriesTarget(3.0, t), short_term_max_lufs=t, source=_T3341.format(9))
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case10(i: int, sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """Segment ``i`` (0..19) of case 10, for file-based meters: max S = -23.0 +-0.1.

    (i * 0.15 s of silence; 3 s at -23 dBFS; 1 s of silence). The EBU test set
    ships each segment as its own file, seq-3341-10-{i+1}.
    """
    _check_segment_index(i)
    x = _stereo_tone_sequence([(0.15 * i, None), (3.0, -23.0), (1.0, None)], sample_rate)
    exp = Expected(short_term_max_lufs=_sym(-23.0, _LOUDNESS_TOL_LU), source=_T3341.format(10) + f", i={i}")
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case11(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """For 'live' meters: 20 x (i*0.15 s silence; 3 s at -38+i dBFS; 3 - i*0.15 s silence).

    Max S = -38, -37, ..., -19 +-0.1 LUFS, successive values (one per segment).
    """
    segs: list[tuple[float, float | None]] = []
    for i in range(20):
        segs += [(0.15 * i, None), (3.0, -38.0 + i), (3.0 - 0.15 * i, None)]
    x = _stereo_tone_sequence(segs, sample_rate)
    starts = _segment_starts(segs, sample_rate)[::3] + [x.shape[-1]]
    segments = tuple(
        Segment(starts[i], starts[i + 1], short_term_max_lufs=_sym(-38.0 + i, _LOUDNESS_TOL_LU))
        for i in range(20)
    )
    exp = Expected(segments=segments, source=_T3341.format(11))
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case12(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """(0.18 s at -20, 0.22 s at -30 dBFS) x 25: M = -23.0 +-0.1, constant after 1 s."""
    x = _stereo_tone_sequence([(0.18, -20.0), (0.22, -30.0)] * 25, sample_rate)
    t = _sym(-23.0, _LOUDNESS_TOL_LU)
    exp = Expected(momentary_lufs=SeriesTarget(1.0, t), momentary_max_lufs=t, source=_T3341.format(12))
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case13(i: int, sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """Segment ``i`` (0..19) of case 13, for file-based meters: max M = -23.0 +-0.1.

    (i * 20 ms of silence; 400 ms at -23 dBFS; 1 s of silence). The EBU test set
    ships each segment as its own file, seq-3341-13-{i+1}. A meter that takes
    the maximum over a 100 ms grid of window positions misses up to 40 ms of
    the burst here (-0.46 LU); the case requires a finer search.
    """
    _check_segment_index(i)
    x = _stereo_tone_sequence([(0.02 * i, None), (0.4, -23.0), (1.0, None)], sample_rate)
    exp = Expected(momentary_max_lufs=_sym(-23.0, _LOUDNESS_TOL_LU), source=_T3341.format(13) + f", i={i}")
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case14(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """For 'live' meters: 20 x (i*20 ms silence; 400 ms at -38+i dBFS; 400 - i*20 ms silence).

    Max M = -38, -37, ..., -19 +-0.1 LUFS, successive values (one per segment).
    """
    segs: list[tuple[float, float | None]] = []
    for i in range(20):
        segs += [(0.02 * i, None), (0.4, -38.0 + i), (0.4 - 0.02 * i, None)]
    x = _stereo_tone_sequence(segs, sample_rate)
    starts = _segment_starts(segs, sample_rate)[::3] + [x.shape[-1]]
    segments = tuple(
        Segment(starts[i], starts[i + 1], momentary_max_lufs=_sym(-38.0 + i, _LOUDNESS_TOL_LU))
        for i in range(20)
    )
    exp = Expected(segments=segments, source=_T3341.format(14))
    return _finish(x, sample_rate, exp, dtype)


def _check_segment_index(i: int) -> None:
    if not 0 <= i <= 19:
        raise ValueError(f"i={i} is out of range; expected 0 <= i <= 19 (the 20 segments of the case)")


# --------------------------------------------------------------------------- Tech 3341: true peak


def _tp_sine(
    case: int,
    divisor: int,
    amplitude: float,
    phase_deg: float,
    expected_dbtp: float,
    sample_rate: int,
    dtype: DTypeLike,
    duration_s: float,
) -> Built:
    n = _n(duration_s, sample_rate)
    tone = amplitude * np.sin(2.0 * np.pi * np.arange(n) / divisor + np.deg2rad(phase_deg))
    x = _fade(np.tile(tone, (2, 1)), sample_rate)
    exp = Expected(
        true_peak_dbtp=Target(expected_dbtp, _TP_MINUS_DB, _TP_PLUS_DB),
        true_peak_truth_dbtp=bandlimited_peak_dbtp(x[:1]),
        source=_T3341.format(case) + f" at fs={sample_rate} Hz",
    )
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case15(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """Stereo sine at fs/4, amplitude 0.50, phase 0 deg: true peak -6.0 +0.2/-0.4 dBTP."""
    return _tp_sine(15, 4, 0.50, 0.0, -6.0, sample_rate, dtype, duration_s)


def tech3341_case16(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """Stereo sine at fs/4, amplitude 0.50, phase 45 deg: true peak -6.0 +0.2/-0.4 dBTP."""
    return _tp_sine(16, 4, 0.50, 45.0, -6.0, sample_rate, dtype, duration_s)


def tech3341_case17(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """Stereo sine at fs/6, amplitude 0.50, phase 60 deg: true peak -6.0 +0.2/-0.4 dBTP."""
    return _tp_sine(17, 6, 0.50, 60.0, -6.0, sample_rate, dtype, duration_s)


def tech3341_case18(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """Stereo sine at fs/8, amplitude 0.50, phase 67.5 deg: true peak -6.0 +0.2/-0.4 dBTP."""
    return _tp_sine(18, 8, 0.50, 67.5, -6.0, sample_rate, dtype, duration_s)


def tech3341_case19(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """Stereo sine at fs/4, amplitude 1.41, phase 45 deg: true peak +3.0 +0.2/-0.4 dBTP.

    Its samples are +-0.997 (sample peak -0.03 dBFS), its true peak +2.98 dBTP.
    """
    return _tp_sine(19, 4, 1.41, 45.0, 3.0, sample_rate, dtype, duration_s)


def _antialias_fir(up: int) -> NDArray[np.float64]:
    """Linear-phase low-pass for decimation by ``up``: pass to 0.45 fs, stop from 0.5 fs (at fs/up).

    Kaiser window for ~100 dB stop-band attenuation; the standard asks only for
    "lowpass (anti-aliasing) filtered", so any filter that removes everything
    above fs/2 and passes the fs/4 and fs/6 tones unchanged fits.
    """
    from scipy import signal

    numtaps, beta = signal.kaiserord(100.0, 0.05 / up * 2.0)
    numtaps |= 1  # odd length: integer group delay, so offsets stay whole samples
    return signal.firwin(numtaps, 0.475 / up * 2.0, window=("kaiser", beta))


def _inter_sample_case(
    case: int, offset: int, sample_rate: int, dtype: DTypeLike, duration_s: float
) -> Built:
    """Tech 3341 cases 20-23 (see :func:`tech3341_case20`)."""
    from scipy import signal

    up = 4
    fs_hi = up * sample_rate
    n_hi = _n(duration_s, fs_hi)
    period_slow = 6 * up  # fs/6 at 4*fs: 24 samples per period
    period_fast = 4 * up  # fs/4 at 4*fs: 16 samples per period (the single period)
    # the single fs/4 period starts where the fs/6 sine crosses zero upwards, near the middle
    start = (n_hi // 2 // period_slow) * period_slow
    k = np.arange(n_hi)
    phase = 2.0 * np.pi * k / period_slow
    x_hi = 0.5 * np.sin(phase)
    # after the burst the fs/6 sine resumes at the phase it had at the burst's start (phase 0)
    after = k >= start + period_fast
    x_hi[after] = 0.5 * np.sin(2.0 * np.pi * (k[after] - period_fast) / period_slow)
    burst = slice(start, start + period_fast)
    x_hi[burst] = 1.0 * np.sin(2.0 * np.pi * np.arange(period_fast) / period_fast)
    h = _antialias_fir(up)
    y_hi = signal.fftconvolve(x_hi, h, mode="same")
    x = y_hi[offset::up][: _n(duration_s, sample_rate)]
    x = _fade(np.tile(x, (2, 1)), sample_rate)
    exp = Expected(
        true_peak_dbtp=Target(0.0, _TP_MINUS_DB, _TP_PLUS_DB),
        true_peak_truth_dbtp=bandlimited_peak_dbtp(x[:1]),
        source=_T3341.format(case) + f" at fs={sample_rate} Hz (offset {offset} at 4*fs)",
    )
    return _finish(x, sample_rate, exp, dtype)


def tech3341_case20(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """Stereo fs/6 sine (amplitude 0.50) holding one period of fs/4 at amplitude 1.00.

    The signal is phase-continuous at both sides of the single period, made at
    4*fs, low-pass (anti-alias) filtered and decimated to fs with offset 0 (at
    4*fs), then faded in and out. Expected true peak 0.0 +0.2/-0.4 dBTP.
    """
    return _inter_sample_case(20, 0, sample_rate, dtype, duration_s)


def tech3341_case21(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """As case 20, decimated with an offset of 1 sample at 4*fs: 0.0 +0.2/-0.4 dBTP."""
    return _inter_sample_case(21, 1, sample_rate, dtype, duration_s)


def tech3341_case22(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """As case 20, decimated with an offset of 2 samples at 4*fs: 0.0 +0.2/-0.4 dBTP."""
    return _inter_sample_case(22, 2, sample_rate, dtype, duration_s)


def tech3341_case23(
    sample_rate: int = 48000, dtype: DTypeLike = np.float32, duration_s: float = 1.0
) -> Built:
    """As case 20, decimated with an offset of 3 samples at 4*fs: 0.0 +0.2/-0.4 dBTP."""
    return _inter_sample_case(23, 3, sample_rate, dtype, duration_s)


# --------------------------------------------------------------------------- Tech 3342: LRA


def _lra_case(
    case: int, levels: Sequence[float], expected_lu: float, sample_rate: int, dtype: DTypeLike
) -> Built:
    x = _stereo_tone_sequence([(20.0, lvl) for lvl in levels], sample_rate)
    exp = Expected(lra_lu=_sym(expected_lu, _LRA_TOL_LU), source=_T3342.format(case))
    return _finish(x, sample_rate, exp, dtype)


def tech3342_case1(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """20 s at -20, 20 s at -30 dBFS (1 kHz stereo): LRA = 10 +-1 LU."""
    return _lra_case(1, [-20.0, -30.0], 10.0, sample_rate, dtype)


def tech3342_case2(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """20 s at -20, 20 s at -15 dBFS: LRA = 5 +-1 LU."""
    return _lra_case(2, [-20.0, -15.0], 5.0, sample_rate, dtype)


def tech3342_case3(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """20 s at -40, 20 s at -20 dBFS: LRA = 20 +-1 LU."""
    return _lra_case(3, [-40.0, -20.0], 20.0, sample_rate, dtype)


def tech3342_case4(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """20 s each at -50, -35, -20, -35, -50 dBFS: LRA = 15 +-1 LU."""
    return _lra_case(4, [-50.0, -35.0, -20.0, -35.0, -50.0], 15.0, sample_rate, dtype)


# --------------------------------------------------------------------------- BS.1770 gating (analytic)


def k_weighting_gain_db(frequency_hz: float) -> float:
    """Gain of the BS.1770 K-weighting at ``frequency_hz``, from the published 48 kHz coefficients.

    ITU-R BS.1770-5, Annex 1, Tables 1 and 2 (pre-filter and RLB high-pass).
    """
    from scipy import signal

    shelf_b = [1.53512485958697, -2.69169618940638, 1.19839281085285]
    shelf_a = [1.0, -1.69065929318241, 0.73248077421585]
    hp_b = [1.0, -2.0, 1.0]
    hp_a = [1.0, -1.99004745483398, 0.99007225036621]
    w = 2.0 * np.pi * frequency_hz / 48000.0
    _, h1 = signal.freqz(shelf_b, shelf_a, worN=[w])
    _, h2 = signal.freqz(hp_b, hp_a, worN=[w])
    return float(20.0 * np.log10(abs(h1[0] * h2[0])))


def _stereo_1k_dbfs_for_lufs(loudness_lufs: float) -> float:
    """Peak level (dBFS) of a stereo 1 kHz sine that reads ``loudness_lufs``.

    BS.1770: L = -0.691 + 10 log10(sum_ch mean square of K-weighted signal);
    each channel's mean square is (A^2 / 2) * |K(1 kHz)|^2, two channels sum to
    A^2 |K|^2, so L = -0.691 + 20 log10(A) + 20 log10|K(1 kHz)|.
    """
    return loudness_lufs + 0.691 - k_weighting_gain_db(1000.0)


def bs1770_absolute_gate(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """20 s at -69.5 LUFS then 20 s at -75 LUFS (stereo 1 kHz): I = -69.5 +-0.1 LUFS.

    Our own analytic case, modelled on the aim of BS.2217's absolute-gate file
    (whose content is not published in text). The -75 LUFS blocks lie above
    the relative threshold (-79.5) but below the -70 LUFS absolute gate; a meter
    without the absolute gate reads about -71.7. Blocks straddling the step are
    below -70 as well, so the ideal result is the -69.5 tone alone.
    """
    levels = [_stereo_1k_dbfs_for_lufs(-69.5), _stereo_1k_dbfs_for_lufs(-75.0)]
    x = _stereo_tone_sequence([(20.0, levels[0]), (20.0, levels[1])], sample_rate)
    exp = Expected(
        integrated_lufs=_sym(-69.5, _LOUDNESS_TOL_LU),
        source="ITU-R BS.1770-5 gating (analytic; modelled on BS.2217 1770-2_Comp_AbsGateTest, -69.5 LKFS)",
    )
    return _finish(x, sample_rate, exp, dtype)


def bs1770_relative_gate(sample_rate: int = 48000, dtype: DTypeLike = np.float32) -> Built:
    """30 s at -10 LUFS then 30 s at -25 LUFS (stereo 1 kHz): I = -10.0 +-0.1 LUFS.

    Our own analytic case, modelled on BS.2217's relative-gate file (-10.0 LKFS).
    The ungated mean is -12.9 LUFS, so the relative threshold (-22.9) removes
    the -25 LUFS half; the three blocks straddling the step stay above it and
    pull the ideal result to -10.02. Without the relative gate a meter reads -12.9.
    """
    levels = [_stereo_1k_dbfs_for_lufs(-10.0), _stereo_1k_dbfs_for_lufs(-25.0)]
    x = _stereo_tone_sequence([(30.0, levels[0]), (30.0, levels[1])], sample_rate)
    exp = Expected(
        integrated_lufs=_sym(-10.0, _LOUDNESS_TOL_LU),
        source="ITU-R BS.1770-5 gating (analytic; modelled on BS.2217 1770-2_Comp_RelGateTest, -10.0 LKFS)",
    )
    return _finish(x, sample_rate, exp, dtype)


# --------------------------------------------------------------------------- registry

#: case id -> zero-argument builder at the case's defined rate (48 kHz), float32.
CASES: dict[str, Callable[[], Built]] = {
    "3341-1": tech3341_case1,
    "3341-2": tech3341_case2,
    "3341-3": tech3341_case3,
    "3341-4": tech3341_case4,
    "3341-5": tech3341_case5,
    "3341-6": tech3341_case6,
    "3341-6-5.1": tech3341_case6_51,
    "3341-9": tech3341_case9,
    **{f"3341-10-{i + 1}": (lambda i=i: tech3341_case10(i)) for i in range(20)},
    "3341-11": tech3341_case11,
    "3341-12": tech3341_case12,
    **{f"3341-13-{i + 1}": (lambda i=i: tech3341_case13(i)) for i in range(20)},
    "3341-14": tech3341_case14,
    "3342-1": tech3342_case1,
    "3342-2": tech3342_case2,
    "3342-3": tech3342_case3,
    "3342-4": tech3342_case4,
    "bs1770-abs-gate": bs1770_absolute_gate,
    "bs1770-rel-gate": bs1770_relative_gate,
}

#: true-peak case id -> builder taking ``(sample_rate, dtype)``; each is built at
#: every rate in :data:`TRUE_PEAK_SAMPLE_RATES` (the cases are defined relative to fs).
TRUE_PEAK_CASES: dict[str, Callable[..., Built]] = {
    "3341-15": tech3341_case15,
    "3341-16": tech3341_case16,
    "3341-17": tech3341_case17,
    "3341-18": tech3341_case18,
    "3341-19": tech3341_case19,
    "3341-20": tech3341_case20,
    "3341-21": tech3341_case21,
    "3341-22": tech3341_case22,
    "3341-23": tech3341_case23,
}

#: Published cases not generated here, with the reason.
SKIPPED: dict[str, str] = {
    "3341-7": "authentic programme 1 (stereo, narrow loudness range): a recorded file, not synthetic",
    "3341-8": "authentic programme 2 (stereo, wide loudness range): a recorded file, not synthetic",
    "3342-5": "the same recorded programme as Tech 3341 case 7",
    "3342-6": "the same recorded programme as Tech 3341 case 8",
    "BS.2217 files": (
        "ITU-R BS.2217 compliance material is distributed as WAV files; only file names and expected "
        "readings are published in text (e.g. RelGateTest -10.0 LKFS, AbsGateTest -69.5 LKFS), "
        "not the signal definitions. Analytic gate cases 'bs1770-abs-gate'/'bs1770-rel-gate' stand in."
    ),
}


def level_dbfs_to_amplitude(level_dbfs: float) -> float:
    """Peak amplitude of a sine at ``level_dbfs`` in EBU's convention (peak, not RMS).

    >>> round(level_dbfs_to_amplitude(-23.0), 6)
    0.070795
    """
    return _db_to_amp(level_dbfs)


def amplitude_to_dbfs(amplitude: float) -> float:
    """Inverse of :func:`level_dbfs_to_amplitude` (``-inf`` for zero)."""
    return -math.inf if amplitude == 0 else 20.0 * math.log10(amplitude)

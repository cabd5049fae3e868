"""Level detection, gain computers and attack/release smoothing for dynamics processors.

The pieces of a feed-forward compressor, gate or de-esser, after Giannoulis,
Massberg & Reiss (JAES 2012), as plain functions over arrays:

1. a *level detector* turns the detector signal into a level in dB:
   :func:`peak_db` (instantaneous ``|x|``) or :func:`moving_mean_square`
   followed by :func:`power_db` (RMS over a rectangular window);
2. a *gain computer* maps that level to a target gain in dB (<= 0), sample by
   sample and fully vectorized: :func:`compressor_gain_db` (the paper's static
   curve with a quadratic soft knee) and :func:`expander_gain_db` (downward
   expander / gate with a floor);
3. a *smoother* follows the target gain with a one-pole filter in the dB
   domain whose coefficient depends on the direction of change
   (:func:`smooth_gain_db`), optionally with a hold (:func:`smooth_gain_db_hold`).

:func:`compressor_gain` runs steps 1 to 3 for a compressor in one compiled
pass per block, one smoother per row (a linked or mono compressor has one
row, an unlinked one a row per channel), and returns the linear gain. Its
logarithm and exponential, like those of :func:`level_db` and
:func:`db_to_amplitude`, are polynomial kernels that vectorize on any x86-64
vector width without a vector-math library (numpy's float32 ``log10`` is a
scalar call per sample on a CPU without AVX-512, numba's ``math.log`` is one
everywhere), in float32 for float32 audio and float64 otherwise, within a
few units in the last place (see :func:`level_db` and :func:`db_to_amplitude`).

Audio is ``(channels, samples)`` with time last. The sequential parts (the
smoothers and the running mean square) are small numba kernels whose state is
explicit: arrays that the caller owns and that the kernels update in place, so
that processing a signal in blocks gives exactly the samples of processing it
whole. The running sums and smoothed values are float64 whatever the audio
dtype; the arrays in and out are float32 or float64.

This module imports numba (about 0.25 s), so nodes import it only when they
first process audio; the kernels are compiled on first use and cached on disk.
They are written with ``error_model="numpy"`` (a division does not test its
divisor, which would stop the loop from vectorizing) and allow only FMA
contraction, so results do not depend on how a loop is vectorized.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload
from numpy.typing import NDArray

from sonicmix._checks import check_range, check_sample_rate
from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = [
    "one_pole_coefficient",
    "peak_db",
    "power_db",
    "level_db",
    "db_to_amplitude",
    "compressor_gain_db",
    "expander_gain_db",
    "MeanSquareState",
    "init_mean_square",
    "moving_mean_square",
    "smooth_gain_db",
    "smooth_gain_db_hold",
    "compressor_gain",
]

#: Levels below this amplitude (-400 dB) are treated as this amplitude, so that
#: silence gives a finite level in dB in float32 and float64 alike.
AMPLITUDE_FLOOR = 1e-20
#: The floor for a mean square (power): -360 dB, a normal number in float32.
POWER_FLOOR = 1e-36

_LN10 = math.log(10.0)
#: ``exp(gain_db * _DB_TO_LN)`` is the amplitude factor of ``gain_db``.
_DB_TO_LN = _LN10 / 20.0


# --------------------------------------------------------------------------- coefficients


def one_pole_coefficient(time_s: float, sample_rate: int) -> float:
    """Pole of a one-pole smoother with time constant ``time_s``: ``exp(-1 / (time_s * sample_rate))``.

    The smoother ``y[n] = a * y[n-1] + (1 - a) * u[n]`` answers a step in ``u``
    with ``1 - a**k`` of the step after ``k`` samples (counting the step's own
    sample), which is ``1 - 1/e`` (63.2 %) after ``time_s * sample_rate``
    samples. ``time_s == 0`` gives ``0``: the output follows the input at once.

    Parameters
    ----------
    time_s : float
        Time constant in seconds, >= 0.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    a : float
        Pole in ``[0, 1)``.

    References
    ----------
    D. Giannoulis, M. Massberg, J. D. Reiss, "Digital dynamic range compressor
    design: a tutorial and analysis", J. Audio Eng. Soc. 60(6), 2012, sec. 3.

    Examples
    --------
    >>> a = one_pole_coefficient(0.005, 48000)
    >>> round(1 - a**240, 4)  # 240 samples = 5 ms at 48 kHz
    0.6321
    """
    tau = check_range("time_s", time_s, low=0.0)
    rate = check_sample_rate(sample_rate)
    if tau == 0.0:
        return 0.0
    return math.exp(-1.0 / (tau * rate))


# --------------------------------------------------------------------------- level detection


def peak_db(x: NDArray[np.floating], *, out: NDArray[np.floating] | None = None) -> NDArray[np.floating]:
    """Instantaneous level ``20 * log10(|x|)`` in dB, floored at -400 dB.

    :func:`level_db` with 20 dB per decade and :data:`AMPLITUDE_FLOOR`.

    Parameters
    ----------
    x : np.ndarray, float32 or float64
        Signal (any shape).
    out : np.ndarray, optional
        Output of the same shape and dtype, C-contiguous; may be ``x`` itself.

    Returns
    -------
    level_db : np.ndarray
        Level in dB re full scale, same shape and dtype as ``x``.

    Examples
    --------
    >>> peak_db(np.array([0.5, -1.0, 0.0])).round(2)
    array([  -6.02,    0.  , -400.  ])
    """
    return level_db(x, db_per_decade=20.0, floor=AMPLITUDE_FLOOR, out=out)


def power_db(p: NDArray[np.floating], *, out: NDArray[np.floating] | None = None) -> NDArray[np.floating]:
    """Level ``10 * log10(p)`` in dB of a power (mean square), floored at -360 dB.

    :func:`level_db` with 10 dB per decade and :data:`POWER_FLOOR`.

    Parameters
    ----------
    p : np.ndarray, float32 or float64
        Mean square, >= 0 (any shape).
    out : np.ndarray, optional
        Output of the same shape and dtype, C-contiguous; may be ``p`` itself.

    Returns
    -------
    level_db : np.ndarray
        Level in dB re full scale (a full-scale sine's mean square 0.5 is -3.01 dB).

    Examples
    --------
    >>> power_db(np.array([0.5, 1e-4])).round(2)
    array([ -3.01, -40.  ])
    """
    return level_db(p, db_per_decade=10.0, floor=POWER_FLOOR, out=out)


def level_db(
    x: NDArray[np.floating], *, db_per_decade: float, floor: float, out: NDArray[np.floating] | None = None
) -> NDArray[np.floating]:
    """``db_per_decade * log10(max(|x|, floor))``: a level in dB of amplitudes (20) or powers (10).

    A compiled logarithm that vectorizes, in the dtype of ``x``: ``x = 2**k *
    m`` with ``m`` in ``[sqrt(1/2), sqrt(2))`` split off the exponent bits, then
    ``log(m) = 2 atanh(s)``, ``s = (m - 1) / (m + 1)``, summed to the ``s**17``
    term in float64 (the rest is below 4e-16) and to ``s**9`` in float32
    (below 1e-9). Measured against a long-double (float32: a float64)
    ``log10`` on 2**21 values spread over the normal range: a level is within
    1.4e-15 of itself and 6e-15 dB in float64, and within 2.3e-7 of itself
    (2.5 units in the last place) and 1.4e-7 dB in float32, where the level
    of -40 dBFS is then within 1e-5 dB (float32's spacing there is 4e-6 dB).

    Parameters
    ----------
    x : np.ndarray, float32 or float64
        Amplitudes or powers (any shape).
    db_per_decade : float
        20 for amplitudes, 10 for powers.
    floor : float
        Smallest value taken (e.g. :data:`AMPLITUDE_FLOOR`), at least the
        smallest normal number of the dtype.
    out : np.ndarray, optional
        Output of the same shape and dtype, C-contiguous; may be ``x`` itself.

    Returns
    -------
    level_db : np.ndarray
        Same shape and dtype as ``x``.

    Examples
    --------
    >>> level_db(np.array([2.0, 1e-3, 0.0]), db_per_decade=20.0, floor=1e-5)
    array([   6.02059991,  -60.        , -100.        ])
    """
    x = np.ascontiguousarray(x)
    tiny = float(np.finfo(x.dtype).tiny)
    check_range("floor", floor, low=tiny, hint=f"the logarithm needs a normal {x.dtype} (>= {tiny:.3g})")
    if out is None:
        out = np.empty_like(x)
    if x.size:
        _level_db_kernel(x.reshape(-1), x.dtype.type(floor), float(db_per_decade) / _LN10, out.reshape(-1))
    return out


def db_to_amplitude(
    gain_db: NDArray[np.floating], *, makeup_db: float = 0.0, out: NDArray[np.floating] | None = None
) -> NDArray[np.floating]:
    """Amplitude factor ``10 ** ((gain_db + makeup_db) / 20)`` of a gain in dB.

    ``exp`` of ``(gain_db + makeup_db) * ln(10) / 20`` (rounded to the dtype
    of ``gain_db``), by a compiled exponential that vectorizes, in that dtype:
    ``2**n * exp(r)`` with ``n`` the nearest integer to the argument over
    ``ln 2`` and ``|r| <= ln(2) / 2``, ``exp(r)`` summed to the ``r**12`` term
    in float64 (the rest is below 2e-16) and to ``r**7`` in float32 (below
    5e-9). Against a long-double (float32: a float64) ``exp`` on 2**21
    arguments over the whole range the relative error is below 4e-16 in
    float64 and 1 unit in the last place in float32. Arguments are clamped to
    +-700 in float64 (+-6080 dB; the smallest factor is 1e-304) and to -87..88
    in float32 (-756..764 dB). 0 dB gives exactly 1.

    Parameters
    ----------
    gain_db : np.ndarray, float32 or float64
        Gains in dB (any shape).
    makeup_db : float, default 0.0
        Added to every gain.
    out : np.ndarray, optional
        Output of the same shape and dtype, C-contiguous; may be ``gain_db`` itself.

    Returns
    -------
    amplitude : np.ndarray
        Same shape and dtype as ``gain_db``.

    Examples
    --------
    >>> db_to_amplitude(np.array([0.0, -20.0, -6.0]), makeup_db=6.0)
    array([1.99526231, 0.19952623, 1.        ])
    """
    gain_db = np.ascontiguousarray(gain_db)
    if out is None:
        out = np.empty_like(gain_db)
    if gain_db.size:
        _amplitude_kernel(gain_db.reshape(-1), _DB_TO_LN, float(makeup_db) * _DB_TO_LN, out.reshape(-1))
    return out


class MeanSquareState(NamedTuple):
    """State of :func:`moving_mean_square`: the last window of squares and their sums.

    Attributes
    ----------
    history : np.ndarray, shape=(channels, window_samples), float64
        Ring buffer of the last ``window_samples`` squared samples per channel.
    sums : np.ndarray, shape=(channels,), float64
        Running sum of each channel's ring buffer.
    position : np.ndarray, shape=(1,), int64
        Index of the oldest entry of the ring buffers (the next to be replaced).
    """

    history: NDArray[np.float64]
    sums: NDArray[np.float64]
    position: NDArray[np.int64]


def init_mean_square(channels: int, window_samples: int) -> MeanSquareState:
    """State of :func:`moving_mean_square` before the first sample (a window of zeros).

    Parameters
    ----------
    channels : int
        Number of channels, >= 1.
    window_samples : int
        Window length in samples, >= 1.

    Examples
    --------
    >>> init_mean_square(2, 480).history.shape
    (2, 480)
    """
    ch = int(check_range("channels", channels, low=1))
    w = int(check_range("window_samples", window_samples, low=1, hint="the window holds at least one sample"))
    return MeanSquareState(np.zeros((ch, w)), np.zeros(ch), np.zeros(1, np.int64))


def moving_mean_square(
    squares: NDArray[np.floating], state: MeanSquareState, *, out: NDArray[np.floating] | None = None
) -> NDArray[np.floating]:
    """Mean of the last ``window_samples`` squared samples, sample by sample.

    ``out[c, i] = sum(squares[c, i-W+1 : i+1]) / W`` with ``W =
    state.history.shape[1]``, where samples before the first one are taken
    from ``state`` (zeros initially). ``state`` is updated in place, so
    consecutive calls on consecutive blocks give the samples of one call on
    the whole signal, bit for bit.

    The sum is kept in float64 and updated by adding the new square and
    subtracting the one that leaves the window; once per window it is summed
    afresh from the buffer, so rounding errors never accumulate and a window
    of zeros gives exactly 0.

    Parameters
    ----------
    squares : np.ndarray, shape=(channels, n), float32 or float64, C-contiguous
        Squared detector signal (``x * x``).
    state : MeanSquareState
        From :func:`init_mean_square`; updated in place.
    out : np.ndarray, shape=(channels, n), optional
        Output, C-contiguous, same dtype as ``squares``; may be ``squares``.

    Returns
    -------
    mean_square : np.ndarray, shape=(channels, n)

    Examples
    --------
    >>> state = init_mean_square(1, 4)
    >>> moving_mean_square(np.ones((1, 6)), state)
    array([[0.25, 0.5 , 0.75, 1.  , 1.  , 1.  ]])
    >>> moving_mean_square(np.zeros((1, 3)), state)
    array([[0.75, 0.5 , 0.25]])
    """
    squares = np.ascontiguousarray(squares)
    if out is None:
        out = np.empty_like(squares)
    if squares.shape[1]:
        _mean_square_kernel(squares, state.history, state.sums, state.position, out)
    return out


# --------------------------------------------------------------------------- gain computers


def compressor_gain_db(
    level_db: NDArray[np.floating],
    *,
    threshold_db: float,
    ratio: float,
    knee_db: float = 0.0,
    range_db: float | None = None,
    out: NDArray[np.floating] | None = None,
    work: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    """Gain in dB (<= 0) of the soft-knee compressor static curve.

    With ``x`` the input level, ``T`` the threshold, ``R`` the ratio and
    ``W`` the knee width, the output level is (Giannoulis et al. eq. 4)

    - ``x`` where ``2 (x - T) < -W`` (below the knee),
    - ``x + (1/R - 1) (x - T + W/2)**2 / (2 W)`` where ``2 |x - T| <= W``,
    - ``T + (x - T) / R`` where ``2 (x - T) > W``,

    and the gain is the output level minus ``x``. With ``range_db`` the gain
    never falls below ``-range_db``.

    Parameters
    ----------
    level_db : np.ndarray
        Detector level in dB re full scale.
    threshold_db : float
        Threshold ``T`` in dB re full scale.
    ratio : float
        Ratio ``R`` >= 1 (1 = no compression).
    knee_db : float, default 0.0
        Knee width ``W`` in dB, >= 0, centred on the threshold (0 = hard knee).
    range_db : float, optional
        Largest gain reduction in dB (positive), or None for no limit.
    out : np.ndarray, optional
        Output, same shape and dtype as ``level_db``; may be ``level_db``.
    work : np.ndarray, optional
        Scratch buffer of the same shape and dtype (used with a soft knee).

    Returns
    -------
    gain_db : np.ndarray
        Gain in dB, <= 0, same shape and dtype as ``level_db``.

    References
    ----------
    D. Giannoulis, M. Massberg, J. D. Reiss, "Digital dynamic range compressor
    design: a tutorial and analysis", J. Audio Eng. Soc. 60(6), 2012, eq. 4.

    Examples
    --------
    >>> levels = np.array([-40.0, -20.0, -10.0])
    >>> compressor_gain_db(levels, threshold_db=-20.0, ratio=4.0)
    array([ 0. ,  0. , -7.5])
    >>> compressor_gain_db(levels, threshold_db=-20.0, ratio=4.0, knee_db=6.0)
    array([ 0.    , -0.5625, -7.5   ])
    """
    slope = 1.0 - 1.0 / ratio
    if knee_db < 1e-6:  # a narrower knee is within W/8 < 2e-7 dB of a hard one, and 1 / W overflows
        # gain = min(0, (T - x) * (1 - 1/R))
        out = np.subtract(threshold_db, level_db, out=out)
        out *= slope
        np.minimum(out, 0.0, out=out)
    else:
        half = 0.5 * knee_db
        # d = x - T + W/2; inside the knee 0 <= d <= W and the gain is -(1 - 1/R) d**2 / (2 W);
        # above it the gain continues along the straight line -(1 - 1/R) (x - T), which equals
        # -(1 - 1/R) * (W/2 + (d - W)) and so adds -(1 - 1/R) * max(d - W, 0) to the knee's end value.
        d = np.subtract(level_db, threshold_db - half, out=out)
        e = np.clip(d, 0.0, knee_db, out=work)
        np.maximum(d, knee_db, out=d)
        d -= knee_db
        d *= slope
        e *= e
        e *= slope / (2.0 * knee_db)
        d += e
        out = np.subtract(0.0, d, out=d)  # 0 - r, not -r: no -0.0 below the knee
    if range_db is not None:
        np.maximum(out, -range_db, out=out)
    return out


def expander_gain_db(
    level_db: NDArray[np.floating],
    *,
    threshold_db: float,
    ratio: float,
    range_db: float,
    out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    """Gain in dB (<= 0) of a downward expander or gate with a floor.

    Below the threshold each dB of level lost costs ``ratio - 1`` further dB
    of gain (output level ``T + (x - T) * R``); above it the gain is 0 dB. The
    gain never falls below ``-range_db``. A large ratio (e.g. 100) makes a
    gate: the gain drops to ``-range_db`` just below the threshold.

    Parameters
    ----------
    level_db : np.ndarray
        Detector level in dB re full scale.
    threshold_db : float
        Threshold in dB re full scale.
    ratio : float
        Expansion ratio >= 1 (1 = no expansion).
    range_db : float
        Largest attenuation in dB, >= 0 (positive).
    out : np.ndarray, optional
        Output, same shape and dtype as ``level_db``; may be ``level_db``.

    Returns
    -------
    gain_db : np.ndarray
        Gain in dB, ``-range_db <= gain_db <= 0``.

    Examples
    --------
    >>> expander_gain_db(np.array([-30.0, -42.0, -80.0]), threshold_db=-40.0, ratio=2.0, range_db=20.0)
    array([  0.,  -2., -20.])
    """
    out = np.subtract(level_db, threshold_db, out=out)
    out *= ratio - 1.0
    np.clip(out, -range_db, 0.0, out=out)
    return out


# --------------------------------------------------------------------------- smoothers


def smooth_gain_db(
    target_db: NDArray[np.floating],
    *,
    fall: float,
    rise: float,
    state: NDArray[np.float64],
    out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    """Follow a target gain with a one-pole smoother whose pole depends on the direction.

    ``y[n] = a * y[n-1] + (1 - a) * u[n]`` with ``a = fall`` where the target
    ``u[n]`` is below ``y[n-1]`` (the gain is falling) and ``a = rise``
    otherwise: Giannoulis et al.'s branching peak detector, run on the gain in
    dB. A compressor falls with its attack and rises with its release; a gate
    the other way round. Get the poles from :func:`one_pole_coefficient`.

    Parameters
    ----------
    target_db : np.ndarray, shape=(channels, n), float32 or float64, C-contiguous
        Target gain in dB, from a gain computer.
    fall, rise : float
        Poles in ``[0, 1)`` used while the gain falls and rises.
    state : np.ndarray, shape=(channels,), float64
        ``y[-1]`` per channel (zeros: 0 dB before the first sample); updated in place.
    out : np.ndarray, shape=(channels, n), optional
        Output, C-contiguous, same dtype as ``target_db``; may be ``target_db``.

    Returns
    -------
    gain_db : np.ndarray, shape=(channels, n)

    References
    ----------
    D. Giannoulis, M. Massberg, J. D. Reiss, JAES 60(6), 2012, eq. 16 (branching
    peak detector), applied in the log domain (fig. 7).

    Examples
    --------
    >>> state = np.zeros(1)
    >>> smooth_gain_db(np.full((1, 3), -10.0), fall=0.5, rise=0.9, state=state)
    array([[-5.  , -7.5 , -8.75]])
    >>> smooth_gain_db(np.zeros((1, 2)), fall=0.5, rise=0.9, state=state)
    array([[-7.875 , -7.0875]])
    """
    target_db = np.ascontiguousarray(target_db)
    if out is None:
        out = np.empty_like(target_db)
    if target_db.shape[1]:
        _smooth_kernel(target_db, float(fall), float(rise), state, out)
    return out


def smooth_gain_db_hold(
    target_db: NDArray[np.floating],
    level_db: NDArray[np.floating],
    *,
    threshold_db: float,
    hold_samples: int,
    fall: float,
    rise: float,
    state: NDArray[np.float64],
    counters: NDArray[np.int64],
    out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    """:func:`smooth_gain_db` with a hold: the target is 0 dB for a while after the level drops.

    Where ``level_db >= threshold_db`` a channel's counter is set to
    ``hold_samples``; below the threshold, while the counter is positive it
    counts down and the target is taken as 0 dB (the gate stays open). So the
    ``hold_samples`` samples after the last one at or above the threshold are
    held open, and the smoother starts to fall on the next one.

    Parameters
    ----------
    target_db : np.ndarray, shape=(channels, n), C-contiguous
        Target gain in dB.
    level_db : np.ndarray, shape=(channels, n), C-contiguous, same dtype
        Detector level in dB that the target was computed from.
    threshold_db : float
        Level at or above which the hold is (re)armed.
    hold_samples : int
        Hold time in samples, >= 0.
    fall, rise : float
        Poles in ``[0, 1)`` used while the gain falls and rises.
    state : np.ndarray, shape=(channels,), float64
        Smoothed gain per channel; updated in place.
    counters : np.ndarray, shape=(channels,), int64
        Hold samples left per channel (zeros initially); updated in place.
    out : np.ndarray, optional
        Output, same shape and dtype as ``target_db``; may be ``target_db``.

    Returns
    -------
    gain_db : np.ndarray, shape=(channels, n)

    Examples
    --------
    >>> level = np.array([[0.0, -99.0, -99.0, -99.0]])
    >>> target = np.array([[0.0, -10.0, -10.0, -10.0]])
    >>> smooth_gain_db_hold(target, level, threshold_db=-50.0, hold_samples=2, fall=0.5, rise=0.0,
    ...                     state=np.zeros(1), counters=np.zeros(1, np.int64))
    array([[ 0.,  0.,  0., -5.]])
    """
    target_db = np.ascontiguousarray(target_db)
    level_db = np.ascontiguousarray(level_db, dtype=target_db.dtype)
    if out is None:
        out = np.empty_like(target_db)
    if target_db.shape[1]:
        _smooth_hold_kernel(
            target_db, level_db, float(threshold_db), int(hold_samples), float(fall), float(rise),
            state, counters, out,
        )  # fmt: skip
    return out


def compressor_gain(
    detector: NDArray[np.floating],
    *,
    db_per_decade: float,
    threshold_db: float,
    ratio: float,
    knee_db: float = 0.0,
    range_db: float | None = None,
    fall: float,
    rise: float,
    state: NDArray[np.float64],
    makeup_db: float = 0.0,
    linked: bool = True,
    out: NDArray[np.floating] | None = None,
    work: NDArray[np.float64] | None = None,
    start: int = 0,
    stop: int | None = None,
) -> NDArray[np.floating]:
    """Linear gain of a compressor: level, :func:`compressor_gain_db`, :func:`smooth_gain_db`, makeup.

    For each row, the level in dB of the detector (the loudest channel's, or
    each channel's own when not ``linked``), as :func:`level_db` does it in
    the detector's dtype; the static curve and the smoother in float64; then
    ``10 ** ((gain_db + makeup_db) / 20)`` as :func:`db_to_amplitude` does it
    in the output's dtype; in one compiled pass per row. The smoother takes
    its step as ``a * y + (1 - a) * u``, so that the recursion waits on one
    fused multiply-add and a min per sample; it rounds differently from
    :func:`smooth_gain_db`'s ``u + a * (y - u)``: on 10 s of float64 noise
    stepping through 40 dB, with 5 ms and 1 s time constants, the whole chain
    agreed with ``compressor_gain_db``, ``smooth_gain_db`` and numpy's
    ``log10`` to 2.6e-13 dB.

    Parameters
    ----------
    detector : np.ndarray, shape=(channels, n), float32 or float64
        Amplitudes (peak detector) or mean squares (RMS).
    db_per_decade : float
        20 (amplitudes, floored at :data:`AMPLITUDE_FLOOR`) or 10 (mean squares,
        floored at :data:`POWER_FLOOR`).
    threshold_db, ratio, knee_db, range_db
        As for :func:`compressor_gain_db`.
    fall, rise : float
        As for :func:`smooth_gain_db`.
    state : np.ndarray, shape=(rows,), float64
        Smoothed gain in dB per row (zeros at the start); updated in place.
    makeup_db : float, default 0.0
        Added to the smoothed gain.
    linked : bool, default True
        One row from the loudest channel, or a row per channel.
    out : np.ndarray, shape=(rows, n), optional
        Output in the detector's dtype.
    work : np.ndarray, shape=(n,), float64, optional
        Scratch buffer.
    start, stop : int, optional
        The columns of ``detector`` to use (default all): a chunk of a longer
        signal, read in place. A column slice would be a strided array for
        numba, or a contiguous one when it spans the whole signal: two types,
        two compiles of the kernel. A strided ``detector`` is copied (those
        columns only).

    Returns
    -------
    gain : np.ndarray, shape=(rows, n)
        Linear gain, ``n = stop - start``; exactly ``10 ** (makeup_db / 20)`` while the gain stays at 0 dB.

    Examples
    --------
    >>> x = np.array([[0.01, 1.0, 1.0], [0.0, 0.5, 0.0]])  # -40 dB, then 0 dB
    >>> g = compressor_gain(x, db_per_decade=20, threshold_db=-20.0, ratio=4.0,
    ...                     fall=0.5, rise=0.9, state=np.zeros(1))
    >>> (20 * np.log10(g)).round(4)  # 15 dB of reduction, half of it per sample
    array([[  0.  ,  -7.5 , -11.25]])
    """
    channels = detector.shape[0]
    stop = detector.shape[1] if stop is None else stop
    n = stop - start
    if not detector.flags.c_contiguous:
        detector, start = np.ascontiguousarray(detector[:, start:stop]), 0
    rows = 1 if linked else channels
    if out is None:
        out = np.empty((rows, n), detector.dtype)
    if work is None:
        work = np.empty(n)
    if n:
        slope = 1.0 - 1.0 / ratio
        knee = knee_db if knee_db >= 1e-6 else 0.0  # see compressor_gain_db: a narrower knee is hard
        lowest = -math.inf if range_db is None else -float(range_db)
        floor = detector.dtype.type(AMPLITUDE_FLOOR if db_per_decade == 20 else POWER_FLOOR)
        _compressor_gain_kernel(
            detector, start, floor, float(db_per_decade) / _LN10, float(threshold_db) - 0.5 * knee,
            float(knee), slope, lowest, float(fall), float(rise), state, _DB_TO_LN,
            float(makeup_db) * _DB_TO_LN, work, out,
        )  # fmt: skip
    return out


# --------------------------------------------------------------------------- compiled kernels


# The smoothers take both poles' steps, y = u + a * (y - u) for a = fall and a = rise, and keep the
# one the direction of change picks. With fall <= rise that is always the lower of the two (falling:
# y - u > 0, so the smaller pole gives the smaller step; rising: the other way round), and with
# fall > rise the higher: a min or max, where a branch or select on u < y mispredicts each time the
# gain turns (measured on a compressor: 3.08 -> 2.77 ns per channel-sample; 2.4 for a select
# against 3.7 for an if/else before that). The rounding is monotonic in the pole, so the result is
# bit-identical to the branch. Allowing only FMA contraction keeps it deterministic.


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _smooth_kernel(target, fall, rise, state, out):  # pragma: no cover - compiled
    channels, n = target.shape
    lower = fall <= rise
    for c in range(channels):
        y = state[c]
        for i in range(n):
            u = np.float64(target[c, i])
            falling = u + fall * (y - u)
            rising = u + rise * (y - u)
            y = min(falling, rising) if lower else max(falling, rising)
            out[c, i] = y
        state[c] = y


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _smooth_hold_kernel(
    target, level, threshold, hold, fall, rise, state, counters, out
):  # pragma: no cover - compiled
    channels, n = target.shape
    lower = fall <= rise
    for c in range(channels):
        y = state[c]
        count = counters[c]
        for i in range(n):
            u = np.float64(target[c, i])
            if level[c, i] >= threshold:
                count = hold
            elif count > 0:
                count -= 1
                u = 0.0
            falling = u + fall * (y - u)
            rising = u + rise * (y - u)
            y = min(falling, rising) if lower else max(falling, rising)
            out[c, i] = y
        state[c] = y
        counters[c] = count


@numba.njit(cache=True, nogil=True)
def _mean_square_kernel(squares, history, sums, position, out):  # pragma: no cover - compiled
    channels, n = squares.shape
    window = history.shape[1]
    scale = 1.0 / window
    start = position[0]
    p = start
    for c in range(channels):
        p = start
        s = sums[c]
        for i in range(n):
            v = np.float64(squares[c, i])
            s += v - history[c, p]
            history[c, p] = v
            p += 1
            if p == window:
                p = 0
                # Sum the window afresh once per window: no rounding error builds up.
                t = 0.0
                for k in range(window):
                    t += history[c, k]
                s = t
            out[c, i] = s * scale if s > 0.0 else 0.0
        sums[c] = s
    position[0] = p


# Logarithm and exponential as polynomials on the float's bits, for float32 and float64 alike: LLVM
# vectorizes them, where numba's math.log/exp (and numpy's, on a CPU without AVX-512) are calls per
# element. float32 audio gets float32 arithmetic, twice the lanes per vector, at float32 accuracy.

_FORMATS = {  # float type: (bits, mantissa bits, exponent bias, bits of sqrt(1/2), bits of its rounder)
    types.float32: (32, 23, 127, 0x3F3504F3, 0x4B400000),
    types.float64: (64, 52, 1023, 0x3FE6A09E667F3BCD, 0x4338000000000000),
}
#: Adding 1.5 * 2**mantissa_bits rounds a float of magnitude below 2**(mantissa_bits - 1) to an
#: integer, which then sits in the low mantissa bits of the sum.
_ROUNDER32, _ROUNDER64 = np.float32(12582912.0), 6755399441055744.0


@intrinsic
def _split(typingctx, v):  # pragma: no cover - compiled
    """``(k, m)`` with ``v = 2**k * m``, ``m`` in ``[sqrt(1/2), sqrt(2))``, for a positive normal ``v``."""
    if v not in _FORMATS:
        return None
    width, mant, bias, sqrt_half, _ = _FORMATS[v]

    def codegen(context, builder, signature, args):
        it, ft = ir.IntType(width), args[0].type
        # shift the mantissa range down by sqrt(1/2) so that the exponent field holds k + bias
        j = builder.add(builder.bitcast(args[0], it), ir.Constant(it, (bias << mant) - sqrt_half))
        e = builder.lshr(j, ir.Constant(it, mant))
        if width == 32:
            k = builder.sitofp(builder.sub(e, ir.Constant(it, bias)), ft)
        else:  # AVX2 has no int64 -> float64 conversion: put e in the mantissa of 2**52 instead
            two52 = builder.bitcast(builder.or_(e, ir.Constant(it, 0x4330000000000000)), ft)
            k = builder.fsub(two52, ir.Constant(ft, 4503599627370496.0 + bias))
        m_bits = builder.add(builder.and_(j, ir.Constant(it, (1 << mant) - 1)), ir.Constant(it, sqrt_half))
        return context.make_tuple(builder, signature.return_type, [k, builder.bitcast(m_bits, ft)])

    return types.UniTuple(v, 2)(v), codegen


@intrinsic
def _times_pow2(typingctx, p, t):  # pragma: no cover - compiled
    """``p * 2**n`` for ``t = x + rounder`` holding the integer ``n`` (``p * 2**n`` a normal float)."""
    if p not in _FORMATS or t != p:
        return None
    width, mant, _, _, rounder_bits = _FORMATS[p]

    def codegen(context, builder, signature, args):
        it = ir.IntType(width)
        n = builder.sub(builder.bitcast(args[1], it), ir.Constant(it, rounder_bits))
        scaled = builder.add(builder.bitcast(args[0], it), builder.shl(n, ir.Constant(it, mant)))
        return builder.bitcast(scaled, args[0].type)

    return p(p, t), codegen


_KERNEL = {"cache": True, "nogil": True, "fastmath": {"contract"}, "error_model": "numpy"}


@numba.njit(**_KERNEL)
def _ln64(v):  # pragma: no cover - compiled
    # log(m) = 2 atanh(s) = 2 (s + s**3/3 + s**5/5 + ...), s = (m - 1) / (m + 1), |s| <= 0.172
    k, m = _split(v)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = 1.0 / 17.0
    p = p * z + 1.0 / 15.0
    p = p * z + 1.0 / 13.0
    p = p * z + 1.0 / 11.0
    p = p * z + 1.0 / 9.0
    p = p * z + 1.0 / 7.0
    p = p * z + 1.0 / 5.0
    p = p * z + 1.0 / 3.0
    two_s = 2.0 * s
    # ln 2 in two parts (Cody & Waite): k * hi is exact, and the small terms are summed first
    return k * 6.93147180369123816490e-01 + (two_s + (two_s * (z * p) + k * 1.90821492927058770002e-10))


@numba.njit(**_KERNEL)
def _ln32(v):  # pragma: no cover - compiled
    k, m = _split(v)
    s = (m - np.float32(1.0)) / (m + np.float32(1.0))
    z = s * s
    p = np.float32(1.0 / 9.0)
    p = p * z + np.float32(1.0 / 7.0)
    p = p * z + np.float32(1.0 / 5.0)
    p = p * z + np.float32(1.0 / 3.0)
    two_s = np.float32(2.0) * s
    return k * np.float32(0.6931471805599453) + (two_s + two_s * (z * p))


@numba.njit(**_KERNEL)
def _exp64(v):  # pragma: no cover - compiled
    # e**v = 2**n e**r, n = round(v / ln 2), r = v - n ln 2 (ln 2 in two parts: n * hi is exact)
    v = min(max(v, -700.0), 700.0)
    t = v * 1.4426950408889634 + _ROUNDER64
    n = t - _ROUNDER64
    r = (v - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10
    p = 1.0 / 479001600.0  # 1 / 12!
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return _times_pow2(p, t)


@numba.njit(**_KERNEL)
def _exp32(v):  # pragma: no cover - compiled
    v = min(max(v, np.float32(-87.0)), np.float32(88.0))
    t = v * np.float32(1.4426950408889634) + _ROUNDER32
    n = t - _ROUNDER32
    r = (v - n * np.float32(0.693145751953125)) - n * np.float32(1.428606765330187e-06)
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    return _times_pow2(p, t)


def _ln(v):  # pragma: no cover - compiled: the overload below
    raise NotImplementedError


def _exp(v):  # pragma: no cover - compiled: the overload below
    raise NotImplementedError


@overload(_ln)
def _ln_typed(v):  # pragma: no cover - compiled
    return (lambda v: _ln32(v)) if v == types.float32 else (lambda v: _ln64(v))


@overload(_exp)
def _exp_typed(v):  # pragma: no cover - compiled
    return (lambda v: _exp32(v)) if v == types.float32 else (lambda v: _exp64(v))


@numba.njit(**_KERNEL)
def _level_db_kernel(x, floor, db_per_ln, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = db_per_ln * np.float64(_ln(max(abs(x[i]), floor)))


@numba.njit(**_KERNEL)
def _amplitude_kernel(gain_db, scale, offset, out):  # pragma: no cover - compiled
    for i in range(gain_db.shape[0]):
        out[i] = gain_db[i] * scale + offset  # rounded to out's dtype, then exponentiated in it
    for i in range(out.shape[0]):
        out[i] = _exp(out[i])


@numba.njit(**_KERNEL)
def _compressor_gain_kernel(
    det, start, floor, db_per_ln, knee_start, knee, slope, lowest, fall, rise, state, scale, offset, work, out
):  # pragma: no cover - compiled
    # Per row: the level (in the output row), its log and the curve (vectorized, in the audio's
    # precision, then float64), the smoother (sequential, float64), the exponential (vectorized).
    # The curve uses min/max, with d = x - T + W/2 as in compressor_gain_db.
    rows, n = out.shape
    curvature = slope / (2.0 * knee) if knee > 0.0 else 0.0
    lower = fall <= rise
    for r in range(rows):
        first, last = (0, det.shape[0]) if rows == 1 else (r, r + 1)
        row = out[r]
        source = det[first, start : start + n]
        for i in range(n):
            row[i] = max(abs(source[i]), floor)
        for c in range(first + 1, last):
            source = det[c, start : start + n]
            for i in range(n):
                row[i] = max(row[i], abs(source[i]))
        for i in range(n):
            d = db_per_ln * np.float64(_ln(row[i])) - knee_start
            e = min(max(d, 0.0), knee)
            work[i] = max(0.0 - (slope * max(d - knee, 0.0) + curvature * e * e), lowest)
        # The step a * y + (1 - a) * u for both poles, then the one the direction picks: with
        # fall <= rise it is the lower one whichever way the gain moves (the higher with fall >
        # rise), so a min replaces a branch that mispredicts whenever the gain turns, and the
        # recursion's critical path is one fused multiply-add and the min.
        y = state[r]
        if lower:  # two loops: a select on a loop-invariant flag would lengthen the critical path
            for i in range(n):
                u = work[i]
                y = min(fall * y + (1.0 - fall) * u, rise * y + (1.0 - rise) * u)
                row[i] = y * scale + offset
        else:
            for i in range(n):
                u = work[i]
                y = max(fall * y + (1.0 - fall) * u, rise * y + (1.0 - rise) * u)
                row[i] = y * scale + offset
        state[r] = y
        for i in range(n):
            row[i] = _exp(row[i])

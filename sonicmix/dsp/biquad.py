"""Filter design as second-order sections: Audio EQ Cookbook biquads and crossovers.

Every design function is pure and returns a float64 array of shape
``(n_sections, 6)`` in scipy's ``sos`` convention: each row is
``[b0, b1, b2, 1, a1, a2]``, normalised so that ``a0 == 1``, ready for
``scipy.signal.sosfilt(sos.astype(x.dtype), x, zi=zi)``.

Parameters are keyword-only and carry their unit: ``freq_hz`` (the cookbook's
``f0``, the cutoff, centre or shelf midpoint frequency), ``q`` (unitless),
``gain_db`` (relative gain in dB) and ``sample_rate`` (int, Hz).
``butterworth`` and ``linkwitz_riley`` take the ``kind`` positionally.

Each result is checked before it is returned: its coefficients are finite and
every pole lies strictly inside the unit circle. A frequency at or above the
Nyquist frequency is an error, never clamped.

Importing this module loads numpy only; scipy.signal is imported by the
functions that need it.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sonicmix._checks import check_range, check_sample_rate
from sonicmix.errors import ParameterError

__all__ = [
    "lowpass",
    "highpass",
    "bandpass",
    "notch",
    "allpass",
    "peak",
    "low_shelf",
    "high_shelf",
    "butterworth",
    "linkwitz_riley",
    "cascade",
    "response_db",
]

_MAX_ORDER = 16


# --------------------------------------------------------------------------- validation


def _check_freq(freq_hz: object, sample_rate: object) -> tuple[float, int]:
    rate = check_sample_rate(sample_rate)
    nyquist = rate / 2
    freq = check_range(
        "freq_hz",
        freq_hz,
        low=0.0,
        high=nyquist,
        low_inclusive=False,
        high_inclusive=False,
        hint=f"sample_rate={rate} has its Nyquist frequency at {nyquist:g} Hz and frequencies at or "
        "above it are not clamped; lower freq_hz or raise sample_rate",
    )
    return freq, rate


def _check_q(q: object) -> float:
    return check_range("q", q, low=0.0, low_inclusive=False, hint="q=0.7071 (1/sqrt(2)) is maximally flat")


def _check_gain(gain_db: object) -> float:
    return check_range("gain_db", gain_db)


def _check_kind(kind: object) -> Literal["lowpass", "highpass"]:
    if kind == "lowpass" or kind == "highpass":
        return kind  # type: ignore[return-value]
    raise ParameterError(
        f"kind={kind!r} is not supported; expected 'lowpass' or 'highpass' "
        "(for a band use cascade() of a highpass and a lowpass, or bandpass())"
    )


def _check_order(order: object, *, even: bool, hint: str = "", odd_instead: str = "butterworth()") -> int:
    """Validate a filter order; ``hint`` follows range errors; ``odd_instead`` suits odd orders."""
    low = 2 if even else 1
    expected = f"expected {'an even' if even else 'an'} integer {low} <= order <= {_MAX_ORDER}"
    if isinstance(order, bool) or not isinstance(order, Integral):
        raise ParameterError(f"order={order!r} is not an integer; {expected}{hint}")
    n = int(order)
    if not low <= n <= _MAX_ORDER:
        raise ParameterError(f"order={n} is out of range; {expected}{hint}")
    if even and n % 2:
        raise ParameterError(
            f"order={n} is odd; {expected} (a Linkwitz-Riley filter is a Butterworth of order/2 applied "
            f"twice; for an odd order use {odd_instead})"
        )
    return n


def _as_sos(sos: object, name: str = "sos") -> NDArray[np.float64]:
    try:
        arr = np.asarray(sos, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} of type {type(sos).__name__} is not numeric; expected an array of shape (n_sections, 6)"
        ) from None
    if arr.ndim != 2 or arr.shape[1] != 6 or arr.shape[0] == 0:
        hint = " (for one section use sos[np.newaxis, :])" if arr.shape == (6,) else ""
        raise ParameterError(f"{name}.shape={arr.shape}; expected (n_sections, 6) with n_sections >= 1{hint}")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} has non-finite coefficients; expected finite values")
    if not (arr[:, 3] == 1.0).all():
        raise ParameterError(
            f"{name}[:, 3]={arr[:, 3].tolist()}; expected all ones (scipy's sos convention "
            "[b0, b1, b2, 1, a1, a2]: divide each row by its a0)"
        )
    return arr


def _checked(sos: NDArray[np.float64], call: str) -> NDArray[np.float64]:
    """Return ``sos`` if finite and stable, else raise ParameterError naming ``call``."""
    hint = "the designs are tested for 0.01 <= q <= 100 and |gain_db| <= 48"
    if not np.isfinite(sos).all():
        raise ParameterError(
            f"{call} gives non-finite coefficients; expected parameters that can be "
            f"represented in float64 ({hint})"
        )
    a1, a2 = sos[:, 4], sos[:, 5]
    # Jury's criterion: z**2 + a1*z + a2 has both roots strictly inside the unit
    # circle if and only if |a2| < 1 and |a1| < 1 + a2. It is exact on the stored
    # coefficients, unlike root finding.
    if not ((np.abs(a2) < 1.0) & (np.abs(a1) < 1.0 + a2)).all():
        raise ParameterError(
            f"{call} gives poles on or outside the unit circle in float64; expected "
            f"less extreme parameters ({hint})"
        )
    return sos


def _section(
    b0: float, b1: float, b2: float, a0: float, a1: float, a2: float, call: str
) -> NDArray[np.float64]:
    with np.errstate(all="ignore"):
        row = np.array([b0, b1, b2, a0, a1, a2], dtype=np.float64) / np.float64(a0)
    return _checked(row[np.newaxis, :], call)


def _amplitude(gain_db: float) -> float:
    """The cookbook's ``A = 10**(gain_db/40)``; inf (caught later) if it overflows."""
    with np.errstate(over="ignore"):
        return float(np.power(10.0, gain_db / 40.0))


def _angles(freq_hz: float, rate: int) -> tuple[float, float, float, float]:
    """Return cos(w0), sin(w0), sin(w0/2)**2 and cos(w0/2)**2 for w0 = 2*pi*freq_hz/rate."""
    w0 = 2.0 * math.pi * freq_hz / rate
    # (1 - cos w0)/2 and (1 + cos w0)/2 written as squared half-angle sines and
    # cosines: equal, but free of cancellation near DC and near Nyquist.
    return math.cos(w0), math.sin(w0), math.sin(w0 / 2) ** 2, math.cos(w0 / 2) ** 2


# --------------------------------------------------------------------------- cookbook biquads


def lowpass(*, freq_hz: float, q: float, sample_rate: int) -> NDArray[np.float64]:
    """Design the Audio EQ Cookbook second-order low-pass filter.

    Parameters
    ----------
    freq_hz : float
        Cutoff frequency in Hz. Must satisfy 0 < freq_hz < sample_rate/2.
    q : float
        Quality factor, > 0. ``q=1/sqrt(2)`` gives the maximally flat
        (Butterworth) response, -3.01 dB at ``freq_hz``; in general the gain at
        ``freq_hz`` is ``q`` (20*log10(q) dB).
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(1, 6), float64
        One second-order section ``[b0, b1, b2, 1, a1, a2]``.

    Raises
    ------
    ParameterError
        If a parameter is out of range, or the design is not finite and stable
        in float64.

    See Also
    --------
    butterworth : Low-pass filters of any order 1..16.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), LPF.

    Examples
    --------
    >>> sos = lowpass(freq_hz=1000.0, q=0.7071, sample_rate=48000)
    >>> sos.shape
    (1, 6)
    >>> round(float(response_db(sos, freqs_hz=1000.0, sample_rate=48000)), 2)
    -3.01
    """
    freq, rate = _check_freq(freq_hz, sample_rate)
    qf = _check_q(q)
    cos_w0, sin_w0, sin2_half, _ = _angles(freq, rate)
    alpha = sin_w0 / (2.0 * qf)
    call = f"lowpass(freq_hz={freq:g}, q={qf:g}, sample_rate={rate})"
    return _section(sin2_half, 2.0 * sin2_half, sin2_half, 1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha, call)


def highpass(*, freq_hz: float, q: float, sample_rate: int) -> NDArray[np.float64]:
    """Design the Audio EQ Cookbook second-order high-pass filter.

    Parameters
    ----------
    freq_hz : float
        Cutoff frequency in Hz. Must satisfy 0 < freq_hz < sample_rate/2.
    q : float
        Quality factor, > 0. ``q=1/sqrt(2)`` gives the maximally flat
        (Butterworth) response, -3.01 dB at ``freq_hz``.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(1, 6), float64
        One second-order section ``[b0, b1, b2, 1, a1, a2]``.

    Raises
    ------
    ParameterError
        If a parameter is out of range, or the design is not finite and stable.

    See Also
    --------
    butterworth : High-pass filters of any order 1..16.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), HPF.

    Examples
    --------
    >>> sos = highpass(freq_hz=80.0, q=0.7071, sample_rate=48000)
    >>> round(float(response_db(sos, freqs_hz=80.0, sample_rate=48000)), 2)
    -3.01
    """
    freq, rate = _check_freq(freq_hz, sample_rate)
    qf = _check_q(q)
    cos_w0, sin_w0, _, cos2_half = _angles(freq, rate)
    alpha = sin_w0 / (2.0 * qf)
    call = f"highpass(freq_hz={freq:g}, q={qf:g}, sample_rate={rate})"
    return _section(cos2_half, -2.0 * cos2_half, cos2_half, 1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha, call)


def bandpass(*, freq_hz: float, q: float, sample_rate: int) -> NDArray[np.float64]:
    """Design the Audio EQ Cookbook band-pass filter with constant 0 dB peak gain.

    Parameters
    ----------
    freq_hz : float
        Centre frequency in Hz, where the gain is 0 dB. Must satisfy
        0 < freq_hz < sample_rate/2.
    q : float
        Quality factor, > 0; the -3 dB bandwidth is about ``freq_hz / q``.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(1, 6), float64
        One second-order section ``[b0, b1, b2, 1, a1, a2]``.

    Raises
    ------
    ParameterError
        If a parameter is out of range, or the design is not finite and stable.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), BPF (constant 0 dB peak gain).

    Examples
    --------
    >>> sos = bandpass(freq_hz=2000.0, q=4.0, sample_rate=48000)
    >>> round(float(response_db(sos, freqs_hz=2000.0, sample_rate=48000)), 6)
    0.0
    """
    freq, rate = _check_freq(freq_hz, sample_rate)
    qf = _check_q(q)
    cos_w0, sin_w0, _, _ = _angles(freq, rate)
    alpha = sin_w0 / (2.0 * qf)
    call = f"bandpass(freq_hz={freq:g}, q={qf:g}, sample_rate={rate})"
    return _section(alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha, call)


def notch(*, freq_hz: float, q: float, sample_rate: int) -> NDArray[np.float64]:
    """Design the Audio EQ Cookbook notch (band-stop) filter.

    Parameters
    ----------
    freq_hz : float
        Centre frequency in Hz, where the gain is zero (-inf dB). Must satisfy
        0 < freq_hz < sample_rate/2.
    q : float
        Quality factor, > 0; higher is narrower.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(1, 6), float64
        One second-order section ``[b0, b1, b2, 1, a1, a2]``.

    Raises
    ------
    ParameterError
        If a parameter is out of range, or the design is not finite and stable.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), notch.

    Examples
    --------
    >>> sos = notch(freq_hz=50.0, q=10.0, sample_rate=48000)
    >>> bool(response_db(sos, freqs_hz=50.0, sample_rate=48000) < -100)
    True
    """
    freq, rate = _check_freq(freq_hz, sample_rate)
    qf = _check_q(q)
    cos_w0, sin_w0, _, _ = _angles(freq, rate)
    alpha = sin_w0 / (2.0 * qf)
    call = f"notch(freq_hz={freq:g}, q={qf:g}, sample_rate={rate})"
    return _section(1.0, -2.0 * cos_w0, 1.0, 1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha, call)


def allpass(*, freq_hz: float, q: float, sample_rate: int) -> NDArray[np.float64]:
    """Design the Audio EQ Cookbook second-order all-pass filter.

    Parameters
    ----------
    freq_hz : float
        Frequency in Hz where the phase shift is -180 degrees. Must satisfy
        0 < freq_hz < sample_rate/2.
    q : float
        Quality factor, > 0; higher makes the phase transition steeper.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(1, 6), float64
        One second-order section ``[b0, b1, b2, 1, a1, a2]`` with unit
        magnitude at every frequency.

    Raises
    ------
    ParameterError
        If a parameter is out of range, or the design is not finite and stable.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), APF.

    Examples
    --------
    >>> sos = allpass(freq_hz=1000.0, q=0.5, sample_rate=48000)
    >>> db = response_db(sos, freqs_hz=[0.0, 1000.0, 24000.0], sample_rate=48000)
    >>> [round(abs(float(d)), 9) for d in db]
    [0.0, 0.0, 0.0]
    """
    freq, rate = _check_freq(freq_hz, sample_rate)
    qf = _check_q(q)
    cos_w0, sin_w0, _, _ = _angles(freq, rate)
    alpha = sin_w0 / (2.0 * qf)
    call = f"allpass(freq_hz={freq:g}, q={qf:g}, sample_rate={rate})"
    return _section(1.0 - alpha, -2.0 * cos_w0, 1.0 + alpha, 1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha, call)


def peak(*, freq_hz: float, gain_db: float, q: float, sample_rate: int) -> NDArray[np.float64]:
    """Design the Audio EQ Cookbook peaking (bell) equaliser.

    Parameters
    ----------
    freq_hz : float
        Centre frequency in Hz, where the gain is exactly ``gain_db``. Must
        satisfy 0 < freq_hz < sample_rate/2.
    gain_db : float
        Relative gain at the centre in dB, finite; negative cuts. 0 dB gives
        an identity section.
    q : float
        Quality factor, > 0; higher is narrower.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(1, 6), float64
        One second-order section ``[b0, b1, b2, 1, a1, a2]``.

    Raises
    ------
    ParameterError
        If a parameter is out of range, or the design is not finite and stable.

    Notes
    -----
    Boosts and cuts of equal ``q`` and opposite ``gain_db`` are exact
    inverses (the cookbook's "constant-Q" peaking filter).

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), peakingEQ.

    Examples
    --------
    >>> sos = peak(freq_hz=3000.0, gain_db=-6.0, q=1.4, sample_rate=48000)
    >>> round(float(response_db(sos, freqs_hz=3000.0, sample_rate=48000)), 6)
    -6.0
    """
    freq, rate = _check_freq(freq_hz, sample_rate)
    gain = _check_gain(gain_db)
    qf = _check_q(q)
    amp = _amplitude(gain)
    cos_w0, sin_w0, _, _ = _angles(freq, rate)
    alpha = sin_w0 / (2.0 * qf)
    call = f"peak(freq_hz={freq:g}, gain_db={gain:g}, q={qf:g}, sample_rate={rate})"
    with np.errstate(all="ignore"):
        b0, b2 = 1.0 + alpha * amp, 1.0 - alpha * amp
        a0, a2 = 1.0 + alpha / amp, 1.0 - alpha / amp
    return _section(b0, -2.0 * cos_w0, b2, a0, -2.0 * cos_w0, a2, call)


def _shelf(
    kind: Literal["low", "high"], freq_hz: object, gain_db: object, q: object, sample_rate: object
) -> NDArray[np.float64]:
    freq, rate = _check_freq(freq_hz, sample_rate)
    gain = _check_gain(gain_db)
    qf = _check_q(q)
    amp = _amplitude(gain)
    call = f"{kind}_shelf(freq_hz={freq:g}, gain_db={gain:g}, q={qf:g}, sample_rate={rate})"
    with np.errstate(all="ignore"):
        return _section(*_shelf_terms(kind, freq, rate, qf, amp, math.sqrt(amp)), call)


def _shelf_rows(
    kind: Literal["low", "high"], freq: float, gains_db: NDArray[np.float64], q: float, rate: int
) -> NDArray[np.float64]:
    """Shelves at one frequency and Q for many gains, ``(len(gains_db), 6)``, normalised, unchecked.

    The same arithmetic as :func:`low_shelf` / :func:`high_shelf`, over arrays: for designs that need
    many at once (a reverb's 32 absorption shelves, redesigned every control block under automation).
    """
    with np.errstate(all="ignore"):
        amp = np.power(10.0, gains_db / 40.0)
        terms = _shelf_terms(kind, freq, rate, q, amp, np.sqrt(amp))
        rows = np.stack(terms, axis=1)
        return rows / rows[:, 3:4]


def _shelf_terms(kind: str, freq: float, rate: int, q: float, amp: Any, root: Any) -> tuple[Any, ...]:
    """The cookbook shelf's ``(b0, b1, b2, a0, a1, a2)``; ``amp`` is A (float or array), ``root`` sqrt(A)."""
    cos_w0, sin_w0, _, _ = _angles(freq, rate)
    alpha = sin_w0 / (2.0 * q)
    # The cookbook's high shelf is its low shelf designed at pi - w0 (cos w0
    # negated, sin w0 unchanged) and then mirrored by z -> -z (odd coefficients
    # negated): one formula set, checked against both in the tests.
    sign = 1.0 if kind == "low" else -1.0
    c = sign * cos_w0
    two_sqrt_a_alpha = 2.0 * root * alpha
    return (
        amp * ((amp + 1.0) - (amp - 1.0) * c + two_sqrt_a_alpha),
        sign * 2.0 * amp * ((amp - 1.0) - (amp + 1.0) * c),
        amp * ((amp + 1.0) - (amp - 1.0) * c - two_sqrt_a_alpha),
        (amp + 1.0) + (amp - 1.0) * c + two_sqrt_a_alpha,
        sign * -2.0 * ((amp - 1.0) + (amp + 1.0) * c),
        (amp + 1.0) + (amp - 1.0) * c - two_sqrt_a_alpha,
    )


def low_shelf(*, freq_hz: float, gain_db: float, q: float, sample_rate: int) -> NDArray[np.float64]:
    """Design the Audio EQ Cookbook low-shelf equaliser.

    Parameters
    ----------
    freq_hz : float
        Shelf midpoint frequency in Hz, where the gain is ``gain_db / 2``.
        Must satisfy 0 < freq_hz < sample_rate/2.
    gain_db : float
        Relative gain at DC in dB, finite; the gain tends to 0 dB at Nyquist.
    q : float
        The cookbook's shelf Q, > 0. ``q=1/sqrt(2)`` is the steepest shelf
        without overshoot (shelf slope S = 1) for every ``gain_db``; larger
        values overshoot (a bump before the shelf and a dip after it).
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(1, 6), float64
        One second-order section ``[b0, b1, b2, 1, a1, a2]``.

    Raises
    ------
    ParameterError
        If a parameter is out of range, or the design is not finite and stable.

    See Also
    --------
    high_shelf

    Notes
    -----
    The shelf is parametrised by Q rather than by the cookbook's slope S,
    so that every cookbook function shares ``q`` with one meaning and one
    range (any q > 0; S has a gain-dependent upper limit). To convert a
    slope, use the cookbook relation
    ``1/q = sqrt((A + 1/A) * (1/S - 1) + 2)`` with ``A = 10**(gain_db/40)``.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), lowShelf.

    Examples
    --------
    >>> sos = low_shelf(freq_hz=200.0, gain_db=6.0, q=0.7071, sample_rate=48000)
    >>> db = response_db(sos, freqs_hz=[0.0, 200.0, 24000.0], sample_rate=48000)
    >>> [round(float(d), 6) for d in db]
    [6.0, 3.0, 0.0]
    """
    return _shelf("low", freq_hz, gain_db, q, sample_rate)


def high_shelf(*, freq_hz: float, gain_db: float, q: float, sample_rate: int) -> NDArray[np.float64]:
    """Design the Audio EQ Cookbook high-shelf equaliser.

    Parameters
    ----------
    freq_hz : float
        Shelf midpoint frequency in Hz, where the gain is ``gain_db / 2``.
        Must satisfy 0 < freq_hz < sample_rate/2.
    gain_db : float
        Relative gain at Nyquist in dB, finite; the gain at DC is 0 dB.
    q : float
        The cookbook's shelf Q, > 0; ``q=1/sqrt(2)`` means shelf slope S = 1
        (see `low_shelf` for the conversion from S).
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(1, 6), float64
        One second-order section ``[b0, b1, b2, 1, a1, a2]``.

    Raises
    ------
    ParameterError
        If a parameter is out of range, or the design is not finite and stable.

    See Also
    --------
    low_shelf

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), highShelf.

    Examples
    --------
    >>> sos = high_shelf(freq_hz=8000.0, gain_db=-4.0, q=0.7071, sample_rate=48000)
    >>> db = response_db(sos, freqs_hz=[0.0, 8000.0, 24000.0], sample_rate=48000)
    >>> [round(float(d), 6) for d in db]
    [0.0, -2.0, -4.0]
    """
    return _shelf("high", freq_hz, gain_db, q, sample_rate)


# --------------------------------------------------------------------------- higher orders


def butterworth(
    kind: Literal["lowpass", "highpass"], *, freq_hz: float, order: int, sample_rate: int
) -> NDArray[np.float64]:
    """Design a digital Butterworth low- or high-pass filter of order 1..16.

    Parameters
    ----------
    kind : {"lowpass", "highpass"}
        Response type.
    freq_hz : float
        Cutoff frequency in Hz, where the gain is -3.01 dB for every order.
        Must satisfy 0 < freq_hz < sample_rate/2.
    order : int
        Filter order, 1 <= order <= 16; the slope is 6*order dB per octave.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(ceil(order/2), 6), float64
        Second-order sections; an odd order has one first-order section
        (``b2 == a2 == 0``).

    Raises
    ------
    ParameterError
        If ``kind`` or ``order`` is not supported or ``freq_hz`` is out of range.

    See Also
    --------
    linkwitz_riley : Crossover filters built from two Butterworths.

    Notes
    -----
    This is ``scipy.signal.butter(order, freq_hz, btype=kind, output="sos",
    fs=sample_rate)`` (bilinear transform with prewarping), validated.

    Examples
    --------
    >>> sos = butterworth("highpass", freq_hz=30.0, order=4, sample_rate=48000)
    >>> sos.shape
    (2, 6)
    >>> round(float(response_db(sos, freqs_hz=30.0, sample_rate=48000)), 2)
    -3.01
    """
    from scipy import signal

    btype = _check_kind(kind)
    n = _check_order(order, even=False)
    freq, rate = _check_freq(freq_hz, sample_rate)
    sos = np.ascontiguousarray(signal.butter(n, freq, btype=btype, output="sos", fs=rate), dtype=np.float64)
    return _checked(sos, f"butterworth({btype!r}, freq_hz={freq:g}, order={n}, sample_rate={rate})")


def linkwitz_riley(
    kind: Literal["lowpass", "highpass"], *, freq_hz: float, order: int, sample_rate: int
) -> NDArray[np.float64]:
    """Design a Linkwitz-Riley crossover filter of even order 2..16.

    Parameters
    ----------
    kind : {"lowpass", "highpass"}
        Which band of the crossover.
    freq_hz : float
        Crossover frequency in Hz, where each band is at -6.02 dB. Must satisfy
        0 < freq_hz < sample_rate/2.
    order : int
        Even order, 2 <= order <= 16 (LR2, LR4, ..., LR16); the slope is
        6*order dB per octave.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape=(2*ceil(order/4), 6), float64
        A Butterworth of order ``order/2`` cascaded with itself (LR2 is two
        first-order Butterworth sections).

    Raises
    ------
    ParameterError
        If ``kind`` or ``order`` is not supported or ``freq_hz`` is out of range.

    See Also
    --------
    butterworth

    Notes
    -----
    Each band is a squared Butterworth, so it is -6.02 dB (twice -3.01 dB) at
    the crossover, and the low-pass and high-pass differ only by the factor
    ``s**order`` of the analog prototype (mapped by the same bilinear
    transform). Polarity follows from that factor:

    - ``order % 4 == 0`` (LR4, LR8, LR12, LR16): the two bands are in phase at
      every frequency and their plain sum is an all-pass, flat in magnitude.
    - ``order % 4 == 2`` (LR2, LR6, LR10, LR14): the bands are in antiphase at
      every frequency; their plain sum has a deep notch at the crossover, and
      the sum with one band inverted (low minus high) is the flat all-pass.

    References
    ----------
    S. H. Linkwitz, "Active crossover networks for noncoincident drivers",
    J. Audio Eng. Soc. 24(1), 1976.

    Examples
    --------
    >>> sos = linkwitz_riley("lowpass", freq_hz=2000.0, order=4, sample_rate=48000)
    >>> sos.shape
    (2, 6)
    >>> round(float(response_db(sos, freqs_hz=2000.0, sample_rate=48000)), 2)
    -6.02
    """
    btype = _check_kind(kind)
    n = _check_order(order, even=True)
    half = butterworth(btype, freq_hz=freq_hz, order=n // 2, sample_rate=sample_rate)
    return cascade(half, half)


# --------------------------------------------------------------------------- helpers


def cascade(*sos_arrays: ArrayLike) -> NDArray[np.float64]:
    """Join filters in series by concatenating their second-order sections.

    Parameters
    ----------
    *sos_arrays : np.ndarray, shape=(n_sections, 6)
        One or more ``sos`` arrays in scipy's convention (``sos[:, 3] == 1``).

    Returns
    -------
    sos : np.ndarray, shape=(total_sections, 6), float64
        A new array: the sections in the order given (the response is the
        product of the responses).

    Raises
    ------
    ParameterError
        If no array is given, or one is not a finite ``(n_sections, 6)`` array
        with ``a0 == 1``.

    Examples
    --------
    >>> hp = highpass(freq_hz=80.0, q=0.7071, sample_rate=48000)
    >>> bell = peak(freq_hz=3000.0, gain_db=2.0, q=1.0, sample_rate=48000)
    >>> cascade(hp, bell).shape
    (2, 6)
    """
    if not sos_arrays:
        raise ParameterError("cascade() got no filters; expected at least one sos array")
    parts = [_as_sos(s, f"sos_arrays[{i}]") for i, s in enumerate(sos_arrays)]
    return np.concatenate(parts, axis=0)


def response_db(sos: ArrayLike, *, freqs_hz: ArrayLike, sample_rate: int) -> NDArray[np.float64]:
    """Return the magnitude response of ``sos`` in dB at the given frequencies.

    Parameters
    ----------
    sos : np.ndarray, shape=(n_sections, 6)
        Second-order sections in scipy's convention.
    freqs_hz : float or array_like
        Frequencies in Hz, each within 0 <= f <= sample_rate/2 (DC and
        Nyquist included).
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    db : np.ndarray, float64, same shape as ``freqs_hz``
        ``20*log10(|H|)``; ``-inf`` where the response is exactly zero.

    Raises
    ------
    ParameterError
        If ``sos`` is malformed or a frequency is not finite or out of range.

    Notes
    -----
    Evaluated with ``scipy.signal.freqz_sos`` (``sosfreqz`` before scipy 1.15)
    at exactly the requested frequencies.

    Examples
    --------
    >>> sos = peak(freq_hz=1000.0, gain_db=12.0, q=2.0, sample_rate=44100)
    >>> response_db(sos, freqs_hz=[1000.0], sample_rate=44100).round(6)
    array([12.])
    """
    from scipy import signal

    arr = _as_sos(sos)
    rate = check_sample_rate(sample_rate)
    try:
        freqs = np.asarray(freqs_hz, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"freqs_hz={freqs_hz!r} is not numeric; expected frequencies in Hz") from None
    nyquist = rate / 2
    bad = ~np.isfinite(freqs) | (freqs < 0.0) | (freqs > nyquist)
    if bad.any():
        first = float(freqs[bad].flat[0])
        raise ParameterError(
            f"freqs_hz contains {first!r}; expected finite frequencies 0 <= f <= {nyquist:g} Hz "
            f"(sample_rate={rate})"
        )
    if freqs.size == 0:
        return np.zeros(freqs.shape, dtype=np.float64)
    freqz = getattr(signal, "freqz_sos", None) or signal.sosfreqz
    _, h = freqz(arr, worN=freqs.ravel(), fs=rate)
    with np.errstate(divide="ignore"):
        db = 20.0 * np.log10(np.abs(h))
    return db.reshape(freqs.shape).astype(np.float64, copy=False)

"""EQ nodes: Audio EQ Cookbook filters, steep pass filters and a multi-band parametric EQ.

Every node here is a cascade of second-order sections designed by
:mod:`sonicmix.dsp.biquad` in float64 when the stream starts
(:meth:`init_state`) and run with ``scipy.signal.sosfilt`` in the audio's
dtype, except :class:`ParametricEQ` with ``phase="linear"``, which runs a
symmetric FIR by FFT block convolution.

Which class for which filter:

- one Audio EQ Cookbook biquad each: :class:`LowPass`, :class:`HighPass`
  (``cutoff_hz``, ``q``; 12 dB/octave, resonant for ``q > 0.7071``),
  :class:`BandPass`, :class:`Notch`, :class:`AllPass` (``freq_hz``, ``q``),
  :class:`Peak`, :class:`LowShelf`, :class:`HighShelf` (``freq_hz``,
  ``gain_db``, ``q``);
- steeper pass filters, 6 dB/octave per order: :class:`ButterworthLowPass`,
  :class:`ButterworthHighPass` (``cutoff_hz``, ``order`` 1..16, -3.01 dB at the
  cutoff) and :class:`LinkwitzRileyLowPass`, :class:`LinkwitzRileyHighPass`
  (``cutoff_hz``, even ``order`` 2..16, -6.02 dB at the cutoff; crossovers).
  "HPF 80 Hz, 24 dB/oct" is ``ButterworthHighPass(cutoff_hz=80.0, order=4)``;
- :class:`ParametricEQ`: several :class:`Band` values run as one cascade,
  minimum phase (IIR) or linear phase (FIR, with latency).

Why separate classes rather than ``HighPass(order=..., kind=...)``: every field
of every node has an effect at every value of the others. A resonant ``q`` is a
property of a single biquad, and an ``order`` belongs to the Butterworth and
Linkwitz-Riley families (where ``q`` is fixed by the family), so one class
holding both would have combinations that mean nothing (``order=4, q=3``)
to reject or silently ignore. The class name says the response shape that the
docs, tests and a listener can check: -3.01 dB (Butterworth) or -6.02 dB
(Linkwitz-Riley) at the cutoff.

Float32 processing. A design is run in float32 for float32 audio only when
rounding its feedback coefficients to float32 changes each section's
denominator ``A(e^jw)`` by less than 0.1 % of ``|A(e^jw)|`` at every frequency.
Then, by Rouché's theorem, the rounded poles are inside the unit circle like
the exact ones, and the response moves by less than 0.009 dB through them.
Otherwise (very low frequencies or high ``q`` at high sample rates, e.g. a
20 Hz high-pass at 96 kHz) the cascade runs in float64 block by block and the
output is cast back to float32: still float32 out, never an unstable or
audibly detuned filter, for about 25 % more time (measured on a 4-band EQ).
The choice is visible as the dtype of ``state.sos``.

Streaming dtype. A state made for float32 whose cascade runs in float32
refuses float64 blocks (:class:`~sonicmix.errors.AudioError`, see
:func:`~sonicmix.nodes.base.check_stream_dtype`): they would be filtered in
float32. A cascade that runs in float64 (made for float64, or for float32 and
not float32-safe) takes blocks of either dtype and returns the block's dtype.

Importing this module loads numpy only; scipy is imported when a node is first
used.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from sonicmix._checks import check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.dsp import biquad
from sonicmix.dsp.sosfilter import (
    SosState,
    float32_is_safe,
    non_identity,
    retune_sos_state,
    sos_process,
    sos_state,
)
from sonicmix.errors import ParameterError
from sonicmix.nodes.base import Node, check_stream_dtype

__all__ = [
    "LowPass",
    "HighPass",
    "BandPass",
    "Notch",
    "AllPass",
    "Peak",
    "LowShelf",
    "HighShelf",
    "ButterworthLowPass",
    "ButterworthHighPass",
    "LinkwitzRileyLowPass",
    "LinkwitzRileyHighPass",
    "Band",
    "ParametricEQ",
    "SosState",
    "FirState",
    "float32_is_safe",
]

#: 1/sqrt(2): the maximally flat (Butterworth) second-order q, and shelf slope S = 1.
BUTTERWORTH_Q = 0.7071067811865476

_MIN_FREQ_HZ = 1.0
_MAX_GAIN_DB = 48.0
_MIN_Q, _MAX_Q = 0.01, 100.0
_MAX_ORDER = 16


# Linear phase: the FIR covers this many time constants of the slowest pole or
# zero on each side of its centre (e**-8 = 3.4e-4 of the envelope is cut off),
# is tapered by a Tukey window over this fraction of its length, and may be at
# most this long (1.37 s of latency at 48 kHz).
_LINEAR_E_FOLDS = 8.0
_LINEAR_TAPER = 0.1
_LINEAR_MAX_TAPS = 2**17 + 1


# --------------------------------------------------------------------------- validation


def _check_freq(name: str, value: object) -> float:
    return check_range(
        name,
        value,
        low=_MIN_FREQ_HZ,
        hint="in Hz: for 2 kHz use 2000.0; below 1 Hz a filter acts on DC offset, not on audio",
    )


def _check_below_nyquist(name: str, value: float, sample_rate: int) -> None:
    nyquist = sample_rate / 2
    check_range(
        name,
        value,
        high=nyquist,
        high_inclusive=False,
        hint=f"sample_rate={sample_rate} has its Nyquist frequency at {nyquist:g} Hz and frequencies "
        f"are not clamped; lower {name.rsplit('.', 1)[-1]} or use a higher sample_rate",
    )


def _check_q(name: str, value: object) -> float:
    return check_range(
        name,
        value,
        low=_MIN_Q,
        high=_MAX_Q,
        hint="q is unitless: 0.7071 is maximally flat; a bandwidth of N octaves is "
        "q = 2**(N/2) / (2**N - 1), e.g. q=1.41 for one octave",
    )


def _check_gain(name: str, value: object) -> float:
    return check_range(
        name,
        value,
        low=-_MAX_GAIN_DB,
        high=_MAX_GAIN_DB,
        hint="relative gain in dB; for a level change use Gain",
    )


def _check_order(value: object, *, even: bool) -> int:
    return biquad._check_order(
        value,
        even=even,
        hint=" (the slope is 6*order dB/octave: 24 dB/octave is order=4)",
        odd_instead="ButterworthLowPass or ButterworthHighPass",
    )


class _Cascade(Node):
    """A node that is a fixed cascade of second-order sections (see :meth:`sos`)."""

    __slots__ = ()

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 second-order sections this node runs at ``sample_rate``."""
        raise NotImplementedError  # pragma: no cover

    automatable: ClassVar[frozenset[str]] = frozenset({"cutoff_hz", "freq_hz", "gain_db", "q"})
    #: A graph moves these along the automation's line within a control block (a held step clicks).
    interpolated: ClassVar[frozenset[str]] = automatable

    def sections(self, sample_rate: int) -> NDArray[np.float64]:
        """The node as a biquad cascade (so a Chain can fuse it with its neighbours)."""
        return self.sos(sample_rate)

    def retune(self, state: SosState, sample_rate: int) -> SosState:
        """Redesign the cascade for the new parameters, keeping the filter memory."""
        work = state.zi.dtype if state.zi is not None else np.dtype(np.float32)
        return _keep_dtype(retune_sos_state(state, self.sos(sample_rate), state.channels, work), work)

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> SosState:
        """Design the cascade for ``sample_rate`` and return zeroed filter memory."""
        return _keep_dtype(sos_state(self.sos(sample_rate), channels, dtype), np.dtype(dtype))

    def process(
        self, x: Audio, sample_rate: int, state: SosState, *, key: Audio | None = None
    ) -> tuple[Audio, SosState]:
        """Filter one block; ``state`` carries the filter memory to the next block."""
        _check_cascade_dtype(self, x, state)
        return sos_process(x, state)


def _keep_dtype(state: SosState, dtype: np.dtype[Any]) -> SosState:
    """Give an identity cascade (no sections: a 0 dB peak) an empty memory in the stream's dtype.

    Retuning it to a real filter later then designs that filter in the stream's
    dtype, not in float32 (a float64 stream must never drop to float32).
    """
    if state.zi is None:
        state.zi = np.zeros((0, state.channels, 2), dtype)
    return state


def _check_cascade_dtype(node: Node, x: Audio, state: SosState) -> None:
    """Refuse float64 blocks into float32 sections; any other pairing filters at the block's precision."""
    zi = state.zi
    if zi is not None and x.dtype != zi.dtype and x.dtype.itemsize > zi.dtype.itemsize:
        check_stream_dtype(node, x, zi.dtype)


# --------------------------------------------------------------------------- cookbook nodes


@dataclass(frozen=True, slots=True, kw_only=True)
class LowPass(_Cascade):
    """Second-order low-pass filter (Audio EQ Cookbook LPF), 12 dB/octave.

    Parameters
    ----------
    cutoff_hz : float, default 10000.0
        Cutoff frequency in Hz, >= 1; must be below the Nyquist frequency of
        the sample rate it runs at (checked when the stream starts).
    q : float, default 0.7071
        Resonance, 0.01 <= q <= 100. The gain at ``cutoff_hz`` is
        ``20*log10(q)`` dB: -3.01 dB for the maximally flat 0.7071, a
        resonant peak for larger values.

    See Also
    --------
    ButterworthLowPass : Steeper slopes (order 1..16).

    Notes
    -----
    For float32 audio the filter runs in float32 unless its design is not
    float32-safe, then in float64 (see :mod:`sonicmix.nodes.eq`).

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), LPF.

    Examples
    --------
    >>> import numpy as np
    >>> lp = LowPass(cutoff_hz=1000.0)
    >>> x = np.random.default_rng(0).standard_normal((2, 4800)).astype(np.float32)
    >>> state = lp.init_state(2, 48000, np.float32)
    >>> a, state = lp.process(x[:, :1000], 48000, state)
    >>> b, state = lp.process(x[:, 1000:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), lp(x, 48000)))
    True
    """

    cutoff_hz: float = 10000.0
    q: float = BUTTERWORTH_Q

    def __post_init__(self) -> None:
        _check_freq("cutoff_hz", self.cutoff_hz)
        _check_q("q", self.q)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 section, shape (1, 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("cutoff_hz", self.cutoff_hz, rate)
        return biquad.lowpass(freq_hz=self.cutoff_hz, q=self.q, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class HighPass(_Cascade):
    """Second-order high-pass filter (Audio EQ Cookbook HPF), 12 dB/octave.

    Parameters
    ----------
    cutoff_hz : float, default 80.0
        Cutoff frequency in Hz, >= 1 and below the Nyquist frequency.
    q : float, default 0.7071
        Resonance, 0.01 <= q <= 100; the gain at ``cutoff_hz`` is
        ``20*log10(q)`` dB (-3.01 dB for the maximally flat 0.7071).

    See Also
    --------
    ButterworthHighPass : Steeper slopes ("80 Hz, 24 dB/oct" is order=4).

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), HPF.

    Examples
    --------
    >>> import numpy as np
    >>> hp = HighPass(cutoff_hz=80.0)
    >>> t = np.arange(48000) / 48000
    >>> x = np.sin(2 * np.pi * 80.0 * t)[np.newaxis, :]
    >>> y = hp(x, 48000)
    >>> round(float(20 * np.log10(np.abs(y[0, 24000:]).max())), 2)  # -3.01 dB at the cutoff
    -3.01
    """

    cutoff_hz: float = 80.0
    q: float = BUTTERWORTH_Q

    def __post_init__(self) -> None:
        _check_freq("cutoff_hz", self.cutoff_hz)
        _check_q("q", self.q)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 section, shape (1, 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("cutoff_hz", self.cutoff_hz, rate)
        return biquad.highpass(freq_hz=self.cutoff_hz, q=self.q, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class BandPass(_Cascade):
    """Band-pass filter with 0 dB at its centre (Audio EQ Cookbook BPF, constant peak gain).

    Parameters
    ----------
    freq_hz : float, default 1000.0
        Centre frequency in Hz, >= 1 and below the Nyquist frequency.
    q : float, default 0.7071
        0.01 <= q <= 100; the -3 dB bandwidth is about ``freq_hz / q``.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), BPF (constant 0 dB peak gain).

    Examples
    --------
    >>> from sonicmix.dsp.biquad import response_db
    >>> bp = BandPass(freq_hz=2000.0, q=4.0)
    >>> round(float(response_db(bp.sos(48000), freqs_hz=2000.0, sample_rate=48000)), 6)
    0.0
    """

    freq_hz: float = 1000.0
    q: float = BUTTERWORTH_Q

    def __post_init__(self) -> None:
        _check_freq("freq_hz", self.freq_hz)
        _check_q("q", self.q)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 section, shape (1, 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("freq_hz", self.freq_hz, rate)
        return biquad.bandpass(freq_hz=self.freq_hz, q=self.q, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notch(_Cascade):
    """Notch (band-stop) filter: zero gain at ``freq_hz`` (Audio EQ Cookbook notch).

    Parameters
    ----------
    freq_hz : float, default 1000.0
        Frequency in Hz removed completely, >= 1 and below the Nyquist frequency.
    q : float, default 10.0
        0.01 <= q <= 100; higher is narrower (the -3 dB width is about
        ``freq_hz / q``).

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), notch.

    Examples
    --------
    >>> import numpy as np
    >>> hum = np.sin(2 * np.pi * 50.0 * np.arange(96000) / 48000)[np.newaxis, :]
    >>> y = Notch(freq_hz=50.0, q=5.0)(hum, 48000)
    >>> bool(np.abs(y[0, 48000:]).max() < 1e-6)
    True
    """

    freq_hz: float = 1000.0
    q: float = 10.0

    def __post_init__(self) -> None:
        _check_freq("freq_hz", self.freq_hz)
        _check_q("q", self.q)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 section, shape (1, 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("freq_hz", self.freq_hz, rate)
        return biquad.notch(freq_hz=self.freq_hz, q=self.q, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class AllPass(_Cascade):
    """Second-order all-pass filter: unit gain, phase -180 degrees at ``freq_hz``.

    Parameters
    ----------
    freq_hz : float, default 1000.0
        Frequency in Hz of the -180 degree phase shift, >= 1 and below the
        Nyquist frequency.
    q : float, default 0.7071
        0.01 <= q <= 100; higher makes the phase transition steeper.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), APF.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).standard_normal((1, 48000))
    >>> y = AllPass(freq_hz=500.0)(x, 48000)
    >>> bool(np.allclose(np.sum(y**2), np.sum(x**2), rtol=1e-3))  # energy is kept
    True
    """

    freq_hz: float = 1000.0
    q: float = BUTTERWORTH_Q

    def __post_init__(self) -> None:
        _check_freq("freq_hz", self.freq_hz)
        _check_q("q", self.q)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 section, shape (1, 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("freq_hz", self.freq_hz, rate)
        return biquad.allpass(freq_hz=self.freq_hz, q=self.q, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class Peak(_Cascade):
    """Peaking (bell) equaliser: ``gain_db`` at ``freq_hz`` (Audio EQ Cookbook peakingEQ).

    Parameters
    ----------
    freq_hz : float, default 1000.0
        Centre frequency in Hz, >= 1 and below the Nyquist frequency.
    gain_db : float, default 0.0
        Relative gain at the centre in dB, -48 <= gain_db <= 48; 0 dB is the
        identity (the input is returned unchanged).
    q : float, default 0.7071
        0.01 <= q <= 100; higher is narrower. A boost and a cut of equal q and
        opposite gain cancel exactly.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), peakingEQ.

    Examples
    --------
    >>> import numpy as np
    >>> bell = Peak(freq_hz=3000.0, gain_db=2.0, q=1.0)
    >>> x = np.sin(2 * np.pi * 3000.0 * np.arange(48000) / 48000)[np.newaxis, :]
    >>> round(float(20 * np.log10(np.abs(bell(x, 48000)[0, 24000:]).max())), 2)
    2.0
    """

    freq_hz: float = 1000.0
    gain_db: float = 0.0
    q: float = BUTTERWORTH_Q

    def __post_init__(self) -> None:
        _check_freq("freq_hz", self.freq_hz)
        _check_gain("gain_db", self.gain_db)
        _check_q("q", self.q)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 section, shape (1, 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("freq_hz", self.freq_hz, rate)
        return biquad.peak(freq_hz=self.freq_hz, gain_db=self.gain_db, q=self.q, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class LowShelf(_Cascade):
    """Low-shelf equaliser: ``gain_db`` at DC, 0 dB at Nyquist (Audio EQ Cookbook lowShelf).

    Parameters
    ----------
    freq_hz : float, default 100.0
        Shelf midpoint frequency in Hz, where the gain is ``gain_db / 2``;
        >= 1 and below the Nyquist frequency.
    gain_db : float, default 0.0
        Relative gain of the shelf in dB, -48 <= gain_db <= 48; 0 dB is the
        identity.
    q : float, default 0.7071
        The cookbook's shelf Q, 0.01 <= q <= 100: 0.7071 (shelf slope S = 1)
        is the steepest shelf without overshoot; see
        :func:`sonicmix.dsp.biquad.low_shelf` to convert a slope S.

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), lowShelf.

    Examples
    --------
    >>> from sonicmix.dsp.biquad import response_db
    >>> shelf = LowShelf(freq_hz=200.0, gain_db=6.0)
    >>> db = response_db(shelf.sos(48000), freqs_hz=[0.0, 200.0, 24000.0], sample_rate=48000)
    >>> [round(float(d), 6) for d in db]
    [6.0, 3.0, 0.0]
    """

    freq_hz: float = 100.0
    gain_db: float = 0.0
    q: float = BUTTERWORTH_Q

    def __post_init__(self) -> None:
        _check_freq("freq_hz", self.freq_hz)
        _check_gain("gain_db", self.gain_db)
        _check_q("q", self.q)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 section, shape (1, 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("freq_hz", self.freq_hz, rate)
        return biquad.low_shelf(freq_hz=self.freq_hz, gain_db=self.gain_db, q=self.q, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class HighShelf(_Cascade):
    """High-shelf equaliser: 0 dB at DC, ``gain_db`` at Nyquist (Audio EQ Cookbook highShelf).

    Parameters
    ----------
    freq_hz : float, default 10000.0
        Shelf midpoint frequency in Hz, where the gain is ``gain_db / 2``;
        >= 1 and below the Nyquist frequency.
    gain_db : float, default 0.0
        Relative gain of the shelf in dB, -48 <= gain_db <= 48; 0 dB is the
        identity.
    q : float, default 0.7071
        The cookbook's shelf Q, 0.01 <= q <= 100 (0.7071: shelf slope S = 1).

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
    coefficients" (W3C Audio EQ Cookbook note), highShelf.

    Examples
    --------
    >>> from sonicmix.dsp.biquad import response_db
    >>> air = HighShelf(freq_hz=10000.0, gain_db=3.0)
    >>> round(float(response_db(air.sos(48000), freqs_hz=10000.0, sample_rate=48000)), 6)
    1.5
    """

    freq_hz: float = 10000.0
    gain_db: float = 0.0
    q: float = BUTTERWORTH_Q

    def __post_init__(self) -> None:
        _check_freq("freq_hz", self.freq_hz)
        _check_gain("gain_db", self.gain_db)
        _check_q("q", self.q)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 section, shape (1, 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("freq_hz", self.freq_hz, rate)
        return biquad.high_shelf(freq_hz=self.freq_hz, gain_db=self.gain_db, q=self.q, sample_rate=rate)


# --------------------------------------------------------------------------- steep pass filters


@dataclass(frozen=True, slots=True, kw_only=True)
class ButterworthLowPass(_Cascade):
    """Butterworth low-pass filter of order 1..16: maximally flat, 6*order dB/octave.

    Parameters
    ----------
    cutoff_hz : float, default 10000.0
        Cutoff frequency in Hz, where the gain is -3.01 dB for every order;
        >= 1 and below the Nyquist frequency.
    order : int, default 4
        1 <= order <= 16; the slope is 6*order dB/octave (order=4: 24 dB/oct).

    See Also
    --------
    LowPass : A single resonant biquad.
    LinkwitzRileyLowPass : The crossover variant (-6.02 dB at the cutoff).

    Notes
    -----
    The design is ``scipy.signal.butter(order, cutoff_hz, "lowpass",
    output="sos", fs=sample_rate)`` (bilinear transform, prewarped).

    Examples
    --------
    >>> from sonicmix.dsp.biquad import response_db
    >>> lp = ButterworthLowPass(cutoff_hz=8000.0, order=6)
    >>> lp.sos(48000).shape
    (3, 6)
    >>> round(float(response_db(lp.sos(48000), freqs_hz=8000.0, sample_rate=48000)), 2)
    -3.01
    """

    cutoff_hz: float = 10000.0
    order: int = 4

    def __post_init__(self) -> None:
        _check_freq("cutoff_hz", self.cutoff_hz)
        _check_order(self.order, even=False)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 sections, shape (ceil(order/2), 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("cutoff_hz", self.cutoff_hz, rate)
        return biquad.butterworth("lowpass", freq_hz=self.cutoff_hz, order=self.order, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class ButterworthHighPass(_Cascade):
    """Butterworth high-pass filter of order 1..16: maximally flat, 6*order dB/octave.

    "HPF 80 Hz, 24 dB/oct" is ``ButterworthHighPass(cutoff_hz=80.0, order=4)``.

    Parameters
    ----------
    cutoff_hz : float, default 80.0
        Cutoff frequency in Hz, where the gain is -3.01 dB for every order;
        >= 1 and below the Nyquist frequency.
    order : int, default 4
        1 <= order <= 16; the slope is 6*order dB/octave.

    See Also
    --------
    HighPass : A single resonant biquad.
    LinkwitzRileyHighPass : The crossover variant (-6.02 dB at the cutoff).

    Examples
    --------
    >>> import numpy as np
    >>> hpf = ButterworthHighPass(cutoff_hz=80.0, order=4)
    >>> x = np.random.default_rng(2).standard_normal((2, 9600)).astype(np.float32)
    >>> state = hpf.init_state(2, 48000, np.float32)
    >>> a, state = hpf.process(x[:, :5000], 48000, state)
    >>> b, state = hpf.process(x[:, 5000:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), hpf(x, 48000)))
    True
    """

    cutoff_hz: float = 80.0
    order: int = 4

    def __post_init__(self) -> None:
        _check_freq("cutoff_hz", self.cutoff_hz)
        _check_order(self.order, even=False)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 sections, shape (ceil(order/2), 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("cutoff_hz", self.cutoff_hz, rate)
        return biquad.butterworth("highpass", freq_hz=self.cutoff_hz, order=self.order, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkwitzRileyLowPass(_Cascade):
    """Linkwitz-Riley crossover low-pass of even order 2..16 (LR2 ... LR16).

    Parameters
    ----------
    cutoff_hz : float, default 80.0
        Crossover frequency in Hz, where the gain is -6.02 dB; >= 1 and below
        the Nyquist frequency.
    order : int, default 4
        Even, 2 <= order <= 16; the slope is 6*order dB/octave.

    See Also
    --------
    LinkwitzRileyHighPass : The other band of the crossover.

    Notes
    -----
    A Butterworth of order ``order/2`` applied twice. With the matching
    :class:`LinkwitzRileyHighPass`, the sum of the two bands is flat in
    magnitude (an all-pass) for orders divisible by 4; for LR2, LR6, ... invert
    one band before summing (see :func:`sonicmix.dsp.biquad.linkwitz_riley`).

    References
    ----------
    S. H. Linkwitz, "Active crossover networks for noncoincident drivers",
    J. Audio Eng. Soc. 24(1), 1976.

    Examples
    --------
    >>> from sonicmix.dsp.biquad import response_db
    >>> lr4 = LinkwitzRileyLowPass(cutoff_hz=2000.0, order=4)
    >>> round(float(response_db(lr4.sos(48000), freqs_hz=2000.0, sample_rate=48000)), 2)
    -6.02
    """

    cutoff_hz: float = 80.0
    order: int = 4

    def __post_init__(self) -> None:
        _check_freq("cutoff_hz", self.cutoff_hz)
        _check_order(self.order, even=True)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 sections, shape (2*ceil(order/4), 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("cutoff_hz", self.cutoff_hz, rate)
        return biquad.linkwitz_riley("lowpass", freq_hz=self.cutoff_hz, order=self.order, sample_rate=rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkwitzRileyHighPass(_Cascade):
    """Linkwitz-Riley crossover high-pass of even order 2..16 (LR2 ... LR16).

    Parameters
    ----------
    cutoff_hz : float, default 80.0
        Crossover frequency in Hz, where the gain is -6.02 dB; >= 1 and below
        the Nyquist frequency.
    order : int, default 4
        Even, 2 <= order <= 16; the slope is 6*order dB/octave.

    See Also
    --------
    LinkwitzRileyLowPass : The other band of the crossover.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(3).standard_normal((1, 48000))
    >>> low = LinkwitzRileyLowPass(cutoff_hz=1000.0, order=4)(x, 48000)
    >>> high = LinkwitzRileyHighPass(cutoff_hz=1000.0, order=4)(x, 48000)
    >>> total = low + high  # LR4 bands sum to an all-pass: the energy is kept
    >>> bool(abs(np.sum(total**2) / np.sum(x**2) - 1.0) < 1e-3)
    True
    """

    cutoff_hz: float = 80.0
    order: int = 4

    def __post_init__(self) -> None:
        _check_freq("cutoff_hz", self.cutoff_hz)
        _check_order(self.order, even=True)

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the float64 sections, shape (2*ceil(order/4), 6), for ``sample_rate``."""
        rate = check_sample_rate(sample_rate)
        _check_below_nyquist("cutoff_hz", self.cutoff_hz, rate)
        return biquad.linkwitz_riley("highpass", freq_hz=self.cutoff_hz, order=self.order, sample_rate=rate)


# --------------------------------------------------------------------------- parametric EQ

BandKind = Literal["peak", "low_shelf", "high_shelf", "low_pass", "high_pass", "notch"]
_BAND_KINDS: tuple[str, ...] = ("peak", "low_shelf", "high_shelf", "low_pass", "high_pass", "notch")
_GAINLESS_KINDS = ("low_pass", "high_pass", "notch")
_BAND_FIELDS = ("kind", "freq_hz", "gain_db", "q", "enabled")
_BAND_NUMBERS = ("freq_hz", "gain_db", "q")
_BAND_PATH = re.compile(r"^bands\[(\d+)\]\.([A-Za-z_][A-Za-z0-9_]*)$")
_LINEAR_REFUSAL = (
    "with phase='linear' every new value redesigns an FIR of thousands of taps and may change its "
    "length, which is the node's latency, compensated once before the render; use phase='minimum'"
)


@dataclass(slots=True)
class FirState:
    """Streaming state of a linear-phase :class:`ParametricEQ`.

    Attributes
    ----------
    taps : np.ndarray, shape=(n_taps,), float64, or None
        The symmetric FIR (used by direct convolution of short blocks, which
        accumulates in float64); None for the identity.
    spectrum : np.ndarray, shape=(fft_size // 2 + 1,), or None
        ``rfft`` of the taps zero-padded to ``fft_size``, complex64 for float32
        audio and complex128 for float64 (overlap-save of longer blocks).
    fft_size : int
        FFT length of the overlap-save blocks (a power of two, >= 4 * n_taps).
    history : np.ndarray, shape=(channels, n_taps - 1)
        The last ``n_taps - 1`` input samples (zeros before the first block).
    """

    taps: NDArray[Any] | None
    spectrum: NDArray[Any] | None
    fft_size: int
    history: NDArray[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParametricEQ(Node):
    """Multi-band parametric equaliser run as one filter.

    Parameters
    ----------
    bands : tuple of ParametricEQ.Band, default ()
        The bands, applied as one cascade of second-order sections in this
        order (one ``sosfilt`` pass over the audio). Disabled bands and bands
        that are exact identities (0 dB peaks and shelves) cost nothing. No
        enabled band is the identity.
    phase : {"minimum", "linear"}, default "minimum"
        ``"minimum"``: the IIR cascade (no latency; the cookbook filters are
        minimum phase). ``"linear"``: an FIR with the same magnitude response
        and a constant delay of ``latency_samples(sample_rate)`` samples, so
        that no band shifts the phase of the others (see Notes).

    Raises
    ------
    ParameterError
        At construction for a malformed band list or phase; when the stream
        starts for a band at or above the Nyquist frequency, or (linear phase)
        a design that would need more than 131073 taps.

    Notes
    -----
    The linear-phase FIR is designed by frequency sampling: the magnitude
    ``|H|`` of the IIR cascade is sampled on a grid 8 times denser than the FIR
    is long, transformed to its zero-phase impulse response, cut to ``n_taps``
    (odd) around its centre, tapered by a Tukey window (10 % of the length),
    and made exactly symmetric. Its length comes from the slowest-decaying
    pole or zero of the cascade, at distance ``d`` from the unit circle (zeros
    on the circle, as in a notch or the DC zero of a high-pass, excepted):
    ``n_taps = 2 * ceil(8 / d) + 1``, eight time constants either side.
    Low bands and high ``q`` make ``d`` small, so the lowest band frequency sets
    the length. At 48 kHz: an 80 Hz high-pass gets 2171 taps (23 ms of
    latency), a 30 Hz high-pass 5773 (60 ms), a 60 Hz, q=4, -6 dB bell 23031
    (0.24 s); the length doubles with the sample rate. The magnitude then matches the
    IIR's to within 0.01 dB for typical settings (the tests check 0.1 dB
    from 30 Hz to 16 kHz); the deep stop band of a pass filter and the bottom
    of a notch are reproduced less closely.

    It is applied by FFT overlap-save block convolution (direct convolution
    for short blocks); the state holds the last ``n_taps - 1`` input samples,
    so streaming gives the same output as one call. The output is delayed by
    ``(n_taps - 1) / 2`` samples (:meth:`latency_samples`); a one-shot call
    returns as many samples as it is given, so the last ``latency_samples``
    of the filtered signal stay in the state.

    Automation (minimum phase only): a graph names a band's field by its path,
    ``"chain[0].bands[1].gain_db"`` (:meth:`with_parameter`); every enabled
    band's ``freq_hz`` and ``q`` and a peak's or shelf's ``gain_db`` are
    :attr:`automatable`, and :meth:`retune` keeps the filter memory. Linear
    phase refuses them (:attr:`automation_refusals`).

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.dsp.biquad import response_db
    >>> Band = ParametricEQ.Band
    >>> eq = ParametricEQ(bands=(
    ...     Band(kind="high_pass", freq_hz=80.0),
    ...     Band(kind="peak", freq_hz=250.0, gain_db=-3.0, q=1.0),
    ...     Band(kind="high_shelf", freq_hz=10000.0, gain_db=3.0),
    ... ))
    >>> eq.sos(48000).shape
    (3, 6)
    >>> total_db = response_db(eq.sos(48000), freqs_hz=250.0, sample_rate=48000)
    >>> band_db = [response_db(b.sos(48000), freqs_hz=250.0, sample_rate=48000) for b in eq.bands]
    >>> bool(abs(total_db - sum(band_db)) < 1e-9)  # the bands' dB responses add up
    True
    >>> x = np.random.default_rng(4).standard_normal((2, 4800)).astype(np.float32)
    >>> state = eq.init_state(2, 48000, np.float32)
    >>> a, state = eq.process(x[:, :1000], 48000, state)
    >>> b, state = eq.process(x[:, 1000:], 48000, state)
    >>> bool(np.array_equal(np.concatenate([a, b], axis=1), eq(x, 48000)))
    True

    Linear phase delays the signal by half the FIR length:

    >>> lin = ParametricEQ(bands=eq.bands, phase="linear")
    >>> taps = lin.fir(48000)
    >>> lin.latency_samples(48000) == (len(taps) - 1) // 2
    True
    >>> bool(np.array_equal(taps, taps[::-1]))
    True
    """

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Band:
        """One band of a :class:`ParametricEQ`: a small frozen value.

        Parameters
        ----------
        kind : {"peak", "low_shelf", "high_shelf", "low_pass", "high_pass", "notch"}, default "peak"
            The Audio EQ Cookbook filter of the band (pass filters are the
            second-order cookbook LPF/HPF, 12 dB/octave).
        freq_hz : float, default 1000.0
            Centre, shelf-midpoint or cutoff frequency in Hz, >= 1 and below the
            Nyquist frequency of the stream.
        gain_db : float, default 0.0
            Relative gain in dB, -48 <= gain_db <= 48, for peaks and shelves;
            must be 0.0 for ``low_pass``, ``high_pass`` and ``notch`` (which
            have no gain).
        q : float, default 0.7071
            0.01 <= q <= 100: bandwidth of a peak or notch, shelf Q of a shelf,
            resonance of a pass filter (0.7071 is maximally flat).
        enabled : bool, default True
            A disabled band is kept in the list but not applied.

        Examples
        --------
        >>> ParametricEQ.Band(kind="peak", freq_hz=3000.0, gain_db=2.0, q=1.0).gain_db
        2.0
        """

        kind: BandKind = "peak"
        freq_hz: float = 1000.0
        gain_db: float = 0.0
        q: float = BUTTERWORTH_Q
        enabled: bool = True

        def __post_init__(self) -> None:
            if self.kind not in _BAND_KINDS:
                raise ParameterError(
                    f"kind={self.kind!r} is not a band kind; expected one of {', '.join(_BAND_KINDS)}"
                )
            _check_freq("freq_hz", self.freq_hz)
            _check_gain("gain_db", self.gain_db)
            _check_q("q", self.q)
            if self.kind in _GAINLESS_KINDS and self.gain_db != 0.0:
                raise ParameterError(
                    f"gain_db={self.gain_db:g} has no effect on a {self.kind!r} band; expected "
                    "gain_db=0.0 (for a boost or cut use kind='peak', 'low_shelf' or 'high_shelf')"
                )
            if not isinstance(self.enabled, (bool, np.bool_)):
                raise ParameterError(f"enabled={self.enabled!r} is not a bool; expected True or False")

        def sos(self, sample_rate: int) -> NDArray[np.float64]:
            """Return the band's float64 section, shape (1, 6), for ``sample_rate``."""
            rate = check_sample_rate(sample_rate)
            _check_below_nyquist("freq_hz", self.freq_hz, rate)
            return _band_sos(self, rate)

    bands: tuple[ParametricEQ.Band, ...] = ()
    phase: Literal["minimum", "linear"] = "minimum"

    def __post_init__(self) -> None:
        bands = self.bands
        if not isinstance(bands, tuple):
            if not isinstance(bands, Sequence) or isinstance(bands, str):
                raise ParameterError(f"bands={bands!r}; expected a tuple of ParametricEQ.Band")
            bands = tuple(bands)
            object.__setattr__(self, "bands", bands)
        for i, band in enumerate(bands):
            if not isinstance(band, ParametricEQ.Band):
                raise ParameterError(
                    f"bands[{i}]={band!r} is not a band; expected ParametricEQ.Band(kind=..., freq_hz=...)"
                )
        if self.phase not in ("minimum", "linear"):
            raise ParameterError(f"phase={self.phase!r} is not supported; expected 'minimum' or 'linear'")

    def sos(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the cascade of the enabled bands, float64, shape (n_enabled, 6).

        This is the minimum-phase filter; with ``phase="linear"`` the FIR from
        :meth:`fir` has the same magnitude response.
        """
        rate = check_sample_rate(sample_rate)
        return _eq_sos(self.bands, rate)

    def fir(self, sample_rate: int) -> NDArray[np.float64]:
        """Return the linear-phase FIR taps (odd length, symmetric) for ``sample_rate``.

        The design is described in the class Notes; it is made once per
        (bands, sample_rate) and cached.
        """
        rate = check_sample_rate(sample_rate)
        return _linear_phase_fir(self.bands, rate).copy()

    def sections(self, sample_rate: int) -> NDArray[np.float64] | None:
        """The bands as one biquad cascade (minimum phase); None for linear phase."""
        if self.phase == "minimum":
            return _eq_sos(self.bands, check_sample_rate(sample_rate))
        return None

    def latency_samples(self, sample_rate: int) -> int:
        """0 for minimum phase; ``(n_taps - 1) // 2`` for linear phase."""
        if self.phase == "minimum":
            return 0
        return (len(_linear_phase_fir(self.bands, check_sample_rate(sample_rate))) - 1) // 2

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> SosState | FirState:
        """Design the filter for ``sample_rate``; return its zeroed state."""
        rate = check_sample_rate(sample_rate)
        if self.phase == "minimum":
            return _keep_dtype(sos_state(_eq_sos(self.bands, rate), channels, dtype), np.dtype(dtype))
        return _fir_state(_linear_phase_fir(self.bands, rate), channels, np.dtype(dtype))

    def retune(self, state: SosState | FirState, sample_rate: int) -> SosState | FirState:
        """Carry a stream over to these bands: minimum phase keeps the filter memory.

        Linear phase cannot follow new bands mid-stream (see
        :attr:`automation_refusals`); the same bands keep the state as it is.

        Raises
        ------
        ParameterError
            Linear phase, with bands whose FIR differs from the stream's.
        """
        rate = check_sample_rate(sample_rate)
        if isinstance(state, FirState):
            taps = _linear_phase_fir(self.bands, rate)
            same = taps is state.taps or (
                np.array_equal(taps, [1.0]) if state.taps is None else np.array_equal(taps, state.taps)
            )
            if not same:
                raise ParameterError(
                    f"ParametricEQ(phase='linear') cannot change its bands mid-stream ({_LINEAR_REFUSAL}); "
                    "start a new stream with init_state, or use phase='minimum'"
                )
            return state
        work = state.zi.dtype if state.zi is not None else np.dtype(np.float32)
        return _keep_dtype(retune_sos_state(state, _eq_sos(self.bands, rate), state.channels, work), work)

    # -- automation: a band's field by its path, "bands[2].gain_db" --------------------------------
    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The fields and every band's fields by path, as automation names them.

        Examples
        --------
        >>> eq = ParametricEQ(bands=(ParametricEQ.Band(freq_hz=200.0, gain_db=-3.0),))
        >>> eq.parameter_names
        ('bands', 'phase', 'bands[0].kind', 'bands[0].freq_hz', 'bands[0].gain_db', 'bands[0].q', \
'bands[0].enabled')
        """
        paths = tuple(f"bands[{i}].{name}" for i in range(len(self.bands)) for name in _BAND_FIELDS)
        return ("bands", "phase", *paths)

    @property
    def automation_refusals(self) -> dict[str, str]:  # type: ignore[override]
        """Why each parameter that cannot be automated cannot be (a band's kind, a disabled band...)."""
        out = {
            "bands": "a tuple of bands; automate one band's field by its path, e.g. 'bands[0].gain_db'",
            "phase": "a choice ('minimum' or 'linear'), not a number",
        }
        for i, band in enumerate(self.bands):
            out[f"bands[{i}].kind"] = "a choice of filter, not a number"
            out[f"bands[{i}].enabled"] = "a switch (True or False), not a number"
            for name in _BAND_NUMBERS:
                if self.phase == "linear":
                    out[f"bands[{i}].{name}"] = _LINEAR_REFUSAL
                elif not band.enabled:
                    out[f"bands[{i}].{name}"] = f"bands[{i}] is disabled (enabled=False): it has no effect"
                elif name == "gain_db" and band.kind in _GAINLESS_KINDS:
                    out[f"bands[{i}].{name}"] = f"a {band.kind!r} band has no gain"
        return out

    @property
    def automatable(self) -> frozenset[str]:  # type: ignore[override]
        """With minimum phase, every enabled band's ``freq_hz`` and ``q``, and ``gain_db`` if it has one."""
        refused = self.automation_refusals
        return frozenset(name for name in self.parameter_names if name not in refused)

    @property
    def interpolated(self) -> frozenset[str]:
        """A graph moves these along the automation's line within a control block: all automatable ones."""
        return self.automatable

    def with_parameter(self, name: str, value: Any) -> ParametricEQ:
        """A copy with one parameter changed: a field, or a band's field by its path.

        Raises
        ------
        ParameterError
            No such band or field (with the closest name), or a value the band refuses.

        Examples
        --------
        >>> eq = ParametricEQ(bands=(ParametricEQ.Band(freq_hz=200.0, gain_db=-3.0),))
        >>> eq.with_parameter("bands[0].gain_db", -6.0).bands[0].gain_db
        -6.0
        """
        match = _BAND_PATH.match(name)
        if match is None:
            if "[" in name or "." in name:
                raise ParameterError(f"{name!r} is not a band's field; expected e.g. 'bands[0].gain_db'")
            return dataclasses.replace(self, **{name: value})
        index, field_name = int(match.group(1)), match.group(2)
        if index >= len(self.bands):
            raise ParameterError(
                f"{name!r}: the EQ has {len(self.bands)} band(s); expected bands[0] to "
                f"bands[{len(self.bands) - 1}]" if self.bands else f"{name!r}: the EQ has no bands"
            )
        if field_name not in _BAND_FIELDS:
            close = difflib.get_close_matches(field_name, _BAND_FIELDS, n=1)
            hint = f" (did you mean 'bands[{index}].{close[0]}'?)" if close else ""
            raise ParameterError(f"{name!r}: a band has no field {field_name!r}{hint}; expected one of "
                                 f"{list(_BAND_FIELDS)}")  # fmt: skip
        bands = list(self.bands)
        try:
            bands[index] = dataclasses.replace(bands[index], **{field_name: value})
        except ParameterError as err:
            raise ParameterError(f"{name}: {err}") from None
        return dataclasses.replace(self, bands=tuple(bands))

    def process(
        self, x: Audio, sample_rate: int, state: SosState | FirState, *, key: Audio | None = None
    ) -> tuple[Audio, SosState | FirState]:
        """Filter one block; the state carries filter memory (or FIR history) onward."""
        if isinstance(state, FirState):
            check_stream_dtype(self, x, state.history.dtype)
            return _fir_process(x, state)
        _check_cascade_dtype(self, x, state)
        return sos_process(x, state)


#: A band of a :class:`ParametricEQ` (the same class as ``ParametricEQ.Band``).
Band = ParametricEQ.Band


def _band_sos(band: Band, rate: int) -> NDArray[np.float64]:
    f, g, q = band.freq_hz, band.gain_db, band.q
    if band.kind == "peak":
        return biquad.peak(freq_hz=f, gain_db=g, q=q, sample_rate=rate)
    if band.kind == "low_shelf":
        return biquad.low_shelf(freq_hz=f, gain_db=g, q=q, sample_rate=rate)
    if band.kind == "high_shelf":
        return biquad.high_shelf(freq_hz=f, gain_db=g, q=q, sample_rate=rate)
    if band.kind == "low_pass":
        return biquad.lowpass(freq_hz=f, q=q, sample_rate=rate)
    if band.kind == "high_pass":
        return biquad.highpass(freq_hz=f, q=q, sample_rate=rate)
    return biquad.notch(freq_hz=f, q=q, sample_rate=rate)


def _eq_sos(bands: tuple[Band, ...], rate: int) -> NDArray[np.float64]:
    rows = []
    for i, band in enumerate(bands):
        if band.enabled:
            _check_below_nyquist(f"bands[{i}].freq_hz", band.freq_hz, rate)
            rows.append(_band_sos(band, rate))
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, 6), dtype=np.float64)


# --------------------------------------------------------------------------- linear phase


def _slowest_distance(sos: NDArray[np.float64]) -> float:
    """Smallest distance from the unit circle of a pole or zero of ``sos``.

    Zeros on the circle (notches, the DC zero of a high-pass) are skipped: they
    do not decay. Complex pairs are measured by ``sqrt(c2/c0)``, which is
    exact; real roots by numpy, skipping those within 1e-6 of the circle (the
    double zeros of pass filters, which root finding places only to 1e-8).
    """
    distance = 1.0
    for row in sos:
        for c0, c1, c2 in (row[0:3], row[3:6]):
            if c0 == 0.0:
                continue
            if c1 * c1 < 4.0 * c0 * c2:  # complex pair, radius sqrt(c2/c0)
                d = abs(1.0 - math.sqrt(c2 / c0))
                if d > 1e-12:
                    distance = min(distance, d)
            else:
                for root in np.roots([c0, c1, c2]):
                    d = abs(1.0 - abs(root))
                    if d > 1e-6:
                        distance = min(distance, d)
    return distance


def _magnitude(sos: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    z = np.exp(-1j * w)
    mag = np.ones(w.shape, dtype=np.float64)
    for b0, b1, b2, _, a1, a2 in sos:
        mag *= np.abs(b0 + z * (b1 + b2 * z)) / np.abs(1.0 + z * (a1 + a2 * z))
    return mag


@functools.lru_cache(maxsize=32)
def _linear_phase_fir(bands: tuple[Band, ...], rate: int) -> NDArray[np.float64]:
    sos = non_identity(_eq_sos(bands, rate))
    if sos.shape[0] == 0:
        return np.ones(1, dtype=np.float64)
    distance = _slowest_distance(sos)
    half = math.ceil(_LINEAR_E_FOLDS / distance)
    n_taps = 2 * half + 1
    if n_taps > _LINEAR_MAX_TAPS:
        raise ParameterError(
            f"phase='linear' would need a {n_taps}-tap FIR ({half / rate:.2f} s of latency) at "
            f"sample_rate={rate}; expected at most {_LINEAR_MAX_TAPS} taps (a low band with a high q or "
            "gain rings too long: lower its q or |gain_db|, raise its freq_hz, or use phase='minimum')"
        )
    nfft = 1 << math.ceil(math.log2(8 * n_taps))
    w = np.linspace(0.0, math.pi, nfft // 2 + 1)
    zero_phase = np.fft.irfft(_magnitude(sos, w), nfft)
    taps = np.concatenate([zero_phase[nfft - half :], zero_phase[: half + 1]])
    taps *= _tukey(n_taps, _LINEAR_TAPER)
    taps = 0.5 * (taps + taps[::-1])  # exactly symmetric (a + b == b + a in floating point)
    taps.setflags(write=False)
    return taps


def _tukey(n: int, fraction: float) -> NDArray[np.float64]:
    """Tukey window: flat, with raised-cosine ends over ``fraction`` of the length."""
    window = np.ones(n, dtype=np.float64)
    ramp = int(fraction * (n - 1) / 2)
    if ramp > 0:
        k = np.arange(ramp)
        window[:ramp] = 0.5 * (1.0 - np.cos(np.pi * k / ramp))
        window[n - ramp :] = window[:ramp][::-1]
    return window


def _fir_state(taps: NDArray[np.float64], channels: int, dtype: np.dtype[Any]) -> FirState:
    if len(taps) == 1 and taps[0] == 1.0:
        return FirState(taps=None, spectrum=None, fft_size=0, history=np.zeros((channels, 0), dtype=dtype))
    from scipy import fft

    fft_size = 1 << max(8, math.ceil(math.log2(4 * len(taps))))
    return FirState(
        taps=taps,
        spectrum=fft.rfft(taps.astype(dtype), fft_size),
        fft_size=fft_size,
        history=np.zeros((channels, len(taps) - 1), dtype=dtype),
    )


def _fir_process(x: Audio, state: FirState) -> tuple[Audio, FirState]:
    taps, spectrum = state.taps, state.spectrum
    if taps is None or spectrum is None or x.shape[1] == 0:
        return x.copy(), state
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy import fft

    channels, n = x.shape
    memory = len(taps) - 1
    size = state.fft_size
    hop = size - memory  # new output samples per FFT block
    buf = np.concatenate([state.history.astype(x.dtype, copy=False), x], axis=1)
    if n * len(taps) <= 2 * size * math.log2(size):
        # short block: direct convolution is cheaper than one FFT block. The
        # taps are symmetric, so correlating with them is convolving. Sums of
        # thousands of products are accumulated in float64 (a float32 dot
        # product of 20000 taps is off by 1e-5; the float32 FFT path by 4e-7).
        windows = sliding_window_view(buf.astype(np.float64, copy=False), len(taps), axis=1)
        y = (windows @ taps).astype(x.dtype, copy=False)
    else:
        blocks = -(-n // hop)
        padded = np.zeros((channels, memory + blocks * hop), dtype=x.dtype)
        padded[:, : buf.shape[1]] = buf
        frames = sliding_window_view(padded, size, axis=1)[:, ::hop]  # (channels, blocks, size)
        out = np.empty((channels, blocks * hop), dtype=x.dtype)
        batch = max(1, (1 << 20) // size)  # FFT about a million samples per channel at a time
        for start in range(0, blocks, batch):
            stop = min(blocks, start + batch)
            spec = fft.rfft(frames[:, start:stop], axis=-1)
            spec *= spectrum
            out[:, start * hop : stop * hop] = fft.irfft(spec, size, axis=-1)[..., memory:].reshape(
                channels, -1
            )
        y = out[:, :n]
    state.history = buf[:, buf.shape[1] - memory :].copy()
    return y, state

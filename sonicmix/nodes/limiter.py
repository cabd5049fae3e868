"""Limiter: a lookahead limiter whose output never exceeds a true-peak ceiling.

How the ceiling is guaranteed
-----------------------------
"True peak" is what a meter reads after interpolating between samples: ours
(:mod:`sonicmix.loudness.truepeak`, 4x to 8x oversampling) and libebur128's
(4x below 96 kHz, 2x below 192 kHz). Every interpolated value is a dot product
of one filter *row* with 25 samples around it (:func:`~sonicmix.dsp.lookahead.true_peak_rows`
holds the rows of both meters). The limiter keeps every such value, and every
sample, at or below the ceiling ``c`` (less ``2e-5`` relative for float32
rounding), in two stages:

1. **Main gain** ``g1``. The input's peak around each sample (its own value
   and the interpolated values on both sides, both meters) gives the gain that
   sample needs, ``r = min(1, c1 / peak)`` with ``c1 = c (1 - margin)``. The
   gain is held at the minimum of ``r`` over +-12 samples (the reach of the
   interpolation filters), so that around each peak it is flat and the peak's
   interpolated values scale exactly; it releases towards 1 as a one-pole
   with time constant ``release_s``; it looks ahead with a running minimum
   over the attack window and falls along a triangular ramp that is
   complete before that window starts. ``g1 <= r`` everywhere, so every
   sample of ``y1 = g1 * x`` is within ``c1``.
2. **Exact check and correction** ``corr``. Where the gain moves inside a
   filter's reach, ``y1`` may still overshoot between samples. The
   interpolated peaks ``V`` of ``y1`` are computed exactly wherever a bound
   says they may exceed ``c1``, giving a target ``q = c1 / V`` for the
   samples on both sides of each overshoot. ``corr`` is the largest curve
   below ``q`` whose slope never exceeds ``s`` per sample. For a row ``h``
   at the point ``tau``, with ``corr_tau`` the value of ``corr`` interpolated
   linearly at ``tau``::

       |sum h[j] corr[j] y1[j]| <= corr_tau V + sum |h[j]| |corr[j] - corr_tau| |y1[j]|
                                <= c1 + s * W * c1,

   where ``W = max sum |h[j]| |j - tau|`` over the rows (3.3 at 48 kHz). With
   ``s = margin / ((1 - margin) W)`` the right side is exactly ``c``: no
   interpolated value of the output exceeds the ceiling, on either meter,
   for any input. The correction can reach ``s * A2`` below 1 within its
   ``A2`` samples of lookahead; since ``V <= L1 * c1`` (``L1``, the largest
   row norm, 2.2) the margin is chosen so that ``s * A2 >= 1 - 1 / L1``:
   the guarantee needs no assumption about the input.

The price is the margin: peaks that hit the limiter come out between
``ceiling_dbtp - margin_db`` and ``ceiling_dbtp``; :meth:`Limiter.margin_db`
gives it (0.13 dB at 48 kHz with the default 5 ms lookahead, 0.06 dB with
10 ms). The guarantee covers the output as a meter sees it once the stream
is complete: a stream cut off while loud is followed, for a meter, by a
silence the limiter never saw. Feed ``latency_samples`` more samples (zeros,
at the end of a programme) to flush the limiter.

Ideal reconstruction (``true_peak="ideal"``)
--------------------------------------------
A meter oversampling 4x reads a band-limited signal's peak up to 0.7 dB
low (a tone near the Nyquist frequency peaks between its grid points), and
no interpolator of 25 taps follows content near the Nyquist frequency: in the
ideal (sinc) reconstruction, between samples ``m`` and ``m + 1`` at ``m +
tau``, a sample ``d`` away weighs ``(-1)^d sin(pi tau) / (pi (d + tau))``, a
sum over the signal's alternating part that converges only as ``1 / d``
(:mod:`sonicmix.dsp.longreach`). On the loud music of
``benchmarks/bench_limiter.py`` (hi-hats of differentiated noise, a snare
of white noise), limited to -1 dBTP, the whole 300 s output's sinc
reconstruction reaches +0.48 dBTP with the default, and reached +0.43 when
this option checked only a 16x grid of 24-tap rows; there the output's
sinc peak is the input's times the gain at that sample, to 0.001 dB: the
overs are the input's own peaks, 1.3 to 3.3 dB above what 25 taps read.

With ``true_peak="ideal"`` the limiter checks, on top of the default's rows:

* a 16x grid of Kaiser-windowed sinc rows over 24 samples
  (:func:`~sonicmix.dsp.lookahead.ideal_rows`), with the default's proof;
* for the gain each sample needs, the sinc series of the input over
  ``past`` samples before and ``future`` after the intervals on both sides
  (180 and 84 at 48 kHz with 5 ms: ``future = 12 + E``, where ``E``, 35 % of
  ``D - 35``, is lookahead moved from the attack and the correction to the
  detection; ``past = D + 12 - E``), at the 15 points of a 16x grid, exactly for
  the 25 nearest samples and through four moments beyond (3.8e-5 relative,
  plus at most 4.3e-4 of the largest sample for summing the higher two only
  to 48 samples), where one of the interval's 26 nearest samples reaches
  half the ceiling; scaled up by the grid factor (Bernstein's inequality:
  a band-limited signal's peak is within ``pi^2 / 2048``, 0.042 dB, of the
  nearest point of a 16x grid, :func:`~sonicmix.dsp.lookahead.grid_factor`);
* plus an allowance for the samples beyond that reach, which the limiter has
  not seen: 4 rms of their sum for a signal whose alternating part is white
  with the power density measured around the interval (means of 16
  alternating samples over ``+-(future - 8)`` samples).

What this guarantees: the BS.1770 meters' ceiling exactly, for any input, as
the default. For the ideal reconstruction, no finite lookahead can: a
bounded signal's sinc series grows with the logarithm of its length (a loud
alternating burst arriving just beyond the reach, after a quiet passage,
adds what the allowance did not foresee). The allowance is made for
noise-like content near the Nyquist frequency; a steady tone there adds up
coherently over any distance, so where one starts after silence the half
sample before its first sample reads far above the allowance: 0.25 s of
samples alternating at 4 times full scale, with 10 % white noise, limited
to -1 dBTP at 48 kHz, reach +3.7 dBTP there (the default: +8.0; the sinc
series of the whole output). Where the main gain is flat over the reach,
the output's truncated sinc series at the 16x grid points, plus
the allowance, stays within ``c1`` times the grid factor (``c1``: the
ceiling less the margin); where the gain moves within the reach (an attack,
a release) the long sums are not checked again after the gain, and the
small correction of the second stage is checked on the rows only. Measured
against the sinc series of the whole output (``bench_limiter.ideal_peaks``:
FFTs of zero-padded segments to find the places, the direct sum at each,
over 65536 samples on each side near the ceiling, cross-checked by a 256x
FFT of one segment),
limited to -1 dBTP at 48 kHz: the benchmark's 300 s reach -1.22 dBTP;
full-band noise bursts -1.28 (the default +0.48); 400 random signals of
``tests/nodes/test_limiter.py``'s property test (full band, low-passed at 0.45
and 0.4 fs, differentiated; 0 to 12 dB over ceilings of -0.1, -1 and -3
dBTP) stay at least 0.25 dB below their ceiling. The option costs margin
(:meth:`Limiter.margin_db`: 0.23 dB instead of 0.13 at 48 kHz with the
default lookahead, 0.76 instead of 0.42 with 2 ms), loudness where the
signal has content near the Nyquist frequency (the allowance: -11.16 LUFS
instead of -10.91 on the benchmark's music), and time: 5.7 to 7.4 times the
default's there (``docs/benchmarks.md``), most of it in the sums, which run
wherever a sample near an interval reaches half the ceiling and whose reach,
and so cost, grows with the lookahead.

Lookahead budget
----------------
``latency_samples = round(lookahead_s * sample_rate) = D`` is spent as 12
samples of detection (the interpolation's reach), 12 of hold, the attack
window ``A``, 12 of exact check and the correction's lookahead ``A2``:
``D = 35 + A + A2`` (the attack window shares a sample with the hold), with
``A2`` 60 % of ``D - 35``; with ``true_peak="ideal"``, ``E`` samples of
detection more and ``A2`` 60 % of ``D - 35 - E``. At least 64 samples are
required.

Cost
----
The interpolated peaks are evaluated exactly only in blocks of 64 samples
that a bound cannot keep below the target. The bound splits each row into
two taps and a filter on the signal's second differences
(:func:`~sonicmix.dsp.lookahead.true_peak_rows`): ``(|p0| + |p1|) max |x|
+ sum |w| max |second difference|``. On loud music it leaves about 10 % of
the blocks to evaluate exactly, where ``sum |row| max |x|`` left 60 %; the
same bound skips the exact check of the limited signal. The sequential
parts are numba kernels (:mod:`sonicmix.dsp.lookahead`), run chunk by chunk
(:func:`~sonicmix.dsp.lookahead.limit`) through lines of up to 65536
samples; the hold and the lookahead minimum copy their input wherever it
has no dip to spread. The only full-length allocation is the result (the
output of ``process``, the gain of ``gain``). On 300 s of loud stereo music at 48 kHz this runs at
6.3 ns per channel-sample here (CPU time; 6.5 compiled for an AVX2-only
CPU), 0.41 to 0.42 times the time of pedalboard's Limiter (0.45 on 60 s)
(``benchmarks/bench_limiter.py``; ``docs/benchmarks.md``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.errors import ParameterError
from sonicmix.nodes.base import Node, check_stream_channels, check_stream_dtype

__all__ = ["Limiter", "LimiterState"]

_HALF = 12  # reach of the interpolation rows, on each side (sonicmix.dsp.lookahead.HALF_SPAN)
_TAPS = 2 * _HALF + 1
_FIXED = 35  # detection 12 + hold 12 + check 12, less the sample the attack window shares
_MIN_LATENCY = 64
_CORRECTION_SHARE = 0.6
_ROUNDING = 2e-5  # relative: float32 products and 25-term sums in this node and in the meters
_CHUNK = 65536
_BLOCK = 64  # sonicmix.dsp.lookahead.BLOCK
_RECONSTRUCTIONS = ("bs1770", "ideal")
_SCREEN = 0.5  # "ideal": sinc sums are evaluated where a sample within 13 of the interval reaches this * c1
_IDEAL_GRID = 16  # true_peak="ideal": rows at every 1/16 of a sample (sonicmix.dsp.lookahead.ideal_rows)
_REACH_SHARE = 0.35  # true_peak="ideal": share of the lookahead's free part spent on the sinc's reach ahead


class _Design(NamedTuple):
    latency: int
    attack: int  # A: lookahead window of the main gain
    correction: int  # A2: lookahead of the correction
    ceiling: float  # c1: the main gain's target (linear)
    margin: float
    step: float  # s: largest change of the correction per sample
    release: float  # one-pole coefficient of the release
    boxes: tuple[int, int]
    norms: tuple[float, float, float]  # l1, linear and curvature norms of the rows (true_peak_rows)
    group_first: np.ndarray  # true_peak_rows' groups: (groups, 3) first tap, rows, taps
    group_rows: np.ndarray  # (groups, 3, span), in the audio's dtype
    reach: tuple[int, int]  # true_peak="ideal": sinc sum's past and future reach (0, 0 otherwise)
    extra: int  # samples of lookahead spent on the future reach beyond 12 (0 unless "ideal")


@functools.lru_cache(maxsize=64)
def _design(
    ceiling_dbtp: float, release_s: float, lookahead_s: float, sample_rate: int, dtype: str, grid: int
) -> _Design:
    from sonicmix.dsp.lookahead import true_peak_rows

    latency = int(round(lookahead_s * sample_rate))
    if latency < _MIN_LATENCY:
        raise ParameterError(
            f"lookahead_s={lookahead_s:g} is {latency} samples at {sample_rate} Hz; expected at least "
            f"{_MIN_LATENCY} samples (lookahead_s >= {_MIN_LATENCY / sample_rate:.4g} at this rate)"
        )
    rest = latency - _FIXED
    # "ideal": a share of the lookahead lets the needed gain see the sinc's tail ahead (module notes)
    extra = int(round(_REACH_SHARE * rest)) if grid else 0
    rest -= extra
    correction = int(round(_CORRECTION_SHARE * rest))
    attack = rest - correction
    rows = true_peak_rows(sample_rate, grid)
    # the correction must be able to reach 1 / L1, the lowest target any input can need
    depth = 1.0 - 1.0 / (rows.l1_norm * (1.0 + 1e-6))
    step = depth / correction
    ratio = step * rows.first_moment  # margin / (1 - margin)
    margin = ratio / (1.0 + ratio)
    target = 10.0 ** (ceiling_dbtp / 20.0) * (1.0 - _ROUNDING)
    first_box = (attack + 1) // 2
    dt = np.dtype(dtype)
    return _Design(
        latency=latency,
        attack=attack,
        correction=correction,
        ceiling=target * (1.0 - margin),
        margin=margin,
        step=step,
        release=math.exp(-1.0 / (release_s * sample_rate)),
        boxes=(first_box, attack + 1 - first_box),
        norms=(rows.l1_norm * (1.0 + 1e-6), rows.linear_norm, rows.curvature_norm),
        group_first=rows.group_first,
        group_rows=rows.group_rows.astype(dt),
        reach=(latency + _HALF - extra, _HALF + extra) if grid else (0, 0),
        extra=extra,
    )


@dataclass(slots=True)
class LimiterState:
    """Streaming state of a :class:`Limiter`.

    Each signal of the pipeline lives in a *line*: the end of the previous
    block (the history the next block needs) followed by room for
    ``capacity`` new samples, so that blocks are processed in place without
    allocating. ``capacity`` grows with the largest block seen, up to 65536.
    """

    capacity: int
    x: np.ndarray  # (channels, latency + 25 + capacity + 64) input
    y1: np.ndarray  # (channels, 25 + capacity + 64) input times the main gain
    v: np.ndarray  # (channels, capacity + 128) scratch: interval peaks of the input (or a bound)
    check: np.ndarray  # (capacity + 128,) scratch of the exact check
    r: np.ndarray  # (gains, 24 + capacity) gain each sample needs
    floor: np.ndarray  # (gains, attack - 1 + capacity) released gain
    box1: np.ndarray  # (gains, b1 + capacity) lookahead minimum of the released gain
    box2: np.ndarray  # (gains, b2 + capacity) first moving sum of the attack ramp
    g1: np.ndarray  # (gains, max(25, correction + 12) + capacity) main gain
    q: np.ndarray  # (gains, correction + capacity) correction targets
    gain: np.ndarray  # (gains, capacity) scratch: the final gain of a block
    peak: np.ndarray  # (gains, capacity) scratch
    held: np.ndarray  # (gains,) released gain of the last sample
    sums: np.ndarray  # (gains, 2) the two running sums of the attack ramp
    previous: np.ndarray  # (gains,) last correction
    scratch: np.ndarray  # (3, attack + 24 + capacity + 1) scratch of the running minima


def _lines(d: _Design, channels: int, gains: int, dtype: np.dtype, capacity: int) -> LimiterState:
    b1, b2 = d.boxes
    kept = max(_TAPS, d.correction + _HALF)
    return LimiterState(
        capacity=capacity,
        x=np.zeros((channels, d.latency + _TAPS + capacity + _BLOCK), dtype),
        y1=np.zeros((channels, _TAPS + capacity + _BLOCK), dtype),
        v=np.zeros((channels, capacity + 2 * _BLOCK), dtype),
        check=np.zeros(capacity + 2 * _BLOCK, dtype),
        r=np.ones((gains, 2 * _HALF + capacity)),
        floor=np.ones((gains, d.attack - 1 + capacity)),
        box1=np.ones((gains, b1 + capacity)),
        box2=np.full((gains, b2 + capacity), float(b1)),
        g1=np.ones((gains, kept + capacity)),
        q=np.ones((gains, d.correction + capacity)),
        gain=np.ones((gains, capacity)),
        peak=np.zeros((gains, capacity)),
        held=np.ones(gains),
        sums=np.tile(np.array([float(b1), float(b1 * b2)]), (gains, 1)),
        previous=np.ones(gains),
        scratch=np.zeros((3, d.attack + 2 * _HALF + capacity + 1)),
    )


def _grow(d: _Design, st: LimiterState, capacity: int) -> None:
    """Enlarge the lines of ``st`` in place to hold ``capacity`` new samples, keeping the histories."""
    bigger = _lines(d, st.x.shape[0], st.r.shape[0], st.x.dtype, capacity)
    b1, b2 = d.boxes
    histories = {
        "x": d.latency + _TAPS,
        "y1": _TAPS,
        "r": 2 * _HALF,
        "floor": d.attack - 1,
        "box1": b1,
        "box2": b2,
        "g1": max(_TAPS, d.correction + _HALF),
        "q": d.correction,
    }
    for name, length in histories.items():
        getattr(bigger, name)[:, :length] = getattr(st, name)[:, :length]
    for name in ("held", "sums", "previous"):
        getattr(bigger, name)[...] = getattr(st, name)
    for name in LimiterState.__slots__:  # type: ignore[attr-defined]
        setattr(st, name, getattr(bigger, name))


@dataclass(frozen=True, slots=True, kw_only=True)
class Limiter(Node):
    """Lookahead limiter with a guaranteed true-peak ceiling.

    The output's true peak never exceeds ``ceiling_dbtp`` as read by
    :func:`sonicmix.measure` and by libebur128 (pyebur128), whatever the
    input: every interpolated value of both meters is checked exactly and
    corrected with a bounded-slope gain (see the module notes for the proof).
    Audio below ``ceiling_dbtp - margin_db`` passes unchanged, only delayed.

    Parameters
    ----------
    ceiling_dbtp : float, default -1.0
        Largest true peak of the output, in dBTP. ``-60 <= ceiling_dbtp <= 0``.
    release_s : float, default 0.05
        Time constant of the gain's return towards unity after the hold, in
        seconds: ``1 - g`` shrinks by ``1/e`` every ``release_s``. ``0.001 <=
        release_s <= 10``.
    lookahead_s : float, default 0.005
        Lookahead, which is also the latency, in seconds; at least 64 samples
        at the sample rate (the lower bound, 1.5 ms, is 66 samples at 44.1 kHz;
        below 42.7 kHz a longer lookahead is needed, and processing says so).
        Longer lookahead gives slower attack ramps and a smaller margin.
        ``0.0015 <= lookahead_s <= 0.1``.
    stereo_link : bool, default True
        One gain for all channels (from the channel that needs the most
        reduction), so the image does not move and :meth:`gain` returns a
        single curve; ``False`` limits each channel on its own.
    true_peak : {"bs1770", "ideal"}, default "bs1770"
        The reconstruction the ceiling holds for. ``"bs1770"``: the true-peak
        meters of ITU-R BS.1770 (ours and libebur128), exactly. ``"ideal"``:
        those meters exactly, and, for the continuous band-limited (sinc)
        reconstruction, a check rather than a bound: the gain each sample
        needs keeps the *input's* sinc series over ``D + 12 - E`` samples
        before each interval and ``12 + E`` after (``D`` the lookahead in
        samples, ``E`` 35 % of ``D - 35``; 180 and 84 at 48 kHz with 5 ms),
        plus a statistical allowance for the samples beyond, within the
        ceiling. That holds the output's series where the gain is flat over
        the reach; an attack or release within it, and the samples beyond
        it, are not bounded, only measured (module notes). For a larger
        margin (0.23 dB instead of 0.13 at 48 kHz with the default
        lookahead) and 5.7 to 7.4 times the time on loud music
        (``docs/benchmarks.md``).

    See Also
    --------
    sonicmix.loudness.true_peak : the meter whose reading this bounds.

    Notes
    -----
    The output is the input delayed by ``latency_samples(sample_rate)``
    samples (``round(lookahead_s * sample_rate)``) times the gain of
    :meth:`gain`. The main gain holds for 12 samples around each peak, falls
    along a triangular ramp over the attack window (about 40 % of the
    lookahead) and releases as a one-pole; a small exact correction follows.
    A steady tone whose period is shorter than the attack window gets a
    constant gain: on a 997 Hz sine 6 dB over the ceiling at 48 kHz the
    harmonic distortion measures -134 dB. Lower tones let the gain release
    between their peaks: at 100 Hz it measures -43 dB with the default
    release and -61 dB with ``release_s=0.5``.

    Automation (in a graph; see ``docs/automation.md``): ``ceiling_dbtp`` and
    ``release_s`` may follow an envelope, changing at the start of each
    control block; the state holds signals only, so it carries on as it is.
    A new ceiling applies to the input samples that enter from the change
    on: those already inside the lookahead were planned for the old one.
    After a step down, the output keeps to the old ceiling for
    ``latency_samples`` more samples and to the new one from then on (the
    delayed input that entered after the change). ``lookahead_s`` sets the latency and the
    lengths of every line in the state, and ``stereo_link`` is a choice, so
    neither can follow automation.

    References
    ----------
    ITU-R BS.1770-5 (2023), Annex 2 (true-peak meter); libebur128 1.2.6
    (``ebur128.c``, the true-peak interpolator); M. van Herk, "A fast algorithm
    for local minimum and maximum filters on rectangular and octagonal
    kernels", Pattern Recognition Letters 13 (1992).

    Examples
    --------
    >>> import numpy as np
    >>> import sonicmix
    >>> rate = 48000
    >>> t = np.arange(rate) / rate
    >>> x = np.stack([2.0 * np.sin(2 * np.pi * rate / 4 * t + np.pi / 4)] * 2).astype(np.float32)
    >>> limiter = Limiter(ceiling_dbtp=-1.0)
    >>> flushed = np.pad(x, ((0, 0), (0, limiter.latency_samples(rate))))
    >>> y = limiter(flushed, rate)
    >>> bool(sonicmix.measure(y, rate).true_peak_dbtp <= -1.0)
    True

    Streaming in two chunks gives the same samples:

    >>> state = limiter.init_state(2, rate, np.float32)
    >>> a, state = limiter.process(x[:, :1000], rate, state)
    >>> b, state = limiter.process(x[:, 1000:], rate, state)
    >>> bool(np.allclose(np.concatenate([a, b], axis=1), limiter(x, rate), atol=1e-6))
    True

    With ``true_peak="ideal"`` the band-limited reconstruction (here by FFT
    resampling at 16x) stays within the ceiling too:

    >>> from scipy.signal import resample
    >>> y = Limiter(ceiling_dbtp=-1.0, true_peak="ideal")(flushed, rate)
    >>> bool(20 * np.log10(np.abs(resample(y[0].astype(np.float64), 16 * y.shape[1])).max()) <= -1.0)
    True
    """

    ceiling_dbtp: float = -1.0
    release_s: float = 0.05
    lookahead_s: float = 0.005
    stereo_link: bool = True
    true_peak: Literal["bs1770", "ideal"] = "bs1770"

    automatable: ClassVar[frozenset[str]] = frozenset({"ceiling_dbtp", "release_s"})
    #: Parameters that cannot follow automation, and why.
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "lookahead_s": (
            "it is the limiter's latency, which a graph compensates once, before the render starts, "
            "and it sets the length of every line in the state"
        ),
        "stereo_link": "it is a choice (True or False), not a number, and it sets the number of gains",
        "true_peak": "it is a choice ('bs1770' or 'ideal'), not a number, and it sets what the kernels check",
    }

    def __post_init__(self) -> None:
        check_range(
            "ceiling_dbtp", self.ceiling_dbtp, low=-60.0, high=0.0, hint="dB re full scale, e.g. -1.0"
        )
        check_range("release_s", self.release_s, low=0.001, high=10.0, hint="seconds: for 50 ms use 0.05")
        check_range(
            "lookahead_s",
            self.lookahead_s,
            low=0.0015,
            high=0.1,
            hint="seconds, at least 64 samples at the sample rate: for 5 ms use 0.005",
        )
        if not isinstance(self.stereo_link, (bool, np.bool_)):
            raise ParameterError(
                f"stereo_link={self.stereo_link!r} is not a bool; expected True (one gain) or False"
            )
        if self.true_peak not in _RECONSTRUCTIONS:
            raise ParameterError(
                f"true_peak={self.true_peak!r} is not a known reconstruction; expected 'bs1770' (the "
                "ceiling holds on BS.1770 meters: ours and libebur128) or 'ideal' (band-limited, continuous)"
            )

    def latency_samples(self, sample_rate: int) -> int:
        """The lookahead in samples, ``round(lookahead_s * sample_rate)``: the output's delay."""
        return int(round(self.lookahead_s * sample_rate))

    @staticmethod
    def min_lookahead_s(sample_rate: int) -> float:
        """The shortest ``lookahead_s`` the limiter runs with at ``sample_rate``: 64 samples.

        The budget's fixed part is counted in samples (the true-peak interpolation
        reaches 12 samples on each side at every rate), so the minimum in seconds
        grows as the rate falls: 1.33 ms at 48 kHz, 5.8 ms at 11.025 kHz, 8 ms at 8 kHz.

        Examples
        --------
        >>> Limiter.min_lookahead_s(8000), round(Limiter.min_lookahead_s(48000), 6)
        (0.008, 0.001333)
        """
        return _MIN_LATENCY / sample_rate

    def margin_db(self, sample_rate: int) -> float:
        """How far below the ceiling the limiter aims, in dB (see the module notes).

        Peaks that reach the limiter come out between ``ceiling_dbtp -
        margin_db`` and ``ceiling_dbtp``.

        Examples
        --------
        >>> round(Limiter().margin_db(48000), 2), round(Limiter(lookahead_s=0.01).margin_db(48000), 2)
        (0.13, 0.06)
        """
        d = self._design(sample_rate, np.float64)
        return float(-20.0 * math.log10(d.ceiling / 10.0 ** (self.ceiling_dbtp / 20.0)))

    def _design(self, sample_rate: int, dtype: Any) -> _Design:
        return _design(
            float(self.ceiling_dbtp),
            float(self.release_s),
            float(self.lookahead_s),
            int(sample_rate),
            np.dtype(dtype).str,
            _IDEAL_GRID if self.true_peak == "ideal" else 0,
        )

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> LimiterState:
        d = self._design(sample_rate, dtype)
        return _lines(d, channels, 1 if self.stereo_link else channels, np.dtype(dtype), _BLOCK)

    def gain(self, x: Audio, sample_rate: int, state: LimiterState) -> tuple[np.ndarray, LimiterState]:
        """Gain curve for the output samples of block ``x``, and the next state.

        Returns ``(gain, state)``: ``gain`` has shape ``(1, n)`` with
        ``stereo_link`` (one curve for every channel) or ``(channels, n)``,
        in the dtype of ``x``, aligned with the *output*: ``process`` returns
        exactly ``gain * x_delayed``, where ``x_delayed`` is the input delayed
        by ``latency_samples``. Multiplying other signals delayed the same way
        (the stems of a mix) by this curve gives signals that sum to the
        limited mix. The state advances as with ``process``, so use one or
        the other on a given state.

        Examples
        --------
        >>> import numpy as np
        >>> limiter = Limiter(ceiling_dbtp=-6.0)
        >>> x = np.ones((2, 4800), np.float32)
        >>> g, _ = limiter.gain(x, 48000, limiter.init_state(2, 48000, np.float32))
        >>> g.shape, float(g[0, 0]), bool(g[0, -1] <= 10 ** (-6.0 / 20))
        ((1, 4800), 1.0, True)
        """
        g, _, state = self._run(x, sample_rate, state, want_output=False)
        return g, state

    def process(
        self, x: Audio, sample_rate: int, state: LimiterState, *, key: Audio | None = None
    ) -> tuple[Audio, LimiterState]:
        _, y, state = self._run(x, sample_rate, state, want_output=True)
        return y, state

    def _run(
        self, x: np.ndarray, sample_rate: int, state: LimiterState, *, want_output: bool
    ) -> tuple[np.ndarray, np.ndarray, LimiterState]:
        from sonicmix.dsp.lookahead import limit  # imports numba; loaded on first use

        check_stream_dtype(self, x, state.x.dtype)
        check_stream_channels(self, x, state.x.shape[0])  # another count ran unnoticed against the lines
        d = self._design(sample_rate, x.dtype)
        channels, n = x.shape
        gains = state.r.shape[0]
        if min(n, _CHUNK) > state.capacity:
            _grow(d, state, min(_CHUNK, max(n, 2 * state.capacity)))
        # the gain alone, or the output alone: a full-length array costs page faults on first touch
        g = np.empty((gains, n if not want_output else 0), x.dtype)
        y = np.empty((channels, n if want_output else 0), x.dtype)
        st = state
        limit(
            x,
            y if want_output else g,
            want_output,
            (d.latency, d.attack, d.correction, *d.boxes, d.extra),
            (d.ceiling, d.release, d.step),
            d.norms,
            d.group_first,
            d.group_rows,
            (st.x, st.y1, st.v, st.check),
            (st.r, st.floor, st.box1, st.box2, st.g1, st.q, st.gain, st.peak),
            (st.held, st.sums, st.previous, st.scratch),
            _long_reach(d.reach, d.ceiling) if d.extra else None,
        )
        return g, y, state


@functools.lru_cache(maxsize=16)
def _long_reach(reach: tuple[int, int], ceiling: float) -> tuple:
    """What :func:`sonicmix.dsp.lookahead.limit` needs for ``true_peak="ideal"``'s sinc sums."""
    from sonicmix.dsp.longreach import far_moments, sinc_rows, unseen_factor

    past, future = reach
    rows, taus, sines = sinc_rows(_IDEAL_GRID)
    return (
        past,
        rows,
        taus,
        sines,
        far_moments(past, future),
        _SCREEN * ceiling,
        unseen_factor(past, future),
    )

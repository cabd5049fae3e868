"""Mains hum: finding its fundamental and cancelling its harmonics while following drift.

Hum is a sum of sinusoids at ``k * f0`` (``f0`` near 50 or 60 Hz, wandering
by tenths of a hertz on the mains and by more on tape). Two plain functions
deal with it:

- :func:`detect_fundamental` finds ``f0`` in a stretch of audio by a
  harmonic sum over a long, zero-padded FFT: each candidate fundamental on a
  fine grid scores the line-to-floor ratios at its first harmonics, so
  narrow lines count and the broad spectrum of speech does not, among the
  candidates whose low harmonics hold lines as mains hum's do (:func:`holds_hum`);
- :func:`cancel_hum` removes the harmonics by *adaptive sinusoid
  cancellation* (Widrow et al. 1975): per channel, one oscillator at the
  tracked fundamental gives the harmonics' phasors ``p_k = u**k``; an LMS
  estimate ``a_k`` of each harmonic's complex amplitude is subtracted,
  ``y = x - sum_k Re(a_k p_k)``, and updated from the output,
  ``a_k += g * m_k * y * conj(p_k)``. For a fixed frequency and an open
  gate (``g = 1``) this is exactly a notch at each harmonic with a 3 dB
  bandwidth of ``m_k * sample_rate / (2*pi)`` Hz and a flat response
  elsewhere; ``m_k = m * max(1, k/4)**0.5`` (the notches above the 4th
  harmonic widen, see below). The fundamental is followed by a third-order
  phase-locked loop (it follows a steady drift of frequency with no steady
  phase error). Its phase detector is each harmonic's demodulated error,
  smoothed by two 10 Hz one-pole stages (steep enough that speech 100 Hz
  away, tens of dB above the hum, barely leaks in), weighted by ``k`` (the
  higher harmonics show a phase error k times larger) and by the inverse of
  that error's power, its mean or its present value if higher (what else
  sits near the harmonic, such as speech, whose onsets count at once), so
  that the loop's gain does not depend on the hum's level and buried
  harmonics barely steer. The loop's natural frequency is scaled down by
  the cube root of the harmonics' pooled signal-to-noise ratio (its share
  ``snr / (snr + confidence)``) and up for the first seconds (to pull in).

The step gate ``g`` keeps the amplitudes still while anything but the hum
dominates: it compares the output's power over 2 ms with its floor, the
least of its power over 50 ms in the last 4-5 s (or a thousandth of the
estimated hum's power, if higher). Up to 4 times the floor (6 dB) the gate
is open; above, it is ``(4 * floor / power) ** 4``, so speech 20 dB above
the floor moves the amplitudes 56 dB more slowly. The hum, stationary for
seconds, is learnt in the pauses and held through the speech while the loop
follows its phase; a residual that stays (a hum that appears, one that has
to be learnt again) becomes the floor within the window. Speech is not
stationary for seconds, so dense dialogue (80 % speech, pauses of half a
second) no longer drags the amplitudes off the hum. While the gate is
closed the oscillator also takes the part of the loop's proportional path
that the amplitudes take when it is open.

The gate takes any change of the hum for speech. A hum that *stops*, or
whose phase *jumps* (an edit between two recordings, a switched source),
leaves an estimate that explains more than there is: at its harmonics the
power after the subtraction exceeds the power before it (with a right
estimate it is the smaller: what else is there adds to the hum, and
with none they are equal). Where that holds by 1.5 dB over 0.1 s, at
harmonics that hold at least half the estimate's power, those harmonics
are *released*: their amplitudes shrink with a 50 ms time constant,
whatever the gate says. What a release took off, as far as it is still
there (the hum after a jump; nothing after a stop) and not yet learnt
again, is a floor the gate opens on, and the amplitudes learn it at up to
four times their step: over noise a jumped hum is learnt again within half
a second, while speech well above it still closes the gate. A hum that *starts* is
not detected: it is learnt once the floor has risen to it (a held note on
the harmonics is held the same way, and passes). Until then there is nothing
for the loop to follow: after 0.1 s of open gate with amplitudes that hold no
more than notches learning noise do, it holds at the nominal fundamental,
whatever the gate does next, and once the gate has stayed open on a hum for
0.1 s it pulls in as at the start of a stream (left running, it wandered on
the noise and under the hum not yet learnt to the edge of its range, too far
off to learn it when the floor had risen).

Under speech that loop's phase jitters (about 8 mrad RMS at the fundamental
on a male voice over hum 7 dB below it, in bursts at particular words), and
harmonic ``k`` of a hum held by frozen amplitudes feels ``k`` times that. So
:func:`cancel_hum` is also a tracker that *measures*: every frame (10 ms) it
hands out the smoothed phase of its oscillator and each harmonic's content
in the oscillator's frame (the smoothed phase detector plus half the smoothed
amplitude). :func:`refine_phase` turns each frame into a measurement of the
hum's phase (each harmonic's angle against a reference learnt in the pauses,
over ``k``, pooled by ``k**2 |reference|**2 / noise``; the loop's own jitter
cancels out of it) and fits a weighted local quadratic through the centred
second of them (through the oscillator's smoothed phase alone until every
frame in the window was measured with references learnt to half their
size); :func:`synthesise_hum` runs the same gated comb again,
:func:`refined_latency` samples behind, along that fitted phase. Speech that
pulls single frames averages out of the fit, a drift of the mains (a smooth
phase) passes through it.

The oscillator turns by a rotation each sample (a sixth-order polynomial of
the small phase step, renormalised), never by ``sin``/``cos`` per sample.
The kernel is sequential and keeps every bit of its state in the arrays of
:class:`HumState`, which it updates in place: processing in blocks gives the
samples of processing whole, bit for bit. Arithmetic is float64 whatever the
audio dtype.

This module imports numba; nodes import it when they first process audio.

References
----------
B. Widrow et al., "Adaptive noise cancelling: principles and applications",
Proc. IEEE 63(12), 1975 (the canceller with a sinusoidal reference, and its
notch response).
E. D. Kaplan and C. J. Hegarty (eds.), "Understanding GPS: Principles and
Applications", Artech House, ch. 5 (third-order tracking loop filters).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sonicmix._checks import check_range, check_sample_rate
from sonicmix._compile import numba  # registers the first-run compile notice
from sonicmix.errors import ParameterError

__all__ = [
    "HumLoop",
    "HumState",
    "hum_loop",
    "init_hum_state",
    "cancel_hum",
    "reverse_hum_state",
    "detect_fundamental",
    "harmonic_score",
    "holds_hum",
    "line_ratios",
    "RefineState",
    "init_refine_state",
    "refine_phase",
    "fit_half_frames",
    "measurement_lag",
    "synthesise_hum",
    "refined_latency",
    "total_step",
    "frame_width",
]

#: Coefficients of the third-order tracking loop's filter
#: ``F(s) = b3*wn + a3*wn**2/s + wn**3/s**2`` (the usual values, Kaplan & Hegarty,
#: "Understanding GPS", ch. 5): it follows a linear frequency drift with no steady phase error.
_A3, _B3 = 1.1, 2.4
#: Cutoff of each of the _STAGES one-pole smoothers of each harmonic's phase
#: detector (the demodulated error) and the averaging time of its power, the
#: harmonic's noise estimate. On dense dialogue over a buzz 23-44 dB under it,
#: one 5 Hz stage lets the speech 100-200 Hz away leak 30 dB more into the
#: fundamental's detector than two 10 Hz stages, and the loop loses the hum;
#: two stages at 15-20 Hz or at 5 Hz lose it too (too little rejection, too
#: much lag).
_DETECTOR_HZ = 10.0
_STAGES = 2
_NOISE_S = 0.1
#: Weighted signal-to-noise sum ``snr`` against which the tracking loop's
#: speed is set: its natural frequency is scaled by ``q = (snr / (snr +
#: _CONFIDENCE)) ** (1/3)`` (0.79 at _CONFIDENCE, half at a seventh of it),
#: so its three gains go as q, q**2 and q**3 and the gain of the drift's rate
#: of change is proportional to the SNR share. Under dense dialogue the hum
#: is seen almost only through its fundamental, below the voice: scaling by
#: the share itself (q, not its cube root) slowed the q**3 term about
#: 20-fold when that harmonic lost 7 dB (a HighPass(cutoff_hz=70.0) in front),
#: and the loop, holding a rate of change of the drift it could no longer
#: correct, ran to the edge of its range within seconds (the harmonics 2-13
#: dB down in the pauses instead of 37-44; the whole hum 10 dB lower did the
#: same). With the cube root, 37-44 dB again, and 30 dB with the
#: fundamental 20 dB down (36 dB with the whole hum 10 dB down). Tuned on
#: real speech over hum 7 dB below it: higher values hold the drift more
#: firmly through speech but cannot acquire a fundamental 0.9 Hz away from
#: the start (1e4 loses 0.9 Hz, 1e5 even 0.1 Hz; with the cube root, 3e4
#: loses the high-passed dense dialogue again).
_CONFIDENCE = 3000.0
#: Above this harmonic the notches widen as sqrt(k / _WIDEN_FROM): harmonic k
#: feels k times the tracked phase's jitter (from speech near the harmonics),
#: and a wider notch follows more of it (measured before the step gate, which
#: now holds the amplitudes still under speech: 33-39 dB down under the speech
#: instead of 29-33; the widening still helps in the pauses).
_WIDEN_FROM = 4.0
#: The noise weights are recomputed every this many samples (a power of two).
_REFRESH = 16
#: At the start of a stream the loop runs (1 + _ACQUIRE) times faster, the
#: excess decaying with this time constant: it pulls in a fundamental that is
#: off its starting value quickly, then tracks with less jitter under speech
#: (on real speech over hum 7 dB below it, a 1 Hz loop leaves the top
#: harmonics about 5 dB further down under the speech than a 2 Hz loop).
_ACQUIRE = 3.0
_ACQUIRE_S = 1.5
#: ... but no faster than this in Hz (the phase detector's lag would make it ring).
_PULL_HZ = 3.0
#: The step gate. The output's power is followed closely (_FAST_S) and
#: smoothly (_SLOW_S); its floor is the least smooth power over the current
#: and the last _SPANS windows of _SPAN_S (or _HUM_SHARE times the estimated
#: hum's power, if higher). The amplitudes adapt at their full step while the
#: close power stays within _HEADROOM times the floor, at
#: (_HEADROOM * floor / power) ** _GATE_POWER of it above: speech freezes them
#: within a millisecond or two of its onset. On the dense dialogue, a floor
#: over 2-3 s (_SPANS = 2) rises with long speech and lets it in (-27 dB in
#: the pauses instead of -47), and a floor that only rises by 1-3 dB/s cannot
#: learn a hum that appears after digital silence.
_FAST_S = 0.002
_SLOW_S = 0.05
_SPAN_S = 1.0
_SPANS = 4
_HEADROOM = 4.0
_HUM_SHARE = 1e-3
_GATE_POWER = 4.0
#: Largest phase error the loop takes from one sample, radians (a plosive
#: must not throw the oscillator off).
_CLIP_RAD = 0.5
#: For this long from the start of the stream the gate is open (the floor starts there).
_WARM_S = 0.1
#: Frame of the phase measurements that :func:`refine_phase` smooths, seconds.
_HOP_S = 0.01
#: The estimate that explains more than there is. At each harmonic the power after the
#: subtraction (the phase detector) and before it (the detector plus half the smoothed
#: amplitude) are averaged over _EXCESS_S. With a right estimate the first is the smaller (what
#: else sits at the harmonic adds to the hum; it does not cancel it), with none they are equal;
#: where it exceeds the second by _EXCESS_RATIO at harmonics that hold at least _EXCESS_VOTE of
#: the estimate's power, the hum has stopped or its phase has jumped (an edit, a switched
#: source), and the step gate, which takes the change for speech, would hold the estimate, now
#: wrong, for the floor's seconds. Those harmonics are *released*: their amplitudes shrink with
#: the time constant _RELEASE_S (in both combs; the second applies the tracker's verdict frame by
#: frame), going on for about _EXCESS_HOLD_S once the excess is gone.
#: A harmonic votes only while what comes in there is at most _EXCESS_LOUD times the estimate's
#: power: after a stop or a jump the input holds the hum or less; a thump or a note over the hum
#: that opposes it for a while brings far more, and must not release a right estimate.
_EXCESS_S = 0.15
_EXCESS_RATIO = 1.4
_EXCESS_LOUD = 4.0
_EXCESS_VOTE = 0.5
_EXCESS_HOLD_S = 0.1
_RELEASE_S = 0.05
#: A release that has faded below this is over.
_RELEASE_END = 1e-2
#: What a release took away is a hum that may still be there (a jump): its power is remembered,
#: less what the amplitudes have learnt again, and the step gate opens up to ``headroom`` times
#: it as it does over the floor, so the hum is learnt again at once instead of after the floor's
#: seconds while speech well above it still closes the gate. The memory fades with _LOST_S (after
#: a stop nothing comes back to be learnt).
_LOST_S = 0.5
#: ... and the amplitudes learn it at up to _QUICK times their step (the comb's steps adding up to
#: at most _QUICK_TOTAL; the comb of notches diverges at 2).
_QUICK = 4.0
_QUICK_TOTAL = 0.5
#: No hum to follow. Notches that learn white noise hold, at each harmonic, an amplitude whose
#: power is 1-3 times that of the phase detector (the harmonic's signal-to-noise ratio), and in all
#: about their steps' sum times the floor's power (0.9-1 times it, measured at 8-48 kHz); a hum held
#: gives far more of one or the other while the gate is open (hundreds of times more in the pauses
#: of speech). After _ABSENT_S of refreshes with the gate open, nothing to learn again after a
#: release, the mean ratio under _ABSENT and the estimate's power under _ABSENT_FLOOR times that
#: share of the floor, the loop has nothing to follow: its speed and drift rate go to 0 and its
#: frequency returns to the nominal one with the time constant _RELAX_S. It stays there, whatever the
#: gate, until the gate has stayed open on a hum held for _ABSENT_S; then it pulls in as at the start
#: of the stream. Left running, it wandered on the noise (to 50.9 Hz within 2 s at 16 kHz) and, under
#: a hum that started later and was not learnt yet (the gate closed on it), ran to the edge of its
#: range (49.0 Hz against 50.3): once the floor had risen to that hum, it was too far off to learn it
#: (not within 12 s of the start).
_ABSENT = 10.0
_ABSENT_FLOOR = 4.0
_ABSENT_S = 0.1
_RELAX_S = 0.5


class HumLoop(NamedTuple):
    """Per-sample constants of :func:`cancel_hum`, from :func:`hum_loop`.

    Attributes
    ----------
    step : float
        LMS step ``m`` of the first four harmonics' amplitudes (notch 3 dB
        bandwidth ``m * sample_rate / (2*pi)`` Hz); harmonic ``k`` above them
        uses ``m * (k/4)**0.5``.
    phase_gain, frequency_gain, chirp_gain : float
        Gains of the third-order tracking loop, per sample: of the phase
        error into the phase, into the frequency and into its rate of change.
    omega_low, omega_high : float
        Range of the tracked fundamental, radians per sample.
    smooth, average : float
        Per-sample coefficients of the phase detectors' smoothing stages and
        of their power's average.
    confidence : float
        Pooled signal-to-noise ratio ``snr`` that sets the loop's speed,
        ``(snr / (snr + confidence)) ** (1/3)`` of its natural frequency.
    settle, pull : float
        Decay of the acquisition boost per refresh, and the share of it used.
    fast, slow : float
        Coefficients of the gate's close (per sample) and smooth (per
        refresh) power.
    span : int
        Length of the gate floor's windows, samples.
    headroom, hum_share, gate_power : float
        The gate opens up to ``headroom * max(floor, hum_share * hum power)``
        and closes as the power over that to the ``-gate_power``.
    warm : int
        Samples from the start of the stream with the gate open.
    lms_phase_gain : float
        The part of the loop's proportional gain (``phase_gain``) that the
        amplitudes take when the gate is open.
    clip : float
        Largest phase error taken from one sample, radians.
    nominal : float
        Centre of the tracking range, radians per sample: the tracked phase is
        also kept as its deviation from this ramp.
    hop : int
        Samples per frame of the measurements handed to :func:`refine_phase`.
    excess, excess_ratio, excess_hold : float
        The released estimate: coefficient per refresh of the powers'
        averages at the harmonics, the ratio of the power after the
        subtraction to the power before it that releases a harmonic, and the
        decay per refresh of a release once the excess is gone.
    release : float
        Share of a released amplitude taken off per refresh.
    forget : float
        Decay per refresh of the released power the gate opens on.
    absent, relax : float
        No hum: the harmonics' mean signal-to-noise ratio below which (with the estimate under
        the steps' sum of the floor) the loop has none to follow, and the share of its way back
        to ``nominal`` it goes per refresh then.
    settled : int
        Refreshes with the gate open and no hum after which the loop holds (and with the gate
        open on a hum, after which it runs again).
    """

    step: float
    phase_gain: float
    frequency_gain: float
    chirp_gain: float
    omega_low: float
    omega_high: float
    smooth: float
    average: float
    confidence: float
    settle: float
    pull: float
    fast: float
    slow: float
    span: int
    headroom: float
    hum_share: float
    gate_power: float
    warm: int
    lms_phase_gain: float
    clip: float
    nominal: float
    hop: int
    excess: float
    excess_ratio: float
    excess_hold: float
    release: float
    forget: float
    absent: float
    relax: float
    settled: int


class HumState(NamedTuple):
    """State of :func:`cancel_hum`, updated in place.

    Attributes
    ----------
    phasor : np.ndarray, shape=(channels,), complex128
        The oscillator ``u = exp(j*theta)`` at the fundamental.
    omega : np.ndarray, shape=(channels,), float64
        Tracked fundamental, radians per sample.
    chirp : np.ndarray, shape=(channels,), float64
        Its rate of change, radians per sample per sample.
    boost : np.ndarray, shape=(channels,), float64
        How much faster than its natural frequency the loop runs while it
        acquires (decays from 3 to 0 over the first seconds).
    amplitudes : np.ndarray, shape=(channels, harmonics), complex128
        Estimated complex amplitude ``a_k`` of harmonic ``k = 1..harmonics``
        (the hum is ``sum_k Re(a_k * u**k)``).
    demod : np.ndarray, shape=(channels, 2, harmonics), complex128
        Each harmonic's demodulated error after the first and the second
        smoothing stage: the second is its phase detector.
    noise : np.ndarray, shape=(channels, harmonics), float64
        Mean power of the phase detector: what else sits near each harmonic.
    weights : np.ndarray, shape=(channels, 2, harmonics), float64
        The phase detectors' weights, ``k`` over the larger of ``noise`` and
        the present power, and the loop speed's, ``k / noise``; refreshed
        every ``_REFRESH`` samples.
    gate : np.ndarray, shape=(channels, 5 + _SPANS), float64
        The step gate: the output's close and smooth power, the floor, the
        gate, and the least smooth power of the current and the last
        ``_SPANS`` windows.
    count : np.ndarray, shape=(1,), int64
        Samples processed (it times the refreshes, whatever the block sizes).
    speed : np.ndarray, shape=(channels,), float64
        The loop's speed ``q``, its natural frequency over ``tracking_hz``:
        the cube root of ``snr / (snr + confidence)`` for the harmonics'
        pooled signal-to-noise ratio ``snr``, times ``1 + pull * boost``;
        refreshed every ``_REFRESH`` samples.
    content : np.ndarray, shape=(channels, 2, harmonics), complex128
        Half of each amplitude after the first and the second smoothing
        stage; with the phase detector (the error demodulated and smoothed
        alike), what is at each harmonic in the oscillator's frame.
    deviation : np.ndarray, shape=(channels, 3), float64
        The oscillator's phase less the nominal ramp (``nominal`` per sample),
        and the same after the first and the second smoothing stage.
    excess : np.ndarray, shape=(channels, 4, harmonics), float64
        Each harmonic's power after and before the subtraction, averaged; its
        release (0 to 1); and the power a release took off it, fading, that
        the step gate opens on until it is learnt again.
    quiet : np.ndarray, shape=(channels,), float64
        Refreshes with the gate open and no hum to follow (``loop.absent``);
        at ``loop.settled`` the loop holds at the nominal fundamental, above
        it counts the refreshes since the gate opened on a hum again.
    """

    phasor: NDArray[np.complex128]
    omega: NDArray[np.float64]
    chirp: NDArray[np.float64]
    boost: NDArray[np.float64]
    amplitudes: NDArray[np.complex128]
    demod: NDArray[np.complex128]
    noise: NDArray[np.float64]
    weights: NDArray[np.float64]
    gate: NDArray[np.float64]
    count: NDArray[np.int64]
    speed: NDArray[np.float64]
    content: NDArray[np.complex128]
    deviation: NDArray[np.float64]
    excess: NDArray[np.float64]
    quiet: NDArray[np.float64]


def hum_loop(
    *,
    fundamental_hz: float,
    bandwidth_hz: float,
    max_drift_hz: float,
    tracking_hz: float,
    sample_rate: int,
    follow_changes: bool = True,
) -> HumLoop:
    """Constants of the canceller for its parameters in Hz.

    Parameters
    ----------
    fundamental_hz : float
        Centre of the tracking range, Hz (> 0).
    bandwidth_hz : float
        3 dB bandwidth of the notches at the first four harmonics, Hz (> 0);
        above, harmonic ``k``'s is ``bandwidth_hz * (k/4)**0.5``. The
        amplitudes settle with a time constant of ``1 / (pi * bandwidth)``
        seconds.
    max_drift_hz : float
        The tracked fundamental stays within ``fundamental_hz +- max_drift_hz``;
        0 fixes it (no tracking).
    tracking_hz : float
        Natural frequency of the tracking loop, Hz (> 0): how fast the
        oscillator follows a change of the fundamental.
    sample_rate : int
        Sample rate in Hz.
    follow_changes : bool, default True
        Release an estimate that explains more than there is (a hum that
        stops or jumps in phase); False never releases (``excess_ratio`` 0).

    Examples
    --------
    >>> loop = hum_loop(fundamental_hz=50.0, bandwidth_hz=2.0, max_drift_hz=1.0,
    ...                 tracking_hz=0.5, sample_rate=48000)
    >>> round(loop.step * 48000 / (2 * math.pi), 6)
    2.0
    """
    rate = check_sample_rate(sample_rate)
    f0 = check_range("fundamental_hz", fundamental_hz, low=0.0, low_inclusive=False)
    bw = check_range("bandwidth_hz", bandwidth_hz, low=0.0, low_inclusive=False)
    drift = check_range("max_drift_hz", max_drift_hz, low=0.0, high=f0, high_inclusive=False)
    track = check_range("tracking_hz", tracking_hz, low=0.0, low_inclusive=False)
    wn = 2.0 * math.pi * track / rate
    step = _notch_step(bw, rate)
    fixed = drift == 0.0
    # The amplitude loops already turn the estimate by step/2 times the phase
    # error each sample (the weighted rotation of the a_k), a proportional
    # path of the loop; the oscillator adds the rest of the third-order loop's
    # proportional gain.
    return HumLoop(
        step=step,
        phase_gain=0.0 if fixed else _B3 * wn,
        frequency_gain=0.0 if fixed else _A3 * wn * wn,
        chirp_gain=0.0 if fixed else wn * wn * wn,
        omega_low=2.0 * math.pi * (f0 - drift) / rate,
        omega_high=2.0 * math.pi * (f0 + drift) / rate,
        smooth=1.0 - math.exp(-2.0 * math.pi * _DETECTOR_HZ / rate),
        average=1.0 / (_NOISE_S * rate),
        confidence=_CONFIDENCE,
        settle=math.exp(-_REFRESH / (_ACQUIRE_S * rate)),
        pull=min(1.0, max(0.0, _PULL_HZ / track - 1.0) / _ACQUIRE),
        fast=1.0 - math.exp(-1.0 / (_FAST_S * rate)),
        slow=1.0 - math.exp(-_REFRESH / (_SLOW_S * rate)),
        span=max(1, int(round(_SPAN_S * rate / _REFRESH))) * _REFRESH,
        headroom=_HEADROOM,
        hum_share=_HUM_SHARE,
        gate_power=_GATE_POWER,
        warm=int(round(_WARM_S * rate)),
        lms_phase_gain=0.0 if fixed else 0.5 * step,
        clip=_CLIP_RAD,
        nominal=2.0 * math.pi * f0 / rate,
        hop=max(1, int(round(_HOP_S * rate))),
        excess=1.0 - math.exp(-_REFRESH / (_EXCESS_S * rate)),
        excess_ratio=_EXCESS_RATIO if follow_changes else 0.0,
        excess_hold=math.exp(-_REFRESH / (_EXCESS_HOLD_S * rate)),
        release=1.0 - math.exp(-_REFRESH / (_RELEASE_S * rate)),
        forget=math.exp(-_REFRESH / (_LOST_S * rate)),
        absent=_ABSENT,
        relax=1.0 - math.exp(-_REFRESH / (_RELAX_S * rate)),
        settled=max(1, int(round(_ABSENT_S * rate / _REFRESH))),
    )


def init_hum_state(channels: int, harmonics: int, fundamental_hz: float, sample_rate: int) -> HumState:
    """State before the first sample: no hum estimated, oscillator at ``fundamental_hz``.

    Examples
    --------
    >>> state = init_hum_state(2, 20, 50.0, 48000)
    >>> state.amplitudes.shape
    (2, 20)
    """
    ch = int(check_range("channels", channels, low=1))
    k = int(check_range("harmonics", harmonics, low=1))
    rate = check_sample_rate(sample_rate)
    omega = 2.0 * math.pi * float(fundamental_hz) / rate
    return HumState(
        np.ones(ch, np.complex128),
        np.full(ch, omega),
        np.zeros(ch),
        np.full(ch, _ACQUIRE),
        np.zeros((ch, k), np.complex128),
        np.zeros((ch, _STAGES, k), np.complex128),
        np.zeros((ch, k)),
        np.zeros((ch, 2, k)),
        np.concatenate([[[0.0, 0.0, np.inf, 1.0, np.inf]] * ch, np.full((ch, int(_SPANS)), np.inf)], axis=1),
        np.zeros(1, np.int64),
        np.zeros(ch),
        np.zeros((ch, _STAGES, k), np.complex128),
        np.zeros((ch, 3)),
        np.zeros((ch, 4, k)),
        np.zeros(ch),
    )


def reverse_hum_state(state: HumState) -> None:
    """Turn, in place, a state that ends a run over time-reversed audio into one that starts it forwards.

    A harmonic ``Re(a u**k)`` read backwards in time is ``Re(conj(a) conj(u)**k)``
    read forwards at the same frequency, so conjugating the phasor, the
    amplitudes and the detector's memory (and negating the drift rate) hands
    a canceller primed on ``x[:, ::-1]`` over to ``x`` (and back again). The
    phasor also steps back by one sample: a run ends with it on the sample
    after its last, and the reversed run starts on that last sample again.

    Examples
    --------
    >>> state = init_hum_state(1, 2, 12000.0, 48000)  # a quarter turn per sample
    >>> state.phasor[:] = 1j
    >>> reverse_hum_state(state)
    >>> np.round(state.phasor, 12)
    array([1.+0.j])
    """
    # The phasor has already turned on to the sample after the last one; read
    # backwards, the next sample is the last one again: one step back.
    np.conjugate(state.phasor, out=state.phasor)
    np.multiply(state.phasor, np.exp(1j * state.omega), out=state.phasor)
    np.conjugate(state.amplitudes, out=state.amplitudes)
    np.conjugate(state.demod, out=state.demod)
    np.conjugate(state.content, out=state.content)
    np.negative(state.chirp, out=state.chirp)  # a rising frequency falls when read backwards
    # the phase measurements start again from the next run's first sample, at the oscillator's phase
    state.deviation[:] = np.angle(state.phasor)[:, np.newaxis]


def frame_width(harmonics: int) -> int:
    """Values per frame that :func:`cancel_hum` hands out (``frames``) for ``harmonics`` harmonics.

    Examples
    --------
    >>> frame_width(20)
    82
    """
    return 2 + 4 * int(harmonics)


def total_step(harmonics: int, bandwidth_hz: float, sample_rate: int) -> float:
    """Sum of the harmonics' LMS steps (the comb of notches needs it well below 2, where it diverges).

    Examples
    --------
    >>> round(total_step(20, 2.0, 16000), 3)
    0.025
    """
    return float(_notch_step(bandwidth_hz, sample_rate) * np.sum(_widening(harmonics)))


def _notch_step(bandwidth_hz: float, sample_rate: int) -> float:
    """The first harmonics' LMS step: a notch ``bandwidth_hz`` wide at its -3 dB points."""
    return 2.0 * math.pi * bandwidth_hz / sample_rate


def _widening(harmonics: int) -> NDArray[np.float64]:
    """Each harmonic's notch width relative to the first's: ``max(1, k / 4) ** 0.5``."""
    k = np.arange(1, harmonics + 1, dtype=np.float64)
    return np.maximum(1.0, k / _WIDEN_FROM) ** 0.5


def cancel_hum(
    x: NDArray[np.floating],
    state: HumState,
    loop: HumLoop,
    *,
    out: NDArray[np.floating] | None = None,
    trace: NDArray[np.complex128] | None = None,
    gates: NDArray[np.float64] | None = None,
    frames: NDArray[np.float64] | None = None,
) -> NDArray[np.floating]:
    """Subtract the tracked harmonics from ``x``; ``state`` is updated in place.

    Parameters
    ----------
    x : np.ndarray, shape=(channels, n), float32 or float64
        Input block.
    state : HumState
        From :func:`init_hum_state`, one row per channel; updated in place.
    loop : HumLoop
        From :func:`hum_loop`.
    out : np.ndarray, shape=(channels, n), optional
        Output array of the dtype of ``x`` (may be ``x`` itself).
    trace : np.ndarray, shape=(channels, n), complex128, optional
        If given, receives the oscillator phasor ``u`` used at each sample,
        for analysis: given this trajectory and the gates' (``gates``) the
        canceller is a linear (time-varying) filter, so the same filter can
        be applied to other signals, e.g. to measure how much of the hum
        alone is left.
    gates : np.ndarray, shape=(channels, n), float64, optional
        If given, receives the step gate ``g`` (0 to 1) used at each sample:
        the amplitudes move by ``g * step_k * y * conj(p_k)`` and the output
        is scaled by ``1 - g * sum(step_k) / 2``.
    frames : np.ndarray, shape=(channels, m, frame_width(harmonics)), float64, optional
        If given, receives at the end of each frame of ``loop.hop`` samples
        (counted from the start of the stream; ``m`` of them end in this
        block) the measurements :func:`refine_phase` works on: the smoothed
        phase deviation, the step gate, the smoothed content of each
        harmonic (real parts, then imaginary parts), its noise power, and
        its release (0 to 1: the estimate explained more than there was).

    Returns
    -------
    y : np.ndarray, shape=(channels, n)
        ``x`` minus the estimated hum, in the dtype of ``x``.

    Examples
    --------
    >>> rate = 8000
    >>> t = np.arange(4 * rate) / rate
    >>> x = (0.1 * np.sin(2 * np.pi * 50.2 * t) + 0.05 * np.sin(2 * np.pi * 150.6 * t))[np.newaxis]
    >>> loop = hum_loop(fundamental_hz=50.0, bandwidth_hz=4.0, max_drift_hz=1.0,
    ...                 tracking_hz=2.0, sample_rate=rate)
    >>> y = cancel_hum(x, init_hum_state(1, 3, 50.0, rate), loop)
    >>> bool(np.sqrt(np.mean(y[:, -rate:] ** 2)) < 1e-3)   # the last second: > 40 dB down
    True
    """
    if out is None:
        out = np.empty_like(x)
    if x.shape[1]:
        # Each LMS amplitude, updated after it is used, adds step_k / 2 of the
        # error back in phase at every frequency (its integrator's real part is
        # -1/2): between the harmonics the error is x / (1 - sum(step_k) / 2),
        # +0.1 dB for 20 harmonics at 16 kHz with every gate open. The output
        # is scaled back by the gated steps' sum, so the comb is flat between
        # its notches.
        _cancel_kernel(
            x,
            out,
            state.phasor,
            state.omega,
            state.chirp,
            state.boost,
            state.amplitudes,
            state.demod,
            state.noise,
            state.weights,
            state.gate,
            state.count,
            state.speed,
            loop.step,
            _widening(state.amplitudes.shape[1]),
            loop.phase_gain,
            loop.frequency_gain,
            loop.chirp_gain,
            loop.omega_low,
            loop.omega_high,
            loop.smooth,
            loop.average,
            loop.confidence,
            loop.settle,
            loop.pull,
            loop.fast,
            loop.slow,
            loop.span,
            loop.headroom,
            loop.hum_share,
            loop.gate_power,
            loop.warm,
            loop.lms_phase_gain,
            loop.clip,
            np.empty((0, 0), np.complex128) if trace is None else trace,
            np.empty((0, 0)) if gates is None else gates,
            state.content,
            state.deviation,
            loop.nominal,
            loop.hop,
            np.empty((0, 0, 0)) if frames is None else frames,
            state.excess,
            loop.excess,
            loop.excess_ratio,
            loop.excess_hold,
            loop.release,
            loop.forget,
            state.quiet,
            loop.absent,
            loop.relax,
            loop.settled,
        )
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _cancel_kernel(
    x,
    y,
    phasor,
    omega,
    chirp,
    boost,
    amplitudes,
    demod,
    noise,
    weights,
    gate,
    count,
    speed,
    step,
    widen,
    k1,
    k2,
    k3,
    w_lo,
    w_hi,
    smooth,
    average,
    confidence,
    settle,
    pull,
    fast,
    slow,
    span,
    headroom,
    hum_share,
    gate_power,
    warm,
    lms_k1,
    clip,
    trace,
    gate_trace,
    content,
    deviation,
    nominal,
    hop,
    frames,
    excess,
    excess_rate,
    excess_ratio,
    excess_hold,
    release,
    forget,
    quiet,
    absent,
    relax,
    settled,
):  # pragma: no cover - compiled
    n_ch, n = x.shape
    n_h = amplitudes.shape[1]
    ar = np.empty(n_h)
    ai = np.empty(n_h)
    zr = np.empty(n_h)
    zi = np.empty(n_h)
    z1r = np.empty(n_h)
    z1i = np.empty(n_h)
    nk = np.empty(n_h)
    wk = np.empty(n_h)
    sk = np.empty(n_h)
    vk = np.empty(n_h)
    pr = np.empty(n_h)
    pi = np.empty(n_h)
    c1r = np.empty(n_h)
    c1i = np.empty(n_h)
    c2r = np.empty(n_h)
    c2i = np.empty(n_h)
    total = 0.0
    for k in range(n_h):
        total += step * widen[k]
    # the gate while a released hum is learnt again: _QUICK times the steps, their sum at most _QUICK_TOTAL
    quick = max(1.0, min(_QUICK, _QUICK_TOTAL / total))
    absent *= n_h  # against the harmonics' signal-to-noise ratios, summed
    for c in range(n_ch):
        for k in range(n_h):
            ar[k] = amplitudes[c, k].real
            ai[k] = amplitudes[c, k].imag
            z1r[k] = demod[c, 0, k].real
            z1i[k] = demod[c, 0, k].imag
            zr[k] = demod[c, 1, k].real
            zi[k] = demod[c, 1, k].imag
            nk[k] = noise[c, k]
            wk[k] = weights[c, 0, k]
            vk[k] = weights[c, 1, k]
            c1r[k] = content[c, 0, k].real
            c1i[k] = content[c, 0, k].imag
            c2r[k] = content[c, 1, k].real
            c2i[k] = content[c, 1, k].imag
        dev = deviation[c, 0]
        dev1 = deviation[c, 1]
        dev2 = deviation[c, 2]
        slot = 0
        power = gate[c, 0]
        smoothed = gate[c, 1]
        floor = gate[c, 2]
        g = gate[c, 3]
        for k in range(n_h):
            sk[k] = g * step * widen[k]
        level = 1.0 - 0.5 * g * total
        k1g = k1 - min(g, 1.0) * lms_k1
        if k1g < 0.0:
            k1g = 0.0
        q = speed[c]
        k1q = k1g * q
        k2q = k2 * q * q
        k3q = k3 * q * q * q
        ur = phasor[c].real
        ui = phasor[c].imag
        w = omega[c]
        dw = chirp[c]
        tick = count[0]
        extra = boost[c]
        for i in range(n):
            if trace.shape[1]:
                trace[c, i] = complex(ur, ui)
            # harmonics' phasors p_k = u**k: four interleaved chains stepping
            # by u**4, so that the multiplications do not wait on each other
            u2r = ur * ur - ui * ui
            u2i = 2.0 * ur * ui
            pr[0] = ur
            pi[0] = ui
            if n_h > 1:
                pr[1] = u2r
                pi[1] = u2i
            if n_h > 2:
                pr[2] = u2r * ur - u2i * ui
                pi[2] = u2r * ui + u2i * ur
            if n_h > 3:
                pr[3] = u2r * u2r - u2i * u2i
                pi[3] = 2.0 * u2r * u2i
            u4r = pr[3] if n_h > 3 else 0.0
            u4i = pi[3] if n_h > 3 else 0.0
            for k in range(4, n_h):
                pr[k] = pr[k - 4] * u4r - pi[k - 4] * u4i
                pi[k] = pr[k - 4] * u4i + pi[k - 4] * u4r
            # the weights k / n_k, the loop's speed and the step gate change slowly: refresh
            # them every few samples (counted from the start of the stream, so blocks do not matter)
            if tick & (_REFRESH - 1) == 0:
                hum = 0.0
                snr = 0.0
                held = 0.0
                for k in range(n_h):
                    zz = zr[k] * zr[k] + zi[k] * zi[k]
                    aa = ar[k] * ar[k] + ai[k] * ai[k]
                    wk[k] = (k + 1.0) / ((nk[k] if nk[k] > zz else zz) + 1e-20)
                    vk[k] = (k + 1.0) / (nk[k] + 1e-20)
                    hum += aa
                    snr += vk[k] * (k + 1.0) * aa
                    held += vk[k] * aa / (k + 1.0)
                extra *= settle
                # The gate: the output's close power against its floor, the least of
                # its smooth power over the last _SPANS sub-windows of _SPAN_S.
                # Speech (or anything else that comes and goes) closes it; a
                # stationary hum residual or noise keeps it open, and what stays
                # (a hum that appears, a residual the canceller has to relearn)
                # becomes the floor within the window.
                smoothed += slow * (power - smoothed)
                if tick >= warm:
                    if smoothed < gate[c, 4]:
                        gate[c, 4] = smoothed
                    if tick % span == 0:
                        floor = gate[c, 4]
                        for j in range(5, gate.shape[1]):
                            if gate[c, j] < floor:
                                floor = gate[c, j]
                        for j in range(gate.shape[1] - 1, 5, -1):
                            gate[c, j] = gate[c, j - 1]
                        gate[c, 5] = gate[c, 4]
                        gate[c, 4] = smoothed
                    elif gate[c, 4] < floor:
                        floor = gate[c, 4]
                ref = floor
                if hum_share * 0.5 * hum > ref:
                    ref = hum_share * 0.5 * hum
                relearn = False
                if tick >= warm:
                    lost = _release(zr, zi, c2r, c2i, ar, ai, excess[c], excess_rate, excess_ratio,
                                    excess_hold, release, forget)  # fmt: skip
                    if lost > ref:
                        ref = lost
                        relearn = True
                ref *= headroom
                if tick < warm or power <= ref:
                    # what a release took off, if still there, is learnt again quickly
                    g = quick if relearn else 1.0
                else:
                    g = (ref / power) ** gate_power
                for k in range(n_h):
                    sk[k] = g * step * widen[k]
                level = 1.0 - 0.5 * g * total
                # the LMS amplitudes turn with the phase error as much as g lets them: the
                # oscillator takes the rest of the loop's proportional path
                k1g = k1 - min(g, 1.0) * lms_k1
                if k1g < 0.0:
                    k1g = 0.0
                # The loop's natural frequency follows the harmonics' pooled
                # signal-to-noise ratio, as its cube root: q -> 0 holds the
                # tracked drift while speech covers the hum (wn -> q*wn
                # scales the three gains and keeps the loop stable), and the
                # drift's rate of change learns in proportion to the SNR.
                q = (snr / (snr + confidence)) ** (1.0 / 3.0) * (1.0 + pull * extra)
                if tick >= warm:
                    # a hum is held: the harmonics stand above what notches learning noise give, or the
                    # estimate holds more of the floor's power than such notches do (their steps' sum)
                    heard = held >= absent or 0.5 * hum > _ABSENT_FLOOR * total * floor
                    quiet[c] = _absence(quiet[c], heard, g > 0.5 and not relearn, settled)
                    if quiet[c] < 0.0:
                        quiet[c] = 0.0
                        extra = _ACQUIRE  # a hum again after none: pull in as at the start
                if quiet[c] == settled:
                    # nothing to follow: hold still, back at the nominal fundamental
                    q = 0.0
                    dw = 0.0
                    w += relax * (nominal - w)
                k1q = k1g * q
                k2q = k2 * q * q
                k3q = k3 * q * q * q
            tick += 1
            if gate_trace.shape[1]:
                gate_trace[c, i] = g
            h = 0.0
            for k in range(n_h):
                h += ar[k] * pr[k] - ai[k] * pi[k]
            e = x[c, i] - h
            y[c, i] = e * level
            power += fast * (e * e - power)
            # LMS: a_k += g * step_k * e * conj(p_k). The same demodulated error,
            # smoothed (z_k), is each harmonic's phase detector: with the hum
            # ahead by phi, z_k ~ j*k*phi*a_k/2. Its power n_k (residual and
            # whatever else sits near that harmonic, such as speech) weighs
            # the harmonic's vote, so harmonics buried in speech barely steer.
            num = 0.0
            den = 0.0
            for k in range(n_h):
                # half the amplitude, smoothed like the detector: with it, what is at harmonic k
                # in the oscillator's frame (smoothing x * conj(p_k) itself would let the other
                # harmonics' lines leak in, aliased by the frames' sampling)
                c1r[k] += smooth * (0.5 * ar[k] - c1r[k])
                c1i[k] += smooth * (0.5 * ai[k] - c1i[k])
                c2r[k] += smooth * (c1r[k] - c2r[k])
                c2i[k] += smooth * (c1i[k] - c2i[k])
                er = e * pr[k]
                ei = -e * pi[k]
                ar[k] += sk[k] * er
                ai[k] += sk[k] * ei
                z1r[k] += smooth * (er - z1r[k])
                z1i[k] += smooth * (ei - z1i[k])
                zr[k] += smooth * (z1r[k] - zr[k])
                zi[k] += smooth * (z1i[k] - zi[k])
                nk[k] += average * (zr[k] * zr[k] + zi[k] * zi[k] - nk[k])
                num += wk[k] * (zi[k] * ar[k] - zr[k] * ai[k])
                mag = (k + 1.0) * (ar[k] * ar[k] + ai[k] * ai[k])
                den += wk[k] * mag
            d = 2.0 * num / (den + 1e-30)
            # a transient (a plosive, a click) must not throw the oscillator off
            if d > clip:
                d = clip
            elif d < -clip:
                d = -clip
            dw += k3q * d
            w += dw + k2q * d
            if w < w_lo:
                w = w_lo
                dw = 0.0
            elif w > w_hi:
                w = w_hi
                dw = 0.0
            s = w + k1q * d
            dev1 += smooth * (dev - dev1)
            dev2 += smooth * (dev1 - dev2)
            dev += s - nominal
            if frames.shape[1] and tick % hop == 0:
                frames[c, slot, 0] = dev2
                frames[c, slot, 1] = g
                for k in range(n_h):
                    frames[c, slot, 2 + k] = c2r[k] + zr[k]
                    frames[c, slot, 2 + n_h + k] = c2i[k] + zi[k]
                    zz = zr[k] * zr[k] + zi[k] * zi[k]
                    frames[c, slot, 2 + 2 * n_h + k] = nk[k] if nk[k] > zz else zz
                    frames[c, slot, 2 + 3 * n_h + k] = excess[c, 2, k]
                slot += 1
            s2 = s * s
            cr = 1.0 - s2 * (0.5 - s2 * (1.0 / 24.0 - s2 * (1.0 / 720.0)))
            ci = s * (1.0 - s2 * (1.0 / 6.0 - s2 * (1.0 / 120.0)))
            t = ur * cr - ui * ci
            ui = ur * ci + ui * cr
            ur = t
            # keep |u| = 1 (one Newton step for 1/sqrt), so rounding never grows the hum estimate
            r = 1.5 - 0.5 * (ur * ur + ui * ui)
            ur *= r
            ui *= r
        for k in range(n_h):
            amplitudes[c, k] = complex(ar[k], ai[k])
            demod[c, 0, k] = complex(z1r[k], z1i[k])
            demod[c, 1, k] = complex(zr[k], zi[k])
            noise[c, k] = nk[k]
            weights[c, 0, k] = wk[k]
            weights[c, 1, k] = vk[k]
            content[c, 0, k] = complex(c1r[k], c1i[k])
            content[c, 1, k] = complex(c2r[k], c2i[k])
        deviation[c, 0] = dev
        deviation[c, 1] = dev1
        deviation[c, 2] = dev2
        gate[c, 0] = power
        gate[c, 1] = smoothed
        gate[c, 2] = floor
        gate[c, 3] = g
        phasor[c] = complex(ur, ui)
        omega[c] = w
        chirp[c] = dw
        boost[c] = extra
        speed[c] = q
    count[0] += n


@numba.njit(cache=True, nogil=True)
def _absence(quiet, heard, open_, settled):  # pragma: no cover - compiled
    """The loop's count of refreshes without a hum to follow, after one more; -1 when a hum is back.

    Below ``settled`` the loop runs: refreshes with the gate open and no hum (not ``heard``) count
    up, one with a hum starts again from 0; with the gate closed (speech, a note) nothing changes.
    At ``settled`` it holds. Above, it runs again while the gate stays open on a hum, counting up to
    ``2 * settled`` (then -1: the hum is back); a refresh without a hum, or with the gate closed (a
    hum not learnt yet), sets it back to ``settled``: a few milliseconds of open gate at a hum's
    onset are not a hum learnt.
    """
    if quiet < settled:
        if not open_:
            return quiet
        return 0.0 if heard else quiet + 1.0
    if not (open_ and heard):
        return float(settled)
    return -1.0 if quiet + 1.0 >= 2.0 * settled else quiet + 1.0


@numba.njit(cache=True, nogil=True, fastmath=True)
def _release(zr, zi, cr, ci, ar, ai, excess, rate, ratio, hold, release, forget):  # pragma: no cover
    """Release the harmonics whose estimate explains more than there is; the power the gate opens on.

    ``z`` is each harmonic's phase detector (what the comb leaves), ``c`` half its smoothed
    amplitude (``z + c`` is what came in). ``excess`` rows: the powers after and before, averaged;
    the releases; the power taken off by releases, fading. Returns the part of that power still
    there and not learnt again. Released amplitudes ``a`` shrink in place.
    """
    if ratio <= 0.0:
        return 0.0  # releases off (DeHum(follow_changes=False))
    held = 0.0
    over = 0.0
    busy = False
    for k in range(zr.size):
        busy = busy or excess[2, k] > 0.0 or excess[3, k] > 0.0
        zz = zr[k] * zr[k] + zi[k] * zi[k]
        br = zr[k] + cr[k]
        bi = zi[k] + ci[k]
        excess[0, k] += rate * (zz - excess[0, k])
        excess[1, k] += rate * (br * br + bi * bi - excess[1, k])
        cc = cr[k] * cr[k] + ci[k] * ci[k]
        held += cc
        if excess[0, k] > ratio * excess[1, k] and excess[1, k] < _EXCESS_LOUD * cc:
            over += cc
    # speech that happens to oppose the hum at a harmonic or two does not release the others
    vote = held > 0.0 and over > _EXCESS_VOTE * held
    lost = 0.0
    if not (vote or busy):
        return lost  # (nothing released, nothing remembered: the usual case, kept cheap)
    for k in range(zr.size):
        aa = 0.5 * (ar[k] * ar[k] + ai[k] * ai[k])
        cc = cr[k] * cr[k] + ci[k] * ci[k]
        if vote and excess[0, k] > ratio * excess[1, k] and excess[1, k] < _EXCESS_LOUD * cc:
            excess[2, k] = 1.0
        elif excess[2, k] > _RELEASE_END:
            excess[2, k] *= hold
        else:
            excess[2, k] = 0.0
        if excess[2, k] > 0.0:
            keep = 1.0 - excess[2, k] * release
            excess[3, k] += (1.0 - keep * keep) * aa
            ar[k] *= keep
            ai[k] *= keep
            aa *= keep * keep
        excess[3, k] *= forget
        if excess[3, k] < 1e-300:
            excess[3, k] = 0.0  # (no subnormal numbers in a quiet stream)
        # what is still there of it (twice the power of the content, half the amplitude, at the
        # harmonic): nothing after a stop, the hum after a jump; less what has been learnt again
        left = min(excess[3, k], 2.0 * excess[1, k]) - aa
        if left > 0.0:
            lost += left
    return lost


# --------------------------------------------------------------------------- detection


def _floor_ratio(power: NDArray[np.float64], inner: int, outer: int) -> NDArray[np.float64]:
    """``power`` over its mean between ``inner`` and ``outer`` bins away on both sides (the local floor).

    The bins nearer than ``inner`` hold the main lobe of a line at the bin
    itself, which must not raise its own floor.
    """
    csum = np.concatenate([[0.0], np.cumsum(power)])
    idx = np.arange(power.size)

    def window_sum(half: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        lo = np.clip(idx - half, 0, power.size)
        hi = np.clip(idx + half + 1, 0, power.size)
        return csum[hi] - csum[lo], hi - lo

    total, count = window_sum(outer)
    near, near_count = window_sum(inner)
    mean = (total - near) / np.maximum(count - near_count, 1)
    # 100 dB below the strongest bin is the floor of floors: around a pure
    # synthetic line the window's sidelobes vanish into rounding, and ratios
    # of rounding errors would otherwise score as lines
    return power / (mean + 1e-10 * float(np.max(power)) + np.finfo(np.float64).tiny)


#: A spectral line: at least this many times (12 dB) its local floor. Hum's lines in its first
#: second stand 10-35 dB over noise at 0 dB against the hum; noise alone, at the candidates
#: that best fit its random peaks, reaches 8 dB.
LINE_RATIO = 10.0 ** 1.2
#: The harmonics that must hold hum's lines: mains hum has its power in the low ones (a
#: buzz in the odd ones, a high-passed chain from the third), a steady tone does not.
LOW_HARMONICS = 6
#: Mains frequencies, Hz: a lone line at one (or twice one) is taken for a pure-sine hum.
MAINS_HZ = (50.0, 60.0)
#: A line this many times its floor (30 dB) with no other on its comb is a tone, not a faint hum.
TONE_RATIO = 1e3
#: How far from mains a lone line's fundamental may be found, Hz (pooling 20 harmonics
#: places a lone line within about 0.6 Hz).
MAINS_TOLERANCE_HZ = 1.5


def line_ratios(x: NDArray[np.floating], sample_rate: int) -> tuple[NDArray[np.float64], float]:
    """Each bin's power over its local floor in the Hann-windowed, zero-padded spectrum of ``x``.

    Channels are pooled; bins are at most 0.05 Hz apart, and the floor is the
    mean power 5 Hz on either side of a line's main lobe, so a spectral line
    stands out by its ratio and broadband sound (speech, noise) is about 1.

    Returns
    -------
    ratio : np.ndarray, shape=(bins,)
    bin_hz : float
        Width of a bin, Hz.

    Examples
    --------
    >>> rate = 8000
    >>> t = np.arange(rate) / rate
    >>> ratio, bin_hz = line_ratios(np.sin(2 * np.pi * 60 * t)[np.newaxis], rate)
    >>> bool(ratio[round(60 / bin_hz)] > 1e4)
    True
    """
    rate = check_sample_rate(sample_rate)
    x64 = np.asarray(x, dtype=np.float64)
    n = x64.shape[1]
    nfft = 1 << max(int(math.ceil(math.log2(rate / 0.05))), int(math.ceil(math.log2(max(n, 2)))))
    window = np.hanning(n + 2)[1:-1]
    spectrum = np.fft.rfft(x64 * window, n=nfft, axis=1)
    power = np.sum(spectrum.real**2 + spectrum.imag**2, axis=0)
    bin_hz = rate / nfft
    # a Hann window's main lobe spans +-2 bins of the unpadded FFT (rate / n Hz each)
    inner = int(math.ceil(2.5 * rate / n / bin_hz))
    return _floor_ratio(power, inner, inner + int(round(5.0 / bin_hz))), bin_hz


def _at_harmonics(
    ratio: NDArray[np.float64], bin_hz: float, candidates_hz: NDArray[np.float64], harmonics: int, rate: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """``ratio`` at ``k * f`` for ``k = 1..harmonics`` (rows) and each candidate ``f`` (columns),
    and which of those lie below the Nyquist frequency."""
    freqs = np.multiply.outer(np.arange(1, harmonics + 1), np.asarray(candidates_hz, np.float64))
    # linear interpolation between bins: the grid is finer than the bins at high harmonics
    return np.interp(freqs / bin_hz, np.arange(ratio.size), ratio), freqs < 0.5 * rate - 5.0


def harmonic_score(
    x: NDArray[np.floating],
    sample_rate: int,
    *,
    candidates_hz: NDArray[np.float64],
    harmonics: int,
) -> NDArray[np.float64]:
    """Harmonic-sum score of each candidate fundamental in ``x`` (all channels together).

    The score of ``f`` is the mean over ``k = 1..harmonics`` (below the
    Nyquist frequency) of ``log(1 + ratio(k*f))``, with ``ratio`` from
    :func:`line_ratios`.

    Parameters
    ----------
    x : np.ndarray, shape=(channels, n)
        The stretch to analyse (a second or more for 0.1 Hz precision).
    sample_rate : int
        Sample rate in Hz.
    candidates_hz : np.ndarray, shape=(m,)
        Fundamentals to score, Hz.
    harmonics : int
        Number of harmonics summed.

    Returns
    -------
    score : np.ndarray, shape=(m,)

    Examples
    --------
    >>> rate = 8000
    >>> t = np.arange(rate) / rate
    >>> x = np.sin(2 * np.pi * 60 * t)[np.newaxis] + np.sin(2 * np.pi * 180 * t)
    >>> score = harmonic_score(x, rate, candidates_hz=np.array([50.0, 60.0]), harmonics=5)
    >>> bool(score[1] > score[0] + 1)
    True
    """
    rate = check_sample_rate(sample_rate)
    return _score(*line_ratios(x, rate), np.asarray(candidates_hz, np.float64), harmonics, rate)


def _score(
    ratio: NDArray[np.float64], bin_hz: float, candidates_hz: NDArray[np.float64], harmonics: int, rate: int
) -> NDArray[np.float64]:
    values, valid = _at_harmonics(np.log1p(ratio), bin_hz, candidates_hz, harmonics, rate)
    return _mean_where(values, valid)


def _mean_where(values: NDArray[np.float64], kept: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Each column's mean over its ``kept`` rows (0 where none is)."""
    return np.sum(np.where(kept, values, 0.0), axis=0) / np.maximum(np.sum(kept, axis=0), 1)


def holds_hum(
    ratio: NDArray[np.float64], bin_hz: float, candidates_hz: NDArray[np.float64], sample_rate: int
) -> NDArray[np.bool_]:
    """Whether each candidate's comb holds what mains hum leaves in a spectrum (``ratio`` and
    ``bin_hz`` from :func:`line_ratios`).

    A candidate qualifies with lines (``LINE_RATIO``, 12 dB over their floor) at
    two or more of its ``LOW_HARMONICS`` = 6 lowest harmonics, or with one at its
    fundamental or second harmonic when it lies within ``MAINS_TOLERANCE_HZ`` of
    50 or 60 Hz (a pure-sine hum, or rectifier hum within 3 Hz of 100 or 120
    Hz). A lone steady sine above 130 Hz (a 1 kHz line-up tone) never does,
    whichever fundamental it is a harmonic of; a held note with its partials
    may (a 110 Hz note is two low lines of 55 Hz).

    Examples
    --------
    >>> rate = 16000
    >>> t = np.arange(rate) / rate
    >>> ratio, bin_hz = line_ratios(np.sin(2 * np.pi * 1000 * t)[np.newaxis], rate)
    >>> holds_hum(ratio, bin_hz, np.array([50.0, 1000 / 19]), rate).tolist()
    [False, False]
    """
    candidates = np.asarray(candidates_hz, np.float64)
    values, valid = _at_harmonics(ratio, bin_hz, candidates, LOW_HARMONICS, check_sample_rate(sample_rate))
    lines = valid & (values >= LINE_RATIO)
    near_mains = np.min(np.abs(np.subtract.outer(candidates, MAINS_HZ)), axis=1) <= MAINS_TOLERANCE_HZ
    return (np.sum(lines, axis=0) >= 2) | (near_mains & (lines[0] | lines[1]))


def detect_fundamental(
    x: NDArray[np.floating],
    sample_rate: int,
    *,
    low_hz: float = 45.0,
    high_hz: float = 65.0,
    harmonics: int = 20,
    resolution_hz: float = 0.005,
) -> float:
    """The hum fundamental in ``x``: the best harmonic-sum candidate in ``[low_hz, high_hz]``
    among those whose comb holds hum (:func:`holds_hum`).

    Where none does (no hum, digital silence, a lone tone, a hum too faint for
    two clear lines), the result is 50 or 60 Hz, chosen by what each comb
    holds (:func:`_fallback`): a 1 kHz line-up tone, the 20th harmonic of
    50 Hz, gives 60 Hz, whose comb passes it.

    Parameters
    ----------
    x : np.ndarray, shape=(channels, n)
        A stretch of audio (about a second or more; channels are pooled).
    sample_rate : int
        Sample rate in Hz.
    low_hz, high_hz : float
        Search range, Hz; the default covers 50 and 60 Hz mains +- 5 Hz.
    harmonics : int
        Harmonics pooled by :func:`harmonic_score`.
    resolution_hz : float
        Step of the candidate grid, Hz.

    Returns
    -------
    fundamental_hz : float

    Examples
    --------
    >>> rate = 16000
    >>> t = np.arange(2 * rate) / rate
    >>> x = sum(np.sin(2 * np.pi * k * 59.7 * t) / k for k in range(1, 8))[np.newaxis]
    >>> round(detect_fundamental(x, rate), 1)
    59.7
    >>> detect_fundamental(np.sin(2 * np.pi * 1000 * t)[np.newaxis], rate)
    60.0
    """
    low = check_range("low_hz", low_hz, low=1.0)
    high = check_range("high_hz", high_hz, low=low, low_inclusive=False)
    step = check_range("resolution_hz", resolution_hz, low=0.0, low_inclusive=False)
    if harmonics < 1:
        raise ParameterError(f"harmonics={harmonics!r} is out of range; expected harmonics >= 1")
    rate = check_sample_rate(sample_rate)
    candidates = np.arange(low, high + 0.5 * step, step)
    ratio, bin_hz = line_ratios(x, rate)
    hum = holds_hum(ratio, bin_hz, candidates, rate)
    if np.any(hum):
        score = _score(ratio, bin_hz, candidates, int(harmonics), rate)
        return float(candidates[int(np.argmax(np.where(hum, score, -np.inf)))])
    return _fallback(ratio, bin_hz, int(harmonics), rate)


def _fallback(ratio: NDArray[np.float64], bin_hz: float, harmonics: int, rate: int) -> float:
    """50 or 60 Hz, when no candidate holds hum: by what each comb holds, in this order.

    1. More faint lines (12 to 30 dB over their floor) at the six lowest harmonics, within
       0.5 Hz per harmonic number: a faint hum's clearest one or two.
    2. Fewer lines the comb would take down from something else: a strong one (``TONE_RATIO``,
       30 dB) at the low harmonics, any within 5 Hz of the higher ones (a lone tone: 150 Hz is the
       third harmonic of 50 Hz, a 1 kHz line-up tone the 20th).
    3. More of what is left (the mean of ``log(1 + ratio)`` over the harmonics without a line, at
       the best fundamental within 0.5 Hz): a faint hum's many weak lines. Under speech a hum 37 dB
       down is told from none only about as often as not, and on noise alone the choice is chance;
       digital silence gives 50 Hz.
    """
    low = [_line_heights(ratio, bin_hz, f, range(1, LOW_HARMONICS + 1), rate, 0.5) for f in MAINS_HZ]
    faint = [int(np.sum((h >= LINE_RATIO) & (h < TONE_RATIO))) for h in low]
    if faint[0] != faint[1]:
        return MAINS_HZ[int(np.argmax(faint))]
    above = range(LOW_HARMONICS + 1, harmonics + 1)
    high = [_line_heights(ratio, bin_hz, f, above, rate, 5.0) for f in MAINS_HZ]
    taken = [int(np.sum(a >= TONE_RATIO) + np.sum(b >= LINE_RATIO)) for a, b in zip(low, high, strict=True)]
    if taken[0] != taken[1]:
        return MAINS_HZ[int(np.argmin(taken))]
    weak = []
    for f in MAINS_HZ:
        values, valid = _at_harmonics(ratio, bin_hz, np.linspace(f - 0.5, f + 0.5, 201), harmonics, rate)
        weak.append(float(np.max(_mean_where(np.log1p(values), valid & (values < LINE_RATIO)))))
    return MAINS_HZ[int(np.argmax(weak))]


def _line_heights(
    ratio: NDArray[np.float64],
    bin_hz: float,
    fundamental_hz: float,
    harmonics: range,
    rate: int,
    within_hz: float,
) -> NDArray[np.float64]:
    """The highest ``ratio`` near each of the ``harmonics`` (numbers) of ``fundamental_hz`` below the
    Nyquist frequency: within ``within_hz`` per harmonic number at the low ones (where a drifting
    hum's lines are), within ``within_hz`` above them (where a notch, or a harmonic that drifts,
    would take some of a tone)."""
    heights = []
    for k in harmonics:
        centre = k * fundamental_hz
        reach = within_hz * k if k <= LOW_HARMONICS else within_hz
        if centre + reach >= 0.5 * rate:
            break
        lo, hi = int((centre - reach) / bin_hz), int(math.ceil((centre + reach) / bin_hz)) + 1
        heights.append(float(np.max(ratio[lo:hi])))
    return np.asarray(heights)


# --------------------------------------------------------------------------- refinement


#: Length of the centred window over which the phase measurements are fitted, seconds
#: (the refined canceller's lookahead is half of it). Tuned on the male voice (16 and 48 kHz,
#: hum 7 dB under it): 0.8 s and 1 s leave the top harmonics 28-34 dB down under the speech,
#: 1.5 s 13-35 dB: the references learn from the fitted phase, and the measurements use them,
#: so the lookahead is also the delay of that loop.
_FIT_S = 1.0
#: Time constant, in frames with the gate open, of each harmonic's reference (1 s). 300
#: frames lost the 50 Hz hum under the male voice (19 dB down at the top harmonic); 50 did
#: as well as 100.
_REFERENCE_FRAMES = 100.0
#: Share of its final size a reference must have learnt (its learnt share ``L`` goes
#: ``L += g * (1 - L) / _REFERENCE_FRAMES`` per frame, from 0) before the measurements made
#: with it count; until every frame of the window has, the fit runs through the oscillator's
#: own smoothed phase alone. A reference learnt from a few frames is mostly noise (its angles
#: random), and a window whose first frames have no weight while its last have some made the
#: fit extrapolate a quadratic from its far end: tens of radians at the start of a stream,
#: their value set by rounding.
_LEARNT = 0.5
#: A release (:func:`cancel_hum`'s verdict in the frames) above this stops the references'
#: learning from the frames up to it (they hold the hum that was).
_RELEASED = 0.1


class RefineState(NamedTuple):
    """State of :func:`refine_phase`, updated in place (one row per channel).

    Attributes
    ----------
    reference : np.ndarray, shape=(channels, harmonics), complex128
        Each harmonic's smoothed content in the refined phase's frame, learnt
        while the gate is open: what the measurements are compared with.
    measured : np.ndarray, shape=(channels, window, 5), float64
        The last ``window`` frames: phase measurement, its weight, the
        oscillator's smoothed phase deviation, the gate, and 1 if the
        references had learnt enough (``_LEARNT``) when the frame was measured.
    content : np.ndarray, shape=(channels, window, harmonics), complex128
        The same frames' content of each harmonic.
    frames : np.ndarray, shape=(1,), int64
        Frames measured so far.
    learnt : np.ndarray, shape=(channels,), float64
        The share of its final size each channel's references have learnt
        (0 at the start, 1 for references set from a primed canceller).
    released : np.ndarray, shape=(channels,), int64
        The last frame in which the tracker released a harmonic (-1: none):
        the references forget the released harmonics and learn again only
        from the frames after it.
    offset : np.ndarray, shape=(channels,), float64
        The fitted phase less the oscillator's smoothed phase at the last
        centre fitted with learnt references (0 before): until they are
        learnt again after a release, the fit runs on the oscillator's phase
        plus this offset, so that the fitted phase does not jump.
    """

    reference: NDArray[np.complex128]
    measured: NDArray[np.float64]
    content: NDArray[np.complex128]
    frames: NDArray[np.int64]
    learnt: NDArray[np.float64]
    released: NDArray[np.int64]
    offset: NDArray[np.float64]


def fit_half_frames(hop: int, sample_rate: int) -> int:
    """Frames on each side of the centre of the phase fit (``_FIT_S / 2``).

    Examples
    --------
    >>> fit_half_frames(480, 48000)  # 10 ms frames: 0.5 s on each side
    50
    """
    return max(2, int(round(0.5 * _FIT_S * sample_rate / hop)))


def init_refine_state(channels: int, harmonics: int, half: int) -> RefineState:
    """State before the first frame: no reference, empty window.

    Examples
    --------
    >>> init_refine_state(2, 20, 50).measured.shape
    (2, 101, 5)
    """
    window = 2 * half + 1
    return RefineState(
        np.zeros((channels, harmonics), np.complex128),
        np.zeros((channels, window, 5)),
        np.zeros((channels, window, harmonics), np.complex128),
        np.zeros(1, np.int64),
        np.zeros(channels),
        np.full(channels, -1, np.int64),
        np.zeros(channels),
    )


def refine_phase(frames: NDArray[np.float64], state: RefineState, half: int) -> NDArray[np.float64]:
    """Refined phase deviation of the frames whose centred window is now complete.

    Each frame from :func:`cancel_hum` measures the hum's phase: the
    oscillator's smoothed phase plus, from each harmonic ``k``, the angle
    of its content against its reference over ``k``, pooled with weights
    ``k**2 |reference|**2 / noise`` (harmonics buried in speech barely
    count). A weighted local quadratic (Hann window of ``2 * half + 1``
    frames) through these measurements gives the phase at the window's
    centre: speech, which pulls single frames, averages out, and a drift of
    the mains frequency (a smooth phase) passes. The references learn from
    the centred frames while the gate is open; until every frame of the
    window was measured with references learnt to half their size, the fit
    runs through the oscillator's smoothed phase alone. A frame in which the
    tracker released harmonics (the hum stopped or jumped) makes their
    references forget the hum that was and counts them as unlearnt: the fit
    stops its window before that frame, and until the references are learnt
    again (from the frames after it) runs through the oscillator's phase
    plus the offset the fitted phase last had from it.

    Parameters
    ----------
    frames : np.ndarray, shape=(channels, m, frame_width(harmonics))
        New frames from :func:`cancel_hum`.
    state : RefineState
        Updated in place.
    half : int
        Frames on each side of the centre (:func:`fit_half_frames`).

    Returns
    -------
    deviation : np.ndarray, shape=(channels, m'), float64
        Refined phase deviation from the nominal ramp at the centre frames
        completed by these frames, ``m' = m`` once ``half`` frames have been
        seen.

    Examples
    --------
    A 50.1 Hz hum tracked at 50 Hz nominal: its phase gains 0.1 Hz on the ramp.

    >>> rate = 8000
    >>> t = np.arange(6 * rate) / rate
    >>> x = (0.1 * np.cos(2 * np.pi * 50.1 * t) + 0.05 * np.cos(2 * np.pi * 100.2 * t))[np.newaxis]
    >>> loop = hum_loop(fundamental_hz=50.0, bandwidth_hz=2.0, max_drift_hz=1.0,
    ...                 tracking_hz=1.0, sample_rate=rate)
    >>> frames = np.empty((1, x.shape[1] // loop.hop, frame_width(2)))
    >>> _ = cancel_hum(x, init_hum_state(1, 2, 50.0, rate), loop, frames=frames)
    >>> half = fit_half_frames(loop.hop, rate)
    >>> deviation = refine_phase(frames, init_refine_state(1, 2, half), half)
    >>> slope_hz = np.polyfit(np.arange(300) * 0.01, deviation[0, -300:], 1)[0] / (2 * np.pi)
    >>> round(float(slope_hz), 3)
    0.1
    """
    done = int(state.frames[0])
    m = frames.shape[1]
    out = np.empty((frames.shape[0], max(0, done + m - half) - max(0, done - half)))
    if m:
        rate = 1.0 / _REFERENCE_FRAMES
        _refine_kernel(
            frames, state.reference, state.measured, state.content, state.learnt, state.released,
            state.offset, done, half, rate, out,
        )  # fmt: skip
    state.frames[0] += m
    return out


@numba.njit(cache=True, nogil=True)
def _refine_kernel(
    frames, reference, measured, content, learnt, released, offset, done, half, rate, out
):  # pragma: no cover - compiled
    n_ch, m, width = frames.shape
    n_h = reference.shape[1]
    window = 2 * half + 1
    taper = np.empty(window)
    for j in range(window):
        taper[j] = math.sin(math.pi * (j + 1) / (window + 1)) ** 2
    for c in range(n_ch):
        slot = 0
        for f in range(done, done + m):
            row = frames[c, f - done]
            at = f % window
            # a released harmonic's reference is the hum that was: forget it (and count the
            # references as unlearnt, so that the fit runs on the oscillator until they are again)
            top = 0.0
            for k in range(n_h):
                r = row[2 + 3 * n_h + k]
                if r > 0.0:
                    reference[c, k] *= 1.0 - r
                    top = max(top, r)
            if top > 0.0:
                learnt[c] *= 1.0 - top
                if top > _RELEASED:
                    released[c] = f
            pooled = 0.0
            weight = 0.0
            for k in range(n_h):
                z = complex(row[2 + k], row[2 + n_h + k])
                content[c, at, k] = z
                ref = reference[c, k]
                aa = ref.real * ref.real + ref.imag * ref.imag
                if aa > 0.0:
                    wk = (k + 1.0) * (k + 1.0) * aa / (row[2 + 2 * n_h + k] + 1e-30)
                    turn = z * ref.conjugate()
                    pooled += wk * math.atan2(turn.imag, turn.real) / (k + 1.0)
                    weight += wk
            measured[c, at, 0] = row[0] + (pooled / weight if weight > 0.0 else 0.0)
            measured[c, at, 1] = weight
            measured[c, at, 2] = row[0]
            measured[c, at, 3] = row[1]
            measured[c, at, 4] = 1.0 if learnt[c] >= _LEARNT else 0.0
            centre = f - half
            if centre < 0:
                continue
            fitted, measured_fit = _fit(measured[c], taper, centre, half, f, offset[c])
            out[c, slot] = fitted
            if measured_fit:
                offset[c] = fitted - measured[c, centre % window, 2]
            slot += 1
            # the reference learns from the centred frame, in the refined phase's frame
            at = centre % window
            g = measured[c, at, 3]
            if g > 0.0 and centre > released[c]:
                learnt[c] += rate * g * (1.0 - learnt[c])
                shift = out[c, slot - 1] - measured[c, at, 2]
                turn = complex(math.cos(shift), -math.sin(shift))
                q = turn
                for k in range(n_h):
                    reference[c, k] += rate * g * (content[c, at, k] * q - reference[c, k])
                    q *= turn


@numba.njit(cache=True, nogil=True)
def _fit(measured, taper, centre, half, last, offset):  # pragma: no cover - compiled
    """Phase at ``centre`` of the weighted local quadratic through frames ``centre - half .. last``,
    and whether it went through the measurements.

    Weights: each frame's measurement weight times the taper (a floor of 1e-9 of the largest keeps
    the system regular), once every frame up to the centre was measured with learnt references
    (the fit then stops before the first later frame that was not: a release, see
    :func:`refine_phase`); before, the oscillator's smoothed phase plus ``offset`` weighted by the
    taper alone. Time is in units of ``half``, so the moments stay within a few orders of magnitude
    of each other.
    """
    window = measured.shape[0]
    lo = max(0, centre - half)
    stop = lo
    while stop <= last and measured[stop % window, 4] > 0.0:
        stop += 1
    learnt = stop > centre
    if learnt:
        last = stop - 1
    top = 0.0
    for j in range(lo, last + 1):
        top = max(top, measured[j % window, 1] * taper[j - centre + half])
    learnt = learnt and top > 0.0
    s = np.zeros(5)
    b = np.zeros(3)
    scale = 1.0 / half
    for j in range(lo, last + 1):
        at = j % window
        taper_j = taper[j - centre + half]
        if learnt:
            w = measured[at, 1] * taper_j + 1e-9 * top
            v = measured[at, 0]
        else:
            w = taper_j
            v = measured[at, 2] + offset
        t = (j - centre) * scale
        p = w
        for e in range(5):
            s[e] += p
            if e < 3:
                b[e] += p * v
            p *= t
    return _quadratic_at_zero(s, b), learnt


@numba.njit(cache=True, nogil=True)
def _quadratic_at_zero(s, b):  # pragma: no cover - compiled
    """Value at t = 0 of the weighted least-squares quadratic: moments ``s[e] = sum w t**e``, ``b``."""
    a00, a01, a02, a11, a12, a22 = s[0], s[1], s[2], s[2], s[3], s[4]
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    det = a00 * c00 + a01 * c01 + a02 * c02
    if det <= 1e-12 * a00 * a11 * a22 or det == 0.0:
        return b[0] / s[0]  # too few frames for a quadratic: their weighted mean
    return (c00 * b[0] + c01 * b[1] + c02 * b[2]) / det


def synthesise_hum(
    x: NDArray[np.float64],
    start: int,
    deviation: NDArray[np.float64],
    gates: NDArray[np.float64],
    first: int,
    amplitudes: NDArray[np.complex128],
    loop: HumLoop,
    *,
    releases: NDArray[np.float64] | None = None,
    trace: NDArray[np.complex128] | None = None,
) -> NDArray[np.float64]:
    """Cancel the hum along the refined phase: ``x`` less ``sum_k Re(b_k u**k)``, with gated LMS ``b_k``.

    Parameters
    ----------
    x : np.ndarray, shape=(channels, n), float64
        Samples ``start .. start + n`` of the stream (overwritten with the output).
    start : int
        Stream index of ``x[:, 0]``.
    deviation : np.ndarray, shape=(channels, frames), float64
        Refined phase deviations (:func:`refine_phase`) of frames ``first ..``;
        frame ``j`` stands for the time ``(j + 1) * hop - 1 - lag`` samples,
        ``lag`` the smoothing stages' delay (:func:`measurement_lag`). Between
        frames the phase is interpolated linearly.
    gates : np.ndarray, shape=(channels, frames), float64
        The step gate of the same frames; sample ``i`` uses frame ``i // hop``'s.
    first : int
        Frame index of ``deviation[:, 0]`` and ``gates[:, 0]``.
    amplitudes : np.ndarray, shape=(channels, harmonics), complex128
        The LMS amplitudes ``b_k``, updated in place.
    loop : HumLoop
        Constants (its ``step``, ``nominal``, ``hop``, ``release``).
    releases : np.ndarray, shape=(channels, frames, harmonics), float64, optional
        Each harmonic's release in the same frames (the tracker's verdict
        that its estimate explains more than there is, 0 to 1): at the first
        sample of frame ``j`` the amplitudes shrink as the tracker's do over
        a frame. None releases nothing.
    trace : np.ndarray, shape=(channels, n), complex128, optional
        Receives the phasor ``u`` of each sample.

    Returns
    -------
    y : np.ndarray, shape=(channels, n)
        ``x`` itself, overwritten.

    Examples
    --------
    A 50 Hz hum along a phase given exactly (no deviation, gate open): learnt in a fraction of a second.

    >>> rate = 8000
    >>> loop = hum_loop(fundamental_hz=50.0, bandwidth_hz=2.0, max_drift_hz=1.0,
    ...                 tracking_hz=1.0, sample_rate=rate)
    >>> x = 0.1 * np.cos(2 * np.pi * 50.0 * np.arange(2 * rate) / rate + 0.3)[np.newaxis]
    >>> frames = x.shape[1] // loop.hop + 2
    >>> b = np.zeros((1, 1), np.complex128)
    >>> y = synthesise_hum(x.copy(), 0, np.zeros((1, frames)), np.ones((1, frames)), 0, b, loop)
    >>> bool(np.max(np.abs(y[0, -rate // 2 :])) < 1e-4)
    True
    """
    if x.shape[1]:
        _synth_kernel(
            x, start, deviation, gates, first, amplitudes, loop.step, _widening(amplitudes.shape[1]),
            loop.nominal, loop.hop, measurement_lag(loop),
            np.empty((0, 0), np.complex128) if trace is None else trace,
            np.zeros((0, 0, 0)) if releases is None else releases,
            1.0 - (1.0 - loop.release) ** (loop.hop / _REFRESH),
        )  # fmt: skip
    return x


def measurement_lag(loop: HumLoop) -> float:
    """Delay of the two smoothing stages for a ramp, samples: the frames' measurements stand that far back.

    Examples
    --------
    >>> loop = hum_loop(fundamental_hz=50.0, bandwidth_hz=2.0, max_drift_hz=1.0,
    ...                 tracking_hz=1.0, sample_rate=48000)
    >>> round(measurement_lag(loop) / 48000, 4)  # two 10 Hz one-pole stages: about 2 / (2 pi 10) s
    0.0318
    """
    return _STAGES * (1.0 - loop.smooth) / loop.smooth


@numba.njit(cache=True, nogil=True, fastmath=True)
def _synth_kernel(
    x, start, deviation, gates, first, amplitudes, step, widen, nominal, hop, lag, trace, releases, release
):  # pragma: no cover - compiled
    n_ch, n = x.shape
    n_h = amplitudes.shape[1]
    ar = np.empty(n_h)
    ai = np.empty(n_h)
    pr = np.empty(n_h)
    pi = np.empty(n_h)
    sk = np.empty(n_h)
    total = 0.0
    for k in range(n_h):
        total += step * widen[k]
    t0 = hop - 1.0 - lag
    two_pi = 2.0 * math.pi
    for c in range(n_ch):
        for k in range(n_h):
            ar[k] = amplitudes[c, k].real
            ai[k] = amplitudes[c, k].imag
        ur = 1.0
        ui = 0.0
        rr = 1.0
        ri = 0.0
        segment = -1
        frame = -1
        g = 0.0
        level = 1.0
        for i in range(n):
            at = start + i
            j = int(math.floor((at - t0) / hop))
            if j < 0:
                j = 0
            if j != segment or i == 0:
                # one exp per segment between frames: the phase there is a line
                segment = j
                d0 = deviation[c, j - first]
                slope = (deviation[c, j + 1 - first] - d0) / hop
                tj = (j + 1.0) * hop - 1.0 - lag
                # from the segment's first sample, whatever sample the block starts on
                s0 = 0 if j == 0 else int(math.ceil(t0 + j * hop))
                if s0 > at:
                    s0 = at
                phase = (nominal * s0) % two_pi + d0 + slope * (s0 - tj)
                ur = math.cos(phase)
                ui = math.sin(phase)
                rr = math.cos(nominal + slope)
                ri = math.sin(nominal + slope)
                for _ in range(s0, at):
                    t = ur * rr - ui * ri
                    ui = ur * ri + ui * rr
                    ur = t
            fi = at // hop
            if fi != frame:
                frame = fi
                g = gates[c, fi - first]
                for k in range(n_h):
                    sk[k] = g * step * widen[k]
                level = 1.0 - 0.5 * g * total
            if releases.shape[1] and at % hop == 0:
                # once per frame of the stream (not per block): the tracker's release of this frame
                for k in range(n_h):
                    keep = 1.0 - releases[c, fi - first, k] * release
                    ar[k] *= keep
                    ai[k] *= keep
            if trace.shape[1]:
                trace[c, i] = complex(ur, ui)
            pr[0] = ur
            pi[0] = ui
            for k in range(1, n_h):
                pr[k] = pr[k - 1] * ur - pi[k - 1] * ui
                pi[k] = pr[k - 1] * ui + pi[k - 1] * ur
            h = 0.0
            for k in range(n_h):
                h += ar[k] * pr[k] - ai[k] * pi[k]
            e = x[c, i] - h
            x[c, i] = e * level
            for k in range(n_h):
                ar[k] += sk[k] * e * pr[k]
                ai[k] -= sk[k] * e * pi[k]
            t = ur * rr - ui * ri
            ui = ur * ri + ui * rr
            ur = t
        for k in range(n_h):
            amplitudes[c, k] = complex(ar[k], ai[k])


def refined_latency(loop: HumLoop, sample_rate: int) -> int:
    """Samples by which the refined canceller's output lags its input: half the fit and the lag.

    Sample ``i`` lies between two fitted frames; the later one's window ends
    ``half + 1`` frames later, and its measurements stand ``lag`` samples back.

    Examples
    --------
    >>> loop = hum_loop(fundamental_hz=50.0, bandwidth_hz=2.0, max_drift_hz=1.0,
    ...                 tracking_hz=1.0, sample_rate=48000)
    >>> refined_latency(loop, 48000)  # 0.542 s
    26008
    """
    half = fit_half_frames(loop.hop, sample_rate)
    return (half + 1) * loop.hop + int(math.ceil(measurement_lag(loop))) + 1

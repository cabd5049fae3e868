"""Dialogue-activity detection and ducking gain, as a streaming kernel and plain functions.

The pieces of :class:`sonicmix.nodes.ducking.Ducker`, written over arrays:

1. :func:`frame_power` -- nothing but ``x * x`` averaged over channels; the
   caller band-limits the key first (the speech band) and the kernel averages
   it over a 10 ms rectangular frame.
2. :func:`duck_gain_db` -- one sequential pass (a small numba kernel) that, per
   sample, decides whether dialogue is active (threshold, minimum duration,
   hold), tracks the key's running speech level and noise floor, computes the
   target reduction (fixed depth, or loudness-aware) and follows it with a
   slew-rate limited gain in dB.
3. :func:`activity_intervals` -- the decisions turned into ``(start_s, end_s)``
   intervals.

All state is explicit (:class:`ActivityState`): arrays that the kernel updates
in place, so processing a signal in blocks gives exactly the samples of
processing it whole. The detector works in float64 whatever the audio dtype.

This module imports numba (about 0.25 s), so the node imports it only when it
first processes audio; the kernel is compiled on first use and cached on disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = [
    "FRAME_S",
    "AUTO_MARGIN_DB",
    "NOISE_MARGIN_DB",
    "FLOOR_DB",
    "SPEECH_AVERAGE_S",
    "SPEECH_DECAY_DB_PER_S",
    "NOISE_RISE_DB_PER_S",
    "LOUDNESS_WINDOW_S",
    "VOICED",
    "CONFIRMED",
    "ACTIVE",
    "ActivityPlan",
    "ActivityState",
    "init_activity",
    "frame_power",
    "duck_gain_db",
    "activity_intervals",
]

#: Length of the rectangular frame over which the band-limited key power is averaged, in seconds.
FRAME_S = 0.010
#: With an automatic threshold: how far below the running active speech level it sits, in dB
#: (the margin of ITU-T P.56's active speech level, 15.9 dB, rounded).
AUTO_MARGIN_DB = 16.0
#: With an automatic threshold: how far above the running noise floor it stays at least, in dB.
NOISE_MARGIN_DB = 10.0
#: The automatic threshold never falls below this frame level, in dB re full scale.
FLOOR_DB = -70.0
#: Time constant of the running active speech level (a power average over confirmed speech), in seconds.
SPEECH_AVERAGE_S = 2.0
#: While no dialogue is active, the running speech level falls this fast, in dB per second.
SPEECH_DECAY_DB_PER_S = 1.0
#: The running noise floor rises this fast while the frame level is above it, in dB per second.
NOISE_RISE_DB_PER_S = 5.0
#: Window of the short-term loudness (ITU-R BS.1771 / EBU Tech 3341 "S"), in seconds.
LOUDNESS_WINDOW_S = 3.0

#: Bits of the per-sample flags written by :func:`duck_gain_db`.
VOICED, CONFIRMED, ACTIVE = 1, 2, 4

# Slots of ActivityState.values (float64) and ActivityState.counts (int64).
_F_FRAME_SUM, _F_SPEECH, _F_NOISE, _F_GAIN, _F_KEY_SUM, _F_PROG_SUM = range(6)
_I_FRAME_POS, _I_SEEN, _I_RUN, _I_HOLD, _I_PROG_POS, _I_KEY_POS, _I_KEY_FILL = range(7)


@dataclass(frozen=True)
class ActivityPlan:
    """Sample-domain constants of the detector and the gain smoother (see :func:`init_activity`).

    Attributes
    ----------
    frame_samples : int
        Frame length ``W`` (10 ms) in samples.
    min_speech_samples : int
        Consecutive voiced samples needed before dialogue counts as active (>= 1).
    hold_samples : int
        Samples the decision stays active after the last confirmed sample.
    threshold_power : float
        Fixed frame-power threshold, or -1.0 for the automatic one.
    depth_db : float
        Largest reduction in dB (positive).
    fall_step_db, rise_step_db : float
        Largest change of the gain per sample, in dB, while it falls and rises.
    below_lu : float
        Loudness-aware margin in LU, or -1.0 for a fixed depth.
    window_samples : int
        Short-term loudness window (3 s) in samples; 0 for a fixed depth.
    """

    frame_samples: int
    min_speech_samples: int
    hold_samples: int
    threshold_power: float
    depth_db: float
    fall_step_db: float
    rise_step_db: float
    below_lu: float
    window_samples: int
    sample_rate: int


@dataclass(eq=False)
class ActivityState:
    """Mutable state of :func:`duck_gain_db`; updated in place.

    Attributes
    ----------
    values : np.ndarray, shape=(6,), float64
        Frame power sum, running speech level, noise floor (powers), gain in dB,
        key and programme K-weighted power sums over their windows.
    counts : np.ndarray, shape=(7,), int64
        Frame ring position, samples seen, voiced run length, hold samples left,
        programme ring position, key ring position, key samples in the key ring.
    frame_ring : np.ndarray, shape=(frame_samples,), float64
        The last frame of key powers.
    key_ring : np.ndarray, shape=(window_samples,), float64
        K-weighted key power of the last 3 s of dialogue activity.
    prog_ring : np.ndarray, shape=(window_samples,), float64
        K-weighted programme power of the last 3 s.
    """

    values: NDArray[np.float64]
    counts: NDArray[np.int64]
    frame_ring: NDArray[np.float64]
    key_ring: NDArray[np.float64]
    prog_ring: NDArray[np.float64]


def init_activity(
    *,
    sample_rate: int,
    depth_db: float,
    attack_s: float,
    release_s: float,
    hold_s: float,
    min_speech_s: float,
    threshold_db: float | None,
    below_lu: float | None,
    lookahead_samples: int = 0,
) -> tuple[ActivityPlan, ActivityState]:
    """Plan and initial state of :func:`duck_gain_db` (silence so far, gain 0 dB).

    Parameters are those of :class:`~sonicmix.nodes.ducking.Ducker`, already
    validated; ``attack_s`` and ``release_s`` are the times a full-depth change
    takes, so the gain moves at most ``depth_db / (attack_s * sample_rate)`` dB
    per sample while falling and ``depth_db / (release_s * sample_rate)`` while rising.
    ``lookahead_samples`` is added to the hold: the kernel runs on the key, which
    is that far ahead of the audio the gain applies to, so the gain stays down
    ``hold_s`` after the last speech *in the output*.

    Examples
    --------
    >>> plan, state = init_activity(sample_rate=48000, depth_db=12.0, attack_s=0.05, release_s=0.5,
    ...                             hold_s=0.7, min_speech_s=0.03, threshold_db=None, below_lu=None)
    >>> plan.frame_samples, plan.min_speech_samples, plan.hold_samples, round(plan.fall_step_db, 6)
    (480, 1440, 33600, 0.005)
    """
    fs = int(sample_rate)
    frame = max(1, int(round(FRAME_S * fs)))
    window = int(round(LOUDNESS_WINDOW_S * fs)) if below_lu is not None else 0
    plan = ActivityPlan(
        frame_samples=frame,
        min_speech_samples=max(1, int(round(min_speech_s * fs))),
        hold_samples=int(round(hold_s * fs)) + int(lookahead_samples),
        threshold_power=-1.0 if threshold_db is None else 10.0 ** (threshold_db / 10.0),
        depth_db=float(depth_db),
        fall_step_db=depth_db / (attack_s * fs),
        rise_step_db=depth_db / (release_s * fs),
        below_lu=-1.0 if below_lu is None else float(below_lu),
        window_samples=window,
        sample_rate=fs,
    )
    values = np.zeros(6)
    values[_F_NOISE] = 10.0 ** (FLOOR_DB / 10.0)  # until heard, the noise floor is taken as FLOOR_DB
    state = ActivityState(
        values=values,
        counts=np.zeros(7, np.int64),
        frame_ring=np.zeros(frame),
        key_ring=np.zeros(window),
        prog_ring=np.zeros(window),
    )
    return plan, state


def frame_power(x: NDArray[np.floating], *, out: NDArray[np.floating] | None = None) -> NDArray[np.floating]:
    """Mean over channels of ``x**2``, sample by sample: shape ``(channels, n)`` to ``(n,)``.

    Examples
    --------
    >>> frame_power(np.array([[1.0, 0.5], [0.0, 0.5]]))
    array([0.5 , 0.25])
    """
    if x.shape[0] == 1:
        return np.square(x[0], out=out)
    squares = np.square(x)
    return np.mean(squares, axis=0, out=out)


def duck_gain_db(
    key_power: NDArray[np.floating],
    plan: ActivityPlan,
    state: ActivityState,
    *,
    key_loudness_power: NDArray[np.floating] | None = None,
    programme_power: NDArray[np.floating] | None = None,
    flags: NDArray[np.int8] | None = None,
    diagnostics: NDArray[np.float64] | None = None,
    out: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Ducking gain in dB for each sample of a block of band-limited key power.

    Per sample ``n`` (all levels are powers, written here in dB):

    - ``e[n]``: mean of ``key_power`` over the last ``W`` samples (10 ms).
    - Threshold ``T``: ``plan.threshold_power`` if fixed; otherwise
      ``max(S - 16 dB, N + 10 dB, -70 dB)`` with ``S`` the running active
      speech level (``e`` averaged over confirmed speech with a one-pole of
      2 s, in power; the first confirmed ``e`` starts it; it falls 1 dB/s while
      no dialogue is active) and ``N`` the
      running noise floor (the smallest ``e``, rising 5 dB/s; -70 dB at the
      start; frames below -100 dB, digital silence, leave it alone), both as
      they were before sample ``n``.
    - *voiced*: ``e[n] >= T`` (and ``e[n] > 0``); *confirmed*: the last
      ``min_speech_samples`` samples were all voiced; *active*: confirmed now
      or within the last ``hold_samples`` samples.
    - Target: ``-depth_db`` while active (fixed depth); in loudness-aware mode
      ``-clip(L_prog - (L_dx - below_lu), 0, depth_db)`` while active, with
      ``L_dx`` the K-weighted loudness of the key over its last 3 s of
      activity (inactive samples skipped; since the first activity, if
      shorter) and ``L_prog`` the short-term loudness of the programme over the
      last 3 s (or since the start, if shorter); 0 dB otherwise.
    - Gain: ``g[n] = g[n-1] + clip(target - g[n-1], -fall_step_db, rise_step_db)``.

    Parameters
    ----------
    key_power : np.ndarray, shape=(n,), float32 or float64
        Band-limited key power per sample (:func:`frame_power` of the filtered key).
    plan, state : ActivityPlan, ActivityState
        From :func:`init_activity`; ``state`` is updated in place.
    key_loudness_power, programme_power : np.ndarray, shape=(n,), optional
        K-weighted power of the key and of the programme (sum over channels);
        required in loudness-aware mode.
    flags : np.ndarray, shape=(n,), int8, optional
        Receives the bits ``VOICED | CONFIRMED | ACTIVE`` of each sample.
    diagnostics : np.ndarray, shape=(4, n), float64, optional
        Receives ``e``, ``T``, the dialogue power and the programme power (zeros
        in fixed mode) of each sample.
    out : np.ndarray, shape=(n,), float64, optional
        Output buffer.

    Returns
    -------
    gain_db : np.ndarray, shape=(n,), float64

    Examples
    --------
    A 0.2 s burst in silence, fixed threshold, 20 ms hold:

    >>> plan, state = init_activity(sample_rate=1000, depth_db=6.0, attack_s=0.01, release_s=0.02,
    ...                             hold_s=0.02, min_speech_s=0.005, threshold_db=-20.0, below_lu=None)
    >>> p = np.zeros(300); p[50:250] = 0.1
    >>> g = duck_gain_db(p, plan, state)
    >>> float(g[49]), float(g[70]), float(g[260]), float(g[299])
    (0.0, -6.0, -6.0, 0.0)
    """
    key_power = np.ascontiguousarray(key_power)
    n = key_power.shape[0]
    if out is None:
        out = np.empty(n)
    loud = plan.window_samples > 0
    if loud and (key_loudness_power is None or programme_power is None):
        raise ValueError("loudness-aware ducking needs key_loudness_power and programme_power")
    empty = np.zeros(0)
    kl = np.ascontiguousarray(key_loudness_power) if loud else empty
    pp = np.ascontiguousarray(programme_power) if loud else empty
    fl = flags if flags is not None else np.zeros(0, np.int8)
    dg = diagnostics if diagnostics is not None else np.zeros((4, 0))
    if n:
        fs = plan.sample_rate
        _duck_kernel(
            key_power, kl, pp, out, fl, dg,
            plan.frame_samples, plan.min_speech_samples, plan.hold_samples, plan.window_samples,
            plan.threshold_power,
            10.0 ** (-AUTO_MARGIN_DB / 10.0), 10.0 ** (NOISE_MARGIN_DB / 10.0), 10.0 ** (FLOOR_DB / 10.0),
            math.exp(-1.0 / (SPEECH_AVERAGE_S * fs)), 10.0 ** (-SPEECH_DECAY_DB_PER_S / (10.0 * fs)),
            10.0 ** (NOISE_RISE_DB_PER_S / (10.0 * fs)),
            plan.depth_db, plan.fall_step_db, plan.rise_step_db, plan.below_lu,
            state.values, state.counts, state.frame_ring, state.key_ring, state.prog_ring,
        )  # fmt: skip
    return out


def activity_intervals(
    flags: NDArray[np.int8], *, min_speech_samples: int, sample_rate: int, offset_samples: int = 0
) -> list[tuple[float, float]]:
    """Dialogue intervals ``(start_s, end_s)`` from the per-sample flags of :func:`duck_gain_db`.

    Each maximal run of *active* samples gives one interval. It starts where
    the voiced run that first confirmed it began (``min_speech_samples - 1``
    samples before the confirmation) and ends after its last confirmed
    sample: pauses shorter than the hold are bridged, and the hold itself is
    not included.

    Parameters
    ----------
    flags : np.ndarray, shape=(n,), int8
        Flags of a whole signal.
    min_speech_samples : int
        As in the plan.
    sample_rate : int
        Sample rate in Hz.
    offset_samples : int, default 0
        Added to every sample index (e.g. the start of the block).

    Examples
    --------
    >>> f = np.array([0, 1, 1, 3, 7, 5, 4, 4, 0, 0], np.int8)
    >>> activity_intervals(f, min_speech_samples=3, sample_rate=10)
    [(0.2, 0.6)]
    """
    active = (np.asarray(flags) & ACTIVE) != 0
    if not active.any():
        return []
    edges = np.diff(active.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    confirmed = np.flatnonzero((np.asarray(flags) & CONFIRMED) != 0)
    out = []
    for a, b in zip(starts, stops, strict=True):
        lo, hi = np.searchsorted(confirmed, [a, b])
        if hi <= lo:  # pragma: no cover - an active run always begins with a confirmed sample
            continue
        first, last = int(confirmed[lo]), int(confirmed[hi - 1])
        start = max(0, first - min_speech_samples + 1) + offset_samples
        end = last + 1 + offset_samples
        out.append((start / sample_rate, end / sample_rate))
    return out


# --------------------------------------------------------------------------- compiled kernel


@numba.njit(cache=True, nogil=True)
def _duck_kernel(
    p, kl, pp, out, flags, diag,
    frame, min_run, hold, window,
    threshold, margin, noise_margin, floor, speech_pole, speech_decay, noise_rise,
    depth, fall_step, rise_step, below,
    values, counts, frame_ring, key_ring, prog_ring,
):  # fmt: skip  # pragma: no cover - compiled
    n = p.shape[0]
    write_flags = flags.shape[0] > 0
    write_diag = diag.shape[1] > 0
    loud = window > 0
    auto = threshold < 0.0
    below_factor = 10.0 ** (below / 10.0) if loud else 1.0
    inv_frame = 1.0 / frame
    silence = floor * 1e-3

    frame_sum = values[0]
    speech = values[1]
    noise = values[2]
    g = values[3]
    key_sum = values[4]
    prog_sum = values[5]
    fpos = counts[0]
    seen = counts[1]
    run = counts[2]
    hold_left = counts[3]
    wpos = counts[4]
    kpos = counts[5]
    key_fill = counts[6]

    for i in range(n):
        v = np.float64(p[i])
        frame_sum += v - frame_ring[fpos]
        frame_ring[fpos] = v
        fpos += 1
        if fpos == frame:
            fpos = 0
            # Sum the frame afresh once per frame: no rounding error builds up.
            t = 0.0
            for k in range(frame):
                t += frame_ring[k]
            frame_sum = t
        e = frame_sum * inv_frame if frame_sum > 0.0 else 0.0
        seen += 1

        if auto:
            thr = speech * margin
            tn = noise * noise_margin
            if tn > thr:
                thr = tn
            if thr < floor:
                thr = floor
        else:
            thr = threshold
        if seen >= frame and e >= silence:
            # Digital silence (and the first, partly filled frame) says nothing about the noise floor.
            noise *= noise_rise
            if e < noise:
                noise = e

        voiced = e >= thr and e > 0.0
        run = run + 1 if voiced else 0
        confirmed = run >= min_run
        if confirmed:
            hold_left = hold
            # Active speech level: the mean power of confirmed speech, over about SPEECH_AVERAGE_S.
            if speech > 0.0:
                speech = e + speech_pole * (speech - e)
            else:
                speech = e
            active = True
        elif hold_left > 0:
            hold_left -= 1
            active = True
        else:
            speech *= speech_decay
            active = False

        target = 0.0
        dx = 0.0
        prog = 0.0
        if loud:
            # The programme: the last `window` samples of wall-clock time.
            xv = np.float64(pp[i])
            prog_sum += xv - prog_ring[wpos]
            prog_ring[wpos] = xv
            wpos += 1
            if wpos == window:
                wpos = 0
                u = 0.0
                for k in range(window):
                    u += prog_ring[k]
                prog_sum = u
            # The dialogue: the last `window` samples of dialogue activity (inactive time skipped).
            if active:
                kv = np.float64(kl[i])
                key_sum += kv - key_ring[kpos]
                key_ring[kpos] = kv
                kpos += 1
                if key_fill < window:
                    key_fill += 1
                if kpos == window:
                    kpos = 0
                    u = 0.0
                    for k in range(window):
                        u += key_ring[k]
                    key_sum = u
            dx = key_sum / key_fill if key_fill > 0 and key_sum > 0.0 else 0.0
            span = seen if seen < window else window
            prog = prog_sum / span if prog_sum > 0.0 else 0.0
            if active and prog > 0.0 and dx > 0.0:
                # reduction r = L_prog - (L_dx - below), in dB, clipped to [0, depth]
                r = 10.0 * math.log10(prog * below_factor / dx)
                if r > depth:
                    r = depth
                if r > 0.0:
                    target = -r
        elif active:
            target = -depth

        d = target - g
        if d < -fall_step:
            d = -fall_step
        elif d > rise_step:
            d = rise_step
        g += d
        out[i] = g
        if write_flags:
            flags[i] = (1 if voiced else 0) | (2 if confirmed else 0) | (4 if active else 0)
        if write_diag:
            diag[0, i] = e
            diag[1, i] = thr
            diag[2, i] = dx
            diag[3, i] = prog

    values[0] = frame_sum
    values[1] = speech
    values[2] = noise
    values[3] = g
    values[4] = key_sum
    values[5] = prog_sum
    counts[0] = fpos
    counts[1] = seen
    counts[2] = run
    counts[3] = hold_left
    counts[4] = wpos
    counts[5] = kpos
    counts[6] = key_fill

"""Gain sharing across open microphones (Dugan's automixer), as array kernels.

Each microphone's gain is its share of the total level: with ``L_i`` the
smoothed level of mic ``i`` in dB and ``w_i`` its weight,

    share_i = w_i 10^(L_i/10) / sum_j w_j 10^(L_j/10),    gain_i = sqrt(share_i),

so the *power* gains sum to one: ``sum_i gain_i**2 = 1`` (0 dB total) at every
sample. A mic X dB quieter than the others gets X dB less gain; two equal
mics get -3 dB each, four -6 dB, eight -9 dB (the figures Dugan's manuals
give for a room with nobody talking), so the ambience the mics pick up
together stays constant. Nothing switches: the gains are continuous
functions of the levels, with no threshold and no gate.

The level detector is a one-pole attack/release smoother run on the
instantaneous power in dB (the log domain), so a gain in dB moves no faster
than a level in dB can: at most ``(level step) / attack_s``.

With ``last_hold``, the mic whose share (without the bias) has been above one
half (gain above -3 dB) for ``hold_samples``, with no other mic above one half
in between, becomes the *held* mic and gets a small bias,
``bias`` times the recent peak of the total level: negligible while anybody
talks, dominant when everybody is quiet, so in a pause the last talker stays
open instead of every mic settling at -10 log10(mics) dB. The bias moves from
mic to mic through a one-pole smoother and fades over long silences (the
recent peak decays), so the gains stay continuous and still sum to 0 dB.

Shapes are ``(mics, samples)`` with time last; the state is explicit arrays
updated in place, so a signal processed in blocks gives exactly the samples of
processing it whole. Everything is float64.

References
----------
D. Dugan, "Automatic microphone mixer", US patent 3,992,584 (1976): the gain
of each channel is the ratio of its level to the sum of all the levels, and
the total gain is constant. Dan Dugan Sound Design, *Model N User Guide*
(2015), ch. 2 (Speech System), ch. 5 (weights; ambience at -6 dB for four and
-9 dB for eight mics), ch. 7 (last hold: a mic above -3 dB for 0.5 s).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = ["DETECTOR_FLOOR_DB", "AutomixState", "init_automix_state", "mic_power", "share_gains"]

#: Levels below -120 dB re full scale count as -120 dB: digital silence gives a finite level, and a
#: mic starting to talk rises from there (which bounds how fast the gains move at an onset).
DETECTOR_FLOOR_DB = -120.0
_FLOOR_POWER = 10.0 ** (DETECTOR_FLOOR_DB / 10.0)


class AutomixState(NamedTuple):
    """Stream state of :func:`share_gains`; every array is updated in place.

    Attributes
    ----------
    level_db : np.ndarray, shape=(mics,), float64
        Smoothed level of each mic in dB.
    counts : np.ndarray, shape=(mics,), int64
        Samples each mic's share has been above one half since another's was (last hold).
    held : np.ndarray, shape=(1,), int64
        Index of the held mic, -1 before any mic has qualified.
    hold : np.ndarray, shape=(mics,), float64
        Where the hold bias goes: zeros until a mic is held, then it moves to the held mic
        smoothly (and sums to 1 once there).
    memory : np.ndarray, shape=(1,), float64
        Recent peak of the total weighted power, which scales the bias.
    """

    level_db: NDArray[np.float64]
    counts: NDArray[np.int64]
    held: NDArray[np.int64]
    hold: NDArray[np.float64]
    memory: NDArray[np.float64]


def init_automix_state(mics: int) -> AutomixState:
    """State before the first sample: every level at the floor, no mic held, no bias.

    Examples
    --------
    >>> init_automix_state(2).level_db
    array([-120., -120.])
    """
    return AutomixState(
        level_db=np.full(mics, DETECTOR_FLOOR_DB),
        counts=np.zeros(mics, np.int64),
        held=np.full(1, -1, np.int64),
        hold=np.zeros(mics),
        memory=np.zeros(1),
    )


def mic_power(x: NDArray[np.floating], *, out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Instantaneous power of one mic's signal, the mean of ``x**2`` over its channels (float64).

    Parameters
    ----------
    x : np.ndarray, shape=(channels, samples)
    out : np.ndarray, shape=(samples,), float64, optional

    Examples
    --------
    >>> mic_power(np.array([[1.0, 0.5], [0.0, 0.5]]))
    array([0.5 , 0.25])
    """
    x64 = np.asarray(x, np.float64)
    if out is None:
        out = np.empty(x64.shape[1])
    np.einsum("cn,cn->n", x64, x64, out=out)
    out /= x64.shape[0]
    return out


def share_gains(
    power: NDArray[np.float64],
    *,
    weights: NDArray[np.float64],
    fall: float,
    rise: float,
    state: AutomixState,
    last_hold: bool = False,
    hold_samples: int = 0,
    bias: float = 0.0,
    memory_pole: float = 0.0,
    hold_pole: float = 0.0,
    out: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Power gains of gain-sharing mics: each mic's share of the total level.

    Parameters
    ----------
    power : np.ndarray, shape=(mics, samples), float64, C-contiguous
        Instantaneous power of each mic (:func:`mic_power`).
    weights : np.ndarray, shape=(mics,), float64
        Linear power weight of each mic (1 = neutral; 2 gives a mic 3 dB more say).
    fall, rise : float
        Poles of the level smoother (``sonicmix.dsp.envelope.one_pole_coefficient``)
        used while the level falls (release) and rises (attack).
    state : AutomixState
        From :func:`init_automix_state`; updated in place.
    last_hold : bool, default False
        Keep the last talker open in pauses (see the module documentation).
    hold_samples : int
        Samples a mic's share (without the bias) must be above one half, with no
        other mic's above one half in between, to become the held mic.
    bias : float
        Power of the hold bias relative to the recent peak of the total (e.g. 1e-3, -30 dB).
    memory_pole, hold_pole : float
        Poles of the recent-peak decay and of the bias's move to a new held mic.
    out : np.ndarray, shape=(mics, samples), float64, optional
        May be ``power`` itself.

    Returns
    -------
    shares : np.ndarray, shape=(mics, samples), float64
        Power gain of each mic; every column sums to 1. The amplitude gains
        are ``np.sqrt(shares)``.

    Examples
    --------
    A mic 10 dB quieter than the other gets about 10 dB less gain, and the
    blocks of a stream give the samples of the whole:

    >>> power = np.vstack([np.full(4800, 1e-2), np.full(4800, 1e-3)])
    >>> state = init_automix_state(2)
    >>> shares = share_gains(power, weights=np.ones(2), fall=0.99, rise=0.9, state=state)
    >>> (10 * np.log10(shares[:, -1])).round(2), float(shares[:, -1].sum())
    (array([ -0.41, -10.41]), 1.0)
    >>> state = init_automix_state(2)
    >>> first = share_gains(power[:, :100], weights=np.ones(2), fall=0.99, rise=0.9, state=state)
    >>> rest = share_gains(power[:, 100:], weights=np.ones(2), fall=0.99, rise=0.9, state=state)
    >>> bool(np.array_equal(np.hstack([first, rest]), shares))
    True
    """
    power = np.ascontiguousarray(power, np.float64)
    if out is None:
        out = np.empty_like(power)
    if not (power.shape[1] and power.shape[0]):
        return out
    # Only the smoothing and the hold are sequential: the logarithms, the powers and the plain
    # sharing run as whole-array numpy operations (SIMD), several times faster than per sample.
    level_db = np.add(power, _FLOOR_POWER)
    np.log10(level_db, out=level_db)
    level_db *= 10.0
    _smooth_level_kernel(level_db, float(fall), float(rise), state.level_db)
    weighted = level_db  # in place: the weighted power of each mic, w_i 10^(L_i / 10)
    weighted *= math.log(10.0) / 10.0
    np.exp(weighted, out=weighted)
    weighted *= np.asarray(weights, np.float64)[:, np.newaxis]
    if last_hold:
        _hold_kernel(
            weighted,
            int(hold_samples),
            float(bias),
            float(memory_pole),
            float(hold_pole),
            state.counts,
            state.held,
            state.hold,
            state.memory,
            out,
        )
    else:
        np.divide(weighted, weighted.sum(axis=0), out=out)
    return out


@numba.njit(cache=True, nogil=True)
def _smooth_level_kernel(level_db, fall, rise, state):  # pragma: no cover - compiled
    # one-pole attack/release in dB, in place: the instantaneous level becomes the smoothed one
    mics, n = level_db.shape
    for i in range(mics):
        y = state[i]
        for t in range(n):
            u = level_db[i, t]
            a = rise if u > y else fall
            y = a * y + (1.0 - a) * u
            level_db[i, t] = y
        state[i] = y


@numba.njit(cache=True, nogil=True)
def _hold_kernel(
    weighted, hold_samples, bias, memory_pole, hold_pole, counts, held, hold, memory, out
):  # pragma: no cover - compiled
    mics, n = weighted.shape
    for t in range(n):
        total = 0.0
        for i in range(mics):
            total += weighted[i, t]
        decayed = memory_pole * memory[0]
        memory[0] = total if total > decayed else decayed
        b = bias * memory[0]
        placed = 0.0  # how much of the bias is placed (0 before the first held mic, then 1)
        for i in range(mics):
            placed += hold[i]
        denominator = total + b * placed
        for i in range(mics):
            out[i, t] = (weighted[i, t] + b * hold[i]) / denominator
            # Dugan's last-hold criterion, a mic above -3 dB (more than half the power) for a
            # while, judged on the shares without the bias (which would keep the held mic on top
            # in the new talker's word gaps). The time counts across gaps in which nobody is
            # above -3 dB, and restarts when another mic is; equal shares (one half each for two
            # mics in silence) never qualify.
            if weighted[i, t] > 0.5 * total:
                counts[i] += 1
                if counts[i] >= hold_samples:
                    held[0] = i
                for j in range(mics):
                    if j != i:
                        counts[j] = 0
        k = held[0]
        for i in range(mics):
            target = 1.0 if i == k else 0.0
            hold[i] = hold_pole * hold[i] + (1.0 - hold_pole) * target

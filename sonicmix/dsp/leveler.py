"""The gain computer of a speech-aware leveler, over 10 ms frames, as a streaming kernel.

Input: per analysis frame, the K-weighted power of the audio (summed over
channels, BS.1770) and whether the frame is speech. Output: one gain in dB per
frame. The loudness the gain aims at is the power mean of the speech frames in
a window around the frame, ``behind`` frames back and ``ahead`` frames forward
(the leveler's lookahead): short-term loudness (BS.1771 uses 3 s) gated by
speech. The gain moves towards ``target - loudness`` (within the boost and cut
limits) with a one-pole time constant, and only while speech is at hand (in the
frame or within the ``anticipate`` frames ahead); in pauses it holds, so noise,
breaths and room tone are never pumped up. The first estimate sets the gain
directly, so a programme does not fade in from 0 dB.

The kernel keeps all it needs in :class:`LevelerState` (a ring of the window's
frames and running sums), so frames processed in any grouping give the same
gains. Running sums are kept in float64; they are recomputed from the ring
every ``_RESUM`` frames so that adding and removing for hours cannot drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = ["LevelerState", "leveler_state", "leveler_gains"]

# Recompute the running sums from the ring every this many frames (float64 add/remove drift).
_RESUM = 4096
_NO_GAIN = 1e300  # marks "no estimate yet" in the gain slot


@dataclass
class LevelerState:
    """Ring of the window's frames ``(power * speech, speech)``, running sums, and the gain.

    ``values`` holds ``[sum_power, sum_count, gain_db, frames_seen]``; ``ring`` is
    ``(behind + 1 + ahead, 2)``, indexed by frame number modulo its length.
    """

    ring: NDArray[np.float64]
    values: NDArray[np.float64]


def leveler_state(behind: int, ahead: int) -> LevelerState:
    """A fresh state for a window of ``behind + 1 + ahead`` frames."""
    return LevelerState(np.zeros((behind + 1 + ahead, 2)), np.array([0.0, 0.0, _NO_GAIN, 0.0]))


def leveler_gains(
    power: NDArray[np.float64],
    speech: NDArray[np.bool_],
    state: LevelerState,
    *,
    ahead: int,
    anticipate: int,
    target_db: float,
    max_boost_db: float,
    max_cut_db: float,
    alpha: float,
    min_speech: int,
) -> NDArray[np.float64]:
    """Gains in dB for the frames whose window ends at each new frame.

    ``power[i]`` and ``speech[i]`` are the frames entering the window's front;
    the gain returned for each is that of the frame ``ahead`` frames before it
    (the window's centre of attention). ``target_db`` is in the units of
    ``10 log10(power) - 0.691`` (LUFS for K-weighted power). ``alpha`` is the
    one-pole step per frame; the estimate needs ``min_speech`` speech frames in
    the window. Until the first estimate the gain is 0 dB.
    """
    out = np.empty(power.size)
    _kernel(
        np.ascontiguousarray(power, np.float64),
        np.ascontiguousarray(speech, np.bool_),
        state.ring,
        state.values,
        ahead,
        anticipate,
        target_db,
        max_boost_db,
        max_cut_db,
        alpha,
        min_speech,
        out,
    )
    return out


@numba.njit(cache=True, nogil=True)
def _kernel(  # pragma: no cover - compiled
    power, speech, ring, values, ahead, anticipate, target_db, boost, cut, alpha, min_speech, out
):
    size = ring.shape[0]
    sum_p, sum_n, gain, seen = values[0], values[1], values[2], values[3]
    for i in range(power.size):
        pos = int(seen) % size
        # the frame leaving the window's back makes room for the one entering its front
        sum_p -= ring[pos, 0]
        sum_n -= ring[pos, 1]
        flag = 1.0 if speech[i] else 0.0
        ring[pos, 0] = power[i] * flag
        ring[pos, 1] = flag
        sum_p += ring[pos, 0]
        sum_n += flag
        seen += 1.0
        if int(seen) % _RESUM == 0:  # recompute the sums from the ring: no drift over hours
            sum_p = 0.0
            sum_n = 0.0
            for j in range(size):
                sum_p += ring[j, 0]
                sum_n += ring[j, 1]
        # the centre frame sits `ahead` frames behind the front; speech in it or in the
        # `anticipate` frames after it lets the gain move
        centre = (pos - ahead + size) % size
        active = False
        for j in range(anticipate + 1):
            if ring[(centre + j) % size, 1] > 0.0:
                active = True
                break
        if sum_n >= min_speech and sum_p > 0.0 and seen > ahead:
            loudness = 10.0 * math.log10(sum_p / sum_n) - 0.691
            want = min(boost, max(-cut, target_db - loudness))
            if gain == _NO_GAIN:
                gain = want
            elif active:
                gain += alpha * (want - gain)
        out[i] = 0.0 if gain == _NO_GAIN else gain
    values[0], values[1], values[2], values[3] = sum_p, sum_n, gain, seen

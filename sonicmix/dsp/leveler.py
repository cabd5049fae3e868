"""The gain computer of a speech-aware leveler, over 10 ms frames, as a streaming kernel.

Input: per analysis frame, the K-weighted power of the audio (summed over
channels, BS.1770) and whether the frame is speech. Output: one gain in dB per
frame. The loudness the gain aims at is measured as BS.1770 measures a
programme, on 400 ms blocks every 100 ms, over the blocks that lie in a window
``behind`` frames back and ``ahead`` frames forward of the frame (the
leveler's lookahead): a block counts when at least half of its frames are
speech, and of those the blocks above -70 LUFS and above the relative gate
(-10 LU under their power mean) are averaged. That is the speech-gated
loudness of clip loudness and dialogue-gated measurement
(:mod:`sonicmix.speech.gating`), over a short window (BS.1771's short-term
loudness uses 3 s).

Why blocks and not the speech frames themselves: on quiet or noisy speech a
detector keeps the louder frames and misses weaker syllables, and the power
mean of the frames it keeps is higher than the line's loudness by about
``10 log10(1 / share kept)`` (3 dB when half are kept). A block holds
the weak frames between the strong ones, as BS.1770's blocks do, so the
measure depends much less on how many frames the detector kept.

The gain moves towards ``target - loudness`` (within the boost and cut
limits) with a one-pole time constant, and only while speech is at hand (in
the frame or within the ``anticipate`` frames ahead); in pauses it holds, so
noise, breaths and room tone are never pumped up. After a long pause (a new
line) it first moves faster for a while, so that a line does not start at
the gain of the line before. The first estimate sets the gain directly, so a
programme does not fade in from 0 dB.

The kernel keeps all it needs in :class:`LevelerState` (a ring of the
window's frames and one of its blocks), and every sum runs over frames or
blocks in the order of their numbers, so frames processed in any grouping give
the same gains, bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = ["LevelerState", "leveler_state", "leveler_gains", "ABSOLUTE_GATE_DB", "RELATIVE_GATE_DB"]

#: BS.1770's gates over the window's speech blocks, in the units of ``target_db`` (LUFS, LU).
ABSOLUTE_GATE_DB = -70.0
RELATIVE_GATE_DB = -10.0
_NO_GAIN = 1e300  # marks "no estimate yet" in the gain slot
_NO_LOUDNESS = -1e300  # marks "no speech block in the window" in the loudness slot


@dataclass
class LevelerState:
    """Rings of the window's frames and blocks, the current loudness and the gain.

    ``frames`` is ``(length, 2)``: ``(power, speech)`` of frame ``t`` at row
    ``t % length``; ``blocks`` is ``(count, 3)``: ``(block number, mean power,
    speech)`` of block ``b`` (frames ``b * step`` to ``b * step + block - 1``)
    at row ``b % count``, number -1 when empty. ``values`` holds
    ``[gain_db, frames_seen, loudness_db, idle]``: ``idle`` counts the frames
    since the gain last could move, or up from ``-onset`` through a new line's onset.
    """

    frames: NDArray[np.float64]
    blocks: NDArray[np.float64]
    values: NDArray[np.float64]


def leveler_state(behind: int, ahead: int, *, block: int, step: int) -> LevelerState:
    """A fresh state for a window of ``behind + 1 + ahead`` frames and blocks of ``block`` frames
    every ``step`` frames."""
    window = behind + 1 + ahead
    blocks = np.zeros((max(1, (window - block) // step + 1), 3))
    blocks[:, 0] = -1.0
    return LevelerState(np.zeros((max(window, block), 2)), blocks,
                        np.array([_NO_GAIN, 0.0, _NO_LOUDNESS, 0.0]))


def leveler_gains(
    power: NDArray[np.float64],
    speech: NDArray[np.bool_],
    state: LevelerState,
    *,
    window: int,
    ahead: int,
    block: int,
    step: int,
    anticipate: int,
    target_db: float,
    max_boost_db: float,
    max_cut_db: float,
    alpha: float,
    onset_alpha: float,
    onset: int,
    onset_pause: int,
) -> NDArray[np.float64]:
    """Gains in dB for the frames whose window ends at each new frame.

    ``power[i]`` and ``speech[i]`` are the frames entering the window's front
    (``window`` frames long, as given to :func:`leveler_state`); the gain
    returned for each is that of the frame ``ahead`` frames before it.
    ``target_db`` is in the units of ``10 log10(power) - 0.691`` (LUFS for
    K-weighted power). ``alpha`` is the one-pole step per frame, and
    ``onset_alpha`` the step over the first ``onset`` frames of movement after
    at least ``onset_pause`` frames without it (a new line). Until the window
    holds a speech block above the gates the gain is 0 dB.

    Examples
    --------
    Steady speech at -30.691 LUFS, a 3 s window with 2 s ahead, aiming at -20:

    >>> state = leveler_state(99, 200, block=40, step=10)
    >>> gains = leveler_gains(np.full(400, 1e-3), np.ones(400, bool), state, window=300, ahead=200,
    ...                       block=40, step=10, anticipate=30, target_db=-20.0, max_boost_db=12.0,
    ...                       max_cut_db=12.0, alpha=0.03, onset_alpha=0.1, onset=50, onset_pause=100)
    >>> float(gains[199]), round(float(gains[-1]), 3)   # no frame to apply a gain to yet; then +10.691
    (0.0, 10.691)
    """
    out = np.empty(power.size)
    _kernel(
        np.ascontiguousarray(power, np.float64),
        np.ascontiguousarray(speech, np.bool_),
        state.frames,
        state.blocks,
        state.values,
        window,
        ahead,
        block,
        step,
        anticipate,
        target_db,
        max_boost_db,
        max_cut_db,
        alpha,
        onset_alpha,
        onset,
        onset_pause,
        out,
    )
    return out


@numba.njit(cache=True, nogil=True)
def _loudness(blocks, first, last):  # pragma: no cover - compiled
    """BS.1770-gated loudness of the speech blocks numbered ``first..last`` in the ring, or _NO_LOUDNESS."""
    count = blocks.shape[0]
    absolute = 10.0 ** ((ABSOLUTE_GATE_DB + 0.691) / 10.0)
    total, n = 0.0, 0
    for b in range(first, last + 1):  # by block number: the same sums whatever the grouping
        row = b % count
        if blocks[row, 0] == b and blocks[row, 2] > 0.0 and blocks[row, 1] > absolute:
            total += blocks[row, 1]
            n += 1
    if n == 0:
        return _NO_LOUDNESS
    relative = total / n * 10.0 ** (RELATIVE_GATE_DB / 10.0)
    total, n = 0.0, 0
    for b in range(first, last + 1):
        row = b % count
        if blocks[row, 0] == b and blocks[row, 2] > 0.0 and blocks[row, 1] > max(absolute, relative):
            total += blocks[row, 1]
            n += 1
    return 10.0 * math.log10(total / n) - 0.691


@numba.njit(cache=True, nogil=True)
def _kernel(  # pragma: no cover - compiled
    power, speech, frames, blocks, values, window, ahead, block, step, anticipate, target_db, boost, cut,
    alpha, onset_alpha, onset, onset_pause, out,
):  # fmt: skip
    size = frames.shape[0]
    gain, seen, loudness, idle = values[0], int(values[1]), values[2], values[3]
    for i in range(power.size):
        k = seen  # the number of the frame entering the window's front
        seen += 1
        pos = k % size
        frames[pos, 0] = power[i]
        frames[pos, 1] = 1.0 if speech[i] else 0.0
        changed = False
        start = k - block + 1  # a block that ends with this frame
        if start >= 0 and start % step == 0:
            p, s = 0.0, 0.0
            for j in range(start, k + 1):
                p += frames[j % size, 0]
                s += frames[j % size, 1]
            b = start // step
            row = b % blocks.shape[0]
            blocks[row, 0] = b
            blocks[row, 1] = p / block
            blocks[row, 2] = 1.0 if 2.0 * s >= block else 0.0  # at least half of it speech
            changed = True
        back = k - window + 1  # the window's first frame: blocks starting before it have left
        if back >= 1 and (back - 1) % step == 0:
            changed = True
        if changed and start >= 0:
            first = -(-max(back, 0) // step)
            last = start // step
            loudness = _loudness(blocks, first, last) if last >= first else _NO_LOUDNESS
        # the centre frame sits `ahead` frames behind the front; speech in it or in the
        # `anticipate` frames after it lets the gain move
        centre = k - ahead
        active = False
        if centre >= 0:
            for j in range(centre, centre + anticipate + 1):
                if frames[j % size, 1] > 0.0:
                    active = True
                    break
        if active:
            if idle >= onset_pause:  # a new line: move faster for its first `onset` frames
                idle = -float(onset)
            elif idle < 0.0:
                idle += 1.0
        else:
            idle = max(idle, 0.0) + 1.0
        if loudness != _NO_LOUDNESS and centre >= 0:
            want = min(boost, max(-cut, target_db - loudness))
            if gain == _NO_GAIN:
                gain = want
            elif active:
                gain += (onset_alpha if idle < 0.0 else alpha) * (want - gain)
        out[i] = 0.0 if gain == _NO_GAIN else gain
    values[0], values[1], values[2], values[3] = gain, float(seen), loudness, idle

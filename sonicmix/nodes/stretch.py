"""Offline time stretching and pitch shifting (phase vocoder, via librosa).

These nodes are **offline**: a phase vocoder reads a window of STFT frames
around each output frame, and librosa's implementation needs the whole
signal at once. Call them one-shot, ``node(audio, sample_rate)``, on a whole
programme. Streaming is refused: ``init_state`` and ``process`` raise
SonicmixError, and the class attribute ``offline`` is True so that graphs
and renderers can tell before they start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix._typing import Audio
from sonicmix.errors import SonicmixError
from sonicmix.nodes.base import Node

__all__ = ["TimeStretch", "PitchShift"]


class _OfflineNode(Node):
    """Shared refusal to stream, and the one-shot entry point."""

    __slots__ = ()

    #: True: the node needs the whole programme and cannot stream.
    offline: ClassVar[bool] = True

    def _refuse(self) -> SonicmixError:
        return SonicmixError(
            f"{type(self).__name__} is an offline node and cannot stream: it needs the whole programme at "
            f"once; call {type(self).__name__}(...)(audio, sample_rate) on the complete audio instead"
        )

    def init_state(self, channels: int, sample_rate: int, dtype: Any = np.float32) -> Any:
        raise self._refuse()

    def process(
        self, x: Audio, sample_rate: int, state: Any, *, key: Audio | None = None
    ) -> tuple[Audio, Any]:
        raise self._refuse()

    def _render(self, x: np.ndarray, sample_rate: int) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def __call__(self, audio: Audio, sample_rate: int, *, key: Audio | None = None) -> Audio:
        x = check_audio(audio, "audio", min_samples=0)
        rate = check_sample_rate(sample_rate)
        self._check_key(x, key)
        n_out = self.output_samples(x.shape[1], rate)
        if x.shape[1] == 0:
            return np.zeros((x.shape[0], n_out), x.dtype)
        y = self._render(x, rate)
        return np.ascontiguousarray(y, dtype=x.dtype)

    def output_samples(self, samples: int, sample_rate: int) -> int:
        """Length of the output for ``samples`` input samples."""
        return samples


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeStretch(_OfflineNode):
    """Change the duration without changing the pitch (offline).

    A phase vocoder (``librosa.effects.time_stretch``: STFT with 2048-sample
    frames and 512-sample hops, phase-vocoder interpolation, inverse STFT).
    ``n`` input samples give ``output_samples(n, sample_rate) = round(n /
    rate)`` output samples. Transients smear, as with any plain phase
    vocoder.

    Offline only: see the module notes; ``init_state`` and ``process`` raise
    SonicmixError.

    Parameters
    ----------
    rate : float, default 1.0
        Speed factor (not a sample rate): 2.0 plays twice as fast (half the
        duration), 0.5 half as fast. 0.25 to 4; 1.0 passes the audio unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 48000), dtype=np.float32)
    >>> TimeStretch(rate=2.0)(x, 48000).shape
    (2, 24000)
    """

    rate: float = 1.0

    def __post_init__(self) -> None:
        check_range(
            "rate",
            self.rate,
            low=0.25,
            high=4.0,
            hint="rate is a speed factor (2.0 = twice as fast), not a sample rate",
        )

    def output_samples(self, samples: int, sample_rate: int) -> int:
        return int(round(samples / self.rate))

    def _render(self, x: np.ndarray, sample_rate: int) -> np.ndarray:
        if self.rate == 1.0:
            return x.copy()
        import librosa

        return librosa.effects.time_stretch(x, rate=float(self.rate))


@dataclass(frozen=True, slots=True, kw_only=True)
class PitchShift(_OfflineNode):
    """Shift the pitch without changing the duration (offline).

    ``librosa.effects.pitch_shift``: a phase-vocoder time stretch by
    ``2 ** (-semitones / 12)`` followed by resampling (soxr, high quality)
    back to the original duration. The output has as many samples as the
    input. Formant structure moves with the pitch.

    Offline only: see the module notes; ``init_state`` and ``process`` raise
    SonicmixError.

    Parameters
    ----------
    semitones : float, default 0.0
        Pitch change in equal-tempered semitones, -24 to 24 (12 is an
        octave up; fractions are allowed: 0.5 is a quarter tone). 0 passes
        the audio unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 4800), dtype=np.float32)
    >>> PitchShift(semitones=-12.0)(x, 48000).shape
    (1, 4800)
    """

    semitones: float = 0.0

    def __post_init__(self) -> None:
        check_range("semitones", self.semitones, low=-24.0, high=24.0, hint="12 semitones is one octave")

    def _render(self, x: np.ndarray, sample_rate: int) -> np.ndarray:
        if self.semitones == 0.0:
            return x.copy()
        import librosa

        return librosa.effects.pitch_shift(x, sr=sample_rate, n_steps=float(self.semitones))

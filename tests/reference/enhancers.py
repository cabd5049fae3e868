"""Other noise reducers, as oracles and figures to beat: RNNoise (pyrnnoise) and noisereduce.

Both take and return float64 ``(1, samples)`` mono at ``sample_rate``, aligned with the
input (each one's delay removed), so that SI-SDR against the clean speech is fair.
They need the ``test``/``bench`` extras (``pyrnnoise``, ``noisereduce``).
"""

from __future__ import annotations

import ctypes

import numpy as np

#: RNNoise (0.2, as pyrnnoise 0.4 ships it) delays its output by two 10 ms frames at 48 kHz.
RNNOISE_DELAY_48K = 960


def rnnoise(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """RNNoise (Valin 2018) through pyrnnoise's ctypes binding, frame by frame at 48 kHz.

    The input is resampled to 48 kHz (soxr) if needed, scaled to 16-bit range as RNNoise
    expects, and the output is taken :data:`RNNOISE_DELAY_48K` samples later (found by
    maximising SI-SDR against clean speech; the peak is within one sample of it).
    """
    import soxr
    from pyrnnoise.rnnoise import FRAME_SIZE, create, destroy, lib

    mono = x[0] if sample_rate == 48000 else soxr.resample(x[0], sample_rate, 48000)
    n = mono.size
    frames = -(-(n + RNNOISE_DELAY_48K) // FRAME_SIZE)
    buf = np.zeros(frames * FRAME_SIZE, np.float32)
    buf[:n] = mono * 32768.0
    state = create()
    try:
        for i in range(frames):
            frame = np.ascontiguousarray(buf[i * FRAME_SIZE : (i + 1) * FRAME_SIZE])
            pointer = frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            lib.rnnoise_process_frame(state, pointer, pointer)
            buf[i * FRAME_SIZE : (i + 1) * FRAME_SIZE] = frame
    finally:
        destroy(state)
    out = buf[RNNOISE_DELAY_48K : RNNOISE_DELAY_48K + n].astype(np.float64) / 32768.0
    if sample_rate != 48000:
        out = soxr.resample(out, 48000, sample_rate)[: x.shape[1]]
    return out[np.newaxis]


def noisereduce(x: np.ndarray, sample_rate: int, **options) -> np.ndarray:
    """noisereduce's spectral gating, in its default non-stationary mode (no delay)."""
    import noisereduce as nr

    return np.asarray(nr.reduce_noise(y=x[0], sr=sample_rate, **options), np.float64)[np.newaxis]

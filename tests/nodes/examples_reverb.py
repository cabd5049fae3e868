"""Reverb examples for the shared node contract (tests/nodes/test_contract.py)."""

from __future__ import annotations

import numpy as np

from sonicmix.nodes.reverb import ConvolutionReverb, Reverb


def _decaying_noise(seed: int, channels: int, taps: int, dtype=np.float64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    envelope = np.exp(-np.arange(taps) / (taps / 6.0))
    return (0.3 * rng.standard_normal((channels, taps)) * envelope).astype(dtype)


EXAMPLES = [
    # Several partitions (700 taps, 64-sample partitions): the frequency-domain delay line at work.
    (ConvolutionReverb(impulse_response=_decaying_noise(1, 1, 700, np.float32), partition_samples=64), None),
    # Automatic partition, pre-delay, half wet.
    (ConvolutionReverb(impulse_response=_decaying_noise(2, 1, 3000), pre_delay_s=0.01, mix=0.5), None),
    # Extremes: a one-tap response, dry only, the longest pre-delay.
    (ConvolutionReverb(impulse_response=np.array([[1.0]]), mix=0.0, pre_delay_s=1.0), None),
    # A response at another rate, resampled on init_state.
    (ConvolutionReverb(impulse_response=_decaying_noise(3, 1, 441), ir_sample_rate=44100, mix=0.7), None),
    (Reverb(), None),
    (Reverb(decay_s=0.1, diffusion=0.0, width=0.0, mix=1.0, early_db=-120.0, pre_delay_s=1.0), None),
    (
        Reverb(
            decay_s=3.0,
            decay_low_s=6.0,
            decay_high_s=0.5,
            crossover_low_hz=20.0,
            crossover_high_hz=20000.0,
            damping_hz=20.0,
            diffusion=0.9,
            early_db=12.0,
            mix=1.0,
        ),
        None,
    ),
    (Reverb(decay_s=60.0, decay_low_s=0.1, decay_high_s=60.0, damping_hz=100000.0, mix=0.0), None),
]

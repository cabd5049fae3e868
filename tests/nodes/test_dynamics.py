"""Behaviour of Compressor, KeyedCompressor, Gate and DeEsser against independent references.

References: the textbook static curve (Giannoulis, Massberg & Reiss, JAES 2012, eq. 4, written out
below), the one-pole step response (1 - 1/e after one time constant), scipy's Butterworth design for
the key filter, pedalboard.Compressor for the hard-knee static curve, and FFT bin levels.
Streamed == whole, dtypes and the other generic properties are in test_contract.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sonicmix.errors import AudioError, ParameterError
from sonicmix.nodes.dynamics import Compressor, DeEsser, Gate, KeyedCompressor
from sonicmix.units import seconds_to_samples

RATE = 48000
E63 = 1 - math.exp(-1)  # fraction of a step covered after one time constant


def textbook_gain_db(x: float, t: float, r: float, w: float) -> float:
    """Giannoulis et al. eq. 4, output level minus input level."""
    if 2 * (x - t) < -w:
        return 0.0
    if w > 0 and 2 * abs(x - t) <= w:
        return (1 / r - 1) * (x - t + w / 2) ** 2 / (2 * w)
    return t + (x - t) / r - x


def tone(level_db: float, seconds: float, freq_hz: float = 1000.0, channels: int = 1) -> np.ndarray:
    """A sine whose peak is level_db dBFS (1 kHz at 48 kHz: a sample lands on every peak)."""
    t = np.arange(int(seconds * RATE)) / RATE
    x = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq_hz * t)
    return np.tile(x, (channels, 1)).astype(np.float32)


def db(a) -> np.ndarray:
    return 20 * np.log10(np.asarray(a, np.float64))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# --------------------------------------------------------------------------- compressor: static curve

T, R, W = -20.0, 4.0, 10.0
# Input levels across the curve, five of them inside the knee (-25 .. -15 dB).
LEVELS = [-40.0, -26.0, -24.0, -22.0, -20.0, -18.0, -16.0, -14.0, -10.0, -3.0, 0.0]


@pytest.mark.parametrize("level", LEVELS)
def test_peak_compressor_follows_the_static_curve_on_a_steady_tone(level):
    # Instant attack: each peak of the tone sets the gain to the curve's value for the peak level,
    # and a 1 s release lets it recover by at most 0.1 % of the reduction between peaks.
    comp = Compressor(threshold_db=T, ratio=R, knee_db=W, attack_s=0.0, release_s=1.0)
    x = tone(level, 0.5)
    y = comp(x, RATE)
    measured = db(np.abs(y[0, RATE // 4 :]).max()) - db(np.abs(x[0, RATE // 4 :]).max())
    assert measured == pytest.approx(textbook_gain_db(level, T, R, W), abs=0.1)  # the brief's 0.1 dB


@pytest.mark.parametrize("level", LEVELS)
def test_rms_compressor_follows_the_static_curve_at_the_rms_level(level):
    # A 10 ms window holds 10 whole periods, so the RMS level is steady at peak - 3.01 dB.
    comp = Compressor(threshold_db=T, ratio=R, knee_db=W, attack_s=0.005, release_s=0.05,
                      detector="rms", rms_s=0.01)  # fmt: skip
    x = tone(level, 0.5)
    y = comp(x, RATE)
    tail = slice(RATE // 4, None)
    measured = db(rms(y[0, tail])) - db(rms(x[0, tail]))
    rms_level = level + 10 * math.log10(0.5)
    assert measured == pytest.approx(textbook_gain_db(rms_level, T, R, W), abs=0.1)


@pytest.mark.parametrize("level", [-30.0, -20.0, -12.0, -6.0, 0.0])
def test_hard_knee_static_gain_agrees_with_pedalboard(level):
    pedalboard = pytest.importorskip("pedalboard")
    x = np.full((1, RATE // 2), 10 ** (level / 20), np.float32)  # DC: every detector reads the level
    theirs = pedalboard.Compressor(threshold_db=-20, ratio=4, attack_ms=5, release_ms=100)(x, RATE)
    ours = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.005, release_s=0.1)(x, RATE)
    # JUCE's compressor settles to (level / threshold) ** (1/ratio - 1) on a steady level.
    assert db(ours[0, -1] / x[0, -1]) == pytest.approx(db(theirs[0, -1] / x[0, -1]), abs=0.1)


def test_makeup_gain_is_added():
    x = tone(-40.0, 0.1)  # below the threshold: only the makeup applies
    y = Compressor(threshold_db=-20.0, makeup_db=6.0)(x, RATE)
    np.testing.assert_allclose(y, x * 10 ** (6 / 20), rtol=1e-6)  # float32 rounding


# --------------------------------------------------------------------------- compressor: ballistics


def _step(low_db: float, high_db: float, n_low: int, n_high: int, n_after: int) -> np.ndarray:
    parts = [np.full(n_low, 10 ** (low_db / 20)), np.full(n_high, 10 ** (high_db / 20)),
             np.full(n_after, 10 ** (low_db / 20))]  # fmt: skip
    return np.concatenate(parts)[np.newaxis].astype(np.float32)


@pytest.mark.parametrize(("attack_s", "release_s"), [(0.005, 0.1), (0.02, 0.5)])
def test_attack_and_release_are_one_pole_time_constants_in_db(attack_s, release_s):
    # A DC step from -40 dB (no reduction) to 0 dB (15 dB of reduction) and back.
    n0, n1 = 4800, 4 * RATE
    x = _step(-40.0, 0.0, n0, n1, 2 * RATE)
    comp = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=attack_s, release_s=release_s)
    gain = db(comp(x, RATE)[0] / x[0])
    k_a, k_r = seconds_to_samples(attack_s, RATE), seconds_to_samples(release_s, RATE)
    # k samples after the step (the step's sample counted), 1 - 1/e of the 15 dB change is covered.
    # 1e-3 dB: float32 rounding of the output.
    assert gain[n0 - 1] == pytest.approx(0.0, abs=1e-5)
    assert gain[n0 + k_a - 1] == pytest.approx(-15.0 * E63, abs=1e-3)
    assert gain[n0 + n1 - 1] == pytest.approx(-15.0, abs=1e-3)
    assert gain[n0 + n1 + k_r - 1] == pytest.approx(-15.0 * (1 - E63), abs=1e-3)


def test_lookahead_is_the_delayed_audio_under_the_undelayed_gain(rng):
    x = rng.standard_normal((2, 20000)).astype(np.float32) * np.linspace(0.01, 1, 20000, dtype=np.float32)
    comp = Compressor(threshold_db=-25.0, ratio=6.0, attack_s=0.001, lookahead_s=0.005)
    lag = comp.latency_samples(RATE)
    assert lag == seconds_to_samples(0.005, RATE) == 240
    y = comp(x, RATE)
    delayed = np.concatenate([np.zeros((2, lag), np.float32), x[:, :-lag]], axis=1)
    # The same compressor keyed by the undelayed input, on the delayed audio: the same samples.
    keyed = KeyedCompressor(threshold_db=-25.0, ratio=6.0, attack_s=0.001)(delayed, RATE, key=x)
    np.testing.assert_allclose(y, keyed, rtol=1e-6, atol=1e-9)  # float32 rounding


def test_lookahead_turns_the_gain_down_before_the_transient_arrives():
    n0 = 4800
    x = _step(-40.0, 0.0, n0, 4800, 0)
    comp = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_s=0.001, lookahead_s=0.002)
    lag = comp.latency_samples(RATE)
    y = comp(x, RATE)
    gain_before = db(y[0, n0 + 1 : n0 + lag] / 10 ** (-40 / 20))  # output still carries the quiet part
    assert (gain_before < -0.1).all()
    assert gain_before[-1] < gain_before[0]


# --------------------------------------------------------------------------- compressor: link, key filter


def test_full_link_gives_every_channel_the_same_gain():
    x = np.vstack([tone(-6.0, 0.3)[0], tone(-30.0, 0.3)[0]])
    y = Compressor(threshold_db=-20.0, stereo_link=1.0)(x, RATE)
    nz = np.abs(x[1]) > 1e-4
    np.testing.assert_allclose(y[0, nz] / x[0, nz], y[1, nz] / x[1, nz], rtol=1e-5)  # float32 division
    tail = slice(RATE // 10, None)  # after the attack
    assert db(np.abs(y[1, tail]).max() / np.abs(x[1, tail]).max()) < -5.0  # the quiet one is turned down too


def test_no_link_processes_channels_independently(rng):
    x = rng.standard_normal((2, 9000)).astype(np.float32) * np.array([[0.8], [0.05]], np.float32)
    comp = Compressor(threshold_db=-24.0, ratio=5.0, stereo_link=0.0)
    y = comp(x, RATE)
    for c in range(2):
        np.testing.assert_array_equal(y[c], comp(x[c : c + 1], RATE)[0])


@pytest.mark.parametrize("link", [0.0, 0.3, 0.75, 1.0])
def test_partial_link_blends_levels_in_db(link):
    # Steady RMS levels -6 and -16 dB (peaks 3 dB higher) over a -30 dB threshold, hard knee: the
    # reduction is (1 - 1/R) (L' - T) with L' = link * L_max + (1 - link) * L_c.
    x = np.vstack([tone(-3.0, 0.5)[0], tone(-13.0, 0.5)[0]])
    comp = Compressor(threshold_db=-30.0, ratio=3.0, knee_db=0.0, detector="rms", stereo_link=link)
    y = comp(x, RATE)
    tail = slice(RATE // 4, None)
    levels = np.array([-6.0103, -16.0103])
    blended = link * levels.max() + (1 - link) * levels
    for c in range(2):
        measured = db(rms(y[c, tail])) - db(rms(x[c, tail]))
        assert measured == pytest.approx(-(1 - 1 / 3) * (blended[c] + 30.0), abs=0.05)  # steady RMS


def test_key_highpass_reduces_bass_drive_as_butterworth_predicts():
    signal = pytest.importorskip("scipy.signal")
    x = tone(-6.0, 1.0, freq_hz=50.0)
    comp = Compressor(threshold_db=-40.0, ratio=4.0, knee_db=0.0, detector="rms", rms_s=0.02,
                      key_highpass_hz=1000.0)  # fmt: skip
    y = comp(x, RATE)
    b, a = signal.butter(2, 1000.0, "highpass", fs=RATE)
    _, h = signal.freqz(b, a, worN=[50.0], fs=RATE)
    detector_rms_db = -6.0 + 10 * math.log10(0.5) + db(abs(h[0]))  # about -61 dB, under the threshold
    tail = slice(RATE // 2, None)
    measured = db(rms(y[0, tail])) - db(rms(x[0, tail]))
    assert measured == pytest.approx(textbook_gain_db(float(detector_rms_db), -40.0, 4.0, 0.0), abs=0.1)
    # The same tone 30 dB higher through the filter is over the threshold and is compressed as predicted.
    loud = Compressor(threshold_db=-70.0, ratio=4.0, knee_db=0.0, detector="rms", rms_s=0.02,
                      key_highpass_hz=1000.0)(x, RATE)  # fmt: skip
    measured = db(rms(loud[0, tail])) - db(rms(x[0, tail]))
    assert measured == pytest.approx(textbook_gain_db(float(detector_rms_db), -70.0, 4.0, 0.0), abs=0.1)


# --------------------------------------------------------------------------- keyed compressor


def test_key_drives_the_gain():
    music = tone(-40.0, 0.5, freq_hz=440.0, channels=2)  # below the threshold on its own
    key = tone(-6.0, 0.5)  # mono key, RMS -9 dB
    comp = KeyedCompressor(threshold_db=-30.0, ratio=4.0, knee_db=0.0, detector="rms")
    y = comp(music, RATE, key=key)
    tail = slice(RATE // 4, None)
    want = textbook_gain_db(-6.0 + 10 * math.log10(0.5), -30.0, 4.0, 0.0)
    for c in range(2):  # a mono key drives both channels alike
        assert db(rms(y[c, tail])) - db(rms(music[c, tail])) == pytest.approx(want, abs=0.1)


def test_key_channels_drive_their_own_channels_without_link():
    music = tone(-40.0, 0.5, channels=2)
    key = np.vstack([tone(-6.0, 0.5)[0], tone(-60.0, 0.5)[0]])
    y = KeyedCompressor(threshold_db=-30.0, stereo_link=0.0)(music, RATE, key=key)
    tail = slice(RATE // 10, None)  # after the attack
    assert db(np.abs(y[0, tail]).max() / np.abs(music[0, tail]).max()) < -10.0
    np.testing.assert_array_equal(y[1], music[1])  # its key stays far below the threshold


def test_keyed_compressor_needs_a_key_and_a_plain_one_refuses_it():
    x = tone(-10.0, 0.01)
    with pytest.raises(ParameterError, match="needs a side-chain key"):
        KeyedCompressor()(x, RATE)
    with pytest.raises(ParameterError, match="takes no side-chain key"):
        Compressor()(x, RATE, key=x)


def test_key_channel_count_must_not_change_while_streaming():
    comp = KeyedCompressor()
    state = comp.init_state(2, RATE)
    x = np.zeros((2, 10), np.float32)
    _, state = comp.process(x, RATE, state, key=np.zeros((1, 10), np.float32))
    with pytest.raises(AudioError, match="key has 2 channels but earlier blocks had 1"):
        comp.process(x, RATE, state, key=np.zeros((2, 10), np.float32))


# --------------------------------------------------------------------------- compressor: validation


def test_ratio_below_one_points_to_the_expander():
    pattern = r"ratio=0\.5 is out of range; expected ratio >= 1.*Gate\(ratio=2\)"
    with pytest.raises(ParameterError, match=pattern):
        Compressor(ratio=0.5)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"attack_s": 5}, r"attack_s=5 is out of range.*for 5 ms use 0\.005"),
        ({"release_s": -0.1}, r"release_s=-0\.1 is out of range"),
        ({"threshold_db": 3.0}, r"threshold_db=3 is out of range"),
        ({"knee_db": -1.0}, r"knee_db=-1"),
        ({"detector": "loud"}, r"detector='loud' is not supported; expected 'peak' or 'rms'"),
        ({"rms_s": 0.0}, r"rms_s=0 is out of range"),
        ({"stereo_link": 1.5}, r"stereo_link=1\.5"),
        ({"lookahead_s": 0.5}, r"lookahead_s=0\.5"),
        ({"ratio": float("inf")}, r"ratio=inf is not finite"),
    ],
)
def test_compressor_rejects_bad_parameters(kwargs, pattern):
    with pytest.raises(ParameterError, match=pattern):
        Compressor(**kwargs)


def test_key_highpass_above_nyquist_is_refused_when_the_rate_is_known():
    comp = Compressor(key_highpass_hz=30000.0)
    with pytest.raises(ParameterError, match=r"key_highpass_hz=30000 is at or above the Nyquist"):
        comp(np.zeros((1, 8), np.float32), RATE)


# --------------------------------------------------------------------------- gate


def _burst_then_quiet(n_burst: int, n_quiet: int) -> np.ndarray:
    # DC keeps the peak detector steady; the "silence" is -80 dBFS so that y / x shows the gain.
    return np.concatenate([np.full(n_burst, 0.5), np.full(n_quiet, 1e-4)])[np.newaxis].astype(np.float32)


def test_gate_holds_open_then_closes_with_the_release():
    hold_s, release_s = 0.02, 0.05
    n_burst = 4800
    x = _burst_then_quiet(n_burst, RATE)
    gate = Gate(threshold_db=-40.0, ratio=10.0, range_db=60.0, attack_s=0.001, hold_s=hold_s,
                release_s=release_s)  # fmt: skip
    y = gate(x, RATE)
    gain = db(y[0] / x[0])
    hold = seconds_to_samples(hold_s, RATE)
    # 0 dB through the burst and for hold_s after it (gain exactly 1).
    np.testing.assert_array_equal(y[0, : n_burst + hold], x[0, : n_burst + hold])
    assert gain[n_burst + hold] < 0.0
    # Then the release: -80 dB is 40 dB under the threshold, 360 dB of expansion, floored at -60 dB.
    k = seconds_to_samples(release_s, RATE)
    assert gain[n_burst + hold + k - 1] == pytest.approx(-60.0 * E63, abs=1e-3)  # float32 rounding
    assert gain[-1] == pytest.approx(-60.0, abs=1e-3)


def test_gate_attack_opens_with_its_time_constant():
    n0 = RATE // 2
    x = np.concatenate([np.full(n0, 1e-4), np.full(n0, 0.5)])[np.newaxis].astype(np.float32)
    gate = Gate(threshold_db=-40.0, range_db=60.0, attack_s=0.004, hold_s=0.0, release_s=0.01)
    gain = db(gate(x, RATE)[0] / x[0])
    assert gain[n0 - 1] == pytest.approx(-60.0, abs=1e-3)
    k = seconds_to_samples(0.004, RATE)
    assert gain[n0 + k - 1] == pytest.approx(-60.0 * (1 - E63), abs=1e-3)


def test_gate_attenuation_never_exceeds_the_range(rng):
    x = (rng.standard_normal((2, 30000)) * np.repeat(rng.uniform(0, 1, (2, 30)), 1000, axis=1)).astype(
        np.float32
    )
    y = Gate(threshold_db=-6.0, ratio=1000.0, range_db=25.0, hold_s=0.0, release_s=0.001)(x, RATE)
    nz = np.abs(x) > 1e-3
    gain = db(np.abs(y[nz] / x[nz]))
    assert gain.min() >= -25.0 - 1e-3  # float32 rounding of y / x
    assert gain.min() < -24.0  # and the gate did close down to the range
    assert gain.max() <= 1e-4


@pytest.mark.parametrize("level", [-45.0, -50.0, -60.0])
def test_expander_static_curve(level):
    x = np.full((1, RATE // 2), 10 ** (level / 20), np.float32)
    y = Gate(threshold_db=-40.0, ratio=2.0, range_db=120.0, attack_s=0.001, hold_s=0.0,
             release_s=0.01)(x, RATE)  # fmt: skip
    # Below T the output level is T + (L - T) * R: the gain is (L - T) (R - 1).
    assert db(y[0, -1] / x[0, -1]) == pytest.approx((level + 40.0) * 1.0, abs=1e-3)


def test_gate_range_must_be_positive():
    with pytest.raises(ParameterError, match=r"range_db=-40 is out of range.*use range_db=40"):
        Gate(range_db=-40.0)


# --------------------------------------------------------------------------- de-esser


def _bin_db(x: np.ndarray, y: np.ndarray, freq_hz: float) -> float:
    # Whole periods of every test frequency fit in 4800 samples, so each tone sits in one FFT bin.
    k = int(round(freq_hz * x.shape[-1] / RATE))
    return float(db(abs(np.fft.rfft(y)[k]) / abs(np.fft.rfft(x)[k])))


def _low_plus_ess(low_db: float, ess_db: float, ess_hz: float = 6000.0) -> np.ndarray:
    return tone(low_db, 0.3, freq_hz=200.0) + tone(ess_db, 0.3, freq_hz=ess_hz)


def test_band_mode_turns_down_only_the_sibilance():
    x = _low_plus_ess(-20.0, -6.0)  # 6 kHz peaks 24 dB over the threshold: reduction capped at 12 dB
    y = DeEsser(threshold_db=-30.0, ratio=4.0, range_db=12.0, attack_s=0.0005, release_s=0.05)(x, RATE)
    tail = slice(-4800, None)
    # The 200 Hz tone is untouched (0.1 dB: the band-pass leaks -30 dB at 200 Hz, in quadrature);
    # the 6 kHz tone is down by the range, within 0.2 dB of gain ripple between its peaks.
    assert _bin_db(x[0, tail], y[0, tail], 200.0) == pytest.approx(0.0, abs=0.1)
    assert _bin_db(x[0, tail], y[0, tail], 6000.0) == pytest.approx(-12.0, abs=0.2)


def test_broadband_mode_turns_everything_down():
    x = _low_plus_ess(-20.0, -6.0)
    y = DeEsser(threshold_db=-30.0, range_db=12.0, mode="broadband", attack_s=0.0005)(x, RATE)
    tail = slice(-4800, None)
    assert _bin_db(x[0, tail], y[0, tail], 200.0) == pytest.approx(-12.0, abs=0.2)
    assert _bin_db(x[0, tail], y[0, tail], 6000.0) == pytest.approx(-12.0, abs=0.2)


def test_band_split_sums_to_the_input_when_nothing_is_reduced(rng):
    # A loud low tone and quiet noise: the band's level stays under the threshold, so the band and
    # its complement must add back to the input exactly.
    noise = 0.001 * rng.standard_normal((2, 14400)).astype(np.float32)
    x = tone(-3.0, 0.3, freq_hz=200.0, channels=2) + noise
    y = DeEsser(threshold_db=-20.0)(x, RATE)
    np.testing.assert_array_equal(y, x)


def test_detection_is_band_limited_and_follows_freq_hz():
    de = DeEsser(freq_hz=3000.0, threshold_db=-30.0, range_db=12.0, attack_s=0.0005)
    tail = slice(-4800, None)
    at_band = tone(-6.0, 0.3, freq_hz=3000.0)
    assert _bin_db(at_band[0, tail], de(at_band, RATE)[0, tail], 3000.0) == pytest.approx(-12.0, abs=0.2)
    far = tone(-6.0, 0.3, freq_hz=100.0)  # the same level, 5 octaves away: -29.5 dB through the band
    np.testing.assert_array_equal(de(far, RATE), far)


def test_deesser_parameter_errors():
    with pytest.raises(ParameterError, match=r"mode='notch' is not supported"):
        DeEsser(mode="notch")
    with pytest.raises(ParameterError, match=r"freq_hz=20000 is at or above the Nyquist"):
        DeEsser(freq_hz=20000.0)(np.zeros((1, 8), np.float32), 32000)

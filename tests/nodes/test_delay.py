"""Delay: the echo formula, a transfer-function oracle (scipy.signal.lfilter) and pedalboard."""

from __future__ import annotations

import numpy as np
import pedalboard
import pytest
from scipy import signal

from sonicmix.dsp import biquad
from sonicmix.errors import ParameterError
from sonicmix.nodes.delay import Delay
from tests.nodes.node_checks import BLOCK_SIZES, run_streamed

Q = 1 / np.sqrt(2)


@pytest.mark.parametrize(("d", "feedback", "mix"), [(1, 0.9, 1.0), (7, 0.5, 0.3), (250, 0.0, 0.5)])
def test_impulse_gives_echoes_with_geometric_gains(d, feedback, mix):
    rate = 48000
    n = 6 * d + 3
    x = np.zeros((1, n))
    x[0, 0] = 1.0
    y = Delay(time_s=d / rate, feedback=feedback, mix=mix)(x, rate)[0]
    expected = np.zeros(n)
    expected[0] = 1 - mix
    for k in range(1, (n - 1) // d + 1):
        expected[k * d] += mix * feedback ** (k - 1)
    np.testing.assert_allclose(y, expected, atol=1e-15)


def _oracle(x, d, feedback, mix, sos):
    """w = x[n-D] + g F(w)[n-D], as one rational transfer function run by lfilter.

    With F = B/A: W/X = z^-D A / (A - g z^-D B), and y = (1 - mix) x + mix w.
    """
    if len(sos):
        b_f, a_f = signal.sos2tf(sos)
    else:
        b_f, a_f = np.array([1.0]), np.array([1.0])
    num = np.concatenate([np.zeros(d), a_f])
    den = np.zeros(d + max(len(a_f), len(b_f)))
    den[: len(a_f)] += a_f
    den[d : d + len(b_f)] -= feedback * b_f
    w = signal.lfilter(num, den, x, axis=-1)
    return (1 - mix) * x + mix * w


@pytest.mark.parametrize(
    ("d", "lowpass_hz", "highpass_hz"),
    [(37, 3000.0, None), (37, None, 400.0), (5, 8000.0, 150.0), (300, 1000.0, 50.0)],
)
def test_filtered_feedback_matches_the_transfer_function(d, lowpass_hz, highpass_hz, rng):
    rate = 44100
    x = rng.standard_normal((2, 8000))
    node = Delay(
        time_s=d / rate,
        feedback=0.8,
        mix=0.6,
        feedback_lowpass_hz=lowpass_hz,
        feedback_highpass_hz=highpass_hz,
    )
    sos = [np.zeros((0, 6))]
    if lowpass_hz:
        sos.append(biquad.lowpass(freq_hz=lowpass_hz, q=Q, sample_rate=rate))
    if highpass_hz:
        sos.append(biquad.highpass(freq_hz=highpass_hz, q=Q, sample_rate=rate))
    expected = _oracle(x, d, 0.8, 0.6, np.concatenate(sos))
    # Both run in float64; the rational form rounds differently from the loop (1e-9 is far below
    # any audible or structural error, which would be of the signal's order, ~1).
    np.testing.assert_allclose(node(x, rate), expected, atol=1e-9)


def test_lowpass_darkens_each_repeat(rng):
    # Each echo passes the low-pass once more: its energy above the cutoff falls repeat by repeat.
    rate, d = 48000, 4800
    x = np.zeros((1, 5 * d))
    x[0, :64] = rng.standard_normal(64)
    y = Delay(time_s=d / rate, feedback=0.9, mix=1.0, feedback_lowpass_hz=2000.0)(x, rate)[0]
    highs = []
    for k in range(1, 5):
        spec = np.abs(np.fft.rfft(y[k * d : (k + 1) * d])) ** 2
        f = np.fft.rfftfreq(d, 1 / rate)
        highs.append(spec[f > 8000].sum() / spec.sum())
    assert all(b < a for a, b in zip(highs, highs[1:], strict=False))


@pytest.mark.parametrize(("d", "rate"), [(10, 48000), (480, 48000), (37, 44100), (4800, 96000)])
def test_matches_pedalboard_delay(d, rate, rng):
    x = (0.3 * rng.standard_normal((2, 20000))).astype(np.float32)
    ours = Delay(time_s=d / rate, feedback=0.6, mix=0.3)(x, rate)
    # pedalboard truncates delay_seconds * sample_rate to whole samples; (d + 0.5) / rate lands on d
    # whatever the float rounding of d / rate * rate.
    theirs = pedalboard.Delay(delay_seconds=(d + 0.5) / rate, feedback=0.6, mix=0.3)(x, float(rate))
    # float32 output of float64 (ours) vs float32 (pedalboard) arithmetic: a few float32 steps.
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_filters_only_shape_the_feedback(rng):
    x = rng.standard_normal((2, 3000))
    plain = Delay(time_s=0.01, feedback=0.0, mix=0.5)(x, 48000)
    filtered = Delay(time_s=0.01, feedback=0.0, mix=0.5, feedback_lowpass_hz=500.0)(x, 48000)
    np.testing.assert_array_equal(plain, filtered)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streaming_is_exact(dtype, rng):
    x = rng.standard_normal((2, 9000)).astype(dtype)
    node = Delay(time_s=0.003, feedback=0.7, feedback_lowpass_hz=5000.0, feedback_highpass_hz=100.0)
    whole = node(x, 48000)
    assert whole.dtype == dtype
    for size in BLOCK_SIZES:
        np.testing.assert_array_equal(run_streamed(node, x, 48000, (size,)), whole)


def test_rejects_bad_parameters():
    with pytest.raises(ParameterError, match=r"feedback=1 is out of range; expected .* feedback < 1"):
        Delay(feedback=1.0)
    with pytest.raises(ParameterError, match=r"time_s=0 is out of range"):
        Delay(time_s=0.0)
    with pytest.raises(ParameterError, match=r"time_s=250 is out of range.*for 250 ms use 0\.25"):
        Delay(time_s=250.0)
    with pytest.raises(ParameterError, match=r"mix=1\.5"):
        Delay(mix=1.5)
    with pytest.raises(ParameterError, match=r"feedback_highpass_hz=-5"):
        Delay(feedback_highpass_hz=-5.0)
    with pytest.raises(ParameterError, match=r"time_s=0\.0001 is less than one sample at sample_rate=4000"):
        Delay(time_s=1e-4)(np.zeros((1, 10)), 4000)
    with pytest.raises(ParameterError, match=r"feedback_lowpass_hz=30000 is at or above the Nyquist"):
        Delay(feedback_lowpass_hz=30000.0)(np.zeros((1, 10)), 48000)

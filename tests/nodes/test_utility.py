"""Polarity and DCBlocker, against their formulas and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from sonicmix.errors import LayoutError, ParameterError
from sonicmix.nodes.utility import DCBlocker, Polarity
from tests.nodes.node_checks import BLOCK_SIZES, run_streamed

# ----------------------------------------------------------------------------- Polarity


def test_polarity_inverts_every_channel_by_default(rng):
    x = rng.standard_normal((3, 100)).astype(np.float32)
    y = Polarity()(x, 48000)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, -x)
    np.testing.assert_array_equal(Polarity()(y, 48000), x)


def test_polarity_inverts_only_the_chosen_channels(rng):
    x = rng.standard_normal((4, 100))
    y = Polarity(channels=(3, 1))(x, 48000)
    np.testing.assert_array_equal(y[[1, 3]], -x[[1, 3]])
    np.testing.assert_array_equal(y[[0, 2]], x[[0, 2]])


def test_polarity_channels_become_a_hashable_tuple():
    node = Polarity(channels=[0, 2])
    assert node.channels == (0, 2)
    assert hash(node) == hash(Polarity(channels=(0, 2)))
    assert Polarity(channels=()).output_channels(1) == 1


@pytest.mark.parametrize(
    ("channels", "match"),
    [
        ((-1,), r"channels=\(-1,\) holds -1"),
        ((0, 0), r"repeats an index"),
        ((0.5,), r"holds 0\.5"),
        ((True,), r"holds True"),
        ("01", r"channels='01' is not a sequence"),
        (3, r"channels=3 is not a sequence"),
    ],
)
def test_polarity_rejects_bad_channels(channels, match):
    with pytest.raises(ParameterError, match=match):
        Polarity(channels=channels)


def test_polarity_needs_the_channels_it_names():
    with pytest.raises(LayoutError, match=r"needs channel 2, but the audio has 2 channels"):
        Polarity(channels=(2,))(np.zeros((2, 5)), 48000)


# ----------------------------------------------------------------------------- DCBlocker

RATES = [44100, 48000, 96000]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("cutoff_hz", [0.5, 10.0, 200.0, 1000.0])
def test_dc_blocker_is_scipys_first_order_butterworth(rate, cutoff_hz):
    sos = DCBlocker(cutoff_hz=cutoff_hz).init_state(1, rate, np.float64)["sos"]
    expected = signal.butter(1, cutoff_hz, "highpass", fs=rate, output="sos")
    # Two derivations of the same bilinear design in float64: a few rounding steps apart.
    np.testing.assert_allclose(sos, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("rate", RATES)
def test_dc_blocker_response(rate):
    sos = DCBlocker(cutoff_hz=10.0).init_state(1, rate, np.float64)["sos"]
    _, h = signal.sosfreqz(sos, worN=[0.0, 10.0, rate / 2], fs=rate)
    assert abs(h[0]) < 1e-12  # a zero at DC
    # -3.0103 dB exactly at the cutoff (bilinear transform with prewarping).
    assert 20 * math.log10(abs(h[1])) == pytest.approx(10 * math.log10(0.5), abs=1e-9)
    assert abs(h[2]) == pytest.approx(1.0, abs=1e-12)  # unity at Nyquist


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dc_blocker_step_response_decays_by_the_pole(dtype):
    # A constant c from n = 0 gives y[n] = g * c * p**n with K = tan(pi fc / fs),
    # g = 1 / (1 + K) and p = (1 - K) / (1 + K): the formula, not a filter run.
    rate, fc, c = 48000, 10.0, 0.5
    x = np.full((2, 4800), c, dtype=dtype)
    y = DCBlocker(cutoff_hz=fc)(x, rate)
    k = math.tan(math.pi * fc / rate)
    expected = c / (1 + k) * ((1 - k) / (1 + k)) ** np.arange(4800)
    assert y.dtype == dtype
    # float32: the pole rounded to float32 (|dp| <= 6e-8) errs by c * n * p**n * |dp| <= c * |dp| /
    # (e * (1 - p)) ~ 1e-5 at most; a 1 % error in the cutoff would be off by 2e-3.
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y[0], expected, rtol=0, atol=tol)


def test_dc_blocker_matches_lfilter_and_streams_exactly(rng):
    x = rng.standard_normal((2, 10000)) + 0.3
    rate = 44100
    b, a = signal.butter(1, 25.0, "highpass", fs=rate)
    node = DCBlocker(cutoff_hz=25.0)
    np.testing.assert_allclose(node(x, rate), signal.lfilter(b, a, x, axis=-1), atol=1e-12)
    whole = node(x, rate)
    for size in BLOCK_SIZES:
        np.testing.assert_array_equal(run_streamed(node, x, rate, (size,)), whole)


def test_dc_blocker_rejects_bad_cutoffs():
    with pytest.raises(ParameterError, match=r"cutoff_hz=0 is out of range"):
        DCBlocker(cutoff_hz=0.0)
    with pytest.raises(ParameterError, match=r"cutoff_hz=2000 is out of range.*high-pass"):
        DCBlocker(cutoff_hz=2000.0)
    with pytest.raises(ParameterError, match=r"cutoff_hz=1000 is at or above the Nyquist"):
        DCBlocker(cutoff_hz=1000.0)(np.zeros((1, 10)), 2000)

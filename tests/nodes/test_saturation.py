"""Saturation: the curves' formulas, the oversampling filter's spec, latency and aliasing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from sonicmix.errors import ParameterError
from sonicmix.nodes.saturation import Saturation, _oversampling_filter, saturate
from tests.nodes.node_checks import BLOCK_SIZES, assert_streaming_matches

SHAPES = ["tanh", "atan", "cubic", "hard"]
U = np.linspace(-6.0, 6.0, 4001)


def _formula(u, shape):
    if shape == "tanh":
        return np.tanh(u)
    if shape == "atan":
        return 2 / np.pi * np.arctan(np.pi / 2 * u)
    if shape == "cubic":
        return np.where(np.abs(u) <= 1.5, u - 4 * u**3 / 27, np.sign(u))
    return np.clip(u, -1, 1)


@pytest.mark.parametrize("shape", SHAPES)
def test_curves_follow_their_formulas(shape):
    np.testing.assert_allclose(saturate(U, shape), _formula(U, shape), atol=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
def test_curves_have_unit_slope_odd_symmetry_and_saturate(shape):
    h = 1e-6
    slope = (saturate(np.array([h]), shape) - saturate(np.array([-h]), shape)) / (2 * h)
    assert slope[0] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(saturate(-U, shape), -saturate(U, shape))
    assert np.all(np.abs(saturate(U * 100, shape)) <= 1.0)
    assert abs(saturate(np.array([1e6]), shape)[0]) == pytest.approx(1.0, abs=1e-5)


def test_cubic_reaches_one_with_zero_slope():
    # u - 4 u**3 / 27 at u = 1.5: 1.5 - 0.5 = 1, and its slope 1 - 4 u**2 / 9 = 0: a smooth knee.
    assert saturate(np.array([1.5]), "cubic")[0] == 1.0
    left = saturate(np.array([1.5 - 1e-4]), "cubic")[0]
    assert (1.0 - left) / 1e-4 < 1e-3


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_without_oversampling_output_is_the_curve(shape, dtype, rng):
    x = rng.standard_normal((2, 3000)).astype(dtype)
    drive_db, mix = 9.0, 0.7
    y = Saturation(drive_db=drive_db, shape=shape, oversampling=1, mix=mix)(x, 48000)
    assert y.dtype == dtype
    g = 10 ** (drive_db / 20)
    expected = (1 - mix) * x.astype(np.float64) + mix * _formula(g * x.astype(np.float64), shape)
    # float32: a few float32 rounding steps of values below ~4.
    np.testing.assert_allclose(y, expected, atol=2e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_oversampling_filter_meets_its_spec(factor):
    h = _oversampling_filter(factor)
    assert len(h) % (2 * factor) == 1 and np.allclose(h, h[::-1])  # linear phase, whole latency
    f = np.linspace(0.0, factor / 2, 40001)  # in units of the base sample rate
    _, resp = signal.freqz(h, worN=2 * np.pi * f / factor)
    mag = np.abs(resp)
    # Kaiser's design formula targets 80 dB of attenuation and a pass band ripple of the same
    # relative size (1e-4); the formula is approximate, by about 1 dB.
    assert np.max(np.abs(mag[f <= 0.4] - 1)) < 1.5e-4
    assert 20 * np.log10(np.max(mag[f >= 0.6])) < -79.0


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("drive_db", [0.0, 12.0])
def test_oversampled_output_is_the_curve_delayed_by_the_latency(factor, drive_db):
    # A 500 Hz tone: the shaped signal's harmonics that matter lie well inside the 0.4 fs pass band,
    # so the output is the curve applied to the input, delayed by latency_samples. Each of the two
    # filters deviates from unity gain by <= 1.1e-4 in the pass band (test above): 5e-4 bounds the
    # error for a signal of peak 1 with margin.
    rate, n = 48000, 9600
    x = (0.9 * np.sin(2 * np.pi * 500 * np.arange(n) / rate))[None]
    node = Saturation(drive_db=drive_db, oversampling=factor)
    lat = node.latency_samples(rate)
    y = node(x, rate)
    expected = np.tanh(10 ** (drive_db / 20) * x)
    np.testing.assert_allclose(y[0, lat + 200 :], expected[0, 200 : n - lat], atol=5e-4)
    # The wrong latency by one sample is off by ~tone slope (2 pi 500 / 48000 ~ 0.06): caught above.


def test_mix_zero_is_the_input_delayed(rng):
    # The dry path goes through the same filters: band-limited input comes out delayed, unchanged.
    rate = 48000
    sos = signal.butter(8, 15000, fs=rate, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal((2, 8000)))
    node = Saturation(drive_db=30.0, oversampling=4, mix=0.0)
    lat = node.latency_samples(rate)
    y = node(x, rate)
    # 15 kHz (8th-order roll-off) is inside the 19.2 kHz pass band; residual energy above it is
    # attenuated but not removed, hence 2e-3 against a signal of RMS ~0.8.
    np.testing.assert_allclose(y[:, lat + 100 :], x[:, 100 : 8000 - lat], atol=2e-3)


def _aliased_db(y, rate):
    """Energy below 19 kHz other than the 15 kHz fundamental, relative to the fundamental, in dB."""
    seg = y[0, 8000 : 8000 + 32768]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    f = np.fft.rfftfreq(len(seg), 1 / rate)
    near = np.abs(f - 15000) < 60  # the Hann main lobe is 2 bins (3 Hz) wide: 60 Hz holds it all
    return 10 * np.log10(spec[(f < 19000) & ~near].sum() / spec[near].sum())


@pytest.mark.parametrize(
    ("drive_db", "factor", "improvement_db"), [(24.0, 4, 15.0), (24.0, 8, 35.0), (12.0, 4, 50.0)]
)
def test_oversampling_reduces_aliasing(drive_db, factor, improvement_db):
    # A 15 kHz sine at 48 kHz: every harmonic (45, 75, 105 kHz, ...) lies above Nyquist, so
    # everything in the band but the fundamental is aliasing. The improvements are the ones the
    # Saturation docstring states.
    rate = 48000
    x = (0.5 * np.sin(2 * np.pi * 15000 * np.arange(48000) / rate))[None]
    plain = _aliased_db(Saturation(drive_db=drive_db, oversampling=1)(x, rate), rate)
    over = _aliased_db(Saturation(drive_db=drive_db, oversampling=factor)(x, rate), rate)
    assert plain > -20.0  # without oversampling the aliases are strong
    assert plain - over >= improvement_db


@pytest.mark.parametrize("size", BLOCK_SIZES)
def test_streaming_is_exact(size, rng):
    x = rng.standard_normal((2, 6000)).astype(np.float32)
    # Same sums, same order, whatever the block boundaries: identical samples.
    assert_streaming_matches(Saturation(drive_db=18.0, oversampling=4, mix=0.8), x, 48000, (size,), atol=0.0)


def test_latency_is_independent_of_the_rate():
    for factor in (2, 4, 8):
        h = _oversampling_filter(factor)
        for rate in (44100, 48000, 192000):
            assert Saturation(oversampling=factor).latency_samples(rate) == (len(h) - 1) // factor
    assert Saturation(oversampling=1).latency_samples(48000) == 0


def test_rejects_bad_parameters():
    with pytest.raises(ParameterError, match=r"oversampling=3 is not supported; expected one of 1, 2, 4, 8"):
        Saturation(oversampling=3)
    with pytest.raises(ParameterError, match=r"oversampling=True"):
        Saturation(oversampling=True)
    with pytest.raises(ParameterError, match=r"shape='fuzz' is not supported"):
        Saturation(shape="fuzz")
    with pytest.raises(ParameterError, match=r"drive_db=60 is out of range"):
        Saturation(drive_db=60.0)
    assert math.isfinite(Saturation(drive_db=48.0, shape="hard")(np.ones((1, 10)), 48000).sum())

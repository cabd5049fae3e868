"""Resample: equal to soxr's one-shot API, and the stream-then-flush contract."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from sonicmix.errors import ParameterError
from sonicmix.nodes.resample import Resample
from tests.nodes.node_checks import BLOCK_SIZES

PAIRS = [(48000, 44100), (44100, 48000), (48000, 16000), (96000, 44100), (8000, 44100)]


def _streamed(node, x, rate, sizes):
    state = node.init_state(x.shape[0], rate, x.dtype)
    out, start, i = [], 0, 0
    while start < x.shape[1]:
        stop = min(x.shape[1], start + sizes[i % len(sizes)])
        y, state = node.process(x[:, start:stop], rate, state)
        assert y.shape[0] == x.shape[0] and y.dtype == x.dtype
        out.append(y)
        start, i = stop, i + 1
    tail, _ = node.flush(state)
    return np.concatenate([*out, tail], axis=1), sum(o.shape[1] for o in out)


@pytest.mark.parametrize(("rate", "target"), PAIRS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_shot_equals_soxr_resample(rate, target, dtype, rng):
    x = rng.standard_normal((2, 5001)).astype(dtype)
    y = Resample(target_rate_hz=target, quality="VHQ")(x, rate)
    expected = soxr.resample(x.T, rate, target, quality="VHQ").T
    assert y.dtype == dtype and y.flags.c_contiguous
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize(("rate", "target"), PAIRS)
@pytest.mark.parametrize("n", [1, 7, 1000, 4410, 12345])
def test_output_samples_is_soxrs_length(rate, target, n):
    x = np.zeros((n, 1), np.float32)
    assert Resample(target_rate_hz=target).output_samples(n, rate) == len(soxr.resample(x, rate, target))


@pytest.mark.parametrize(("rate", "target"), PAIRS)
@pytest.mark.parametrize("size", BLOCK_SIZES)
def test_streamed_blocks_plus_flush_equal_one_shot(rate, target, size, rng):
    x = rng.standard_normal((2, 9000)).astype(np.float32)
    node = Resample(target_rate_hz=target)
    streamed, before_flush = _streamed(node, x, rate, (size,))
    # libsoxr computes every output sample from the same input samples whatever the chunking:
    # the samples are identical, not merely close.
    np.testing.assert_array_equal(streamed, node(x, rate))
    assert before_flush < streamed.shape[1]  # the filter holds a tail until the flush


def test_a_tone_keeps_its_frequency_and_level():
    rate, target, f0 = 48000, 44100, 1000.0
    x = (0.5 * np.sin(2 * np.pi * f0 * np.arange(rate) / rate))[None]
    y = Resample(target_rate_hz=target)(x, rate)[0, 2000:-2000]
    expected = 0.5 * np.sin(2 * np.pi * f0 * (np.arange(2000, 2000 + len(y)) / target))
    # soxr "HQ" is a linear-phase filter with ~0.01 dB pass band ripple at 1 kHz: the resampled tone
    # is the ideal tone, aligned in time, to ~1e-3 of full scale.
    np.testing.assert_allclose(y, expected, atol=1e-3)


def test_same_rate_passes_through(rng):
    x = rng.standard_normal((2, 1000)).astype(np.float32)
    node = Resample(target_rate_hz=48000)
    y = node(x, 48000)
    np.testing.assert_array_equal(y, x)
    assert y is not x
    streamed, _ = _streamed(node, x, 48000, (63,))
    np.testing.assert_array_equal(streamed, x)


def test_rates_and_quality():
    node = Resample(target_rate_hz=44100.0)
    assert node.target_rate_hz == 44100 and type(node.target_rate_hz) is int
    assert node.output_sample_rate(48000) == 44100
    with pytest.raises(ParameterError, match=r"target_rate_hz=48 is out of range.*use 48000, not 48"):
        Resample(target_rate_hz=48)
    with pytest.raises(ParameterError, match=r"target_rate_hz=44100\.5 is not a whole number"):
        Resample(target_rate_hz=44100.5)
    with pytest.raises(ParameterError, match=r"quality='best' is not supported"):
        Resample(quality="best")


def test_empty_input():
    assert Resample(target_rate_hz=16000)(np.zeros((2, 0), np.float32), 48000).shape == (2, 0)

"""Partitioned convolution against scipy.signal.fftconvolve (the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from sonicmix.dsp import convolution


def _streamed(x: np.ndarray, state: convolution.ConvolverState, sizes) -> np.ndarray:
    out, start, i = [], 0, 0
    while start < x.shape[1]:
        stop = min(x.shape[1], start + sizes[i % len(sizes)])
        out.append(convolution.process(x[:, start:stop], state))
        start, i = stop, i + 1
    return np.concatenate(out, axis=1)


def _reference(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Linear convolution in float64, cut to the input's length (what a zero-latency filter emits)."""
    return scipy.signal.fftconvolve(x.astype(np.float64), h.astype(np.float64), axes=1)[:, : x.shape[1]]


def _ir(rng: np.random.Generator, channels: int, taps: int) -> np.ndarray:
    return rng.standard_normal((channels, taps)) * np.exp(-np.arange(taps) / (taps / 5.0 + 1.0))


# Tolerances, relative to the output's peak: float64 FFTs round at ~1e-16 per
# operation, so 1e-12 leaves room for the sums over partitions; float32 FFT
# convolution is accurate to ~1e-7 of the peak, times log2(FFT size) and the
# square root of the number of partitions summed, hence 2e-6.
_RTOL = {np.float64: 1e-12, np.float32: 2e-6}


_SHAPES = [(1, None), (63, 64), (64, 64), (65, 64), (700, 64), (3000, None), (5000, 1024)]
_SPLITS = [(9000,), (1,), (63,), (64,), (65,), (4097,), (7, 300, 2, 1000, 64)]
# Sample-by-sample streaming of the longer responses is slow and adds nothing.
_CASES = [(t, p, s) for t, p in _SHAPES for s in _SPLITS if s != (1,) or t <= 700]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("taps", "partition", "sizes"), _CASES)
def test_equals_fftconvolve_for_any_split(dtype, taps, partition, sizes, rng):
    h = _ir(rng, 1, taps)
    x = rng.standard_normal((2, 9000)).astype(dtype)
    state = convolution.new_state(h, 2, dtype, partition)
    y = _streamed(x, state, sizes)
    ref = _reference(x, h)
    assert y.dtype == dtype and y.shape == x.shape
    assert np.max(np.abs(y - ref)) <= _RTOL[dtype] * np.max(np.abs(ref))


def test_one_response_per_channel(rng):
    h = _ir(rng, 3, 2000)
    x = rng.standard_normal((3, 12000))
    state = convolution.new_state(h, 3, np.float64, 256)
    y = _streamed(x, state, (1000, 17, 4096))
    ref = np.stack([np.convolve(x[c], h[c])[: x.shape[1]] for c in range(3)])
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_zero_latency_sample_by_sample(rng):
    # An impulse delivered alone in a call comes back, scaled by h[0], in that same call.
    h = _ir(rng, 1, 300)
    state = convolution.new_state(h, 1, np.float64, 64)
    for _ in range(100):
        convolution.process(np.zeros((1, 1)), state)
    y = convolution.process(np.ones((1, 1)), state)
    assert y[0, 0] == pytest.approx(h[0, 0], rel=1e-12)


def test_a_six_second_response_streams_in_constant_memory(rng):
    # 6 s at 48 kHz against 15 s of input, in blocks of 4800: the state's size does not grow.
    h = _ir(rng, 1, 6 * 48000) * 0.01
    x = rng.standard_normal((2, 15 * 48000)).astype(np.float32)
    state = convolution.new_state(h, 2, np.float32)
    size_before = state.history.nbytes + state.window.nbytes
    y = _streamed(x, state, (4800,))
    assert state.history.nbytes + state.window.nbytes == size_before
    ref = _reference(x, h)
    assert np.max(np.abs(y - ref)) <= _RTOL[np.float32] * np.max(np.abs(ref))


def test_leading_silence_is_skipped_but_kept(rng):
    # A pre-delay makes whole partitions of zeros: they are skipped, the output is still exact.
    h = np.concatenate((np.zeros((1, 1000)), _ir(rng, 1, 500)), axis=1)
    state = convolution.new_state(h, 1, np.float64, 128)
    assert not state.active[:7].any() and state.active[7:].all()
    x = rng.standard_normal((1, 5000))
    y = _streamed(x, state, (100, 1, 900))
    np.testing.assert_allclose(y, _reference(x, h), rtol=0, atol=1e-12 * np.abs(y).max())


def test_empty_blocks_change_nothing(rng):
    h = _ir(rng, 1, 500)
    x = rng.standard_normal((1, 2000))
    state = convolution.new_state(h, 1, np.float64, 64)
    parts = [convolution.process(x[:, :700], state), convolution.process(x[:, :0], state)]
    parts.append(convolution.process(x[:, 700:], state))
    assert parts[1].shape == (1, 0)
    np.testing.assert_allclose(np.concatenate(parts, axis=1), _reference(x, h), rtol=0, atol=1e-12)


def test_auto_partition_is_a_power_of_two_in_range():
    for taps in (1, 100, 2048, 96000, 6 * 48000, 10**8):
        p = convolution.auto_partition(taps)
        assert 1024 <= p <= 16384 and p & (p - 1) == 0


# A matrix of responses (a binaural renderer's): every input into every output, summed per output.
_MATRIX_SHAPES = [(557, None), (557, 64), (3000, 256), (1, None)]
_MATRIX_SPLITS = [(9000,), (1,), (63,), (1024,), (7, 300, 2, 1000, 64)]
_MATRIX_CASES = [(t, p, s) for t, p in _MATRIX_SHAPES for s in _MATRIX_SPLITS if s != (1,) or t <= 700]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("taps", "partition", "sizes"), _MATRIX_CASES)
def test_matrix_equals_summed_fftconvolve_for_any_split(dtype, taps, partition, sizes, rng):
    irs = rng.standard_normal((2, 5, taps)) * np.exp(-np.arange(taps) / (taps / 5.0 + 1.0))
    x = rng.standard_normal((5, 9000)).astype(dtype)
    state = convolution.new_matrix_state(irs, dtype, partition)
    y = _streamed(x, state, sizes)
    ref = np.stack([sum(_reference(x[i : i + 1], irs[o, i : i + 1])[0] for i in range(5)) for o in range(2)])
    assert y.dtype == dtype and y.shape == (2, 9000)
    assert np.max(np.abs(y - ref)) <= _RTOL[dtype] * np.max(np.abs(ref))


def test_matrix_with_one_output_per_input_is_the_per_channel_convolution(rng):
    # A diagonal matrix is new_state's one response per channel: the two forms agree.
    h = _ir(rng, 3, 700)
    irs = np.zeros((3, 3, 700))
    for c in range(3):
        irs[c, c] = h[c]
    x = rng.standard_normal((3, 5000))
    diagonal = _streamed(x, convolution.new_matrix_state(irs, np.float64, 128), (333,))
    per_channel = _streamed(x, convolution.new_state(h, 3, np.float64, 128), (333,))
    np.testing.assert_allclose(diagonal, per_channel, rtol=0, atol=1e-12 * np.abs(per_channel).max())

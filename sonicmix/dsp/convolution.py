"""Streaming FIR convolution with no latency: uniformly partitioned overlap-save.

The impulse response ``h`` (``L`` taps) is cut into ``K = ceil(L / P)``
partitions of ``P`` taps and each is transformed once, zero-padded to ``2P``
points. The input is cut into blocks of ``P`` samples on a grid fixed in
absolute time (independent of how the caller splits it into calls); each block,
with the block before it, is transformed once, and the spectra of the last
``K`` blocks form a frequency-domain delay line. The output block ``b`` is
the second half of ``irfft(sum_k X[b - k] * H[k])`` (overlap-save), which
costs two FFTs of ``2P`` points and ``K`` complex multiply-adds per bin per
block, against ``L`` multiply-adds per sample for direct convolution.

Zero latency. Partitions ``k >= 1`` only need input blocks that are complete
before block ``b`` starts, so their sum is ready at the block's first sample.
Only the first partition needs the current block. When a call covers whole
blocks, that partition joins the sum and each block costs one inverse FFT.
When a call ends inside a block, the already-known part of the output is
inverse-transformed once for the block, and the first partition's part is
computed for just the samples at hand: by direct convolution for a few
samples, else by one FFT sized to the segment. Every output sample thus
appears in the call that delivers its input sample, and any split of the
input gives the same output up to floating-point rounding.

Memory does not grow with the programme: the state holds ``K`` input spectra
and two blocks of input, whatever the number of samples processed.

A matrix of responses (:func:`new_matrix_state`) convolves ``inputs`` channels
into ``outputs`` channels, ``y[o] = sum_i h[o, i] * x[i]`` (a binaural
renderer: every loudspeaker feed through its pair of head-related impulse
responses into two ears). Each input block is transformed once and the sum
over inputs is taken in the frequency domain, so a block costs ``inputs``
forward and ``outputs`` inverse FFTs instead of ``inputs * outputs`` of each.

References
----------
T. G. Stockham, "High-speed convolution and correlation", AFIPS 1966
(overlap-save). F. Wefers, "Partitioned convolution algorithms for real-time
auralization", PhD thesis, RWTH Aachen, 2015, ch. 5 (uniformly partitioned
convolution with a frequency-domain delay line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft

__all__ = ["ConvolverState", "auto_partition", "new_matrix_state", "new_state", "process"]

#: A segment of at most this many samples has its first-partition part
#: computed directly (np.convolve) rather than by FFT.
_DIRECT_MAX = 32
#: Full blocks transformed together per batch: as many as there are partitions
#: (the delay line is copied once per batch), but at least _BATCH_MIN samples
#: (Python's overhead per batch) and at most _BATCH_MAX (temporaries that fit
#: the caches and are not fresh pages each time).
_BATCH_MIN = 1 << 16
_BATCH_MAX = 1 << 17
#: Segment FFT sizes whose first-partition spectrum is kept.
_HEAD_CACHE = 4


def auto_partition(taps: int) -> int:
    """Partition size for an impulse response of ``taps`` taps.

    Half the length, as a power of two between 1024 and 16384: the cost per
    sample (two FFTs of ``2P`` points per ``P`` samples, and ``L / P``
    complex multiply-adds) is then near its minimum (measured here from 96
    to 288000 taps), while the zero-latency work for blocks shorter than a
    partition stays moderate.

    Examples
    --------
    >>> auto_partition(100), auto_partition(4800), auto_partition(96000)
    (1024, 4096, 16384)
    """
    return int(min(16384, max(1024, 1 << max(0, math.ceil(math.log2(max(1, taps) / 2))))))


@dataclass(slots=True, eq=False)
class ConvolverState:
    """Streaming state of one partitioned convolution.

    Attributes
    ----------
    partition : int
        Partition (and block) size ``P`` in samples.
    spectra : np.ndarray, shape=(K, ir_channels, P + 1) or (K, outputs, inputs, P + 1), complex
        Transforms of the impulse response's partitions (2P points); four
        dimensions for a matrix of responses (:func:`new_matrix_state`).
    active : np.ndarray, shape=(K,), bool
        Partitions that are not all zeros (a pre-delay's leading silence is skipped).
    head : np.ndarray, shape=(ir_channels, P) or (outputs, inputs, P)
        The first partition's taps, for direct and segment-sized convolution.
    history : np.ndarray, shape=(K - 1, channels, P + 1), complex
        Spectra of the last ``K - 1`` complete input blocks, oldest first.
    window : np.ndarray, shape=(channels, 2P)
        The last complete input block, then the current block's samples so far.
    fill : int
        Number of samples of the current block received so far.
    tail : np.ndarray or None, shape=(channels, P)
        Output of partitions ``k >= 1`` for the current block, once computed.
    head_spectra : dict
        First-partition transforms for the segment FFT sizes met so far.
    """

    partition: int
    spectra: np.ndarray
    active: np.ndarray
    head: np.ndarray
    history: np.ndarray
    window: np.ndarray
    fill: int = 0
    tail: np.ndarray | None = None
    head_spectra: dict[int, np.ndarray] = field(default_factory=dict)


def new_state(ir: np.ndarray, channels: int, dtype: Any, partition: int | None = None) -> ConvolverState:
    """State before the first sample, for ``channels`` input channels.

    Parameters
    ----------
    ir : np.ndarray, shape=(ir_channels, taps)
        Impulse response; ``ir_channels`` is 1 (applied to every channel) or
        ``channels`` (one response per channel).
    channels : int
        Number of input (and output) channels.
    dtype : float32 or float64
        Sample type of the audio; the transforms are computed in the matching
        precision (the impulse response's are designed in float64 first).
    partition : int, optional
        Partition size in samples; by default :func:`auto_partition`.
    """
    real = np.dtype(dtype)
    cplx = np.result_type(real, np.complex64)
    ir = np.asarray(ir, dtype=np.float64)
    p = auto_partition(ir.shape[1]) if partition is None else int(partition)
    k = max(1, -(-ir.shape[1] // p))
    padded = np.zeros((ir.shape[0], k * p))
    padded[:, : ir.shape[1]] = ir
    parts = padded.reshape(ir.shape[0], k, p).transpose(1, 0, 2)  # (K, ir_channels, P)
    spectra = scipy.fft.rfft(parts, n=2 * p, axis=-1).astype(cplx)
    return ConvolverState(
        partition=p,
        spectra=spectra,
        active=np.any(parts != 0.0, axis=(1, 2)),
        head=parts[0].astype(real),
        history=np.zeros((k - 1, channels, p + 1), cplx),
        window=np.zeros((channels, 2 * p), real),
    )


def new_matrix_state(irs: np.ndarray, dtype: Any, partition: int | None = None) -> ConvolverState:
    """State before the first sample of a matrix convolution: ``y[o] = sum_i irs[o, i] * x[i]``.

    Parameters
    ----------
    irs : np.ndarray, shape=(outputs, inputs, taps)
        One impulse response from every input channel to every output channel.
    dtype : float32 or float64
        Sample type of the audio, as in :func:`new_state`.
    partition : int, optional
        Partition size in samples; by default :func:`auto_partition`.

    Returns
    -------
    ConvolverState
        :func:`process` then takes ``(inputs, n)`` blocks and returns ``(outputs, n)``.

    Examples
    --------
    >>> import numpy as np
    >>> irs = np.zeros((2, 3, 4))
    >>> irs[0, 0, 0] = irs[1, 1, 1] = irs[1, 2, 0] = 1.0   # left <- in 0; right <- in 1 (delayed) + in 2
    >>> x = np.arange(9.0).reshape(3, 3)
    >>> process(x, new_matrix_state(irs, np.float64))
    array([[ 0.,  1.,  2.],
           [ 6., 10., 12.]])
    """
    real = np.dtype(dtype)
    cplx = np.result_type(real, np.complex64)
    irs = np.asarray(irs, dtype=np.float64)
    outputs, inputs, taps = irs.shape
    p = auto_partition(taps) if partition is None else int(partition)
    k = max(1, -(-taps // p))
    padded = np.zeros((outputs, inputs, k * p))
    padded[:, :, :taps] = irs
    parts = padded.reshape(outputs, inputs, k, p).transpose(2, 0, 1, 3)  # (K, outputs, inputs, P)
    spectra = scipy.fft.rfft(parts, n=2 * p, axis=-1).astype(cplx)
    return ConvolverState(
        partition=p,
        spectra=spectra,
        active=np.any(parts != 0.0, axis=(1, 2, 3)),
        head=parts[0].astype(real),
        history=np.zeros((k - 1, inputs, p + 1), cplx),
        window=np.zeros((inputs, 2 * p), real),
    )


def _outputs(state: ConvolverState) -> int | None:
    """Output channels of a matrix convolution; None when each channel has its own output."""
    return int(state.spectra.shape[1]) if state.spectra.ndim == 4 else None


def _apply(x_spectra: np.ndarray, h_spectra: np.ndarray) -> np.ndarray:
    """Spectra ``(..., inputs, bins)`` through a matrix ``(outputs, inputs, bins)``, summed over inputs."""
    outputs = h_spectra.shape[0]
    y = np.empty((*x_spectra.shape[:-2], outputs, x_spectra.shape[-1]), x_spectra.dtype)
    for o in range(outputs):  # a product and a sum per output: three times faster than np.einsum here
        np.sum(x_spectra * h_spectra[o], axis=-2, out=y[..., o, :])
    return y


def process(x: np.ndarray, state: ConvolverState) -> np.ndarray:
    """Convolve the block ``x`` (channels, n) and return ``(channels, n)``; updates ``state``.

    For a matrix state (:func:`new_matrix_state`) ``x`` has the ``inputs``
    channels and the result the ``outputs`` channels.
    """
    outputs = _outputs(state)
    y = np.empty_like(x) if outputs is None else np.empty((outputs, x.shape[1]), x.dtype)
    p = state.partition
    n = x.shape[1]
    # A batch's temporaries hold every channel's frames: a matrix state with many inputs
    # takes fewer blocks at a time, so that they stay about as large as a one-channel batch's.
    per_channel = 1 if outputs is None else max(1, x.shape[0])
    i = 0
    while i < n:
        if state.fill == 0 and n - i >= p:
            k = state.spectra.shape[0]
            count = min(
                (n - i) // p,
                max(k, _BATCH_MIN // (p * per_channel)),
                max(1, _BATCH_MAX // (p * per_channel)),
            )
            y[:, i : i + count * p] = _whole_blocks(x[:, i : i + count * p], state, count)
            i += count * p
        else:
            m = min(n - i, p - state.fill)
            y[:, i : i + m] = _segment(x[:, i : i + m], state)
            i += m
    return y


def _whole_blocks(x: np.ndarray, state: ConvolverState, count: int) -> np.ndarray:
    """Output of ``count`` complete, block-aligned blocks: one FFT and one inverse FFT each."""
    p = state.partition
    channels = x.shape[0]
    k = state.spectra.shape[0]
    # Overlap-save frames [previous block, block], transformed in one call.
    joined = np.concatenate((state.window[:, :p], x), axis=1)
    frames = np.lib.stride_tricks.sliding_window_view(joined, 2 * p, axis=1)[:, ::p]
    spectra = scipy.fft.rfft(frames, axis=-1).transpose(1, 0, 2)  # (count, channels, P + 1)
    every = np.concatenate((state.history, spectra)) if k > 1 else spectra
    outputs = _outputs(state)
    if outputs is None:
        acc = np.zeros_like(spectra)
        scratch = np.empty_like(spectra)
        for j in np.flatnonzero(state.active):
            np.multiply(every[k - 1 - j : k - 1 - j + count], state.spectra[j], out=scratch)
            acc += scratch
    else:
        channels = outputs
        acc = np.zeros((count, outputs, p + 1), spectra.dtype)
        for j in np.flatnonzero(state.active):
            product = _apply(every[k - 1 - j : k - 1 - j + count], state.spectra[j])
            if k == 1:
                acc = product
            else:
                acc += product
    y = scipy.fft.irfft(acc, n=2 * p, axis=-1)[:, :, p:]  # (count, channels, P)
    if k > 1:
        state.history = every[-(k - 1) :].copy()
    state.window[:, :p] = x[:, -p:]
    return y.transpose(1, 0, 2).reshape(channels, count * p)


def _segment(x: np.ndarray, state: ConvolverState) -> np.ndarray:
    """Output of ``m`` samples that do not complete an aligned block by themselves."""
    p = state.partition
    m = x.shape[1]
    fill = state.fill
    if fill == 0:
        state.tail = _tail(state)
    state.window[:, p + fill : p + fill + m] = x
    y = state.tail[:, fill : fill + m].copy()  # type: ignore[index]
    if state.active[0]:
        region = state.window[:, fill + 1 : p + fill + m]  # the P - 1 samples before, then x
        y += _head(region, m, state)
    state.fill = fill + m
    if state.fill == p:
        _push(state)
    return y


def _tail(state: ConvolverState) -> np.ndarray:
    """The current block's output from partitions 1..K-1 (earlier input blocks only)."""
    p = state.partition
    k = state.spectra.shape[0]
    outputs = _outputs(state)
    channels = state.window.shape[0] if outputs is None else outputs
    acc = np.zeros((channels, p + 1), state.history.dtype)
    for j in np.flatnonzero(state.active[1:]) + 1:
        if outputs is None:
            acc += state.history[k - 1 - j] * state.spectra[j]
        else:
            acc += _apply(state.history[k - 1 - j], state.spectra[j])
    return scipy.fft.irfft(acc, n=2 * p, axis=-1)[:, p:]


def _head(region: np.ndarray, m: int, state: ConvolverState) -> np.ndarray:
    """First-partition output for ``m`` samples from ``region`` (their P - 1 predecessors, then them)."""
    head = state.head
    channels = region.shape[0]
    p = state.partition
    outputs = _outputs(state)
    if m <= _DIRECT_MAX:
        if outputs is not None:
            out = np.zeros((outputs, m), region.dtype)
            for o in range(outputs):
                for c in range(channels):
                    out[o] += np.convolve(region[c], head[o, c], mode="valid")
            return out
        out = np.empty((channels, m), region.dtype)
        for c in range(channels):
            out[c] = np.convolve(region[c], head[c if head.shape[0] > 1 else 0], mode="valid")
        return out
    size = scipy.fft.next_fast_len(p + m - 1, real=True)
    spectrum = state.head_spectra.get(size)
    if spectrum is None:
        if len(state.head_spectra) >= _HEAD_CACHE:
            state.head_spectra.pop(next(iter(state.head_spectra)))
        spectrum = scipy.fft.rfft(head.astype(np.float64), n=size, axis=-1).astype(state.history.dtype)
        state.head_spectra[size] = spectrum
    x_spectrum = scipy.fft.rfft(region, n=size, axis=-1)
    product = x_spectrum * spectrum if outputs is None else _apply(x_spectrum, spectrum)
    full = scipy.fft.irfft(product, n=size, axis=-1)
    return full[:, p - 1 : p - 1 + m]


def _push(state: ConvolverState) -> None:
    """Close the current block: transform it into the delay line and start the next."""
    p = state.partition
    if state.history.shape[0]:
        spectrum = scipy.fft.rfft(state.window, axis=-1)
        state.history[:-1] = state.history[1:]
        state.history[-1] = spectrum
    state.window[:, :p] = state.window[:, p:]
    state.fill = 0
    state.tail = None

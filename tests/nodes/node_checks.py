"""Helpers every node test uses: streamed == whole, and the test signals.

Node examples for the shared contract test (tests/nodes/test_contract.py) live
in ``tests/nodes/examples_<area>.py`` files, each defining ``EXAMPLES``: a list
of ``(node, key_channels)`` pairs, ``key_channels`` being None for nodes that
take no side-chain key.
"""

from __future__ import annotations

import copy

import numpy as np

from sonicmix.nodes.base import Node

#: Block sizes that catch off-by-one and buffer-boundary bugs (as pedalboard's tests do).
BLOCK_SIZES = (1, 2, 63, 64, 65, 4097)


def programme(rng: np.random.Generator, channels: int, n: int, dtype=np.float32) -> np.ndarray:
    """Noise bursts, a swept tone and silence: dynamic material for nodes to chew on."""
    t = np.arange(n) / 48000.0
    envelope = np.where((t % 0.37) < 0.2, 1.0, 0.05) * np.minimum(1.0, t * 10)
    noise = rng.standard_normal((channels, n)) * 0.25 * envelope
    sweep = 0.3 * np.sin(2 * np.pi * (50.0 * t + 800.0 * t * t))
    x = noise + sweep
    x[:, n // 2 : n // 2 + n // 10] = 0.0
    return x.astype(dtype)


def run_streamed(
    node: Node,
    x: np.ndarray,
    sample_rate: int,
    sizes,
    key: np.ndarray | None = None,
    *,
    state_dtype=None,
) -> np.ndarray:
    """Process ``x`` block by block; block lengths cycle through ``sizes``.

    The state is made for ``x.dtype``, or for ``state_dtype`` when given (a
    stream whose blocks do not match its state, to check the node refuses them).
    """
    state = node.init_state(x.shape[0], sample_rate, x.dtype if state_dtype is None else state_dtype)
    out, start, i = [], 0, 0
    n = x.shape[1]
    while start < n:
        size = sizes[i % len(sizes)]
        stop = min(n, start + size)
        k = None if key is None else key[:, start:stop]
        y, state = node.process(x[:, start:stop], sample_rate, state, key=k)
        out.append(y)
        start, i = stop, i + 1
    return np.concatenate(out, axis=1) if out else x[:, :0]


def assert_streaming_matches(
    node: Node,
    x: np.ndarray,
    sample_rate: int,
    sizes,
    *,
    key: np.ndarray | None = None,
    atol: float | None = None,
) -> None:
    """Block-wise output equals the one-shot output to float tolerance.

    The default tolerance is a few float32 (or float64) rounding steps at
    full scale: recursive filters restarted from saved state are bit-identical,
    but FFT-based and blocked vectorized kernels round differently.
    """
    whole = node(copy.deepcopy(x), sample_rate, key=key)
    streamed = run_streamed(node, x, sample_rate, sizes, key)
    assert streamed.shape == whole.shape
    assert streamed.dtype == whole.dtype
    tol = atol if atol is not None else (2e-5 if x.dtype == np.float32 else 1e-10)
    err = np.max(np.abs(streamed - whole)) if whole.size else 0.0
    assert err <= tol, (
        f"{node!r}: streamed differs from whole by {err:g} (tolerance {tol:g}) with sizes {sizes}"
    )

"""A fixed delay for ``(channels, n)`` blocks, with its history as state."""

from __future__ import annotations

import numpy as np

__all__ = ["DelayLine", "delayed_copy", "ring_delayed"]


class DelayLine:
    """Delays blocks of any size by ``delay`` samples (zeros come out first).

    Examples
    --------
    >>> line = DelayLine(1, 2, np.float32)
    >>> line(np.array([[1.0, 2.0, 3.0]], np.float32)).tolist(), line(np.array([[4.0]], np.float32)).tolist()
    ([[0.0, 0.0, 1.0]], [[2.0]])
    """

    def __init__(self, channels: int, delay: int, dtype: np.dtype) -> None:
        if delay < 0:
            raise ValueError(f"delay={delay}; expected a non-negative number of samples")
        self.delay = delay
        self.history = np.zeros((channels, delay), dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.delay == 0:
            return x
        if x.dtype != self.history.dtype:  # as concatenating would: both in their common type
            self.history = self.history.astype(np.result_type(self.history, x))
            x = x.astype(self.history.dtype, copy=False)
        # a new C array (a view of history + x would be strided, and its consumers would copy it)
        return delayed_copy(x, self.history)


def delayed_copy(x: np.ndarray, delay: np.ndarray | None) -> np.ndarray:
    """``x`` delayed by ``delay.shape[1]`` samples, as a new C array; ``delay`` is updated in place.

    ``delay`` holds the last samples of the stream so far (zeros at the start);
    None, or no columns, means no delay. The lookahead nodes build their output
    buffer this way, without the temporary a :class:`DelayLine` makes.

    Examples
    --------
    >>> history = np.zeros((1, 2), np.float32)
    >>> delayed_copy(np.array([[1.0, 2.0, 3.0]], np.float32), history).tolist(), history.tolist()
    ([[0.0, 0.0, 1.0]], [[2.0, 3.0]])
    """
    if delay is None or delay.shape[1] == 0:
        return x.copy()
    n, lag = x.shape[1], delay.shape[1]
    y = np.empty(x.shape, x.dtype)
    if n >= lag:
        y[:, :lag] = delay
        y[:, lag:] = x[:, : n - lag]
        delay[:] = x[:, n - lag :]
    else:
        y[:] = delay[:, :n]
        delay[:, : lag - n] = delay[:, n:]
        delay[:, lag - n :] = x
    return y


def ring_delayed(x: np.ndarray, ring: np.ndarray, position: int) -> tuple[np.ndarray, int]:
    """``x`` delayed by ``ring.shape[1]`` samples through a circular buffer: ``(y, next position)``.

    The cost is the block's length, not the delay's: for long delays fed in
    small blocks (a leveler's second of lookahead in 64-sample blocks), where
    :func:`delayed_copy` would move the whole history on every call.

    Examples
    --------
    >>> ring = np.zeros((1, 2), np.float32)
    >>> y, at = ring_delayed(np.array([[1.0, 2.0, 3.0]], np.float32), ring, 0)
    >>> y.tolist(), ring_delayed(np.array([[4.0]], np.float32), ring, at)[0].tolist()
    ([[0.0, 0.0, 1.0]], [[2.0]])
    """
    lag, n = ring.shape[1], x.shape[1]
    if lag == 0:
        return x.copy(), 0
    y = np.empty(x.shape, x.dtype)
    if n >= lag:
        y[:, : lag - position] = ring[:, position:]
        y[:, lag - position : lag] = ring[:, :position]
        y[:, lag:] = x[:, : n - lag]
        ring[:] = x[:, n - lag :]
        return y, 0
    first = min(n, lag - position)  # up to the ring's end, then from its start
    y[:, :first] = ring[:, position : position + first]
    ring[:, position : position + first] = x[:, :first]
    y[:, first:] = ring[:, : n - first]
    ring[:, : n - first] = x[:, first:]
    return y, (position + n) % lag

"""A gain matrix applied to a stream, gliding to new values without steps (zipper noise).

The spatial nodes (:class:`~sonicmix.nodes.objectpanner.ObjectPanner`, the
Ambisonics encoder, rotator and decoder) are each a matrix from input to output
channels. When automation moves a source or turns a scene, the node's
``retune`` gives the stream a new target matrix, and the gains move from the
ones in force to the target along a straight line over ``ramp_samples``
samples, one step per sample. A glide depends only on the samples since the
retune, never on how the stream is cut into blocks, so streamed output equals
one-shot output.

Examples
--------
>>> import numpy as np
>>> state = MatrixState.fixed(np.array([[1.0], [0.0]]), unit_rows=np.array([True, True]))
>>> state = glide_to(state, np.array([[0.0], [1.0]]), key=("right",), ramp_samples=4)
>>> y, state = apply_matrix(np.ones((1, 6)), state)
>>> y.round(4)
array([[0.9487, 0.7071, 0.3162, 0.    , 0.    , 0.    ],
       [0.3162, 0.7071, 0.9487, 1.    , 1.    , 1.    ]])

(``unit_rows`` names the rows, the loudspeakers of a panner, whose gains are
kept at unit power in every column while gliding; the Ambisonics nodes glide
linearly, with ``unit_rows=None``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sonicmix._typing import Audio
from sonicmix.nodes.base import Node

__all__ = ["MatrixState", "glide_to", "apply_matrix"]


@dataclass(slots=True)
class MatrixState:
    """Stream state of a matrix node: the gains in force and the glide under way.

    Attributes
    ----------
    target : np.ndarray, shape=(outputs, inputs)
        The matrix the gains move to (and stay at), float64.
    start : np.ndarray, shape=(outputs, inputs)
        The gains when the glide began.
    current : np.ndarray, shape=(outputs, inputs)
        The gains of the last sample processed.
    done, total : int
        Samples of the glide processed so far, and its length (``done ==
        total``: no glide under way).
    key : tuple
        The parameters ``target`` was made from: a retune to the same ones
        changes nothing.
    unit_rows : np.ndarray of bool, shape=(outputs,), or None
        Rows whose gains are scaled to unit sum of squares in each column
        while gliding (a panner's loudspeakers, not its LFE); None: a plain
        linear glide.
    """

    target: np.ndarray
    start: np.ndarray
    current: np.ndarray
    done: int = 0
    total: int = 0
    key: tuple[Any, ...] = field(default_factory=tuple)
    unit_rows: np.ndarray | None = None

    @classmethod
    def fixed(
        cls, matrix: np.ndarray, *, key: tuple[Any, ...] = (), unit_rows: np.ndarray | None = None
    ) -> MatrixState:
        """A state at ``matrix``, with no glide under way."""
        m = np.array(matrix, dtype=np.float64)
        return cls(m, m.copy(), m.copy(), 0, 0, key, unit_rows)


def glide_to(
    state: MatrixState, matrix: np.ndarray, *, key: tuple[Any, ...], ramp_samples: int
) -> MatrixState:
    """Start a glide from the gains in force to ``matrix`` (nothing changes if ``key`` is the state's).

    A glide under way is cut short: the new one starts from the gains of the
    last sample processed. With ``ramp_samples=0`` the new gains hold from the
    next sample.
    """
    if key == state.key:
        return state
    m = np.array(matrix, dtype=np.float64)
    if ramp_samples <= 0:
        return MatrixState(m, m.copy(), m.copy(), 0, 0, key, state.unit_rows)
    current = state.current.copy()
    return MatrixState(m, current, current.copy(), 0, int(ramp_samples), key, state.unit_rows)


def apply_matrix(x: Audio, state: MatrixState) -> tuple[Audio, MatrixState]:
    """``y = G x`` for a block ``x`` of shape ``(inputs, n)``, the gains gliding as the state says.

    The output has ``x``'s dtype; gliding gains are computed in float64, per sample, and applied
    in ``x``'s dtype.
    """
    n = x.shape[1]
    y = np.empty((state.target.shape[0], n), dtype=x.dtype)
    k = 0
    if state.done < state.total:
        k = min(n, state.total - state.done)
        w = (state.done + np.arange(1, k + 1, dtype=np.float64)) / state.total
        a, d = state.start, state.target - state.start
        # G(w) = A + w D, so G(w) x = A x + w (D x): two fixed mixes and a per-sample weight
        xk = x[:, :k].astype(np.float64)
        out = np.empty((a.shape[0], k))
        rows = np.ones(a.shape[0], bool) if state.unit_rows is None else state.unit_rows
        if state.unit_rows is not None:
            # each column's unit rows scaled back to unit power: |a + w d|^2 per sample, in closed form
            aa = np.sum(a[rows] ** 2, axis=0)[:, None]
            ad = np.sum(a[rows] * d[rows], axis=0)[:, None]
            dd = np.sum(d[rows] ** 2, axis=0)[:, None]
            power = aa + 2.0 * w * ad + w * w * dd  # (in, k)
            scaled = xk / np.sqrt(np.where(power > 0.0, power, 1.0))
            out[rows] = _glide(a[rows], d[rows], w, scaled)
            out[~rows] = _glide(a[~rows], d[~rows], w, xk)
        else:
            out = _glide(a, d, w, xk)
        y[:, :k] = out
        state.done += k
        if state.done == state.total:
            state.current = state.target.copy()
        else:
            g = a + w[-1] * d
            if state.unit_rows is not None:
                g[rows] /= np.sqrt(np.maximum(np.sum(g[rows] ** 2, axis=0, keepdims=True), 1e-300))
            state.current = g
    if k < n:
        _mix(state.target.astype(x.dtype)[:, :, None], x[:, k:], y[:, k:])
    return y, state


def _glide(a: np.ndarray, d: np.ndarray, w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(a + w d) x`` sample by sample: ``a x + w (d x)``."""
    out = np.empty((a.shape[0], x.shape[1]))
    if out.shape[0] == 0:
        return out
    fixed = np.empty_like(out)
    _mix(a[:, :, None], x, fixed)
    _mix(d[:, :, None], x, out)
    out *= w
    out += fixed
    return out


def _mix(g: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """``out = sum_i g[:, i] * x[i]`` for ``g`` of shape ``(outputs, inputs, 1)``, input by input.

    Elementwise products and sums, so every sample is summed in the same order whatever the
    block's length: a BLAS product (or ``einsum``) switches kernels with the length, and float32
    results then differ in the last bit between a whole render and a block-wise one (a one-sample
    block at a control-block boundary is enough); tests/spatial checks them bit for bit.
    """
    np.multiply(g[:, 0], x[0], out=out)
    if x.shape[0] > 1:
        term = np.empty_like(out)
        for i in range(1, x.shape[0]):
            np.multiply(g[:, i], x[i], out=term)
            out += term


class GainMatrixNode(Node):
    """A node that multiplies its channels by a gain matrix gliding to each new value.

    The streaming part that ObjectPanner and the Ambisonics nodes share: a subclass
    gives :meth:`_target` (the matrix for ``inputs`` channels) and :meth:`_key` (the
    parameters it depends on, so a retune to the same ones changes nothing), and
    has a ``ramp_s`` field when it can be automated.
    """

    __slots__ = ()

    def _target(self, inputs: int) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - every subclass gives its matrix

    def _key(self) -> tuple[Any, ...]:
        return ()

    def retune(self, state: MatrixState, sample_rate: int) -> MatrixState:
        if self._key() == state.key:  # before building the matrix: automation retunes every block
            return state
        ramp = round(self.ramp_s * sample_rate)  # type: ignore[attr-defined]
        return glide_to(state, self._target(state.target.shape[1]), key=self._key(), ramp_samples=ramp)

    def process(
        self, x: Audio, sample_rate: int, state: MatrixState, *, key: Audio | None = None
    ) -> tuple[Audio, MatrixState]:
        return apply_matrix(x, state)

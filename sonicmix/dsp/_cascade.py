"""Compiled biquad cascades (transposed direct form II), the arithmetic of ``scipy.signal.sosfilt``.

scipy filters one channel at a time and one sample at a time through all
sections; each section's recursion (multiply, add, multiply-subtract) is a
chain of dependent floating-point operations, so the loop waits on latency
rather than on arithmetic. These kernels keep the state in registers and run
two channels side by side, and two or three sections per pass over the
block: the processor overlaps the independent recursions. A pass of one
section waits on its recursion most of the time, so a cascade is split into
threes, but four sections into two twos (3 + 1 took 5.0 ns per
channel-sample on a 4-section stereo float32 EQ, 2 + 2 took 3.75). Measured
here on a 3-section stereo cascade in float32: 2.5 ns per channel-sample
against 7.1 for ``sosfilt``, with bit-identical output (same operations in
the same order, no contraction into fused multiply-adds).

The audio may be float32 with float64 sections and state (a design that is
not float32-safe): each sample is widened on load and the result rounded on
store, which is what scipy computes on a float64 copy.

This module imports numba; import it only where filtering happens.
"""

from __future__ import annotations

import numpy as np

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = ["cascade", "tdf2"]

_CHUNK = 16384


def cascade(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter ``x`` ``(channels, n)`` through ``sos`` ``(sections, 6)`` from state ``zi``.

    Returns ``(y, zf)`` like ``scipy.signal.sosfilt(sos, x, axis=-1, zi=zi)``;
    ``y`` has ``x``'s dtype, ``zf`` is a new array of ``zi``'s dtype.

    Examples
    --------
    >>> import scipy.signal as ss
    >>> sos = ss.butter(4, 1000.0, fs=48000, output="sos").astype(np.float32)
    >>> x = np.random.default_rng(1).standard_normal((2, 1000)).astype(np.float32)
    >>> zi = np.zeros((2, 2, 2), np.float32)
    >>> y, zf = cascade(sos, x, zi)
    >>> ref, ref_zf = ss.sosfilt(sos, x, zi=zi)
    >>> bool(np.array_equal(y, ref) and np.array_equal(zf, ref_zf))
    True
    """
    # Every array reaches the kernels C-contiguous, so each dtype pairing compiles once: a
    # column slice would be another numba type (and another compile of every pass).
    zf = np.array(zi, copy=True, order="C")
    sos = np.ascontiguousarray(sos)
    x = np.ascontiguousarray(x)
    if x.dtype == sos.dtype:
        y = np.empty_like(x)
        _run(sos, x, zf, y)
        return y, zf
    # wider sections than audio: keep the intermediate signal between passes in the
    # sections' precision, a cache-sized block at a time, and round once at the end
    y = np.empty_like(x)
    channels, size = x.shape[0], min(x.shape[1], _CHUNK)
    held, work = np.empty(channels * size, x.dtype), np.empty(channels * size, sos.dtype)
    for start in range(0, x.shape[1], _CHUNK):
        n = min(x.shape[1], start + _CHUNK) - start
        part_in = held[: channels * n].reshape(channels, n)
        part = work[: channels * n].reshape(channels, n)
        part_in[...] = x[:, start : start + n]
        _run(sos, part_in, zf, part)
        y[:, start : start + n] = part
    return y, zf


@numba.njit(cache=True, nogil=True, inline="always")
def tdf2(x, b0, b1, b2, a1, a2, z1, z2):  # pragma: no cover - compiled
    """One sample through one biquad in transposed direct form II: ``(y, z1, z2)`` after it.

    The operations and their order are those of ``scipy.signal.sosfilt``; inlined
    into the kernels that call it, so the state stays in registers.
    """
    y = b0 * x + z1
    return y, b1 * x - a1 * y + z2, b2 * x - a2 * y


@numba.njit(cache=True, nogil=True)
def _run(sos, x, z, y):  # pragma: no cover - compiled
    sections = sos.shape[0]
    if sections == 0:
        for c in range(x.shape[0]):
            for n in range(x.shape[1]):
                y[c, n] = x[c, n]
        return
    # The first pass reads the input, later passes work in place on the output. The first
    # section's index is an int64, not the literal 0: numba compiles a callee once per argument
    # type, and a literal would compile all six passes twice over (issue 18: 24 compiles, not 6).
    s = _group(sos, np.int64(0), x, z, y)
    while s < sections:
        s = _group(sos, s, y, z, y)


@numba.njit(cache=True, nogil=True, inline="always")
def _group(sos, s, x, z, y):  # pragma: no cover - compiled
    """Sections ``s..s+2``, ``s..s+1`` or ``s`` through every channel; return the next ``s``.

    Threes, but a remainder of four goes as two twos and of two as a two: a
    lone section pass is bound by its recursion's latency, not by arithmetic.
    Each pass is a function of its own, not inlined: in one function the six
    loops compiled for 16 vector registers (AVX2) spilled their state, 7.2
    instead of 4.9 ns per channel-sample on the 4-section stereo EQ (with
    AVX-512's 32 registers the two were alike).
    """
    left = sos.shape[0] - s
    width = 2 if left == 2 or left == 4 else (3 if left >= 3 else 1)
    channels = x.shape[0]
    # range() indices, never a counter started at the literal 0: while typing such a counter,
    # numba compiles the passes for Literal[int](0) as well as for int64
    for c in range(0, channels - 1, 2):
        if width == 3:
            _three_pair(sos, s, x, z, y, c)
        elif width == 2:
            _two_pair(sos, s, x, z, y, c)
        else:
            _one_pair(sos, s, x, z, y, c)
    if channels % 2:
        c = channels - 1
        if width == 3:
            _three(sos, s, x, z, y, c)
        elif width == 2:
            _two(sos, s, x, z, y, c)
        else:
            _one(sos, s, x, z, y, c)
    return s + width


@numba.njit(cache=True, nogil=True)
def _two_pair(sos, s, x, z, y, c):  # pragma: no cover - compiled
    # The coefficients are read from sos in the loop: the stores to y might alias sos, so they
    # stay memory operands, and the eight states keep the registers. Hoisted into registers (as
    # in _three_pair) they took 18 of AVX2's 16 vector registers and a state was spilled to the
    # stack in the recursion: 6.0 against 4.0 ns per channel-sample for 2 + 2 sections on AVX2,
    # the same 3.8-4.1 for both with AVX-512's 32 registers.
    a, b = sos[s], sos[s + 1]
    d = c + 1
    p0, p1, q0, q1 = z[s, c, 0], z[s, c, 1], z[s + 1, c, 0], z[s + 1, c, 1]
    P0, P1, Q0, Q1 = z[s, d, 0], z[s, d, 1], z[s + 1, d, 0], z[s + 1, d, 1]
    for n in range(x.shape[1]):
        v = x[c, n]
        V = x[d, n]
        u, p0, p1 = tdf2(v, a[0], a[1], a[2], a[4], a[5], p0, p1)
        U, P0, P1 = tdf2(V, a[0], a[1], a[2], a[4], a[5], P0, P1)
        w, q0, q1 = tdf2(u, b[0], b[1], b[2], b[4], b[5], q0, q1)
        W, Q0, Q1 = tdf2(U, b[0], b[1], b[2], b[4], b[5], Q0, Q1)
        y[c, n] = w
        y[d, n] = W
    z[s, c, 0], z[s, c, 1], z[s + 1, c, 0], z[s + 1, c, 1] = p0, p1, q0, q1
    z[s, d, 0], z[s, d, 1], z[s + 1, d, 0], z[s + 1, d, 1] = P0, P1, Q0, Q1


@numba.njit(cache=True, nogil=True)
def _two(sos, s, x, z, y, c):  # pragma: no cover - compiled
    a0, a1, a2, a4, a5 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
    b0, b1, b2, b4, b5 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2], sos[s + 1, 4], sos[s + 1, 5]
    p0, p1, q0, q1 = z[s, c, 0], z[s, c, 1], z[s + 1, c, 0], z[s + 1, c, 1]
    for n in range(x.shape[1]):
        u, p0, p1 = tdf2(x[c, n], a0, a1, a2, a4, a5, p0, p1)
        w, q0, q1 = tdf2(u, b0, b1, b2, b4, b5, q0, q1)
        y[c, n] = w
    z[s, c, 0], z[s, c, 1], z[s + 1, c, 0], z[s + 1, c, 1] = p0, p1, q0, q1


@numba.njit(cache=True, nogil=True)
def _three_pair(sos, s, x, z, y, c):  # pragma: no cover - compiled
    a0, a1, a2, a4, a5 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
    b0, b1, b2, b4, b5 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2], sos[s + 1, 4], sos[s + 1, 5]
    c0, c1, c2, c4, c5 = sos[s + 2, 0], sos[s + 2, 1], sos[s + 2, 2], sos[s + 2, 4], sos[s + 2, 5]
    p0, p1, q0, q1, r0, r1 = (
        z[s, c, 0],
        z[s, c, 1],
        z[s + 1, c, 0],
        z[s + 1, c, 1],
        z[s + 2, c, 0],
        z[s + 2, c, 1],
    )
    d = c + 1
    P0, P1, Q0, Q1, R0, R1 = (
        z[s, d, 0],
        z[s, d, 1],
        z[s + 1, d, 0],
        z[s + 1, d, 1],
        z[s + 2, d, 0],
        z[s + 2, d, 1],
    )
    for n in range(x.shape[1]):
        v = x[c, n]
        V = x[d, n]
        u, p0, p1 = tdf2(v, a0, a1, a2, a4, a5, p0, p1)
        U, P0, P1 = tdf2(V, a0, a1, a2, a4, a5, P0, P1)
        w, q0, q1 = tdf2(u, b0, b1, b2, b4, b5, q0, q1)
        W, Q0, Q1 = tdf2(U, b0, b1, b2, b4, b5, Q0, Q1)
        o, r0, r1 = tdf2(w, c0, c1, c2, c4, c5, r0, r1)
        o2, R0, R1 = tdf2(W, c0, c1, c2, c4, c5, R0, R1)
        y[c, n] = o
        y[d, n] = o2
    z[s, c, 0], z[s, c, 1], z[s + 1, c, 0], z[s + 1, c, 1], z[s + 2, c, 0], z[s + 2, c, 1] = (
        p0,
        p1,
        q0,
        q1,
        r0,
        r1,
    )
    z[s, d, 0], z[s, d, 1], z[s + 1, d, 0], z[s + 1, d, 1], z[s + 2, d, 0], z[s + 2, d, 1] = (
        P0,
        P1,
        Q0,
        Q1,
        R0,
        R1,
    )


@numba.njit(cache=True, nogil=True)
def _three(sos, s, x, z, y, c):  # pragma: no cover - compiled
    a0, a1, a2, a4, a5 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
    b0, b1, b2, b4, b5 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2], sos[s + 1, 4], sos[s + 1, 5]
    c0, c1, c2, c4, c5 = sos[s + 2, 0], sos[s + 2, 1], sos[s + 2, 2], sos[s + 2, 4], sos[s + 2, 5]
    p0, p1, q0, q1, r0, r1 = (
        z[s, c, 0],
        z[s, c, 1],
        z[s + 1, c, 0],
        z[s + 1, c, 1],
        z[s + 2, c, 0],
        z[s + 2, c, 1],
    )
    for n in range(x.shape[1]):
        v = x[c, n]
        u, p0, p1 = tdf2(v, a0, a1, a2, a4, a5, p0, p1)
        w, q0, q1 = tdf2(u, b0, b1, b2, b4, b5, q0, q1)
        o, r0, r1 = tdf2(w, c0, c1, c2, c4, c5, r0, r1)
        y[c, n] = o
    z[s, c, 0], z[s, c, 1], z[s + 1, c, 0], z[s + 1, c, 1], z[s + 2, c, 0], z[s + 2, c, 1] = (
        p0,
        p1,
        q0,
        q1,
        r0,
        r1,
    )


@numba.njit(cache=True, nogil=True)
def _one_pair(sos, s, x, z, y, c):  # pragma: no cover - compiled
    a0, a1, a2, a4, a5 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
    d = c + 1
    p0, p1, P0, P1 = z[s, c, 0], z[s, c, 1], z[s, d, 0], z[s, d, 1]
    for n in range(x.shape[1]):
        v = x[c, n]
        V = x[d, n]
        u, p0, p1 = tdf2(v, a0, a1, a2, a4, a5, p0, p1)
        U, P0, P1 = tdf2(V, a0, a1, a2, a4, a5, P0, P1)
        y[c, n] = u
        y[d, n] = U
    z[s, c, 0], z[s, c, 1], z[s, d, 0], z[s, d, 1] = p0, p1, P0, P1


@numba.njit(cache=True, nogil=True)
def _one(sos, s, x, z, y, c):  # pragma: no cover - compiled
    a0, a1, a2, a4, a5 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
    p0, p1 = z[s, c, 0], z[s, c, 1]
    for n in range(x.shape[1]):
        v = x[c, n]
        u, p0, p1 = tdf2(v, a0, a1, a2, a4, a5, p0, p1)
        y[c, n] = u
    z[s, c, 0], z[s, c, 1] = p0, p1

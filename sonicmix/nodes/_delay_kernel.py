"""Compiled inner loop of :class:`sonicmix.nodes.delay.Delay`.

A feedback delay with a filter in the loop is a true recursion. It can be
computed exactly in vectorized blocks of at most the delay length, but each
block then costs a ``scipy.signal.sosfilt`` call (about 27 us of overhead
here), which is ruinous for short delays; a plain compiled loop costs the
same few nanoseconds per sample whatever the delay.

This module imports numba, so it is imported only when a Delay runs.
"""

from __future__ import annotations

import numpy as np

from sonicmix._compile import numba  # registers the first-run compile notice


@numba.njit(cache=True, nogil=True)
def feedback_delay(x, y, ring, position, sos, zf, feedback, dry, wet):  # pragma: no cover - compiled
    """Run the delay over the block ``x`` into ``y``; return the next ring position.

    ``ring[c]`` holds the last ``D`` values written to the delay line of
    channel ``c`` (``D = ring.shape[1]``); the value at ``position`` is the one
    written ``D`` samples ago. Per sample: ``w = ring[position]`` (the
    delayed signal), ``f = sos(w)`` (the feedback filter, transposed direct
    form II, state ``zf[c, section, 0:2]``), ``ring[position] = x + feedback *
    f`` and ``y = dry * x + wet * w``. Arithmetic is float64.
    """
    n_ch, n = x.shape
    d = ring.shape[1]
    n_sec = sos.shape[0]
    p = position
    for c in range(n_ch):
        p = position
        for i in range(n):
            u = np.float64(x[c, i])
            w = ring[c, p]
            f = w
            for s in range(n_sec):
                out = sos[s, 0] * f + zf[c, s, 0]
                zf[c, s, 0] = sos[s, 1] * f - sos[s, 4] * out + zf[c, s, 1]
                zf[c, s, 1] = sos[s, 2] * f - sos[s, 5] * out
                f = out
            ring[c, p] = u + feedback * f
            y[c, i] = dry * u + wet * w
            p += 1
            if p == d:
                p = 0
    return p

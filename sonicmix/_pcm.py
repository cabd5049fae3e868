"""Float samples to PCM in one compiled pass: seeded TPDF dither, rounding, clipping, packing.

Converting with numpy took a dozen passes over every block (scale, two
uniform draws per sample from ``np.random.Generator``, their sum, rounding,
two range checks, an integer cast, three byte-column copies, the float copy
of what is stored): 12.7 ns per sample here, more than rendering a node. The
kernel below does it all per sample, in the order the samples sit in the
file: 4.1 ns with dither, 2.5 without (the whole PCM_24 write, system call
included, went from 12.7 to 6.3 ns).

The dither comes from SplitMix64 (Steele, Lea & Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014; the finaliser is Stafford's
"Mix13"), one 64-bit output per sample: its top 24 bits and the next 24 make
the two uniform variables on ``[0, 1)`` whose sum minus one is the triangular
(TPDF) dither on ``[-1, 1)`` LSB. The generator's state is one integer, so a
writer's stream is a pure function of its seed and the number of samples
before: the bytes do not depend on how the audio is cut into blocks.

Float WAV data has a kernel here too, :func:`interleave_float32`: the interleaving
into the file's byte order, the ``PEAK`` chunk's running maxima and the test for
non-finite samples in one pass with Python's lock released, so that the files of
a delivery are written side by side in threads (the numpy version held the lock
between a dozen small calls per block).

This module imports numba; :mod:`sonicmix.io` imports it only when it writes.
"""

from __future__ import annotations

import numpy as np

from sonicmix._compile import numba  # registers the first-run compile notice

__all__ = ["Quantiser", "interleave_float32"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S40, _S16 = np.uint64(40), np.uint64(16)
_LOW24 = np.uint64(0xFFFFFF)
_UNIT24 = 2.0**-24
#: The bits of float32 infinity: a sample's bits with the sign cleared are at least this when it
#: is not finite, and compare as its magnitude does when it is (IEEE 754 orders them so).
_INF_BITS = 0x7F800000


class Quantiser:
    """Quantise ``(channels, n)`` blocks to ``bits``-bit PCM bytes, with seeded TPDF dither.

    ``width`` bytes per sample hold ``level << shift``, little-endian: 2 and 0
    for 16-bit WAV (and FLAC, as int16), 3 and 0 for 24-bit WAV, 4 and 8 for
    24-bit FLAC through soundfile (int32 with the level in the top 24 bits).

    Examples
    --------
    >>> q = Quantiser(16, seed=0, dither=False)
    >>> raw, clipped = q(np.array([[0.5, -1.0, 2.0]], np.float32))
    >>> raw.view("<i2").tolist(), clipped
    ([16384, -32768, 32767], 1)
    """

    def __init__(
        self, bits: int, *, seed: int, dither: bool, width: int | None = None, shift: int = 0
    ) -> None:
        self.bits = bits
        self.scale = float(2 ** (bits - 1))
        self.width = bits // 8 if width is None else width
        self.shift = shift
        self.dither = dither
        self.state = np.array([seed % 2**64], np.uint64)
        self._bytes = np.empty(0, np.uint8)

    def __call__(self, block: np.ndarray, kept: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """The bytes of ``block`` (valid until the next call) and how many samples clipped.

        ``kept``, a float32 ``(channels, n)`` array, receives the stored levels
        over full scale: what reading the file back gives.
        """
        size = block.shape[0] * block.shape[1] * self.width
        if self._bytes.size < size:  # grown, never shrunk
            self._bytes = np.empty(size, np.uint8)
        out = self._bytes[:size]
        store = np.empty((0, 0), np.float32) if kept is None else kept
        clipped = _quantise(block, self.scale, self.dither, self.state, self.width, self.shift, out, store)
        return out, int(clipped)


@numba.njit(cache=True, nogil=True)
def _quantise(x, scale, dither, state, width, shift, out, kept):  # pragma: no cover - compiled
    channels, n = x.shape
    low = -scale
    high = scale - 1.0
    inverse = 1.0 / scale
    store = kept.shape[1] > 0
    s = state[0]
    clipped = 0
    k = 0
    for i in range(n):
        for c in range(channels):
            v = np.float64(x[c, i]) * scale
            if dither:
                s += _GOLDEN
                z = (s ^ (s >> _S30)) * _MIX1
                z = (z ^ (z >> _S27)) * _MIX2
                z = z ^ (z >> _S31)
                # through int64: converting an unsigned 64-bit integer to float costs a fix-up
                first = np.float64(np.int64(z >> _S40))
                second = np.float64(np.int64((z >> _S16) & _LOW24))
                v += (first + second) * _UNIT24 - 1.0
            r = np.rint(v)
            if r != r:  # NaN (written only when the caller skipped the check): silence
                r = 0.0
            # min/max, not branches: loud material clips at random, and mispredictions cost 2x
            v = min(max(r, low), high)
            clipped += v != r
            if store:
                kept[c, i] = v * inverse
            q = np.int64(v) << shift
            out[k] = q & 0xFF
            out[k + 1] = (q >> 8) & 0xFF
            if width > 2:
                out[k + 2] = (q >> 16) & 0xFF
                if width > 3:
                    out[k + 3] = (q >> 24) & 0xFF
            k += width
    state[0] = s
    return clipped


@numba.njit(cache=True, nogil=True)
def interleave_float32(rows, start, stop, out, peaks, positions, frames):  # pragma: no cover - compiled
    """Interleave ``rows[:, start:stop]`` into ``out`` and raise the running peaks; True if all finite.

    ``rows`` is a C-ordered, writable float32 ``(channels, n)`` array (one compiled
    type), ``out`` a float32 array of ``channels * (stop - start)`` samples in file
    order. ``peaks`` (float32) and ``positions`` (int64) hold each channel's largest
    magnitude so far and the frame of its first occurrence, as libsndfile's ``PEAK``
    chunk: a channel's peak moves only to a strictly larger finite value, found first;
    the frame counts from ``frames`` at ``start``. A channel holding NaN or infinity in
    this range is left as it was (the caller decides, see ``WavWriter.write_float``).

    The magnitudes are compared as the integer bits of the floats with the sign bit
    cleared, which order as the values do and vectorise without fast-math; the first
    position is searched only when a channel's maximum beats its peak.

    Examples
    --------
    >>> x = np.array([[0.5, -0.75, 0.75], [0.0, 0.25, -0.25]], np.float32)
    >>> out, peaks, positions = np.empty(6, np.float32), np.zeros(2, np.float32), np.zeros(2, np.int64)
    >>> interleave_float32(x, 0, 3, out, peaks, positions, 100)
    True
    >>> out.tolist(), peaks.tolist(), positions.tolist()
    ([0.5, 0.0, -0.75, 0.25, 0.75, -0.25], [0.75, 0.25], [101, 101])
    """
    channels = rows.shape[0]
    n = stop - start
    if channels == 2:  # the common case, as a pair of loads and an interleaving store
        left, right = rows[0, start:stop], rows[1, start:stop]
        for i in range(n):
            out[2 * i] = left[i]
            out[2 * i + 1] = right[i]
    else:
        for c in range(channels):
            row = rows[c, start:stop]
            for i in range(n):
                out[i * channels + c] = row[i]
    held = peaks.view(np.int32)
    finite = True
    for c in range(channels):
        bits = rows[c, start:stop].view(np.int32)
        top = 0
        for i in range(n):
            top = max(top, bits[i] & 0x7FFFFFFF)
        if top >= _INF_BITS:
            finite = False
        elif top > held[c]:
            for i in range(n):
                if bits[i] & 0x7FFFFFFF == top:
                    held[c] = top
                    positions[c] = frames + i
                    break
    return finite

"""MP3 through the LAME in the lameenc wheel: built with optimisation, three times PyAV's speed.

PyAV's wheels carry LAME 3.100 compiled without optimisation (a third of its
instructions load and store locals through the frame pointer), so an MP3
costs 2.1 s of CPU a minute of stereo there against 0.7 s with the LAME in
lameenc's wheel (docs/benchmarks.md, "Encoded deliverables"). lameenc's own
Python interface takes 16-bit PCM only and cannot choose the stereo mode (its
LAME then codes 192 kbit/s as plain left/right stereo, where FFmpeg asks for
joint stereo), but its extension module exports LAME's whole C interface, so
:class:`LameStream` calls that through ctypes, as LAME's command-line
front end does: float input, joint stereo, algorithm quality 3 (FFmpeg's
default), and LAME's own Info frame (encoder delay, end padding, CRCs)
written over the placeholder LAME leaves at the start. Decoders that honour
it (FFmpeg, mpg123, iTunes) give back exactly the samples that went in.

ctypes releases Python's lock around each call, so encodes run side by side
in threads (``deliver(threads=2)``).

Examples
--------
>>> import io
>>> import numpy as np
>>> if lame_library() is not None:
...     buffer = io.BytesIO()
...     stream = LameStream(buffer, 48000, 2, bitrate_kbps=128)
...     stream.write(np.zeros((2, 48000), np.float32))
...     stream.close()
...     data = buffer.getvalue()
...     assert data[36:40] == b"Info" and data[156:160] == b"LAME"
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any, BinaryIO

import numpy as np

__all__ = ["LameStream", "lame_library", "LAME_MIN_KBPS"]

#: Below 64 kbit/s a frame can be too small for LAME's Info frame (at 48 kHz up to 56k, at 32 kHz
#: stereo up to 40k): LAME then leaves it out, and with it the delay and padding that make the
#: decoded file start on the first sample. Those bitrates go through PyAV, whose muxer writes its
#: Xing frame at a larger bitrate where it must.
LAME_MIN_KBPS = 64

_JOINT_STEREO, _MONO = 1, 3
_QUALITY = 3  # LAME's default algorithm quality, which FFmpeg's libmp3lame keeps
_FLUSH_BYTES = 7200  # LAME's bound for what lame_encode_flush returns
_TAG_BYTES = 2880  # twice the largest MPEG-1 Layer III frame (320 kbit/s at 32 kHz: 1440 bytes)
_FUNCTIONS = (
    "lame_init", "lame_close", "lame_init_params", "lame_set_num_channels", "lame_set_in_samplerate",
    "lame_set_out_samplerate", "lame_set_brate", "lame_set_mode", "lame_set_quality",
    "lame_set_VBR", "lame_set_bWriteVbrTag", "lame_set_errorf", "lame_set_debugf",
    "lame_set_msgf", "lame_encode_buffer_ieee_float", "lame_encode_flush",
    "lame_get_lametag_frame",
)  # fmt: skip
_REPORT = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)


@_REPORT
def _quiet(message: bytes, args: int) -> None:  # pragma: no cover - LAME calls it on warnings
    """LAME's warnings go to stderr by default; the deliverable's checks report instead."""


@functools.cache
def lame_library() -> Any:
    """LAME's C interface from the lameenc wheel, or None where lameenc is missing or hides it."""
    try:
        import lameenc
    except ImportError:
        return None
    try:
        lib = ctypes.CDLL(lameenc.__file__)
        for name in _FUNCTIONS:
            getattr(lib, name)
    except (OSError, AttributeError):
        return None
    pointer, buffer, c_int = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    floats = ctypes.POINTER(ctypes.c_float)
    lib.lame_init.restype = pointer
    lib.lame_init.argtypes = []
    for name in _FUNCTIONS[1:3]:
        getattr(lib, name).argtypes = [pointer]
    for name in _FUNCTIONS[3:11]:
        getattr(lib, name).argtypes = [pointer, c_int]
    for name in _FUNCTIONS[11:14]:
        getattr(lib, name).argtypes = [pointer, _REPORT]
    lib.lame_encode_buffer_ieee_float.argtypes = [pointer, floats, floats, c_int, buffer, c_int]
    lib.lame_encode_flush.argtypes = [pointer, buffer, c_int]
    lib.lame_get_lametag_frame.argtypes = [pointer, buffer, ctypes.c_size_t]
    lib.lame_get_lametag_frame.restype = ctypes.c_size_t
    return lib


class LameStream:
    """Encode ``(channels, n)`` float blocks to a constant-bitrate MP3 written into ``file``.

    Parameters
    ----------
    file : binary file object
        Open for writing and seeking, positioned where the MP3 starts;
        :meth:`close` writes LAME's Info frame there and leaves ``file`` open.
    sample_rate : {32000, 44100, 48000}
    channels : {1, 2}
    bitrate_kbps : int
        One of MPEG-1's Layer III bitrates from :data:`LAME_MIN_KBPS` (64) to 320.
    """

    def __init__(self, file: BinaryIO, sample_rate: int, channels: int, *, bitrate_kbps: int) -> None:
        lib = lame_library()
        if lib is None:
            raise RuntimeError("LAME is not available from the lameenc wheel")
        if bitrate_kbps < LAME_MIN_KBPS:
            raise ValueError(f"{bitrate_kbps} kbit/s: LAME's Info frame needs {LAME_MIN_KBPS} or more")
        self._lib, self.file, self.channels = lib, file, channels
        self._start = file.tell()
        self._lame = lib.lame_init()
        if not self._lame:
            raise MemoryError("LAME could not allocate an encoder")
        settings = (
            (lib.lame_set_num_channels, channels),
            (lib.lame_set_in_samplerate, sample_rate),
            (lib.lame_set_out_samplerate, sample_rate),  # else LAME resamples low bitrates down
            (lib.lame_set_brate, bitrate_kbps),
            (lib.lame_set_mode, _MONO if channels == 1 else _JOINT_STEREO),
            (lib.lame_set_quality, _QUALITY),
            (lib.lame_set_VBR, 0),
            (lib.lame_set_bWriteVbrTag, 1),  # a placeholder frame now, the Info frame at the end
        )
        for setting in (lib.lame_set_errorf, lib.lame_set_debugf, lib.lame_set_msgf):
            setting(self._lame, _quiet)
        refused = any(call(self._lame, value) < 0 for call, value in settings)
        if refused or lib.lame_init_params(self._lame) < 0:
            self.release()
            raise ValueError(f"LAME refused {sample_rate} Hz, {channels} channels at {bitrate_kbps} kbit/s")
        self._out = ctypes.create_string_buffer(_FLUSH_BYTES)

    def write(self, block: np.ndarray) -> None:
        """Encode a ``(channels, n)`` float block (full scale is 1.0)."""
        n = block.shape[1]
        if n == 0:
            return
        x = np.ascontiguousarray(block, np.float32)
        if len(self._out) < n + n // 4 + _FLUSH_BYTES:  # LAME's worst case for n samples
            self._out = ctypes.create_string_buffer(n + n // 4 + _FLUSH_BYTES)
        floats = ctypes.POINTER(ctypes.c_float)
        left = x[0].ctypes.data_as(floats)
        right = x[-1].ctypes.data_as(floats)  # LAME reads only the left of a mono stream
        size = self._lib.lame_encode_buffer_ieee_float(self._lame, left, right, n, self._out, len(self._out))
        self._put(size, "encoding")

    def _put(self, size: int, stage: str) -> None:
        if size < 0:
            raise RuntimeError(f"LAME failed while {stage} (error {size})")
        self.file.write(self._out.raw[:size])

    def close(self) -> None:
        """Flush LAME, write its Info frame over the placeholder at the start, release the encoder."""
        try:
            self._put(self._lib.lame_encode_flush(self._lame, self._out, len(self._out)), "flushing")
            tag = ctypes.create_string_buffer(_TAG_BYTES)
            size = self._lib.lame_get_lametag_frame(self._lame, tag, _TAG_BYTES)
            if not 0 < size <= _TAG_BYTES:
                raise RuntimeError("LAME gave no Info frame")
            end = self.file.tell()
            self.file.seek(self._start)
            self.file.write(tag.raw[:size])
            self.file.seek(end)
        finally:
            self.release()

    def release(self) -> None:
        """Free LAME's encoder (after :meth:`close`, or to abandon the stream)."""
        if self._lame:
            self._lib.lame_close(self._lame)
            self._lame = None

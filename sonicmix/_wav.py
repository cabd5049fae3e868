"""RIFF WAV and RF64 files written directly: headers and interleaved data.

:class:`sonicmix.io.AudioWriter` writes WAV through this module rather than
libsndfile: each float block is interleaved into a reused buffer by a compiled
kernel that also keeps the ``PEAK`` maxima (PCM comes packed; both in
:mod:`sonicmix._pcm`) and handed to ``os.write``. That saves
libsndfile's per-sample conversion and the ``(frames, channels)`` copy
soundfile needs. The files are those libsndfile 1.2.2 writes, byte for byte
(``tests/test_wav.py`` compares them) for float32 and integer-valued input, with
these deliberate differences:

- the ``PEAK`` chunk's timestamp is ``SOURCE_DATE_EPOCH`` when that
  environment variable is set (libsndfile always stores the time of
  writing), so that float WAVs can be reproduced byte for byte;
- on request, a ``JUNK`` chunk of :data:`BEXT_RESERVE_BYTES` just before
  ``data`` keeps room for a BWF ``bext`` chunk, which
  :func:`sonicmix.bwf.write_bext` then fills in place;
- for float64 input, the ``PEAK`` values and positions are those of the
  float32 samples stored (libsndfile looks at the doubles it was given).

Layouts (chunk payload sizes in bytes)::

    WAV, PCM_16/PCM_24    RIFF WAVE | fmt  16 (format 1) | [JUNK] | data
    WAV, FLOAT            RIFF WAVE | fmt  16 (format 3) | fact 4 | PEAK 8 + 8 x channels | [JUNK] | data
    WAV with a mask       RIFF WAVE | fmt  40 (WAVE_FORMAT_EXTENSIBLE) | fact 4 | [PEAK ...] | [JUNK] | data
    RF64 (EBU Tech 3306)  RF64 WAVE | ds64 28 | fmt  40 (WAVE_FORMAT_EXTENSIBLE) | data

Without a channel mask, RIFF uses the plain 16-byte ``fmt `` whatever the
number of channels, as libsndfile's WAV does. With one (a named layout of more
than two channels, see :attr:`sonicmix.layouts.Layout.channel_mask`), the ``fmt ``
is WAVE_FORMAT_EXTENSIBLE with that ``dwChannelMask``, followed by ``fact`` (and
``PEAK`` for float): the chunks libsndfile's WAVEX writes, byte for byte when the
mask is libsndfile's own (0x4, 0x3, 0x3F for 1, 2, 6 channels). In RF64 the 32-bit RIFF and ``data`` sizes are
0xFFFFFFFF and the real ones are in ``ds64``; libsndfile writes no ``fact``
or ``PEAK`` there, and neither do we. A ``data`` chunk of odd size is followed
by a pad byte its size does not count.
"""

from __future__ import annotations

import os
import struct
import sys
import time

import numpy as np

from sonicmix._checks import source_date_epoch

#: Payload bytes of the ``JUNK`` chunk reserved for a ``bext`` chunk: the 602-byte fixed part
#: (EBU Tech 3285) and 422 bytes of coding history, about six EBU R 98 lines.
BEXT_RESERVE_BYTES = 1024

#: Samples interleaved and written at a time: the buffers stay in the L2 cache.
CHUNK_SAMPLES = 1 << 15

_FORMAT_CODES = {"PCM_16": 1, "PCM_24": 1, "FLOAT": 3}
_BITS = {"PCM_16": 16, "PCM_24": 24, "FLOAT": 32}
#: The speaker masks libsndfile 1.2.2 puts in an RF64 ``fmt `` (dwChannelMask); 0 for other counts.
_CHANNEL_MASKS = {1: 0x4, 2: 0x3, 4: 0x33, 6: 0x3F, 8: 0xFF}
#: KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT after their first two bytes (the format code).
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_RIFF_MAX = 0xFFFFFFFF
_BIG_ENDIAN = sys.byteorder == "big"


def peak_timestamp() -> int | None:
    """``SOURCE_DATE_EPOCH`` as the ``PEAK`` chunk stores it, or None when the variable is unset.

    Raises
    ------
    ParameterError
        If it is not a whole number of seconds in 0 to 2**32 - 1 (the field is 32 bits).
    """
    return source_date_epoch(high=_RIFF_MAX)


def max_riff_data_bytes(channels: int, subtype: str, reserve: bool, extensible: bool = False) -> int:
    """Largest ``data`` chunk a RIFF (not RF64) file of this kind can hold, pad byte included.

    The 32-bit RIFF size counts the header too: ``fmt `` (24 bytes, 48 when
    ``extensible``), ``fact`` (12) for float or extensible, ``PEAK`` (16 + 8 per
    channel) for float, the reserved ``JUNK`` chunk, and the ``data`` chunk's own
    8 (as :class:`WavWriter` writes them).
    """
    header = 12 + (48 if extensible else 24) + 8
    if subtype == "FLOAT" or extensible:
        header += 12
    if subtype == "FLOAT":
        header += 16 + 8 * channels
    if reserve:
        header += 8 + BEXT_RESERVE_BYTES
    return _RIFF_MAX - (header - 8) - 1


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def read_channel_mask(path: str) -> int | None:
    """The ``dwChannelMask`` of a RIFF/RF64 WAVE file's WAVE_FORMAT_EXTENSIBLE ``fmt `` chunk.

    Returns None for a file that is not RIFF/RF64 WAVE, has no ``fmt `` chunk
    before ``data``, or whose ``fmt `` is not WAVE_FORMAT_EXTENSIBLE (format tag
    0xFFFE with at least 40 bytes): such files assign no speakers.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return None
        pos = 12
        while True:
            fh.seek(pos)
            chunk = fh.read(8)
            if len(chunk) < 8 or chunk[:4] == b"data":
                return None
            size = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"fmt ":
                fmt = fh.read(min(size, 40))
                if size < 40 or len(fmt) < 40 or int.from_bytes(fmt[:2], "little") != 0xFFFE:
                    return None
                return int.from_bytes(fmt[20:24], "little")
            pos += 8 + size + (size & 1)


class WavWriter:
    """Stream one RIFF WAV or RF64 file to an open file descriptor.

    The header goes out at once with zero sizes, the samples follow, and
    :meth:`finish` writes the header again with the final sizes (and the
    ``PEAK`` values) in place.

    Parameters
    ----------
    fd : int
        Open for writing, empty. Not closed here.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of channels.
    subtype : {"PCM_16", "PCM_24", "FLOAT"}
    rf64 : bool, default False
        Write RF64 (EBU Tech 3306) rather than RIFF.
    reserve_bytes : int, default 0
        Payload size of a ``JUNK`` chunk written before ``data`` (0: none).
    peak_time : int, optional
        ``PEAK`` timestamp in seconds since 1970; by default the time of :meth:`finish`.
    channel_mask : int, optional
        ``dwChannelMask`` to write. In RIFF it makes the ``fmt `` chunk
        WAVE_FORMAT_EXTENSIBLE (followed by ``fact``); in RF64 it replaces
        libsndfile's default mask for the channel count. By default: RIFF's plain
        ``fmt ``, RF64 with libsndfile's mask.
    """

    def __init__(
        self,
        fd: int,
        *,
        sample_rate: int,
        channels: int,
        subtype: str,
        rf64: bool = False,
        reserve_bytes: int = 0,
        peak_time: int | None = None,
        channel_mask: int | None = None,
    ) -> None:
        self.fd, self.sample_rate, self.channels, self.subtype = fd, sample_rate, channels, subtype
        self.channel_mask = channel_mask
        self.rf64, self.reserve_bytes, self.peak_time = rf64, reserve_bytes, peak_time
        self.width = _BITS[subtype] // 8
        self.frames = 0
        self.data_bytes = 0
        self._peaks = np.zeros(channels, np.float32)
        self._positions = np.zeros(channels, np.int64)
        self._bytes = np.empty(0, np.uint8)  # interleaved output, grown as needed
        self._scratch = np.empty(0, np.uint8)  # rows cast to float32 (or copied into C order)
        header = self._header()
        self.header_bytes = len(header)
        _write_all(fd, memoryview(header))

    @property
    def max_data_bytes(self) -> int:
        """Largest ``data`` chunk the 32-bit RIFF size allows with this header (pad byte included)."""
        return _RIFF_MAX - (self.header_bytes - 8) - 1

    def _header(self, timestamp: int = 0) -> bytes:
        bits, channels, rate = _BITS[self.subtype], self.channels, self.sample_rate
        code = _FORMAT_CODES[self.subtype]
        align = channels * self.width
        rates = struct.pack("<IIHH", rate, rate * align, align, bits)
        mask = self.channel_mask
        if self.rf64 and mask is None:
            mask = _CHANNEL_MASKS.get(channels, 0)
        if mask is not None:
            fmt = struct.pack("<HH", 0xFFFE, channels) + rates + struct.pack("<HHIH", 22, bits, mask, code)
            fmt += _GUID_TAIL
        else:
            fmt = struct.pack("<HH", code, channels) + rates
        if self.rf64:
            size = 12 + 36 + 8 + len(fmt) + 8 + self.data_bytes + (self.data_bytes & 1)
            ds64 = struct.pack("<QQQI", size - 8, self.data_bytes, self.frames, 0)
            chunks = [(b"ds64", ds64), (b"fmt ", fmt)]
        else:
            chunks = [(b"fmt ", fmt)]
            if self.subtype == "FLOAT" or mask is not None:  # WAVEX writes fact for PCM too
                chunks.append((b"fact", struct.pack("<I", self.frames)))
            if self.subtype == "FLOAT":
                peaks = b"".join(
                    struct.pack("<fI", value, position)
                    for value, position in zip(self._peaks.tolist(), self._positions.tolist(), strict=True)
                )
                chunks.append((b"PEAK", struct.pack("<II", 1, timestamp) + peaks))
            if self.reserve_bytes:
                chunks.append((b"JUNK", bytes(self.reserve_bytes)))
        body = b"".join(cid + struct.pack("<I", len(payload)) + payload for cid, payload in chunks)
        if self.rf64:
            riff, data = _RIFF_MAX, _RIFF_MAX
        else:
            riff, data = 4 + len(body) + 8 + self.data_bytes + (self.data_bytes & 1), self.data_bytes
        magic = b"RF64" if self.rf64 else b"RIFF"
        return magic + struct.pack("<I", riff) + b"WAVE" + body + b"data" + struct.pack("<I", data)

    def _buffer(self, name: str, size: int) -> np.ndarray:
        """A reused byte buffer of at least ``size`` bytes (grown, never shrunk)."""
        buffer = getattr(self, name)
        if buffer.size < size:
            buffer = np.empty(size, np.uint8)
            setattr(self, name, buffer)
        return buffer[:size]

    def _append(self, data: np.ndarray) -> None:
        _write_all(self.fd, memoryview(data).cast("B"))

    def write_float(self, block: np.ndarray) -> bool:
        """Append ``(channels, n)`` float32 or float64 samples, stored as float32; True if all finite.

        A compiled kernel (:func:`sonicmix._pcm.interleave_float32`) interleaves each slice
        and raises the ``PEAK`` maxima in one pass without Python's lock, so that several
        files can be written in threads side by side.
        """
        from sonicmix._pcm import interleave_float32  # imports numba: only when writing

        channels = self.channels
        step = max(1, CHUNK_SAMPLES // channels)
        # the kernel takes one array type: a writable float32 block in C order as it is, any
        # other a slice at a time cast or copied into a reused buffer (as float64 always was)
        direct = block.dtype == np.float32 and block.flags.c_contiguous and block.flags.writeable
        finite = True
        for start in range(0, block.shape[1], step):
            n = min(step, block.shape[1] - start)
            rows, first = block, start
            if not direct:
                rows = self._buffer("_scratch", 4 * channels * n).view(np.float32).reshape(channels, n)
                np.copyto(rows, block[:, start : start + n], casting="same_kind")
                first = 0
            out = self._buffer("_bytes", 4 * channels * n).view(np.float32)
            if not interleave_float32(rows, first, first + n, out, self._peaks, self._positions, self.frames):
                finite = False  # the kernel left a channel with NaN or infinity to the numpy rule
                self._track_peaks(rows[:, first : first + n])
            if _BIG_ENDIAN:  # the kernel stores native floats; WAV is little-endian
                out.byteswap(inplace=True)
            self._append(out)
            self.frames += n
            self.data_bytes += out.nbytes
        return finite

    def write_pcm(self, raw: np.ndarray, frames: int) -> None:
        """Append ``frames`` frames of little-endian PCM bytes (from :class:`sonicmix._pcm.Quantiser`)."""
        self._append(raw)
        self.frames += frames
        self.data_bytes += raw.nbytes

    def _track_peaks(self, rows: np.ndarray) -> None:
        """Per channel, the largest |x| so far and the frame of its first occurrence (as libsndfile).

        The numpy rule, kept for slices holding NaN or infinity (the kernel's rule on finite ones).
        """
        for c in range(self.channels):
            row = rows[c]
            high, low = int(row.argmax()), int(row.argmin())
            up, down = float(row[high]), -float(row[low])
            value, position = (up, high) if (up, -high) > (down, -low) else (down, low)
            if value > self._peaks[c]:
                self._peaks[c] = value
                self._positions[c] = self.frames + position

    def finish(self) -> None:
        """Append the pad byte of an odd ``data`` chunk and write the final header in place."""
        if self.data_bytes & 1:
            _write_all(self.fd, memoryview(b"\0"))
        stamp = int(time.time()) if self.peak_time is None else self.peak_time
        os.pwrite(self.fd, self._header(stamp & _RIFF_MAX), 0)  # the same length as the first one

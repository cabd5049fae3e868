"""Broadcast Wave Format: reading and writing the ``bext`` chunk (EBU Tech 3285 v2).

:func:`write_bext` adds a ``bext`` chunk to a finished WAV file (from
:func:`sonicmix.io.write` or :class:`sonicmix.io.AudioWriter`), or replaces
the one it has. Where the file has room for it, it is written in place:

- the room is a run of ``JUNK`` and ``bext`` chunks right before ``data``
  (``AudioWriter(..., reserve_bext=True)`` leaves a ``JUNK`` chunk of 1024
  bytes there, RIFF's way of keeping space) and no ``bext`` chunk elsewhere.
  The new chunk takes the start of the run and a smaller ``JUNK`` chunk the
  rest, so nothing after it moves: the audio is neither copied nor re-read;
- the run is made one ``JUNK`` chunk (unless it is one already), then the new
  chunk's payload is written under it, then the 8-byte header that turns it
  into ``bext``, with an ``fsync`` after each step: the file is a valid WAV at
  every moment, with the old chunk, none, or the new one.

Otherwise the file's chunk list is rewritten:

- the new chunk goes immediately before the ``data`` chunk (so after ``fmt ``
  and any ``fact``/``PEAK`` chunks); an existing ``bext`` chunk is replaced;
  every other chunk, and any bytes after the last one, are copied verbatim;
- chunks are word aligned (an odd-sized chunk is followed by a pad byte that
  its size does not count) and the RIFF size is recomputed;
- the new file is written to a hidden temporary file next to the original,
  verified (the ``bext`` chunk parses back to what was meant, and soundfile
  reads samples bit-identical to the original's), flushed with ``fsync`` and
  only then renamed over the original with ``os.replace``. Any failure removes
  the temporary file and leaves the original untouched.

The chunk's fixed part is 602 bytes (Tech 3285 v2, section 2.3)::

    offset  size  field
         0   256  Description           ASCII, NUL-terminated if shorter
       256    32  Originator
       288    32  OriginatorReference
       320    10  OriginationDate       "yyyy-mm-dd"
       330     8  OriginationTime       "hh:mm:ss"
       338     8  TimeReference         uint64 LE: first sample count since midnight
       346     2  Version               uint16 LE, 2
       348    64  UMID                  SMPTE 330M; zeros when unused
       412     2  LoudnessValue         int16 LE, integrated loudness x 100, LUFS
       414     2  LoudnessRange         int16 LE, loudness range x 100, LU
       416     2  MaxTruePeakLevel      int16 LE, x 100, dBTP
       418     2  MaxMomentaryLoudness  int16 LE, x 100, LUFS
       420     2  MaxShortTermLoudness  int16 LE, x 100, LUFS
       422   180  Reserved              zeros
       602     -  CodingHistory         ASCII lines ending in CR LF

Loudness values are rounded "to nearest, ties away from zero" (Tech 3285
section 2.4); 0x7FFF (32767) means "not used". Valid stored values are
-99.99 to 99.99 (LoudnessRange: 0.00 to 99.99); on reading, 0x7FFF, any value
outside the valid range and every loudness field of a Version 0 or 1 chunk
read as ``None``.

Examples
--------
>>> import tempfile, os
>>> import numpy as np
>>> import sonicmix.io as sio
>>> folder = tempfile.TemporaryDirectory()
>>> path = os.path.join(folder.name, "mix.wav")
>>> _ = sio.write(path, np.zeros((2, 4800)), 48_000, subtype="PCM_24")
>>> info = write_bext(path, description="Final mix", origination_date="2024-05-01",
...                   origination_time="12:00:00", loudness_value_lufs=-23.04,
...                   max_true_peak_level_dbtp=-1.5)
>>> info["loudness_value_lufs"], info["loudness_range_lu"], info["version"]
(-23.04, None, 2)
>>> read_bext(path)["description"]
'Final mix'
>>> folder.cleanup()
"""

from __future__ import annotations

import math
import os
import re
import struct
import tempfile
import unicodedata
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import numpy as np

from sonicmix.errors import AudioFileError, ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix._typing import PathLike
    from sonicmix.loudness import LoudnessReport

__all__ = [
    "FIXED_SIZE_BYTES",
    "LOUDNESS_UNSET",
    "ascii_rendition",
    "build_bext",
    "loudness_fields",
    "parse_bext",
    "read_bext",
    "write_bext",
]

#: Size of the chunk's fixed part in bytes; CodingHistory follows it.
FIXED_SIZE_BYTES = 602
#: Stored in a loudness field that is not used (Tech 3285 v2, section 2.4).
LOUDNESS_UNSET = 0x7FFF

# Little-endian, no alignment padding: exactly the on-disk layout.
_FIXED = struct.Struct("<256s32s32s10s8sQH64s5h180s")
assert _FIXED.size == FIXED_SIZE_BYTES

_TEXT_FIELDS = (("description", 256), ("originator", 32), ("originator_reference", 32))
#: (name, smallest valid stored value); every one's largest is 9999.
_LOUDNESS_FIELDS = (
    ("loudness_value_lufs", -9999),
    ("loudness_range_lu", 0),
    ("max_true_peak_level_dbtp", -9999),
    ("max_momentary_loudness_lufs", -9999),
    ("max_short_term_loudness_lufs", -9999),
)
_DATE = re.compile(r"^(\d{4})[-_: .](\d{2})[-_: .](\d{2})$")
_TIME = re.compile(r"^(\d{2})[-_: .](\d{2})[-_: .](\d{2})$")
_COPY_BLOCK = 1 << 20
_RIFF_MAX = 0xFFFFFFFF


# --------------------------------------------------------------------------- fields


def _encode_loudness(name: str, value: float | None, smallest: int) -> int:
    """round(100 x value), ties away from zero, as an int16; None -> 0x7FFF."""
    if value is None:
        return LOUDNESS_UNSET
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ParameterError(f"{name}={value!r} is not a number; expected a float or None (not measured)")
    x = float(value)
    if not math.isfinite(x):
        raise ParameterError(
            f"{name}={x} is not finite; expected a measured value, or None to mark it as not measured"
        )
    # Decimal of the shortest repr: -22.645 is rounded as the decimal it reads as
    # (to -2265, as in Tech 3285's table), not as the binary float just above it.
    stored = int(Decimal(repr(x)).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if not smallest <= stored <= 9999:
        low = f"{smallest / 100:.2f}"
        raise ParameterError(
            f"{name}={x:g} cannot be stored; expected {low} <= {name} <= 99.99 (the bext chunk holds "
            "hundredths in an int16; pass None to mark it as not measured)"
        )
    return stored


def _decode_loudness(stored: int, smallest: int) -> float | None:
    if stored == LOUDNESS_UNSET or not smallest <= stored <= 9999:
        return None
    return stored / 100.0


def ascii_rendition(text: str, size: int = 256) -> str:
    """``text`` as printable ASCII of at most ``size`` characters, for bext's ASCII fields.

    Accents are dropped (NFKD decomposition without the combining marks), any
    other character outside printable ASCII becomes ``?``.

    >>> ascii_rendition("sonicmix épisode-01 mix for Spotify")
    'sonicmix episode-01 mix for Spotify'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch if " " <= ch <= "~" else "?" for ch in kept)[:size]


def _text(name: str, value: object, size: int) -> bytes:
    if not isinstance(value, str):
        raise ParameterError(f"{name}={value!r} is not a string; expected ASCII text")
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise ParameterError(
            f"{name}={value!r} is not ASCII; expected ASCII text (the bext chunk is ASCII: transliterate it)"
        ) from None
    if b"\0" in raw:
        raise ParameterError(f"{name}={value!r} contains a NUL character; expected text without NUL")
    if len(raw) > size:
        raise ParameterError(
            f"{name} has {len(raw)} characters; expected at most {size} (the field's size in bytes): "
            "shorten it"
        )
    return raw


def _date_time(origination_date: str | None, origination_time: str | None) -> tuple[str, str]:
    now = datetime.now()
    date = now.strftime("%Y-%m-%d") if origination_date is None else origination_date
    time = now.strftime("%H:%M:%S") if origination_time is None else origination_time
    match = _DATE.match(date) if isinstance(date, str) else None
    if match is None or not (1 <= int(match[2]) <= 12 and 1 <= int(match[3]) <= 31):
        raise ParameterError(
            f"origination_date={date!r} is invalid; expected 'yyyy-mm-dd' (month 01-12, day 01-31), "
            "or None for today"
        )
    match = _TIME.match(time) if isinstance(time, str) else None
    if match is None or not (int(match[1]) <= 23 and int(match[2]) <= 59 and int(match[3]) <= 59):
        raise ParameterError(
            f"origination_time={time!r} is invalid; expected 'hh:mm:ss' (00:00:00 to 23:59:59), "
            "or None for now"
        )
    return date, time


def loudness_fields(report: LoudnessReport) -> dict[str, float | None]:
    """The five bext loudness values of a report, as keyword arguments for :func:`write_bext`.

    A level the chunk cannot carry (undefined, ``-inf`` for silence, or
    outside -99.99 to 99.99) becomes ``None``, which is stored as "not used";
    so is a loudness range that is undefined (``nan``).

    Examples
    --------
    >>> import numpy as np
    >>> from sonicmix.loudness import measure
    >>> loudness_fields(measure(np.zeros((1, 48_000)), 48_000))["loudness_value_lufs"] is None
    True
    """
    values = {
        "loudness_value_lufs": report.integrated_lufs,
        "loudness_range_lu": report.lra_lu,
        "max_true_peak_level_dbtp": report.true_peak_dbtp,
        "max_momentary_loudness_lufs": report.momentary_max_lufs,
        "max_short_term_loudness_lufs": report.short_term_max_lufs,
    }
    out: dict[str, float | None] = {}
    for name, smallest in _LOUDNESS_FIELDS:
        value = float(values[name])
        fits = math.isfinite(value) and smallest / 100 - 0.005 < value < 99.995
        out[name] = value if fits else None
    return out


def build_bext(
    *,
    description: str = "",
    originator: str = "sonicmix",
    originator_reference: str = "",
    origination_date: str | None = None,
    origination_time: str | None = None,
    time_reference_samples: int = 0,
    umid: bytes = b"",
    loudness_value_lufs: float | None = None,
    loudness_range_lu: float | None = None,
    max_true_peak_level_dbtp: float | None = None,
    max_momentary_loudness_lufs: float | None = None,
    max_short_term_loudness_lufs: float | None = None,
    coding_history: str = "",
) -> bytes:
    """Return the payload of a Version 2 ``bext`` chunk (no chunk header, no pad byte).

    Parameters are those of :func:`write_bext`; ``coding_history`` is stored
    as given. Every value is checked; nothing is truncated or clamped.

    Examples
    --------
    >>> payload = build_bext(origination_date="2024-01-31", origination_time="08:00:00",
    ...                      loudness_value_lufs=-22.645, coding_history="A=PCM,F=48000\\r\\n")
    >>> len(payload), payload[412:414].hex(), payload[414:416].hex()
    (617, '27f7', 'ff7f')
    """
    texts = {
        name: _text(name, value, size)
        for (name, size), value in zip(
            _TEXT_FIELDS, (description, originator, originator_reference), strict=True
        )
    }
    date, time = _date_time(origination_date, origination_time)
    if (
        isinstance(time_reference_samples, bool)
        or not isinstance(time_reference_samples, (int, np.integer))
        or not 0 <= time_reference_samples < 2**64
    ):
        raise ParameterError(
            f"time_reference_samples={time_reference_samples!r} is invalid; expected an integer sample count "
            "since midnight, 0 <= time_reference_samples < 2**64"
        )
    if not isinstance(umid, (bytes, bytearray)) or len(umid) not in (0, 32, 64):
        shown = f"{len(umid)} bytes" if isinstance(umid, (bytes, bytearray)) else repr(umid)
        raise ParameterError(
            f"umid is {shown}; expected 64 bytes (an extended SMPTE UMID), 32 (a basic UMID, zero-padded) "
            "or b'' for none"
        )
    loudness = dict(
        loudness_value_lufs=loudness_value_lufs,
        loudness_range_lu=loudness_range_lu,
        max_true_peak_level_dbtp=max_true_peak_level_dbtp,
        max_momentary_loudness_lufs=max_momentary_loudness_lufs,
        max_short_term_loudness_lufs=max_short_term_loudness_lufs,
    )
    stored = [_encode_loudness(name, loudness[name], smallest) for name, smallest in _LOUDNESS_FIELDS]
    history = _text("coding_history", coding_history, 1 << 30)
    fixed = _FIXED.pack(
        texts["description"],
        texts["originator"],
        texts["originator_reference"],
        date.encode("ascii"),
        time.encode("ascii"),
        int(time_reference_samples),
        2,
        bytes(umid).ljust(64, b"\0"),
        *stored,
        bytes(180),
    )
    return fixed + history


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def parse_bext(payload: bytes) -> dict[str, object]:
    """Parse the payload of a ``bext`` chunk (any version) into a dict.

    Returns
    -------
    dict
        ``description``, ``originator``, ``originator_reference``,
        ``origination_date``, ``origination_time`` (str), ``time_reference_samples``,
        ``version`` (int), ``umid`` (64 bytes), the five loudness values
        ``loudness_value_lufs``, ``loudness_range_lu``, ``max_true_peak_level_dbtp``,
        ``max_momentary_loudness_lufs``, ``max_short_term_loudness_lufs`` (float,
        or None when not used, invalid, or the chunk's version is below 2) and
        ``coding_history`` (str). Text ends at the first NUL.

    Raises
    ------
    ParameterError
        If ``payload`` is shorter than the 602-byte fixed part.
    """
    if len(payload) < FIXED_SIZE_BYTES:
        raise ParameterError(
            f"payload has {len(payload)} bytes; expected at least {FIXED_SIZE_BYTES} (the fixed part of a "
            "bext chunk)"
        )
    (desc, orig, ref, date, time, timeref, version, umid, *stored, _reserved) = _FIXED.unpack_from(payload)
    out: dict[str, object] = {
        "description": _cstr(desc),
        "originator": _cstr(orig),
        "originator_reference": _cstr(ref),
        "origination_date": _cstr(date),
        "origination_time": _cstr(time),
        "time_reference_samples": int(timeref),
        "version": int(version),
        "umid": bytes(umid),
    }
    for (name, smallest), value in zip(_LOUDNESS_FIELDS, stored, strict=True):
        # Versions 0 and 1 kept these bytes reserved (zero): 0 would read as 0.00 LUFS.
        out[name] = _decode_loudness(value, smallest) if version >= 2 else None
    out["coding_history"] = _cstr(bytes(payload[FIXED_SIZE_BYTES:]))
    return out


# --------------------------------------------------------------------------- RIFF


def _chunks(fh, name: str, size: int) -> list[tuple[bytes, int, int]]:
    """Walk a RIFF/WAVE file's chunks: ``(id, offset of header, declared size)``."""
    fh.seek(0)
    head = fh.read(12)
    if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RF64", b"BW64"):
        kind = "a FLAC file" if head[:4] == b"fLaC" else "not a RIFF/WAVE file"
        raise AudioFileError(
            f"cannot use {name!r} as a Broadcast Wave file: it is {kind}; expected a .wav "
            "(the bext chunk exists only in WAV files)"
        )
    if head[:4] != b"RIFF":
        raise AudioFileError(
            f"cannot use {name!r}: it is an {head[:4].decode()} file (over 4 GiB); expected a RIFF WAV "
            "(sonicmix does not write bext into RF64/BW64)"
        )
    chunks = []
    pos = 12
    while pos + 8 <= size:
        fh.seek(pos)
        header = fh.read(8)
        chunk_id, chunk_size = header[:4], int.from_bytes(header[4:8], "little")
        if pos + 8 + chunk_size > size:
            raise AudioFileError(
                f"cannot use {name!r}: its {chunk_id!r} chunk declares {chunk_size} bytes but the file holds "
                f"only {size - pos - 8}; the file is truncated or corrupt"
            )
        chunks.append((chunk_id, pos, chunk_size))
        pos += 8 + chunk_size + (chunk_size & 1)
    ids = [c[0] for c in chunks]
    if b"fmt " not in ids or b"data" not in ids or ids.index(b"fmt ") > ids.index(b"data"):
        raise AudioFileError(
            f"cannot use {name!r}: expected a 'fmt ' chunk followed by a 'data' chunk, found {ids}"
        )
    return chunks


def read_bext(path: PathLike) -> dict[str, object] | None:
    """Read the ``bext`` chunk of a WAV file, or return None if it has none.

    Returns
    -------
    dict or None
        As :func:`parse_bext` returns.

    Raises
    ------
    AudioFileError
        If the file is missing, not a RIFF/WAVE file, truncated, or its
        ``bext`` chunk is shorter than 602 bytes.
    """
    name = os.fspath(path)
    from sonicmix._checks import check_regular_file

    check_regular_file(name)  # a FIFO would block the open for ever
    try:
        fh = open(name, "rb")
    except OSError as err:
        raise AudioFileError(f"cannot read {name!r}: {err.strerror or err}") from err
    with fh:
        size = os.fstat(fh.fileno()).st_size
        for chunk_id, offset, chunk_size in _chunks(fh, name, size):
            if chunk_id == b"bext":
                fh.seek(offset + 8)
                payload = fh.read(chunk_size)
                try:
                    return parse_bext(payload)
                except ParameterError as err:
                    raise AudioFileError(f"cannot read the bext chunk of {name!r}: {err}") from err
    return None


def _coding_history_line(path: str) -> str:
    """An EBU R 98-style line describing the file, e.g. ``A=PCM,F=48000,W=24,M=stereo,T=sonicmix 0.1.0``."""
    import soundfile as sf

    import sonicmix

    with sf.SoundFile(path) as handle:
        rate, channels, subtype = handle.samplerate, handle.channels, handle.subtype
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64, "PCM_U8": 8}.get(subtype)
    parts = ["A=PCM", f"F={rate}"]
    if bits is not None:
        parts.append(f"W={bits}")
    if channels in (1, 2):
        parts.append(f"M={'mono' if channels == 1 else 'stereo'}")
    text = f"sonicmix {sonicmix.__version__}"
    if subtype in ("FLOAT", "DOUBLE"):
        text += f", IEEE float, {channels} ch"
    elif channels > 2:
        text += f", {channels} ch"
    parts.append(f"T={text}")
    return ",".join(parts) + "\r\n"


def _copy(src, dst, start: int, length: int) -> None:
    src.seek(start)
    while length > 0:
        block = src.read(min(_COPY_BLOCK, length))
        if not block:
            raise AudioFileError("the source file shrank while it was being copied")
        dst.write(block)
        length -= len(block)


def _same_audio(original: str, candidate: str) -> str | None:
    """Compare two files' audio through soundfile, bit for bit; return a difference or None."""
    import soundfile as sf

    with sf.SoundFile(original) as a, sf.SoundFile(candidate) as b:
        fa = (a.samplerate, a.channels, a.frames, a.subtype, a.format)
        fb = (b.samplerate, b.channels, b.frames, b.subtype, b.format)
        if fa != fb:
            return f"the format changed from {fa} to {fb}"
        dtype, view = {"FLOAT": ("float32", np.uint32), "DOUBLE": ("float64", np.uint64)}.get(
            a.subtype, ("int32", None)
        )
        done = 0
        while done < a.frames:
            x = a.read(1 << 16, dtype=dtype, always_2d=True)
            y = b.read(1 << 16, dtype=dtype, always_2d=True)
            if view is not None:
                x, y = x.view(view), y.view(view)
            if x.shape != y.shape or not np.array_equal(x, y):
                return f"the samples differ in frames {done} to {done + len(x)}"
            if len(x) == 0:
                return f"only {done} of {a.frames} frames could be read"
            done += len(x)
    return None


def _room(chunks: list[tuple[bytes, int, int]], payload_size: int) -> tuple[int, int] | None:
    """``[start, end)`` of the ``JUNK``/``bext`` chunks right before ``data``, if ``payload_size`` fits there.

    None when there is no such run, it is too small, or a ``bext`` chunk lies
    elsewhere (it would survive beside the new one).
    """
    ids = [c[0] for c in chunks]
    data = ids.index(b"data")
    first = data
    while first > 0 and ids[first - 1] in (b"JUNK", b"bext"):
        first -= 1
    if first == data or b"bext" in ids[:first] + ids[data + 1 :]:
        return None
    start, end = chunks[first][1], chunks[data][1]
    if end - start < 8 + payload_size + (payload_size & 1):
        return None
    return start, end


def _pwrite(fd: int, data: bytes, offset: int) -> None:
    while data:
        done = os.pwrite(fd, data, offset)
        data, offset = data[done:], offset + done


def _fill(fd: int, start: int, end: int, payload: bytes) -> None:
    """Write a ``bext`` chunk over the chunks in ``[start, end)``, the file a valid WAV at every step."""
    span = end - start
    rest = span - 8 - len(payload) - (len(payload) & 1)
    if rest >= 8:
        size, tail = len(payload), b"JUNK" + (rest - 8).to_bytes(4, "little") + bytes(rest - 8)
    else:  # 2, 4 or 6 bytes are too few for a chunk header: the bext chunk takes them as NULs
        size, tail = span - 8, b""
    hold = b"JUNK" + (span - 8).to_bytes(4, "little")
    if os.pread(fd, 8, start) != hold:  # replacing a bext: hide it first, so no reader sees a half
        _pwrite(fd, hold, start)
        os.fsync(fd)
    _pwrite(fd, payload.ljust(span - 8 - len(tail), b"\0") + tail, start + 8)
    os.fsync(fd)
    _pwrite(fd, b"bext" + size.to_bytes(4, "little"), start)
    os.fsync(fd)


def _write_in_place(final: str, given_name: str, payload: bytes, expected: dict[str, object]) -> bool:
    """Write the chunk into the file's room for it; False (nothing done) when it has none."""
    try:
        fh = open(final, "r+b", buffering=0)  # unbuffered: the chunks are walked again after pwrite
    except PermissionError:
        return False  # a read-only file: rewriting it (a new file renamed over it) may still work
    except OSError as err:
        raise AudioFileError(f"cannot write bext into {given_name!r}: {err.strerror or err}") from err
    with fh:
        size = os.fstat(fh.fileno()).st_size
        chunks = _chunks(fh, given_name, size)
        room = _room(chunks, len(payload))
        if room is None:
            return False
        try:
            _fill(fh.fileno(), *room, payload)
        except OSError as err:
            raise AudioFileError(
                f"cannot write bext into {given_name!r}: {err.strerror or err} (the audio is intact; the "
                "bext chunk may be missing)"
            ) from err
        data = [c for c in chunks if c[0] == b"data"][0]
        after = [c for c in _chunks(fh, given_name, size) if c[0] == b"data"][0]
    if read_bext(final) != expected or after != data:
        raise AudioFileError(
            f"cannot write bext into {given_name!r}: the chunk read back differs from the one written "
            "(was the file changed meanwhile?)"
        )
    return True


def write_bext(
    path: PathLike,
    *,
    description: str = "",
    originator: str = "sonicmix",
    originator_reference: str = "",
    origination_date: str | None = None,
    origination_time: str | None = None,
    time_reference_samples: int = 0,
    umid: bytes = b"",
    report: LoudnessReport | None = None,
    loudness_value_lufs: float | None = None,
    loudness_range_lu: float | None = None,
    max_true_peak_level_dbtp: float | None = None,
    max_momentary_loudness_lufs: float | None = None,
    max_short_term_loudness_lufs: float | None = None,
    coding_history: str | None = None,
) -> dict[str, object]:
    """Add (or replace) a Version 2 ``bext`` chunk in a WAV file: in place if it has room, else atomically.

    Parameters
    ----------
    path : str or os.PathLike
        A RIFF WAV file, e.g. written by :func:`sonicmix.io.write`. A symbolic
        link is followed: its target is rewritten.
    description : str, default ""
        Free description, ASCII, at most 256 characters (the first 64 should
        summarise it, Tech 3285 recommends).
    originator : str, default "sonicmix"
        Producer of the file, ASCII, at most 32 characters.
    originator_reference : str, default ""
        Unambiguous reference from the originator, ASCII, at most 32 characters.
    origination_date, origination_time : str, optional
        ``"yyyy-mm-dd"`` and ``"hh:mm:ss"``; by default the local date and time
        now (pass both for byte-reproducible files).
    time_reference_samples : int, default 0
        First sample's count since midnight, in samples at the file's rate.
    umid : bytes, default b""
        A 64-byte SMPTE UMID, a 32-byte basic UMID (zero-padded), or ``b""``
        for none (all zeros).
    report : LoudnessReport, optional
        Fill the five loudness fields from this measurement (see
        :func:`loudness_fields`). Not together with explicit loudness values.
    loudness_value_lufs, loudness_range_lu, max_true_peak_level_dbtp, \
max_momentary_loudness_lufs, max_short_term_loudness_lufs : float, optional
        Integrated loudness (LUFS), loudness range (LU), maximum true peak
        (dBTP), maximum momentary and short-term loudness (LUFS). Stored in
        hundredths, -99.99 to 99.99 (range: 0 to 99.99); ``None`` stores
        "not used" (0x7FFF).
    coding_history : str, optional
        ASCII lines, each ending in ``"\\r\\n"`` (EBU R 98 style). By default
        one line describing this file, e.g.
        ``"A=PCM,F=48000,W=24,M=stereo,T=sonicmix 0.1.0\\r\\n"``.

    Returns
    -------
    dict
        The chunk as read back from the file (see :func:`parse_bext`).

    Raises
    ------
    ParameterError
        Before the file is touched: for text that is not ASCII or too long, a
        malformed date or time, a loudness value the chunk cannot hold, or
        ``report`` together with explicit loudness values.
    AudioFileError
        If the file is missing, not a RIFF WAV (FLAC, RF64), truncated, would
        exceed the 4 GiB RIFF limit, or the chunk or audio fails verification.
        A rewritten file is left unchanged in every case; one written in place
        keeps its audio and stays a valid WAV.

    Notes
    -----
    A file with room before its ``data`` chunk (see the module's description;
    :class:`sonicmix.io.AudioWriter` leaves it with ``reserve_bext=True``) is
    written in place: about a kilobyte and two ``fsync`` calls (three to
    replace a chunk), whatever its length. Any other file is copied into a new
    one, which is verified by reading both files' audio: two reads and a write
    of the whole file.
    """
    explicit = dict(
        loudness_value_lufs=loudness_value_lufs,
        loudness_range_lu=loudness_range_lu,
        max_true_peak_level_dbtp=max_true_peak_level_dbtp,
        max_momentary_loudness_lufs=max_momentary_loudness_lufs,
        max_short_term_loudness_lufs=max_short_term_loudness_lufs,
    )
    if report is not None:
        given = [k for k, v in explicit.items() if v is not None]
        if given:
            raise ParameterError(
                f"report and {', '.join(given)} were both given; expected one source of loudness values "
                "(use dataclasses.replace on the report, or pass the values alone)"
            )
        explicit = loudness_fields(report)
    given_name = os.fspath(path)
    final = os.path.realpath(given_name)
    if not os.path.isfile(final):
        raise AudioFileError(
            f"cannot write bext into {given_name!r}: the file does not exist (check the path)"
        )
    if coding_history is None:
        with open(final, "rb") as fh:
            _chunks(fh, given_name, os.fstat(fh.fileno()).st_size)  # a clear error before soundfile's
        coding_history = _coding_history_line(final)
    fields = dict(
        description=description,
        originator=originator,
        originator_reference=originator_reference,
        origination_date=origination_date,
        origination_time=origination_time,
        time_reference_samples=time_reference_samples,
        umid=umid,
        coding_history=coding_history,
        **explicit,
    )
    payload = build_bext(**fields)  # every check happens here, before the disk is touched
    expected = parse_bext(payload)
    if _write_in_place(final, given_name, payload, expected):
        return expected
    chunk = b"bext" + len(payload).to_bytes(4, "little") + payload + (b"\0" if len(payload) & 1 else b"")

    folder = os.path.dirname(final)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(final)}.", suffix=".partial", dir=folder)
    except OSError as err:
        raise AudioFileError(
            f"cannot write bext into {given_name!r}: the folder {folder!r} is not writable "
            f"({err.strerror or err})"
        ) from err
    try:
        with open(final, "rb") as src, os.fdopen(fd, "wb") as dst:
            size = os.fstat(src.fileno()).st_size
            chunks = _chunks(src, given_name, size)
            kept = [
                (cid, off, min(off + 8 + n + (n & 1), size) - off) for cid, off, n in chunks if cid != b"bext"
            ]
            end_of_chunks = chunks[-1][1] + 8 + chunks[-1][2] + (chunks[-1][2] & 1)
            trailing = max(size - end_of_chunks, 0)
            total = 12 + sum(length for _, _, length in kept) + len(chunk) + trailing
            if total - 8 > _RIFF_MAX:
                raise AudioFileError(
                    f"cannot write bext into {given_name!r}: the file would exceed the 4 GiB RIFF limit "
                    "(split the audio)"
                )
            dst.write(b"RIFF" + (total - 8).to_bytes(4, "little") + b"WAVE")
            for cid, offset, length in kept:
                if cid == b"data":
                    dst.write(chunk)
                _copy(src, dst, offset, length)
            if trailing:
                _copy(src, dst, end_of_chunks, trailing)
            dst.flush()
            os.fsync(dst.fileno())
        written = read_bext(tmp)
        if written != expected:
            raise AudioFileError(
                f"cannot write bext into {given_name!r}: the chunk read back differs from the one written "
                "(nothing was changed)"
            )
        difference = _same_audio(final, tmp)
        if difference is not None:
            raise AudioFileError(
                f"cannot write bext into {given_name!r}: verification failed, {difference} "
                "(nothing was changed)"
            )
        try:
            os.chmod(tmp, os.stat(final).st_mode & 0o7777)
        except OSError:
            pass  # keeping the mode is a courtesy; the content is what matters
        os.replace(tmp, final)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError) and not isinstance(err, AudioFileError):
            raise AudioFileError(
                f"cannot write bext into {given_name!r}: {err.strerror or err} (nothing was changed)"
            ) from err
        raise
    from sonicmix.io import _fsync_folder

    _fsync_folder(folder)
    return written

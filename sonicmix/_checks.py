"""Validation used at the package's entry points.

Checks run once where data enters (a public call, a node's construction), never
per block inside a streaming loop.
"""

from __future__ import annotations

import math
import os
from numbers import Real
from typing import Any

import numpy as np

from sonicmix.errors import AudioError, ParameterError

__all__ = ["check_audio", "check_sample_rate", "check_range", "check_finite", "file_name_problem"]

#: Longest name accepted where a name becomes part of a file name, in UTF-8 bytes. File systems
#: allow 255 per component, and a deliverable adds the delivery name, a dot and a suffix.
MAX_NAME_BYTES = 100


def check_sample_rate(sample_rate: object, name: str = "sample_rate") -> int:
    """Return ``sample_rate`` as an int, or raise ParameterError naming it."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer, float)):
        raise ParameterError(f"{name}={sample_rate!r} is not a number; expected a positive integer in Hz")
    if isinstance(sample_rate, float) and not sample_rate.is_integer():
        raise ParameterError(f"{name}={sample_rate!r} is not a whole number of Hz; expected e.g. 48000")
    rate = int(sample_rate)
    if not 1000 <= rate <= 1_536_000:
        raise ParameterError(
            f"{name}={rate} is out of range; expected 1000 <= {name} <= 1536000 Hz"
            + (" (was a rate in kHz given? use 48000, not 48)" if 0 < rate < 1000 else "")
        )
    return rate


def check_range(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    hint: str = "",
) -> float:
    """Return ``value`` as a float if it is a finite real number within the bounds."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ParameterError(f"{name}={value!r} is not a real number")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(f"{name}={v!r} is not finite")
    too_low = low is not None and (v < low if low_inclusive else v <= low)
    too_high = high is not None and (v > high if high_inclusive else v >= high)
    if too_low or too_high:
        parts = []
        if low is not None:
            parts.append(f"{name} {'>=' if low_inclusive else '>'} {low:g}")
        if high is not None:
            parts.append(f"{name} {'<=' if high_inclusive else '<'} {high:g}")
        msg = f"{name}={v:g} is out of range; expected {' and '.join(parts)}"
        raise ParameterError(msg + (f" ({hint})" if hint else ""))
    return v


def check_finite(x: np.ndarray, name: str = "audio", sample_rate: int | None = None, offset: int = 0) -> None:
    """Raise AudioError naming the first NaN or inf sample (channel and time)."""
    # A sum is one fast pass and is non-finite whenever any element is (or on
    # overflow, which the slow path below then rules out).
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.add.reduce(x, axis=None))
    if math.isfinite(total):
        return
    bad = ~np.isfinite(x)
    if not bad.any():
        return
    channel, index = (int(i[0]) for i in np.nonzero(bad))
    value = x[channel, index]
    where = f"channel {channel}, sample {offset + index}"
    if sample_rate:
        where += f" (t={(offset + index) / sample_rate:.6f} s)"
    count = int(bad.sum())
    raise AudioError(
        f"{name} has {count} non-finite sample{'s' if count > 1 else ''}; the first is {value} at {where}; "
        "expected finite samples (check the source for overflow or a division by zero)"
    )


def unmeasurable_error(
    x: np.ndarray, name: str = "audio", sample_rate: int | None = None, offset: int = 0, channels: Any = None
) -> AudioError:
    """The error for finite samples whose power sums overflowed float64: it names the largest sample.

    For a meter whose sums came out non-finite from finite samples (float64 audio
    above about 1e154, or a long programme of samples near that): a fault upstream,
    which a loudness of -inf would hide. ``channels``: the channels the meter sums
    (an unweighted LFE is left out), by default all.
    """
    rows = np.arange(x.shape[0]) if channels is None else np.asarray(channels)
    peak = np.abs(x[rows])
    row, index = np.unravel_index(int(np.argmax(peak)), peak.shape)
    channel = int(rows[row])
    where = f"channel {channel}, sample {offset + index}"
    if sample_rate:
        where += f" (t={(offset + index) / sample_rate:.6f} s)"
    return AudioError(
        f"{name} is too loud to measure: its power overflows float64 (the largest sample is "
        f"{x[channel, index]:.3g}, at {where}); expected samples near full scale (1.0)"
    )


def check_audio(
    audio: object,
    name: str = "audio",
    *,
    sample_rate: int | None = None,
    channels: int | None = None,
    min_samples: int = 1,
    finite: bool = True,
) -> np.ndarray:
    """Return ``audio`` as a 2-D float array ``(channels, samples)`` or raise AudioError.

    Never guesses the layout and never converts integers: both are the caller's
    decision (``sonicmix.io`` scales integer PCM correctly when reading files).
    """
    if not isinstance(audio, np.ndarray):
        raise AudioError(
            f"{name} is a {type(audio).__name__}; expected a numpy array of shape (channels, samples)"
        )
    if audio.dtype.kind == "c":
        raise AudioError(f"{name}.dtype={audio.dtype} is complex; expected float32 or float64 (take .real?)")
    if audio.dtype.kind in "iub":
        raise AudioError(
            f"{name}.dtype={audio.dtype} is not floating point; expected float32 or float64 "
            "(read files with sonicmix.io.read, or scale integer PCM to [-1, 1] first)"
        )
    if audio.dtype not in (np.float32, np.float64):
        raise AudioError(f"{name}.dtype={audio.dtype}; expected float32 or float64")
    if audio.ndim != 2:
        hint = " (for mono use audio[np.newaxis, :])" if audio.ndim == 1 else ""
        raise AudioError(
            f"{name}.shape={audio.shape} has {audio.ndim} dimensions; expected (channels, samples){hint}"
        )
    n_ch, n = audio.shape
    if n_ch > n and n_ch > 64:
        raise AudioError(
            f"{name}.shape={audio.shape}; expected (channels, samples). Reading with soundfile? pass data.T"
        )
    if n_ch == 0:
        raise AudioError(f"{name}.shape={audio.shape} has no channels; expected at least one")
    if channels is not None and n_ch != channels:
        raise AudioError(f"{name} has {n_ch} channels; expected {channels}")
    if n < min_samples:
        what = "is empty" if n == 0 else f"has {n} samples"
        raise AudioError(f"{name}.shape={audio.shape} {what}; expected at least {min_samples} samples")
    if finite:
        check_finite(audio, name, sample_rate)
    return audio


def source_date_epoch(high: int | None = None) -> int | None:
    """``SOURCE_DATE_EPOCH`` in whole seconds (the reproducible-builds convention), None when unset.

    Raises ParameterError, naming the variable, for anything but a whole number,
    or one outside ``0..high`` when ``high`` is given (a field of fixed width).
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    try:
        value = int(epoch)
    except ValueError:
        value = None
    if value is None or (high is not None and not 0 <= value <= high):
        limit = f" (at most {high}: the field that stores it has {high.bit_length()} bits)" if high else ""
        raise ParameterError(
            f"SOURCE_DATE_EPOCH={epoch!r}; expected whole seconds since 1970-01-01 UTC, "
            f"e.g. 1767225600{limit}"
        )
    return value


def file_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be part of a file name, or None when it can.

    Names of sessions, tracks and buses end up in deliverable names
    (``<session>.<bus>.wav``), on the operator's terminal and in reports, so
    they must stay one harmless path component: a non-empty string without
    folder separators, control characters (NUL, ESC, C1) or surrounding
    spaces, not ``.`` or ``..``, at most :data:`MAX_NAME_BYTES` bytes in UTF-8.
    Any other character, accents included, is fine.

    >>> file_name_problem("épisode-01") is None
    True
    >>> file_name_problem("x/../../victim/keep")
    "contains a folder separator ('/')"
    """
    if not isinstance(name, str):
        return f"is a {type(name).__name__}; expected a string"
    if not name:
        return "is empty"
    for ch in name:
        if ch in "/\\":
            return f"contains a folder separator ({ch!r})"
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0 or ch in "\u2028\u2029":
            return f"contains the control character {ch!r} at index {name.index(ch)}"
    if name in (".", ".."):
        return "is a folder reference"
    if name != name.strip():
        return "starts or ends with a space"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return f"is {size} bytes long in UTF-8; expected at most {MAX_NAME_BYTES}"
    return None


def check_regular_file(path: str | os.PathLike[str], *, what: str = "read") -> os.stat_result:
    """Refuse, without opening it, a path that is not a regular file; return its ``os.stat``.

    Opening a FIFO blocks until something writes to it, and a device or a socket
    is no audio file either: checking the file type first means no reader can hang.

    Raises
    ------
    AudioFileError
        If the path does not exist, is a directory, a FIFO, a device or a
        socket (the message names the path and what it is).
    """
    import stat

    from sonicmix.errors import AudioFileError

    name = os.fspath(path)
    try:
        info_ = os.stat(name)
    except FileNotFoundError as err:
        raise AudioFileError(f"cannot {what} {name!r}: the file does not exist (check the path)") from err
    except OSError as err:
        raise AudioFileError(f"cannot {what} {name!r}: {err.strerror or err}") from err
    mode = info_.st_mode
    if stat.S_ISDIR(mode):
        raise AudioFileError(f"cannot {what} {name!r}: it is a directory; expected an audio file")
    if not stat.S_ISREG(mode):
        kinds = (
            (stat.S_ISFIFO, "a FIFO (named pipe)"),
            (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"),
            (stat.S_ISSOCK, "a socket"),
        )
        kind = next((text for test, text in kinds if test(mode)), "not a regular file")
        raise AudioFileError(
            f"cannot {what} {name!r}: it is {kind}; expected a regular audio file "
            "(copy a stream to a file first)"
        )
    return info_

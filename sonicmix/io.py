"""Reading and writing audio files.

This module is the only place that knows soundfile's ``(frames, channels)``
layout: everything it returns or accepts is ``(channels, samples)`` float
audio with time on the last axis. soundfile and soxr are imported inside the
functions, so importing this module costs no more than numpy.

Reading scales integer PCM to floats the way soundfile does (a 16-bit file is
divided by 32768, a 24-bit one by 2**23) and resamples only when asked to.
Writing checks everything before it touches the disk, converts to integer PCM
itself with seeded TPDF dither (so a render is reproducible byte for byte),
streams in blocks, and is atomic: the file appears under its final name
complete or not at all.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np
>>> import sonicmix.io as sio
>>> folder = tempfile.TemporaryDirectory()
>>> audio = np.zeros((2, 4800), dtype=np.float32)
>>> result = sio.write(Path(folder.name) / "silence.wav", audio, 48_000, subtype="FLOAT")
>>> result.frames, result.channels, result.clipped_samples
(4800, 2, 0)
>>> back, sample_rate = sio.read(result.path)
>>> back.shape, back.dtype, sample_rate
((2, 4800), dtype('float32'), 48000)
>>> sio.info(result.path)
AudioInfo(sample_rate=48000, channels=2, frames=4800, duration_s=0.1, subtype='FLOAT', format='WAV',
          channel_mask=None, layout=None)
>>> [block.shape for block in sio.blocks(result.path, 2000)]
[(2, 2000), (2, 2000), (2, 800)]
>>> folder.cleanup()
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from sonicmix import _wav
from sonicmix._checks import check_audio, check_regular_file, check_sample_rate
from sonicmix.errors import AudioFileError, ParameterError
from sonicmix.layouts import Layout, default_layout, get_layout, resolve_layout
from sonicmix.layouts.masks import check_channel_mask, layout_for_mask

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix._typing import Audio, PathLike

__all__ = [
    "AudioInfo",
    "WriteResult",
    "AudioWriter",
    "info",
    "file_layout",
    "read",
    "blocks",
    "write",
    "resample_file",
]

#: Frames converted and written (or read) per block, so memory does not grow
#: with the file's duration.
DEFAULT_BLOCK_SIZE = 2**16

#: Output subtypes :func:`write` accepts, with their integer width in bits.
_PCM_BITS: dict[str, int] = {"PCM_16": 16, "PCM_24": 24}
_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")
_BYTES_PER_SAMPLE = {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}
_FORMATS = {".wav": "WAV", ".flac": "FLAC"}

#: A RIFF size field is 32 bits; keep some room for the header chunks.
_WAV_MAX_DATA_BYTES = 2**32 - 1 - 4096
#: libsndfile's FLAC encoder refuses more channels or a higher rate.
_FLAC_MAX_CHANNELS = 8
_FLAC_MAX_SAMPLE_RATE = 655_350
#: FLAC's fixed channel assignment for 1 to 8 channels (FLAC format, "Channels bits"), as FFmpeg names
#: the speakers; a layout with other speakers for its count cannot be told apart in a FLAC file.
_FLAC_SPEAKERS = {
    1: ("FC",),
    2: ("FL", "FR"),
    3: ("FL", "FR", "FC"),
    4: ("FL", "FR", "BL", "BR"),
    5: ("FL", "FR", "FC", "BL", "BR"),
    6: ("FL", "FR", "FC", "LFE", "BL", "BR"),
    7: ("FL", "FR", "FC", "LFE", "BC", "SL", "SR"),
    8: ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"),
}


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a file's header says about its audio.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of channels.
    frames : int
        Number of frames (samples per channel).
    duration_s : float
        ``frames / sample_rate``, in seconds.
    subtype : str
        soundfile's name of the sample format, e.g. ``"PCM_24"`` or ``"FLOAT"``.
    format : str
        soundfile's name of the container, e.g. ``"WAV"``, ``"WAVEX"`` (a WAV
        whose ``fmt `` is WAVE_FORMAT_EXTENSIBLE), ``"RF64"`` or ``"FLAC"``.
    channel_mask : int or None
        The WAV/RF64 file's ``dwChannelMask`` (0: no speakers assigned), or None
        when it has none (a plain ``fmt `` chunk, or another container).
    layout : str or None
        The named layout the channel mask designates
        (:func:`sonicmix.layouts.layout_for_mask`), or None.
    """

    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    subtype: str
    format: str
    channel_mask: int | None = None
    layout: str | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What :func:`write` wrote.

    Parameters
    ----------
    path : pathlib.Path
        Absolute path of the file written (symbolic links resolved).
    frames : int
        Number of frames written.
    channels : int
        Number of channels written.
    subtype : str
        Sample format: ``"PCM_16"``, ``"PCM_24"`` or ``"FLOAT"``.
    clipped_samples : int
        Number of samples (over all channels) that were clipped to the integer
        range; always 0 for ``"FLOAT"``.
    """

    path: Path
    frames: int
    channels: int
    subtype: str
    clipped_samples: int


# --------------------------------------------------------------------------- reading


def _check_dtype(dtype: object) -> Literal["float32", "float64"]:
    try:
        name = np.dtype(dtype).name  # type: ignore[call-overload]
    except TypeError:
        name = None
    if name not in ("float32", "float64"):
        raise ParameterError(
            f"dtype={dtype!r} is not supported; expected 'float32' or 'float64' "
            "(integer PCM is scaled to floats on reading)"
        )
    return name  # type: ignore[return-value]


def _check_block_size(block_size: object) -> int:
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ParameterError(
            f"block_size={block_size!r} is invalid; expected a positive integer number of frames"
        )
    return int(block_size)


def _wav_truncation(path: str) -> str | None:
    """Describe how a RIFF WAV or RF64 file is cut short, or return None.

    libsndfile silently trusts the file size over the ``data`` chunk's declared
    size, so a truncated WAV would read as a shorter, valid-looking file. This
    walks the chunk list and compares the declared data size with the bytes
    actually present. In RF64 (EBU Tech 3306) the 32-bit ``data`` size is
    0xFFFFFFFF and the real one is the ``ds64`` chunk's 64-bit ``dataSize``, which
    is checked the same way. A size of 0, or 0xFFFFFFFF in RIFF (written by
    streaming tools that could not seek back) means "unknown" and is not flagged.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return None
        rf64 = head[:4] == b"RF64"
        size = os.fstat(fh.fileno()).st_size
        block_align = 0
        ds64_data: int | None = None
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            chunk_id, chunk_size = chunk[:4], int.from_bytes(chunk[4:8], "little")
            if chunk_id == b"ds64" and chunk_size >= 16:
                ds64_data = int.from_bytes(fh.read(16)[8:16], "little")  # riffSize, then dataSize
            if chunk_id == b"fmt " and chunk_size >= 14:
                block_align = int.from_bytes(fh.read(14)[12:14], "little")
            if chunk_id == b"data":
                if rf64 and chunk_size == 0xFFFFFFFF:
                    if ds64_data is None:
                        return "the RF64 'data' chunk's size is in a 'ds64' chunk, and the file has none"
                    chunk_size = ds64_data
                if chunk_size in (0, 0xFFFFFFFF):
                    return None
                present = size - (pos + 8)
                if chunk_size <= present:
                    return None
                container = "RF64 ds64 chunk" if rf64 else "header"
                if block_align:
                    return (
                        f"the {container} declares {chunk_size // block_align} frames but the file holds "
                        f"only {present // block_align}"
                    )
                return f"the {container} declares {chunk_size} data bytes but the file holds only {present}"
            pos += 8 + chunk_size + (chunk_size & 1)
    return None


def _open_for_reading(path: PathLike):  # -> soundfile.SoundFile
    """Open ``path`` with soundfile, turning every failure into AudioFileError."""
    import soundfile as sf

    name = os.fspath(path)
    try:
        # Opening it ourselves first gives the operating system's reason
        # (missing, permission, a directory) rather than libsndfile's "System error".
        # The file type is checked before opening: a FIFO would block the open for ever.
        size = check_regular_file(name).st_size
        with open(name, "rb"):
            pass
        truncation = _wav_truncation(name)
    except AudioFileError:
        raise
    except FileNotFoundError as err:
        raise AudioFileError(f"cannot read {name!r}: the file does not exist (check the path)") from err
    except IsADirectoryError as err:
        raise AudioFileError(f"cannot read {name!r}: it is a directory; expected an audio file") from err
    except OSError as err:
        raise AudioFileError(f"cannot read {name!r}: {err.strerror or err}") from err
    if size == 0:
        raise AudioFileError(f"cannot read {name!r}: the file is empty (0 bytes)")
    if truncation is not None:
        raise AudioFileError(
            f"cannot read {name!r}: the file is truncated; {truncation} (was a copy or render interrupted?)"
        )
    try:
        handle = sf.SoundFile(name)
    except (sf.SoundFileError, OSError) as err:
        cause = str(err).replace(f"Error opening {name!r}: ", "")
        raise AudioFileError(
            f"cannot read {name!r}: {cause.rstrip('.')} (is it a corrupt file or a format libsndfile "
            "does not read?)"
        ) from err
    return handle


def _read_frames(handle, name: str, frames: int, dtype: str) -> np.ndarray:
    """Read up to ``frames`` frames as ``(frames, channels)``, wrapping decoder errors."""
    import soundfile as sf

    try:
        return handle.read(frames, dtype=dtype, always_2d=True)
    except (sf.SoundFileError, OSError) as err:
        raise AudioFileError(
            f"cannot read {name!r}: decoding failed ({err}); the file may be corrupt"
        ) from err


def _short_read(name: str, expected: int, got: int) -> AudioFileError:
    return AudioFileError(
        f"cannot read {name!r}: the header declares {expected} frames but only {got} could be decoded; "
        "the file is truncated or corrupt"
    )


def info(path: PathLike) -> AudioInfo:
    """Return the sample rate, channels, length and format of an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file soundfile (libsndfile) can read.

    Returns
    -------
    AudioInfo
        A frozen dataclass.

    Raises
    ------
    AudioFileError
        If the file is missing, empty, unreadable, corrupt, a truncated WAV or RF64,
        or not a regular file (a FIFO, a device: refused before it is opened).

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import sonicmix.io as sio
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "silence.flac")
    >>> _ = sio.write(path, np.zeros((1, 44100)), 44_100, subtype="PCM_16", dither=False)
    >>> sio.info(path)
    AudioInfo(sample_rate=44100, channels=1, frames=44100, duration_s=1.0, subtype='PCM_16', format='FLAC',
              channel_mask=None, layout=None)
    >>> bed = os.path.join(folder.name, "bed.wav")
    >>> _ = sio.write(bed, np.zeros((12, 480)), 48_000, layout="7.1.4")
    >>> found = sio.info(bed)
    >>> found.format, hex(found.channel_mask), found.layout
    ('WAVEX', '0x2d63f', '7.1.4')
    >>> folder.cleanup()
    """
    with _open_for_reading(path) as handle:
        channels, container = int(handle.channels), str(handle.format)
        mask = _wav.read_channel_mask(os.fspath(path)) if container in ("WAV", "WAVEX", "RF64") else None
        found = layout_for_mask(mask, channels)
        return AudioInfo(
            sample_rate=int(handle.samplerate),
            channels=channels,
            frames=int(handle.frames),
            duration_s=handle.frames / handle.samplerate,
            subtype=str(handle.subtype),
            format=container,
            channel_mask=mask,
            layout=None if found is None else found.name,
        )


def file_layout(path: PathLike, layout: str | Layout | None = None) -> Layout:
    """The layout of a file's channels: ``layout`` checked against the file, or found from it.

    Parameters
    ----------
    path : str or os.PathLike
        Any file soundfile reads.
    layout : str or Layout, optional
        The layout the file should hold. It must have the file's channel count
        and, for a WAV or RF64 file with a ``dwChannelMask``, a mask that matches
        (:attr:`sonicmix.layouts.Layout.accepted_masks`; a mask of 0 assigns no
        speakers and matches any layout). By default the layout the file's
        channel mask designates, else the one assumed for its channel count
        (:func:`sonicmix.layouts.default_layout`: mono, stereo, 5.0, 5.1, 7.1).

    Returns
    -------
    Layout

    Raises
    ------
    AudioFileError
        If the file cannot be read.
    LayoutError
        If ``layout`` is unknown, has another channel count, or contradicts the
        file's channel mask (the message names the file, its mask and the
        layout), or if no layout is given and none can be found.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import sonicmix.io as sio
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "bed.wav")
    >>> _ = sio.write(path, np.zeros((10, 480)), 48_000, layout="5.1.4")
    >>> sio.file_layout(path).name
    '5.1.4'
    >>> sio.file_layout(path, "7.1.2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sonicmix.errors.LayoutError: file '...bed.wav' has channel mask 0x2D03F
    (FL+FR+FC+LFE+BL+BR+TFL+TFR+TBL+TBR), which is not layout '7.1.2' (expected 0x563F
    (FL+FR+FC+LFE+BL+BR+SL+SR+TFL+TFR)); it is '5.1.4': pass layout='5.1.4'
    >>> folder.cleanup()
    """
    found = info(path)
    where = f"file {os.fspath(path)!r}"
    if layout is None:
        if found.layout is not None:
            return get_layout(found.layout)
        resolved = default_layout(found.channels, name=where)
    else:
        resolved = resolve_layout(layout, found.channels, name=where)
    check_channel_mask(found.channel_mask, resolved, name=where)
    return resolved


def read(
    path: PathLike,
    *,
    sample_rate: int | None = None,
    dtype: Literal["float32", "float64"] = "float32",
    layout: str | Layout | None = None,
) -> tuple[Audio, int]:
    """Read an audio file as ``(channels, samples)`` floats.

    Parameters
    ----------
    path : str or os.PathLike
        Any file soundfile (libsndfile) reads: WAV, FLAC, AIFF, OGG, ...
    sample_rate : int, optional
        Rate in Hz to return the audio at. If it differs from the file's, the
        audio is resampled with soxr at "VHQ" quality; the output then has
        ``round(frames * sample_rate / file_rate)`` samples. By default the
        file's own rate is kept and nothing is resampled.
    dtype : {"float32", "float64"}, default "float32"
        Sample type of the result (resampling keeps it). Integer PCM is scaled
        by ``2**(bits - 1)``, as soundfile does, so full scale reads as -1.0.
    layout : str or Layout, optional
        If given, the file must have this layout's channel count and, if it is
        a WAV or RF64 file with a channel mask, that layout's mask (see
        :func:`file_layout`).

    Returns
    -------
    audio : np.ndarray, shape=(channels, samples)
        C-contiguous, of ``dtype``.
    sample_rate : int
        Rate of ``audio`` in Hz: the requested one, or else the file's.

    Raises
    ------
    AudioFileError
        If the file is missing, empty (no bytes or no frames), unreadable,
        corrupt or truncated. The message names the path and the cause.
    ParameterError
        For an unsupported ``dtype`` or an invalid ``sample_rate``.
    LayoutError
        If ``layout`` does not match the file's channel count or channel mask.

    See Also
    --------
    blocks : read a long file block by block in constant memory.

    Notes
    -----
    A RIFF WAV whose ``data`` chunk declares more bytes than the file holds is
    refused as truncated (libsndfile alone would read the shorter part without
    complaint). For other containers truncation is caught when the decoder
    fails or delivers fewer frames than the header declares; a container whose
    header carries no length cannot be checked.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import sonicmix.io as sio
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "a.wav")
    >>> _ = sio.write(path, np.zeros((2, 44100), np.float32), 44_100, subtype="FLOAT")
    >>> audio, sample_rate = sio.read(path, sample_rate=48_000)
    >>> audio.shape, audio.dtype, sample_rate
    ((2, 48000), dtype('float32'), 48000)
    >>> folder.cleanup()
    """
    dtype = _check_dtype(dtype)
    target_rate = None if sample_rate is None else check_sample_rate(sample_rate)
    name = os.fspath(path)
    with _open_for_reading(path) as handle:
        file_rate, channels, frames = int(handle.samplerate), int(handle.channels), int(handle.frames)
        if layout is not None:
            resolved = resolve_layout(layout, channels, name=f"file {name!r}")
            if str(handle.format) in ("WAV", "WAVEX", "RF64"):
                check_channel_mask(_wav.read_channel_mask(name), resolved, name=f"file {name!r}")
        if frames == 0:
            raise AudioFileError(f"cannot read {name!r}: the file holds no audio (0 frames)")
        resample = target_rate is not None and target_rate != file_rate
        if resample:
            data = _read_frames(handle, name, frames, dtype)
            if len(data) != frames:
                raise _short_read(name, frames, len(data))
        else:
            # Fill a (channels, frames) array block by block: peak memory stays at
            # one copy of the audio instead of a (frames, channels) one plus its transpose.
            audio = np.empty((channels, frames), dtype=dtype)
            done = 0
            while done < frames:
                block = _read_frames(handle, name, min(DEFAULT_BLOCK_SIZE, frames - done), dtype)
                if len(block) == 0:
                    raise _short_read(name, frames, done)
                audio[:, done : done + len(block)] = block.T
                done += len(block)
            return audio, file_rate
    import soxr

    resampled = soxr.resample(data, file_rate, target_rate, quality="VHQ")
    del data
    return np.ascontiguousarray(resampled.T, dtype=dtype), int(target_rate)  # type: ignore[arg-type]


def blocks(
    path: PathLike, block_size: int, *, dtype: Literal["float32", "float64"] = "float32"
) -> Iterator[Audio]:
    """Read a file block by block, in constant memory.

    Parameters
    ----------
    path : str or os.PathLike
        Any file soundfile reads.
    block_size : int
        Frames per block. Every block has this many samples except the last,
        which holds what remains.
    dtype : {"float32", "float64"}, default "float32"
        Sample type of the blocks; integer PCM is scaled as in :func:`read`.

    Yields
    ------
    np.ndarray, shape=(channels, n)
        C-contiguous blocks whose concatenation along the last axis equals
        ``read(path, dtype=dtype)[0]``. The file's rate is in ``info(path)``.

    Raises
    ------
    AudioFileError
        As :func:`read`: checked when the first block is requested, and again
        if the file turns out to be shorter than its header says.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import sonicmix.io as sio
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "b.wav")
    >>> _ = sio.write(path, np.zeros((2, 1000)), 8_000)
    >>> [block.shape for block in sio.blocks(path, 400)]
    [(2, 400), (2, 400), (2, 200)]
    >>> folder.cleanup()
    """
    dtype = _check_dtype(dtype)
    block_size = _check_block_size(block_size)
    name = os.fspath(path)
    with _open_for_reading(path) as handle:
        frames = int(handle.frames)
        done = 0
        while done < frames:
            block = _read_frames(handle, name, min(block_size, frames - done), dtype)
            if len(block) == 0:
                raise _short_read(name, frames, done)
            done += len(block)
            yield np.ascontiguousarray(block.T)


# --------------------------------------------------------------------------- writing


def _check_target(path: PathLike, inputs: Iterable[PathLike], overwrite: bool) -> tuple[str, str]:
    """Return (final path, folder) after refusing every unsafe target."""
    given = os.fspath(path)
    final = os.path.realpath(given)
    folder = os.path.dirname(final)
    shown_folder = os.path.dirname(os.path.abspath(given)) or folder
    if not os.path.exists(folder):
        raise AudioFileError(
            f"cannot write {given!r}: the folder {shown_folder!r} does not exist (create it first)"
        )
    if not os.path.isdir(folder):
        raise AudioFileError(f"cannot write {given!r}: {shown_folder!r} is not a folder")
    if os.path.isdir(final):
        raise AudioFileError(f"cannot write {given!r}: it is a directory; expected a file name")
    for source in inputs:
        source_name = os.fspath(source)
        same = os.path.realpath(source_name) == final
        if not same and os.path.exists(final) and os.path.exists(source_name):
            same = os.path.samefile(source_name, final)  # hard links
        if same:
            raise AudioFileError(
                f"cannot write {given!r}: it is the input {source_name!r}; refusing to overwrite a render's "
                "input (choose another output path)"
            )
    if not overwrite and os.path.lexists(given):
        raise AudioFileError(f"cannot write {given!r}: the file exists and overwrite=False")
    return final, folder


def _create_partial(final: str, folder: str, given: str) -> tuple[int, str]:
    """Create an empty hidden temporary file next to ``final``; return (fd, name)."""
    base = os.path.basename(final)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.partial")
        try:
            # Mode 0o666 filtered by the umask, as for any file the user creates.
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as err:
            raise AudioFileError(
                f"cannot write {given!r}: the folder {folder!r} is not writable ({err.strerror or err})"
            ) from err
    raise AudioFileError(f"cannot write {given!r}: could not create a temporary file in {folder!r}")


#: A writer asks the kernel to start writing its file to disk every this many bytes (see _start_writeback).
_WRITEBACK_BYTES = 8 << 20
_sync_file_range: list = []  # libc's sync_file_range, looked up once (Linux); [None] where there is none


def _start_writeback(fd: int, start: int, length: int) -> None:
    """Start writing ``length`` bytes of ``fd`` from ``start`` to disk, without waiting (Linux only).

    A hint: the file's closing ``fsync`` still makes it durable, but then waits for the last
    few megabytes instead of the whole file (0.17 s for the five 46 MiB files of the reference
    mix and stems at 120 s, 0.06 s with this), and the disk works while the blocks are computed.
    """
    if not _sync_file_range:
        function = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                function = ctypes.CDLL(None, use_errno=True).sync_file_range
                function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
            except (OSError, AttributeError):
                function = None
        _sync_file_range.append(function)
    if _sync_file_range[0] is not None:
        _sync_file_range[0](fd, start, length, 2)  # SYNC_FILE_RANGE_WRITE; a failure only loses the hint


def _fsync_folder(folder: str) -> None:
    """Make the rename durable; not every platform or file system allows this."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write(
    path: PathLike,
    audio: Audio,
    sample_rate: int,
    *,
    subtype: Literal["PCM_16", "PCM_24", "FLOAT"] = "PCM_24",
    dither: bool = True,
    seed: int = 0,
    inputs: Iterable[PathLike] = (),
    overwrite: bool = True,
    layout: str | Layout | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> WriteResult:
    """Write ``(channels, samples)`` audio to a WAV or FLAC file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file. The extension picks the container: ``.wav`` or ``.flac``.
        A symbolic link is followed: its target is replaced.
    audio : np.ndarray, shape=(channels, samples)
        float32 or float64 samples, full scale at +-1.0. NaN and inf are refused.
    sample_rate : int
        Sample rate in Hz.
    subtype : {"PCM_24", "PCM_16", "FLOAT"}, default "PCM_24"
        Sample format. ``"FLOAT"`` (32-bit float) is WAV-only and stores the
        samples unchanged (as float32), including any beyond +-1.0.
    dither : bool, default True
        For PCM, add TPDF dither of +-1 LSB peak (the sum of two independent
        uniform variables of +-0.5 LSB) before rounding. With ``False`` the
        samples are only rounded to the nearest integer.
    seed : int, default 0
        Seed of the dither's generator (SplitMix64, one draw per sample; see
        ``sonicmix._pcm``; taken modulo 2**64): the same audio, seed and
        subtype give the same bytes, however the audio is cut into blocks.
    inputs : iterable of str or os.PathLike, default ()
        Files the audio was rendered from. Writing to any of them (by any path
        that resolves to it: relative, through a symbolic or a hard link) is
        refused.
    overwrite : bool, default True
        If False, an existing file at ``path`` is refused.
    layout : str or Layout, optional
        The audio's channel layout (:mod:`sonicmix.layouts`); it must have the
        audio's channel count. A WAV of more than two channels is then written
        with a WAVE_FORMAT_EXTENSIBLE ``fmt `` carrying the layout's channel mask
        (:attr:`sonicmix.layouts.Layout.channel_mask`: 0x63F for 7.1, 0x2D63F for
        7.1.4, a partial mask for 9.1.6 and 22.2), which players and ``ffprobe``
        read as the layout. For FLAC, whose channel assignment is fixed for each
        count, a layout with other speakers (5.1.2 in 8 channels) is refused. By
        default a WAV's ``fmt `` is the plain one and assigns no speakers.

    Returns
    -------
    WriteResult
        The path written, frames, channels, subtype and the number of clipped
        samples.

    Other Parameters
    ----------------
    block_size : int, default 65536
        Frames converted and written at a time; memory use is bounded by it,
        not by the duration. The bytes written do not depend on it.

    Raises
    ------
    ParameterError
        Before anything touches the disk: for an extension other than .wav or
        .flac, an unknown subtype, ``"FLOAT"`` for FLAC, more than 8 channels or
        a rate above 655350 Hz for FLAC, or a layout FLAC cannot hold. (A WAV
        beyond the 4 GiB RIFF limit is written as RF64, EBU Tech 3306.)
    LayoutError
        Before anything touches the disk: for an unknown ``layout`` or one with
        another channel count than ``audio``.
    AudioError
        Before anything touches the disk: if ``audio`` is not ``(channels,
        samples)`` float audio or holds NaN or inf (the message names the
        channel and sample).
    AudioFileError
        If the folder is missing or not writable, ``path`` is one of ``inputs``,
        the file exists and ``overwrite=False``, or the write itself fails. No
        partial file is left behind in any case.

    Notes
    -----
    Conversion to PCM scales by ``2**(bits - 1)``, adds the dither, rounds, and
    then **clips** to ``[-2**(bits - 1), 2**(bits - 1) - 1]``. Clipping is
    counted, not avoided: limit the audio first (a true-peak limiter with a
    ceiling at or below -1 dBTP leaves ample room). Note that +1.0 is one LSB
    beyond the largest integer, and that the dither can push a sample within
    1 LSB of full scale over it.

    The total error of a dithered sample, ``dither + rounding``, lies within
    +-1.5 LSB; undithered, within +-0.5 LSB.

    The file is written to a hidden temporary file in the same folder
    (``.<name>.<random>.partial``), flushed to disk with ``fsync`` and renamed
    over ``path`` with ``os.replace``; any exception removes the temporary file,
    and an existing file at ``path`` is then left as it was.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import sonicmix.io as sio
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "tone.wav")
    >>> t = np.arange(48_000) / 48_000
    >>> tone = (0.5 * np.sin(2 * np.pi * 1000.0 * t))[np.newaxis, :]
    >>> result = sio.write(path, tone, 48_000, subtype="PCM_16", seed=1)
    >>> result.frames, result.channels, result.subtype, result.clipped_samples
    (48000, 1, 'PCM_16', 0)
    >>> back, _ = sio.read(path, dtype="float64")
    >>> bool(np.max(np.abs(back - tone)) < 1.5 / 32768)  # dither + rounding stay within 1.5 LSB
    True
    >>> folder.cleanup()
    """
    block_size = _check_block_size(block_size)
    writer = AudioWriter(
        path,
        sample_rate,
        _channels_of(audio),
        subtype=subtype,
        dither=dither,
        seed=seed,
        inputs=inputs,
        overwrite=overwrite,
        frames=audio.shape[1] if isinstance(audio, np.ndarray) and audio.ndim == 2 else None,
        open_now=False,
        layout=layout,
    )
    # The whole buffer is checked before the disk is touched.
    audio = check_audio(audio, sample_rate=writer.sample_rate)
    with writer:
        for start in range(0, audio.shape[1], block_size):
            writer.write(audio[:, start : start + block_size], check=False)
    return writer.result


def _channels_of(audio: object) -> int:
    if isinstance(audio, np.ndarray) and audio.ndim == 2:
        return int(audio.shape[0])
    check_audio(audio)  # raises the right error for anything that is not 2-D float audio
    return 0  # pragma: no cover


class AudioWriter:
    """Write a WAV or FLAC file block by block, atomically: the streaming form of :func:`write`.

    The file appears under its name only when the writer is closed without an
    error (``with`` block, or :meth:`commit`); :meth:`abort`, or an exception
    inside the ``with`` block, removes everything written. Each block is
    checked for NaN/inf before it is written. Parameters are those of
    :func:`write`, plus ``channels`` and, optionally, the expected ``frames``
    (a WAV that will exceed 4 GiB is then written as RF64, EBU Tech 3306; without
    ``frames`` such a file is refused when it reaches the limit).

    Other Parameters
    ----------------
    layout : str or Layout, optional
        As in :func:`write`: the channel mask of a WAV of more than two channels
        (WAVE_FORMAT_EXTENSIBLE) and, for RF64, instead of libsndfile's default mask.
    reserve_bext : bool, default False
        Put a ``JUNK`` chunk of 1024 payload bytes just before the ``data``
        chunk of a RIFF WAV: room for a BWF ``bext`` chunk (602 fixed bytes and
        up to 422 of coding history) that :func:`sonicmix.bwf.write_bext` then
        writes in place, without copying the file. Refused for FLAC and for a
        WAV that ``frames`` makes RF64.
    peak_time : int, optional
        Timestamp (seconds since 1970, 32 bits) of a float WAV's ``PEAK``
        chunk; by default ``SOURCE_DATE_EPOCH`` when set, else the time of
        writing.

    Notes
    -----
    sonicmix writes WAV and RF64 itself, the bytes libsndfile would write
    (``fmt ``, then ``fact`` and ``PEAK`` for float, then ``data``), except
    that the float ``PEAK`` chunk's timestamp is ``SOURCE_DATE_EPOCH`` when
    that environment variable is set, so that such files are reproducible
    byte for byte. FLAC goes through soundfile (libsndfile).

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "mix.wav")
    >>> with AudioWriter(path, 48000, 2, subtype="FLOAT") as writer:
    ...     for _ in range(3):
    ...         writer.write(np.zeros((2, 1000), np.float32))
    >>> writer.result.frames
    3000
    >>> folder.cleanup()
    """

    def __init__(
        self,
        path: PathLike,
        sample_rate: int,
        channels: int,
        *,
        subtype: Literal["PCM_16", "PCM_24", "FLOAT"] = "PCM_24",
        dither: bool = True,
        seed: int = 0,
        inputs: Iterable[PathLike] = (),
        overwrite: bool = True,
        frames: int | None = None,
        open_now: bool = True,
        reserve_bext: bool = False,
        peak_time: int | None = None,
        layout: str | Layout | None = None,
    ) -> None:
        given = os.fspath(path)
        extension = os.path.splitext(given)[1].lower()
        if extension not in _FORMATS:
            raise ParameterError(
                f"path={given!r} has extension {extension or '(none)'!r}; expected '.wav' or '.flac' "
                "(write WAV or FLAC and convert with another tool for other formats)"
            )
        container = _FORMATS[extension]
        if subtype not in _SUBTYPES:
            raise ParameterError(f"subtype={subtype!r} is unknown; expected one of {list(_SUBTYPES)}")
        if container == "FLAC" and subtype == "FLOAT":
            raise ParameterError(
                f"subtype={subtype!r} is not possible in FLAC; expected 'PCM_16' or 'PCM_24' "
                "(FLAC stores integers only; write a .wav for 32-bit float)"
            )
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ParameterError(f"seed={seed!r} is invalid; expected a non-negative integer")
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ParameterError(f"channels={channels!r}; expected a whole number of channels, at least 1")
        self.layout = None if layout is None else resolve_layout(layout, int(channels), name=f"{given!r}")
        # A named layout of more than two channels is written with its channel mask (mono and
        # stereo are unambiguous in a plain fmt chunk, which every reader takes).
        self._mask = self.layout.channel_mask if self.layout is not None and channels > 2 else None
        if container == "FLAC" and self.layout is not None and self.layout.speakers:
            if self.layout.speakers != _FLAC_SPEAKERS.get(channels, self.layout.speakers):
                raise ParameterError(
                    f"layout={self.layout.name!r} is not possible in FLAC ({given!r}): FLAC assigns "
                    f"{channels} channels to {'+'.join(_FLAC_SPEAKERS[channels])}, not "
                    f"{'+'.join(self.layout.speakers)}; write a .wav, which carries the layout's channel mask"
                )
        # data bytes a RIFF file of this kind can hold, its header counted
        self._room = min(
            _WAV_MAX_DATA_BYTES,
            _wav.max_riff_data_bytes(channels, subtype, reserve_bext, extensible=self._mask is not None),
        )
        if frames is not None and container == "WAV":
            # Beyond RIFF's 32-bit sizes the file is written as RF64 (EBU Tech 3306, the
            # broadcast WAV for more than 4 GiB), still with its .wav name.
            if channels * frames * _BYTES_PER_SAMPLE[subtype] > self._room:
                container = "RF64"
        if container == "FLAC" and channels > _FLAC_MAX_CHANNELS:
            raise ParameterError(f"audio has {channels} channels; FLAC holds at most 8 (write a .wav)")
        if container == "FLAC" and self.sample_rate > _FLAC_MAX_SAMPLE_RATE:
            raise ParameterError(
                f"sample_rate={self.sample_rate} is too high for FLAC; expected at most 655350 Hz "
                "(write a .wav)"
            )
        if reserve_bext and container != "WAV":
            raise ParameterError(
                f"reserve_bext=True for {given!r}, which will be {container}; expected a RIFF WAV "
                "(the bext chunk exists only there: write a .wav under 4 GiB, or no bext)"
            )
        if peak_time is None and container == "WAV" and subtype == "FLOAT":
            # Read now, so that a malformed value fails before the disk is touched.
            peak_time = _wav.peak_timestamp()
        self._given = given
        self._final, self._folder = _check_target(path, inputs, overwrite)
        self._container, self.subtype, self.channels = container, subtype, channels
        self._bits = _PCM_BITS.get(subtype)
        self._quantise = None
        if self._bits is not None:
            from sonicmix._pcm import Quantiser  # imports numba: only for PCM

            # soundfile takes 24-bit FLAC samples as int32 with the level in the top 24 bits
            wide = container == "FLAC" and self._bits == 24
            self._quantise = Quantiser(
                self._bits, seed=int(seed), dither=dither, width=4 if wide else None, shift=8 if wide else 0
            )
        self._reserve = _wav.BEXT_RESERVE_BYTES if reserve_bext else 0
        self._peak_time = peak_time
        self._frames = 0
        self._bytes_per_frame = channels * _BYTES_PER_SAMPLE[subtype]
        self._clipped = 0
        #: Every sample stored so far is finite (PCM always is: NaN is stored as silence, inf clips).
        self.all_finite = True
        self._written_back = 0  # bytes of the file whose writing to disk has been started
        self._handle = None  # a soundfile.SoundFile (FLAC) or a _wav.WavWriter
        self._fd: int | None = None
        self._tmp: str | None = None
        self.result: WriteResult | None = None
        if open_now:
            self._open()

    def _open(self) -> None:
        self._fd, self._tmp = _create_partial(self._final, self._folder, self._given)
        try:
            if self._container == "FLAC":
                import soundfile as sf

                self._handle = sf.SoundFile(
                    self._fd,
                    mode="w",
                    samplerate=self.sample_rate,
                    channels=self.channels,
                    subtype=self.subtype,
                    format=self._container,
                    closefd=False,
                )
            else:
                self._handle = _wav.WavWriter(
                    self._fd,
                    sample_rate=self.sample_rate,
                    channels=self.channels,
                    subtype=self.subtype,
                    rf64=self._container == "RF64",
                    reserve_bytes=self._reserve,
                    peak_time=self._peak_time,
                    channel_mask=self._mask,
                )
        except BaseException as err:
            self._fail(err)

    def __enter__(self) -> AudioWriter:
        if self._handle is None:
            self._open()
        return self

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if error is None:
            self.commit()
        else:
            self.abort()

    def write(self, block: Audio, *, check: bool = True, stored: bool = False) -> np.ndarray | None:
        """Append a ``(channels, n)`` block (float32 or float64).

        With ``stored=True``, return the block as the file holds it (after
        dither and quantisation, as float32): what reading the file back
        gives, without reading it. For FLOAT that is ``block`` itself when it
        is float32.
        """
        if self._handle is None or self._fd is None:  # closed, or finished (its descriptor is gone)
            raise AudioFileError(f"cannot write {self._given!r}: the writer is closed")
        if check:
            block = check_audio(block, channels=self.channels, min_samples=0, finite=False)
            from sonicmix._checks import check_finite

            try:
                check_finite(block, "audio", self.sample_rate, offset=self._frames)
            except BaseException as err:
                self._fail(err)
        n = block.shape[1]
        if self._container == "WAV" and (self._frames + n) * self._bytes_per_frame > self._room:
            self._fail(
                ParameterError(
                    f"{self._given!r} would grow beyond the 4 GiB a RIFF WAV file can hold; pass frames= "
                    "(the expected length) to write it as RF64, or write a .flac"
                )
            )
        kept = None
        try:
            if self._quantise is None:
                if not self._handle.write_float(block):  # the float path looks at every sample anyway
                    self.all_finite = False
                if stored:
                    kept = block if block.dtype == np.float32 else np.asarray(block, np.float32)
            else:
                kept = np.empty((self.channels, n), np.float32) if stored else None
                # A slice of frames at a time keeps the byte buffer in the cache; the dither's
                # generator is consumed sample by sample, so the bytes do not depend on the slices.
                step = max(1, _wav.CHUNK_SAMPLES // self.channels)
                for start in range(0, n, step):
                    part = block[:, start : start + step]
                    into = None if kept is None else kept[:, start : start + step]
                    raw, clipped = self._quantise(part, into)
                    self._clipped += clipped
                    if self._container == "FLAC":
                        ints = raw.view("<i2" if self._bits == 16 else "<i4")
                        self._handle.write(ints.reshape(part.shape[1], self.channels))
                    else:
                        self._handle.write_pcm(raw, part.shape[1])
        except BaseException as err:
            self._fail(err)
        self._frames += n
        position = os.lseek(self._fd, 0, os.SEEK_CUR)
        if position - self._written_back >= _WRITEBACK_BYTES:
            _start_writeback(self._fd, self._written_back, position - self._written_back)
            self._written_back = position
        return kept

    def finish(self) -> str:
        """Complete the file under its temporary name, on disk, and return that name.

        For work on the finished file before it appears (a ``bext`` chunk, say);
        :meth:`commit` then moves it, :meth:`abort` removes it.
        """
        if self._handle is None:
            self._open()
        if self._fd is not None:
            try:
                if self._container == "FLAC":
                    self._handle.close()
                else:
                    self._handle.finish()
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
            except BaseException as err:
                self._fail(err)
        return self._tmp

    def commit(self) -> WriteResult:
        """Finish the file and move it under its final name."""
        if self.result is not None:
            return self.result
        self.finish()
        try:
            os.replace(self._tmp, self._final)
        except BaseException as err:
            self._fail(err)
        _fsync_folder(self._folder)
        self._handle = None
        self.result = WriteResult(
            path=Path(self._final),
            frames=self._frames,
            channels=self.channels,
            subtype=self.subtype,
            clipped_samples=self._clipped,
        )
        return self.result

    def abort(self) -> None:
        """Remove everything written; the final path is left as it was."""
        if self._handle is not None:
            if self._container == "FLAC":
                try:
                    self._handle.close()
                except Exception:  # the file is being thrown away
                    pass
            self._handle = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass
            self._tmp = None

    def _fail(self, err: BaseException) -> None:
        self.abort()
        # soundfile is loaded only if a FLAC writer needed it
        kinds = (OSError, getattr(sys.modules.get("soundfile"), "SoundFileError", OSError))
        if isinstance(err, kinds) and not isinstance(err, AudioFileError):
            cause = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise AudioFileError(f"cannot write {self._given!r}: {cause} (nothing was written)") from err
        raise err


def resample_file(path: PathLike, sample_rate: int, *, temp_dir: str | None = None) -> str:
    """Resample a file to ``sample_rate`` into a temporary float32 WAV, in constant memory; return its path.

    Uses soxr's streaming resampler ("VHQ"), the same quality as :func:`read`
    with ``sample_rate=``. The caller deletes the file.
    """
    import tempfile

    import soxr

    rate = check_sample_rate(sample_rate)
    source = info(path)
    fd, tmp = tempfile.mkstemp(suffix=".wav", prefix="sonicmix-resampled-", dir=temp_dir)
    os.close(fd)
    stream = soxr.ResampleStream(source.sample_rate, rate, source.channels, dtype="float32", quality="VHQ")
    try:
        with AudioWriter(tmp, rate, source.channels, subtype="FLOAT", peak_time=0) as writer:  # scratch
            for block in blocks(path, DEFAULT_BLOCK_SIZE):
                out = stream.resample_chunk(np.ascontiguousarray(block.T))
                if len(out):
                    writer.write(np.ascontiguousarray(out.T), check=False)
            tail = stream.resample_chunk(np.zeros((0, source.channels), np.float32), last=True)
            if len(tail):
                writer.write(np.ascontiguousarray(tail.T), check=False)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return tmp

"""Encoding deliverables to lossy and lossless formats, and decoding them as a listener would.

:class:`EncodedWriter` has the interface of :class:`sonicmix.io.AudioWriter`
(``write`` blocks, ``finish``, ``commit``, ``abort``; the file appears under its
name only on ``commit``), for the formats of :mod:`sonicmix.delivery.formats`
other than WAV: MP3 through the LAME of the lameenc wheel where it is installed
(:mod:`sonicmix.delivery.mp3`, three times as fast as PyAV's build), AAC, Opus
and otherwise MP3 through PyAV (FFmpeg's encoders in a wheel), Vorbis and FLAC
through soundfile (libsndfile). :func:`decoded_blocks` reads any
of them back through PyAV, block by block, so a deliverable is measured as it
will play (:func:`measure_decoded`).

PyAV is an optional extra (``pip install "sonicmix[encode]"``); WAV and FLAC
need nothing more than the core.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from sonicmix.delivery.formats import parse_format
>>> folder = tempfile.TemporaryDirectory()
>>> path = os.path.join(folder.name, "tone.mp3")
>>> t = np.arange(48000) / 48000
>>> tone = np.tile(0.25 * np.sin(2 * np.pi * 997 * t), (2, 1)).astype(np.float32)
>>> writer = EncodedWriter(path, parse_format("mp3:128k"), 48000, 2)
>>> writer.write(tone)
>>> writer.commit()  # doctest: +ELLIPSIS
'.../tone.mp3'
>>> abs(measure_decoded(path).true_peak_dbtp - -12.0) < 1.0  # a 0.25 (-12 dBFS) tone, as decoded
True
>>> folder.cleanup()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from sonicmix.delivery.formats import AudioFormat
from sonicmix.delivery.mp3 import LAME_MIN_KBPS, LameStream, lame_library
from sonicmix.errors import AudioFileError, ParameterError
from sonicmix.loudness import LoudnessMeter, LoudnessReport

__all__ = [
    "EncodedWriter",
    "decoded_blocks",
    "measure_decoded",
    "encoding_rate",
    "check_encoder",
    "check_channels",
]

#: codec -> (PyAV encoder, container, sample format fed to the encoder, most channels)
_PYAV = {
    "mp3": ("libmp3lame", "mp3", "fltp", 2),
    "aac": ("aac", "ipod", "fltp", 8),
    "opus": ("libopus", "ogg", "flt", 8),
}
#: codec -> (libsndfile container, subtype, most channels)
_SNDFILE = {"vorbis": ("OGG", "VORBIS", 8), "flac": ("FLAC", None, 8)}
#: Sample rates each codec encodes (None: any). Others are resampled to 48 kHz first.
_RATES = {
    "mp3": (32000, 44100, 48000),
    "aac": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000),
    "opus": (48000,),
}
_INSTALL = 'install PyAV, which carries FFmpeg\'s encoders: pip install "sonicmix[encode]"'


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise ParameterError(
            "encoding MP3, AAC or Opus and verifying them after the codec needs PyAV, which is not "
            f"installed; {_INSTALL}"
        ) from None
    return av


def check_encoder(fmt: AudioFormat) -> None:
    """Refuse, before any work, a format whose encoder is not installed (the error says what to install)."""
    if fmt.codec not in _PYAV:
        return
    av = _av()  # every lossy deliverable is decoded through PyAV to be verified
    if _uses_lame(fmt):
        return
    encoder = _PYAV[fmt.codec][0]
    try:
        av.codec.Codec(encoder, "w")
    except Exception:  # noqa: BLE001 - PyAV raises several kinds for a missing codec
        raise ParameterError(
            f"format {fmt.spec!r} needs FFmpeg's {encoder!r} encoder, which this PyAV build lacks; "
            f"{_INSTALL} (its wheels carry {encoder})"
        ) from None


def _uses_lame(fmt: AudioFormat) -> bool:
    """Whether ``fmt`` is encoded by lameenc's LAME (:mod:`sonicmix.delivery.mp3`) rather than PyAV."""
    return fmt.codec == "mp3" and fmt.bitrate_kbps >= LAME_MIN_KBPS and lame_library() is not None


def check_channels(fmt: AudioFormat, channels: int) -> None:
    """Refuse a channel count ``fmt`` cannot hold (MP3: two), naming both."""
    if fmt.codec == "wav":
        return
    most = (_PYAV.get(fmt.codec) or _SNDFILE[fmt.codec])[-1]
    if channels > most:
        raise ParameterError(
            f"format {fmt.spec!r} holds at most {most} channels and the mix has {channels}; "
            "expected WAV (any channel count), or this format for a fold-down or binaural version "
            "(Version(layout=..., formats=...) or Version(binaural=True, formats=...); an Ambisonics master "
            "has no fold-down)"
        )


def encoding_rate(fmt: AudioFormat, sample_rate: int) -> int:
    """The rate ``fmt`` is encoded at: ``sample_rate`` where the codec takes it, else 48 kHz.

    Examples
    --------
    >>> from sonicmix.delivery.formats import parse_format
    >>> encoding_rate(parse_format("opus"), 44100), encoding_rate(parse_format("mp3"), 44100)
    (48000, 44100)
    """
    rates = _RATES.get(fmt.codec)
    return sample_rate if rates is None or sample_rate in rates else 48000


class EncodedWriter:
    """Encode ``(channels, n)`` float blocks into ``path`` in ``fmt``; atomic like AudioWriter.

    Parameters
    ----------
    path : str
        The deliverable's final name; the encoder writes a hidden temporary
        file beside it, moved under this name by :meth:`commit`.
    fmt : AudioFormat
        Any format but WAV (:func:`sonicmix.delivery.formats.parse_format`).
    sample_rate, channels : int
        Of the blocks given to :meth:`write`. A rate the codec does not take
        (Opus encodes at 48 kHz only) is converted with soxr first.
    subtype : {"PCM_16", "PCM_24"}, default "PCM_24"
        FLAC's sample format (dithered by :class:`sonicmix.io.AudioWriter`).
    overwrite : bool, default True
        Replace an existing file of that name on commit.
    """

    def __init__(
        self,
        path: str,
        fmt: AudioFormat,
        sample_rate: int,
        channels: int,
        *,
        subtype: str = "PCM_24",
        seed: int = 0,
        overwrite: bool = True,
    ) -> None:
        from sonicmix.io import AudioWriter, _check_target

        if fmt.codec == "wav":
            raise ParameterError("EncodedWriter does not write WAV; use sonicmix.io.AudioWriter")
        check_channels(fmt, channels)
        check_encoder(fmt)
        self.path, self.format, self.channels = path, fmt, channels
        self.sample_rate = sample_rate
        self.rate = encoding_rate(fmt, sample_rate)
        self._pcm: AudioWriter | None = None
        if fmt.codec == "flac":  # lossless: the PCM writer (dither, atomic rename) does it all
            self._pcm = AudioWriter(
                path, sample_rate, channels, subtype=subtype, seed=seed, overwrite=overwrite
            )
            return
        self._final, self._folder = _check_target(path, (), overwrite)
        self._tmp: str | None = None
        self._handle: Any = None
        self._stream: Any = None
        self._lame: LameStream | None = None
        self._resampler: Any = None
        self._frames = 0
        self._done = False
        self._open()

    # ----------------------------------------------------------------- lifecycle

    def _open(self) -> None:
        from sonicmix.io import _create_partial

        fd, self._tmp = _create_partial(self._final, self._folder, self.path)
        try:
            if self.rate != self.sample_rate:
                import soxr

                self._resampler = soxr.ResampleStream(
                    self.sample_rate, self.rate, self.channels, dtype="float32", quality="HQ"
                )
            if _uses_lame(self.format):
                self._file = os.fdopen(fd, "w+b")
                kbps = self.format.bitrate_kbps
                self._lame = LameStream(self._file, self.rate, self.channels, bitrate_kbps=kbps)
            elif self.format.codec in _PYAV:
                self._open_pyav(os.fdopen(fd, "w+b"))
            else:
                import soundfile as sf

                container, subtype, _ = _SNDFILE[self.format.codec]
                # libsndfile's Vorbis quality is 1 - compression_level (0 best, 1 worst)
                self._handle = sf.SoundFile(
                    os.fdopen(fd, "w+b"),
                    mode="w",
                    samplerate=self.rate,
                    channels=self.channels,
                    format=container,
                    subtype=subtype,
                    compression_level=1.0 - self.format.quality / 10.0,
                )
        except BaseException:
            self.abort()
            raise

    def _open_pyav(self, fileobj: Any) -> None:
        av = _av()
        encoder, container, sample_format, _ = _PYAV[self.format.codec]
        self._file = fileobj
        self._handle = av.open(fileobj, "w", format=container)
        stream = self._handle.add_stream(encoder, rate=self.rate, layout=_av_layout(self.channels))
        stream.bit_rate = self.format.bitrate_kbps * 1000
        stream.format = sample_format
        self._stream = stream
        self._planar = sample_format.endswith("p")

    def write(self, block: np.ndarray) -> None:
        """Encode a ``(channels, n)`` float block (NaN-free: the delivery checked it)."""
        if self._pcm is not None:
            self._pcm.write(block, check=False)
            return
        if self._done or (self._handle is None and self._lame is None):
            raise AudioFileError(f"cannot write {self.path!r}: the encoder is closed")
        x = np.asarray(block, np.float32)
        if self._resampler is not None:
            x = self._resampler.resample_chunk(np.ascontiguousarray(x.T)).T
        self._encode(x)

    def _encode(self, x: np.ndarray) -> None:
        try:
            if self._lame is not None:
                self._lame.write(x)
            elif self._stream is None:
                if x.shape[1]:
                    self._handle.write(np.ascontiguousarray(x.T))
            elif x.shape[1]:
                frame = self._frame(x)
                for packet in self._stream.encode(frame):
                    self._handle.mux(packet)
            self._frames += x.shape[1]
        except BaseException as err:
            self.abort()
            raise _disk_error(self.path, err) from err

    def _frame(self, x: np.ndarray) -> Any:
        av = _av()
        data = np.ascontiguousarray(x) if self._planar else np.ascontiguousarray(x.T).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(
            data, format=self._stream.format.name, layout=_av_layout(self.channels)
        )
        frame.sample_rate = self.rate
        frame.pts = self._frames
        frame.time_base = Fraction(1, self.rate)
        return frame

    def finish(self) -> str:
        """Flush the encoder and complete the file under its temporary name; return that name."""
        if self._pcm is not None:
            return self._pcm.finish()
        if not self._done:
            try:
                if self._resampler is not None:
                    rest = self._resampler.resample_chunk(
                        np.zeros((0, self.channels), np.float32), last=True
                    ).T
                    self._encode(rest)
                if self._lame is not None or self._stream is not None:
                    if self._lame is not None:
                        self._lame.close()
                    else:
                        for packet in self._stream.encode(None):
                            self._handle.mux(packet)
                        self._handle.close()
                    self._file.flush()
                    os.fsync(self._file.fileno())
                    self._file.close()
                else:
                    self._handle.close()
            except BaseException as err:
                self.abort()
                raise _disk_error(self.path, err) from err
            self._done = True
        return self._tmp

    def commit(self) -> str:
        """Finish, then move the file under its final name; return that name."""
        if self._pcm is not None:
            return str(self._pcm.commit().path)
        from sonicmix.io import _fsync_folder

        self.finish()
        try:
            os.replace(self._tmp, self._final)
        except BaseException:
            self.abort()
            raise
        self._tmp = None
        _fsync_folder(self._folder)
        return self._final

    def abort(self) -> None:
        """Remove the temporary file; the final name is left as it was."""
        if self._pcm is not None:
            self._pcm.abort()
            return
        self._done = True
        if self._lame is not None:
            self._lame.release()
        for closing in (self._handle, getattr(self, "_file", None)):
            try:
                if closing is not None:
                    closing.close()
            except Exception:  # noqa: BLE001 - already failing; the file is removed below
                pass
        if self._tmp is not None and os.path.exists(self._tmp):
            os.unlink(self._tmp)
        self._tmp = None


#: FFmpeg's default layout for a channel count (the order sonicmix's layouts use: L R C LFE ...)
_FFMPEG_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _av_layout(channels: int) -> str:
    return _FFMPEG_LAYOUTS[channels]


def _disk_error(path: str, err: BaseException) -> BaseException:
    """An encoder's OSError (a full disk, say) or LAME's failure as an AudioFileError naming the file."""
    if isinstance(err, (OSError, RuntimeError)):  # RuntimeError: LAME's own failures (sonicmix.delivery.mp3)
        return AudioFileError(
            f"cannot write {path!r}: {getattr(err, 'strerror', None) or err} while encoding; "
            "nothing was left under its name"
        )
    return err


def decoded_blocks(path: str | os.PathLike[str], block_size: int = 1 << 16) -> Iterator[np.ndarray]:
    """Decode any deliverable (MP3, AAC, Opus, Vorbis, FLAC, WAV) as ``(channels, n)`` float32 blocks.

    What a player gives: FFmpeg's decoders (through PyAV) with the encoder's
    priming samples dropped where the container says how many. The rate is
    :func:`decoded_rate`'s.
    """
    av = _av()
    resampler = av.AudioResampler(format="fltp")
    pending: list[np.ndarray] = []
    held = 0
    try:
        container = av.open(os.fspath(path))
    except Exception as err:  # noqa: BLE001 - FFmpeg's errors carry no common base
        raise AudioFileError(f"cannot decode {os.fspath(path)!r}: {err}") from err
    with container:
        for frame in container.decode(audio=0):
            for converted in resampler.resample(frame):
                pending.append(converted.to_ndarray())
                held += pending[-1].shape[1]
            if held >= block_size:
                yield np.concatenate(pending, axis=1)
                pending, held = [], 0
        for converted in resampler.resample(None):
            pending.append(converted.to_ndarray())
    if pending:
        out = np.concatenate(pending, axis=1)
        if out.shape[1]:
            yield out


def decoded_rate(path: str | os.PathLike[str]) -> int:
    """Sample rate the decoder gives for ``path``."""
    av = _av()
    with av.open(os.fspath(path)) as container:
        return int(container.streams.audio[0].codec_context.sample_rate)


def measure_decoded(path: str | os.PathLike[str], *, layout: Any = None) -> LoudnessReport:
    """Loudness (I, LRA, true peak, series) of ``path`` as decoded: what a listener receives."""
    rate = decoded_rate(path)
    meter: LoudnessMeter | None = None
    for block in decoded_blocks(path):
        if meter is None:
            meter = LoudnessMeter(rate, channels=block.shape[0], layout=layout)
        meter.update(block)
    if meter is None:
        raise AudioFileError(f"{os.fspath(path)!r} decodes to no samples")
    return meter.report()

"""Sources and clips: audio placed on a timeline.

A *source* is audio to draw from: an array (:class:`ArraySource`) or a file
(:class:`FileSource`, read block by block, so a two-hour programme is never
loaded whole). A :class:`Clip` places part of a source on a track's timeline,
with its own gain and fades. All times are in seconds.

Sources at another sample rate than the render are resampled with soxr:
arrays once, in memory, when the render starts; files into a temporary
float32 file next to the render, block by block. The render report lists
every source it resampled.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sonicmix._checks import check_audio, check_range, check_sample_rate
from sonicmix.errors import AudioFileError, ParameterError
from sonicmix.nodes.fade import _CURVES, FadeCurve, fade_curve
from sonicmix.nodes.stretch import check_rate, check_semitones
from sonicmix.units import db_to_gain

__all__ = ["ArraySource", "FileSource", "Source", "Clip"]

#: Longest time anywhere on a timeline, in seconds (11.6 days, beyond any programme): a slip
#: such as ``start_s=1e30`` is refused, rather than rendering silence for ever.
MAX_TIME_S = 1e6


@dataclass(frozen=True, eq=False)
class ArraySource:
    """Audio held in memory, ``(channels, samples)``.

    Examples
    --------
    >>> import numpy as np
    >>> ArraySource(np.zeros((2, 48000), np.float32), 48000, name="room tone")
    ArraySource(name='room tone', channels=2, duration_s=1, sample_rate=48000)
    """

    audio: np.ndarray = field(repr=False)
    sample_rate: int
    name: str = "array"

    def __post_init__(self) -> None:
        check_audio(self.audio, f"source {self.name!r}")
        object.__setattr__(
            self, "sample_rate", check_sample_rate(self.sample_rate, f"source {self.name!r} sample_rate")
        )

    @property
    def channels(self) -> int:
        return int(self.audio.shape[0])

    @property
    def frames(self) -> int:
        return int(self.audio.shape[1])

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def __repr__(self) -> str:
        return (
            f"ArraySource(name={self.name!r}, channels={self.channels}, duration_s={self.duration_s:g}, "
            f"sample_rate={self.sample_rate})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArraySource):
            return NotImplemented
        return (
            self.name == other.name
            and self.sample_rate == other.sample_rate
            and (self.audio is other.audio or bool(np.array_equal(self.audio, other.audio)))
        )

    def __hash__(self) -> int:
        return hash((self.name, self.sample_rate, self.audio.shape))

    def describe(self) -> dict[str, Any]:
        """Plain-data description (the audio itself is not included)."""
        return {
            "type": "array",
            "name": self.name,
            "channels": self.channels,
            "frames": self.frames,
            "sample_rate": self.sample_rate,
        }


@dataclass(frozen=True)
class FileSource:
    """An audio file, read block by block while rendering.

    Examples
    --------
    >>> FileSource("dialogue.wav")
    FileSource(path='dialogue.wav')
    """

    path: str

    def __post_init__(self) -> None:
        if not isinstance(self.path, (str, os.PathLike)):
            raise ParameterError(f"path={self.path!r}; expected the path of an audio file")
        object.__setattr__(self, "path", os.fspath(self.path))

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def info(self) -> Any:
        from sonicmix.io import info

        return info(self.path)

    def describe(self) -> dict[str, Any]:
        return {"type": "file", "path": self.path}


Source = ArraySource | FileSource


@dataclass(frozen=True, slots=True, kw_only=True)
class Clip:
    """A region of a source placed on a track's timeline.

    Parameters
    ----------
    source : ArraySource or FileSource
        Where the audio comes from.
    start_s : float, default 0.0
        Position of the clip's first sample on the timeline, in seconds (>= 0).
    offset_s : float, default 0.0
        Where in the source the clip starts, in seconds.
    duration_s : float, optional
        Length of the clip; by default the rest of the source after ``offset_s``.
    gain_db : float, default 0.0
        Clip gain.
    fade_in_s, fade_out_s : float, default 0.0
        Fade lengths at the clip's start and end (where two clips on a track
        overlap, the overlap is cross-faded; see :class:`sonicmix.graph.Track`).
    fade_curve : {"linear", "equal_power", "exponential", "logarithmic", "s_curve"}, default "linear"
        Shape of the fades.
    rate : float, default 1.0
        Playback speed, 0.25 to 4 (2.0 plays twice as fast, in half the
        time), with the pitch kept (phase vocoder, :mod:`sonicmix.dsp.vocoder`).
        The clip lasts ``(source length - offset_s) / rate`` on the timeline
        unless ``duration_s`` is given. ``offset_s`` is in the source's time;
        ``start_s``, ``duration_s`` and the fades are on the timeline.
    semitones : float, default 0.0
        Pitch change, -24 to 24 equal-tempered semitones (12 is an octave up),
        with the duration kept.

    Examples
    --------
    >>> import numpy as np
    >>> music = ArraySource(np.zeros((2, 480000), np.float32), 48000, name="music")
    >>> Clip(source=music, start_s=2.0, offset_s=1.5, duration_s=4.0, fade_in_s=0.5).end_s
    6.0

    Twice as fast and a fifth up: the 8.5 s after the offset take 4.25 s.

    >>> Clip(source=music, offset_s=1.5, rate=2.0, semitones=7.0).length_s()
    4.25
    """

    source: Source
    start_s: float = 0.0
    offset_s: float = 0.0
    duration_s: float | None = None
    gain_db: float = 0.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    fade_curve: FadeCurve = "linear"
    rate: float = 1.0
    semitones: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.source, (ArraySource, FileSource)):
            raise ParameterError(f"source={self.source!r}; expected an ArraySource or a FileSource")
        try:
            object.__setattr__(self, "rate", check_rate(self.rate))
            object.__setattr__(self, "semitones", check_semitones(self.semitones))
        except ParameterError as err:
            raise ParameterError(f"clip of {self.source.name!r}: {err}") from None
        check_range("start_s", self.start_s, low=0.0, high=MAX_TIME_S, hint="seconds on the timeline")
        check_range("offset_s", self.offset_s, low=0.0, high=MAX_TIME_S, hint="seconds into the source")
        if self.duration_s is not None:
            check_range("duration_s", self.duration_s, low=0.0, low_inclusive=False, high=MAX_TIME_S)
        check_range("gain_db", self.gain_db, high=96.0)
        check_range("fade_in_s", self.fade_in_s, low=0.0, high=MAX_TIME_S)
        check_range("fade_out_s", self.fade_out_s, low=0.0, high=MAX_TIME_S)
        if self.fade_curve not in _CURVES:
            raise ParameterError(f"fade_curve={self.fade_curve!r}; expected one of {_CURVES}")
        if self.duration_s is not None and self.fade_in_s + self.fade_out_s > self.duration_s + 1e-12:
            raise ParameterError(
                f"fade_in_s={self.fade_in_s:g} + fade_out_s={self.fade_out_s:g} is longer than "
                f"duration_s={self.duration_s:g}; expected fades that fit in the clip"
            )

    @property
    def end_s(self) -> float:
        """Timeline position just after the clip's last sample (needs the source's length for files)."""
        return self.start_s + self.length_s()

    def length_s(self) -> float:
        """Length on the timeline in seconds: ``duration_s``, or the source after ``offset_s`` / ``rate``."""
        if self.duration_s is not None:
            return self.duration_s
        if isinstance(self.source, ArraySource):
            length = self.source.duration_s
        else:
            length = self.source.info().duration_s
        rest = length - self.offset_s
        if rest <= 0:
            raise ParameterError(
                f"offset_s={self.offset_s:g} is past the end of source {self.source.name!r} "
                f"({length:g} s); expected an offset inside the source"
            )
        return rest / self.rate

    @property
    def stretched(self) -> bool:
        """True if the clip plays at another speed or pitch than its source's."""
        return self.rate != 1.0 or self.semitones != 0.0

    @property
    def gain(self) -> float:
        return float(db_to_gain(self.gain_db))


def _frames(time_s: float, sample_rate: int) -> int:
    return int(math.floor(time_s * sample_rate + 0.5))


class ClipReader:
    """Renders one clip, block by block, at the render's sample rate (internal)."""

    def __init__(
        self,
        clip: Clip,
        sample_rate: int,
        fade_in: int,
        fade_out: int,
        curve_in: str,
        curve_out: str,
        source: Any,
        matrix: np.ndarray | None = None,
    ) -> None:
        self.clip = clip
        self.matrix = matrix  # the source's layout to the track's (BS.775), or None
        self.start = _frames(clip.start_s, sample_rate)
        self.length = _frames(clip.length_s(), sample_rate)
        self.stop = self.start + self.length
        self.offset = _frames(clip.offset_s, sample_rate)
        # the source samples the clip plays (its length in source time: a stretched clip reads length * rate)
        self.source_length = self.length if clip.rate == 1.0 else _frames(self.length * clip.rate, 1)
        self.fade_in, self.fade_out = fade_in, fade_out
        self.curve_in, self.curve_out = curve_in, curve_out
        self.source = source  # an opened source: .channels and .read(start_frame, n) -> (channels, n)
        self.gain = clip.gain
        self.sample_rate = sample_rate
        self.stretch: StretchedRead | None = None

    def _read(self, position: int, n: int) -> np.ndarray:
        """``n`` float64 samples from ``position`` samples after the clip's start (its own array)."""
        if not self.clip.stretched:
            return self.source.read(self.offset + position, n).astype(np.float64, copy=True)
        if self.stretch is None or self.stretch.position > position:  # first read, or back in time
            self.stretch = StretchedRead(self.clip, self.sample_rate, self.source, self.offset)
        return self.stretch.read(position, n)

    def add_into(self, out: np.ndarray, block_start: int) -> None:
        """Add this clip's samples for ``[block_start, block_start + out.shape[1])`` into ``out``."""
        n = out.shape[1]
        lo, hi = max(self.start, block_start), min(self.stop, block_start + n)
        if lo >= hi:
            return
        audio = self._read(lo - self.start, hi - lo)
        position = np.arange(lo, hi) - self.start  # samples since the clip's start
        if self.fade_in and lo - self.start < self.fade_in:
            k = position < self.fade_in
            audio[:, k] *= fade_curve((position[k] + 0.5) / self.fade_in, self.curve_in)
        if self.fade_out and self.stop - hi < self.fade_out:
            remaining = self.length - position  # samples until the clip's end
            k = remaining <= self.fade_out
            audio[:, k] *= fade_curve((remaining[k] - 0.5) / self.fade_out, self.curve_out)
        if self.gain != 1.0:
            audio *= self.gain
        if self.matrix is not None:
            audio = self.matrix @ audio
        out[:, lo - block_start : hi - block_start] += audio

    def plain_block(self, block_start: int, n: int, dtype: np.dtype) -> np.ndarray | None:
        """The block as ``add_into`` a zero float64 buffer would give it after a cast to ``dtype``,
        when that is just the source's samples: no fade in the block, unity gain, no layout matrix
        and the source already in ``dtype``. None otherwise.
        """
        if self.gain != 1.0 or self.matrix is not None or self.clip.stretched:
            return None
        lo, hi = max(self.start, block_start), min(self.stop, block_start + n)
        if lo < hi and (
            (self.fade_in and lo - self.start < self.fade_in)
            or (self.fade_out and self.stop - hi < self.fade_out)
        ):
            return None
        if getattr(self.source, "dtype", None) != dtype:
            return None
        if lo == block_start and hi == block_start + n:  # the usual block: the read is the block itself
            return self.source.read(self.offset + lo - self.start, n)
        out = np.zeros((self.source.channels, n), dtype)
        if lo < hi:
            out[:, lo - block_start : hi - block_start] = self.source.read(
                self.offset + lo - self.start, hi - lo
            )
        return out


class StretchedRead:
    """A clip's source played at ``clip.rate`` and ``clip.semitones``, read forwards (internal).

    The phase vocoder stretches the source by ``2 ** (semitones / 12) / rate``
    and its resampler reads that at ``2 ** (semitones / 12)`` stretched samples
    per output sample, so clip sample ``q`` stands for source time ``q * rate``
    at the pitch asked for. The source is read in order, as far as the outputs
    need (see :func:`sonicmix.dsp.vocoder.input_needed`), a step at a time:
    memory stays bounded whatever the clip's length.
    """

    #: Clip samples made at a time.
    STEP = 8192

    def __init__(self, clip: Clip, sample_rate: int, source: Any, offset: int) -> None:
        from sonicmix.dsp import vocoder

        factor = 2.0 ** (clip.semitones / 12.0)
        self._vocoder = vocoder
        self.plan = vocoder.vocoder_plan(factor / clip.rate, factor, sample_rate)
        self.stream = vocoder.init_vocoder(self.plan, source.channels)
        self.source, self.offset = source, offset
        self.position = 0  # the next clip sample to make

    def read(self, position: int, n: int) -> np.ndarray:
        """Clip samples ``[position, position + n)``, float64 ``(channels, n)``; ``position`` must
        not be before the last read's end (samples skipped over are made and dropped)."""
        while self.position < position:  # a jump forwards
            self._make(min(self.STEP, position - self.position))
        out = np.empty((self.stream.x.shape[0], n))
        for i in range(0, n, self.STEP):
            m = min(self.STEP, n - i)
            out[:, i : i + m] = self._make(m)
        return out

    def _make(self, n: int) -> np.ndarray:
        need = self._vocoder.input_needed(self.plan, self.position + n) - self.stream.received
        if need > 0:
            self._vocoder.push(self.stream, self.source.read(self.offset + self.stream.received, need))
        self.position += n
        return self._vocoder.pull(self.plan, self.stream, n)


class OpenArray:
    """Reads an ArraySource at the render's rate (resampled once if needed)."""

    def __init__(self, source: ArraySource, sample_rate: int) -> None:
        audio = source.audio
        self.resampled = source.sample_rate != sample_rate
        if self.resampled:
            import soxr

            audio = np.ascontiguousarray(
                soxr.resample(audio.T, source.sample_rate, sample_rate, quality="VHQ").T
            )
        self.audio = audio
        self.channels = audio.shape[0]
        self.dtype = audio.dtype

    def read(self, start: int, n: int) -> np.ndarray:
        lo, hi = max(0, start), min(self.audio.shape[1], start + n)
        if lo == start and hi == start + n:  # all inside: a copy, without zeroing first
            return self.audio[:, lo:hi].copy()
        out = np.zeros((self.channels, n), dtype=self.audio.dtype)
        if lo < hi:
            out[:, lo - start : hi - start] = self.audio[:, lo:hi]
        return out

    def close(self) -> None:
        pass


class OpenFile:
    """Reads a FileSource block by block (seeking only when reads are not consecutive)."""

    def __init__(self, path: str) -> None:
        import soundfile as sf

        from sonicmix._checks import check_regular_file

        check_regular_file(path, what="read source file")  # a FIFO would block the open for ever
        try:
            self._file = sf.SoundFile(path)
        except Exception as err:  # soundfile raises several types for unreadable files
            raise AudioFileError(f"cannot read source file {path!r}: {err}") from err
        self.path = path
        self.channels = self._file.channels
        self.sample_rate = self._file.samplerate
        self.frames = self._file.frames
        self.dtype = np.dtype(np.float32)
        self._position = 0

    def read(self, start: int, n: int) -> np.ndarray:
        lo, hi = max(0, start), min(self.frames, start + n)
        inside = lo == start and hi == start + n  # then every sample is read into the block
        out = (np.empty if inside else np.zeros)((self.channels, n), dtype=np.float32)
        if lo < hi:
            if lo != self._position:
                self._file.seek(lo)
            data = self._file.read(hi - lo, dtype="float32", always_2d=True)
            got = data.shape[0]
            out[:, lo - start : lo - start + got] = data.T
            self._position = lo + got
            if got < hi - lo:
                raise AudioFileError(
                    f"source file {self.path!r} ended after {lo + got} frames; its header says {self.frames} "
                    "(truncated file?)"
                )
        return out

    def close(self) -> None:
        self._file.close()

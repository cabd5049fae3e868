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

    Examples
    --------
    >>> import numpy as np
    >>> music = ArraySource(np.zeros((2, 480000), np.float32), 48000, name="music")
    >>> Clip(source=music, start_s=2.0, offset_s=1.5, duration_s=4.0, fade_in_s=0.5).end_s
    6.0
    """

    source: Source
    start_s: float = 0.0
    offset_s: float = 0.0
    duration_s: float | None = None
    gain_db: float = 0.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    fade_curve: FadeCurve = "linear"

    def __post_init__(self) -> None:
        if not isinstance(self.source, (ArraySource, FileSource)):
            raise ParameterError(f"source={self.source!r}; expected an ArraySource or a FileSource")
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
        return rest

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
        self.fade_in, self.fade_out = fade_in, fade_out
        self.curve_in, self.curve_out = curve_in, curve_out
        self.source = source  # an opened source: .channels and .read(start_frame, n) -> (channels, n)
        self.gain = clip.gain

    def add_into(self, out: np.ndarray, block_start: int) -> None:
        """Add this clip's samples for ``[block_start, block_start + out.shape[1])`` into ``out``."""
        n = out.shape[1]
        lo, hi = max(self.start, block_start), min(self.stop, block_start + n)
        if lo >= hi:
            return
        audio = self.source.read(self.offset + lo - self.start, hi - lo).astype(np.float64, copy=True)
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
        if self.gain != 1.0 or self.matrix is not None:
            return None
        lo, hi = max(self.start, block_start), min(self.stop, block_start + n)
        if lo < hi and (
            (self.fade_in and lo - self.start < self.fade_in)
            or (self.fade_out and self.stop - hi < self.fade_out)
        ):
            return None
        if getattr(self.source, "dtype", None) != dtype:
            return None
        out = np.zeros((self.source.channels, n), dtype)
        if lo < hi:
            out[:, lo - block_start : hi - block_start] = self.source.read(
                self.offset + lo - self.start, hi - lo
            )
        return out


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
        out = np.zeros((self.channels, n), dtype=self.audio.dtype)
        lo, hi = max(0, start), min(self.audio.shape[1], start + n)
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
        out = np.zeros((self.channels, n), dtype=np.float32)
        lo, hi = max(0, start), min(self.frames, start + n)
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

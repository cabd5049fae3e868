"""Deliverable file formats: what a spec such as ``"mp3:192k"`` or ``"vorbis:q5"`` means.

A format spec is ``codec[:setting]``:

- ``wav`` (.wav): no setting, the sample format is deliver()'s ``subtype``; sonicmix's
  WAV writer, with a BWF ``bext`` chunk.
- ``flac`` (.flac): no setting (16 or 24 bit from ``subtype``); libsndfile.
- ``mp3`` (.mp3): a constant bitrate, ``32k`` to ``320k``; LAME (lameenc's from ``64k``, else PyAV's).
- ``aac`` (.m4a): a bitrate, ``32k`` to ``512k``; FFmpeg's AAC encoder (PyAV), in MP4.
- ``opus`` (.opus): a bitrate, ``6k`` to ``510k``; libopus (PyAV), in Ogg, at 48 kHz.
- ``vorbis`` (.ogg): a quality, ``q0`` to ``q10`` (as oggenc's ``-q``); libvorbis (libsndfile), in Ogg.

A spec without a setting takes the target's (a preset names the formats its
platform takes, :attr:`sonicmix.targets.LoudnessTarget.formats`), else the
codec's default: ``mp3:192k``, ``aac:192k``, ``opus:128k``, ``vorbis:q5``.

Examples
--------
>>> parse_format("mp3:192k")
AudioFormat(codec='mp3', bitrate_kbps=192, quality=None)
>>> parse_format("opus").spec, parse_format("vorbis").spec, parse_format("AAC:256K").extension
('opus:128k', 'vorbis:q5', '.m4a')
>>> parse_format("mp3:100k")
Traceback (most recent call last):
...
sonicmix.errors.ParameterError: format 'mp3:100k': 100 kbit/s is not an MP3 bitrate; expected one of \
32k, 40k, 48k, 56k, 64k, 80k, 96k, 112k, 128k, 160k, 192k, 224k, 256k, 320k
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sonicmix.errors import ParameterError

__all__ = ["AudioFormat", "parse_format", "parse_formats", "CODECS"]

#: Codec name to (file extension, kind of setting, default setting).
CODECS: dict[str, tuple[str, str | None, float | None]] = {
    "wav": (".wav", None, None),
    "flac": (".flac", None, None),
    "mp3": (".mp3", "bitrate", 192),
    "aac": (".m4a", "bitrate", 192),
    "opus": (".opus", "bitrate", 128),
    "vorbis": (".ogg", "quality", 5),
}

#: The constant bitrates MPEG-1 Layer III defines (LAME's CBR choices at 32-48 kHz).
_MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATE_RANGE = {"aac": (32, 512), "opus": (6, 510)}
_ALIASES = {"ogg": "vorbis", "m4a": "aac", "wave": "wav", "bwf": "wav"}


@dataclass(frozen=True)
class AudioFormat:
    """One deliverable format: a codec and its bitrate (kbit/s) or quality.

    Build it with :func:`parse_format`; :attr:`spec` gives the text back.
    """

    codec: str
    bitrate_kbps: int | None = None
    quality: float | None = None

    @property
    def extension(self) -> str:
        """File extension with its dot: ``".mp3"``, ``".m4a"``, ..."""
        return CODECS[self.codec][0]

    @property
    def lossy(self) -> bool:
        """True for the codecs whose decoded samples differ from their input (they are verified)."""
        return self.codec not in ("wav", "flac")

    @property
    def spec(self) -> str:
        """The format as a spec string, e.g. ``"mp3:192k"`` (:func:`parse_format` reads it back)."""
        if self.bitrate_kbps is not None:
            return f"{self.codec}:{self.bitrate_kbps}k"
        if self.quality is not None:
            return f"{self.codec}:q{self.quality:g}"
        return self.codec

    def __str__(self) -> str:
        return self.spec


def _problem(spec: str, text: str) -> ParameterError:
    return ParameterError(f"format {spec!r}: {text}")


def parse_format(spec: str | AudioFormat, defaults: Iterable[str | AudioFormat] = ()) -> AudioFormat:
    """Read a format spec (``"mp3"``, ``"mp3:192k"``, ``"opus:96k"``, ``"vorbis:q5"``, ``"flac"``...).

    ``defaults`` are specs whose setting fills a spec that gives none (a
    target's :attr:`~sonicmix.targets.LoudnessTarget.formats`): with
    ``defaults=["mp3:128k"]``, ``"mp3"`` means 128 kbit/s.

    Raises
    ------
    ParameterError
        For an unknown codec (with the closest name), a malformed setting, or a
        bitrate or quality the codec does not have.
    """
    if isinstance(spec, AudioFormat):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ParameterError(f"format={spec!r}; expected a spec such as 'wav', 'mp3:192k' or 'opus:96k'")
    codec, _, setting = spec.strip().lower().partition(":")
    codec = _ALIASES.get(codec, codec)
    if codec not in CODECS:
        close = difflib.get_close_matches(codec, list(CODECS) + list(_ALIASES), n=1, cutoff=0.5)
        hint = f" (did you mean {_ALIASES.get(close[0], close[0])!r}?)" if close else ""
        raise _problem(spec, f"unknown codec {codec!r}{hint}; expected one of {', '.join(CODECS)}")
    kind = CODECS[codec][1]
    if not setting:
        for default in defaults:
            chosen = parse_format(default)
            if chosen.codec == codec:
                return chosen
        if kind == "bitrate":
            return AudioFormat(codec, bitrate_kbps=int(CODECS[codec][2]))
        return AudioFormat(codec, quality=CODECS[codec][2]) if kind == "quality" else AudioFormat(codec)
    if kind is None:
        raise _problem(spec, f"{codec} takes no setting; its sample format is deliver()'s subtype")
    if kind == "quality":
        match = re.fullmatch(r"q(-?\d+(?:\.\d+)?)", setting)
        if match is None:
            raise _problem(
                spec,
                f"expected a Vorbis quality such as 'q5' (q0 to q10), not {setting!r} (Vorbis is "
                "encoded by quality; q5 is about 160 kbit/s for stereo)",
            )
        quality = float(match.group(1))
        if not 0.0 <= quality <= 10.0:
            raise _problem(spec, f"quality {quality:g} is out of range; expected q0 to q10")
        return AudioFormat(codec, quality=quality)
    match = re.fullmatch(r"(\d+)k?", setting)
    if match is None:
        raise _problem(spec, f"expected a bitrate in kbit/s such as '{codec}:128k', not {setting!r}")
    kbps = int(match.group(1))
    if codec == "mp3" and kbps not in _MP3_BITRATES:
        allowed = ", ".join(f"{b}k" for b in _MP3_BITRATES)
        raise _problem(spec, f"{kbps} kbit/s is not an MP3 bitrate; expected one of {allowed}")
    if codec in _BITRATE_RANGE:
        low, high = _BITRATE_RANGE[codec]
        if not low <= kbps <= high:
            raise _problem(spec, f"{kbps} kbit/s is out of range; expected {low}k to {high}k for {codec}")
    return AudioFormat(codec, bitrate_kbps=kbps)


def parse_formats(
    specs: str | AudioFormat | Iterable[str | AudioFormat], defaults: Iterable[str | AudioFormat] = ()
) -> tuple[AudioFormat, ...]:
    """Several specs (a list, or one comma-separated string); each codec at most once.

    Examples
    --------
    >>> [f.spec for f in parse_formats("wav,mp3:128k")]
    ['wav', 'mp3:128k']
    """
    if isinstance(specs, (str, AudioFormat)):
        specs = [s for s in str(specs).split(",") if s.strip()] if isinstance(specs, str) else [specs]
    defaults = tuple(defaults)
    formats = tuple(parse_format(s, defaults) for s in specs)
    if not formats:
        raise ParameterError("formats is empty; expected at least one format, e.g. ['wav']")
    codecs = [f.codec for f in formats]
    twice = sorted({c for c in codecs if codecs.count(c) > 1})
    if twice:
        raise ParameterError(
            f"formats {[f.spec for f in formats]} name {twice[0]!r} twice; expected each codec once "
            "(both would be written to the same file)"
        )
    return formats

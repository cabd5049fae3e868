"""Loudness metadata in encoded deliverables, so players normalise them without measuring.

- FLAC, Vorbis: ReplayGain 2.0 comments ``REPLAYGAIN_TRACK_GAIN`` (``"-4.07 dB"``) and
  ``REPLAYGAIN_TRACK_PEAK`` (linear), relative to ReplayGain 2.0's -18 LUFS reference.
- MP3: the same two as ID3v2 ``TXXX`` frames.
- AAC (.m4a): the same two as iTunes freeform atoms (``----:com.apple.iTunes:...``),
  as foobar2000 and others read them.
- Opus: ``R128_TRACK_GAIN`` (RFC 7845 s5.2.1): Q7.8 fixed point, the gain to -23 LUFS;
  RFC 7845 forbids ReplayGain comments in Opus.

The figures are the decoded deliverable's: its integrated loudness, and its true
peak as the peak (never below the sample peak, so a player's clipping guard
that trusts it stays safe). Written with mutagen (``pip install "sonicmix[encode]"``).

Examples
--------
>>> replaygain_values(-14.0, -1.0)
{'REPLAYGAIN_TRACK_GAIN': '-4.00 dB', 'REPLAYGAIN_TRACK_PEAK': '0.891251'}
>>> r128_track_gain(-14.0)  # -9 dB in 1/256 dB
-2304
"""

from __future__ import annotations

import math

from sonicmix.delivery.formats import AudioFormat
from sonicmix.errors import ParameterError
from sonicmix.loudness import LoudnessReport

__all__ = ["write_loudness_tags", "replaygain_values", "r128_track_gain", "REPLAYGAIN_REFERENCE_LUFS"]

#: ReplayGain 2.0's reference level: its track gain brings a track to -18 LUFS.
REPLAYGAIN_REFERENCE_LUFS = -18.0
#: EBU R 128's level, the reference of Opus's R128 gains (RFC 7845).
R128_REFERENCE_LUFS = -23.0


def replaygain_values(integrated_lufs: float, true_peak_dbtp: float) -> dict[str, str]:
    """ReplayGain 2.0 track gain and peak, as the text the tags hold."""
    gain = REPLAYGAIN_REFERENCE_LUFS - integrated_lufs
    return {
        "REPLAYGAIN_TRACK_GAIN": f"{gain:.2f} dB",
        "REPLAYGAIN_TRACK_PEAK": f"{10 ** (true_peak_dbtp / 20):.6f}",
    }


def r128_track_gain(integrated_lufs: float) -> int:
    """RFC 7845's ``R128_TRACK_GAIN``: the gain to -23 LUFS in 1/256 dB, within a 16-bit integer."""
    q78 = round((R128_REFERENCE_LUFS - integrated_lufs) * 256)
    return max(-32768, min(32767, q78))


def mutagen_missing() -> str | None:
    """Why tags cannot be written here, or None when they can."""
    try:
        import mutagen  # noqa: F401
    except ImportError:
        return (
            'loudness tags need mutagen, which is not installed: pip install "sonicmix[encode]" '
            "(or tags=False)"
        )
    return None


def write_loudness_tags(path: str, fmt: AudioFormat, report: LoudnessReport) -> None:
    """Write the loudness tags of ``report`` into the finished file ``path`` of format ``fmt``.

    ``path`` may be a temporary name (the format is given, not guessed from it).
    A programme with undefined loudness (silence) gets no gain tags.
    """
    problem = mutagen_missing()
    if problem:
        raise ParameterError(problem)
    if fmt.codec == "wav" or not math.isfinite(report.integrated_lufs):
        return
    if fmt.codec == "opus":
        from mutagen.oggopus import OggOpus

        tagged = OggOpus(path)
        tagged["R128_TRACK_GAIN"] = [str(r128_track_gain(report.integrated_lufs))]
        tagged.save()
        return
    values = replaygain_values(report.integrated_lufs, report.true_peak_dbtp)
    if fmt.codec in ("flac", "vorbis"):
        from mutagen.flac import FLAC
        from mutagen.oggvorbis import OggVorbis

        tagged = FLAC(path) if fmt.codec == "flac" else OggVorbis(path)
        for key, text in values.items():
            tagged[key] = [text]
        tagged.save()
    elif fmt.codec == "mp3":
        from mutagen.id3 import ID3, TXXX, ID3NoHeaderError

        try:
            id3 = ID3(path)
        except ID3NoHeaderError:
            id3 = ID3()
        for key, text in values.items():
            id3.add(TXXX(encoding=3, desc=key, text=[text]))
        id3.save(path)
    elif fmt.codec == "aac":
        from mutagen.mp4 import MP4, MP4FreeForm

        tagged = MP4(path)
        for key, text in values.items():
            tagged[f"----:com.apple.iTunes:{key.lower()}"] = [MP4FreeForm(text.encode("ascii"))]
        tagged.save()

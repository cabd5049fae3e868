"""One-command podcast: raw voice recordings in, a leveled, cleaned, ducked, compliant episode out.

:func:`podcast_graph` builds the mix that a podcast editor would build by hand,
and :func:`make_podcast` delivers it (``sonicmix podcast`` on the command line):

- each voice is a mono track (a stereo file is folded to mono) with the
  dialogue chain: a 70 Hz high-pass against rumble, :class:`~sonicmix.Denoise`
  (adaptive spectral noise reduction), :class:`~sonicmix.Leveler` (speech-aware
  gain riding), a gentle 2:1 compressor for the syllables the leveler is too
  slow for, and a de-esser; ``clip_loudness_lufs`` evens the recordings out
  before the chain;
- with two voices or more the dialogue bus is an automixer
  (:class:`~sonicmix.automix.Automix`): voices recorded at one table hear each
  other, and gain sharing keeps the talker's microphone open;
- a music bed plays under the conversation ``bed_below_lu`` below the speech
  and a :class:`~sonicmix.Ducker` on the music bus lowers it further while
  anyone talks; an intro plays before and an outro after the conversation;
- the delivery normalises to the target (Apple Podcasts by default: -16 LUFS,
  -1 dBTP) with true-peak limiting and writes the mix, the dialogue and music
  stems, and the reports.

Every choice is a parameter with the default a podcaster accepts without tuning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sonicmix.errors import ParameterError

__all__ = ["podcast_graph", "make_podcast", "SPEECH_LUFS"]

#: Loudness the voices are leveled to before the delivery's gain (speech-gated), in LUFS.
SPEECH_LUFS = -20.0


def voice_chain(*, denoise: bool = True) -> tuple[Any, ...]:
    """The chain every voice goes through (see the module documentation)."""
    from sonicmix.nodes.denoise import Denoise
    from sonicmix.nodes.dynamics import Compressor, DeEsser
    from sonicmix.nodes.eq import HighPass
    from sonicmix.nodes.leveler import Leveler

    chain: list[Any] = [HighPass(cutoff_hz=70.0)]
    if denoise:
        chain.append(Denoise())
    chain += [
        Leveler(target_lufs=SPEECH_LUFS),
        Compressor(threshold_db=-20.0, ratio=2.0, knee_db=6.0, attack_s=0.01, release_s=0.15, makeup_db=1.0),
        DeEsser(threshold_db=-28.0),
    ]
    return tuple(chain)


def podcast_graph(
    voices: Sequence[str | os.PathLike[str]],
    *,
    music: str | os.PathLike[str] | None = None,
    intro: str | os.PathLike[str] | None = None,
    outro: str | os.PathLike[str] | None = None,
    denoise: bool = True,
    automix: bool | None = None,
    bed_below_lu: float = 8.0,
    duck_db: float = 10.0,
    gap_s: float = 0.5,
) -> Any:
    """The podcast's mix graph from files (see the module documentation).

    Parameters
    ----------
    voices : sequence of path
        One recording per microphone, all starting together (a multitrack
        recording of one conversation).
    music, intro, outro : path, optional
        A bed under the conversation, and what plays before and after it.
    denoise : bool, default True
        Put :class:`~sonicmix.Denoise` in the voice chain.
    automix : bool, optional
        Gain-share the voices; by default when there are two or more.
    bed_below_lu : float, default 8.0
        The bed's loudness below the speech's before ducking, in LU.
    duck_db : float, default 10.0
        How far the ducker lowers the bed while anyone talks, in dB.
    gap_s : float, default 0.5
        Silence between the intro, the conversation and the outro, in seconds.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> import sonicmix as sm
    >>> folder = tempfile.mkdtemp()
    >>> _ = sm.write(os.path.join(folder, "host.wav"), np.zeros((1, 48000), np.float32), 48000)
    >>> graph = podcast_graph([os.path.join(folder, "host.wav")])
    >>> sorted(graph.tracks), sorted(graph.buses)
    (['voice 1'], ['dialogue', 'master'])
    """
    from sonicmix.graph import Bus, Graph, Track
    from sonicmix.nodes.ducking import Ducker
    from sonicmix.timeline import Clip, FileSource

    if isinstance(voices, (str, os.PathLike)) or not voices:
        raise ParameterError(f"voices={voices!r}; expected a list of one or more voice recordings")
    sources = [FileSource(os.fspath(v)) for v in voices]
    given = (("intro", intro), ("music", music), ("outro", outro))
    extras = {k: FileSource(os.fspath(v)) for k, v in given if v}
    start = _duration_s(extras["intro"]) + gap_s if "intro" in extras else 0.0
    length = max(_duration_s(s) for s in sources)
    tracks: dict[str, Track] = {}
    chain = voice_chain(denoise=denoise)
    for i, source in enumerate(sources):
        tracks[f"voice {i + 1}"] = Track(
            clips=(Clip(source=source, start_s=start),), layout="mono", chain=chain,
            clip_loudness_lufs=SPEECH_LUFS, output="dialogue",
        )
    if "intro" in extras:
        tracks["intro"] = Track(clips=(Clip(source=extras["intro"], fade_out_s=0.5),),
                                clip_loudness_lufs=SPEECH_LUFS, output="music")
    if "music" in extras:
        bed = extras["music"]
        duration = min(_duration_s(bed), length)
        fade = min(2.0, duration / 4)
        tracks["bed"] = Track(
            clips=(Clip(source=bed, start_s=start, duration_s=duration, fade_in_s=fade, fade_out_s=fade),),
            clip_loudness_lufs=SPEECH_LUFS - bed_below_lu, output="music",
        )
    if "outro" in extras:
        tracks["outro"] = Track(clips=(Clip(source=extras["outro"], start_s=start + length + gap_s,
                                            fade_in_s=0.2),),
                                clip_loudness_lufs=SPEECH_LUFS, output="music")
    share = len(sources) > 1 if automix is None else automix
    buses = {"dialogue": Bus(layout="mono", automix=share), "master": Bus(output=None)}
    if extras:
        buses["music"] = Bus(chain=(Ducker(depth_db=duck_db, release_s=0.8),), key="dialogue")
    return Graph(tracks=tracks, buses=buses)


def _duration_s(source: Any) -> float:
    """A file's duration, or an error naming it when it is not audio sonicmix reads."""
    return float(source.info().duration_s)


def make_podcast(
    voices: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    target: Any = "apple-podcasts",
    name: str = "podcast",
    music: str | os.PathLike[str] | None = None,
    intro: str | os.PathLike[str] | None = None,
    outro: str | os.PathLike[str] | None = None,
    denoise: bool = True,
    automix: bool | None = None,
    overwrite: bool = False,
    **deliver_options: Any,
) -> Any:
    """Mix raw recordings into a podcast and deliver it to ``target`` in ``out_dir``.

    Builds :func:`podcast_graph` and delivers it with
    :func:`sonicmix.deliver.deliver` (``name.wav``, ``name.dialogue.wav``,
    ``name.music.wav`` when there is music, and the reports). Other keywords go
    to ``deliver``. Returns the :class:`~sonicmix.deliver.Delivery`.
    """
    from sonicmix.deliver import deliver

    graph = podcast_graph(voices, music=music, intro=intro, outro=outro, denoise=denoise, automix=automix)
    stems = ["dialogue", "music"] if any((music, intro, outro)) else ["dialogue"]
    return deliver(graph, target, out_dir, name=name, stems=stems, dialogue=("dialogue",),
                   overwrite=overwrite, **deliver_options)

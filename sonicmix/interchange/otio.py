"""Read an OpenTimelineIO timeline (an editor's cut) as a sonicmix mix graph.

:func:`read_otio` takes the *audio* tracks of an OTIO timeline and turns
each into a :class:`~sonicmix.graph.Track` of :class:`~sonicmix.timeline.Clip`
s on :class:`~sonicmix.timeline.FileSource` s, routed to a stem bus
(``dialogue``, ``music``, ``effects`` or names you choose), and every stem
bus to ``master``. What the import could not carry over is listed in the
result's ``notes``, never dropped silently; what would make the mix wrong
(missing media, speed ramps, nested compositions) raises
:class:`OTIOImportError`, naming the track and the clip.

How OTIO maps onto sonicmix
---------------------------
- **Time.** OTIO times (``RationalTime``: a value at a rate) are converted to
  seconds with exact rational arithmetic (23.976 fps is read as 24000/1001)
  and rounded once, to the nearest sample at ``sample_rate``: clip starts,
  ends and fades are rounded as positions on the timeline, so clips that
  abut in OTIO abut to the sample here. Time 0 of the sonicmix timeline is
  the start of the OTIO timeline, whose timecode is the timeline's
  ``global_start_time`` (kept as ``global_start_s``): a clip 10 s into a
  timeline starting at 01:00:00:00 starts at ``start_s=10.0``. A track's or
  the timeline stack's own ``source_range`` shifts and trims what it holds.
- **Clips.** An OTIO clip's position on its track becomes ``start_s``, its
  ``source_range.start_time`` minus its media's ``available_range`` start
  becomes ``offset_s`` (seconds into the file), its duration ``duration_s``.
  Gaps advance time. Clip gain comes from ``metadata["sonicmix"]["gain_db"]``
  when present (OTIO has no standard audio level); a track's
  ``metadata["sonicmix"]["fader_db"]`` and ``["pan"]`` (-1 left .. 1 right) set
  its fader and pan. :mod:`sonicmix.interchange.aaf` writes these keys from
  what an AAF says.
- **Speed.** A clip's ``LinearTimeWarp`` (a constant speed change, 0.25 to 4)
  becomes the clip's ``rate``: the clip keeps its place and length on the
  track (OTIO lays items out by their ``source_range``, whatever their
  effects) and plays its media from ``source_range.start_time`` at
  ``time_scalar`` times the speed, pitch kept (sonicmix's phase vocoder; an
  editor's speed change may keep or drop the pitch, and OTIO does not say
  which). Other time effects (freeze frames, ramps) and time warps on a
  track or the whole stack are refused.
- **Transitions.** A transition between two clips (``SMPTE_Dissolve``; any
  other type is read as one, with a note) overlaps them around the cut: the
  outgoing clip plays ``out_offset`` past the cut, into its handle, and the
  incoming one starts ``in_offset`` before it, so they overlap for
  ``in_offset + out_offset``. A sonicmix track cross-fades overlapping clips
  over exactly the overlap (``Track.crossfade_curve``). A transition
  between a clip and a gap (or the track's end) is a fade from or to
  silence of the same length. A transition's ``metadata["sonicmix"]["curve"]``
  names its curve (else ``crossfade_curve``); a track has one cross-fade
  curve and a clip one fade curve, so where its transitions disagree the
  most used wins, with a note.
- **Media.** Only ``ExternalReference`` s to local files are read.
  Relative ``target_url`` s and relative ``file:`` URLs resolve against
  ``media_root``, else the folder of the file read (the bundle folder for an
  ``.otiod``), else the working folder.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, cast

from sonicmix._checks import check_sample_rate
from sonicmix.errors import AudioFileError, GraphError, LayoutError
from sonicmix.graph import Bus, Graph, Track, _did_you_mean
from sonicmix.layouts import default_layout, get_layout
from sonicmix.nodes.fade import _CURVES, FadeCurve
from sonicmix.timeline import Clip, FileSource

__all__ = ["OTIOImport", "OTIOImportError", "read_otio", "default_stem"]

StemMap = Mapping[str, str] | Callable[[str, int], str]

#: Words of a track name that route it to the "dialogue" stem (whole words) ...
_DIALOGUE_WORDS = frozenset({"dx", "dlg", "vo", "vox", "adr"})
#: ... and word beginnings that do ("dia" covers dialogue, dialog, dial).
_DIALOGUE_PREFIXES = ("dia", "voice", "narr")
_MUSIC_WORDS = frozenset({"mx", "score"})
_MUSIC_PREFIXES = ("mus",)

_RATE_DENOMINATOR = 1001  # NTSC-family rates are n/1001: 24000/1001, 30000/1001, 60000/1001


class OTIOImportError(GraphError):
    """An OTIO timeline cannot become a sonicmix graph; the message names the track and clip.

    A :class:`~sonicmix.errors.GraphError` (and so a ``ValueError``).
    """


def default_stem(track_name: str) -> str:
    """The stem a track goes to when ``stems`` does not say: by words in its name.

    The name is lower-cased and split into words of letters (``"DX_2"`` ->
    ``["dx"]``). A word ``dx``, ``dlg``, ``vo``, ``vox`` or ``adr``, or one
    starting with ``dia``, ``voice`` or ``narr``, means ``"dialogue"``;
    otherwise a word ``mx`` or ``score``, or one starting with ``mus``, means
    ``"music"``; anything else is ``"effects"``.

    Examples
    --------
    >>> [default_stem(n) for n in ("Dialogue 1", "DX2", "VO", "MX L", "Music", "SFX", "A3", "Vocals")]
    ['dialogue', 'dialogue', 'dialogue', 'music', 'music', 'effects', 'effects', 'effects']
    """
    words = re.findall(r"[a-z]+", str(track_name).lower())
    if any(w in _DIALOGUE_WORDS or w.startswith(_DIALOGUE_PREFIXES) for w in words):
        return "dialogue"
    if any(w in _MUSIC_WORDS or w.startswith(_MUSIC_PREFIXES) for w in words):
        return "music"
    return "effects"


@dataclass(frozen=True)
class OTIOImport:
    """What :func:`read_otio` returns: the graph, and what the import left out or changed.

    Attributes
    ----------
    graph : Graph
        One track per OTIO audio track, routed to its stem bus; every stem
        bus routes to ``"master"``.
    sample_rate : int
        The rate, in Hz, that clip times were rounded to (render at it for
        sample-exact placement).
    notes : tuple of str
        Everything ignored or adjusted (video tracks, effects, markers,
        renamed tracks, trimmed clips, media at another sample rate, ...).
    name : str
        The OTIO timeline's name.
    global_start_s : float
        Timecode of the timeline's start (OTIO ``global_start_time``) in
        seconds; sonicmix time 0 is this instant.
    tracks : dict of str to str
        Name of each sonicmix track -> name of the OTIO track it came from.
    stems : dict of str to tuple of str
        Each stem bus -> the sonicmix tracks routed to it.
    """

    graph: Graph
    sample_rate: int
    notes: tuple[str, ...] = ()
    name: str = ""
    global_start_s: float = 0.0
    tracks: Mapping[str, str] = field(default_factory=dict)
    stems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def session(self, *, target: Any = None, name: str | None = None, **options: Any) -> Any:
        """A :class:`~sonicmix.session.Session` delivering this cut: its stems, its dialogue stems.

        Parameters
        ----------
        target : LoudnessTarget or str, optional
            Loudness target or preset name (e.g. ``"ebu-r128"``).
        name : str, optional
            Base name of the delivered files; by default the timeline's name
            (characters other than letters, digits, ``.``, ``_`` and ``-``
            become ``-``), or ``"mix"``.
        **options
            Any other option of a session (``me_mix``, ``subtype``, ``tail_s``,
            ...; see :func:`sonicmix.deliver.deliver`). By default every stem
            bus is delivered and the stems :func:`default_stem` calls
            ``"dialogue"`` are the dialogue stems.

        Returns
        -------
        Session
            Render it with :func:`sonicmix.session.render_session`, or save it
            with :func:`sonicmix.session.save_session`.
        """
        from sonicmix.session import Session
        from sonicmix.targets import get_target

        stems = [b for b in self.graph.buses if b != self.graph.master]
        settings: dict[str, Any] = {
            "stems": stems,
            "dialogue": [s for s in stems if default_stem(s) == "dialogue"],
        }
        if name is None:
            name = re.sub(r"[^A-Za-z0-9._-]+", "-", self.name).strip("-.") or "mix"
        settings["name"] = name
        settings.update(options)
        return Session(
            graph=self.graph,
            sample_rate=self.sample_rate,
            target=None if target is None else get_target(target),
            options=settings,
        )

    def __str__(self) -> str:
        title = f"OTIO import of {self.name!r}" if self.name else "OTIO import"
        lines = [f"{title} at {self.sample_rate} Hz", str(self.graph)]
        if self.notes:
            lines.append(f"notes ({len(self.notes)}):")
            lines += [f"  - {note}" for note in self.notes]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------- time


def _rate(rate: float, where: str) -> Fraction:
    """An OTIO rate (a double) as an exact fraction: 23.976... -> 24000/1001, 48000.0 -> 48000."""
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise OTIOImportError(f"{where} has rate={rate!r}; expected a positive, finite rate")
    exact = Fraction(rate)
    near = exact.limit_denominator(_RATE_DENOMINATOR)
    # a double holds 24000/1001 to ~1e-16; anything within 1e-9 relative is that rate, not noise
    return near if abs(near - exact) <= exact * Fraction(1, 10**9) else exact


def _seconds(time: Any, where: str) -> Fraction:
    value = time.value
    if not math.isfinite(value):
        raise OTIOImportError(f"{where} has value={value!r}; expected a finite time")
    return Fraction(value) / _rate(time.rate, where)


def _fmt(t: Fraction) -> str:
    return f"{float(t):.6g} s"


# ---------------------------------------------------------------------------------------- clips


@dataclass
class _Placed:
    """One clip on a track, in exact seconds on the timeline (internal)."""

    where: str
    path: str
    start: Fraction
    end: Fraction
    offset: Fraction  # seconds into the file at ``start``
    media_end: Fraction | None  # seconds into the file where its available range ends
    fade_in_end: Fraction | None = None  # timeline time a fade from silence ends
    fade_out_start: Fraction | None = None  # timeline time a fade to silence starts
    gain_db: float = 0.0
    fade_in_curve: FadeCurve | None = None  # the transition's metadata['sonicmix']['curve'], if given
    fade_out_curve: FadeCurve | None = None
    rate: float = 1.0  # playback speed (a LinearTimeWarp's time_scalar)

    def shift(self, by: Fraction) -> None:
        self.start -= by
        self.end -= by
        if self.fade_in_end is not None:
            self.fade_in_end -= by
        if self.fade_out_start is not None:
            self.fade_out_start -= by


def _window(
    placed: list[_Placed], start: Fraction, duration: Fraction | None, what: str, notes: list[str]
) -> list[_Placed]:
    """Shift by ``start``, keep ``[0, duration)`` (``[0, inf)`` for None), trim what crosses its ends."""
    kept = []
    for p in placed:
        p.shift(start)
        if p.end <= 0 or (duration is not None and p.start >= duration):
            notes.append(f"{p.where}: outside {what}; left out")
            continue
        if p.start < 0:
            notes.append(f"{p.where}: starts {_fmt(-p.start)} before {what}; trimmed")
            p.offset -= p.start
            p.start = Fraction(0)
            if p.fade_in_end is not None and p.fade_in_end <= 0:
                p.fade_in_end = None
        if duration is not None and p.end > duration:
            notes.append(f"{p.where}: ends {_fmt(p.end - duration)} after {what}; trimmed")
            p.end = duration
            if p.fade_out_start is not None and p.fade_out_start >= duration:
                p.fade_out_start = None
        kept.append(p)
    return kept


def _media_path(url: str, base: str, where: str) -> tuple[str, bool]:
    """Local path of a ``target_url`` and whether it was relative."""
    from opentimelineio import url_utils

    if not isinstance(url, str) or not url:
        raise OTIOImportError(
            f"{where}: its ExternalReference has target_url={url!r}; expected the path or file:// URL "
            "of an audio file"
        )
    scheme = urllib.parse.urlparse(url).scheme.lower()
    if scheme == "file":
        path = os.fspath(url_utils.filepath_from_url(url))
    elif scheme == "" or re.match(r"^[A-Za-z]:[\\/]", url):  # a plain path (or a Windows drive path)
        path = url
        unquoted = urllib.parse.unquote(url)
        if unquoted != url and not os.path.exists(os.path.join(base, url)):
            path = unquoted  # some writers percent-encode plain paths
    else:
        raise OTIOImportError(
            f"{where}: target_url={url!r} uses the {scheme!r} scheme; expected a local path or a file:// "
            "URL (download the media and relink it, or rewrite the URLs before importing)"
        )
    relative = not os.path.isabs(path)
    if relative:
        path = os.path.join(base, path)
    return os.path.normpath(path), relative


def _check_effects(item: Any, where: str, notes: list[str], *, clip: bool = False) -> float:
    """Judge an item's effects; return its speed (a clip's LinearTimeWarps, multiplied; else 1)."""
    import opentimelineio as otio

    from sonicmix.nodes.stretch import RATE_RANGE

    speed = 1.0
    for effect in item.effects:
        label = effect.effect_name or effect.name or effect.schema_name()
        if isinstance(effect, otio.schema.LinearTimeWarp):  # FreezeFrame included (time_scalar 0)
            scalar = effect.time_scalar
            if scalar == 1.0:
                continue
            low, high = RATE_RANGE
            if clip and low <= scalar * speed <= high and type(effect) is otio.schema.LinearTimeWarp:
                speed *= scalar
                continue
            expected = f"a speed from {low:g} to {high:g}" if clip else "speed 1"
            raise OTIOImportError(
                f"{where} has a {effect.schema_name()} with time_scalar={scalar!r}; expected {expected} ("
                + ("render this speed change to a new file in the editor" if clip
                   else "only clips can change speed: put the warp on each clip")
                + ")"
            )
        elif isinstance(effect, otio.schema.TimeEffect):
            raise OTIOImportError(
                f"{where} has the time effect {label!r} ({effect.schema_name()}); expected no time effects "
                "(its timing cannot be reproduced)"
            )
        else:
            notes.append(
                f"{where}: effect {label!r} ({effect.schema_name()}) ignored; OTIO effects have no "
                "standard audio meaning (clip gain is read from metadata['sonicmix']['gain_db'])"
            )
    return speed


def _metadata_number(
    item: Any,
    key: str,
    where: str,
    *,
    unit: str = "",
    hint: str = "",
    low: float | None = None,
    high: float | None = None,
) -> float | None:
    """``item.metadata["sonicmix"][key]`` as a float (None when absent); ``unit`` and ``hint`` word
    the error."""
    meta = item.metadata.get("sonicmix") if hasattr(item.metadata, "get") else None
    if meta is None or not hasattr(meta, "get") or meta.get(key) is None:
        return None
    value = meta.get(key)
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
    if bad or (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            span = f" in [{low:g}, {high:g}]"
        else:
            span = f" <= {high:g}" if high is not None else (f" >= {low:g}" if low is not None else "")
        raise OTIOImportError(
            f"{where} has metadata['sonicmix']['{key}']={value!r}; expected a finite number"
            f"{' ' + unit if unit else ''}{span}{' ' + hint if hint else ''}"
        )
    return float(value)


def _metadata_curve(item: Any, where: str) -> FadeCurve | None:
    """``item.metadata["sonicmix"]["curve"]`` of a transition (None when absent), checked."""
    meta = item.metadata.get("sonicmix") if hasattr(item.metadata, "get") else None
    if meta is None or not hasattr(meta, "get") or meta.get("curve") is None:
        return None
    curve = meta.get("curve")
    if curve not in _CURVES:
        raise OTIOImportError(
            f"{where} has metadata['sonicmix']['curve']={curve!r}; expected one of {_CURVES}"
        )
    return cast(FadeCurve, str(curve))


def _audible(item: Any) -> bool:
    import opentimelineio as otio

    return isinstance(item, otio.schema.Clip) and item.enabled


def _place_track(
    track: Any, label: str, base: str, notes: list[str], relative: list[str]
) -> tuple[list[_Placed], list[FadeCurve | None]]:
    """The clips of one OTIO track, in exact seconds of the track's own time, and the curve of each
    cross-fade between two clips (``metadata['sonicmix']['curve']``, None where not given)."""
    import opentimelineio as otio

    items = list(track)
    durations: list[Fraction] = []
    starts: list[Fraction] = []
    t = Fraction(0)
    for i, item in enumerate(items):
        where = f"track {label}, item {i} ({type(item).__name__} {item.name!r})"
        if isinstance(item, (otio.schema.Stack, otio.schema.Track)):
            raise OTIOImportError(
                f"{where} is a nested {type(item).__name__} (a compound or nested sequence); expected only "
                "clips, gaps and transitions on an audio track (flatten it in the editor, or with "
                "opentimelineio.algorithms.flatten_stack, before importing)"
            )
        if not isinstance(item, (otio.schema.Clip, otio.schema.Gap, otio.schema.Transition)):
            raise OTIOImportError(
                f"{where} is a {item.schema_name()}; expected clips, gaps and transitions on an audio track"
            )
        starts.append(t)
        if isinstance(item, otio.schema.Transition):
            durations.append(Fraction(0))
            for k in (i - 1, i + 1):
                if 0 <= k < len(items) and isinstance(items[k], otio.schema.Transition):
                    raise OTIOImportError(
                        f"{where} is next to another transition (item {k}); expected a clip or gap "
                        "between two transitions"
                    )
            for side in ("in_offset", "out_offset"):
                if _seconds(getattr(item, side), f"{where} {side}") < 0:
                    raise OTIOImportError(f"{where} has a negative {side}; expected offsets >= 0")
            continue
        try:
            duration = _seconds(item.trimmed_range().duration, where)
        except otio.exceptions.OTIOError as err:
            raise OTIOImportError(
                f"{where} has no length: it has no source_range and its media has no available_range "
                f"({err}); expected one of them"
            ) from None
        durations.append(duration)
        t += duration

    def offsets(transition: Any, where: str) -> tuple[Fraction, Fraction]:
        return (
            _seconds(transition.in_offset, f"{where} in_offset"),
            _seconds(transition.out_offset, f"{where} out_offset"),
        )

    # every clip or gap must be long enough for the transitions reaching into it from both sides
    for i, item in enumerate(items):
        if isinstance(item, otio.schema.Transition):
            continue
        need = Fraction(0)
        if i > 0 and isinstance(items[i - 1], otio.schema.Transition):
            need += offsets(items[i - 1], f"track {label}, item {i - 1}")[1]
        if i + 1 < len(items) and isinstance(items[i + 1], otio.schema.Transition):
            need += offsets(items[i + 1], f"track {label}, item {i + 1}")[0]
        if need > durations[i]:
            raise OTIOImportError(
                f"track {label}, item {i} ({type(item).__name__} {item.name!r}) lasts {_fmt(durations[i])} "
                f"but the transitions on either side of it reach {_fmt(need)} into it; expected "
                "transitions that do not overlap each other"
            )

    placed: list[_Placed] = []
    for i, item in enumerate(items):
        if not isinstance(item, otio.schema.Clip):
            continue
        where = f"track {label}, clip {item.name!r} (item {i}, at {_fmt(starts[i])})"
        if not item.enabled:
            notes.append(f"{where}: disabled in the timeline; left out")
            continue
        rate = _check_effects(item, where, notes, clip=True)
        reference = item.media_reference
        if reference is None or isinstance(reference, otio.schema.MissingReference):
            raise OTIOImportError(
                f"{where} has no media (a MissingReference); expected an ExternalReference to an audio "
                "file (relink the media in the editor, or set the clip's media_reference)"
            )
        if isinstance(reference, otio.schema.GeneratorReference):
            notes.append(
                f"{where}: generated media ({reference.generator_kind!r}) is not audio sonicmix can "
                "read; left out (silence)"
            )
            continue
        if not isinstance(reference, otio.schema.ExternalReference):
            raise OTIOImportError(
                f"{where} refers to its media with a {reference.schema_name()}; expected an "
                "ExternalReference to an audio file"
            )
        path, was_relative = _media_path(reference.target_url, base, where)
        if was_relative:
            relative.append(path)
        source = item.trimmed_range()
        src_start = _seconds(source.start_time, f"{where} source_range")
        start, end = starts[i], starts[i] + durations[i]
        fade_in_end = fade_out_start = fade_in_curve = fade_out_curve = None
        if i > 0 and isinstance(items[i - 1], otio.schema.Transition):
            a, b = offsets(items[i - 1], f"{where} transition")
            start -= a
            src_start -= a * Fraction(rate)  # the handle is played at the clip's speed
            if not (i > 1 and _audible(items[i - 2])):
                fade_in_end = starts[i] + b
                fade_in_curve = _metadata_curve(items[i - 1], f"track {label}, item {i - 1}")
        if i + 1 < len(items) and isinstance(items[i + 1], otio.schema.Transition):
            a, b = offsets(items[i + 1], f"{where} transition")
            end += b
            if not (i + 2 < len(items) and _audible(items[i + 2])):
                fade_out_start = starts[i] + durations[i] - a
                fade_out_curve = _metadata_curve(items[i + 1], f"track {label}, item {i + 1}")
        for k in (i - 1, i + 1):
            if 0 <= k < len(items) and isinstance(items[k], otio.schema.Transition):
                kind = items[k].transition_type
                if kind != otio.schema.TransitionTypes.SMPTE_Dissolve:
                    notes.append(
                        f"track {label}, item {k}: transition type {kind!r} read as a dissolve (a cross-fade)"
                    )
        available = reference.available_range
        if available is None:
            media_start, media_end = Fraction(0), None
            notes.append(
                f"{where}: its media has no available_range; its source_range is read as time from the "
                "start of the file"
            )
        else:
            media_start = _seconds(available.start_time, f"{where} available_range")
            media_end = media_start + _seconds(available.duration, f"{where} available_range")
        placed.append(
            _Placed(
                where=where,
                path=path,
                start=start,
                end=end,
                offset=src_start - media_start,
                media_end=None if media_end is None else media_end - media_start,
                fade_in_end=fade_in_end,
                fade_out_start=fade_out_start,
                fade_in_curve=fade_in_curve,
                fade_out_curve=fade_out_curve,
                gain_db=_metadata_number(item, "gain_db", where, unit="of dB") or 0.0,
                rate=rate,
            )
        )
    crossfades = [
        _metadata_curve(item, f"track {label}, item {k}")
        for k, item in enumerate(items)
        if isinstance(item, otio.schema.Transition)
        and 0 < k < len(items) - 1
        and _audible(items[k - 1])
        and _audible(items[k + 1])
    ]
    return placed, crossfades  # a transition's note is added by both its clips; read_otio drops repeats


# ---------------------------------------------------------------------------------------- reading


def _load(timeline: Any) -> tuple[Any, str | None]:
    """The Timeline and the folder relative media resolve against (None for in-memory timelines)."""
    import opentimelineio as otio

    if isinstance(timeline, otio.schema.Timeline):
        return timeline, None
    if not isinstance(timeline, (str, os.PathLike)):
        raise OTIOImportError(
            f"timeline={timeline!r}; expected the path of a timeline file (.otio, or any format an "
            "OpenTimelineIO adapter reads) or an opentimelineio.schema.Timeline"
        )
    path = os.fspath(timeline)
    if not os.path.exists(path):
        raise OTIOImportError(f"timeline={path!r}: no such file; expected an OTIO timeline file (.otio, ...)")
    if path.lower().endswith(".otioz"):
        raise OTIOImportError(
            f"timeline={path!r} is a zipped bundle; expected it unzipped (it is a zip file): import "
            "content.otio from the extracted folder so its media paths resolve"
        )
    try:
        loaded = otio.adapters.read_from_file(path)
    except Exception as err:  # adapters raise many types (parse errors, unknown formats, plugin errors)
        raise OTIOImportError(
            f"timeline={path!r} cannot be read by OpenTimelineIO ({type(err).__name__}: {err}); expected "
            "a file in a format an installed OTIO adapter reads"
        ) from err
    if isinstance(loaded, otio.schema.SerializableCollection):
        found = [c for c in loaded if isinstance(c, otio.schema.Timeline)]
        if len(found) != 1:
            raise OTIOImportError(
                f"timeline={path!r} holds {len(found)} timelines; expected one (read it with "
                "opentimelineio and pass the Timeline you want)"
            )
        loaded = found[0]
    if not isinstance(loaded, otio.schema.Timeline):
        raise OTIOImportError(f"timeline={path!r} holds a {loaded.schema_name()}; expected a Timeline")
    base = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return loaded, os.path.abspath(base)


def _track_crossfade_curve(
    curves: list[FadeCurve | None], default: FadeCurve, label: str, notes: list[str]
) -> FadeCurve:
    """The one cross-fade curve of a track: its transitions' curves (``default`` where not given)."""
    chosen = [curve or default for curve in curves]
    if not chosen:
        return default
    counts = {curve: chosen.count(curve) for curve in dict.fromkeys(chosen)}
    if len(counts) == 1:
        return chosen[0]
    # a sonicmix track has one cross-fade curve: the most used (the first of equals) wins
    common = max(counts, key=lambda curve: counts[curve])
    spread = ", ".join(f"{n} {curve!r}" for curve, n in counts.items())
    notes.append(
        f"track {label!r} has cross-fades of several curves ({spread}); a sonicmix track has one, so all "
        f"are {common!r}"
    )
    return common


def _stems_for(stems: Any, names: list[str], labels: list[str], notes: list[str]) -> list[str]:
    """Stem of each audio track (``names``: OTIO names; ``labels``: names with fallbacks)."""

    def checked(value: Any, what: str) -> str:
        if not isinstance(value, str) or not value:
            raise OTIOImportError(f"{what}={value!r}; expected the name of a stem bus (a non-empty string)")
        return value

    if stems is None:
        return [default_stem(label) for label in labels]
    if isinstance(stems, Mapping):
        known = sorted(set(names) | set(labels))
        for key in stems:
            if key not in known:
                raise OTIOImportError(
                    f"stems has the track name {key!r}, which is not an audio track of the timeline"
                    f"{_did_you_mean(key, known)}; audio tracks are {known}"
                )
        out = []
        for name, label in zip(names, labels, strict=True):
            if name in stems or label in stems:
                out.append(checked(stems[name if name in stems else label], f"stems[{label!r}]"))
            else:
                out.append(default_stem(label))
                notes.append(f"track {label!r} is not in stems; routed to {out[-1]!r} by its name")
        return out
    if callable(stems):
        return [checked(stems(label, k), f"stems({label!r}, {k})") for k, label in enumerate(labels)]
    raise OTIOImportError(
        f"stems={stems!r}; expected a mapping of OTIO track names to stem names, a callable "
        "(track_name, index) -> stem name, or None"
    )


def read_otio(
    timeline: Any,
    *,
    stems: StemMap | None = None,
    sample_rate: int = 48000,
    media_root: str | os.PathLike[str] | None = None,
    layout: str | None = None,
    crossfade_curve: FadeCurve = "equal_power",
    check_media: bool = True,
) -> OTIOImport:
    """Read an OpenTimelineIO timeline's audio tracks as a sonicmix graph routed to stems.

    Parameters
    ----------
    timeline : str, os.PathLike or opentimelineio.schema.Timeline
        A timeline file in any format an installed OTIO adapter reads
        (``.otio`` JSON and ``.otiod`` bundles are built in), or a timeline
        object.
    stems : mapping or callable, optional
        Stem bus of each audio track: ``{"Dialogue 1": "dialogue", "MX":
        "music"}`` by OTIO track name (an unnamed track is ``"A1"``,
        ``"A2"``, ... by its position among the audio tracks), or a callable
        ``(track_name, index) -> stem``. Tracks a mapping leaves out, and every
        track by default, go where :func:`default_stem` says. A stem named
        ``"master"`` routes the track straight to the master bus.
    sample_rate : int, default 48000
        Rate, in Hz, that positions are rounded to; render at this rate for
        sample-exact placement.
    media_root : path, optional
        Folder that relative media URLs resolve against (default: the
        timeline file's folder, or the working folder for a timeline object).
    layout : str, optional
        Layout of the stem buses and the master. By default the widest layout
        of the media, and at least ``"stereo"``.

    Other Parameters
    ----------------
    crossfade_curve : str, default "equal_power"
        Curve of the cross-fades (and fades from silence) that transitions
        become; any curve of :func:`sonicmix.nodes.fade.fade_curve`.
    check_media : bool, default True
        Check that every media file exists and read its header (channels set
        each track's layout). With ``False`` no file is opened and tracks take
        ``layout``.

    Returns
    -------
    OTIOImport
        ``.graph``, and ``.notes`` listing everything left out or changed.

    Raises
    ------
    OTIOImportError
        The file cannot be read; a clip has missing media (or media that is
        not a local file), a speed outside 0.25 to 4 or another time effect; a track
        holds a nested composition; transitions overlap; a clip starts
        before its media; ``stems`` names a track that does not exist (with a
        did-you-mean); the timeline has no audio tracks. Every message names
        the track and clip.

    Notes
    -----
    Video tracks, markers and OTIO effects are left out with a note each.
    A disabled clip is left out, and a disabled track becomes a muted track.
    Levels, pans and curves come from ``metadata["sonicmix"]``: ``gain_db``
    on clips, ``fader_db`` and ``pan`` on tracks, ``curve`` on transitions.
    The module documentation gives the full mapping.

    Examples
    --------
    >>> import opentimelineio as otio
    >>> def frames(n):
    ...     return otio.opentime.RationalTime(n, 24)
    >>> media = otio.schema.ExternalReference(
    ...     target_url="/audio/line.wav", available_range=otio.opentime.TimeRange(frames(0), frames(240)))
    >>> track = otio.schema.Track(name="DX", kind=otio.schema.TrackKind.Audio)
    >>> track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(frames(0), frames(12))))
    >>> track.append(otio.schema.Clip(name="line", media_reference=media,
    ...                               source_range=otio.opentime.TimeRange(frames(48), frames(36))))
    >>> cut = read_otio(otio.schema.Timeline(name="ep01", tracks=[track]), check_media=False)
    >>> clip = cut.graph.tracks["DX"].clips[0]
    >>> clip.start_s, clip.offset_s, clip.duration_s
    (0.5, 2.0, 1.5)
    >>> print(cut.graph)
    Graph (master: 'master')
      master  <- dialogue
        dialogue  <- DX
          DX  track, stereo, 1 clip
    """
    try:
        import opentimelineio as otio
    except ImportError:  # pragma: no cover - the extra is installed wherever the tests run
        raise ImportError(
            "read_otio needs OpenTimelineIO; install it with: pip install 'sonicmix[otio]'"
        ) from None
    sample_rate = check_sample_rate(sample_rate)
    if crossfade_curve not in _CURVES:
        raise OTIOImportError(f"crossfade_curve={crossfade_curve!r}; expected one of {_CURVES}")
    bus_layout = None if layout is None else get_layout(layout).name
    tl, folder = _load(timeline)
    notes: list[str] = []
    relative: list[str] = []
    base = os.path.abspath(os.fspath(media_root)) if media_root is not None else (folder or os.getcwd())

    stack = tl.tracks
    _check_effects(stack, "the timeline's stack", notes)
    audio, others = [], []
    for k, child in enumerate(stack):
        if isinstance(child, otio.schema.Track) and child.kind == otio.schema.TrackKind.Audio:
            audio.append(child)
        elif isinstance(child, otio.schema.Track):
            others.append(f"{child.kind} track {child.name!r}")
        else:
            raise OTIOImportError(
                f"the timeline's stack holds a {child.schema_name()} {child.name!r} (item {k}); expected "
                "tracks only (nested stacks are not supported: flatten them before importing)"
            )
    if others:
        notes.append(f"{len(others)} non-audio track(s) ignored: {', '.join(others)}")
    if not audio:
        raise OTIOImportError(
            f"timeline {tl.name!r} has no audio tracks ({len(others)} other track(s)); expected at least "
            "one track of kind 'Audio'"
        )

    names = [t.name for t in audio]
    labels = [name or f"A{k + 1}" for k, name in enumerate(names)]
    stem_of = _stems_for(stems, names, labels, notes)
    stem_names = list(dict.fromkeys(s for s in stem_of if s != "master"))
    bus_names = {*stem_names, "master"}

    # sonicmix track names: unique, and never a bus's name
    track_names: list[str] = []
    for label in labels:
        candidate = f"{label} (track)" if label in bus_names else label
        n = 2
        while candidate in track_names or candidate in bus_names:
            candidate = f"{label} {n}"
            n += 1
        if candidate != label:
            notes.append(f"track {label!r} is called {candidate!r} in the graph (names must be unique)")
        track_names.append(candidate)

    stack_start = stack_duration = None
    if stack.source_range is not None:
        stack_start = _seconds(stack.source_range.start_time, "the timeline's stack source_range")
        stack_duration = _seconds(stack.source_range.duration, "the timeline's stack source_range")

    placed_by_track: list[list[_Placed]] = []
    crossfade_by_track: list[FadeCurve] = []
    markers = len(stack.markers)
    for track, label in zip(audio, labels, strict=True):
        markers += len(track.markers) + sum(len(getattr(item, "markers", ())) for item in track)
        _check_effects(track, f"track {label!r}", notes)
        placed, curves = _place_track(track, repr(label), base, notes, relative)
        crossfade_by_track.append(_track_crossfade_curve(curves, crossfade_curve, label, notes))
        if track.source_range is not None:
            where = f"track {label!r} source_range"
            placed = _window(
                placed,
                _seconds(track.source_range.start_time, where),
                _seconds(track.source_range.duration, where),
                f"track {label!r}'s source_range",
                notes,
            )
        if stack_start is not None and stack_duration is not None:
            placed = _window(placed, stack_start, stack_duration, "the timeline stack's source_range", notes)
        # a transition at the very start reaches before time 0
        placed = _window(placed, Fraction(0), None, "the start of the timeline", notes)
        placed_by_track.append(placed)
    if markers:
        notes.append(f"{markers} marker(s) ignored (sonicmix has no markers)")
    if relative and media_root is None and folder is None:
        notes.append(f"relative media paths resolved against the working folder {base!r} (pass media_root=)")

    # media: exists, channels, sample rate
    infos: dict[str, Any] = {}
    if check_media:
        from sonicmix.io import info

        every = [p for placed in placed_by_track for p in placed]
        missing = [(p.where, p.path) for p in every if not os.path.isfile(p.path)]
        if missing:
            where, path = missing[0]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise OTIOImportError(
                f"{where}: media file {path!r} does not exist{more}; expected an audio file (relative URLs "
                f"resolve against {base!r}; pass media_root= to look elsewhere)"
            )
        for placed in placed_by_track:
            for p in placed:
                if p.path not in infos:
                    try:
                        infos[p.path] = info(p.path)
                    except AudioFileError as err:
                        raise OTIOImportError(f"{p.where}: {err}") from err
                    if infos[p.path].sample_rate != sample_rate:
                        notes.append(
                            f"media {p.path!r} is at {infos[p.path].sample_rate} Hz; it is resampled to "
                            f"{sample_rate} Hz when rendered"
                        )

    track_layouts: list[str | None] = []
    for placed in placed_by_track:
        widest = None
        for p in placed:
            if p.path in infos:
                try:
                    found = default_layout(infos[p.path].channels, name=f"media {p.path!r}")
                except LayoutError as err:
                    raise OTIOImportError(f"{p.where}: {err}") from None
                if widest is None or found.n_channels > widest.n_channels:
                    widest = found
        track_layouts.append(None if widest is None else widest.name)
    if bus_layout is None:
        known = [get_layout(name) for name in track_layouts if name is not None]
        bus_layout = max(known, key=lambda lay: lay.n_channels).name if known else "stereo"
        if get_layout(bus_layout).n_channels < 2:
            bus_layout = "stereo"

    # clips, rounded to samples as positions on the timeline
    def samples(t: Fraction) -> int:
        return math.floor(t * sample_rate + Fraction(1, 2))

    tracks: dict[str, Track] = {}
    for k, (track, placed) in enumerate(zip(audio, placed_by_track, strict=True)):
        clips = []
        for p in placed:
            start, stop = samples(p.start), samples(p.end)
            if stop <= start:
                notes.append(f"{p.where}: shorter than one sample at {sample_rate} Hz; left out")
                continue
            offset = samples(p.offset)
            if p.offset < 0 and offset < 0:
                raise OTIOImportError(
                    f"{p.where} starts {_fmt(-p.offset)} before the start of its media {p.path!r} (a "
                    "transition before it needs that much handle); expected a source_range, less any "
                    "transition's in_offset, inside the media's available_range"
                )
            media_stop = p.offset + (p.end - p.start) * Fraction(p.rate)  # media time at the clip's end
            if p.media_end is not None and media_stop > p.media_end:
                notes.append(
                    f"{p.where}: runs {_fmt(media_stop - p.media_end)} past the end of its "
                    "media's available_range (silence there if the file ends)"
                )
            fade_in = 0 if p.fade_in_end is None else max(samples(p.fade_in_end) - start, 0)
            fade_in = min(fade_in, stop - start)
            fade_out = 0 if p.fade_out_start is None else max(stop - samples(p.fade_out_start), 0)
            fade_out = min(fade_out, stop - start - fade_in)
            curve_in = (p.fade_in_curve or crossfade_curve) if fade_in else None
            curve_out = (p.fade_out_curve or crossfade_curve) if fade_out else None
            if curve_in and curve_out and curve_in != curve_out:
                notes.append(
                    f"{p.where}: fades in with a {curve_in!r} and out with a {curve_out!r} curve; a sonicmix "
                    f"clip has one fade curve, so both are {curve_in!r}"
                )
            clips.append(
                Clip(
                    source=FileSource(p.path),
                    start_s=start / sample_rate,
                    offset_s=max(offset, 0) / sample_rate,
                    duration_s=(stop - start) / sample_rate,
                    gain_db=p.gain_db,
                    fade_in_s=fade_in / sample_rate,
                    fade_out_s=fade_out / sample_rate,
                    fade_curve=curve_in or curve_out or crossfade_curve,
                    rate=p.rate,
                )
            )
        if not track.enabled:
            notes.append(f"track {labels[k]!r} is disabled in the timeline; imported muted")
        where = f"track {labels[k]!r}"
        track_layout = track_layouts[k] or bus_layout
        fader_db = _metadata_number(track, "fader_db", where, unit="of dB", high=96.0) or 0.0
        pan = _metadata_number(track, "pan", where, hint="(-1 left, 1 right)", low=-1.0, high=1.0) or None
        # centre (0) is no pan: the same samples, and no need for a stereo bus
        if pan is not None and (track_layout not in ("mono", "stereo") or bus_layout != "stereo"):
            notes.append(
                f"{where}: pan {pan:+g} left out; sonicmix pans mono and stereo tracks into stereo buses "
                f"only, and this one is {track_layout} into a {bus_layout} bus"
            )
            pan = None
        tracks[track_names[k]] = Track(
            clips=tuple(clips),
            layout=track_layout,
            output=stem_of[k],
            mute=not track.enabled,
            crossfade_curve=crossfade_by_track[k],
            fader_db=fader_db,
            pan=pan,
        )
    buses = {stem: Bus(layout=bus_layout, output="master") for stem in stem_names}
    buses["master"] = Bus(layout=bus_layout, output=None)
    graph = Graph(tracks=tracks, buses=buses)
    start_time = tl.global_start_time
    return OTIOImport(
        graph=graph,
        sample_rate=sample_rate,
        notes=tuple(dict.fromkeys(notes)),
        name=tl.name,
        global_start_s=0.0 if start_time is None else float(_seconds(start_time, "global_start_time")),
        tracks=dict(zip(track_names, labels, strict=True)),
        stems={s: tuple(n for n, t in zip(track_names, stem_of, strict=True) if t == s) for s in stem_names},
    )

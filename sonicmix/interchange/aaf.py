"""Read an AAF (an editor's cut, as Avid, Premiere Pro and Resolve hand it to sound) as a mix graph.

:func:`read_aaf` reads the file with OpenTimelineIO's AAF adapter
(``otio-aaf-adapter``, on ``pyaaf2``), translates what AAF says about audio
into the metadata the OTIO importer understands, and hands the timeline to
:func:`sonicmix.interchange.otio.read_otio`: clips, positions, offsets,
transitions, stems, media checks and errors all follow one mapping, described
in :mod:`sonicmix.interchange.otio`. This module only adds what is AAF's own:

- **Clip gain.** An ``Audio Gain`` operation (AAF ``OperationDef_MonoAudioGain``
  or ``StereoAudioGain``) around a clip scales it by its ``Amplitude``
  parameter, a linear factor: ``gain_db = 20 log10(amplitude)``. Nested gains
  multiply. A keyframed amplitude whose points are all equal (DaVinci
  Resolve writes constant gains that way) is a constant.
- **Track level and pan.** The same operation around a whole track is the
  track's fader (``fader_db``); an ``Audio Pan`` (``ParameterDef_Pan``, 0 left,
  1/2 centre, 1 right) is the track's pan, ``2 * pan - 1``. The adapter moves
  a track's operations onto the clip when the track holds one clip; a pan
  there is still read as the track's.
- **Fades and cross-fades.** AAF transitions become OTIO transitions (a fade
  where one side is filler, a cross-fade between two clips). Avid Media
  Composer names its curve (``Curve Type`` 0 linear, 1 equal power), and
  that curve is used; where the file names none, the AAF Edit Protocol's
  default level ramp is linear, and ``crossfade_curve`` decides (``"linear"``
  by default).
- **Track names.** The adapter does not keep the names of AAF tracks (it
  names them after AAF classes); they are read from the composition's
  slots: the slot name, else ``A`` and the slot's physical track number, as
  the editor's timeline shows them.
- **Media.** Paths come from the file source's locators. A relative path
  resolves against ``media_root`` (default: the AAF's folder); a path that
  does not exist here (the editor's ``/Volumes/...`` or ``D:\\...``) is looked
  up by file name in ``media_root`` and the AAF's folder, with a note. Audio
  embedded in the AAF is refused, or written out as WAV files with
  ``embedded_media_dir=``.

What the import leaves out is in the result's ``notes`` (keyframed volume
and pan, other effects, clip fades kept as SourceClip properties); a few
things are not read at all (Avid's surround-panner settings, the master
track: ``docs/aaf.md`` lists them). What would make the mix wrong (missing
media, a track playing one channel of a multichannel file, clips whose master
clip is not in the file, speed ramps and freeze frames) raises
:class:`AAFImportError`, naming the track and the clip; a constant speed
change from 0.25 to 4 becomes the clip's ``rate``.
"""

from __future__ import annotations

import contextlib
import io
import math
import ntpath
import os
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

from sonicmix.interchange.otio import OTIOImport, OTIOImportError, StemMap, read_otio
from sonicmix.nodes.fade import _CURVES, FadeCurve

__all__ = ["AAFImport", "AAFImportError", "read_aaf"]

# AUIDs of the AAF definitions read here (AAF Object Specification v1.1; pyaaf2's model/datadefs.py)
_OP_MONO_GAIN = "9d2ea894-0968-11d3-8a38-0050040ef7d2"  # OperationDef_MonoAudioGain ("Audio Gain")
_OP_STEREO_GAIN = "9d2ea895-0968-11d3-8a38-0050040ef7d2"  # OperationDef_StereoAudioGain
_OP_MONO_PAN = "9d2ea893-0968-11d3-8a38-0050040ef7d2"  # OperationDef_MonoAudioPan ("Audio Pan")
_AUDIO_DISSOLVES = {
    "0c3bea41-fc05-11d2-8a29-0050040ef7d2",  # OperationDef_MonoAudioDissolve ("Audio Dissolve")
    "0c3bea42-fc05-11d2-8a29-0050040ef7d2",  # OperationDef_StereoAudioDissolve
    "2311bd90-b5da-4285-aa3a-8552848779b3",  # OperationDef_TwoParameterMonoAudioDissolve
}
_PARAM_AMPLITUDE = "e4962321-2267-11d3-8a4c-0050040ef7d2"  # ParameterDef_Amplitude: linear gain factor
_PARAM_PAN = "e4962322-2267-11d3-8a4c-0050040ef7d2"  # ParameterDef_Pan: 0 left, 1/2 centre, 1 right
_PARAM_LEVEL = "e4962320-2267-11d3-8a4c-0050040ef7d2"  # ParameterDef_Level: a transition's level ramp
_PARAM_AVID_CURVE = "8134fc48-3bd6-4904-9520-7a6360cc7127"  # Avid "Curve Type" of an audio dissolve
#: Avid Media Composer's clip-gain automation parameter; it has no AUID of its own in the AAF spec
_AVID_CLIP_RATIO = "AvidControlClipRatio"
#: Avid's dissolve curve, also kept in the operation's ComponentAttributeList (MC 8.4 and later)
_AVID_CURVE_ATTRIBUTE = "_ATN_AUDIO_DISSOLVE_CURVETYPE"
_AVID_CURVES: dict[int, FadeCurve] = {0: "linear", 1: "equal_power"}
#: names the adapter gives tracks after AAF classes, not the editor's
_CLASS_NAMES = {"Sequence", "TimelineMobSlot", "MobSlot", "OperationGroup", "NestedScope", "Selector"}
_CFB_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")  # Microsoft structured storage, which AAF files are


class AAFImportError(OTIOImportError):
    """An AAF cannot become a sonicmix graph; the message names the track, the clip and the file.

    An :class:`~sonicmix.interchange.otio.OTIOImportError` (and so a
    :class:`~sonicmix.errors.GraphError` and a ``ValueError``).
    """


@dataclass(frozen=True)
class AAFImport(OTIOImport):
    """What :func:`read_aaf` returns: an :class:`~sonicmix.interchange.otio.OTIOImport` of an AAF.

    The same attributes (``graph``, ``sample_rate``, ``notes``, ``name``,
    ``global_start_s``, ``tracks``, ``stems``) and the same ``session()``;
    ``tracks`` maps each sonicmix track to the AAF track it came from.
    """

    def __str__(self) -> str:
        return "AAF" + super().__str__().removeprefix("OTIO")


# ---------------------------------------------------------------------------------------- values


def _number(value: Any) -> Fraction | None:
    """An AAF value as the adapter hands it over (an int, a float or a rational as "1/2"), exactly."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Fraction(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            return None
    return None


@dataclass(frozen=True)
class _Parameter:
    """An AAF parameter: a constant, or keyframes ``(time 0..1 of the operation, value)``."""

    constant: Fraction | None = None
    points: tuple[tuple[Fraction, Fraction], ...] = ()
    readable: bool = True


def _parameter(raw: Any) -> _Parameter:
    if hasattr(raw, "get") and raw.get("_aaf_keyframed_property"):
        points = []
        for point in raw.get("keyframe_values") or ():
            pair = list(point) if hasattr(point, "__iter__") and not isinstance(point, str) else []
            time, value = (_number(pair[0]), _number(pair[1])) if len(pair) == 2 else (None, None)
            if time is None or value is None:
                return _Parameter(readable=False)
            points.append((time, value))
        if points and all(value == points[0][1] for _, value in points):
            return _Parameter(constant=points[0][1])  # flat keyframes (Resolve's constant gains)
        return _Parameter(points=tuple(points))
    value = _number(raw)
    return _Parameter(constant=value) if value is not None else _Parameter(readable=False)


def _db(factor: Fraction) -> float:
    return 20.0 * math.log10(factor)


def _describe_points(points: tuple[tuple[Fraction, Fraction], ...], to_text: Any) -> str:
    values = [value for _, value in points]
    return f"{len(points)} points, {to_text(min(values))} to {to_text(max(values))}"


def _gain_text(factor: Fraction) -> str:
    return "-inf dB" if factor <= 0 else f"{_db(factor):+.2f} dB"


def _pan_text(value: Fraction) -> str:
    return f"{float(2 * value - 1):+g}"


@dataclass
class _Effect:
    """One AAF operation the adapter turned into an OTIO effect (internal)."""

    auid: str  # the OperationDef's AUID, lower case ("" if the adapter did not keep it)
    name: str
    parameters: dict[str, Any]  # by ParameterDef AUID (lower case) where known, else by name

    def get(self, auid: str, name: str | None = None) -> Any:
        if auid in self.parameters:
            return self.parameters[auid]
        return self.parameters.get(name) if name is not None else None


def _operation(aaf: Any, parameter_ids: dict[str, str], fallback_name: str) -> _Effect:
    """The operation the adapter describes in ``aaf`` (an effect's or a transition's AAF metadata)."""
    aaf = aaf if hasattr(aaf, "get") else {}
    operation = aaf.get("Operation")
    operation = operation if hasattr(operation, "get") else {}
    defined = operation.get("ParametersDefined")
    defined = defined if hasattr(defined, "get") else {}
    parameters: dict[str, Any] = {}
    raw = aaf.get("Parameters")
    for name, value in (raw.items() if hasattr(raw, "items") else ()):
        definition = defined.get(name)
        auid = definition.get("Identification") if hasattr(definition, "get") else None
        auid = auid or parameter_ids.get(name)
        parameters[str(auid).lower() if auid else str(name)] = value
    name = str(operation.get("Name") or fallback_name)
    return _Effect(auid=str(operation.get("Identification") or "").lower(), name=name, parameters=parameters)


def _effect(effect: Any, parameter_ids: dict[str, str]) -> _Effect:
    aaf = effect.metadata.get("AAF") if hasattr(effect.metadata, "get") else None
    return _operation(aaf, parameter_ids, effect.name or effect.effect_name or effect.schema_name())


# ---------------------------------------------------------------------------------------- effects


@dataclass
class _Levels:
    """What the AAF operations on one item say about its level and pan (internal)."""

    gain: Fraction = Fraction(1)
    pan: Fraction | None = None


def _read_effects(item: Any, where: str, parameter_ids: dict[str, str], notes: list[str]) -> _Levels:
    """Read and remove an item's AAF audio operations; time effects stay for read_otio to judge."""
    import opentimelineio as otio

    levels = _Levels()
    kept = []
    for effect in item.effects:
        if isinstance(effect, otio.schema.TimeEffect):  # LinearTimeWarp, FreezeFrame and the rest
            kept.append(effect)
            continue
        op = _effect(effect, parameter_ids)
        if op.auid in (_OP_MONO_GAIN, _OP_STEREO_GAIN):
            raw = op.get(_PARAM_AMPLITUDE, "Amplitude")
            if raw is None:
                raw = op.get(_AVID_CLIP_RATIO, _AVID_CLIP_RATIO)
            value = _parameter(raw)
            if raw is None or not value.readable:
                notes.append(f"{where}: AAF {op.name!r} has no amplitude sonicmix can read; ignored")
            elif value.constant is not None and value.constant < 0:
                notes.append(
                    f"{where}: AAF {op.name!r} has amplitude {float(value.constant):g} (a polarity "
                    "inversion); ignored"
                )
            elif value.constant is not None:
                levels.gain *= value.constant
            elif value.points:
                notes.append(
                    f"{where}: AAF volume automation ({_describe_points(value.points, _gain_text)}) left "
                    "out; sonicmix reads AAF clip gain and track volume as constants"
                )
            else:
                notes.append(f"{where}: AAF {op.name!r} has keyframes without points; ignored")
        elif op.auid == _OP_MONO_PAN:
            value = _parameter(op.get(_PARAM_PAN, "Pan"))
            if value.constant is not None and 0 <= value.constant <= 1:
                levels.pan = value.constant
            elif value.points:
                notes.append(
                    f"{where}: AAF pan automation ({_describe_points(value.points, _pan_text)}) left out; "
                    "the track is imported unpanned"
                )
            else:
                notes.append(f"{where}: AAF {op.name!r} has no pan position sonicmix can read; ignored")
        else:
            notes.append(
                f"{where}: AAF effect {op.name!r} ignored; sonicmix reads clip gain ('Audio Gain'), pan "
                "('Audio Pan') and audio dissolves, and renders no other AAF effect (render it to a file "
                "in the editor, or add the processing to the track's chain)"
            )
    if len(kept) != len(item.effects):
        del item.effects[:]
        item.effects.extend(kept)
    return levels


def _set_sonicmix(item: Any, key: str, value: Any) -> None:
    meta = item.metadata.get("sonicmix")
    meta = dict(meta) if hasattr(meta, "items") else {}
    meta[key] = value
    item.metadata["sonicmix"] = meta


def _transition_curve(
    transition: Any, where: str, parameter_ids: dict[str, str], notes: list[str]
) -> FadeCurve | None:
    """The curve an AAF transition names (Avid's Curve Type), or None where it names none."""
    aaf = transition.metadata.get("AAF") if hasattr(transition.metadata, "get") else None
    group = aaf.get("OperationGroup") if hasattr(aaf, "get") else None
    if not hasattr(group, "get"):
        return None
    op = _operation(group, parameter_ids, "")
    if op.auid and op.auid not in _AUDIO_DISSOLVES:
        notes.append(
            f"{where}: AAF transition {op.name or op.auid!r} is not an audio dissolve; read as a cross-fade"
        )
    attributes = group.get("ComponentAttributeList")
    attributes = attributes if hasattr(attributes, "get") else {}
    avid = op.get(_PARAM_AVID_CURVE, "Curve Type")
    if avid is None:
        avid = attributes.get(_AVID_CURVE_ATTRIBUTE)
    if avid is not None:
        kind = _number(avid)
        if kind is not None and kind.denominator == 1 and int(kind) in _AVID_CURVES:
            return _AVID_CURVES[int(kind)]
        notes.append(f"{where}: Avid dissolve curve type {avid!r} is unknown (0 linear, 1 equal power)")
        return None
    level = op.get(_PARAM_LEVEL, "Level")
    if hasattr(level, "get") and level.get("_aaf_keyframed_property"):
        ramp = _parameter(level)
        standard = ramp.points == ((0, 0), (1, 1)) and level.get("keyframe_interpolation") == "Linear"
        if not standard:
            notes.append(
                f"{where}: AAF dissolve level curve ({level.get('keyframe_interpolation')!s}, "
                f"{len(ramp.points)} points) read as the default cross-fade curve"
            )
    return None


# ---------------------------------------------------------------------------------------- the AAF


@dataclass
class _Slot:
    """A sound slot of the AAF's composition (internal)."""

    name: str
    length: Fraction  # seconds
    has_clips: bool
    clip_fades: int = 0  # clips with SourceClip FadeInLength / FadeOutLength, which the adapter drops


@dataclass
class _SourceMob:
    """What the AAF says about one file source (internal)."""

    name: str
    urls: list[str]
    embedded: bool
    descriptor: str
    channel_slots: int  # sound slots: more than one when tracks take a multichannel file a channel each


@dataclass
class _AAFFacts:
    """What the adapter leaves out, read from the AAF with pyaaf2 (internal)."""

    parameter_ids: dict[str, str]
    slots: dict[str, list[_Slot]]  # composition name -> its sound slots, in order
    source_mobs: dict[str, _SourceMob]  # MobID urn -> the file source


def _walk(segment: Any) -> Iterator[Any]:
    import aaf2.components

    yield segment
    children: list[Any] = []
    if isinstance(segment, aaf2.components.Sequence):
        children = list(segment.components)
    elif isinstance(segment, aaf2.components.OperationGroup):
        children = list(segment.getvalue("InputSegments", None) or ())
    elif isinstance(segment, aaf2.components.NestedScope):
        children = list(segment.getvalue("Slots", None) or ())
    elif isinstance(segment, aaf2.components.Selector):
        children = [segment.getvalue("Selected", None), *(segment.getvalue("Alternates", None) or ())]
    elif isinstance(segment, aaf2.components.EssenceGroup):
        children = list(segment.getvalue("Choices", None) or ())
    for child in children:
        if child is not None:
            yield from _walk(child)


def _read_facts(path: str) -> _AAFFacts:
    import aaf2
    import aaf2.components
    import aaf2.mobslots

    with aaf2.open(path, "r") as f:
        definitions = f.dictionary["ParameterDefinitions"].values()
        parameter_ids = {str(p.name): str(p.auid).lower() for p in definitions}
        content = f.content
        # the mobs the adapter reads, in its order of preference
        mobs = list(content.toplevel()) or list(content.compositionmobs()) or list(content.mastermobs())
        slots: dict[str, list[_Slot]] = {}
        for mob in mobs:
            found = []
            for slot in mob.slots:
                if not isinstance(slot, aaf2.mobslots.TimelineMobSlot) or slot.segment is None:
                    continue
                if slot.segment.media_kind != "Sound":  # not Avid's SoundMasterTrack, which holds no clips
                    continue
                # the editor's label: the slot's name, else A and its track number (or its place)
                name = slot.name or ""
                if not name and "PhysicalTrackNumber" in slot and slot["PhysicalTrackNumber"].value:
                    name = f"A{slot['PhysicalTrackNumber'].value}"
                name = name or f"A{len(found) + 1}"
                rate = Fraction(str(slot.edit_rate))
                clips = [c for c in _walk(slot.segment) if isinstance(c, aaf2.components.SourceClip)]
                found.append(
                    _Slot(
                        name=name,
                        length=Fraction(slot.segment.length or 0) / rate,
                        has_clips=bool(clips),
                        clip_fades=sum(
                            1
                            for c in clips
                            if any(k in c and c[k].value for k in ("FadeInLength", "FadeOutLength"))
                        ),
                    )
                )
            slots.setdefault(str(mob.name or ""), found)
        sources = {}
        for mob in content.sourcemobs():
            descriptor = mob.descriptor
            urls = []
            if descriptor is not None and "Locator" in descriptor:
                locators = descriptor["Locator"].value
                urls = [str(loc["URLString"].value) for loc in locators if "URLString" in loc]
            sources[str(mob.mob_id)] = _SourceMob(
                name=str(mob.name or ""),
                urls=[u for u in urls if u],
                embedded=mob.essence is not None,
                descriptor=type(descriptor).__name__,
                channel_slots=sum(
                    1
                    for slot in mob.slots
                    if isinstance(slot, aaf2.mobslots.TimelineMobSlot)
                    and slot.segment is not None
                    and slot.segment.media_kind == "Sound"
                ),
            )
    return _AAFFacts(parameter_ids=parameter_ids, slots=slots, source_mobs=sources)


def _local_path(url: str) -> str:
    """A locator's URL or path as a local path (file URLs decoded; ``\\\\`` kept for ntpath)."""
    if url.lower().startswith("file:"):
        parsed = urllib.parse.urlparse(url)
        path = urllib.parse.unquote(parsed.path)
        host = parsed.netloc
        if host and host.lower() != "localhost":
            # "file://C:/x" (a drive as host), "file://?/C:/x" (Avid), or a server: //server/share/x
            path = f"{host}{path}" if re.match(r"^[A-Za-z]:$", host) or host == "?" else f"//{host}{path}"
        path = path.removeprefix("?/")
        if re.match(r"^/[A-Za-z]:[\\/]", path):  # file:///C:/x
            path = path[1:]
        return path
    return url


def _is_absolute(path: str) -> bool:
    return os.path.isabs(path) or ntpath.isabs(path)


def _find_media(urls: list[str], roots: list[str]) -> tuple[str, str | None, bool]:
    """The first locator that exists here, else a file of its name in one of ``roots``.

    Returns the path, the locator it replaces when it was found by name, and whether it exists.
    """
    paths = [_local_path(u) for u in urls]
    resolved = [p if _is_absolute(p) else os.path.normpath(os.path.join(roots[0], p)) for p in paths]
    for path in resolved:
        if os.path.isfile(path):
            return path, None, True
    for path in paths:
        name = ntpath.basename(path)  # splits on both "/" and "\\"
        for root in roots:
            candidate = os.path.join(root, name)
            if name and os.path.isfile(candidate):
                return os.path.normpath(candidate), path, True
    return resolved[0], None, False


def _extract(source: _SourceMob, mob_id: str, aaf_path: str, folder: str) -> str:
    """Write an embedded PCM source out as a WAV file in ``folder``; its path."""
    import aaf2

    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", source.name).strip("-.") or "media"
    digest = re.sub(r"[^0-9a-f]", "", mob_id.lower())[-12:]
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, f"{safe}-{digest}.wav")
    if not os.path.isfile(target):
        with aaf2.open(aaf_path, "r") as f:
            mob = next(m for m in f.content.sourcemobs() if str(m.mob_id) == mob_id)
            partial = target + ".partial"
            mob.export_audio(partial)
            os.replace(partial, target)
    return target


# ---------------------------------------------------------------------------------------- reading


def _where(label: str, item: Any, index: int) -> str:
    start = item.range_in_parent().start_time.to_seconds()
    return f"track {label!r}, clip {item.name!r} (item {index}, at {start:.6g} s)"


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise AAFImportError(f"aaf={path!r}: no such file; expected an AAF file")
    if os.path.isdir(path):
        raise AAFImportError(f"aaf={path!r} is a folder; expected an AAF file")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head != _CFB_SIGNATURE:
        hint = " (an XML AAF? export a binary AAF instead)" if head.lstrip().startswith(b"<") else ""
        raise AAFImportError(
            f"aaf={path!r} is not an AAF file: it does not start with the structured-storage signature "
            f"d0cf11e0a1b11ae1 (it starts with {head.hex()}){hint}; expected a binary AAF as Avid Media "
            "Composer, Premiere Pro, DaVinci Resolve or Pro Tools export it"
        )


def _load(path: str, composition: str | None) -> tuple[Any, list[str]]:
    """The OTIO timeline of the AAF's composition, and what the adapter said about clips it dropped."""
    import opentimelineio as otio

    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):
            loaded = otio.adapters.read_from_file(path, adapter_name="AAF")
    except Exception as err:  # the adapter and pyaaf2 raise many types on files they cannot read
        raise AAFImportError(
            f"aaf={path!r} cannot be read by OpenTimelineIO's AAF adapter ({type(err).__name__}: {err}); "
            "expected an AAF with a composition of clips, filler and transitions"
        ) from err
    lost = [line.strip() for line in said.getvalue().splitlines() if line.startswith("Unable find slot_id")]
    timelines = list(loaded) if isinstance(loaded, otio.schema.SerializableCollection) else [loaded]
    timelines = [t for t in timelines if isinstance(t, otio.schema.Timeline)]
    names = [t.name for t in timelines]
    if composition is not None:
        if composition not in names:
            raise AAFImportError(
                f"composition={composition!r} is not a composition of {path!r}; its compositions are {names}"
            )
        return timelines[names.index(composition)], lost
    if len(timelines) != 1:
        raise AAFImportError(
            f"aaf={path!r} holds {len(timelines)} compositions {names}; expected one (pass composition= "
            "with the name of the one to import)"
        )
    return timelines[0], lost


def _is_audio_track(item: Any) -> bool:
    import opentimelineio as otio

    return isinstance(item, otio.schema.Track) and item.kind == otio.schema.TrackKind.Audio


def _name_tracks(timeline: Any, slots: list[_Slot], notes: list[str]) -> list[str]:
    """Give the timeline's audio tracks the names of the AAF's sound slots; the names."""

    audio = [t for t in timeline.tracks if _is_audio_track(t)]
    kept = [s for s in slots if s.has_clips]  # the adapter drops tracks of filler only
    matched = len(kept) == len(audio) and all(
        abs(t.duration().to_seconds() - float(s.length)) < 1e-6 for t, s in zip(audio, kept, strict=True)
    )
    if matched:
        taken: set[str] = set()
        for track, slot in zip(audio, kept, strict=True):
            name, n = slot.name, 2
            while name in taken:  # unique here, so that stems= can name every track
                name, n = f"{slot.name} {n}", n + 1
            taken.add(name)
            track.name = name
    else:
        notes.append(
            f"the AAF's {len(kept)} sound track(s) could not be matched to the adapter's {len(audio)} audio "
            "track(s); tracks are named A1, A2, ... by position"
        )
        for track in audio:
            track.name = ""
    empty = len(slots) - len(kept)
    if empty:
        notes.append(f"{empty} AAF sound track(s) holding no clips left out")
    for k, track in enumerate(audio):
        if track.name in _CLASS_NAMES:
            track.name = ""
        if not track.name:
            track.name = f"A{k + 1}"
    return [t.name for t in audio]


def _translate(
    timeline: Any,
    facts: _AAFFacts,
    *,
    roots: list[str],
    aaf_path: str,
    embedded_media_dir: str | None,
    notes: list[str],
) -> list[tuple[str, str]]:
    """Rewrite the adapter's AAF details as what read_otio reads: gains, pans, curves, media paths.

    Returns ``(where, path)`` of each clip whose media file is not there.
    """
    import opentimelineio as otio

    missing: list[tuple[str, str]] = []
    for track in timeline.tracks:
        if not _is_audio_track(track):
            continue
        label = track.name
        levels = _read_effects(track, f"track {label!r}", facts.parameter_ids, notes)
        if levels.gain != 1:
            if levels.gain <= 0:
                notes.append(f"track {label!r}: AAF track volume is -inf dB; imported muted")
                track.enabled = False
            else:
                _set_sonicmix(track, "fader_db", _db(levels.gain))
        pan = levels.pan
        clips = [item for item in track if isinstance(item, otio.schema.Clip)]
        for i, item in enumerate(list(track)):
            if isinstance(item, otio.schema.Transition):
                curve = _transition_curve(item, f"track {label!r}, item {i}", facts.parameter_ids, notes)
                if curve is not None:
                    _set_sonicmix(item, "curve", curve)
                continue
            if not isinstance(item, otio.schema.Clip):
                continue
            where = _where(label, item, i)
            clip_levels = _read_effects(item, where, facts.parameter_ids, notes)
            if clip_levels.pan is not None:
                if len(clips) == 1:  # the adapter moves a one-clip track's operations onto its clip
                    pan = clip_levels.pan
                else:
                    notes.append(
                        f"{where}: AAF clip pan {_pan_text(clip_levels.pan)} left out; AAF pans tracks, and "
                        "sonicmix pans tracks, not clips"
                    )
            if clip_levels.gain <= 0:
                notes.append(f"{where}: AAF clip gain is -inf dB; left out (silence)")
                track[i] = otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=item.duration()))
                continue
            if clip_levels.gain != 1:
                meta = item.metadata.get("sonicmix")
                before = meta.get("gain_db") if hasattr(meta, "get") else None
                before = before if isinstance(before, (int, float)) and not isinstance(before, bool) else 0.0
                _set_sonicmix(item, "gain_db", float(before) + _db(clip_levels.gain))
            lost = _relink(item, where, facts, roots, aaf_path, embedded_media_dir, notes)
            if lost is not None:
                missing.append((where, lost))
        if pan is not None:
            _set_sonicmix(track, "pan", float(2 * pan - 1))
    return missing


def _relink(
    item: Any,
    where: str,
    facts: _AAFFacts,
    roots: list[str],
    aaf_path: str,
    embedded_media_dir: str | None,
    notes: list[str],
) -> str | None:
    """Point a clip at its media as a local path read from the AAF's own locators.

    Returns the path the AAF gives when no file is there, nor one of its name in ``roots``.
    """
    import opentimelineio as otio

    reference = item.media_reference
    aaf = reference.metadata.get("AAF") if reference is not None else None
    mob_id = str(aaf.get("MobID")) if hasattr(aaf, "get") and aaf.get("MobID") else None
    source = facts.source_mobs.get(mob_id) if mob_id else None
    if source is None:
        return None  # no file source: read_otio judges the reference as it is
    if source.channel_slots > 1:
        raise AAFImportError(
            f"{where}: its media {source.name!r} ({', '.join(source.urls) or 'embedded'}) is one file of "
            f"{source.channel_slots} channels that the AAF plays a channel per track, and the AAF adapter "
            "does not carry which channel a track plays; expected a file per channel, or a multichannel clip "
            "on a multichannel track (in the editor, consolidate or transcode the audio to mono files)"
        )
    if source.embedded and not source.urls:
        if embedded_media_dir is None:
            raise AAFImportError(
                f"{where}: its media {source.name!r} is embedded in the AAF; expected linked media "
                "(export the AAF with linked, not embedded, audio, or pass embedded_media_dir= to write "
                "embedded audio out as WAV files)"
            )
        if source.descriptor != "PCMDescriptor":
            raise AAFImportError(
                f"{where}: its media {source.name!r} is embedded as {source.descriptor}; expected PCM "
                "(sonicmix writes out embedded PCM audio only: export the AAF with linked media)"
            )
        path = _extract(source, mob_id or "", aaf_path, embedded_media_dir)
        notes.append(f"{where}: embedded media {source.name!r} written to {path!r}")
    elif source.urls:
        path, replaced, found = _find_media(source.urls, roots)
        if replaced is not None:
            notes.append(f"{where}: media {replaced!r} not found there; relinked by name to {path!r}")
    else:
        return None
    available = reference.available_range if reference is not None else None
    relinked = otio.schema.ExternalReference(target_url=path, available_range=available)
    relinked.metadata["AAF"] = aaf
    item.media_reference = relinked
    return None if source.embedded or found else path


def read_aaf(
    aaf: str | os.PathLike[str],
    *,
    stems: StemMap | None = None,
    sample_rate: int = 48000,
    media_root: str | os.PathLike[str] | None = None,
    layout: str | None = None,
    crossfade_curve: FadeCurve = "linear",
    composition: str | None = None,
    embedded_media_dir: str | os.PathLike[str] | None = None,
    check_media: bool = True,
) -> AAFImport:
    """Read an AAF's audio tracks as a sonicmix graph routed to stems.

    Parameters
    ----------
    aaf : str or os.PathLike
        A binary AAF file, as Avid Media Composer, Premiere Pro, DaVinci
        Resolve or Pro Tools export it, with linked media.
    stems : mapping or callable, optional
        Stem bus of each audio track: ``{"DX 1": "dialogue", "A3": "music"}``
        by AAF track name (the track's name, else ``A`` and its track number),
        or a callable ``(track_name, index) -> stem``. By default
        :func:`~sonicmix.interchange.otio.default_stem` decides by the name
        (``A1``, ``A2``, ... go to ``"effects"``: map them).
    sample_rate : int, default 48000
        Rate, in Hz, that positions are rounded to; render at this rate for
        sample-exact placement.
    media_root : path, optional
        Folder that relative media paths resolve against, and where media
        not found at their AAF path are looked for by file name (default:
        the AAF's folder, which is searched by name as well).
    layout : str, optional
        Layout of the stem buses and the master. By default the widest layout
        of the media, and at least ``"stereo"``.

    Other Parameters
    ----------------
    crossfade_curve : str, default "linear"
        Curve of the fades and cross-fades whose AAF names none (Avid names
        its curve; the AAF default ramp is linear). Any curve of
        :func:`sonicmix.nodes.fade.fade_curve`.
    composition : str, optional
        Name of the composition to import when the AAF holds several
        top-level compositions.
    embedded_media_dir : path, optional
        Folder to write audio embedded in the AAF into, as WAV files (PCM
        only); without it, embedded audio is an error.
    check_media : bool, default True
        Check that every media file exists and read its header.

    Returns
    -------
    AAFImport
        ``.graph``, and ``.notes`` listing everything left out or changed.

    Raises
    ------
    AAFImportError
        The file is not an AAF, or the adapter cannot read it; it holds
        several compositions and ``composition`` names none; a clip's media
        file does not exist (the message names the track, the clip and the
        path), is embedded (without ``embedded_media_dir``), or its master
        clip is not in the AAF; and everything
        :func:`~sonicmix.interchange.otio.read_otio` refuses (speed ramps,
        freeze frames, constant speeds outside 0.25 to 4, nested
        compositions, a ``stems`` name that is no track, ...).

    Notes
    -----
    Clip gain, constant track volume and pan, fades and cross-fades are
    read; keyframed volume and pan, and AAF effects other than gain and pan,
    are left out with a note each. ``docs/aaf.md`` has the table of what the
    adapter carries and what it drops.

    Examples
    --------
    A 25 fps cut written with pyaaf2: 12 frames of filler, then 25 frames of
    ``line.wav`` from its frame 10, on a track called "DX" (``tests/test_aaf.py``
    writes fuller ones, with clip gain, fades and cross-fades):

    >>> import os, tempfile
    >>> import aaf2, numpy as np
    >>> import sonicmix.io as sio
    >>> folder = tempfile.TemporaryDirectory()
    >>> _ = sio.write(os.path.join(folder.name, "line.wav"), np.zeros((1, 96000), np.float32), 48000)
    >>> with aaf2.open(os.path.join(folder.name, "cut.aaf"), "w") as f:
    ...     media = f.create.SourceMob("line")
    ...     media.descriptor = f.create.ImportDescriptor()
    ...     locator = f.create.NetworkLocator()
    ...     locator["URLString"].value = "line.wav"  # relative: next to the AAF
    ...     media.descriptor["Locator"].append(locator)
    ...     media.create_empty_slot(25, "sound").segment.length = 50
    ...     master = f.create.MasterMob("line")
    ...     master.create_timeline_slot(25).segment = media.create_source_clip(1, 0, 50)
    ...     cut = f.create.CompositionMob("reel 1")
    ...     track = cut.create_sound_slot(25)
    ...     track.name = "DX"
    ...     line = master.create_source_clip(1, 10, 25)
    ...     track.segment.components.extend([f.create.Filler("sound", 12), line])
    ...     track.segment.length = 12 + 25
    ...     f.content.mobs.extend([media, master, cut])
    >>> imported = read_aaf(os.path.join(folder.name, "cut.aaf"))
    >>> clip = imported.graph.tracks["DX"].clips[0]
    >>> clip.start_s, clip.offset_s, clip.duration_s
    (0.48, 0.4, 1.0)
    >>> print(imported)
    AAF import of 'reel 1' at 48000 Hz
    Graph (master: 'master')
      master  <- dialogue
        dialogue  <- DX
          DX  track, mono, 1 clip
    >>> folder.cleanup()
    """
    try:
        import aaf2  # noqa: F401
        import opentimelineio  # noqa: F401
        from otio_aaf_adapter.adapters import advanced_authoring_format  # noqa: F401
    except ImportError as err:  # pragma: no cover - the extra is installed wherever the tests run
        raise ImportError(
            f"read_aaf needs OpenTimelineIO's AAF adapter ({err.name} is missing); install it with: "
            "pip install 'sonicmix[aaf]'"
        ) from None
    if not isinstance(aaf, (str, os.PathLike)):
        raise AAFImportError(f"aaf={aaf!r}; expected the path of an AAF file")
    if crossfade_curve not in _CURVES:
        raise AAFImportError(f"crossfade_curve={crossfade_curve!r}; expected one of {_CURVES}")
    path = os.path.abspath(os.fspath(aaf))
    _check_file(path)
    folder = os.path.dirname(path)
    try:
        facts = _read_facts(path)
    except Exception as err:  # pyaaf2 raises many types on damaged files
        raise AAFImportError(
            f"aaf={path!r} cannot be read by pyaaf2 ({type(err).__name__}: {err}); expected an intact AAF"
        ) from err
    timeline, lost = _load(path, composition)
    if lost:
        raise AAFImportError(
            f"aaf={path!r}: {len(lost)} clip(s) refer to master clips that are not in the file (the adapter "
            f"said: {lost[0]!r}{' ...' if len(lost) > 1 else ''}); expected every clip's master clip in the "
            "AAF (export it again with its source clips included)"
        )
    notes: list[str] = []
    root = os.path.abspath(os.fspath(media_root)) if media_root is not None else folder
    roots = list(dict.fromkeys([root, folder]))
    slots = facts.slots.get(str(timeline.name or ""), [])
    _name_tracks(timeline, slots, notes)
    for slot in slots:
        if slot.clip_fades:
            notes.append(
                f"AAF track {slot.name!r}: {slot.clip_fades} clip(s) carry SourceClip fades (FadeInLength, "
                "FadeOutLength), which the AAF adapter does not read; left out (fades made as transitions "
                "are read)"
            )
    embedded = None if embedded_media_dir is None else os.path.abspath(os.fspath(embedded_media_dir))
    missing = _translate(
        timeline, facts, roots=roots, aaf_path=path, embedded_media_dir=embedded, notes=notes
    )
    if missing and check_media:
        where, lost = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise AAFImportError(
            f"{where}: media file {lost!r} does not exist{more}, and no file {ntpath.basename(lost)!r} is in "
            f"{roots}; expected the audio file {path!r} links to (pass media_root= the folder that holds "
            "the media: files not at their linked path are found there by name)"
        )
    try:
        imported = read_otio(
            timeline,
            stems=stems,
            sample_rate=sample_rate,
            media_root=root,
            layout=layout,
            crossfade_curve=crossfade_curve,
            check_media=check_media,
        )
    except AAFImportError:
        raise
    except OTIOImportError as err:
        raise AAFImportError(f"{err} [in {path!r}]") from err
    values = {f.name: getattr(imported, f.name) for f in fields(imported)}
    values["notes"] = tuple(dict.fromkeys([*notes, *imported.notes]))
    return AAFImport(**values)

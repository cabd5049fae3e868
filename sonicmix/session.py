"""Session files: a whole mix (graph, sample rate, target, deliverables) as TOML.

A session file is the plain-data form of a :class:`~sonicmix.graph.Graph`
(see :mod:`sonicmix.plain`) plus what a delivery needs. ``load_session`` reads
one, ``save_session`` writes one, and the two round-trip: the graph read back
equals the graph written. The format is described in ``docs/sessions.md``;
in short::

    [session]
    sample_rate = 48000
    target = "ebu-r128"
    name = "episode-01"
    me_mix = true

    [tracks.dx]
    layout = "mono"
    output = "dialogue"
    chain = [{type = "HighPass", cutoff_hz = 80.0}]
    fader_db = {automation = [[0.0, -6.0, "linear"], [2.0, 0.0, "step"]]}

    [[tracks.dx.clips]]
    file = "dx.wav"
    start_s = 1.0

    [buses.dialogue]
    [buses.master]

Reading uses :mod:`tomllib` (``tomli`` on Python 3.10) and builds values
only from sonicmix's own registry of types: nothing in a file is executed or
imported. Relative ``file`` paths are resolved against the session file's
folder and written back relative to it. Every error is a
:class:`SessionError` whose message starts with the file's path, then the
table and key at fault, then what was expected.

Examples
--------
>>> session = loads_session('''
... [session]
... target = "ebu-r128"
... [tracks.dx]
... chain = [{type = "Gain", gain_db = -3.0}]
... [[tracks.dx.clips]]
... file = "dx.wav"
... start_s = 1.0
... [buses.master]
... ''', folder="/audio")
>>> session.graph.tracks["dx"].chain
(Gain(gain_db=-3.0),)
>>> session.graph.tracks["dx"].clips[0].source.path.replace("\\\\", "/").endswith("/audio/dx.wav")
True
>>> print(dumps_session(session, folder="/audio"))
[session]
sample_rate = 48000
target = "ebu-r128"
<BLANKLINE>
[tracks.dx]
chain = [
    {type = "Gain", gain_db = -3.0},
]
<BLANKLINE>
[[tracks.dx.clips]]
file = "dx.wav"
start_s = 1.0
<BLANKLINE>
[buses.master]
<BLANKLINE>
"""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from sonicmix._checks import file_name_problem
from sonicmix.errors import SonicmixError
from sonicmix.graph import Graph
from sonicmix.targets import LoudnessTarget

__all__ = [
    "Session",
    "SessionError",
    "load_session",
    "loads_session",
    "save_session",
    "dumps_session",
    "render_session",
]

#: Tables a session file may hold at its top level.
_TOP_LEVEL = ("session", "tracks", "buses")
_SUBTYPES = ("PCM_24", "PCM_16", "FLOAT")
#: Keys of ``[session]`` that become keyword arguments of :func:`sonicmix.deliver.deliver`.
_OPTIONS = ("name", "stems", "dialogue", "me_mix", "subtype", "bext", "tail_s", "formats", "versions")
_SESSION_KEYS = ("sample_rate", "target", "master", *_OPTIONS)
#: Node parameters that may name a file: resolved against the session's folder like clip files.
_PATH_PARAMETERS = {
    "ConvolutionReverb": ("impulse_response",),
    "PluginNode": ("path",),
    "Binaural": ("sofa",),
}
#: Of those, the ones that may name a folder: a VST3 (and an Audio Unit) is a bundle on Linux and macOS.
_FOLDER_PARAMETERS = {("PluginNode", "path")}


class SessionError(SonicmixError, ValueError):
    """A session file cannot be read, written or rendered; the message names the file and key."""


@dataclass(frozen=True, eq=True)
class Session:
    """A mix and how to deliver it: what a session file holds.

    Parameters
    ----------
    graph : Graph
        The mix. Clips must use :class:`~sonicmix.timeline.FileSource` to be saved.
    sample_rate : int, default 48000
        Render sample rate in Hz.
    target : LoudnessTarget or str, optional
        Loudness target, or a preset's name (``"ebu-r128"``); ``None`` leaves it to
        the caller of :func:`render_session`.
    options : dict, optional
        Deliverable options passed to :func:`sonicmix.deliver.deliver`:
        ``name`` (str), ``stems`` and ``dialogue`` (lists of bus names),
        ``me_mix`` and ``bext`` (bool), ``subtype`` ("PCM_24", "PCM_16" or
        "FLOAT"), ``tail_s`` (seconds, or ``"auto"``, the default), ``formats`` (list of format
        specs such as ``["wav", "mp3:192k"]``, see :mod:`sonicmix.delivery.formats`),
        ``versions`` (a table of versions delivered with the mix, each a table of
        :class:`~sonicmix.delivery.versions.Version`'s parameters: ``versions = {stereo =
        {target = "ebu-r128", layout = "stereo"}, binaural = {target = "spotify", binaural = true}}``;
        a ``sofa`` path is relative to the session file's folder).
    path : str, optional
        The file the session was read from (used in error messages; not compared).
    """

    graph: Graph
    sample_rate: int = 48000
    target: LoudnessTarget | None = None
    options: dict[str, Any] = field(default_factory=dict)
    path: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.target, str):  # a preset's name, as in a session file
            from sonicmix.targets import get_target

            object.__setattr__(self, "target", get_target(self.target))


# ---------------------------------------------------------------------------------------- reading


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read a session file.

    Parameters
    ----------
    path : path
        The ``.toml`` file. Relative clip paths in it are resolved against its folder.

    Returns
    -------
    Session

    Raises
    ------
    SessionError
        If the file cannot be read, is not valid TOML (the message gives the
        line and column), or does not describe a valid session (the message
        names the table and key, and what was expected).
    """
    where = os.fspath(path)
    try:
        if os.path.exists(where) and not os.path.isdir(where) and not os.path.isfile(where):
            # a FIFO, a device or a socket: opening a FIFO would wait for a writer for ever
            raise SessionError(f"{where}: not a regular file; expected a session file (.toml)")
        with open(where, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise SessionError(f"{where}: no such session file; expected a path to a .toml file") from None
    except OSError as err:
        raise SessionError(f"{where}: cannot read the session file ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SessionError(f"{where}: not UTF-8 text at byte {err.start}; expected a TOML file") from None
    return loads_session(text, folder=os.path.dirname(os.path.abspath(where)), path=where)


#: Arrays or inline tables nested deeper than Python's recursion limit allows to parse.
_TOO_DEEP = (
    "{path}: arrays or inline tables are nested too deeply to parse (Python's recursion limit); "
    "expected a session nested a few levels deep (a chain of nodes, automation points)"
)


def loads_session(text: str, *, folder: str | os.PathLike[str] = ".", path: str = "<session>") -> Session:
    """Parse a session from TOML text; relative paths resolve against ``folder``.

    ``path`` only names the source in error messages. See :func:`load_session`.
    """
    tomllib = _toml_module()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SessionError(f"{path}: invalid TOML: {err}") from None
    except RecursionError:  # the parser recurses once per level of nesting
        raise SessionError(_TOO_DEEP.format(path=path)) from None
    try:
        return _build(data, os.path.abspath(os.fspath(folder)), path)
    except SessionError:
        raise
    except RecursionError:  # the checks walk the parsed values recursively too
        raise SessionError(_TOO_DEEP.format(path=path)) from None
    except SonicmixError as err:  # GraphError, ParameterError, LayoutError from the graph's own checks
        raise SessionError(f"{path}: {err}") from err


def _fail(path: str, where: str, message: str) -> SessionError:
    """``path: where: message``, or ``path: where=value; ...`` when the message starts with ``=``."""
    separator = "" if message.startswith("=") else ": "
    return SessionError(f"{path}: {where}{separator}{message}")


def _did_you_mean(key: str, names: Any) -> str:
    close = difflib.get_close_matches(str(key), list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _build(data: dict[str, Any], folder: str, path: str) -> Session:
    for key in data:
        if key not in _TOP_LEVEL:
            raise SessionError(
                f"{path}: unknown top-level table [{key}]{_did_you_mean(key, _TOP_LEVEL)}; "
                f"expected only [session], [tracks.NAME] and [buses.NAME]"
            )
    for key in _TOP_LEVEL:
        if key in data and not isinstance(data[key], dict):
            raise _fail(path, key, f"is a {_type_name(data[key])}; expected a table")
    settings = data.get("session", {})
    for key in settings:
        if key not in _SESSION_KEYS:
            raise _fail(
                path,
                f"session.{key}",
                f"unknown key{_did_you_mean(key, _SESSION_KEYS)}; expected one of {list(_SESSION_KEYS)}",
            )
    master = settings.get("master", "master")
    if not isinstance(master, str) or not master:
        raise _fail(path, "session.master", f"={master!r}; expected the name of the master bus")

    plain: dict[str, Any] = {"master": master, "tracks": {}, "buses": {}}
    for kind in ("tracks", "buses"):
        for name, table in data.get(kind, {}).items():
            where = f"{kind}.{name}"
            if not isinstance(table, dict):
                raise _fail(path, where, f"is a {_type_name(table)}; expected a table [{where}]")
            plain[kind][name] = _strip_from_toml(
                table, kind=kind, where=where, folder=folder, path=path, is_master=name == master
            )
    graph = _graph_from_plain(plain, path)

    try:
        from sonicmix._checks import check_sample_rate

        sample_rate = check_sample_rate(settings.get("sample_rate", 48000), "sample_rate")
    except SonicmixError as err:
        raise _fail(path, "session.sample_rate", str(err)) from None
    target = _target_from_toml(settings.get("target"), path)
    options = _options_from_toml(settings, graph, path)
    return Session(graph=graph, sample_rate=sample_rate, target=target, options=options, path=path)


def _graph_from_plain(plain: dict[str, Any], path: str) -> Graph:
    """Build the strips one by one, so an error raised inside one names its table."""
    from sonicmix.plain import from_plain

    built: dict[str, dict[str, Any]] = {"tracks": {}, "buses": {}}
    for kind in ("tracks", "buses"):
        for name, item in plain[kind].items():
            where = f"{kind}.{name}"
            try:
                built[kind][name] = from_plain(item, where=where)
            except SonicmixError as err:
                if str(err).startswith(where):
                    raise
                raise _fail(path, where, str(err)) from err
    # Errors between strips (routing, keys, cycles) name the strips themselves.
    return Graph(tracks=built["tracks"], buses=built["buses"], master=plain["master"])


def _check_types(value: Any, where: str, path: str) -> None:
    """Refuse what a constructor would misread, naming the table and key.

    A missing required key, a non-boolean where a boolean belongs (``mute = "false"``
    is truthy), a non-string where a name or a choice belongs, a table or an array
    where the other is expected, and keys next to ``automation`` in an automation table.
    Unknown keys and out-of-range values are left to the constructors' own messages.
    """
    import dataclasses

    from sonicmix.plain import registry

    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_types(item, f"{where}[{i}]", path)
        return
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    if "type" in value and not isinstance(kind, str):
        raise _fail(
            path, f"{where}.type", f"={kind!r} is a {_type_name(kind)}; expected a type name (a string)"
        )
    if "automation" in value and kind is None:
        extra = sorted(k for k in value if k != "automation")
        if extra:
            raise _fail(
                path,
                f"{where}.{extra[0]}",
                "unknown key in an automation table; "
                "expected only automation = [[time_s, value, shape], ...]",
            )
        return
    types = registry()
    if not isinstance(kind, str) or kind not in types:  # a plain table; an unknown type is reported later
        for key, item in value.items():
            _check_types(item, f"{where}.{key}", path)
        return
    for f in dataclasses.fields(types[kind]):
        if not f.init or f.name.startswith("_"):
            continue
        if f.name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _fail(path, where, f"{kind} needs {f.name!r}; expected a key {f.name} = ...")
            continue
        item = value[f.name]
        expected = None
        if isinstance(f.default, bool) and not isinstance(item, bool):
            expected = "true or false"
        elif isinstance(f.default, str) or f.type == "str":  # a name or a choice
            if not isinstance(item, str) and item is not None:
                expected = "a string"
        elif isinstance(f.default, tuple) and not isinstance(item, list):
            expected = "an array"
        elif f.default_factory is dict and not isinstance(item, dict):
            expected = "a table"
        if expected is not None:
            raise _fail(path, f"{where}.{f.name}", f"={item!r} is a {_type_name(item)}; expected {expected}")
        _check_types(item, f"{where}.{f.name}", path)


def _strip_from_toml(
    table: dict[str, Any], *, kind: str, where: str, folder: str, path: str, is_master: bool
) -> dict[str, Any]:
    out = dict(table)
    if "type" in out:
        raise _fail(
            path,
            f"{where}.type",
            f"is not a key of a {kind[:-1] if kind == 'tracks' else 'bus'}; "
            f"tables under [{kind}] are always {'Track' if kind == 'tracks' else 'Bus'}s",
        )
    out["type"] = "Track" if kind == "tracks" else "Bus"
    # TOML has no null: an empty output means "not routed"; the master bus is never routed.
    if "output" in out:
        if out["output"] == "":
            out["output"] = None
    elif is_master:
        out["output"] = None
    if "chain" in out:
        chain = out["chain"]
        if not isinstance(chain, list):
            raise _fail(
                path,
                f"{where}.chain",
                f"is a {_type_name(chain)}; expected an array of "
                'inline tables, e.g. chain = [{type = "HighPass", cutoff_hz = 80.0}]',
            )
        from sonicmix.nodes.base import Node
        from sonicmix.plain import registry

        for i, node in enumerate(chain):
            if not isinstance(node, dict) or not isinstance(node.get("type"), str):
                raise _fail(
                    path,
                    f"{where}.chain[{i}]",
                    f"={node!r}; expected an inline table with "
                    'type = "NodeName", e.g. {type = "Compressor", threshold_db = -20.0}',
                )
            cls = registry().get(node["type"])
            if cls is not None and not issubclass(cls, Node):
                raise _fail(
                    path,
                    f"{where}.chain[{i}].type",
                    f"={node['type']!r} is not a processing node; expected a node such as "
                    '"Gain", "Compressor" or "ParametricEQ"',
                )
            for key in _PATH_PARAMETERS.get(node["type"], ()):
                if isinstance(node.get(key), str) and node[key]:  # a file: relative to the session
                    chain[i] = node = {**node, key: os.path.normpath(os.path.join(folder, node[key]))}
            if node["type"] == "PluginNode" and isinstance(node.get("parameters"), dict):
                # a plugin's own names, as pairs: a parameter called "type" or "file" is not a sonicmix value
                chain[i] = node = {**node, "parameters": [[k, v] for k, v in node["parameters"].items()]}
    if "sends" in out:
        sends = out["sends"]
        if not isinstance(sends, list):
            raise _fail(
                path,
                f"{where}.sends",
                f"is a {_type_name(sends)}; expected an array of inline "
                'tables, e.g. sends = [{to = "reverb", level_db = -12.0}]',
            )
        converted = []
        for i, send in enumerate(sends):
            if not isinstance(send, dict) or "type" in send:
                raise _fail(
                    path,
                    f"{where}.sends[{i}]",
                    f"={send!r}; expected an inline table with to, and optionally level_db and pre_fader",
                )
            converted.append({"type": "Send", **send})
        out["sends"] = converted
    if isinstance(out.get("automix"), dict) and "type" not in out["automix"]:
        out["automix"] = {"type": "Automix", **out["automix"]}  # automix = {} is Automix()
    if "clips" in out:
        if kind != "tracks":
            raise _fail(path, f"{where}.clips", "buses have no clips; expected clips under [tracks.NAME]")
        clips = out["clips"]
        if not isinstance(clips, list):
            raise _fail(
                path,
                f"{where}.clips",
                f'is a {_type_name(clips)}; expected an array of tables [[{where}.clips]] with file = "..."',
            )
        out["clips"] = [
            _clip_from_toml(clip, where=f"{where}.clips[{i}]", folder=folder, path=path)
            for i, clip in enumerate(clips)
        ]
    _check_types(out, where, path)
    return out


def _clip_from_toml(clip: Any, *, where: str, folder: str, path: str) -> dict[str, Any]:
    if not isinstance(clip, dict):
        raise _fail(path, where, f'is a {_type_name(clip)}; expected a table with file = "..."')
    if "source" in clip or "type" in clip:
        bad = "source" if "source" in clip else "type"
        raise _fail(path, f"{where}.{bad}", 'is not a clip key; expected file = "path/to/audio.wav"')
    file = clip.get("file")
    if not isinstance(file, str) or not file:
        raise _fail(path, f"{where}.file", f"={file!r}; expected the path of an audio file (a string)")
    rest = {k: v for k, v in clip.items() if k != "file"}
    resolved = os.path.normpath(os.path.join(folder, file))
    return {"type": "Clip", "source": {"file": resolved}, **rest}


def _target_from_toml(value: Any, path: str, where: str = "session.target") -> LoudnessTarget | None:
    from sonicmix.targets import get_target

    if value is None:
        return None
    try:
        if isinstance(value, str):
            return get_target(value)
        if isinstance(value, dict):
            return LoudnessTarget.from_dict(
                {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
            )
    except SonicmixError as err:
        raise _fail(path, where, str(err)) from None
    raise _fail(
        path,
        where,
        f'is a {_type_name(value)}; expected a preset name (e.g. "ebu-r128") or a table '
        "such as {integrated_lufs = -16.0, true_peak_dbtp = -1.0}",
    )


def _options_from_toml(settings: Mapping[str, Any], graph: Graph, path: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    stems = [b for b in graph.buses if b != graph.master]
    for key in _OPTIONS:
        if key not in settings:
            continue
        value = settings[key]
        where = f"session.{key}"
        if key == "name":
            problem = file_name_problem(value)
            if problem:
                raise _fail(path, where, f"={value!r} {problem}; expected a file name like 'episode-01'")
        elif key in ("stems", "dialogue"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _fail(path, where, f'={value!r}; expected an array of bus names, e.g. ["dialogue"]')
            for bus in value:
                if bus not in stems:
                    raise _fail(
                        path,
                        where,
                        f"{bus!r} is not a bus other than the master{_did_you_mean(bus, stems)}; "
                        f"expected some of {stems}",
                    )
        elif key in ("me_mix", "bext"):
            if not isinstance(value, bool):
                raise _fail(path, where, f"={value!r} is a {_type_name(value)}; expected true or false")
        elif key == "subtype":
            if value not in _SUBTYPES:
                raise _fail(path, where, f"={value!r}; expected one of {list(_SUBTYPES)}")
        elif key == "tail_s":
            if value == "auto":
                pass
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise _fail(path, where, f'={value!r}; expected "auto" or a finite number of seconds >= 0')
        elif key == "formats":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _fail(
                    path, where, f'={value!r}; expected an array of format specs, e.g. ["wav", "mp3:192k"]'
                )
            from sonicmix.delivery.formats import parse_formats

            try:
                parse_formats(value)
            except SonicmixError as err:
                raise _fail(path, where, str(err)) from None
        elif key == "versions":
            _versions(value, path)
        options[key] = value
    return options


def _versions(value: Any, path: str, folder: str | None = None) -> dict[str, Any]:
    """``[session] versions`` as :class:`~sonicmix.delivery.versions.Version` objects (checked)."""
    from sonicmix.delivery.versions import Version, check_versions

    example = '{stereo = {target = "ebu-r128", layout = "stereo"}}'
    if not isinstance(value, dict):
        raise _fail(path, "session.versions", f"is a {_type_name(value)}; expected a table such as {example}")
    versions = {}
    for name, spec in value.items():
        where = f"session.versions.{_key(str(name))}"
        if not isinstance(spec, dict) or "target" not in spec:
            raise _fail(path, where, f"={spec!r}; expected a table with a target, as in {example}")
        known = list(Version.__dataclass_fields__)
        unknown = set(spec) - set(known)
        if unknown:
            raise _fail(path, where, f"has unknown keys {sorted(unknown)}; expected some of {known}")
        spec = dict(spec)
        if isinstance(spec["target"], dict):  # a table, as [session] target takes
            spec["target"] = _target_from_toml(spec["target"], path, f"{where}.target")
        if folder is not None and isinstance(spec.get("sofa"), str):
            spec["sofa"] = os.path.join(folder, spec["sofa"])
        try:
            versions[name] = Version(**spec)
        except SonicmixError as err:
            raise _fail(path, where, str(err)) from None
    try:
        return check_versions(versions)
    except SonicmixError as err:
        raise _fail(path, "session.versions", str(err)) from None


# ---------------------------------------------------------------------------------------- writing


def save_session(session: Session, path: str | os.PathLike[str]) -> None:
    """Write ``session`` to ``path`` as TOML (clip paths relative to the file's folder).

    Raises
    ------
    SessionError
        If the graph holds something a session file cannot (an in-memory
        :class:`~sonicmix.timeline.ArraySource`, a value TOML cannot express).
    """
    where = os.fspath(path)
    text = dumps_session(session, folder=os.path.dirname(os.path.abspath(where)), path=where)
    with open(where, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def dumps_session(session: Session, *, folder: str | os.PathLike[str] = ".", path: str = "<session>") -> str:
    """TOML text of ``session``; file paths are written relative to ``folder``. See :func:`save_session`."""
    from sonicmix.graph import graph_to_dict
    from sonicmix.targets import PRESETS

    folder = os.path.abspath(os.fspath(folder))
    graph = session.graph
    try:
        plain = graph_to_dict(graph)
    except SonicmixError as err:
        raise SessionError(f"{path}: {err}") from err

    settings: dict[str, Any] = {"sample_rate": session.sample_rate}
    target = session.target
    if target is not None:
        if PRESETS.get(target.name) == target:
            settings["target"] = target.name
        else:
            defaults = LoudnessTarget(integrated_lufs=target.integrated_lufs).to_dict()
            settings["target"] = {
                k: v for k, v in target.to_dict().items() if k == "integrated_lufs" or v != defaults[k]
            }
    if graph.master != "master":
        settings["master"] = graph.master
    for key in session.options:
        if key not in _OPTIONS:
            raise _fail(path, f"session.{key}", f"is not a session option; expected one of {list(_OPTIONS)}")
    for key in _OPTIONS:  # in the documented order, as loading returns them: a second dump is identical
        if key in session.options:
            value = session.options[key]
            settings[key] = list(value) if isinstance(value, tuple) else value

    lines: list[str] = ["[session]"]
    lines += [f"{_key(k)} = {_value(v, path, f'session.{k}')}" for k, v in settings.items()]
    for kind in ("tracks", "buses"):
        for name, strip in plain[kind].items():
            where = f"{kind}.{_key(name)}"
            strip = dict(strip)
            strip.pop("type")
            clips = strip.pop("clips", [])
            if strip.get("output", "") is None:
                if name == graph.master:
                    strip.pop("output")
                else:
                    strip["output"] = ""
            if "sends" in strip:
                strip["sends"] = [{k: v for k, v in s.items() if k != "type"} for s in strip["sends"]]
            if "automix" in strip:
                strip["automix"] = {k: v for k, v in strip["automix"].items() if k != "type"}
            if "chain" in strip:
                strip["chain"] = [
                    {
                        k: _relative(v, folder)
                        if k in _PATH_PARAMETERS.get(node["type"], ()) and isinstance(v, str) and v
                        else v
                        for k, v in node.items()
                    }
                    for node in strip["chain"]
                ]
            lines += ["", f"[{where}]"]
            for key, value in strip.items():
                lines.append(f"{_key(key)} = {_value(value, path, f'{where}.{key}', multiline=True)}")
            for i, clip in enumerate(clips):
                lines += ["", f"[[{where}.clips]]"]
                clip = dict(clip)
                clip.pop("type")
                source = clip.pop("source")
                if not (isinstance(source, dict) and set(source) == {"file"}):
                    raise _fail(
                        path,
                        f"{where}.clips[{i}]",
                        f"has the source {source!r}; a session file holds only file sources "
                        "(write the audio with sonicmix.io.write and use FileSource)",
                    )
                lines.append(f"file = {_string(_relative(source['file'], folder))}")
                lines += [
                    f"{_key(k)} = {_value(v, path, f'{where}.clips[{i}].{k}')}" for k, v in clip.items()
                ]
    return "\n".join(lines) + "\n"


def _relative(file: str, folder: str) -> str:
    absolute = os.path.abspath(file)
    try:
        rel = os.path.relpath(absolute, folder)
    except ValueError:  # another drive on Windows: keep it absolute
        return PurePath(absolute).as_posix()
    return PurePath(rel).as_posix()


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # used with fullmatch: "$" would let a final newline through
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any, path: str, where: str, *, multiline: bool = False) -> str:
    """TOML for a plain value: strings, booleans, numbers, arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        items = [_value(v, path, f"{where}[{i}]") for i, v in enumerate(value)]
        if multiline and items and any(isinstance(v, dict) for v in value):
            return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        items = [f"{_key(str(k))} = {_value(v, path, f'{where}.{k}')}" for k, v in value.items()]
        return "{" + ", ".join(items) + "}"
    if value is None:
        raise _fail(path, where, "is None, which TOML cannot express; expected a value or no key")
    raise _fail(path, where, f"={value!r} ({type(value).__name__}) cannot be written to a session file")


# ---------------------------------------------------------------------------------------- rendering


def missing_files(session: Session) -> list[tuple[str, str]]:
    """``(table.key, path)`` for every clip file and node file (impulse response, plugin, SOFA set)
    that does not exist."""
    from sonicmix.timeline import FileSource

    out = []
    for name, track in session.graph.tracks.items():
        for i, clip in enumerate(track.clips):
            if isinstance(clip.source, FileSource) and not os.path.isfile(clip.source.path):
                out.append((f"tracks.{_key(name)}.clips[{i}].file", clip.source.path))
    for kind, strips in (("tracks", session.graph.tracks), ("buses", session.graph.buses)):
        for name, strip in strips.items():
            for i, node in enumerate(strip.chain):
                for key in _PATH_PARAMETERS.get(type(node).__name__, ()):
                    file = getattr(node, key)
                    folder = (type(node).__name__, key) in _FOLDER_PARAMETERS
                    if isinstance(file, str) and not (os.path.exists if folder else os.path.isfile)(file):
                        out.append((f"{kind}.{_key(name)}.chain[{i}].{key}", file))
    return out


def render_session(
    session: Session,
    out_dir: str | os.PathLike[str],
    *,
    target: LoudnessTarget | str | None = None,
    deliver_to: Mapping[str, Any] | None = None,
    **deliver_options: Any,
) -> Any:
    """Deliver a session with :func:`sonicmix.deliver.deliver` and return the ``Delivery``.

    With ``deliver_to`` (``{target: formats}``), the session is rendered once and
    delivered to every target by :func:`sonicmix.deliver.deliver_all`, into
    ``out_dir/<target>/``; the result is then a dict of ``Delivery`` by target name.

    Parameters
    ----------
    session : Session
    out_dir : path
        Folder for the deliverables (created if missing).
    target : LoudnessTarget or str, optional
        Overrides the session's target.
    **deliver_options
        Override the session's options (any keyword of ``deliver``).

    Raises
    ------
    SessionError
        If no target is set, or a clip's file does not exist (the message
        names the session file, the table and key, and the path looked for).
    """
    from sonicmix.deliver import deliver, deliver_all

    where = session.path or "<session>"
    chosen = target if target is not None else session.target
    if chosen is None and not deliver_to:
        raise _fail(where, "session.target", "is not set; expected a target in [session] or target=...")
    missing = missing_files(session)
    if missing:
        key, file = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        wanted = "a plugin file or bundle" if key.endswith("].path") else "an audio file"
        raise _fail(
            where,
            key,
            f"no such file {file!r}{more}; expected {wanted} (relative paths are resolved against "
            "the session file's folder)",
        )
    # deliver() creates out_dir, and removes it again if it refuses or fails before writing
    options = {**session.options, **deliver_options}
    if isinstance(options.get("versions"), dict) and any(
        isinstance(v, dict) for v in options["versions"].values()
    ):  # as the session file holds them
        folder = os.path.dirname(os.path.abspath(session.path)) if session.path else os.getcwd()
        options["versions"] = _versions(options["versions"], where, folder)
    if deliver_to:
        if options.get("versions"):
            raise _fail(
                where, "session.versions", "cannot go with deliver_to (--deliver): each version names its "
                "own target; deliver the session to one target with its versions, or remove them"
            )
        options.pop("formats", None)  # each target names its own
        return deliver_all(session.graph, deliver_to, out_dir, sample_rate=session.sample_rate, **options)
    return deliver(session.graph, chosen, out_dir, sample_rate=session.sample_rate, **options)

"""Session files under fuzzing: random valid sessions round-trip, random damage is reported cleanly.

Two properties, each in a fast profile (CI) and a slow one (``pytest -m slow``):

1. A random *valid* session (tracks with clips, fades, gains, pans, chains of several node kinds,
   buses, sends, side-chain keys, automation, a target and deliverable options; sources are WAV
   files in a temporary folder) survives ``dumps_session`` -> ``loads_session`` with an equal graph
   and an equal session, and dumping what was read gives the same bytes again.
2. A random *mutation* of a valid session's TOML data (a required key deleted, an unknown key, a
   value of the wrong type, out of range, NaN or infinite, huge, an empty string, a changed nesting,
   an unknown node type, a dangling reference, broken automation, a cycle, broken TOML syntax,
   bytes that are not UTF-8) makes loading raise :class:`SessionError` and nothing else, with a
   message that starts with the file's path and names the table or key at fault, in sonicmix's own
   words (no Python-internal text such as "unhashable type" leaking from deep inside). Mutations that
   may legitimately stay valid (huge numbers) must either load or raise that same clean error.

Run ``pytest -m slow tests/reliability/test_session_fuzz.py --hypothesis-show-statistics`` to see how
many mutations of each kind ran and how they ended (``hypothesis.event``).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sonicmix as sm
import sonicmix.io as sio
from sonicmix._checks import file_name_problem
from sonicmix.cli import main
from sonicmix.plain import registry
from sonicmix.session import Session, SessionError, dumps_session, load_session, loads_session
from sonicmix.session import render_session as sm_render_session
from sonicmix.targets import PRESETS, LoudnessTarget
from sonicmix.timeline import FileSource

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FS = 48_000
PATH = "fuzz.toml"  # the name every loads_session call gives the text: errors must start with it

# Fast profile for CI: derandomized, so a CI run is reproducible (the "seeded rng" of these tests).
FAST = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,  # no replay of examples saved by earlier local runs: CI sees the same examples
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Slow profile: random and long; run by hand with -m slow.
SLOW = settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A project folder with short WAV sources (mono, stereo, 5.1) and a mono impulse response."""
    root = tmp_path_factory.mktemp("project")
    rng = np.random.default_rng(20261127)
    for name, channels in (("dx.wav", 1), ("music bed.wav", 2), ("audio/fx 5.1.wav", 6), ("audio/ir.wav", 1)):
        path = root / name
        path.parent.mkdir(exist_ok=True)
        sio.write(
            path, (0.1 * rng.standard_normal((channels, FS // 2))).astype(np.float32), FS, subtype="FLOAT"
        )
    return str(root)


SOURCES = ("dx.wav", "music bed.wav", "audio/fx 5.1.wav")

# ----------------------------------------------------------------------------------- valid sessions

# Names: plain ones, and arbitrary text (quotes, dots, spaces, non-ASCII), which the emitter must
# quote and escape. Names that cannot be part of a file name (separators, control characters, "..",
# surrounding spaces) are refused by the graph (issue 20) and drawn again.
NAMES = st.one_of(
    st.sampled_from(["dx", "music", "fx", "music bed", "a.b", 'q"t', "ünï", "x=y", "[a]", "1"]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6),
).filter(lambda name: file_name_problem(name) is None)


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def numbers(low: float, high: float) -> st.SearchStrategy[float]:
    """Mostly floats, sometimes whole numbers (TOML keeps ``3`` an integer; it must round-trip as one)."""
    whole = (
        st.integers(math.ceil(low), math.floor(high)) if math.ceil(low) <= math.floor(high) else st.nothing()
    )
    return st.one_of(floats(low, high), whole)


SHAPES = st.sampled_from(["linear", "exponential", "step"])
CURVES = st.sampled_from(["linear", "equal_power", "exponential", "logarithmic", "s_curve"])


@st.composite
def automations(draw: Any, low: float, high: float) -> sm.Automation:
    """1 to 4 breakpoints in time order within [low, high]; exponential segments only where legal."""
    n = draw(st.integers(1, 4))
    times = sorted(draw(st.lists(floats(0.0, 30.0), min_size=n, max_size=n)))
    points = []
    for i, t in enumerate(times):
        value = draw(floats(low, high))
        shape = draw(SHAPES)
        if shape == "exponential" and (
            i == 0 or value == 0.0 or points[-1][1] == 0.0 or (value > 0) != (points[-1][1] > 0)
            or not math.isfinite(value / points[-1][1])  # a ratio that overflows (from a subnormal)
        ):
            shape = "linear"
        points.append((t, value, shape) if draw(st.booleans()) or shape != "linear" else (t, value))
    return sm.Automation(tuple(points))


def value_or_automation(low: float, high: float) -> st.SearchStrategy[Any]:
    return st.one_of(numbers(low, high), automations(low, high))


def _node(cls: type, **params: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A node of ``cls`` with a random subset of the given parameters (the rest keep their defaults)."""

    @st.composite
    def build(draw: Any) -> Any:
        chosen = {k: draw(v) for k, v in params.items() if draw(st.booleans())}
        try:
            return cls(**chosen)
        except sm.SonicmixError:  # a combination the node refuses (e.g. Nyquist): keep the defaults
            return cls()

    return build()


FREQ = floats(20.0, 18000.0)
Q = floats(0.3, 8.0)
BANDS = st.one_of(
    st.builds(
        sm.Band,
        kind=st.sampled_from(["peak", "low_shelf", "high_shelf"]),
        freq_hz=FREQ,
        gain_db=floats(-12.0, 12.0),
        q=Q,
        enabled=st.booleans(),
    ),
    st.builds(  # filters without a gain: gain_db must stay 0
        sm.Band,
        kind=st.sampled_from(["low_pass", "high_pass", "notch"]),
        freq_hz=FREQ,
        q=Q,
        enabled=st.booleans(),
    ),
)

#: Nodes that keep the channel count and take no key, with parameters inside their legal ranges.
PLAIN_NODES = st.one_of(
    _node(sm.Gain, gain_db=numbers(-60.0, 24.0)),
    _node(sm.HighPass, cutoff_hz=floats(20.0, 2000.0), q=Q),
    _node(sm.LowPass, cutoff_hz=floats(1000.0, 18000.0), q=Q),
    _node(sm.Peak, freq_hz=FREQ, gain_db=floats(-12.0, 12.0), q=Q),
    _node(sm.LowShelf, freq_hz=floats(30.0, 1000.0), gain_db=floats(-12.0, 12.0)),
    _node(sm.HighShelf, freq_hz=floats(1000.0, 16000.0), gain_db=floats(-12.0, 12.0)),
    _node(sm.ParametricEQ, bands=st.lists(BANDS, max_size=3).map(tuple)),
    _node(sm.ButterworthHighPass, cutoff_hz=floats(20.0, 500.0), order=st.integers(1, 8)),
    _node(
        sm.Compressor,
        threshold_db=floats(-60.0, 0.0),
        ratio=floats(1.0, 20.0),
        knee_db=floats(0.0, 12.0),
        attack_s=floats(0.0001, 0.1),
        release_s=floats(0.01, 1.0),
        makeup_db=floats(-6.0, 12.0),
        detector=st.sampled_from(["peak", "rms"]),
        stereo_link=floats(0.0, 1.0),
    ),
    _node(sm.Gate, threshold_db=floats(-80.0, -20.0), range_db=floats(1.0, 60.0)),
    _node(sm.DeEsser, freq_hz=floats(3000.0, 10000.0), threshold_db=floats(-50.0, -10.0)),
    _node(sm.Delay, time_s=floats(0.001, 1.0), feedback=floats(0.0, 0.9), mix=floats(0.0, 1.0)),
    _node(sm.Reverb, decay_s=floats(0.2, 5.0), mix=floats(0.0, 1.0), pre_delay_s=floats(0.0, 0.1)),
    _node(sm.Saturation, drive_db=floats(0.0, 24.0), mix=floats(0.0, 1.0)),
    _node(sm.Limiter, ceiling_dbtp=floats(-6.0, 0.0), release_s=floats(0.01, 1.0)),
    _node(sm.DCBlocker, cutoff_hz=floats(1.0, 50.0)),
)
KEYED_NODES = st.one_of(
    _node(sm.Ducker, depth_db=floats(1.0, 30.0), hold_s=floats(0.0, 1.0)),
    _node(sm.KeyedCompressor, threshold_db=floats(-60.0, 0.0), ratio=floats(1.0, 10.0)),
)


def node_automation(draw: Any, chain: tuple[Any, ...]) -> dict[str, sm.Automation]:
    """Automation of a Gain's gain_db or a cookbook filter's gain_db on the control grid."""
    out = {}
    for i, node in enumerate(chain):
        if isinstance(node, sm.Gain) and draw(st.booleans()):
            out[f"chain[{i}].gain_db"] = draw(automations(-40.0, 12.0))
        elif isinstance(node, (sm.Peak, sm.LowShelf, sm.HighShelf)) and draw(st.booleans()):
            out[f"chain[{i}].gain_db"] = draw(automations(-12.0, 12.0))
    return out


@st.composite
def clips(draw: Any, folder: str) -> sm.Clip:
    duration = draw(st.one_of(st.none(), floats(0.01, 2.0)))
    fade_room = duration if duration is not None else 10.0
    fade_in = draw(st.one_of(st.just(0.0), floats(0.0, fade_room / 2)))
    fade_out = draw(st.one_of(st.just(0.0), floats(0.0, fade_room / 2)))
    return sm.Clip(
        source=FileSource(os.path.join(folder, draw(st.sampled_from(SOURCES)))),
        start_s=draw(st.one_of(st.just(0.0), numbers(0.0, 60.0))),
        offset_s=draw(st.one_of(st.just(0.0), floats(0.0, 0.4))),
        duration_s=duration,
        gain_db=draw(st.one_of(st.just(0.0), numbers(-30.0, 12.0))),
        fade_in_s=fade_in,
        fade_out_s=fade_out,
        fade_curve=draw(CURVES),
    )


@st.composite
def graphs(draw: Any, folder: str) -> sm.Graph:
    """A cycle-free graph: buses route and send only to buses after them (the master is last)."""
    names = draw(st.lists(NAMES, min_size=2, max_size=7, unique=True))
    master = draw(st.sampled_from(["master", names[0]]))
    names = [n for n in names if n != master]
    n_buses = draw(st.integers(0, min(3, len(names))))
    bus_names = names[:n_buses] + [master]
    track_names = names[n_buses:]
    layouts = st.sampled_from(["stereo", "stereo", "mono", "5.1"])

    def chain_for(keyed: bool) -> tuple[Any, ...]:
        nodes = draw(st.lists(PLAIN_NODES, max_size=3))
        if draw(st.integers(0, 7)) == 0:  # an impulse response read from a file next to the session
            ir = os.path.join(folder, "audio", "ir.wav")
            nodes.append(sm.ConvolutionReverb(impulse_response=ir, mix=draw(floats(0.0, 1.0))))
        if keyed:
            nodes.insert(draw(st.integers(0, len(nodes))), draw(KEYED_NODES))
        return tuple(nodes)

    buses: dict[str, sm.Bus] = {}
    bus_layout = {name: draw(layouts) for name in bus_names}
    for i, name in enumerate(bus_names):
        later = bus_names[i + 1 :]
        is_master = name == master
        key_candidates = track_names + bus_names[:i]
        keyed = bool(key_candidates) and draw(st.booleans())
        chain = chain_for(keyed)
        buses[name] = sm.Bus(
            chain=chain,
            layout=bus_layout[name],
            fader_db=draw(st.one_of(st.just(0.0), value_or_automation(-60.0, 24.0))),
            mute=draw(st.booleans()),
            sends=tuple(
                sm.Send(to=to, level_db=draw(value_or_automation(-60.0, 24.0)), pre_fader=draw(st.booleans()))
                for to in draw(
                    st.lists(st.sampled_from(later), max_size=2, unique=True) if later else st.just([])
                )
            ),
            output=None if is_master else draw(st.sampled_from([*later, None])),
            key=draw(st.sampled_from(key_candidates)) if keyed else None,
            automation=node_automation(draw, chain),
        )
    tracks: dict[str, sm.Track] = {}
    for i, name in enumerate(track_names):
        layout = draw(st.sampled_from(["mono", "stereo", "5.1"]))
        output = draw(st.sampled_from([*bus_names, None]))
        keyed = i > 0 and draw(st.booleans())
        chain = chain_for(keyed)
        pannable = layout in ("mono", "stereo") and output is not None and bus_layout[output] == "stereo"
        tracks[name] = sm.Track(
            clips=tuple(draw(st.lists(clips(folder), max_size=3))),
            chain=chain,
            layout=layout,
            fader_db=draw(st.one_of(st.just(0.0), value_or_automation(-60.0, 24.0))),
            mute=draw(st.booleans()),
            solo=draw(st.booleans()),
            pan=draw(st.one_of(st.none(), value_or_automation(-1.0, 1.0))) if pannable else None,
            pan_law=draw(st.sampled_from(["constant_power", "compromise", "linear"])),
            crossfade_curve=draw(CURVES),
            sends=tuple(
                sm.Send(to=to, level_db=draw(value_or_automation(-60.0, 24.0)), pre_fader=draw(st.booleans()))
                for to in draw(st.lists(st.sampled_from(bus_names), max_size=2, unique=True))
            ),
            output=output,
            key=draw(st.sampled_from(track_names[:i])) if keyed else None,
            automation=node_automation(draw, chain),
        )
    return sm.Graph(tracks=tracks, buses=buses, master=master)


@st.composite
def targets(draw: Any) -> LoudnessTarget | None:
    kind = draw(st.sampled_from(["none", "preset", "custom"]))
    if kind == "none":
        return None
    if kind == "preset":
        return PRESETS[draw(st.sampled_from(sorted(PRESETS)))]
    lufs = draw(floats(-40.0, -5.0))
    return LoudnessTarget(
        integrated_lufs=lufs,
        tolerance_lu=draw(st.one_of(floats(0.1, 2.0), st.tuples(floats(0.1, 2.0), floats(0.1, 2.0)))),
        true_peak_dbtp=draw(floats(-10.0, 0.0)),
        max_lra_lu=draw(st.one_of(st.none(), floats(1.0, 20.0))),
        max_short_term_lufs=draw(st.one_of(st.none(), floats(lufs, 0.0))),
        measurement=draw(st.sampled_from(["programme", "dialogue"])),
        name=draw(st.one_of(st.just("custom"), NAMES.filter(str.strip))),
        source=draw(st.text(max_size=10)),
        recommendation=draw(st.booleans()),
    )


@st.composite
def sessions(draw: Any, folder: str) -> Session:
    graph = draw(graphs(folder))
    stems = [b for b in graph.buses if b != graph.master]
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["name"] = draw(NAMES.filter(lambda s: s.strip() and not re.search(r"[\\/\x00-\x1f\x7f]", s)))
    if stems and draw(st.booleans()):
        options["stems"] = draw(st.lists(st.sampled_from(stems), unique=True))
    if stems and draw(st.booleans()):
        options["dialogue"] = draw(st.lists(st.sampled_from(stems), unique=True))
    for key in ("me_mix", "bext"):
        if draw(st.booleans()):
            options[key] = draw(st.booleans())
    if draw(st.booleans()):
        options["subtype"] = draw(st.sampled_from(["PCM_24", "PCM_16", "FLOAT"]))
    if draw(st.booleans()):
        options["tail_s"] = draw(numbers(0.0, 10.0))
    rate = draw(st.one_of(st.sampled_from([44_100, 48_000, 96_000]), st.integers(8_000, 192_000)))
    return Session(graph=graph, sample_rate=rate, target=draw(targets()), options=options)


def check_round_trip(session: Session, folder: str) -> None:
    text = dumps_session(session, folder=folder, path=PATH)
    loaded = loads_session(text, folder=folder, path=PATH)
    assert loaded.graph == session.graph
    assert loaded == session  # sample rate, target and options too
    assert dumps_session(loaded, folder=folder, path=PATH) == text  # byte-identical second dump
    event(f"tracks={len(session.graph.tracks)} buses={len(session.graph.buses)}")


@FAST
@given(data=st.data())
def test_random_valid_sessions_round_trip(folder: str, data: st.DataObject) -> None:
    check_round_trip(data.draw(sessions(folder)), folder)


@pytest.mark.slow
@SLOW
@given(data=st.data())
def test_random_valid_sessions_round_trip_slow(folder: str, data: st.DataObject) -> None:
    check_round_trip(data.draw(sessions(folder)), folder)


# ----------------------------------------------------------------------------------- mutations

Path_ = tuple[Any, ...]


def walk(node: Any, path: Path_ = ()) -> Any:
    """Every ``(path, value)`` in a parsed TOML document, parents before children."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, i))


def get(root: Any, path: Path_) -> Any:
    for part in path:
        root = root[part]
    return root


def put(root: Any, path: Path_, value: Any) -> None:
    get(root, path[:-1])[path[-1]] = value


def remove(root: Any, path: Path_) -> None:
    del get(root, path[:-1])[path[-1]]


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, except that TOML also escapes DEL)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def inline(value: Any) -> str:
    """TOML for a value, on one line (inline tables and arrays); written independently of session.py."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(str(k))} = {inline(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)  # pragma: no cover - the mutations only make TOML values


def emit(data: dict[str, Any]) -> str:
    """A whole document as root keys with inline values: parses back to exactly ``data``."""
    return "".join(f"{toml_string(k)} = {inline(v)}\n" for k, v in data.items())


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def last_key(path: Path_) -> str:
    """The nearest named key of a path (``stems`` for ``session.stems[2]``)."""
    return next((p for p in reversed(path) if isinstance(p, str)), "")


def tokens_for(*names: Any) -> set[str]:
    """Ways a message may spell a name: as is, or escaped as repr() does."""
    out = set()
    for name in names:
        if isinstance(name, str) and name:
            out |= {name, repr(name)[1:-1]}
    return out


# Values outside the legal range of a parameter, by key name (ranges from the nodes' docstrings and
# the standards: a level in LUFS is negative, a true-peak ceiling is at most 0 dBTP, ...).
OUT_OF_RANGE: dict[str, list[Any]] = {
    "sample_rate": [0, 48, -48_000, 10**7],
    "fader_db": [24.5, 1000.0],
    "level_db": [25.0],
    "pan": [1.5, -1.01],
    "gain_db": [1000.0],
    "start_s": [-1.0],
    "offset_s": [-0.5],
    "duration_s": [0.0, -2.0],
    "fade_in_s": [-0.1],
    "fade_out_s": [-0.1],
    "cutoff_hz": [0.0, -100.0],
    "freq_hz": [0.0, -100.0],
    "q": [0.0, -1.0],
    "ratio": [0.5, 0.0],
    "knee_db": [-1.0, 100.0],
    "attack_s": [-0.01],
    "release_s": [-0.01],
    "threshold_db": [10.0],
    "makeup_db": [100.0],
    "stereo_link": [2.0, -0.5],
    "range_db": [-1.0, 500.0],
    "time_s": [0.0, 100.0],
    "feedback": [1.0, -0.1],
    "mix": [1.5, -0.1],
    "decay_s": [0.0, 100.0],
    "pre_delay_s": [-1.0, 5.0],
    "drive_db": [100.0, -100.0],
    "ceiling_dbtp": [3.0],
    "order": [0, 99, -1],
    "depth_db": [-1.0, 100.0],
    "hold_s": [-1.0],
    "integrated_lufs": [5.0, -100.0],
    "true_peak_dbtp": [3.0, -100.0],
    "tolerance_lu": [-1.0],
    "max_lra_lu": [-1.0, 100.0],
    "tail_s": [-1.0],
}
# Python's own wording: a message with any of these leaked from deep inside instead of being ours.
INTERNAL = re.compile(
    r"unhashable type|is not iterable|__init__\(\)|object has no attribute|positional argument|"
    r"keyword-only argument|dictionary update sequence|NoneType|invalid literal|could not convert|"
    r"object is not subscriptable|not supported between|Traceback"
)
KINDS = (
    "delete_required",
    "unknown_key",
    "wrong_type",
    "out_of_range",
    "nan_inf",
    "huge",
    "empty_string",
    "nesting",
    "unknown_node_kind",
    "bad_reference",
    "bad_automation",
    "cycle",
    "toml_syntax",
    "not_utf8",
)


class Mutation:
    """What a mutation did: the damaged document, names the error must mention, whether it must fail."""

    def __init__(self, kind: str, document: Any, tokens: set[str], must_reject: bool = True) -> None:
        self.kind, self.document, self.tokens, self.must_reject = kind, document, tokens, must_reject


def _leaves(data: dict[str, Any]) -> list[tuple[Path_, Any]]:
    return [(p, v) for p, v in walk(data) if p and not isinstance(v, (dict, list))]


def _strip_paths(data: dict[str, Any]) -> list[Path_]:
    return [(kind, name) for kind in ("tracks", "buses") for name in data.get(kind, {})]


def _master(data: dict[str, Any]) -> str:
    return data["session"].get("master", "master")


def _fresh_name(draw: Any, taken: Any) -> str:
    return draw(NAMES.filter(lambda n: n not in taken and n.strip() == n and n != ""))


def _tables(data: dict[str, Any]) -> list[Path_]:
    """Tables whose keys are fixed (not the name-to-strip maps)."""
    return [p for p, v in walk(data) if isinstance(v, dict) and p not in (("tracks",), ("buses",))]


def _valid_keys(data: dict[str, Any], path: Path_) -> set[str]:
    table = get(data, path)
    if path == ():
        return {"session", "tracks", "buses"}
    if path == ("session",):
        return {
            "sample_rate",
            "target",
            "master",
            "name",
            "stems",
            "dialogue",
            "me_mix",
            "subtype",
            "bext",
            "tail_s",
        }
    if path == ("session", "target"):
        return set(LoudnessTarget.__dataclass_fields__)
    if len(path) == 2:
        return set((sm.Track if path[0] == "tracks" else sm.Bus).__dataclass_fields__) - {"type"}
    if "type" in table and table["type"] in registry():
        return set(registry()[table["type"]].__dataclass_fields__)
    if len(path) == 4 and path[2] == "clips":
        return set(sm.Clip.__dataclass_fields__) | {"file"}
    if len(path) == 4 and path[2] == "sends":
        return {"to", "level_db", "pre_fader"}
    if set(table) == {"automation"}:
        return {"automation"}
    return set()  # a node-automation map: every key is a target, and a random one is never valid


def mutate_data(draw: Any, data: dict[str, Any], kind: str) -> Mutation:  # noqa: C901 - one branch per kind
    """Damage ``data`` (a parsed valid session) in place according to ``kind``."""
    leaves = _leaves(data)
    master = _master(data)
    if kind == "delete_required":
        candidates: list[Path_] = [("buses", master)]
        for path, value in walk(data):
            if isinstance(value, dict):
                if len(path) == 4 and path[2] == "clips":
                    candidates.append((*path, "file"))
                elif len(path) == 4 and path[2] == "sends":
                    candidates.append((*path, "to"))
                elif "type" in value and len(path) >= 4:
                    candidates.append((*path, "type"))
        if isinstance(data["session"].get("target"), dict):
            candidates.append(("session", "target", "integrated_lufs"))
        path = draw(st.sampled_from(candidates))
        remove(data, path)
        return Mutation(kind, data, tokens_for(path[-1], master, last_key(path[:-1])))
    if kind == "unknown_key":
        path = draw(st.sampled_from([(), *_tables(data)]))
        valid = _valid_keys(data, path)
        key = _fresh_name(draw, valid | set(get(data, path)))
        get(data, path)[key] = draw(st.sampled_from([1, "x", True, 2.5]))
        return Mutation(kind, data, tokens_for(key))
    if kind == "wrong_type":
        path, value = draw(st.sampled_from(leaves))
        if is_number(value):
            options: list[Any] = ["oops", "-3.0", True, {"x": 1}, ["x"]]  # "-3.0": a number in quotes
            if last_key(path) in ("sample_rate", "order"):
                options.append(value + 0.5)  # a fraction where a whole number is needed
        elif isinstance(value, str):
            options = [7, True, {"x": 1}, [7]]
        else:
            options = [1, 0, "false", {"x": 1}, [True]]  # mute = "false" would be truthy if it were taken
        put(data, path, draw(st.sampled_from(options)))
        return Mutation(kind, data, tokens_for(*[p for p in path if isinstance(p, str)]))
    if kind == "out_of_range":
        ranged = [
            (p, v)
            for p, v in leaves
            if is_number(v)
            and last_key(p) in OUT_OF_RANGE
            and not (len(p) > 1 and p[-2] == 0 and "automation" in p)
        ]
        path, _ = draw(st.sampled_from(ranged))
        bad = draw(st.sampled_from(OUT_OF_RANGE[last_key(path)]))
        if "automation" in path:
            if path[-1] != 1:  # a time in a breakpoint: make it negative instead
                bad = -1.0
        put(data, path, bad)
        return Mutation(kind, data, tokens_for(*[p for p in path if isinstance(p, str)]))
    if kind in ("nan_inf", "huge"):
        numeric = [(p, v) for p, v in leaves if is_number(v)]
        path, _ = draw(st.sampled_from(numeric))
        if kind == "nan_inf":
            bad = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        else:
            bad = draw(st.sampled_from([1e308, -1e308, 10**18, -(10**18), 10**30, 5e-324]))
        put(data, path, bad)
        return Mutation(
            kind, data, tokens_for(*[p for p in path if isinstance(p, str)]), must_reject=kind == "nan_inf"
        )
    if kind == "empty_string":
        strings = [
            (p, v) for p, v in leaves if isinstance(v, str) and last_key(p) not in ("output", "source")
        ]
        choices = [("leaf", p) for p, _ in strings] + [("rename", p) for p in _strip_paths(data)]
        what, path = draw(st.sampled_from(choices))
        if what == "leaf":
            put(data, path, "")
            return Mutation(kind, data, tokens_for(*[p for p in path if isinstance(p, str)]) | {"''"})
        table = data[path[0]]
        data[path[0]] = {("" if k == path[1] else k): v for k, v in table.items()}
        return Mutation(kind, data, {"''", path[1]})
    if kind == "nesting":
        how = draw(st.sampled_from(["wrap_table", "unwrap_array", "wrap_scalar"]))
        if how == "wrap_table":
            path = draw(st.sampled_from([p for p in _tables(data) if p]))
            put(data, path, [get(data, path)])
        elif how == "unwrap_array":
            arrays = [p for p, v in walk(data) if isinstance(v, list) and last_key(p) != "tolerance_lu"]
            if not arrays:
                how, path = "wrap_scalar", draw(st.sampled_from([p for p, _ in leaves]))
                put(data, path, [get(data, path)])
            else:
                path = draw(st.sampled_from(arrays))
                value = get(data, path)
                put(data, path, value[0] if value else {})
        else:
            path, value = draw(st.sampled_from(leaves))
            put(data, path, [value])
        event(f"nesting: {how}")
        return Mutation(kind, data, tokens_for(*[p for p in path if isinstance(p, str)]))
    if kind == "unknown_node_kind":
        typed = [p for p, v in walk(data) if isinstance(v, dict) and "type" in v and len(p) >= 4]
        if not typed:  # no chain anywhere: give the master one
            data["buses"][master]["chain"] = [{"type": "Gain"}]
            typed = [("buses", master, "chain", 0)]
        path = draw(st.sampled_from(typed))
        in_bands = "bands" in path
        name = draw(
            st.one_of(
                st.sampled_from(
                    ["Gain", "Compressor"] if in_bands else ["Track", "Bus", "Send", "Clip", "Band"]
                ),
                NAMES.filter(lambda n: n not in registry()),
            )
        )
        get(data, path)["type"] = name
        return Mutation(kind, data, tokens_for(name, "type"))
    if kind == "bad_reference":
        strips = {name for p in _strip_paths(data) for name in [p[1]]}
        buses = set(data["buses"])
        candidates = [("master",)]
        for path, value in walk(data):
            key = last_key(path)
            if isinstance(value, str) and (
                (key == "output" and value)
                or key in ("to", "key")
                or (len(path) == 3 and key in ("stems", "dialogue"))
            ):
                candidates.append(path)
        path = draw(st.sampled_from(candidates))
        if path == ("master",):
            bad = _fresh_name(draw, buses)
            data["session"]["master"] = bad
        else:
            tracks_here = sorted(set(data.get("tracks", {})))
            if last_key(path) in ("output", "to") and tracks_here and draw(st.booleans()):
                bad = draw(st.sampled_from(tracks_here))  # a track is not a bus
            else:
                bad = _fresh_name(draw, strips)
            put(data, path, bad)
        return Mutation(kind, data, tokens_for(bad))
    if kind == "bad_automation":
        return _break_automation(draw, data)
    if kind == "cycle":
        others = [b for b in data["buses"] if b != master]
        how = draw(st.sampled_from(["through_master", "self_send"]))
        if not others:
            loop = _fresh_name(draw, set(data["buses"]) | set(data.get("tracks", {})))
            data["buses"][loop] = {"output": master}  # its default output "master" may not exist
            others = [loop]
        bus = draw(st.sampled_from(others))
        if how == "through_master":
            data["buses"][bus]["output"] = master
            data["buses"][master].setdefault("sends", []).append({"to": bus})
        else:
            data["buses"][bus].setdefault("sends", []).append({"to": bus})
        return Mutation(kind, data, {"cycle"})
    raise AssertionError(kind)  # pragma: no cover


def _break_automation(draw: Any, data: dict[str, Any]) -> Mutation:
    found = [p for p, v in walk(data) if isinstance(v, dict) and set(v) == {"automation"}]
    if not found:
        data["buses"][_master(data)]["fader_db"] = {"automation": [[0.0, 0.0]]}
        found = [("buses", _master(data), "fader_db")]
    path = draw(st.sampled_from(found))
    points = get(data, path)["automation"]
    where = last_key(path)
    ways = ["empty", "reorder", "shape", "arity", "exponential_to_zero", "nan_time", "not_a_list"]
    ways += ["extra_key"]
    ways += ["out_of_range"] + (["target"] if len(path) == 4 and path[2] == "automation" else [])
    how = draw(st.sampled_from(ways))
    event(f"bad_automation: {how}")
    if how == "empty":
        points[:] = []
    elif how == "reorder":
        points.append([points[0][0] - 1.0, points[0][1]])
    elif how == "shape":
        points[0] = [points[0][0], points[0][1], "cubic"]
    elif how == "arity":
        points[0] = draw(st.sampled_from([[points[0][0]], [points[0][0], points[0][1], "linear", 1]]))
    elif how == "exponential_to_zero":
        points.append([points[-1][0] + 1.0, 0.0, "exponential"])
    elif how == "nan_time":
        points[0][0] = math.nan
    elif how == "not_a_list":
        get(data, path)["automation"] = draw(st.sampled_from(["x", 5]))
    elif how == "extra_key":
        get(data, path)["x"] = 1
    elif how == "out_of_range":
        high = {"pan": 2.0, "fader_db": 100.0, "level_db": 100.0}.get(where, 1000.0)
        points[0][1] = high
    else:  # a node-automation target that does not exist
        automation = get(data, path[:-1])
        bad = draw(
            st.sampled_from(["chain[99].gain_db", "chain[0].no_such_parameter", "gain_db", "chain[-1].q"])
        )
        automation[bad] = automation.pop(path[-1])
        return Mutation("bad_automation", data, tokens_for(bad, "automation"))
    return Mutation("bad_automation", data, tokens_for(where, "automation", "points"))


def break_syntax(draw: Any, text: str) -> Mutation:
    """Edits that make any TOML document invalid."""
    lines = text.split("\n")
    headers = [i for i, line in enumerate(lines) if line.startswith("[")]
    keys = [i for i, line in enumerate(lines) if " = " in line and not line.startswith(("[", " "))]
    how = draw(
        st.sampled_from(
            [
                "duplicate_header",
                "unclosed_header",
                "no_equals",
                "unterminated_string",
                "bad_escape",
                "truncated",
                "duplicate_key",
            ]
        )
    )
    event(f"toml_syntax: {how}")
    if how == "duplicate_header":
        lines.append("[session]")
    elif how == "unclosed_header":
        i = draw(st.sampled_from(headers))
        lines[i] = lines[i].rstrip("]")
    elif how == "no_equals":
        i = draw(st.sampled_from(keys))
        lines[i] = lines[i].replace(" = ", " ", 1)
    elif how == "unterminated_string":
        lines.insert(1, 'name = "unterminated')
    elif how == "bad_escape":
        lines.insert(1, 'name = "\\q"')
    elif how == "truncated":
        i = draw(st.sampled_from(headers))
        cut = sum(len(line) + 1 for line in lines[:i]) + 1  # just after the '[' of a header
        return Mutation("toml_syntax", text[:cut], {"invalid TOML"})
    else:
        i = keys[0]  # sample_rate, always written
        lines.insert(i + 1, lines[i])
    return Mutation("toml_syntax", "\n".join(lines), {"invalid TOML"})


def check_mutation(mutation: Mutation, folder: str) -> str:
    """Load the damaged session: a clean SessionError (or, where allowed, success). Returns the outcome."""
    document = mutation.document
    name = os.path.join(folder, PATH) if isinstance(document, bytes) else PATH
    try:
        if isinstance(document, bytes):
            Path(name).write_bytes(document)
            load_session(name)
        else:
            loads_session(document if isinstance(document, str) else emit(document), folder=folder, path=PATH)
    except SessionError as err:  # anything else propagates and fails the test
        message = str(err)
        assert message.startswith(f"{name}: "), message
        assert not INTERNAL.search(message), f"{mutation.kind}: Python's words leaked: {message}"
        assert any(token in message for token in mutation.tokens), (
            f"{mutation.kind}: the message names none of {sorted(mutation.tokens)}: {message}"
        )
        outcome = "rejected"
    else:
        assert not mutation.must_reject, f"{mutation.kind}: the damaged session loaded:\n{document}"
        outcome = "accepted"
    event(f"{mutation.kind}: {outcome}")
    return outcome


def draw_mutation(data: st.DataObject, folder: str, kind: str) -> Mutation:
    session = data.draw(sessions(folder))
    text = dumps_session(session, folder=folder, path=PATH)
    if kind == "toml_syntax":
        return break_syntax(data.draw, text)
    if kind == "not_utf8":
        raw = text.encode("utf-8")
        at = data.draw(st.integers(0, len(raw)))
        bad = data.draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"]))  # invalid UTF-8 sequences
        return Mutation(kind, raw[:at] + bad + raw[at:], {"not UTF-8"})
    return mutate_data(data.draw, tomllib.loads(text), kind)


# Each kind runs its own examples, so every kind is exercised (a single draw of the kind would favour the
# first ones) and the collected test ids count the kinds.
FAST_PER_KIND = settings(FAST, max_examples=8)
SLOW_PER_KIND = settings(SLOW, max_examples=250)


@pytest.mark.parametrize("kind", KINDS)
@FAST_PER_KIND
@given(data=st.data())
def test_damaged_sessions_raise_a_clean_session_error(folder: str, kind: str, data: st.DataObject) -> None:
    check_mutation(draw_mutation(data, folder, kind), folder)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@SLOW_PER_KIND
@given(data=st.data())
def test_damaged_sessions_raise_a_clean_session_error_slow(
    folder: str, kind: str, data: st.DataObject
) -> None:
    check_mutation(draw_mutation(data, folder, kind), folder)


@settings(FAST, max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from([k for k in KINDS if k != "huge"]))
def test_the_cli_reports_a_damaged_session_in_one_line(
    folder: str, data: st.DataObject, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `sonicmix render` on a damaged session: exit status 2, the message on stderr starting with the
    # session's path, no traceback, and no output folder created.
    mutation = draw_mutation(data, folder, kind)
    document = mutation.document
    path = Path(folder) / "cli.toml"
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document if isinstance(document, str) else emit(document), encoding="utf-8")
    out = Path(folder) / "cli-out"
    capsys.readouterr()
    assert main(["render", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: " in err, err
    assert "Traceback" not in err
    assert not out.exists()


# ----------------------------------------------------------------------------------- what the fuzzer found

BASE = '[tracks.dx]\nlayout = "mono"\n[[tracks.dx.clips]]\nfile = "dx.wav"\n[buses.master]\n'

# Each of these loaded without an error (or with Python's own words) before the fuzzer found it.
FOUND = {
    "boolean as a string": (
        BASE.replace('layout = "mono"', 'mute = "false"'),
        r"tracks\.dx\.mute='false' is a string; expected true or false",
    ),
    "boolean as a number": (
        BASE.replace('layout = "mono"', "solo = 1"),
        r"tracks\.dx\.solo=1 is a number; expected true or false",
    ),
    "send flag as a string": (
        BASE.replace('layout = "mono"', 'sends = [{to = "master", pre_fader = "yes"}]'),
        r"tracks\.dx\.sends\[0\]\.pre_fader='yes' is a string; expected true or false",
    ),
    "automation value in quotes": (
        BASE.replace('layout = "mono"', 'fader_db = {automation = [[0.0, "-3"]]}'),
        r"tracks\.dx\.fader_db: points\[0\]=\(0\.0, '-3'\); expected numbers",
    ),
    "automation value true": (
        BASE.replace('layout = "mono"', "fader_db = {automation = [[0.0, true]]}"),
        r"tracks\.dx\.fader_db: points\[0\]=\(0\.0, True\); expected numbers",
    ),
    "send without a destination": (
        BASE.replace('layout = "mono"', "sends = [{level_db = -6.0}]"),
        r"tracks\.dx\.sends\[0\]: Send needs 'to'",
    ),
    "graph type in a chain": (
        BASE.replace('layout = "mono"', 'chain = [{type = "Track"}]'),
        r"tracks\.dx\.chain\[0\]\.type='Track' is not a processing node",
    ),
    "clip type in a chain": (
        BASE.replace('layout = "mono"', 'chain = [{type = "Clip"}]'),
        r"tracks\.dx\.chain\[0\]\.type='Clip' is not a processing node",
    ),
    "node automation not a table": (
        BASE.replace('layout = "mono"', "automation = 3"),
        r"tracks\.dx\.automation=3 is a number; expected a table",
    ),
    "node automation as an array": (
        BASE.replace('layout = "mono"', 'automation = [{"chain[0].gain_db" = 1}]'),
        r"tracks\.dx\.automation=\[.*\] is a array; expected a table",
    ),
    "extra key beside automation": (
        BASE.replace(
            'layout = "mono"',
            'chain = [{type = "Gain"}]\n'
            'automation = {"chain[0].gain_db" = {automation = [[0.0, 1.0]], to = "x"}}',
        ),
        r"tracks\.dx\.automation\.chain\[0\]\.gain_db\.to: unknown key in an automation table",
    ),
    "layout as a table": (
        BASE.replace('layout = "mono"', "layout = {a = 1}"),
        r"tracks\.dx\.layout=\{'a': 1\} is a table; expected a string",
    ),
    "output of the wrong type": (
        BASE.replace('layout = "mono"', "output = 3"),
        r"tracks\.dx\.output=3 is a number; expected a string",
    ),
    "key of the wrong type, raised inside the Track": (
        BASE.replace('layout = "mono"', 'key = ["a"]\nchain = [{type = "Ducker"}]'),
        r"tracks\.dx: key=\('a',\); expected the name of a bus",
    ),
    "automation of a missing node, raised inside the Track": (
        BASE.replace('layout = "mono"', 'automation = {"chain[2].gain_db" = {automation = [[0.0, 1.0]]}}'),
        r"tracks\.dx: automation 'chain\[2\]\.gain_db': the chain has 0 node\(s\)",
    ),
    "send destination as a table": (
        BASE.replace('layout = "mono"', "sends = [{to = {x = 1}}]"),
        r"tracks\.dx\.sends\[0\]\.to=\{'x': 1\} is a table; expected a string",
    ),
    "nested type as a table": (
        BASE.replace('layout = "mono"', 'chain = [{type = "ParametricEQ", bands = [{type = {x = 1}}]}]'),
        r"tracks\.dx\.chain\[0\]\.bands\[0\]\.type=\{'x': 1\} is a table; expected a type name",
    ),
    "endless tail": (
        "[session]\ntail_s = inf\n" + BASE,
        r'session\.tail_s=inf; expected "auto" or a finite number',
    ),
    "control character in the file name": (
        '[session]\nname = "ep\\u0000"\n' + BASE,
        r"session\.name='ep\\x00' contains the control character '\\x00' at index 2; expected a file name",
    ),
}


@pytest.mark.parametrize("text, message", list(FOUND.values()), ids=list(FOUND))
def test_what_the_fuzzer_found_is_reported_with_table_and_key(text: str, message: str) -> None:
    with pytest.raises(SessionError, match=message) as caught:
        loads_session(text, path=PATH)
    assert str(caught.value).startswith(f"{PATH}: ")
    assert not INTERNAL.search(str(caught.value))


def test_options_are_written_in_the_documented_order(folder: str) -> None:
    # Loading returns the options in the documented order: a session built with another order must
    # still dump to the same text twice.
    graph = sm.Graph(buses={"master": sm.Bus(output=None)})
    session = Session(graph=graph, options={"tail_s": 1.0, "bext": False, "name": "ep"})
    text = dumps_session(session, folder=folder)
    assert text.index("name =") < text.index("bext =") < text.index("tail_s =")
    assert dumps_session(loads_session(text, folder=folder), folder=folder) == text


def test_inline_impulse_responses_round_trip_exactly(folder: str) -> None:
    # An impulse response given as numbers (a TOML array, or a float32 array from Python) saves as
    # an inline table of its samples and dtype, and loads back equal, value for value.
    text = BASE + 'chain = [{type = "ConvolutionReverb", impulse_response = [[1.0, 0.5, 0.25]], mix = 0.2}]\n'
    session = loads_session(text, folder=folder, path=PATH)
    saved = dumps_session(session, folder=folder)
    table = tomllib.loads(saved)["buses"]["master"]["chain"][0]["impulse_response"]
    assert table == {"samples": [[1.0, 0.5, 0.25]], "dtype": "float64"}
    assert loads_session(saved, folder=folder) == session
    ir = np.random.default_rng(3).standard_normal((2, 50)).astype(np.float32)
    reverb = sm.ConvolutionReverb(impulse_response=ir)
    graph = sm.Graph(buses={"master": sm.Bus(output=None, chain=(reverb,))})
    session = Session(graph=graph)
    back = loads_session(dumps_session(session, folder=folder), folder=folder)
    assert back == session
    assert back.graph.buses["master"].chain[0].impulse_response.samples.dtype == np.float32
    bad = saved.replace('dtype = "float64"', 'dtype = "int8"')
    with pytest.raises(SessionError, match=r"impulse_response\.dtype='int8'; expected 'float32' or"):
        loads_session(bad, folder=folder, path=PATH)


def test_impulse_response_files_are_relative_to_the_session(folder: str, tmp_path: Path) -> None:
    # Like clip files: resolved against the session's folder on load, written relative on save, and
    # a missing one is reported with its table and key before rendering.
    text = BASE + 'chain = [{type = "ConvolutionReverb", impulse_response = "audio/ir.wav", mix = 0.2}]\n'
    session = loads_session(text, folder=folder, path=PATH)
    node = session.graph.buses["master"].chain[0]
    assert node.impulse_response == os.path.join(folder, "audio", "ir.wav")
    elsewhere = tmp_path / "deeper"
    elsewhere.mkdir()
    saved = dumps_session(session, folder=elsewhere)
    relative = os.path.relpath(os.path.join(folder, "audio", "ir.wav"), elsewhere).replace(os.sep, "/")
    assert tomllib.loads(saved)["buses"]["master"]["chain"][0]["impulse_response"] == relative
    assert loads_session(saved, folder=elsewhere) == session
    missing = loads_session(text.replace("ir.wav", "none.wav"), folder=folder, path=PATH)
    missing = Session(graph=missing.graph, target=PRESETS["ebu-r128"], path=PATH)
    with pytest.raises(SessionError, match=r"buses\.master\.chain\[0\]\.impulse_response: no such file"):
        sm_render_session(missing, tmp_path / "out")
    assert not (tmp_path / "out").exists()

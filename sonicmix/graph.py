"""Mix graphs: tracks and buses routed to a master, as plain data.

A :class:`Graph` holds named :class:`Track` s (clips on a timeline, a chain
of nodes, fader, pan, mute/solo, sends) and named :class:`Bus` es (which
**sum** everything routed to them, then run a chain and a fader). Every track
and bus names where its output goes (``output="music"``); sends copy a
signal to another bus at a level, before or after the fader. Stems are simply
buses; ``master`` is the bus whose output is the mix.

A node that takes a side-chain key (a ducker, a keyed compressor) is keyed
by the post-fader output of the track or bus named in ``key=``.

A graph holds no audio state and validates itself on construction: unknown
names (with a "did you mean"), cycles (through outputs, sends or keys),
side-chains without a key, pans that cannot be honoured, and automation of
things that do not exist each raise :class:`~sonicmix.errors.GraphError`.

Examples
--------
>>> import numpy as np
>>> from sonicmix.nodes.gain import Gain
>>> from sonicmix.timeline import ArraySource, Clip
>>> voice = ArraySource(np.zeros((1, 48000), np.float32), 48000, name="voice")
>>> graph = Graph(
...     tracks={"dx": Track(clips=(Clip(source=voice),), layout="mono", pan=0.0, output="dialogue")},
...     buses={"dialogue": Bus(chain=(Gain(gain_db=-3.0),)), "master": Bus(output=None)},
... )
>>> print(graph)
Graph (master: 'master')
  master  <- dialogue
    dialogue  <- dx
      dx  track, mono, 1 clip
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sonicmix._checks import check_range, file_name_problem
from sonicmix.automation import Automation, Value
from sonicmix.automix import Automix
from sonicmix.errors import GraphError, LayoutError
from sonicmix.layouts import (
    AMBISONIC_LAYOUTS,
    LAYOUTS,
    Layout,
    conversion_matrix,
    default_layout,
    get_layout,
)
from sonicmix.nodes.base import Chain, Node, layout_after
from sonicmix.nodes.fade import _CURVES, FadeCurve
from sonicmix.timeline import Clip

__all__ = ["Send", "Track", "Bus", "Graph", "ReadOnlyMap"]

PanLaw = Literal["constant_power", "compromise", "linear"]


class ReadOnlyMap(Mapping[str, Any]):
    """A mapping that cannot be changed after construction (a graph's tracks, buses, automation).

    A validated graph stays valid: ``graph.tracks["dx"] = ...`` raises TypeError
    instead of leaving a graph that fails later with a bare KeyError. It
    compares equal to a dict with the same items, and pickles (batch rendering
    sends graphs to other processes).

    >>> table = ReadOnlyMap({"dx": 1})
    >>> table == {"dx": 1}, list(table)
    (True, ['dx'])
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_items", dict(items or {}))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("a graph's tables are read-only; build a new Graph (e.g. with dataclasses.replace)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._items == dict(other)

    __hash__ = None  # type: ignore[assignment]  # equal to dicts, which are unhashable

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ReadOnlyMap, (self._items,))


def _check_value(name: str, value: Value, *, low: float | None = None, high: float | None = None) -> None:
    if isinstance(value, Automation):
        lo, hi = value.range
        check_range(f"{name} (automation minimum)", lo, low=low, high=high)
        check_range(f"{name} (automation maximum)", hi, low=low, high=high)
    else:
        check_range(name, value, low=low, high=high)


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """A copy of a track's or bus's signal sent to a bus.

    Parameters
    ----------
    to : str
        Name of the destination bus.
    level_db : float or Automation, default 0.0
        Send level; automation is applied sample-accurately.
    pre_fader : bool, default False
        Take the signal before the fader (and pan) instead of after.
    """

    to: str
    level_db: Value = 0.0
    pre_fader: bool = False

    def __post_init__(self) -> None:
        _check_value("level_db", self.level_db, high=24.0)


# a parameter is a field ("gain_db") or, for a node that resolves paths, one level down ("bands[2].q")
_AUTOMATION_TARGET = re.compile(r"^chain\[(\d+)\]\.([A-Za-z_]\w*(?:\[\d+\]\.[A-Za-z_]\w*)?)$", re.ASCII)


def parse_automation_target(target: str) -> tuple[int, str]:
    """``"chain[2].gain_db"`` -> ``(2, "gain_db")``; ``"chain[0].bands[1].q"`` -> ``(0, "bands[1].q")``."""
    match = _AUTOMATION_TARGET.match(target) if isinstance(target, str) else None
    if match is None:
        raise GraphError(
            f"automation key {target!r}; expected 'chain[<index>].<parameter>', e.g. 'chain[0].gain_db' "
            "(or a ParametricEQ band's field, 'chain[0].bands[1].gain_db')"
        )
    return int(match.group(1)), match.group(2)


def set_parameter(node: Node, name: str, value: float) -> Node:
    """``node`` with one automated parameter set: a field, or a path the node resolves itself.

    A node whose parameters are not all fields of its own (a ParametricEQ's
    ``"bands[2].gain_db"``) gives ``with_parameter(name, value)``; any other
    is rebuilt with ``dataclasses.replace``, which validates the value.
    """
    setter = getattr(node, "with_parameter", None)
    if setter is not None:
        return setter(name, value)  # type: ignore[no-any-return]
    return dataclasses.replace(node, **{name: value})  # type: ignore[type-var]


def _check_node_automation(chain: tuple[Node, ...], target: str, envelope: Any) -> None:
    index, name = parse_automation_target(target)
    if index >= len(chain):
        raise GraphError(
            f"automation {target!r}: the chain has {len(chain)} node(s); expected an index below that"
        )
    node = chain[index]
    kind = type(node).__name__
    if not isinstance(envelope, Automation):
        raise GraphError(f"automation {target!r} is a {type(envelope).__name__}; expected an Automation")
    fields = [f.name for f in dataclasses.fields(node)]
    # a node whose parameters are not all fields (a PluginNode: its plugin's) lists them in parameter_names
    fields += [p for p in getattr(node, "parameter_names", ()) if p not in fields]
    if name not in fields:
        raise GraphError(
            f"automation {target!r}: {kind} has no parameter {name!r}{_did_you_mean(name, fields)}"
        )
    automatable = node.automatable  # asked of the node: a PluginNode's depend on its plugin
    if name not in automatable:
        allowed = sorted(automatable & set(fields))
        expected = f"expected one of {allowed}" if allowed else f"{kind} has no automatable parameter"
        reason = getattr(node, "automation_refusals", {}).get(name)  # why, if the node says
        raise GraphError(
            f"automation {target!r}: {kind}.{name} cannot be automated while streaming"
            + (f" ({reason})" if reason else "")
            + f"; {expected}"
        )
    for value in envelope.range:  # both extremes must be legal values
        try:
            set_parameter(node, name, value)
        except ValueError as err:
            raise GraphError(f"automation {target!r} reaches {value:g}: {err}") from None


def _tuple_of(name: str, value: Any, kind: type | tuple[type, ...]) -> tuple[Any, ...]:
    if isinstance(value, kind):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise GraphError(f"{name}={value!r}; expected a tuple") from None
    for i, item in enumerate(items):
        if not isinstance(item, kind):
            raise GraphError(f"{name}[{i}]={item!r} is not a {getattr(kind, '__name__', kind)}")
    return items


@dataclass(frozen=True, slots=True, kw_only=True)
class _Strip:
    """What tracks and buses share: a chain, a fader, routing (internal base)."""

    chain: tuple[Node, ...] = ()
    layout: str = "stereo"
    fader_db: Value = 0.0
    mute: bool = False
    sends: tuple[Send, ...] = ()
    output: str | None = "master"
    key: str | None = None
    automation: Mapping[str, Automation] = field(default_factory=dict)

    def _check_common(self) -> None:
        object.__setattr__(self, "chain", _tuple_of("chain", self.chain, Node))
        object.__setattr__(self, "sends", _tuple_of("sends", self.sends, Send))
        if isinstance(self.layout, Layout) and _catalog_name(self.layout) is not None:
            object.__setattr__(self, "layout", self.layout.name)  # a catalog layout is its name
        if self.layout not in LAYOUTS:
            get_layout(self.layout)  # raises LayoutError with a hint; a custom Layout is refused by Graph
        for name in ("output", "key"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise GraphError(f"{name}={value!r}; expected the name of a bus (a string) or None")
        _check_value("fader_db", self.fader_db, high=24.0)
        object.__setattr__(self, "automation", ReadOnlyMap(self.automation))
        for target, envelope in self.automation.items():
            _check_node_automation(self.chain, target, envelope)

    @property
    def processor(self) -> Chain:
        return Chain(self.chain)


@dataclass(frozen=True, slots=True, kw_only=True)
class Track(_Strip):
    """Clips on a timeline, processed by a chain, then fader, pan and routing.

    Parameters
    ----------
    clips : tuple of Clip
        Audio on the timeline. Clips that overlap are cross-faded over the
        overlap with ``crossfade_curve`` (fade-out of the earlier clip,
        fade-in of the later one); sources are converted to the track's layout.
    chain : tuple of Node
        Processing, in order.
    layout : str, default "stereo"
        Channel layout the track works in ("mono", "stereo", "5.0", "5.1", "7.1", ..., or an
        Ambisonics scene, "ambix1" to "ambix3"). A node that renders into another layout changes
        the layout the track leaves in: a mono track whose chain ends with
        ``ObjectPanner(layout="7.1.4")`` is routed as 7.1.4, one that ends with
        ``AmbisonicEncoder(order=3)`` as "ambix3" (:meth:`Graph.chain_layout`).
    fader_db : float or Automation, default 0.0
        Fader level (sample-accurate automation).
    pan : float or Automation, optional
        -1 (left) .. 1 (right). A mono track is panned into a stereo
        destination; a stereo track is balanced. Needs a stereo destination, or
        an Ambisonics bus ("ambix1" to "ambix3"), into which a mono or stereo
        track is encoded at azimuth ``-90 * pan`` degrees (+90 is the left;
        :func:`sonicmix.spatial.ambisonics.encode_panned`).
    pan_law : {"constant_power", "compromise", "linear"}, default "constant_power"
        See :func:`sonicmix.nodes.pan.pan_gains`.
    mute, solo : bool
        A muted track is silent (sends included). When any track is soloed,
        every track that is not is muted.
    sends : tuple of Send
        Copies to other buses.
    output : str or None, default "master"
        Bus that receives the track (None: the track is not routed).
    key : str, optional
        Track or bus whose post-fader output keys the chain's side-chain nodes.
    crossfade_curve : str, default "equal_power"
        Curve of automatic cross-fades between overlapping clips.
    clip_loudness_lufs : float, optional
        Give each clip the gain that brings its speech-gated loudness (before the
        chain) to this level; the clip's ``gain_db`` is a trim on top. The gains
        chosen are in the render's ``clip_gains_db`` and the delivery report.
        See :mod:`sonicmix.clip_loudness`.
    automation : dict of str to Automation, optional
        Node parameters that follow an envelope: ``{"chain[0].gain_db":
        Automation(...)}``, or a ParametricEQ band's field by its path,
        ``"chain[0].bands[1].gain_db"``. Evaluated at the start of every
        256-sample control block of the chain's input timeline
        (:data:`sonicmix.renderer.CONTROL_SAMPLES`), at the timeline time the
        node hears (behind any lookahead before it in the chain); parameters a
        node lists in ``interpolated`` (levels, filter frequencies, gains and q)
        follow the line between two control points in steps of 32 to 256
        samples instead of holding (``docs/automation.md``). Every numeric
        parameter a node lists in ``automatable`` can be automated; those that
        set latency, FFT sizes or memory lengths are refused with the reason
        (table: ``docs/automation.md``). Fader, pan and send levels take an
        :class:`~sonicmix.automation.Automation` directly and are exact at
        every timeline sample, behind latency too.
    """

    clips: tuple[Clip, ...] = ()
    pan: Value | None = None
    pan_law: PanLaw = "constant_power"
    solo: bool = False
    crossfade_curve: FadeCurve = "equal_power"
    clip_loudness_lufs: float | None = None

    def __post_init__(self) -> None:
        self._check_common()
        if self.clip_loudness_lufs is not None:
            check_range("clip_loudness_lufs", self.clip_loudness_lufs, low=-60.0, high=0.0,
                        hint="in LUFS, e.g. -20.0")
        object.__setattr__(self, "clips", _tuple_of("clips", self.clips, Clip))
        if self.pan is not None:
            _check_value("pan", self.pan, low=-1.0, high=1.0)
        if self.pan_law not in ("constant_power", "compromise", "linear"):
            raise GraphError(f"pan_law={self.pan_law!r}; expected 'constant_power', 'compromise' or 'linear'")
        if self.crossfade_curve not in _CURVES:
            raise GraphError(f"crossfade_curve={self.crossfade_curve!r}; expected one of {_CURVES}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Bus(_Strip):
    """Sums everything routed to it, then runs its chain and fader.

    The sum is a plain sum (Web Audio fan-in): two inputs at 0 dB add, they
    are not averaged. A bus in an Ambisonics layout (``layout="ambix3"``)
    carries a scene: loudspeaker signals routed to it are encoded at their
    loudspeakers' positions, panned tracks at their pans' directions; its chain
    takes only nodes that treat every channel alike
    (:func:`sonicmix.nodes.ambisonics.sound_field_problem`), and it reaches
    loudspeakers or headphones only through a decoder at the end of its chain
    (``AmbisonicDecoder``, ``Binaural(layout="ambix3")``). Parameters are those
    of :class:`Track` without clips, pan and solo, and:

    automix : Automix or bool, optional
        Gain-share the signals routed here before summing them (an automixer
        for open mics that hear each other; see :class:`~sonicmix.automix.Automix`).
        ``True`` means ``Automix()``.
    """

    automix: Automix | None = None

    def __post_init__(self) -> None:
        self._check_common()
        if isinstance(self.automix, bool):
            object.__setattr__(self, "automix", Automix() if self.automix else None)
        if self.automix is not None and not isinstance(self.automix, Automix):
            raise GraphError(f"automix={self.automix!r}; expected an Automix, True or None")


def _catalog_name(layout: Layout) -> str | None:
    """The name of a Layout that is the catalog's layout of that name, else None."""
    named = LAYOUTS.get(layout.name) or AMBISONIC_LAYOUTS.get(layout.name)
    return layout.name if named == layout else None


def _strip_layout_problem(layout: object) -> str | None:
    """Why a graph cannot route a strip's layout (a custom Layout object), in one short phrase."""
    if not isinstance(layout, Layout):
        return None
    return (
        f"its layout is a custom Layout {layout.name!r} ({layout.n_channels} channels), which a graph "
        "cannot route (channel conversions are defined between the named layouts only)"
    )


def _did_you_mean(name: object, names: list[str]) -> str:
    close = difflib.get_close_matches(str(name), names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True, eq=True)
class Graph:
    """A validated mix: named tracks and buses, and the master bus's name.

    See the module documentation for the routing rules and an example.
    """

    tracks: Mapping[str, Track] = field(default_factory=dict)
    buses: Mapping[str, Bus] = field(default_factory=dict)
    master: str = "master"

    def __post_init__(self) -> None:
        for kind in ("tracks", "buses"):
            if not isinstance(getattr(self, kind), Mapping):
                raise GraphError(f"{kind}={getattr(self, kind)!r}; expected a mapping of names to strips")
            object.__setattr__(self, kind, ReadOnlyMap(getattr(self, kind)))
        for kind, table, cls in (("track", self.tracks, Track), ("bus", self.buses, Bus)):
            for name, item in table.items():
                problem = file_name_problem(name)
                if problem:  # names become file names (stems) and reach the operator's terminal
                    raise GraphError(f"{kind} name {name!r} {problem}; expected a name like 'dialogue'")
                if not isinstance(item, cls):
                    raise GraphError(f"{kind} {name!r} is a {type(item).__name__}; expected a {cls.__name__}")
                problem = _strip_layout_problem(item.layout)
                if problem:
                    raise GraphError(
                        f"{kind} {name!r}: {problem}; expected a layout's name: "
                        f"{', '.join([*LAYOUTS, *AMBISONIC_LAYOUTS])}"
                    )
        if not isinstance(self.master, str):
            raise GraphError(f"master={self.master!r}; expected the name of a bus (a string)")
        clash = sorted(set(self.tracks) & set(self.buses))
        if clash:
            raise GraphError(f"{clash[0]!r} names both a track and a bus; expected unique names")
        if self.master not in self.buses:
            raise GraphError(
                f"master={self.master!r} is not a bus{_did_you_mean(self.master, list(self.buses))}; "
                f"buses are {sorted(self.buses)}"
            )
        if self.buses[self.master].output is not None:
            raise GraphError(
                f"master bus {self.master!r} has output={self.buses[self.master].output!r}; "
                "expected output=None"
            )
        self._check_names()
        self._check_envelopes()
        self._check_keys()
        self._check_automix()
        self._check_layouts()
        self.order()  # raises on cycles

    # -- structure ----------------------------------------------------------------------------
    def strip(self, name: str) -> Track | Bus:
        """The track or bus called ``name``."""
        return self.tracks[name] if name in self.tracks else self.buses[name]

    def edges(self) -> list[tuple[str, str, str]]:
        """``(source, destination, kind)`` for every output, send and key connection."""
        out = []
        for name in [*self.tracks, *self.buses]:
            strip = self.strip(name)
            if strip.output is not None:
                out.append((name, strip.output, "output"))
            for send in strip.sends:
                out.append((name, send.to, "send"))
            if strip.key is not None:
                out.append((strip.key, name, "key"))
        return out

    def inputs(self, bus: str) -> list[str]:
        """Names routed into ``bus`` by output or send."""
        return [s for s, d, kind in self.edges() if d == bus and kind != "key"]

    def order(self) -> list[str]:
        """Tracks and buses in processing order (every source before what it feeds)."""
        names = [*self.tracks, *self.buses]
        successors: dict[str, list[str]] = {n: [] for n in names}
        for s, d, _ in self.edges():
            successors[s].append(d)
        state: dict[str, int] = {}
        order: list[str] = []
        stack_path: list[str] = []

        def visit(n: str) -> None:
            state[n] = 1
            stack_path.append(n)
            for m in successors[n]:
                if state.get(m) == 1:
                    cycle = stack_path[stack_path.index(m) :] + [m]
                    raise GraphError(
                        f"the graph has a cycle: {' -> '.join(cycle)}; expected a graph without loops"
                    )
                if m not in state:
                    visit(m)
            stack_path.pop()
            state[n] = 2
            order.append(n)

        for n in names:
            if n not in state:
                visit(n)
        return order[::-1]

    # -- validation ---------------------------------------------------------------------------
    def _check_names(self) -> None:
        buses = list(self.buses)
        everything = [*self.tracks, *self.buses]
        for name in everything:
            strip = self.strip(name)
            where = f"{'track' if name in self.tracks else 'bus'} {name!r}"
            if strip.output is not None and strip.output not in self.buses:
                raise GraphError(
                    f"{where} has output={strip.output!r}, which is not a bus"
                    f"{_did_you_mean(strip.output, buses)}"
                )
            for send in strip.sends:
                if send.to not in self.buses:
                    raise GraphError(
                        f"{where} sends to {send.to!r}, which is not a bus{_did_you_mean(send.to, buses)}"
                    )
            if strip.key is not None and strip.key not in everything:
                raise GraphError(
                    f"{where} has key={strip.key!r}, which is not a track or bus"
                    f"{_did_you_mean(strip.key, everything)}"
                )
            if strip.key == name:
                raise GraphError(f"{where} is keyed by itself; expected another track or bus")

    def _check_envelopes(self) -> None:
        """GraphError naming the strip and parameter of an envelope whose in-between values overflow.

        Each point is finite (Automation checks that), and the extremes are legal values (each
        strip checks them), but a render would fail only when it reached the ramp, perhaps after
        writing: so refuse here, where the strip's name is known.
        """
        for name in [*self.tracks, *self.buses]:
            strip = self.strip(name)
            envelopes = {"fader_db": strip.fader_db, "pan": getattr(strip, "pan", None)}
            envelopes.update({f"sends[{i}].level_db": s.level_db for i, s in enumerate(strip.sends)})
            for target, envelope in strip.automation.items():
                index, _ = parse_automation_target(target)
                envelopes[f"automation {target!r} ({type(strip.chain[index]).__name__})"] = envelope
            for what, envelope in envelopes.items():
                problem = envelope.overflow_problem() if isinstance(envelope, Automation) else None
                if problem is not None:
                    where = "track" if name in self.tracks else "bus"
                    raise GraphError(
                        f"{where} {name!r}: {what}: {problem}; expected neighbouring points close enough "
                        "for the ramp between them to stay finite (add a point in between)"
                    )

    def _check_keys(self) -> None:
        for name in [*self.tracks, *self.buses]:
            strip = self.strip(name)
            resizing = [n for n in strip.chain if getattr(n, "changes_length", False)]
            if resizing:  # blocks out would not be blocks in (TimeStretch, Resample)
                instead = getattr(resizing[0], "in_a_graph_instead", "")
                raise GraphError(
                    f"{name!r} has {type(resizing[0]).__name__} in its chain, which changes the number of "
                    f"samples; expected nodes that keep it{f' ({instead})' if instead else ''}"
                )
            keyed = [type(n).__name__ for n in strip.chain if n.takes_key]
            if keyed and strip.key is None:
                raise GraphError(
                    f"{name!r} has {keyed[0]} in its chain, which needs a side-chain key; "
                    f"set key=<track or bus name>"
                )
            if strip.key is not None and not keyed:
                raise GraphError(f"{name!r} has key={strip.key!r} but no node in its chain takes a key")

    def _check_automix(self) -> None:
        # an automix bus with one mic (or none) is allowed: the mic keeps 0 dB, as the rule says
        for name, bus in self.buses.items():
            if bus.automix is None:
                continue
            mics = list(dict.fromkeys(self.inputs(name)))
            for mic in bus.automix.weights_db:
                if mic not in mics:
                    raise GraphError(
                        f"bus {name!r} has automix weights_db[{mic!r}], which is not routed to it"
                        f"{_did_you_mean(mic, mics)}; expected one of {mics}"
                    )

    def _check_layouts(self) -> None:
        for name in [*self.tracks, *self.buses]:
            strip = self.strip(name)
            out_layout = self.output_layout(name)  # raises GraphError for a chain that cannot run
            routes = [(strip.output, out_layout)] if strip.output else []
            for send in strip.sends:  # a pre-fader send taps the chain, before fader and pan (as rendered)
                routes.append((send.to, self.chain_layout(name) if send.pre_fader else out_layout))
            for dest, layout in routes:
                try:
                    conversion_matrix(layout, self.buses[dest].layout)
                except LayoutError as err:
                    note = self._pan_note(name, dest) if layout == out_layout else ""
                    raise GraphError(f"{name!r} cannot be routed to {dest!r}: {err}{note}") from None
            if isinstance(strip, Track) and strip.pan is not None:
                dest_layout = self.buses[strip.output].layout if strip.output else None
                chain_layout = self.chain_layout(name)
                pannable = dest_layout == "stereo" or dest_layout in AMBISONIC_LAYOUTS
                if chain_layout not in ("mono", "stereo") or not pannable:
                    raise GraphError(
                        f"track {name!r} has pan={strip.pan!r} but pans a {chain_layout} track into a "
                        f"{dest_layout} bus; expected a mono or stereo track routed to a stereo bus (or "
                        "encoded into an Ambisonics bus, 'ambix1' to 'ambix3')"
                    )

    def chain_layout(self, name: str) -> str:
        """Layout of a track's or bus's chain output: the strip's layout, unless a node changes it.

        A node that renders into a named layout says so (``output_layout``: an
        ``ObjectPanner(layout="7.1.4")`` or an ``AmbisonicDecoder`` at the end
        of a mono track's chain makes the track 7.1.4, an ``AmbisonicEncoder(order=3)``
        makes it ``"ambix3"``); a node that changes the channel count otherwise
        leaves the usual layout of its count (``Pan``: stereo).

        While the signal is an Ambisonics scene (an ambix strip, or after an
        encoder), every node must treat the channels alike
        (:func:`sonicmix.nodes.ambisonics.sound_field_problem`).

        Raises
        ------
        GraphError
            If a node cannot take the channels it receives, would break an
            Ambisonics scene, or the chain ends in no named layout.
        """
        strip = self.strip(name)
        layout: str | None = strip.layout
        channels = get_layout(strip.layout).n_channels
        for index, node in enumerate(strip.chain):
            self._check_scene_node(name, index, node, layout)
            try:
                channels, layout = layout_after(node, channels, layout)  # the rule Chain keeps
            except LayoutError as err:
                raise GraphError(
                    f"{name!r}: chain[{index}] {type(node).__name__} cannot take {channels} channels: {err}"
                ) from None
        if layout is None:
            try:
                layout = default_layout(channels).name  # the usual layout of the count
            except LayoutError:
                raise GraphError(
                    f"{name!r}: its chain ends with {channels} channels in no named layout; expected a chain "
                    "that ends in a layout (end an Ambisonics chain with AmbisonicDecoder(layout=...))"
                ) from None
        if layout not in LAYOUTS and layout not in AMBISONIC_LAYOUTS:
            raise GraphError(
                f"{name!r}: its chain renders into {layout}, which a graph cannot route; expected one of "
                f"{[*LAYOUTS, *AMBISONIC_LAYOUTS]}"
            )
        return layout

    def _pan_note(self, name: str, dest: str) -> str:
        """Why a panned track's send carries a scene: its pan encodes it into an Ambisonics bus."""
        strip = self.strip(name)
        if not isinstance(strip, Track) or strip.pan is None or dest == strip.output:
            return ""
        scene = self.output_layout(name)
        if scene not in AMBISONIC_LAYOUTS:
            return ""
        return (
            f". Track {name!r} is {self.chain_layout(name)}, but its pan encodes it into the Ambisonics bus "
            f"{strip.output!r}, so its post-fader sends carry that {scene} scene too; send to an Ambisonics "
            f"bus, or with Send(to={dest!r}, pre_fader=True), which takes the track before fader and pan"
        )

    def _check_scene_node(self, name: str, index: int, node: Node, layout: str | None) -> None:
        """GraphError if ``node`` would break the scene it gets, or takes a scene but gets loudspeakers."""
        from sonicmix.nodes.ambisonics import sound_field_problem, takes_scene

        where = "bus" if name in self.buses else "track"
        if layout in AMBISONIC_LAYOUTS:
            problem = sound_field_problem(node)
            if problem is not None:
                raise GraphError(
                    f"{where} {name!r} carries an Ambisonics scene ({layout}) but chain[{index}] would break "
                    f"it: {problem}. Expected nodes that treat every channel alike (gain, EQ, delay, linked "
                    "dynamics, AmbisonicRotator); put this one before the encoding or after a decoder"
                )
        elif layout is not None and takes_scene(node):  # same count, other meaning: 9.1.6 is 16 channels
            raise GraphError(
                f"{where} {name!r}: chain[{index}] {type(node).__name__} takes an Ambisonics scene but gets "
                f"{layout} loudspeaker feeds there; expected a scene: give the {where} an Ambisonics layout "
                "('ambix1' to 'ambix3', into which its inputs are encoded) or put an AmbisonicEncoder first"
            )

    def output_layout(self, name: str) -> str:
        """Layout of a track's or bus's output: :meth:`chain_layout`; a panned track leaves as stereo,
        or, routed to an Ambisonics bus, as that bus's scene (encoded at the pan's direction)."""
        strip = self.strip(name)
        if isinstance(strip, Track) and strip.pan is not None:
            dest = self.buses[strip.output].layout if strip.output in self.buses else None
            return dest if dest in AMBISONIC_LAYOUTS else "stereo"
        return self.chain_layout(name)

    # -- presentation ---------------------------------------------------------------------------
    def __str__(self) -> str:
        lines = [f"Graph (master: {self.master!r})"]

        def describe(name: str, depth: int, seen: set[str]) -> None:
            strip = self.strip(name)
            pad = "  " * depth
            if isinstance(strip, Track):
                info = f"track, {strip.layout}, {len(strip.clips)} clip{'s' if len(strip.clips) != 1 else ''}"
                extras = [type(n).__name__ for n in strip.chain]
                if extras:
                    info += ", " + " > ".join(extras)
                lines.append(f"{pad}{name}  {info}")
                return
            sources = self.inputs(name)
            automix = "  (automix: gain-shared)" if strip.automix is not None else ""  # type: ignore[union-attr]
            lines.append(f"{pad}{name}  <- {', '.join(sources) if sources else '(nothing)'}{automix}")
            for s in sources:
                if s not in seen and self.strip(s).output == name:
                    describe(s, depth + 1, seen | {s})

        describe(self.master, 1, {self.master})
        return "\n".join(lines)

    def _repr_html_(self) -> str | None:
        from sonicmix import _hooks

        return _hooks.html(self)


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """Plain-data form of a graph (see :mod:`sonicmix.plain`); ``graph_from_dict`` rebuilds it.

    Examples
    --------
    >>> from sonicmix.nodes.gain import Gain
    >>> g = Graph(tracks={"t": Track(chain=(Gain(gain_db=-3.0),))}, buses={"master": Bus(output=None)})
    >>> graph_to_dict(g)["tracks"]["t"]
    {'type': 'Track', 'chain': [{'type': 'Gain', 'gain_db': -3.0}]}
    >>> graph_from_dict(graph_to_dict(g)) == g
    True
    """
    from sonicmix.plain import to_plain

    return {
        "master": graph.master,
        "tracks": {name: to_plain(track) for name, track in graph.tracks.items()},
        "buses": {name: to_plain(bus) for name, bus in graph.buses.items()},
    }


def graph_from_dict(data: Mapping[str, Any], *, arrays: Mapping[str, Any] | None = None) -> Graph:
    """Rebuild a graph from :func:`graph_to_dict`'s form; errors name the table and key at fault."""
    from sonicmix.plain import from_plain

    if not isinstance(data, Mapping):
        raise GraphError(f"graph data is a {type(data).__name__}; expected a mapping with tracks and buses")
    unknown = set(data) - {"master", "tracks", "buses"}
    if unknown:
        raise GraphError(f"graph data has unknown key {sorted(unknown)[0]!r}; expected master, tracks, buses")
    tables = {}
    for kind, cls in (("tracks", Track), ("buses", Bus)):
        table = data.get(kind, {})
        if not isinstance(table, Mapping):
            raise GraphError(
                f"{kind} is a {type(table).__name__}; expected a mapping of names to {cls.__name__}s"
            )
        built = {}
        for name, item in table.items():
            if isinstance(item, Mapping) and "type" not in item:
                item = {"type": cls.__name__, **item}
            value = from_plain(item, where=f"{kind}.{name}", arrays=dict(arrays or {}))
            if not isinstance(value, cls):
                raise GraphError(f"{kind}.{name} is a {type(value).__name__}; expected a {cls.__name__}")
            built[name] = value
        tables[kind] = built
    return Graph(tracks=tables["tracks"], buses=tables["buses"], master=data.get("master", "master"))

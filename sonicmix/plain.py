"""Converting graphs and nodes to plain data (dicts, lists, numbers, strings) and back.

The plain form is what session files store and what ``json.dumps`` takes.
Dataclass values (nodes, clips, tracks, bands) become ``{"type": ClassName,
field: value, ...}``; tuples become lists; automation becomes
``{"automation": [[time_s, value, shape], ...]}``. Decoding looks classes up
in a registry of sonicmix's own types only: no code runs and nothing is
imported by name from the data.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

import numpy as np

from sonicmix.automation import Automation
from sonicmix.errors import GraphError

__all__ = ["to_plain", "from_plain", "registry"]

_REGISTRY: dict[str, type] | None = None


def registry() -> dict[str, type]:
    """Types that plain data may name: the nodes, their parameter values, and the graph's own types.

    Streaming states and analysis results are not parameters and cannot be named.
    """
    global _REGISTRY
    if _REGISTRY is None:
        import sonicmix.nodes
        from sonicmix import graph, timeline
        from sonicmix.nodes.base import Node

        def public_dataclass(obj: object, name: str) -> bool:
            return isinstance(obj, type) and dataclasses.is_dataclass(obj) and not name.startswith("_")

        found: dict[str, type] = {}
        for info in pkgutil.iter_modules(sonicmix.nodes.__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"sonicmix.nodes.{info.name}")
            for name, obj in vars(module).items():
                if (
                    not public_dataclass(obj, name)
                    or obj.__module__ != module.__name__
                    or not issubclass(obj, Node)
                ):
                    continue
                found[name] = obj
                for inner_name, inner in vars(
                    obj
                ).items():  # values defined inside a node (ParametricEQ.Band)
                    if public_dataclass(inner, inner_name):
                        found[inner.__name__] = inner
        from sonicmix.spatial.binaural import Binaural  # the one node outside sonicmix.nodes

        for cls in (graph.Track, graph.Bus, graph.Send, timeline.Clip, graph.Automix, Binaural):
            found[cls.__name__] = cls
        _REGISTRY = found
    return _REGISTRY


def to_plain(value: Any) -> Any:
    """Plain-data form of a graph element, node, automation or parameter value."""
    from sonicmix.nodes.reverb import ImpulseResponse
    from sonicmix.timeline import ArraySource, FileSource

    if isinstance(value, Automation):
        return {"automation": [list(p) for p in value.points]}
    if isinstance(value, FileSource):
        return {"file": value.path}
    if isinstance(value, ArraySource):
        return {"array": value.name}
    if isinstance(value, ImpulseResponse):  # an inline impulse response: its samples, exactly
        samples = value.samples
        return {"samples": samples.tolist(), "dtype": samples.dtype.name}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            if not f.init or f.name.startswith("_"):
                continue
            v = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and _same(v, f.default):
                continue  # defaults are left out: the plain form says only what was chosen
            if f.default_factory is not dataclasses.MISSING and _same(v, f.default_factory()):
                continue
            out[f.name] = to_plain(v)
        return out
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise GraphError(f"cannot convert {value!r} ({type(value).__name__}) to plain data")


def _same(a: Any, b: Any) -> bool:
    try:
        both_maps = isinstance(a, Mapping) and isinstance(b, Mapping)  # a graph's read-only tables
        return bool(a == b) and (type(a) is type(b) or both_maps)
    except Exception:
        return False


def from_plain(data: Any, *, where: str = "value", arrays: dict[str, Any] | None = None) -> Any:
    """Rebuild what :func:`to_plain` produced. ``arrays`` maps array-source names to ArraySources."""
    from sonicmix.timeline import FileSource

    if isinstance(data, dict):
        if set(data) == {"automation"}:
            points = data["automation"]
            if not isinstance(points, list):
                raise GraphError(f"{where}.automation={points!r}; expected a list of [time_s, value, shape]")
            try:
                return Automation(tuple(tuple(p) if isinstance(p, list) else p for p in points))
            except ValueError as err:
                raise GraphError(f"{where}: {err}") from err
        if set(data) == {"file"}:
            return FileSource(data["file"])
        if set(data) == {"samples", "dtype"}:
            from sonicmix.nodes.reverb import ImpulseResponse

            if data["dtype"] not in ("float32", "float64"):
                raise GraphError(f"{where}.dtype={data['dtype']!r}; expected 'float32' or 'float64'")
            try:
                return ImpulseResponse(np.asarray(data["samples"], dtype=data["dtype"]))
            except (TypeError, ValueError) as err:
                raise GraphError(f"{where}.samples: {err}") from err
        if set(data) == {"array"}:
            name = data["array"]
            if not arrays or name not in arrays:
                raise GraphError(
                    f"{where} refers to the array source {name!r}; pass it in arrays={{{name!r}: ...}}"
                )
            return arrays[name]
        if "type" in data:
            kind = data["type"]
            types = registry()
            if kind not in types:
                import difflib

                close = difflib.get_close_matches(str(kind), list(types), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise GraphError(f"{where}.type={kind!r} is not a sonicmix node or graph type{hint}")
            cls = types[kind]
            fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
            kwargs = {}
            for key, value in data.items():
                if key == "type":
                    continue
                if key not in fields:
                    import difflib

                    close = difflib.get_close_matches(key, list(fields), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise GraphError(
                        f"{where} ({kind}) has no parameter {key!r}{hint}; expected one of {sorted(fields)}"
                    )
                kwargs[key] = from_plain(value, where=f"{where}.{key}", arrays=arrays)
                if isinstance(kwargs[key], list):
                    kwargs[key] = _tuples(kwargs[key])
            try:
                return cls(**kwargs)
            except GraphError:
                raise
            except (TypeError, ValueError) as err:
                raise GraphError(f"{where} ({kind}): {err}") from err
        return {k: from_plain(v, where=f"{where}.{k}", arrays=arrays) for k, v in data.items()}
    if isinstance(data, list):
        return [from_plain(v, where=f"{where}[{i}]", arrays=arrays) for i, v in enumerate(data)]
    return data


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value

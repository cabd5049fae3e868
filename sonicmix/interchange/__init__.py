"""Exchange with other tools: timelines made elsewhere, read as sonicmix graphs.

- :mod:`sonicmix.interchange.otio`: OpenTimelineIO timelines (an editor's
  cut, as ``.otio`` or any format an OTIO adapter reads) become a
  :class:`~sonicmix.graph.Graph` of tracks routed to stem buses. Needs the
  ``otio`` extra (``pip install sonicmix[otio]``).
- :mod:`sonicmix.interchange.aaf`: AAF files (Avid, Premiere Pro, Resolve)
  through OpenTimelineIO's AAF adapter, with clip gain, track level and pan,
  fades and cross-fades. Needs the ``aaf`` extra (``pip install sonicmix[aaf]``).

Nothing here is loaded by ``import sonicmix``; the names below are imported
from their module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_OTIO = ["read_otio", "OTIOImport", "OTIOImportError", "default_stem"]
_AAF = ["read_aaf", "AAFImport", "AAFImportError"]
__all__ = [*_OTIO, *_AAF]

_EXPORTS = {
    **{name: "sonicmix.interchange.otio" for name in _OTIO},
    **{name: "sonicmix.interchange.aaf" for name in _AAF},
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sonicmix.interchange' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""Exchange with other tools: timelines made elsewhere, read as sonicmix graphs.

- :mod:`sonicmix.interchange.otio`: OpenTimelineIO timelines (an editor's
  cut, as ``.otio`` or any format an OTIO adapter reads) become a
  :class:`~sonicmix.graph.Graph` of tracks routed to stem buses. Needs the
  ``otio`` extra (``pip install sonicmix[otio]``).

Nothing here is loaded by ``import sonicmix``; the names below are imported
from their module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["read_otio", "OTIOImport", "OTIOImportError", "default_stem"]

_EXPORTS = {name: "sonicmix.interchange.otio" for name in __all__}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sonicmix.interchange' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

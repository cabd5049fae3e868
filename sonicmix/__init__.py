"""sonicmix: audio sound design and mixing to broadcast loudness targets.

Importing the package loads only numpy; each public name is imported from its
module on first use, so ``import sonicmix`` stays fast (scipy.signal alone
takes most of a second to import here).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "SonicmixError": "sonicmix.errors",
    "ParameterError": "sonicmix.errors",
    "AudioError": "sonicmix.errors",
    "LayoutError": "sonicmix.errors",
    "AudioFileError": "sonicmix.errors",
    "Layout": "sonicmix.layouts",
    "measure": "sonicmix.loudness",
    "LoudnessMeter": "sonicmix.loudness",
    "LoudnessReport": "sonicmix.loudness",
    "read": "sonicmix.io",
    "write": "sonicmix.io",
}

__all__ = [
    "AudioError",
    "AudioFileError",
    "Layout",
    "LayoutError",
    "LoudnessMeter",
    "LoudnessReport",
    "ParameterError",
    "SonicmixError",
    "__version__",
    "measure",
    "read",
    "write",
]

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix.errors import AudioError, AudioFileError, LayoutError, ParameterError, SonicmixError
    from sonicmix.io import read, write
    from sonicmix.layouts import Layout
    from sonicmix.loudness import LoudnessMeter, LoudnessReport, measure


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'sonicmix' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

"""The exceptions sonicmix raises.

Every message names the thing at fault (``name=value``), says what was expected
and, where one helps, gives a hint. Each class also derives from the built-in
exception a caller would naturally catch (``ValueError``, ``OSError``).
"""

from __future__ import annotations

__all__ = [
    "SonicmixError",
    "ParameterError",
    "AudioError",
    "LayoutError",
    "AudioFileError",
    "GraphError",
]


class SonicmixError(Exception):
    """Base class of every error sonicmix raises on purpose."""


class ParameterError(SonicmixError, ValueError):
    """A parameter is out of range, of the wrong type or of the wrong unit."""


class AudioError(ParameterError):
    """Audio data is unusable: wrong shape or dtype, empty, NaN or inf samples."""


class LayoutError(ParameterError):
    """A channel layout is unknown or does not match the audio's channel count."""


class AudioFileError(SonicmixError, OSError):
    """An audio file cannot be read or written (missing, corrupt, unsafe path)."""


class GraphError(SonicmixError, ValueError):
    """A mix graph is invalid: an unknown name, a cycle, a layout that cannot be routed."""

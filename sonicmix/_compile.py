"""numba for the kernels, with a one-line notice when they are compiled (internal).

Every module with compiled kernels imports numba from here
(``from sonicmix._compile import numba``), so that importing any of them
also registers a listener on numba's compile event. That event fires only
when a kernel is really compiled: a signature already in the on-disk cache
(``cache=True``) is loaded without it. The first compile of a sonicmix kernel
in a process prints one line on stderr, which the command line and notebooks
show while the first run waits for the compiler (about 10 seconds for an
EQ, compressor and reverb chain on an empty cache); runs that load the kernels from the cache print nothing.

The cache is numba's: the ``__pycache__`` folder beside each module, or, if
that folder is not writable (a system-wide install), a folder under the
user's cache directory (``~/.cache/numba`` on Linux); ``NUMBA_CACHE_DIR``
overrides both. :func:`cache_dir` tells which folder a kernel uses.

Examples
--------
>>> NOTICE
'sonicmix: compiling kernels (first run only)...'
>>> import numba as plain
>>> numba is plain
True
"""

from __future__ import annotations

import sys
from typing import Any

import numba
from numba.core import event

__all__ = ["NOTICE", "numba", "cache_dir", "notices_shown", "enable_notice"]

NOTICE = "sonicmix: compiling kernels (first run only)..."


class _Notice(event.Listener):
    """Print :data:`NOTICE` at the start of the first compile of a sonicmix kernel."""

    def __init__(self) -> None:
        self.enabled = True
        self.shown = 0  # how many times the notice was printed (0 or 1 per process)

    def on_start(self, ev: event.Event) -> None:
        if self.shown or not self.enabled:
            return
        function = getattr(ev.data.get("dispatcher"), "py_func", None)
        # numba's own helpers compile inside a kernel's compile; a user's kernels are not ours to announce
        if not (getattr(function, "__module__", None) or "").startswith("sonicmix."):  # None: exec'd code
            return
        self.shown += 1
        stream = sys.stderr
        if stream is not None:  # pythonw and some services have no stderr
            try:
                stream.write(NOTICE + "\n")
                stream.flush()
            except (OSError, ValueError):  # a closed stream must not stop the compile
                pass

    def on_end(self, ev: event.Event) -> None:
        pass


_LISTENER = _Notice()
event.register("numba:compile", _LISTENER)


def notices_shown() -> int:
    """How many times this process printed the notice: 0, or 1 once a kernel was compiled.

    Examples
    --------
    >>> notices_shown() in (0, 1)
    True
    """
    return _LISTENER.shown


def enable_notice(enabled: bool = True) -> None:
    """Turn the notice on (default) or off for this process, e.g. for a quiet command line.

    Examples
    --------
    >>> enable_notice(False); enable_notice(True)
    """
    _LISTENER.enabled = bool(enabled)


def cache_dir(kernel: Any) -> str | None:
    """The folder where numba caches ``kernel`` (a ``numba.njit(cache=True)`` function), or None.

    Examples
    --------
    >>> from sonicmix.dsp import _cascade
    >>> cache_dir(_cascade._run) is not None
    True
    """
    cache = getattr(kernel, "_cache", None)
    return getattr(cache, "cache_path", None)

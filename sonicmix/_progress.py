"""Progress bars and log output for the command line (internal).

:class:`ProgressBar` is a callable with the signature of the ``progress``
argument of :func:`sonicmix.deliver.deliver` and
:func:`sonicmix.batch.render_many`, ``(stage, done, total)``, and draws one
`tqdm <https://tqdm.github.io>`_ bar per stage on stderr. :class:`LogHandler`
writes log records through ``tqdm.write`` while bars may be on screen, so a log
line never lands in the middle of a bar.

Only the command line uses this module; the library itself neither draws bars
nor configures logging.

Examples
--------
A disabled bar (``sonicmix --quiet``, or stderr is not a terminal) draws
nothing and costs one attribute test per call:

>>> bar = ProgressBar(enabled=False)
>>> bar("render", 48_000, 96_000)
>>> bar.close()
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

__all__ = ["ProgressBar", "LogHandler", "stream_is_terminal"]


def stream_is_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (default: ``sys.stderr``) is an interactive terminal.

    Examples
    --------
    >>> import io
    >>> stream_is_terminal(io.StringIO())
    False
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


class ProgressBar:
    """Draw ``(stage, done, total)`` progress as tqdm bars on stderr, one bar per stage.

    A call with a new ``stage`` (or with ``done`` below the last call's, a new
    pass of the same stage) closes the current bar and opens another; any
    other call moves the bar to ``done``. Pass an instance as
    ``progress=`` to :func:`sonicmix.deliver.deliver` or
    :func:`sonicmix.batch.render_many`.

    Parameters
    ----------
    enabled : bool, optional
        Draw bars. ``None`` (default) draws them only when ``file`` is a
        terminal, so logs and pipes stay free of control characters.
    unit : str, default "samples"
        What ``done`` and ``total`` count, shown after the numbers (with SI
        prefixes from 10 000 on: ``1.2M/4.8M samples``).
    units : dict of str to str, optional
        A unit per stage name, overriding ``unit`` (e.g. ``{"batch": "session"}``).
    file : text stream, optional
        Where to draw; ``sys.stderr`` at the time of each call by default.
    leave : bool, default False
        Keep finished bars on screen.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with ProgressBar(enabled=True, file=out, unit="session", leave=True) as bar:
    ...     for done in range(1, 4):
    ...         bar("batch", done, 3)
    >>> "3/3" in out.getvalue()
    True
    """

    def __init__(
        self,
        *,
        enabled: bool | None = None,
        unit: str = "samples",
        units: dict[str, str] | None = None,
        file: IO[str] | None = None,
        leave: bool = False,
    ) -> None:
        self._file = file
        self.enabled = stream_is_terminal(file) if enabled is None else bool(enabled)
        self.unit = unit
        self.units = dict(units or {})
        self.leave = leave
        self._bar: Any = None
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage or self._bar is None or done < self._bar.n:  # a new stage, or a new pass
            self._open(stage, total)
        bar = self._bar
        if total and bar.total != total:
            bar.total = total
        step = done - bar.n
        if step:
            bar.update(step)

    def _open(self, stage: str, total: int) -> None:
        from tqdm import tqdm

        self.close()
        self._stage = stage
        self._bar = tqdm(
            total=total or None,
            desc=stage,
            unit=self.units.get(stage, self.unit),
            unit_scale=total >= 10_000,  # 1.2M/4.8M samples, but 2/3 sessions
            leave=self.leave,
            file=self._file if self._file is not None else sys.stderr,
            dynamic_ncols=True,
            mininterval=0.2,
        )

    def close(self) -> None:
        """Close the current bar (a later call opens a new one)."""
        if self._bar is not None:
            self._bar.close()
        self._bar = None
        self._stage = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LogHandler(logging.Handler):
    """Write log records to stderr, through ``tqdm.write`` when progress bars may be drawn.

    The stream is looked up at each record (``sys.stderr`` unless given), so a
    caller that swaps ``sys.stderr`` (pytest's ``capsys``) sees the output.

    Parameters
    ----------
    bars : bool, default False
        Route records through ``tqdm.write``, which clears and redraws any bar.
    stream : text stream, optional
        Fixed destination instead of the current ``sys.stderr``.
    """

    def __init__(self, *, bars: bool = False, stream: IO[str] | None = None) -> None:
        super().__init__()
        self.bars = bars
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            stream = self.stream if self.stream is not None else sys.stderr
            if self.bars:
                from tqdm import tqdm

                tqdm.write(text, file=stream)
            else:
                stream.write(text + "\n")
                stream.flush()
        except Exception:  # logging must never raise into the program
            self.handleError(record)

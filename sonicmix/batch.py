"""Render many session files at once, each into its own folder, in parallel.

:func:`render_many` delivers every session with
:func:`sonicmix.session.render_session` into ``out_dir/<session stem>/``, on
a process pool by default or on any executor you pass: a
:class:`concurrent.futures.ThreadPoolExecutor` or ``ProcessPoolExecutor``, or
a ``dask.distributed.Client`` to spread the work over a cluster (install the
``cluster`` extra; the workers must see the session and audio files at the
same paths, and write ``out_dir`` on a shared file system).

A session that fails does not stop the others: :class:`BatchSummary` lists
every session's outcome (``ok``, ``not-compliant`` or ``error``, with the
message, the time it took and the loudness measured), prints as a table,
converts to JSON-safe data and gives the command line's exit status.

A session renders the same samples wherever it runs: the output of a batch
is identical to :func:`~sonicmix.session.render_session` called directly
(the BWF ``bext`` chunk records the time of writing, so set ``bext = false``
in the session to compare whole files byte for byte).
"""

from __future__ import annotations

import concurrent.futures as cf
import inspect
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sonicmix.errors import ParameterError, SonicmixError

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix.session import Session
    from sonicmix.targets import LoudnessTarget

__all__ = ["render_many", "BatchSummary", "SessionOutcome", "Status"]

logger = logging.getLogger(__name__)
# A library logs and never configures: without a handler of the application's, nothing prints.
logging.getLogger("sonicmix").addHandler(logging.NullHandler())

#: What became of one session: delivered and compliant, delivered (or not) without meeting the
#: target, or not rendered because of an error.
Status = Literal["ok", "not-compliant", "error"]

_EXIT = {"ok": 0, "not-compliant": 1, "error": 2}


@dataclass(frozen=True)
class SessionOutcome:
    """What :func:`render_many` did with one session.

    Attributes
    ----------
    session : str
        The session file, as given.
    status : {"ok", "not-compliant", "error"}
        ``ok``: delivered and compliant; ``not-compliant``: the delivery
        does not meet its target (the message says why); ``error``: the
        session could not be rendered.
    message : str
        One line: the target met, the reasons it was not, or the error
        (which names the session file, and the audio file when one is at fault).
    elapsed_s : float
        Time the session took, in seconds (in the worker).
    integrated_lufs : float or None
        Measured loudness of the delivered mix that was judged against the
        target (dialogue-gated for dialogue-gated targets); None when there is
        no mix or the level is undefined.
    true_peak_dbtp : float or None
        Measured true peak of the delivered mix.
    out_dir : str
        The session's output folder.
    target : str or None
        Name of the target it was delivered to.
    files : dict of str to str
        Deliverable name to path (empty when nothing was written).
    warnings : tuple of str
        The delivery's warnings (heavy limiting; see :attr:`sonicmix.deliver.Delivery.warnings`).
    """

    session: str
    status: Status
    message: str
    elapsed_s: float
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    out_dir: str = ""
    target: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values."""
        return asdict(self)


def _number(value: float | None, unit: str, places: int) -> str:
    return "-" if value is None else f"{value:.{places}f} {unit}"


@dataclass(frozen=True)
class BatchSummary:
    """Every session's outcome, in the order the sessions were given.

    ``str(summary)`` is a table; :meth:`to_dict` is JSON-safe;
    :attr:`exit_code` is 0 when every session is compliant, 1 when some are
    not (and none failed), 2 when any session failed with an error.

    Examples
    --------
    >>> summary = BatchSummary(
    ...     outcomes=(
    ...         SessionOutcome("ep01.toml", "ok", "ebu-r128: compliant", 1.5, -23.0, -3.1),
    ...         SessionOutcome("ep02.toml", "error", "ep02.toml: no such session file", 0.0),
    ...     ),
    ...     elapsed_s=1.6,
    ... )
    >>> summary.exit_code, summary.counts
    (2, {'ok': 1, 'not-compliant': 0, 'error': 1})
    >>> print(summary)
    2 sessions in 1.6 s: 1 ok, 0 not compliant, 1 error
      session    status  integrated   true peak   time
      ep01.toml  ok      -23.00 LUFS  -3.10 dBTP  1.5 s
      ep02.toml  error   -            -           0.0 s
      ep02.toml: no such session file
    """

    outcomes: tuple[SessionOutcome, ...]
    elapsed_s: float = 0.0
    out_dir: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """Number of sessions per status."""
        return {status: sum(o.status == status for o in self.outcomes) for status in _EXIT}

    @property
    def exit_code(self) -> int:
        """0 all compliant, 1 some not compliant, 2 some error (the worst outcome wins)."""
        return max((_EXIT[o.status] for o in self.outcomes), default=0)

    @property
    def passed(self) -> bool:
        """True when every session was delivered and is compliant."""
        return self.exit_code == 0

    def headline(self) -> str:
        """One line: how many sessions, how long, how many of each status."""
        n = len(self.outcomes)
        c = self.counts
        return (
            f"{n} session{'s' if n != 1 else ''} in {self.elapsed_s:.1f} s: {c['ok']} ok, "
            f"{c['not-compliant']} not compliant, {c['error']} error{'s' if c['error'] != 1 else ''}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values: counts, exit code, elapsed time and each outcome."""
        return {
            "out_dir": self.out_dir,
            "elapsed_s": self.elapsed_s,
            "exit_code": self.exit_code,
            "counts": self.counts,
            "sessions": [o.to_dict() for o in self.outcomes],
        }

    def __str__(self) -> str:
        rows = [("session", "status", "integrated", "true peak", "time")]
        for o in self.outcomes:
            rows.append(
                (
                    o.session,
                    o.status,
                    _number(o.integrated_lufs, "LUFS", 2),
                    _number(o.true_peak_dbtp, "dBTP", 2),
                    f"{o.elapsed_s:.1f} s",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [self.headline()]
        lines += [
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
        for o in self.outcomes:
            if o.status != "ok":  # error messages already start with the session's path
                named = o.message.startswith((o.session, os.path.abspath(o.session)))
                lines.append(f"  {o.message}" if named else f"  {o.session}: {o.message}")
            lines += [f"  {o.session}: warning: {w}" for w in o.warnings]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------- worker


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _render_one(
    session: str | Session,
    given: str,
    out_dir: str,
    target: LoudnessTarget | None,
    options: dict[str, Any] | None = None,
) -> dict:
    """Render one session; never raises for a problem with the session (the outcome says it)."""
    from sonicmix.session import load_session, render_session

    started = time.perf_counter()
    base: dict[str, Any] = {"session": given, "out_dir": out_dir}
    try:
        loaded = load_session(session) if isinstance(session, str) else session
        delivery = render_session(loaded, out_dir, target=target, **(options or {}))
    except KeyboardInterrupt:
        raise
    except (SonicmixError, OSError) as err:
        # Session errors start with the session file's path; give every other error the same prefix.
        text = str(err)
        where = session if isinstance(session, str) else given
        message = text if text.startswith(where) else f"{where}: {text}"
        return {**base, "status": "error", "message": message, "elapsed_s": time.perf_counter() - started}
    except Exception as err:  # a bug: still an outcome, so the other sessions are delivered
        message = f"{given}: unexpected {type(err).__name__}: {err}"
        return {**base, "status": "error", "message": message, "elapsed_s": time.perf_counter() - started}
    compliance = delivery.compliance
    loudness = peak = None
    if compliance is not None:
        loudness = _finite(compliance["integrated"].measured)
        peak = _finite(compliance["true_peak"].measured)
    if delivery.passed:
        status, message = "ok", f"{delivery.target.name}: compliant"
    else:
        status = "not-compliant"
        why = "; ".join(delivery.reasons) or "the delivery does not meet its target"
        message = f"{delivery.target.name}: {why}"
    return {
        **base,
        "status": status,
        "message": message,
        "elapsed_s": time.perf_counter() - started,
        "integrated_lufs": loudness,
        "true_peak_dbtp": peak,
        "target": delivery.target.name,
        "files": dict(delivery.files),
        "warnings": tuple(delivery.warnings),
    }


def _init_worker(level: int, fmt: str) -> None:
    """Process-pool initializer: log like the parent (the command line) does."""
    root = logging.getLogger("sonicmix")
    root.setLevel(level)
    if not root.handlers:  # a forked worker inherits the parent's handler
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(fmt))
        root.addHandler(handler)


# ------------------------------------------------------------------------------------------- parent


def _jobs(sessions: Iterable[str | os.PathLike[str] | Session]) -> list[tuple[str | Session, str, str]]:
    """``(what to render, path as given, stem)`` per session; refuses duplicate stems."""
    from sonicmix.session import Session

    jobs: list[tuple[str | Session, str, str]] = []
    for i, item in enumerate(sessions):
        if isinstance(item, Session):
            if not item.path:
                raise ParameterError(
                    f"sessions[{i}] is a Session without a path; expected a session file, or a Session "
                    "read with load_session (its file's name names the output folder)"
                )
            jobs.append((item, item.path, Path(item.path).stem))
        elif isinstance(item, (str, os.PathLike)):
            given = os.fspath(item)
            if not os.path.isfile(given):
                # a shell leaves a glob that matches nothing as it is: "sessions/*.toml"
                glob = any(c in given for c in "*?[")
                if glob:
                    what = "matches no file"
                elif os.path.exists(given):
                    what = "is not a regular file"
                else:
                    what = "does not exist"
                hint = " (a shell pattern that matched nothing is passed on as it is)" if glob else ""
                raise ParameterError(
                    f"sessions[{i}]={given!r} {what}; expected a session file (.toml){hint}. "
                    "Nothing was rendered"
                )
            jobs.append((os.path.abspath(given), given, Path(given).stem))
        else:
            raise ParameterError(
                f"sessions[{i}]={item!r} is a {type(item).__name__}; expected the path of a session file"
            )
    if not jobs:
        raise ParameterError("sessions is empty; expected at least one session file")
    seen: dict[str, str] = {}
    for _, given, stem in jobs:
        key = stem.casefold()  # folders that differ only in case collide on macOS and Windows
        if key in seen:
            raise ParameterError(
                f"sessions {seen[key]!r} and {given!r} would both render into the folder {stem!r}; "
                "expected session files with different names (rename one; nothing was rendered)"
            )
        seen[key] = given
    return jobs


def _default_executor(n_jobs: int, max_workers: int | None) -> cf.Executor:
    import multiprocessing

    # Not "fork": forking a process that runs threads (numba's, tqdm's monitor) can deadlock.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    workers = max_workers if max_workers is not None else max(1, min(n_jobs, os.cpu_count() or 1))
    parent = logging.getLogger("sonicmix")
    kwargs: dict[str, Any] = {}
    if parent.handlers:  # the command line configured logging: do the same in the workers
        fmt = "%(levelname)s %(name)s [worker %(process)d]: %(message)s"
        kwargs = {"initializer": _init_worker, "initargs": (parent.getEffectiveLevel(), fmt)}
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, **kwargs)


def _submitter(executor: Any) -> Callable[..., Any]:
    submit = getattr(executor, "submit", None)
    if not callable(submit):
        raise ParameterError(
            f"executor={executor!r} has no submit(); expected a concurrent.futures.Executor or a "
            "dask.distributed.Client"
        )
    try:
        takes_pure = "pure" in inspect.signature(submit).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        takes_pure = False
    if takes_pure:  # dask: every call renders files, so never merge two calls into one
        return lambda fn, *args: submit(fn, *args, pure=False)
    return submit


def _completed(futures: list[Any]) -> Iterator[Any]:
    """Yield futures as they finish, whatever library made them."""
    if all(isinstance(f, cf.Future) for f in futures):
        yield from cf.as_completed(futures)
    elif futures and type(futures[0]).__module__.split(".")[0] == "distributed":
        from distributed import as_completed

        yield from as_completed(futures)
    else:  # any other future with done() and result(): poll
        pending = list(futures)
        while pending:
            ready = [f for f in pending if not hasattr(f, "done") or f.done()]
            if not ready:
                time.sleep(0.05)
                continue
            for f in ready:
                pending.remove(f)
                yield f


def render_many(
    sessions: Sequence[str | os.PathLike[str] | Session],
    out_dir: str | os.PathLike[str],
    *,
    target: LoudnessTarget | str | None = None,
    executor: Any = None,
    max_workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    overwrite: bool = False,
    warn_limiting_db: float | None = None,
) -> BatchSummary:
    """Deliver every session into ``out_dir/<session stem>/``, in parallel.

    Parameters
    ----------
    sessions : sequence of path or Session
        Session files (see ``docs/sessions.md``), or sessions read with
        :func:`~sonicmix.session.load_session`. Their file names without the
        extension name the output folders, so they must differ.
    out_dir : path
        Folder for the sessions' folders (created if missing).
    target : LoudnessTarget or str, optional
        Overrides every session's own target.
    executor : Executor or dask.distributed.Client, optional
        Where the sessions run: anything with ``submit(fn, *args)`` returning
        futures (a ``dask.distributed.Client`` is called with ``pure=False``).
        It is left open. By default a ``ProcessPoolExecutor`` is created for
        the batch and shut down after it.
    max_workers : int, optional
        Processes of the default pool (default: one per session, at most one
        per CPU). Ignored when ``executor`` is given.
    progress : callable, optional
        Called as ``progress("batch", sessions_done, sessions_total)`` as each
        session finishes (e.g. :class:`sonicmix._progress.ProgressBar`).
    overwrite : bool, default False
        Replace a delivery of the same name already in a session's folder;
        without it such a session's outcome is an error, checked before it
        renders (see :func:`sonicmix.deliver.deliver`).
    warn_limiting_db : float, optional
        Overrides the deliveries' limiting warning threshold (default 3 dB).

    Returns
    -------
    BatchSummary
        One outcome per session, in the order given.

    Raises
    ------
    ParameterError
        Before anything renders: for no sessions, a session file that does
        not exist (a shell glob that matched nothing), two sessions with the same
        file name (they would share a folder), an unknown target, or an
        invalid ``max_workers`` or ``executor``. Problems with a session
        itself become its outcome instead.

    Examples
    --------
    >>> import os, tempfile
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> import numpy as np
    >>> import sonicmix.io as sio
    >>> folder = tempfile.mkdtemp()
    >>> t = np.arange(3 * 48_000) / 48_000
    >>> _ = sio.write(os.path.join(folder, "tone.wav"), 0.1 * np.sin(2 * np.pi * 440 * t)[None], 48_000)
    >>> with open(os.path.join(folder, "ep01.toml"), "w") as fh:
    ...     _ = fh.write('''
    ... [session]
    ... target = "ebu-r128"
    ... [tracks.tone]
    ... layout = "mono"
    ... [[tracks.tone.clips]]
    ... file = "tone.wav"
    ... [buses.master]
    ... ''')
    >>> with ThreadPoolExecutor(1) as pool:
    ...     summary = render_many([os.path.join(folder, "ep01.toml")], os.path.join(folder, "out"),
    ...                           executor=pool)
    >>> summary.exit_code, summary.outcomes[0].status, round(summary.outcomes[0].integrated_lufs)
    (0, 'ok', -23)
    >>> "mix.wav" in os.listdir(os.path.join(folder, "out", "ep01"))
    True
    >>> import shutil; shutil.rmtree(folder)
    """
    from sonicmix.targets import get_target

    started = time.perf_counter()
    jobs = _jobs(sessions)
    chosen = None if target is None else get_target(target)
    if max_workers is not None and (
        isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
    ):
        raise ParameterError(f"max_workers={max_workers!r}; expected a whole number >= 1, or None")
    options: dict[str, Any] = {"overwrite": bool(overwrite)}
    if warn_limiting_db is not None:
        from sonicmix._checks import check_range

        check_range("warn_limiting_db", warn_limiting_db, low=0.0, hint="dB of gain reduction, e.g. 3.0")
        options["warn_limiting_db"] = warn_limiting_db
    own = executor is None
    if not own:
        _submitter(executor)  # refuse a wrong executor before creating anything
    root = os.path.abspath(os.fspath(out_dir))
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as err:
        raise ParameterError(
            f"out_dir={os.fspath(out_dir)!r} cannot be created ({err.strerror or err})"
        ) from err
    pool = _default_executor(len(jobs), max_workers) if own else executor
    submit = _submitter(pool)
    logger.info(
        "rendering %d session(s) into %s on %s",
        len(jobs),
        root,
        "a process pool" if own else type(pool).__name__,
    )
    results: list[dict[str, Any] | None] = [None] * len(jobs)
    index_of: dict[int, int] = {}
    futures: list[Any] = []
    try:
        for i, (what, given, stem) in enumerate(jobs):
            folder = os.path.join(root, stem)
            try:
                future = submit(_render_one, what, given, folder, chosen, options)
            except Exception as err:  # e.g. a closed executor, or a session that cannot be pickled
                results[i] = {
                    "session": given,
                    "out_dir": folder,
                    "status": "error",
                    "message": f"{given}: could not be submitted: {type(err).__name__}: {err}",
                    "elapsed_s": 0.0,
                }
                continue
            index_of[id(future)] = i
            futures.append(future)
        done = sum(r is not None for r in results)
        if progress is not None:
            progress("batch", done, len(jobs))
        for future in _completed(futures):
            i = index_of[id(future)]
            given = jobs[i][1]
            try:
                results[i] = future.result()
            except Exception as err:  # the worker died, or the executor failed: this session only
                results[i] = {
                    "session": given,
                    "out_dir": os.path.join(root, jobs[i][2]),
                    "status": "error",
                    "message": f"{given}: the worker failed: {type(err).__name__}: {err}",
                    "elapsed_s": 0.0,
                }
            outcome: dict[str, Any] = results[i]  # type: ignore[assignment]
            # INFO, not WARNING: a failed session is a result (in the summary), not a library problem.
            logger.info(
                "%s: %s in %.1f s (%s)", given, outcome["status"], outcome["elapsed_s"], outcome["message"]
            )
            done += 1
            if progress is not None:
                progress("batch", done, len(jobs))
    except BaseException:
        for future in futures:
            cancel = getattr(future, "cancel", None)
            if callable(cancel):
                cancel()
        if own:
            pool.shutdown(wait=False, cancel_futures=True)
            own = False
        raise
    finally:
        if own:
            pool.shutdown(wait=True)
    outcomes = tuple(SessionOutcome(**r) for r in results if r is not None)
    summary = BatchSummary(outcomes=outcomes, elapsed_s=time.perf_counter() - started, out_dir=root)
    logger.debug("%s", summary.headline())
    return summary

"""Jobs shared between a pool's workers and the thread that waits for them.

``threads=N`` means N threads at work: a pool of N - 1 workers, and the thread that hands out
the jobs, which runs every job no worker has started yet when it comes to wait for them
instead of idling. Nothing here changes what a job computes, only which thread runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["Job", "drop", "pool_for", "run_all", "submit"]


def pool_for(threads: int, name: str) -> ThreadPoolExecutor | None:
    """The workers that, with the waiting thread, make ``threads`` threads (None for one thread).

    Examples
    --------
    >>> pool_for(1, "example") is None
    True
    """
    if threads <= 1:
        return None
    return ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix=name)


@dataclass
class Job:
    """A call handed to a pool (``future``), which the waiting thread may still take over."""

    call: Callable[[], Any]
    future: Future[Any] | None


def submit(pool: ThreadPoolExecutor | None, call: Callable[[], Any]) -> Job:
    """Hand ``call`` to the pool's workers; without a pool it runs when waited for."""
    return Job(call, None if pool is None else pool.submit(call))


def run_all(jobs: Sequence[Job]) -> list[Any]:
    """The jobs' results in order, the jobs no worker has started run on this thread.

    Every job has ended when this returns or raises. The error raised is the first in job
    order, as one thread running them in order would meet it; after an error, jobs not
    started yet are dropped (a file that will be thrown away gets no more blocks).

    Examples
    --------
    >>> pool = pool_for(2, "example")
    >>> run_all([submit(pool, lambda i=i: i * i) for i in range(5)])
    [0, 1, 4, 9, 16]
    >>> pool.shutdown()
    """
    outcomes: list[tuple[bool, Any] | None] = [None] * len(jobs)
    failed = False
    for i, job in enumerate(jobs):  # first the jobs no worker has taken: this thread runs them
        if job.future is None or job.future.cancel():
            if failed:
                outcomes[i] = (True, None)
                continue
            try:
                outcomes[i] = (True, job.call())
            except BaseException as err:  # noqa: PERF203 - the others are still waited for
                outcomes[i], failed = (False, err), True
    for i, job in enumerate(jobs):  # then the ones the workers run
        if outcomes[i] is None and job.future is not None:
            try:
                outcomes[i] = (True, job.future.result())
            except BaseException as err:  # noqa: PERF203
                outcomes[i] = (False, err)
    for outcome in outcomes:
        if outcome is not None and not outcome[0]:
            raise outcome[1]
    return [outcome[1] if outcome is not None else None for outcome in outcomes]


def drop(jobs: Sequence[Job]) -> None:
    """Cancel the jobs no worker has started and wait for the others, whatever they raise.

    For the way out of an error: once this returns, nothing is still writing to a file
    that the caller is about to remove.
    """
    started = [job.future for job in jobs if job.future is not None and not job.future.cancel()]
    for future in started:
        try:
            future.result()
        except BaseException:  # noqa: S110 - the error being raised already says what failed
            pass

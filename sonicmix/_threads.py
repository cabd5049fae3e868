"""Jobs shared between a pool's workers and the thread that waits for them.

``threads=N`` means N threads at work: a pool of N - 1 workers, and the thread that hands out
the jobs, which runs every job no worker has started yet when it comes to wait for them
instead of idling. Nothing here changes what a job computes, only which thread runs it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["Job", "Lane", "drop", "pool_for", "run_all", "settle_lanes", "stop_lanes", "submit"]


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


class Lane:
    """Items handled by ``work`` (by default: called) strictly in the order given, by one thread at a time.

    :meth:`push` queues an item (numbered by the caller, in increasing order) and, when
    the lane is idle, hands the pool one job that works through the queue; so one file's
    blocks are written in order while other lanes' run beside them, and a block can be
    queued while the previous one is still being written. Without a pool, items wait for
    :meth:`wait`, which runs them on the calling thread. After an error the lane takes
    no more items; :attr:`error` holds the item's number and the exception.

    Examples
    --------
    >>> seen = []
    >>> lane = Lane(None, seen.append)
    >>> lane.push(0, "a"); lane.push(1, "b"); lane.wait(1)
    >>> seen, lane.done
    (['a', 'b'], 1)
    """

    def __init__(self, pool: ThreadPoolExecutor | None, work: Callable[[Any], None] | None = None) -> None:
        self._pool, self._work = pool, _call if work is None else work
        self._changed = threading.Condition()
        self._queue: deque[tuple[int, Any]] = deque()
        self._job: Future[None] | None = None  # the pool's job while it may still take items
        self._stopped = False
        self.done = -1  # the number of the last item handled
        self.error: tuple[int, BaseException] | None = None

    def push(self, index: int, item: Any) -> None:
        """Queue ``item`` as number ``index``; ignored once the lane has failed or stopped."""
        with self._changed:
            if self.error is not None or self._stopped:
                return
            self._queue.append((index, item))
            if self._job is None and self._pool is not None:
                self._job = self._pool.submit(self._drain)

    def _drain(self, until: float = float("inf")) -> None:
        """Handle the queued items in order (those numbered up to ``until``)."""
        while True:
            with self._changed:
                if not self._queue or self._stopped or self._queue[0][0] > until:
                    self._job = None
                    self._changed.notify_all()
                    return
                index, item = self._queue.popleft()
            try:
                self._work(item)
            except BaseException as err:  # noqa: BLE001 - kept for the waiting thread to raise in order
                with self._changed:
                    self.error = (index, err)
                    self._queue.clear()
            with self._changed:
                self.done = index
                self._changed.notify_all()

    def run_unstarted(self, index: int) -> None:
        """Handle the items up to ``index`` on this thread if no worker has started on the lane.

        The items after it go back to the pool.
        """
        with self._changed:
            if self.done >= index:  # nothing to take over: a job queued for later items stays queued
                return
            job = self._job
            if job is not None:
                if not job.cancel():
                    return  # a worker is on it
                self._job = None
            elif not self._queue:
                return
        self._drain(index)
        with self._changed:
            if self._queue and self._pool is not None and not self._stopped and self.error is None:
                self._job = self._pool.submit(self._drain)

    def wait(self, index: int) -> None:
        """Return once item ``index`` is handled, or the lane has failed or stopped."""
        with self._changed:
            while self.done < index and self.error is None and self._job is not None and not self._stopped:
                self._changed.wait()
        self.run_unstarted(index)  # without a pool, or queued after the pool's job had ended

    def stop(self) -> None:
        """Drop the queued items, cancel the job if not started, and wait for the item in hand."""
        with self._changed:
            self._stopped = True
            self._queue.clear()
            job = self._job
            if job is not None and job.cancel():
                self._job = job = None
        if job is not None:
            try:
                job.result()
            except BaseException:  # noqa: S110 - the error being raised already says what failed
                pass


def _call(item: Callable[[], Any]) -> None:
    item()


def settle_lanes(lanes: Sequence[Lane], index: int) -> None:
    """Wait until every lane has handled item ``index``; raise the first error in item, then lane order.

    On an error every lane is stopped first (see :func:`stop_lanes`), so nothing is still
    writing when the caller cleans up, and the error raised is the one a single thread
    handling the items in that order would have met first.
    """
    for lane in lanes:  # first the lanes no worker has started on: this thread handles their items
        lane.run_unstarted(index)
        if lane.error is not None and lane.error[0] <= index:
            break  # the lanes after it do not handle this item, as one thread would not
    else:
        for lane in lanes:  # then the ones the workers are on
            lane.wait(index)
    # an error in a later item waits for its turn: a lane before it may fail first in that item
    failed = [(e[0], i, e[1]) for i, e in enumerate(lane.error for lane in lanes) if e and e[0] <= index]
    if failed:
        stop_lanes(lanes)
        raise min(failed, key=lambda f: f[:2])[2]


def stop_lanes(lanes: Sequence[Lane]) -> None:
    """Stop every lane (see :meth:`Lane.stop`): for the way out of an error."""
    for lane in lanes:
        lane.stop()

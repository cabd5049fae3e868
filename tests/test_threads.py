"""Jobs shared between a pool and the waiting thread: results in order, errors as one thread meets them."""

from __future__ import annotations

import threading

import pytest

from sonicmix._threads import drop, pool_for, run_all, submit
from sonicmix.errors import AudioError


def test_the_waiting_thread_runs_what_no_worker_has_started():
    pool = pool_for(2, "test")
    try:
        gate = threading.Event()
        ran_on = {}

        def job(i):
            if i == 0:  # holds the only worker until the waiting thread has taken the others
                gate.wait(5.0)
            ran_on[i] = threading.current_thread().name
            if i == 3:
                gate.set()
            return i * 10

        assert run_all([submit(pool, lambda i=i: job(i)) for i in range(4)]) == [0, 10, 20, 30]
        assert ran_on[0].startswith("test") and {ran_on[i] for i in (1, 2, 3)} == {"MainThread"}
    finally:
        pool.shutdown()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_first_error_in_job_order_is_raised_after_every_job_has_ended(threads):
    pool = pool_for(threads, "test")
    ended = []

    def job(i):
        ended.append(i)
        if i in (1, 2):
            raise AudioError(f"job {i} failed")

    try:
        with pytest.raises(AudioError, match="^job 1 failed$"):
            run_all([submit(pool, lambda i=i: job(i)) for i in range(2)] + [submit(None, lambda: job(2))])
        assert sorted(ended) == [0, 1]  # the job not started when the error came is dropped
    finally:
        if pool is not None:
            pool.shutdown()


def test_drop_waits_for_started_jobs_and_cancels_the_rest():
    pool = pool_for(2, "test")
    started, release, ended = threading.Event(), threading.Event(), []

    def slow():
        started.set()
        release.wait(5.0)
        ended.append("slow")
        raise AudioError("ignored: the caller is already raising its own error")

    try:
        jobs = [submit(pool, slow), submit(pool, lambda: ended.append("queued"))]
        started.wait(5.0)
        threading.Timer(0.05, release.set).start()
        drop(jobs)
        assert ended == ["slow"]
    finally:
        pool.shutdown()

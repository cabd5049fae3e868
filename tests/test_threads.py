"""Jobs shared between a pool and the waiting thread: results in order, errors as one thread meets them."""

from __future__ import annotations

import threading

import pytest

from sonicmix._threads import Lane, drop, pool_for, run_all, settle_lanes, stop_lanes, submit
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


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_lanes_handle_their_items_in_order_one_at_a_time_two_items_deep(threads):
    import random
    import time

    pool = pool_for(threads, "test")
    seen = {lane: [] for lane in range(4)}
    busy = {lane: threading.Lock() for lane in range(4)}
    overlaps = []
    timing = random.Random(7)

    def work(item):
        lane, index = item
        if not busy[lane].acquire(blocking=False):  # another thread in the same lane
            overlaps.append(item)
            return
        time.sleep(timing.random() * 0.002)
        seen[lane].append(index)
        busy[lane].release()

    lanes = [Lane(pool, work) for _ in range(4)]
    try:
        for index in range(40):
            if index >= 2:
                settle_lanes(lanes, index - 2)  # as limited_pass: two items in flight per lane
                assert all(lane.done >= index - 2 for lane in lanes)
            for lane_number, lane in enumerate(lanes):
                lane.push(index, (lane_number, index))
        settle_lanes(lanes, 39)
        assert overlaps == [] and all(items == list(range(40)) for items in seen.values())
    finally:
        if pool is not None:
            pool.shutdown()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_lanes_raise_the_first_error_in_item_then_lane_order_and_stop(threads):
    """Lane 1 fails at item 2 first; lane 0 fails at item 2 later, after its item 1: lane 0's error is
    the one a single thread meets first. Every lane has stopped when it is raised."""
    pool = pool_for(threads, "test")
    handled = []
    lane0_may_fail = threading.Event()

    def work(item):
        lane, index = item
        if (lane, index) == (0, 2):
            lane0_may_fail.wait(5.0)
            raise AudioError("lane 0 failed at item 2")
        if (lane, index) == (1, 2):
            lane0_may_fail.set()
            raise AudioError("lane 1 failed at item 2")
        handled.append(item)

    lanes = [Lane(pool, work) for _ in range(3)]
    try:
        for index in range(2):
            for n, lane in enumerate(lanes):
                lane.push(index, (n, index))
        settle_lanes(lanes, 0)
        for n, lane in enumerate(lanes):
            lane.push(2, (n, 2))
        if pool is None:
            lane0_may_fail.set()  # one thread: lane 0 runs first anyway
        settle_lanes(lanes, 1)
        with pytest.raises(AudioError, match="^lane 0 failed at item 2$"):
            settle_lanes(lanes, 2)
        for n, lane in enumerate(lanes):
            lane.push(3, (n, 3))  # a stopped lane takes nothing more
        assert not any(index == 3 for _, index in handled)
        assert sorted(i for i in handled if i[1] < 2) == [(n, i) for n in range(3) for i in range(2)]
        if pool is None:  # lanes after the failing one do not handle the item, as one thread would not
            assert (2, 2) not in handled
    finally:
        if pool is not None:
            pool.shutdown()


def test_stopping_a_lane_waits_for_the_item_in_hand_and_drops_the_queue():
    pool = pool_for(2, "test")
    started, release, ended = threading.Event(), threading.Event(), []

    def work(item):
        if item == "slow":
            started.set()
            release.wait(5.0)
        ended.append(item)

    lane = Lane(pool, work)
    try:
        lane.push(0, "slow")
        lane.push(1, "queued")
        started.wait(5.0)
        threading.Timer(0.05, release.set).start()
        stop_lanes([lane])
        assert ended == ["slow"]
    finally:
        pool.shutdown()


def test_settling_an_item_already_handled_leaves_the_next_items_job_with_the_pool():
    # The worker is busy elsewhere, so item 1's job waits in the pool's queue. Settling item 0,
    # already handled, must neither take item 1 over nor cancel its job and hand over a new one
    # (in a delivery that churn doubled the jobs handed to the pool, each held Python's lock).
    pool = pool_for(2, "test")
    busy, release, handed = threading.Event(), threading.Event(), []
    submit_to_pool = pool.submit

    def counted(call):
        handed.append(call)
        return submit_to_pool(call)

    pool.submit = counted
    lane = Lane(pool, lambda item: None)
    try:
        lane.push(0, "first")
        lane.wait(0)
        submit_to_pool(lambda: (busy.set(), release.wait(5.0)))
        busy.wait(5.0)
        lane.push(1, "second")
        assert len(handed) == 2  # one job per idle lane: item 0's, then item 1's
        settle_lanes([lane], 0)
        assert len(handed) == 2 and lane.done == 0  # item 1 still waits for the worker
        release.set()
        lane.wait(1)
        assert lane.done == 1
    finally:
        release.set()
        pool.shutdown()

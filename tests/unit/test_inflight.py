"""app.core.inflight: results in order, never more than `concurrency` running, the jobs'
generator drawn lazily, and a failure raised in order with no job started after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from app.core.inflight import CallCount, in_flight


class Tracker:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started: list[int] = []

    def work(self, job: int) -> int:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started.append(job)
        time.sleep(0.002 * (job % 3))  # finish out of order
        with self.lock:
            self.running -= 1
        if job == 13:
            raise ValueError("job 13")
        return job * job


@pytest.mark.parametrize("concurrency", [1, 3])
def test_results_come_in_order_with_at_most_concurrency_running(concurrency: int) -> None:
    tracker = Tracker()
    assert list(in_flight(tracker.work, range(12), concurrency)) == [j * j for j in range(12)]
    assert tracker.most <= concurrency
    assert concurrency == 1 or tracker.most > 1


def test_jobs_are_drawn_lazily() -> None:
    drawn: list[int] = []

    def jobs() -> Iterator[int]:
        for job in range(100):
            drawn.append(job)
            yield job

    results = in_flight(lambda job: job, jobs(), 4)
    assert next(results) == 0
    assert len(drawn) <= 5  # the one returned, and at most 4 in flight
    results.close()


def test_a_failure_is_raised_in_order_and_no_job_starts_after_it() -> None:
    tracker = Tracker()
    seen: list[int] = []
    with pytest.raises(ValueError, match="job 13"):
        for result in in_flight(tracker.work, range(100), 3):
            seen.append(result)
    assert seen == [j * j for j in range(13)]
    assert max(tracker.started) <= 13 + 3  # those already in flight when 13 failed


def test_call_count_adds_from_many_threads() -> None:
    count = CallCount()
    threads = [
        threading.Thread(target=lambda: [count.add() for _ in range(10_000)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count.value == 40_000


def test_a_failure_drawing_the_next_job_comes_after_the_results_before_it() -> None:
    def jobs() -> Iterator[int]:
        yield from range(5)
        raise OSError("the source broke")

    seen: list[int] = []
    with pytest.raises(OSError, match="the source broke"):
        for result in in_flight(lambda job: job * 10, jobs(), 3, threads=2):
            seen.append(result)
    assert seen == [0, 10, 20, 30, 40]

"""A few calls in flight: an AWS call mostly waits on the network (or on the service's CPU),
so overlapping a few of them lets the caller's thread keep producing the next requests."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


def in_flight(
    work: Callable[[Job], Result], jobs: Iterable[Job], concurrency: int, name: str = "aws"
) -> Iterator[Result]:
    """`work(job)` for each job, in order, at most `concurrency` at once. Jobs are drawn from
    the caller's thread as room frees up (a generator is never run ahead by more than
    `concurrency`). The first failure is raised in order, and no job is started after it
    (those running finish first)."""
    if concurrency <= 1:
        yield from map(work, jobs)
        return
    with ThreadPoolExecutor(concurrency, thread_name_prefix=name) as pool:
        running: deque[Future[Result]] = deque()
        try:
            for job in jobs:
                if len(running) >= concurrency:
                    yield running.popleft().result()
                running.append(pool.submit(work, job))
            while running:
                yield running.popleft().result()
        finally:
            for future in running:
                future.cancel()


class CallCount:
    """A count of calls made, safe to add to from several threads."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, count: int = 1) -> None:
        with self._lock:
            self.value += count

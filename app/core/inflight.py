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
    work: Callable[[Job], Result],
    jobs: Iterable[Job],
    concurrency: int,
    name: str = "in-flight",
    threads: int | None = None,
) -> Iterator[Result]:
    """`work(job)` for each job, in order, at most `concurrency` submitted at once (on
    `threads` threads, by default as many). Jobs are drawn from the caller's thread as room
    frees up (a generator is never run ahead by more than `concurrency`). A failure, of a job
    or of drawing the next one, is raised in order: after the results before it; no job is
    started after it (those running finish first)."""
    if concurrency <= 1:
        yield from map(work, jobs)
        return
    source = iter(jobs)
    with ThreadPoolExecutor(threads or concurrency, thread_name_prefix=name) as pool:
        running: deque[Future[Result]] = deque()
        failure: Exception | None = None
        try:
            while True:
                try:
                    job = next(source)
                except StopIteration:
                    break
                except Exception as exc:  # raised after the results of the jobs before it
                    failure = exc
                    break
                if len(running) >= concurrency:
                    yield running.popleft().result()
                running.append(pool.submit(work, job))
            while running:
                yield running.popleft().result()
            if failure is not None:
                raise failure
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

"""Exponential backoff with full jitter (as AWS recommends for throttled batch writes), for a
bounded number of attempts: what is left after the last one is the caller's TransientError."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    max_attempts: int = 8
    base_delay: float = 0.05
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[float, float], float] = random.uniform

    def attempts(self) -> Iterator[int]:
        """0, 1, ... max_attempts - 1, sleeping a random 0..min(max, base * 2^(n-1)) before
        attempt n (full jitter: retries of many clients do not line up)."""
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(
                    self.jitter(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
                )
            yield attempt

"""Which upload of a key wins: one run per source at a time, newest upload last.

S3 may deliver the events of one key late, twice, or out of order. Each source has a small
state record (where a conditional write can guard it: an S3 object written with If-Match /
If-None-Match) naming the newest upload claimed so far, by the event's `sequencer`, and
whether a run holds it. A run claims the record before it reads, and releases it when done:
- an event older than the record's is superseded (consumed, never written);
- while another run holds an unexpired lease, the claim waits, then fails transiently (the
  message is retried), so two runs never interleave their writes;
- an equal or newer event takes the record over.
No AWS here: the store is a Protocol (app.adapters.s3.S3StateStore in the function).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

from app.core.errors import Superseded, TransientError
from app.core.objects import order_key

__all__ = ["Guard", "Record", "StateStore", "order_key"]


class StateStore(Protocol):
    """Conditional writes of one small record per source; None means the condition failed.

    `read` is called only after `create` found the record, so the store needs no permission
    to learn that a key is absent (S3 answers 403, not 404, without ListBucket).
    """

    def read(self, key: str) -> tuple[bytes, str] | None: ...

    def create(self, key: str, body: bytes) -> str | None: ...

    def replace(self, key: str, body: bytes, etag: str) -> str | None: ...


@dataclass(frozen=True)
class Record:
    order: str
    running: bool
    lease_until: float
    etag: str | None  # the input ETag the event named

    def dump(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def load(cls, body: bytes) -> Record:
        data = json.loads(body)
        return cls(
            str(data["order"]), bool(data["running"]), float(data["lease_until"]), data.get("etag")
        )


@dataclass(frozen=True)
class Claim:
    key: str
    record: Record
    token: str  # the store's ETag of our record: release only if nobody took it since


class Guard:
    def __init__(
        self,
        store: StateStore,
        *,
        lease_seconds: float = 900,
        wait_seconds: float = 60,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.clock = clock
        self.sleep = sleep

    def claim(self, state_key: str, order: str, etag: str | None) -> Claim:
        """Take the source for this upload; raise Superseded or (after waiting) TransientError."""
        give_up = self.clock() + self.wait_seconds
        delay = 0.2
        while True:
            now = self.clock()
            mine = Record(order, True, now + self.lease_seconds, etag)
            token = self.store.create(state_key, mine.dump())  # the first upload of a source
            if token is None and (current := self.store.read(state_key)) is not None:
                body, seen = current
                held = Record.load(body)
                if order < held.order:
                    raise Superseded(f"a newer upload of this key was processed ({held.etag})")
                if held.running and now < held.lease_until:
                    if self.clock() >= give_up:
                        raise TransientError(
                            f"another run holds this source until {held.lease_until:.0f} (epoch s)"
                        )
                    self.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                token = self.store.replace(state_key, mine.dump(), seen)
            if token is not None:
                return Claim(state_key, mine, token)
            # the record changed between our read and our write: look again

    def release(self, claim: Claim) -> bool:
        """Mark the run finished; False if the lease had expired and another run took over."""
        done = Record(claim.record.order, False, 0.0, claim.record.etag)
        return self.store.replace(claim.key, done.dump(), claim.token) is not None

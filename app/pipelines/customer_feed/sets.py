"""What the customer-feed function does with a day's set, given what exists: pure, behind
small Protocols (the adapters in app/adapters/feed.py implement them on S3, DynamoDB, SQS).

A set is the three files `customers_YYYYMMDD.csv`, `orders_...`, `items_...` under one folder
prefix of the partner-feed bucket. On the event of any of them (in any arrival order):

- one missing: the set is incomplete. The landed file's registry item says
  `FeedStatus = "waiting for <kinds>"`, and a check is scheduled for later
  (INCOMPLETE_AFTER_SECONDS); a check that still finds one missing says
  `"incomplete after N s: missing <kinds>"` on the items of the files present (the function
  counts FeedSetsIncomplete, for an alarm). A waiting note never replaces a set's outcome.
- all three present: their ETags are the set's versions. The registry item of the set's
  customers file is claimed with a conditional write (not claimed yet, claimed at other
  versions, or a claim whose lease has expired): of two events that both see the set
  complete, one wins; the other, and a redelivery, is "already claimed". The winner reads the
  three at those versions (If-Match: a replaced file supersedes the run, and the newer
  upload's own event processes the set), joins them, sends every message, and records the
  outcome ("sent" or "failed: <why>") on the item, where the set's versions are; the two
  other files' items say the same status and name the set's item. A re-upload changes the
  versions: the set is processed again, with new message ids.
- a failure while reading or sending raises: the claim's lease is ended at once (so the
  redelivered event can claim the set again) and SQS delivers the event again; message ids
  are deterministic, so consumers drop the duplicates of messages sent before the failure.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

from app.core.errors import FileError, Superseded
from app.core.objects import ObjectRef
from app.orders_csv.reader import Readable
from app.pipelines.customer_feed.files import KINDS, feed_file, file_name
from app.pipelines.customer_feed.join import FeedSource, csv_source, join_feed
from app.pipelines.customer_feed.messages import CustomerMessage, ErrorMessage, Message

CHECK_TYPE = "orders-pipeline/customer-feed/check"
PROCESSING = "processing"

# --------------------------------------------------------------------------- ports


class Objects(Protocol):
    """The partner-feed bucket."""

    def etag(self, bucket: str, key: str) -> str | None:
        """The object's ETag (a HEAD), None if there is no such object."""

    def open(self, bucket: str, key: str, etag: str) -> Readable:
        """The object's body at that ETag (If-Match): raises Superseded if it was replaced,
        FileError if it is gone."""


class Registry(Protocol):
    """The files table: FeedStatus and the set guard on the files' items."""

    def note(self, name: str, status: str) -> bool:
        """SET FeedStatus on the item, unless it holds a set's outcome or claim (a note is
        older news than those); whether it was written."""

    def claim(self, name: str, versions: str, now: float, lease_until: float) -> bool:
        """The conditional claim of a set at `versions`; whether it was won."""

    def finish(self, name: str, versions: str, outcome: SetOutcome) -> bool:
        """Record the outcome on the claimed item if the claim is still ours (`versions`);
        whether it was (a newer upload's run may have claimed the set since)."""

    def mark(self, name: str, status: str, set_name: str) -> None:
        """SET FeedStatus (and the set's item name) on another file of the set."""

    def release(self, name: str, versions: str) -> None:
        """End our claim's lease at once (if the claim is still ours): the redelivery of a run
        that failed may claim the set again without waiting for the lease to expire."""


class Outbox(Protocol):
    """The customer-feed queue."""

    def send(self, messages: Iterable[tuple[str, str]]) -> int:
        """Send (message_id, body) pairs, all of them or raise; how many were sent."""


class Checks(Protocol):
    """The function's own queue, for the delayed completeness check."""

    def schedule(self, body: str, delay_seconds: int) -> None: ...


# --------------------------------------------------------------------------- sets


@dataclass(frozen=True)
class FeedSet:
    bucket: str
    prefix: str  # the folder of the files, "" or ending in "/"
    feed_date: date

    @classmethod
    def of(cls, ref: ObjectRef) -> tuple[FeedSet, str] | None:
        """The set an object belongs to and its kind; None for any other key (another name,
        or a feed name in another letter case: the set's files are named exactly)."""
        found = feed_file(ref.key)
        if found is None or ref.bucket is None:
            return None
        prefix, _, name = ref.key.rpartition("/")
        if name != file_name(found.kind, found.feed_date):
            return None
        return cls(ref.bucket, prefix + "/" if prefix else "", found.feed_date), found.kind

    def key(self, kind: str) -> str:
        return self.prefix + file_name(kind, self.feed_date)

    def name(self, kind: str) -> str:
        """The file's registry name, `<bucket>/<key>`."""
        return f"{self.bucket}/{self.key(kind)}"

    @property
    def record(self) -> str:
        """The registry item that guards the set and holds its outcome: the customers file's."""
        return self.name("customers")

    def check_body(self) -> str:
        return json.dumps(
            {
                "type": CHECK_TYPE,
                "bucket": self.bucket,
                "prefix": self.prefix,
                "date": self.feed_date.isoformat(),
            }
        )

    @staticmethod
    def is_check(data: Any) -> bool:
        return isinstance(data, dict) and data.get("type") == CHECK_TYPE

    @classmethod
    def from_check(cls, data: Mapping[str, Any]) -> FeedSet:
        """The set a check message names; ValueError if it names none."""
        bucket, prefix, day = data.get("bucket"), data.get("prefix"), data.get("date")
        if not (isinstance(bucket, str) and bucket and isinstance(prefix, str)):
            raise ValueError(f"a check message names no bucket and prefix: {dict(data)!r}")
        if prefix and not prefix.endswith("/"):
            raise ValueError(f"a check message's prefix is not a folder: {prefix!r}")
        if not isinstance(day, str):
            raise ValueError(f"a check message names no date: {dict(data)!r}")
        return cls(bucket, prefix, date.fromisoformat(day))


def versions_text(versions: Mapping[str, str]) -> str:
    """The set's versions as the registry holds them (FeedVersions): compact JSON, by kind."""
    return json.dumps({kind: versions[kind] for kind in KINDS}, separators=(",", ":"))


# --------------------------------------------------------------------------- outcomes

Status = Literal["waiting", "incomplete", "claimed", "done", "superseded", "sent", "failed"]


@dataclass(frozen=True)
class SetOutcome:
    status: Status
    missing: tuple[str, ...] = ()
    customer_messages: int = 0
    error_messages: int = 0
    reason: str = ""  # why the set failed, was superseded, or was not processed
    records: dict[str, int] = field(default_factory=dict)  # data records read per file

    @property
    def registry_status(self) -> str:
        if self.status in ("failed", "superseded"):
            return f"{self.status}: {self.reason}"
        return self.status


# --------------------------------------------------------------------------- the logic


class FeedSets:
    def __init__(
        self,
        objects: Objects,
        registry: Registry,
        outbox: Outbox,
        checks: Checks,
        *,
        incomplete_after_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.objects = objects
        self.registry = registry
        self.outbox = outbox
        self.checks = checks
        self.incomplete_after_seconds = incomplete_after_seconds
        self.clock = clock

    def versions(self, feed_set: FeedSet) -> dict[str, str | None]:
        return {kind: self.objects.etag(feed_set.bucket, feed_set.key(kind)) for kind in KINDS}

    def on_file(self, feed_set: FeedSet, kind: str, lease_seconds: float) -> SetOutcome:
        """A file of the set landed."""
        found = self.versions(feed_set)
        missing = tuple(k for k in KINDS if found[k] is None)
        if missing:
            self.registry.note(feed_set.name(kind), f"waiting for {', '.join(missing)}")
            self.checks.schedule(feed_set.check_body(), self.incomplete_after_seconds)
            return SetOutcome("waiting", missing)
        return self._process(feed_set, _present(found), lease_seconds)

    def on_check(self, feed_set: FeedSet, lease_seconds: float) -> SetOutcome:
        """The delayed check: still incomplete is news; complete, it is processed unless it
        already was (the claim says so: a complete and processed set is left alone)."""
        found = self.versions(feed_set)
        missing = tuple(k for k in KINDS if found[k] is None)
        if missing:
            status = (
                f"incomplete after {self.incomplete_after_seconds} s: missing {', '.join(missing)}"
            )
            for kind in KINDS:
                if found[kind] is not None:
                    self.registry.note(feed_set.name(kind), status)
            return SetOutcome("incomplete", missing)
        outcome = self._process(feed_set, _present(found), lease_seconds)
        return SetOutcome("done") if outcome.status == "claimed" else outcome

    def _process(
        self, feed_set: FeedSet, versions: dict[str, str], lease_seconds: float
    ) -> SetOutcome:
        tag = versions_text(versions)
        now = self.clock()
        if not self.registry.claim(feed_set.record, tag, now, now + lease_seconds):
            return SetOutcome("claimed")
        try:
            return self._claimed(feed_set, versions, tag)
        except BaseException:  # a transient failure: SQS delivers the event again
            self.registry.release(feed_set.record, tag)
            raise

    def _claimed(self, feed_set: FeedSet, versions: dict[str, str], tag: str) -> SetOutcome:
        try:
            streams = {
                kind: self.objects.open(feed_set.bucket, feed_set.key(kind), versions[kind])
                for kind in KINDS
            }
        except Superseded as exc:  # the newer upload's event claims the set at its versions
            outcome = SetOutcome("superseded", reason=str(exc))
            self.registry.finish(feed_set.record, tag, outcome)
            return outcome
        except FileError as exc:  # deleted since the HEAD
            outcome = SetOutcome("failed", reason=f"{exc.message} ({exc.code})")
            self._record(feed_set, tag, outcome)
            return outcome
        sources: dict[str, FeedSource] = {
            kind: csv_source(file_name(kind, feed_set.feed_date), streams[kind]) for kind in KINDS
        }
        # The join spills to a temporary directory: memory stays bounded by a partition,
        # not the day's files (see join.py).
        with (
            tempfile.TemporaryDirectory(prefix="customer-feed-") as work,
            join_feed(feed_set.feed_date, sources, versions, workdir=Path(work)) as result,
        ):
            counts = {"customer": 0, "error": 0}
            if result.joined:
                self.outbox.send(_counted(result.messages(), counts))
                outcome = SetOutcome(
                    "sent",
                    customer_messages=counts["customer"],
                    error_messages=counts["error"],
                    records=result.records,
                )
            else:  # its messages are one error per bad file, and they say why
                errors = list(result.messages())
                self.outbox.send(_counted(iter(errors), counts))
                outcome = SetOutcome(
                    "failed",
                    error_messages=counts["error"],
                    reason="; ".join(
                        f"{e.file}: {e.message}" for e in errors if isinstance(e, ErrorMessage)
                    ),
                    records=result.records,
                )
        self._record(feed_set, tag, outcome)
        return outcome

    def _record(self, feed_set: FeedSet, tag: str, outcome: SetOutcome) -> None:
        if not self.registry.finish(feed_set.record, tag, outcome):
            return  # a newer upload's run holds the set now: its outcome is the one to keep
        for kind in KINDS:
            if kind != "customers":
                self.registry.mark(feed_set.name(kind), outcome.registry_status, feed_set.record)


def _present(found: Mapping[str, str | None]) -> dict[str, str]:
    return {kind: etag for kind, etag in found.items() if etag is not None}


def _counted(messages: Iterator[Message], counts: dict[str, int]) -> Iterator[tuple[str, str]]:
    for message in messages:
        counts["customer" if isinstance(message, CustomerMessage) else "error"] += 1
        yield message.message_id, message.body()

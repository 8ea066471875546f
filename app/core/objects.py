"""What every pipeline is handed: an object in a bucket, as an event (or the CLI) names it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import IO


def order_key(sequencer: str | None, event_time: str | None) -> str | None:
    """A string that sorts like the uploads of one key happened.

    S3's sequencer is hexadecimal of varying length: AWS says to right-pad the shorter one with
    zeros, then compare. Without one (the embedded AWS sends none), the event time orders.
    """
    if sequencer:
        return "s" + sequencer.upper().ljust(max(64, len(sequencer)), "0")
    if event_time:
        return "t" + event_time
    return None


@dataclass(frozen=True)
class ObjectRef:
    """An input object as an event (or the CLI) describes it."""

    key: str
    bucket: str | None = None
    etag: str | None = None
    size: int | None = None
    event_time: dt.datetime | None = None
    version_id: str | None = None
    sequencer: str | None = None

    @property
    def date(self) -> dt.date:
        """The partition date: the event's UTC date, else today's (UTC)."""
        when = self.event_time or dt.datetime.now(dt.UTC)
        return when.astimezone(dt.UTC).date()

    @property
    def order(self) -> str | None:
        """Where this upload stands among the uploads of its key (None: no event to order)."""
        when = self.event_time.isoformat() if self.event_time else None
        return order_key(self.sequencer, when)

    @property
    def name(self) -> str:
        """`<bucket>/<key>`: the object's name in the file registry and the rows table."""
        return f"{self.bucket}/{self.key}" if self.bucket else self.key


@dataclass(frozen=True)
class Opened:
    """An input stream and what the store said it is (the version actually read)."""

    stream: IO[bytes]
    etag: str | None = None
    version_id: str | None = None
    size: int | None = None

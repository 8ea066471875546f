"""What the registry records for one landed object: the state machine's input, the name of
its execution, and the state machine's definition. Pure: no AWS here.

The input is what `state_machine.asl.json` writes, field for field, to the files table:
- `Size`: S3's ObjectCreated events always carry the object's size (0 for an empty object).
  A hand-written event without one is recorded with Size 0 rather than not at all: the
  registry's job is to record that the object landed, and DynamoDB needs a number there.
- `ETag`: as the event gives it (S3 sends it without quotes); "" if the event has none.
- `LandedAt`: the event's time, ISO-8601 UTC with milliseconds (`2026-01-02T03:04:05.678Z`,
  the precision of S3's eventTime), so that it sorts as text. An event without a time (only a
  hand-written one) is recorded at the time the registry received it.
- `LandedOrder`: ObjectRef.order (S3's sequencer, else the event time): the state machine
  writes only if no newer upload of the key is recorded, so an older event arriving late
  changes nothing.

The execution name is derived from the event alone, so a redelivered event gets the same
name: Step Functions refuses a second execution of that name (ExecutionAlreadyExists), which
is how a redelivery is recognised as already registered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from app.core.objects import ObjectRef

DEFINITION = Path(__file__).with_name("state_machine.asl.json")
TABLE_PLACEHOLDER = "${files_table}"
"""Where the definition names the files table (Terraform's templatefile() fills it too)."""

NAME_LIMIT = 80  # Step Functions: 1 to 80 characters
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_LABEL = 40  # characters of the key's last segment kept in the name, for a person to read
_DIGEST = 32  # hex characters (128 bits) of the hash that makes the name unique


@dataclass(frozen=True)
class LandingInput:
    """The state machine's input: the landing record of one upload."""

    file_name: str  # "<bucket>/<key>", the files table's key
    bucket: str
    key: str
    size: int
    etag: str
    landed_at: str
    landed_order: str

    def as_json(self) -> dict[str, str | int]:
        return {
            "FileName": self.file_name,
            "Bucket": self.bucket,
            "Key": self.key,
            "Size": self.size,
            "ETag": self.etag,
            "LandedAt": self.landed_at,
            "LandedOrder": self.landed_order,
        }

    def dumps(self) -> str:
        """The same text for the same event (Step Functions compares a redelivery's input)."""
        return json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))


def landing_input(ref: ObjectRef, received_at: dt.datetime | None = None) -> LandingInput:
    """The landing record of the upload an event names.

    `received_at` stands in for the event's time when the event has none; ValueError if
    neither is given, or the event names no bucket (a registry record is `<bucket>/<key>`).
    """
    if not ref.bucket:
        raise ValueError(f"{ref.key}: the event names no bucket")
    when = ref.event_time or received_at
    if when is None:
        raise ValueError(f"{ref.name}: the event has no time and no received_at was given")
    dated = ref if ref.event_time else dataclasses.replace(ref, event_time=when)
    order = dated.order
    assert order is not None  # an event time always orders
    return LandingInput(
        file_name=ref.name,
        bucket=ref.bucket,
        key=ref.key,
        size=ref.size if ref.size is not None else 0,
        etag=ref.etag or "",
        landed_at=iso_utc(when),
        landed_order=order,
    )


def iso_utc(when: dt.datetime) -> str:
    """`2026-01-02T03:04:05.678Z`: UTC, milliseconds (a naive time is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    text = when.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def execution_name(ref: ObjectRef) -> str:
    """A name for the execution that records this upload: the same for a redelivery, another
    for any other upload (bucket, key, ETag and sequencer or event time decide).

    At most 80 characters of [A-Za-z0-9_-]: the key's last segment (readable in the
    console, truncated), then a hash of everything that identifies the upload.
    """
    identity = json.dumps([ref.bucket, ref.key, ref.etag, ref.order], separators=(",", ":"))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:_DIGEST]
    label = _UNSAFE.sub("-", ref.key.rsplit("/", 1)[-1]).strip("-_")[:_LABEL].strip("-_")
    name = f"{label or 'object'}-{digest}"
    assert len(name) <= NAME_LIMIT
    return name


def state_machine_definition(files_table: str) -> str:
    """The definition (ASL JSON) with the files table named, as the local stack creates it."""
    return DEFINITION.read_text(encoding="utf-8").replace(TABLE_PLACEHOLDER, files_table)

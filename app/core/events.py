"""S3 event notifications, as they arrive in SQS bodies (raw SNS delivery) or a direct invoke."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import unquote_plus

from app.core.objects import ObjectRef


def is_s3_event(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and all(r.get("eventSource") == "aws:s3" for r in records)


def objects_in(notification: dict[str, Any] | str) -> list[ObjectRef]:
    """The created objects an S3 notification names; [] for s3:TestEvent and other events."""
    body = json.loads(notification) if isinstance(notification, str) else notification
    if body.get("Type") == "Notification" and "Message" in body:  # SNS without raw delivery
        return objects_in(body["Message"])
    refs = []
    for record in body.get("Records", []):
        if record.get("eventSource") != "aws:s3":
            continue
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        refs.append(
            ObjectRef(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(s3["object"]["key"]),  # keys arrive URL-encoded
                etag=s3["object"].get("eTag"),
                size=s3["object"].get("size"),
                event_time=_time(record.get("eventTime")),
                version_id=s3["object"].get("versionId") or None,
                sequencer=s3["object"].get("sequencer") or None,
            )
        )
    return refs


def _time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)

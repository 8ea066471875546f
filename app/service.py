"""One input object in, its outputs out: the single place that decides what gets written.

Used alike by the Lambda handler (S3 in, S3 out) and the CLI (a file or S3 in, a directory out).
Outputs follow app.layout; the manifest is written last, so its presence means "complete".
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

from app import layout
from app.errors import FileError

if TYPE_CHECKING:  # pandas and pyarrow load on first use, not at import: faster cold starts
    from app import engine

ENGINE_VERSION = "orders-pipeline/0.1.0"


class Sink(Protocol):
    """Somewhere outputs can be put by key (an S3 bucket, a local directory)."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...


@dataclass(frozen=True)
class ObjectRef:
    """An input object as an event (or the CLI) describes it."""

    key: str
    bucket: str | None = None
    etag: str | None = None
    size: int | None = None
    event_time: dt.datetime | None = None

    @property
    def date(self) -> dt.date:
        """The partition date: the event's UTC date, else today's (UTC)."""
        when = self.event_time or dt.datetime.now(dt.UTC)
        return when.astimezone(dt.UTC).date()


@dataclass
class Outcome:
    ok: bool
    manifest: dict[str, Any]
    result: engine.Result | None = None
    error: FileError | None = None

    @property
    def outputs(self) -> list[str]:
        """Keys written for this object, as the manifest lists them (the manifest excluded)."""
        return list(self.manifest["outputs"])


def process(
    ref: ObjectRef,
    open_input: Callable[[], IO[bytes]],
    sink: Sink,
    date: dt.date | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Outcome:
    """Run the engine on one object and write every output; a bad file is an Outcome, not a raise.

    Anything other than FileError (throttling, a dropped connection, a 5xx) propagates, so the
    caller can fail the message and let it be retried.
    """
    from app import engine

    date = date or ref.date
    source = layout.source_name(ref.key)
    started = time.monotonic()
    manifest: dict[str, Any] = {
        "source": {"bucket": ref.bucket, "key": ref.key, "etag": ref.etag, "size": ref.size},
        "dt": date.isoformat(),
        "engine": ENGINE_VERSION,
    }
    try:
        with open_input() as stream:
            result = engine.run(stream, on_bytes)
    except FileError as error:
        key = layout.error_key(date, source)
        body = {"source": manifest["source"], **error.as_dict()}
        sink.put(key, _json(body), "application/json")
        manifest.update(status="failed", error=error.as_dict(), outputs=[key])
        manifest["timings"] = {"total_seconds": round(time.monotonic() - started, 3)}
        sink.put(layout.manifest_key(date, source), _json(manifest), "application/json")
        return Outcome(ok=False, manifest=manifest, error=error)

    parsed = time.monotonic()
    outputs = []
    for report, frame in result.reports.items():
        key = layout.report_key(report, date, source)
        sink.put(key, engine.to_csv(frame), "text/csv")
        outputs.append(key)
    if result.rows_rejected:
        key = layout.rejected_key(date, source)
        sink.put(key, engine.to_csv(result.rejected), "text/csv")
        outputs.append(key)
    manifest.update(
        status="ok",
        rows={
            "read": result.rows_read,
            "valid": result.rows_read - result.rows_rejected,
            "rejected": result.rows_rejected,
        },
        bytes_read=result.bytes_read,
        columns=result.columns,
        outputs=outputs,
        timings={
            "engine_seconds": round(parsed - started, 3),
            "total_seconds": round(time.monotonic() - started, 3),
        },
    )
    sink.put(layout.manifest_key(date, source), _json(manifest), "application/json")
    return Outcome(ok=True, manifest=manifest, result=result)


def _json(body: dict[str, Any]) -> bytes:
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

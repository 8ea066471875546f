"""One input object in, its outputs out: the single place that decides what gets written.

Used alike by the Lambda handler (S3 in, S3 out) and the CLI (a file or S3 in, a directory out).
Outputs follow layout. A run replaces the whole output set of its (dt, source): the old
manifest goes first, the new outputs are written, whatever the run did not write is deleted,
and the manifest is written last, so its presence means "complete, and describes this input".
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from app.core import ordering
from app.core.errors import FileError, Superseded
from app.core.objects import ObjectRef, Opened
from app.orders_csv.inputs import input_format, readable
from app.pipelines.reports import layout
from app.pipelines.reports.manifest import Manifest, Rows, Source

if TYPE_CHECKING:  # pandas and pyarrow load on first use, not at import: faster cold starts
    from app.pipelines.reports import engine

ENGINE_VERSION = "orders-pipeline/0.2.0"
_JSON = "application/json"


class Sink(Protocol):
    """Somewhere outputs can be put and removed by key (an S3 bucket, a local directory)."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def put_file(self, key: str, path: Path, content_type: str) -> None: ...

    def delete(self, key: str) -> None: ...


Status = Literal["ok", "failed", "superseded"]


@dataclass
class Outcome:
    status: Status
    manifest: Manifest | None = None  # None when superseded
    result: engine.Result | None = None
    error: FileError | None = None
    reason: str = ""  # why it was superseded

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def outputs(self) -> list[str]:
        """Keys written for this object, as the manifest lists them (the manifest excluded)."""
        return list(self.manifest.outputs) if self.manifest else []


def process(
    ref: ObjectRef,
    open_input: Callable[[], Opened],
    sink: Sink,
    date: dt.date | None = None,
    on_bytes: Callable[[int], None] | None = None,
    *,
    guard: ordering.Guard | None = None,
) -> Outcome:
    """Run the engine on one object and replace its output set; a bad file is an Outcome.

    With a guard (the function), runs of one source are serialised and ordered by upload:
    an event for a replaced upload returns a "superseded" Outcome and writes nothing.
    Anything other than FileError (throttling, a dropped connection, a 5xx, a held source)
    propagates, so the caller can fail the message and let it be retried.
    """
    source = layout.source_name(ref.key)
    claim = None
    try:
        if guard is not None and ref.order is not None:
            claim = guard.claim(layout.state_key(source), ref.order, ref.etag)
        return _replace_outputs(ref, open_input, sink, date or ref.date, source, on_bytes)
    except Superseded as exc:
        return Outcome("superseded", reason=str(exc))
    finally:
        if guard is not None and claim is not None:
            guard.release(claim)


def _replace_outputs(
    ref: ObjectRef,
    open_input: Callable[[], Opened],
    sink: Sink,
    date: dt.date,
    source: str,
    on_bytes: Callable[[int], None] | None,
) -> Outcome:
    from app.pipelines.reports import engine

    started = time.monotonic()
    source_info = Source.of(ref)
    written: list[str] = []
    try:
        opened = open_input()  # raises Superseded before anything is touched
        source_info = replace(
            source_info, etag=opened.etag or ref.etag, version_id=opened.version_id
        )
        sink.delete(layout.manifest_key(date, source))  # the old set is no longer "complete"
        with opened.stream as raw, tempfile.TemporaryDirectory(prefix="orders-") as work:
            stream, progress = readable(raw, input_format(ref.key), on_bytes)
            result = engine.run(stream, progress, workdir=Path(work))
            for report, frame in result.reports.items():
                written.append(layout.report_key(report, date, source))
                sink.put(written[-1], engine.to_csv(frame), "text/csv")
            if result.rejected_csv is not None:
                written.append(layout.rejected_key(date, source))
                sink.put_file(written[-1], result.rejected_csv, "text/csv")
    except FileError as error:
        written = [layout.error_key(date, source)]
        body = {"source": source_info.as_json(), **error.as_dict()}
        sink.put(written[0], _json(body), _JSON)
        _delete_stale(sink, date, source, written)
        manifest = Manifest(
            source_info,
            date.isoformat(),
            ENGINE_VERSION,
            "failed",
            written,
            round(time.monotonic() - started, 3),
            error=error.as_dict(),
        )
        sink.put(layout.manifest_key(date, source), manifest.dumps(), _JSON)
        return Outcome("failed", manifest, error=error)

    _delete_stale(sink, date, source, written)
    manifest = Manifest(
        source_info,
        date.isoformat(),
        ENGINE_VERSION,
        "ok",
        written,
        round(time.monotonic() - started, 3),
        rows=Rows(result.rows_read, result.rows_rejected),
        bytes_read=result.bytes_read,
        columns=result.columns,
    )
    sink.put(layout.manifest_key(date, source), manifest.dumps(), _JSON)
    return Outcome("ok", manifest, result=result)


def _delete_stale(sink: Sink, date: dt.date, source: str, written: list[str]) -> None:
    """Outputs of an earlier upload that this run did not replace (say, reports after a
    failure, or rejected rows after a clean file) would read as current: remove them."""
    for key in layout.output_set(date, source):
        if key not in written:
            sink.delete(key)


def _json(body: dict[str, Any]) -> bytes:
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

"""What happened to one upload on the embedded AWS, as one line (shared by demo and local)."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.objects import ObjectRef
    from app.local.stack import LocalStack
    from app.pipelines.reports.manifest import Manifest


def show_record_failures() -> None:
    """With the debug variable: why a record failed, one line each, as the batch utility says.

    The reports function lets a transient fault fail its record (SQS retries it) without
    logging it; Powertools' batch processor notes each failure at DEBUG level on its own logger.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug: %(message)s"))
    handler.addFilter(lambda record: record.getMessage().startswith("Record processing exception"))
    batch = logging.getLogger("aws_lambda_powertools.utilities.batch")
    batch.addHandler(handler)
    batch.setLevel(logging.DEBUG)


@dataclass(frozen=True)
class Delivery:
    """One object an S3 event named, as the event pump handed it to the function."""

    ref: ObjectRef
    failed: bool  # the function reported this record as failed: SQS delivers it again
    receives: int  # how many times SQS has delivered this message (ApproximateReceiveCount)


def deliveries(records: list[dict[str, Any]], failed: set[str]) -> list[Delivery]:
    """The objects of one batch (s3:TestEvent and other events name none)."""
    from app.core.events import objects_in

    found = []
    for record in records:
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
        for ref in objects_in(record["body"]):
            found.append(Delivery(ref, record["messageId"] in failed, receives))
    return found


@dataclass(frozen=True)
class Result:
    status: str  # processed | rejected | ignored | skipped | retry | failed
    key: str
    detail: str
    manifest: Manifest | None = None

    @property
    def line(self) -> str:
        return f"{self.status} {self.key}: {self.detail}"


def result(stack: LocalStack, delivery: Delivery) -> Result:
    """Read at the exact key the function writes for this event (its dt, its source)."""
    from app.orders_csv.inputs import input_format
    from app.pipelines.reports.manifest import Manifest

    ref = delivery.ref
    key = ref.key
    if delivery.failed:
        if delivery.receives >= stack.max_receive_count:
            return Result(
                "failed",
                key,
                f"the reports function failed {delivery.receives} times; "
                f"the message is now in {stack.names.reports_dlq}",
            )
        return Result(
            "retry",
            key,
            f"the reports function failed (attempt {delivery.receives} of "
            f"{stack.max_receive_count}); SQS delivers it again in {stack.visibility_timeout}s",
        )
    found = stack.manifest_for(ref)
    if found is None:
        if input_format(key) is None:
            return Result("ignored", key, "not a .csv or .csv.gz file")
        return Result("skipped", key, "no outputs for this upload (a newer upload replaced it)")
    manifest = Manifest.from_json(found)
    read = _etag(manifest.source.etag)
    if read and _etag(ref.etag) and read != _etag(ref.etag):
        return Result(
            "skipped", key, f"superseded, the outputs describe a newer upload (ETag {read})"
        )
    if manifest.rows is not None:
        rows = manifest.rows
        return Result(
            "processed",
            key,
            f"{rows.read} rows, {rows.rejected} rejected -> s3://{stack.names.output_bucket}/",
            manifest,
        )
    error = manifest.error or {}
    return Result("rejected", key, str(error.get("message", "the file was not processed")))


def _etag(value: object) -> str:
    return str(value or "").strip('"')


def consumer_line(stack: LocalStack, function: str, delivery: Delivery) -> str:
    """What the registry or the loader did with one upload ("" when there is nothing to say:
    the loader ignores what the reports function already announced as ignored). Objects of
    the input bucket are named by key, as the reports lines name them; others by S3 URI."""
    ref = delivery.ref
    where = ref.key if ref.bucket == stack.names.input_bucket else f"s3://{ref.bucket}/{ref.key}"
    role = function.rsplit("-", 1)[-1]
    if delivery.failed:
        return f"retry {where}: the {role} function failed; SQS delivers it again"
    if role == "registry":
        return f"registered {where} in {stack.names.files_table}"
    record = stack.file_record(ref.key, ref.bucket)
    if role == "feed":
        if record is None or record.feed_status is None:
            return ""
        if record.feed_status == "sent":
            return (
                f"fed {where}: its day's set sent {record.feed_messages} customer and "
                f"{record.feed_errors} error messages to {stack.names.queue('customer-feed')}"
            )
        return f"feed {where}: {record.feed_status}"
    if record is None or record.loader_status is None:
        return ""
    if record.loader_status == "loaded":
        return f"loaded {where}: {record.rows_loaded} rows into {stack.names.rows_table}"
    if record.loader_status == "loading":
        return f"loading {where}: {record.rows_loaded} rows so far; it continues"
    return f"load failed {where}: {record.loader_error}"

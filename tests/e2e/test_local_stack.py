"""The embedded AWS in process: how `demo` and `local` learn what became of an upload."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli.embedded import Delivery, deliveries, result
from app.core.objects import ObjectRef
from app.local.pump import ACCOUNT
from app.local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
DAY = dt.datetime(2026, 1, 2, 10, 30, tzinfo=dt.UTC)


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack.start(visibility_timeout=1, max_receive_count=2, pump=False) as s:
        yield s


def fill_manifests(stack: LocalStack, count: int) -> None:
    """`count` manifests that sort before any real one, straight into the in-process moto
    backend (1,000 put_object calls over HTTP would take seconds)."""
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT]["aws"]
    for i in range(count):
        key = f"_manifests/dt=2000-01-01/filler-{i:04d}.json"
        backend.put_object(stack.names.output_bucket, key, b"{}")


def put_manifest(stack: LocalStack, key: str, body: dict[str, Any]) -> None:
    stack.client("s3").put_object(
        Bucket=stack.names.output_bucket, Key=key, Body=json.dumps(body).encode()
    )


def test_queue_redrives_to_the_dlq_after_5_receives_by_default() -> None:
    with LocalStack.start(pump=False) as stack:
        attributes = stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.queue_url, AttributeNames=["RedrivePolicy"]
        )["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 5


def test_wait_for_manifest_finds_one_past_the_first_page(stack: LocalStack) -> None:
    fill_manifests(stack, 1001)
    put_manifest(stack, "_manifests/dt=2026-01-02/sample_orders.json", {"status": "ok"})
    listing = stack.client("s3").list_objects_v2(Bucket=stack.names.output_bucket)
    assert listing["IsTruncated"]
    assert stack.wait_for_manifest("sample_orders.csv", timeout=0.01) == {"status": "ok"}


def test_manifest_for_reads_the_event_key_whatever_else_the_bucket_holds(
    stack: LocalStack,
) -> None:
    fill_manifests(stack, 1001)
    put_manifest(stack, "_manifests/dt=2026-01-02/in~2Fa.json", {"status": "ok"})
    assert stack.manifest_for(ObjectRef(key="in/a.csv", event_time=DAY)) == {"status": "ok"}
    later = DAY + dt.timedelta(days=1)  # another dt: not this event's outputs
    assert stack.manifest_for(ObjectRef(key="in/a.csv", event_time=later)) is None


def test_an_upload_the_function_keeps_failing_is_announced_as_retry_then_dlq(
    stack: LocalStack,
) -> None:
    seen: list[Delivery] = []

    def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    pump = stack.make_pump(
        failing, on_batch=lambda records, failed: seen.extend(deliveries(records, failed))
    )
    stack.upload(SAMPLE)
    deadline = time.monotonic() + 30
    while len(seen) < 2:
        assert time.monotonic() < deadline, seen
        pump.poll_once()
    assert [result(stack, d).line for d in seen] == [
        "retry sample_orders.csv: the reports function failed (attempt 1 of 2); "
        "SQS delivers it again in 1s",
        "failed sample_orders.csv: the reports function failed 2 times; "
        "the message is now in orders-pipeline-local-reports-dlq",
    ]
    sqs = stack.client("sqs")
    while not sqs.receive_message(QueueUrl=stack.dlq_url, WaitTimeSeconds=1).get("Messages"):
        assert time.monotonic() < deadline, "the message never reached the DLQ"
        pump.poll_once()


def test_an_upload_whose_outputs_describe_another_is_skipped(stack: LocalStack) -> None:
    put_manifest(
        stack,
        "_manifests/dt=2026-01-02/a.json",
        {"status": "ok", "source": {"etag": '"new"'}, "rows": {"read": 1, "rejected": 0}},
    )
    old = Delivery(ObjectRef(key="a.csv", etag="old", event_time=DAY), False, 1)
    assert result(stack, old).line == (
        "skipped a.csv: superseded, the outputs describe a newer upload (ETag new)"
    )
    new = Delivery(ObjectRef(key="a.csv", etag="new", event_time=DAY), False, 1)
    assert result(stack, new).line == (
        "processed a.csv: 1 rows, 0 rejected -> s3://orders-pipeline-local-output/"
    )


def test_an_upload_without_outputs_says_why(stack: LocalStack) -> None:
    notes = Delivery(ObjectRef(key="notes.txt", event_time=DAY), False, 1)
    assert result(stack, notes).line == "ignored notes.txt: not a .csv or .csv.gz file"
    orders = Delivery(ObjectRef(key="orders.CSV", event_time=DAY), False, 1)
    assert result(stack, orders).line == (
        "skipped orders.CSV: no outputs for this upload (a newer upload replaced it)"
    )

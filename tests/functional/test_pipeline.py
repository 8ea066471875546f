"""S3 -> SNS -> SQS -> reports handler on a real moto server, Lambda's poller played locally."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from app.core.settings import ReportsSettings, Telemetry
from app.local.pump import EventPump
from app.local.stack import LocalStack
from app.pipelines.reports.function import make_handler

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
EAST = "1,East,2465.50,20685.50,8"


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    # Short visibility timeout and maxReceiveCount 2, so retries and redrive take seconds.
    with LocalStack.start(visibility_timeout=1, max_receive_count=2, pump=False) as s:
        yield s


def pump_until(pump: EventPump, done: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out waiting for the pipeline"
        pump.poll_once()


def output_keys(stack: LocalStack) -> list[str]:
    listing = stack.client("s3").list_objects_v2(Bucket=stack.names.output_bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def queue_depth(stack: LocalStack, url: str) -> int:
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def manifest_of(stack: LocalStack, key: str) -> dict[str, Any] | None:
    try:
        return stack.wait_for_manifest(key, timeout=0.01)
    except TimeoutError:
        return None


def test_upload_becomes_reports_through_the_fan_out(stack: LocalStack) -> None:
    seen: list[dict[str, Any]] = []
    pump = stack.make_pump(on_batch=lambda records, failed: seen.extend(records))
    stack.upload(SAMPLE)
    pump_until(pump, lambda: manifest_of(stack, "sample_orders.csv") is not None)

    manifest = stack.wait_for_manifest("sample_orders.csv")
    assert manifest["status"] == "ok"
    assert manifest["rows"] == {"read": 20, "valid": 20, "rejected": 0}
    assert manifest["source"]["bucket"] == stack.names.input_bucket
    outputs = stack.read_outputs(manifest)
    region = next(v for k, v in outputs.items() if k.startswith("most_profitable_region/"))
    assert region.splitlines()[1] == EAST
    # The event went S3 -> SNS -> SQS with raw delivery: the body is the S3 notification.
    bodies = [json.loads(r["body"]) for r in seen]
    s3_records = [rec for b in bodies for rec in b.get("Records", [])]
    assert [r["s3"]["object"]["key"] for r in s3_records] == ["sample_orders.csv"]
    # The manifest is written last: every output it lists exists.
    assert set(manifest["outputs"]) < set(output_keys(stack))


def test_duplicate_delivery_rewrites_the_same_objects(stack: LocalStack) -> None:
    bodies: list[str] = []
    pump = stack.make_pump(
        on_batch=lambda records, failed: bodies.extend(r["body"] for r in records)
    )
    stack.upload(SAMPLE)
    pump_until(pump, lambda: manifest_of(stack, "sample_orders.csv") is not None)
    s3 = stack.client("s3")
    before = {
        k: s3.get_object(Bucket=stack.names.output_bucket, Key=k)["Body"].read()
        for k in output_keys(stack)
    }

    event = next(b for b in bodies if "Records" in json.loads(b))
    stack.client("sqs").send_message(QueueUrl=stack.queue_url, MessageBody=event)
    pump_until(pump, lambda: queue_depth(stack, stack.queue_url) == 0)

    after = {
        k: s3.get_object(Bucket=stack.names.output_bucket, Key=k)["Body"].read()
        for k in output_keys(stack)
    }
    assert after.keys() == before.keys()
    reports = [k for k in before if not k.startswith("_manifests/")]
    assert reports and all(after[k] == before[k] for k in reports)


def test_transient_s3_fault_is_retried_then_succeeds() -> None:
    with LocalStack.start(visibility_timeout=1, max_receive_count=5, pump=False) as stack:
        _transient_fault_then_success(stack)


def _transient_fault_then_success(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    # As many 503s as the client makes attempts: at least one delivery must fail as a whole.
    faults = {"left": 3}

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        if faults["left"] and request.method == "GET" and "sample_orders.csv" in request.url:
            faults["left"] -= 1
            return AWSResponse(request.url, 503, {}, None)
        return None

    s3.meta.events.register("before-send.s3.GetObject", throttle)
    settings = ReportsSettings(
        stack.names.output_bucket, telemetry=Telemetry("orders-reports", log_level="WARNING")
    )
    outcomes: list[set[str]] = []
    pump = stack.make_pump(
        make_handler(settings, s3=s3), on_batch=lambda records, failed: outcomes.append(failed)
    )
    stack.upload(SAMPLE)
    pump_until(pump, lambda: manifest_of(stack, "sample_orders.csv") is not None)

    assert any(outcomes), "the first delivery should have failed and been retried"
    assert faults["left"] == 0
    assert stack.wait_for_manifest("sample_orders.csv")["status"] == "ok"
    assert queue_depth(stack, stack.dlq_url) == 0


def test_poison_record_lands_in_the_dlq_after_max_receive_count(stack: LocalStack) -> None:
    receives: list[str] = []
    pump = stack.make_pump(
        on_batch=lambda records, failed: receives.extend(
            r["attributes"]["ApproximateReceiveCount"] for r in records if r["messageId"] in failed
        )
    )
    sqs = stack.client("sqs")
    pump_until(pump, lambda: queue_depth(stack, stack.queue_url) == 0)  # drain s3:TestEvent
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody="this is not an S3 event")
    pump_until(pump, lambda: queue_depth(stack, stack.dlq_url) == 1)

    assert receives == ["1", "2"]  # tried maxReceiveCount times, then redriven
    assert queue_depth(stack, stack.queue_url) == 0
    dead = sqs.receive_message(QueueUrl=stack.dlq_url)["Messages"]
    assert dead[0]["Body"] == "this is not an S3 event"
    assert output_keys(stack) == []


def test_url_encoded_key_with_spaces_and_non_ascii(stack: LocalStack) -> None:
    pump = stack.make_pump()
    key = "incoming/Zürich orders 2023.csv"
    stack.upload(SAMPLE, key)
    pump_until(pump, lambda: manifest_of(stack, key) is not None)

    manifest = stack.wait_for_manifest(key)
    assert manifest["status"] == "ok"
    assert manifest["source"]["key"] == key
    source = "incoming~2FZ~C3~BCrich~20orders~202023"
    assert f"most_profitable_region/dt={manifest['dt']}/{source}.csv" in output_keys(stack)


def test_object_deleted_before_processing_is_a_clear_permanent_error(stack: LocalStack) -> None:
    pump = stack.make_pump()
    stack.upload(SAMPLE, "gone.csv")
    stack.client("s3").delete_object(Bucket=stack.names.input_bucket, Key="gone.csv")
    pump_until(pump, lambda: manifest_of(stack, "gone.csv") is not None)

    manifest = stack.wait_for_manifest("gone.csv")
    assert manifest["status"] == "failed"
    assert manifest["error"]["code"] == "object_missing"
    error = json.loads(stack.read_outputs(manifest)[manifest["outputs"][0]])
    assert "does not exist" in error["message"]
    assert [k.split("/")[0] for k in output_keys(stack)] == ["_manifests", "_state", "errors"]
    # Permanent: the message is consumed, not retried into the DLQ.
    pump_until(pump, lambda: queue_depth(stack, stack.queue_url) == 0)
    assert queue_depth(stack, stack.dlq_url) == 0


def test_bad_file_writes_error_json_and_is_not_retried(stack: LocalStack, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,region\n1,East\n")
    pump = stack.make_pump()
    stack.upload(bad)
    pump_until(pump, lambda: manifest_of(stack, "bad.csv") is not None)
    manifest = stack.wait_for_manifest("bad.csv")
    assert manifest["error"]["code"] == "missing_columns"
    assert "ship_mode" in manifest["error"]["message"]
    assert not [k for k in output_keys(stack) if k.startswith("most_profitable_region/")]
    pump_until(pump, lambda: queue_depth(stack, stack.queue_url) == 0)
    assert queue_depth(stack, stack.dlq_url) == 0

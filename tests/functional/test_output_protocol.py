"""The outputs of one (dt, source) always describe exactly one version of the input, the latest:
re-uploads replace the whole set, replaced or older uploads never overwrite a newer one's
outputs, and only .csv / .csv.gz keys (any letter case) are read. On a real moto server."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.settings import ReportsSettings, Telemetry
from app.local.pump import EventPump
from app.local.stack import LocalStack
from app.pipelines.reports.function import make_handler

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
HEADER = SAMPLE.read_text().splitlines()[0]
GOOD_ROW = SAMPLE.read_text().splitlines()[1]
pytestmark = pytest.mark.xdist_group("output-protocol")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack.start(visibility_timeout=1, max_receive_count=5, pump=False) as s:
        yield s


@pytest.fixture
def pump(stack: LocalStack) -> EventPump:
    pump = stack.make_pump()
    drain(stack, pump)
    return pump


def drain(stack: LocalStack, pump: EventPump) -> None:
    """Process until the queue is empty (an empty receive waits out its 1 s long poll)."""
    while pump.poll_once() or depth(stack) > 0:
        pass


def depth(stack: LocalStack, url: str | None = None) -> int:
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=url or stack.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def outputs_of(stack: LocalStack, key: str) -> dict[str, str]:
    """Every object in the output bucket for this input key, by top-level prefix."""
    from app.pipelines.reports import layout

    s3, bucket = stack.client("s3"), stack.names.output_bucket
    name = f"/{layout.source_name(key)}."
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if name in item["Key"] and not item["Key"].startswith("_state/"):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"].split("/")[0]] = body.decode()
    return found


def upload(stack: LocalStack, key: str, body: bytes) -> str:
    response = stack.client("s3").put_object(Bucket=stack.names.input_bucket, Key=key, Body=body)
    return str(response["ETag"]).strip('"')


def orders(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def region_report(outputs: dict[str, str]) -> list[str]:
    return outputs["most_profitable_region"].splitlines()[1:]


def test_a_bad_upload_after_a_good_one_leaves_no_reports_behind(
    stack: LocalStack, pump: EventPump
) -> None:
    upload(stack, "replace/a.csv", orders(GOOD_ROW, GOOD_ROW.replace(",West,", ",,")))
    drain(stack, pump)
    first = outputs_of(stack, "replace/a.csv")
    assert set(first) == {
        "most_profitable_region",
        "top_ship_mode_by_category",
        "orders_by_category",
        "rejected_rows",
        "_manifests",
    }

    etag = upload(stack, "replace/a.csv", b"order_id,region\n1,East\n")
    drain(stack, pump)
    second = outputs_of(stack, "replace/a.csv")
    assert set(second) == {"errors", "_manifests"}
    manifest = json.loads(second["_manifests"])
    assert (manifest["status"], manifest["source"]["etag"]) == ("failed", etag)
    assert [k.split("/")[0] for k in manifest["outputs"]] == ["errors"]


def test_a_good_upload_after_a_bad_one_removes_the_error_and_stale_rejected_rows(
    stack: LocalStack, pump: EventPump
) -> None:
    upload(stack, "replace/b.csv", b"not,an,orders,file\n")
    drain(stack, pump)
    assert set(outputs_of(stack, "replace/b.csv")) == {"errors", "_manifests"}

    etag = upload(stack, "replace/b.csv", orders(GOOD_ROW))
    drain(stack, pump)
    after = outputs_of(stack, "replace/b.csv")
    assert set(after) == {
        "most_profitable_region",
        "top_ship_mode_by_category",
        "orders_by_category",
        "_manifests",
    }
    manifest = json.loads(after["_manifests"])
    assert (manifest["status"], manifest["source"]["etag"]) == ("ok", etag)
    assert sorted(k.split("/")[0] for k in manifest["outputs"]) == [
        "most_profitable_region",
        "orders_by_category",
        "top_ship_mode_by_category",
    ]


@pytest.mark.parametrize("key", ["case/ORDERS.CSV", "case/Orders.Csv.GZ"])
def test_csv_in_any_letter_case_and_gzip_are_read(
    stack: LocalStack, pump: EventPump, key: str
) -> None:
    body = SAMPLE.read_bytes()
    upload(stack, key, gzip.compress(body) if key.lower().endswith(".gz") else body)
    drain(stack, pump)
    outputs = outputs_of(stack, key)
    assert region_report(outputs)[0] == "1,East,2465.50,20685.50,8"
    assert json.loads(outputs["_manifests"])["rows"] == {"read": 20, "valid": 20, "rejected": 0}


def test_a_cut_gzip_archive_is_a_clear_file_error(stack: LocalStack, pump: EventPump) -> None:
    upload(stack, "case/cut.csv.gz", gzip.compress(SAMPLE.read_bytes())[:-20])
    drain(stack, pump)
    manifest = json.loads(outputs_of(stack, "case/cut.csv.gz")["_manifests"])
    assert manifest["error"]["code"] == "invalid_gzip"
    assert depth(stack, stack.dlq_url) == 0


def test_other_keys_are_ignored_without_retries(stack: LocalStack, pump: EventPump) -> None:
    for key in ("case/notes.txt", "case/orders.csv.zip", "case/folder/"):
        upload(stack, key, SAMPLE.read_bytes())
    drain(stack, pump)
    assert not any(outputs_of(stack, k) for k in ("case/notes.txt", "case/orders.csv.zip"))
    assert depth(stack, stack.dlq_url) == 0 and not pump.errors


# --------------------------------------------------------------------------- ordering


def notifications(stack: LocalStack, count: int) -> list[dict[str, Any]]:
    """Take the next `count` S3 notifications off the queue (skipping s3:TestEvent)."""
    sqs, found = stack.client("sqs"), []
    while len(found) < count:
        for message in sqs.receive_message(
            QueueUrl=stack.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            body = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if "Records" in body:
                found.append(body)
    return found


def with_sequencer(notification: dict[str, Any], sequencer: str) -> str:
    """AWS stamps every event with a sequencer; the emulator does not, so the test does."""
    notification["Records"][0]["s3"]["object"]["sequencer"] = sequencer
    return json.dumps(notification)


def send(stack: LocalStack, *bodies: str) -> None:
    for body in bodies:
        stack.client("sqs").send_message(QueueUrl=stack.queue_url, MessageBody=body)


def test_out_of_order_events_never_let_an_older_upload_win(
    stack: LocalStack, pump: EventPump
) -> None:
    key = "order/late.csv"
    upload(stack, key, orders(GOOD_ROW))  # v1
    v2 = upload(stack, key, orders(GOOD_ROW, GOOD_ROW.replace(",West,", ",East,")))
    old, new = notifications(stack, 2)
    send(stack, with_sequencer(new, "0062A1"), with_sequencer(old, "0062A0"))
    drain(stack, pump)

    outputs = outputs_of(stack, key)
    assert json.loads(outputs["_manifests"])["source"]["etag"] == v2
    assert sorted(r.split(",")[1] for r in region_report(outputs)) == ["East", "West"]
    assert depth(stack, stack.dlq_url) == 0 and not pump.errors


def test_a_run_in_progress_is_never_overwritten_by_an_older_one_finishing_last(
    stack: LocalStack, pump: EventPump
) -> None:
    """v1's run is slow: v2 lands and its event arrives while v1 still writes. v2's run waits
    (then fails transiently and is retried) instead of interleaving; v2's outputs win."""
    key = "order/slow.csv"
    upload(stack, key, orders(GOOD_ROW))
    [first] = notifications(stack, 1)

    s3_slow = stack.client("s3")
    entered, resume = threading.Event(), threading.Event()

    def hold(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", "").startswith("most_profitable_region/"):
            entered.set()
            assert resume.wait(30)

    s3_slow.meta.events.register("before-parameter-build.s3.PutObject", hold)
    settings = ReportsSettings(
        stack.names.output_bucket,
        source_wait_seconds=1,
        telemetry=Telemetry("orders-reports", log_level="WARNING"),
    )
    slow = EventPump(
        stack.client("sqs"), stack.queue_url, make_handler(settings, s3=s3_slow), "slow"
    )
    send(stack, with_sequencer(first, "0070"))
    worker = threading.Thread(target=slow.poll_once)
    worker.start()
    assert entered.wait(30), f"the slow run never reached its first report: {slow.errors}"

    v2 = upload(stack, key, orders(GOOD_ROW, GOOD_ROW.replace(",West,", ",North,")))
    [second] = notifications(stack, 1)
    send(stack, with_sequencer(second, "0071"))
    quick = stack.make_pump(
        make_handler(settings, s3=stack.client("s3")),
        on_batch=lambda records, failed: results.append(bool(failed)),
    )
    results: list[bool] = []
    while not results:
        quick.poll_once()
    assert results == [True], "v2 must not run while v1 holds the source"

    resume.set()
    worker.join(30)
    drain(stack, quick)  # v2's event comes back after its visibility timeout
    outputs = outputs_of(stack, key)
    assert json.loads(outputs["_manifests"])["source"]["etag"] == v2
    assert sorted(r.split(",")[1] for r in region_report(outputs)) == ["North", "West"]

    send(stack, with_sequencer(first, "0070"))  # v1 redelivered late: superseded
    drain(stack, quick)
    assert json.loads(outputs_of(stack, key)["_manifests"])["source"]["etag"] == v2
    assert depth(stack, stack.dlq_url) == 0 and not slow.errors

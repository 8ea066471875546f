"""The customer-feed function on a real moto server: partner files land in any order (S3
notifications in), one message per customer (and error messages) on the output queue, and the
set's status on the files table, as a consumer and a user would see them."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto.moto_api._internal.models import moto_api_backend

from app.adapters.clients import CLIENT_CONFIG
from app.core.settings import FeedSettings, Telemetry
from app.local import topology
from app.local.pump import LambdaContext
from app.local.server import LoopbackServer
from app.pipelines.customer_feed.function import make_handler
from app.runtime.sqs_consumer import Handler

pytestmark = pytest.mark.xdist_group("customer-feed")

SAMPLES = Path(__file__).resolve().parents[2] / "assessment_assets" / "customer_feed"
BUCKET = "orders-pipeline-test-partner-feed"
FILES = "orders-pipeline-test-files"
DAYS = {"2022-01-30": "20220130", "2022-01-31": "20220131"}
KINDS = ("customers", "orders", "items")
_folders = itertools.count()
_times = itertools.count()


@dataclass
class Aws:
    endpoint: str
    session: boto3.Session
    output_url: str = ""
    feed_url: str = ""

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint, config=CLIENT_CONFIG)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    server = LoopbackServer()
    server.start()
    saved = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    try:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        env = Aws(f"http://127.0.0.1:{server.bound_port}", session)
        env.client("s3").create_bucket(Bucket=BUCKET)
        env.client("dynamodb").create_table(**topology.FILES.definition(FILES))
        sqs = env.client("sqs")
        env.output_url = sqs.create_queue(QueueName="customer-feed")["QueueUrl"]
        env.feed_url = sqs.create_queue(QueueName="feed")["QueueUrl"]
        yield env
    finally:
        if saved is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = saved
        server.stop()
        moto_api_backend.reset()  # moto's state is per process: leave none to the next module


@pytest.fixture
def settings(aws: Aws) -> FeedSettings:
    return FeedSettings(
        FILES,
        aws.output_url,
        aws.feed_url,
        incomplete_after_seconds=0,
        telemetry=Telemetry("feed", "T", "ERROR"),
    )


def new_handler(aws: Aws, settings: FeedSettings) -> Handler:
    return make_handler(
        settings, s3=aws.client("s3"), dynamodb=aws.client("dynamodb"), sqs=aws.client("sqs")
    )


@pytest.fixture
def handler(aws: Aws, settings: FeedSettings) -> Handler:
    drain(aws, aws.output_url)  # each test reads only the messages it caused
    drain(aws, aws.feed_url)
    return new_handler(aws, settings)


@pytest.fixture
def folder() -> str:
    return f"partner-{next(_folders)}/"


# --------------------------------------------------------------------------- helpers


def sample(kind: str, day: str) -> bytes:
    return (SAMPLES / f"{kind}_{DAYS[day]}.csv").read_bytes()


def upload(aws: Aws, key: str, body: bytes) -> dict[str, Any]:
    """Put an object; the S3 notification that announces it (each upload a later time)."""
    etag = aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')
    second = next(_times)
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": f"2026-01-01T00:{second // 60 % 60:02d}:{second % 60:02d}.000Z",
                "s3": {
                    "bucket": {"name": BUCKET},
                    "object": {"key": key, "eTag": etag, "size": len(body)},
                },
            }
        ]
    }


def put_file(aws: Aws, folder: str, kind: str, day: str, body: bytes | None = None) -> Any:
    return upload(
        aws, f"{folder}{kind}_{DAYS[day]}.csv", sample(kind, day) if body is None else body
    )


def invoke(handler: Handler, *bodies: Any) -> set[str]:
    """One SQS batch through the handler; the ids of the records it failed."""
    records = [
        {
            "messageId": f"m{i}",
            "receiptHandle": f"r{i}",
            "body": body if isinstance(body, str) else json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(b"").hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders-pipeline-test-feed",
            "awsRegion": "us-east-1",
        }
        for i, body in enumerate(bodies)
    ]
    context = LambdaContext("orders-pipeline-test-customer-feed", "request-1")
    try:
        response = handler({"Records": records}, context)
    except BatchProcessingError:  # every record failed
        return {str(r["messageId"]) for r in records}
    return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}


def drain(aws: Aws, url: str) -> list[str]:
    """Every message body on the queue, received and deleted."""
    sqs, bodies = aws.client("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def output(aws: Aws) -> list[dict[str, Any]]:
    return [json.loads(b, parse_float=Decimal) for b in drain(aws, aws.output_url)]


def registry(aws: Aws, key: str) -> dict[str, Any]:
    item = aws.client("dynamodb").get_item(
        TableName=FILES, Key={"FileName": {"S": f"{BUCKET}/{key}"}}, ConsistentRead=True
    )
    return {k: next(iter(v.values())) for k, v in item.get("Item", {}).items()}


def summary(messages: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, Decimal]]:
    return {
        (m["feed_date"], m["customer_reference"]): (m["number_of_orders"], m["total_amount_spent"])
        for m in messages
        if m["type"] == "customer_message"
    }


def metrics_of(capsys: Any) -> dict[str, float]:
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    totals: dict[str, float] = {}
    for blob in emitted:
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return totals


@pytest.fixture
def metered(
    aws: Aws, settings: FeedSettings, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> Handler:
    """A handler whose metrics are printed (read them with metrics_of(capsys))."""
    drain(aws, aws.output_url)
    drain(aws, aws.feed_url)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    Metrics().clear_metrics()  # the set is shared, and kept while metrics are disabled
    handler = new_handler(aws, settings)
    capsys.readouterr()
    return handler


SAMPLE_SUMMARY = {
    ("2022-01-30", "ade3-11ed"): (2, Decimal("87.5")),
    ("2022-01-31", "123"): (2, Decimal("62.3")),
    ("2022-01-31", "456"): (1, Decimal("40.0")),
    ("2022-01-31", "789"): (1, Decimal("50.0")),  # its order has an item (row 6)
}


# --------------------------------------------------------------------------- sets


@pytest.mark.parametrize("order", list(itertools.permutations(KINDS)), ids="-".join)
def test_each_arrival_order_sends_one_message_per_customer(
    aws: Aws, handler: Handler, folder: str, order: tuple[str, ...]
) -> None:
    for kind in order:  # the two days interleaved, each in this order
        for day in DAYS:
            assert invoke(handler, put_file(aws, folder, kind, day)) == set()
        if kind != order[-1]:
            assert output(aws) == []  # nothing before a set is complete

    messages = output(aws)
    assert summary(messages) == SAMPLE_SUMMARY
    customers = [m for m in messages if m["type"] == "customer_message"]
    assert len(customers) == 4  # exactly one per customer and day
    assert [m for m in messages if m["type"] == "error_message"] == []
    ids = [m["message_id"] for m in messages]
    assert len(set(ids)) == len(ids)
    ade3 = next(m for m in customers if m["customer_reference"] == "ade3-11ed")
    assert [(o["order_reference"], o["total"]) for o in ade3["orders"]] == [
        ("dc0aa69c", Decimal("75")),
        ("dc0ab1aa", Decimal("12.5")),
    ]
    assert ade3["orders"][0]["order_timestamp"] == "2023-02-16T09:25:08Z"

    for day, stamp in DAYS.items():
        record = registry(aws, f"{folder}customers_{stamp}.csv")
        assert record["FeedStatus"] == "sent"
        assert set(json.loads(record["FeedVersions"])) == set(KINDS)
        assert "FeedLease" not in record
        assert int(record["FeedMessages"]) == (1 if day == "2022-01-30" else 3)
        assert int(record["FeedErrors"]) == 0
        for kind in ("orders", "items"):
            other = registry(aws, f"{folder}{kind}_{stamp}.csv")
            assert other["FeedStatus"] == "sent"
            assert other["FeedSet"] == f"{BUCKET}/{folder}customers_{stamp}.csv"

    # The checks the incomplete moments scheduled find the sets complete and processed.
    checks = drain(aws, aws.feed_url)
    assert len(checks) == 4  # two early files of each day
    assert invoke(handler, *checks) == set()
    assert output(aws) == []


def test_a_race_of_the_last_two_files_processes_the_set_once(
    aws: Aws, settings: FeedSettings, handler: Handler, folder: str
) -> None:
    day = "2022-01-31"
    assert invoke(handler, put_file(aws, folder, "customers", day)) == set()
    last = [put_file(aws, folder, kind, day) for kind in ("orders", "items")]

    # Both handlers see the complete set, then both claim it at the same moment.
    both_saw_it = threading.Barrier(2, timeout=10)

    def claim_together(params: dict[str, Any], **_: Any) -> None:
        if "FeedLease < :now" in params.get("ConditionExpression", ""):
            both_saw_it.wait()

    failed: list[set[str]] = []

    def run(event: dict[str, Any]) -> None:
        ddb = aws.client("dynamodb")
        ddb.meta.events.register("provide-client-params.dynamodb.UpdateItem", claim_together)
        racer = make_handler(settings, s3=aws.client("s3"), dynamodb=ddb, sqs=aws.client("sqs"))
        failed.append(invoke(racer, event))

    threads = [threading.Thread(target=run, args=(event,)) for event in last]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failed == [set(), set()]

    messages = output(aws)
    assert len(messages) == 3  # the day's 3 customers, once
    assert summary(messages) == {k: v for k, v in SAMPLE_SUMMARY.items() if k[0] == day}
    assert registry(aws, f"{folder}customers_20220131.csv")["FeedStatus"] == "sent"


def test_a_redelivered_completing_event_is_not_processed_again(
    aws: Aws, metered: Handler, folder: str, capsys: Any
) -> None:
    day = "2022-01-30"
    events = [put_file(aws, folder, kind, day) for kind in KINDS]
    assert invoke(metered, events[-1]) == set()
    assert len(output(aws)) == 1
    first = metrics_of(capsys)
    assert (first["FeedSetsProcessed"], first["FeedMessagesSent"]) == (1, 1)

    assert invoke(metered, events[-1], events[0]) == set()  # again, and an earlier file's too
    assert output(aws) == []
    again = metrics_of(capsys)
    assert again["FeedSetsAlreadyClaimed"] == 2
    assert "FeedSetsProcessed" not in again


def test_a_reupload_reprocesses_the_set_with_new_ids(
    aws: Aws, handler: Handler, folder: str
) -> None:
    day = "2022-01-30"
    for kind in KINDS:
        assert invoke(handler, put_file(aws, folder, kind, day)) == set()
    before = output(aws)
    versions = registry(aws, f"{folder}customers_20220130.csv")["FeedVersions"]

    renamed = sample("customers", day).replace(b"Alex", b"Alexandra")
    assert invoke(handler, put_file(aws, folder, "customers", day, renamed)) == set()
    after = output(aws)
    assert [m["first_name"] for m in after] == ["Alexandra"]
    assert after[0]["total_amount_spent"] == Decimal("87.5")
    assert after[0]["message_id"] != before[0]["message_id"]
    record = registry(aws, f"{folder}customers_20220130.csv")
    assert record["FeedStatus"] == "sent"
    assert record["FeedVersions"] != versions


def test_an_event_for_a_replaced_file_is_superseded(
    aws: Aws, handler: Handler, folder: str
) -> None:
    day = "2022-01-30"
    events = [put_file(aws, folder, kind, day) for kind in KINDS]
    # The set's event starts, the HEADs see the new upload, the read its ETag: consistent.
    # A replacement between a HEAD and the read is a run superseded: simulated by uploading
    # the items file again after the HEAD of a botocore hook.
    s3 = aws.client("s3")
    replaced: list[bool] = []

    def replace_items(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", "").endswith("items_20220130.csv") and not replaced:
            replaced.append(True)
            s3.put_object(Bucket=BUCKET, Key=params["Key"], Body=sample("items", day) + b"\n")

    racer_s3 = aws.client("s3")
    racer_s3.meta.events.register("provide-client-params.s3.GetObject", replace_items)
    racer = make_handler(
        FeedSettings(FILES, aws.output_url, aws.feed_url, 0, Telemetry("feed", "T", "ERROR")),
        s3=racer_s3,
        dynamodb=aws.client("dynamodb"),
        sqs=aws.client("sqs"),
    )
    assert invoke(racer, events[-1]) == set()
    assert output(aws) == []
    assert registry(aws, f"{folder}customers_20220130.csv")["FeedStatus"].startswith("superseded: ")
    # The newer upload's own event processes the set.
    newer = upload(aws, f"{folder}items_20220130.csv", sample("items", day) + b"\n")
    assert invoke(handler, newer) == set()
    assert summary(output(aws)) == {("2022-01-30", "ade3-11ed"): (2, Decimal("87.5"))}


def test_a_file_without_a_column_is_one_error_and_a_failed_set(
    aws: Aws, handler: Handler, folder: str
) -> None:
    day = "2022-01-31"
    bad = sample("orders", day).replace(b"order_status,", b"")
    assert invoke(handler, put_file(aws, folder, "orders", day, bad)) == set()
    assert invoke(handler, put_file(aws, folder, "customers", day)) == set()
    assert invoke(handler, put_file(aws, folder, "items", day)) == set()

    messages = output(aws)
    assert len(messages) == 1
    error = messages[0]
    assert error["type"] == "error_message"
    assert error["file"] == "orders_20220131.csv"
    assert error["row"] is None
    assert "order_status" in error["message"]
    record = registry(aws, f"{folder}customers_20220131.csv")
    assert record["FeedStatus"].startswith("failed: orders_20220131.csv: the header lacks")
    assert (record["FeedMessages"], record["FeedErrors"]) == ("0", "1")
    assert registry(aws, f"{folder}orders_20220131.csv")["FeedStatus"].startswith("failed: ")


def test_an_incomplete_set_waits_then_is_counted_incomplete(
    aws: Aws, metered: Handler, folder: str, capsys: Any
) -> None:
    day = "2022-01-30"
    assert invoke(metered, put_file(aws, folder, "orders", day)) == set()
    key = f"{folder}orders_20220130.csv"
    assert registry(aws, key)["FeedStatus"] == "waiting for customers, items"
    assert output(aws) == []

    checks = drain(aws, aws.feed_url)  # INCOMPLETE_AFTER_SECONDS=0: receivable at once
    assert [json.loads(c) for c in checks] == [
        {
            "type": "orders-pipeline/customer-feed/check",
            "bucket": BUCKET,
            "prefix": folder,
            "date": "2022-01-30",
        }
    ]
    metrics_of(capsys)
    assert invoke(metered, *checks) == set()
    assert metrics_of(capsys).get("FeedSetsIncomplete") == 1
    assert registry(aws, key)["FeedStatus"] == "incomplete after 0 s: missing customers, items"
    assert output(aws) == []


def test_other_keys_are_ignored(aws: Aws, metered: Handler, folder: str, capsys: Any) -> None:
    events = [
        upload(aws, f"{folder}readme.txt", b"hello"),
        upload(aws, f"{folder}CUSTOMERS_20220130.CSV", sample("customers", "2022-01-30")),
        upload(aws, f"{folder}orders_20220230.csv", b"a\n"),  # no such date
    ]
    assert invoke(metered, *events) == set()
    assert metrics_of(capsys)["FilesIgnored"] == 3
    assert output(aws) == []
    assert drain(aws, aws.feed_url) == []
    assert registry(aws, f"{folder}readme.txt") == {}


def test_a_send_that_fails_is_retried_at_once_by_the_redelivery(
    aws: Aws, settings: FeedSettings, folder: str
) -> None:
    """The failed run ends its claim's lease: the redelivered event (long before the lease of
    the invocation would have expired) processes the set, and nothing is left 'processing'."""
    drain(aws, aws.output_url)
    day = "2022-01-30"
    events = [put_file(aws, folder, kind, day) for kind in KINDS]
    sqs = aws.client("sqs")
    faults = {"left": 1}

    def refuse(**_: Any) -> None:
        if faults["left"]:
            faults["left"] -= 1
            raise ConnectionError("the customer-feed queue cannot be reached")

    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", refuse)
    handler = make_handler(settings, s3=aws.client("s3"), dynamodb=aws.client("dynamodb"), sqs=sqs)
    assert invoke(handler, events[-1]) == {"m0"}  # failed: SQS delivers it again
    assert output(aws) == []
    assert invoke(handler, events[-1]) == set()
    (message,) = output(aws)
    assert message["customer_reference"] == "ade3-11ed"
    assert registry(aws, f"{folder}customers_20220130.csv")["FeedStatus"] == "sent"

"""The table loader on a real moto server: S3 notifications and continuations in, the rows
table and the file's ledger item out, as a user would query them."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from moto.moto_api._internal.models import moto_api_backend

from app.adapters.clients import CLIENT_CONFIG
from app.adapters.rows_table import RowsTable
from app.core.errors import TransientError
from app.core.settings import LoaderSettings, Telemetry
from app.local import topology
from app.local.pump import LambdaContext
from app.local.server import LoopbackServer
from app.pipelines.table_loader.function import make_handler
from app.pipelines.table_loader.items import MAX_ITEM_BYTES
from app.runtime.sqs_consumer import Handler

pytestmark = pytest.mark.xdist_group("table-loader")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
# A copy of ../shared/data/seed002/sample_data.csv: a CSV that is not an orders file at all.
PEOPLE = (ROOT / "assessment_assets" / "sample_data.csv").read_text()
BUCKET = "orders-pipeline-test-input"
ROWS = "orders-pipeline-test-rows"
FILES = "orders-pipeline-test-files"
_keys = itertools.count()
_times = itertools.count()


@dataclass
class Aws:
    endpoint: str
    session: boto3.Session
    queue_url: str

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
        env = Aws(f"http://127.0.0.1:{server.bound_port}", session, "")
        env.client("s3").create_bucket(Bucket=BUCKET)
        ddb = env.client("dynamodb")
        ddb.create_table(**topology.ROWS.definition(ROWS))
        ddb.create_table(**topology.FILES.definition(FILES))
        env.queue_url = env.client("sqs").create_queue(QueueName="loader-continue")["QueueUrl"]
        yield env
    finally:
        if saved is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = saved
        server.stop()
        moto_api_backend.reset()  # moto's state is per process: leave none to the next module


@pytest.fixture
def settings(aws: Aws) -> LoaderSettings:
    return LoaderSettings(
        ROWS, FILES, aws.queue_url, margin_seconds=1.0, telemetry=Telemetry("loader", "T", "ERROR")
    )


@pytest.fixture
def handler(aws: Aws, settings: LoaderSettings) -> Handler:
    return make_handler(
        settings, s3=aws.client("s3"), dynamodb=aws.client("dynamodb"), sqs=aws.client("sqs")
    )


# --------------------------------------------------------------------------- helpers


class Deadline(LambdaContext):
    """A context whose invocation runs out after `checks` looks at the clock."""

    def __init__(self, checks: int | None = None) -> None:
        super().__init__("orders-pipeline-test-loader", "request-1")
        self.checks = checks

    def get_remaining_time_in_millis(self) -> int:
        if self.checks is None:
            return 900_000
        self.checks -= 1
        return 900_000 if self.checks >= 0 else 100


def upload(aws: Aws, body: bytes | str, key: str | None = None) -> dict[str, Any]:
    """Put an object; the S3 notification that announces it (each upload a later time)."""
    key = key or f"drop/file-{next(_keys)}.csv"
    data = body.encode() if isinstance(body, str) else body
    etag = aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)["ETag"].strip('"')
    return notification(key, etag, size=len(data))


def notification(key: str, etag: str, size: int = 0) -> dict[str, Any]:
    second = next(_times)
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": f"2026-01-01T00:{second // 60:02d}:{second % 60:02d}.000Z",
                "s3": {
                    "bucket": {"name": BUCKET},
                    "object": {"key": key, "eTag": etag, "size": size},
                },
            }
        ]
    }


def invoke(handler: Handler, *bodies: Any, context: LambdaContext | None = None) -> set[str]:
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
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders-pipeline-test-loader",
            "awsRegion": "us-east-1",
        }
        for i, body in enumerate(bodies)
    ]
    try:
        response = handler({"Records": records}, context or Deadline())
    except BatchProcessingError:  # every record failed: the invocation fails, SQS retries all
        return {str(r["messageId"]) for r in records}
    return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}


def drain_continuations(aws: Aws, handler: Handler, checks: int | None = None) -> int:
    """Deliver the continuation queue's messages until it is empty; how many there were."""
    sqs, delivered = aws.client("sqs"), 0
    while True:
        messages = sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return delivered
        for message in messages:
            assert invoke(handler, message["Body"], context=Deadline(checks)) == set()
            sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
            delivered += 1


def rows_of(aws: Aws, key: str) -> dict[int, dict[str, Any]]:
    """The source's items by row number, as DynamoDB returns them."""
    pages = (
        aws.client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=ROWS,
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "source"},
            ExpressionAttributeValues={":s": {"S": f"{BUCKET}/{key}"}},
        )
    )
    return {int(i["row"]["N"]): i for page in pages for i in page["Items"]}


def ledger(aws: Aws, key: str) -> dict[str, Any]:
    item = aws.client("dynamodb").get_item(
        TableName=FILES, Key={"FileName": {"S": f"{BUCKET}/{key}"}}, ConsistentRead=True
    )
    return {k: next(iter(v.values())) for k, v in item.get("Item", {}).items()}


def key_of(event: dict[str, Any]) -> str:
    return str(event["Records"][0]["s3"]["object"]["key"])


def csv_text(rows: int, width: int = 5) -> str:
    header = ",".join(f"col {c}" for c in range(width))
    body = "".join(
        ",".join(f'"v{r},{c}"' if c == 1 else f"v{r}-{c}" for c in range(width)) + "\n"
        for r in range(rows)
    )
    return header + "\n" + body


# --------------------------------------------------------------------------- loading


def test_sample_orders_become_twenty_items_with_numbers_typed(aws: Aws, handler: Handler) -> None:
    event = upload(aws, SAMPLE.read_bytes(), "orders/sample_orders.csv")
    assert invoke(handler, event) == set()

    rows = rows_of(aws, "orders/sample_orders.csv")
    assert sorted(rows) == list(range(2, 22))
    first = rows[2]
    assert first["source"] == {"S": f"{BUCKET}/orders/sample_orders.csv"}
    assert first["order_id"] == {"S": "CA-2023-1000"}
    assert first["sub_category"] == {"S": "Bookcases"}
    assert first["postal_code"] == {"S": "94109"}  # not a number column: the text, zeros kept
    assert first["cost_price"] == {"N": "240"}
    assert first["list_price"] == {"N": "260"}
    assert first["quantity"] == {"N": "2"}
    assert first["discount_percent"] == {"N": "2"}
    assert ledger(aws, "orders/sample_orders.csv") | {"LoaderAt": None} == {
        "FileName": f"{BUCKET}/orders/sample_orders.csv",
        "LoaderStatus": "loaded",
        "RowsLoaded": "20",
        "LoaderETag": event["Records"][0]["s3"]["object"]["eTag"],
        "LoaderAt": None,
        "LoaderLock": ledger(aws, "orders/sample_orders.csv")["LoaderLock"],
    }
    assert json.loads(ledger(aws, "orders/sample_orders.csv")["LoaderLock"])["running"] is False


def test_any_csv_loads_one_item_per_record(aws: Aws, handler: Handler) -> None:
    event = upload(aws, PEOPLE, "people/sample_data.csv")
    assert invoke(handler, event) == set()

    rows = rows_of(aws, "people/sample_data.csv")
    assert sorted(rows) == [2, 3, 4, 5]
    assert {k: v for k, v in rows[3].items() if k not in ("source", "row")} == {
        "name": {"S": "Jane Smith"},
        "age": {"S": "25"},
        "email": {"S": "jane@example.com"},
        "city": {"S": "San Francisco"},
    }
    assert ledger(aws, "people/sample_data.csv")["RowsLoaded"] == "4"


def test_redelivery_writes_the_same_items(aws: Aws, handler: Handler) -> None:
    event = upload(aws, SAMPLE.read_bytes())
    assert invoke(handler, event) == set()
    before = rows_of(aws, key_of(event))

    assert invoke(handler, event) == set()
    assert invoke(handler, event, event) == set()  # twice in one batch, too
    assert rows_of(aws, key_of(event)) == before
    assert ledger(aws, key_of(event))["LoaderStatus"] == "loaded"


def test_a_reupload_with_fewer_rows_leaves_exactly_the_new_rows(aws: Aws, handler: Handler) -> None:
    first = upload(aws, csv_text(60))
    assert invoke(handler, first) == set()
    key = key_of(first)
    assert len(rows_of(aws, key)) == 60

    second = upload(aws, "col 0,other\nnew,x\n,y\n", key)
    assert invoke(handler, second) == set()
    rows = rows_of(aws, key)
    assert sorted(rows) == [2, 3]
    assert {k: v["S"] for k, v in rows[2].items() if k not in ("source", "row")} == {
        "col_0": "new",
        "other": "x",
    }
    assert "col_0" not in rows[3]  # an empty cell is no attribute, not an old value
    assert ledger(aws, key)["RowsLoaded"] == "2"

    # The first upload's event, delivered late, changes nothing.
    assert invoke(handler, first) == set()
    assert rows_of(aws, key) == rows


def test_an_older_upload_event_after_a_newer_one_is_superseded(aws: Aws, handler: Handler) -> None:
    key = f"drop/ordered-{next(_keys)}.csv"
    old = upload(aws, csv_text(3), key)
    new = upload(aws, csv_text(2), key)
    assert invoke(handler, new) == set()
    # The old event names an ETag the key no longer holds, and an older upload: consumed.
    assert invoke(handler, old) == set()
    assert sorted(rows_of(aws, key)) == [2, 3]
    assert ledger(aws, key)["LoaderETag"] == new["Records"][0]["s3"]["object"]["eTag"]


def test_records_too_large_for_dynamodb_are_counted_and_named_not_dropped(
    aws: Aws, handler: Handler
) -> None:
    # An item is its names and values: "source" + "<bucket>/<key>", "row" + "3", "text" + cell.
    key = f"drop/large-{next(_keys)}.csv"
    fixed = len("source") + len(f"{BUCKET}/{key}") + len("row") + len("text")
    exact = "x" * (MAX_ITEM_BYTES - fixed - 2)  # row "3": 1 digit, counted as 2
    body = f"text\nsmall\n{exact}\n{exact}y\nsmall again\n"
    assert invoke(handler, upload(aws, body, key)) == set()

    rows = rows_of(aws, key)
    assert sorted(rows) == [2, 3, 5]  # row 3 is exactly at the limit; row 4 is 1 byte over
    assert rows[3]["text"]["S"] == exact
    record = ledger(aws, key)
    assert record["LoaderStatus"] == "loaded"
    assert record["RowsLoaded"] == "3"
    assert record["LoaderError"].startswith("1 record(s) not loaded: row 4: the item would be")


def test_a_bad_file_fails_in_the_ledger_and_is_not_retried(aws: Aws, handler: Handler) -> None:
    key = f"drop/bad-{next(_keys)}.csv"
    assert invoke(handler, upload(aws, csv_text(5), key)) == set()
    bad = upload(aws, b"a,b\n1,2\n3,\xff\n", key)  # not UTF-8 on line 3

    assert invoke(handler, bad) == set()  # consumed: a retry would fail the same way
    record = ledger(aws, key)
    assert record["LoaderStatus"] == "failed"
    assert record["RowsLoaded"] == "0"
    assert record["LoaderError"].startswith("the file is not valid UTF-8 text: line 3")
    assert rows_of(aws, key) == {}  # neither half of the bad file nor the older version


@pytest.mark.parametrize(
    ("body", "starts"),
    [
        (b"", "the file is empty"),
        (b"a,b\n1,\x00\n", "line 2 contains a NUL byte"),
        (b'a,b\n1,"open\n2,3\n', "line 2: a quoted field opens here and is never closed"),
    ],
)
def test_each_kind_of_bad_file_is_a_failed_load(
    aws: Aws, handler: Handler, body: bytes, starts: str
) -> None:
    event = upload(aws, body)
    assert invoke(handler, event) == set()
    assert ledger(aws, key_of(event))["LoaderError"].startswith(starts)


def test_keys_that_are_not_csv_are_ignored(aws: Aws, handler: Handler) -> None:
    event = upload(aws, PEOPLE, f"drop/notes-{next(_keys)}.txt")
    assert invoke(handler, event) == set()
    assert rows_of(aws, key_of(event)) == {}
    assert ledger(aws, key_of(event)) == {}


def test_a_gzip_csv_is_loaded_decompressed(aws: Aws, handler: Handler) -> None:
    event = upload(aws, gzip.compress(PEOPLE.encode()), f"drop/people-{next(_keys)}.CSV.GZ")
    assert invoke(handler, event) == set()
    assert rows_of(aws, key_of(event))[5]["name"] == {"S": "Alice Williams"}


def test_an_event_for_a_replaced_object_is_superseded(aws: Aws, handler: Handler) -> None:
    key = f"drop/replaced-{next(_keys)}.csv"
    stale = upload(aws, csv_text(2), key)
    aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=csv_text(3).encode())
    assert invoke(handler, stale) == set()  # consumed: the newer upload's own event will load
    assert rows_of(aws, key) == {}


def test_metrics_count_what_each_invocation_did(
    aws: Aws, settings: LoaderSettings, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    s3, ddb, sqs = aws.client("s3"), aws.client("dynamodb"), aws.client("sqs")
    handler = make_handler(settings, s3=s3, dynamodb=ddb, sqs=sqs, block_size=128)
    key = f"drop/metrics-{next(_keys)}.csv"
    stale = upload(aws, csv_text(2), key)
    fresh = upload(aws, csv_text(20), key)
    ignored = upload(aws, PEOPLE, f"drop/readme-{next(_keys)}.md")
    Metrics().clear_metrics()  # the set is shared, and kept while metrics are disabled
    capsys.readouterr()

    assert invoke(handler, ignored, stale, fresh, context=Deadline(checks=1)) == set()
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert len(emitted) == 1
    metrics = {
        name: sum(value) if isinstance(value, list) else value
        for name, value in emitted[0].items()
        if name in ("FilesIgnored", "FilesSuperseded", "Continuations", "RowsLoaded")
    }
    assert metrics.keys() == {"FilesIgnored", "FilesSuperseded", "Continuations", "RowsLoaded"}
    assert (metrics["FilesIgnored"], metrics["FilesSuperseded"], metrics["Continuations"]) == (
        1,
        1,
        1,
    )
    assert 0 < metrics["RowsLoaded"] < 20
    assert drain_continuations(aws, handler) == 1
    assert sorted(rows_of(aws, key)) == list(range(2, 22))


# --------------------------------------------------------------------------- continuations


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_load_split_across_invocations_gives_the_same_items(
    aws: Aws, settings: LoaderSettings, suffix: str
) -> None:
    quoted = '"multi\r\nline ""quoted"""'  # a record over two lines, quotes inside
    text = "\ufeff" + csv_text(400).replace('"v7,1"', quoted) + "tail,no newline"
    data = text.encode()
    if suffix == ".csv.gz":
        data = gzip.compress(data)
    s3, ddb, sqs = aws.client("s3"), aws.client("dynamodb"), aws.client("sqs")
    small = make_handler(settings, s3=s3, dynamodb=ddb, sqs=sqs, block_size=512)

    whole = upload(aws, data, f"drop/whole-{next(_keys)}{suffix}")
    assert invoke(small, whole) == set()
    assert drain_continuations(aws, small) == 0

    split = upload(aws, data, f"drop/split-{next(_keys)}{suffix}")
    assert invoke(small, split, context=Deadline(checks=2)) == set()
    assert ledger(aws, key_of(split))["LoaderStatus"] == "loading"
    continuations = drain_continuations(aws, small, checks=2)

    assert continuations > 5
    expected = {r: _without_source(i) for r, i in rows_of(aws, key_of(whole)).items()}
    assert {r: _without_source(i) for r, i in rows_of(aws, key_of(split)).items()} == expected
    assert len(expected) == 401
    assert expected[9]["col_1"] == {"S": 'multi\r\nline "quoted"'}
    assert expected[402] == {
        "row": {"N": "402"},
        "col_0": {"S": "tail"},
        "col_1": {"S": "no newline"},
    }
    record = ledger(aws, key_of(split))
    assert (record["LoaderStatus"], record["RowsLoaded"]) == ("loaded", "401")


def test_a_continuation_of_a_replaced_upload_is_superseded(
    aws: Aws, settings: LoaderSettings
) -> None:
    s3, ddb, sqs = aws.client("s3"), aws.client("dynamodb"), aws.client("sqs")
    small = make_handler(settings, s3=s3, dynamodb=ddb, sqs=sqs, block_size=256)
    key = f"drop/continued-{next(_keys)}.csv"
    assert invoke(small, upload(aws, csv_text(100), key), context=Deadline(checks=1)) == set()
    newer = upload(aws, csv_text(3), key)
    assert invoke(small, newer) == set()

    assert drain_continuations(aws, small) == 1  # consumed, nothing written
    assert sorted(rows_of(aws, key)) == [2, 3, 4]
    assert ledger(aws, key)["RowsLoaded"] == "3"


def _without_source(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "source"}


# --------------------------------------------------------------------------- faults


def test_a_transient_dynamodb_fault_fails_the_record_then_it_succeeds(
    aws: Aws, settings: LoaderSettings
) -> None:
    ddb = aws.client("dynamodb")
    faults = {"left": 1}

    def throttle(**_: Any) -> None:
        if faults["left"]:
            faults["left"] -= 1
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "BatchWriteItem",
            )

    ddb.meta.events.register("before-call.dynamodb.BatchWriteItem", throttle)
    handler = make_handler(settings, s3=aws.client("s3"), dynamodb=ddb, sqs=aws.client("sqs"))
    event = upload(aws, SAMPLE.read_bytes())

    assert invoke(handler, event) == {"m0"}  # failed: SQS delivers it again
    assert ledger(aws, key_of(event))["LoaderStatus"] == "loading"
    assert invoke(handler, event) == set()
    assert faults["left"] == 0
    assert sorted(rows_of(aws, key_of(event))) == list(range(2, 22))
    assert ledger(aws, key_of(event))["LoaderStatus"] == "loaded"


class Unprocessed:
    """botocore hooks: the first `times` BatchWriteItem calls write only their first `keep`
    requests and hand the others back as UnprocessedItems, as a throttled table does."""

    def __init__(self, client: Any, times: int, keep: int = 3) -> None:
        self.times, self.keep = times, keep
        self.calls = 0
        self.lock = threading.Lock()  # the loader writes a few batches at a time
        client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", self.before)
        client.meta.events.register("after-call.dynamodb.BatchWriteItem", self.after)

    def before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        with self.lock:
            self.calls += 1
            if self.calls > self.times:
                return
        requests = params["RequestItems"][ROWS]
        params["RequestItems"][ROWS], context["held"] = requests[: self.keep], requests[self.keep :]

    def after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.get("held"):
            parsed["UnprocessedItems"] = {ROWS: context["held"]}


def test_unprocessed_items_are_written_again_until_none_is_left(
    aws: Aws, settings: LoaderSettings
) -> None:
    ddb = aws.client("dynamodb")
    hooks = Unprocessed(ddb, times=4)
    handler = make_handler(settings, s3=aws.client("s3"), dynamodb=ddb, sqs=aws.client("sqs"))
    event = upload(aws, csv_text(30))

    assert invoke(handler, event) == set()
    assert hooks.calls > 4
    assert sorted(rows_of(aws, key_of(event))) == list(range(2, 32))


def test_items_still_unprocessed_after_the_last_attempt_are_a_transient_error(aws: Aws) -> None:
    ddb = aws.client("dynamodb")
    hooks = Unprocessed(ddb, times=1000, keep=1)  # one write per call gets through
    delays: list[float] = []
    table = RowsTable(
        ddb, ROWS, concurrency=1, max_attempts=4, sleep=delays.append, jitter=lambda a, b: b
    )
    items = [{"source": {"S": "unprocessed"}, "row": {"N": str(r)}} for r in range(2, 8)]

    with pytest.raises(TransientError, match=r"2 of 6 writes .* still unprocessed after 4"):
        table.put(items)
    assert hooks.calls == 4
    assert delays == [0.05, 0.1, 0.2]  # exponential (here each the jitter's upper bound)

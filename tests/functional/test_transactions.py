"""The transactions function on the embedded AWS (one moto server for the module): events sent
to the -transactions queue, consumed by the real handler through the local event pump, stored
once in the -transactions table, alerts on -alerts received by filtered subscriber queues."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from app.adapters.transactions import TransactionsTable
from app.core.settings import Telemetry, TransactionsSettings
from app.local.pump import EventPump
from app.local.stack import LocalStack
from app.pipelines.transactions import service
from app.pipelines.transactions.function import make_handler
from app.pipelines.transactions.service import INVALID, PAYLOADS, reassemble

pytestmark = pytest.mark.xdist_group("transactions")


class Env:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        names = stack.names
        self.queue_url = stack.queue_urls[names.queue("transactions")]
        self.dlq_url = stack.queue_urls[names.dlq("transactions")]
        self.sqs, self.sns = stack.client("sqs"), stack.client("sns")
        self.dynamodb, self.s3 = stack.client("dynamodb"), stack.client("s3")
        self.table = TransactionsTable(self.dynamodb, names.transactions_table)
        self.bucket = names.output_bucket
        self.settings = TransactionsSettings(
            names.transactions_table,
            stack.alerts_topic_arn,
            names.output_bucket,
            Telemetry("orders-transactions", log_level="ERROR"),
        )
        # One subscriber queue per alert kind, each with a filter policy on the attribute.
        self.alert_urls = {
            kind: stack.alerts_inbox(f"alerts-{kind.lower().replace('_', '-')}", {"alert": [kind]})
            for kind in service.ALERT_KINDS
        }

    def pump(self, dynamodb: Any = None) -> EventPump:
        fn = make_handler(self.settings, dynamodb or self.dynamodb, self.s3, self.sns)
        pump = self.stack.consumer_pump(self.stack.names.queue("transactions"), fn, 10)
        pump.wait_seconds = 0
        return pump

    def send(self, *bodies: str) -> None:
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(i), "MessageBody": body}
                for i, body in enumerate(bodies[start : start + 10])
            ]
            assert not self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get(
                "Failed"
            )

    def run(self, *bodies: str, pump: EventPump | None = None) -> None:
        self.send(*bodies)
        pump = pump or self.pump()
        while pump.poll_once():
            pass
        assert pump.errors == []

    def alerts(self, kind: str) -> list[tuple[dict[str, Any], str]]:
        """The alerts of this kind received so far (body, its `alert` attribute), deleted."""
        url, found = self.alert_urls[kind], []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return found
            for m in messages:
                attribute = m["MessageAttributes"]["alert"]["StringValue"]
                found.append((json.loads(m["Body"], parse_float=Decimal), attribute))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def depth(self, url: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )

    def objects(self, prefix: str) -> dict[str, bytes]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        return {
            o["Key"]: self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()
            for o in listed
        }


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with LocalStack.start(env="test", pump=False, visibility_timeout=1) as stack:
        yield Env(stack)


@pytest.fixture(autouse=True)
def drained(env: Env) -> Iterator[None]:
    yield
    for kind in service.ALERT_KINDS:
        env.alerts(kind)


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_id": str(uuid.uuid4()),
        "user_id": "user-1",
        "amount": Decimal("10.50"),
        "currency": "EUR",
        "items": [{"sku": "SKU-1", "qty": 2}, {"sku": "SKU-2", "qty": 1}],
        "created_at": "2026-11-23T10:00:00Z",
    }
    return base | fields


def body(data: dict[str, Any]) -> str:
    return (
        json.dumps(data, default=str)
        .replace('"amount": "', '"amount": ')
        .replace('", "currency"', ', "currency"')
    )


def test_a_valid_event_is_stored_once_and_enriched(env: Env) -> None:
    data = event()
    text = body(data)
    assert '"amount": 10.50,' in text
    env.run(text)
    item = env.table.get(data["order_id"])
    assert item is not None
    assert item["amount"] == Decimal("10.50") and item["currency"] == "EUR"
    assert item["items"] == [{"sku": "SKU-1", "qty": 2}, {"sku": "SKU-2", "qty": 1}]
    assert (item["item_count"], item["total_qty"]) == (2, 3)
    assert item["size_bytes"] == len(text.encode())
    assert item["large_order"] is False
    assert item["received_at"].endswith("Z") and item["sent_at"] <= item["received_at"]
    assert env.alerts("LARGE_ORDER") == [] and env.alerts("INVALID_EVENT") == []
    assert env.depth(env.queue_url) == 0 and env.depth(env.dlq_url) == 0


def test_a_redelivered_or_reordered_duplicate_is_not_written_twice(env: Env) -> None:
    data = event()
    first = body(data)
    reordered = json.dumps(dict(reversed(list(data.items()))), default=str)
    reordered = reordered.replace('"amount": "10.50"', '"amount": 10.5')
    env.run(first)
    stored = env.table.get(data["order_id"])
    env.run(first, reordered)
    assert env.table.get(data["order_id"]) == stored  # received_at unchanged: not rewritten
    assert env.alerts("INVALID_EVENT") == []


def test_a_different_event_reusing_an_order_id_is_a_conflict_alert(env: Env) -> None:
    data = event()
    env.run(body(data))
    stored = env.table.get(data["order_id"])
    other = body(data | {"amount": Decimal("99.00")})
    env.run(other)
    assert env.table.get(data["order_id"]) == stored
    [(alert, attribute)] = env.alerts("INVALID_EVENT")
    assert attribute == "INVALID_EVENT" == alert["alert"]
    assert alert["order_id"] == data["order_id"] and alert["amount"] == Decimal("99.00")
    assert "stored" in alert["reasons"][0] and "other content" in alert["reasons"][0]
    kept = [json.loads(v) for v in env.objects(INVALID).values()]
    assert any(record["body"] == other for record in kept)


def test_a_large_order_is_alerted_once_even_when_redelivered(env: Env) -> None:
    data = event(amount=Decimal(1500))
    env.run(body(data))
    env.run(body(data))
    [(alert, attribute)] = env.alerts("LARGE_ORDER")
    assert attribute == "LARGE_ORDER"
    assert alert["order_id"] == data["order_id"] and alert["amount"] == 1500
    assert alert["currency"] == "EUR" and alert["user_id"] == "user-1"
    item = env.table.get(data["order_id"])
    assert item is not None and item["large_order"] is True and "alerted_at" in item
    assert env.alerts("INVALID_EVENT") == []  # the filter policy kept it off the other queue


def test_an_invalid_event_is_kept_alerted_and_consumed_not_retried(env: Env) -> None:
    data = event(amount="12", items=[], currency="euro", extra=1)
    text = json.dumps(data)
    env.run(text, "not json at all")
    alerts = env.alerts("INVALID_EVENT")
    assert sorted(a["order_id"] or "" for a, _ in alerts) == sorted(["", data["order_id"]])
    reasons = next(a["reasons"] for a, _ in alerts if a["order_id"] == data["order_id"])
    assert [r.split(":")[0] for r in reasons] == ["amount", "currency", "items", "extra"]
    assert env.table.get(data["order_id"]) is None
    kept = [json.loads(v) for v in env.objects(INVALID).values()]
    assert {text, "not json at all"} <= {record["body"] for record in kept}
    assert env.depth(env.queue_url) == 0 and env.depth(env.dlq_url) == 0
    assert env.alerts("LARGE_ORDER") == []


@pytest.mark.parametrize("estimate", ["right", "short"])
def test_an_event_over_the_item_limit_keeps_its_payload_in_s3_whole(
    env: Env, estimate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if estimate == "short":  # DynamoDB refuses the item itself: the payload path still
        monkeypatch.setattr(service, "ITEM_BYTES", 10**7)
    data = event(padding="x" * 450_000)
    text = body(data)
    env.run(text)
    item = env.table.get(data["order_id"])
    assert item is not None and item["payload_key"].startswith(PAYLOADS)
    assert item["payload_bucket"] == env.bucket
    assert "padding" not in item and "items" not in item
    payload = env.objects(item["payload_key"])[item["payload_key"]]
    assert payload == text.encode()
    whole = reassemble(item, payload)
    assert whole["padding"] == data["padding"] and whole["items"] == data["items"]
    assert whole["item_count"] == 2


def test_a_transient_table_fault_fails_only_its_record_and_it_is_retried(env: Env) -> None:
    events = [event() for _ in range(3)]
    broken = events[1]["order_id"]
    dynamodb = env.stack.client("dynamodb")
    faults = {"left": 10}

    def fault(params: dict[str, Any], **_: Any) -> Any:
        item = json.loads(params["body"])["Item"]  # the request as sent
        if item["order_id"] == {"S": broken} and faults["left"] > 0:
            faults["left"] -= 1
            error = {"Code": "InternalServerError", "Message": "injected"}
            http = AWSResponse("http://dynamodb", 500, {}, None)  # type: ignore[arg-type]
            return http, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 500}}
        return None

    dynamodb.meta.events.register("before-call.dynamodb.PutItem", fault)
    failed: list[set[str]] = []
    pump = env.pump(dynamodb)
    pump.on_batch = lambda records, ids: failed.append(ids)
    env.send(*(body(e) for e in events))
    assert pump.poll_once() == 3
    assert len(failed[0]) == 1  # only the broken record was reported
    stored = [env.table.get(e["order_id"]) is not None for e in events]
    assert stored == [True, False, True]
    faults["left"] = 0
    deadline = time.monotonic() + 20
    while env.table.get(broken) is None and time.monotonic() < deadline:
        if not pump.poll_once():  # visible again after its 1 s visibility timeout
            time.sleep(0.2)
    assert env.table.get(broken) is not None
    assert env.depth(env.dlq_url) == 0

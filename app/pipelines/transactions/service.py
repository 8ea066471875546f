"""One event off the queue, stored once: what the transactions function does with a body.

- Invalid (not JSON, or fails the model): kept in the bucket under `transactions/invalid/`
  with its reasons, an INVALID_EVENT alert published, consumed (never retried).
- Valid: enriched and put with `attribute_not_exists(order_id)`. An item over DynamoDB's
  limit keeps the event's items and padding in a payload object (`transactions/payloads/`,
  named by the event's hash) and points to it; nothing is truncated.
- The order_id is taken: the same content (a redelivery, or the producer sending twice) is a
  duplicate, counted and consumed; different content is a conflict: an INVALID_EVENT alert,
  the event kept as invalid, the stored one untouched.
- A large order (amount >= 1000) gets one LARGE_ORDER alert: published after the put, then
  recorded on the item (`alerted_at`); a redelivery after a failed publish publishes it then.

Anything else (the table, the bucket or the topic failing) raises: the record is retried.
Here are no AWS calls: the function hands in the table, bucket and topic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from app.core import json_text
from app.core.errors import TransientError
from app.pipelines.transactions.events import (
    LARGE_ORDER_AMOUNT,
    Enriched,
    Invalid,
    TransactionEvent,
    iso_ms,
    parse,
)

PAYLOADS = "transactions/payloads/"
INVALID = "transactions/invalid/"
ITEM_BYTES = 350_000  # an item's JSON larger than this goes to a payload (DynamoDB: 400 KB)
JSON = "application/json"

AlertKind = Literal["LARGE_ORDER", "INVALID_EVENT"]
ALERT_KINDS: tuple[AlertKind, ...] = ("LARGE_ORDER", "INVALID_EVENT")
Status = Literal["stored", "duplicate", "conflict", "invalid"]


class ItemTooLarge(Exception):
    """DynamoDB refused the item for its size."""


class Table(Protocol):
    def put_new(self, item: dict[str, Any]) -> bool:
        """Put the item unless its order_id is stored (False then); ItemTooLarge."""

    def get(self, order_id: str) -> dict[str, Any] | None: ...

    def mark_alerted(self, order_id: str, at: str) -> None: ...


class Bucket(Protocol):
    bucket: str  # its name

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def delete(self, key: str) -> None: ...


class Topic(Protocol):
    def publish(self, body: str, alert: AlertKind) -> None: ...


@dataclass(frozen=True)
class Alert:
    alert: AlertKind
    source: str  # what the alert is about (the event's hash, or the body's): its id's seed
    order_id: str | None
    amount: Decimal | None
    reasons: tuple[str, ...]
    received_at: str
    user_id: str | int | None = None
    currency: str | None = None

    def body(self) -> str:
        alert_id = hashlib.sha256(f"{self.alert}:{self.source}".encode()).hexdigest()[:32]
        return json_text.dumps(
            {
                "alert": self.alert,
                "alert_id": alert_id,  # the same event's alert has the same id: drop repeats
                "order_id": self.order_id,
                "amount": self.amount,
                "currency": self.currency,
                "user_id": self.user_id,
                "reasons": list(self.reasons),
                "received_at": self.received_at,
            }
        )


@dataclass(frozen=True)
class Outcome:
    status: Status
    order_id: str | None
    large: bool = False
    offloaded: bool = False
    reasons: tuple[str, ...] = ()


@dataclass
class Transactions:
    table: Table
    bucket: Bucket
    topic: Topic

    def handle(
        self,
        body: str,
        *,
        received_at: datetime | None = None,
        sent_at: datetime | None = None,
        message_id: str | None = None,
    ) -> Outcome:
        received = received_at or datetime.now(UTC)
        parsed = parse(body)
        if isinstance(parsed, Invalid):
            self._reject(body, parsed, received, message_id)
            return Outcome("invalid", parsed.order_id, reasons=parsed.reasons)
        event = Enriched.of(parsed, body, received, sent_at)
        stored, payload_key = self._store(event, body)
        if stored:
            self._alert_large(event, None)
            return Outcome("stored", parsed.order_id, event.large, payload_key is not None)
        existing = self.table.get(parsed.order_id)
        if existing is None:  # refused, then gone: deleted in between; try again
            raise TransientError(f"order {parsed.order_id} was stored, then not found")
        if existing.get("event_sha256") != event.event_sha256:
            return self._conflict(event, body, payload_key, existing, message_id)
        self._alert_large(event, existing)
        return Outcome("duplicate", parsed.order_id, event.large)

    # ------------------------------------------------------------------ steps

    def _store(self, event: Enriched, body: str) -> tuple[bool, str | None]:
        """Put the event's item unless its order_id is taken: (stored, the payload key if
        the event's items went to a payload object)."""
        item = event.attributes()
        if len(json_text.dumps(item).encode()) <= ITEM_BYTES:
            try:
                return self.table.put_new(item), None
            except ItemTooLarge:
                pass  # the estimate was short of DynamoDB's count: the payload path
        key = f"{PAYLOADS}{event.event_sha256}.json"
        self.bucket.put(key, body.encode(), JSON)  # content-addressed: a retry rewrites it
        return self.table.put_new(event.attributes((self.bucket.bucket, key))), key

    def _alert_large(self, event: Enriched, existing: dict[str, Any] | None) -> None:
        if not event.large or (existing is not None and "alerted_at" in existing):
            return
        e = event.event
        alert = Alert(
            "LARGE_ORDER",
            event.event_sha256,
            e.order_id,
            e.amount,
            (f"amount {e.amount} >= {LARGE_ORDER_AMOUNT}",),
            iso_ms(event.received_at),
            e.user_id,
            e.currency,
        )
        self.topic.publish(alert.body(), alert.alert)
        self.table.mark_alerted(e.order_id, iso_ms(datetime.now(UTC)))

    def _conflict(
        self,
        event: Enriched,
        body: str,
        payload_key: str | None,
        existing: dict[str, Any],
        message_id: str | None,
    ) -> Outcome:
        e = event.event
        if payload_key and payload_key != existing.get("payload_key"):
            self.bucket.delete(payload_key)  # this event's payload: the item is not its
        stored = existing.get("received_at", "?")
        reasons = (
            f"order_id: {e.order_id} is stored (received {stored}) with other content; "
            "this event is kept as invalid, the stored one is unchanged",
        )
        self._reject(body, Invalid(reasons, e.order_id, e.amount), event.received_at, message_id)
        return Outcome("conflict", e.order_id, reasons=reasons)

    def _reject(
        self, body: str, invalid: Invalid, received: datetime, message_id: str | None
    ) -> None:
        digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
        record = {
            "reasons": list(invalid.reasons),
            "received_at": iso_ms(received),
            "sqs_message_id": message_id,
            "body": body,
        }
        self.bucket.put(f"{INVALID}{digest}.json", json_text.dumps(record).encode(), JSON)
        alert = Alert(
            "INVALID_EVENT",
            digest,
            invalid.order_id,
            invalid.amount,
            invalid.reasons,
            iso_ms(received),
        )
        self.topic.publish(alert.body(), alert.alert)


def reassemble(item: dict[str, Any], payload: bytes | None) -> dict[str, Any]:
    """A stored order as one document: the item, with its payload's fields when it has one."""
    if payload is None:
        return item
    event = json_text.loads(payload)
    return {**item, **{k: v for k, v in event.items() if k in TransactionEvent.model_fields}}

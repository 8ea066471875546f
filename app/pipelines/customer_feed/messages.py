"""The messages of the customer feed, exactly as the contract's JSON, and their ids.

Two kinds of message go on the customer-feed queue:
- `customer_message`: one customer of a day, with their orders (by time) and items;
- `error_message`: one unexpected thing in the input (a row, or a whole file).

Money is held as exact `Decimal`s with two decimals (built from integer cents, never from a
float) and written as a JSON number with two decimals (`87.50`). `order_timestamp` is
ISO-8601 UTC (`2022-01-30T12:00:00Z`). Bodies are compact JSON with every non-ASCII
character escaped, so a body's size in bytes is its length, and it holds only characters
SQS accepts (a raw U+FFFF, valid UTF-8, would be refused).

Every message carries a deterministic `message_id`: a hash of the feed date, the versions
of the three input files (their ETags) and the message's identity (the customer and part,
or the file and row of an error). The same input gives the same ids, so a consumer can drop
the duplicates that at-least-once delivery allows; a re-upload gives new ones.

A customer message whose body would exceed the queue's limit (SQS: 1 MiB) is split into
parts by orders: each part repeats the customer's fields and totals, holds consecutive
orders of the customer's list, and says `part` (from 1) of `parts`. An order too large for
one part on its own is spread over consecutive parts, each repeating the order's fields and
total with a run of its items. `part` and `parts` appear only on split messages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any, ClassVar

MAX_MESSAGE_BYTES = 1 << 20  # SQS's largest message body: 1 MiB
MESSAGE_ID_CHARS = 32  # hex digits of a message id (128 bits of SHA-256)

# order_timestamp: whole epoch seconds that ISO-8601 can write with a 4-digit year
FIRST_EPOCH = -62135596800  # 0001-01-01T00:00:00Z
LAST_EPOCH = 253402300799  # 9999-12-31T23:59:59Z


# --------------------------------------------------------------------------- values


def money(cents: int) -> Decimal:
    """An exact amount from integer cents: 8750 -> Decimal('87.50')."""
    sign = 1 if cents < 0 else 0
    return Decimal((sign, tuple(int(d) for d in str(abs(cents))), -2))


def cents(amount: Decimal) -> int:
    """Integer cents of an amount with at most two decimals."""
    return int(amount.scaleb(2))


def iso_utc(epoch_seconds: int) -> str:
    """1643544000 -> '2022-01-30T12:00:00Z'."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.replace(tzinfo=None).isoformat() + "Z"


_text = encode_basestring_ascii  # a str as JSON text, non-ASCII escaped (as json.dumps does)


def _number(amount: Decimal) -> str:
    """Money as a JSON number with two decimals (exact text)."""
    return f"{amount:.2f}"


def _optional(value: str | int | None) -> str:
    if value is None:
        return "null"
    return _text(value) if isinstance(value, str) else str(value)


# --------------------------------------------------------------------------- ids


@dataclass(frozen=True)
class MessageIds:
    """Deterministic message ids for one day's set, read at the given versions."""

    feed_date: date
    versions: Mapping[str, str]  # e.g. {"customers": etag, "orders": etag, "items": etag}

    def make(self, *identity: str | int | None) -> str:
        material = json.dumps(
            [self.feed_date.isoformat(), sorted(self.versions.items()), list(identity)],
            separators=(",", ":"),
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:MESSAGE_ID_CHARS]

    def customer(self, customer_reference: str, part: int | None, parts: int | None) -> str:
        return self.make("customer", customer_reference, part, parts)

    def error(self, file: str, row: int | None) -> str:
        """One id per file and row: the join gives each row at most one error message."""
        return self.make("error", file, row)


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class FeedItem:
    item_name: str
    quantity: int
    total_price: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            "item_name": self.item_name,
            "quantity": self.quantity,
            "total_price": self.total_price,
        }

    def text(self) -> str:
        """as_json's compact JSON text, written directly (the feed writes millions)."""
        return (
            f'{{"item_name":{_text(self.item_name)},"quantity":{self.quantity},'
            f'"total_price":{_number(self.total_price)}}}'
        )


@dataclass(frozen=True)
class FeedOrder:
    order_reference: str
    order_status: str
    order_timestamp: str  # ISO-8601 UTC
    total: Decimal  # the sum of the order's items' total_price (all of them, when split)
    items: tuple[FeedItem, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "order_reference": self.order_reference,
            "order_status": self.order_status,
            "order_timestamp": self.order_timestamp,
            "total": self.total,
            "items": [item.as_json() for item in self.items],
        }

    def text(self) -> str:
        items = ",".join(item.text() for item in self.items)
        return (
            f'{{"order_reference":{_text(self.order_reference)},'
            f'"order_status":{_text(self.order_status)},'
            f'"order_timestamp":{_text(self.order_timestamp)},'
            f'"total":{_number(self.total)},"items":[{items}]}}'
        )


@dataclass(frozen=True)
class CustomerMessage:
    message_id: str
    feed_date: date
    customer_reference: str
    first_name: str
    last_name: str
    status: str
    number_of_orders: int  # the customer's, in every part
    total_amount_spent: Decimal  # the customer's, in every part
    orders: tuple[FeedOrder, ...]
    part: int | None = None  # set on split messages only
    parts: int | None = None

    type: ClassVar[str] = "customer_message"

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "message_id": self.message_id,
            "feed_date": self.feed_date.isoformat(),
            "customer_reference": self.customer_reference,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "status": self.status,
            "number_of_orders": self.number_of_orders,
            "total_amount_spent": self.total_amount_spent,
            "orders": [order.as_json() for order in self.orders],
        }
        if self.parts is not None:
            body["part"], body["parts"] = self.part, self.parts
        return body

    def body(self) -> str:
        orders = ",".join(order.text() for order in self.orders)
        split = "" if self.parts is None else f',"part":{self.part},"parts":{self.parts}'
        return (
            f'{{"type":"{self.type}","message_id":{_text(self.message_id)},'
            f'"feed_date":"{self.feed_date.isoformat()}",'
            f'"customer_reference":{_text(self.customer_reference)},'
            f'"first_name":{_text(self.first_name)},"last_name":{_text(self.last_name)},'
            f'"status":{_text(self.status)},"number_of_orders":{self.number_of_orders},'
            f'"total_amount_spent":{_number(self.total_amount_spent)},'
            f'"orders":[{orders}]{split}}}'
        )


@dataclass(frozen=True)
class ErrorMessage:
    message_id: str
    feed_date: date
    customer_reference: str | None
    order_reference: str | None
    file: str
    row: int | None  # the record number, the header being 1; None for the whole file
    message: str

    type: ClassVar[str] = "error_message"

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message_id": self.message_id,
            "feed_date": self.feed_date.isoformat(),
            "customer_reference": self.customer_reference,
            "order_reference": self.order_reference,
            "file": self.file,
            "row": self.row,
            "message": self.message,
        }

    def body(self) -> str:
        return (
            f'{{"type":"{self.type}","message_id":{_text(self.message_id)},'
            f'"feed_date":"{self.feed_date.isoformat()}",'
            f'"customer_reference":{_optional(self.customer_reference)},'
            f'"order_reference":{_optional(self.order_reference)},'
            f'"file":{_text(self.file)},"row":{_optional(self.row)},'
            f'"message":{_text(self.message)}}}'
        )


Message = CustomerMessage | ErrorMessage


def parse_message(body: str) -> Message:
    """A message from its body (money back to exact Decimals): what a consumer reads."""
    data = json.loads(body, parse_float=Decimal)
    feed_date = date.fromisoformat(data["feed_date"])
    if data["type"] == ErrorMessage.type:
        return ErrorMessage(
            data["message_id"],
            feed_date,
            data["customer_reference"],
            data["order_reference"],
            data["file"],
            data["row"],
            data["message"],
        )
    orders = tuple(
        FeedOrder(
            o["order_reference"],
            o["order_status"],
            o["order_timestamp"],
            Decimal(o["total"]),
            tuple(
                FeedItem(i["item_name"], i["quantity"], Decimal(i["total_price"]))
                for i in o["items"]
            ),
        )
        for o in data["orders"]
    )
    return CustomerMessage(
        data["message_id"],
        feed_date,
        data["customer_reference"],
        data["first_name"],
        data["last_name"],
        data["status"],
        data["number_of_orders"],
        Decimal(data["total_amount_spent"]),
        orders,
        data.get("part"),
        data.get("parts"),
    )


# --------------------------------------------------------------------------- splitting


def customer_messages(
    ids: MessageIds,
    *,
    customer_reference: str,
    first_name: str,
    last_name: str,
    status: str,
    orders: Sequence[FeedOrder],
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> list[CustomerMessage] | None:
    """The customer's message, or its parts when one body would exceed `max_bytes`; None
    when even a part with a single item would (a field too long to send at all)."""
    whole = CustomerMessage(
        ids.customer(customer_reference, None, None),
        ids.feed_date,
        customer_reference,
        first_name,
        last_name,
        status,
        len(orders),
        money(sum(cents(order.total) for order in orders)),
        tuple(orders),
    )
    if len(whole.body()) <= max_bytes:
        return [whole]
    # An upper bound of a part's size without its orders: the largest part numbers.
    envelope = len(replace(whole, orders=(), part=10**9, parts=10**9).body())
    pieces = _pack(orders, max_bytes - envelope)
    if pieces is None:
        return None
    parts = len(pieces)
    return [
        replace(
            whole,
            message_id=ids.customer(customer_reference, number, parts),
            orders=tuple(piece),
            part=number,
            parts=parts,
        )
        for number, piece in enumerate(pieces, start=1)
    ]


def _pack(orders: Sequence[FeedOrder], room: int) -> list[list[FeedOrder]] | None:
    """Consecutive orders in pieces whose orders' JSON (`a,b,c`) fits in `room` characters;
    an order that does not fit alone is cut into runs of its items."""
    pieces: list[list[FeedOrder]] = []
    current: list[FeedOrder] = []
    used = 0
    for order in orders:
        size = len(order.text())
        if current and used + 1 + size <= room:
            current.append(order)
            used += 1 + size
            continue
        if current:
            pieces.append(current)
            current, used = [], 0
        if size <= room:
            current, used = [order], size
            continue
        runs = _cut(order, room)
        if runs is None:
            return None
        pieces.extend([run] for run in runs)
    if current:
        pieces.append(current)
    return pieces


def _cut(order: FeedOrder, room: int) -> list[FeedOrder] | None:
    """The order as consecutive copies, each with a run of its items, each fitting `room`."""
    bare = len(replace(order, items=()).text())
    if bare > room:
        return None
    runs: list[list[FeedItem]] = []
    current: list[FeedItem] = []
    used = bare
    for item in order.items:
        size = len(item.text())
        if bare + size > room:
            return None
        if current and used + 1 + size <= room:
            current.append(item)
            used += 1 + size
        else:
            if current:
                runs.append(current)
            current, used = [item], bare + size
    if current:
        runs.append(current)
    return [replace(order, items=tuple(run)) for run in runs]

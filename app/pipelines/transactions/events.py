"""A transaction event as the contract describes it, validated by a typed model, and what the
pipeline adds to it.

    {"order_id": "<uuid>", "user_id": "...", "amount": 12.5, "currency": "EUR",
     "items": [{"sku": "...", "qty": 1}], "created_at": "2026-11-23T10:00:00Z", "padding": "..."}

The body is parsed with exact numbers (an amount is a Decimal, never a float), then checked by
the model: required fields, types (strict: "12.5" is not a number, true is not a quantity),
no other fields, `items` non-empty, `qty` a whole number >= 1, `amount` >= 0 with at most 4
decimals (ISO 4217's most) and below 10^15, `currency` three capital letters, `created_at`
ISO-8601. A body that fails gets every reason, one per field, and is never raised on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from app.core import json_text

LARGE_ORDER_AMOUNT = Decimal(1000)  # an order of this amount or more is alerted
MAX_AMOUNT = Decimal(10) ** 15
AMOUNT_DECIMALS = 4
MAX_QTY = 10**9
MAX_REASONS = 20  # an event with more problems lists the first ones and says how many more
MAX_LABEL = 80  # characters of a hostile field name quoted in a reason


def _unicode(text: str) -> str:
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (a lone surrogate cannot be stored)") from None
    return text


Text = Annotated[str, AfterValidator(_unicode)]
Identifier = Annotated[
    Text, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a JSON number")
    amount = Decimal(value) + 0  # -0 is 0
    if amount < 0:
        raise ValueError("must be 0 or more")
    if amount >= MAX_AMOUNT:
        raise ValueError("must be below 10^15")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_DECIMALS:
        raise ValueError(f"must have at most {AMOUNT_DECIMALS} decimals")
    return amount


def _user_id(value: Any) -> str | int:
    if isinstance(value, str):
        if not 0 < len(value) <= 256 or not value.isprintable():
            raise ValueError("must be 1 to 256 printable characters")
        return _unicode(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_AMOUNT:
        return value
    raise ValueError("must be a string or a whole number >= 0")


def _currency(value: Any) -> str:
    if (
        not isinstance(value, str)
        or len(value) != 3
        or not (value.isascii() and value.isalpha() and value.isupper())
    ):
        raise ValueError("must be an ISO 4217 code: three capital letters, as EUR")
    return value


def _iso_8601(text: str) -> str:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO-8601 date and time") from None
    return text


class LineItem(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    sku: Identifier
    qty: Annotated[int, Field(ge=1, le=MAX_QTY)]


class TransactionEvent(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    order_id: Identifier
    user_id: Annotated[str | int, BeforeValidator(_user_id)]
    amount: Annotated[Decimal, BeforeValidator(_amount)]
    currency: Annotated[str, BeforeValidator(_currency)]
    items: Annotated[list[LineItem], Field(min_length=1)]
    created_at: Annotated[Text, AfterValidator(_iso_8601)] | None = None
    padding: Text | None = None


@dataclass(frozen=True)
class Invalid:
    """An event that cannot be stored, and why; what of it could be read (for the alert)."""

    reasons: tuple[str, ...]
    order_id: str | None = None
    amount: Decimal | None = None


def parse(body: str) -> TransactionEvent | Invalid:
    try:
        data = json_text.loads(body)
    except (ValueError, RecursionError) as exc:
        return Invalid((f"not JSON: {str(exc)[:200]}",))
    if not isinstance(data, dict):
        return Invalid(("the event must be a JSON object",))
    try:
        return TransactionEvent.model_validate(data)
    except ValidationError as exc:
        return Invalid(_reasons(exc), _order_id(data.get("order_id")), _valid_amount(data))


def _reasons(exc: ValidationError) -> tuple[str, ...]:
    reasons: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"])[:MAX_LABEL] or "event"
        if error["type"] == "extra_forbidden":
            reasons.append(f"{field}: not a field of the event")
        elif error["type"] == "missing":
            reasons.append(f"{field}: required")
        else:
            message = error["msg"].removeprefix("Value error, ")
            reasons.append(f"{field}: {message}")
    unique = list(dict.fromkeys(reasons))
    if len(unique) > MAX_REASONS:
        unique = [*unique[:MAX_REASONS], f"... and {len(unique) - MAX_REASONS} more"]
    return tuple(unique)


def _order_id(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 256 else None


def _valid_amount(data: dict[str, Any]) -> Decimal | None:
    try:
        return _amount(data.get("amount"))
    except ValueError:
        return None


def canonical(event: TransactionEvent) -> str:
    """The event's content as one text: same content, same text (key order, spaces, 10.5 vs
    10.50, an absent field vs null do not matter). Its hash tells a redelivery (the same
    event) from a conflict (another event with the same order_id)."""
    data = event.model_dump(exclude_none=True)
    data["amount"] = str(event.amount.normalize())
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def iso_ms(moment: datetime) -> str:
    """2026-11-23T10:00:00.123Z"""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@dataclass(frozen=True)
class Enriched:
    """A valid event and what the pipeline adds: the attributes of its table item."""

    event: TransactionEvent
    received_at: datetime
    size_bytes: int  # the body's, as received
    event_sha256: str
    sent_at: datetime | None = None  # when SQS accepted it (SentTimestamp)

    @classmethod
    def of(
        cls, event: TransactionEvent, body: str, received_at: datetime, sent_at: datetime | None
    ) -> Enriched:
        digest = hashlib.sha256(canonical(event).encode()).hexdigest()
        return cls(event, received_at, len(body.encode()), digest, sent_at)

    @property
    def item_count(self) -> int:
        return len(self.event.items)

    @property
    def total_qty(self) -> int:
        return sum(item.qty for item in self.event.items)

    @property
    def large(self) -> bool:
        return self.event.amount >= LARGE_ORDER_AMOUNT

    def attributes(self, payload: tuple[str, str] | None = None) -> dict[str, Any]:
        """The item: the event's fields and the enrichment. With `payload` (bucket, key), the
        event's items and padding are in that object instead (the item stays small)."""
        event = self.event.model_dump(exclude_none=True)
        if payload is not None:
            event.pop("items")
            event.pop("padding", None)
        extra: dict[str, Any] = {
            "received_at": iso_ms(self.received_at),
            "item_count": self.item_count,
            "total_qty": self.total_qty,
            "size_bytes": self.size_bytes,
            "large_order": self.large,
            "event_sha256": self.event_sha256,
        }
        if self.sent_at is not None:
            extra["sent_at"] = iso_ms(self.sent_at)
        if payload is not None:
            extra["payload_bucket"], extra["payload_key"] = payload
        return event | extra


ENRICHMENT = (
    "received_at",
    "item_count",
    "total_qty",
    "size_bytes",
    "large_order",
    "event_sha256",
    "sent_at",
    "payload_bucket",
    "payload_key",
    "alerted_at",
)

"""Transaction events: every field's rule, exact amounts, the canonical content that tells a
duplicate from a conflict, the enrichment, and that no body whatever raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core import json_text
from app.pipelines.transactions.events import (
    Enriched,
    Invalid,
    TransactionEvent,
    canonical,
    parse,
)
from app.pipelines.transactions.service import Alert

VALID: dict[str, Any] = {
    "order_id": "3f1c2a9e-0000-4000-8000-000000000001",
    "user_id": "user-7",
    "amount": Decimal("1234.50"),
    "currency": "EUR",
    "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 3}],
    "created_at": "2026-11-23T10:00:00Z",
    "padding": "xx",
}


def text(data: dict[str, Any]) -> str:
    return json_text.dumps(data)


def reasons_of(data: dict[str, Any] | str) -> list[str]:
    parsed = parse(data if isinstance(data, str) else text(data))
    assert isinstance(parsed, Invalid), parsed
    return [reason.split(":")[0] for reason in parsed.reasons]


def test_a_valid_event_keeps_its_exact_amount() -> None:
    event = parse(text(VALID))
    assert isinstance(event, TransactionEvent)
    assert event.amount == Decimal("1234.50") and str(event.amount) == "1234.50"
    assert parse(
        '{"order_id":"o","user_id":3,"amount":0.1000000000000000000001,'
        '"currency":"USD","items":[{"sku":"s","qty":1}]}'
    ) == Invalid(("amount: must have at most 4 decimals",), "o", None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_id": ""}, "order_id"),
        ({"order_id": 12}, "order_id"),
        ({"order_id": "x" * 257}, "order_id"),
        ({"order_id": "a\nb"}, "order_id"),
        ({"user_id": True}, "user_id"),
        ({"user_id": -1}, "user_id"),
        ({"user_id": ""}, "user_id"),
        ({"amount": "12.5"}, "amount"),
        ({"amount": -0.01}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 10**15}, "amount"),
        ({"amount": Decimal("1.00001")}, "amount"),
        ({"amount": None}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": 978}, "currency"),
        ({"items": []}, "items"),
        ({"items": "A"}, "items"),
        ({"items": [{"sku": "A"}]}, "items.0.qty"),
        ({"items": [{"sku": "A", "qty": 0}]}, "items.0.qty"),
        ({"items": [{"sku": "A", "qty": 1.5}]}, "items.0.qty"),
        ({"items": [{"sku": "A", "qty": True}]}, "items.0.qty"),
        ({"items": [{"sku": "", "qty": 1}]}, "items.0.sku"),
        ({"items": [{"sku": "A", "qty": 1, "price": 3}]}, "items.0.price"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": 1700000000}, "created_at"),
        ({"padding": 5}, "padding"),
        ({"note": "hi"}, "note"),
    ],
)
def test_each_field_rule_names_its_field(change: dict[str, Any], field: str) -> None:
    assert reasons_of(VALID | change) == [field]


@pytest.mark.parametrize("field", ["order_id", "user_id", "amount", "currency", "items"])
def test_a_missing_required_field_is_named(field: str) -> None:
    data = {k: v for k, v in VALID.items() if k != field}
    parsed = parse(text(data))
    assert isinstance(parsed, Invalid) and parsed.reasons == (f"{field}: required",)


@pytest.mark.parametrize(
    "body", ["", "nope", "[1,2]", '"text"', "null", '{"amount": NaN}', "[" * 100_000]
)
def test_what_is_not_an_event_object_is_invalid_not_raised(body: str) -> None:
    parsed = parse(body)
    assert isinstance(parsed, Invalid) and parsed.reasons


def test_optional_fields_may_be_absent_or_null_and_zero_amounts_are_fine() -> None:
    data = {k: v for k, v in VALID.items() if k not in ("created_at", "padding")}
    assert isinstance(parse(text(data | {"amount": 0, "user_id": 42})), TransactionEvent)
    assert isinstance(parse(text(data | {"created_at": None, "padding": None})), TransactionEvent)


def test_invalid_keeps_what_it_could_read_for_the_alert() -> None:
    parsed = parse(text(VALID | {"currency": "x"}))
    assert parsed == Invalid(
        ("currency: must be an ISO 4217 code: three capital letters, as EUR",),
        VALID["order_id"],
        Decimal("1234.50"),
    )


def test_many_problems_are_listed_then_counted() -> None:
    data = VALID | {f"extra{i}": i for i in range(30)}
    parsed = parse(text(data))
    assert isinstance(parsed, Invalid)
    assert len(parsed.reasons) == 21 and parsed.reasons[-1] == "... and 10 more"


def test_canonical_content_ignores_order_spacing_trailing_zeros_and_nulls() -> None:
    a = parse(text(VALID))
    reordered = json.dumps(dict(reversed(list(VALID.items()))), default=str, indent=2)
    b = parse(reordered.replace('"1234.50"', "1234.5"))
    c = parse(text(VALID | {"amount": Decimal("1234.51")}))
    assert isinstance(a, TransactionEvent) and isinstance(b, TransactionEvent)
    assert isinstance(c, TransactionEvent)
    assert canonical(a) == canonical(b) != canonical(c)


def test_enrichment() -> None:
    body = text(VALID)
    event = parse(body)
    assert isinstance(event, TransactionEvent)
    at = datetime(2026, 11, 23, 10, 0, 1, 500_000, tzinfo=UTC)
    enriched = Enriched.of(event, body, at, datetime(2026, 11, 23, 10, 0, 1, tzinfo=UTC))
    item = enriched.attributes()
    assert item["received_at"] == "2026-11-23T10:00:01.500Z"
    assert item["sent_at"] == "2026-11-23T10:00:01.000Z"
    assert (item["item_count"], item["total_qty"], item["large_order"]) == (2, 5, True)
    assert item["size_bytes"] == len(body.encode())
    assert item["amount"] == Decimal("1234.50") and item["padding"] == "xx"
    pointed = enriched.attributes(("b", "transactions/payloads/x.json"))
    assert "items" not in pointed and "padding" not in pointed
    assert (pointed["payload_bucket"], pointed["payload_key"]) == (
        "b",
        "transactions/payloads/x.json",
    )


def test_an_alert_is_json_with_an_exact_amount_and_a_stable_id() -> None:
    alert = Alert("LARGE_ORDER", "abc", "o-1", Decimal("1500.10"), ("big",), "t", "u", "EUR")
    data = json.loads(alert.body(), parse_float=Decimal)
    assert data["amount"] == Decimal("1500.10") and '"amount":1500.10' in alert.body()
    assert data["alert"] == "LARGE_ORDER" and data["reasons"] == ["big"]
    assert alert.body() == Alert(*alert.__dict__.values()).body()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={k: json_values for k in (*VALID, "other")},
    )
)
def test_no_body_raises_and_every_verdict_is_valid_or_has_reasons(data: dict[str, Any]) -> None:
    parsed = parse(json.dumps(data))
    assert isinstance(parsed, TransactionEvent) or (isinstance(parsed, Invalid) and parsed.reasons)


@given(st.text(max_size=200))
def test_no_text_raises(body: str) -> None:
    parsed = parse(body)
    assert isinstance(parsed, TransactionEvent | Invalid)

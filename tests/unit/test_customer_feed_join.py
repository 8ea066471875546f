"""The customer feed's join: the three daily files -> one message per customer, and an
error message for anything unexpected. Pure: no AWS."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.pipelines.customer_feed.files import KINDS, feed_file, file_name
from app.pipelines.customer_feed.join import FeedSource, csv_source, join_feed
from app.pipelines.customer_feed.messages import (
    CustomerMessage,
    ErrorMessage,
    FeedItem,
    FeedOrder,
    Message,
    parse_message,
)

SAMPLES = Path(__file__).resolve().parents[2] / "assessment_assets" / "customer_feed"
DAY = date(2022, 1, 31)
VERSIONS = {"customers": "etag-c", "orders": "etag-o", "items": "etag-i"}
HEADERS = {
    "customers": ["id", "first_name", "last_name", "customer_reference", "status"],
    "orders": ["id", "customer_reference", "order_status", "order_reference", "order_timestamp"],
    "items": ["id", "order_reference", "item_name", "quantity", "total_price"],
}


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)  # CRLF: a field holding a CR or LF is quoted
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def sources(data: dict[str, bytes], day: date = DAY) -> dict[str, FeedSource]:
    return {kind: csv_source(file_name(kind, day), io.BytesIO(data[kind])) for kind in KINDS}


def feed(
    customers: list[list[str]],
    orders: list[list[str]],
    items: list[list[str]],
    versions: dict[str, str] | None = None,
    max_bytes: int = 1 << 20,
) -> list[Message]:
    data = {
        "customers": csv_bytes(HEADERS["customers"], customers),
        "orders": csv_bytes(HEADERS["orders"], orders),
        "items": csv_bytes(HEADERS["items"], items),
    }
    result = join_feed(DAY, sources(data), versions or VERSIONS, max_message_bytes=max_bytes)
    assert result.joined
    return list(result.messages())


def split(messages: list[Message]) -> tuple[list[CustomerMessage], list[ErrorMessage]]:
    customers = [m for m in messages if isinstance(m, CustomerMessage)]
    errors = [m for m in messages if isinstance(m, ErrorMessage)]
    return customers, errors


def sample_day(day: date, versions: dict[str, str] = VERSIONS) -> list[Message]:
    data = {kind: (SAMPLES / file_name(kind, day)).read_bytes() for kind in KINDS}
    result = join_feed(day, sources(data, day), versions)
    assert result.joined
    return list(result.messages())


CUSTOMERS = [["1", "John", "Smith", "123", "active"], ["2", "Jane", "Doe", "456", "active"]]
ORDERS = [
    ["1", "123", "complete", "o-1", "1643544000"],
    ["2", "456", "complete", "o-2", "1643544000"],
]
ITEMS = [["1", "o-1", "Pen", "2", "3.50"], ["2", "o-2", "Ink", "1", "10"]]


# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("customers_20220130.csv", ("customers", date(2022, 1, 30))),
        ("orders_20220131.csv", ("orders", date(2022, 1, 31))),
        ("partner/items_20220131.csv", ("items", date(2022, 1, 31))),
        ("ITEMS_20220131.CSV", ("items", date(2022, 1, 31))),
        ("customers_20220230.csv", None),  # no such day
        ("customers_2022013.csv", None),
        ("customers_20220130.csv.gz", None),
        ("payments_20220130.csv", None),
        ("customers_20220130.csv/", None),
        ("sample_orders.csv", None),
    ],
)
def test_a_key_is_one_of_the_three_files_of_a_day_or_none(
    key: str, expected: tuple[str, date] | None
) -> None:
    assert feed_file(key) == expected


def test_file_name_is_the_inverse_of_feed_file() -> None:
    assert file_name("items", date(2022, 1, 30)) == "items_20220130.csv"
    assert feed_file(file_name("orders", date(999, 12, 31))) == ("orders", date(999, 12, 31))


# --------------------------------------------------------------------------- the samples


def test_sample_day_one_gives_one_customer_with_two_orders_and_87_50() -> None:
    messages = sample_day(date(2022, 1, 30))
    assert [json.loads(m.body()) for m in messages] == [
        {
            "type": "customer_message",
            "message_id": messages[0].message_id,
            "feed_date": "2022-01-30",
            "customer_reference": "ade3-11ed",
            "first_name": "Alex",
            "last_name": "Richard",
            "status": "Active",
            "number_of_orders": 2,
            "total_amount_spent": 87.5,
            "orders": [
                {
                    "order_reference": "dc0aa69c",
                    "order_status": "Delivered",
                    "order_timestamp": "2023-02-16T09:25:08Z",
                    "total": 75.0,
                    "items": [
                        {"item_name": "XYZ", "quantity": 2, "total_price": 20.0},
                        {"item_name": "ABC", "quantity": 1, "total_price": 55.0},
                    ],
                },
                {
                    "order_reference": "dc0ab1aa",
                    "order_status": "Delivered",
                    "order_timestamp": "2023-02-16T09:26:48Z",
                    "total": 12.5,
                    "items": [{"item_name": "BBB", "quantity": 1, "total_price": 12.5}],
                },
            ],
        }
    ]
    assert '"total_amount_spent":87.50' in messages[0].body()  # exact text, 2 decimals


def test_sample_day_two_gives_123_and_456_as_the_contract_says() -> None:
    customers, _ = split(sample_day(date(2022, 1, 31)))
    summary = {m.customer_reference: (m.number_of_orders, m.total_amount_spent) for m in customers}
    assert summary["123"] == (2, Decimal("62.30"))
    assert summary["456"] == (1, Decimal("40.00"))
    first = next(m for m in customers if m.customer_reference == "123")
    assert [o.order_reference for o in first.orders] == ["123-456", "123-789"]  # same time
    assert [o.total for o in first.orders] == [Decimal("32.30"), Decimal("30.00")]


def test_sample_day_two_as_the_files_really_are_789_has_an_item_and_no_error() -> None:
    """The brief expected an error for 789's order "without items"; the real items file
    has row 6 `789-456,Item 5,1,50.0`, so 789's order has an item and there is no error.
    (Without that row, the next test shows the error.)"""
    customers, errors = split(sample_day(date(2022, 1, 31)))
    assert [m.customer_reference for m in customers] == ["123", "456", "789"]
    assert (customers[2].number_of_orders, customers[2].total_amount_spent) == (
        1,
        Decimal("50.00"),
    )
    assert errors == []


def test_sample_day_two_without_789s_item_gives_an_error_and_keeps_the_order() -> None:
    data = {kind: (SAMPLES / file_name(kind, DAY)).read_bytes() for kind in KINDS}
    data["items"] = b"\n".join(
        line for line in data["items"].splitlines() if b"789-456" not in line
    )
    customers, errors = split(list(join_feed(DAY, sources(data), VERSIONS).messages()))
    joe = customers[2]
    assert (joe.customer_reference, joe.number_of_orders, joe.total_amount_spent) == (
        "789",
        1,
        Decimal("0.00"),
    )
    assert joe.orders[0].items == ()
    [error] = errors
    assert (error.file, error.row, error.customer_reference, error.order_reference) == (
        "orders_20220131.csv",
        5,
        "789",
        "789-456",
    )
    assert "has no items" in error.message


def test_bodies_parse_back_to_the_same_messages() -> None:
    for message in sample_day(date(2022, 1, 31)):
        assert parse_message(message.body()) == message


def generic_json(value: object) -> str:
    """The contract's body by a generic route: compact json.dumps, money at two decimals."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{generic_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(generic_json(v) for v in value) + "]"
    return json.dumps(value)


cents_st = st.integers(min_value=-(10**14), max_value=10**14).map(lambda c: Decimal(c) / 100)
items_st = st.builds(FeedItem, st.text(), st.integers(min_value=0, max_value=10**12), cents_st)
orders_st = st.builds(
    FeedOrder, st.text(), st.text(), st.text(), cents_st, st.tuples(items_st, items_st)
)
optional_text = st.none() | st.text()


@given(
    customer=st.builds(
        CustomerMessage,
        st.text(),
        st.dates(),
        st.text(),
        st.text(),
        st.text(),
        st.text(),
        st.integers(min_value=0, max_value=10**9),
        cents_st,
        st.lists(orders_st, max_size=3).map(tuple),
        st.none() | st.just(2),
        st.none() | st.just(3),
    ),
    error=st.builds(
        ErrorMessage,
        st.text(),
        st.dates(),
        optional_text,
        optional_text,
        st.text(),
        st.none() | st.integers(min_value=1),
        st.text(),
    ),
)
def test_bodies_are_the_compact_ascii_json_of_the_contract(
    customer: CustomerMessage, error: ErrorMessage
) -> None:
    if (customer.part is None) != (customer.parts is None):
        customer = replace(customer, part=None, parts=None)
    for message in (customer, error):
        body = message.body()
        assert body == generic_json(message.as_json())
        assert body.isascii()
        assert parse_message(body) == message


# --------------------------------------------------------------------------- the join


def test_orders_are_sorted_by_timestamp_then_row_and_times_are_iso_utc() -> None:
    orders = [
        ["1", "123", "late", "o-late", "1643544001"],
        ["2", "123", "early", "o-early", "-1"],
        ["3", "123", "tie-a", "o-a", "1643544000"],
        ["4", "123", "tie-b", "o-b", "1643544000"],
    ]
    items = [["1", ref, "x", "1", "1"] for ref in ("o-late", "o-early", "o-a", "o-b")]
    customers, errors = split(feed(CUSTOMERS[:1], orders, items))
    assert errors == []
    assert [(o.order_reference, o.order_timestamp) for o in customers[0].orders] == [
        ("o-early", "1969-12-31T23:59:59Z"),
        ("o-a", "2022-01-30T12:00:00Z"),
        ("o-b", "2022-01-30T12:00:00Z"),
        ("o-late", "2022-01-30T12:00:01Z"),
    ]


def test_money_is_exact_and_a_customer_without_orders_still_gets_a_message() -> None:
    items = [["1", "o-1", "a", "1", "0.10"]] * 3 + [["2", "o-1", "b", "3", "1e1"]]
    customers, errors = split(feed(CUSTOMERS, ORDERS[:1], items))
    assert errors == []
    assert customers[0].total_amount_spent == Decimal("10.30")  # not 10.299999...
    assert customers[0].orders[0].items[-1].total_price == Decimal("10.00")
    assert customers[1].number_of_orders == 0
    assert '"total_amount_spent":0.00,"orders":[]' in customers[1].body()


def test_headers_match_loosely_extra_columns_are_ignored_and_cells_trimmed() -> None:
    data = {
        "customers": b"Customer Reference,FIRST-NAME,last_name,Status,note\n 123 ,A,B,ok,x\n",
        "orders": b"customer_reference,order_status,order_reference,order_timestamp\n"
        b"123,done,o-1, 0 \n",
        "items": b"\xef\xbb\xbforder_reference,item_name,quantity,total_price\r\n"
        b'o-1,"Pen, blue",1,2\r\n',
    }
    result = join_feed(DAY, sources(data), VERSIONS)
    customers, errors = split(list(result.messages()))
    assert errors == []
    assert customers[0].customer_reference == "123"
    assert customers[0].orders[0].items[0].item_name == "Pen, blue"
    assert customers[0].orders[0].order_timestamp == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("where", "row", "expected"),
    [
        ("order", ["3", "999", "complete", "o-3", "1"], "unknown customer_reference"),
        ("order", ["3", "", "complete", "o-3", "1"], "customer_reference is empty"),
        ("order", ["3", "123", "complete", "", "1"], "order_reference is empty"),
        ("order", ["3", "123", "complete", "o-3", "1.5"], "order_timestamp '1.5'"),
        ("order", ["3", "123", "complete", "o-3", "soon"], "order_timestamp 'soon'"),
        ("order", ["3", "123", "complete", "o-3", "1676539508000"], "not whole epoch"),
        ("order", ["3", "123", "complete", "o-3"], "the row has 4 fields, the header 5"),
        ("order", ["3", "123", "complete", "o-1", "1"], "duplicate order_reference: row 2"),
        ("item", ["3", "o-9", "x", "1", "1"], "unknown order_reference"),
        ("item", ["3", "", "x", "1", "1"], "order_reference is empty"),
        ("item", ["3", "o-1", "x", "0", "1"], "quantity '0' is not a whole number"),
        ("item", ["3", "o-1", "x", "1.5", "1"], "quantity '1.5'"),
        ("item", ["3", "o-1", "x", "1", "-1"], "total_price '-1'"),
        ("item", ["3", "o-1", "x", "1", "1.005"], "at most 2 decimals"),
        ("item", ["3", "o-1", "x", "1", "NaN"], "total_price 'NaN'"),
        ("item", ["3", "o-1", "x", "1", "1e20"], "total_price '1e20'"),
        ("item", ["3", "o-1", "x", "1", "1", "extra"], "the row has 6 fields"),
        ("customer", ["3", "X", "Y", "123", "active"], "duplicate customer_reference: row 2"),
        ("customer", ["3", "X", "Y", "", "active"], "customer_reference is empty"),
        ("customer", ["3", "X", "Y", "r" * 300, "active"], "longer than 256 characters"),
    ],
)
def test_each_unexpected_row_is_one_error_message_and_is_left_out(
    where: str, row: list[str], expected: str
) -> None:
    customers_rows, order_rows, item_rows = list(CUSTOMERS), list(ORDERS), list(ITEMS)
    {"customer": customers_rows, "order": order_rows, "item": item_rows}[where].append(row)
    customers, errors = split(feed(customers_rows, order_rows, item_rows))
    [error] = errors
    assert expected in error.message
    assert (error.file, error.row) == (file_name(where + "s", DAY), 4)
    # The good rows are untouched: the error row is in no customer message.
    assert [
        (m.customer_reference, m.number_of_orders, m.total_amount_spent) for m in customers
    ] == [
        ("123", 1, Decimal("3.50")),
        ("456", 1, Decimal("10.00")),
    ]


def test_error_messages_name_the_references_they_concern() -> None:
    orders = [*ORDERS, ["3", "999", "complete", "o-3", "1"]]
    items = [*ITEMS, ["3", "o-3", "x", "1", "1"], ["4", "o-404", "y", "1", "1"]]
    _, errors = split(feed(CUSTOMERS, orders, items))
    assert [(e.file, e.row, e.customer_reference, e.order_reference) for e in errors] == [
        ("orders_20220131.csv", 4, "999", "o-3"),
        ("items_20220131.csv", 4, "999", "o-3"),
        ("items_20220131.csv", 5, None, "o-404"),
    ]
    assert "its order was left out (see orders_20220131.csv row 4)" in errors[1].message
    assert json.loads(errors[2].body()) == {
        "type": "error_message",
        "message_id": errors[2].message_id,
        "feed_date": "2022-01-31",
        "customer_reference": None,
        "order_reference": "o-404",
        "file": "items_20220131.csv",
        "row": 5,
        "message": "unknown order_reference (not in orders_20220131.csv)",
    }


def test_duplicates_keep_the_first_usable_row_and_items_go_to_it() -> None:
    orders = [
        ["1", "999", "lost", "o-1", "5"],  # unknown customer: not usable, claims nothing
        ["2", "123", "first", "o-1", "5"],  # kept
        ["3", "456", "second", "o-1", "5"],  # duplicate
    ]
    customers, errors = split(feed(CUSTOMERS, orders, [["1", "o-1", "x", "1", "2"]]))
    assert customers[0].orders[0].order_status == "first"
    assert customers[0].total_amount_spent == Decimal("2.00")
    assert [(e.row, e.message.split(":")[0]) for e in errors] == [
        (2, "unknown customer_reference (not in customers_20220131.csv)"),
        (4, "duplicate order_reference"),
    ]


def test_an_order_without_items_is_in_the_message_and_is_an_error() -> None:
    customers, errors = split(feed(CUSTOMERS, ORDERS, ITEMS[:1]))
    assert customers[1].orders[0].items == ()
    assert customers[1].number_of_orders == 1
    [error] = errors
    assert (error.row, error.order_reference, error.customer_reference) == (3, "o-2", "456")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"id,first_name,last_name,status\n1,a,b,c\n", "lacks the column(s) customer_reference"),
        (b"", "the file is empty"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip-compressed"),
        (b"customer_reference,first_name,last_name,status\n\xff\xfe1,a,b,c\n", "not valid UTF-8"),
        (b'customer_reference,first_name,last_name,status\n"1,a,b,c\n', "never closed"),
    ],
)
def test_a_bad_file_is_one_error_and_the_set_is_not_joined(content: bytes, expected: str) -> None:
    data = {
        "customers": content,
        "orders": csv_bytes(HEADERS["orders"], [["1", "123", "x", "o-1", "bad"]]),
        "items": csv_bytes(HEADERS["items"], ITEMS),
    }
    result = join_feed(DAY, sources(data), VERSIONS)
    assert not result.joined
    [error] = list(result.messages())  # the orders file's bad row is not reported
    assert isinstance(error, ErrorMessage)
    assert (error.file, error.row) == ("customers_20220131.csv", None)
    assert expected in error.message
    assert "the set of 2022-01-31 is not processed" in error.message


def test_every_bad_file_of_a_set_gets_its_error() -> None:
    data = {"customers": b"", "orders": b"nope\n", "items": csv_bytes(HEADERS["items"], [])}
    result = join_feed(DAY, sources(data), VERSIONS)
    assert [m.file for m in result.messages() if isinstance(m, ErrorMessage)] == [
        "customers_20220131.csv",
        "orders_20220131.csv",
    ]


def test_join_feed_needs_the_three_files() -> None:
    data = {kind: csv_bytes(HEADERS[kind], []) for kind in KINDS}
    partial = dict(list(sources(data).items())[:2])
    with pytest.raises(ValueError, match="exactly the files"):
        join_feed(DAY, partial, VERSIONS)


# --------------------------------------------------------------------------- ids


def test_ids_are_deterministic_distinct_and_change_with_any_version() -> None:
    orders = [*ORDERS, ["3", "999", "x", "o-3", "1"]]
    first = [m.message_id for m in feed(CUSTOMERS, orders, ITEMS)]
    again = [m.message_id for m in feed(CUSTOMERS, orders, ITEMS)]
    assert first == again
    assert len(set(first)) == len(first) == 3
    for kind in KINDS:
        reuploaded = [
            m.message_id for m in feed(CUSTOMERS, orders, ITEMS, {**VERSIONS, kind: "new"})
        ]
        assert not set(reuploaded) & set(first)
    other_day = [m.message_id for m in sample_day(date(2022, 1, 30))]
    assert not set(other_day) & set(first)


# --------------------------------------------------------------------------- splitting


def big_customer(orders: int, items_per_order: int) -> tuple[list[list[str]], list[list[str]]]:
    order_rows = [["", "123", "complete", f"o-{n:03d}", str(1000 - n)] for n in range(orders)]
    item_rows = [
        ["", f"o-{n:03d}", f"item {n}/{k}", "1", "1.25"]
        for n in range(orders)
        for k in range(items_per_order)
    ]
    return order_rows, item_rows


def test_a_message_over_the_limit_is_split_by_orders_never_dropped() -> None:
    orders, items = big_customer(40, 3)
    whole, _ = split(feed(CUSTOMERS[:1], orders, items))
    parts, errors = split(feed(CUSTOMERS[:1], orders, items, max_bytes=1500))
    assert errors == [] and len(whole) == 1 and len(parts) > 3
    assert all(len(m.body().encode()) <= 1500 for m in parts)
    assert [(m.part, m.parts) for m in parts] == [(n, len(parts)) for n in range(1, len(parts) + 1)]
    assert [o for m in parts for o in m.orders] == list(whole[0].orders)  # in order, all
    assert {(m.number_of_orders, m.total_amount_spent) for m in parts} == {(40, Decimal("150.00"))}
    assert len({m.message_id for m in parts}) == len(parts)
    assert whole[0].message_id not in {m.message_id for m in parts}
    again, _ = split(feed(CUSTOMERS[:1], orders, items, max_bytes=1500))
    assert [m.message_id for m in again] == [m.message_id for m in parts]
    assert "part" not in json.loads(whole[0].body())
    assert json.loads(parts[0].body())["part"] == 1


def test_an_order_too_large_alone_is_spread_over_parts_by_items() -> None:
    orders, items = big_customer(2, 60)
    whole, _ = split(feed(CUSTOMERS[:1], orders, items))
    parts, errors = split(feed(CUSTOMERS[:1], orders, items, max_bytes=1200))
    assert errors == [] and len(parts) > 4
    assert all(len(m.body()) <= 1200 for m in parts)
    pieces: dict[str, list[object]] = defaultdict(list)
    for m in parts:
        for o in m.orders:
            assert o.total == Decimal("75.00")  # the whole order's total, in every piece
            pieces[o.order_reference].extend(o.items)
    assert [pieces[o.order_reference] for o in whole[0].orders] == [
        list(o.items) for o in whole[0].orders
    ]


def test_a_customer_that_cannot_fit_even_one_item_per_part_is_an_error() -> None:
    customers = [["1", "N" * 2000, "Smith", "123", "active"], CUSTOMERS[1]]
    messages, errors = split(feed(customers, ORDERS, ITEMS, max_bytes=1500))
    assert [m.customer_reference for m in messages] == ["456"]
    [error] = errors
    assert (error.customer_reference, error.row) == ("123", 2)
    assert "cannot be sent" in error.message


# --------------------------------------------------------------------------- properties

REFS = st.text(st.sampled_from("abc-12"), min_size=1, max_size=4)
PRICES = st.integers(0, 10**7)
NAMES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6
)


def price_text(cents: int, style: int) -> str:
    whole, part = divmod(cents, 100)
    return [f"{whole}.{part:02d}", f"{cents / 100:.2f}", f"{cents}e-2", f" {whole}.{part:02d}0 "][
        style
    ]


@st.composite
def consistent_sets(draw: st.DrawFn) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    refs = draw(st.lists(REFS, unique=True, min_size=1, max_size=6))
    customers = [[str(i), draw(NAMES), draw(NAMES), ref, "active"] for i, ref in enumerate(refs)]
    order_refs = draw(st.lists(REFS, unique=True, max_size=10))
    orders = [
        [str(i), draw(st.sampled_from(refs)), "s", f"O{ref}", str(draw(st.integers(-10, 10)))]
        for i, ref in enumerate(order_refs)
    ]
    items = []
    for i in range(draw(st.integers(0, 25)) if orders else 0):
        order = draw(st.sampled_from(orders))[3]
        cents = draw(PRICES)
        items.append([str(i), order, draw(NAMES), "1", price_text(cents, draw(st.integers(0, 3)))])
    return customers, orders, items


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(consistent_sets(), st.sampled_from([700, 1 << 20]))
def test_totals_equal_a_brute_force_join_and_every_row_is_accounted_for(
    data: tuple[list[list[str]], list[list[str]], list[list[str]]], limit: int
) -> None:
    customers, orders, items = data
    messages = feed(customers, orders, items, max_bytes=limit)
    # brute force: nested loops and Fractions
    expected_total = {c[3]: Fraction(0) for c in customers}
    expected_orders = {c[3]: 0 for c in customers}
    without_items = 0
    for order in orders:
        expected_orders[order[1]] += 1
        mine = [item for item in items if item[1] == order[3]]
        without_items += not mine
        for item in mine:
            expected_total[order[1]] += Fraction(item[4].strip())
    got, errors = split(messages)
    assert all(len(m.body()) <= limit for m in messages)
    totals = {m.customer_reference: (m.number_of_orders, m.total_amount_spent) for m in got}
    for ref, (count, spent) in totals.items():
        assert count == expected_orders[ref]
        assert Fraction(spent) == expected_total[ref]
    assert set(totals) == set(expected_total)
    assert len(errors) == without_items and all("has no items" in e.message for e in errors)
    orders_seen = {o.order_reference for m in got for o in m.orders}
    assert orders_seen == {o[3] for o in orders}
    items_seen = sum(len(o.items) for m in got for o in m.orders)
    assert items_seen == len(items)
    for m in got:  # per order: total = the sum of its items, exactly
        for o in m.orders:
            if m.parts is None:
                assert o.total == sum((i.total_price for i in o.items), Decimal("0.00"))
    assert len({m.message_id for m in messages}) == len(messages)


@st.composite
def messy_sets(draw: st.DrawFn) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    refs = st.sampled_from(["a", "b", "c", "d", ""])
    customers = [[str(i), "F", "L", draw(refs), "s"] for i in range(draw(st.integers(0, 5)))]
    stamps = st.sampled_from(["1", "-5", "x", "1.5", "99999999999999"])
    orders = [
        [str(i), draw(refs), f"row{i}", draw(st.sampled_from(["o1", "o2", "o3", ""])), draw(stamps)]
        for i in range(draw(st.integers(0, 6)))
    ]
    numbers = st.sampled_from(["1", "0", "2.5", "-1", "x", "3.333", "4.4"])
    items = [
        [str(i), draw(st.sampled_from(["o1", "o2", "o4", ""])), "n", draw(numbers), draw(numbers)]
        for i in range(draw(st.integers(0, 8)))
    ]
    if draw(st.booleans()) and items:
        items[0] = items[0][:3]  # a short row
    return customers, orders, items


@settings(max_examples=150, deadline=None)
@given(messy_sets())
def test_on_messy_input_every_row_is_in_one_message_or_one_error(
    data: tuple[list[list[str]], list[list[str]], list[list[str]]],
) -> None:
    customers, orders, items = data
    messages = feed(customers, orders, items)
    got, errors = split(messages)
    rows = {(e.file, e.row) for e in errors}
    assert len(rows) == len(errors)  # at most one error per row
    in_messages = {
        "customers": len(got),
        "orders": sum(m.number_of_orders for m in got),
        "items": sum(len(o.items) for m in got for o in m.orders),
    }
    no_items = sum(1 for e in errors if "has no items" in e.message)
    for kind, table in (("customers", customers), ("orders", orders), ("items", items)):
        errors_here = sum(1 for e in errors if e.file == file_name(kind, DAY))
        if kind == "orders":
            errors_here -= no_items  # those orders are in a message too
        assert in_messages[kind] + errors_here == len(table), kind
    # the oracle for what is kept: first usable row per reference
    valid_customers = {c[3] for c in customers if c[3]}
    assert {m.customer_reference for m in got} == valid_customers
    kept: dict[str, str] = {}
    for order in orders:
        if order[3] and order[4] in ("1", "-5") and order[1] in valid_customers:
            kept.setdefault(order[3], order[2])
    assert {(o.order_reference, o.order_status) for m in got for o in m.orders} == set(kept.items())
    kept_items: dict[str, int] = defaultdict(int)
    for item in items:
        usable = len(item) == 5 and item[3] == "1" and item[4] in ("1", "0", "2.5", "4.4")
        if usable and item[1] in kept:
            kept_items[item[1]] += 1
    assert {o.order_reference: len(o.items) for m in got for o in m.orders} == {
        ref: kept_items[ref] for ref in kept
    }

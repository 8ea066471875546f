"""The customer feed's join with a workdir (spill to disk, bounded memory) gives exactly the
messages of the in-memory join: the same messages, ids and order, on clean and messy sets."""

from __future__ import annotations

import csv
import io
import random
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.pipelines.customer_feed.files import KINDS, file_name
from app.pipelines.customer_feed.join import FeedSource, csv_source, join_feed
from app.pipelines.customer_feed.messages import Message

SAMPLES = Path(__file__).resolve().parents[2] / "assessment_assets" / "customer_feed"
DAY = date(2022, 1, 31)
VERSIONS = {"customers": "etag-c", "orders": "etag-o", "items": "etag-i"}
HEADERS = {
    "customers": ["id", "first_name", "last_name", "customer_reference", "status"],
    "orders": ["id", "customer_reference", "order_status", "order_reference", "order_timestamp"],
    "items": ["id", "order_reference", "item_name", "quantity", "total_price"],
}
Rows = list[list[str]]


def csv_bytes(header: list[str], rows: Rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def sources(data: dict[str, bytes], day: date = DAY) -> dict[str, FeedSource]:
    return {kind: csv_source(file_name(kind, day), io.BytesIO(data[kind])) for kind in KINDS}


def as_data(customers: Rows, orders: Rows, items: Rows) -> dict[str, bytes]:
    return {
        "customers": csv_bytes(HEADERS["customers"], customers),
        "orders": csv_bytes(HEADERS["orders"], orders),
        "items": csv_bytes(HEADERS["items"], items),
    }


def both(
    data: dict[str, bytes],
    partitions: int | None = None,
    max_bytes: int = 1 << 20,
    day: date = DAY,
) -> tuple[list[Message], list[Message], bool]:
    """The in-memory and the spilled messages of one set, and whether it was joined; the
    spill directory must be gone once the result is closed."""
    memory = join_feed(day, sources(data, day), VERSIONS, max_message_bytes=max_bytes)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with join_feed(
            day,
            sources(data, day),
            VERSIONS,
            max_message_bytes=max_bytes,
            workdir=work,
            partitions=partitions,
        ) as spilled:
            assert spilled.joined == memory.joined
            assert spilled.records == memory.records
            got = list(spilled.messages())
            assert list(spilled.messages()) == got  # readable again until closed
        assert list(work.iterdir()) == []
    return list(memory.messages()), got, memory.joined


# --------------------------------------------------------------------------- properties


@st.composite
def messy_sets(draw: st.DrawFn) -> tuple[Rows, Rows, Rows]:
    """As in test_customer_feed_join: duplicates, unknown and left-out references, bad
    numbers, short rows."""
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
    if draw(st.booleans()) and orders:
        orders[-1] = orders[-1][:4]
    if draw(st.booleans()) and customers:
        customers[0] = [*customers[0], "extra"]
    return customers, orders, items


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_sets(), st.sampled_from([None, 1, 2, 3, 7]))
def test_on_messy_input_the_spill_gives_the_in_memory_messages(
    data: tuple[Rows, Rows, Rows], partitions: int | None
) -> None:
    memory, spilled, joined = both(as_data(*data), partitions)
    assert joined
    assert spilled == memory


REFS = st.text(st.sampled_from("abc-12"), min_size=1, max_size=4)
NAMES = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=6)


@st.composite
def consistent_sets(draw: st.DrawFn) -> tuple[Rows, Rows, Rows]:
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
        cents = draw(st.integers(0, 10**7))
        items.append([str(i), order, draw(NAMES), "1", f"{cents // 100}.{cents % 100:02d}"])
    return customers, orders, items


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(consistent_sets(), st.sampled_from([700, 1 << 20]), st.sampled_from([None, 1, 4]))
def test_on_consistent_input_with_splits_the_spill_gives_the_in_memory_messages(
    data: tuple[Rows, Rows, Rows], limit: int, partitions: int | None
) -> None:
    memory, spilled, _ = both(as_data(*data), partitions, max_bytes=limit)
    assert spilled == memory


# --------------------------------------------------------------------------- examples


def random_set(seed: int, customers: int) -> tuple[Rows, Rows, Rows]:
    """A larger messy set: many partitions and customer ranges, every kind of error."""
    rng = random.Random(seed)
    refs = [f"c{n}" for n in range(customers)]
    customer_rows = [
        [str(i), "F", "L", rng.choice([*refs, *refs, "", "zz"]), "s"] for i in range(customers)
    ]
    stamps = ["1", "-5", "7", "1643544000", "x", "1.5"]
    order_refs = [f"o{n}" for n in range(customers * 5)]
    order_rows = [
        [
            str(i),
            rng.choice([*refs, "nobody", ""]),
            f"s{i}",
            rng.choice([*order_refs, ""]),
            rng.choice(stamps),
        ]
        for i in range(customers * 5)
    ]
    numbers = ["1", "2", "3", "0", "2.5", "-1", "x", "4.40", "1e1"]
    item_rows = [
        [
            str(i),
            rng.choice([*order_refs, "o-none", ""]),
            f"n{i}",
            rng.choice(numbers),
            rng.choice(numbers),
        ]
        for i in range(customers * 20)
    ]
    for row in rng.sample(item_rows, 5):
        row.pop()
    return customer_rows, order_rows, item_rows


@pytest.mark.parametrize(("seed", "partitions"), [(1, None), (2, 5), (3, 64), (4, 1)])
def test_a_larger_messy_set_gives_the_same_messages_in_any_number_of_partitions(
    seed: int, partitions: int | None
) -> None:
    memory, spilled, _ = both(as_data(*random_set(seed, 300)), partitions)
    assert len(memory) > 300
    assert spilled == memory


@pytest.mark.parametrize("day", [date(2022, 1, 30), date(2022, 1, 31)])
def test_the_sample_days_give_the_same_messages(day: date) -> None:
    data = {kind: (SAMPLES / file_name(kind, day)).read_bytes() for kind in KINDS}
    memory, spilled, joined = both(data, day=day)
    assert joined and spilled == memory


def test_a_customer_too_large_to_send_and_split_messages_are_the_same() -> None:
    customers = [["1", "N" * 2000, "Smith", "123", "active"], ["2", "J", "D", "456", "x"]]
    orders = [["", "456", "s", f"o-{n:03d}", str(1000 - n)] for n in range(40)]
    orders.append(["", "123", "s", "o-x", "1"])
    items = [["", f"o-{n:03d}", f"item {n}", "1", "1.25"] for n in range(40) for _ in range(3)]
    memory, spilled, _ = both(as_data(customers, orders, items), 3, max_bytes=1500)
    assert len(memory) > 5
    assert spilled == memory


@pytest.mark.parametrize("bad", ["customers", "orders", "items"])
def test_a_bad_file_gives_the_same_error_and_leaves_no_files(bad: str) -> None:
    data = as_data([["1", "F", "L", "a", "s"]], [["1", "a", "s", "o1", "1"]], [["1", "o1", "n"]])
    data[bad] = b"\xff\xfe not text\n"
    memory, spilled, joined = both(data)
    assert not joined and spilled == memory and len(memory) == 1


def test_a_failing_read_raises_and_leaves_no_files(tmp_path: Path) -> None:
    def failing() -> Iterator[list[str]]:
        yield HEADERS["items"]
        yield ["1", "o1", "n", "1", "1"]
        raise OSError("connection reset")

    data = as_data([["1", "F", "L", "a", "s"]], [["1", "a", "s", "o1", "1"]], [])
    feed = sources(data)
    feed["items"] = FeedSource(feed["items"].name, failing())
    with pytest.raises(OSError, match="connection reset"):
        join_feed(DAY, feed, VERSIONS, workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_partitions_must_be_in_range(tmp_path: Path) -> None:
    data = as_data([], [], [])
    with pytest.raises(ValueError, match="partitions"):
        join_feed(DAY, sources(data), VERSIONS, workdir=tmp_path, partitions=0)

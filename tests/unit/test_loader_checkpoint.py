"""A load too long for one invocation stops at a chunk boundary and continues in the next:
whatever the split, the table ends up holding exactly what one invocation would have written.
In-memory stores; the reader's block size is shrunk so that small files have many chunks."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.objects import ObjectRef
from app.core.ordering import Guard, Record
from app.pipelines.table_loader.items import MAX_ITEM_BYTES, Item
from app.pipelines.table_loader.load import (
    CONTINUATION_TYPE,
    Continuation,
    Job,
    LedgerStatus,
    Loader,
    Outcome,
)

BUCKET = "input"
KEY = "drop/orders.csv"
SOURCE = f"{BUCKET}/{KEY}"


# --------------------------------------------------------------------------- in-memory stores


class MemoryRows:
    def __init__(self) -> None:
        self.items: dict[tuple[str, int], Item] = {}

    def put(self, items: object) -> int:
        written = 0
        for item in items:  # type: ignore[attr-defined]
            self.items[(item["source"]["S"], int(item["row"]["N"]))] = item
            written += 1
        return written

    def delete(self, source: str, rows: list[int]) -> int:
        return sum(self.items.pop((source, r), None) is not None for r in rows)

    def delete_after(self, source: str, row: int) -> int:
        stale = [k for k in self.items if k[0] == source and k[1] > row]
        for k in stale:
            del self.items[k]
        return len(stale)

    def of(self, source: str = SOURCE) -> dict[int, Item]:
        return {row: item for (s, row), item in sorted(self.items.items()) if s == source}


@dataclass
class MemoryLedger:
    history: list[tuple[str, int, str | None]] = field(default_factory=list)

    def set_loader_progress(
        self, ref: ObjectRef, status: LedgerStatus, rows_loaded: int, error: str | None = None
    ) -> None:
        self.history.append((status, rows_loaded, error))


@dataclass
class MemoryQueue:
    bodies: list[str] = field(default_factory=list)

    def send(self, body: str) -> None:
        self.bodies.append(body)


class Closing(io.BytesIO):
    def __init__(self, data: bytes, opened: list[io.BytesIO]) -> None:
        super().__init__(data)
        opened.append(self)


class BytesObject:
    """load.ObjectSource over bytes; remembers what was opened."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.opens: list[tuple[int, int | None]] = []
        self.streams: list[io.BytesIO] = []

    def open(self, start: int = 0, end: int | None = None) -> io.BytesIO:
        self.opens.append((start, end))
        return Closing(self.data[start:end], self.streams)


class Deadline:
    """An invocation that has time for `chunks` chunks (the loader looks before each chunk
    after its first)."""

    def __init__(self, chunks: int | None) -> None:
        self.looks_left = None if chunks is None else chunks - 1

    def __call__(self) -> float | None:
        if self.looks_left is None:
            return None
        self.looks_left -= 1
        return 900.0 if self.looks_left >= 0 else 0.5


class MemoryState:
    """ordering.StateStore in memory (the ledger item's LoaderLock attribute)."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[bytes, str]] = {}
        self.writes = 0

    def read(self, key: str) -> tuple[bytes, str] | None:
        return self.items.get(key)

    def create(self, key: str, body: bytes) -> str | None:
        return None if key in self.items else self._store(key, body)

    def replace(self, key: str, body: bytes, etag: str) -> str | None:
        return self._store(key, body) if self.items.get(key, (b"", ""))[1] == etag else None

    def _store(self, key: str, body: bytes) -> str:
        self.writes += 1
        self.items[key] = (body, str(self.writes))
        return str(self.writes)


@dataclass
class World:
    rows: MemoryRows = field(default_factory=MemoryRows)
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    queue: MemoryQueue = field(default_factory=MemoryQueue)
    state: MemoryState = field(default_factory=MemoryState)

    def loader(self, block_size: int = 64, guard: bool = False) -> Loader:
        return Loader(
            self.rows,
            self.ledger,
            self.queue,
            guard=Guard(self.state, wait_seconds=0) if guard else None,
            margin_seconds=1.0,
            block_size=block_size,
        )

    def load(
        self,
        data: bytes,
        chunks: int | None = None,
        block_size: int = 64,
        ref: ObjectRef | None = None,
        guard: bool = False,
    ) -> tuple[list[Outcome], BytesObject]:
        """The first invocation, then one per continuation sent, until none is left."""
        source = BytesObject(data)
        loader = self.loader(block_size, guard)
        outcomes = [loader.load(Job.start(ref or event()), source, Deadline(chunks))]
        while self.queue.bodies:
            job = Job.resuming(Continuation.from_json(self.queue.bodies.pop(0)))
            outcomes.append(loader.load(job, source, Deadline(chunks)))
        return outcomes, source


def event(etag: str = "etag-1", sequencer: str = "0A") -> ObjectRef:
    return ObjectRef(key=KEY, bucket=BUCKET, etag=etag, sequencer=sequencer)


HOSTILE = (
    "\ufeffOrder Id,Quantity,List Price,Note,,source\r\n"
    + "".join(
        f'O{i},{i % 7},{i}.50,"line {i}, with ""quotes""\r\nand a break",x{i},s{i}\r\n'
        for i in range(40)
    )
    + "\r\n"  # a blank line is not a record
    + "ragged,1\rbare CR ends a line,2,3,4,5,6,7,8\n"
    + "Zoë,2,3,été,,\n"
    + "big,1,1,"
    + "x" * (MAX_ITEM_BYTES + 10)
    + ",,\n"
    + "last,3,4,no newline at the end,,"
).encode()


# --------------------------------------------------------------------------- the same items


@pytest.mark.parametrize("chunks", [1, 2, 5])
@pytest.mark.parametrize("block_size", [64, 333])
def test_a_load_split_across_invocations_writes_the_same_items(
    chunks: int, block_size: int
) -> None:
    whole = World()
    [single], _ = whole.load(HOSTILE, chunks=None, block_size=block_size)
    split = World()
    outcomes, _ = split.load(HOSTILE, chunks=chunks, block_size=block_size)

    assert len(outcomes) > 1
    assert [o.status for o in outcomes] == ["continued"] * (len(outcomes) - 1) + ["loaded"]
    assert split.rows.of() == whole.rows.of()
    assert single.status == "loaded" and single.rows_loaded == 44
    assert outcomes[-1].rows_loaded == 44
    assert sum(o.written for o in outcomes) == 44
    assert [s.row for o in outcomes for s in o.skipped] == [45]
    assert split.ledger.history[-1] == whole.ledger.history[-1]


def test_items_of_the_hostile_file_are_what_the_user_expects() -> None:
    world = World()
    world.load(HOSTILE, chunks=2)
    rows = world.rows.of()
    assert sorted(rows) == [*range(2, 45), 46]  # 45 was too large: counted, not written
    assert rows[2] == {
        "source": {"S": SOURCE},
        "row": {"N": "2"},
        "order_id": {"S": "O0"},
        "quantity": {"S": "0"},  # below 1: not a valid quantity, so its text
        "list_price": {"N": "0.5"},
        "note": {"S": 'line 0, with "quotes"\r\nand a break'},
        "column_5": {"S": "x0"},
        "source_6": {"S": "s0"},
    }
    assert rows[42] == {
        "source": {"S": SOURCE},
        "row": {"N": "42"},
        "order_id": {"S": "ragged"},
        "quantity": {"N": "1"},
    }
    assert (rows[43]["source_6"], rows[43]["column_8"]) == ({"S": "6"}, {"S": "8"})
    assert rows[44]["order_id"] == {"S": "Zoë"}
    assert rows[46]["note"] == {"S": "no newline at the end"}


records_text = st.lists(
    st.lists(st.text(alphabet='ab,"\r\né ', max_size=6), min_size=1, max_size=4),
    min_size=0,
    max_size=30,
)


def _csv(rows: list[list[str]]) -> bytes:
    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if set(text) & set(',"\r\n') else text

    return ("h1,h2,h3\n" + "".join(",".join(map(cell, r)) + "\r\n" for r in rows)).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_text, st.integers(1, 4), st.integers(8, 120))
def test_any_split_of_any_file_writes_what_one_invocation_writes(
    rows: list[list[str]], chunks: int, block_size: int
) -> None:
    data = _csv(rows)
    whole, split = World(), World()
    whole.load(data, block_size=block_size)
    outcomes, _ = split.load(data, chunks=chunks, block_size=block_size)
    assert split.rows.of() == whole.rows.of()
    assert outcomes[-1].status == "loaded"
    assert outcomes[-1].rows_loaded == len(whole.rows.of())


# --------------------------------------------------------------------------- progress


def test_the_ledger_says_loading_at_each_checkpoint_and_loaded_at_the_end() -> None:
    world = World()
    data = b"v\n" + b"".join(b"%d\n" % i for i in range(100))
    outcomes, _ = world.load(data, chunks=3, block_size=32)

    statuses = [s for s, _, _ in world.ledger.history]
    assert statuses[0] == "loading" and statuses[-1] == "loaded"
    assert set(statuses[1:-1]) == {"loading"}
    counts = [n for _, n, _ in world.ledger.history]
    assert counts == sorted(counts) and counts[-1] == 100  # RowsLoaded only grows
    assert [n for s, n, _ in world.ledger.history if s == "loading"][1:] == [
        o.rows_loaded for o in outcomes[:-1]
    ]


def test_every_invocation_makes_progress_even_with_no_time_left() -> None:
    world = World()
    data = b"v\n" + b"".join(b"%d\n" % i for i in range(50))
    outcomes, _ = world.load(data, chunks=1, block_size=16)
    assert len(outcomes) == len({o.rows_loaded for o in outcomes})  # each one moved on
    assert outcomes[-1].rows_loaded == 50


def test_a_continuation_reads_the_header_from_the_start_and_records_from_its_offset() -> None:
    world = World()
    data = b"name,age\n" + b"".join(b"n%d,%d\n" % (i, i) for i in range(20))
    outcomes, source = world.load(data, chunks=1, block_size=40)

    continuation = outcomes[0].continuation
    assert continuation is not None
    assert data[continuation.offset :].startswith(b"n%d," % (continuation.row - 2))
    assert source.opens[:3] == [(0, None), (0, continuation.offset), (continuation.offset, None)]
    assert all(s.closed for s in source.streams)


def test_skipped_records_are_counted_across_invocations() -> None:
    big = "x" * (MAX_ITEM_BYTES + 1)
    data = ("v\n" + "".join(f"{big}\nsmall\n" for _ in range(7))).encode()
    world = World()
    outcomes, _ = world.load(data, chunks=1, block_size=1 << 16)

    assert len(outcomes) > 2
    status, loaded, error = world.ledger.history[-1]
    assert (status, loaded) == ("loaded", 7)
    assert sorted(world.rows.of()) == [3, 5, 7, 9, 11, 13, 15]
    assert error is not None
    assert error.startswith("7 record(s) not loaded: row 2: the item would be")
    assert error.count("row ") == 5 and error.endswith("; ...")  # the first five, by number


def test_a_skipped_record_leaves_no_item_of_an_older_upload_at_its_row() -> None:
    world = World()
    world.load(b"v\nold 2\nold 3\nold 4\n")
    world.load(b"v\nnew 2\n" + b"x" * (MAX_ITEM_BYTES + 1) + b"\nnew 4\n", ref=event("e2", "0B"))
    assert {row: item["v"]["S"] for row, item in world.rows.of().items()} == {
        2: "new 2",
        4: "new 4",
    }


# --------------------------------------------------------------------------- failures


def test_a_bad_byte_found_in_a_later_invocation_names_its_line_and_unloads_the_file() -> None:
    world = World()
    world.rows.items[(SOURCE, 500)] = {"source": {"S": SOURCE}, "row": {"N": "500"}}  # older
    good = "".join(f'{i},"two\nlines"\n' for i in range(30))
    data = ("a,b\n" + good).encode() + b"31,\xff\n"
    outcomes, _ = world.load(data, chunks=1, block_size=64)

    assert outcomes[0].status == "continued"
    failed = outcomes[-1]
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.details["line"] == 62  # 1 header line + 30 records of 2 lines each + 1
    assert world.ledger.history[-1][:2] == ("failed", 0)
    assert world.rows.of() == {}  # nothing half-loaded, and no older row either


def test_rows_past_the_new_end_are_deleted() -> None:
    world = World()
    world.load(b"v\n" + b"".join(b"%d\n" % i for i in range(30)), chunks=2, block_size=16)
    world.load(b"v\nonly\n", ref=event("etag-2", "0B"))
    assert list(world.rows.of()) == [2]


# --------------------------------------------------------------------------- ordering


def test_a_checkpoint_releases_the_source_and_the_continuation_takes_it_again() -> None:
    world = World()
    data = b"v\n" + b"".join(b"%d\n" % i for i in range(40))
    outcomes, _ = world.load(data, chunks=2, block_size=16, guard=True)
    assert len(outcomes) > 2 and outcomes[-1].status == "loaded"
    record = Record.load(world.state.items[SOURCE][0])
    assert (record.running, record.order) == (False, event().order)


def test_a_continuation_of_an_older_upload_is_superseded_by_a_newer_one() -> None:
    world = World()
    old = b"v\n" + b"".join(b"old%d\n" % i for i in range(40))
    loader = world.loader(block_size=16, guard=True)
    first = loader.load(Job.start(event("etag-1", "0A")), BytesObject(old), Deadline(1))
    assert first.status == "continued"
    newer = loader.load(Job.start(event("etag-2", "0B")), BytesObject(b"v\nnew\n"), Deadline(None))
    assert newer.status == "loaded"

    job = Job.resuming(Continuation.from_json(world.queue.bodies.pop(0)))
    assert loader.load(job, BytesObject(old), Deadline(None)).status == "superseded"
    assert world.rows.of() == {2: {"source": {"S": SOURCE}, "row": {"N": "2"}, "v": {"S": "new"}}}


# --------------------------------------------------------------------------- the message


def test_a_continuation_round_trips_through_json_and_is_told_apart_from_s3_events() -> None:
    continuation = Continuation(BUCKET, KEY, "etag-1", "s0A", 1234, 57, 60, 2, ("row 9: big",))
    body = json.loads(continuation.to_json())
    assert body["type"] == CONTINUATION_TYPE
    assert Continuation.is_one(body)
    assert Continuation.from_json(continuation.to_json()) == continuation
    assert Continuation.from_json(body).ref == ObjectRef(key=KEY, bucket=BUCKET, etag="etag-1")

    s3_event = {"Records": [{"eventSource": "aws:s3", "s3": {}}]}
    assert not Continuation.is_one(s3_event)
    with pytest.raises(ValueError, match="not a table-loader continuation"):
        Continuation.from_json(s3_event)

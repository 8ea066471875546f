"""The join of a day's three partner files into customer messages and error messages.

customers x orders x items, by reference: an order names its customer by
`customer_reference`, an item its order by `order_reference`. The outcome of every row is
a message; bad input never raises (the one retry rule: a bad input is an outcome, anything
else, such as a read that fails half-way, raises and is retried):

- a row with another number of fields than the header, an empty or over-long
  (MAX_REFERENCE_CHARS) reference, a bad `order_timestamp` (not whole epoch seconds within
  years 1-9999), a bad `quantity` (not a whole number >= 1) or `total_price` (not a number
  >= 0 with at most 2 decimals): an error message, the row left out;
- an order whose customer is unknown (or was left out): an error, the order left out;
- an item whose order is unknown, or was left out: an error, the item left out;
- a duplicate reference (customers: customer_reference; orders: order_reference): the first
  row that can be used is kept, each later one is an error and left out;
- an order without items: in its customer's message with an empty `items` list, and an error;
- a file that is empty, not UTF-8 text, not well-formed CSV, or lacks a column the messages
  need (REQUIRED_COLUMNS; `id` is not needed): one error message for that file, and the set
  is not joined (`FeedResult.joined` is False; its messages are the file errors only).

So every data row is in exactly one customer message or in exactly one error message (an
order without items, in both). Headers match as in the orders contract (case, spaces,
hyphens and underscores alike); extra columns are ignored; cells are trimmed. `row` in an
error is the record number, the header being 1 (blank lines are not records), as in the
reports' rejected_rows and the rows table. A customer with no orders gets a message with
none. Orders are sorted by timestamp, then by their row; items keep their file order.

Messages come out as: customer messages in the customers file's order, then error messages
by file (customers, orders, items) and row. A customer whose message cannot fit the size
limit even one item per part (a field too long to send) gets an error in its place.

Memory: without `workdir`, the join is in memory (dicts of every kept customer, order and
item, about the size of the three files). With `workdir`, it spills to a fresh directory
under it (removed by `FeedResult.close()`), and holds at once only:
- one small dict over every kept customer: customer_reference -> row (an int), which is
  what checking an order's customer needs (about 150 bytes a customer);
- while reading, a bounded buffer per partition file (SPOOL_BATCH records in all);
- while joining, one partition: the orders and items whose order_reference hashes to it
  (with P partitions, about 1/P of the orders and items files);
- while yielding, one range of customers (in file order, about 1/P of them) with their
  orders and items, and the heads of the error runs being merged.
The steps: the customers are written to one file in their order; orders and items are
hash-partitioned by order_reference into P files each as they are read (P from the number
of customer rows, CUSTOMERS_PER_PARTITION a partition, at most MAX_PARTITIONS, or as the
caller says); each partition is then joined on its own (duplicates, left-out orders, the
items' checks, orders without items) and its kept orders, with their items, are written to
P range files by their customer's row; `messages()` reads the customers file and the range
files side by side, then merges the sorted runs of errors by file and row. The messages,
their ids and their order are exactly those of the in-memory join. P is chosen before the
orders are read, so it assumes orders and items in proportion to customers (the issue's
5 orders and 20 items a customer); pass `partitions` when they are not.
"""

from __future__ import annotations

import csv
import heapq
import io
import marshal
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from app.core.errors import FileError
from app.orders_csv import money as exact
from app.orders_csv.columns import normalise_header
from app.orders_csv.reader import MAX_ROW_BYTES, Readable, RecordReader
from app.pipelines.customer_feed.files import KINDS
from app.pipelines.customer_feed.messages import (
    FIRST_EPOCH,
    LAST_EPOCH,
    MAX_MESSAGE_BYTES,
    CustomerMessage,
    ErrorMessage,
    FeedItem,
    FeedOrder,
    Message,
    MessageIds,
    customer_messages,
    iso_utc,
    money,
)

REQUIRED_COLUMNS = {  # per file, in the order the loaders below take the cells
    "customers": ("customer_reference", "first_name", "last_name", "status"),
    "orders": ("customer_reference", "order_status", "order_reference", "order_timestamp"),
    "items": ("order_reference", "item_name", "quantity", "total_price"),
}
MAX_REFERENCE_CHARS = 256  # a longer reference is a bad row (it would bloat every error)
_SHOWN = 40  # characters of a bad cell quoted in an error message

_CENT = exact.EXACT // 100  # exact_value's scale is 10^12

CUSTOMERS_PER_PARTITION = 4096  # spill: ~20,000 orders and ~80,000 items a partition
MAX_PARTITIONS = 512  # spill: files written at once (one per partition)
SPOOL_BATCH = 1 << 16  # spill: rows buffered in memory over all partition files (1/8 of it
# for the orders, with their items, buffered for the customers' range files)

if csv.field_size_limit() < MAX_ROW_BYTES:  # long cells are the reader's to refuse
    csv.field_size_limit(MAX_ROW_BYTES)


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class FeedSource:
    """One file of the set: its name (as error messages give it) and its records, the header
    first. Iterating may raise FileError (not text, not CSV): the file is then bad."""

    name: str
    records: Iterable[Sequence[str]]


def csv_records(stream: Readable) -> Iterator[list[str]]:
    """The records of a CSV stream, header first, read with RecordReader (checked UTF-8,
    whole records, bounded record length); blank lines are not records."""
    reader = RecordReader(stream)
    yield reader.header()
    for chunk in reader.chunks():
        try:
            for fields in csv.reader(io.StringIO(chunk.data.decode("utf-8"), newline="")):
                if fields:
                    yield fields
        except csv.Error as exc:  # pragma: no cover - the reader has matched the quotes
            raise FileError(
                "malformed_csv", f"line {chunk.line} onwards: not well-formed CSV: {exc}"
            ) from exc


def csv_source(name: str, stream: Readable) -> FeedSource:
    return FeedSource(name, csv_records(stream))


# --------------------------------------------------------------------------- the result


class FeedResult:
    """The outcome of one day's set. `joined` is False when a file could not be read: its
    messages are then one error message per bad file, and nothing else."""

    def __init__(
        self,
        feed_date: date,
        joined: bool,
        records: dict[str, int],
        produce: Callable[[], Iterator[Message]],
        close: Callable[[], None] | None = None,
    ) -> None:
        self.feed_date = feed_date
        self.joined = joined
        self.records = records  # data records read per file (header excluded)
        self._produce = produce
        self._close = close

    def messages(self) -> Iterator[Message]:
        """Every message of the set, in a deterministic order (see the module doc)."""
        return self._produce()

    def close(self) -> None:
        """Remove the spill files, if any (messages() cannot be read after)."""
        if self._close is not None:
            self._close()

    def __enter__(self) -> FeedResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def join_feed(
    feed_date: date,
    sources: Mapping[str, FeedSource],
    versions: Mapping[str, str],
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    workdir: Path | None = None,
    partitions: int | None = None,
) -> FeedResult:
    """Read the three files (`sources`: kind -> file) and join them. `versions` (e.g. kind
    -> ETag) go into every message_id: the same input gives the same ids, a re-upload new
    ones. With `workdir`, the join spills to a new directory under it and memory is bounded
    (see the module doc; `partitions` overrides the number of partition files); call
    `close()` on the result (or use it as a context manager) to remove that directory.
    Raises only for a caller's mistake (not exactly the three kinds), or what reading
    raises other than FileError (a transient failure, to be retried)."""
    if sorted(sources) != sorted(KINDS):
        raise ValueError(f"join_feed needs exactly the files {KINDS}, got {sorted(sources)}")
    if partitions is not None and not 1 <= partitions <= MAX_PARTITIONS:
        raise ValueError(f"partitions must be between 1 and {MAX_PARTITIONS}, got {partitions}")
    ids = MessageIds(feed_date, dict(versions))
    names = {kind: sources[kind].name for kind in KINDS}
    join = _Join(names) if workdir is None else _SpillJoin(names, workdir, partitions)
    try:
        records: dict[str, int] = {}
        bad_files: list[ErrorMessage] = []
        for kind in KINDS:
            source = sources[kind]
            try:
                records[kind] = join.load(kind, source.records)
            except FileError as exc:
                records[kind] = join.rows_read
                bad_files.append(
                    ErrorMessage(
                        ids.error(source.name, None),
                        feed_date,
                        None,
                        None,
                        source.name,
                        None,
                        f"{exc.message}; the set of {feed_date.isoformat()} is not processed",
                    )
                )
        if bad_files:
            join.close()
            return FeedResult(feed_date, False, records, lambda: iter(bad_files))
        join.finish()
    except BaseException:
        join.close()
        raise
    return FeedResult(
        feed_date, True, records, lambda: join.messages(ids, max_message_bytes), join.close
    )


# --------------------------------------------------------------------------- the join


@dataclass
class _Order:
    row: int
    reference: str
    customer_reference: str
    status: str
    epoch: int
    items: list[FeedItem] = field(default_factory=list)
    cents: int = 0


@dataclass
class _Customer:
    row: int
    reference: str
    first_name: str
    last_name: str
    status: str
    orders: list[_Order] = field(default_factory=list)


@dataclass(frozen=True)
class _Problem:
    kind: str
    row: int
    customer_reference: str | None
    order_reference: str | None
    text: str


def _shown(text: str) -> str:
    """A cell quoted in an error message, cut short if long."""
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def _reference(text: str) -> str | None:
    """A reference as an error message may carry it (never an over-long one)."""
    if not text:
        return None
    return text if len(text) <= MAX_REFERENCE_CHARS else text[:MAX_REFERENCE_CHARS] + "..."


def _epoch(text: str) -> int | None:
    status, scaled = exact.exact_value(text)
    if status != exact.FAST or scaled % exact.EXACT:
        return None
    seconds = int(scaled // exact.EXACT)
    return seconds if FIRST_EPOCH <= seconds <= LAST_EPOCH else None


def _quantity(text: str) -> int | None:
    status, scaled = exact.exact_value(text)
    if status != exact.FAST or scaled % exact.EXACT or scaled < exact.EXACT:
        return None
    return int(scaled // exact.EXACT)


def _cents(text: str) -> int | None:
    status, scaled = exact.exact_value(text)
    if status != exact.FAST or scaled % _CENT or scaled < 0:
        return None
    return int(scaled // _CENT)


class _Join:
    """The in-memory join: each file's rows are checked and attached as they are read."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names
        self.customers: dict[str, _Customer] = {}
        self.orders: dict[str, _Order] = {}
        self.left_out_orders: dict[str, tuple[int, str | None]] = {}  # ref -> row, customer
        self.problems: list[_Problem] = []
        self.rows_read = 0

    def problem(
        self, kind: str, row: int, customer: str | None, order: str | None, text: str
    ) -> None:
        self.problems.append(_Problem(kind, row, _reference(customer or ""), order, text))

    def load(self, kind: str, records: Iterable[Sequence[str]]) -> int:
        """Read one file; the number of data records. Raises FileError for a bad file."""
        self.rows_read = 0
        it = iter(records)
        header = next(it, None)
        if header is None:
            raise FileError("empty_file", "the file is empty")
        names = [normalise_header(h) for h in header]
        missing = [c for c in REQUIRED_COLUMNS[kind] if c not in names]
        if missing:
            found = ", ".join(_shown(h) for h in header[:20])
            raise FileError(
                "missing_columns",
                f"the header lacks the column(s) {', '.join(missing)} (it has: {found})",
                missing=missing,
            )
        positions = [names.index(c) for c in REQUIRED_COLUMNS[kind]]
        width = len(header)
        add = {"customers": self.customer, "orders": self.order, "items": self.item}[kind]
        row = 1
        for fields in it:
            row += 1
            self.rows_read += 1
            if len(fields) != width:
                self.problem(
                    kind, row, None, None, f"the row has {len(fields)} fields, the header {width}"
                )
                continue
            add(row, [fields[p].strip() for p in positions])
        return self.rows_read

    def _too_long(self, kind: str, row: int, column: str, text: str, **refs: str) -> bool:
        if len(text) <= MAX_REFERENCE_CHARS:
            return False
        self.problem(
            kind,
            row,
            refs.get("customer"),
            _reference(refs.get("order", "")),
            f"{column} is longer than {MAX_REFERENCE_CHARS} characters",
        )
        return True

    def customer(self, row: int, cells: list[str]) -> None:
        reference, first_name, last_name, status = cells
        if not reference:
            self.problem("customers", row, None, None, "customer_reference is empty")
        elif not self._too_long("customers", row, "customer_reference", reference):
            kept = self.customers.get(reference)
            if kept is None:
                self.customers[reference] = _Customer(row, reference, first_name, last_name, status)
            else:
                self.problem(
                    "customers",
                    row,
                    reference,
                    None,
                    f"duplicate customer_reference: row {kept.row} is kept, this row is left out",
                )

    def order(self, row: int, cells: list[str]) -> None:
        customer_reference, status, reference, timestamp = cells
        if not reference:
            self.problem("orders", row, customer_reference, None, "order_reference is empty")
            return
        refs = {"customer": customer_reference, "order": reference}
        if self._too_long("orders", row, "order_reference", reference, **refs) or (
            self._too_long("orders", row, "customer_reference", customer_reference, **refs)
        ):
            return
        epoch = _epoch(timestamp)
        customer = self.customers.get(customer_reference)
        if epoch is None:
            text = (
                f"order_timestamp {_shown(timestamp)} is not whole epoch seconds "
                "(between years 1 and 9999)"
            )
        elif not customer_reference:
            text = "customer_reference is empty"
        elif customer is None:
            text = f"unknown customer_reference (not in {self.names['customers']})"
        else:
            kept = self.orders.get(reference)
            if kept is None:
                order = _Order(row, reference, customer_reference, status, epoch)
                self.orders[reference] = order
                customer.orders.append(order)
                return
            text = f"duplicate order_reference: row {kept.row} is kept, this row is left out"
            self.problem("orders", row, customer_reference, reference, text)
            return
        self.problem("orders", row, customer_reference, reference, text)
        self.left_out_orders.setdefault(reference, (row, customer_reference or None))

    def item(self, row: int, cells: list[str]) -> None:
        reference, name, quantity_text, price_text = cells
        order = self.orders.get(reference)
        left_out = self.left_out_orders.get(reference)
        customer = order.customer_reference if order else left_out[1] if left_out else None
        quantity, cents = _quantity(quantity_text), _cents(price_text)
        if not reference:
            text = "order_reference is empty"
        elif len(reference) > MAX_REFERENCE_CHARS:
            text = f"order_reference is longer than {MAX_REFERENCE_CHARS} characters"
        elif quantity is None:
            text = f"quantity {_shown(quantity_text)} is not a whole number of at least 1"
        elif cents is None:
            text = (
                f"total_price {_shown(price_text)} is not an amount of at least 0 "
                "with at most 2 decimals"
            )
        elif order is None and left_out is not None:
            text = f"its order was left out (see {self.names['orders']} row {left_out[0]})"
        elif order is None:
            text = f"unknown order_reference (not in {self.names['orders']})"
        else:
            order.items.append(FeedItem(name, quantity, money(cents)))
            order.cents += cents
            return
        self.problem("items", row, customer, _reference(reference), text)

    def finish(self) -> None:
        """What is known once every file is read: the orders without items."""
        for order in self.orders.values():
            if not order.items:
                self.problem(
                    "orders",
                    order.row,
                    order.customer_reference,
                    order.reference,
                    f"the order has no items in {self.names['items']} (it is in its "
                    "customer's message with an empty items list)",
                )

    def messages(self, ids: MessageIds, max_bytes: int) -> Iterator[Message]:
        for customer in self.customers.values():
            orders = [
                FeedOrder(o.reference, o.status, iso_utc(o.epoch), money(o.cents), tuple(o.items))
                for o in sorted(customer.orders, key=lambda o: (o.epoch, o.row))
            ]
            yield from _customer_output(
                ids,
                self.names,
                max_bytes,
                (customer.row, customer.reference, customer.first_name, customer.last_name),
                customer.status,
                orders,
            )
        for problem in sorted(self.problems, key=lambda p: (KINDS.index(p.kind), p.row)):
            yield _error(ids, self.names, problem)

    def close(self) -> None:
        """Nothing to remove: the in-memory join has no files."""


def _customer_output(
    ids: MessageIds,
    names: Mapping[str, str],
    max_bytes: int,
    customer: tuple[int, str, str, str],  # row, reference, first_name, last_name
    status: str,
    orders: list[FeedOrder],
) -> Iterator[Message]:
    """A customer's message (or its parts), or the error saying it cannot be sent."""
    row, reference, first_name, last_name = customer
    made = customer_messages(
        ids,
        customer_reference=reference,
        first_name=first_name,
        last_name=last_name,
        status=status,
        orders=orders,
        max_bytes=max_bytes,
    )
    if made is not None:
        yield from made
        return
    name = names["customers"]
    yield ErrorMessage(
        ids.error(name, row),
        ids.feed_date,
        reference,
        None,
        name,
        row,
        f"the customer's message cannot be sent: even one item per part exceeds "
        f"{max_bytes:,} bytes (a name, status or item_name too long)",
    )


def _error(ids: MessageIds, names: Mapping[str, str], problem: _Problem) -> ErrorMessage:
    name = names[problem.kind]
    return ErrorMessage(
        ids.error(name, problem.row),
        ids.feed_date,
        problem.customer_reference,
        problem.order_reference,
        name,
        problem.row,
        problem.text,
    )


# --------------------------------------------------------------------------- the spill

_LENGTH = struct.Struct("<I")


class _Spool:
    """Records (marshal-able tuples) appended to one file in batches, read back in order."""

    def __init__(self, path: Path, batch: int) -> None:
        self.path = path
        self.batch = max(1, batch)
        self.pending: list[Any] = []
        self.file: BinaryIO | None = None
        self.written = 0

    def add(self, record: Any) -> None:
        self.pending.append(record)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        if self.file is None:
            self.file = self.path.open("ab")
        blob = marshal.dumps(self.pending)
        self.file.write(_LENGTH.pack(len(blob)))
        self.file.write(blob)
        self.written += len(self.pending)
        self.pending = []

    def close(self) -> None:
        self.flush()
        if self.file is not None:
            self.file.close()
            self.file = None

    def __iter__(self) -> Iterator[Any]:
        """The records written (after close()); nothing if none were."""
        if not self.written:
            return
        with self.path.open("rb") as f:
            while head := f.read(_LENGTH.size):
                (size,) = _LENGTH.unpack(head)
                yield from marshal.loads(f.read(size))


def _tagged(kind: int, problems: Iterable[Any]) -> Iterator[Any]:
    """(row, customer, order, text) problems of one file as (kind, row, ...)."""
    for problem in problems:
        yield (kind, *problem)


def _partition(reference: str, count: int) -> int:
    return zlib.crc32(reference.encode("utf-8", "surrogatepass")) % count


class _SpillJoin(_Join):
    """The join with bounded memory: the same checks, through files (see the module doc)."""

    def __init__(self, names: Mapping[str, str], workdir: Path, partitions: int | None) -> None:
        super().__init__(names)
        self.directory: Path | None = Path(tempfile.mkdtemp(prefix="customer-feed-", dir=workdir))
        self.partitions = partitions
        self.count = 1
        self.customer_rows: dict[str, int] = {}  # kept customer_reference -> row
        self.customer_records = 0
        self.kept_customers = self._spool("customers", SPOOL_BATCH // 8)
        self.read_problems = {kind: self._spool(f"problems-{kind}", 1024) for kind in KINDS}
        self.parts: dict[str, list[_Spool]] = {}
        self.ranges: list[_Spool] = []
        self.joined_problems: list[_Spool] = []

    def _spool(self, name: str, batch: int) -> _Spool:
        assert self.directory is not None
        return _Spool(self.directory / name, batch)

    def _spools(self, name: str, records: int = SPOOL_BATCH) -> list[_Spool]:
        batch = max(16, records // self.count)
        return [self._spool(f"{name}-{i:03d}", batch) for i in range(self.count)]

    def problem(
        self, kind: str, row: int, customer: str | None, order: str | None, text: str
    ) -> None:
        self.read_problems[kind].add((row, _reference(customer or ""), order, text))

    def load(self, kind: str, records: Iterable[Sequence[str]]) -> int:
        if kind == "orders":
            self.customer_records = self.rows_read
            wanted = -(-self.customer_records // CUSTOMERS_PER_PARTITION)
            self.count = self.partitions or min(MAX_PARTITIONS, max(1, wanted))
        if kind != "customers":
            self.parts[kind] = self._spools(kind)
        try:
            return super().load(kind, records)
        finally:
            for spool in (*self.parts.get(kind, ()), self.read_problems[kind]):
                spool.close()
            if kind == "customers":
                self.kept_customers.close()

    def customer(self, row: int, cells: list[str]) -> None:
        reference, first_name, last_name, status = cells
        if not reference:
            self.problem("customers", row, None, None, "customer_reference is empty")
        elif not self._too_long("customers", row, "customer_reference", reference):
            kept = self.customer_rows.get(reference)
            if kept is None:
                self.customer_rows[reference] = row
                self.kept_customers.add((row, reference, first_name, last_name, status))
            else:
                self.problem(
                    "customers",
                    row,
                    reference,
                    None,
                    f"duplicate customer_reference: row {kept} is kept, this row is left out",
                )

    def order(self, row: int, cells: list[str]) -> None:
        """The checks of _Join.order but the duplicate one, which the partition makes."""
        customer_reference, status, reference, timestamp = cells
        if not reference:
            self.problem("orders", row, customer_reference, None, "order_reference is empty")
            return
        refs = {"customer": customer_reference, "order": reference}
        if self._too_long("orders", row, "order_reference", reference, **refs) or (
            self._too_long("orders", row, "customer_reference", customer_reference, **refs)
        ):
            return
        epoch = _epoch(timestamp)
        spool = self.parts["orders"][_partition(reference, self.count)]
        if epoch is None:
            text = (
                f"order_timestamp {_shown(timestamp)} is not whole epoch seconds "
                "(between years 1 and 9999)"
            )
        elif not customer_reference:
            text = "customer_reference is empty"
        elif customer_reference not in self.customer_rows:
            text = f"unknown customer_reference (not in {self.names['customers']})"
        else:  # usable: kept unless an earlier usable row has the reference
            spool.add((True, row, reference, customer_reference, status, epoch))
            return
        self.problem("orders", row, customer_reference, reference, text)
        spool.add((False, row, reference, customer_reference or None, "", 0))

    def item(self, row: int, cells: list[str]) -> None:
        """An item whose reference no order can have is an error now; others wait for the
        partition of their order (_join_items)."""
        reference = cells[0]
        if not reference:
            self.problem("items", row, None, None, "order_reference is empty")
        elif len(reference) > MAX_REFERENCE_CHARS:
            text = f"order_reference is longer than {MAX_REFERENCE_CHARS} characters"
            self.problem("items", row, None, _reference(reference), text)
        else:
            self.parts["items"][_partition(reference, self.count)].add((row, *cells))

    def finish(self) -> None:
        """Join each partition on its own; its kept orders go to their customers' ranges."""
        self.ranges = self._spools("range", SPOOL_BATCH // 8)  # orders with their items
        for index in range(self.count):
            problems = self._spool(f"joined-{index:03d}", 1024)
            for problem in sorted(self._join_partition(index, self.parts["orders"][index])):
                problems.add(problem)
            problems.close()
            self.joined_problems.append(problems)
        for spool in self.ranges:
            spool.close()

    def _range(self, customer_row: int) -> int:
        return (customer_row - 2) * self.count // max(1, self.customer_records)

    def _join_partition(
        self, index: int, orders: Iterable[Any]
    ) -> list[tuple[int, int, str | None, str | None, str]]:
        """One partition's problems, as (kind index, row, customer, order, text)."""
        problems: list[tuple[int, int, str | None, str | None, str]] = []
        kept: dict[str, list[Any]] = {}  # ref -> [customer row, epoch, row, ref, status, ...]
        left_out: dict[str, tuple[int, str | None]] = {}
        for usable, row, reference, customer_reference, status, epoch in orders:
            if not usable:
                left_out.setdefault(reference, (row, customer_reference))
                continue
            first = kept.get(reference)
            if first is None:
                customer_row = self.customer_rows[customer_reference]
                kept[reference] = [
                    customer_row,
                    epoch,
                    row,
                    reference,
                    status,
                    0,
                    [],
                    customer_reference,
                ]
                continue
            text = f"duplicate order_reference: row {first[2]} is kept, this row is left out"
            problems.append((1, row, _reference(customer_reference), reference, text))
        orders_name = self.names["orders"]
        for row, reference, name, quantity_text, price_text in self.parts["items"][index]:
            order = kept.get(reference)
            out = left_out.get(reference)
            quantity, cents = _quantity(quantity_text), _cents(price_text)
            if quantity is None:
                text = f"quantity {_shown(quantity_text)} is not a whole number of at least 1"
            elif cents is None:
                text = (
                    f"total_price {_shown(price_text)} is not an amount of at least 0 "
                    "with at most 2 decimals"
                )
            elif order is None and out is not None:
                text = f"its order was left out (see {orders_name} row {out[0]})"
            elif order is None:
                text = f"unknown order_reference (not in {orders_name})"
            else:
                order[6].append((name, quantity, cents))
                order[5] += cents
                continue
            customer = str(order[7]) if order is not None else out[1] if out else None
            problems.append((2, row, _reference(customer or ""), _reference(reference), text))
        items_name = self.names["items"]
        for order in kept.values():
            customer_row, epoch, row, reference, status, cents_total, items, customer = order
            if not items:
                problems.append(
                    (
                        1,
                        row,
                        _reference(customer),
                        reference,
                        f"the order has no items in {items_name} (it is in its "
                        "customer's message with an empty items list)",
                    )
                )
            self.ranges[self._range(customer_row)].add(
                (customer_row, epoch, row, reference, status, cents_total, items)
            )
        return problems

    def messages(self, ids: MessageIds, max_bytes: int) -> Iterator[Message]:
        current = -1
        by_customer: dict[int, list[Any]] = {}
        for row, reference, first_name, last_name, status in self.kept_customers:
            index = self._range(row)
            if index != current:
                current, by_customer = index, {}
                for order in self.ranges[index]:
                    by_customer.setdefault(order[0], []).append(order)
            orders = [
                FeedOrder(
                    reference_,
                    status_,
                    iso_utc(epoch),
                    money(cents_total),
                    tuple(FeedItem(n, q, money(c)) for n, q, c in items),
                )
                for _, epoch, _, reference_, status_, cents_total, items in sorted(
                    by_customer.pop(row, ()), key=lambda o: (o[1], o[2])
                )
            ]
            yield from _customer_output(
                ids,
                self.names,
                max_bytes,
                (row, reference, first_name, last_name),
                status,
                orders,
            )
        runs = [_tagged(k, self.read_problems[kind]) for k, kind in enumerate(KINDS)]
        runs.extend(iter(spool) for spool in self.joined_problems)
        for k, row, customer, order, text in heapq.merge(*runs, key=lambda p: (p[0], p[1])):
            yield _error(ids, self.names, _Problem(KINDS[k], row, customer, order, text))

    def close(self) -> None:
        """Remove the spill directory."""
        for spool in (*self.parts.get("orders", ()), *self.parts.get("items", ()), *self.ranges):
            if spool.file is not None:
                spool.file.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


__all__ = [
    "REQUIRED_COLUMNS",
    "CustomerMessage",
    "ErrorMessage",
    "FeedResult",
    "FeedSource",
    "csv_records",
    "csv_source",
    "join_feed",
]

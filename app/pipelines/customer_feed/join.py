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

Memory: this implementation is in memory (dicts of every kept customer, order and item,
about the size of the three files). The interface is what a bounded version needs and can
keep: `join_feed` takes the files as iterables of records and reads each once, in the order
customers, orders, items, before it returns; `FeedResult.messages()` then yields lazily. A
spill-to-disk version would, while reading, hash-partition orders and items by
order_reference into a temporary directory, join each partition to learn each item's
customer, re-partition by customer_reference along with the customers, and then yield one
partition at a time (the reports engine's fold-and-spill does the same for its groups).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

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
    ) -> None:
        self.feed_date = feed_date
        self.joined = joined
        self.records = records  # data records read per file (header excluded)
        self._produce = produce

    def messages(self) -> Iterator[Message]:
        """Every message of the set, in a deterministic order (see the module doc)."""
        return self._produce()


def join_feed(
    feed_date: date,
    sources: Mapping[str, FeedSource],
    versions: Mapping[str, str],
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> FeedResult:
    """Read the three files (`sources`: kind -> file) and join them. `versions` (e.g. kind
    -> ETag) go into every message_id: the same input gives the same ids, a re-upload new
    ones. Raises only for a caller's mistake (not exactly the three kinds), or what reading
    raises other than FileError (a transient failure, to be retried)."""
    if sorted(sources) != sorted(KINDS):
        raise ValueError(f"join_feed needs exactly the files {KINDS}, got {sorted(sources)}")
    ids = MessageIds(feed_date, dict(versions))
    join = _Join({kind: sources[kind].name for kind in KINDS})
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
        return FeedResult(feed_date, False, records, lambda: iter(bad_files))
    join.finish()
    return FeedResult(feed_date, True, records, lambda: join.messages(ids, max_message_bytes))


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
            made = customer_messages(
                ids,
                customer_reference=customer.reference,
                first_name=customer.first_name,
                last_name=customer.last_name,
                status=customer.status,
                orders=orders,
                max_bytes=max_bytes,
            )
            if made is not None:
                yield from made
                continue
            name = self.names["customers"]
            yield ErrorMessage(
                ids.error(name, customer.row),
                ids.feed_date,
                customer.reference,
                None,
                name,
                customer.row,
                f"the customer's message cannot be sent: even one item per part exceeds "
                f"{max_bytes:,} bytes (a name, status or item_name too long)",
            )
        for problem in sorted(self.problems, key=lambda p: (KINDS.index(p.kind), p.row)):
            name = self.names[problem.kind]
            yield ErrorMessage(
                ids.error(name, problem.row),
                ids.feed_date,
                problem.customer_reference,
                problem.order_reference,
                name,
                problem.row,
                problem.text,
            )


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

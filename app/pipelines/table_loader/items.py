"""CSV records as items of the rows table: one item per record, whatever the file's shape.

An item's key is `source` (S) = `<bucket>/<key>` and `row` (N) = the record number, the
header being 1 (so the first data record is 2; blank lines are not records, as in the
reports). Each non-empty cell is an attribute under its column's name; empty cells are
omitted. Cells are strings holding the exact text of the file, except the orders contract's
number columns (`columns.NUMBER_COLUMNS`), stored as DynamoDB numbers when
`columns.number_value` accepts the text (else as the text).

Hostile shapes get a deterministic outcome, so a re-delivery or a re-run writes the same items:
- A column's name is its header normalised (`columns.normalise_header`), if that is usable:
  not empty, not a key attribute (`source`, `row`), at most MAX_NAME_BYTES of UTF-8, and the
  first column with that name. Names are given in two passes: first every usable name claims
  itself, left to right; then each other column (1-based position p) gets `<name>_<p>`
  (`source_2`, `city_5`), or `column_<p>` when its name is empty or too long, with `_2`,
  `_3`, ... appended if even that is taken. So `a,a,a_2` gives `a, a_2_2, a_2`.
- Only a number column under its own name is typed (a second `quantity` column, named
  `quantity_7`, holds strings).
- A record with more fields than the header puts the extra ones under `column_<p>` (p its
  1-based position; `column_<p>_2`, ... if the header took that name); a record with fewer
  fields simply has no attributes for the missing cells.
- A record whose item would exceed DynamoDB's 400 KB item limit (names and values counted
  as DynamoDB does, numbers at an upper bound) is not written: it is a Skipped with its row
  number and the reason, counted and reported, never silently dropped.
Every item built here is valid by construction (names non-empty and distinct, values
non-empty strings or numbers in DynamoDB's range, size within the limit), so the writer may
skip the client's parameter validation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.orders_csv.columns import NUMBER_COLUMNS, normalise_header, number_value
from app.orders_csv.reader import MAX_ROW_BYTES

SOURCE = "source"  # the rows table's partition key (S)
ROW = "row"  # its sort key (N)
KEYS = frozenset({SOURCE, ROW})
# DynamoDB's item size limit, names and values included: 400 KB. AWS accepts up to 400 KiB
# (409,600 bytes), moto up to 405,000; 400,000 is within both, so no written item is refused.
MAX_ITEM_BYTES = 400_000
MAX_NAME_BYTES = 255  # longer header names are not used as attribute names

Value = dict[str, str]  # a DynamoDB AttributeValue as the low-level API takes it: {"S": ...}
Item = dict[str, Value]

# The csv module refuses fields over 128 KiB by default; the reader accepts records up to
# MAX_ROW_BYTES, and a long cell is an item to write (or to skip as too large), not a crash.
if csv.field_size_limit() < MAX_ROW_BYTES:
    csv.field_size_limit(MAX_ROW_BYTES)


@dataclass(frozen=True)
class Skipped:
    """A record that was not written, and why."""

    row: int
    reason: str

    def note(self) -> str:
        return f"row {self.row}: {self.reason}"


def attribute_names(header: Sequence[str]) -> list[str]:
    """The attribute name of each header column (see the module doc for the rules)."""
    natural = [normalise_header(h) for h in header]
    names: list[str | None] = [None] * len(natural)
    used = set(KEYS)
    for position, name in enumerate(natural):
        if _usable(name) and name not in used:
            names[position] = name
            used.add(name)
    result: list[str] = []
    for position, (name, claimed) in enumerate(zip(natural, names, strict=True)):
        if claimed is None:
            base = name if name and _fits(name) else "column"
            claimed = _free(f"{base}_{position + 1}", used)
            used.add(claimed)
        result.append(claimed)
    return result


def _usable(name: str) -> bool:
    return bool(name) and name not in KEYS and _fits(name)


def _fits(name: str) -> bool:
    return len(name) <= MAX_NAME_BYTES // 4 or len(name.encode("utf-8")) <= MAX_NAME_BYTES


def _free(candidate: str, used: set[str] | frozenset[str]) -> str:
    """The candidate, or the candidate with `_2`, `_3`, ... if it is taken."""
    if candidate not in used:
        return candidate
    suffix = 2
    while f"{candidate}_{suffix}" in used:
        suffix += 1
    return f"{candidate}_{suffix}"


def records(data: bytes) -> Iterator[list[str]]:
    """The fields of each record of a run of whole records (blank lines are not records)."""
    for fields in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
        if fields:
            yield fields


@lru_cache(maxsize=1 << 16)
def _number(column: str, text: str) -> str | None:
    """The DynamoDB number text of a cell of a number column, None if it is not one.
    Cached: quantities and discounts repeat, and so do many prices."""
    value = number_value(column, text)
    return None if value is None else str(value)


class ItemMaker:
    """Items of one source, given its header."""

    _CACHED_EXTRAS = 4096  # names of extra fields kept (a ragged file has a few; a hostile
    # record may have millions of fields, all of them empty)

    def __init__(self, source: str, header: Sequence[str]) -> None:
        self.source = source
        self.names = attribute_names(header)
        self._header_names = frozenset(self.names)
        self._name_bytes = [len(n.encode("utf-8")) for n in self.names]
        self._numbers = {
            position: name for position, name in enumerate(self.names) if name in NUMBER_COLUMNS
        }
        self._key_bytes = len(SOURCE) + len(source.encode("utf-8")) + len(ROW)
        self._extras: dict[int, str] = {}

    def _extra(self, position: int) -> str:
        """The name of a field beyond the header (0-based position); ASCII."""
        name = self._extras.get(position)
        if name is None:
            name = _free(f"column_{position + 1}", self._header_names)
            if position < self._CACHED_EXTRAS:
                self._extras[position] = name
        return name

    def item(self, row: int, fields: Sequence[str]) -> Item | Skipped:
        """The item of record number `row`, or a Skipped if it would be too large (sized as
        it is built: an oversized record is never held as an item)."""
        number_text = str(row)
        item: Item = {SOURCE: {"S": self.source}, ROW: {"N": number_text}}
        size = self._key_bytes + len(number_text) + 1
        names, name_bytes, numbers, width = (
            self.names,
            self._name_bytes,
            self._numbers,
            len(self.names),
        )
        for position, text in enumerate(fields):
            if not text:
                continue
            if position < width:
                name, size = names[position], size + name_bytes[position]
            else:
                name = self._extra(position)
                size += len(name)
            column = numbers.get(position)
            number = _number(column, text) if column is not None else None
            if number is None:
                item[name] = {"S": text}
                size += len(text) if text.isascii() else len(text.encode("utf-8"))
            else:
                item[name] = {"N": number}
                size += len(number) + 1
            if size > MAX_ITEM_BYTES:
                return self._too_large(row, fields)
        return item

    def _too_large(self, row: int, fields: Sequence[str]) -> Skipped:
        size = self.size(self._stream_of(row, fields))
        return Skipped(
            row,
            f"the item would be {size:,} bytes, over DynamoDB's 400 KB item limit "
            f"(taken as {MAX_ITEM_BYTES:,} bytes)",
        )

    def _stream_of(self, row: int, fields: Sequence[str]) -> Iterator[tuple[str, Value]]:
        """The item's attributes one by one, without building it."""
        yield SOURCE, {"S": self.source}
        yield ROW, {"N": str(row)}
        width = len(self.names)
        for position, text in enumerate(fields):
            if text:
                name = self.names[position] if position < width else self._extra(position)
                column = self._numbers.get(position)
                number = _number(column, text) if column is not None else None
                yield name, ({"S": text} if number is None else {"N": number})

    @staticmethod
    def size(attributes: Item | Iterable[tuple[str, Value]]) -> int:
        """An item's size as DynamoDB counts it: UTF-8 bytes of every name and string value;
        a number counted at an upper bound (its text's length plus one byte)."""
        pairs = attributes.items() if isinstance(attributes, dict) else attributes
        total = 0
        for name, value in pairs:
            total += len(name.encode("utf-8"))
            if "S" in value:
                total += len(value["S"].encode("utf-8"))
            else:
                total += len(value["N"]) + 1
        return total

    def items(self, data: bytes, first_row: int) -> Iterator[Item | Skipped]:
        """The items of a run of whole records whose first record is number `first_row`."""
        row = first_row
        for fields in records(data):
            yield self.item(row, fields)
            row += 1

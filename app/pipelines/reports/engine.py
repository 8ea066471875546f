"""The report engine: one orders CSV in, three reports out, exactly, in bounded memory.

`app.orders_csv.reader` cuts the stream into runs of whole records (checked as UTF-8 text, quotes
matched, every record accounted for) that pyarrow parses; each batch is decoded (labels
trimmed and NFC-normalised, amounts parsed exactly by `money`), validated, and folded into
exact per-group totals, while the distinct (group, order) keys that `orders` needs are spilled
to the caller's work directory by hash partition (about 35 bytes a row) and counted one
partition at a time. Rejected rows are streamed to a CSV file there too. Memory therefore
grows with the number of distinct labels, never with the number of rows. Reading, parsing,
decoding and folding run as a pipeline of threads (pyarrow and numpy release the GIL), so two
cores share the work. No AWS here: the caller hands in a binary stream (only `read(n)`).
"""

from __future__ import annotations

import csv
import io
import queue
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import FileError
from app.orders_csv import money
from app.orders_csv import reader as csv_reader
from app.orders_csv.columns import (
    CANONICAL_COLUMNS,
    LABEL_COLUMNS,
    REQUIRED_COLUMNS,
    UNKNOWN_SHIP_MODES,
    normalise_header,
)
from app.orders_csv.reader import BadRecord, Readable

__all__ = [
    "CANONICAL_COLUMNS",
    "REPORT_COLUMNS",
    "REQUIRED_COLUMNS",
    "Result",
    "normalise_header",
    "run",
    "to_csv",
]

REPORT_COLUMNS = {
    "most_profitable_region": ["rank", "region", "profit", "revenue", "orders"],
    "top_ship_mode_by_category": ["category", "ship_mode", "orders", "share"],
    "orders_by_category": ["category", "sub_category", "orders", "line_items"],
}

REJECTED_FILE = "rejected_rows.csv"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class Result:
    """What one file produced: the three reports (money already text), and the counts."""

    reports: dict[str, pd.DataFrame]
    rows_read: int  # records after the header (blank lines are not records)
    rows_rejected: int
    bytes_read: int
    columns: dict[str, str]  # canonical name -> the file's own header
    rejected_csv: Path | None  # row, reason, the required fields; None if nothing was rejected


# --------------------------------------------------------------------------- the header


def _map_columns(header: list[str]) -> dict[str, int]:
    """Canonical name -> position in the header, for the required columns."""
    if not any(h.strip() for h in header):
        raise FileError("no_header", "the first line is empty: expected a header row")
    found: dict[str, int] = {}
    for position, raw in enumerate(header):
        name = normalise_header(raw)
        if name in REQUIRED_COLUMNS and name in found:
            raise FileError(
                "duplicate_column",
                f"column {name} appears twice in the header ({header[found[name]]!r} and {raw!r})",
                column=name,
            )
        found.setdefault(name, position)
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        raise FileError(
            "missing_columns",
            f"missing required column(s): {', '.join(missing)}",
            missing=missing,
            header=header,
        )
    return {c: found[c] for c in REQUIRED_COLUMNS}


# --------------------------------------------------------------------------- decoding


def _clean(values: pa.Array) -> np.ndarray:
    """Distinct texts trimmed and NFC-normalised (`Québec` typed two ways is one label), as
    an object array of str."""
    trimmed = pc.utf8_trim_whitespace(values)
    if pc.all(pc.string_is_ascii(trimmed)).as_py():  # ASCII is always in NFC
        texts: np.ndarray = trimmed.to_numpy(zero_copy_only=False)
        return texts
    return np.asarray([unicodedata.normalize("NFC", t) for t in trimmed.to_pylist()], dtype=object)


@dataclass
class _Text:
    """A text column of one batch: per-row codes into the batch's distinct cleaned values."""

    codes: np.ndarray
    values: np.ndarray  # of str

    def per_row(self, flags: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.asarray(flags, dtype=bool)[self.codes]
        return result

    def empty(self) -> np.ndarray:
        return self.per_row(self.values == "")


def _text(column: pa.Array) -> _Text:
    encoded = pc.dictionary_encode(column)
    return _Text(encoded.indices.to_numpy(zero_copy_only=False), _clean(encoded.dictionary))


def _order_hashes(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the cleaned (trimmed, NFC) order ids, and which ids are empty."""
    ids = pc.utf8_trim_whitespace(column)
    if not pc.all(pc.string_is_ascii(ids)).as_py():  # ASCII is always in NFC
        encoded = pc.dictionary_encode(ids)
        texts = [unicodedata.normalize("NFC", t) for t in encoded.dictionary.to_pylist()]
        ids = pa.array(texts, pa.string()).take(encoded.indices)
    empty = pc.equal(pc.binary_length(ids), 0).to_numpy(zero_copy_only=False)
    return _hash_texts(ids), empty


_MIX = np.uint64(0xBF58476D1CE4E5B9)
_LONGEST_WORDS = 8  # ids up to 64 bytes are hashed together, longer ones one by one


def _hash_texts(texts: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string's bytes, a function of the string alone (equal ids hash
    alike in every batch). Strings up to 64 bytes, nearly all of them, are hashed together:
    their bytes laid out as rows of 8-byte words, mixed a word at a time (a multiply and an
    xor-shift, as in splitmix64) from a seed made of the length. Longer ones go through
    pandas' hash, one by one."""
    n = len(texts)
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset : texts.offset + n + 1]
    lengths = np.diff(offsets).astype(np.int64)
    hashes = lengths.astype(np.uint64) * _GOLDEN
    short = lengths <= _LONGEST_WORDS * 8
    if n and lengths[short].max(initial=0) > 0:
        starts, sizes = offsets[:-1][short], lengths[short]
        width = -(-int(sizes.max()) // 8) * 8
        data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)
        data = np.concatenate([data[: offsets[-1]], np.zeros(width, dtype=np.uint8)])
        padded = np.lib.stride_tricks.sliding_window_view(data, width)[starts]
        padded *= np.arange(width)[None, :] < sizes[:, None]  # zero the bytes past the end
        words = padded.view(np.uint64)
        count = -(-sizes // 8)  # each string's own number of words: mixed that many times
        mixed = hashes[short]
        for j in range(words.shape[1]):
            step = (mixed ^ words[:, j]) * _MIX
            step ^= step >> np.uint64(31)
            step *= _GOLDEN
            step ^= step >> np.uint64(29)
            mixed = step if (j < count).all() else np.where(j < count, step, mixed)
        hashes[short] = mixed
    if not short.all():
        long = np.flatnonzero(~short)
        values = np.asarray(texts.take(pa.array(long)).to_pylist(), dtype=object)
        hashes[long] = np.asarray(pd.util.hash_array(values, categorize=False), dtype=np.uint64)
    return hashes


@dataclass
class _Batch:
    """One run of records, parsed and decoded as the fold needs it."""

    raw: pa.RecordBatch | None  # the required columns as text, named as REQUIRED_COLUMNS
    bad: list[BadRecord]  # records with the wrong number of fields
    records: int  # records in the run (rows of `raw` + bad)
    text: dict[str, _Text]
    numbers: dict[str, money.Numbers]
    orders: np.ndarray
    empty_order: np.ndarray


def _decode(parsed: tuple[pa.RecordBatch | None, list[BadRecord], int]) -> _Batch:
    raw, bad, records = parsed
    if raw is None or raw.num_rows == 0:
        empty = np.zeros(0, dtype=bool)
        return _Batch(None, bad, records, {}, {}, np.zeros(0, dtype=np.uint64), empty)
    raw = pa.RecordBatch.from_arrays(raw.columns, names=list(REQUIRED_COLUMNS))
    orders, empty_order = _order_hashes(raw.column("order_id"))
    return _Batch(
        raw=raw,
        bad=bad,
        records=records,
        text={n: _text(raw.column(n)) for n in LABEL_COLUMNS},
        numbers={
            "cost_price": money.parse(raw.column("cost_price"), money.PRICE_SCALE),
            "list_price": money.parse(raw.column("list_price"), money.PRICE_SCALE),
            "discount_percent": money.parse(
                raw.column("discount_percent"), money.PRICE_SCALE, repeated=True
            ),
            "quantity": money.parse(
                raw.column("quantity"), 0, money.MAX_INTEGER_DIGITS, repeated=True
            ),
        },
        orders=orders,
        empty_order=empty_order,
    )


# --------------------------------------------------------------------------- validation

_EMPTY = {name: f"{name} is empty" for name in ("order_id", "region", "category", "sub_category")}
_NOT = {  # reason: "<column> '<value>' <what it is not>"
    "cost_price": "is not a number >= 0",
    "list_price": "is not a number >= 0",
    "quantity": "is not a whole number >= 1",
    "discount_percent": "is not a number from 0 to 100",
}
_OUT_OF_RANGE = (
    "is too large or too precise to compute exactly (amounts must be below "
    f"10^{money.MAX_INTEGER_DIGITS} with at most {money.MAX_DECIMALS} decimal places)"
)


def _problems(batch: _Batch) -> dict[str, np.ndarray]:
    """Per rule of the row contract, the rows that break it."""
    text, num = batch.text, batch.numbers
    qty, disc = num["quantity"], num["discount_percent"]
    return {
        "order_id": batch.empty_order,
        **{name: text[name].empty() for name in ("region", "category", "sub_category")},
        "cost_price": ~num["cost_price"].is_number() | (num["cost_price"].compare(0) < 0),
        "list_price": ~num["list_price"].is_number() | (num["list_price"].compare(0) < 0),
        # on the whole-number scale, only a fraction takes the exact (SLOW) path
        "quantity": ~qty.is_number() | (qty.status == money.SLOW) | (qty.compare(1) < 0),
        "discount_percent": ~disc.is_number() | (disc.compare(0) < 0) | (disc.compare(100) > 0),
    }


class _Rejected:
    """Rejected rows, streamed to a CSV file in file order as they are found.

    The rows of a run that break a rule are formatted in pyarrow, column by column, and
    written as one block: nothing per row is kept in memory, and Python never loops over
    them (only over the rare values whose repr needs escapes, and over records with the
    wrong number of fields).
    """

    def __init__(self, path: Path, names: list[str], positions: list[int], width: int) -> None:
        self.path = path
        self.names = names  # the file's own names of the required columns
        self.positions = positions  # their positions in the header
        self.width = width  # the header's number of fields
        self.count = 0
        self._file: IO[bytes] | None = None

    def add(
        self,
        batch: _Batch,
        problems: dict[str, np.ndarray],
        numbers: np.ndarray,
        first: int,
    ) -> None:
        """Write a run's rejected rows: the parsed rows that break a rule (`numbers` are the
        record numbers of the parsed rows) and the records with the wrong number of fields
        (`first` is the record number of the run's first record)."""
        lines: pa.Array | None = None
        if batch.raw is not None and problems:
            idx = np.flatnonzero(np.logical_or.reduce(list(problems.values())))
            if len(idx):
                lines = _rejected_lines(batch, problems, idx, numbers[idx])
                self.count += len(idx)
        if not batch.bad:
            if lines is not None:
                self._open().write(_string_data(lines))
            return
        rows = [
            (first + r.number - 1, csv_line([str(first + r.number - 1), *self._malformed(r)]))
            for r in batch.bad
        ]
        self.count += len(rows)
        if lines is not None:
            rows += zip(numbers[idx].tolist(), lines.to_pylist(), strict=True)
            rows.sort(key=lambda r: r[0])
        self._open().write("".join(line for _, line in rows).encode("utf-8"))

    def _malformed(self, record: BadRecord) -> list[str]:
        fields = next(csv.reader(io.StringIO(record.text, newline="")), [])
        shown = record.text if len(record.text) <= 200 else record.text[:200] + "..."
        reason = f"expected {self.width} fields, got {record.fields}: {shown!r}"
        return [reason, *(fields[p] if p < len(fields) else "" for p in self.positions)]

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self._file = self.path.open("wb")
            self._file.write(csv_line(["row", "reason", *self.names]).encode("utf-8"))
        return self._file

    def close(self) -> Path | None:
        if self._file is not None:
            self._file.close()
        return self.path if self.count else None


def _join(*parts: Any, separator: str = "") -> pa.Array:
    """Element-wise concatenation of string arrays and str constants, with a separator."""
    kind = next((p.type for p in parts if isinstance(p, pa.Array | pa.ChunkedArray)), pa.string())
    items = [pa.scalar(p, kind) if isinstance(p, str) else p for p in parts]
    result: pa.Array = pc.binary_join_element_wise(*items, pa.scalar(separator, kind))
    return result


def _repr(values: pa.Array) -> pa.Array:
    """Python's repr() of each string: quoted, with escapes where repr() would put them."""
    plain = pc.match_substring_regex(values, r"^[ -&(-\[\]-~]*$")  # printable ASCII, no ' \\
    quoted = _join("'", values, "'")
    if pc.all(plain).as_py():
        return quoted
    mask = pc.invert(plain)
    others = [repr(v) for v in pc.filter(values, mask).to_pylist()]
    result: pa.Array = pc.replace_with_mask(quoted, mask, pa.array(others, pa.string()))
    return result


def _csv_field(values: pa.Array) -> pa.Array:
    """A column as RFC 4180 CSV fields (as `csv_line` writes them)."""
    needs = pc.match_substring_regex(values, '[,"\r\n]')
    if not pc.any(needs).as_py():
        return values
    quoted = _join('"', pc.replace_substring(values, '"', '""'), '"')
    result: pa.Array = pc.if_else(needs, quoted, values)
    return result


def _rejected_lines(
    batch: _Batch, problems: dict[str, np.ndarray], idx: np.ndarray, numbers: np.ndarray
) -> pa.Array:
    """The CSV lines (row, reason, the required fields) of the given rows of a batch."""
    assert batch.raw is not None
    rows = batch.raw.take(pa.array(idx))
    null = pa.scalar(None, pa.string())
    reasons = []
    for name, mask in problems.items():
        broken = mask[idx]
        if not broken.any():
            continue
        if name in _EMPTY:
            reason = pc.if_else(pa.array(broken), pa.scalar(_EMPTY[name]), null)
        else:
            wide = pa.array(batch.numbers[name].status[idx] == money.OUT_OF_RANGE)
            text = _join(
                f"{name} ",
                _repr(rows.column(name)),
                " ",
                pc.if_else(wide, _OUT_OF_RANGE, _NOT[name]),
            )
            reason = pc.if_else(pa.array(broken), text, null)
        reasons.append(reason)
    reason_text = pc.binary_join_element_wise(*reasons, "; ", null_handling="skip")
    fields = [pa.array(numbers).cast(pa.string()), reason_text]
    return _lines(fields + [rows.column(c) for c in REQUIRED_COLUMNS])


def _string_data(values: pa.Array) -> memoryview:
    """The concatenated UTF-8 of a string array without nulls, without a copy."""
    wide = pa.types.is_large_string(values.type)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64 if wide else np.int32)
    start, end = offsets[values.offset], offsets[values.offset + len(values)]
    return memoryview(values.buffers()[2])[start:end]


# --------------------------------------------------------------------------- folding


class _Interner:
    """Gives each distinct group label (or pair of label codes) a stable small integer."""

    def __init__(self) -> None:
        self.codes: dict[Any, int] = {}

    def __len__(self) -> int:
        return len(self.codes)

    def labels(self) -> list[Any]:
        return list(self.codes)

    def encode(self, text: _Text, good: np.ndarray | None) -> np.ndarray:
        """Codes of the good rows; labels seen only on rejected rows are never interned."""
        codes = text.codes if good is None else text.codes[good]
        used = np.zeros(len(text.values), dtype=bool)
        used[codes] = True
        lookup = np.array(
            [
                self.codes.setdefault(v, len(self.codes)) if u else -1
                for v, u in zip(text.values, used, strict=True)
            ],
            dtype=np.int64,
        )
        result: np.ndarray = lookup[codes]
        return result

    def encode_pairs(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Codes of (left, right) pairs; memory grows with the rows and the pairs present,
        never with the product of the two label counts."""
        if len(left) == 0:
            return np.empty(0, dtype=np.int64)
        width = int(right.max()) + 1
        span = (int(left.max()) + 1) * width
        if span <= 4 * len(left) + 4096:  # small codes: a direct table, no sort
            combined = left * width + right
            seen = np.zeros(span, dtype=bool)
            seen[combined] = True
            pairs = np.flatnonzero(seen)
            table = np.full(span, -1, dtype=np.int64)
            table[pairs] = [self._code(*divmod(p, width)) for p in pairs.tolist()]
            codes: np.ndarray = table[combined]
            return codes
        pairs, inverse = np.unique(left * width + right, return_inverse=True)
        found = [self._code(*divmod(p, width)) for p in pairs.tolist()]
        codes = np.asarray(found, dtype=np.int64)[inverse.reshape(-1)]
        return codes

    def _code(self, left: int, right: int) -> int:
        return self.codes.setdefault((left, right), len(self.codes))


SETS = 4  # distinct (group, order) sets: region, category/sub, category/ship mode, category
_REGION, _CATEGORY_SUB, _CATEGORY_SHIP, _CATEGORY = range(SETS)


class _DistinctOrders:
    """How many distinct orders each group has, for all four sets, in flat memory.

    Each (set, group, order) becomes a 64-bit key (a hash of the order id mixed with the set
    and group: two different pairs share a key with probability about n^2 / 2^65, 1e-6 at ten
    million pairs) plus its tagged group. Pairs are spilled to PARTITIONS files by the key's top
    bits; at the end each partition is deduplicated on its own, so memory holds one partition's
    pairs, not all of them, and does not grow with the file.
    """

    PARTITIONS = 64
    FLUSH = 1 << 20  # pairs buffered in memory (12 MiB) before a write to the partitions

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.keys = [open(directory / f"p{i:02d}.key", "wb") for i in range(self.PARTITIONS)]  # noqa: SIM115
        self.groups = [open(directory / f"p{i:02d}.grp", "wb") for i in range(self.PARTITIONS)]  # noqa: SIM115
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.buffered = 0
        self.max_group = -1

    def add(self, which: int, order_hash: np.ndarray, group: np.ndarray) -> None:
        if len(group) == 0:
            return
        tagged = (group * SETS + which).astype(np.int32)  # < 2^31 groups: rows bound them
        key = order_hash ^ ((tagged.astype(np.uint64) + np.uint64(1)) * _GOLDEN)
        keep = np.empty(len(key), dtype=bool)  # an order's lines are usually adjacent:
        keep[0] = True  # drop those repeats cheaply before they reach the disk
        np.not_equal(key[1:], key[:-1], out=keep[1:])
        self.pending.append((key[keep], tagged[keep]))
        self.buffered += len(self.pending[-1][0])
        self.max_group = max(self.max_group, int(tagged.max()))
        if self.buffered >= self.FLUSH:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        keys = np.concatenate([k for k, _ in self.pending])
        groups = np.concatenate([g for _, g in self.pending])
        self.pending, self.buffered = [], 0
        part = (keys >> np.uint64(58)).astype(np.uint8)
        order = np.argsort(part, kind="stable")
        keys, groups = keys[order], groups[order]
        start = 0
        for i, end in enumerate(np.bincount(part, minlength=self.PARTITIONS).cumsum()):
            if end > start:
                keys[start:end].tofile(self.keys[i])
                groups[start:end].tofile(self.groups[i])
            start = end

    def counts(self) -> np.ndarray:
        """Distinct orders per tagged group (group * SETS + set); removes the spill files."""
        self._flush()
        total = np.zeros(self.max_group + 1, dtype=np.int32)  # counts of rows: < 2^31
        for key_file, group_file in zip(self.keys, self.groups, strict=True):
            key_file.close()
            group_file.close()
            keys = np.fromfile(key_file.name, dtype=np.uint64)
            groups = np.fromfile(group_file.name, dtype=np.int32)
            Path(key_file.name).unlink()
            Path(group_file.name).unlink()
            unique = ~pd.Series(keys).duplicated().to_numpy()
            total += np.bincount(groups[unique], minlength=len(total)).astype(np.int32)
        return total

    def close(self) -> None:
        for f in (*self.keys, *self.groups):
            f.close()


def _count(total: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """total (grown to `size`) plus the number of times each code occurs."""
    if len(total) < size:
        total = np.concatenate([total, np.zeros(max(size, 2 * len(total)) - len(total), np.int64)])
    if len(codes):
        groups, local = money.present_groups(codes, len(total))
        total[groups] += np.bincount(local)
    return total


class _Accumulator:
    def __init__(self, spill: Path) -> None:
        self.regions = _Interner()
        self.categories = _Interner()
        self.sub_categories = _Interner()
        self.ship_modes = _Interner()
        self.category_sub = _Interner()  # (category, sub_category)
        self.category_ship = _Interner()  # (category, ship_mode)
        self.profit = money.ExactSums()  # over money.FAST_DENOMINATOR
        self.revenue = money.ExactSums()
        self.exact_profit: dict[int, int] = {}  # region -> over money.EXACT_DENOMINATOR
        self.exact_revenue: dict[int, int] = {}
        self.line_items = np.zeros(0, dtype=np.int64)
        self.orders = _DistinctOrders(spill)
        self._counts: np.ndarray | None = None

    def fold(self, batch: _Batch, good: np.ndarray | None) -> None:
        text, num = batch.text, batch.numbers

        def rows(values: np.ndarray) -> np.ndarray:
            return values if good is None else values[good]

        region = self.regions.encode(text["region"], good)
        category = self.categories.encode(text["category"], good)
        sub = self.sub_categories.encode(text["sub_category"], good)
        ship = text["ship_mode"]
        known = rows(
            ship.per_row(
                np.array([v.lower() not in UNKNOWN_SHIP_MODES for v in ship.values], dtype=bool)
            )
        )
        ship_code = self.ship_modes.encode(ship, good)
        order = rows(batch.orders)

        prices = (num["list_price"], num["cost_price"], num["discount_percent"], num["quantity"])
        revenue, profit, fast = money.line_amounts(*prices)
        revenue, profit, fast = rows(revenue), rows(profit), rows(fast)
        size = len(self.regions)
        if fast.all():
            self.revenue.add(region, revenue, size)
            self.profit.add(region, profit, size)
        else:
            self.revenue.add(region[fast], revenue[fast], size)
            self.profit.add(region[fast], profit[fast], size)
            original = np.flatnonzero(good) if good is not None else np.arange(len(fast))
            for index in np.flatnonzero(~fast).tolist():
                rev, prof = money.exact_line_amounts(int(original[index]), *prices)
                code = int(region[index])
                self.exact_revenue[code] = self.exact_revenue.get(code, 0) + rev
                self.exact_profit[code] = self.exact_profit.get(code, 0) + prof

        pair = self.category_sub.encode_pairs(category, sub)
        ship_pair = self.category_ship.encode_pairs(category[known], ship_code[known])
        self.line_items = _count(self.line_items, pair, len(self.category_sub))
        self.orders.add(_REGION, order, region)
        self.orders.add(_CATEGORY_SUB, order, pair)
        self.orders.add(_CATEGORY_SHIP, order[known], ship_pair)
        self.orders.add(_CATEGORY, order[known], category[known])

    def distinct(self, which: int, size: int) -> np.ndarray:
        if self._counts is None:
            self._counts = self.orders.counts()
        counts = self._counts[which::SETS]
        return np.concatenate([counts, np.zeros(max(0, size - len(counts)), dtype=np.int64)])[:size]

    def money_totals(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Exact profit and revenue per region, as integers (int64, or Python integers in an
        object array) over the returned denominator."""
        n = len(self.regions)
        profit, revenue = self.profit.totals(n), self.revenue.totals(n)
        if not self.exact_profit:
            return profit, revenue, money.FAST_DENOMINATOR
        up = money.EXACT_DENOMINATOR // money.FAST_DENOMINATOR
        profit = np.array([int(p) * up for p in profit], dtype=object)
        revenue = np.array([int(r) * up for r in revenue], dtype=object)
        for i, value in self.exact_profit.items():
            profit[i] += value
        for i, value in self.exact_revenue.items():
            revenue[i] += value
        return profit, revenue, money.EXACT_DENOMINATOR


# --------------------------------------------------------------------------- the engine

T = TypeVar("T")


def _ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run `items` on a thread of its own, up to `depth` items ahead of the consumer.

    Stages chained this way (read and parse, then decode, then fold) overlap on two cores:
    pyarrow and most numpy kernels release the GIL. An exception in a stage is raised in the
    consumer.
    """
    ready: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            more, item = ready.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def run(
    stream: Readable, on_bytes: Callable[[int], None] | None = None, *, workdir: Path
) -> Result:
    """Fold a whole orders CSV into the three reports; raise FileError for a bad file.

    Spill files and the rejected rows' CSV are written under `workdir`, which the caller owns
    (and removes). Only `stream.read(n)` is used.
    """
    reader = csv_reader.RecordReader(stream, on_bytes)
    header = reader.header()
    positions = _map_columns(header)
    columns = {name: header[p] for name, p in positions.items()}
    include = [positions[c] for c in REQUIRED_COLUMNS]
    rejected = _Rejected(workdir / REJECTED_FILE, list(columns.values()), include, len(header))
    acc = _Accumulator(workdir / "distinct-orders")
    rows = 0
    try:
        parsed = (csv_reader.parse_chunk(c, len(header), include) for c in reader.chunks())
        for batch in _ahead(_decode(p) for p in _ahead(parsed)):
            first = rows + 2  # the header is record 1
            rows += batch.records
            if batch.raw is None:
                rejected.add(batch, {}, np.zeros(0, dtype=np.int64), first)
                continue
            problems = _problems(batch)
            bad = np.logical_or.reduce(list(problems.values()))
            if bad.any() or batch.bad:
                rejected.add(batch, problems, _row_numbers(batch, first), first)
            good = None
            if bad.any():
                good = ~bad
                if not good.any():
                    continue
            acc.fold(batch, good)
        reports = _finish(acc)
    finally:
        acc.orders.close()
        rejected_csv = rejected.close()
    return Result(
        reports=reports,
        rows_read=rows,
        rows_rejected=rejected.count,
        bytes_read=reader.bytes_read,
        columns=columns,
        rejected_csv=rejected_csv,
    )


def _row_numbers(batch: _Batch, first: int) -> np.ndarray:
    """Record numbers of the batch's parsed rows (the bad records are numbered apart)."""
    n = batch.raw.num_rows if batch.raw is not None else 0
    if not batch.bad:
        return np.arange(first, first + n, dtype=np.int64)
    taken = np.ones(batch.records, dtype=bool)
    taken[[b.number - 1 for b in batch.bad]] = False
    result: np.ndarray = np.flatnonzero(taken) + first
    return result


# --------------------------------------------------------------------------- finishing


def _finish(acc: _Accumulator) -> dict[str, pd.DataFrame]:
    return {
        "most_profitable_region": _regions(acc),
        "top_ship_mode_by_category": _ship_modes(acc),
        "orders_by_category": _categories(acc),
    }


def _regions(acc: _Accumulator) -> pd.DataFrame:
    """Every region by exact profit, then name; equal exact profits share the lowest rank."""
    n = len(acc.regions)
    profit, revenue, denominator = acc.money_totals()
    labels = pa.array(acc.regions.labels(), pa.large_string())
    acc.regions.codes.clear()  # the fold's region state is no longer needed: free it first
    acc.profit = acc.revenue = money.ExactSums()
    orders = acc.distinct(_REGION, n)
    if profit.dtype == np.int64:  # sorted in pyarrow: names compare as Python's str do
        keys = pa.table({"profit": profit, "region": labels})
        order = pc.sort_indices(
            keys, sort_keys=[("profit", "descending"), ("region", "ascending")]
        ).to_numpy()
    else:
        names = labels.to_pylist()
        order = np.array(sorted(range(n), key=lambda i: (-profit[i], names[i])), dtype=np.int64)
    ranked = profit[order]
    first = np.ones(n, dtype=bool)  # the first of each run of equal exact profits
    first[1:] = ranked[1:] != ranked[:-1]
    rank = np.maximum.accumulate(np.where(first, np.arange(1, n + 1), 0))
    unit = denominator // 100  # cents
    return pd.DataFrame(
        {
            "rank": rank.astype(np.int64),
            "region": _text_column(labels.take(pa.array(order))),
            "profit": _text_column(money.cents_texts(money.round_all(ranked, unit))),
            "revenue": _text_column(money.cents_texts(money.round_all(revenue[order], unit))),
            "orders": orders[order].astype(np.int64),
        },
        columns=REPORT_COLUMNS["most_profitable_region"],
    )


def _text_column(values: pa.Array) -> pd.Series:
    """A pyarrow string array as a pandas column, without a Python object per value."""
    return pd.Series(pd.arrays.ArrowExtensionArray(values))


def _pairs(pairs: _Interner, left: _Interner, right: _Interner, names: list[str]) -> pd.DataFrame:
    """One row per interned (left, right) code pair, with both labels and the left code."""
    codes = pairs.labels()
    left_labels, right_labels = left.labels(), right.labels()
    return pd.DataFrame(
        {
            names[0]: [left_labels[a] for a, _ in codes],
            names[1]: [right_labels[b] for _, b in codes],
            "left_code": np.array([a for a, _ in codes], dtype=np.int64),
        }
    )


def _ship_modes(acc: _Accumulator) -> pd.DataFrame:
    n = len(acc.category_ship)
    if n == 0:
        return pd.DataFrame(columns=REPORT_COLUMNS["top_ship_mode_by_category"])
    frame = _pairs(acc.category_ship, acc.categories, acc.ship_modes, ["category", "ship_mode"])
    frame["orders"] = acc.distinct(_CATEGORY_SHIP, n)
    frame["known"] = acc.distinct(_CATEGORY, len(acc.categories))[frame["left_code"]]
    top = frame[frame["orders"] == frame.groupby("category")["orders"].transform("max")].copy()
    top["share"] = [
        money.ratio_text(int(o), int(k)) for o, k in zip(top["orders"], top["known"], strict=True)
    ]
    top = top.sort_values(["category", "ship_mode"], kind="stable")
    return top.reset_index(drop=True)[REPORT_COLUMNS["top_ship_mode_by_category"]]


def _categories(acc: _Accumulator) -> pd.DataFrame:
    n = len(acc.category_sub)
    frame = _pairs(
        acc.category_sub, acc.categories, acc.sub_categories, ["category", "sub_category"]
    )
    frame["orders"] = acc.distinct(_CATEGORY_SUB, n)
    frame["line_items"] = acc.line_items[:n]
    frame = frame.sort_values(["category", "sub_category"], kind="stable")
    return frame.reset_index(drop=True)[REPORT_COLUMNS["orders_by_category"]]


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def csv_line(fields: list[str]) -> str:
    """One CSV record, LF-terminated, a field quoted when it holds a comma, a quote, a CR or
    an LF (RFC 4180; Python's csv module leaves a lone CR unquoted when lines end in LF)."""
    return (
        ",".join('"' + f.replace('"', '""') + '"' if _NEEDS_QUOTES.search(f) else f for f in fields)
        + "\n"
    )


def to_csv(frame: pd.DataFrame) -> bytes:
    """Reports and rejected rows are written the same way: UTF-8, header, LF, RFC 4180 quoting."""
    header = csv_line([str(c) for c in frame.columns]).encode("utf-8")
    if len(frame) == 0:
        return header
    return b"".join([header, _string_data(_lines([_as_text(frame[c]) for c in frame.columns]))])


def _lines(columns: list[pa.Array]) -> pa.Array:
    """Each row of these text columns as one CSV line (as `csv_line` writes it)."""
    parts: list[Any] = []
    for column in columns:
        parts += [_csv_field(column), ","]
    parts[-1] = "\n"
    return _join(*parts)


def _as_text(column: pd.Series) -> pa.Array:
    """A report column as large strings (str() of each value)."""
    if column.dtype == object:
        values: pa.Array = pa.array([str(v) for v in column], pa.large_string())
        return values
    values = pa.array(column)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    result: pa.Array = values.cast(pa.large_string())
    return result

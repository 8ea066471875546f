"""The report engine: one orders CSV in, three reports out, exactly, in bounded memory.

`app.orders_csv.reader` cuts the stream into runs of whole records (checked as UTF-8 text, quotes
matched, every record accounted for) that pyarrow parses; each batch is decoded (labels
trimmed and NFC-normalised, amounts parsed exactly by `money`), validated, and folded into
exact per-group totals, while what `orders` needs (a hash of the order id and the line's group
codes, 20 bytes a line) is spilled to the caller's work directory by hash partition and
counted one partition at a time. Rejected rows are streamed to a CSV file there too. Memory
therefore grows with the number of distinct labels, never with the number of rows. Parsing
and decoding run on one thread per core, a few runs ahead, handed back in file order; reading
and folding run on the caller's thread (pyarrow and numpy release the GIL), so the cores share
the work (every thread costs memory: its allocator's arena). No AWS here: the caller hands in
a binary stream (only `read(n)`).
"""

from __future__ import annotations

import csv
import io
import os
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
from app.core.inflight import in_flight
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
    ids = column if _printable_edges(column) else pc.utf8_trim_whitespace(column)
    if not pc.all(pc.string_is_ascii(ids)).as_py():  # ASCII is always in NFC
        encoded = pc.dictionary_encode(ids)
        texts = [unicodedata.normalize("NFC", t) for t in encoded.dictionary.to_pylist()]
        ids = pa.array(texts, pa.string()).take(encoded.indices)
    empty = pc.equal(pc.binary_length(ids), 0).to_numpy(zero_copy_only=False)
    return _hash_texts(ids), empty


def _printable_edges(texts: pa.Array) -> bool:
    """Whether every string starts and ends with a printable ASCII character other than a
    space (or is empty): then trimming whitespace changes nothing, and is skipped."""
    n = len(texts)
    if n == 0 or texts.null_count or texts.buffers()[2] is None:
        return False
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset : texts.offset + n + 1]
    data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    if not filled.all():
        starts, ends = starts[filled], ends[filled]
    edges = np.concatenate([data[starts], data[ends - 1]])
    return bool(((edges > 0x20) & (edges < 0x7F)).all())


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
    every = bool(short.all())
    if n and (lengths if every else lengths[short]).max(initial=0) > 0:
        starts, sizes = (offsets[:-1], lengths) if every else (offsets[:-1][short], lengths[short])
        width = -(-int(sizes.max()) // 8) * 8
        data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)
        data = np.concatenate([data[: offsets[-1]], np.zeros(width, dtype=np.uint8)])
        padded = np.lib.stride_tricks.sliding_window_view(data, width)[starts]
        padded *= np.arange(width)[None, :] < sizes[:, None]  # zero the bytes past the end
        words = padded.view(np.uint64)
        count = -(-sizes // 8)  # each string's own number of words: mixed that many times
        mixed = hashes if every else hashes[short]
        for j in range(words.shape[1]):
            step = (mixed ^ words[:, j]) * _MIX
            step ^= step >> np.uint64(31)
            step *= _GOLDEN
            step ^= step >> np.uint64(29)
            mixed = step if (j < count).all() else np.where(j < count, step, mixed)
        if every:
            hashes = mixed
        else:
            hashes[short] = mixed
    if not every:
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

    The rows that break a rule are formatted in pyarrow, column by column, and written as
    one block, a few runs' worth at a time (at most PENDING_ROWS rows or PENDING_BYTES of
    fields wait): Python never loops over them (only over the rare values whose repr needs
    escapes, and over records with the wrong number of fields).
    """

    PENDING_ROWS = 4096
    PENDING_BYTES = 4 << 20

    def __init__(self, path: Path, names: list[str], positions: list[int], width: int) -> None:
        self.path = path
        self.names = names  # the file's own names of the required columns
        self.positions = positions  # their positions in the header
        self.width = width  # the header's number of fields
        self.count = 0
        self._file: IO[bytes] | None = None
        self._pending: list[_RejectedRows] = []
        self._pending_rows = 0
        self._pending_bytes = 0

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
        found: _RejectedRows | None = None
        if batch.raw is not None and problems:
            idx = np.flatnonzero(np.logical_or.reduce(list(problems.values())))
            if len(idx):
                found = _RejectedRows.of(batch, problems, idx, numbers[idx])
                self.count += len(idx)
        if not batch.bad:
            if found is not None:
                self._pending.append(found)
                self._pending_rows += found.rows.num_rows
                self._pending_bytes += found.rows.nbytes
                if (
                    self._pending_rows >= self.PENDING_ROWS
                    or self._pending_bytes >= self.PENDING_BYTES
                ):
                    self.flush()
            return
        self.flush()  # what waits comes first in the file
        lines = found.lines() if found is not None else None
        rows = [
            (first + r.number - 1, csv_line([str(first + r.number - 1), *self._malformed(r)]))
            for r in batch.bad
        ]
        self.count += len(rows)
        if lines is not None and found is not None:
            rows += zip(found.numbers.tolist(), lines.to_pylist(), strict=True)
            rows.sort(key=lambda r: r[0])
        self._open().write("".join(line for _, line in rows).encode("utf-8"))

    def flush(self) -> None:
        """Write the rows that wait."""
        if not self._pending:
            return
        pending = _RejectedRows.join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        self._open().write(_string_data(pending.lines()))

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


@dataclass
class _RejectedRows:
    """Rejected rows of one or more runs: their required fields, which rules each breaks,
    which amounts are out of range, and their record numbers."""

    rows: pa.RecordBatch
    broken: dict[str, np.ndarray]  # rule -> the rows that break it
    wide: dict[str, np.ndarray]  # number column -> the rows where it is OUT_OF_RANGE
    numbers: np.ndarray

    @staticmethod
    def of(
        batch: _Batch, problems: dict[str, np.ndarray], idx: np.ndarray, numbers: np.ndarray
    ) -> _RejectedRows:
        """The given rows of a batch (`numbers`: their record numbers)."""
        assert batch.raw is not None
        return _RejectedRows(
            rows=batch.raw.take(pa.array(idx)),
            broken={name: mask[idx] for name, mask in problems.items()},
            wide={n: batch.numbers[n].status[idx] == money.OUT_OF_RANGE for n in _NOT},
            numbers=numbers,
        )

    @staticmethod
    def join(parts: list[_RejectedRows]) -> _RejectedRows:
        return _RejectedRows(
            rows=pa.Table.from_batches([p.rows for p in parts]).combine_chunks().to_batches()[0],
            broken={n: np.concatenate([p.broken[n] for p in parts]) for n in parts[0].broken},
            wide={n: np.concatenate([p.wide[n] for p in parts]) for n in parts[0].wide},
            numbers=np.concatenate([p.numbers for p in parts]),
        )

    def lines(self) -> pa.Array:
        """The CSV lines (row, reason, the required fields)."""
        rows = self.rows
        null = pa.scalar(None, pa.string())
        reasons = []
        for name, broken in self.broken.items():
            if not broken.any():
                continue
            if name in _EMPTY:
                reason = pc.if_else(pa.array(broken), pa.scalar(_EMPTY[name]), null)
            else:
                text = _join(
                    f"{name} ",
                    _repr(rows.column(name)),
                    " ",
                    pc.if_else(pa.array(self.wide[name]), _OUT_OF_RANGE, _NOT[name]),
                )
                reason = pc.if_else(pa.array(broken), text, null)
            reasons.append(reason)
        reason_text = pc.binary_join_element_wise(*reasons, "; ", null_handling="skip")
        fields = [pa.array(self.numbers).cast(pa.string()), reason_text]
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
_PARTITION_BITS = 6  # spill partitions: one per value of the order hash's top 6 bits


class _DistinctOrders:
    """How many distinct orders each group has, for all four sets, in flat memory.

    Each line becomes one 20-byte record: a 64-bit hash of its order id and its region,
    (category, sub_category) and (category, ship mode) codes (-1 for an unknown ship mode),
    from which all four sets follow. Records are spilled to PARTITIONS files by the hash's top
    bits, so every line of an order lands in the same partition; at the end each partition is
    read on its own and, per set, each (order, group) becomes a 64-bit key (the hash mixed with
    the group: two different pairs share a key with probability about n^2 / 2^65, 1e-6 at ten
    million pairs) that is deduplicated. Memory holds one partition, not the file, and does not
    grow with it.
    """

    PARTITIONS = 1 << _PARTITION_BITS
    FLUSH = 1 << 17  # records buffered in memory (2.5 MiB) before a write to the partitions
    RECORD = np.dtype([("order", "<u8"), ("region", "<i4"), ("pair", "<i4"), ("ship", "<i4")])
    _BYTES = np.dtype((np.void, RECORD.itemsize))  # the same, as opaque bytes: fast to move

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.files = [open(directory / f"p{i:02d}.rec", "wb") for i in range(self.PARTITIONS)]  # noqa: SIM115
        self.pending: list[np.ndarray] = []
        self.buffered = 0

    def add(
        self, order: np.ndarray, region: np.ndarray, pair: np.ndarray, ship_pair: np.ndarray
    ) -> None:
        """One record per line (codes < 2^31: rows bound them)."""
        if len(order) == 0:
            return
        records = np.empty(len(order), dtype=self.RECORD)
        records["order"] = order
        records["region"] = region
        records["pair"] = pair
        records["ship"] = ship_pair
        self.pending.append(records.view(self._BYTES))
        self.buffered += len(records)
        if self.buffered >= self.FLUSH:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        records = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
        self.pending, self.buffered = [], 0
        order = records.view(self.RECORD)["order"]
        part = (order >> np.uint64(64 - _PARTITION_BITS)).astype(np.uint8)
        records = records[np.argsort(part, kind="stable")]
        start = 0
        for i, end in enumerate(np.bincount(part, minlength=self.PARTITIONS).cumsum()):
            if end > start:
                records[start:end].tofile(self.files[i])
            start = end

    def counts(self, category_of_pair: np.ndarray, workers: int = 1) -> list[np.ndarray]:
        """Distinct orders per group of each set (indexed by _REGION...); removes the spill
        files. Partitions are counted on `workers` threads (numpy's sort releases the GIL)."""
        self._flush()
        for file in self.files:
            file.close()

        def count(path: str) -> list[tuple[np.ndarray, np.ndarray]]:
            records = np.fromfile(path, dtype=self.RECORD)
            Path(path).unlink()
            return _partition_counts(records, category_of_pair)

        totals = [np.zeros(0, dtype=np.int64) for _ in range(SETS)]
        paths = iter([f.name for f in self.files])
        for found in _ordered_map(count, paths, workers):  # a few partitions in memory
            for which, (groups, counts) in enumerate(found):
                totals[which] = _add_counts(totals[which], groups, counts)
        return totals

    def close(self) -> None:
        for f in self.files:
            f.close()


def _partition_counts(
    records: np.ndarray, category_of_pair: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Distinct orders per group of each set, in one partition's records."""
    order, ship, pair = records["order"], records["ship"], records["pair"]
    known = ship >= 0
    every = None if known.all() else known
    found = []
    for groups, rows in (
        (records["region"], None),  # _REGION
        (pair, None),  # _CATEGORY_SUB
        (ship, every),  # _CATEGORY_SHIP
        (category_of_pair[pair], every),  # _CATEGORY
    ):
        keys, codes = (order, groups) if rows is None else (order[rows], groups[rows])
        found.append(_distinct_per_group(keys, codes))
    return found


def _distinct_per_group(order: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The group codes present among (order hash, code) pairs of one partition (whose hashes
    share their top _PARTITION_BITS bits) and how many distinct order hashes each has."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    top = int(codes.max())
    if top < 1 << _PARTITION_BITS:
        # Few groups: the code takes the place of the partition bits (the same in every hash
        # here), so the key keeps all of the hash's other bits, and one sort (which releases
        # the GIL) finds the distinct (order, group) pairs.
        key = (order << np.uint64(_PARTITION_BITS)) | codes.astype(np.uint64)
        key.sort()
        first = np.empty(len(key), dtype=bool)
        first[0] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        mask = np.uint64((1 << _PARTITION_BITS) - 1)
        counts = np.bincount((key[first] & mask).astype(np.intp), minlength=top + 1)
        return np.arange(top + 1), counts
    # Many groups: each pair as the hash mixed with its group, deduplicated in a hash table.
    key = order ^ ((codes.astype(np.uint64) + np.uint64(1)) * _GOLDEN)
    # A partition keeps file order, and an order's lines are usually adjacent: drop those
    # repeats cheaply before the hash table sees them.
    adjacent = np.empty(len(key), dtype=bool)
    adjacent[0] = True
    np.not_equal(key[1:], key[:-1], out=adjacent[1:])
    key, codes = key[adjacent], codes[adjacent]
    unique = ~pd.Series(key).duplicated().to_numpy()
    groups, counts = np.unique(codes[unique], return_counts=True)  # memory as groups present
    return groups, counts


def _add_counts(total: np.ndarray, groups: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """total (grown with zeros as needed) with counts added at the (distinct) groups."""
    if len(groups) and int(groups[-1]) >= len(total):
        grow = max(int(groups[-1]) + 1, 2 * len(total)) - len(total)
        total = np.concatenate([total, np.zeros(grow, dtype=np.int64)])
    total[groups] += counts
    return total


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
        self._counts: list[np.ndarray] | None = None

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
        if known.all():
            ship_pair = self.category_ship.encode_pairs(category, ship_code)
        else:
            ship_pair = np.full(len(pair), -1, dtype=np.int64)
            ship_pair[known] = self.category_ship.encode_pairs(category[known], ship_code[known])
        self.line_items = _count(self.line_items, pair, len(self.category_sub))
        self.orders.add(order, region, pair, ship_pair)

    def distinct(self, which: int, size: int) -> np.ndarray:
        if self._counts is None:
            pairs = self.category_sub.labels()
            category_of_pair = np.array([c for c, _ in pairs], dtype=np.int64)
            self._counts = self.orders.counts(category_of_pair, _workers())
        counts = self._counts[which]
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
U = TypeVar("U")


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


def _workers() -> int:
    """Threads that parse and decode runs side by side: one per core this process may use,
    at most 3 (the reader and the fold are one thread each, and keep up with about that)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 3))


def _ordered_map(work: Callable[[T], U], items: Iterator[T], workers: int) -> Iterator[U]:
    """work(item) for each item, run on `workers` threads, yielded in the items' order, with
    at most `workers + 1` items in flight (memory stays bounded). With one worker, work runs
    on one thread of its own, one item ahead of the consumer. An exception in `work` or in
    `items` is raised in the consumer, in the items' order."""
    if workers <= 1:
        yield from _ahead((work(item) for item in items), depth=1)
        return
    yield from in_flight(work, items, workers + 1, "orders-parse", threads=workers)


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
    width = len(header)

    def parse(chunk: csv_reader.Chunk) -> _Batch:
        return _decode(csv_reader.parse_chunk(chunk, width, include))

    try:
        for batch in _ordered_map(parse, reader.chunks(), _workers()):
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
        rejected.flush()
        # The parse threads' allocator caches hold memory the reports can use: hand it back.
        pa.default_memory_pool().release_unused()
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

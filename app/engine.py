"""The report engine: one orders CSV in, three reports out, in bounded memory.

The CSV is parsed by pyarrow in 1 MiB record batches; each batch is decoded, validated and
folded into partial aggregates (sums and counts per group), while the distinct (group, order)
keys that `orders` needs are spilled to a temporary directory by hash partition (about 35 bytes
a row) and counted one partition at a time. Memory therefore stays flat as files grow. Parsing,
decoding and folding overlap on two threads. No AWS here: the caller hands in a binary stream.
"""

from __future__ import annotations

import csv
import io
import queue
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from app.errors import FileError

CANONICAL_COLUMNS = (
    "order_id",
    "order_date",
    "ship_mode",
    "segment",
    "country",
    "city",
    "state",
    "postal_code",
    "region",
    "category",
    "sub_category",
    "product_id",
    "cost_price",
    "list_price",
    "quantity",
    "discount_percent",
)
REQUIRED_COLUMNS = (
    "order_id",
    "ship_mode",
    "region",
    "category",
    "sub_category",
    "cost_price",
    "list_price",
    "quantity",
    "discount_percent",
)
NUMBER_COLUMNS = ("cost_price", "list_price", "quantity", "discount_percent")
UNKNOWN_SHIP_MODES = frozenset({"not available", "unknown", ""})

REPORT_COLUMNS = {
    "most_profitable_region": ["rank", "region", "profit", "revenue", "orders"],
    "top_ship_mode_by_category": ["category", "ship_mode", "orders", "share"],
    "orders_by_category": ["category", "sub_category", "orders", "line_items"],
}

BLOCK_SIZE = 1 << 20  # CSV bytes per batch: pyarrow's parse buffers grow with it
_HEADER_PROBE = 1 << 16
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def normalise_header(name: str) -> str:
    """`Sub Category`, `sub-category` and ` SUB_CATEGORY ` all become `sub_category`."""
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


@dataclass
class Result:
    """What one file produced: the three reports as pandas frames, and the rows it rejected."""

    reports: dict[str, pd.DataFrame]
    rejected: pd.DataFrame
    rows_read: int
    rows_rejected: int
    bytes_read: int
    columns: dict[str, str]  # canonical name -> the file's own header


# --------------------------------------------------------------------------- reading


class _CountingReader(io.RawIOBase):
    """Replays the already-read header probe, then the rest of the stream, counting bytes."""

    def __init__(self, head: bytes, rest: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self._head = head
        self._rest = rest
        self._on_bytes = on_bytes
        self.total = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk, self._head = (
                (self._head, b"") if size < 0 else (self._head[:size], self._head[size:])
            )
        else:
            chunk = self._rest.read() if size < 0 else self._rest.read(size)
        self.total += len(chunk)
        if chunk:
            self._on_bytes(self.total)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _read_header(stream: IO[bytes]) -> tuple[list[str], bytes]:
    """Parse the header record ourselves, so that every column is read as text, by name."""
    head = b""
    while True:
        chunk = stream.read(_HEADER_PROBE)
        head += chunk
        end = _record_end(head)
        if end is not None or not chunk:
            break
    if not head:
        raise FileError("empty_file", "the file is empty (0 bytes)")
    if b"\x00" in head[:_HEADER_PROBE]:
        raise FileError("not_text", "this is a binary file, not a text CSV")
    try:
        text = head[: end if end is not None else len(head)].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError("invalid_encoding", "the header is not valid UTF-8 text") from exc
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise FileError("malformed_csv", f"the header is not well-formed CSV: {exc}") from exc
    if end is None:  # the header is the whole file: pyarrow wants its line ended
        head += b"\n"
    if not any(h.strip() for h in header):
        raise FileError("no_header", "the first line is empty: expected a header row")
    return header, head


def _record_end(data: bytes) -> int | None:
    """Offset just past the first record's line end (quotes may hold newlines), if seen."""
    start = 0
    while (newline := data.find(b"\n", start)) >= 0:
        if data.count(b'"', 0, newline) % 2 == 0:
            return newline + 1
        start = newline + 1
    return None


def _map_columns(header: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in header:
        name = normalise_header(raw)
        if name in REQUIRED_COLUMNS and name in found:
            raise FileError(
                "duplicate_column",
                f"column {name} appears twice in the header ({found[name]!r} and {raw!r})",
                column=name,
            )
        found.setdefault(name, raw)
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


@dataclass
class _Text:
    """A text column of one batch: per-row codes into the batch's distinct values (trimmed)."""

    codes: np.ndarray
    values: list[str]

    def per_row(self, flags: np.ndarray) -> np.ndarray:
        result: np.ndarray = flags[self.codes]
        return result


def _text(column: pa.Array) -> _Text:
    encoded = pc.dictionary_encode(column)
    values = pc.utf8_trim_whitespace(encoded.dictionary).to_pylist()
    return _Text(encoded.indices.to_numpy(zero_copy_only=False), values)


def _number(column: pa.Array) -> np.ndarray:
    """Text to float64, NaN where the text is not a plain decimal number."""
    try:
        parsed = pc.cast(column, pa.float64())  # the fast path: every value is a number
    except pa.ArrowInvalid:
        trimmed = pc.utf8_trim_whitespace(column)
        ok = pc.match_substring_regex(trimmed, _NUMBER)
        parsed = pc.cast(pc.if_else(ok, trimmed, pa.scalar(None, pa.string())), pa.float64())
    values: np.ndarray = parsed.to_numpy(zero_copy_only=False)
    return np.where(np.isfinite(values), values, np.nan)  # "nan" and "inf" are not amounts


@dataclass
class _Decoded:
    """One batch as the fold needs it: text as codes, numbers as floats, orders as hashes."""

    text: dict[str, _Text]
    numbers: dict[str, np.ndarray]
    orders: np.ndarray
    empty_order: np.ndarray


def _decode(raw: pa.RecordBatch, columns: dict[str, str]) -> tuple[pa.RecordBatch, _Decoded]:
    def column(name: str) -> pa.Array:
        return raw.column(columns[name])

    orders, empty_order = _order_hashes(column("order_id"))
    return raw, _Decoded(
        text={n: _text(column(n)) for n in ("region", "category", "sub_category", "ship_mode")},
        numbers={n: _number(column(n)) for n in NUMBER_COLUMNS},
        orders=orders,
        empty_order=empty_order,
    )


def _order_hashes(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the trimmed order ids (each distinct id of the batch hashed once)."""
    encoded = pc.dictionary_encode(column)
    ids = pc.utf8_trim_whitespace(encoded.dictionary)
    hashes = np.asarray(
        pd.util.hash_array(ids.to_numpy(zero_copy_only=False), categorize=False),
        dtype=np.uint64,
    )
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    empty = pc.equal(ids, "").to_numpy(zero_copy_only=False)
    return hashes[codes], empty[codes]


# --------------------------------------------------------------------------- validation

_REASONS = {
    "order_id": "order_id is empty",
    "region": "region is empty",
    "category": "category is empty",
    "sub_category": "sub_category is empty",
    "cost_price": "cost_price {value!r} is not a number >= 0",
    "list_price": "list_price {value!r} is not a number >= 0",
    "quantity": "quantity {value!r} is not a whole number >= 1",
    "discount_percent": "discount_percent {value!r} is not a number from 0 to 100",
}


def _problems(batch: _Decoded) -> dict[str, np.ndarray]:
    """Per rule of the row contract, the rows that break it (NaN never passes a comparison)."""
    text, num, empty_order = batch.text, batch.numbers, batch.empty_order
    qty = num["quantity"]
    with np.errstate(invalid="ignore"):
        problems = {
            "order_id": empty_order,
            **{
                name: text[name].per_row(np.array([v == "" for v in text[name].values]))
                for name in ("region", "category", "sub_category")
            },
            "cost_price": ~(num["cost_price"] >= 0),
            "list_price": ~(num["list_price"] >= 0),
            "quantity": ~((qty >= 1) & (qty == np.floor(qty))),
            "discount_percent": ~(
                (num["discount_percent"] >= 0) & (num["discount_percent"] <= 100)
            ),
        }
    return problems


class _Rejected:
    """Rejected rows with their reasons; only bad rows ever reach Python loops."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns
        self.records: list[dict[str, Any]] = []
        self.count = 0
        self.malformed: list[int] = []  # record numbers pyarrow skipped for a wrong field count
        self.positions: dict[str, int] = {}  # original column name -> position in the header

    def add_invalid(
        self, raw: pa.RecordBatch, problems: dict[str, np.ndarray], bad: np.ndarray, offset: int
    ) -> None:
        idx = np.flatnonzero(bad)
        for row, record in zip(idx, raw.take(pa.array(idx)).to_pylist(), strict=True):
            reasons = [
                _REASONS[name].format(value=record[self.columns[name]])
                for name, mask in problems.items()
                if mask[row]
            ]
            # "row" is the index among parsed records until frame() numbers it
            self.records.append({"row": int(row) + offset, "reason": "; ".join(reasons), **record})
        self.count += len(idx)

    def add_malformed(self, row: pacsv.InvalidRow) -> None:
        try:
            fields = next(csv.reader(io.StringIO(row.text, newline="")), [])
        except csv.Error:
            fields = [row.text]
        reason = f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text!r}"
        record: dict[str, Any] = {"row": -row.number, "reason": reason}  # negative: a number
        for name, position in self.positions.items():  # fields under their own columns
            record[name] = fields[position] if position < len(fields) else ""
        self.records.append(record)
        self.count += 1
        self.malformed.append(row.number)

    def frame(self) -> pd.DataFrame:
        """All rejected rows in file order; `row` is the record number, the header being 1."""
        columns = ["row", "reason", *self.columns.values()]
        if not self.records:
            return pd.DataFrame(columns=columns)
        frame = pd.DataFrame.from_records(self.records, columns=columns)
        skipped, shift, numbers = sorted(self.malformed), 0, []
        for index in frame["row"].astype(int):
            if index < 0:  # a malformed record: pyarrow told its number
                numbers.append(-index)
                continue
            while shift < len(skipped) and skipped[shift] <= index + 2 + shift:
                shift += 1  # well-formed records after a skipped one move down a line
            numbers.append(index + 2 + shift)
        frame["row"] = numbers
        return frame.sort_values("row", kind="stable").fillna("").astype({"row": str})


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
        if len(left) == 0:
            return np.empty(0, dtype=np.int64)
        width = int(right.max()) + 1
        combined = left * width + right  # both are small codes: a direct table, no sort
        seen = np.zeros(int(combined.max()) + 1, dtype=bool)
        seen[combined] = True
        table = np.full(len(seen), -1, dtype=np.int64)
        for p in np.flatnonzero(seen):
            table[p] = self.codes.setdefault(divmod(int(p), width), len(self.codes))
        codes: np.ndarray = table[combined]
        return codes


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
        """Distinct orders per tagged group (group * SETS + set)."""
        self._flush()
        total = np.zeros(self.max_group + 1, dtype=np.int64)
        for key_file, group_file in zip(self.keys, self.groups, strict=True):
            key_file.close()
            group_file.close()
            keys = np.fromfile(key_file.name, dtype=np.uint64)
            groups = np.fromfile(group_file.name, dtype=np.int32)
            unique = ~pd.Series(keys).duplicated().to_numpy()
            total += np.bincount(groups[unique], minlength=len(total))
        return total


class _Accumulator:
    def __init__(self, spill: Path) -> None:
        self.regions = _Interner()
        self.categories = _Interner()
        self.sub_categories = _Interner()
        self.ship_modes = _Interner()
        self.category_sub = _Interner()  # (category, sub_category)
        self.category_ship = _Interner()  # (category, ship_mode)
        self.profit = np.zeros(0)
        self.revenue = np.zeros(0)
        self.line_items = np.zeros(0, dtype=np.int64)
        self.orders = _DistinctOrders(spill)
        self._counts: np.ndarray | None = None

    def fold(self, batch: _Decoded, good: np.ndarray | None) -> None:
        text, num = batch.text, batch.numbers

        def rows(values: np.ndarray) -> np.ndarray:
            return values if good is None else values[good]

        region = self.regions.encode(text["region"], good)
        category = self.categories.encode(text["category"], good)
        sub = self.sub_categories.encode(text["sub_category"], good)
        ship = text["ship_mode"]
        known = rows(
            ship.per_row(np.array([v.lower() not in UNKNOWN_SHIP_MODES for v in ship.values]))
        )
        ship_code = self.ship_modes.encode(ship, good)
        order = rows(batch.orders)
        price, disc = rows(num["list_price"]), rows(num["discount_percent"])
        cost, qty = rows(num["cost_price"]), rows(num["quantity"])
        net = price * (1 - disc / 100)

        pair = self.category_sub.encode_pairs(category, sub)
        ship_pair = self.category_ship.encode_pairs(category[known], ship_code[known])
        self.profit = _add(self.profit, region, (net - cost) * qty, len(self.regions))
        self.revenue = _add(self.revenue, region, net * qty, len(self.regions))
        self.line_items = _add(self.line_items, pair, None, len(self.category_sub))
        self.orders.add(_REGION, order, region)
        self.orders.add(_CATEGORY_SUB, order, pair)
        self.orders.add(_CATEGORY_SHIP, order[known], ship_pair)
        self.orders.add(_CATEGORY, order[known], category[known])

    def distinct(self, which: int, size: int) -> np.ndarray:
        if self._counts is None:
            self._counts = self.orders.counts()
        counts = self._counts[which::SETS]
        return np.concatenate([counts, np.zeros(max(0, size - len(counts)), dtype=np.int64)])[:size]


def _add(total: np.ndarray, codes: np.ndarray, weights: Any, size: int) -> np.ndarray:
    part = np.bincount(codes, weights=weights, minlength=size).astype(total.dtype)
    if len(total) < size:
        total = np.concatenate([total, np.zeros(size - len(total), dtype=total.dtype)])
    total[: len(part)] += part
    return total


# --------------------------------------------------------------------------- the engine


def _batches(
    stream: IO[bytes], columns: dict[str, str], rejected: _Rejected, on_bytes: Callable[[int], None]
) -> tuple[Iterator[pa.RecordBatch], _CountingReader]:
    header, head = _read_header(stream)
    reader = _CountingReader(head, stream, on_bytes)
    columns.update(_map_columns(header))
    rejected.positions = {name: header.index(name) for name in columns.values()}

    def on_invalid(row: pacsv.InvalidRow) -> str:
        rejected.add_malformed(row)
        return "skip"

    originals = list(columns.values())
    try:
        csv_reader = pacsv.open_csv(
            reader,
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=False),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in originals},
                include_columns=originals,
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _file_error(exc) from exc
    return _read(csv_reader), reader


def _read(csv_reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield csv_reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise _file_error(exc) from exc


T = TypeVar("T")


def _ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run `items` on a thread of its own, up to `depth` items ahead of the consumer.

    Stages chained this way (parse, then decode, then fold) overlap on two cores: pyarrow and
    most numpy kernels release the GIL. An exception in a stage is raised in the consumer.
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


def _file_error(exc: pa.ArrowInvalid) -> FileError:
    text = str(exc)
    if any(sign in text for sign in ("UTF8", "UTF-8", "utf-8", "can't decode", "\ufffd")):
        return FileError("invalid_encoding", "the file is not valid UTF-8 text", detail=text)
    return FileError("malformed_csv", f"the file is not a well-formed CSV: {text}", detail=text)


def run(stream: IO[bytes], on_bytes: Callable[[int], None] | None = None) -> Result:
    """Fold a whole orders CSV into the three reports; raise FileError for a bad file."""
    columns: dict[str, str] = {}
    rejected = _Rejected(columns)
    with tempfile.TemporaryDirectory(prefix="orders-pipeline-") as spill:
        acc = _Accumulator(Path(spill))
        batches, reader = _batches(stream, columns, rejected, on_bytes or (lambda _n: None))
        rows = 0
        for raw, batch in _ahead(_decode(raw, columns) for raw in _ahead(batches)):
            offset = rows
            rows += raw.num_rows
            problems = _problems(batch)
            bad = np.logical_or.reduce(list(problems.values()))
            good = None
            if bad.any():
                rejected.add_invalid(raw, problems, bad, offset)
                good = ~bad
                if not good.any():
                    continue
            acc.fold(batch, good)
        reports = _finish(acc)
    return Result(
        reports=reports,
        rejected=rejected.frame(),
        rows_read=rows + len(rejected.malformed),
        rows_rejected=rejected.count,
        bytes_read=reader.total,
        columns=dict(columns),
    )


# --------------------------------------------------------------------------- finishing


def _money_text(values: Any) -> list[str]:
    return [f"{v:.2f}" for v in np.round(np.asarray(values, dtype=float), 2) + 0.0]


def _finish(acc: _Accumulator) -> dict[str, pd.DataFrame]:
    return {
        "most_profitable_region": _regions(acc),
        "top_ship_mode_by_category": _ship_modes(acc),
        "orders_by_category": _categories(acc),
    }


def _regions(acc: _Accumulator) -> pd.DataFrame:
    n = len(acc.regions)
    frame = pd.DataFrame(
        {
            "region": acc.regions.labels(),
            "profit": np.round(acc.profit[:n], 2) + 0.0,
            "revenue": acc.revenue[:n],
            "orders": acc.distinct(_REGION, n),
        }
    )
    frame = frame.sort_values(["profit", "region"], ascending=[False, True], kind="stable")
    frame.insert(0, "rank", frame["profit"].rank(method="min", ascending=False).astype(int))
    frame["profit"] = _money_text(frame["profit"])
    frame["revenue"] = _money_text(frame["revenue"])
    return frame.reset_index(drop=True)[REPORT_COLUMNS["most_profitable_region"]]


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
    top["share"] = [f"{v:.4f}" for v in top["orders"] / top["known"]]
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


def to_csv(frame: pd.DataFrame) -> bytes:
    """Reports and rejected rows are written the same way: UTF-8, header, LF, RFC 4180 quoting."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")

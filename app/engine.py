"""The report engine: one orders CSV in, three reports out, in bounded memory.

The CSV is parsed by pyarrow in bounded record batches; each batch is validated and folded
into partial aggregates (sums and counts per group, plus the distinct (group, order) keys that
`orders` needs). Memory therefore grows only with that distinct-order bookkeeping, never with
the rows themselves. No AWS here: the caller hands in a readable binary stream.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

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
UNKNOWN_SHIP_MODES = frozenset({"not available", "unknown", ""})

REPORT_COLUMNS = {
    "most_profitable_region": ["rank", "region", "profit", "revenue", "orders"],
    "top_ship_mode_by_category": ["category", "ship_mode", "orders", "share"],
    "orders_by_category": ["category", "sub_category", "orders", "line_items"],
}

BLOCK_SIZE = 8 << 20  # bytes of CSV per record batch: bounds memory, amortises per-batch cost
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
    header = next(csv.reader(io.StringIO(text)), [])
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


# --------------------------------------------------------------------------- folding


class _Interner:
    """Gives each distinct group label (or tuple of label codes) a stable small integer."""

    def __init__(self) -> None:
        self.codes: dict[Any, int] = {}

    def __len__(self) -> int:
        return len(self.codes)

    def labels(self) -> list[Any]:
        return list(self.codes)

    def encode_strings(self, values: pa.Array) -> np.ndarray:
        encoded = (
            pc.dictionary_encode(values).combine_chunks()
            if isinstance(values, pa.ChunkedArray)
            else pc.dictionary_encode(values)
        )
        lookup = np.array(
            [self.codes.setdefault(v, len(self.codes)) for v in encoded.dictionary.to_pylist()],
            dtype=np.int64,
        )
        codes: np.ndarray = lookup[encoded.indices.to_numpy(zero_copy_only=False)]
        return codes

    def encode_pairs(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if len(left) == 0:
            return np.empty(0, dtype=np.int64)
        width = int(right.max()) + 1
        pairs, inverse = np.unique(left * width + right, return_inverse=True)
        lookup = np.array(
            [self.codes.setdefault(divmod(int(p), width), len(self.codes)) for p in pairs],
            dtype=np.int64,
        )
        return lookup[inverse]


@dataclass
class _DistinctOrders:
    """Exact-per-hash distinct (group, order) bookkeeping in 12 bytes a pair.

    Keys are 64-bit hashes of (order_id, group): two different pairs share one with probability
    about n^2 / 2^65 (1e-6 at ten million pairs). Batches are appended and compacted with
    np.unique once they outgrow the compacted set, so total work stays O(n log n).
    """

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    groups: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    pending_keys: list[np.ndarray] = field(default_factory=list)
    pending_groups: list[np.ndarray] = field(default_factory=list)
    pending: int = 0

    def add(self, order_hash: np.ndarray, group: np.ndarray) -> None:
        key = order_hash ^ ((group.astype(np.uint64) + np.uint64(1)) * _GOLDEN)
        if len(key) > 1:  # an order's line items are usually adjacent: drop repeats cheaply
            keep = np.empty(len(key), dtype=bool)
            keep[0] = True
            np.not_equal(key[1:], key[:-1], out=keep[1:])
            key, group = key[keep], group[keep]
        self.pending_keys.append(key)
        self.pending_groups.append(group)
        self.pending += len(key)
        if self.pending > max(len(self.keys), 1 << 20):
            self._compact()

    def _compact(self) -> None:
        if not self.pending:
            return
        keys = np.concatenate([self.keys, *self.pending_keys])
        groups = np.concatenate([self.groups, *self.pending_groups])
        self.pending_keys, self.pending_groups, self.pending = [], [], 0
        self.keys, first = np.unique(keys, return_index=True)
        self.groups = groups[first]

    def counts(self, n_groups: int) -> np.ndarray:
        self._compact()
        return np.bincount(self.groups, minlength=n_groups)[:n_groups]


class _Accumulator:
    def __init__(self) -> None:
        self.regions = _Interner()
        self.categories = _Interner()
        self.sub_categories = _Interner()
        self.ship_modes = _Interner()
        self.category_sub = _Interner()  # (category, sub_category)
        self.category_ship = _Interner()  # (category, ship_mode)
        self.profit = np.zeros(0)
        self.revenue = np.zeros(0)
        self.line_items = np.zeros(0, dtype=np.int64)
        self.region_orders = _DistinctOrders()
        self.category_sub_orders = _DistinctOrders()
        self.category_ship_orders = _DistinctOrders()
        self.category_known_orders = _DistinctOrders()

    def fold(self, batch: dict[str, Any]) -> None:
        region = self.regions.encode_strings(batch["region"])
        category = self.categories.encode_strings(batch["category"])
        sub = self.sub_categories.encode_strings(batch["sub_category"])
        pair = self.category_sub.encode_pairs(category, sub)
        order_hash = _hash_strings(batch["order_id"])

        self.profit = _add(self.profit, region, batch["profit"], len(self.regions))
        self.revenue = _add(self.revenue, region, batch["revenue"], len(self.regions))
        self.line_items = _add(self.line_items, pair, None, len(self.category_sub))
        self.region_orders.add(order_hash, region)
        self.category_sub_orders.add(order_hash, pair)

        known = batch["ship_known"]
        ship = self.ship_modes.encode_strings(batch["ship_mode"].filter(pa.array(known)))
        ship_pair = self.category_ship.encode_pairs(category[known], ship)
        self.category_ship_orders.add(order_hash[known], ship_pair)
        self.category_known_orders.add(order_hash[known], category[known])


def _add(total: np.ndarray, codes: np.ndarray, weights: Any, size: int) -> np.ndarray:
    part = np.bincount(codes, weights=weights, minlength=size).astype(total.dtype)
    if len(total) < size:
        total = np.concatenate([total, np.zeros(size - len(total), dtype=total.dtype)])
    total[: len(part)] += part
    return total


def _hash_strings(values: pa.Array) -> np.ndarray:
    """64-bit hashes of strings: each distinct value of the batch is hashed once."""
    encoded = pc.dictionary_encode(values)
    hashes = np.asarray(pd.util.hash_array(encoded.dictionary.to_numpy(zero_copy_only=False)))
    per_row: np.ndarray = hashes[encoded.indices.to_numpy(zero_copy_only=False)]
    return per_row


# --------------------------------------------------------------------------- validation


def _number(values: pa.Array) -> pa.Array:
    """Text to float64; null where the text is not a plain decimal number."""
    ok = pc.match_substring_regex(values, _NUMBER)
    return pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.string())), pa.float64())


def _rules(cols: dict[str, pa.Array]) -> list[tuple[str, pa.Array]]:
    """(column, bad-mask) for every rule of the row contract, in the contract's order."""
    cost, price = _number(cols["cost_price"]), _number(cols["list_price"])
    qty, disc = _number(cols["quantity"]), _number(cols["discount_percent"])

    def bad(valid: pa.Array) -> pa.Array:
        return pc.invert(pc.fill_null(valid, False))

    whole = pc.equal(qty, pc.floor(qty))
    return [
        ("order_id", pc.equal(cols["order_id"], "")),
        ("region", pc.equal(cols["region"], "")),
        ("category", pc.equal(cols["category"], "")),
        ("sub_category", pc.equal(cols["sub_category"], "")),
        ("cost_price", bad(pc.greater_equal(cost, 0))),
        ("list_price", bad(pc.greater_equal(price, 0))),
        ("quantity", bad(pc.and_(whole, pc.greater_equal(qty, 1)))),
        ("discount_percent", bad(pc.and_(pc.greater_equal(disc, 0), pc.less_equal(disc, 100)))),
    ]


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


class _Rejected:
    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns
        self.frames: list[pd.DataFrame] = []
        self.count = 0
        self.malformed = 0  # records pyarrow skipped for a wrong field count

    def add_invalid(
        self,
        raw: pa.RecordBatch,
        rules: list[tuple[str, pa.Array]],
        any_bad: pa.Array,
        first_row: int,
    ) -> None:
        idx = np.flatnonzero(any_bad.to_numpy(zero_copy_only=False))
        frame = raw.take(pa.array(idx)).to_pandas()
        masks = {name: mask.to_numpy(zero_copy_only=False)[idx] for name, mask in rules}
        reasons = []
        for i in range(len(idx)):
            parts = [
                _REASONS[name].format(value=frame.iloc[i][self.columns[name]])
                for name, _ in rules
                if masks[name][i]
            ]
            reasons.append("; ".join(parts))
        frame.insert(0, "reason", reasons)
        frame.insert(0, "row", (idx + first_row).astype(str))
        self.frames.append(frame)
        self.count += len(idx)

    def add_malformed(self, row: pacsv.InvalidRow) -> None:
        fields = next(csv.reader(io.StringIO(row.text)), [])
        names = list(self.columns.values())
        record = {
            "row": "",
            "reason": (
                f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text!r}"
            ),
        }
        record.update(dict(zip(names, fields, strict=False)))
        self.frames.append(pd.DataFrame([record]))
        self.count += 1
        self.malformed += 1

    def frame(self) -> pd.DataFrame:
        columns = ["row", "reason", *self.columns.values()]
        if not self.frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(self.frames, ignore_index=True).reindex(columns=columns).fillna("")


# --------------------------------------------------------------------------- the engine


def _batches(
    stream: IO[bytes], columns: dict[str, str], rejected: _Rejected, on_bytes: Callable[[int], None]
) -> tuple[Iterator[pa.RecordBatch], _CountingReader]:
    header, head = _read_header(stream)
    reader = _CountingReader(head, stream, on_bytes)
    columns.update(_map_columns(header))
    rejected.columns = columns

    def on_invalid(row: pacsv.InvalidRow) -> str:
        rejected.add_malformed(row)
        return "skip"

    originals = list(columns.values())
    try:
        csv_reader = pacsv.open_csv(
            reader,
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=True),
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
    return _guard(csv_reader), reader


def _guard(csv_reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = csv_reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise _file_error(exc) from exc
        yield batch


def _file_error(exc: pa.ArrowInvalid) -> FileError:
    text = str(exc)
    if "UTF8" in text or "UTF-8" in text:
        return FileError("invalid_encoding", "the file is not valid UTF-8 text", detail=text)
    return FileError("malformed_csv", f"the file is not a well-formed CSV: {text}", detail=text)


def run(stream: IO[bytes], on_bytes: Callable[[int], None] | None = None) -> Result:
    """Fold a whole orders CSV into the three reports; raise FileError for a bad file."""
    columns: dict[str, str] = {}
    rejected = _Rejected(columns)
    acc = _Accumulator()
    batches, reader = _batches(stream, columns, rejected, on_bytes or (lambda _n: None))
    rows = 0
    for raw in batches:
        first_row = rows + 2  # the header is row 1
        rows += raw.num_rows
        cols = {name: pc.utf8_trim_whitespace(raw.column(columns[name])) for name in columns}
        rules = _rules(cols)
        any_bad = rules[0][1]
        for _, mask in rules[1:]:
            any_bad = pc.or_(any_bad, mask)
        if pc.any(any_bad).as_py():
            rejected.add_invalid(raw, rules, any_bad, first_row)
            good = pc.invert(any_bad)
            cols = {name: col.filter(good) for name, col in cols.items()}
        if len(cols["order_id"]) == 0:
            continue
        acc.fold(_money(cols))
    return Result(
        reports=_finish(acc),
        rejected=rejected.frame(),
        rows_read=rows + rejected.malformed,
        rows_rejected=rejected.count,
        bytes_read=reader.total,
        columns=dict(columns),
    )


def _money(cols: dict[str, pa.Array]) -> dict[str, Any]:
    cost = _number(cols["cost_price"]).to_numpy(zero_copy_only=False)
    price = _number(cols["list_price"]).to_numpy(zero_copy_only=False)
    qty = _number(cols["quantity"]).to_numpy(zero_copy_only=False)
    disc = _number(cols["discount_percent"]).to_numpy(zero_copy_only=False)
    net = price * (1 - disc / 100)
    ship = cols["ship_mode"]
    known = ~np.isin(pc.utf8_lower(ship).to_numpy(zero_copy_only=False), list(UNKNOWN_SHIP_MODES))
    return {
        "order_id": cols["order_id"],
        "region": cols["region"],
        "category": cols["category"],
        "sub_category": cols["sub_category"],
        "ship_mode": ship,
        "ship_known": known,
        "revenue": net * qty,
        "profit": (net - cost) * qty,
    }


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
            "orders": acc.region_orders.counts(n),
        }
    )
    frame = frame.sort_values(["profit", "region"], ascending=[False, True], kind="stable")
    frame.insert(0, "rank", frame["profit"].rank(method="min", ascending=False).astype(int))
    frame["profit"] = _money_text(frame["profit"])
    frame["revenue"] = _money_text(frame["revenue"])
    return frame.reset_index(drop=True)[REPORT_COLUMNS["most_profitable_region"]]


def _ship_modes(acc: _Accumulator) -> pd.DataFrame:
    n = len(acc.category_ship)
    categories, modes = acc.categories.labels(), acc.ship_modes.labels()
    pairs = acc.category_ship.labels()
    frame = pd.DataFrame(
        {
            "category": [categories[c] for c, _ in pairs],
            "ship_mode": [modes[m] for _, m in pairs],
            "category_code": [c for c, _ in pairs],
            "orders": acc.category_ship_orders.counts(n),
        }
    )
    if n == 0:
        return pd.DataFrame(columns=REPORT_COLUMNS["top_ship_mode_by_category"])
    known = acc.category_known_orders.counts(len(acc.categories))
    frame["known"] = known[frame["category_code"].to_numpy(dtype=np.int64)]
    top = frame[frame["orders"] == frame.groupby("category")["orders"].transform("max")].copy()
    top["share"] = [f"{v:.4f}" for v in top["orders"] / top["known"]]
    top = top.sort_values(["category", "ship_mode"], kind="stable")
    return top.reset_index(drop=True)[REPORT_COLUMNS["top_ship_mode_by_category"]]


def _categories(acc: _Accumulator) -> pd.DataFrame:
    n = len(acc.category_sub)
    categories, subs = acc.categories.labels(), acc.sub_categories.labels()
    pairs = acc.category_sub.labels()
    frame = pd.DataFrame(
        {
            "category": [categories[c] for c, _ in pairs],
            "sub_category": [subs[s] for _, s in pairs],
            "orders": acc.category_sub_orders.counts(n),
            "line_items": acc.line_items[:n],
        }
    )
    frame = frame.sort_values(["category", "sub_category"], kind="stable")
    return frame.reset_index(drop=True)[REPORT_COLUMNS["orders_by_category"]]


def to_csv(frame: pd.DataFrame) -> bytes:
    """Reports and rejected rows are written the same way: UTF-8, header, LF, RFC 4180 quoting."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")

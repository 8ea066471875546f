"""The engine's parallel paths give exactly what the sequential path gives.

Runs are parsed and decoded on several threads (`engine._ordered_map`), rejected rows wait
to be written a few runs at a time, and the distinct orders are counted per spill partition on
several threads. Each is checked here against the plain sequential computation: on hostile
files (quoted fields with commas, quotes and line ends that fall on every run boundary, ragged
rows, CRLF, a BOM, invalid values) the reports, the counts and the rejected rows' CSV are byte
for byte the same.
"""

from __future__ import annotations

import csv
import io
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import FileError
from app.orders_csv import reader as csv_reader
from app.pipelines.reports import engine
from app.pipelines.reports.engine import REQUIRED_COLUMNS

HEADER = list(REQUIRED_COLUMNS)
Outcome = tuple[dict[str, bytes], int, int, int, bytes]


def run(data: bytes, workdir: Path, *, workers: int, block: int) -> Outcome:
    """engine.run with this many parse threads and this reader block size: the reports' CSV,
    rows read, rows rejected, bytes read and the rejected rows' CSV."""
    saved = (csv_reader.BLOCK_SIZE, engine._workers)
    csv_reader.BLOCK_SIZE = block
    engine._workers = lambda: workers  # type: ignore[assignment]
    try:
        result = engine.run(io.BytesIO(data), workdir=workdir)
    finally:
        csv_reader.BLOCK_SIZE, engine._workers = saved  # type: ignore[assignment]
    rejected = result.rejected_csv.read_bytes() if result.rejected_csv else b""
    reports = {name: engine.to_csv(frame) for name, frame in result.reports.items()}
    return reports, result.rows_read, result.rows_rejected, result.bytes_read, rejected


def sequential(data: bytes, workdir: Path) -> Outcome:
    """One thread, one run: the reference."""
    return run(data, workdir / "seq", workers=1, block=1 << 22)


# ----------------------------------------------------------------- hostile files

VALUES = {
    "order_id": ["O1", "O2", "CA-2024-00003", '#4,"x"', "O5\nsecond line", " O1 ", ""],
    "ship_mode": ["Same Day", "Standard Class", "unknown", "", "Not Available", 'a "b", c'],
    "region": ["East", "West", "Québec", "Que\u0301bec", "North,\r\nupper", ""],
    "category": ["Furniture", "Office Supplies", 'Garden "outdoor"', "x\ny"],
    "sub_category": ["Chairs", "Binders", "Two\nlines", "Paper, A4", ""],
    "cost_price": ["1", "2.50", "0", "n/a", "-5.00", "1e2", "0.123456", " 7"],
    "list_price": ["3", "4.25", "10.00", "", "99999999999999999999", "5."],
    "quantity": ["1", "2", "3", "2.5", "-1", "0"],
    "discount_percent": ["0", "10", "12.5", "150", "100"],
}


def hostile_rows(rng: random.Random, n: int) -> list[list[str]]:
    rows = []
    for _ in range(n):
        row = [rng.choice(VALUES[c]) for c in HEADER]
        kind = rng.random()
        if kind < 0.05:
            row = row[: rng.randrange(1, len(row))]  # too few fields
        elif kind < 0.1:
            row = [*row, "extra", '"q"']  # too many
        rows.append(row)
    return rows


def hostile_file(rows: list[list[str]], crlf: bool, bom: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["Order Id", *HEADER[1:]])
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def test_every_split_point_gives_the_sequential_result(tmp_path: Path) -> None:
    rng = random.Random(12)
    data = hostile_file(hostile_rows(rng, 60), crlf=True, bom=True)
    expected = sequential(data, tmp_path)
    assert expected[2] > 0 and expected[4]  # some rows rejected, some ragged
    for block in range(16, 400, 5):  # runs ending at ever other bytes, quoted line ends too
        workers = 2 + block % 2
        got = run(data, tmp_path / f"{block}", workers=workers, block=block)
        assert got == expected, (block, workers)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(0, 80),
    crlf=st.booleans(),
    bom=st.booleans(),
    workers=st.integers(1, 3),
    block=st.integers(16, 600),
)
def test_parallel_parse_equals_sequential(
    seed: int, n: int, crlf: bool, bom: bool, workers: int, block: int
) -> None:
    data = hostile_file(hostile_rows(random.Random(seed), n), crlf, bom)
    with tempfile.TemporaryDirectory() as work:
        expected = sequential(data, Path(work))
        got = run(data, Path(work) / "p", workers=workers, block=block)
    assert got == expected


def test_a_bad_file_fails_the_same_way_in_parallel(tmp_path: Path) -> None:
    rows = hostile_rows(random.Random(5), 200)
    data = hostile_file(rows, crlf=False, bom=False)
    data = data[: len(data) // 2] + b"\xff" + data[len(data) // 2 :]  # not UTF-8
    errors = []
    for workers, block in ((1, 1 << 22), (2, 64), (3, 200)):
        with pytest.raises(FileError) as caught:
            run(data, tmp_path / f"{workers}", workers=workers, block=block)
        errors.append((caught.value.code, caught.value.message))
    assert errors[0][0] == "invalid_encoding"
    assert errors.count(errors[0]) == len(errors)


# ----------------------------------------------------------------- the ordered map


def test_ordered_map_keeps_the_order_and_bounds_the_items_in_flight() -> None:
    started: list[int] = []
    lock = threading.Lock()
    most = 0
    consumed = 0

    def work(item: int) -> int:
        nonlocal most
        with lock:
            started.append(item)
            most = max(most, len(started) - consumed)
        time.sleep(random.random() / 500)
        return item * item

    results = []
    for value in engine._ordered_map(work, iter(range(60)), 3):
        results.append(value)
        consumed += 1
    assert results == [i * i for i in range(60)]
    assert most <= 3 + 1


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_ordered_map_raises_in_the_items_order(workers: int) -> None:
    def work(item: int) -> int:
        if item == 7:
            raise ValueError("seven")
        time.sleep(0.001 if item < 7 else 0)
        return item

    seen = []
    with pytest.raises(ValueError, match="seven"):
        for value in engine._ordered_map(work, iter(range(20)), workers):
            seen.append(value)
    assert seen == list(range(7))


@pytest.mark.parametrize("workers", [1, 2])
def test_ordered_map_raises_what_the_items_raise(workers: int) -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise FileError("bad", "the reader failed")

    seen = []
    with pytest.raises(FileError, match="the reader failed"):
        for value in engine._ordered_map(lambda i: i, items(), workers):
            seen.append(value)
    assert seen == list(range(5))


# ----------------------------------------------------------------- distinct orders


@pytest.mark.parametrize("groups", [1, 5, 63, 64, 5000])
def test_distinct_orders_per_group_equal_a_set_count(groups: int) -> None:
    rng = np.random.default_rng(groups)
    n = 20_000
    # One partition: every hash has the same top bits.
    top = np.uint64(rng.integers(0, 64)) << np.uint64(58)
    ids = rng.integers(0, 2**58, size=3000, dtype=np.uint64) | top
    order = ids[rng.integers(0, len(ids), size=n)]
    codes = rng.integers(0, groups, size=n).astype(np.int32)
    order[:50], codes[:50] = order[0], codes[0]  # adjacent repeats too
    found, counts = engine._distinct_per_group(order, codes)
    expected: dict[int, set[Any]] = {}
    for o, c in zip(order.tolist(), codes.tolist(), strict=True):
        expected.setdefault(c, set()).add(o)
    got = {int(g): int(k) for g, k in zip(found, counts, strict=True) if k}
    assert got == {g: len(s) for g, s in expected.items()}


@pytest.mark.parametrize("pending", [1, 3, 4096])
def test_rejected_rows_waiting_to_be_written_keep_the_file_order(
    tmp_path: Path, pending: int
) -> None:
    rows = hostile_rows(random.Random(8), 400)
    data = hostile_file(rows, crlf=False, bom=False)
    saved = engine._Rejected.PENDING_ROWS
    engine._Rejected.PENDING_ROWS = 1  # written as found: the order of the file
    try:
        expected = run(data, tmp_path / "one", workers=2, block=300)
        engine._Rejected.PENDING_ROWS = pending
        got = run(data, tmp_path / "many", workers=2, block=300)
    finally:
        engine._Rejected.PENDING_ROWS = saved
    assert got == expected
    numbers = [int(r[0]) for r in list(csv.reader(io.StringIO(got[4].decode("utf-8"))))[1:]]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers)) == got[2]

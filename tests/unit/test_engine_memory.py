"""Memory bounded by the file, in every dimension: what the engine holds (numpy arrays and
Python objects, as tracemalloc sees them) grows with the distinct labels, never with the
product of two label counts, and not with the number of rejected rows.

The full-size cases (1M rejected rows, 15,000 pairs, 1M regions; peak RSS) are in
`make bench` (benchmarks/memory_cases.py); these are small versions with generous bounds
that the old engine broke by a wide margin.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from app.pipelines.reports import engine
from app.pipelines.reports.engine import REQUIRED_COLUMNS

HEADER = ",".join(REQUIRED_COLUMNS)
MB = 1 << 20


def peak(lines: Iterator[str], workdir: Path) -> tuple[int, engine.Result]:
    data = (HEADER + "\n" + "".join(lines)).encode()
    tracemalloc.start()
    try:
        result = engine.run(io.BytesIO(data), workdir=workdir)
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_distinct_pairs_cost_memory_by_pair_not_by_the_product_of_labels(tmp_path: Path) -> None:
    # 5,000 categories, each with its own sub-category: 5,000 pairs whose codes span
    # 5,000 x 5,000. The old engine allocated a table of that product (225 MB here).
    n = 5000
    used, result = peak((f"O{i},Same Day,East,C{i},S{i},1,2,1,0\n" for i in range(n)), tmp_path)
    assert len(result.reports["orders_by_category"]) == n
    assert used < 40 * MB


def test_rejected_rows_are_streamed_to_disk_not_held(tmp_path: Path) -> None:
    # The old engine kept ~1.5 KB per rejected row (300 MB for these 200,000).
    n = 200_000
    used, result = peak((f"O{i},Same Day,East,F,C,1,n/a,1,0\n" for i in range(n)), tmp_path)
    assert (result.rows_read, result.rows_rejected) == (n, n)
    assert result.rejected_csv is not None and result.rejected_csv.parent == tmp_path
    with result.rejected_csv.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == n + 1
    assert rows[1] == [
        "2",
        "list_price 'n/a' is not a number >= 0",
        "O0",
        "Same Day",
        "East",
        "F",
        "C",
        "1",
        "n/a",
        "1",
        "0",
    ]
    assert used < 60 * MB  # about one run of records in flight, whatever the count


def test_spill_files_are_removed_and_only_the_rejected_csv_is_left(tmp_path: Path) -> None:
    lines = (f"O{i},Same Day,R{i % 7},F,C,1,{'x' if i % 5 == 0 else 2},1,0\n" for i in range(999))
    _, result = peak(lines, tmp_path)
    assert result.rows_rejected == 200
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [engine.REJECTED_FILE]

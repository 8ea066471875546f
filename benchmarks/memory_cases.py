"""Generated inputs that stress the engine's memory in one dimension each (issue 7, point 4).

    python -m benchmarks.memory_cases [--case NAME] [--rows N]   # writes the files, prints paths

- `rejected`: every row is rejected (a price that is not a number): rejected rows must be
  streamed to disk, not held (the engine used to keep ~1.5 KB of RAM per rejected row).
- `pairs`: 15,000 distinct (category, sub_category) pairs, each category with its own
  sub-category, so the label codes span 15,000 x 15,000 (a table of that product took GBs).
- `regions`: every row its own region: memory grows with the distinct labels, no more.

Rows are valid orders otherwise (16 columns as the sample), written with a fixed seed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.generate import DATA_DIR, HEADER

CASES_VERSION = 1
DEFAULT_ROWS = 1_000_000
PAIRS = 15_000
CHUNK = 200_000


def _frame(start: int, n: int, rng: np.random.Generator) -> pl.DataFrame:
    i = np.arange(start, start + n)
    cents = rng.integers(100, 100_000, size=n)
    return pl.DataFrame(
        {
            "Order Id": [f"CA-2026-{k // 3:07d}" for k in i],
            "Order Date": "2026-01-02",
            "Ship Mode": "Standard Class",
            "Segment": "Consumer",
            "Country": "United States",
            "City": "Springfield",
            "State": "Illinois",
            "Postal Code": "62701",
            "Region": "Central",
            "Category": "Office Supplies",
            "Sub Category": "Paper",
            "Product Id": "OFF-PA-10000001",
            "cost price": [f"{c * 3 // 4 // 100}.{c * 3 // 4 % 100:02d}" for c in cents],
            "List Price": [f"{c // 100}.{c % 100:02d}" for c in cents],
            "Quantity": "2",
            "Discount Percent": "10",
        }
    )


def _rejected(frame: pl.DataFrame, start: int) -> pl.DataFrame:
    return frame.with_columns(pl.lit("n/a").alias("List Price"))


def _pairs(frame: pl.DataFrame, start: int) -> pl.DataFrame:
    k = (np.arange(start, start + frame.height) % PAIRS).astype(np.int64)
    return frame.with_columns(
        pl.Series("Category", [f"Category {x:05d}" for x in k]),
        pl.Series("Sub Category", [f"Sub-category {x:05d}" for x in k]),
    )


def _regions(frame: pl.DataFrame, start: int) -> pl.DataFrame:
    k = np.arange(start, start + frame.height)
    return frame.with_columns(pl.Series("Region", [f"Region {x:07d}" for x in k]))


CASES: dict[str, tuple[str, Callable[[pl.DataFrame, int], pl.DataFrame]]] = {
    "rejected": ("every row rejected (list price `n/a`)", _rejected),
    "pairs": (f"{PAIRS:,} distinct (category, sub_category) pairs", _pairs),
    "regions": ("every row its own region", _regions),
}


def path(case: str, rows: int) -> Path:
    return DATA_DIR / f"memory-{case}-v{CASES_VERSION}-{rows}.csv"


def generate(case: str, rows: int = DEFAULT_ROWS) -> Path:
    """The cached file for a case, written (atomically) on first use."""
    out = path(case, rows)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shape = CASES[case][1]
    rng = np.random.default_rng(7)
    try:
        with tmp.open("wb") as f:
            for start in range(0, rows, CHUNK):
                frame = shape(_frame(start, min(CHUNK, rows - start), rng), start)
                frame.select(HEADER).write_csv(f, include_header=start == 0)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    args = parser.parse_args(argv)
    for case in args.case or sorted(CASES):
        print(generate(case, args.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

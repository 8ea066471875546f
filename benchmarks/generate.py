"""Seeded generator of realistic orders CSVs, streamed in chunks.

Shape: 4 regions, 3 categories / 17 sub-categories, 4 ship modes plus a few % unknown
("Not Available", "unknown", empty), orders of 1 to 5 contiguous line items sharing order id,
date, ship mode and customer location, prices with cents, RFC 4180 quoted fields with commas
(and the odd embedded quote), and a small share of invalid rows so that validation is exercised.

Money is generated so that every row's revenue and profit is a whole number of cents
(the list price is a multiple of 100 / gcd(100, 100 - discount) cents). Sums are then exact
in decimal, so no engine can round a report total differently at a half-cent.

    python -m benchmarks.generate --rows 1000000 --seed 42 [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

GENERATOR_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "data"
CHUNK_ROWS = 200_000
DEFAULT_INVALID_RATE = 0.0005

HEADER: list[str] = [
    "Order Id",
    "Order Date",
    "Ship Mode",
    "Segment",
    "Country",
    "City",
    "State",
    "Postal Code",
    "Region",
    "Category",
    "Sub Category",
    "Product Id",
    "cost price",
    "List Price",
    "Quantity",
    "Discount Percent",
]

REGIONS = ["East", "West", "Central", "South"]

# (category, sub-category, product code, median list price in dollars)
SUB_CATEGORIES: list[tuple[str, str, str, float]] = [
    ("Furniture", "Bookcases", "FUR-BO", 260.0),
    ("Furniture", "Chairs", "FUR-CH", 330.0),
    ("Furniture", "Furnishings", "FUR-FU", 45.0),
    ("Furniture", "Tables", "FUR-TA", 520.0),
    ("Office Supplies", "Appliances", "OFF-AP", 120.0),
    ("Office Supplies", "Art", "OFF-AR", 15.0),
    ("Office Supplies", "Binders", "OFF-BI", 25.0),
    ("Office Supplies", "Envelopes", "OFF-EN", 30.0),
    ("Office Supplies", "Fasteners", "OFF-FA", 8.0),
    ("Office Supplies", "Labels", "OFF-LA", 12.0),
    ("Office Supplies", "Paper", "OFF-PA", 20.0),
    ("Office Supplies", "Storage", "OFF-ST", 140.0),
    ("Office Supplies", "Supplies", "OFF-SU", 35.0),
    ("Technology", "Accessories", "TEC-AC", 90.0),
    ("Technology", "Copiers", "TEC-CO", 1400.0),
    ("Technology", "Machines", "TEC-MA", 900.0),
    ("Technology", "Phones", "TEC-PH", 310.0),
]
# Relative popularity of each sub-category (Office Supplies dominate, as in retail data).
SUB_WEIGHTS = [4, 6, 9, 3, 5, 8, 15, 3, 2, 4, 14, 8, 2, 8, 1, 1, 9]

# (city, state, postal code, region); a few cities carry commas so fields need quoting.
LOCATIONS: list[tuple[str, str, str, str]] = [
    ("New York City", "New York", "10035", "East"),
    ("Philadelphia", "Pennsylvania", "19140", "East"),
    ("Washington, D.C.", "District of Columbia", "20001", "East"),
    ("Boston", "Massachusetts", "02108", "East"),
    ("Newark", "Delaware", "19711", "East"),
    ("Columbus", "Ohio", "43229", "East"),
    ("Los Angeles", "California", "90049", "West"),
    ("San Francisco", "California", "94109", "West"),
    ("Seattle", "Washington", "98105", "West"),
    ("Orem", "Utah", "84057", "West"),
    ("Denver", "Colorado", "80219", "West"),
    ("Phoenix", "Arizona", "85023", "West"),
    ("Houston", "Texas", "77095", "Central"),
    ("Chicago", "Illinois", "60610", "Central"),
    ("Fremont", "Nebraska", "68025", "Central"),
    ("Richardson", "Texas", "75080", "Central"),
    ("Detroit", "Michigan", "48205", "Central"),
    ("Minneapolis", "Minnesota", "55407", "Central"),
    ("Jacksonville", "Florida", "32216", "South"),
    ("Atlanta", "Georgia", "30318", "South"),
    ("Nashville", "Tennessee", "37211", "South"),
    ("Charlotte", "North Carolina", "28205", "South"),
    ("Lafayette, LA", "Louisiana", "70506", "South"),
    ("Miami", "Florida", "33142", "South"),
]
LOCATION_WEIGHTS = [12, 8, 3, 3, 2, 4, 10, 8, 6, 1, 3, 3, 6, 6, 1, 2, 2, 2, 3, 3, 2, 2, 1, 2]

SEGMENTS = [
    "Consumer",
    "Corporate",
    "Home Office",
    "Small Business, Retail",
    'Public Sector, "GOV"',
]
SEGMENT_WEIGHTS = [50, 28, 16, 5, 1]

# Known modes, then the unknown spellings (None = an empty cell) at about 4% in all.
SHIP_MODES: list[str | None] = [
    "Standard Class",
    "Second Class",
    "First Class",
    "Same Day",
    "Not Available",
    "unknown",
    None,
]
SHIP_WEIGHTS = [58.0, 20.0, 14.0, 4.0, 1.5, 1.5, 1.0]

LINE_COUNTS = np.array([1, 2, 3, 4, 5])
LINE_WEIGHTS = [0.45, 0.25, 0.15, 0.10, 0.05]
QUANTITIES = np.arange(1, 11)
QUANTITY_WEIGHTS = [22, 20, 16, 12, 9, 7, 5, 4, 3, 2]
DISCOUNTS = np.array([0, 2, 3, 4, 5, 10, 15, 20, 25, 30, 40, 50])
DISCOUNT_WEIGHTS = [40, 6, 6, 6, 8, 10, 5, 8, 4, 3, 2, 2]

FIRST_DAY = np.datetime64("2021-01-01")
DAYS = 5 * 365

# Invalid cells injected at `invalid_rate` of rows: (column, bad value).
INVALID_KINDS: list[tuple[str, str | None]] = [
    ("Quantity", "-1"),
    ("Quantity", "2.5"),
    ("Discount Percent", "150"),
    ("List Price", "n/a"),
    ("cost price", "-5.00"),
    ("Order Id", None),
    ("Region", None),
]


def _p(weights: list[float] | list[int]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.asarray(w / w.sum())


def cache_path(rows: int, seed: int) -> Path:
    return DATA_DIR / f"orders-v{GENERATOR_VERSION}-{rows}-s{seed}.csv"


def _money(cents: pl.Expr) -> pl.Expr:
    return pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))


def _chunk(
    rng: np.random.Generator, rows: int, first_order: int, invalid_rate: float
) -> tuple[pl.DataFrame, int]:
    """One chunk of exactly `rows` rows made of whole orders; returns it and the order count."""
    lines = rng.choice(LINE_COUNTS, size=rows, p=_p(LINE_WEIGHTS))
    ends = np.cumsum(lines)
    n_orders = int(np.searchsorted(ends, rows)) + 1
    lines = lines[:n_orders].copy()
    lines[-1] -= int(ends[n_orders - 1]) - rows
    order_of_row = np.repeat(np.arange(n_orders), lines)

    loc = rng.choice(len(LOCATIONS), size=n_orders, p=_p(LOCATION_WEIGHTS))[order_of_row]
    seg = rng.choice(len(SEGMENTS), size=n_orders, p=_p(SEGMENT_WEIGHTS))[order_of_row]
    ship = rng.choice(len(SHIP_MODES), size=n_orders, p=_p(SHIP_WEIGHTS))[order_of_row]
    day = (FIRST_DAY + rng.integers(0, DAYS, size=n_orders))[order_of_row]
    order_no = (first_order + np.arange(n_orders))[order_of_row]

    sub = rng.choice(len(SUB_CATEGORIES), size=rows, p=_p(SUB_WEIGHTS))
    median = np.array([s[3] for s in SUB_CATEGORIES])[sub]
    list_dollars = np.clip(median * np.exp(rng.normal(0.0, 0.5, size=rows)), 1.0, 9000.0)
    discount = rng.choice(DISCOUNTS, size=rows, p=_p(DISCOUNT_WEIGHTS))
    # Multiple of `step` cents => list * (100 - discount) / 100 is whole cents.
    step = 100 // np.gcd(100, 100 - discount)
    list_cents = np.maximum(np.rint(list_dollars * 100 / step), 1).astype(np.int64) * step
    cost_cents = np.rint(list_cents * rng.uniform(0.55, 1.05, size=rows)).astype(np.int64)
    quantity = rng.choice(QUANTITIES, size=rows, p=_p(QUANTITY_WEIGHTS))
    product = rng.integers(10_000_000, 10_005_000, size=rows)

    def pick(values: list[str] | list[str | None], idx: np.ndarray) -> pl.Series:
        return pl.Series(values, dtype=pl.String).gather(idx)

    raw = pl.DataFrame(
        {
            "order_no": order_no,
            "day": pl.Series(day).cast(pl.Date),
            "ship": pick(SHIP_MODES, ship),
            "segment": pick(SEGMENTS, seg),
            "city": pick([x[0] for x in LOCATIONS], loc),
            "state": pick([x[1] for x in LOCATIONS], loc),
            "postal": pick([x[2] for x in LOCATIONS], loc),
            "region": pick([x[3] for x in LOCATIONS], loc),
            "category": pick([s[0] for s in SUB_CATEGORIES], sub),
            "sub": pick([s[1] for s in SUB_CATEGORIES], sub),
            "code": pick([s[2] for s in SUB_CATEGORIES], sub),
            "product": product,
            "cost": cost_cents,
            "list": list_cents,
            "quantity": quantity,
            "discount": discount,
        }
    )
    day_col = pl.col("day")
    df = raw.select(
        pl.format("CA-{}-{}", day_col.dt.year(), pl.col("order_no")).alias("Order Id"),
        day_col.cast(pl.String).alias("Order Date"),
        pl.col("ship").alias("Ship Mode"),
        pl.col("segment").alias("Segment"),
        pl.lit("United States").alias("Country"),
        pl.col("city").alias("City"),
        pl.col("state").alias("State"),
        pl.col("postal").alias("Postal Code"),
        pl.col("region").alias("Region"),
        pl.col("category").alias("Category"),
        pl.col("sub").alias("Sub Category"),
        pl.format("{}-{}", pl.col("code"), pl.col("product")).alias("Product Id"),
        _money(pl.col("cost")).alias("cost price"),
        _money(pl.col("list")).alias("List Price"),
        pl.col("quantity").cast(pl.String).alias("Quantity"),
        pl.col("discount").cast(pl.String).alias("Discount Percent"),
    )
    if invalid_rate > 0:
        bad = rng.random(rows) < invalid_rate
        kind = rng.integers(0, len(INVALID_KINDS), size=rows)
        by_column: dict[str, pl.Expr] = {}
        for k, (column, value) in enumerate(INVALID_KINDS):
            mask = pl.Series(bad & (kind == k))
            current = by_column.get(column, pl.col(column))
            by_column[column] = (
                pl.when(mask).then(pl.lit(value, dtype=pl.String)).otherwise(current)
            )
        df = df.with_columns(expr.alias(column) for column, expr in by_column.items())
    return df, n_orders


def chunks(
    rows: int, seed: int, chunk_rows: int = CHUNK_ROWS, invalid_rate: float = DEFAULT_INVALID_RATE
) -> Iterator[pl.DataFrame]:
    """Yield DataFrames (string columns, HEADER order) totalling `rows` rows."""
    rng = np.random.default_rng(seed)
    done = 0
    next_order = 100_000
    while done < rows:
        n = min(chunk_rows, rows - done)
        df, n_orders = _chunk(rng, n, next_order, invalid_rate)
        next_order += n_orders
        done += n
        yield df


def write(
    out: BinaryIO,
    rows: int,
    seed: int,
    chunk_rows: int = CHUNK_ROWS,
    invalid_rate: float = DEFAULT_INVALID_RATE,
) -> None:
    for i, df in enumerate(chunks(rows, seed, chunk_rows, invalid_rate)):
        df.write_csv(out, include_header=i == 0, quote_style="necessary")
    if rows == 0:
        out.write((",".join(HEADER) + "\n").encode())


def generate(rows: int, seed: int, out: Path, invalid_rate: float = DEFAULT_INVALID_RATE) -> Path:
    """Write the file atomically (temp file, then rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            write(f, rows, seed, invalid_rate=invalid_rate)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def ensure(rows: int, seed: int = 42) -> Path:
    """The cached file for (rows, seed), generated on first use."""
    path = cache_path(rows, seed)
    if not path.exists():
        generate(rows, seed, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, help="default: the cache under benchmarks/data/")
    parser.add_argument("--invalid-rate", type=float, default=DEFAULT_INVALID_RATE)
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be >= 0")
    if args.out is None:
        if args.invalid_rate != DEFAULT_INVALID_RATE:
            parser.error("--invalid-rate needs --out (the cache holds default-rate files only)")
        path = ensure(args.rows, args.seed)
    else:
        path = generate(args.rows, args.seed, args.out, args.invalid_rate)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

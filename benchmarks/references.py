"""Reference implementations of the three reports: DuckDB (SQL, two formulations), Polars
(lazy, in memory and streaming), naive pandas.

Each follows design.md's contract: a row counts when order_id, region, category and
sub_category are non-empty, cost_price and list_price are numbers >= 0, quantity is a whole
number >= 1 and discount_percent is within 0..100; ship modes "Not Available", "unknown" and
empty are unknown (row kept, not counted toward ship modes). Ranks are "min" (competition)
ranks on the 2-decimal profit: equal profits share a rank and the next rank is skipped (1, 1, 3).

    python -m benchmarks.references ENGINE FILE OUTDIR

(ENGINE: duckdb-sets, duckdb-table, polars, polars-streaming or pandas)
writes OUTDIR/<report>.csv in the normalised text form that `normalise_csv` produces.

The engines return plain rows; `as_frames` turns them into pandas DataFrames. DuckDB and
Polars never import pandas here: its import alone takes 1-2 s on a small machine and is not
part of their work.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

REPORTS: dict[str, list[str]] = {
    "most_profitable_region": ["rank", "region", "profit", "revenue", "orders"],
    "top_ship_mode_by_category": ["category", "ship_mode", "orders", "share"],
    "orders_by_category": ["category", "sub_category", "orders", "line_items"],
}
DECIMALS = {"profit": 2, "revenue": 2, "share": 4}
INTEGERS = {"rank", "orders", "line_items"}
UNKNOWN_SHIP_MODES = ("Not Available", "unknown", "")
REQUIRED = (
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

Rows = list[tuple[Any, ...]]
Reports = dict[str, Rows]  # report name -> rows in REPORTS[name] column order


def normalise_header(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def resolve_columns(path: Path) -> dict[str, str]:
    """canonical name -> the file's own header spelling, for the required columns."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f))
    found = {normalise_header(h): h for h in reversed(header)}
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise SystemExit(f"{path}: missing required column(s): {', '.join(missing)}")
    return {c: found[c] for c in REQUIRED}


# ----------------------------------------------------------------------------- formatting


def _cell(column: str, value: object) -> str:
    if column in DECIMALS:
        return f"{float(str(value)):.{DECIMALS[column]}f}"
    if column in INTEGERS:
        return str(int(float(str(value))))
    return "" if value is None else str(value)


def rows_to_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(c, v) for c, v in zip(header, row, strict=True)])
    return out.getvalue()


def normalise_csv(text: str) -> str:
    """Re-format numbers to the contract's decimals so that texts compare exactly."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, [])
    return rows_to_text(header, reader)


def texts(reports: Reports) -> dict[str, str]:
    return {name: rows_to_text(REPORTS[name], reports[name]) for name in REPORTS}


def as_frames(reports: Reports) -> dict[str, pd.DataFrame]:
    import pandas as pd

    return {name: pd.DataFrame(reports[name], columns=REPORTS[name]) for name in REPORTS}


# ----------------------------------------------------------------------------- DuckDB


def _duckdb_valid_sql(path: Path) -> str:
    """SELECT of the valid rows (order_id, region, category, sub_category, ship_mode, known,
    revenue, profit) over read_csv of `path`: the contract's validation, written once for
    every DuckDB formulation. `?` is the file's path."""
    cols = resolve_columns(path)

    def q(name: str) -> str:
        return '"' + cols[name].replace('"', '""') + '"'

    def num(name: str) -> str:
        # nullif() keeps DuckDB from pushing the TRY_CAST into the CSV reader as a hard cast,
        # which fails on "n/a" instead of giving NULL (duckdb/duckdb#23818).
        return f"TRY_CAST(nullif({q(name)}, '') AS DOUBLE)"

    unknown = ", ".join(f"'{m}'" for m in UNKNOWN_SHIP_MODES)
    return f"""
        WITH src AS (
            SELECT {q("order_id")} AS order_id, {q("ship_mode")} AS ship_mode,
                   {q("region")} AS region, {q("category")} AS category,
                   {q("sub_category")} AS sub_category,
                   {num("cost_price")} AS cost, {num("list_price")} AS lp,
                   {num("quantity")} AS qty, {num("discount_percent")} AS disc
            FROM read_csv(?, header = true, all_varchar = true, delim = ',',
                          quote = '"', escape = '"')
        )
        SELECT order_id, region, category, sub_category,
               CASE WHEN coalesce(ship_mode, '') NOT IN ({unknown}) THEN ship_mode END
                   AS mode,
               coalesce(ship_mode, '') NOT IN ({unknown}) AS known,
               lp * (1 - disc / 100) * qty AS revenue,
               (lp * (1 - disc / 100) - cost) * qty AS profit
        FROM src
        WHERE coalesce(order_id, '') <> '' AND coalesce(region, '') <> ''
          AND coalesce(category, '') <> '' AND coalesce(sub_category, '') <> ''
          AND cost >= 0 AND lp >= 0 AND qty >= 1 AND qty = floor(qty)
          AND disc BETWEEN 0 AND 100
    """


def duckdb_table_reports(path: Path) -> Reports:
    """DuckDB as a user would write it: a table of the valid rows, then one query per report."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE TEMP TABLE valid AS {_duckdb_valid_sql(path)}", [str(path)])
    region = con.sql(
        """
        SELECT CAST(rank() OVER (ORDER BY round(sum(profit), 2) DESC) AS BIGINT) AS rank,
               region, round(sum(profit), 2) AS profit, round(sum(revenue), 2) AS revenue,
               count(DISTINCT order_id) AS orders
        FROM valid GROUP BY region ORDER BY profit DESC, region
        """
    ).fetchall()
    ship = con.sql(
        """
        WITH modes AS (
            SELECT category, mode, count(DISTINCT order_id) AS orders
            FROM valid WHERE known GROUP BY category, mode
        ), totals AS (
            SELECT category, count(DISTINCT order_id) AS total
            FROM valid WHERE known GROUP BY category
        )
        SELECT m.category, m.mode AS ship_mode, m.orders, round(m.orders / t.total, 4) AS share
        FROM modes m JOIN totals t USING (category)
        QUALIFY m.orders = max(m.orders) OVER (PARTITION BY m.category)
        ORDER BY m.category, m.mode
        """
    ).fetchall()
    by_cat = con.sql(
        """
        SELECT category, sub_category, count(DISTINCT order_id) AS orders, count(*) AS line_items
        FROM valid GROUP BY category, sub_category ORDER BY category, sub_category
        """
    ).fetchall()
    return {
        "most_profitable_region": region,
        "top_ship_mode_by_category": ship,
        "orders_by_category": by_cat,
    }


def duckdb_reports(path: Path) -> Reports:
    """DuckDB in one scan: every aggregate the reports need, as grouping sets."""
    import duckdb

    con = duckdb.connect()
    # `mode` is NULL for unknown ship modes; the (category, known) set gives the distinct
    # orders of known mode per category.
    con.execute(
        f"""
        CREATE TEMP TABLE agg AS
        WITH valid AS ({_duckdb_valid_sql(path)})
        SELECT CASE WHEN grouping(region) = 0 THEN 'region'
                    WHEN grouping(sub_category) = 0 THEN 'sub'
                    WHEN grouping(mode) = 0 THEN 'mode'
                    ELSE 'known' END AS grouped,
               region, category, sub_category, mode,
               known, count(DISTINCT order_id) AS orders, count(*) AS line_items,
               sum(profit) AS profit, sum(revenue) AS revenue
        FROM valid
        GROUP BY GROUPING SETS ((region), (category, sub_category), (category, mode),
                                (category, known))
        """,
        [str(path)],
    )
    region = con.sql(
        """
        SELECT CAST(rank() OVER (ORDER BY round(profit, 2) DESC) AS BIGINT) AS rank,
               region, round(profit, 2) AS profit, round(revenue, 2) AS revenue, orders
        FROM agg WHERE grouped = 'region' ORDER BY profit DESC, region
        """
    ).fetchall()
    ship = con.sql(
        """
        SELECT m.category, m.mode AS ship_mode, m.orders,
               round(m.orders / t.orders, 4) AS share
        FROM agg m JOIN agg t ON t.grouped = 'known' AND t.known AND t.category = m.category
        WHERE m.grouped = 'mode' AND m.mode IS NOT NULL
        QUALIFY m.orders = max(m.orders) OVER (PARTITION BY m.category)
        ORDER BY m.category, m.mode
        """
    ).fetchall()
    by_cat = con.sql(
        """
        SELECT category, sub_category, orders, line_items
        FROM agg WHERE grouped = 'sub' ORDER BY category, sub_category
        """
    ).fetchall()
    return {
        "most_profitable_region": region,
        "top_ship_mode_by_category": ship,
        "orders_by_category": by_cat,
    }


# ----------------------------------------------------------------------------- Polars


def polars_reports(path: Path, streaming: bool = False) -> Reports:
    """Polars lazy: the valid rows collected once (in memory), then three plans; or, with
    `streaming`, the three plans each run over the file on Polars' streaming engine."""
    import polars as pl

    cols = resolve_columns(path)
    num = {c: pl.col(c).cast(pl.Float64, strict=False) for c in REQUIRED}

    def nonempty(c: str) -> pl.Expr:
        return pl.col(c).fill_null("") != ""

    price = num["list_price"] * (1 - num["discount_percent"] / 100)
    valid = (
        pl.scan_csv(path, infer_schema=False, quote_char='"', encoding="utf8")
        .select(pl.col(actual).alias(canon) for canon, actual in cols.items())
        .filter(
            nonempty("order_id")
            & nonempty("region")
            & nonempty("category")
            & nonempty("sub_category")
            & (num["cost_price"] >= 0)
            & (num["list_price"] >= 0)
            & (num["quantity"] >= 1)
            & (num["quantity"] == num["quantity"].floor())
            & num["discount_percent"].is_between(0, 100)
        )
        .select(
            "order_id",
            "region",
            "category",
            "sub_category",
            "ship_mode",
            (~pl.col("ship_mode").fill_null("").is_in(UNKNOWN_SHIP_MODES)).alias("ship_known"),
            (price * num["quantity"]).alias("revenue"),
            ((price - num["cost_price"]) * num["quantity"]).alias("profit"),
        )
    )
    if not streaming:
        # Collected once (projection pushed into the scan): faster than collect_all on the
        # three plans, which re-scans the file.
        valid = valid.collect().lazy()
    region = (
        valid.group_by("region")
        .agg(
            pl.col("profit").sum().round(2),
            pl.col("revenue").sum().round(2),
            pl.col("order_id").n_unique().alias("orders"),
        )
        .with_columns(pl.col("profit").rank(method="min", descending=True).alias("rank"))
        .sort(["profit", "region"], descending=[True, False])
        .select(REPORTS["most_profitable_region"])
    )
    known = valid.filter(pl.col("ship_known"))
    totals = known.group_by("category").agg(pl.col("order_id").n_unique().alias("total"))
    ship = (
        known.group_by("category", "ship_mode")
        .agg(pl.col("order_id").n_unique().alias("orders"))
        .filter(pl.col("orders") == pl.col("orders").max().over("category"))
        .join(totals, on="category")
        .with_columns((pl.col("orders") / pl.col("total")).round(4).alias("share"))
        .sort(["category", "ship_mode"])
        .select(REPORTS["top_ship_mode_by_category"])
    )
    by_cat = (
        valid.group_by("category", "sub_category")
        .agg(
            pl.col("order_id").n_unique().alias("orders"),
            pl.len().alias("line_items"),
        )
        .sort(["category", "sub_category"])
    )
    frames = pl.collect_all([region, ship, by_cat], engine="streaming" if streaming else "auto")
    names = list(REPORTS)
    return {name: frame.rows() for name, frame in zip(names, frames, strict=True)}


# ----------------------------------------------------------------------------- pandas


def pandas_reports(path: Path) -> Reports:
    """Deliberately naive: the whole file in memory as strings, then groupby."""
    import pandas as pd

    cols = resolve_columns(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df = df.rename(columns={actual: canon for canon, actual in cols.items()})
    cost = pd.to_numeric(df["cost_price"], errors="coerce")
    lp = pd.to_numeric(df["list_price"], errors="coerce")
    qty = pd.to_numeric(df["quantity"], errors="coerce")
    disc = pd.to_numeric(df["discount_percent"], errors="coerce")
    ok = (
        (df["order_id"] != "")
        & (df["region"] != "")
        & (df["category"] != "")
        & (df["sub_category"] != "")
        & (cost >= 0)
        & (lp >= 0)
        & (qty >= 1)
        & (qty == qty.round())
        & disc.between(0, 100)
    ).fillna(False)
    price = lp * (1 - disc / 100)
    df = df.assign(revenue=price * qty, profit=(price - cost) * qty)[ok.to_numpy(dtype=bool)]

    region = (
        df.groupby("region")
        .agg(
            profit=("profit", "sum"),
            revenue=("revenue", "sum"),
            orders=("order_id", "nunique"),
        )
        .reset_index()
    )
    region["profit"] = region["profit"].round(2)
    region["revenue"] = region["revenue"].round(2)
    region["rank"] = region["profit"].rank(method="min", ascending=False).astype("int64")
    region = region.sort_values(["profit", "region"], ascending=[False, True])
    region = region[REPORTS["most_profitable_region"]].reset_index(drop=True)

    known = df[~df["ship_mode"].isin(UNKNOWN_SHIP_MODES)]
    modes = (
        known.groupby(["category", "ship_mode"])["order_id"]
        .nunique()
        .rename("orders")
        .reset_index()
    )
    totals = known.groupby("category")["order_id"].nunique().rename("total").reset_index()
    best = modes["orders"] == modes.groupby("category")["orders"].transform("max")
    ship = modes[best].merge(totals, on="category")
    ship["share"] = (ship["orders"] / ship["total"]).round(4)
    ship = ship.sort_values(["category", "ship_mode"])
    ship = ship[REPORTS["top_ship_mode_by_category"]].reset_index(drop=True)

    by_cat = (
        df.groupby(["category", "sub_category"])
        .agg(orders=("order_id", "nunique"), line_items=("order_id", "size"))
        .reset_index()
        .sort_values(["category", "sub_category"])
        .reset_index(drop=True)
    )
    frames = {
        "most_profitable_region": region,
        "top_ship_mode_by_category": ship,
        "orders_by_category": by_cat,
    }
    return {
        name: list(frame[REPORTS[name]].itertuples(index=False, name=None))
        for name, frame in frames.items()
    }


ENGINES: dict[str, Callable[[Path], Reports]] = {
    "duckdb-sets": duckdb_reports,
    "duckdb-table": duckdb_table_reports,
    "duckdb": duckdb_reports,  # the name of duckdb-sets before there were two
    "polars": polars_reports,
    "polars-streaming": lambda path: polars_reports(path, streaming=True),
    "pandas": pandas_reports,
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ENGINES:
        print(f"usage: python -m benchmarks.references {{{','.join(ENGINES)}}} FILE OUTDIR")
        return 2
    engine, file, outdir = args[0], Path(args[1]), Path(args[2])
    outdir.mkdir(parents=True, exist_ok=True)
    for name, text in texts(ENGINES[engine](file)).items():
        (outdir / f"{name}.csv").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

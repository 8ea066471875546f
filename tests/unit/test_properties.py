"""Properties of the report engine on generated files.

(a) On any valid file the three reports equal a brute-force computation of the contract,
    done with exact fractions, dicts and sets: ranks on exact profit, equal profits sharing a
    rank, money and shares rounded once, half away from zero.
(b) On any malformed input the engine fails only with FileError, and otherwise accounts for
    every record: rows read = the file's records = valid + rejected.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import FileError
from app.orders_csv import reader as csv_reader
from app.pipelines.reports import engine
from app.pipelines.reports.engine import REQUIRED_COLUMNS

REQUIRED = list(REQUIRED_COLUMNS)
EXTRA = ["order_date", "segment", "postal_code"]
REGIONS = ["East", "West", "Central", "South", "Île-de-France", 'North, "upper"']
CATEGORIES = ["Furniture", "Office Supplies", "Technology", "Garden, outdoor"]
SUB_CATEGORIES = ["Chairs", "Binders", "Phones", "Paper", 'Tables "oak"', "Two\nlines"]
KNOWN_MODES = ["Standard Class", "Second Class", "First Class", "Same Day"]
UNKNOWN_MODES = ["Not Available", "unknown", ""]
SPELLINGS = {
    "order_id": ["order_id", "Order Id", "ORDER-ID"],
    "ship_mode": ["ship_mode", "Ship Mode", " ship-mode "],
    "region": ["region", "Region", "REGION"],
    "category": ["category", "Category"],
    "sub_category": ["sub_category", "Sub Category", "sub-category", " SUB_CATEGORY "],
    "cost_price": ["cost_price", "cost price", "Cost-Price"],
    "list_price": ["list_price", "List Price"],
    "quantity": ["quantity", "Quantity"],
    "discount_percent": ["discount_percent", "Discount Percent", "discount-percent"],
}


def half_away(value: Fraction) -> int:
    """The nearest integer, halves away from zero (as DuckDB's and Excel's ROUND)."""
    whole = int(abs(value) + Fraction(1, 2))  # int() truncates: floor for values >= 0
    return -whole if value < 0 else whole


def money_text(cents: Any) -> str:
    """A number of cents, possibly fractional, as the contract writes money: 2 decimals."""
    whole = half_away(Fraction(cents))
    sign = "-" if whole < 0 else ""
    return f"{sign}{abs(whole) // 100}.{abs(whole) % 100:02d}"


def price_text(cents: int, style: int) -> str:
    if style == 0 and cents % 100 == 0:
        return str(cents // 100)
    if style == 1 and cents % 10 == 0:
        return f"{cents // 100}.{cents % 100 // 10}"
    return f"{cents // 100}.{cents % 100:02d}"


@st.composite
def valid_files(draw: st.DrawFn) -> tuple[bytes, list[dict[str, Any]]]:
    """A valid orders file, and its rows as exact values."""
    n_orders = draw(st.integers(0, 25))
    rows: list[dict[str, Any]] = []
    for number in range(n_orders):
        order_id = draw(st.sampled_from([f"O{number}", f"CA-2024-{number:05d}", f"#{number},x"]))
        region = draw(st.sampled_from(REGIONS))
        mode = draw(st.sampled_from(KNOWN_MODES + UNKNOWN_MODES))
        for _ in range(draw(st.integers(1, 4))):
            if draw(st.booleans()):  # the line's own region and ship mode
                region = draw(st.sampled_from(REGIONS))
                mode = draw(st.sampled_from(KNOWN_MODES + UNKNOWN_MODES))
            rows.append(
                {
                    "order_id": order_id,
                    "region": region,
                    "ship_mode": mode,
                    "category": draw(st.sampled_from(CATEGORIES)),
                    "sub_category": draw(st.sampled_from(SUB_CATEGORIES)),
                    "cost": draw(st.integers(0, 200_000)),  # cents
                    "list": draw(st.integers(0, 200_000)),  # cents
                    "quantity": draw(st.integers(1, 30)),
                    "discount": draw(st.integers(0, 100)),
                    "style": draw(st.integers(0, 2)),
                }
            )
    rows = draw(st.permutations(rows))  # lines of one order need not be adjacent

    columns = draw(st.permutations(REQUIRED + draw(st.lists(st.sampled_from(EXTRA), unique=True))))
    header = [draw(st.sampled_from(SPELLINGS.get(c, [c]))) for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for row in rows:
        fields = {
            "order_id": row["order_id"],
            "ship_mode": row["ship_mode"],
            "region": row["region"],
            "category": row["category"],
            "sub_category": row["sub_category"],
            "cost_price": price_text(row["cost"], row["style"]),
            "list_price": price_text(row["list"], row["style"]),
            "quantity": str(row["quantity"]),
            "discount_percent": str(row["discount"]),
            "order_date": "2024-02-29",
            "segment": "Consumer, Home",
            "postal_code": "02134",
        }
        writer.writerow([fields[c] for c in columns])
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + out.getvalue()).encode("utf-8"), rows


def expected_reports(rows: list[dict[str, Any]]) -> dict[str, str]:
    """The contract, computed plainly. Money stays exact (in cents) until it is written."""
    profit: dict[str, Fraction] = defaultdict(Fraction)
    revenue: dict[str, Fraction] = defaultdict(Fraction)
    region_orders: dict[str, set[str]] = defaultdict(set)
    mode_orders: dict[tuple[str, str], set[str]] = defaultdict(set)
    known_orders: dict[str, set[str]] = defaultdict(set)
    pair_orders: dict[tuple[str, str], set[str]] = defaultdict(set)
    pair_lines: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        net = Fraction(row["list"]) * (1 - Fraction(row["discount"], 100))
        revenue[row["region"]] += net * row["quantity"]
        profit[row["region"]] += (net - row["cost"]) * row["quantity"]
        region_orders[row["region"]].add(row["order_id"])
        if row["ship_mode"] not in UNKNOWN_MODES:
            mode_orders[row["category"], row["ship_mode"]].add(row["order_id"])
            known_orders[row["category"]].add(row["order_id"])
        pair = (row["category"], row["sub_category"])
        pair_orders[pair].add(row["order_id"])
        pair_lines[pair] += 1

    regions = sorted(profit, key=lambda r: (-profit[r], r))
    region_rows = []
    for region in regions:
        rank = 1 + sum(1 for other in regions if profit[other] > profit[region])
        region_rows.append(
            [
                rank,
                region,
                money_text(profit[region]),
                money_text(revenue[region]),
                len(region_orders[region]),
            ]
        )

    mode_rows = []
    for category in sorted(known_orders):
        counts = {m: len(o) for (c, m), o in mode_orders.items() if c == category}
        best = max(counts.values())
        for mode in sorted(m for m, n in counts.items() if n == best):
            whole = half_away(Fraction(best, len(known_orders[category])) * 10_000)
            mode_rows.append([category, mode, best, f"{whole // 10_000}.{whole % 10_000:04d}"])

    pair_rows = [[c, s, len(pair_orders[c, s]), pair_lines[c, s]] for c, s in sorted(pair_orders)]
    return {
        "most_profitable_region": write(
            engine.REPORT_COLUMNS["most_profitable_region"], region_rows
        ),
        "top_ship_mode_by_category": write(
            engine.REPORT_COLUMNS["top_ship_mode_by_category"], mode_rows
        ),
        "orders_by_category": write(engine.REPORT_COLUMNS["orders_by_category"], pair_rows),
    }


def write(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def run_with_block_size(data: bytes, block_size: int, workdir: Path) -> engine.Result:
    saved = csv_reader.BLOCK_SIZE
    csv_reader.BLOCK_SIZE = block_size
    try:
        return engine.run(io.BytesIO(data), workdir=workdir)
    finally:
        csv_reader.BLOCK_SIZE = saved


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_files(), st.sampled_from([csv_reader.BLOCK_SIZE, 512]))
def test_reports_equal_a_brute_force_computation(
    case: tuple[bytes, list[dict[str, Any]]], block_size: int
) -> None:
    data, rows = case
    expected = expected_reports(rows)
    with tempfile.TemporaryDirectory() as work:
        result = run_with_block_size(data, block_size, Path(work))
    actual = {name: engine.to_csv(frame).decode("utf-8") for name, frame in result.reports.items()}
    assert actual == expected
    assert (result.rows_read, result.rows_rejected) == (len(rows), 0)


# ------------------------------------------------------------------- malformed input

GOOD_ROW = "O1,Same Day,East,Furniture,Chairs,1,2,3,0"
garbage_text = st.lists(
    st.sampled_from([*',"\n\r ax1.-é\t', "Same Day", "\r\n"]), max_size=120
).map("".join)
garbage_rows = st.lists(
    st.one_of(
        garbage_text,
        st.just(GOOD_ROW),
        st.lists(
            st.sampled_from(["", "1", "-1", "2.5", "x", '"a,b"', '"q""q"', "1e3", " ", "\u00e9"]),
            min_size=7,
            max_size=11,
        ).map(",".join),
    ),
    max_size=15,
)


@st.composite
def malformed_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return draw(garbage_text).encode("utf-8")
    header = ",".join(REQUIRED)
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    body = ending.join([header, *draw(garbage_rows)])
    data = body.encode("utf-8")
    if kind == 3:  # plus a few random bytes somewhere after the header
        at = draw(st.integers(len(header), len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    return data


@settings(max_examples=150, deadline=None)
@given(malformed_files())
def test_malformed_input_fails_only_with_file_error_and_counts_every_row(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as work:
        try:
            result = engine.run(io.BytesIO(data), workdir=Path(work))
        except FileError as error:
            assert error.code and error.message
            return
        rejected = []
        if result.rejected_csv is not None:
            with result.rejected_csv.open(encoding="utf-8", newline="") as f:
                rejected = list(csv.DictReader(f))
    records = [r for r in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) if r]
    assert result.rows_read == len(records) - 1
    valid = sum(int(n) for n in result.reports["orders_by_category"]["line_items"])
    assert result.rows_read == valid + result.rows_rejected
    assert len(rejected) == result.rows_rejected
    assert all(r["reason"].strip() for r in rejected)
    regions = result.reports["most_profitable_region"]
    for value in [*regions["profit"], *regions["revenue"]]:  # never inf or NaN
        assert re.fullmatch(r"-?\d+\.\d\d", value), value

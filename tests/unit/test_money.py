"""Exact money: amounts computed from their decimal text, ranked and tied on exact values,
rounded once to cents half away from zero; values that cannot be computed exactly are
rejected rows, never a traceback, `inf` or `NaN`. Labels are trimmed and NFC-normalised.

The oracle is `fractions.Fraction` on the same decimal text.
"""

from __future__ import annotations

import csv
import io
import tempfile
import unicodedata
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.orders_csv import money
from app.pipelines.reports import engine
from app.pipelines.reports.engine import REQUIRED_COLUMNS

HEADER = ",".join(REQUIRED_COLUMNS)
E = 10**12  # money.exact_value's scale


def run(text: str) -> tuple[engine.Result, list[dict[str, str]]]:
    """The engine's result, and its rejected rows as a user reads them."""
    with tempfile.TemporaryDirectory() as work:
        result = engine.run(io.BytesIO(text.encode("utf-8")), workdir=Path(work))
        rejected = result.rejected_csv.read_text("utf-8") if result.rejected_csv else ""
    return result, list(csv.DictReader(io.StringIO(rejected, newline="")))


def region_rows(result: engine.Result) -> list[list[str]]:
    text = engine.to_csv(result.reports["most_profitable_region"]).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))[1:]


def decimal(value: Fraction, places: int = 12) -> str:
    """An exact decimal text for a value whose denominator divides 10^places."""
    scaled = value * 10**places
    assert scaled.denominator == 1
    sign, whole = ("-" if scaled < 0 else ""), abs(int(scaled))
    return f"{sign}{whole // 10**places}.{whole % 10**places:0{places}d}"


def half_away(value: Fraction) -> int:
    whole = int(abs(value) + Fraction(1, 2))
    return -whole if value < 0 else whole


def cents(value: Fraction) -> str:
    c = half_away(value * 100)
    return f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}"


# ------------------------------------------------------------------- the number grammar


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", Fraction(0)),
        ("-0.000", Fraction(0)),
        ("12", Fraction(12)),
        ("+12.50", Fraction(25, 2)),
        (".5", Fraction(1, 2)),
        ("5.", Fraction(5)),
        ("1e3", Fraction(1000)),
        ("2.5E-2", Fraction(1, 40)),
        ("1.e2", Fraction(100)),
        ("0e999999999999", Fraction(0)),
        ("999999999999999", Fraction(999999999999999)),
        ("0.000000000001", Fraction(1, E)),
        ("1234567.123456789012", Fraction(1234567123456789012, E)),
        ("0001.5000000000000000000", Fraction(3, 2)),
    ],
)
def test_numbers_are_read_exactly(text: str, value: Fraction) -> None:
    status, scaled = money.exact_value(text)
    assert status == money.FAST
    assert Fraction(scaled, E) == value


@pytest.mark.parametrize(
    "text", ["1e15", "1000000000000000", "1e308", "-1e308", "1e-13", "0.0000000000001", "9e9999999"]
)
def test_numbers_too_large_or_too_precise_are_out_of_range(text: str) -> None:
    assert money.exact_value(text) == (money.OUT_OF_RANGE, 0)


@pytest.mark.parametrize(
    "text",
    ["", " ", "abc", "1,5", "0x10", "nan", "inf", "-inf", "1e", ".", "+", "1.2.3", "\u0661", "1_0"],
)
def test_other_texts_are_not_numbers(text: str) -> None:
    assert money.exact_value(text) == (money.NOT_A_NUMBER, 0)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(1, 8, 0), (125, 1000, 0), (1250, 100, 13), (375, 10, 38), (-1250, 100, -13), (-5, 10, -1)],
)
def test_rounding_is_half_away_from_zero(numerator: int, denominator: int, expected: int) -> None:
    assert money.round_half_away(numerator, denominator) == expected


def test_money_text_examples() -> None:
    assert [money.cents_text(c) for c in (0, 5, -5, 12345, -100)] == [
        "0.00",
        "0.05",
        "-0.05",
        "123.45",
        "-1.00",
    ]
    assert [money.ratio_text(p, w) for p, w in ((1, 32), (2, 3), (1, 1), (0, 7))] == [
        "0.0313",  # 0.03125: half away from zero
        "0.6667",
        "1.0000",
        "0.0000",
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(0, 7), st.integers(-(2**62), 2**62)), min_size=1, max_size=50
        ),
        min_size=1,
        max_size=20,
    )
)
def test_exact_sums_equal_pythons_integer_sums(batches: list[list[tuple[int, int]]]) -> None:
    sums = money.ExactSums()
    expected: dict[int, int] = defaultdict(int)
    for batch in batches:
        codes = np.array([c for c, _ in batch], dtype=np.int64)
        values = np.array([v for _, v in batch], dtype=np.int64)
        sums.add(codes, values, 8)
        for c, v in batch:
            expected[c] += v
    assert [int(t) for t in sums.totals(8)] == [expected[c] for c in range(8)]


def test_exact_sums_do_not_overflow_over_many_large_batches() -> None:
    sums = money.ExactSums()
    values = np.full(1 << 12, 2**62 - 1, dtype=np.int64)
    for _ in range(3000):  # 2^12 * 3000 values near 2^62: far beyond int64
        sums.add(np.zeros(len(values), dtype=np.int64), values, 1)
    assert [int(t) for t in sums.totals(1)] == [(2**62 - 1) * (1 << 12) * 3000]


# ------------------------------------------------------------------- through the engine


@st.composite
def amount(draw: st.DrawFn, max_value: int, decimals: int) -> tuple[str, Fraction]:
    """A decimal amount written in one of the accepted ways, and its exact value."""
    places = draw(st.integers(0, decimals))
    scaled = draw(st.integers(0, max_value * 10**places))
    value = Fraction(scaled, 10**places)
    style = draw(st.integers(0, 3))
    if style == 0:
        whole, frac = divmod(scaled, 10**places)
        text = f"{whole}.{frac:0{places}d}" if places else str(whole)
    elif style == 1:  # exponent notation
        text = f"{scaled}e-{places}" if places else f"{scaled}E0"
    elif style == 2:  # trailing zeros and padding spaces
        whole, frac = divmod(scaled, 10**places)
        text = f"  {whole}.{frac:0{places}d}000 " if places else f" {whole}.00"
    else:
        text = f"+{scaled}e-{places}" if places else f"+{scaled}"
    return text, value


@st.composite
def lines(draw: st.DrawFn) -> list[tuple[str, str, tuple[str, Fraction], ...]]:
    rows = []
    for i in range(draw(st.integers(1, 30))):
        big = draw(st.booleans())  # big amounts and many decimals take the exact slow path
        list_price = draw(amount(10**9 if big else 10**4, 8 if big else 3))
        cost_price = draw(amount(10**9 if big else 10**4, 8 if big else 3))
        discount = draw(amount(100, 4).filter(lambda a: a[1] <= 100))
        quantity = draw(st.integers(1, 10**5 if big else 20))
        quantity_text = draw(
            st.sampled_from([str(quantity), f"{quantity}.0", f"{quantity}e0", f" {quantity} "])
        )
        region = draw(st.sampled_from(["East", "West", "North", "South", "Centre"]))
        rows.append((f"O{i}", region, list_price, cost_price, discount, (quantity_text, quantity)))
    return rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_profit_and_revenue_equal_an_exact_oracle(rows: list) -> None:  # type: ignore[type-arg]
    body = []
    profit: dict[str, Fraction] = defaultdict(Fraction)
    revenue: dict[str, Fraction] = defaultdict(Fraction)
    for order, region, (lt, lv), (ct, cv), (dt, dv), (qt, qv) in rows:
        body.append(f"{order},Same Day,{region},F,C,{ct},{lt},{qt},{dt}")
        net = lv * (1 - dv / 100)
        revenue[region] += net * qv
        profit[region] += (net - cv) * qv
    result, rejected = run(HEADER + "\n" + "\n".join(body) + "\n")
    assert result.rows_rejected == 0, rejected
    names = sorted(profit, key=lambda r: (-profit[r], r))
    expected = [
        [
            str(1 + sum(profit[o] > profit[r] for o in names)),
            r,
            cents(profit[r]),
            cents(revenue[r]),
            str(len({row[0] for row in rows if row[1] == r})),
        ]
        for r in names
    ]
    assert region_rows(result) == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**7), st.integers(0, 10**7), st.integers(2, 9))
def test_equal_exact_profits_share_a_rank(mills: int, split: int, quantity: int) -> None:
    total = Fraction(mills, 1000)  # e.g. 24.215, reached in several exact ways
    part = Fraction(split % mills, 1000)
    rows = [
        f"A,Same Day,One line,F,C,0,{decimal(total)},1,0",
        f"B,Same Day,Two lines,F,C,0,{decimal(part)},1,0",
        f"C,Same Day,Two lines,F,C,0,{decimal(total - part)},1,0",
        f"D,Same Day,Half off,F,C,0,{decimal(total * 2)},1,50",
        f"E,Same Day,A mill less,F,C,0.001,{decimal(total)},1,0",
    ]
    if (total / quantity * 10**12).denominator == 1:
        rows.append(f"F,Same Day,In units,F,C,0,{decimal(total / quantity)},{quantity},0")
    result, _ = run(HEADER + "\n" + "\n".join(rows) + "\n")
    assert result.rows_rejected == 0
    table = region_rows(result)
    tied = [row for row in table if row[1] != "A mill less"]
    assert {row[0] for row in tied} == {"1"}
    assert {row[2] for row in tied} == {cents(total)}
    assert table[-1][1] == "A mill less" and table[-1][0] == str(len(tied) + 1)


def test_the_examples_of_the_issue() -> None:
    rows = [
        "A,Same Day,Exactly 24.215 once,F,C,0,24.215,1,0",
        "B,Same Day,Exactly 24.215 twice,F,C,0,12.1075,2,0",
        "C,Same Day,Eighth,F,C,0,0.125,1,0",
        "D,Same Day,Three eighths,F,C,0,0.375,1,0",
        "E,Same Day,Minus an eighth,F,C,0.125,0,1,0",
    ]
    result, _ = run(HEADER + "\n" + "\n".join(rows) + "\n")
    assert region_rows(result) == [
        ["1", "Exactly 24.215 once", "24.22", "24.22", "1"],
        ["1", "Exactly 24.215 twice", "24.22", "24.22", "1"],
        ["3", "Three eighths", "0.38", "0.38", "1"],
        ["4", "Eighth", "0.13", "0.13", "1"],
        ["5", "Minus an eighth", "-0.13", "0.00", "1"],
    ]


def test_values_too_large_to_compute_exactly_are_rejected_rows_with_a_reason() -> None:
    rows = [
        "A,Same Day,East,F,C,0,1e308,1,0",
        "B,Same Day,East,F,C,1e15,2,1,0",
        "C,Same Day,East,F,C,0,2,1e15,0",
        "D,Same Day,East,F,C,0,0.0000000000001,1,0",
        "E,Same Day,East,F,C,0,2,1,1e-20",
        "F,Same Day,East,F,C,0,999999999999999,999999999999999,0",  # large, but exact
        "G,Same Day,West,F,C,0,1e3,1,0",
    ]
    result, rejected = run(HEADER + "\n" + "\n".join(rows) + "\n")
    assert (result.rows_read, result.rows_rejected) == (7, 5)
    reasons = {r["order_id"]: r["reason"] for r in rejected}
    assert set(reasons) == {"A", "B", "C", "D", "E"}
    for order, column in {
        "A": "list_price '1e308'",
        "B": "cost_price '1e15'",
        "C": "quantity '1e15'",
        "D": "list_price '0.0000000000001'",
        "E": "discount_percent '1e-20'",
    }.items():
        assert reasons[order].startswith(f"{column} is too large or too precise to compute")
        assert "below 10^15 with at most 12 decimal places" in reasons[order]
    huge = 999999999999999 * 999999999999999
    assert region_rows(result) == [
        ["1", "East", f"{huge}.00", f"{huge}.00", "1"],
        ["2", "West", "1000.00", "1000.00", "1"],
    ]


def test_labels_are_trimmed_and_nfc_normalised_and_so_are_order_ids() -> None:
    nfc = "Qu\u00e9bec"
    nfd = unicodedata.normalize("NFD", nfc)
    cafe, cafe_nfd = "Caf\u00e9-1", unicodedata.normalize("NFD", "Caf\u00e9-1")
    mode_nfd = unicodedata.normalize("NFD", "Exp\u00e9di\u00e9")
    assert nfc != nfd
    rows = [
        f"{cafe},Exp\u00e9di\u00e9,{nfc},Meubles {nfc},Chaises,0,1,1,0",
        f" {cafe_nfd} , {mode_nfd} , {nfd} ,Meubles {nfd} , Chaises ,0,2,1,0",
    ]
    result, _ = run(HEADER + "\n" + "\n".join(rows) + "\n")
    assert region_rows(result) == [["1", nfc, "3.00", "3.00", "1"]]
    texts = {n: engine.to_csv(f).decode() for n, f in result.reports.items()}
    assert texts["orders_by_category"].splitlines()[1:] == [f"Meubles {nfc},Chaises,1,2"]
    assert texts["top_ship_mode_by_category"].splitlines()[1:] == [
        f"Meubles {nfc},Exp\u00e9di\u00e9,1,1.0000"
    ]

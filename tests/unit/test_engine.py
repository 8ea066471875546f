"""The report engine on small, hand-made orders files: the exact CSV text each report gets.

Every expected value below was worked out by hand from the contract in design.md
("Contract: the orders file" and "Contract: the reports").
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import FileError
from app.orders_csv import reader as csv_reader
from app.pipelines.reports import engine
from app.pipelines.reports.engine import REQUIRED_COLUMNS

REQUIRED = list(REQUIRED_COLUMNS)
HEADER = ",".join(REQUIRED)
EMPTY_REPORTS = {
    "most_profitable_region": "rank,region,profit,revenue,orders\n",
    "top_ship_mode_by_category": "category,ship_mode,orders,share\n",
    "orders_by_category": "category,sub_category,orders,line_items\n",
}


_WORK: list[Path] = []


@pytest.fixture(autouse=True)
def _workdir(tmp_path: Path) -> Iterator[None]:
    """Each run gets a fresh work directory under the test's tmp_path (as the service does)."""
    _WORK.append(tmp_path)
    yield
    _WORK.pop()


def workdir() -> Path:
    return Path(tempfile.mkdtemp(dir=_WORK[-1]))


def run(text: str | bytes) -> engine.Result:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return engine.run(io.BytesIO(data), workdir=workdir())


def reports(result: engine.Result) -> dict[str, str]:
    return {name: engine.to_csv(frame).decode("utf-8") for name, frame in result.reports.items()}


def rejected_text(result: engine.Result) -> str:
    if result.rejected_csv is None:
        return ""
    return result.rejected_csv.read_text(encoding="utf-8")


def rejected_rows(result: engine.Result) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(rejected_text(result), newline="")))


def rejected_header(result: engine.Result) -> list[str]:
    return next(csv.reader(io.StringIO(rejected_text(result), newline="")))


def file_error(data: bytes) -> FileError:
    with pytest.raises(FileError) as caught:
        engine.run(io.BytesIO(data), workdir=workdir())
    return caught.value


def lines(*rows: str) -> str:
    return "".join(row + "\n" for row in rows)


# ------------------------------------------------------------------- a worked example

# O1 spans three rows (two categories, the first and last rows are not adjacent); O4's ship
# mode is unknown; West makes a loss; Central's money needs rounding (9.999 and 3.999).
WORKED = lines(
    HEADER,
    "O1,Standard Class,East,Furniture,Chairs,10,20,2,0",  # revenue 40, profit 20
    "O1,Standard Class,East,Office Supplies,Binders,1,5,3,10",  # revenue 13.5, profit 10.5
    "O2,Same Day,West,Furniture,Tables,50,40,1,0",  # revenue 40, profit -10
    "O3,Same Day,East,Furniture,Chairs,5,10,1,50",  # revenue 5, profit 0
    "O4,Not Available,Central,Office Supplies,Binders,2,3.333,3,0",  # 9.999, 3.999
    "O1,Standard Class,East,Furniture,Chairs,10,20,1,0",  # revenue 20, profit 10
)
WORKED_REPORTS = {
    "most_profitable_region": lines(
        "rank,region,profit,revenue,orders",
        "1,East,40.50,78.50,2",
        "2,Central,4.00,10.00,1",
        "3,West,-10.00,40.00,1",
    ),
    # Furniture: Standard Class {O1}, Same Day {O2, O3}, of 3 known-mode orders.
    # Office Supplies: Standard Class {O1}; O4 has no known mode, so 1 known-mode order.
    "top_ship_mode_by_category": lines(
        "category,ship_mode,orders,share",
        "Furniture,Same Day,2,0.6667",
        "Office Supplies,Standard Class,1,1.0000",
    ),
    "orders_by_category": lines(
        "category,sub_category,orders,line_items",
        "Furniture,Chairs,2,3",
        "Furniture,Tables,1,1",
        "Office Supplies,Binders,2,2",
    ),
}


def test_worked_example_gives_the_three_reports() -> None:
    result = run(WORKED)
    assert reports(result) == WORKED_REPORTS
    assert (result.rows_read, result.rows_rejected) == (6, 0)
    assert result.rejected_csv is None
    assert result.bytes_read == len(WORKED.encode())
    assert result.columns == {c: c for c in REQUIRED}


def test_report_names_and_columns() -> None:
    result = run(WORKED)
    assert {name: list(frame.columns) for name, frame in result.reports.items()} == {
        "most_profitable_region": ["rank", "region", "profit", "revenue", "orders"],
        "top_ship_mode_by_category": ["category", "ship_mode", "orders", "share"],
        "orders_by_category": ["category", "sub_category", "orders", "line_items"],
    }


# ------------------------------------------------------------------- headers


def _reshape(header: list[str], order: list[int], extra: bool) -> str:
    """WORKED with other header spellings, columns in another order, maybe extra columns."""
    rows = list(csv.reader(io.StringIO(WORKED)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [header[i] for i in order]
    writer.writerow(["Order Date", *names, "Notes"] if extra else names)
    for row in rows[1:]:
        fields = [row[i] for i in order]
        writer.writerow(["2023-09-05", *fields, "call first, then ship"] if extra else fields)
    return out.getvalue()


SPELLINGS = {
    "spaces and capitals": [
        "Order Id",
        "Ship Mode",
        "Region",
        "Category",
        "Sub Category",
        "Cost Price",
        "List Price",
        "Quantity",
        "Discount Percent",
    ],
    "hyphens": [
        "order-id",
        "ship-mode",
        "region",
        "category",
        "sub-category",
        "cost-price",
        "list-price",
        "quantity",
        "discount-percent",
    ],
    "padded upper snake": [
        " ORDER_ID ",
        " SHIP_MODE",
        "REGION ",
        " CATEGORY ",
        " SUB_CATEGORY ",
        "COST_PRICE",
        "List_Price",
        "QUANTITY ",
        "  Discount_Percent",
    ],
    "mixed runs": [
        "Order  _Id",
        "ship - mode",
        "Region",
        "Category",
        "sub__category",
        "cost -_price",
        "list price",
        "Quantity",
        "discount_-percent",
    ],
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize(
    ("order", "extra"),
    [
        (list(range(9)), False),
        ([8, 4, 2, 0, 7, 1, 6, 3, 5], False),
        ([3, 5, 0, 1, 2, 4, 6, 7, 8], True),
    ],
)
def test_headers_match_whatever_the_spelling_order_or_extra_columns(
    spelling: str, order: list[int], extra: bool
) -> None:
    result = run(_reshape(SPELLINGS[spelling], order, extra))
    assert reports(result) == WORKED_REPORTS


def test_bom_and_crlf() -> None:
    data = "\ufeff" + WORKED.replace("\n", "\r\n")
    assert reports(run(data)) == WORKED_REPORTS


def test_bom_before_a_reordered_spelled_out_header_with_crlf() -> None:
    text = _reshape(SPELLINGS["spaces and capitals"], [0, 2, 1, 3, 4, 5, 6, 7, 8], True)
    data = ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8")
    assert reports(run(data)) == WORKED_REPORTS


def test_no_final_newline() -> None:
    assert reports(run(WORKED.rstrip("\n"))) == WORKED_REPORTS


def test_unnamed_and_duplicate_extra_columns_are_ignored() -> None:
    data = lines(
        HEADER + ",notes,notes,",
        "O1,Same Day,East,Furniture,Chairs,1,2,3,0,a,b,",
    )
    assert reports(run(data))["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders", "1,East,3.00,6.00,1"
    )


# ------------------------------------------------------------------- most_profitable_region


def test_equal_profit_shares_a_rank_and_the_next_rank_skips() -> None:
    data = lines(
        HEADER,
        "A,Same Day,North,F,C,0,5,1,0",
        "B,Same Day,South,F,C,0,1,1,0",
        "C,Same Day,East,F,C,1,6,1,0",
        "D,Same Day,West,F,C,0,0.5,1,0",
        "E,Same Day,West,F,C,0,0.5,1,0",
    )
    assert reports(run(data))["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders",
        "1,East,5.00,6.00,1",
        "1,North,5.00,5.00,1",
        "3,South,1.00,1.00,1",
        "3,West,1.00,1.00,2",
    )


def test_ranks_are_decided_on_exact_profit_not_on_the_printed_cents() -> None:
    # North and East both print 5.00, but North's profit is larger: it ranks first alone.
    data = lines(
        HEADER,
        "A,Same Day,North,F,C,0,5.001,1,0",
        "B,Same Day,East,F,C,0,4.999,1,0",
        "C,Same Day,South,F,C,0,4.99,1,0",
    )
    assert reports(run(data))["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders",
        "1,North,5.00,5.00,1",
        "2,East,5.00,5.00,1",
        "3,South,4.99,4.99,1",
    )


def test_equal_exact_profits_share_a_rank_and_round_half_away_from_zero() -> None:
    # 24.215 is not a binary fraction: float sums made these 24.22 (rank 1) and 24.21 (rank 2).
    data = lines(
        HEADER,
        "A,Same Day,North,F,C,0,24.215,1,0",
        "B,Same Day,South,F,C,0,4.843,5,0",  # 24.215 too, as 5 x 4.843
        "C,Same Day,South,F,C,1,1,1,0",  # profit 0
        "D,Same Day,West,F,C,0,0.125,1,0",
        "E,Same Day,East,F,C,0,0.375,1,0",
        "F,Same Day,Centre,F,C,0.125,0,1,0",  # a loss of 0.125
    )
    assert reports(run(data))["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders",
        "1,North,24.22,24.22,1",
        "1,South,24.22,25.22,2",
        "3,East,0.38,0.38,1",
        "4,West,0.13,0.13,1",
        "5,Centre,-0.13,0.00,1",
    )


def test_money_has_two_decimals_including_losses() -> None:
    data = lines(
        HEADER,
        "A,Same Day,East,F,C,10,3.5,3,20",  # net 2.8: revenue 8.40, profit -21.60
        "B,Same Day,West,F,C,0.1,0.2,1,0",  # revenue 0.20, profit 0.10
        "C,Same Day,North,F,C,1234.5,2000,7,15",  # net 1700: revenue 11900, profit 3258.50
        "D,Same Day,South,F,C,1,1,1,100",  # revenue 0, profit -1
    )
    assert reports(run(data))["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders",
        "1,North,3258.50,11900.00,1",
        "2,West,0.10,0.20,1",
        "3,South,-1.00,0.00,1",
        "4,East,-21.60,8.40,1",
    )


def test_orders_count_distinct_order_ids_across_rows() -> None:
    data = lines(
        HEADER,
        "O1,Same Day,East,F,C,0,1,1,0",
        "O2,Same Day,East,F,C,0,1,1,0",
        "O1,Same Day,East,F,D,0,1,1,0",
        "O3,Same Day,East,G,C,0,1,1,0",
        "O1,Same Day,East,F,C,0,1,1,0",
        "O2,Same Day,West,F,C,0,1,1,0",
    )
    result = reports(run(data))
    assert result["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders",
        "1,East,5.00,5.00,3",
        "2,West,1.00,1.00,1",
    )
    assert result["orders_by_category"] == lines(
        "category,sub_category,orders,line_items",
        "F,C,2,4",
        "F,D,1,1",
        "G,C,1,1",
    )
    assert result["top_ship_mode_by_category"] == lines(
        "category,ship_mode,orders,share",
        "F,Same Day,2,1.0000",
        "G,Same Day,1,1.0000",
    )


# ------------------------------------------------------------------- top_ship_mode_by_category


def test_tied_ship_modes_each_get_a_row() -> None:
    data = lines(
        HEADER,
        "A,Same Day,East,Furniture,Chairs,0,1,1,0",
        "B,Same Day,East,Furniture,Chairs,0,1,1,0",
        "C,Standard Class,East,Furniture,Tables,0,1,1,0",
        "D,Standard Class,East,Furniture,Chairs,0,1,1,0",
        "D,Standard Class,East,Furniture,Chairs,0,1,1,0",
        "E,First Class,East,Furniture,Chairs,0,1,1,0",
        "F,First Class,East,Technology,Phones,0,1,1,0",
    )
    assert reports(run(data))["top_ship_mode_by_category"] == lines(
        "category,ship_mode,orders,share",
        "Furniture,Same Day,2,0.4000",
        "Furniture,Standard Class,2,0.4000",
        "Technology,First Class,1,1.0000",
    )


def test_unknown_ship_modes_count_everywhere_but_in_ship_modes() -> None:
    data = lines(
        HEADER,
        "A,Same Day,East,Furniture,Chairs,0,1,1,0",
        "B,Not Available,East,Furniture,Chairs,0,1,1,0",
        "C,unknown,East,Furniture,Chairs,0,1,1,0",
        "D,,East,Furniture,Chairs,0,1,1,0",
        "E,Not Available,East,Furniture,Chairs,0,1,1,0",
        "E,Not Available,East,Furniture,Chairs,0,1,1,0",
        "F,Second Class,West,Furniture,Tables,0,1,1,0",
        "F,unknown,West,Furniture,Tables,0,1,1,0",
        "G,,West,Technology,Phones,0,2,1,0",
        "H,Not Available,West,Technology,Phones,0,2,1,0",
    )
    result = reports(run(data))
    # Furniture: A (Same Day) and F (Second Class) are its only known-mode orders.
    # Technology has no known ship mode at all, so it has no row.
    assert result["top_ship_mode_by_category"] == lines(
        "category,ship_mode,orders,share",
        "Furniture,Same Day,1,0.5000",
        "Furniture,Second Class,1,0.5000",
    )
    assert result["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders",
        "1,East,6.00,6.00,5",
        "1,West,6.00,6.00,3",
    )
    assert result["orders_by_category"] == lines(
        "category,sub_category,orders,line_items",
        "Furniture,Chairs,5,6",
        "Furniture,Tables,1,2",
        "Technology,Phones,2,2",
    )


def test_share_is_over_distinct_known_mode_orders_of_the_category() -> None:
    data = lines(
        HEADER,
        # Office: Same Day {P, Q, R}, First Class {Q, V}; known-mode orders {P, Q, R, V}.
        "P,Same Day,East,Office,Paper,0,1,1,0",
        "Q,Same Day,East,Office,Paper,0,1,1,0",
        "Q,First Class,East,Office,Labels,0,1,1,0",
        "Q,Same Day,East,Office,Labels,0,1,1,0",
        "R,Same Day,East,Office,Paper,0,1,1,0",
        "V,First Class,East,Office,Paper,0,1,1,0",
        "S,unknown,East,Office,Paper,0,1,1,0",
        # T ships Same Day, but in another category
        "T,Same Day,East,Tech,Phones,0,1,1,0",
    )
    assert reports(run(data))["top_ship_mode_by_category"] == lines(
        "category,ship_mode,orders,share",
        "Office,Same Day,3,0.7500",
        "Tech,Same Day,1,1.0000",
    )


# ------------------------------------------------------------------- quoting


def test_quoted_fields_with_commas_quotes_and_newlines() -> None:
    data = (
        "Sub Category,Order Id,Region,Category,Ship Mode,Cost Price,List Price,Quantity,"
        "Discount Percent,Notes\r\n"
        '"Chairs, big",A1,"East, coast","Furn\r\nit""ure",Same Day,1,2.5,2,10,"x,y\r\nz"\r\n'
        '"Chairs, big",A2,"East, coast","Furn\r\nit""ure",Same Day,"1","2.5",2,10,"a ""b"""\r\n'
    )
    result = reports(run(data))
    assert result == {
        "most_profitable_region": lines(
            "rank,region,profit,revenue,orders", '1,"East, coast",5.00,9.00,2'
        ),
        "top_ship_mode_by_category": lines(
            "category,ship_mode,orders,share", '"Furn\r\nit""ure",Same Day,2,1.0000'
        ),
        "orders_by_category": lines(
            "category,sub_category,orders,line_items", '"Furn\r\nit""ure","Chairs, big",2,2'
        ),
    }


# ------------------------------------------------------------------- rejected rows


def test_invalid_rows_are_rejected_with_a_reason_and_left_out_of_the_reports() -> None:
    data = lines(
        HEADER,
        "OK1,Same Day,East,F,C,1,2,1,0",
        "BAD1,Same Day,East,F,C,1,abc,1,0",  # row 3: non-numeric list price
        "BAD2,Same Day,East,F,C,1,2,-1,0",  # row 4: negative quantity
        "BAD3,Same Day,East,F,C,1,2,2.5,0",  # row 5: fractional quantity
        "BAD4,Same Day,East,F,C,1,2,1,150",  # row 6: discount over 100
        ",Same Day,East,F,C,1,2,1,0",  # row 7: empty order id
        "BAD6,Same Day,,F,C,-1,x,0,-5",  # row 8: five faults
        "OK2,Same Day,West,F,C,1,3,1,0",
    )
    result = run(data)
    assert reports(result)["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders",
        "1,West,2.00,3.00,1",
        "2,East,1.00,2.00,1",
    )
    assert (result.rows_read, result.rows_rejected) == (8, 6)
    assert rejected_header(result) == ["row", "reason", *REQUIRED]

    rows = {r["row"]: r for r in rejected_rows(result)}
    assert sorted(rows, key=int) == ["3", "4", "5", "6", "7", "8"]
    faulty = {
        "3": {"list_price"},
        "4": {"quantity"},
        "5": {"quantity"},
        "6": {"discount_percent"},
        "7": {"order_id"},
        "8": {"region", "cost_price", "list_price", "quantity", "discount_percent"},
    }
    for row, columns in faulty.items():
        reason = rows[row]["reason"]
        named = {c for c in REQUIRED if c in reason}
        assert named == columns, (row, reason)
    # the original fields come back untouched
    assert [rows["8"][c] for c in REQUIRED] == [
        "BAD6",
        "Same Day",
        "",
        "F",
        "C",
        "-1",
        "x",
        "0",
        "-5",
    ]
    assert rows["3"]["order_id"] == "BAD1" and rows["3"]["list_price"] == "abc"


def test_rejected_rows_keep_the_files_own_column_names() -> None:
    data = lines(
        "Order Id,Ship Mode,Region,Category,Sub Category,Cost Price,List Price,Quantity,Discount",
    )
    # "Discount" is not discount_percent: the header is missing a required column.
    assert file_error(data.encode()).code == "missing_columns"
    data = lines(
        "Order Id,Ship Mode,Region,Category,Sub Category,Cost Price,List Price,Quantity,"
        "Discount Percent",
        "A,Same Day,East,F,C,1,2,0,0",
    )
    result = run(data)
    assert rejected_header(result) == [
        "row",
        "reason",
        "Order Id",
        "Ship Mode",
        "Region",
        "Category",
        "Sub Category",
        "Cost Price",
        "List Price",
        "Quantity",
        "Discount Percent",
    ]
    assert rejected_rows(result)[0]["Quantity"] == "0"


def test_boundary_values_are_valid() -> None:
    data = lines(
        HEADER,
        "A,Same Day,East,F,C,0,0,1,0",
        "B,Same Day,East,F,C,0,1.50,1,100",
        "C,Same Day,East,F,C,0.0,2,1,100.0",
    )
    result = run(data)
    assert (result.rows_read, result.rows_rejected) == (3, 0)
    assert reports(result)["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders", "1,East,0.00,0.00,3"
    )


WRONG_FIELDS = lines(
    "order_id,order_date," + HEADER[len("order_id,") :],
    "A,2023-01-02,Same Day,East,F,C,1,2,1,0",
    "B,2023-01-03,Same Day,East,F,C,1,2,1",  # row 3: 9 fields of 10
    "C,2023-01-04,Same Day,East,F,C,1,2,1,0,surplus",  # row 4: 11 fields of 10
    "D,2023-01-05,Same Day,West,F,C,1,2,-1,0",  # row 5: negative quantity
    "E,2023-01-06,Same Day,East,F,C,1,4,1,0",
)


def test_a_row_with_the_wrong_number_of_fields_is_rejected_not_dropped() -> None:
    result = run(WRONG_FIELDS)
    assert (result.rows_read, result.rows_rejected) == (5, 3)
    assert reports(result)["most_profitable_region"] == lines(
        "rank,region,profit,revenue,orders", "1,East,4.00,6.00,2"
    )
    rows = rejected_rows(result)
    assert {r["order_id"] for r in rows} == {"B", "C", "D"}
    assert all(r["reason"] for r in rows)


def test_a_row_with_the_wrong_number_of_fields_gets_its_row_number() -> None:
    rows = {r["order_id"]: r["row"] for r in rejected_rows(run(WRONG_FIELDS))}
    assert rows["B"] == "3"
    assert rows["C"] == "4"


def test_row_numbers_after_a_row_with_the_wrong_number_of_fields_are_not_shifted() -> None:
    rows = {r["order_id"]: r["row"] for r in rejected_rows(run(WRONG_FIELDS))}
    assert rows["D"] == "5"


def test_a_row_with_the_wrong_number_of_fields_keeps_its_fields_under_their_own_columns() -> None:
    # The surplus field is at the end, so every header column still lines up with its field.
    rows = {r["order_id"]: r for r in rejected_rows(run(WRONG_FIELDS))}
    assert [rows["C"][c] for c in REQUIRED] == [
        "C",
        "Same Day",
        "East",
        "F",
        "C",
        "1",
        "2",
        "1",
        "0",
    ]


# ------------------------------------------------------------------- empty and failing files


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_a_header_only_file_gives_empty_reports_with_headers(ending: str) -> None:
    result = run(HEADER + ending)
    assert reports(result) == EMPTY_REPORTS
    assert (result.rows_read, result.rows_rejected) == (0, 0)
    assert result.rejected_csv is None


def test_blank_lines_are_not_records() -> None:
    result = run(WORKED.replace("\n", "\n\n", 3) + "\n\r\n")
    assert reports(result) == WORKED_REPORTS
    assert (result.rows_read, result.rows_rejected) == (6, 0)


def test_a_file_whose_rows_are_all_rejected_gives_empty_reports() -> None:
    result = run(lines(HEADER, "A,Same Day,East,F,C,1,2,0,0"))
    assert reports(result) == EMPTY_REPORTS
    assert (result.rows_read, result.rows_rejected) == (1, 1)


@pytest.mark.parametrize("missing", ["sub_category", "discount_percent", "ship_mode"])
def test_a_missing_required_column_is_a_file_error_naming_it(missing: str) -> None:
    header = ",".join(c for c in REQUIRED if c != missing)
    error = file_error(lines(header, "A,B,C,D,1,2,3,4").encode())
    assert error.code == "missing_columns"
    assert set(re.findall(r"\w+", error.message)) & set(REQUIRED) == {missing}


def test_a_zero_byte_file_is_empty_file() -> None:
    assert file_error(b"").code == "empty_file"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"order_id,ship_mode,r\xe9gion\n", 1),  # Latin-1 in the header
        (WORKED.encode() + b"O9,Same Day,Sm\xf6rland,F,C,1,2,1,0\n", 8),  # Latin-1 in a row
        (
            (HEADER + "\n").encode()
            + b"O9,Same Day,East,F,C,1,2,1,0\n" * 200_000
            + b"O9,Same Day,\xc3\x28,F,C,1,2,1,0\n",
            200_002,
        ),
        # the same, in a row that also has the wrong number of fields
        (
            (HEADER + "\n").encode() + b"O9,Same Day,East,F,C,1,2,1,0\n" * 200_000 + b"\xc3\x28\n",
            200_002,
        ),
        # in an extra column, and cut short at the very end of the file
        ((HEADER + ",notes\n").encode() + b"O9,Same Day,East,F,C,1,2,1,0,caf\xc3", 2),
    ],
    ids=["header", "row", "deep-in-the-file", "deep-in-a-short-row", "truncated-at-the-end"],
)
def test_invalid_utf8_anywhere_is_invalid_encoding_naming_the_line(
    data: bytes, line: int, capfd: pytest.CaptureFixture[str]
) -> None:
    error = file_error(data)
    assert error.code == "invalid_encoding"
    assert error.details["line"] == line
    assert f"not valid UTF-8 text: line {line} " in error.message
    # pyarrow used to print "Exception ignored ... UnicodeDecodeError" for a short row
    assert capfd.readouterr().err == ""


def test_old_mac_line_endings_are_read() -> None:
    assert reports(run(WORKED.replace("\n", "\r"))) == WORKED_REPORTS


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"order_id\x00,ship_mode\x00\n\x00\x00\x00", 1),
        (WORKED.encode() + b"O9,Same Day,Ea\x00st,F,C,1,2,1,0\n", 8),  # a required column
        (
            (HEADER + ",notes\n").encode()
            + b"O9,Same Day,East,F,C,1,2,1,0,\n" * 200_000
            + b"O9,Same Day,East,F,C,1,2,1,0,\x00\n",  # an extra column, many blocks in
            200_002,
        ),
    ],
    ids=["header", "required-column", "extra-column-deep-in-the-file"],
)
def test_a_nul_byte_anywhere_is_not_text_naming_the_line(data: bytes, line: int) -> None:
    error = file_error(data)
    assert error.code == "not_text"
    assert error.details["line"] == line


@pytest.mark.parametrize(
    "data",
    [
        gzip.compress(WORKED.encode(), mtime=0),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06",
    ],
    ids=["gzipped-csv", "png"],
)
def test_a_binary_file_is_not_text(data: bytes) -> None:
    assert b"\x00" in data
    assert file_error(data).code == "not_text"


# ------------------------------------------------------------------- batches


def _big_file(seed: int) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Order Date", *REQUIRED, "Notes"])
    modes = ["Same Day", "First Class", "Standard Class", "Not Available", "unknown", ""]
    order = 0
    while order < 2500:
        order += 1
        region = rng.choice(["East", "West", "Central", "South"])
        for _ in range(rng.randint(1, 4)):
            quantity = rng.choice(["1", "2", "7", "-1"] if rng.random() < 0.02 else ["1", "2"])
            writer.writerow(
                [
                    "2024-02-29",
                    f"CA-2024-{order:06d}",
                    rng.choice(modes),
                    region,
                    rng.choice(["Furniture", "Office, Supplies", "Technology"]),
                    rng.choice(["Chairs", "Binders", 'Paper "A4"', "Phones"]),
                    f"{rng.randint(0, 50000) / 100:.2f}",
                    f"{rng.randint(0, 90000) / 100:.2f}",
                    quantity,
                    str(rng.randint(0, 100)),
                    rng.choice(["", "fragile", "leave at door,\nring twice", "x" * 300]),
                ]
            )
    return out.getvalue().encode("utf-8")


def test_reading_in_many_small_batches_gives_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _big_file(seed=7)
    whole = run(data)
    monkeypatch.setattr(csv_reader, "BLOCK_SIZE", 4096)
    assert len(data) > 50 * 4096
    batched = run(data)

    assert reports(batched) == reports(whole)
    assert (batched.rows_read, batched.rows_rejected) == (whole.rows_read, whole.rows_rejected)
    assert whole.rows_rejected > 0
    assert rejected_text(batched) == rejected_text(whole)


def test_rejected_row_numbers_stay_right_across_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _big_file(seed=11)
    monkeypatch.setattr(csv_reader, "BLOCK_SIZE", 4096)
    result = run(data)
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    expected = {str(i + 1) for i, rec in enumerate(records) if i > 0 and rec[8] == "-1"}
    assert expected and {r["row"] for r in rejected_rows(result)} == expected
    # file order, and the same format as to_csv gives a frame
    numbers = [int(r["row"]) for r in rejected_rows(result)]
    assert numbers == sorted(numbers)


def test_the_rejected_file_is_written_as_to_csv_writes_a_frame() -> None:
    import pandas as pd

    result = run(WRONG_FIELDS.replace("D,2023", '"D\n""x"",",2023'))
    frame = pd.read_csv(result.rejected_csv, dtype=str, keep_default_na=False)
    assert engine.to_csv(frame).decode("utf-8") == rejected_text(result)
    assert rejected_text(result).count("\r") == 0

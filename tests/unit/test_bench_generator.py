"""The benchmark's input generator has the promised shape, and the reference engines agree."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks import generate, references

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"


def _write(tmp_path: Path, rows: int, invalid_rate: float, chunk_rows: int = 700) -> Path:
    path = tmp_path / f"orders-{rows}-{invalid_rate}.csv"
    with path.open("wb") as f:
        generate.write(f, rows, seed=7, chunk_rows=chunk_rows, invalid_rate=invalid_rate)
    return path


def test_generated_file_has_the_sample_header_and_a_realistic_shape(tmp_path: Path) -> None:
    path = _write(tmp_path, 2_000, invalid_rate=0.0)
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]

    assert header == SAMPLE.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert len(body) == 2_000
    assert all(len(r) == len(header) for r in body)
    col = {name: i for i, name in enumerate(header)}

    assert {r[col["Region"]] for r in body} == {"East", "West", "Central", "South"}
    pairs = {(r[col["Category"]], r[col["Sub Category"]]) for r in body}
    assert len(pairs) == 17
    assert {c for c, _ in pairs} == {"Furniture", "Office Supplies", "Technology"}
    modes = {r[col["Ship Mode"]] for r in body}
    assert {"Standard Class", "Second Class", "First Class", "Same Day"} <= modes
    assert modes & {"Not Available", "unknown", ""}

    # Orders are contiguous runs of 1..5 lines sharing the order-level fields, even across
    # chunk boundaries (chunks of 700 rows here).
    order_fields = ["Order Date", "Ship Mode", "Segment", "City", "State", "Region"]
    runs: list[list[list[str]]] = []
    for r in body:
        if runs and runs[-1][0][col["Order Id"]] == r[col["Order Id"]]:
            runs[-1].append(r)
        else:
            runs.append([r])
    assert len({run[0][col["Order Id"]] for run in runs}) == len(runs)
    assert {len(run) for run in runs} == {1, 2, 3, 4, 5}
    for run in runs:
        assert len({tuple(r[col[f]] for f in order_fields) for r in run}) == 1

    # Prices have cents, and every row's discounted price is whole cents (no half-cent ties).
    assert any(not r[col["List Price"]].endswith(".00") for r in body)
    for r in body:
        price = Decimal(r[col["List Price"]]) * (100 - Decimal(r[col["Discount Percent"]])) / 100
        assert price == price.quantize(Decimal("0.01"))

    # RFC 4180: fields with commas (and quotes) are quoted and round-trip through csv.
    assert any("," in r[col["City"]] for r in body)
    assert any('"' in r[col["Segment"]] for r in body)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    assert out.getvalue() == text


def test_generation_is_seeded() -> None:
    def make(seed: int) -> bytes:
        out = io.BytesIO()
        generate.write(out, 500, seed=seed, chunk_rows=200, invalid_rate=0.01)
        return out.getvalue()

    assert make(1) == make(1)
    assert make(1) != make(2)


def test_reference_engines_agree_on_a_generated_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 2_000, invalid_rate=0.02)
    results = {name: references.texts(fn(path)) for name, fn in references.ENGINES.items()}
    assert results["polars"] == results["duckdb"]
    assert results["pandas"] == results["duckdb"]
    regions = results["duckdb"]["most_profitable_region"].splitlines()
    assert regions[0] == "rank,region,profit,revenue,orders"
    assert len(regions) == 5


@pytest.mark.parametrize("engine", sorted(references.ENGINES))
def test_reference_engine_on_the_sample(engine: str) -> None:
    reports = references.as_frames(references.ENGINES[engine](SAMPLE))
    region = reports["most_profitable_region"]
    assert list(region.iloc[0][["rank", "region"]]) == [1, "East"]
    assert f"{region.iloc[0]['profit']:.2f}" == "2465.50"
    ship = reports["top_ship_mode_by_category"]
    furniture = ship[ship["category"] == "Furniture"]
    assert list(furniture["ship_mode"]) == ["Same Day", "Standard Class"]
    assert list(furniture["orders"]) == [2, 2]
    by_cat = reports["orders_by_category"].set_index(["category", "sub_category"])
    assert by_cat.loc[("Office Supplies", "Binders"), "orders"] == 3

"""The two consoles (results on stdout, messages on stderr) and the report tables."""

from __future__ import annotations

import csv
import io
import itertools
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from app.pipelines.reports.manifest import Manifest

# No markup, emoji codes or highlighting: file names and messages are printed as they are.
out = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)

TITLES = {
    "most_profitable_region": "Most profitable region",
    "top_ship_mode_by_category": "Most common ship mode per category",
    "orders_by_category": "Orders per category and sub-category",
}
_NUMERIC = {"rank", "profit", "revenue", "orders", "share", "line_items", "row"}
_CELL = 60  # characters of a label shown in a table; the CSV has it whole
csv.field_size_limit(1 << 30)  # a label may be as long as a row (see app.orders_csv.reader)


def _cell(text: str) -> str:
    return text if len(text) <= _CELL else f"{text[: _CELL - 1]}…"


def summary(manifest: Manifest, outputs: dict[str, str]) -> None:
    """Each report as a table (its first 20 rows), the headline answer, the row counts."""
    for key, text in outputs.items():
        report = key.split("/", 1)[0]
        if report not in TITLES:
            continue
        reader = csv.reader(io.StringIO(text))
        rows = list(itertools.islice(reader, 21))  # a report may have a million rows
        more = sum(1 for _ in reader)
        table = Table(title=TITLES[report], title_justify="left")
        for name in rows[0] if rows else []:
            table.add_column(name, justify="right" if name in _NUMERIC else "left")
        for row in rows[1:21]:
            table.add_row(*map(_cell, row))
        if more:
            table.caption = f"first 20 of {len(rows) - 1 + more} rows"
        out.print(table)
    headline = answer(outputs)
    if headline:
        out.print(headline)
    counts = manifest.rows
    if counts is not None:
        out.print(
            f"rows read {counts.read}, rejected {counts.rejected}"
            + (" (reasons in rejected_rows/)" if counts.rejected else "")
        )
    for key in manifest.outputs:
        out.print(f"  {key}")


def answer(outputs: dict[str, str]) -> str:
    """The headline: which region earns most (every region sharing rank 1)."""
    for key, text in outputs.items():
        if key.startswith("most_profitable_region/"):
            top = [r for r in csv.DictReader(io.StringIO(text)) if r["rank"] == "1"]
            if top:
                regions = " and ".join(r["region"] for r in top)
                return f"most profitable region: {regions} (profit {top[0]['profit']})"
    return ""

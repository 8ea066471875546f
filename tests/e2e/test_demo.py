"""The newcomer's path: `orders-pipeline demo`, as a process."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.e2e.conftest import CLI, ROOT


def test_demo_prints_the_three_answers() -> None:
    result = subprocess.run([CLI, "demo"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "most profitable region: East (profit 2465.50)" in out
    assert re.search(r"│ +1 │ East +│ 2465\.50 │", out)
    assert re.search(r"│ Furniture +│ Same Day +│ +2 │", out)
    assert re.search(r"│ Furniture +│ Standard Class +│ +2 │", out)
    assert re.search(r"│ Office Supplies │ Binders +│ +3 │", out)
    # the same upload, as the file registry and the table loader recorded it
    size = (ROOT / "assessment_assets" / "sample_orders.csv").stat().st_size
    assert f"  orders-pipeline-local-input/sample_orders.csv: {size} bytes, ETag " in out
    assert re.search(r"  reports: ok \(_manifests/dt=\d{4}-\d\d-\d\d/sample_orders\.json\)\n", out)
    assert "  loader: loaded, 20 rows loaded\n" in out
    assert (
        "rows table (orders-pipeline-local-rows): 20 items under "
        "orders-pipeline-local-input/sample_orders.csv, rows 2..21\n"
    ) in out
    # the customer feed's two sample days, as the messages on the customer-feed queue say
    assert re.search(r"│ 2022-01-30 │ ade3-11ed │ +2 │ 87\.50 │", out)
    assert re.search(r"│ 2022-01-31 │ 123 +│ +2 │ 62\.30 │", out)
    assert re.search(r"│ 2022-01-31 │ 456 +│ +1 │ 40\.00 │", out)
    # the transactions burst: four orders stored once (one sent twice), two alerts
    stored = re.findall(r"│ (demo-order-\d) │ user-\d +│ +([\d.]+) (EUR|USD|GBP) │", out)
    assert sorted(order for order, *_ in stored) == [f"demo-order-{n}" for n in range(1, 5)]
    assert re.search(r"│ demo-order-2 │ user-2 +│ 1500\.00 EUR │ +2 │ +4 │ yes +│", out)
    assert re.search(r"│ LARGE_ORDER +│ demo-order-2 │ 1500\.00 │ amount 1500\.00", out)
    assert re.search(r"│ INVALID_EVENT │ demo-order-5 │ - +│ amount: must", out)
    assert result.stderr == ""


def test_demo_of_a_bad_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = subprocess.run(
        [CLI, "demo", "--file", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr == (
        "error: bad.csv: missing required column(s): order_id, ship_mode, region, category, "
        "sub_category, cost_price, list_price, quantity, discount_percent\n"
    )
    assert "Traceback" not in result.stdout

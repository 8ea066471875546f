"""What a user sees from `orders-pipeline report` for each kind of bad input.

Each case checks the message, the exit status, and which files were (or were not) written.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
DT = "dt=2026-01-02"
HEADER = SAMPLE.read_text().splitlines()[0]
ROW = SAMPLE.read_text().splitlines()[
    1
]  # CA-2023-1000 ... West,Furniture,Bookcases ... 240,260,2,2


def run(tmp_path: Path, name: str, data: bytes, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "out"
    code = main(["report", str(path), "--out", str(out), "--date", "2026-01-02"])
    captured = capsys.readouterr()
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return code, captured.out, captured.err, files, out


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_sample_prints_the_answers_and_writes_the_layout(tmp_path, capsys) -> None:
    code, out, err, files, _ = run(tmp_path, "sample_orders.csv", SAMPLE.read_bytes(), capsys)
    assert code == 0, err
    assert "most profitable region: East (profit 2465.50)" in out
    assert "rows read 20, rejected 0" in out
    assert files == [
        f"_manifests/{DT}/sample_orders.json",
        f"most_profitable_region/{DT}/sample_orders.csv",
        f"orders_by_category/{DT}/sample_orders.csv",
        f"top_ship_mode_by_category/{DT}/sample_orders.csv",
    ]


def test_missing_required_column(tmp_path, capsys) -> None:
    data = SAMPLE.read_text().replace("Region,", "Area,").encode()
    code, out, err, files, root = run(tmp_path, "orders.csv", data, capsys)
    assert code == 1
    assert err == (
        f"error: {tmp_path / 'orders.csv'}: missing required column(s): region; "
        f"details in {root}/errors/{DT}/orders.json\n"
    )
    assert "Traceback" not in out
    assert files == [f"_manifests/{DT}/orders.json", f"errors/{DT}/orders.json"]
    error = json.loads((root / f"errors/{DT}/orders.json").read_text())
    assert error["code"] == "missing_columns" and error["details"]["missing"] == ["region"]
    manifest = json.loads((root / f"_manifests/{DT}/orders.json").read_text())
    assert manifest["status"] == "failed"


def test_zero_byte_file(tmp_path, capsys) -> None:
    code, _, err, files, _ = run(tmp_path, "empty.csv", b"", capsys)
    assert code == 1
    assert "empty.csv: the file is empty (0 bytes)" in err
    assert f"errors/{DT}/empty.json" in files
    assert not any(f.startswith("most_profitable_region") for f in files)


def test_header_only_is_success_with_empty_reports(tmp_path, capsys) -> None:
    code, out, _, files, root = run(tmp_path, "h.csv", (HEADER + "\n").encode(), capsys)
    assert code == 0
    assert "rows read 0, rejected 0" in out
    assert (root / f"most_profitable_region/{DT}/h.csv").read_text() == (
        "rank,region,profit,revenue,orders\n"
    )
    assert (root / f"top_ship_mode_by_category/{DT}/h.csv").read_text() == (
        "category,ship_mode,orders,share\n"
    )
    assert not any(f.startswith("rejected_rows") for f in files)


def test_bom_crlf_reordered_and_recased_headers_give_the_same_reports(tmp_path, capsys) -> None:
    rows = list(csv.reader(io.StringIO(SAMPLE.read_text())))
    header = ["SUB-CATEGORY" if h == "Sub Category" else f"  {h.upper()} " for h in rows[0]]
    order = list(reversed(range(len(header))))
    lines = [",".join(header[i] for i in order)] + [",".join(r[i] for i in order) for r in rows[1:]]
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()
    code, _, _, _, root = run(tmp_path, "sample_orders.csv", data, capsys)
    assert code == 0
    expected_root = tmp_path / "expected"
    assert main(["report", str(SAMPLE), "--out", str(expected_root), "--date", "2026-01-02"]) == 0
    for report in ("most_profitable_region", "top_ship_mode_by_category", "orders_by_category"):
        name = f"{report}/{DT}/sample_orders.csv"
        assert (root / name).read_text() == (expected_root / name).read_text()


def test_quoted_fields_with_commas_and_newlines(tmp_path, capsys) -> None:
    quoted = ROW.replace(",Furniture,Bookcases,", ',"Furniture, Home","Book\ncases",')
    quoted = quoted.replace("San Francisco", '"San Francisco, ""SF"""')
    code, _, _, _, root = run(tmp_path, "q.csv", f"{HEADER}\n{quoted}\n".encode(), capsys)
    assert code == 0
    rows = read_csv(root / f"orders_by_category/{DT}/q.csv")
    assert rows == [
        {
            "category": "Furniture, Home",
            "sub_category": "Book\ncases",
            "orders": "1",
            "line_items": "1",
        }
    ]


def test_bad_rows_are_rejected_with_reasons_and_the_rest_processed(tmp_path, capsys) -> None:
    def variant(order_id: str, field: int, value: str) -> str:
        cells = next(csv.reader([ROW]))
        cells[0] = order_id
        cells[field] = value
        return ",".join(cells)

    bad = [
        variant("B-1", 13, "abc"),  # list price not a number
        variant("B-2", 14, "-2"),  # negative quantity
        variant("B-3", 15, "150"),  # discount over 100
        variant("", 14, "1"),  # empty order id
    ]
    data = "\n".join([HEADER, ROW, *bad, ROW.replace("CA-2023-1000", "OK-2")]) + "\n"
    code, out, _, files, root = run(tmp_path, "mixed.csv", data.encode(), capsys)
    assert code == 0
    assert "rows read 6, rejected 4" in out
    rejected = read_csv(root / f"rejected_rows/{DT}/mixed.csv")
    assert [(r["row"], r["reason"]) for r in rejected] == [
        ("3", "list_price 'abc' is not a number >= 0"),
        ("4", "quantity '-2' is not a whole number >= 1"),
        ("5", "discount_percent '150' is not a number from 0 to 100"),
        ("6", "order_id is empty"),
    ]
    assert rejected[0]["Order Id"] == "B-1" and rejected[0]["List Price"] == "abc"
    region = read_csv(root / f"most_profitable_region/{DT}/mixed.csv")
    assert region == [
        {"rank": "1", "region": "West", "profit": "59.20", "revenue": "1019.20", "orders": "2"}
    ]
    manifest = json.loads((root / f"_manifests/{DT}/mixed.json").read_text())
    assert manifest["rows"] == {"read": 6, "valid": 2, "rejected": 4}
    assert f"rejected_rows/{DT}/mixed.csv" in files


def test_invalid_utf8(tmp_path, capsys) -> None:
    data = (HEADER + "\n" + ROW.replace("Bookcases", "Book\xe9cases") + "\n").encode("latin-1")
    code, out, err, files, _ = run(tmp_path, "latin1.csv", data, capsys)
    assert code == 1
    assert "latin1.csv: the file is not valid UTF-8 text" in err
    assert "Traceback" not in out + err
    assert not any(f.startswith("most_profitable_region") for f in files)


def test_binary_file_named_csv(tmp_path, capsys) -> None:
    data = bytes(range(256)) * 64
    code, _, err, files, _ = run(tmp_path, "photo.csv", data, capsys)
    assert code == 1
    assert err.startswith("error: ") and "photo.csv:" in err
    assert ("binary file" in err) or ("not valid UTF-8" in err)
    assert f"errors/{DT}/photo.json" in files


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report"], "the following arguments are required: INPUT"),
        (["report", "nope.csv"], "no such file: nope.csv"),
        (["report", str(SAMPLE), "--date", "22/11/2026"], "not a date (YYYY-MM-DD): '22/11/2026'"),
        (["report", "s3://just-a-bucket"], "not an s3://bucket/key URI"),
        (["report", "s3://a bucket/k.csv"], "not an S3 bucket name: 'a bucket'"),
        (["report", str(ROOT)], f"{ROOT} is a directory; give an orders CSV file"),
        (["demo", "--file", "nope.csv"], "no such file: nope.csv"),
        (["local", "--port", "65536"], "not a port number (0 to 65535): 65536"),
        (["local", "--port", "http"], "not a port number: 'http'"),
        ([], "required"),
    ],
)
def test_usage_errors_exit_2(args, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_console_script_exit_status_and_no_traceback(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "report", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "missing required column(s)" in lines[0]

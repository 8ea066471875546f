"""`orders-pipeline feed`: a partner checks one day's files without sending anything."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from app.cli import main
from app.local.server import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "assessment_assets" / "customer_feed"


def bodies(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_sample_day_prints_each_customer_and_writes_every_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feed.jsonl"
    assert main(["feed", str(FEED), "--date", "2022-01-31", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2022-01-31: joined; 3 customers, 4 orders, 5 items, 0 error messages" in printed
    messages = {m["customer_reference"]: m for m in bodies(out)}
    assert (messages["123"]["number_of_orders"], messages["123"]["total_amount_spent"]) == (2, 62.3)
    assert (messages["456"]["number_of_orders"], messages["456"]["total_amount_spent"]) == (1, 40.0)
    again = tmp_path / "again.jsonl"
    assert main(["feed", str(FEED), "--date", "2022-01-31", "--out", str(again)]) == 0
    assert again.read_text() == out.read_text()  # same bytes, same message ids


def test_an_order_without_items_is_in_the_message_and_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = tmp_path / "day"
    shutil.copytree(FEED, day)
    items = day / "items_20220131.csv"
    lines = items.read_text().splitlines(keepends=True)
    items.write_text("".join(line for line in lines if "789-456" not in line))
    out = tmp_path / "feed.jsonl"
    assert main(["feed", str(day), "--date", "2022-01-31", "--out", str(out)]) == 0
    assert "3 customers, 4 orders, 4 items, 1 error messages" in capsys.readouterr().out
    found = bodies(out)
    errors = [m for m in found if m["type"] == "error_message"]
    assert [(e["customer_reference"], e["order_reference"]) for e in errors] == [("789", "789-456")]
    (message,) = [m for m in found if m.get("customer_reference") == "789" and m is not errors[0]]
    assert message["orders"] == [
        {
            "order_reference": "789-456",
            "order_status": message["orders"][0]["order_status"],  # type: ignore[index]
            "order_timestamp": message["orders"][0]["order_timestamp"],  # type: ignore[index]
            "total": 0.0,
            "items": [],
        }
    ]


def test_a_bad_file_is_one_error_and_the_set_is_not_joined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = tmp_path / "day"
    shutil.copytree(FEED, day)
    (day / "orders_20220130.csv").write_text("id,customer_reference\n1,ade3-11ed\n")
    out = tmp_path / "feed.jsonl"
    assert main(["feed", str(day), "--date", "2022-01-30", "--out", str(out)]) == 0
    assert "NOT joined" in capsys.readouterr().out
    (error,) = bodies(out)
    assert error["type"] == "error_message" and error["file"] == "orders_20220130.csv"


def test_a_day_without_its_files_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feed", str(FEED), "--date", "2022-02-01"]) == 1
    assert capsys.readouterr().err == (
        f"error: {FEED}: no customers_20220201.csv, orders_20220201.csv, items_20220201.csv "
        "(a day's set is customers, orders and items)\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["feed", "no-such-dir", "--date", "2022-01-30"], "not a directory or s3:// URI"),
        (["feed", str(FEED), "--date", "30/01/2022"], "not a date (YYYY-MM-DD)"),
        (["feed", str(FEED)], "the following arguments are required: --date"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.moto_api._internal.models import moto_api_backend

    server = LoopbackServer()
    server.start()
    endpoint = f"http://127.0.0.1:{server.bound_port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield endpoint
    finally:
        server.stop()
        moto_api_backend.reset()


def test_files_in_s3_give_the_same_messages_as_the_same_files_on_disk(
    s3_endpoint: str, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="partner")
    for path in FEED.glob("*_20220130.csv"):
        s3.put_object(Bucket="partner", Key=f"daily/{path.name}", Body=path.read_bytes())
    remote, local = tmp_path / "remote.jsonl", tmp_path / "local.jsonl"
    assert main(["feed", "s3://partner/daily/", "--date", "2022-01-30", "--out", str(remote)]) == 0
    assert main(["feed", str(FEED), "--date", "2022-01-30", "--out", str(local)]) == 0
    assert remote.read_text() == local.read_text()  # an ETag is the MD5 of a single-part upload
    (message,) = bodies(remote)
    assert (message["customer_reference"], message["total_amount_spent"]) == ("ade3-11ed", 87.5)

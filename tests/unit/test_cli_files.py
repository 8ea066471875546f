"""`orders-pipeline files`: the registry as a user reads it, from a files table on a moto
server, and the one-line errors when it cannot be read."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.adapters.dynamodb import FileLedger
from app.cli import console, main
from app.core.objects import ObjectRef
from app.local import topology
from app.local.server import LoopbackServer

TABLE = "orders-pipeline-local-files"
CREDENTIALS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ENDPOINT_URL",
    "FILES_TABLE",
)
# (key, size, etag, landed at): the landing records, as the state machine writes them
LANDED = [
    ("in/2026/old.csv", 1234, "e-old", "2026-02-27T08:00:00.000Z"),
    ("in/orders.csv", 2_500_000, "e2", "2026-03-01T12:00:05.250Z"),
    ("feed/customers_20220130.csv", 77, "c1", "2026-02-28T23:59:59.999Z"),
]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No credentials, endpoint or table from anywhere but what a test sets; us-east-1; a
    console wide enough that no cell wraps."""
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(console.out, "width", 200)
    return monkeypatch


@pytest.fixture
def endpoint(aws_env: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server with an empty files table; test keys in the environment."""
    from moto.moto_api._internal.models import moto_api_backend

    server = LoopbackServer()
    server.start()
    url = f"http://127.0.0.1:{server.bound_port}"
    aws_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    create_table(url, TABLE)
    yield url
    server.stop()
    moto_api_backend.reset()


def create_table(url: str, name: str) -> None:
    dynamodb(url).create_table(**topology.FILES.definition(name))


def dynamodb(url: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")


def land(url: str, key: str, size: int, etag: str, landed_at: str, table: str = TABLE) -> None:
    bucket, _, rest = key.partition("/")
    dynamodb(url).update_item(
        TableName=table,
        Key={"FileName": {"S": key}},
        UpdateExpression="SET #b = :b, #k = :k, #s = :s, ETag = :e, LandedAt = :t, #st = :st",
        ExpressionAttributeNames={"#b": "Bucket", "#k": "Key", "#s": "Size", "#st": "Status"},
        ExpressionAttributeValues={
            ":b": {"S": bucket},
            ":k": {"S": rest},
            ":s": {"N": str(size)},
            ":e": {"S": etag},
            ":t": {"S": landed_at},
            ":st": {"S": "landed"},
        },
    )


def ref(name: str, etag: str) -> ObjectRef:
    bucket, _, key = name.partition("/")
    return ObjectRef(key=key, bucket=bucket, etag=etag)


@pytest.fixture
def registry(endpoint: str) -> str:
    for landed in LANDED:
        land(endpoint, *landed)
    ledger = FileLedger(dynamodb(endpoint), TABLE)
    ledger.add_reports_outcome(ref("in/orders.csv", "e1"), "ok", "_manifests/x.json")  # older
    ledger.set_loader_progress(ref("in/orders.csv", "e2"), "loaded", 20_000)
    ledger.add_reports_outcome(ref("in/2026/old.csv", "e-old"), "failed", "_manifests/y.json")
    ledger.set_loader_progress(ref("in/2026/old.csv", "e-old"), "failed", 3, "bad\nnumber")
    ledger.add_reports_outcome(ref("in/not-landed-yet.csv", "n1"), "ok", "_manifests/z.json")
    return endpoint


def files(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["files", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def rows(out: str) -> list[list[str]]:
    """The table's body rows, cell by cell (rich draws the header with ┃, the body with │)."""
    lines = [line for line in out.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in lines]


def test_the_registry_newest_first_with_each_outcome(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = files(capsys, "--endpoint-url", registry)
    assert code == 0, err
    assert f"Files in {TABLE}, newest first" in out
    assert rows(out) == [
        [
            "in/orders.csv",
            "2,500,000",
            "2026-03-01 12:00:05",
            "ok (older upload)",
            "20,000",
            "loaded",
        ],
        ["feed/customers_20220130.csv", "77", "2026-02-28 23:59:59", "-", "-", "-"],
        ["in/2026/old.csv", "1,234", "2026-02-27 08:00:00", "failed", "3", "failed: bad number"],
        ["in/not-landed-yet.csv", "-", "-", "ok", "-", "-"],  # an outcome before its landing
    ]


def test_endpoint_and_table_come_from_the_environment(
    registry: str, aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", registry)
    create_table(registry, "orders-pipeline-dev-files")
    land(registry, "in/dev.csv", 5, "d1", "2026-03-02T00:00:00.000Z", "orders-pipeline-dev-files")
    code, out, _ = files(capsys)
    assert code == 0 and len(rows(out)) == 4
    aws_env.setenv("FILES_TABLE", "orders-pipeline-dev-files")
    code, out, _ = files(capsys)
    assert code == 0 and [r[0] for r in rows(out)] == ["in/dev.csv"]
    code, out, _ = files(capsys, "--table", TABLE)  # the option wins over the variable
    assert code == 0 and len(rows(out)) == 4


def test_since_keeps_the_files_landed_on_or_after_that_date(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = files(capsys, "--endpoint-url", registry, "--since", "2026-02-28")
    assert code == 0
    assert "landed since 2026-02-28" in out
    assert [r[0] for r in rows(out)] == ["in/orders.csv", "feed/customers_20220130.csv"]
    code, out, _ = files(capsys, "--endpoint-url", registry, "--since", "2026-03-02")
    assert (code, out.strip()) == (0, f"no files landed since 2026-03-02 in {TABLE}")


def test_limit_keeps_the_newest(registry: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = files(capsys, "--endpoint-url", registry, "--limit", "2")
    assert code == 0
    assert [r[0] for r in rows(out)] == ["in/orders.csv", "feed/customers_20220130.csv"]
    assert "the 2 newest shown; there may be more (raise --limit)" in out


def test_an_empty_registry_says_so(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = files(capsys, "--endpoint-url", endpoint)
    assert (code, out.strip()) == (0, f"no files in {TABLE}")


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_missing_table_is_one_line(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = files(capsys, "--endpoint-url", endpoint, "--table", "nope")
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        "error: table nope: no such table; name it with --table (or FILES_TABLE), "
        "and check --endpoint-url and the region"
    )


def test_an_unreachable_endpoint_is_one_line(
    aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    aws_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed on exit: nothing listens there
    url = f"http://127.0.0.1:{port}"
    code, _, err = files(capsys, "--endpoint-url", url)
    assert code == 1
    line = one_error_line(err)
    assert line.startswith(f"error: table {TABLE}: cannot reach {url}")
    assert "(the connection failed)" in line


def test_no_credentials_is_one_line(
    endpoint: str, aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = files(capsys, "--endpoint-url", endpoint)
    assert code == 1
    assert one_error_line(err).startswith(f"error: table {TABLE}: no AWS credentials found;")


def test_no_region_is_one_line(
    endpoint: str, aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    aws_env.delenv("AWS_DEFAULT_REGION")
    aws_env.delenv("AWS_REGION", raising=False)
    code, _, err = files(capsys, "--endpoint-url", endpoint)
    assert code == 1
    assert "no AWS region is set; set AWS_DEFAULT_REGION" in one_error_line(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-01"], "argument --since: not a date (YYYY-MM-DD): '2026-13-01'"),
        (["--since", "yesterday"], "argument --since: not a date (YYYY-MM-DD): 'yesterday'"),
        (["--limit", "0"], "argument --limit: must be 1 or more: 0"),
        (["--limit", "ten"], "argument --limit: not a whole number: 'ten'"),
    ],
)
def test_bad_options_are_usage_errors(
    aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["files", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"orders-pipeline files: error: {message}"

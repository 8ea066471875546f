"""`report s3://bucket/key`: what a user sees when AWS says no or cannot be reached.

S3 is a real moto server on loopback (AWS_ENDPOINT_URL), or, for answers moto does not give
without IAM set-up (access denied, refused keys), a stub that answers as S3 does.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.cli import main
from app.local.server import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
DT = "dt=2026-01-02"
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
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No credentials from anywhere but what a test sets; us-east-1."""
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return monkeypatch


@pytest.fixture
def moto_s3(aws_env: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto server with bucket `orders`; AWS_ENDPOINT_URL and test keys point the CLI at it."""
    from moto.moto_api._internal.models import moto_api_backend

    server = LoopbackServer()
    server.start()
    endpoint = f"http://127.0.0.1:{server.bound_port}"
    aws_env.setenv("AWS_ENDPOINT_URL", endpoint)
    aws_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="orders")
    yield s3
    server.stop()
    moto_api_backend.reset()


def report(uri: str, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["report", uri, "--out", str(out), "--date", "2026-01-02"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed on return: nothing listens there


def test_an_s3_object_is_read_through_the_endpoint(moto_s3: Any, tmp_path: Path, capsys) -> None:
    moto_s3.put_object(Bucket="orders", Key="in/sample_orders.csv", Body=SAMPLE.read_bytes())
    code, out, err = report("s3://orders/in/sample_orders.csv", tmp_path / "out", capsys)
    assert code == 0, err
    assert "most profitable region: East (profit 2465.50)" in out
    assert (tmp_path / f"out/_manifests/{DT}/in~2Fsample_orders.json").is_file()


def test_missing_key_says_so_without_repeating_the_uri(
    moto_s3: Any, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    code, _, err = report("s3://orders/nope.csv", out, capsys)
    assert code == 1
    assert err == (
        "error: s3://orders/nope.csv: the object does not exist; "
        f"details in {out}/errors/{DT}/nope.json\n"
    )


def test_missing_bucket(moto_s3: Any, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, _, err = report("s3://no-such-bucket/orders.csv", out, capsys)
    assert code == 1
    assert err == (
        "error: s3://no-such-bucket/orders.csv: bucket no-such-bucket does not exist; "
        f"details in {out}/errors/{DT}/orders.json\n"
    )


def test_no_credentials(aws_env: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    out = tmp_path / "out"
    code, _, err = report("s3://orders/orders.csv", out, capsys)
    assert code == 1
    assert err == (
        "error: s3://orders/orders.csv: no AWS credentials found; set AWS_PROFILE, or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (`aws configure` writes a profile)\n"
    )
    assert not out.exists()


def test_unknown_profile(aws_env: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    aws_env.setenv("AWS_PROFILE", "nope")
    code, _, err = report("s3://orders/orders.csv", tmp_path / "out", capsys)
    assert code == 1
    assert err == (
        "error: s3://orders/orders.csv: The config profile (nope) could not be found; "
        "check AWS_PROFILE (`aws configure list-profiles`)\n"
    )


def test_unreachable_endpoint(aws_env: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    aws_env.setenv("AWS_ENDPOINT_URL", endpoint)
    aws_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    out = tmp_path / "out"
    code, _, err = report("s3://orders/orders.csv", out, capsys)
    assert code == 1
    assert err == (
        f"error: s3://orders/orders.csv: cannot reach {endpoint}/orders/orders.csv "
        "(the connection failed); check the network, or AWS_ENDPOINT_URL if it is set\n"
    )
    assert not out.exists()


class S3Says(BaseHTTPRequestHandler):
    """Every request gets the same S3 error document."""

    status = 403
    code = "AccessDenied"

    def do_GET(self) -> None:
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{self.code}</Code>"
            f"<Message>{self.code} says the stub</Message><RequestId>1</RequestId></Error>"
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "AccessDenied",
            "access denied; the credentials need s3:GetObject on the object (without "
            "s3:ListBucket on the bucket, S3 says this for a missing key too)",
        ),
        (
            "InvalidAccessKeyId",
            "the AWS credentials were refused (InvalidAccessKeyId); check AWS_PROFILE or the "
            "access keys, and renew an expired session",
        ),
        (
            "InvalidObjectState",
            "S3 refused the request (InvalidObjectState: InvalidObjectState says the stub)",
        ),
    ],
)
def test_s3_refusals(
    code: str, message: str, aws_env: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    handler = type("Stub", (S3Says,), {"code": code})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        aws_env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
        aws_env.setenv("AWS_ACCESS_KEY_ID", "testing")
        aws_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        out = tmp_path / "out"
        result = report("s3://orders/orders.csv", out, capsys)
    finally:
        server.shutdown()
        server.server_close()
    assert result[0] == 1
    assert result[2] == f"error: s3://orders/orders.csv: {message}\n"
    assert not out.exists()

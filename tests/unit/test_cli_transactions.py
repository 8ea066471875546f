"""`orders-pipeline send-events` and `transactions get` against a moto server, and the
producer's traffic: exact shares, sizes, reproducible, every invalid kind really invalid."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.adapters.transactions import TransactionsTable
from app.cli import console, main
from app.local import topology
from app.local.server import LoopbackServer
from app.pipelines.transactions.events import Invalid, TransactionEvent, parse
from app.pipelines.transactions.producer import INVALID_KINDS, Traffic, events, paced

pytestmark = pytest.mark.xdist_group("cli-transactions")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from moto.moto_api._internal.models import moto_api_backend

    loopback = LoopbackServer()
    loopback.start()
    yield f"http://127.0.0.1:{loopback.bound_port}"
    loopback.stop()
    moto_api_backend.reset()


@pytest.fixture
def aws(server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "TRANSACTIONS_TABLE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(console.out, "width", 400)
    return server


def client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def drain(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        bodies += [m["Body"] for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


# --------------------------------------------------------------------------- the traffic


def test_shares_are_exact_sizes_reached_and_the_seed_reproduces() -> None:
    traffic = Traffic(1_000, target_kb=2, invalid_share=0.05, large_share=0.02, seed=3)
    samples = list(events(traffic))
    assert samples == list(events(traffic))
    assert [s.body for s in samples] != [s.body for s in events(Traffic(1_000, 2, 0.05, 0.02))]
    kinds = Counter("invalid" if s.kind in INVALID_KINDS else s.kind for s in samples)
    assert kinds == {"valid": 930, "invalid": 50, "large": 20}
    assert {len(s.body) for s in samples} <= {2047, 2048}
    assert len({s.order_id for s in samples}) == 1_000
    for sample in samples:
        parsed = parse(sample.body)
        assert isinstance(parsed, Invalid) == (sample.kind in INVALID_KINDS), sample
        if isinstance(parsed, TransactionEvent):
            assert (parsed.amount >= 1000) == (sample.kind == "large")


@pytest.mark.parametrize(
    "bad",
    [
        {"count": -1},
        {"count": 1, "invalid_share": 1.5},
        {"count": 1, "invalid_share": 0.6, "large_share": 0.5},
        {"count": 1, "target_kb": 2000},
    ],
)
def test_impossible_traffic_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Traffic(**bad)


# --------------------------------------------------------------------------- send-events


def test_send_events_sends_every_event_in_batches_and_says_so(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = client(aws, "sqs")
    url = sqs.create_queue(QueueName="cli-send")["QueueUrl"]
    code, out, err = run(
        capsys, "send-events", "--count", "57", "--batch-size", "7", "--target-kb", "1.5",
        "--invalid-share", "0.1", "--large-share", "0.05", "--queue-url", url,
        "--endpoint-url", aws,
    )  # fmt: skip
    assert code == 0, err
    assert "sent 57 of 57 events" in out and "(6 invalid, 3 large" in out
    assert "9 SendMessageBatch calls; failed 0" in out  # 57 in batches of 7
    bodies = drain(sqs, url)
    assert len(bodies) == 57 and all(1530 <= len(b) <= 1536 for b in bodies)
    verdicts = Counter(isinstance(parse(b), Invalid) for b in bodies)
    assert verdicts == {False: 51, True: 6}


def test_send_events_paces_to_the_rate(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = client(aws, "sqs").create_queue(QueueName="cli-rate")["QueueUrl"]
    started = time.monotonic()
    code, _, err = run(
        capsys, "send-events", "--count", "30", "--rate", "100", "--batch-size", "1",
        "--queue-url", url, "--endpoint-url", aws,
    )  # fmt: skip
    assert code == 0, err
    assert time.monotonic() - started >= 0.29  # the 30th event leaves 0.29 s after the first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "11"], "must be 1 to 10"),
        (["--invalid-share", "0.7", "--large-share", "0.5"], "add up to more than 1"),
        (["--target-kb", "lots"], "not a number"),
    ],
)
def test_bad_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "send-events", "--count", "1", *args)
    assert code == 2 and message in err


def test_no_local_stack_or_no_queue_is_one_line(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    code, _, err = run(capsys, "send-events", "--count", "1", "--endpoint-url", closed)
    assert code == 1 and "start the local stack with `orders-pipeline local`" in err
    missing = f"{aws}/123456789012/no-such-queue"
    code, _, err = run(
        capsys, "send-events", "--count", "1", "--queue-url", missing, "--endpoint-url", aws
    )
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- transactions get


def test_get_prints_the_stored_order_whole(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    ddb, s3 = client(aws, "dynamodb"), client(aws, "s3")
    ddb.create_table(**topology.TRANSACTIONS.definition("cli-transactions"))
    s3.create_bucket(Bucket="cli-payloads")
    table = TransactionsTable(ddb, "cli-transactions")
    table.put_new(
        {"order_id": "o-1", "amount": Decimal("10.50"), "items": [{"sku": "a", "qty": 1}]}
    )
    event = {"order_id": "o-2", "items": [{"sku": "b", "qty": 2}], "padding": "x" * 500_000}
    s3.put_object(Bucket="cli-payloads", Key="transactions/payloads/h.json", Body=json.dumps(event))
    table.put_new(
        {
            "order_id": "o-2",
            "amount": Decimal(1500),
            "payload_bucket": "cli-payloads",
            "payload_key": "transactions/payloads/h.json",
        }
    )
    code, out, err = run(
        capsys, "transactions", "get", "o-1", "--table", "cli-transactions", "--endpoint-url", aws
    )
    assert code == 0, err
    assert json.loads(out, parse_float=Decimal) == {
        "order_id": "o-1", "amount": Decimal("10.5"), "items": [{"sku": "a", "qty": 1}]
    }  # fmt: skip
    code, out, err = run(
        capsys, "transactions", "get", "o-2", "--table", "cli-transactions", "--endpoint-url", aws
    )
    assert code == 0, err
    whole = json.loads(out)
    assert whole["padding"] == event["padding"] and whole["items"] == event["items"]
    assert whole["amount"] == 1500
    code, _, err = run(
        capsys, "transactions", "get", "o-3", "--table", "cli-transactions", "--endpoint-url", aws
    )
    assert code == 1 and "no order 'o-3'" in err


def test_paced_sends_the_nth_event_at_n_over_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    samples = list(events(Traffic(5)))
    sent = list(paced(samples, 10, clock=lambda: now[0], sleep=sleep))
    assert sent == [(s.order_id, s.body) for s in samples]
    assert slept == [0.1, 0.1, 0.1, 0.1]
    assert list(paced(samples, 0, clock=lambda: now[0], sleep=sleep)) == sent
    assert len(slept) == 4  # rate 0: no pause

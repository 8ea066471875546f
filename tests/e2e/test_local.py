"""`orders-pipeline local` as a user runs it: the printed command, what each upload prints."""

from __future__ import annotations

import gzip
import json
import os
import shlex
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.e2e.conftest import (
    BIN,
    CLI,
    FILES_TABLE,
    INPUT_BUCKET,
    OUTPUT_BUCKET,
    PARTNER_FEED_BUCKET,
    ROOT,
    ROWS_TABLE,
    SAMPLE,
    LocalProcess,
    path_without_aws,
)

Start = Callable[..., LocalProcess]


def processed(key: str, rows: int = 20) -> str:
    return f"processed {key}: {rows} rows, 0 rejected -> s3://{OUTPUT_BUCKET}/\n"


def printed_upload(local: LocalProcess) -> str:
    return next(line for line in local.intro if " s3 cp " in line).strip()


def run_printed(command: str, path: str) -> subprocess.CompletedProcess[str]:
    """The line exactly as printed, through a shell, in the directory `local` ran in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = path
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_printed_command_uses_the_project_aws_when_none_is_on_path(start_local: Start) -> None:
    path = path_without_aws()
    local = start_local(PATH=path)
    command = printed_upload(local)
    assert command == (
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing .venv/bin/aws "
        f"--region us-east-1 --endpoint-url {local.endpoint} s3 cp "
        f"assessment_assets/sample_orders.csv s3://{INPUT_BUCKET}/"
    ), "expects the venv in ROOT/.venv, where `make setup` puts it"
    upload = run_printed(command, path)
    assert upload.returncode == 0, f"{command}: {upload.stderr}"
    assert local.announced("sample_orders.csv")[-1] == processed("sample_orders.csv")


def test_printed_command_uses_the_aws_on_path(start_local: Start, tmp_path: Path) -> None:
    (tmp_path / "aws").symlink_to(BIN / "aws")  # an AWS CLI installed globally
    path = os.pathsep.join([str(tmp_path), path_without_aws()])
    local = start_local(PATH=path)
    command = printed_upload(local)
    assert shlex.split(command)[2:4] == ["aws", "--region"]
    upload = run_printed(command, path)
    assert upload.returncode == 0, f"{command}: {upload.stderr}"
    assert local.announced("sample_orders.csv")[-1] == processed("sample_orders.csv")


def test_console_has_one_line_per_upload_and_no_log_or_metrics_lines(start_local: Start) -> None:
    local = start_local()
    s3 = local.s3()
    s3.upload_file(str(SAMPLE), INPUT_BUCKET, "sample_orders.csv")
    s3.put_object(Bucket=INPUT_BUCKET, Key="bad.csv", Body=b"a,b\n1,2\n")
    seen = local.announced("sample_orders.csv", "bad.csv")
    code, rest = local.stop()
    assert code == 0
    assert sorted(seen) == [  # nothing else: no JSON log line, no EMF metrics line
        "processed sample_orders.csv: 20 rows, 0 rejected -> s3://orders-pipeline-local-output/\n",
        "rejected bad.csv: missing required column(s): order_id, ship_mode, region, category, "
        "sub_category, cost_price, list_price, quantity, discount_percent\n",
    ]
    assert rest == "\nstopping...\n"


def test_every_upload_is_announced_csv_in_any_case_gzip_or_ignored(start_local: Start) -> None:
    local = start_local()
    s3 = local.s3()
    sample = SAMPLE.read_bytes()
    s3.put_object(Bucket=INPUT_BUCKET, Key="ORDERS.CSV", Body=sample)
    s3.put_object(Bucket=INPUT_BUCKET, Key="in/orders.csv.gz", Body=gzip.compress(sample))
    s3.put_object(Bucket=INPUT_BUCKET, Key="notes.txt", Body=b"not orders\n")
    seen = local.announced("ORDERS.CSV", "in/orders.csv.gz", "notes.txt")
    assert sorted(seen) == [
        "ignored notes.txt: not a .csv or .csv.gz file\n",
        processed("ORDERS.CSV"),
        processed("in/orders.csv.gz"),
    ]


def test_files_are_announced_past_a_thousand_manifests(start_local: Start) -> None:
    local = start_local()
    s3 = local.s3()

    def filler(i: int) -> None:  # sorts before today's partition: a first page of others
        key = f"_manifests/dt=2000-01-01/filler-{i:04d}.json"
        s3.put_object(Bucket=OUTPUT_BUCKET, Key=key, Body=b"{}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(filler, range(1001)))
    s3.put_object(Bucket=INPUT_BUCKET, Key="sample_orders.csv", Body=SAMPLE.read_bytes())
    assert local.announced("sample_orders.csv")[-1] == processed("sample_orders.csv")
    listing = s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix="_manifests/")
    assert listing["IsTruncated"]  # the manifest announced is past the first page


def test_busy_port_exits_1_with_its_message() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [CLI, "local", "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: the port is in use by another program; "
        "stop it, or choose another port with --port (--port 0 picks a free one)\n"
    )


def test_one_upload_reaches_all_three_consumers(start_local: Start) -> None:
    """The registry records it (with the reports' and the loader's outcomes), the loader
    writes one item per record, and a shorter re-upload leaves exactly its rows."""
    local = start_local()
    s3 = local.s3()
    s3.upload_file(str(SAMPLE), INPUT_BUCKET, "sample_orders.csv")
    assert local.announced("sample_orders.csv")[-1] == processed("sample_orders.csv")
    assert set(
        local.consumers_announced(
            f"registered sample_orders.csv in {FILES_TABLE}\n",
            f"loaded sample_orders.csv: 20 rows into {ROWS_TABLE}\n",
        )
    ) == {
        f"registered sample_orders.csv in {FILES_TABLE}\n",
        f"loaded sample_orders.csv: 20 rows into {ROWS_TABLE}\n",
    }
    dynamodb = local.client("dynamodb")
    name = f"{INPUT_BUCKET}/sample_orders.csv"
    item = local.wait_for_item(FILES_TABLE, name, "Reports", "Status")
    assert item["Size"] == {"N": str(SAMPLE.stat().st_size)}
    assert item["Reports"] == {"S": "ok"}
    assert item["RowsLoaded"] == {"N": "20"}
    assert rows_of(dynamodb, name) == list(range(2, 22))

    short = b"".join(SAMPLE.read_bytes().splitlines(keepends=True)[:6])  # header + 5 records
    s3.put_object(Bucket=INPUT_BUCKET, Key="sample_orders.csv", Body=short)
    local.consumers_announced(f"loaded sample_orders.csv: 5 rows into {ROWS_TABLE}\n")
    assert rows_of(dynamodb, name) == list(range(2, 7))

    s3.put_object(Bucket=PARTNER_FEED_BUCKET, Key="customers_20220130.csv", Body=b"id\n1\n")
    local.consumers_announced(
        f"registered s3://{PARTNER_FEED_BUCKET}/customers_20220130.csv in {FILES_TABLE}\n"
    )
    landed = local.wait_for_item(FILES_TABLE, f"{PARTNER_FEED_BUCKET}/customers_20220130.csv")
    assert landed["Status"] == {"S": "landed"}


def rows_of(dynamodb: Any, source: str) -> list[int]:
    pages = dynamodb.get_paginator("query").paginate(
        TableName=ROWS_TABLE,
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "source"},
        ExpressionAttributeValues={":s": {"S": source}},
    )
    return [int(item["row"]["N"]) for page in pages for item in page["Items"]]


def test_events_sent_straight_to_the_transactions_queue_end_as_the_contract_says(
    start_local: Start,
) -> None:
    """As a client that is not the project's: valid, invalid, large (1500), duplicated and
    450 KB events sent with plain boto3; each valid one stored once (the large one readable in
    full), one LARGE_ORDER and one INVALID_EVENT alert on -alerts, nothing in the DLQ."""
    local = start_local()
    sqs, sns, dynamodb, s3 = (local.client(s) for s in ("sqs", "sns", "dynamodb", "s3"))
    prefix = "orders-pipeline-local"
    topic = f"arn:aws:sns:us-east-1:123456789012:{prefix}-alerts"
    inbox = sqs.create_queue(QueueName="e2e-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )

    def order(order_id: str, amount: str, padding: str = "") -> str:
        extra = f', "padding": "{padding}"' if padding else ""
        return (
            f'{{"order_id": "{order_id}", "user_id": "u-1", "amount": {amount}, '
            f'"currency": "EUR", "items": [{{"sku": "A", "qty": 2}}]{extra}}}'
        )

    bodies = {
        "e2e-1": order("e2e-1", "12.30"),
        "e2e-large": order("e2e-large", "1500"),
        "e2e-big": order("e2e-big", "20", "p" * 450_000),
    }
    queue = sqs.get_queue_url(QueueName=f"{prefix}-transactions")["QueueUrl"]
    for body in [*bodies.values(), bodies["e2e-1"], '{"order_id": "e2e-bad", "amount": -1}']:
        sqs.send_message(QueueUrl=queue, MessageBody=body)

    alerts: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    while len(alerts) < 2 and time.monotonic() < deadline:
        for m in sqs.receive_message(
            QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", []):
            body = json.loads(m["Body"])
            assert m["MessageAttributes"]["alert"]["StringValue"] == body["alert"]
            alerts[body["alert"]] = body
    assert alerts["LARGE_ORDER"]["order_id"] == "e2e-large"
    assert alerts["INVALID_EVENT"]["order_id"] == "e2e-bad"
    assert any(r.startswith("user_id: required") for r in alerts["INVALID_EVENT"]["reasons"])

    table = f"{prefix}-transactions"
    for order_id in bodies:
        while "Item" not in dynamodb.get_item(TableName=table, Key={"order_id": {"S": order_id}}):
            assert time.monotonic() < deadline, f"{order_id} not stored"
            time.sleep(0.1)
    time.sleep(1)  # the duplicate's delivery, had it been written twice
    stored = dynamodb.scan(TableName=table, ScanFilter={
        "order_id": {"AttributeValueList": [{"S": "e2e-"}], "ComparisonOperator": "BEGINS_WITH"}
    })["Items"]  # fmt: skip
    assert sorted(i["order_id"]["S"] for i in stored) == sorted(bodies)
    big = next(i for i in stored if i["order_id"]["S"] == "e2e-big")
    payload = s3.get_object(Bucket=big["payload_bucket"]["S"], Key=big["payload_key"]["S"])
    assert payload["Body"].read().decode() == bodies["e2e-big"]
    whole = subprocess.run(
        [CLI, "transactions", "get", "e2e-big", "--endpoint-url", local.endpoint],
        capture_output=True, text=True, check=True,
        env=os.environ | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )  # fmt: skip
    assert json.loads(whole.stdout)["padding"] == "p" * 450_000
    dlq = sqs.get_queue_url(QueueName=f"{prefix}-transactions-dlq")["QueueUrl"]
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"

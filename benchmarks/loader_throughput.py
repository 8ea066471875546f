"""Table loader throughput: a generated orders CSV into DynamoDB through the loader's real code.

    python -m benchmarks.loader_throughput --rows 1000000 [--seed 42]
        [--validation off,on] [--no-explain]

The CSV comes from benchmarks/generate.py (cached under benchmarks/data/). Each variant runs
in a fresh child process (so its peak RSS and CPU are its own) against a moto server that
runs in a separate process (`moto_server -p PORT`), so client and emulator each get a core.
The child uploads the file (not timed), then times one invocation of the loader function's
handler (S3 notification in: reader, items, BatchWriteItem, ledger, delete past the end),
checks the ledger says every record was loaded, and reports items/s, wall, its CPU and peak
RSS, and the server's CPU and RSS.

Variants: `--validation on` is the default botocore client; `off` is the client the function
builds for the rows table (Config(parameter_validation=False)), which is safe only because
the loader builds valid items by construction (app.pipelines.table_loader.items).

`--explain` (default on) then measures, in this process, what bounds the numbers:
- moto: creating one stored item (moto.dynamodb Item) for items of 4 to 72 attributes. Its
  LimitedSizeDict re-sums the size of every attribute already set on each new attribute set:
  quadratic in the attribute count, so a 16-column orders row costs far more than 16x a
  one-column row, and the server's CPU, not the client's, is the ceiling here.
- botocore: the cost of validating one 25-item BatchWriteItem request, against the client's
  CPU per call measured in the runs.
Against real DynamoDB neither applies: the service does not run in this process, and the
ceiling is the table's write throughput (on-demand: scales, throttling answered with
UnprocessedItems and retried with backoff) and the round trips (a few batches in
flight, rows_table.CONCURRENCY).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from app.adapters import rows_table
from app.adapters.rows_table import BATCH
from app.local import topology

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUCKET = "orders-pipeline-bench-input"
ROWS_TABLE = "orders-pipeline-bench-rows"
FILES_TABLE = "orders-pipeline-bench-files"
REGION = "us-east-1"


# --------------------------------------------------------------------------- the emulator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[tuple[str, psutil.Process]]:
    """`moto_server -p PORT` as a child process; its endpoint and process."""
    port = _free_port()
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield endpoint, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _clients(endpoint: str, validate: bool) -> dict[str, Any]:
    """The function's clients; DynamoDB's with parameter validation on or off (the function
    builds its rows-table client with it off: app.adapters.rows_table.rows_client)."""
    import boto3
    from botocore.config import Config

    from app.adapters.clients import CLIENT_CONFIG

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    config = CLIENT_CONFIG
    dynamodb = config.merge(Config(parameter_validation=validate))
    return {
        "s3": session.client("s3", endpoint_url=endpoint, config=config),
        "dynamodb": session.client("dynamodb", endpoint_url=endpoint, config=dynamodb),
        "sqs": session.client("sqs", endpoint_url=endpoint, config=config),
    }


def _create(clients: dict[str, Any]) -> str:
    clients["s3"].create_bucket(Bucket=BUCKET)
    ddb = clients["dynamodb"]
    ddb.create_table(**topology.ROWS.definition(ROWS_TABLE))
    ddb.create_table(**topology.FILES.definition(FILES_TABLE))
    url: str = clients["sqs"].create_queue(QueueName="orders-pipeline-bench-loader-continue")[
        "QueueUrl"
    ]
    return url


# --------------------------------------------------------------------------- one variant


def run_variant(path: Path, records: int, validate: bool) -> dict[str, Any]:
    """Load the file once (in this process); the measurements."""
    from app.core.settings import LoaderSettings, Telemetry
    from app.local.pump import LambdaContext
    from app.pipelines.table_loader import function

    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    with moto_server() as (endpoint, server):
        clients = _clients(endpoint, validate)
        queue_url = _create(clients)
        key = path.name
        clients["s3"].upload_file(str(path), BUCKET, key)
        etag = clients["s3"].head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
        event = {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "eventTime": "2026-01-01T00:00:00.000Z",
                    "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "eTag": etag}},
                }
            ]
        }
        settings = LoaderSettings(
            ROWS_TABLE, FILES_TABLE, queue_url, telemetry=Telemetry("bench-loader", "B", "ERROR")
        )
        handler = function.make_handler(  # the function's handler, its clients given
            settings, s3=clients["s3"], dynamodb=clients["dynamodb"], sqs=clients["sqs"]
        )
        server_cpu = sum(server.cpu_times()[:2])
        cpu = time.process_time()
        start = time.perf_counter()
        handler(event, LambdaContext("bench-loader", "bench-1"))
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
        server_cpu = sum(server.cpu_times()[:2]) - server_cpu
        server_rss = server.memory_info().rss
        ledger = clients["dynamodb"].get_item(
            TableName=FILES_TABLE, Key={"FileName": {"S": f"{BUCKET}/{key}"}}
        )["Item"]
        status, loaded = ledger["LoaderStatus"]["S"], int(ledger["RowsLoaded"]["N"])
        if status != "loaded" or loaded != records:
            raise RuntimeError(f"the load did not finish: {status}, {loaded} of {records} rows")
        for row in (2, records + 1):
            item = clients["dynamodb"].get_item(
                TableName=ROWS_TABLE,
                Key={"source": {"S": f"{BUCKET}/{key}"}, "row": {"N": str(row)}},
            )
            if "Item" not in item:
                raise RuntimeError(f"row {row} is missing from the table")
    batch_calls = -(-loaded // BATCH)  # moto never leaves items unprocessed
    return {
        "validation": "on" if validate else "off",
        "rows": loaded,
        "batch_calls": batch_calls,
        "wall_s": wall,
        "items_per_s": loaded / wall,
        "client_cpu_s": cpu,
        "client_cpu_per_call_ms": 1000 * cpu / max(batch_calls, 1),
        "client_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "server_cpu_s": server_cpu,
        "server_rss_mb": server_rss / (1 << 20),
    }


# --------------------------------------------------------------------------- what limits it


def explain(rows_path: Path) -> list[str]:
    import timeit

    from botocore.session import get_session
    from botocore.validate import ParamValidator
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from app.orders_csv.reader import RecordReader
    from app.pipelines.table_loader.items import ItemMaker

    lines = ["moto: building one stored item (moto.dynamodb.models.Item), by attribute count:"]
    for width in (4, 18, 36, 72):
        attrs = {f"attribute_{i}": {"S": f"value {i}"} for i in range(width)}
        number = 2000
        seconds = timeit.timeit(
            lambda attrs=attrs: Item(DynamoType({"S": "k"}), DynamoType({"N": "2"}), attrs),
            number=number,
        )
        per = 1e6 * seconds / number
        lines.append(f"  {width:3d} attributes: {per:8.1f} us/item ({per / width:6.2f} us/attr)")

    with rows_path.open("rb") as f:
        reader = RecordReader(f, block_size=1 << 20)
        maker = ItemMaker(f"{BUCKET}/{rows_path.name}", reader.header())
        chunk = next(reader.chunks())
    built = [i for i in maker.items(chunk.data, 2) if isinstance(i, dict)]
    params = {"RequestItems": {ROWS_TABLE: [{"PutRequest": {"Item": i}} for i in built[:25]]}}
    shape = get_session().get_service_model("dynamodb").operation_model("BatchWriteItem")
    validator = ParamValidator()
    number = 500
    validate = timeit.timeit(lambda: validator.validate(params, shape.input_shape), number=number)
    build = timeit.timeit(lambda: sum(1 for _ in maker.items(chunk.data, 2)), number=3) / 3
    lines.append(
        f"botocore: validating one 25-item BatchWriteItem takes {1000 * validate / number:.2f} ms;"
        f" reading and building its 25 items {1000 * 25 * build / len(built):.2f} ms"
    )
    return lines


# --------------------------------------------------------------------------- main


def _line(r: dict[str, Any]) -> str:
    return (
        f"validation {r['validation']:>3}: {r['items_per_s']:7,.0f} items/s, "
        f"wall {r['wall_s']:.1f} s | client: CPU {r['client_cpu_s']:.1f} s "
        f"({r['client_cpu_per_call_ms']:.2f} ms per BatchWriteItem, {r['batch_calls']:,} calls), "
        f"peak RSS {r['client_peak_rss_mb']:.0f} MB | moto server: CPU {r['server_cpu_s']:.1f} s, "
        f"RSS {r['server_rss_mb']:,.0f} MB"
    )


def _child(args: argparse.Namespace) -> int:
    result = run_variant(Path(args.file), args.records, args.validation == "on")
    print(json.dumps(result))
    return 0


def _records(path: Path) -> int:
    """Data records of a generated file (its generator writes no blank lines or quoted
    line ends), counted without parsing."""
    with path.open("rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))
    return lines - 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--validation", default="off,on", help="off, on, or off,on")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--output", type=Path, help="also write the lines to this markdown file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--records", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)

    generated = subprocess.run(  # its own process: polars' memory is not the loader's
        [
            sys.executable,
            "-m",
            "benchmarks.generate",
            "--rows",
            str(args.rows),
            "--seed",
            str(args.seed),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    path = Path(generated.stdout.strip().splitlines()[-1])
    records = _records(path)
    size_mb = path.stat().st_size / (1 << 20)
    report = [
        f"file: {path.name}, {records:,} records, {size_mb:.1f} MiB; "
        f"moto_server in its own process; {os.cpu_count()} CPUs; "
        f"{rows_table.CONCURRENCY} batches of {BATCH} in flight"
    ]
    print(report[0])
    results = []
    for validation in args.validation.split(","):
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.loader_throughput",
                "--child",
                "--file",
                str(path),
                "--records",
                str(records),
                "--validation",
                validation,
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        results.append(result)
        report.append(_line(result))
        print(report[-1], flush=True)
    if len(results) == 2:
        on = next(r for r in results if r["validation"] == "on")
        off = next(r for r in results if r["validation"] == "off")
        saved = 1 - off["client_cpu_s"] / on["client_cpu_s"]
        report.append(
            f"parameter validation: {saved:.0%} of the client's CPU; "
            f"wall {on['wall_s'] / off['wall_s']:.2f}x with it"
        )
        print(report[-1])
    if not args.no_explain:
        for line in explain(path):
            report.append(line)
            print(line)
    if args.output:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        args.output.write_text(
            "# Table loader throughput\n\n"
            f"`make bench` (`python -m benchmarks.loader_throughput --rows {args.rows}`); "
            f"load average at the end: {load}. The loader's real code (reader, items, "
            "BatchWriteItem writer) against a moto server in its own process.\n\n"
            "```\n" + "\n".join(report) + "\n```\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

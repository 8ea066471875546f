"""The orders-pipeline command: run the reports on a file, or the whole pipeline on a laptop."""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"

out = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args, parser)
        return code
    except KeyboardInterrupt:
        err.print("stopped")
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orders-pipeline",
        description="Order analytics: an orders CSV in, three date-partitioned reports out.",
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    report = sub.add_parser("report", help="build the reports for one orders CSV")
    report.add_argument("input", metavar="INPUT", help="a local path or s3://bucket/key")
    report.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        help="output directory, laid out like the bucket (default: ./out)",
    )
    report.add_argument(
        "--date", type=_date, default=None, help="partition date YYYY-MM-DD (default: today, UTC)"
    )
    report.set_defaults(run=_report)

    demo = sub.add_parser("demo", help="run the pipeline once on the embedded AWS, then stop")
    demo.add_argument("--file", type=Path, default=SAMPLE, help="orders CSV to upload")
    demo.set_defaults(run=_demo)

    local = sub.add_parser("local", help="keep the embedded AWS running and process every upload")
    local.add_argument("--port", type=int, default=4566, help="loopback port (default 4566)")
    local.set_defaults(run=_local)
    return parser


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


# --------------------------------------------------------------------------- report


def _report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from app import service
    from app.local_files import DirectorySink

    opener, ref, size = _open(args.input, parser)
    started = time.monotonic()
    with _progress(size) as on_bytes:
        outcome = service.process(ref, opener, DirectorySink(args.out), args.date, on_bytes)
    if not outcome.ok:
        assert outcome.error is not None
        err.print(f"error: {args.input}: {outcome.error.message}")
        err.print(f"details written to {args.out / outcome.outputs[0]}")
        return 1
    _summary(outcome.manifest, {k: (args.out / k).read_text() for k in outcome.outputs})
    out.print(f"done in {time.monotonic() - started:.2f}s; outputs under {args.out}/")
    return 0


def _open(
    source: str, parser: argparse.ArgumentParser
) -> tuple[Callable[[], IO[bytes]], Any, int | None]:
    """An opener for INPUT, its ObjectRef, and its size if known; usage errors exit 2."""
    from app.service import ObjectRef

    if source.startswith("s3://"):
        bucket, _, key = source[5:].partition("/")
        if not bucket or not key:
            parser.error(f"not an s3://bucket/key URI: {source}")
        return _s3_opener(bucket, key)
    path = Path(source)
    if not path.is_file():
        parser.error(f"no such file: {source}")
    return (lambda: path.open("rb")), ObjectRef(key=path.name), path.stat().st_size


def _s3_opener(bucket: str, key: str) -> tuple[Callable[[], IO[bytes]], Any, int | None]:
    import boto3

    from app.aws.s3 import CLIENT_CONFIG, open_object
    from app.service import ObjectRef

    client = boto3.client("s3", config=CLIENT_CONFIG)
    ref = ObjectRef(key=key, bucket=bucket)
    return (lambda: open_object(client, bucket, key)), ref, None


@contextmanager
def _progress(total: int | None) -> Iterator[Callable[[int], None]]:
    """A byte progress bar on a terminal, for files worth waiting on; silent otherwise."""
    if not out.is_terminal or (total is not None and total < 32 << 20):
        yield lambda _n: None
        return
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("reading", total=total)
        yield lambda n: progress.update(task, completed=n)


# --------------------------------------------------------------------------- printing


TITLES = {
    "most_profitable_region": "Most profitable region",
    "top_ship_mode_by_category": "Most common ship mode per category",
    "orders_by_category": "Orders per category and sub-category",
}


def _summary(manifest: dict[str, Any], outputs: dict[str, str]) -> None:
    import csv
    import io

    for key, text in outputs.items():
        report = key.split("/", 1)[0]
        if report not in TITLES:
            continue
        rows = list(csv.reader(io.StringIO(text)))
        table = Table(title=TITLES.get(report, report), title_justify="left")
        for name in rows[0] if rows else []:
            numeric = name in {"rank", "profit", "revenue", "orders", "share", "line_items", "row"}
            table.add_column(name, justify="right" if numeric else "left")
        for row in rows[1:21]:
            table.add_row(*row)
        if len(rows) > 21:
            table.caption = f"first 20 of {len(rows) - 1} rows"
        out.print(table)
    answer = _answer(outputs)
    if answer:
        out.print(answer)
    rows_info = manifest["rows"]
    out.print(
        f"rows read {rows_info['read']}, rejected {rows_info['rejected']}"
        + (" (reasons in rejected_rows/)" if rows_info["rejected"] else "")
    )
    for key in outputs:
        out.print(f"  {key}")


def _answer(outputs: dict[str, str]) -> str:
    """The headline: which region earns most (every region sharing rank 1)."""
    import csv
    import io

    for key, text in outputs.items():
        if key.startswith("most_profitable_region/"):
            top = [r for r in csv.DictReader(io.StringIO(text)) if r["rank"] == "1"]
            if top:
                regions = " and ".join(r["region"] for r in top)
                return f"most profitable region: {regions} (profit {top[0]['profit']})"
    return ""


# --------------------------------------------------------------------------- embedded AWS


def _demo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from app.local.stack import LocalStack

    if not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    started = time.monotonic()
    out.print("starting the embedded AWS (moto server on loopback)...")
    with LocalStack.start() as stack:
        names = stack.names
        out.print(
            f"  {stack.endpoint_url}: buckets {names.input_bucket}, {names.output_bucket}; "
            f"topic {names.topic}; queue {names.queue} (+ {names.dlq})"
        )
        since = _now()
        key = stack.upload(args.file)
        out.print(f"uploaded s3://{names.input_bucket}/{key}; waiting for the reports...")
        manifest = stack.wait_for_manifest(key, timeout=60, since=since)
        if manifest["status"] != "ok":
            err.print(f"error: {key}: {manifest['error']['message']}")
            return 1
        out.print(f"reports written to s3://{names.output_bucket}/ (read back from the bucket):")
        _summary(manifest, stack.read_outputs(manifest))
    out.print(f"demo finished in {time.monotonic() - started:.1f}s")
    return 0


def _local(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import json

    from app.aws.events import objects_in
    from app.local.stack import LocalStack

    holder: dict[str, Any] = {}
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C

    def announce(records: list[dict[str, Any]], failed: set[str]) -> None:
        stack = holder["stack"]
        for record in records:
            for ref in objects_in(json.loads(record["body"])):
                if record["messageId"] in failed:
                    out.print(f"retry {ref.key}: failed, will be retried (then the DLQ)")
                    continue
                manifest = stack.wait_for_manifest(ref.key, timeout=5)
                if manifest["status"] == "ok":
                    rows = manifest["rows"]
                    out.print(
                        f"processed {ref.key}: {rows['read']} rows, {rows['rejected']} rejected -> "
                        f"s3://{stack.names.output_bucket}/"
                    )
                else:
                    out.print(f"rejected {ref.key}: {manifest['error']['message']}")

    try:
        context = LocalStack.start(port=args.port, on_batch=announce)
        stack = context.__enter__()
    except OSError as exc:
        err.print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}; try --port")
        return 1
    holder["stack"] = stack
    try:
        names = stack.names
        out.print(f"embedded AWS at {stack.endpoint_url} (region us-east-1, any credentials)")
        out.print(
            f"  input  s3://{names.input_bucket}\n  output s3://{names.output_bucket}\n"
            f"  topic {names.topic}, queue {names.queue}, DLQ {names.dlq}"
        )
        out.print("upload an orders CSV:")
        out.print(
            f"  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --region us-east-1 "
            f"--endpoint-url {stack.endpoint_url} s3 cp {_shown(SAMPLE)} "
            f"s3://{names.input_bucket}/"
        )
        out.print("Ctrl-C to stop.")
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        out.print("\nstopping...")
    finally:
        context.__exit__(None, None, None)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _shown(path: Path) -> Path:
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


if __name__ == "__main__":
    sys.exit(main())

"""`orders-pipeline demo`: the whole pipeline once on the embedded AWS, the reports printed."""

from __future__ import annotations

import argparse
import queue
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from app.cli.console import out, summary
from app.cli.embedded import Delivery, deliveries, result, show_record_failures
from app.cli.failures import DEBUG_VARIABLE, CliError, debug_enabled, explain

if TYPE_CHECKING:
    from app.local.stack import LocalStack
    from app.pipelines.reports.manifest import Manifest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
FEED = ROOT / "assessment_assets" / "customer_feed"
TIMEOUT = 60.0
FINAL = {"loaded", "failed"}  # the loader's last word on a file


def add_parser(sub: Any) -> None:
    demo = sub.add_parser("demo", help="run the pipeline once on the embedded AWS, then stop")
    demo.add_argument("--file", type=Path, default=SAMPLE, help="orders CSV to upload")
    demo.set_defaults(run=run, usage=demo)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    path: Path = args.file
    if not path.is_file():
        parser.error(f"no such file: {path}")
    try:
        return _demo(path)
    except CliError:
        raise
    except Exception as exc:
        message = explain(exc, str(path))
        if message is None:
            raise
        raise CliError(message) from exc


def _demo(path: Path) -> int:
    from app.local.stack import LocalStack

    started = time.monotonic()
    seen: queue.Queue[Delivery] = queue.Queue()

    def listen(records: list[dict[str, Any]], failed: set[str]) -> None:
        for delivery in deliveries(records, failed):
            seen.put(delivery)

    out.print("starting the embedded AWS (moto server on loopback)...")
    log_level = "ERROR"
    if debug_enabled():
        log_level = "INFO"  # the function's JSON log lines
        show_record_failures()
    with LocalStack.start(on_batch=listen, log_level=log_level) as stack:
        names = stack.names
        out.print(
            f"  {stack.endpoint_url}: buckets {names.input_bucket}, {names.output_bucket}; "
            f"topic {names.topic}; queue {names.reports_queue} (+ {names.reports_dlq})"
        )
        key = stack.upload(path)
        out.print(f"uploaded s3://{names.input_bucket}/{key}; waiting for the reports...")
        manifest = _wait(stack, seen, key)
        out.print(f"reports written to s3://{names.output_bucket}/ (read back from the bucket):")
        summary(manifest, stack.read_outputs(manifest.outputs))
        _show_registry(stack, key)
        _show_feed(stack)
    out.print(f"demo finished in {time.monotonic() - started:.1f}s")
    return 0


def _show_registry(stack: LocalStack, key: str) -> None:
    """The registry's record of the upload once every consumer has added its outcome, and
    the rows the loader wrote."""
    names = stack.names
    deadline = time.monotonic() + TIMEOUT
    while True:
        record = stack.file_record(key)
        if record and record.status and record.reports and record.loader_status in FINAL:
            break
        if time.monotonic() >= deadline:
            raise CliError(
                f"{key}: the file registry has no complete record after {TIMEOUT:.0f}s "
                f"({record or 'no record'}); rerun with {DEBUG_VARIABLE}=1 to see why"
            )
        time.sleep(0.1)
    out.print(f"file registry ({names.files_table}), read back from the table:")
    out.print(
        f"  {record.name}: {record.size} bytes, ETag {record.etag}, landed {record.landed_at}"
    )
    out.print(f"  reports: {record.reports} ({record.reports_manifest})")
    out.print(f"  loader: {record.loader_status}, {record.rows_loaded} rows loaded")
    rows = stack.rows_loaded(key)
    span = f", rows {rows[0]}..{rows[-1]}" if rows else ""
    out.print(f"rows table ({names.rows_table}): {len(rows)} items under {record.name}{span}")


def _show_feed(stack: LocalStack) -> None:
    """The customer feed: the two sample days' six files uploaded, the messages received."""
    names = stack.names
    bucket = names.partner_feed_bucket
    s3 = stack.client("s3")
    paths = sorted(FEED.glob("*_*.csv"), key=lambda p: (p.name.split("_")[0] != "items", p.name))
    for path in paths:  # items first: each set completes with its last file, in any order
        s3.upload_file(str(path), bucket, path.name)
    days = sorted({path.stem.split("_")[1] for path in paths})
    out.print(f"uploaded {len(paths)} partner files to s3://{bucket}/; waiting for the messages...")
    expected = 0
    deadline = time.monotonic() + TIMEOUT
    for day in days:
        while True:
            record = stack.file_record(f"customers_{day}.csv", bucket)
            status = record.feed_status if record else None
            if status == "sent" or (status or "").startswith("failed"):
                assert record is not None
                expected += (record.feed_messages or 0) + (record.feed_errors or 0)
                break
            if time.monotonic() >= deadline:
                raise CliError(f"customer feed {day}: not sent after {TIMEOUT:.0f}s ({status})")
            time.sleep(0.1)
    messages = stack.receive_all(names.queue("customer-feed"), expected, TIMEOUT)
    table = Table(title=f"Customer feed ({names.queue('customer-feed')})", title_justify="left")
    for column in ("feed_date", "customer", "orders", "total", "errors"):
        table.add_column(
            column, justify="right" if column in {"orders", "total", "errors"} else "left"
        )
    errors: dict[tuple[str, str], int] = {}
    for body in messages:
        if body["type"] == "error_message":
            who = (body["feed_date"], body.get("customer_reference") or "")
            errors[who] = errors.get(who, 0) + 1
    for body in sorted(messages, key=lambda b: (b["feed_date"], b.get("customer_reference") or "")):
        if body["type"] == "customer_message" and body.get("part") in (None, 1):
            who = (body["feed_date"], body["customer_reference"])
            table.add_row(
                *who,
                str(body["number_of_orders"]),
                f"{body['total_amount_spent']:.2f}",
                str(errors.get(who, "")),
            )
    out.print(table)


def _wait(stack: LocalStack, seen: queue.Queue[Delivery], key: str) -> Manifest:
    """The manifest of the upload of `key` once processed; CliError if it was not."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            delivery = seen.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise CliError(
                f"{key}: no reports after {TIMEOUT:.0f}s; rerun with {DEBUG_VARIABLE}=1 "
                "to see the function's log"
            ) from None
        if delivery.ref.key != key:
            continue
        outcome = result(stack, delivery)
        if outcome.status == "retry":
            out.print(outcome.line)
        elif outcome.status == "processed" and outcome.manifest is not None:
            return outcome.manifest
        elif outcome.status == "failed":
            raise CliError(f"{key}: {outcome.detail}; rerun with {DEBUG_VARIABLE}=1 to see why")
        else:
            raise CliError(f"{key}: {outcome.detail}")

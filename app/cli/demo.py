"""`orders-pipeline demo`: the whole pipeline once on the embedded AWS, the reports printed."""

from __future__ import annotations

import argparse
import queue
import time
from decimal import Decimal
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
        _show_transactions(stack)
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


BURST = [  # (order_id, user, amount, currency, items): four valid events, one of them large
    ("demo-order-1", "user-1", "19.99", "EUR", [("SKU-1", 1)]),
    ("demo-order-2", "user-2", "1500.00", "EUR", [("SKU-2", 3), ("SKU-3", 1)]),
    ("demo-order-3", "user-1", "42.50", "USD", [("SKU-4", 2)]),
    ("demo-order-4", "user-3", "7.25", "GBP", [("SKU-1", 5)]),
]
INVALID_EVENT = (
    '{"order_id": "demo-order-5", "user_id": "user-4", "amount": -3, "currency": "euro", '
    '"items": [{"sku": "SKU-9", "qty": 0}]}'
)


def _show_transactions(stack: LocalStack) -> None:
    """A small burst on the transactions queue (one large, one invalid, one sent twice); what
    was stored, and the alerts a subscriber of the alerts topic received."""
    from app.adapters.queues import MessageSender
    from app.adapters.transactions import TransactionsTable
    from app.core import json_text

    names = stack.names
    sqs = stack.client("sqs")
    alerts_queue = f"{names.prefix}-demo-alerts"
    stack.alerts_inbox(alerts_queue)
    bodies = [
        json_text.dumps(
            {
                "order_id": order,
                "user_id": user,
                "amount": Decimal(amount),
                "currency": currency,
                "items": [{"sku": sku, "qty": qty} for sku, qty in items],
            }
        )
        for order, user, amount, currency, items in BURST
    ]
    burst = [*bodies, bodies[0], INVALID_EVENT]  # the first one twice
    queue_url = stack.queue_urls[names.queue("transactions")]
    MessageSender(sqs, queue_url).send((str(n), body) for n, body in enumerate(burst))
    out.print(
        f"sent {len(burst)} order events to {names.queue('transactions')} (one large, one "
        "invalid, one sent twice); waiting for them..."
    )
    alerts = stack.receive_all(alerts_queue, 2, TIMEOUT)
    table = TransactionsTable(stack.client("dynamodb"), names.transactions_table)
    stored = [table.get(order) for order, *_ in BURST]
    grid = Table(title=f"Stored once in {names.transactions_table}", title_justify="left")
    for column in ("order_id", "user_id", "amount", "items", "total_qty", "large"):
        grid.add_column(
            column, justify="right" if column in {"amount", "items", "total_qty"} else "left"
        )
    for item in stored:
        if item is None:
            raise CliError("transactions: an event was not stored after the alerts arrived")
        grid.add_row(
            item["order_id"],
            str(item["user_id"]),
            f"{item['amount']} {item['currency']}",
            str(item["item_count"]),
            str(item["total_qty"]),
            "yes" if item["large_order"] else "",
        )
    out.print(grid)
    grid = Table(title=f"Alerts received from {names.alerts_topic}", title_justify="left")
    for column in ("alert", "order_id", "amount", "reasons"):
        grid.add_column(column, overflow="fold")
    for alert in sorted(alerts, key=lambda a: str(a["alert"])):
        grid.add_row(
            alert["alert"],
            str(alert["order_id"]),
            "-" if alert["amount"] is None else f"{alert['amount']:.2f}",
            "; ".join(alert["reasons"]),
        )
    out.print(grid)


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

"""Transactions stream load test on the local stack (the embedded AWS, in this process).

    python -m benchmarks.transactions_load [--events 10000] [--target-kb 1]
        [--invalid-share 0.05] [--large-share 0.02] [--duplicates 100]
        [--big 200:300,200:450] [--paced 3000:100] [--output docs/benchmarks-transactions.md]

One `orders-pipeline local`-shaped stack (moto server on loopback, the real handler behind the
local event pump that plays Lambda's SQS event source mapping: batches of 10). The producer's
own code (app.pipelines.transactions.producer + MessageSender, as `send-events` runs it)
sends the burst; `--duplicates` valid events are sent a second time. Then it waits until the
table, the alerts and the queues have settled, and checks:
- none lost, none duplicated: the table holds exactly the valid events' order_ids, once;
- alerts: LARGE_ORDER = large events, INVALID_EVENT = invalid events (distinct alert ids);
- every invalid event kept under transactions/invalid/; the queue and its DLQ are empty.
It reports events/s end to end (first send to the last event stored) and the latency from
SQS's SentTimestamp to the function's received_at (p50, p95, max), read from the items.

`--big COUNT:KB,...` then sends COUNT events of about KB KiB each and checks each is stored
whole: inline when the item fits DynamoDB's 400 KB, else with its payload in S3 (read back
and compared byte for byte). Finally the handler's import time (cold start), median of 5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_IMPORT_S = 0.8


def _items(stack: Any) -> dict[str, dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer().deserialize
    pages = (
        _aws(stack, "dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=stack.names.transactions_table,
            ProjectionExpression="order_id, received_at, sent_at, payload_key, size_bytes",
        )
    )
    found: dict[str, dict[str, Any]] = {}
    for page in pages:
        for raw in page["Items"]:
            item = {k: des(v) for k, v in raw.items()}
            found[item["order_id"]] = item
    return found


_CLIENTS: dict[tuple[int, str], Any] = {}


def _aws(stack: Any, service: str) -> Any:
    """One client per service for the load test's own calls (making one costs ~30 ms)."""
    key = (id(stack), service)
    if key not in _CLIENTS:
        _CLIENTS[key] = stack.client(service)
    return _CLIENTS[key]


def _count(stack: Any) -> int:
    """Items in the table (a Scan answers 1 MB a page: every page counted)."""
    pages = (
        _aws(stack, "dynamodb")
        .get_paginator("scan")
        .paginate(TableName=stack.names.transactions_table, Select="COUNT")
    )
    return sum(int(page["Count"]) for page in pages)


def _depth(stack: Any, queue: str) -> int:
    attrs = _aws(stack, "sqs").get_queue_attributes(
        QueueUrl=stack.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def _alerts(stack: Any, url: str) -> list[dict[str, Any]]:
    sqs, found = _aws(stack, "sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        found += [json.loads(m["Body"]) for m in got]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )


def _settle(stack: Any, stored: Callable[[], bool], timeout: float) -> float:
    """Seconds (monotonic) when the queue is empty and `stored()` says all is in the table."""
    queue = stack.names.queue("transactions")
    deadline = time.monotonic() + timeout
    said = time.monotonic()
    while time.monotonic() < deadline:
        waiting = _depth(stack, queue)  # cheap: the table is looked at once the queue is empty
        if waiting == 0 and stored():
            return time.monotonic()
        if time.monotonic() - said > 10:
            print(f"  {waiting:,} events on the queue", file=sys.stderr)
            said = time.monotonic()
        time.sleep(0.5)
    raise TimeoutError(f"not settled after {timeout:.0f}s")


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def burst(stack: Any, args: argparse.Namespace, alerts_url: str) -> list[str]:
    from app.adapters.queues import MessageSender
    from app.pipelines.transactions.producer import Traffic, events, paced

    traffic = Traffic(args.events, args.target_kb, args.invalid_share, args.large_share, seed=7)
    samples = list(events(traffic))
    valid = [s for s in samples if s.kind in ("valid", "large")]
    sender = MessageSender(_aws(stack, "sqs"), stack.queue_urls[stack.names.queue("transactions")])
    started = time.monotonic()
    again = [s for s in valid[: args.duplicates]]
    sent = sender.send(paced([*samples, *again], args.rate))
    send_s = time.monotonic() - started
    done = _settle(stack, lambda: _count(stack) >= len(valid), timeout=1800)
    time.sleep(2)  # the last alerts, and anything that would wrongly add an item
    wall = done - started
    items = _items(stack)
    alerts = _alerts(stack, alerts_url)
    distinct = Counter(kind for kind, _ in {(a["alert"], a["alert_id"]) for a in alerts})
    latencies = [
        (_iso(i["received_at"]) - _iso(i["sent_at"])).total_seconds() for i in items.values()
    ]
    how = f"paced at {args.rate:g} events/s" if args.rate else "burst"
    p50, p95 = (1000 * _percentile(latencies, p) for p in (0.5, 0.95))
    invalid_kept = sum(
        page.get("KeyCount", 0)
        for page in _aws(stack, "s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=stack.names.output_bucket, Prefix="transactions/invalid/")
    )
    checks = {
        "every valid event stored, once": set(items) == {s.order_id for s in valid},
        "distinct LARGE_ORDER alerts = large events": distinct["LARGE_ORDER"] == traffic.large,
        "distinct INVALID_EVENT alerts = invalid events": distinct["INVALID_EVENT"]
        == traffic.invalid,
        "invalid events kept": invalid_kept == traffic.invalid,
        "queue and DLQ empty": _depth(stack, stack.names.queue("transactions")) == 0
        and _depth(stack, stack.names.dlq("transactions")) == 0,
    }
    lines = [
        f"{how}: {len(samples):,} events of about {args.target_kb:g} KiB ({traffic.invalid:,} "
        f"invalid, {traffic.large:,} large) + {len(again):,} valid ones sent again; "
        f"{sent:,} sent in {send_s:.2f} s ({sent / send_s:,.0f} events/s, {sender.calls:,} "
        "SendMessageBatch calls)",
        f"end to end: {sent / wall:,.0f} events/s ({sent:,} events, first send to the last "
        f"stored and the queue empty: {wall:.1f} s)",
        f"latency, SQS SentTimestamp to the function's received_at: p50 {p50:,.0f} ms, p95 "
        f"{p95:,.0f} ms, max {1000 * max(latencies):,.0f} ms"
        + ("" if args.rate else " (most of it waiting in the queue)"),
        f"stored {len(items):,} items for {len(valid):,} valid events; alerts: "
        f"{distinct['LARGE_ORDER']:,} LARGE_ORDER and {distinct['INVALID_EVENT']:,} INVALID_EVENT "
        f"by alert_id ({len(alerts) - sum(distinct.values()):,} repeated: at-least-once "
        f"delivery, same alert_id); {invalid_kept:,} invalid records kept",
        "checks: "
        + "; ".join(f"{name}: {'ok' if ok else 'FAILED'}" for name, ok in checks.items()),
    ]
    if not all(checks.values()):
        raise SystemExit("\n".join(["load test FAILED", *lines]))
    return lines


def big(stack: Any, count: int, kb: int) -> str:
    from app.adapters.queues import MessageSender
    from app.adapters.transactions import TransactionsTable
    from app.pipelines.transactions.producer import Traffic, events

    samples = list(events(Traffic(count, kb, seed=kb)))
    table = TransactionsTable(_aws(stack, "dynamodb"), stack.names.transactions_table)
    started = time.monotonic()
    MessageSender(_aws(stack, "sqs"), stack.queue_urls[stack.names.queue("transactions")]).send(
        (s.order_id, s.body) for s in samples
    )
    done = _settle(stack, lambda: all(table.get(s.order_id) for s in samples), timeout=600)
    s3 = _aws(stack, "s3")
    offloaded = whole = 0
    for sample in samples:
        item = table.get(sample.order_id)
        assert item is not None, sample.order_id
        if "payload_key" in item:
            offloaded += 1
            body = s3.get_object(Bucket=item["payload_bucket"], Key=item["payload_key"])
            whole += body["Body"].read() == sample.body.encode()
        else:
            whole += item["padding"] == json.loads(sample.body)["padding"]
    if whole != count:
        raise SystemExit(f"{kb} KiB events: only {whole} of {count} stored whole")
    return (
        f"{count} events of {kb} KiB: {count / (done - started):,.0f} events/s; "
        f"{count - offloaded} stored in the item (under DynamoDB's 400 KB), {offloaded} with "
        f"the payload in S3 under transactions/payloads/; all {whole} read back whole"
    )


def import_time() -> str:
    env = os.environ | {
        "TRANSACTIONS_TABLE": "t",
        "ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:a",
        "PAYLOAD_BUCKET": "b",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    code = (
        "import time; t = time.perf_counter(); import app.handlers.transactions; "
        "print(time.perf_counter() - t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(5)
    ]
    median = statistics.median(runs)
    verdict = "met" if median <= TARGET_IMPORT_S else "NOT met"
    return (
        f"handler import (cold start, Python {sys.version.split()[0]}): median {median:.2f} s "
        f"of 5 (target <= {TARGET_IMPORT_S} s: {verdict})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--target-kb", type=float, default=1.0)
    parser.add_argument("--invalid-share", type=float, default=0.05)
    parser.add_argument("--large-share", type=float, default=0.02)
    parser.add_argument("--duplicates", type=int, default=100)
    parser.add_argument(
        "--paced", default="3000:100", help="then EVENTS:RATE sent at RATE/s on a fresh stack"
    )
    parser.add_argument("--big", default="200:300,200:450", help="COUNT:KB,... ('' for none)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)

    from app.local.stack import LocalStack

    started = time.monotonic()
    phases = [(args.events, 0.0, args.big)]
    if args.paced:
        events, rate = args.paced.split(":")
        phases.append((int(events), float(rate), ""))
    lines: list[str] = []
    for events, rate, bigs in phases:
        with LocalStack.start(env="bench", visibility_timeout=30) as stack:
            url = stack.alerts_inbox("bench-alerts")
            lines += burst(
                stack, argparse.Namespace(**{**vars(args), "events": events, "rate": rate}), url
            )
            for spec in filter(None, bigs.split(",")):
                count, kb = spec.split(":")
                lines.append(big(stack, int(count), int(kb)))
        _CLIENTS.clear()
    lines.append(import_time())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(
        f"benchmark wall {time.monotonic() - started:.0f} s; load average at the end {load}"
    )
    print("\n".join(lines))
    if args.output:
        args.output.write_text(
            "# Transactions stream load test\n\n"
            "`make bench` (`python -m benchmarks.transactions_load`): the local stack in one "
            "process (moto server on loopback, the real handler behind the local event pump, "
            "batches of 10, 4 pollers), the producer's own code sending: one burst, then events "
            "paced at a rate the emulator keeps up with (a fresh stack), for the latency of a "
            "shallow queue. Checked each time: every valid event stored once, each large or "
            "invalid event alerted (by alert_id), every invalid event kept, nothing left on the "
            "queue or the DLQ.\n\n```\n" + "\n".join(lines) + "\n```\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

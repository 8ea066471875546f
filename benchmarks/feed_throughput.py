"""Customer feed throughput: a generated day set joined and sent through the feed's real code.

    python -m benchmarks.feed_throughput --customers 20000 [--seed 42] [--moto patched|stock]
        [--output FILE]

The day set is generated here (seeded, consistent: every order's customer and every item's
order exist, so the join gives one message per customer and no error messages): N customers,
1 to 5 orders each (3 on average), 1 to 5 items per order (3 on average), written as
`customers_/orders_/items_YYYYMMDD.csv` in a temporary directory.

A fresh child process (its CPU and peak RSS its own) starts a moto server in a separate
process (so client and emulator each get a core) and measures:
- end to end: `join_feed` over `csv_source` of the three files, its messages streamed into
  `MessageSender(...).send()` (SendMessageBatch, 10 per call, up to 4 calls in flight), as the
  function does once it holds the set (app.pipelines.customer_feed.sets);
- the join alone: `join_feed` and every message's body built, nothing sent;
- the send alone: the bodies built in the step before, sent to a second queue.

Every message must have arrived, or the run fails: each queue's ApproximateNumberOfMessages
is the join's count; every entry of every SendMessageBatch was answered Successful once,
with the MD5 of its body, and a distinct SQS MessageId; the message_ids so acknowledged are
exactly the join's; a sample received from each queue is the join's. (Draining 20,000
messages through moto's ReceiveMessage/DeleteMessage would take minutes: both scan the
whole queue on every call.)

`--moto patched` (the default) runs `moto.server.main` with one change in its SQS model: a
queue's `attributes` are computed per attribute asked for instead of all at once. Stock
moto (`--moto stock`: `.venv/bin/moto_server`) builds them all on every SendMessage entry
only to read ContentBasedDeduplication, and that counts the queue's messages three times
(ApproximateNumberOfMessages, ...Delayed, ...NotVisible): each message costs time linear in
the queue's depth, 20,000 to one queue quadratic (the report measures it, in this process).
Real SQS has no such cost: there the bound is the round trip of one SendMessageBatch at a
time and the client's CPU per call.

The target (issue 10) is >= 2,000 messages/s end to end against the local stack.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psutil

from app.adapters.queues import BATCH, CONCURRENCY
from app.local.moto_sqs import lazy_queue_attributes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REGION = "us-east-1"
FEED_DATE = date(2022, 1, 30)
TARGET_MESSAGES_PER_S = 2000.0

_FIRST = ("Alex", "John", "Jane", "Joe", "Maria", "Wei", "Amara", "Lukas", "Sofia", "Omar")
_LAST = ("Richard", "Smith", "Doe", "Bloggs", "Garcia", "Chen", "Okafor", "Muller", "Rossi")
_CUSTOMER_STATUS = ("active", "inactive", "Active")
_ORDER_STATUS = ("Delivered", "complete", "pending", "cancelled")
_ITEMS = ("Item 1", "Widget", "Gadget XL", "Blue mug", "USB-C cable", "Notebook A5", "Desk lamp")


# --------------------------------------------------------------------------- the emulator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(patched: bool) -> Iterator[tuple[str, psutil.Process]]:
    """A moto server as a child process (stock `moto_server`, or this module's patched one);
    its endpoint and process."""
    port = _free_port()
    address = ["-H", "127.0.0.1", "-p", str(port)]
    command = (
        [sys.executable, "-m", "benchmarks.feed_throughput", "--serve-moto", *address]
        if patched
        else [str(BIN / "moto_server"), *address]
    )
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stock_attribute_cost(depths: Sequence[int] = (0, 1000, 5000, 20000)) -> dict[int, float]:
    """Stock moto, in this process: seconds to build one queue's attributes (what SendMessage
    does for every entry) with `depth` messages on the queue."""
    import timeit

    from moto.sqs.models import Message, Queue

    costs = {}
    for depth in depths:
        queue = Queue("bench", region=REGION, account_id="123456789012")
        queue._messages = [Message(str(i), "{}") for i in range(depth)]
        number = max(3, min(2000, 20_000 // max(depth, 1)))
        seconds = timeit.timeit(
            lambda q=queue: q.attributes.get("ContentBasedDeduplication"), number=number
        )
        costs[depth] = seconds / number
    return costs


# --------------------------------------------------------------------------- the day set


def generate(directory: Path, customers: int, seed: int) -> dict[str, int]:
    """The three files of a consistent day set in `directory`; their data records."""
    rng = random.Random(seed)
    stamp = f"{FEED_DATE:%Y%m%d}"
    counts = {"customers": 0, "orders": 0, "items": 0}
    day = 1643500800  # 2022-01-30T00:00:00Z
    with (
        (directory / f"customers_{stamp}.csv").open("w", newline="", encoding="utf-8") as cf,
        (directory / f"orders_{stamp}.csv").open("w", newline="", encoding="utf-8") as of,
        (directory / f"items_{stamp}.csv").open("w", newline="", encoding="utf-8") as itf,
    ):
        c_out, o_out, i_out = csv.writer(cf), csv.writer(of), csv.writer(itf)
        c_out.writerow(["id", "first_name", "last_name", "customer_reference", "status"])
        o_out.writerow(
            ["id", "customer_reference", "order_status", "order_reference", "order_timestamp"]
        )
        i_out.writerow(["id", "order_reference", "item_name", "quantity", "total_price"])
        for c in range(customers):
            reference = f"{rng.getrandbits(16):04x}-{c:07d}"
            counts["customers"] += 1
            c_out.writerow(
                [
                    counts["customers"],
                    rng.choice(_FIRST),
                    rng.choice(_LAST),
                    reference,
                    rng.choice(_CUSTOMER_STATUS),
                ]
            )
            for _ in range(rng.randint(1, 5)):
                counts["orders"] += 1
                order = f"{rng.getrandbits(32):08x}-{counts['orders']:08d}"
                o_out.writerow(
                    [
                        counts["orders"],
                        reference,
                        rng.choice(_ORDER_STATUS),
                        order,
                        day + rng.randrange(86400),
                    ]
                )
                for _ in range(rng.randint(1, 5)):
                    counts["items"] += 1
                    cents = rng.randrange(50, 50000)
                    price = f"{cents / 100:.2f}" if cents % 7 else str(cents // 100)
                    i_out.writerow(
                        [counts["items"], order, rng.choice(_ITEMS), rng.randint(1, 4), price]
                    )
    return counts


def _paths(directory: Path) -> dict[str, Path]:
    from app.pipelines.customer_feed.files import KINDS, file_name

    return {kind: directory / file_name(kind, FEED_DATE) for kind in KINDS}


# --------------------------------------------------------------------------- the child


def _sqs(endpoint: str) -> Any:
    """The SQS client as the function makes it (app.adapters.clients.CLIENT_CONFIG)."""
    import boto3

    from app.adapters.clients import CLIENT_CONFIG

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client("sqs", endpoint_url=endpoint, config=CLIENT_CONFIG)


def _join(paths: dict[str, Path], versions: dict[str, str]) -> Any:
    from app.pipelines.customer_feed.join import csv_source, join_feed

    streams = {kind: path.open("rb") for kind, path in paths.items()}
    try:
        sources = {kind: csv_source(path.name, streams[kind]) for kind, path in paths.items()}
        return join_feed(FEED_DATE, sources, versions)
    finally:
        for stream in streams.values():
            stream.close()


_ID = '"message_id":"'


def _message_id(body: str) -> str:
    at = body.index(_ID) + len(_ID)
    return body[at : body.index('"', at)]


class Acknowledged:
    """The SQS client MessageSender is given, recording what SendMessageBatch answers: per entry
    answered Successful, its message_id (from its body), SQS's MessageId, and whether the
    MD5 SQS computed is the body's. A few microseconds per entry (a call takes milliseconds)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.message_ids: list[str] = []
        self.sqs_ids: set[str] = set()
        self.bad_md5 = 0
        self.failed_entries = 0

    def send_message_batch(self, **kwargs: Any) -> Any:
        response = self.client.send_message_batch(**kwargs)
        bodies = {entry["Id"]: entry["MessageBody"] for entry in kwargs["Entries"]}
        for ok in response.get("Successful", []):
            body = bodies[ok["Id"]]
            if hashlib.md5(body.encode()).hexdigest() != ok["MD5OfMessageBody"]:
                self.bad_md5 += 1
            self.message_ids.append(_message_id(body))
            self.sqs_ids.add(ok["MessageId"])
        self.failed_entries += len(response.get("Failed", []))
        return response

    def summary(self, expected: set[str]) -> dict[str, Any]:
        return {
            "acknowledged": len(self.message_ids),
            "acknowledged_distinct": len(set(self.message_ids)),
            "acknowledged_match": set(self.message_ids) == expected,
            "sqs_ids_distinct": len(self.sqs_ids),
            "bad_md5": self.bad_md5,
            "failed_entries": self.failed_entries,
        }


class _Clock:
    """Wall, this process's CPU and the server's CPU over one phase."""

    def __init__(self, server: psutil.Process) -> None:
        self.server = server
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.server_cpu = sum(server.cpu_times()[:2])

    def stop(self) -> dict[str, float]:
        return {
            "wall_s": time.perf_counter() - self.wall,
            "cpu_s": time.process_time() - self.cpu,
            "server_cpu_s": sum(self.server.cpu_times()[:2]) - self.server_cpu,
        }


def _on_queue(sqs: Any, url: str, expected: set[str]) -> dict[str, Any]:
    """What the queue holds: its counts, and whether a received sample is the join's."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    sample = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=BATCH, VisibilityTimeout=900, WaitTimeSeconds=0
    ).get("Messages", [])
    good = sum(
        json.loads(m["Body"])["message_id"] in expected
        and hashlib.md5(m["Body"].encode()).hexdigest() == m["MD5OfBody"]
        for m in sample
    )
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        "sample": len(sample),
        "sample_good": good,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(directory: Path, patched: bool) -> dict[str, Any]:
    """The measurements (in this process, a fresh child of main)."""
    from app.adapters.queues import MessageSender
    from app.pipelines.customer_feed.messages import CustomerMessage

    paths = _paths(directory)
    versions = {k: hashlib.md5(p.read_bytes()).hexdigest() for k, p in paths.items()}  # as ETags
    out: dict[str, Any] = {"file_mb": sum(p.stat().st_size for p in paths.values()) / (1 << 20)}
    with moto_server(patched) as (endpoint, server):
        sqs = _sqs(endpoint)
        urls = {
            name: sqs.create_queue(QueueName=f"orders-pipeline-bench-{name}")["QueueUrl"]
            for name in ("customer-feed", "customer-feed-send", "warm-up")
        }
        # warm up both sides (botocore's operation models, moto's SQS backend), not timed
        MessageSender(sqs, urls["warm-up"]).send([("warm-up", "{}")] * BATCH)
        start = time.perf_counter()
        for _ in range(50):
            sqs.get_queue_url(QueueName="orders-pipeline-bench-warm-up")
        out["round_trip_ms"] = 1000 * (time.perf_counter() - start) / 50

        # end to end: the join, its messages streamed into the sender (the function's path)
        counts = {"customer": 0, "error": 0}

        def streamed(result: Any) -> Iterator[tuple[str, str]]:
            for message in result.messages():
                counts["customer" if isinstance(message, CustomerMessage) else "error"] += 1
                yield message.message_id, message.body()

        out["rss_before_mb"] = _peak_rss_mb()
        e2e_client = Acknowledged(sqs)
        clock = _Clock(server)
        read = time.perf_counter()
        result = _join(paths, versions)
        read = time.perf_counter() - read
        queue = MessageSender(e2e_client, urls["customer-feed"])
        sent = queue.send(streamed(result))
        out["e2e"] = clock.stop() | {"read_join_s": read, "messages": sent, "calls": queue.calls}
        out["e2e"]["peak_rss_mb"] = _peak_rss_mb()
        out["records"] = result.records
        out["joined"] = result.joined
        out["counts"] = dict(counts)
        del result

        # the join alone: read, join, every body built
        clock = _Clock(server)
        read = time.perf_counter()
        result = _join(paths, versions)
        read = time.perf_counter() - read
        bodies = [(m.message_id, m.body()) for m in result.messages()]
        out["join"] = clock.stop() | {"read_join_s": read, "messages": len(bodies)}
        out["join"]["body_mb"] = sum(len(b) for _, b in bodies) / (1 << 20)
        del result

        # the send alone: the bodies built above, to another queue
        send_client = Acknowledged(sqs)
        clock = _Clock(server)
        queue = MessageSender(send_client, urls["customer-feed-send"])
        sent = queue.send(bodies)
        out["send"] = clock.stop() | {"messages": sent, "calls": queue.calls}
        out["peak_rss_mb"] = _peak_rss_mb()

        # every message arrived
        expected = {message_id for message_id, _ in bodies}
        out["expected_distinct"] = len(expected)
        check = time.perf_counter()
        out["e2e"] |= e2e_client.summary(expected) | {
            "queue": _on_queue(sqs, urls["customer-feed"], expected)
        }
        out["send"] |= send_client.summary(expected) | {
            "queue": _on_queue(sqs, urls["customer-feed-send"], expected)
        }
        out["check_s"] = time.perf_counter() - check
        out["server_rss_mb"] = server.memory_info().rss / (1 << 20)
    return out


# --------------------------------------------------------------------------- the report


def failures(r: dict[str, Any], records: dict[str, int]) -> list[str]:
    wrong = []
    if not r["joined"] or r["records"] != records:
        wrong.append(f"the join read {r['records']} records (joined: {r['joined']}), not {records}")
    if r["counts"] != {"customer": records["customers"], "error": 0}:
        wrong.append(f"messages {r['counts']}: not one per customer and no errors")
    n = r["join"]["messages"]
    if r["expected_distinct"] != n:
        wrong.append(f"{n} messages but {r['expected_distinct']} distinct message_ids")
    for phase in ("e2e", "send"):
        p = r[phase]
        q = p["queue"]
        if p["messages"] != n:
            wrong.append(f"{phase}: MessageSender sent {p['messages']}, not {n}")
        if not (
            p["acknowledged"] == p["acknowledged_distinct"] == p["sqs_ids_distinct"] == n
            and p["acknowledged_match"]
            and p["bad_md5"] == 0
        ):
            wrong.append(
                f"{phase}: {p['acknowledged']} entries acknowledged ({p['acknowledged_distinct']} "
                f"distinct message_ids, the join's: {p['acknowledged_match']}; "
                f"{p['sqs_ids_distinct']} SQS MessageIds; {p['bad_md5']} bad MD5s), not {n}"
            )
        if q["visible"] + q["in_flight"] != n or q["sample_good"] != q["sample"] or not q["sample"]:
            wrong.append(
                f"{phase}: the queue holds {q['visible'] + q['in_flight']} messages, not {n}, "
                f"or its sample is not the join's ({q['sample_good']} of {q['sample']})"
            )
    return wrong


def limits(r: dict[str, Any], stock: dict[int, float] | None) -> list[str]:
    """What bounds the end-to-end rate, from the phases' numbers."""
    e2e, join, send = r["e2e"], r["join"], r["send"]
    n = e2e["messages"]
    rate = n / e2e["wall_s"]
    call = {
        "wall": 1000 * send["wall_s"] / send["calls"],
        "client": 1000 * send["cpu_s"] / send["calls"],
        "server": 1000 * send["server_cpu_s"] / send["calls"],
    }
    rest = max(0.0, call["wall"] - call["client"] - call["server"])
    join_ms = 1000 * BATCH * join["wall_s"] / join["messages"]
    lines = [
        f"per SendMessageBatch of {BATCH} (send alone, {CONCURRENCY} calls in flight): wall "
        f"{call['wall']:.2f} ms, client CPU {call['client']:.2f} ms, moto server CPU "
        f"{call['server']:.2f} ms, not overlapped {rest:.2f} ms (an empty call, GetQueueUrl: "
        f"{r['round_trip_ms']:.2f} ms); the server's CPU alone bounds the send at "
        f"{1000 * BATCH / call['server']:,.0f} messages/s",
        f"per {BATCH} messages, the join (read, join, bodies): {join_ms:.2f} ms; the join is "
        f"{join['wall_s'] / e2e['wall_s']:.0%} of the end-to-end wall (read and join "
        f"{join['read_join_s']:.2f} s, bodies {join['wall_s'] - join['read_join_s']:.2f} s)",
    ]
    if stock:
        per = ", ".join(
            f"{d:,}: {1000 * t:.2f} ms" if t >= 1e-3 else f"{d:,}: {1e6 * t:.0f} us"
            for d, t in stock.items()
        )
        depths = sorted(stock)
        slope = (stock[depths[-1]] - stock[depths[0]]) / (depths[-1] - depths[0])
        total = n * stock[depths[0]] + slope * n * n / 2
        lines.append(
            f"stock moto: SendMessage builds the queue's attributes for every entry, by depth "
            f"{per}; {n:,} messages to one queue would spend {total:,.0f} s on it alone "
            f"(vs {send['wall_s']:.1f} s for the whole patched send)"
        )
    if rate >= TARGET_MESSAGES_PER_S:
        lines.append(f"target >= {TARGET_MESSAGES_PER_S:,.0f} messages/s end to end: met")
        return lines
    shares = {
        "the client's CPU per call (botocore: request, signing, HTTP, response)": call["client"],
        "the moto server's CPU per call": call["server"],
        "the join and the bodies": join_ms,
    }
    biggest = max(shares, key=lambda k: shares[k])
    lines.append(
        f"target >= {TARGET_MESSAGES_PER_S:,.0f} messages/s end to end: NOT met ({rate:,.0f}). "
        f"Every {BATCH} messages cost {join_ms:.2f} ms of join and {call['wall']:.2f} ms of "
        f"sending; the largest part is {biggest} ({shares[biggest]:.2f} ms)"
    )
    return lines


def report(r: dict[str, Any], records: dict[str, int], args: argparse.Namespace) -> list[str]:
    e2e, join, send = r["e2e"], r["join"], r["send"]
    n = e2e["messages"]
    server = "patched moto server (moto.server.main" if args.moto == "patched" else "moto_server ("
    lines = [
        f"day set: {args.customers:,} customers, {records['orders']:,} orders, "
        f"{records['items']:,} items (seed {args.seed}), {r['file_mb']:.1f} MiB of CSV; "
        f"{n:,} messages ({r['counts']['customer']:,} customer, {r['counts']['error']:,} error), "
        f"{join['body_mb']:.1f} MiB of bodies; {server} in its own process); "
        f"{os.cpu_count()} CPUs",
        f"end to end (join + send): {n / e2e['wall_s']:7,.0f} messages/s, wall "
        f"{e2e['wall_s']:.2f} s ({e2e['calls']:,} SendMessageBatch calls) | client: CPU "
        f"{e2e['cpu_s']:.2f} s, peak RSS {e2e['peak_rss_mb']:.0f} MB (before the join "
        f"{r['rss_before_mb']:.0f} MB) | moto server: CPU {e2e['server_cpu_s']:.2f} s",
        f"join alone (read, join, build every body): {join['wall_s']:.2f} s "
        f"({join['messages'] / join['wall_s']:,.0f} messages/s), CPU {join['cpu_s']:.2f} s",
        f"send alone (bodies built): {send['messages'] / send['wall_s']:7,.0f} messages/s, wall "
        f"{send['wall_s']:.2f} s ({send['calls']:,} calls) | client: CPU {send['cpu_s']:.2f} s "
        f"| moto server: CPU {send['server_cpu_s']:.2f} s, RSS {r['server_rss_mb']:,.0f} MB",
        f"client peak RSS after the join-alone phase: {r['peak_rss_mb']:.0f} MB (it holds every "
        "body in a list; end to end streams them)",
    ]
    for phase, name in (("e2e", "end-to-end"), ("send", "send-alone")):
        p, q = r[phase], r[phase]["queue"]
        lines.append(
            f"arrived, {name} queue: {q['visible'] + q['in_flight']:,} messages on it; "
            f"{p['acknowledged']:,} entries answered Successful ({p['acknowledged_distinct']:,} "
            f"distinct message_ids, exactly the join's: {p['acknowledged_match']}; "
            f"{p['sqs_ids_distinct']:,} SQS MessageIds; {p['bad_md5']} bad MD5s; "
            f"{p['failed_entries']} Failed entries retried); sample received "
            f"{q['sample_good']}/{q['sample']} the join's"
        )
    return lines


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve-moto"]:  # the patched moto server's own process
        lazy_queue_attributes()
        from moto.server import main as serve

        serve(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--moto", choices=("patched", "stock"), default="patched")
    parser.add_argument("--output", type=Path, help="also write the lines to this markdown file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run(Path(args.dir), args.moto == "patched")))
        return 0

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="feed-bench-") as tmp:
        records = generate(Path(tmp), args.customers, args.seed)
        child = subprocess.run(  # a fresh process: its CPU and peak RSS are the feed's own
            [
                sys.executable,
                "-m",
                "benchmarks.feed_throughput",
                "--child",
                "--dir",
                tmp,
                "--moto",
                args.moto,
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    lines = report(result, records, args)
    lines += limits(result, stock_attribute_cost() if args.moto == "patched" else None)
    lines.append(
        f"benchmark wall (generation, child, checks {result['check_s']:.1f} s): "
        f"{time.perf_counter() - started:.0f} s"
    )
    for line in lines:
        print(line)
    wrong = failures(result, records)
    for line in wrong:
        print(f"FAILED: {line}", file=sys.stderr)
    if wrong:
        return 1
    if args.output:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        args.output.write_text(
            "# Customer feed throughput\n\n"
            f"`make bench` (`python -m benchmarks.feed_throughput --customers {args.customers}`);"
            f" load average at the end: {load}. The feed's real code (`join_feed` over "
            "`csv_source` of the three files, `MessageSender.send`: SendMessageBatch, 10 per call) "
            "against a moto server in its own process; every message checked on the queue. "
            f"Target: >= {TARGET_MESSAGES_PER_S:,.0f} messages/s end to end. "
            + (
                "The moto server is patched (see benchmarks/feed_throughput.py): stock moto "
                "spends time linear in the queue's depth on every message sent.\n\n"
                if args.moto == "patched"
                else "\n\n"
            )
            + "```\n"
            + "\n".join(lines)
            + "\n```\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

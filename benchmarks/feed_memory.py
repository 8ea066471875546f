"""Customer feed join memory (issue 10): wall, CPU and peak RSS of `join_feed` with a workdir.

    python -m benchmarks.feed_memory --customers 200000 [--orders 5] [--items 4]
                                     [--partitions P] [--in-memory] [--keep DIR]

Generates a consistent day set (N customers, `--orders` orders each, `--items` items per
order; the issue's day is 1,000,000 x 5 x 4) in a temporary directory, then runs, in a fresh
child process (so its CPU and peak RSS are the join's own), `join_feed` over `csv_source` of
the three files with a workdir (or in memory with `--in-memory`), and reads every message
and builds its body (what the sender does), nothing sent. Prints one JSON line and a
summary: wall, CPU (user + sys), peak RSS, the RSS before the join (interpreter and imports),
the spill's size on disk, and the messages.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FEED_DATE = date(2022, 1, 30)
_FIRST = ("Alex", "John", "Jane", "Joe", "Maria", "Wei", "Amara", "Lukas", "Sofia", "Omar")
_LAST = ("Richard", "Smith", "Doe", "Bloggs", "Garcia", "Chen", "Okafor", "Muller", "Rossi")
_ITEMS = ("Item 1", "Widget", "Gadget XL", "Blue mug", "USB-C cable", "Notebook A5", "Desk lamp")
_STATUS = ("Delivered", "complete", "pending", "cancelled")


def generate(directory: Path, customers: int, orders: int, items: int, seed: int = 42) -> None:
    """The three files, orders and items in a random order (not grouped by customer)."""
    rng = random.Random(seed)
    stamp = f"{FEED_DATE:%Y%m%d}"
    day = 1643500800
    refs = [f"{rng.getrandbits(16):04x}-{c:07d}" for c in range(customers)]
    with (directory / f"customers_{stamp}.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "first_name", "last_name", "customer_reference", "status"])
        for c, ref in enumerate(refs):
            out.writerow([c + 1, rng.choice(_FIRST), rng.choice(_LAST), ref, "active"])
    order_refs = [f"{rng.getrandbits(32):08x}-{n:08d}" for n in range(customers * orders)]
    owner = [refs[n // orders] for n in range(len(order_refs))]
    shuffled = list(range(len(order_refs)))
    rng.shuffle(shuffled)
    with (directory / f"orders_{stamp}.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["id", "customer_reference", "order_status", "order_reference", "order_timestamp"]
        )
        for i, n in enumerate(shuffled):
            out.writerow(
                [i + 1, owner[n], rng.choice(_STATUS), order_refs[n], day + rng.randrange(86400)]
            )
    del owner
    rng.shuffle(shuffled)
    with (directory / f"items_{stamp}.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "order_reference", "item_name", "quantity", "total_price"])
        row = 0
        for n in shuffled:
            for _ in range(items):
                row += 1
                cents = rng.randrange(50, 50000)
                out.writerow(
                    [
                        row,
                        order_refs[n],
                        rng.choice(_ITEMS),
                        rng.randint(1, 4),
                        f"{cents / 100:.2f}",
                    ]
                )


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. VmHWM, not ru_maxrss: a child's
    ru_maxrss starts from the peak of the process it was forked from (here, the generator)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def child(directory: Path, in_memory: bool, partitions: int | None) -> dict[str, Any]:
    """The measurement, in this fresh process."""
    from app.pipelines.customer_feed.files import KINDS, file_name
    from app.pipelines.customer_feed.join import csv_source, join_feed

    before_rss = _status_mb("VmRSS")
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    work = directory / "spill"
    work.mkdir(exist_ok=True)
    streams = {kind: (directory / file_name(kind, FEED_DATE)).open("rb") for kind in KINDS}
    try:
        sources = {kind: csv_source(streams[kind].name, streams[kind]) for kind in KINDS}
        result = join_feed(
            FEED_DATE,
            sources,
            dict.fromkeys(KINDS, "v1"),
            workdir=None if in_memory else work,
            partitions=partitions,
        )
        joined_s = time.perf_counter() - start
        spill_bytes = sum(p.stat().st_size for p in work.rglob("*") if p.is_file())
        messages = errors = body_bytes = 0
        for message in result.messages():
            messages += 1
            errors += message.type == "error_message"
            body_bytes += len(message.body())
        result.close()
    finally:
        for stream in streams.values():
            stream.close()
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "mode": "in-memory" if in_memory else "spill",
        "records": result.records,
        "wall_s": round(wall, 2),
        "join_s": round(joined_s, 2),
        "cpu_s": round(usage.ru_utime - usage0.ru_utime + usage.ru_stime - usage0.ru_stime, 2),
        "peak_rss_mb": round(_status_mb("VmHWM"), 1),
        "ru_maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "rss_before_join_mb": round(before_rss, 1),
        "spill_mb": round(spill_bytes / 2**20, 1),
        "messages": messages,
        "error_messages": errors,
        "body_mb": round(body_bytes / 2**20, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=5, help="orders per customer")
    parser.add_argument("--items", type=int, default=4, help="items per order")
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--in-memory", action="store_true", help="no workdir (for comparison)")
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.in_memory, args.partitions)))
        return 0
    with tempfile.TemporaryDirectory(prefix="feed-memory-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if not any(directory.glob("items_*.csv")):
            generate(directory, args.customers, args.orders, args.items)
        generated = time.perf_counter() - started
        cmd = [sys.executable, "-m", "benchmarks.feed_memory", "--child", str(directory)]
        if args.in_memory:
            cmd.append("--in-memory")
        if args.partitions:
            cmd += ["--partitions", str(args.partitions)]
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["generate_s"] = round(generated, 1)
    print(json.dumps(result))
    r = result["records"]
    print(
        f"{result['mode']}: {r['customers']:,} customers, {r['orders']:,} orders, "
        f"{r['items']:,} items -> {result['messages']:,} messages "
        f"({result['error_messages']} errors, {result['body_mb']} MB of bodies)\n"
        f"  wall {result['wall_s']} s (join_feed {result['join_s']} s), "
        f"CPU {result['cpu_s']} s, peak RSS {result['peak_rss_mb']} MB "
        f"(before the join {result['rss_before_join_mb']} MB), spill {result['spill_mb']} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

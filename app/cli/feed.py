"""`orders-pipeline feed DIR|s3://bucket/prefix --date YYYY-MM-DD [--out FILE.jsonl]`: the
customer feed's messages for one day, built from the three partner files without sending
them, so a partner can check their files. The message ids are those the function would send
for the same bytes (the versions are the files' MD5s, which is S3's ETag of a single-part
upload)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.table import Table

from app.cli.console import out
from app.cli.failures import CliError, explain
from app.cli.report import iso_date
from app.pipelines.customer_feed.files import KINDS, file_name
from app.pipelines.customer_feed.messages import CustomerMessage, ErrorMessage

if TYPE_CHECKING:
    from app.pipelines.customer_feed.join import FeedResult


def add_parser(sub: Any) -> None:
    feed = sub.add_parser(
        "feed", help="build one day's customer-feed messages from local or S3 files (no sending)"
    )
    feed.add_argument("source", metavar="SOURCE", help="a directory, or s3://bucket/prefix")
    feed.add_argument("--date", type=iso_date, required=True, help="the feed date YYYY-MM-DD")
    feed.add_argument("--out", type=Path, help="write every message body, one per line (JSONL)")
    feed.set_defaults(run=run, usage=feed)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    source: str = args.source
    if not source.startswith("s3://") and not Path(source).is_dir():
        parser.error(f"not a directory or s3:// URI: {source}")
    if args.out is not None and args.out.is_dir():
        parser.error(f"--out {args.out}: a directory; name a file (FILE.jsonl)")
    try:
        with contextlib.ExitStack() as files:
            streams, versions = _open(source, args.date, files)
            return _build(args, streams, versions)
    except CliError:
        raise
    except Exception as exc:
        message = explain(exc, source, args.out)
        if message is None:
            raise
        raise CliError(message) from exc


def _open(
    source: str, date: dt.date, files: contextlib.ExitStack
) -> tuple[dict[str, tuple[str, IO[bytes]]], dict[str, str]]:
    """Each kind's (name, stream) and version (an MD5, as S3's ETag of a single-part upload)."""
    streams: dict[str, tuple[str, IO[bytes]]] = {}
    versions: dict[str, str] = {}
    missing = []
    for kind in KINDS:
        name = file_name(kind, date)
        if source.startswith("s3://"):
            opened = _open_s3(source, name)
            if opened is None:
                missing.append(name)
                continue
            stream, version = opened
        else:
            path = Path(source) / name
            if not path.is_file():
                missing.append(name)
                continue
            version = _md5(path)
            stream = files.enter_context(path.open("rb"))
        streams[kind] = (name, files.enter_context(contextlib.closing(stream)))
        versions[kind] = version
    if missing:
        raise CliError(
            f"{source}: no {', '.join(missing)} (a day's set is customers, orders and items)"
        )
    return streams, versions


def _open_s3(source: str, name: str) -> tuple[IO[bytes], str] | None:
    from botocore.exceptions import ClientError

    from app.adapters.clients import client
    from app.adapters.s3 import open_object
    from app.core.errors import FileError

    bucket, _, prefix = source.removeprefix("s3://").partition("/")
    key = f"{prefix.rstrip('/')}/{name}" if prefix.strip("/") else name
    try:
        opened = open_object(client("s3"), bucket, key)
    except FileError as exc:
        if exc.code == "object_missing":
            return None
        raise CliError(f"{source}: {exc.message}") from exc
    except ClientError:
        raise
    return opened.stream, (opened.etag or "")


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _build(
    args: argparse.Namespace,
    streams: dict[str, tuple[str, IO[bytes]]],
    versions: dict[str, str],
) -> int:
    from app.pipelines.customer_feed.join import csv_source, join_feed

    sources = {kind: csv_source(name, stream) for kind, (name, stream) in streams.items()}
    with tempfile.TemporaryDirectory(prefix="orders-pipeline-feed-") as work:
        result = join_feed(args.date, sources, versions, workdir=Path(work))
        with result:
            return _print(args, result)


def _print(args: argparse.Namespace, result: FeedResult) -> int:
    table = Table(title=f"Customer feed {args.date.isoformat()}", title_justify="left")
    for column in ("customer", "orders", "total", "errors"):
        table.add_column(column, justify="left" if column == "customer" else "right")
    customers = orders = items = errors = 0
    shown: dict[str, list[str]] = {}  # the first 20 customers' rows; their errors counted
    with _writer(args.out) as write:
        for message in result.messages():
            write(message.body())
            if isinstance(message, ErrorMessage):
                errors += 1
                row = shown.get(message.customer_reference or "")
                if row is not None:
                    row[3] = str(int(row[3] or 0) + 1)
                continue
            assert isinstance(message, CustomerMessage)
            orders += len(message.orders)
            items += sum(len(order.items) for order in message.orders)
            if message.part not in (None, 1):
                continue
            customers += 1
            if len(shown) < 20:
                total = f"{message.total_amount_spent:.2f}"
                ref = message.customer_reference
                shown[ref] = [ref, str(message.number_of_orders), total, ""]
    for row in shown.values():
        table.add_row(*row)
    out.print(table)
    if customers > len(shown):
        out.print(f"(first {len(shown)} of {customers} customers)")
    state = "joined" if result.joined else "NOT joined (a file is bad: see the error messages)"
    out.print(
        f"{args.date.isoformat()}: {state}; {customers} customers, {orders} orders, "
        f"{items} items, {errors} error messages" + (f" -> {args.out}" if args.out else "")
    )
    return 0


@contextlib.contextmanager
def _writer(path: Path | None) -> Iterator[Any]:
    if path is None:
        yield lambda _body: None
        return
    with path.open("w", encoding="utf-8") as handle:
        yield lambda body: handle.write(body + "\n")

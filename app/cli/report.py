"""`orders-pipeline report INPUT --out DIR`: the reports of one local file or S3 object."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from app.cli.console import err, out, summary
from app.cli.failures import CliError, explain

if TYPE_CHECKING:
    from app.core.objects import ObjectRef, Opened

_BUCKET = re.compile(r"[A-Za-z0-9._-]{1,255}")  # what botocore accepts (legacy names included)


def add_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="build the reports for one orders CSV")
    report.add_argument("input", metavar="INPUT", help="a local path or s3://bucket/key")
    report.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        help="output directory, laid out like the bucket (default: ./out)",
    )
    report.add_argument(
        "--date",
        type=iso_date,
        default=None,
        help="partition date YYYY-MM-DD (default: today, UTC)",
    )
    report.set_defaults(run=run, usage=report)


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Usage problems (INPUT, --out) exit 2 before any work; a failure of the work exits 1."""
    source: str = args.input
    local = _local_input(source, parser)
    created = _usable_out(args.out, parser)
    try:
        return _build(args, source, local)
    except CliError:
        _tidy(args.out, created)
        raise
    except Exception as exc:
        message = explain(exc, source, args.out)
        if message is None:
            raise
        _tidy(args.out, created)
        raise CliError(message) from exc


def _local_input(source: str, parser: argparse.ArgumentParser) -> Path | None:
    """The input's path, None for s3://; a missing file or a bad URI is a usage error."""
    if source.startswith("s3://"):
        bucket, _, key = source[5:].partition("/")
        if not bucket or not key:
            parser.error(f"not an s3://bucket/key URI: {source}")
        if not _BUCKET.fullmatch(bucket):
            parser.error(f"not an S3 bucket name: {bucket!r}")
        return None
    path = Path(source)
    if path.is_dir():
        parser.error(f"{source} is a directory; give an orders CSV file")
    if not path.is_file():
        parser.error(f"no such file: {source}")
    return path


def _usable_out(directory: Path, parser: argparse.ArgumentParser) -> bool:
    """Create --out and prove it takes a file, before the input is read; True if created."""
    if directory.exists() and not directory.is_dir():
        parser.error(f"--out {directory}: not a directory (a file of that name exists)")
    existed = directory.exists()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        if exc.errno in {errno.ENOTDIR, errno.EEXIST} and (blocker := _file_above(directory)):
            parser.error(f"--out {directory}: {blocker} is a file, not a directory")
        parser.error(
            f"--out {directory}: cannot write there ({exc.strerror or exc}); "
            "choose a writable directory"
        )
    return not existed


def _file_above(directory: Path) -> Path | None:
    for parent in (directory, *directory.parents):
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _tidy(directory: Path, created: bool) -> None:
    """A run that failed before writing leaves no empty --out directory behind."""
    if created:
        with contextlib.suppress(OSError):  # not empty: what was written stays for the user
            directory.rmdir()


def _build(args: argparse.Namespace, source: str, local: Path | None) -> int:
    from app.adapters.directory import DirectorySink
    from app.pipelines.reports import layout, service

    opener, ref, size = _s3_opener(source) if local is None else _file_opener(local)
    started = time.monotonic()
    with _progress(size) as on_bytes:
        outcome = service.process(ref, opener, DirectorySink(args.out), args.date, on_bytes)
    if not outcome.ok:
        message = outcome.error.message if outcome.error else "the file was not processed"
        where = f"; details in {args.out / outcome.outputs[0]}" if outcome.outputs else ""
        raise CliError(f"{source}: {message}{where}")
    reports = [k for k in outcome.outputs if not k.startswith(layout.REJECTED)]  # may be huge
    assert outcome.manifest is not None
    summary(outcome.manifest, {k: (args.out / k).read_text() for k in reports})
    out.print(f"done in {time.monotonic() - started:.2f}s; outputs under {args.out}/")
    return 0


def _file_opener(path: Path) -> tuple[Callable[[], Opened], ObjectRef, int | None]:
    from app.core.objects import ObjectRef, Opened

    size = path.stat().st_size
    return (lambda: Opened(path.open("rb"), size=size)), ObjectRef(key=path.name), size


def _s3_opener(source: str) -> tuple[Callable[[], Opened], ObjectRef, int | None]:
    import boto3

    from app.adapters.clients import CLIENT_CONFIG
    from app.adapters.s3 import open_object
    from app.core.objects import ObjectRef

    bucket, _, key = source[5:].partition("/")
    # A session of its own: credentials and endpoint are read from this environment, now.
    client = boto3.session.Session().client("s3", config=CLIENT_CONFIG)
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

"""`orders-pipeline files`: the file registry, newest landing first, with each outcome.

Which table: --table, else the FILES_TABLE variable, else the local stack's
(`orders-pipeline-local-files`). Which endpoint: --endpoint-url, else boto3's own
AWS_ENDPOINT_URL, else AWS. Against the local stack (`orders-pipeline local`), pass
`--endpoint-url http://127.0.0.1:4566` (region us-east-1, any credentials).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from typing import TYPE_CHECKING, Any

from rich.table import Table

from app.cli.arguments import whole_number
from app.cli.console import out
from app.cli.failures import CliError, explain, one_line
from app.cli.report import iso_date

if TYPE_CHECKING:
    from app.adapters.dynamodb import FileRecord

LOCAL_TABLE = "orders-pipeline-local-files"
TABLE_VARIABLE = "FILES_TABLE"
_BAD_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
}
_ACCESS_DENIED = {"AccessDeniedException", "AccessDenied"}


def add_parser(sub: Any) -> None:
    files = sub.add_parser(
        "files",
        help="list the file registry: every landed file, newest first, with its outcomes",
        description=(
            "The file registry (the files table), newest landing first: each file's size, "
            "landing time (UTC), reports outcome, and rows loaded. An outcome that describes "
            "an older upload of the key than the one landed last is marked (older upload)."
        ),
    )
    files.add_argument(
        "--since",
        type=iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="only files landed on or after this date (UTC)",
    )
    files.add_argument(
        "--limit",
        type=whole_number(1),
        default=50,
        metavar="N",
        help="show at most N files (default 50)",
    )
    files.add_argument(
        "--table",
        default=None,
        help=f"the files table (default: ${TABLE_VARIABLE}, else {LOCAL_TABLE})",
    )
    files.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help=(
            "the AWS endpoint (default: $AWS_ENDPOINT_URL, else AWS); the local stack is "
            "http://127.0.0.1:4566"
        ),
    )
    files.set_defaults(run=run, usage=files)


def table_name(given: str | None) -> str:
    return given or os.environ.get(TABLE_VARIABLE, "").strip() or LOCAL_TABLE


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    table = table_name(args.table)
    since: dt.date | None = args.since
    try:
        records = _read(table, args.endpoint_url, since, args.limit)
    except Exception as exc:
        message = _explain(exc, table)
        if message is None:
            raise
        raise CliError(message) from exc
    show(records, table, since, args.limit)
    return 0


def _read(
    table: str, endpoint_url: str | None, since: dt.date | None, limit: int
) -> list[FileRecord]:
    import boto3

    from app.adapters.clients import CLIENT_CONFIG
    from app.adapters.dynamodb import FileLedger

    # A session of its own: credentials, region and endpoint are read from this environment.
    client = boto3.session.Session().client(
        "dynamodb", config=CLIENT_CONFIG, endpoint_url=endpoint_url or None
    )
    return FileLedger(client, table).newest(since.isoformat() if since else None, limit)


def show(records: list[FileRecord], table: str, since: dt.date | None, limit: int) -> None:
    after = f" landed since {since.isoformat()}" if since else ""
    if not records:
        out.print(f"no files{after} in {table}")
        return
    grid = Table(title=f"Files in {table}{after}, newest first", title_justify="left")
    grid.add_column("file", overflow="fold")
    grid.add_column("size", justify="right", no_wrap=True)
    grid.add_column("landed (UTC)", no_wrap=True)
    grid.add_column("reports", overflow="fold")
    grid.add_column("rows loaded", justify="right", no_wrap=True)
    grid.add_column("loader", overflow="fold")
    for record in records:
        grid.add_row(
            record.name,
            "-" if record.size is None else f"{record.size:,}",
            landed(record.landed_at),
            _outcome(record.reports, record.reports_etag, record.etag),
            "-" if record.rows_loaded is None else f"{record.rows_loaded:,}",
            _loader(record),
        )
    if len(records) == limit:
        grid.caption = f"the {limit} newest shown; there may be more (raise --limit)"
    out.print(grid)


def landed(value: str | None) -> str:
    """`2026-01-02 03:04:05` from the record's ISO-8601 UTC time; "-" before it has landed."""
    if not value:
        return "-"
    return value.replace("T", " ").removesuffix("Z").split(".", 1)[0]


def _outcome(status: str | None, etag: str | None, landed_etag: str | None) -> str:
    if not status:
        return "-"
    return status + (" (older upload)" if _older(etag, landed_etag) else "")


def _loader(record: FileRecord) -> str:
    text = _outcome(record.loader_status, record.loader_etag, record.etag)
    if record.loader_error:
        text += f": {one_line(record.loader_error)}"
    return text


def _older(outcome_etag: str | None, landed_etag: str | None) -> bool:
    """The outcome names another version than the one landed last (both known)."""
    seen, landed_now = (outcome_etag or "").strip('"'), (landed_etag or "").strip('"')
    return bool(seen and landed_now and seen != landed_now)


def _explain(exc: BaseException, table: str) -> str | None:
    """One line for DynamoDB's answers; the other AWS failures as failures.explain says them."""
    from botocore.exceptions import ClientError, NoRegionError

    source = f"table {table}"
    if isinstance(exc, NoRegionError):
        return (
            f"{source}: no AWS region is set; set AWS_DEFAULT_REGION (the local stack is us-east-1)"
        )
    if not isinstance(exc, ClientError):
        return explain(exc, source)
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code == "ResourceNotFoundException":
        return (
            f"{source}: no such table; name it with --table (or {TABLE_VARIABLE}), and check "
            "--endpoint-url and the region"
        )
    if code in _ACCESS_DENIED:
        return f"{source}: access denied; the credentials need dynamodb:Scan on the table"
    if code in _BAD_CREDENTIALS:
        return (
            f"{source}: the AWS credentials were refused ({code}); check AWS_PROFILE or the "
            "access keys, and renew an expired session"
        )
    message = one_line(error.get("Message", "")) or "no message"
    return f"{source}: DynamoDB refused the request ({code}: {message})"

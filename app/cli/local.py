"""`orders-pipeline local`: keep the embedded AWS up and announce what becomes of each upload."""

from __future__ import annotations

import argparse
import errno
import shlex
import shutil
import signal
import sysconfig
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.console import out
from app.cli.demo import SAMPLE
from app.cli.embedded import consumer_line, deliveries, result, show_record_failures
from app.cli.failures import CliError, debug_enabled, describe

if TYPE_CHECKING:
    from app.local.stack import LocalStack


def add_parser(sub: Any) -> None:
    local = sub.add_parser("local", help="keep the embedded AWS running and process every upload")
    local.add_argument(
        "--port", type=_port, default=4566, help="loopback port (default 4566; 0: any free port)"
    )
    local.set_defaults(run=run, usage=local)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0 to 65535): {text}")
    return port


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from app.local.stack import LocalStack

    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    log_level = "ERROR"
    if debug_enabled():
        log_level = "INFO"  # the function's JSON log lines
        show_record_failures()
    with ExitStack() as resources:
        try:
            stack = resources.enter_context(
                LocalStack.start(port=args.port, pump=False, log_level=log_level)
            )
        except OSError as exc:
            raise CliError(_cannot_listen(args.port, exc)) from exc

        def announce(records: list[dict[str, Any]], failed: set[str]) -> None:
            for delivery in deliveries(records, failed):
                try:
                    line = result(stack, delivery).line
                except Exception as exc:  # the pump thread must go on; say what went wrong
                    line = f"unknown {delivery.ref.key}: cannot read its outcome ({describe(exc)})"
                out.print(line)

        events = EventTally(stack.names.transactions_table)

        def announce_consumer(
            function: str, records: list[dict[str, Any]], failed: set[str]
        ) -> None:
            if function == stack.names.function("transactions"):  # events, not S3 objects
                line = events.add(len(records), len(failed))
                if line:
                    out.print(line)
                return
            for delivery in deliveries(records, failed):
                try:
                    line = consumer_line(stack, function, delivery)
                except Exception as exc:  # the pump thread must go on; say what went wrong
                    line = f"unknown {delivery.ref.key}: cannot read its record ({describe(exc)})"
                if line:
                    out.print(line)

        _introduce(stack)
        stack.pump = stack.make_pump(on_batch=announce)  # LocalStack.start stops it on exit
        stack.pump.start()
        stack.start_consumers(on_batch=announce_consumer)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            out.print("\nstopping...")
    return 0


class EventTally:
    """The transactions function's progress: one line at most every `every` seconds (a burst
    of 26,000 events is 2,600 batches), and one for every batch with a failed record."""

    def __init__(self, table: str, every: float = 2.0) -> None:
        self.table, self.every = table, every
        self.consumed = self.retried = 0
        self.last = 0.0

    def add(self, records: int, failed: int) -> str:
        self.consumed += records - failed
        self.retried += failed
        now = time.monotonic()
        if not failed and now - self.last < self.every:
            return ""
        self.last = now
        line = f"transactions: {self.consumed:,} events consumed into {self.table}"
        if self.retried:
            line += f"; {self.retried:,} deliveries failed and were retried"
        return line


def _cannot_listen(port: int, exc: OSError) -> str:
    where = f"cannot listen on 127.0.0.1:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where}: the port is in use by another program; stop it, or choose another "
            "port with --port (--port 0 picks a free one)"
        )
    if exc.errno in {errno.EACCES, errno.EPERM}:
        return f"{where}: {exc.strerror}; ports below 1024 need privileges: choose another --port"
    return f"{where}: {exc.strerror or describe(exc)}; choose another port with --port"


def _introduce(stack: LocalStack) -> None:
    names = stack.names
    out.print(f"embedded AWS at {stack.endpoint_url} (region us-east-1, any credentials)")
    out.print(
        f"  input  s3://{names.input_bucket}\n  output s3://{names.output_bucket}\n"
        f"  partner feed s3://{names.partner_feed_bucket}\n"
        f"  topic {names.topic}; queues -reports, -registry, -loader, -feed, -transactions "
        "(each with a -dlq)\n"
        f"  customer feed out: queue {names.queue('customer-feed')}; alerts: topic "
        f"{names.alerts_topic}\n"
        f"  tables {names.files_table} (the file registry), {names.rows_table} (the loader), "
        f"{names.transactions_table}"
    )
    aws, found = aws_command()
    out.print("upload an orders CSV:")
    out.print(
        f"  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing {aws} --region us-east-1 "
        f"--endpoint-url {stack.endpoint_url} s3 cp {shlex.quote(shown(SAMPLE))} "
        f"s3://{names.input_bucket}/"
    )
    if not found:
        out.print("  (no AWS CLI found: install it, or run `make setup` for .venv/bin/aws)")
    out.print("send order events:")
    out.print("  orders-pipeline send-events --count 1000 --invalid-share 0.05 --large-share 0.02")
    out.print("Ctrl-C to stop.")


def aws_command() -> tuple[str, bool]:
    """The AWS CLI to paste: the one on PATH, else the project's own (awscli is a dev
    dependency, in the scripts directory of this environment); False if there is neither."""
    if shutil.which("aws"):
        return "aws", True
    bundled = Path(sysconfig.get_path("scripts")) / "aws"
    if bundled.is_file():
        return shlex.quote(shown(bundled, executable=True)), True
    return "aws", False


def shown(path: Path, *, executable: bool = False) -> str:
    """`path` relative to the working directory when it is below it, else absolute."""
    cwd = Path.cwd()
    if not path.is_relative_to(cwd):
        return str(path)
    relative = str(path.relative_to(cwd))
    return f"./{relative}" if executable and "/" not in relative else relative


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt

"""The orders-pipeline command: run the reports on a file, or the whole pipeline on a laptop.

One module per subcommand (report, demo, local). Every failure is one line on stderr with
exit status 1, or an argparse usage error with exit status 2; never a traceback, unless
ORDERS_PIPELINE_DEBUG=1 asks for one.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Any

from app.cli import demo, feed, files, local, report, transactions
from app.cli.console import err
from app.cli.failures import DEBUG_VARIABLE, CliError, debug_enabled, describe

__all__ = ["main"]

_RERUN = f"rerun with {DEBUG_VARIABLE}=1 to see the traceback"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = debug_enabled()
    saved = sys.unraisablehook, threading.excepthook
    if not debug:
        sys.unraisablehook = _unraisable
        threading.excepthook = _thread_failed
    try:
        code: int = args.run(args, args.usage)  # usage errors name the subcommand
        return code
    except KeyboardInterrupt:
        err.print("stopped")
        return 130
    except CliError as exc:
        err.print(f"error: {exc}")
        return 1
    except BrokenPipeError:
        _stdout_gone()
        return 1
    except Exception as exc:  # the safety net: one line, never a traceback
        if debug:
            raise
        err.print(f"error: {describe(exc)} (unexpected; {_RERUN})")
        return 1
    finally:
        sys.unraisablehook, threading.excepthook = saved


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orders-pipeline",
        description="Order analytics: an orders CSV in, three date-partitioned reports out.",
        epilog=(
            "Exit status: 0 done, 1 failed (one line on stderr), 2 usage error. "
            f"{DEBUG_VARIABLE}=1 shows tracebacks."
        ),
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    report.add_parser(sub)
    demo.add_parser(sub)
    local.add_parser(sub)
    files.add_parser(sub)
    feed.add_parser(sub)
    transactions.add_parsers(sub)
    return parser


def _unraisable(unraisable: Any) -> None:
    """An exception Python could not raise (a finalizer, a closed generator): the real error,
    if any, is reported by the code that failed; its traceback only with the debug variable."""


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread else "a thread"
    err.print(f"error: in {name}: {describe(args.exc_value)} ({_RERUN})")


def _stdout_gone() -> None:
    """The reader of stdout left (`| head`): stop quietly, without a BrokenPipeError at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())

"""`orders-pipeline local` as a process: its console read line by line, as a user reads it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLI = str(BIN / "orders-pipeline")
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
INPUT_BUCKET = "orders-pipeline-local-input"
OUTPUT_BUCKET = "orders-pipeline-local-output"
PARTNER_FEED_BUCKET = "orders-pipeline-local-partner-feed"
FILES_TABLE = "orders-pipeline-local-files"
ROWS_TABLE = "orders-pipeline-local-rows"
ANNOUNCE = re.compile(r"(processed|rejected|ignored|skipped|retry|failed) (.+?): ")
# What the registry and the loader say of an upload (the reports function's lines are ANNOUNCE).
CONSUMER = re.compile(r"(registered|loaded|loading|load failed|fed|feed|retry) (.+?)(?:: | in )")


def path_without_aws() -> str:
    """PATH with every directory that holds an `aws` removed (the venv's bin included)."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not (Path(d) / "aws").exists())


class LocalProcess:
    """A running `orders-pipeline local --port 0`; lines arrive through a reader thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [CLI, "local", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env,
        )
        self.lines: list[str] = []
        self.consumer_lines: list[str] = []  # the registry's and the loader's, kept apart
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.intro = self.until(lambda line: "Ctrl-C" in line, timeout=60)
        found = re.search(r"embedded AWS at (http://127\.0\.0\.1:\d+)", "".join(self.intro))
        assert found, "".join(self.intro)
        self.endpoint = found.group(1)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def until(self, done: Callable[[str], bool], timeout: float = 60) -> list[str]:
        """The lines read until one satisfies `done` (included); fails on timeout or exit."""
        read: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"timed out after {timeout}s; console so far:\n{''.join(self.lines)}")
            if line is None:
                pytest.fail(f"`local` exited early:\n{''.join(self.lines)}")
            self.lines.append(line)
            read.append(line)
            if done(line):
                return read

    def announced(self, *keys: str, timeout: float = 60) -> list[str]:
        """Every line read until each key had its reports line (`<what> <key>: ...`), but the
        registry's and the loader's lines (see consumer_lines)."""
        waiting = set(keys)

        def last(line: str) -> bool:
            found = ANNOUNCE.match(line)
            if found:
                waiting.discard(found.group(2))
            return not waiting

        return self._reports_only(self.until(last, timeout))

    def consumers_announced(self, *lines: str, timeout: float = 60) -> list[str]:
        """The registry's and the loader's lines, once each of `lines` was printed."""
        deadline = time.monotonic() + timeout
        while not set(lines) <= set(self.consumer_lines):
            self._reports_only(self.until(lambda _line: True, deadline - time.monotonic()))
        return self.consumer_lines

    def _reports_only(self, lines: list[str]) -> list[str]:
        others = [line for line in lines if CONSUMER.match(line) and not ANNOUNCE.match(line)]
        self.consumer_lines.extend(others)
        return [line for line in lines if line not in others]

    def s3(self) -> Any:
        return self.client("s3")

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def wait_for_item(
        self, table: str, name: str, *attributes: str, timeout: float = 10
    ) -> dict[str, Any]:
        """The files-table item of `name` once it has `attributes` (the landing record's
        Status at least): each consumer adds its own, in any order."""
        dynamodb = self.client("dynamodb")
        deadline = time.monotonic() + timeout
        wanted = {"Status", *attributes}
        while True:
            item = dynamodb.get_item(TableName=table, Key={"FileName": {"S": name}}).get("Item")
            if item and wanted <= item.keys():
                return dict(item)
            if time.monotonic() > deadline:
                pytest.fail(f"{name}: no item with {sorted(wanted)} after {timeout}s: {item}")
            time.sleep(0.1)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C; the exit status and everything printed after the last line read."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)
        rest: list[str] = []
        while (line := self._queue.get(timeout=10)) is not None:
            rest.append(line)
        self.lines.extend(rest)
        return self.proc.returncode, "".join(self._reports_only(rest))


@pytest.fixture
def start_local() -> Iterator[Callable[..., LocalProcess]]:
    started: list[LocalProcess] = []

    def start(**env: str) -> LocalProcess:
        base = {k: v for k, v in os.environ.items() if k != "ORDERS_PIPELINE_DEBUG"}
        process = LocalProcess({**base, **env})
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(timeout=30)

"""Each handler validates its configuration once, at import, naming what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = {
    "OUTPUT_BUCKET": "out",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:registry",
    "ROWS_TABLE": "rows",
    "FILES_TABLE": "files",
    "CONTINUE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/loader-continue",
    "OUTPUT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/customer-feed",
    "FEED_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/feed",
    "TRANSACTIONS_TABLE": "transactions",
    "ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "PAYLOAD_BUCKET": "out",
}


def import_handler(module: str, missing: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in COMPLETE}
    env.update({k: v for k, v in COMPLETE.items() if k != missing}, **overrides)
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    return subprocess.run(
        [sys.executable, "-c", f"import app.handlers.{module}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.parametrize(
    ("module", "missing"),
    [
        ("reports", "OUTPUT_BUCKET"),
        ("registry", "STATE_MACHINE_ARN"),
        ("loader", "ROWS_TABLE"),
        ("loader", "FILES_TABLE"),
        ("loader", "CONTINUE_QUEUE_URL"),
        ("customer_feed", "FILES_TABLE"),
        ("customer_feed", "OUTPUT_QUEUE_URL"),
        ("customer_feed", "FEED_QUEUE_URL"),
        ("transactions", "TRANSACTIONS_TABLE"),
        ("transactions", "ALERTS_TOPIC_ARN"),
        ("transactions", "PAYLOAD_BUCKET"),
    ],
)
def test_a_missing_variable_fails_at_import_with_a_clear_message(module: str, missing: str) -> None:
    result = import_handler(module, missing)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr.strip().splitlines()[-1]


def test_a_malformed_number_of_seconds_is_named() -> None:
    result = import_handler("loader", "", LOADER_MARGIN_SECONDS="soon")
    assert result.returncode != 0
    assert "LOADER_MARGIN_SECONDS is not a number of seconds: 'soon'" in result.stderr


@pytest.mark.parametrize(
    "module", ["reports", "registry", "loader", "customer_feed", "transactions"]
)
def test_a_complete_configuration_imports(module: str) -> None:
    result = import_handler(module, "")
    assert result.returncode == 0, result.stderr

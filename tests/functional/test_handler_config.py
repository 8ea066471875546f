"""The handler validates its configuration once, at import, naming what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_missing_output_bucket_fails_at_import_with_a_clear_message() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OUTPUT_BUCKET"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    result = subprocess.run(
        [sys.executable, "-c", "import app.handlers.reports"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode != 0
    assert "OUTPUT_BUCKET is not set" in result.stderr.strip().splitlines()[-1]

"""The last line of defence: a failure nobody foresaw is still one line, unless asked for more."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"

# A report run whose service fails in three unforeseen ways: an exception in a finalizer
# (Python prints "Exception ignored in ..." with a traceback), one in a thread, then one raised.
PROGRAM = textwrap.dedent(
    """
    import sys, threading
    import app.pipelines.reports.service

    class Leaky:
        def __del__(self):
            raise ValueError("in a finalizer")

    def fail(*args, **kwargs):
        Leaky()
        worker = threading.Thread(target=lambda: 1 / 0, name="worker")
        worker.start()
        worker.join()
        raise RuntimeError("boom\\nsecond line")

    app.pipelines.reports.service.process = fail
    from app.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "ORDERS_PIPELINE_DEBUG"}
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, "report", str(SAMPLE), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **env},
        timeout=120,
    )


def test_unexpected_failures_are_one_line_each_with_the_debug_hint(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: in worker: ZeroDivisionError: division by zero "
        "(rerun with ORDERS_PIPELINE_DEBUG=1 to see the traceback)",
        "error: RuntimeError: boom second line "
        "(unexpected; rerun with ORDERS_PIPELINE_DEBUG=1 to see the traceback)",
    ]


def test_debug_variable_shows_every_traceback(tmp_path: Path) -> None:
    result = run(tmp_path, ORDERS_PIPELINE_DEBUG="1")
    assert result.returncode == 1
    err = result.stderr
    assert "Exception ignored" in err and "ValueError: in a finalizer" in err
    assert "ZeroDivisionError: division by zero" in err
    assert err.count("Traceback (most recent call last)") == 3
    assert err.rstrip().endswith("RuntimeError: boom\nsecond line")

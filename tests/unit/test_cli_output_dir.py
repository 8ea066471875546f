"""`report --out DIR` problems: a usage error (2) when found before the input is read, one line
and exit 1 when a write fails later; never a traceback, and no outputs when none can be written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
NAME_MAX = 255


def usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.splitlines()[-1]


def test_out_that_is_an_existing_file_is_a_usage_error(tmp_path: Path, capsys) -> None:
    target = tmp_path / "out.txt"
    target.write_text("keep me\n")
    line = usage_error(["report", str(SAMPLE), "--out", str(target)], capsys)
    assert line == (
        f"orders-pipeline report: error: --out {target}: not a directory "
        "(a file of that name exists)"
    )
    assert target.read_text() == "keep me\n"


def test_out_below_a_file_is_a_usage_error(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "notes"
    blocker.write_text("")
    target = blocker / "reports"
    line = usage_error(["report", str(SAMPLE), "--out", str(target)], capsys)
    assert line == (
        f"orders-pipeline report: error: --out {target}: {blocker} is a file, not a directory"
    )


@pytest.mark.parametrize("target", ["/proc/orders-pipeline-out", "/sys/orders-pipeline-out"])
def test_out_where_nobody_may_write_is_a_usage_error(target: str, capsys) -> None:
    # /proc and /sys refuse new directories even to root (the tests run as root).
    line = usage_error(["report", str(SAMPLE), "--out", target], capsys)
    reason = os.strerror(_mkdir_errno(target))
    assert line == (
        f"orders-pipeline report: error: --out {target}: cannot write there ({reason}); "
        "choose a writable directory"
    )
    assert not Path(target).exists()


def _mkdir_errno(path: str) -> int:
    try:
        os.mkdir(path)
    except OSError as exc:
        assert exc.errno is not None
        return exc.errno
    os.rmdir(path)
    pytest.fail(f"{path} could be created: not a read-only place here")


def test_a_write_that_fails_later_is_one_line_naming_the_path(tmp_path: Path, capsys) -> None:
    # --out itself can be created, but the outputs' full paths pass PATH_MAX (4096 bytes).
    out = tmp_path
    while len(str(out)) < 4000:
        out = out / ("d" * 200)
    out.mkdir(parents=True)
    code = main(["report", str(SAMPLE), "--out", str(out), "--date", "2026-01-02"])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: cannot write ")
    assert lines[0].endswith(
        ": File name too long; the path is too long for the file system: "
        "choose a shorter --out path"
    )
    assert "Traceback" not in captured.out
    assert not list(out.rglob("*.json"))  # no manifest: the set is not complete


def test_long_non_ascii_input_name_gets_outputs_within_name_limits(tmp_path: Path, capsys) -> None:
    source = tmp_path / ("é" * 120 + ".csv")  # 244 bytes; escaped, ~C3~A9 per é: 720
    source.write_bytes(SAMPLE.read_bytes())
    out = tmp_path / "out"
    code = main(["report", str(source), "--out", str(out), "--date", "2026-01-02"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) == 4  # three reports and the manifest
    assert all(len(p.name.encode()) <= NAME_MAX for p in written)

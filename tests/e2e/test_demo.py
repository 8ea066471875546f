"""The newcomer's path: `orders-pipeline demo` and `orders-pipeline local`, as processes."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("orders-pipeline"))


def test_demo_prints_the_three_answers() -> None:
    started = time.monotonic()
    result = subprocess.run([CLI, "demo"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "most profitable region: East (profit 2465.50)" in out
    assert re.search(r"│ +1 │ East +│ 2465\.50 │", out)
    assert re.search(r"│ Furniture +│ Same Day +│ +2 │", out)
    assert re.search(r"│ Furniture +│ Standard Class +│ +2 │", out)
    assert re.search(r"│ Office Supplies │ Binders +│ +3 │", out)
    assert time.monotonic() - started < 60  # seconds, not minutes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_local_processes_an_upload_made_with_the_printed_command(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [CLI, "local", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        while not any("Ctrl-C" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        assert f"embedded AWS at http://127.0.0.1:{port}" in "".join(lines)
        command = next(line for line in lines if " s3 cp " in line).split()
        env_assignments = [w for w in command if "=" in w and not w.startswith("-")]
        argv = [str(Path(sys.executable).with_name("aws")), *command[len(env_assignments) + 1 :]]
        env = dict(os.environ, **dict(a.split("=", 1) for a in env_assignments))
        upload = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        assert upload.returncode == 0, f"{shlex.join(argv)}: {upload.stderr}"

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("processed sample_orders.csv"):
                break
        assert "processed sample_orders.csv: 20 rows, 0 rejected" in "".join(lines)
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "stopping" in rest and "Traceback" not in rest

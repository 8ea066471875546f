"""scripts/deploy.sh and scripts/destroy.sh: shellcheck clean, --help, clear usage errors.
(The full run against moto is in test_stack_on_moto.py.)"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.infra.conftest import ROOT, VENV_BIN

SCRIPTS = [ROOT / "scripts" / "deploy.sh", ROOT / "scripts" / "destroy.sh"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    return subprocess.run(
        [*args], cwd=ROOT, env={**base, **(env or {})}, text=True, capture_output=True,
        timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_shellcheck_clean() -> None:
    proc = _run(str(VENV_BIN / "shellcheck"), "-x", *map(str, SCRIPTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_help(script: os.PathLike[str]) -> None:
    proc = _run(str(script), "--help")
    assert proc.returncode == 0
    assert "Usage:" in proc.stdout and "--region" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--owner", "me"], "missing --region"),
        (["--region", "eu-west-1", "--stack-dir", "/nonexistent"], "stack directory not found"),
        (["--region", "eu-west-1", "--owner"], "--owner needs a value"),
        (["--region", "eu-west-1", "--bogus"], "unknown argument: --bogus"),
        (["--region", "eu-west-1"], "missing --owner"),
        (["--region", "eu-west-1", "--owner", "me", "--backend-config", "/no/such.hcl"],
         "--backend-config file not found"),
    ],
)  # fmt: skip
def test_deploy_usage_errors(args: list[str], message: str) -> None:
    proc = _run(str(SCRIPTS[0]), *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_destroy_needs_a_region() -> None:
    proc = _run(str(SCRIPTS[1]))
    assert proc.returncode == 2 and "missing --region" in proc.stderr

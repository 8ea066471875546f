"""Static checks of terraform/: fmt, init + validate of the stack and of every module (each in a
temporary copy, so no .terraform lands in the repository), and checkov with zero failures."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import ROOT, STACK, TERRAFORM_DIR, require_plugin_dir, terraform

# Its own group: it runs beside the stack tests (group "terraform"), whose time is mostly the
# provider waiting on moto, not CPU.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform-static")]

MODULES = sorted(p.name for p in (TERRAFORM_DIR / "modules").iterdir() if p.is_dir())
CHECKOV = ROOT / "tools" / "checkov" / ".venv" / "bin" / "checkov"


def test_every_module_has_the_standard_files() -> None:
    assert set(MODULES) >= {
        "ecr_repository", "s3_bucket", "sqs_queue", "lambda_image_function",
        "s3_sns_sqs_fanout", "alarms", "athena_reports",
    }  # fmt: skip
    for name in MODULES:
        files = {p.name for p in (TERRAFORM_DIR / "modules" / name).iterdir()}
        missing = {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} - files
        assert not missing, f"module {name} lacks {sorted(missing)}"


def test_every_variable_is_typed_and_described() -> None:
    import re

    block = re.compile(r'variable\s+"([^"]+)"\s*\{(.*?)\n\}', re.S)
    for path in TERRAFORM_DIR.rglob("variables.tf"):
        for name, body in block.findall(path.read_text()):
            assert re.search(r"^\s*type\s*=", body, re.M), f"{path}: variable {name} has no type"
            assert re.search(r'^\s*description\s*=\s*"\S', body, re.M), (
                f"{path}: variable {name} has no description"
            )


def test_fmt() -> None:
    proc = terraform(ROOT, "fmt", "-check", "-recursive", "-diff", "terraform", check=False)
    assert proc.returncode == 0, f"terraform fmt -check found unformatted files:\n{proc.stdout}"


def _init_and_validate(workdir: Path, plugin_dir: Path) -> str | None:
    """Returns an error message, or None."""
    steps = (
        ["init", "-backend=false", f"-plugin-dir={plugin_dir}", "-input=false", "-no-color"],
        ["validate", "-no-color"],
    )
    for args in steps:
        proc = subprocess.run(
            ["terraform", *args], cwd=workdir, text=True, capture_output=True, check=False
        )
        if proc.returncode != 0:
            return f"terraform {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return None


def test_init_and_validate_stack_and_every_module(tmp_path: Path) -> None:
    plugin_dir = require_plugin_dir()
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    dirs = [copy / STACK] + [copy / "modules" / m for m in MODULES]
    # validate spends its time loading the provider schema (CPU): two at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        errors = list(pool.map(lambda d: _init_and_validate(d, plugin_dir), dirs))
    failures = {d.name: e for d, e in zip(dirs, errors, strict=True) if e}
    assert not failures, "\n\n".join(f"== {n}\n{e}" for n, e in failures.items())
    assert not list(TERRAFORM_DIR.rglob(".terraform")), "a .terraform dir landed in the repo"


def test_checkov_has_no_failed_checks() -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV.relative_to(ROOT)} is missing: run `make setup`")
    proc = subprocess.run(
        [str(CHECKOV), "-d", "terraform", "--quiet", "--compact", "--skip-download",
         "--framework", "terraform", "-o", "json"],
        cwd=ROOT, text=True, capture_output=True, check=False,
    )  # fmt: skip
    try:
        report: Any = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov did not print JSON (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    summary = [r.get("summary", {}) for r in reports]
    assert sum(s.get("passed", 0) for s in summary) > 100, f"checkov checked little: {summary}"
    assert not failed, "checkov failed checks:\n" + "\n".join(
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']}"
        f":{c['file_line_range']})"
        for c in failed
    )
    skipped = [c for r in reports for c in r.get("results", {}).get("skipped_checks", [])]
    for check in skipped:
        assert check.get("suppress_comment", "").strip(), (
            f"{check['check_id']} on {check['resource']} is skipped without a reason"
        )

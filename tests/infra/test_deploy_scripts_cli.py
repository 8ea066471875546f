"""scripts/deploy.sh and scripts/destroy.sh without AWS: shellcheck, --help, usage errors, and
runs with stand-in `terraform`, `aws` and `docker` (tests/stand_ins) that record every call, for
what the emulator cannot show: the profile reaching every terraform call and the S3 backend,
the flags that become variables, and destroy.sh stopping when S3 refuses a deletion. (The full
runs against moto are test_stack_*.py and test_half_deployed_destroy.py.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import ROOT, VENV_BIN
from tests.stand_ins.harness import StandIns

SCRIPTS = [ROOT / "scripts" / "deploy.sh", ROOT / "scripts" / "destroy.sh"]
REGION = "eu-west-1"
REPO_URI = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/orders-pipeline-dev"
DIGEST = "sha256:" + "0123456789abcdef" * 4
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


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
    assert "Usage:" in proc.stdout and "--region" in proc.stdout and "--profile" in proc.stdout


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
        (["--region", "eu-west-1", "--owner", "me", "--reserved-concurrency", "1"],
         "--reserved-concurrency must be a whole number >= 2"),
        (["--region", "eu-west-1", "--owner", "me", "--reserved-concurrency", "ten"],
         "--reserved-concurrency must be a whole number >= 2"),
    ],
)  # fmt: skip
def test_deploy_usage_errors(args: list[str], message: str) -> None:
    proc = _run(str(SCRIPTS[0]), *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_destroy_needs_a_region() -> None:
    proc = _run(str(SCRIPTS[1]))
    assert proc.returncode == 2 and "missing --region" in proc.stderr


# ---- with stand-ins ----------------------------------------------------------------------------


@pytest.fixture
def fake(tmp_path: Path) -> StandIns:
    return StandIns(tmp_path, progs=("aws", "docker", "terraform"))


def _outputs(fake: StandIns, **values: str) -> None:
    for name, value in values.items():
        fake.on("terraform", ["output", "-raw", name], {"stdout": value})


def _deploy_rules(fake: StandIns) -> None:
    """Steps 1-4 succeed; the sample upload (step 5) is refused, so the run ends there."""
    _outputs(
        fake,
        ecr_repository_name="orders-pipeline-dev",
        input_bucket="in-bucket",
        output_bucket="out-bucket",
        function_name="orders-pipeline-dev-reports",
    )
    fake.on("aws", ["ecr", "describe-repositories"], {"stdout": REPO_URI + "\n"})
    fake.on(
        "aws",
        ["ecr", "describe-images"],
        {"stderr": "An error occurred (ImageNotFoundException)\n", "exit": 254},
        {"stdout": f"{DIGEST}\t{MANIFEST_V2}\n"},
    )
    fake.on("docker", ["image", "inspect"], {"stdout": "linux/arm64\n"})
    fake.on("aws", ["s3api", "put-object"], {"stderr": "AccessDenied\n", "exit": 254})


def _terraform_calls(run: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = [c for c in run.calls if c["prog"] == "terraform"]
    assert calls, run.stderr
    return calls


def test_deploy_gives_the_profile_to_the_backend_and_every_terraform_call(
    fake: StandIns, tmp_path: Path
) -> None:
    _deploy_rules(fake)

    run = fake.run(
        "deploy.sh", "--owner", "me", "--region", REGION, "--profile", "deployer",
        "--backend-config", "bucket=tfstate", "--tag", "t1", "--auto-approve",
        "--stack-dir", str(tmp_path),
    )  # fmt: skip

    assert run.returncode == 1 and "sample upload test failed" in run.stderr
    calls = _terraform_calls(run)
    verbs = [c["argv"][1] for c in calls]  # after -chdir=...
    assert verbs[:3] == ["init", "apply", "output"] and verbs.count("apply") == 2
    # The S3 backend reads (and locks) the state with the profile: at init, and in every
    # later command through AWS_PROFILE.
    assert all(c["env"]["AWS_PROFILE"] == "deployer" for c in calls)
    init = calls[0]["argv"]
    assert "-backend-config=bucket=tfstate" in init and "-backend-config=profile=deployer" in init
    for apply in (c["argv"] for c in calls if c["argv"][1] == "apply"):
        assert apply[apply.index("aws_profile=deployer") - 1] == "-var"
    # ... and to every aws CLI call (build_and_push.sh, upload_sample.sh).
    assert all("--profile" in c["argv"] for c in run.calls if c["prog"] == "aws")


def test_deploy_without_a_profile_uses_the_default_chain(fake: StandIns, tmp_path: Path) -> None:
    _deploy_rules(fake)

    run = fake.run(
        "deploy.sh", "--owner", "me", "--region", REGION, "--tag", "t1", "--auto-approve",
        "--stack-dir", str(tmp_path),
    )  # fmt: skip

    calls = _terraform_calls(run)
    assert all(c["env"]["AWS_PROFILE"] is None for c in calls)
    assert not [a for c in calls for a in c["argv"][1:] if "profile" in a]


@pytest.mark.parametrize("reserved", [None, "20"])
def test_deploy_reserves_concurrency_only_when_asked(
    fake: StandIns, tmp_path: Path, reserved: str | None
) -> None:
    _deploy_rules(fake)
    extra = ["--reserved-concurrency", reserved] if reserved else []

    run = fake.run(
        "deploy.sh", "--owner", "me", "--region", REGION, "--tag", "t1", "--auto-approve",
        "--stack-dir", str(tmp_path), *extra,
    )  # fmt: skip

    applies = [c["argv"] for c in _terraform_calls(run) if c["argv"][1] == "apply"]
    assert len(applies) == 2
    for argv in applies:
        given = [a for a in argv if a.startswith("reserved_concurrency=")]
        # Without the flag the stack's default applies: no reservation (quota-safe).
        assert given == ([f"reserved_concurrency={reserved}"] if reserved else [])


BATCH = {
    "Objects": [
        {"Key": "a.csv", "VersionId": "v1"},
        {"Key": "a.csv", "VersionId": "v2"},
    ],
    "Quiet": True,
}


def _destroy(fake: StandIns, tmp_path: Path, *extra: str) -> Any:
    return fake.run("destroy.sh", "--yes", "--region", REGION, "--stack-dir", str(tmp_path), *extra)


def test_destroy_gives_the_profile_to_the_backend_and_every_terraform_call(
    fake: StandIns, tmp_path: Path
) -> None:
    _outputs(fake, name_prefix="orders-pipeline-dev", ecr_repository_name="orders-pipeline-dev")
    fake.on("aws", ["ecr", "list-images"], {"stdout": "[]\n"})

    run = _destroy(fake, tmp_path, "--profile", "deployer", "--backend-config", "bucket=tfstate")

    assert run.returncode == 0, run.stderr
    calls = _terraform_calls(run)
    verbs = [c["argv"][1] for c in calls]
    assert (verbs[0], verbs[-1]) == ("init", "destroy")
    assert all(c["env"]["AWS_PROFILE"] == "deployer" for c in calls)
    assert "-backend-config=profile=deployer" in calls[0]["argv"]
    destroy = calls[-1]["argv"]
    assert "aws_profile=deployer" in destroy
    # No image variable: the stack keeps what runs, or has no function (half deployed).
    assert not [a for a in destroy if a.startswith(("image_uri=", "image_digest="))]


def test_with_no_backend_config_init_reuses_the_configured_backend(
    fake: StandIns, tmp_path: Path
) -> None:
    """A lone -backend-config=profile=... would replace the stored bucket and key: the profile
    then reaches the backend through AWS_PROFILE only."""
    _outputs(fake, name_prefix="orders-pipeline-dev")

    run = _destroy(fake, tmp_path, "--profile", "deployer")

    assert run.returncode == 0, run.stderr
    init = _terraform_calls(run)[0]
    assert init["argv"][1:] == ["init", "-input=false"]
    assert init["env"]["AWS_PROFILE"] == "deployer"


def test_destroy_stops_when_s3_refuses_to_delete_a_version(fake: StandIns, tmp_path: Path) -> None:
    _outputs(fake, name_prefix="p", input_bucket="in-bucket")
    fake.on("aws", ["s3api", "list-object-versions"], {"stdout": json.dumps(BATCH, indent=4)})
    fake.on(
        "aws",
        ["s3api", "delete-objects"],
        {"stdout": "a.csv\tv1\tAccessDenied\tAccess Denied\n"},
    )

    run = _destroy(fake, tmp_path)

    assert run.returncode == 1
    assert "S3 refused to delete 1 of 2 versions in s3://in-bucket" in run.stderr
    assert "a.csv\tv1\tAccessDenied" in run.stderr
    assert "destroy" not in [c["argv"][1] for c in _terraform_calls(run)]
    [delete] = [c for c in run.calls if "delete-objects" in c["argv"]]
    # The batch goes as a file (a command-line argument is limited to 128 KiB), as listed.
    [(arg, content)] = delete["files"].items()
    assert delete["argv"][delete["argv"].index("--delete") + 1] == arg
    assert json.loads(content) == BATCH


def test_destroy_stops_when_deleted_versions_keep_coming_back(
    fake: StandIns, tmp_path: Path
) -> None:
    """No per-key error, yet nothing goes: a loop that could not end."""
    _outputs(fake, name_prefix="p", input_bucket="in-bucket")
    fake.on("aws", ["s3api", "list-object-versions"], {"stdout": json.dumps(BATCH, indent=4)})
    fake.on("aws", ["s3api", "delete-objects"], {"stdout": "None\n"})

    run = _destroy(fake, tmp_path)

    assert run.returncode == 1
    assert "still lists the same versions" in run.stderr
    assert len([c for c in run.calls if "delete-objects" in c["argv"]]) == 1
    assert "destroy" not in [c["argv"][1] for c in _terraform_calls(run)]


def test_destroy_stops_when_a_bucket_cannot_be_read(fake: StandIns, tmp_path: Path) -> None:
    _outputs(fake, name_prefix="p", input_bucket="in-bucket")
    fake.on(
        "aws",
        ["s3api", "head-bucket"],
        {"stderr": "An error occurred (403) when calling the HeadBucket operation: Forbidden\n",
         "exit": 254},
    )  # fmt: skip

    run = _destroy(fake, tmp_path)

    assert run.returncode == 1
    assert "cannot access s3://in-bucket" in run.stderr
    assert "destroy" not in [c["argv"][1] for c in _terraform_calls(run)]

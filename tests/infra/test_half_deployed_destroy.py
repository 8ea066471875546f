"""A deploy that stopped half way (the key and the ECR repository exist, the image build
failed, so there is no image and no function) can still be planned and torn down, and
--profile reaches Terraform's S3 backend: the state lives in a bucket on the moto server and
the only credentials are a named profile in a shared credentials file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.infra.conftest import (
    REGION,
    ROOT,
    VENV_BIN,
    MotoServer,
    cli_config,
    terraform,
    terraform_env,
    working_copy,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform-half-deployed")]

STATE_BUCKET = "tfstate-half-deployed"
STATE_KEY = "orders-pipeline/dev.tfstate"
PROFILE = "deployer"

FAILING_DOCKER = """#!/usr/bin/env bash
echo "ERROR: failed to solve: stand-in build failure" >&2
exit 1
"""


@pytest.fixture(scope="module")
def half_deployed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("half")
    moto = MotoServer(tmp / "moto.log")
    try:
        moto.client("s3").create_bucket(Bucket=STATE_BUCKET)
        stack = working_copy(tmp, moto.url, local_backend=False)
        backend = tmp / "backend-dev.hcl"
        backend.write_text(
            f'bucket = "{STATE_BUCKET}"\nkey = "{STATE_KEY}"\nregion = "{REGION}"\n'
            "use_lockfile = true\nuse_path_style = true\nskip_credentials_validation = true\n"
            "skip_requesting_account_id = true\nskip_metadata_api_check = true\n"
            f'skip_region_validation = true\nendpoints = {{ s3 = "{moto.url}" }}\n'
        )
        # The only credentials: a named profile. Without --profile reaching the backend,
        # `terraform init` finds none.
        (tmp / "credentials").write_text(
            f"[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        )
        (tmp / "config").write_text(f"[profile {PROFILE}]\nregion = {REGION}\n")
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "docker").write_text(FAILING_DOCKER)
        (bin_dir / "docker").chmod(0o755)
        env = terraform_env(
            {
                "TF_CLI_CONFIG_FILE": str(cli_config(tmp)),
                "PATH": os.pathsep.join([str(bin_dir), str(VENV_BIN), os.environ["PATH"]]),
                "AWS_ENDPOINT_URL": moto.url,
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "credentials"),
                "AWS_CONFIG_FILE": str(tmp / "config"),
            }
        )
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            env.pop(name, None)
        common = ["--region", REGION, "--profile", PROFILE, "--backend-config", str(backend),
                  "--stack-dir", str(stack)]  # fmt: skip
        deploy = subprocess.run(
            [str(ROOT / "scripts" / "deploy.sh"), "--owner", "infra-tests", "--auto-approve",
             "--tag", "half", *common],
            cwd=ROOT, env=env, text=True, capture_output=True, timeout=600, check=False,
        )  # fmt: skip
        (tmp / "deploy.log").write_text(deploy.stdout + "\n----- stderr\n" + deploy.stderr)
        yield {"moto": moto, "stack": stack, "env": env, "deploy": deploy, "common": common}
    finally:
        moto.stop()


def _state(moto: MotoServer) -> dict[str, Any]:
    body = moto.client("s3").get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read()
    state: dict[str, Any] = json.loads(body)
    return state


def test_a_failed_build_leaves_the_key_and_the_repository_in_the_s3_state(
    half_deployed: dict[str, Any],
) -> None:
    deploy = half_deployed["deploy"]
    assert deploy.returncode == 1, deploy.stderr[-4000:]
    assert "docker build failed" in deploy.stderr
    assert "4/5" not in deploy.stderr
    types = sorted({r["type"] for r in _state(half_deployed["moto"])["resources"]})
    assert "aws_ecr_repository" in types and "aws_kms_key" in types
    assert "aws_lambda_function" not in types and "aws_s3_bucket" not in types


def test_a_plan_without_an_image_plans_the_stack_without_the_function(
    half_deployed: dict[str, Any], tmp_path: Path
) -> None:
    stack: Path = half_deployed["stack"]
    env = {**half_deployed["env"], "AWS_PROFILE": PROFILE}
    terraform(
        stack, "plan", "-input=false", "-no-color", f"-out={tmp_path / 'half.tfplan'}",
        "-var", "owner=infra-tests", "-var", f"region={REGION}", env=env,
    )  # fmt: skip
    plan = json.loads(
        terraform(stack, "show", "-json", str(tmp_path / "half.tfplan"), env=env).stdout
    )
    planned = {
        c["address"] for c in plan["resource_changes"] if c["change"]["actions"] == ["create"]
    }
    assert "module.input_bucket.aws_s3_bucket.this" in planned
    # The queues (messages wait there), no function: there is no image yet.
    assert 'module.registry.module.queue["main"].aws_sqs_queue.this' in planned
    assert not [a for a in planned if ".module.function[" in a or "event_source_mapping" in a], (
        planned
    )


def test_destroy_tears_the_half_deployed_stack_down(half_deployed: dict[str, Any]) -> None:
    moto: MotoServer = half_deployed["moto"]
    repository = next(
        r["instances"][0]["attributes"]["name"]
        for r in _state(moto)["resources"]
        if r["type"] == "aws_ecr_repository"
    )
    destroy = subprocess.run(
        [str(ROOT / "scripts" / "destroy.sh"), "--yes", "--owner", "infra-tests",
         *half_deployed["common"]],
        cwd=ROOT, env=half_deployed["env"], text=True, capture_output=True, timeout=600,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert destroy.returncode == 0, destroy.stderr[-6000:]
    assert "Destroy complete!" in destroy.stderr
    assert _state(moto)["resources"] == []
    with pytest.raises(ClientError):
        moto.client("ecr").describe_repositories(repositoryNames=[repository])
    keys = moto.client("kms").list_keys()["Keys"]
    states = {
        moto.client("kms").describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in keys
    }
    assert states == {"PendingDeletion"}

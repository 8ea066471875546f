"""Shared helpers for the Terraform tests: a moto server in its own process, a working copy of
terraform/ with a test override (local backend, every endpoint on moto), and terraform itself.

moto runs as a subprocess (not in-process) because IAM enforcement is a process-wide setting of
moto: toggling it must not leak into other tests that run their own in-process moto.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
STACK = "reports_pipeline"
VENV_BIN = ROOT / ".venv" / "bin"
PLUGIN_DIR = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
FAKE_DIGEST = "sha256:" + "ab" * 32

# The services the stack uses; each gets the moto endpoint in the override.
ENDPOINT_SERVICES = (
    "athena", "cloudwatch", "ecr", "glue", "iam", "kms", "lambda", "logs", "s3", "sns", "sqs",
    "sts",
)  # fmt: skip

# What the test override changes besides the backend and the endpoints, and why (moto 5.2):
#  - tls_only_policy: moto evaluates a bucket policy's Deny statement as matching whatever its
#    condition says, so the TLS-only policy would refuse every object request. The policy
#    document itself is still rendered and asserted (output tls_only_policy_json).
#  - event_source_mapping_enabled: moto's own SQS -> Lambda poller would take the messages and
#    fail to run the image (no Docker); the tests play the poller themselves.
#  - restrict_dlq_sources: moto does not implement RedriveAllowPolicy (the provider would wait
#    forever for it to appear).
OVERRIDE_TEMPLATE = """\
# Written by tests/infra: local state and every AWS endpoint on a moto server.
terraform {{
  backend "local" {{}}
}}

provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = false
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}

module "input_bucket" {{
  tls_only_policy = false
}}

module "output_bucket" {{
  tls_only_policy = false
}}

module "reports_queue" {{
  restrict_dlq_sources = false
}}

module "reports_function" {{
  event_source_mapping_enabled = false
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    """`moto_server` on 127.0.0.1 with a free port, in a subprocess."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                    break
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start; see {log_path}") from None
                time.sleep(0.2)

    def _post(self, path: str, body: bytes) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}{path}", data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read() or b"{}")
            return result

    @contextmanager
    def iam_enforced(self) -> Iterator[None]:
        """Every request inside is authenticated and authorised by moto's IAM.

        moto authenticates after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated requests; its
        /moto-api/reset-auth endpoint sets that count and zeroes the counter, so 0 turns
        enforcement on now (no fragile request counting) and inf turns it off again.
        """
        self._post("/moto-api/reset-auth", b"0")
        try:
            yield
        finally:
            self._post("/moto-api/reset-auth", b"inf")

    def client(self, service: str, **credentials: str) -> Any:
        import boto3

        creds = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **creds)

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()


def cli_config(dest: Path) -> Path:
    """A Terraform CLI config installing hashicorp providers from the local mirror only, so a
    plain `terraform init` (as scripts/deploy.sh runs it) works without the registry."""
    path = dest / "terraform.rc"
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{require_plugin_dir()}"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n'
    )
    return path


def terraform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "TF_WORKSPACE"):
        env.pop(key, None)
    cli_config = env.get("TF_CLI_CONFIG_FILE")
    if cli_config and not Path(cli_config).exists():
        env["TF_CLI_CONFIG_FILE"] = os.devnull  # a missing file only makes terraform warn
    if extra:
        env.update(extra)
    return env


def terraform(
    cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH (Terraform >= 1.10 is required)")
    proc = subprocess.run(
        ["terraform", *args],
        cwd=cwd,
        env=env or terraform_env(),
        text=True,
        capture_output=True,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"terraform {' '.join(args)} failed in {cwd} (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def require_plugin_dir() -> Path:
    provider = PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws"
    if not provider.is_dir():
        pytest.fail(
            f"no hashicorp/aws provider mirror at {PLUGIN_DIR} "
            "(set TF_PLUGIN_DIR to a filesystem mirror: terraform providers mirror DIR)"
        )
    return PLUGIN_DIR


def working_copy(dest: Path, moto_url: str) -> Path:
    """Copies terraform/ to dest and writes the test override into the stack; returns it."""
    shutil.copytree(
        TERRAFORM_DIR,
        dest / "terraform",
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"),
    )
    stack = dest / "terraform" / STACK
    endpoints = "\n".join(f'    {name:<10} = "{moto_url}"' for name in ENDPOINT_SERVICES)
    (stack / "_override.tf").write_text(OVERRIDE_TEMPLATE.format(endpoints=endpoints))
    return stack


@dataclass
class AppliedStack:
    moto: MotoServer
    dir: Path
    outputs: dict[str, Any]
    state: dict[str, Any]
    deploy: subprocess.CompletedProcess[str] | None = None
    docker_calls: list[str] = field(default_factory=list)
    pump_errors: list[BaseException] = field(default_factory=list)

    def resources(self) -> Iterator[dict[str, Any]]:
        """Every resource in the state, modules included."""

        def walk(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
            yield from module.get("resources", [])
            for child in module.get("child_modules", []):
                yield from walk(child)

        yield from walk(self.state["values"]["root_module"])

"""Shared helpers for the Terraform tests: a moto server in its own process, a working copy of
terraform/ with a test override (local backend, every endpoint on moto), terraform itself, and
the one applied stack the test_stack_*.py files share (deployed once per session by
scripts/deploy.sh; test_stack_teardown.py destroys it, last).

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
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
STACK = "platform"
VENV_BIN = ROOT / ".venv" / "bin"
PLUGIN_DIR = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
FAKE_DIGEST = "sha256:" + "ab" * 32
PREFIX = "orders-pipeline-dev"
# Bucket names are global: the stack adds the account and the region.
BUCKET_PREFIX = f"{PREFIX}-{ACCOUNT}-{REGION}"
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
REPORTS = ("most_profitable_region", "top_ship_mode_by_category", "orders_by_category")

# The services the stack uses; each gets the moto endpoint in the override.
ENDPOINT_SERVICES = (
    "athena", "cloudtrail", "cloudwatch", "dynamodb", "ecr", "glue", "iam", "kms", "lambda",
    "logs", "s3", "sfn", "sns", "sqs", "sts",
)  # fmt: skip
# Files outside terraform/ that the stack reads (path.module/../../...): working copies get them.
STACK_READS = ("app/pipelines/file_registry/state_machine.asl.json",)
# The stack's consumers (modules/queue_consumer) whose module, function (<prefix>-<name>), queue
# and handler (app.handlers.<name>) share the name. (The transactions queue is fed by producers,
# not by the landing topic.)
CONSUMERS = ("reports", "registry", "loader", "transactions")
# The customer feed's consumer: function <prefix>-customer-feed, queue <prefix>-feed (its output
# queue is <prefix>-customer-feed), handler app.handlers.customer_feed.
FEED_CONSUMER = "customer_feed"
# Every queue_consumer module of the stack.
CONSUMER_MODULES = (*CONSUMERS, FEED_CONSUMER)

# What the test override changes besides the backend and the endpoints, and why (moto 5.2):
#  - attach_policy / attach_bucket_policy: moto evaluates a bucket policy's Deny statement as
#    matching whatever its condition says (checked with moto 5.2.5: aws:SecureTransport and
#    s3:TlsVersion alike), so the TLS denials would refuse every object request. The policy
#    documents are still rendered, and asserted from the state.
#  - event_source_mapping_enabled: moto's own SQS -> Lambda poller would take the messages and
#    fail to run the image (no Docker); the tests play the poller themselves.
#  - the queue policies (TLS only) stay: moto does not evaluate queue policies.
#  - restrict_dlq_sources: moto does not implement RedriveAllowPolicy (the provider would wait
#    forever for it to appear).
OVERRIDE_TEMPLATE = """\
# Written by tests/infra: {state} state and every AWS endpoint on a moto server.
{backend}
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
  attach_policy = false
}}

module "partner_feed_bucket" {{
  attach_policy = false
}}

module "output_bucket" {{
  attach_policy = false
}}

module "audit_trail" {{
  attach_bucket_policy = false
}}
{consumers}"""

CONSUMER_OVERRIDE = """
module "{name}" {{
  restrict_dlq_sources         = false
  event_source_mapping_enabled = false
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER = Path(__file__).with_name("moto_server.py")


class MotoServer:
    """`moto_server` on 127.0.0.1 with a free port, in a subprocess (tests/infra/moto_server.py:
    moto's server, with DynamoDB and Step Functions requests authorised against the table or
    state machine they name)."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
        self._proc = subprocess.Popen(
            [sys.executable, str(SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
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

    def configure(self, config: dict[str, Any]) -> None:
        """moto's configuration (/moto-api/config), e.g. Step Functions executing its tasks."""
        request = urllib.request.Request(
            f"{self.url}/moto-api/config", data=json.dumps(config).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10):
            pass

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


LOCAL_BACKEND = 'terraform {\n  backend "local" {}\n}\n'


def copy_terraform(dest: Path) -> Path:
    """Copies terraform/ (without .terraform or state) and the files the stack reads from the
    repository (STACK_READS) to dest, keeping their relative places; returns dest/terraform."""
    shutil.copytree(
        TERRAFORM_DIR, dest / "terraform", ignore=shutil.ignore_patterns(".terraform", "*.tfstate*")
    )
    for relative in STACK_READS:
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, dest / relative)
    return dest / "terraform"


def working_copy(dest: Path, moto_url: str, *, local_backend: bool = True) -> Path:
    """Copies terraform/ to dest and writes the test override into the stack; returns it.

    The copy keeps the stack's .terraform.lock.hcl, so every `terraform init` here checks the
    committed lock against the provider mirror. With local_backend=False the stack keeps its
    S3 backend (configured at init, e.g. on the moto server).
    """
    stack = copy_terraform(dest) / STACK
    endpoints = "\n".join(f'    {name:<10} = "{moto_url}"' for name in ENDPOINT_SERVICES)
    (stack / "_override.tf").write_text(
        OVERRIDE_TEMPLATE.format(
            endpoints=endpoints,
            state="local" if local_backend else "S3 (on moto)",
            backend=LOCAL_BACKEND if local_backend else "",
            consumers="".join(CONSUMER_OVERRIDE.format(name=name) for name in CONSUMER_MODULES),
        )
    )
    return stack


@dataclass
class AppliedStack:
    moto: MotoServer
    dir: Path
    outputs: dict[str, Any]
    state: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
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

    def resource(self, address: str) -> dict[str, Any]:
        for r in self.resources():
            if r["address"] == address:
                return r
        pytest.fail(f"{address} is not in the state")

    def terraform(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return terraform(self.dir, *args, env=self.env, check=check)


def policy_statements(document: str) -> dict[str, dict[str, Any]]:
    """A policy document's statements by Sid (every statement of the stack has one)."""
    statements = json.loads(document)["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert len(by_sid) == len(statements), f"duplicate or missing Sids in {document}"
    return by_sid


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def granted(statements: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Action -> resources of a policy's statements (all Allow, no NotAction/NotResource)."""
    result: dict[str, set[str]] = {}
    for s in statements.values():
        assert s["Effect"] == "Allow", s
        assert "NotAction" not in s and "NotResource" not in s, s
        for action in as_list(s["Action"]):
            assert "*" not in action, f"wildcard action {action!r} in {s}"
            result.setdefault(action, set()).update(as_list(s["Resource"]))
    return result


def consumer_policy(stack: AppliedStack, consumer: str) -> dict[str, dict[str, Any]]:
    """The inline policy of a consumer's function role (modules/queue_consumer), by Sid."""
    policy = stack.resource(f"module.{consumer}.module.function[0].aws_iam_role_policy.this")
    return policy_statements(policy["values"]["policy"])


# Under moto's IAM enforcement a refused call raises one of these codes (S3, query and JSON APIs).
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "403"}


def assert_denied(stack: AppliedStack, attempt: Callable[[], Any]) -> None:
    """The call, made under IAM enforcement, is refused by IAM (not by anything else)."""
    from botocore.exceptions import ClientError

    with stack.moto.iam_enforced(), pytest.raises(ClientError) as err:
        attempt()
    assert err.value.response["Error"]["Code"] in DENIED_CODES, err.value


# ---- the shared stack ------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "stack_teardown: destroys the shared stack; runs after every other test"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The teardown of the shared stack runs last, whatever the file order."""
    items.sort(key=lambda item: item.get_closest_marker("stack_teardown") is not None)


# A stand-in `docker`: records its arguments; `image inspect` reports the arm64 image buildx
# was asked for; `push` registers the image in moto's ECR with the real aws CLI, so
# `aws ecr describe-images` (build_and_push.sh) returns a digest and a manifest media type.
DOCKER_STAND_IN = r"""#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$*" >> "$DOCKER_STAND_IN_LOG"
case "${1:-}" in
  login) cat > /dev/null ;;
  image) printf 'linux/arm64\n' ;;
  push)
    ref="$2"; tag="${ref##*:}"; path="${ref%:*}"; repo="${path#*/}"
    manifest='{"schemaVersion": 2,
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
      "digest": "sha256:'"$(printf '%s' "$ref" | sha256sum | cut -c1-64)"'"}, "layers": []}'
    aws ecr put-image --endpoint-url "$AWS_ENDPOINT_URL" --region "$AWS_DEFAULT_REGION" \
      --repository-name "$repo" --image-tag "$tag" --image-manifest "$manifest" > /dev/null
    ;;
esac
"""


class Pump:
    """Plays Lambda's SQS poller for the created queue while deploy.sh runs (moto runs no
    image): the project's event pump with the reports handler, as the local stack does."""

    def __init__(
        self, moto: MotoServer, queue_name: str, output_bucket: str, files_table: str
    ) -> None:
        self.moto = moto
        self.queue_name = queue_name
        self.output_bucket = output_bucket
        self.files_table = files_table
        self.pump: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from botocore.exceptions import ClientError

        from app.core.settings import ReportsSettings
        from app.local.pump import EventPump
        from app.pipelines.reports.function import make_handler

        sqs = self.moto.client("sqs")
        while not self._stop.is_set():  # until terraform has created the queue
            try:
                url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
                break
            except ClientError:
                self._stop.wait(1)
        else:
            return
        settings = ReportsSettings(output_bucket=self.output_bucket, files_table=self.files_table)
        handler = make_handler(settings, self.moto.client("s3"), self.moto.client("dynamodb"))
        self.pump = EventPump(sqs, url, handler, self.queue_name)
        self.pump.start()
        self._stop.wait()
        self.pump.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedStack]:
    """The whole stack, deployed by scripts/deploy.sh against moto (stand-in docker)."""
    tmp = tmp_path_factory.mktemp("stack")
    moto = MotoServer(tmp / "moto.log")
    try:
        # Before the state machine exists: moto keeps executing machines in another backend.
        moto.configure({"stepfunctions": {"execute_state_machine": True}})
        workdir = working_copy(tmp, moto.url)
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        docker = bin_dir / "docker"
        docker.write_text(DOCKER_STAND_IN)
        docker.chmod(0o755)
        env = terraform_env(
            {
                "TF_CLI_CONFIG_FILE": str(cli_config(tmp)),
                "PATH": os.pathsep.join([str(bin_dir), str(VENV_BIN), os.environ["PATH"]]),
                "AWS_ENDPOINT_URL": moto.url,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "DOCKER_STAND_IN_LOG": str(tmp / "docker.log"),
                # The provider spends most of an apply waiting for moto's queues and policies to
                # "settle", one resource at a time per slot: more slots, same result, sooner.
                "TF_CLI_ARGS_apply": "-parallelism=40",
                "TF_CLI_ARGS_destroy": "-parallelism=40",
            }
        )
        pump = Pump(moto, f"{PREFIX}-reports", f"{BUCKET_PREFIX}-output", f"{PREFIX}-files")
        try:
            # --tag: the default tag needs a clean work tree, and this one is being edited.
            deploy = subprocess.run(
                [str(ROOT / "scripts" / "deploy.sh"), "--owner", "infra-tests",
                 "--region", REGION, "--stack-dir", str(workdir), "--auto-approve",
                 "--tag", "infra-tests", "--sample-timeout", "90"],
                cwd=ROOT, env=env, text=True, capture_output=True, timeout=900, check=False,
            )  # fmt: skip
        finally:
            pump.stop()
        (tmp / "deploy.log").write_text(deploy.stdout + "\n----- stderr\n" + deploy.stderr)
        outputs = {
            k: v["value"]
            for k, v in json.loads(terraform(workdir, "output", "-json", env=env).stdout).items()
        }
        state = json.loads(terraform(workdir, "show", "-json", env=env).stdout)
        yield AppliedStack(
            moto=moto,
            dir=workdir,
            outputs=outputs,
            state=state,
            env=env,
            deploy=deploy,
            docker_calls=(tmp / "docker.log").read_text().splitlines()
            if (tmp / "docker.log").exists()
            else [],
            pump_errors=list(pump.pump.errors) if pump.pump else [],
        )
    finally:
        moto.stop()


def assumed(stack: AppliedStack, role_arn: str, session: str) -> dict[str, str]:
    """Temporary credentials of a role, as boto3 client arguments. Assume before enforcement is
    on: the stack's roles trust AWS services, not the test's caller."""
    creds = stack.moto.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session)[
        "Credentials"
    ]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def function_role_credentials(stack: AppliedStack, function_name: str) -> dict[str, str]:
    """Temporary credentials of the role a created function runs with."""
    lam = stack.moto.client("lambda")
    role = lam.get_function_configuration(FunctionName=function_name)["Role"]
    return assumed(stack, role, function_name.rsplit("-", 1)[-1] + "-fn")


def function_environment(stack: AppliedStack, function_name: str) -> dict[str, str]:
    cfg = stack.moto.client("lambda").get_function_configuration(FunctionName=function_name)
    return dict(cfg["Environment"]["Variables"])


@pytest.fixture(scope="session")
def role_credentials(stack: AppliedStack) -> dict[str, str]:
    """Temporary credentials of the reports function's role (assumed before enforcement)."""
    lam = stack.moto.client("lambda")
    role = lam.get_function_configuration(FunctionName=stack.outputs["function_name"])["Role"]
    assert role == stack.outputs["function_role_arn"]
    return assumed(stack, role, "reports-fn")


def received_s3_event(
    stack: AppliedStack, key: str, queue_url: str | None = None
) -> dict[str, Any]:
    """Receives from a created queue (the reports queue by default) until the ObjectCreated
    event of `key` arrives; other events are made visible again at once, for the tests that
    wait for them."""
    sqs = stack.moto.client("sqs")
    url = queue_url or stack.outputs["reports_queue_url"]
    for _ in range(20):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        found = None
        for m in messages:
            body = json.loads(m["Body"])
            if body.get("Event") == "s3:TestEvent":  # sent when the notification was created
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            elif found is None and any(  # keys arrive URL-encoded
                urllib.parse.unquote_plus(r["s3"]["object"]["key"]) == key
                for r in body.get("Records", [])
            ):
                found = m
            else:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
        if found is not None:
            return found
    pytest.fail(f"no ObjectCreated event for {key} reached {url}")

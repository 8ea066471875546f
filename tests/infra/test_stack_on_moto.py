"""The root stack applied for real against a moto server, then used.

One apply per session (it takes about a minute and a half: the provider waits for SQS and S3
settings to settle), many assertions on what it created:
  - the upload of sample_orders.csv travels S3 -> SNS -> SQS through the created wiring;
  - the handler, imported in-process with the environment read back from the created function
    and with credentials of the function's role (moto IAM enforcement on, so the policy as
    Terraform rendered it decides), writes the reports into the created output bucket;
  - the same credentials are denied everything the function must not do.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.infra.conftest import (
    ACCOUNT,
    REGION,
    ROOT,
    VENV_BIN,
    AppliedStack,
    MotoServer,
    cli_config,
    terraform,
    terraform_env,
    working_copy,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

PREFIX = "orders-pipeline-dev"
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
REPORTS = ("most_profitable_region", "top_ship_mode_by_category", "orders_by_category")


# A stand-in `docker`: records its arguments; `push` registers the image in moto's ECR with
# the real aws CLI, so `aws ecr describe-images` (build_and_push.sh) returns a digest.
DOCKER_STAND_IN = r"""#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$*" >> "$DOCKER_STAND_IN_LOG"
case "${1:-}" in
  login) cat > /dev/null ;;
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

    def __init__(self, moto: MotoServer, queue_name: str, output_bucket: str) -> None:
        self.moto = moto
        self.queue_name = queue_name
        self.output_bucket = output_bucket
        self.pump: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from app.aws.reports_function import make_handler
        from app.config import Settings
        from app.local.pump import EventPump

        sqs = self.moto.client("sqs")
        while not self._stop.is_set():  # until terraform has created the queue
            try:
                url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
                break
            except ClientError:
                self._stop.wait(1)
        else:
            return
        handler = make_handler(Settings(output_bucket=self.output_bucket), self.moto.client("s3"))
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
            }
        )
        pump = Pump(moto, f"{PREFIX}-reports", f"{PREFIX}-output")
        try:
            deploy = subprocess.run(
                [str(ROOT / "scripts" / "deploy.sh"), "--owner", "infra-tests",
                 "--region", REGION, "--stack-dir", str(workdir), "--auto-approve",
                 "--sample-timeout", "90"],
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
            deploy=deploy,
            docker_calls=(tmp / "docker.log").read_text().splitlines()
            if (tmp / "docker.log").exists()
            else [],
            pump_errors=list(pump.pump.errors) if pump.pump else [],
        )
    finally:
        moto.stop()


def test_deploy_script_creates_pushes_applies_and_passes_the_sample_test(
    stack: AppliedStack,
) -> None:
    deploy = stack.deploy
    assert deploy is not None
    assert deploy.returncode == 0, (
        f"deploy.sh failed (exit {deploy.returncode}):\n{deploy.stdout[-3000:]}\n"
        f"{deploy.stderr[-6000:]}\npump errors: {stack.pump_errors}"
    )
    err = deploy.stderr
    # The order: the repository alone, the image, the whole stack, the sample test.
    steps = [err.index(s) for s in ("1/5", "2/5", "3/5", "4/5", "5/5")]
    assert steps == sorted(steps)
    assert "module.ecr.aws_ecr_repository.this: Creation complete" in err
    verbs = [c.split()[0] for c in stack.docker_calls]
    assert verbs == ["buildx", "login", "push"], stack.docker_calls
    assert "--platform linux/arm64" in stack.docker_calls[0]
    # upload_sample.sh printed the reports it waited for.
    assert "East" in deploy.stdout and "2465.50" in deploy.stdout, deploy.stdout[-2000:]
    ecr = stack.moto.client("ecr")
    [image] = ecr.describe_images(repositoryName=stack.outputs["ecr_repository_name"])[
        "imageDetails"
    ]
    assert stack.outputs["image_uri"] == (
        f"{stack.outputs['ecr_repository_url']}@{image['imageDigest']}"
    )
    assert not stack.pump_errors


def _resource(stack: AppliedStack, address: str) -> dict[str, Any]:
    for r in stack.resources():
        if r["address"] == address:
            return r
    pytest.fail(f"{address} is not in the state")


# --- what Terraform created ---------------------------------------------------------------


def test_default_names_match_the_local_stack(stack: AppliedStack) -> None:
    o = stack.outputs
    assert o["name_prefix"] == PREFIX
    assert o["input_bucket"] == f"{PREFIX}-input"
    assert o["output_bucket"] == f"{PREFIX}-output"
    assert o["landing_topic_arn"].endswith(f":{PREFIX}-landing")
    assert o["reports_queue_url"].endswith(f"/{PREFIX}-reports")
    assert o["reports_dlq_url"].endswith(f"/{PREFIX}-reports-dlq")
    assert o["function_name"] == f"{PREFIX}-reports"
    assert o["ecr_repository_name"] == PREFIX
    assert o["ecr_repository_url"].endswith(f"/{PREFIX}")
    assert o["athena_workgroup"] == PREFIX


def test_every_name_starts_with_the_prefix(stack: AppliedStack) -> None:
    name_keys = ("name", "bucket", "function_name", "alarm_name")
    for r in stack.resources():
        # Glue tables are named within the prefixed database (their ARN is table/<db>/<name>).
        if r["mode"] != "managed" or r["type"] == "aws_glue_catalog_table":
            continue
        for key in name_keys:
            value = r["values"].get(key)
            if isinstance(value, str) and value.startswith("arn:"):
                assert f":{PREFIX}" in value or f"/{PREFIX}" in value, (r["address"], value)
            elif isinstance(value, str) and value:
                assert value.startswith(PREFIX) or value.startswith(
                    ("/aws/lambda/" + PREFIX, "alias/" + PREFIX, PREFIX.replace("-", "_"))
                ), f"{r['address']}.{key} = {value!r} does not start with the prefix"


def test_default_tags_on_every_taggable_resource(stack: AppliedStack) -> None:
    tagged = [r for r in stack.resources() if r["mode"] == "managed" and "tags_all" in r["values"]]
    assert len(tagged) > 10
    for r in tagged:
        tags = r["values"]["tags_all"]
        assert tags.get("Owner") == "infra-tests", r["address"]
        assert tags.get("project") == "orders-pipeline", r["address"]
        assert tags.get("env") == "dev", r["address"]


def test_function_configuration(stack: AppliedStack) -> None:
    lam = stack.moto.client("lambda")
    cfg = lam.get_function_configuration(FunctionName=stack.outputs["function_name"])
    assert cfg["PackageType"] == "Image"
    assert cfg["Architectures"] == ["arm64"]
    assert cfg["TracingConfig"]["Mode"] == "Active"
    assert cfg["ImageConfigResponse"]["ImageConfig"]["Command"] == ["app.handlers.reports.handler"]
    assert cfg["Environment"]["Variables"] == {
        "OUTPUT_BUCKET": f"{PREFIX}-output",
        "POWERTOOLS_SERVICE_NAME": "orders-reports",
        "POWERTOOLS_METRICS_NAMESPACE": "OrdersPipeline",
        "LOG_LEVEL": "INFO",
    }
    fn = _resource(stack, "module.reports_function.aws_lambda_function.this")["values"]
    assert fn["image_uri"] == stack.outputs["image_uri"]
    assert fn["reserved_concurrent_executions"] == 10
    esm = _resource(stack, "module.reports_function.aws_lambda_event_source_mapping.sqs[0]")[
        "values"
    ]
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]
    assert esm["scaling_config"][0]["maximum_concurrency"] >= 2
    log_group = _resource(stack, "module.reports_function.aws_cloudwatch_log_group.this")
    assert log_group["values"]["name"] == f"/aws/lambda/{PREFIX}-reports"
    assert log_group["values"]["retention_in_days"] == 365


def test_queue_redrive_and_visibility(stack: AppliedStack) -> None:
    sqs = stack.moto.client("sqs")
    attrs = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["reports_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{PREFIX}-reports-dlq")
    assert int(redrive["maxReceiveCount"]) == 3
    function = stack.moto.client("lambda").get_function_configuration(
        FunctionName=stack.outputs["function_name"]
    )
    assert function["Timeout"] == 300
    assert function["EphemeralStorage"]["Size"] == 2048  # the engine spills to /tmp
    assert int(attrs["VisibilityTimeout"]) >= 6 * function["Timeout"]
    cw = stack.moto.client("cloudwatch")
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    assert alarms[f"{PREFIX}-reports-dlq-not-empty"]["MetricName"] == (
        "ApproximateNumberOfMessagesVisible"
    )
    assert alarms[f"{PREFIX}-reports-oldest-message-age"]["MetricName"] == (
        "ApproximateAgeOfOldestMessage"
    )
    assert {f"{PREFIX}-reports-errors", f"{PREFIX}-reports-throttles"} <= alarms.keys()
    topic = stack.outputs["alarm_topic_arn"]
    assert all(topic in a["AlarmActions"] for a in alarms.values())


def test_fanout_policies_admit_only_the_bucket_and_the_topic(stack: AppliedStack) -> None:
    sns = stack.moto.client("sns")
    topic_policy = json.loads(
        sns.get_topic_attributes(TopicArn=stack.outputs["landing_topic_arn"])["Attributes"][
            "Policy"
        ]
    )
    [stmt] = topic_policy["Statement"]
    assert stmt["Principal"] == {"Service": "s3.amazonaws.com"}
    assert stmt["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:s3:::{PREFIX}-input"
    assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    queue_policy = _resource(stack, 'module.fanout.aws_sqs_queue_policy.this["reports"]')
    [qstmt] = json.loads(queue_policy["values"]["policy"])["Statement"]
    assert qstmt["Action"] == "sqs:SendMessage"
    assert qstmt["Condition"]["ArnEquals"]["aws:SourceArn"] == stack.outputs["landing_topic_arn"]
    subs = sns.list_subscriptions_by_topic(TopicArn=stack.outputs["landing_topic_arn"])
    [sub] = subs["Subscriptions"]
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
    assert attrs["Attributes"]["RawMessageDelivery"] == "true"


def test_buckets_are_locked_down(stack: AppliedStack) -> None:
    s3 = stack.moto.client("s3")
    for bucket in (stack.outputs["input_bucket"], stack.outputs["output_bucket"]):
        pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(pab.values()) and len(pab) == 4
        ownership = s3.get_bucket_ownership_controls(Bucket=bucket)
        assert ownership["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == (
            "BucketOwnerEnforced"
        )
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        sse = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        default = sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms"
        assert default["KMSMasterKeyID"] == stack.outputs["kms_key_arn"]
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert any("AbortIncompleteMultipartUpload" in r for r in rules)
        assert any("NoncurrentVersionExpiration" in r for r in rules)
    # The TLS-only policy (not attached under moto, see conftest) as the module renders it.
    for module in ("input_bucket", "output_bucket"):
        doc = _resource(stack, f"module.{module}.data.aws_iam_policy_document.tls_only")
        [deny] = json.loads(doc["values"]["json"])["Statement"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_athena_catalog(stack: AppliedStack) -> None:
    glue = stack.moto.client("glue")
    database = stack.outputs["glue_database"]
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]}
    assert set(tables) == set(REPORTS)
    columns = {
        name: [c["Name"] for c in t["StorageDescriptor"]["Columns"]] for name, t in tables.items()
    }
    assert columns == {
        "most_profitable_region": ["rank", "region", "profit", "revenue", "orders"],
        "top_ship_mode_by_category": ["category", "ship_mode", "orders", "share"],
        "orders_by_category": ["category", "sub_category", "orders", "line_items"],
    }
    for name, table in tables.items():
        params = table["Parameters"]
        assert params["skip.header.line.count"] == "1"
        assert params["projection.enabled"] == "true"
        assert params["projection.dt.type"] == "date"
        assert params["projection.dt.format"] == "yyyy-MM-dd"
        assert params["storage.location.template"] == (f"s3://{PREFIX}-output/{name}/dt=${{dt}}/")
        assert table["PartitionKeys"] == [
            {"Name": "dt", "Type": "string", "Comment": "UTC date of the upload event, yyyy-MM-dd"}
        ]
    athena = stack.moto.client("athena")
    wg = athena.get_work_group(WorkGroup=stack.outputs["athena_workgroup"])["WorkGroup"]
    result = wg["Configuration"]["ResultConfiguration"]
    assert result["OutputLocation"] == f"s3://{PREFIX}-output/_athena/"
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert wg["Configuration"]["EnforceWorkGroupConfiguration"] is True


# --- the rendered least-privilege policy ----------------------------------------------------


def _function_policy(stack: AppliedStack) -> list[dict[str, Any]]:
    policy = _resource(stack, "module.reports_function.aws_iam_role_policy.this")
    statements: list[dict[str, Any]] = json.loads(policy["values"]["policy"])["Statement"]
    return statements


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_rendered_policy_has_exact_actions_on_this_stacks_resources(stack: AppliedStack) -> None:
    statements = _function_policy(stack)
    key = stack.outputs["kms_key_arn"]
    granted: dict[str, set[str]] = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        assert "NotAction" not in s and "NotResource" not in s
        for action in _as_list(s["Action"]):
            assert "*" not in action, f"wildcard action {action!r} in {s}"
            for resource in _as_list(s["Resource"]):
                granted.setdefault(action, set()).add(resource)
    for action, resources in granted.items():
        for resource in resources:
            if resource == "*":
                assert action.startswith("xray:"), f"{action} on '*'"
            else:
                assert PREFIX in resource or resource == key, (
                    f"{action} on {resource}, not a resource of this stack"
                )
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PREFIX}-reports:log-stream:*"
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-reports"
    assert granted == {
        "s3:GetObject": {f"arn:aws:s3:::{PREFIX}-input/*"},
        "s3:ListBucket": {f"arn:aws:s3:::{PREFIX}-input"},
        "s3:PutObject": {f"arn:aws:s3:::{PREFIX}-output/*"},
        "kms:Decrypt": {key},
        "kms:GenerateDataKey": {key},
        "sqs:ChangeMessageVisibility": {queue},
        "sqs:DeleteMessage": {queue},
        "sqs:GetQueueAttributes": {queue},
        "sqs:ReceiveMessage": {queue},
        "logs:CreateLogStream": {logs},
        "logs:PutLogEvents": {logs},
        "xray:PutTelemetryRecords": {"*"},
        "xray:PutTraceSegments": {"*"},
    }


# --- using it: upload -> SNS -> SQS -> handler with the function's role ----------------------


def _received_s3_event(stack: AppliedStack, key: str) -> dict[str, Any]:
    """Receives from the created queue until the ObjectCreated event of `key` arrives."""
    sqs = stack.moto.client("sqs")
    url = stack.outputs["reports_queue_url"]
    for _ in range(20):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        for m in messages:
            body = json.loads(m["Body"])
            if body.get("Event") == "s3:TestEvent":  # sent when the notification was created
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                continue
            if any(r["s3"]["object"]["key"] == key for r in body.get("Records", [])):
                return m
    pytest.fail(f"no ObjectCreated event for {key} reached {url}")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def role_credentials(stack: AppliedStack) -> dict[str, str]:
    """Temporary credentials of the function's role (assumed before enforcement is on)."""
    lam = stack.moto.client("lambda")
    role = lam.get_function_configuration(FunctionName=stack.outputs["function_name"])["Role"]
    assert role == stack.outputs["function_role_arn"]
    creds = stack.moto.client("sts").assume_role(RoleArn=role, RoleSessionName="reports-fn")[
        "Credentials"
    ]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


@pytest.fixture(scope="session")
def processed(stack: AppliedStack, role_credentials: dict[str, str]) -> dict[str, Any]:
    """Uploads the sample, takes its event off the created queue, runs the handler on it as
    the function would run (its environment, its role, IAM enforced). Returns what happened."""
    s3 = stack.moto.client("s3")
    key = "sample_orders_as_role.csv"  # deploy.sh's sample test already used sample_orders.csv
    s3.upload_file(str(SAMPLE), stack.outputs["input_bucket"], key)
    message = _received_s3_event(stack, key)

    lam = stack.moto.client("lambda")
    cfg = lam.get_function_configuration(FunctionName=stack.outputs["function_name"])
    env = dict(cfg["Environment"]["Variables"])
    env.update(
        {
            "AWS_ENDPOINT_URL": stack.moto.url,
            "AWS_ACCESS_KEY_ID": role_credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": role_credentials["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": role_credentials["aws_session_token"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    queue_name = stack.outputs["reports_queue_url"].rsplit("/", 1)[-1]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        ]
    }
    from app.local.pump import LambdaContext

    context = LambdaContext(stack.outputs["function_name"], str(uuid.uuid4()))
    with _environment(env), stack.moto.iam_enforced():
        sys.modules.pop("app.handlers.reports", None)
        try:
            module = importlib.import_module("app.handlers.reports")
            response = module.handler(event, context)
        finally:
            sys.modules.pop("app.handlers.reports", None)  # its client holds these credentials
    return {"message": message, "response": response, "key": key}


def test_upload_reaches_the_queue_through_sns_raw(processed: dict[str, Any]) -> None:
    body = json.loads(processed["message"]["Body"])
    assert "Type" not in body, "an SNS envelope: raw message delivery is off"
    [record] = body["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == f"{PREFIX}-input"
    assert record["s3"]["object"]["key"] == processed["key"]


def test_handler_as_the_function_role_writes_the_reports(
    stack: AppliedStack, processed: dict[str, Any]
) -> None:
    assert processed["response"] == {"batchItemFailures": []}
    s3 = stack.moto.client("s3")
    bucket = stack.outputs["output_bucket"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    manifests = [
        k for k in keys if k.startswith("_manifests/") and k.endswith("/sample_orders_as_role.json")
    ]
    assert manifests, f"no manifest in {keys}"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifests[0])["Body"].read())
    assert manifest["status"] == "ok", manifest
    dt = manifest["dt"]
    for report in REPORTS:
        assert f"{report}/dt={dt}/sample_orders_as_role.csv" in keys
    body = s3.get_object(
        Bucket=bucket, Key=f"most_profitable_region/dt={dt}/sample_orders_as_role.csv"
    )
    rows = list(csv.DictReader(io.StringIO(body["Body"].read().decode())))
    assert rows[0]["rank"] == "1"
    assert rows[0]["region"] == "East"
    assert rows[0]["profit"] == "2465.50"


DENIED: dict[str, Callable[[Any, Any, dict[str, str]], Any]] = {
    "PutObject to the input bucket": lambda s3, sqs, o: s3.put_object(
        Bucket=o["input_bucket"], Key="injected.csv", Body=b"order_id\n"
    ),
    "DeleteObject in the input bucket": lambda s3, sqs, o: s3.delete_object(
        Bucket=o["input_bucket"], Key="sample_orders.csv"
    ),
    "DeleteObject in the output bucket": lambda s3, sqs, o: s3.delete_object(
        Bucket=o["output_bucket"], Key="_manifests/x.json"
    ),
    "GetObject from the output bucket": lambda s3, sqs, o: s3.get_object(
        Bucket=o["output_bucket"], Key="_manifests/x.json"
    ),
    "GetObject from another bucket": lambda s3, sqs, o: s3.get_object(
        Bucket=o["other_bucket"], Key="secret.csv"
    ),
    "ListBucket on another bucket": lambda s3, sqs, o: s3.list_objects_v2(Bucket=o["other_bucket"]),
    "PutObject to another bucket": lambda s3, sqs, o: s3.put_object(
        Bucket=o["other_bucket"], Key="x", Body=b"x"
    ),
    "SendMessage to another queue": lambda s3, sqs, o: sqs.send_message(
        QueueUrl=o["other_queue_url"], MessageBody="x"
    ),
    "SendMessage to its own DLQ": lambda s3, sqs, o: sqs.send_message(
        QueueUrl=o["reports_dlq_url"], MessageBody="x"
    ),
    "ReceiveMessage from another queue": lambda s3, sqs, o: sqs.receive_message(
        QueueUrl=o["other_queue_url"]
    ),
}


@pytest.fixture(scope="session")
def others(stack: AppliedStack) -> dict[str, str]:
    """A bucket and a queue that are not the stack's (created with IAM off)."""
    s3 = stack.moto.client("s3")
    s3.create_bucket(Bucket="someone-elses-bucket")
    s3.put_object(Bucket="someone-elses-bucket", Key="secret.csv", Body=b"a,b\n1,2\n")
    url = stack.moto.client("sqs").create_queue(QueueName="someone-elses-queue")["QueueUrl"]
    return {"other_bucket": "someone-elses-bucket", "other_queue_url": url}


@pytest.mark.parametrize("attempt", sorted(DENIED))
def test_function_role_is_denied(
    stack: AppliedStack,
    role_credentials: dict[str, str],
    others: dict[str, str],
    processed: dict[str, Any],
    attempt: str,
) -> None:
    s3 = stack.moto.client("s3", **role_credentials)
    sqs = stack.moto.client("sqs", **role_credentials)
    with stack.moto.iam_enforced(), pytest.raises(ClientError) as err:
        DENIED[attempt](s3, sqs, {**stack.outputs, **others})
    code = err.value.response["Error"]["Code"]
    assert code in {"AccessDenied", "AccessDeniedException", "403"}, err.value


def test_function_role_may_do_its_job(
    stack: AppliedStack, role_credentials: dict[str, str], processed: dict[str, Any]
) -> None:
    """The positive control for the denials: the same credentials, same enforcement."""
    s3 = stack.moto.client("s3", **role_credentials)
    sqs = stack.moto.client("sqs", **role_credentials)
    o = stack.outputs
    with stack.moto.iam_enforced():
        s3.get_object(Bucket=o["input_bucket"], Key="sample_orders.csv")
        s3.list_objects_v2(Bucket=o["input_bucket"])
        s3.put_object(Bucket=o["output_bucket"], Key="errors/dt=2025-01-01/probe.json", Body=b"{}")
        sqs.receive_message(QueueUrl=o["reports_queue_url"], WaitTimeSeconds=0)
        sqs.get_queue_attributes(QueueUrl=o["reports_queue_url"], AttributeNames=["All"])


def test_state_is_in_the_working_copy_only(stack: AppliedStack) -> None:
    assert (stack.dir / "terraform.tfstate").exists()
    assert not list((ROOT / "terraform").rglob("*.tfstate"))
    assert Path(stack.dir / "_override.tf").exists()

"""The root stack, deployed by scripts/deploy.sh against a moto server (conftest's `stack`):
what it created, how it is wired, and that a plain `terraform plan` keeps what runs.

One apply per session (about two minutes: the provider waits for SQS and S3 settings to
settle), shared by every test_stack_*.py: the policies are in test_stack_policies.py, the roles
at work in test_stack_function_role.py (reports), test_stack_registry_role.py,
test_stack_loader_role.py, test_stack_feed_role.py, test_stack_transactions_role.py and
test_stack_state_machine_role.py, the routing of the landing topic in test_stack_routing.py,
the tables in test_stack_tables.py, the state machine in test_stack_state_machine.py, the
tear-down in test_stack_teardown.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import (
    ACCOUNT,
    BUCKET_PREFIX,
    CONSUMER_MODULES,
    CONSUMERS,
    PREFIX,
    REGION,
    REPORTS,
    ROOT,
    AppliedStack,
    as_list,
    policy_statements,
    received_s3_event,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]


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
    assert verbs == ["buildx", "image", "login", "push"], stack.docker_calls
    assert "--platform linux/arm64" in stack.docker_calls[0]
    # upload_sample.sh printed the reports it waited for.
    assert "East" in deploy.stdout and "2465.50" in deploy.stdout, deploy.stdout[-2000:]
    ecr = stack.moto.client("ecr")
    [image] = ecr.describe_images(repositoryName=stack.outputs["ecr_repository_name"])[
        "imageDetails"
    ]
    assert image["imageTags"] == ["infra-tests"]
    assert stack.outputs["image_uri"] == (
        f"{stack.outputs['ecr_repository_url']}@{image['imageDigest']}"
    )
    assert not stack.pump_errors


# --- what Terraform created ---------------------------------------------------------------


def test_default_names_are_unique_per_account_and_region(stack: AppliedStack) -> None:
    o = stack.outputs
    assert o["name_prefix"] == PREFIX
    # Global names (buckets) carry the account and region, account-wide ones (the role) the
    # region; regional names keep the plain prefix.
    assert o["input_bucket"] == f"{PREFIX}-{ACCOUNT}-{REGION}-input"
    assert o["output_bucket"] == f"{PREFIX}-{ACCOUNT}-{REGION}-output"
    assert o["audit_bucket"] == f"{PREFIX}-{ACCOUNT}-{REGION}-audit"
    assert o["partner_feed_bucket"] == f"{PREFIX}-{ACCOUNT}-{REGION}-partner-feed"
    assert o["function_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-reports-{REGION}"
    assert o["registry_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-registry-{REGION}"
    assert o["loader_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-loader-{REGION}"
    assert o["landing_topic_arn"].endswith(f":{PREFIX}-landing")
    assert o["reports_queue_url"].endswith(f"/{PREFIX}-reports")
    assert o["reports_dlq_url"].endswith(f"/{PREFIX}-reports-dlq")
    assert o["registry_queue_url"].endswith(f"/{PREFIX}-registry")
    assert o["registry_dlq_url"].endswith(f"/{PREFIX}-registry-dlq")
    assert o["loader_queue_url"].endswith(f"/{PREFIX}-loader")
    assert o["loader_dlq_url"].endswith(f"/{PREFIX}-loader-dlq")
    assert o["loader_continue_queue_url"].endswith(f"/{PREFIX}-loader-continue")
    assert o["function_name"] == f"{PREFIX}-reports"
    assert o["registry_function_name"] == f"{PREFIX}-registry"
    assert o["loader_function_name"] == f"{PREFIX}-loader"
    assert o["customer_feed_role_arn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-customer-feed-{REGION}"
    )
    assert o["customer_feed_function_name"] == f"{PREFIX}-customer-feed"
    assert o["feed_queue_url"].endswith(f"/{PREFIX}-feed")
    assert o["feed_dlq_url"].endswith(f"/{PREFIX}-feed-dlq")
    assert o["customer_feed_queue_url"].endswith(f"/{PREFIX}-customer-feed")
    assert o["transactions_role_arn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-transactions-{REGION}"
    )
    assert o["transactions_function_name"] == f"{PREFIX}-transactions"
    assert o["transactions_queue_url"].endswith(f"/{PREFIX}-transactions")
    assert o["transactions_queue_arn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-transactions"
    assert o["transactions_dlq_url"].endswith(f"/{PREFIX}-transactions-dlq")
    assert o["transactions_table"] == f"{PREFIX}-transactions"
    assert o["alerts_topic_arn"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-alerts"
    assert o["files_table"] == f"{PREFIX}-files"
    assert o["rows_table"] == f"{PREFIX}-rows"
    assert o["state_machine_arn"].endswith(f":stateMachine:{PREFIX}-registry")
    assert o["ecr_repository_name"] == PREFIX
    assert o["ecr_repository_url"].endswith(f"/{PREFIX}")
    assert o["athena_workgroup"] == PREFIX
    assert o["audit_trail_arn"] == f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{PREFIX}-audit"


def test_every_name_starts_with_the_prefix(stack: AppliedStack) -> None:
    name_keys = ("name", "bucket", "function_name", "alarm_name")
    # Named within a prefixed parent: Glue tables (table/<db>/<name>), the function's alias.
    scoped = {"aws_glue_catalog_table", "aws_lambda_alias"}
    for r in stack.resources():
        if r["mode"] != "managed" or r["type"] in scoped:
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


def _environments(o: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each function's environment (the contract's), by consumer."""
    telemetry = {"POWERTOOLS_METRICS_NAMESPACE": "OrdersPipeline", "POWERTOOLS_LOG_LEVEL": "INFO"}
    return {
        "reports": {
            "OUTPUT_BUCKET": f"{BUCKET_PREFIX}-output",
            "FILES_TABLE": f"{PREFIX}-files",
            "SOURCE_WAIT_SECONDS": "60",
            # The EMF metrics' service dimension: unique per stack (the FilesFailed alarm's).
            "POWERTOOLS_SERVICE_NAME": f"{PREFIX}-reports",
            **telemetry,
        },
        "registry": {
            "STATE_MACHINE_ARN": o["state_machine_arn"],
            "POWERTOOLS_SERVICE_NAME": f"{PREFIX}-registry",
            **telemetry,
        },
        "loader": {
            "ROWS_TABLE": f"{PREFIX}-rows",
            "FILES_TABLE": f"{PREFIX}-files",
            "CONTINUE_QUEUE_URL": o["loader_continue_queue_url"],
            "POWERTOOLS_SERVICE_NAME": f"{PREFIX}-loader",
            **telemetry,
        },
        "customer_feed": {
            "FILES_TABLE": f"{PREFIX}-files",
            "OUTPUT_QUEUE_URL": o["customer_feed_queue_url"],
            "FEED_QUEUE_URL": o["feed_queue_url"],
            "INCOMPLETE_AFTER_SECONDS": "900",
            "POWERTOOLS_SERVICE_NAME": f"{PREFIX}-customer-feed",
            **telemetry,
        },
        "transactions": {
            "TRANSACTIONS_TABLE": f"{PREFIX}-transactions",
            "ALERTS_TOPIC_ARN": o["alerts_topic_arn"],
            "PAYLOAD_BUCKET": f"{BUCKET_PREFIX}-output",
            "POWERTOOLS_SERVICE_NAME": f"{PREFIX}-transactions",
            **telemetry,
        },
    }


# Each consumer module's function (<prefix>-<name>) and main queue (<prefix>-<name>).
FUNCTIONS = {c: c for c in CONSUMERS} | {"customer_feed": "customer-feed"}
MAIN_QUEUES = {c: c for c in CONSUMERS} | {"customer_feed": "feed"}


@pytest.mark.parametrize("consumer", CONSUMER_MODULES)
def test_function_is_published_behind_an_alias_with_no_reserved_concurrency(
    stack: AppliedStack, consumer: str
) -> None:
    lam = stack.moto.client("lambda")
    name = f"{PREFIX}-{FUNCTIONS[consumer]}"
    cfg = lam.get_function_configuration(FunctionName=name)
    assert cfg["PackageType"] == "Image"
    assert cfg["Architectures"] == ["arm64"]
    assert cfg["TracingConfig"]["Mode"] == "Active"
    assert cfg["ImageConfigResponse"]["ImageConfig"]["Command"] == [
        f"app.handlers.{consumer}.handler"
    ]
    assert cfg["Environment"]["Variables"] == _environments(stack.outputs)[consumer]
    assert cfg["KMSKeyArn"] == stack.outputs["kms_key_arn"]
    function = f"module.{consumer}.module.function[0]"
    fn = stack.resource(f"{function}.aws_lambda_function.this")["values"]
    # One image, every function.
    assert fn["image_uri"] == stack.outputs["image_uri"]
    assert fn["publish"] is True
    # Unreserved by default: reserving needs an account quota of 100 + N (new accounts: 10).
    assert fn["reserved_concurrent_executions"] == -1
    assert "Concurrency" not in lam.get_function(FunctionName=name)

    alias = lam.get_alias(FunctionName=name, Name="live")
    assert alias["AliasArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:live"
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert alias["FunctionVersion"] in {v["Version"] for v in versions} - {"$LATEST"}
    if consumer == "reports":
        assert alias["FunctionVersion"] == stack.outputs["function_version"]
        assert stack.outputs["function_alias_arn"] == alias["AliasArn"]

    # One mapping per queue (the loader's continuation queue too), each on the alias.
    queues = {"loader": ["continue", "main"]}.get(consumer, ["main"])
    mappings = {
        r["index"]: r["values"]
        for r in stack.resources()
        if r["address"].startswith(f"module.{consumer}.aws_lambda_event_source_mapping.this[")
    }
    assert sorted(mappings) == queues
    for queue, esm in mappings.items():
        queue_name = f"{PREFIX}-{MAIN_QUEUES[consumer]}" if queue == "main" else f"{name}-{queue}"
        assert esm["event_source_arn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
        assert esm["function_response_types"] == ["ReportBatchItemFailures"]
        assert esm["scaling_config"][0]["maximum_concurrency"] >= 2
        # The mapping invokes the alias (moto reads it back resolved to the alias's version).
        assert esm["function_name"] in {
            alias["AliasArn"],
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:{alias['FunctionVersion']}",
        }
    log_group = stack.resource(f"{function}.aws_cloudwatch_log_group.this")["values"]
    assert log_group["name"] == f"/aws/lambda/{name}"
    assert log_group["retention_in_days"] == 365
    assert log_group["kms_key_id"] == stack.outputs["kms_key_arn"]


# Every consumed queue of the stack: its consumer, its key in the consumer module, and whether the
# landing topic feeds it (producers send to -transactions directly). (The customer feed's output
# queue -customer-feed, which has no DLQ of ours, is in test_stack_feed_role.py.)
QUEUES = {
    "reports": ("reports", "main", True),
    "registry": ("registry", "main", True),
    "loader": ("loader", "main", True),
    "loader-continue": ("loader", "continue", False),
    "feed": ("customer_feed", "main", True),
    "transactions": ("transactions", "main", False),
}


@pytest.mark.parametrize("queue", sorted(QUEUES))
def test_queue_encryption_redrive_visibility_and_policy(stack: AppliedStack, queue: str) -> None:
    consumer, key, from_topic = QUEUES[queue]
    sqs = stack.moto.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-{queue}")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{PREFIX}-{queue}-dlq")
    assert int(redrive["maxReceiveCount"]) == 5  # AWS's guidance for Lambda consumers
    # SSE-KMS with the stack's key, the DLQ too.
    dlq_url = sqs.get_queue_url(QueueName=f"{PREFIX}-{queue}-dlq")["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert attrs["KmsMasterKeyId"] == dlq["KmsMasterKeyId"] == stack.outputs["kms_key_arn"]
    function = stack.moto.client("lambda").get_function_configuration(
        FunctionName=f"{PREFIX}-{FUNCTIONS[consumer]}"
    )
    assert int(attrs["VisibilityTimeout"]) >= 6 * function["Timeout"]

    # Queue policies (as rendered: moto does not evaluate them): no request without TLS, on the
    # queue and its DLQ; SendMessage from the landing topic alone, where it feeds the queue.
    module = f'module.{consumer}.module.queue["{key}"]'
    for which, arn_suffix in (("main", ""), ("dlq", "-dlq")):
        resource = stack.resource(f"{module}.aws_sqs_queue.{'this' if which == 'main' else 'dlq'}")
        statements = policy_statements(resource["values"]["policy"])
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-{queue}{arn_suffix}"
        deny = statements["DenyInsecureTransport"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
        assert deny["Action"] == "sqs:*" and deny["Resource"] == arn
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        if which == "main" and from_topic:
            allow = statements["AllowTopics"]
            assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
            assert allow["Action"] == "sqs:SendMessage" and allow["Resource"] == arn
            assert allow["Condition"] == {
                "ArnEquals": {"aws:SourceArn": stack.outputs["landing_topic_arn"]}
            }
            assert set(statements) == {"DenyInsecureTransport", "AllowTopics"}
        else:
            assert set(statements) == {"DenyInsecureTransport"}


def test_the_reports_function_is_sized_for_large_files(stack: AppliedStack) -> None:
    function = stack.moto.client("lambda").get_function_configuration(
        FunctionName=stack.outputs["function_name"]
    )
    assert function["Timeout"] == 300
    assert function["EphemeralStorage"]["Size"] == 2048  # the engine spills to /tmp


def test_the_customer_feed_function_is_sized_for_a_full_day(stack: AppliedStack) -> None:
    """A day of 1M customers, 5M orders and 20M items (benchmarks.feed_memory): 330 CPU-s,
    256 MB, a 1.95 GB spill; so one vCPU, the longest timeout and 4 GB of /tmp."""
    function = stack.moto.client("lambda").get_function_configuration(
        FunctionName=f"{PREFIX}-customer-feed"
    )
    assert function["MemorySize"] == 1769
    assert function["Timeout"] == 900
    assert function["EphemeralStorage"]["Size"] == 4096


def test_alarms_see_failed_files_and_dead_lettered_messages(stack: AppliedStack) -> None:
    cw = stack.moto.client("cloudwatch")
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    # Exactly what terraform/README.md lists: per function Errors and Throttles, per queue the
    # DLQ depth, DLQ arrivals and oldest message, the reports' and the loader's failed files, the
    # registry's failed executions, the customer feed's sets still incomplete, and the
    # transactions table's write throttles and the alerts topic's failed deliveries.
    assert set(alarms) == (
        {f"{PREFIX}-{fn}-{a}" for fn in FUNCTIONS.values() for a in ("errors", "throttles")}
        | {
            f"{PREFIX}-{queue}-{a}"
            for queue in QUEUES
            for a in ("dlq-not-empty", "dlq-arrivals", "oldest-message-age")
        }
        | {f"{PREFIX}-reports-files-failed", f"{PREFIX}-loader-files-failed"}
        | {f"{PREFIX}-registry-executions-failed"}
        | {f"{PREFIX}-customer-feed-sets-incomplete"}
        | {f"{PREFIX}-transactions-write-throttles", f"{PREFIX}-alerts-notifications-failed"}
    )
    assert len(alarms) == 5 * 2 + 6 * 3 + 6
    topic = stack.outputs["alarm_topic_arn"]
    assert all(topic in a["AlarmActions"] for a in alarms.values())

    # A failed record is not a function error (partial batch response) and a bad file is
    # consumed: the function's own EMF metric, with the stack's service dimension, shows them.
    failed = alarms[f"{PREFIX}-reports-files-failed"]
    assert (failed["Namespace"], failed["MetricName"]) == ("OrdersPipeline", "FilesFailed")
    assert failed["Dimensions"] == [{"Name": "service", "Value": f"{PREFIX}-reports"}]
    assert (failed["Statistic"], failed["Threshold"]) == ("Sum", 0)
    assert failed["ComparisonOperator"] == "GreaterThanThreshold"
    loader = alarms[f"{PREFIX}-loader-files-failed"]
    assert loader["Dimensions"] == [{"Name": "service", "Value": f"{PREFIX}-loader"}]
    # A registration that fails after its retries was already consumed from SQS: only the
    # state machine's own metric shows it.
    executions = alarms[f"{PREFIX}-registry-executions-failed"]
    assert (executions["Namespace"], executions["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert executions["Dimensions"] == [
        {"Name": "StateMachineArn", "Value": stack.outputs["state_machine_arn"]}
    ]

    # A set still missing a file after INCOMPLETE_AFTER_SECONDS: its check message was consumed.
    incomplete = alarms[f"{PREFIX}-customer-feed-sets-incomplete"]
    assert (incomplete["Namespace"], incomplete["MetricName"]) == (
        "OrdersPipeline",
        "FeedSetsIncomplete",
    )
    assert incomplete["Dimensions"] == [{"Name": "service", "Value": f"{PREFIX}-customer-feed"}]
    assert (incomplete["Statistic"], incomplete["Threshold"]) == ("Sum", 0)
    assert incomplete["ComparisonOperator"] == "GreaterThanThreshold"

    # Every new dead-lettered message, not only the first: the growth of the DLQ's depth.
    arrivals = alarms[f"{PREFIX}-reports-dlq-arrivals"]
    queries = {q["Id"]: q for q in arrivals["Metrics"]}
    assert queries["arrived"]["Expression"] == "DIFF(visible)"
    assert queries["arrived"]["ReturnData"] is True
    stat = queries["visible"]["MetricStat"]
    assert stat["Metric"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert stat["Metric"]["Dimensions"] == [{"Name": "QueueName", "Value": f"{PREFIX}-reports-dlq"}]
    assert arrivals["Threshold"] == 0

    depth = alarms[f"{PREFIX}-reports-dlq-not-empty"]
    assert depth["MetricName"] == "ApproximateNumberOfMessagesVisible"
    age = alarms[f"{PREFIX}-reports-oldest-message-age"]
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage"


def test_every_created_object_is_published(stack: AppliedStack) -> None:
    """No suffix filter: the function decides (.csv in any case, .csv.gz; the rest is logged)."""
    s3 = stack.moto.client("s3")
    config = s3.get_bucket_notification_configuration(Bucket=stack.outputs["input_bucket"])
    [topic] = config["TopicConfigurations"]
    assert topic["TopicArn"] == stack.outputs["landing_topic_arn"]
    assert topic["Events"] == ["s3:ObjectCreated:*"]
    assert not topic.get("Filter", {}).get("Key", {}).get("FilterRules")
    for key in ("upper/ORDERS.CSV", "gz/orders.csv.gz", "notes/readme.txt"):
        s3.put_object(Bucket=stack.outputs["input_bucket"], Key=key, Body=b"x")
        message = received_s3_event(stack, key)
        stack.moto.client("sqs").delete_message(
            QueueUrl=stack.outputs["reports_queue_url"], ReceiptHandle=message["ReceiptHandle"]
        )


def test_landing_topic_admits_only_the_two_buckets(stack: AppliedStack) -> None:
    sns = stack.moto.client("sns")
    topic_policy = json.loads(
        sns.get_topic_attributes(TopicArn=stack.outputs["landing_topic_arn"])["Attributes"][
            "Policy"
        ]
    )
    [stmt] = topic_policy["Statement"]
    assert stmt["Principal"] == {"Service": "s3.amazonaws.com"}
    assert sorted(as_list(stmt["Condition"]["ArnLike"]["aws:SourceArn"])) == [
        f"arn:aws:s3:::{BUCKET_PREFIX}-input",
        f"arn:aws:s3:::{BUCKET_PREFIX}-partner-feed",
    ]
    assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    # The queues' side (their own policies, SendMessage from this topic alone) is asserted per
    # queue above; the routing (filter policies) in test_stack_routing.py.


def test_buckets_are_private_versioned_encrypted_and_expire_what_they_should(
    stack: AppliedStack,
) -> None:
    s3 = stack.moto.client("s3")
    o = stack.outputs
    for bucket in (
        o["input_bucket"],
        o["partner_feed_bucket"],
        o["output_bucket"],
        o["audit_bucket"],
    ):
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
        assert default["KMSMasterKeyID"] == o["kms_key_arn"]
        rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
        assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"]
        noncurrent = rules["expire-noncurrent-versions"]
        assert noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
        # Delete markers left alone once their versions expired are removed too.
        assert noncurrent["Expiration"] == {"ExpiredObjectDeleteMarker": True}

    def expiry_days(bucket: str) -> int | None:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        current = [r for r in rules if r["ID"] == "expire-current-versions"]
        return current[0]["Expiration"]["Days"] if current else None

    assert expiry_days(o["input_bucket"]) == 365  # input_retention_days
    assert expiry_days(o["partner_feed_bucket"]) == 365  # input_retention_days
    assert expiry_days(o["audit_bucket"]) == 365  # audit_log_retention_days
    assert expiry_days(o["output_bucket"]) is None  # reports are kept


def test_athena_catalog(stack: AppliedStack) -> None:
    glue = stack.moto.client("glue")
    database = stack.outputs["glue_database"]
    output = stack.outputs["output_bucket"]
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
        assert params["storage.location.template"] == f"s3://{output}/{name}/dt=${{dt}}/"
        assert table["PartitionKeys"] == [
            {"Name": "dt", "Type": "string", "Comment": "UTC date of the upload event, yyyy-MM-dd"}
        ]
    athena = stack.moto.client("athena")
    wg = athena.get_work_group(WorkGroup=stack.outputs["athena_workgroup"])["WorkGroup"]
    result = wg["Configuration"]["ResultConfiguration"]
    assert result["OutputLocation"] == f"s3://{output}/_athena/"
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert wg["Configuration"]["EnforceWorkGroupConfiguration"] is True


# moto reads these back differently from what was applied, so a refresh plans an update that
# AWS would not: the mapping's function_name comes back as the alias's version ARN, and the
# queue's redrive policy JSON with other whitespace.
MOTO_ROUND_TRIP_UPDATES = {
    f'module.{consumer}.aws_lambda_event_source_mapping.this["{queue}"]'
    for consumer, queue in (*((c, "main") for c in CONSUMER_MODULES), ("loader", "continue"))
} | {
    f'module.{consumer}.module.queue["{queue}"].aws_sqs_queue.this'
    for consumer, queue in (*((c, "main") for c in CONSUMER_MODULES), ("loader", "continue"))
}


def test_a_plain_plan_keeps_the_running_function(stack: AppliedStack) -> None:
    """No image variable (a drift check, destroy.sh, a by-hand apply): each function keeps the
    image it runs, instead of the stack planning to delete the functions."""
    stack.terraform(
        "plan", "-input=false", "-no-color", "-out=drift.tfplan",
        "-var", "owner=infra-tests", "-var", f"region={REGION}",
    )  # fmt: skip
    plan: dict[str, Any] = json.loads(stack.terraform("show", "-json", "drift.tfplan").stdout)
    changes = {
        c["address"]: c["change"]["actions"]
        for c in plan["resource_changes"]
        if c["change"]["actions"] != ["no-op"] and c["mode"] == "managed"
    }
    assert not [a for a, actions in changes.items() if "delete" in actions], changes
    unexpected = {
        c["address"]: {
            k: (c["change"]["before"].get(k), c["change"]["after"].get(k))
            for k in set(c["change"]["before"] or {}) | set(c["change"]["after"] or {})
            if (c["change"]["before"] or {}).get(k) != (c["change"]["after"] or {}).get(k)
            or (c["change"].get("after_unknown") or {}).get(k)
        }
        for c in plan["resource_changes"]
        if c["address"] in set(changes) - MOTO_ROUND_TRIP_UPDATES
    }
    assert not unexpected, unexpected

    def walk(module: dict[str, Any]) -> Any:
        yield from module.get("resources", [])
        for child in module.get("child_modules", []):
            yield from walk(child)

    planned = {r["address"]: r["values"] for r in walk(plan["planned_values"]["root_module"])}
    for consumer in CONSUMER_MODULES:
        fn = planned[f"module.{consumer}.module.function[0].aws_lambda_function.this"]
        assert fn["image_uri"] == stack.outputs["image_uri"]


def test_state_is_in_the_working_copy_only(stack: AppliedStack) -> None:
    assert (stack.dir / "terraform.tfstate").exists()
    assert not list((ROOT / "terraform").rglob("*.tfstate"))
    assert (stack.dir / "_override.tf").exists()

"""The stack's policies as Terraform rendered them (read from `terraform show -json` of the
applied state): the reports function's role, the KMS key policy, the bucket policies, the ECR
repository policy and lifecycle, the audit trail. moto enforces none of the conditions below
(nor bucket policies with Deny conditions, see conftest), so they are asserted here, statement
by statement; test_stack_function_role.py proves what moto does enforce."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.pipelines.reports import layout
from tests.infra.conftest import (
    ACCOUNT,
    BUCKET_PREFIX,
    CONSUMERS,
    PREFIX,
    REGION,
    AppliedStack,
    as_list,
    consumer_policy,
    policy_statements,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

INPUT = f"arn:aws:s3:::{BUCKET_PREFIX}-input"
OUTPUT = f"arn:aws:s3:::{BUCKET_PREFIX}-output"
AUDIT = f"arn:aws:s3:::{BUCKET_PREFIX}-audit"
PARTNER_FEED = f"arn:aws:s3:::{BUCKET_PREFIX}-partner-feed"
# Where the function writes and deletes: the app's own list, which Terraform repeats.
OUTPUT_PREFIXES = list(layout.OUTPUT_PREFIXES)


def test_the_output_prefixes_are_the_documented_layout(stack: AppliedStack) -> None:
    assert stack.outputs["report_output_prefixes"] == {
        "outputs": OUTPUT_PREFIXES,
        "state": layout.STATE,
    }


# --- the function's role ---------------------------------------------------------------------


def _function_policy(stack: AppliedStack) -> dict[str, dict[str, Any]]:
    return consumer_policy(stack, "reports")


def test_function_role_has_exact_actions_on_this_stacks_resources(stack: AppliedStack) -> None:
    statements = _function_policy(stack)
    key = stack.outputs["kms_key_arn"]
    granted: dict[str, set[str]] = {}
    for s in statements.values():
        assert s["Effect"] == "Allow"
        assert "NotAction" not in s and "NotResource" not in s
        for action in as_list(s["Action"]):
            assert "*" not in action, f"wildcard action {action!r} in {s}"
            for resource in as_list(s["Resource"]):
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
    files = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{PREFIX}-files"
    outputs = {f"{OUTPUT}/{p}/*" for p in OUTPUT_PREFIXES}
    state = f"{OUTPUT}/_state/*"
    assert granted == {
        "s3:GetObject": {f"{INPUT}/*", state},
        "s3:ListBucket": {INPUT},
        "s3:PutObject": outputs | {state},
        "s3:DeleteObject": outputs,
        "s3:AbortMultipartUpload": outputs,
        "dynamodb:UpdateItem": {files},
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
    # Only the KMS statements carry conditions.
    assert {sid for sid, s in statements.items() if "Condition" in s} == {
        "DecryptStackObjects",
        "EncryptOutputObjects",
        "DecryptFilesTable",
        "DecryptOwnQueueMessages",
    }


def test_function_uses_the_key_only_through_s3_for_the_two_buckets(stack: AppliedStack) -> None:
    """The key also encrypts SNS, SQS, DynamoDB, logs, ECR, Athena results and the environment:
    the role may use it only as S3 does for the input and output buckets (bucket ARN: S3 Bucket
    Keys; object ARNs: objects written without one), as DynamoDB does for the files table and as
    SQS does for its queue."""
    statements = _function_policy(stack)
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    decrypt = statements["DecryptStackObjects"]
    assert as_list(decrypt["Action"]) == ["kms:Decrypt"]
    assert decrypt["Condition"]["StringEquals"] == via_s3
    assert sorted(
        as_list(decrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"])
    ) == (sorted([INPUT, f"{INPUT}/*", OUTPUT, f"{OUTPUT}/*"]))
    encrypt = statements["EncryptOutputObjects"]
    assert as_list(encrypt["Action"]) == ["kms:GenerateDataKey"]
    assert encrypt["Condition"]["StringEquals"] == via_s3
    assert sorted(
        as_list(encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"])
    ) == (sorted([OUTPUT, f"{OUTPUT}/*"]))
    assert statements["DecryptFilesTable"]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com",
            "kms:EncryptionContext:aws:dynamodb:tableName": f"{PREFIX}-files",
        }
    }
    assert statements["DecryptOwnQueueMessages"]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": f"sqs.{REGION}.amazonaws.com",
            "kms:EncryptionContext:aws:sqs:arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-reports",
        }
    }


# --- the key policy ---------------------------------------------------------------------------


def _key_policy(stack: AppliedStack) -> dict[str, dict[str, Any]]:
    return policy_statements(stack.resource("aws_kms_key.this")["values"]["policy"])


def test_key_policy_limits_every_service_to_this_stacks_resources(stack: AppliedStack) -> None:
    statements = _key_policy(stack)
    landing = stack.outputs["landing_topic_arn"]
    alarms = stack.outputs["alarm_topic_arn"]
    trail = stack.outputs["audit_trail_arn"]
    assert set(statements) == {
        "AccountAdministersKey",
        "LandingBucketsPublishToLandingTopic",
        "StackAlarmsPublishToAlarmTopic",
        "LandingTopicDeliversToStackQueues",
        "LogsEncryptOwnLogGroups",
        "AuditTrailEncryptsLogs",
        "AuditTrailDescribesKey",
    }
    admin = statements["AccountAdministersKey"]
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}

    s3 = statements["LandingBucketsPublishToLandingTopic"]
    assert s3["Principal"] == {"Service": "s3.amazonaws.com"}
    assert sorted(as_list(s3["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert s3["Condition"] == {
        "ArnLike": {"aws:SourceArn": [INPUT, PARTNER_FEED]},
        "StringEquals": {
            "aws:SourceAccount": ACCOUNT,
            "kms:EncryptionContext:aws:sns:topicArn": landing,
        },
    }

    cloudwatch = statements["StackAlarmsPublishToAlarmTopic"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{PREFIX}-*"},
        "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": alarms},
    }

    # SNS -> the stack's SSE-KMS queues (without it SNS could not deliver).
    sns = statements["LandingTopicDeliversToStackQueues"]
    assert sns["Principal"] == {"Service": "sns.amazonaws.com"}
    assert sorted(as_list(sns["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sns["Condition"] == {
        "ArnEquals": {"aws:SourceArn": landing},
        "StringLike": {
            "kms:EncryptionContext:aws:sqs:arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-*"
        },
    }

    logs = statements["LogsEncryptOwnLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": (
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PREFIX}-*"
            )
        }
    }

    trail_logs = statements["AuditTrailEncryptsLogs"]
    assert trail_logs["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert as_list(trail_logs["Action"]) == ["kms:GenerateDataKey"]
    assert trail_logs["Condition"] == {
        "StringEquals": {"aws:SourceArn": trail},
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
        },
    }
    describe = statements["AuditTrailDescribesKey"]
    assert as_list(describe["Action"]) == ["kms:DescribeKey"]
    assert describe["Condition"] == {"StringEquals": {"aws:SourceArn": trail}}

    # Every statement for a service principal is conditioned.
    for sid, statement in statements.items():
        if "Service" in statement["Principal"]:
            assert statement.get("Condition"), f"{sid} grants a service the key unconditionally"


def test_key_rotates_and_waits_before_deletion(stack: AppliedStack) -> None:
    key = stack.resource("aws_kms_key.this")["values"]
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30


# --- bucket policies (rendered; not attached under moto, see conftest) -----------------------


@pytest.mark.parametrize(
    ("module", "arn"),
    [
        ("module.input_bucket", INPUT),
        ("module.partner_feed_bucket", PARTNER_FEED),
        ("module.output_bucket", OUTPUT),
        ("module.audit_trail[0].module.bucket", AUDIT),
    ],
)
def test_bucket_policy_denies_plain_http_and_tls_below_1_2(
    stack: AppliedStack, module: str, arn: str
) -> None:
    doc = stack.resource(f"{module}.data.aws_iam_policy_document.this")["values"]["json"]
    statements = policy_statements(doc)
    for sid in ("DenyInsecureTransport", "DenyTlsBelow12"):
        deny = statements[sid]
        assert deny["Effect"] == "Deny"
        assert deny["Principal"] == "*" or deny["Principal"] == {"AWS": "*"}
        assert deny["Action"] == "s3:*"
        assert sorted(as_list(deny["Resource"])) == [arn, f"{arn}/*"]
    assert statements["DenyInsecureTransport"]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert statements["DenyTlsBelow12"]["Condition"] == {
        "NumericLessThan": {"s3:TlsVersion": "1.2"}
    }


def test_audit_bucket_admits_cloudtrail_for_this_trail_alone(stack: AppliedStack) -> None:
    doc = stack.resource("module.audit_trail[0].module.bucket.data.aws_iam_policy_document.this")
    statements = policy_statements(doc["values"]["json"])
    trail = stack.outputs["audit_trail_arn"]
    acl = statements["CloudTrailAclCheck"]
    assert acl["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert acl["Action"] == "s3:GetBucketAcl" and acl["Resource"] == AUDIT
    assert acl["Condition"] == {"StringEquals": {"aws:SourceArn": trail}}
    write = statements["CloudTrailWriteLogs"]
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"] == f"{AUDIT}/AWSLogs/{ACCOUNT}/*"
    assert write["Condition"] == {
        "StringEquals": {"aws:SourceArn": trail, "s3:x-amz-acl": "bucket-owner-full-control"}
    }


# --- ECR ----------------------------------------------------------------------------------------


def test_ecr_repository_policy_lets_lambda_pull_for_this_stacks_function_only(
    stack: AppliedStack,
) -> None:
    ecr = stack.moto.client("ecr")
    repo = stack.outputs["ecr_repository_name"]
    applied = json.loads(ecr.get_repository_policy(repositoryName=repo)["policyText"])
    rendered = policy_statements(
        stack.resource("module.ecr.aws_ecr_repository_policy.this[0]")["values"]["policy"]
    )
    assert policy_statements(json.dumps(applied)) == rendered
    [pull] = rendered.values()
    functions = [
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PREFIX}-{c}"
        for c in (*CONSUMERS, "customer-feed")
    ]
    assert pull["Effect"] == "Allow"
    assert pull["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert sorted(as_list(pull["Action"])) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert sorted(pull["Condition"]["StringLike"]["aws:SourceArn"]) == sorted(
        [arn for f in functions for arn in (f, f"{f}:*")]
    )
    assert set(pull["Condition"]) == {"StringLike"}


def test_ecr_lifecycle_expires_untagged_images_only(stack: AppliedStack) -> None:
    ecr = stack.moto.client("ecr")
    policy = json.loads(
        ecr.get_lifecycle_policy(repositoryName=stack.outputs["ecr_repository_name"])[
            "lifecyclePolicyText"
        ]
    )
    # A tagged image may be what a function version runs: no rule may select one.
    assert [r["selection"]["tagStatus"] for r in policy["rules"]] == ["untagged"]
    [rule] = policy["rules"]
    assert rule["selection"]["countType"] == "sinceImagePushed"
    assert rule["action"] == {"type": "expire"}
    repo = ecr.describe_repositories(repositoryNames=[stack.outputs["ecr_repository_name"]])
    assert repo["repositories"][0]["imageTagMutability"] == "IMMUTABLE"


# --- the audit trail ----------------------------------------------------------------------------


def test_audit_trail_records_object_level_events_of_the_data_buckets(stack: AppliedStack) -> None:
    cloudtrail = stack.moto.client("cloudtrail")
    trail_arn = stack.outputs["audit_trail_arn"]
    [trail] = cloudtrail.describe_trails(trailNameList=[trail_arn])["trailList"]
    assert trail["S3BucketName"] == stack.outputs["audit_bucket"]
    assert trail["LogFileValidationEnabled"] is True
    assert trail["KmsKeyId"] == stack.outputs["kms_key_arn"]
    assert cloudtrail.get_trail_status(Name=trail_arn)["IsLogging"] is True
    [selector] = cloudtrail.get_event_selectors(TrailName=trail_arn)["EventSelectors"]
    assert selector["ReadWriteType"] == "All"
    assert selector["IncludeManagementEvents"] is False
    [resource] = selector["DataResources"]
    assert resource["Type"] == "AWS::S3::Object"
    assert sorted(resource["Values"]) == [f"{INPUT}/", f"{OUTPUT}/", f"{PARTNER_FEED}/"]

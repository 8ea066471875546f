"""The registry function's role on the applied stack: the policy as Terraform rendered it, and
the role at work under moto's IAM enforcement. It may start the registry state machine and
consume its own queue, and nothing else: the files table is the state machine's to write."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.conftest import (
    ACCOUNT,
    PREFIX,
    REGION,
    AppliedStack,
    assert_denied,
    consumer_policy,
    function_role_credentials,
    granted,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-registry"


def test_registry_role_has_exact_actions_on_this_stacks_resources(stack: AppliedStack) -> None:
    statements = consumer_policy(stack, "registry")
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PREFIX}-registry:log-stream:*"
    consume = {QUEUE}
    assert granted(statements) == {
        "states:StartExecution": {stack.outputs["state_machine_arn"]},
        "sqs:ChangeMessageVisibility": consume,
        "sqs:DeleteMessage": consume,
        "sqs:GetQueueAttributes": consume,
        "sqs:ReceiveMessage": consume,
        "kms:Decrypt": {stack.outputs["kms_key_arn"]},
        "logs:CreateLogStream": {logs},
        "logs:PutLogEvents": {logs},
        "xray:PutTelemetryRecords": {"*"},
        "xray:PutTraceSegments": {"*"},
    }
    # The key only as SQS uses it, for its own queue's messages.
    decrypt = statements["DecryptOwnQueueMessages"]
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": f"sqs.{REGION}.amazonaws.com",
            "kms:EncryptionContext:aws:sqs:arn": QUEUE,
        }
    }
    assert {sid for sid, s in statements.items() if "Condition" in s} == {"DecryptOwnQueueMessages"}


@pytest.fixture(scope="module")
def creds(stack: AppliedStack) -> dict[str, str]:
    name = stack.outputs["registry_function_name"]
    assert name == f"{PREFIX}-registry"
    role = stack.moto.client("lambda").get_function_configuration(FunctionName=name)["Role"]
    assert role == stack.outputs["registry_role_arn"]
    return function_role_credentials(stack, name)


@pytest.fixture(scope="module")
def others(stack: AppliedStack) -> dict[str, str]:
    """A state machine that is not the stack's (created with IAM off)."""
    sfn = stack.moto.client("stepfunctions")
    foreign = sfn.create_state_machine(
        name="someone-elses-machine",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/someone-elses-role",
    )
    return {"foreign_machine": foreign["stateMachineArn"]}


def test_registry_role_starts_the_registry_state_machine(
    stack: AppliedStack, creds: dict[str, str]
) -> None:
    sfn = stack.moto.client("stepfunctions", **creds)
    with stack.moto.iam_enforced():
        started = sfn.start_execution(
            stateMachineArn=stack.outputs["state_machine_arn"],
            name=f"registry-role-{uuid.uuid4().hex}",
            input=json.dumps({}),
        )
    assert started["executionArn"].startswith(
        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{PREFIX}-registry:"
    )


def test_registry_role_consumes_its_queue(stack: AppliedStack, creds: dict[str, str]) -> None:
    url = stack.outputs["registry_queue_url"]
    stack.moto.client("sqs").send_message(QueueUrl=url, MessageBody='{"probe": "registry"}')
    sqs = stack.moto.client("sqs", **creds)
    with stack.moto.iam_enforced():
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        handles, others = [], []
        for _ in range(5):
            for m in sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                if m["Body"] == '{"probe": "registry"}':
                    handles.append(m["ReceiptHandle"])
                else:  # another test's event: held until the probe is found (released at once,
                    # the queue's first ten would come back every time), then released
                    others.append(m["ReceiptHandle"])
            if handles:
                break
        for handle in others:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        assert handles, "the probe message was not received"
        for handle in handles:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)


Attempt = Callable[[dict[str, Any], dict[str, str]], Any]
FILE = {"FileName": {"S": "bucket/key.csv"}}

DENIED: dict[str, Attempt] = {
    "StartExecution of another state machine": lambda c, o: c["sfn"].start_execution(
        stateMachineArn=o["foreign_machine"], name=uuid.uuid4().hex, input="{}"
    ),
    "StopExecution of the registry's executions": lambda c, o: c["sfn"].stop_execution(
        executionArn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{PREFIX}-registry:x"
    ),
    "UpdateItem on the files table (the state machine's job)": lambda c, o: c[
        "dynamodb"
    ].update_item(
        TableName=o["files_table"],
        Key=FILE,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={":s": {"S": "landed"}},
    ),
    "PutItem on the files table": lambda c, o: c["dynamodb"].put_item(
        TableName=o["files_table"], Item=FILE
    ),
    "GetItem on the files table": lambda c, o: c["dynamodb"].get_item(
        TableName=o["files_table"], Key=FILE
    ),
    "GetObject from the input bucket": lambda c, o: c["s3"].get_object(
        Bucket=o["input_bucket"], Key="sample_orders.csv"
    ),
    "GetObject from the partner-feed bucket": lambda c, o: c["s3"].get_object(
        Bucket=o["partner_feed_bucket"], Key="customers_20250101.csv"
    ),
    "SendMessage to its own queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["registry_queue_url"], MessageBody="x"
    ),
    "SendMessage to its DLQ": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["registry_dlq_url"], MessageBody="x"
    ),
    "ReceiveMessage from the reports queue": lambda c, o: c["sqs"].receive_message(
        QueueUrl=o["reports_queue_url"]
    ),
}


@pytest.mark.parametrize("attempt", sorted(DENIED))
def test_registry_role_is_denied(
    stack: AppliedStack, creds: dict[str, str], others: dict[str, str], attempt: str
) -> None:
    clients = {
        "dynamodb": stack.moto.client("dynamodb", **creds),
        "s3": stack.moto.client("s3", **creds),
        "sfn": stack.moto.client("stepfunctions", **creds),
        "sqs": stack.moto.client("sqs", **creds),
    }
    assert_denied(stack, lambda: DENIED[attempt](clients, {**stack.outputs, **others}))

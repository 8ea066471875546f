"""The registry state machine's role on the applied stack: the policy as Terraform rendered it,
and the role at work under moto's IAM enforcement (moto's Step Functions runs tasks with its
own credentials, so the role is assumed here and makes the machine's call itself). It may
update items of the files table, and nothing else: never PutItem (which would erase the
consumers' outcomes), no other table, bucket, queue or state machine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.conftest import (
    ACCOUNT,
    PREFIX,
    REGION,
    AppliedStack,
    assert_denied,
    assumed,
    granted,
    policy_statements,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

FILES = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{PREFIX}-files"


def test_state_machine_role_updates_the_files_table_only(stack: AppliedStack) -> None:
    policy = stack.resource("aws_iam_role_policy.state_machine")["values"]["policy"]
    statements = policy_statements(policy)
    assert granted(statements) == {
        "dynamodb:UpdateItem": {FILES},
        # The table is encrypted with the stack's key: DynamoDB decrypts the table key with the
        # caller's permission.
        "kms:Decrypt": {stack.outputs["kms_key_arn"]},
    }
    assert statements["DecryptFilesTable"]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com",
            "kms:EncryptionContext:aws:dynamodb:tableName": f"{PREFIX}-files",
        }
    }


def test_state_machine_role_trusts_step_functions_for_this_machine_alone(
    stack: AppliedStack,
) -> None:
    role = stack.resource("aws_iam_role.state_machine")["values"]
    [trust] = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": stack.outputs["state_machine_arn"]},
    }


@pytest.fixture(scope="module")
def clients(stack: AppliedStack) -> dict[str, Any]:
    creds = assumed(stack, stack.outputs["state_machine_role_arn"], "registry-sm")
    return {
        name: stack.moto.client(name, **creds)
        for name in ("dynamodb", "s3", "sqs", "stepfunctions")
    }


def test_state_machine_role_records_a_landing(stack: AppliedStack, clients: dict[str, Any]) -> None:
    """The definition's one call, as the role: a conditional UpdateItem (SET only)."""
    table = stack.outputs["files_table"]
    key = {"FileName": {"S": "role-probe/landing.csv"}}
    with stack.moto.iam_enforced():
        clients["dynamodb"].update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #status = :landed, #order = :order",
            ConditionExpression="attribute_not_exists(#order) OR #order <= :order",
            ExpressionAttributeNames={"#status": "Status", "#order": "LandedOrder"},
            ExpressionAttributeValues={":landed": {"S": "landed"}, ":order": {"S": "1"}},
        )
    item = stack.moto.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    assert item["Status"] == {"S": "landed"}


Attempt = Callable[[dict[str, Any], dict[str, str]], Any]
FILE = {"FileName": {"S": "bucket/key.csv"}}

DENIED: dict[str, Attempt] = {
    "PutItem on the files table": lambda c, o: c["dynamodb"].put_item(
        TableName=o["files_table"], Item=FILE
    ),
    "DeleteItem on the files table": lambda c, o: c["dynamodb"].delete_item(
        TableName=o["files_table"], Key=FILE
    ),
    "GetItem on the files table": lambda c, o: c["dynamodb"].get_item(
        TableName=o["files_table"], Key=FILE
    ),
    "BatchWriteItem on the files table": lambda c, o: c["dynamodb"].batch_write_item(
        RequestItems={o["files_table"]: [{"PutRequest": {"Item": FILE}}]}
    ),
    "UpdateItem on the rows table": lambda c, o: c["dynamodb"].update_item(
        TableName=o["rows_table"],
        Key={"source": {"S": "bucket/key.csv"}, "row": {"N": "2"}},
        UpdateExpression="SET x = :x",
        ExpressionAttributeValues={":x": {"S": "x"}},
    ),
    "StartExecution of its own state machine": lambda c, o: c["stepfunctions"].start_execution(
        stateMachineArn=o["state_machine_arn"], name="denied", input="{}"
    ),
    "GetObject from the input bucket": lambda c, o: c["s3"].get_object(
        Bucket=o["input_bucket"], Key="sample_orders.csv"
    ),
    "SendMessage to the registry queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["registry_queue_url"], MessageBody="x"
    ),
}


@pytest.mark.parametrize("attempt", sorted(DENIED))
def test_state_machine_role_is_denied(
    stack: AppliedStack, clients: dict[str, Any], attempt: str
) -> None:
    assert_denied(stack, lambda: DENIED[attempt](clients, stack.outputs))

"""The registry's state machine definition: well formed, one DynamoDB UpdateItem task and no
Lambda, retries on throttling and 5xx, the older-upload condition, and accepted by moto's
Amazon States Language parser (the one that runs it in the functional tests)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from app.pipelines.file_registry.landing import (
    DEFINITION,
    TABLE_PLACEHOLDER,
    state_machine_definition,
)

UPDATE_ITEM = "arn:aws:states:::dynamodb:updateItem"
THROTTLING = {
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerErrorException",
}
LANDING = {"Bucket", "Key", "Size", "ETag", "LandedAt", "Status", "LandedOrder"}
# DynamoDB's reserved words among the attributes the record writes (the full list has 573).
RESERVED = {"BUCKET", "KEY", "SIZE", "STATUS"}


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DEFINITION.read_text(encoding="utf-8"))
    return loaded


def states(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(asl["States"])


def tasks(asl: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in asl["States"].values() if s["Type"] == "Task"]


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def test_start_and_every_transition_name_a_state(asl: dict[str, Any]) -> None:
    names = set(states(asl))
    assert asl["StartAt"] in names
    targets = [s["Next"] for s in states(asl).values() if "Next" in s]
    targets += [c["Next"] for s in states(asl).values() for c in s.get("Catch", [])]
    assert set(targets) <= names
    for name, state in states(asl).items():  # every state ends or goes on, never both
        ends = state.get("End") is True or state["Type"] in {"Succeed", "Fail"}
        assert ends != ("Next" in state), name
    reachable = {asl["StartAt"], *targets}
    assert reachable == names, "a state nothing leads to"


def test_one_dynamodb_update_item_task_and_no_lambda(asl: dict[str, Any]) -> None:
    assert [t["Resource"] for t in tasks(asl)] == [UPDATE_ITEM]
    text = DEFINITION.read_text(encoding="utf-8").lower()
    assert ":lambda:" not in text and "states:::lambda" not in text
    assert "putitem" not in text  # the record is updated, so consumers' outcomes are kept


def test_the_table_is_a_placeholder_filled_by_the_stack(asl: dict[str, Any]) -> None:
    (task,) = tasks(asl)
    assert task["Parameters"]["TableName"] == TABLE_PLACEHOLDER
    # Terraform's templatefile() would also read any other ${...} or %{...}: there is none.
    text = DEFINITION.read_text(encoding="utf-8")
    assert re.findall(r"[$%]\{[^}]*\}", text) == [TABLE_PLACEHOLDER]
    rendered = json.loads(state_machine_definition("orders-pipeline-local-files"))
    (task,) = tasks(rendered)
    assert task["Parameters"]["TableName"] == "orders-pipeline-local-files"


def test_sets_the_landing_record_only_and_names_reserved_words(asl: dict[str, Any]) -> None:
    (task,) = tasks(asl)
    params = task["Parameters"]
    assert params["Key"] == {"FileName": {"S.$": "$.FileName"}}
    expression = params["UpdateExpression"]
    assert expression.startswith("SET ") and "REMOVE" not in expression
    names = params["ExpressionAttributeNames"]
    written = {
        names.get(target.strip(), target.strip())
        for target in (part.split("=")[0] for part in expression[4:].split(","))
    }
    assert written == LANDING
    words = re.findall(r"(?<![#:\w])[A-Za-z_]\w*", expression[4:])
    assert not {w.upper() for w in words} & RESERVED
    values = params["ExpressionAttributeValues"]
    assert values[":landed"] == {"S": "landed"}
    assert values[":size"] == {"N.$": "States.JsonToString($.Size)"}  # N wants a string
    placeholders = set(re.findall(r":\w+", f"{expression} {params['ConditionExpression']}"))
    assert placeholders == set(values)
    assert set(re.findall(r"#\w+", f"{expression} {params['ConditionExpression']}")) == set(names)


def test_an_older_upload_changes_nothing(asl: dict[str, Any]) -> None:
    (task,) = tasks(asl)
    params = task["Parameters"]
    names = params["ExpressionAttributeNames"]
    condition = re.sub(r"#\w+", lambda m: names[m.group()], params["ConditionExpression"])
    assert condition == "attribute_not_exists(LandedOrder) OR LandedOrder <= :order"
    assert params["ExpressionAttributeValues"][":order"] == {"S.$": "$.LandedOrder"}
    (catch,) = task["Catch"]
    assert catch["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]
    assert states(asl)[catch["Next"]]["Type"] == "Succeed"
    assert catch["Next"] == "OlderThanRecorded"


def test_throttling_and_server_errors_are_retried_with_backoff(asl: dict[str, Any]) -> None:
    (task,) = tasks(asl)
    retried = {e for r in task["Retry"] for e in r["ErrorEquals"]}
    assert retried >= THROTTLING
    assert "States.ALL" not in retried  # a validation error is not retried for nothing
    for rule in task["Retry"]:
        assert rule["BackoffRate"] > 1 and rule["MaxAttempts"] >= 3 and rule["IntervalSeconds"] >= 1


def test_the_only_resource_anywhere_is_update_item(asl: dict[str, Any]) -> None:
    resources = [v["Resource"] for v in walk(asl) if isinstance(v, dict) and "Resource" in v]
    assert resources == [UPDATE_ITEM]


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def test_moto_accepts_the_definition() -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    role = "arn:aws:iam::123456789012:role/registry"
    created = sfn.create_state_machine(
        name="registry", definition=state_machine_definition("files"), roleArn=role
    )
    described = sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["type"] == "STANDARD"
    with pytest.raises(ClientError, match="ASLParserException"):  # the parser does look at it
        broken = DEFINITION.read_text(encoding="utf-8").replace('"Type": "Task"', '"Type": "Tsk"')
        sfn.create_state_machine(name="broken", definition=broken, roleArn=role)

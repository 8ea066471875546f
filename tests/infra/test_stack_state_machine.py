"""The registry state machine of the applied stack: Standard, its own role, its definition (the
repository's app/pipelines/file_registry/state_machine.asl.json) bound to the files table, and
run by moto's Step Functions: an execution records the landed object in the files table."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.infra.conftest import ACCOUNT, PREFIX, REGION, ROOT, AppliedStack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

DEFINITION = ROOT / "app" / "pipelines" / "file_registry" / "state_machine.asl.json"


def _task_states(states: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Task state, nested ones (Parallel branches, Map iterators) included."""
    tasks = []
    for state in states.values():
        if state.get("Type") == "Task":
            tasks.append(state)
        for branch in state.get("Branches", []):
            tasks.extend(_task_states(branch["States"]))
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                tasks.extend(_task_states(state[key]["States"]))
    return tasks


@pytest.fixture(scope="module")
def described(stack: AppliedStack) -> dict[str, Any]:
    sfn = stack.moto.client("stepfunctions")
    machine: dict[str, Any] = sfn.describe_state_machine(
        stateMachineArn=stack.outputs["state_machine_arn"]
    )
    return machine


def test_standard_state_machine_with_its_own_role(
    stack: AppliedStack, described: dict[str, Any]
) -> None:
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{PREFIX}-registry"
    assert stack.outputs["state_machine_arn"] == arn
    assert described["name"] == f"{PREFIX}-registry"
    assert described["type"] == "STANDARD"
    assert described["roleArn"] == stack.outputs["state_machine_role_arn"]
    assert described["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-registry-sm-{REGION}"
    # The registry function starts this machine.
    env = stack.moto.client("lambda").get_function_configuration(
        FunctionName=stack.outputs["registry_function_name"]
    )["Environment"]["Variables"]
    assert env["STATE_MACHINE_ARN"] == arn


def test_definition_is_the_repository_file_bound_to_the_files_table(
    stack: AppliedStack, described: dict[str, Any]
) -> None:
    deployed = json.loads(described["definition"])
    source = json.loads(DEFINITION.read_text())
    assert "${" not in described["definition"], "a placeholder was left in the definition"
    tasks = _task_states(deployed["States"])
    assert tasks, "the definition has no Task state"
    for task in tasks:
        # The machine writes with its own DynamoDB integration (no Lambda), UpdateItem only:
        # its role allows nothing else.
        assert task["Resource"] == "arn:aws:states:::dynamodb:updateItem", task
        assert task["Parameters"]["TableName"] == stack.outputs["files_table"]
    # Apart from the table name, what runs is the repository's file.
    assert (
        json.loads(described["definition"].replace(stack.outputs["files_table"], "${files_table}"))
        == source
    )


def _run(stack: AppliedStack, landing: dict[str, Any]) -> dict[str, Any]:
    sfn = stack.moto.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=stack.outputs["state_machine_arn"],
        name=uuid.uuid4().hex,
        input=json.dumps(landing),
    )
    deadline = time.monotonic() + 30
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.2)


def test_an_execution_records_the_landed_object_and_an_older_event_changes_nothing(
    stack: AppliedStack,
) -> None:
    bucket = stack.outputs["partner_feed_bucket"]
    key = f"registry/{uuid.uuid4().hex}/customers_20250101.csv"
    landing = {
        "FileName": f"{bucket}/{key}",
        "Bucket": bucket,
        "Key": key,
        "Size": 1234,
        "ETag": "0123456789abcdef0123456789abcdef",
        "LandedAt": "2025-01-01T10:00:00.000Z",
        "LandedOrder": "2025-01-01T10:00:00.000Z#0000000000000000000000002",
    }
    first = _run(stack, landing)
    assert first["status"] == "SUCCEEDED", first
    table = stack.outputs["files_table"]
    dynamodb = stack.moto.client("dynamodb")
    item = dynamodb.get_item(TableName=table, Key={"FileName": {"S": f"{bucket}/{key}"}})["Item"]
    assert item["Bucket"] == {"S": bucket}
    assert item["Key"] == {"S": key}
    assert item["Size"] == {"N": "1234"}
    assert item["ETag"] == {"S": landing["ETag"]}
    assert item["LandedAt"] == {"S": landing["LandedAt"]}
    assert item["Status"] == {"S": "landed"}
    assert item["LandedOrder"] == {"S": landing["LandedOrder"]}

    older = {**landing, "Size": 1, "ETag": "f" * 32, "LandedOrder": "2025-01-01T09:00:00.000Z#1"}
    second = _run(stack, older)
    assert second["status"] == "SUCCEEDED", second
    again = dynamodb.get_item(TableName=table, Key={"FileName": {"S": f"{bucket}/{key}"}})
    assert again["Item"] == item

"""`moto.server`, with the resource of DynamoDB and Step Functions requests given to its IAM
check (run as a script: `python tests/infra/moto_server.py -H 127.0.0.1 -p PORT`).

moto 5.2.5 authorises S3, SQS, IAM and STS requests against the resource they name, but DynamoDB
and Step Functions requests against "*": under IAM enforcement a policy that names exact table
or state machine ARNs (least privilege) then allows nothing, and one that allows everything
cannot be told apart from it. Here a DynamoDB request is checked against each table it names
(TableName; every table of a BatchWriteItem/BatchGetItem; the tables of a transaction) and a
Step Functions request against the state machine (or execution) it names, as AWS does.

It also answers two Step Functions calls moto lacks and the provider makes for
aws_sfn_state_machine (hashicorp/aws >= 5.67 validates the definition at plan time:
ValidateStateMachineDefinition, here a JSON check only; ListStateMachineVersions, here none).
Nothing else of moto changes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler
from moto.server import main
from moto.stepfunctions.responses import StepFunctionResponse

_authorize = DynamoHandler._authenticate_and_authorize_normal_action


def _table_names(body: dict[str, Any]) -> list[str]:
    names: list[str] = []
    if isinstance(body.get("TableName"), str):
        names.append(body["TableName"])
    names.extend(body.get("RequestItems") or {})  # BatchWriteItem, BatchGetItem
    for item in body.get("TransactItems") or []:  # TransactWriteItems, TransactGetItems
        for operation in item.values():
            if isinstance(operation, dict) and isinstance(operation.get("TableName"), str):
                names.append(operation["TableName"])
    return sorted(set(names))


def _authorize_tables(self: Any, resource: str = "*") -> None:
    body = getattr(self, "body", None) or {}
    names = _table_names(body) if isinstance(body, dict) else []
    if not names:
        _authorize(self, resource)
        return
    for name in names:
        _authorize(self, f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{name}")


def _state_machine_resource(self: Any) -> str:
    for param in ("stateMachineArn", "executionArn"):
        value = self._get_param(param)
        if isinstance(value, str) and value:
            return value
    return "*"


def _validate_state_machine_definition(self: Any) -> ActionResult:
    try:
        json.loads(self._get_param("definition") or "")
    except ValueError as error:
        diagnostic = {"severity": "ERROR", "code": "INVALID_JSON", "message": str(error)}
        return ActionResult({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})


def _list_state_machine_versions(self: Any) -> ActionResult:
    return ActionResult({"stateMachineVersions": []})


sfn: Any = StepFunctionResponse
sfn._determine_resource = _state_machine_resource
sfn.validate_state_machine_definition = _validate_state_machine_definition
sfn.list_state_machine_versions = _list_state_machine_versions
DynamoHandler._authenticate_and_authorize_normal_action = _authorize_tables  # type: ignore[method-assign]

if __name__ == "__main__":
    main(sys.argv[1:])

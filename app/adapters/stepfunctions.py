"""Step Functions as the registry function uses it: start one named execution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

_ALREADY_EXISTS = "ExecutionAlreadyExists"


def start_execution(client: SFNClient, state_machine_arn: str, name: str, payload: str) -> bool:
    """Start the execution `name` with input `payload`: True if started, False if an execution
    of that name exists already (a redelivered event: its upload is registered, or being so).

    Step Functions answers a repeat of a still-running execution (same name, same input) with
    that execution, and ExecutionAlreadyExists once it has finished (or for another input):
    either way no second execution runs. Any other error raises (the message is retried).
    """
    try:
        client.start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == _ALREADY_EXISTS:
            return False
        raise
    return True

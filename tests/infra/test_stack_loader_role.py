"""The loader function's role on the applied stack: the policy as Terraform rendered it, and
the role at work under moto's IAM enforcement. It may read the uploaded file, write and query
the rows table, read and update the file's registry record, feed its continuation queue and
consume its two queues; nothing else (no PutItem or DeleteItem on the files table, no other
table, bucket or queue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.conftest import (
    ACCOUNT,
    BUCKET_PREFIX,
    PREFIX,
    REGION,
    AppliedStack,
    as_list,
    assert_denied,
    consumer_policy,
    function_role_credentials,
    granted,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-loader"
CONTINUE = f"{QUEUE}-continue"
INPUT = f"arn:aws:s3:::{BUCKET_PREFIX}-input"
KEY = "loader/role-probe.csv"


def test_loader_role_has_exact_actions_on_this_stacks_resources(stack: AppliedStack) -> None:
    statements = consumer_policy(stack, "loader")
    rows = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{PREFIX}-rows"
    files = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{PREFIX}-files"
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PREFIX}-loader:log-stream:*"
    consume = {QUEUE, CONTINUE}
    key = stack.outputs["kms_key_arn"]
    assert granted(statements) == {
        "s3:GetObject": {f"{INPUT}/*"},
        "dynamodb:BatchWriteItem": {rows},
        "dynamodb:Query": {rows},
        "dynamodb:GetItem": {files},
        "dynamodb:UpdateItem": {files},
        "sqs:SendMessage": {CONTINUE},
        "sqs:ChangeMessageVisibility": consume,
        "sqs:DeleteMessage": consume,
        "sqs:GetQueueAttributes": consume,
        "sqs:ReceiveMessage": consume,
        "kms:Decrypt": {key},
        "kms:GenerateDataKey": {key},
        "logs:CreateLogStream": {logs},
        "logs:PutLogEvents": {logs},
        "xray:PutTelemetryRecords": {"*"},
        "xray:PutTraceSegments": {"*"},
    }
    # The key: each use through one service, for this role's own resources only.
    conditions = {
        sid: {
            test: {k: sorted(as_list(v)) if isinstance(v, list) else v for k, v in keys.items()}
            for test, keys in s["Condition"].items()
        }
        for sid, s in statements.items()
        if "Condition" in s
    }
    via = f".{REGION}.amazonaws.com"
    assert conditions == {
        "DecryptInputObjects": {
            "StringEquals": {"kms:ViaService": f"s3{via}"},
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": sorted([INPUT, f"{INPUT}/*"])},
        },
        "DecryptRowsTable": {
            "StringEquals": {
                "kms:ViaService": f"dynamodb{via}",
                "kms:EncryptionContext:aws:dynamodb:tableName": f"{PREFIX}-rows",
            }
        },
        "DecryptFilesTable": {
            "StringEquals": {
                "kms:ViaService": f"dynamodb{via}",
                "kms:EncryptionContext:aws:dynamodb:tableName": f"{PREFIX}-files",
            }
        },
        "DecryptOwnQueueMessages": {
            "StringEquals": {
                "kms:ViaService": f"sqs{via}",
                "kms:EncryptionContext:aws:sqs:arn": sorted([QUEUE, CONTINUE]),
            }
        },
        "EncryptOwnQueueMessages": {
            "StringEquals": {
                "kms:ViaService": f"sqs{via}",
                "kms:EncryptionContext:aws:sqs:arn": CONTINUE,
            }
        },
    }


def test_loader_environment_names_its_tables_and_continuation_queue(stack: AppliedStack) -> None:
    env = stack.moto.client("lambda").get_function_configuration(
        FunctionName=stack.outputs["loader_function_name"]
    )["Environment"]["Variables"]
    assert env == {
        "ROWS_TABLE": stack.outputs["rows_table"],
        "FILES_TABLE": stack.outputs["files_table"],
        "CONTINUE_QUEUE_URL": stack.outputs["loader_continue_queue_url"],
        "POWERTOOLS_SERVICE_NAME": f"{PREFIX}-loader",
        "POWERTOOLS_METRICS_NAMESPACE": "OrdersPipeline",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    assert stack.outputs["loader_continue_queue_url"].endswith(f"/{PREFIX}-loader-continue")


@pytest.fixture(scope="module")
def creds(stack: AppliedStack) -> dict[str, str]:
    name = stack.outputs["loader_function_name"]
    assert name == f"{PREFIX}-loader"
    role = stack.moto.client("lambda").get_function_configuration(FunctionName=name)["Role"]
    assert role == stack.outputs["loader_role_arn"]
    return function_role_credentials(stack, name)


@pytest.fixture(scope="module")
def clients(stack: AppliedStack, creds: dict[str, str]) -> dict[str, Any]:
    return {
        name: stack.moto.client(name, **creds)
        for name in ("dynamodb", "s3", "sqs", "stepfunctions")
    }


@pytest.fixture(scope="module")
def upload(stack: AppliedStack) -> dict[str, str]:
    """A CSV in the input bucket and one in the partner-feed bucket (with IAM off)."""
    s3 = stack.moto.client("s3")
    put = s3.put_object(Bucket=stack.outputs["input_bucket"], Key=KEY, Body=b"name\nada\n")
    s3.put_object(Bucket=stack.outputs["partner_feed_bucket"], Key=KEY, Body=b"id\n1\n")
    return {"etag": put["ETag"]}


def _drain(stack: AppliedStack, sqs: Any, url: str, body: str) -> int:
    """Receives until `body` is found; deletes it, releases anything else. Returns how many."""
    found = 0
    for _ in range(5):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            if m["Body"] == body:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                found += 1
            else:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
        if found:
            return found
    return found


def test_loader_role_reads_the_upload_and_loads_rows(
    stack: AppliedStack, clients: dict[str, Any], upload: dict[str, str]
) -> None:
    o = stack.outputs
    source = f"{o['input_bucket']}/{KEY}"
    dynamodb = clients["dynamodb"]
    with stack.moto.iam_enforced():
        body = clients["s3"].get_object(Bucket=o["input_bucket"], Key=KEY, IfMatch=upload["etag"])
        assert body["Body"].read() == b"name\nada\n"
        dynamodb.batch_write_item(
            RequestItems={
                o["rows_table"]: [
                    {"PutRequest": {"Item": {"source": {"S": source}, "row": {"N": "2"}}}},
                    {"PutRequest": {"Item": {"source": {"S": source}, "row": {"N": "3"}}}},
                ]
            }
        )
        # Rows past a new version's end are deleted with the same call.
        dynamodb.batch_write_item(
            RequestItems={
                o["rows_table"]: [
                    {"DeleteRequest": {"Key": {"source": {"S": source}, "row": {"N": "3"}}}}
                ]
            }
        )
        rows = dynamodb.query(
            TableName=o["rows_table"],
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "source"},
            ExpressionAttributeValues={":s": {"S": source}},
        )["Items"]
    assert [r["row"]["N"] for r in rows] == ["2"]


def test_loader_role_tracks_its_progress_on_the_file_record(
    stack: AppliedStack, clients: dict[str, Any]
) -> None:
    o = stack.outputs
    key = {"FileName": {"S": f"{o['input_bucket']}/{KEY}"}}
    with stack.moto.iam_enforced():
        clients["dynamodb"].update_item(
            TableName=o["files_table"],
            Key=key,
            UpdateExpression="SET LoaderStatus = :s, RowsLoaded = :n",
            ExpressionAttributeValues={":s": {"S": "loaded"}, ":n": {"N": "1"}},
        )
        item = clients["dynamodb"].get_item(TableName=o["files_table"], Key=key)["Item"]
    assert item["LoaderStatus"] == {"S": "loaded"}


def test_loader_role_continues_through_its_own_queue(
    stack: AppliedStack, clients: dict[str, Any]
) -> None:
    o = stack.outputs
    sqs = clients["sqs"]
    body = '{"checkpoint": "loader-role-probe"}'
    with stack.moto.iam_enforced():
        sqs.send_message(QueueUrl=o["loader_continue_queue_url"], MessageBody=body)
        assert _drain(stack, sqs, o["loader_continue_queue_url"], body) == 1
        sqs.get_queue_attributes(QueueUrl=o["loader_queue_url"], AttributeNames=["All"])
        sqs.receive_message(QueueUrl=o["loader_queue_url"], WaitTimeSeconds=0)


Attempt = Callable[[dict[str, Any], dict[str, str]], Any]
FILE = {"FileName": {"S": "bucket/key.csv"}}
ROW = {"source": {"S": "bucket/key.csv"}, "row": {"N": "2"}}

DENIED: dict[str, Attempt] = {
    # The files table: its own attributes by UpdateItem, never a whole item.
    "PutItem on the files table": lambda c, o: c["dynamodb"].put_item(
        TableName=o["files_table"], Item=FILE
    ),
    "DeleteItem on the files table": lambda c, o: c["dynamodb"].delete_item(
        TableName=o["files_table"], Key=FILE
    ),
    "Scan of the files table": lambda c, o: c["dynamodb"].scan(TableName=o["files_table"]),
    "BatchWriteItem on the files table": lambda c, o: c["dynamodb"].batch_write_item(
        RequestItems={o["files_table"]: [{"PutRequest": {"Item": FILE}}]}
    ),
    "BatchWriteItem spanning the rows and the files table": lambda c, o: c[
        "dynamodb"
    ].batch_write_item(
        RequestItems={
            o["rows_table"]: [{"PutRequest": {"Item": ROW}}],
            o["files_table"]: [{"PutRequest": {"Item": FILE}}],
        }
    ),
    # The rows table: batches and queries only.
    "PutItem on the rows table": lambda c, o: c["dynamodb"].put_item(
        TableName=o["rows_table"], Item=ROW
    ),
    "Scan of the rows table": lambda c, o: c["dynamodb"].scan(TableName=o["rows_table"]),
    "DeleteTable of the rows table": lambda c, o: c["dynamodb"].delete_table(
        TableName=o["rows_table"]
    ),
    # Buckets: read the input bucket's objects, nothing else.
    "PutObject to the input bucket": lambda c, o: c["s3"].put_object(
        Bucket=o["input_bucket"], Key=KEY, Body=b"x"
    ),
    "DeleteObject in the input bucket": lambda c, o: c["s3"].delete_object(
        Bucket=o["input_bucket"], Key=KEY
    ),
    "GetObject from the partner-feed bucket": lambda c, o: c["s3"].get_object(
        Bucket=o["partner_feed_bucket"], Key=KEY
    ),
    "GetObject from the output bucket": lambda c, o: c["s3"].get_object(
        Bucket=o["output_bucket"], Key="_manifests/x.json"
    ),
    "ListBucket on the input bucket": lambda c, o: c["s3"].list_objects_v2(
        Bucket=o["input_bucket"]
    ),
    # Queues: send only to its continuation queue.
    "SendMessage to its own loader queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["loader_queue_url"], MessageBody="x"
    ),
    "SendMessage to the continuation DLQ": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["loader_continue_queue_url"].removesuffix("-continue") + "-continue-dlq",
        MessageBody="x",
    ),
    "SendMessage to the reports queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["reports_queue_url"], MessageBody="x"
    ),
    "ReceiveMessage from the registry queue": lambda c, o: c["sqs"].receive_message(
        QueueUrl=o["registry_queue_url"]
    ),
    "StartExecution of the registry state machine": lambda c, o: c["stepfunctions"].start_execution(
        stateMachineArn=o["state_machine_arn"], name="denied", input="{}"
    ),
}


@pytest.mark.parametrize("attempt", sorted(DENIED))
def test_loader_role_is_denied(
    stack: AppliedStack, clients: dict[str, Any], upload: dict[str, str], attempt: str
) -> None:
    assert_denied(stack, lambda: DENIED[attempt](clients, stack.outputs))

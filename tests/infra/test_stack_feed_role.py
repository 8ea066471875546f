"""The customer feed function's role on the applied stack: the policy as Terraform rendered it,
the output queue -customer-feed, and the role at work under moto's IAM enforcement. It may read
(and HEAD) the partner-feed bucket's files, read and update registry items of the files table,
send to the output queue -customer-feed and to its own queue -feed (delayed completeness checks)
and consume -feed; nothing else (no other bucket, no write to a bucket, no other table, no whole
item, no other queue)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

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
    policy_statements,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

FEED = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-feed"
OUTPUT = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-customer-feed"
PARTNER_FEED = f"arn:aws:s3:::{BUCKET_PREFIX}-partner-feed"
KEY = "feed-role/customers_20250101.csv"


def test_feed_role_has_exact_actions_on_this_stacks_resources(stack: AppliedStack) -> None:
    statements = consumer_policy(stack, "customer_feed")
    files = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{PREFIX}-files"
    logs = (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PREFIX}-customer-feed:log-stream:*"
    )
    key = stack.outputs["kms_key_arn"]
    assert granted(statements) == {
        "s3:GetObject": {f"{PARTNER_FEED}/*"},
        "s3:ListBucket": {PARTNER_FEED},
        "dynamodb:GetItem": {files},
        "dynamodb:UpdateItem": {files},
        "sqs:SendMessage": {OUTPUT, FEED},
        "sqs:ChangeMessageVisibility": {FEED},
        "sqs:DeleteMessage": {FEED},
        "sqs:GetQueueAttributes": {FEED},
        "sqs:ReceiveMessage": {FEED},
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
    sqs_context = "kms:EncryptionContext:aws:sqs:arn"
    assert conditions == {
        "DecryptPartnerFeedObjects": {
            "StringEquals": {"kms:ViaService": f"s3{via}"},
            "StringLike": {
                "kms:EncryptionContext:aws:s3:arn": sorted([PARTNER_FEED, f"{PARTNER_FEED}/*"])
            },
        },
        "DecryptFilesTable": {
            "StringEquals": {
                "kms:ViaService": f"dynamodb{via}",
                "kms:EncryptionContext:aws:dynamodb:tableName": f"{PREFIX}-files",
            }
        },
        "EncryptCustomerMessages": {
            "StringEquals": {"kms:ViaService": f"sqs{via}", sqs_context: OUTPUT}
        },
        "DecryptOwnQueueMessages": {
            "StringEquals": {"kms:ViaService": f"sqs{via}", sqs_context: FEED}
        },
        "EncryptOwnQueueMessages": {
            "StringEquals": {"kms:ViaService": f"sqs{via}", sqs_context: FEED}
        },
    }
    assert sorted(as_list(statements["EncryptCustomerMessages"]["Action"])) == [
        "kms:Decrypt",
        "kms:GenerateDataKey",
    ]


def test_the_output_queue_is_encrypted_tls_only_and_has_no_dlq_of_ours(
    stack: AppliedStack,
) -> None:
    sqs = stack.moto.client("sqs")
    url = stack.outputs["customer_feed_queue_url"]
    assert url.endswith(f"/{PREFIX}-customer-feed")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["KmsMasterKeyId"] == stack.outputs["kms_key_arn"]
    assert attrs["QueueArn"] == OUTPUT == stack.outputs["customer_feed_queue_arn"]
    assert int(attrs["MessageRetentionPeriod"]) == 4 * 24 * 3600
    assert "RedrivePolicy" not in attrs  # its consumers own their redrive
    with pytest.raises(ClientError):  # no DLQ at all
        sqs.get_queue_url(QueueName=f"{PREFIX}-customer-feed-dlq")
    # As rendered (moto does not evaluate queue policies): no request without TLS, nothing else.
    rendered = stack.resource("aws_sqs_queue.customer_feed")["values"]["policy"]
    statements = policy_statements(rendered)
    assert set(statements) == {"DenyInsecureTransport"}
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Action"] == "sqs:*" and deny["Resource"] == OUTPUT
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy_statements(attrs["Policy"]) == statements


@pytest.fixture(scope="module")
def creds(stack: AppliedStack) -> dict[str, str]:
    name = stack.outputs["customer_feed_function_name"]
    assert name == f"{PREFIX}-customer-feed"
    role = stack.moto.client("lambda").get_function_configuration(FunctionName=name)["Role"]
    assert role == stack.outputs["customer_feed_role_arn"]
    return function_role_credentials(stack, name)


@pytest.fixture(scope="module")
def clients(stack: AppliedStack, creds: dict[str, str]) -> dict[str, Any]:
    return {
        name: stack.moto.client(name, **creds)
        for name in ("dynamodb", "s3", "sqs", "stepfunctions")
    }


@pytest.fixture(scope="module")
def upload(stack: AppliedStack) -> dict[str, str]:
    """A feed file in the partner-feed bucket and one in the input bucket (with IAM off)."""
    s3 = stack.moto.client("s3")
    put = s3.put_object(
        Bucket=stack.outputs["partner_feed_bucket"], Key=KEY, Body=b"customer_id\n1\n"
    )
    s3.put_object(Bucket=stack.outputs["input_bucket"], Key=KEY, Body=b"order_id\n1\n")
    return {"etag": put["ETag"]}


def _drain(sqs: Any, url: str, body: str) -> int:
    """Receives until `body` is found and deletes it; anything else is held until then (released
    at once, the queue's first ten would come back every time), then released. Returns how many
    were found."""
    found = 0
    others = []
    for _ in range(5):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            if m["Body"] == body:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                found += 1
            else:
                others.append(m["ReceiptHandle"])
        if found:
            break
    for handle in others:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return found


def test_feed_role_reads_the_partner_feed_files(
    stack: AppliedStack, clients: dict[str, Any], upload: dict[str, str]
) -> None:
    bucket = stack.outputs["partner_feed_bucket"]
    with stack.moto.iam_enforced():
        head = clients["s3"].head_object(Bucket=bucket, Key=KEY)
        body = clients["s3"].get_object(Bucket=bucket, Key=KEY, IfMatch=upload["etag"])
        assert body["Body"].read() == b"customer_id\n1\n"
    assert head["ETag"] == upload["etag"]


def test_feed_role_claims_and_records_the_set_on_the_registry_item(
    stack: AppliedStack, clients: dict[str, Any]
) -> None:
    o = stack.outputs
    key = {"FileName": {"S": f"{o['partner_feed_bucket']}/{KEY}"}}
    dynamodb = clients["dynamodb"]
    with stack.moto.iam_enforced():
        dynamodb.update_item(
            TableName=o["files_table"],
            Key=key,
            UpdateExpression="SET FeedVersions = :v, FeedStatus = :p, FeedLease = :l",
            ConditionExpression="attribute_not_exists(FeedVersions) OR FeedVersions <> :v",
            ExpressionAttributeValues={
                ":v": {"L": [{"S": '"a"'}, {"S": '"b"'}, {"S": '"c"'}]},
                ":p": {"S": "processing"},
                ":l": {"N": "1"},
            },
        )
        dynamodb.update_item(
            TableName=o["files_table"],
            Key=key,
            UpdateExpression="SET FeedStatus = :s, FeedMessages = :n REMOVE FeedLease",
            ExpressionAttributeValues={":s": {"S": "sent"}, ":n": {"N": "1"}},
        )
        item = dynamodb.get_item(TableName=o["files_table"], Key=key)["Item"]
    assert item["FeedStatus"] == {"S": "sent"}
    assert "FeedLease" not in item


def test_feed_role_sends_customer_messages_and_its_own_delayed_checks(
    stack: AppliedStack, clients: dict[str, Any]
) -> None:
    o = stack.outputs
    sqs = clients["sqs"]
    customer = json.dumps({"probe": "feed-role", "customer": 1})
    check = json.dumps({"type": "orders-pipeline/customer-feed/check", "probe": "feed-role"})
    with stack.moto.iam_enforced():
        # The function sends with SendMessageBatch, which AWS authorises as sqs:SendMessage
        # (there is no sqs:SendMessageBatch action); moto asks for sqs:SendMessageBatch, so the
        # role's permission is proven with SendMessage.
        sqs.send_message(QueueUrl=o["customer_feed_queue_url"], MessageBody=customer)
        sqs.send_message(QueueUrl=o["feed_queue_url"], MessageBody=check, DelaySeconds=0)
        # Consuming its own queue (the event source mapping does it with this role).
        assert _drain(sqs, o["feed_queue_url"], check) == 1
        sqs.get_queue_attributes(QueueUrl=o["feed_queue_url"], AttributeNames=["All"])
    # The output's consumers are not this role (checked with IAM off).
    assert _drain(stack.moto.client("sqs"), o["customer_feed_queue_url"], customer) == 1


Attempt = Callable[[dict[str, Any], dict[str, str]], Any]
FILE = {"FileName": {"S": "bucket/key.csv"}}
ROW = {"source": {"S": "bucket/key.csv"}, "row": {"N": "2"}}

DENIED: dict[str, Attempt] = {
    # Buckets: read the partner-feed bucket's files, nothing else.
    "GetObject from the input bucket": lambda c, o: c["s3"].get_object(
        Bucket=o["input_bucket"], Key=KEY
    ),
    "GetObject from the output bucket": lambda c, o: c["s3"].get_object(
        Bucket=o["output_bucket"], Key="_manifests/x.json"
    ),
    "DeleteObject in the partner-feed bucket": lambda c, o: c["s3"].delete_object(
        Bucket=o["partner_feed_bucket"], Key=KEY
    ),
    "PutObject to the partner-feed bucket": lambda c, o: c["s3"].put_object(
        Bucket=o["partner_feed_bucket"], Key=KEY, Body=b"x"
    ),
    "ListBucket on the input bucket": lambda c, o: c["s3"].list_objects_v2(
        Bucket=o["input_bucket"]
    ),
    # The files table: its own attributes by UpdateItem, never a whole item.
    "PutItem on the files table": lambda c, o: c["dynamodb"].put_item(
        TableName=o["files_table"], Item=FILE
    ),
    "DeleteItem on the files table": lambda c, o: c["dynamodb"].delete_item(
        TableName=o["files_table"], Key=FILE
    ),
    "Scan of the files table": lambda c, o: c["dynamodb"].scan(TableName=o["files_table"]),
    # The rows table: nothing.
    "UpdateItem on the rows table": lambda c, o: c["dynamodb"].update_item(
        TableName=o["rows_table"],
        Key=ROW,
        UpdateExpression="SET x = :x",
        ExpressionAttributeValues={":x": {"S": "x"}},
    ),
    "PutItem on the rows table": lambda c, o: c["dynamodb"].put_item(
        TableName=o["rows_table"], Item=ROW
    ),
    "BatchWriteItem on the rows table": lambda c, o: c["dynamodb"].batch_write_item(
        RequestItems={o["rows_table"]: [{"PutRequest": {"Item": ROW}}]}
    ),
    # Queues: send to the output queue and its own queue only; consume its own queue only.
    "SendMessage to the reports queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["reports_queue_url"], MessageBody="x"
    ),
    "SendMessage to the loader continuation queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["loader_continue_queue_url"], MessageBody="x"
    ),
    "SendMessage to its DLQ": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["feed_dlq_url"], MessageBody="x"
    ),
    "ReceiveMessage from the output queue": lambda c, o: c["sqs"].receive_message(
        QueueUrl=o["customer_feed_queue_url"]
    ),
    "DeleteMessage from the output queue": lambda c, o: c["sqs"].delete_message(
        QueueUrl=o["customer_feed_queue_url"], ReceiptHandle="x"
    ),
    "ReceiveMessage from the registry queue": lambda c, o: c["sqs"].receive_message(
        QueueUrl=o["registry_queue_url"]
    ),
    "StartExecution of the registry state machine": lambda c, o: c["stepfunctions"].start_execution(
        stateMachineArn=o["state_machine_arn"], name="denied", input="{}"
    ),
}


@pytest.mark.parametrize("attempt", sorted(DENIED))
def test_feed_role_is_denied(
    stack: AppliedStack, clients: dict[str, Any], upload: dict[str, str], attempt: str
) -> None:
    assert_denied(stack, lambda: DENIED[attempt](clients, stack.outputs))

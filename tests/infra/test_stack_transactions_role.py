"""The transactions stream on the applied stack: the queue (fed by producers, not by the landing
topic), the table, the alerts topic, the mapping and alarms, the function's policy as Terraform
rendered it, and its role at work under moto's IAM enforcement. It may put (conditionally), get
and update items of the transactions table, publish to the alerts topic, write payloads under
transactions/payloads/ (and delete them) and invalid events under transactions/invalid/ of the
output bucket, and consume its own queue; nothing else (no DeleteItem or Scan, no other table,
topic, prefix, bucket or queue).

moto 5.2.5 authorises SNS requests against "*", not the topic they name, so under enforcement a
policy naming the alerts topic allows no Publish at all, and a denied Publish to the landing
topic would prove nothing. The SNS calls are therefore made on a second moto server of this
module's own, whose SNS requests are authorised against their TopicArn (as AWS does), holding
the role with the policy rendered for the stack and topics of the stack's names (same account
and region, so the same ARNs)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

import tests.infra.conftest as infra
from tests.infra.conftest import (
    ACCOUNT,
    BUCKET_PREFIX,
    DENIED_CODES,
    PREFIX,
    REGION,
    AppliedStack,
    MotoServer,
    as_list,
    assert_denied,
    consumer_policy,
    function_role_credentials,
    granted,
    policy_statements,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-transactions"
DLQ = f"{QUEUE}-dlq"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{PREFIX}-transactions"
ALERTS = f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-alerts"
LANDING = f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-landing"
ALARMS = f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-alarms"
OUTPUT = f"arn:aws:s3:::{BUCKET_PREFIX}-output"
PAYLOADS = "transactions/payloads/"
INVALID = "transactions/invalid/"
ORDER = "3f1c2a4e-0000-4000-8000-000000000001"


# --- the policy as rendered ---------------------------------------------------------------------


def test_transactions_role_has_exact_actions_on_this_stacks_resources(
    stack: AppliedStack,
) -> None:
    statements = consumer_policy(stack, "transactions")
    logs = (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PREFIX}-transactions:log-stream:*"
    )
    key = stack.outputs["kms_key_arn"]
    assert granted(statements) == {
        "dynamodb:PutItem": {TABLE},
        "dynamodb:GetItem": {TABLE},
        "dynamodb:UpdateItem": {TABLE},
        "sns:Publish": {ALERTS},
        "s3:PutObject": {f"{OUTPUT}/{PAYLOADS}*", f"{OUTPUT}/{INVALID}*"},
        "s3:DeleteObject": {f"{OUTPUT}/{PAYLOADS}*"},
        "sqs:ChangeMessageVisibility": {QUEUE},
        "sqs:DeleteMessage": {QUEUE},
        "sqs:GetQueueAttributes": {QUEUE},
        "sqs:ReceiveMessage": {QUEUE},
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
        "DecryptTransactionsTable": {
            "StringEquals": {
                "kms:ViaService": f"dynamodb{via}",
                "kms:EncryptionContext:aws:dynamodb:tableName": f"{PREFIX}-transactions",
            }
        },
        "EncryptAlerts": {
            "StringEquals": {
                "kms:ViaService": f"sns{via}",
                "kms:EncryptionContext:aws:sns:topicArn": ALERTS,
            }
        },
        "EncryptTransactionObjects": {
            "StringEquals": {"kms:ViaService": f"s3{via}"},
            "StringLike": {
                "kms:EncryptionContext:aws:s3:arn": sorted(
                    [OUTPUT, f"{OUTPUT}/{PAYLOADS}*", f"{OUTPUT}/{INVALID}*"]
                )
            },
        },
        "DecryptOwnQueueMessages": {
            "StringEquals": {
                "kms:ViaService": f"sqs{via}",
                "kms:EncryptionContext:aws:sqs:arn": QUEUE,
            }
        },
    }
    kms_actions = {
        sid: sorted(as_list(s["Action"]))
        for sid, s in statements.items()
        if any(a.startswith("kms:") for a in as_list(s["Action"]))
    }
    assert kms_actions == {
        "DecryptTransactionsTable": ["kms:Decrypt"],
        "EncryptAlerts": ["kms:Decrypt", "kms:GenerateDataKey"],
        "EncryptTransactionObjects": ["kms:GenerateDataKey"],
        "DecryptOwnQueueMessages": ["kms:Decrypt"],
    }


def test_transactions_environment_and_image_command(stack: AppliedStack) -> None:
    o = stack.outputs
    cfg = stack.moto.client("lambda").get_function_configuration(
        FunctionName=o["transactions_function_name"]
    )
    assert cfg["ImageConfigResponse"]["ImageConfig"]["Command"] == [
        "app.handlers.transactions.handler"
    ]
    assert cfg["Environment"]["Variables"] == {
        "TRANSACTIONS_TABLE": o["transactions_table"],
        "ALERTS_TOPIC_ARN": o["alerts_topic_arn"],
        "PAYLOAD_BUCKET": o["output_bucket"],
        "POWERTOOLS_SERVICE_NAME": f"{PREFIX}-transactions",
        "POWERTOOLS_METRICS_NAMESPACE": "OrdersPipeline",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


# --- the resources ------------------------------------------------------------------------------


def test_table_is_on_demand_recoverable_and_encrypted_with_the_stack_key(
    stack: AppliedStack,
) -> None:
    dynamodb = stack.moto.client("dynamodb")
    table = dynamodb.describe_table(TableName=stack.outputs["transactions_table"])["Table"]
    assert table["TableArn"] == TABLE
    assert table["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "order_id", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    sse = table["SSEDescription"]
    assert (sse["Status"], sse["SSEType"]) == ("ENABLED", "KMS")
    assert sse["KMSMasterKeyArn"] == stack.outputs["kms_key_arn"]
    # Deletion protection as the other tables': table_deletion_protection (off by default).
    assert table.get("DeletionProtectionEnabled", False) is False
    backups = dynamodb.describe_continuous_backups(TableName=table["TableName"])
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"


def test_alerts_topic_is_encrypted_with_the_stack_key_and_has_no_subscriber_by_default(
    stack: AppliedStack,
) -> None:
    sns = stack.moto.client("sns")
    assert stack.outputs["alerts_topic_arn"] == ALERTS
    attrs = sns.get_topic_attributes(TopicArn=ALERTS)["Attributes"]
    assert attrs["KmsMasterKeyId"] == stack.outputs["kms_key_arn"]
    # alerts_email is null by default: no e-mail subscription.
    assert sns.list_subscriptions_by_topic(TopicArn=ALERTS)["Subscriptions"] == []
    assert not [
        r for r in stack.resources() if r["address"].startswith("aws_sns_topic_subscription.")
    ]


def test_queue_redrives_to_its_dlq_and_no_topic_feeds_it(stack: AppliedStack) -> None:
    sqs = stack.moto.client("sqs")
    url = stack.outputs["transactions_queue_url"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"] == QUEUE == stack.outputs["transactions_queue_arn"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == DLQ
    assert int(redrive["maxReceiveCount"]) == 5  # max_receive_count, as every consumer's
    assert attrs["KmsMasterKeyId"] == stack.outputs["kms_key_arn"]
    dlq = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["transactions_dlq_url"], AttributeNames=["QueueArn"]
    )["Attributes"]
    assert dlq["QueueArn"] == DLQ
    # Producers send to it directly: its policy only denies plain HTTP (no Allow for anyone:
    # the producers' own IAM policies grant sqs:SendMessage), and no topic subscribes it.
    rendered = stack.resource('module.transactions.module.queue["main"].aws_sqs_queue.this')
    assert set(policy_statements(rendered["values"]["policy"])) == {"DenyInsecureTransport"}
    sns = stack.moto.client("sns")
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions()["Subscriptions"]]
    assert QUEUE not in endpoints and endpoints  # the landing topic's queues are subscribed


def test_mapping_takes_batches_of_ten_within_a_second_and_reports_item_failures(
    stack: AppliedStack,
) -> None:
    [esm] = [
        r["values"]
        for r in stack.resources()
        if r["address"].startswith("module.transactions.aws_lambda_event_source_mapping.this[")
    ]
    assert esm["event_source_arn"] == QUEUE
    assert esm["batch_size"] == 10
    assert esm["maximum_batching_window_in_seconds"] == 1
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]
    # As moto holds it.
    mapping = stack.moto.client("lambda").get_event_source_mapping(UUID=esm["uuid"])
    assert mapping["EventSourceArn"] == QUEUE
    assert mapping["BatchSize"] == 10
    assert mapping["MaximumBatchingWindowInSeconds"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_alarms_watch_the_function_the_queues_the_table_and_the_alerts_topic(
    stack: AppliedStack,
) -> None:
    cw = stack.moto.client("cloudwatch")
    names = [
        f"{PREFIX}-transactions-{a}"
        for a in (
            "errors", "throttles", "dlq-not-empty", "dlq-arrivals", "oldest-message-age",
            "write-throttles",
        )
    ] + [f"{PREFIX}-alerts-notifications-failed"]  # fmt: skip
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNames=names)["MetricAlarms"]}
    assert set(alarms) == set(names)
    assert all(a["AlarmActions"] == [stack.outputs["alarm_topic_arn"]] for a in alarms.values())
    throttles = alarms[f"{PREFIX}-transactions-write-throttles"]
    assert (throttles["Namespace"], throttles["MetricName"]) == (
        "AWS/DynamoDB",
        "WriteThrottleEvents",
    )
    assert throttles["Dimensions"] == [{"Name": "TableName", "Value": f"{PREFIX}-transactions"}]
    assert (throttles["Statistic"], throttles["Threshold"]) == ("Sum", 0)
    assert throttles["ComparisonOperator"] == "GreaterThanThreshold"
    failed = alarms[f"{PREFIX}-alerts-notifications-failed"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/SNS", "NumberOfNotificationsFailed")
    assert failed["Dimensions"] == [{"Name": "TopicName", "Value": f"{PREFIX}-alerts"}]
    errors = alarms[f"{PREFIX}-transactions-errors"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": f"{PREFIX}-transactions"}]
    age = alarms[f"{PREFIX}-transactions-oldest-message-age"]
    assert age["Dimensions"] == [{"Name": "QueueName", "Value": f"{PREFIX}-transactions"}]
    depth = alarms[f"{PREFIX}-transactions-dlq-not-empty"]
    assert depth["Dimensions"] == [{"Name": "QueueName", "Value": f"{PREFIX}-transactions-dlq"}]


# --- the role at work (moto's IAM enforcement) --------------------------------------------------


@pytest.fixture(scope="module")
def creds(stack: AppliedStack) -> dict[str, str]:
    name = stack.outputs["transactions_function_name"]
    assert name == f"{PREFIX}-transactions"
    role = stack.moto.client("lambda").get_function_configuration(FunctionName=name)["Role"]
    assert role == stack.outputs["transactions_role_arn"]
    assert role == f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-transactions-{REGION}"
    return function_role_credentials(stack, name)


@pytest.fixture(scope="module")
def clients(stack: AppliedStack, creds: dict[str, str]) -> dict[str, Any]:
    return {
        name: stack.moto.client(name, **creds)
        for name in ("dynamodb", "s3", "sqs", "stepfunctions")
    }


def test_transactions_role_stores_an_event_once_reads_and_updates_it(
    stack: AppliedStack, clients: dict[str, Any]
) -> None:
    table = stack.outputs["transactions_table"]
    dynamodb = clients["dynamodb"]
    item = {"order_id": {"S": ORDER}, "amount": {"N": "1500"}, "currency": {"S": "EUR"}}
    put = {
        "TableName": table,
        "Item": item,
        "ConditionExpression": "attribute_not_exists(order_id)",
    }
    with stack.moto.iam_enforced():
        dynamodb.put_item(**put)
        # A redelivered event: refused by the condition (an outcome), not by IAM.
        with pytest.raises(ClientError) as duplicate:
            dynamodb.put_item(**put)
        stored = dynamodb.get_item(TableName=table, Key={"order_id": {"S": ORDER}})["Item"]
        dynamodb.update_item(
            TableName=table,
            Key={"order_id": {"S": ORDER}},
            UpdateExpression="SET duplicates = if_not_exists(duplicates, :zero) + :one",
            ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
        )
        updated = dynamodb.get_item(TableName=table, Key={"order_id": {"S": ORDER}})["Item"]
    assert duplicate.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert stored == item
    assert updated["duplicates"] == {"N": "1"}


def test_transactions_role_writes_payloads_and_invalid_events_and_deletes_payloads(
    stack: AppliedStack, clients: dict[str, Any]
) -> None:
    bucket = stack.outputs["output_bucket"]
    s3 = clients["s3"]
    payload = f"{PAYLOADS}{ORDER}.json"
    invalid = f"{INVALID}dt=2026-01-01/{ORDER}.json"
    with stack.moto.iam_enforced():
        s3.put_object(Bucket=bucket, Key=payload, Body=b'{"padding": "x"}')
        s3.put_object(Bucket=bucket, Key=invalid, Body=b'{"reasons": ["amount"]}')
        s3.delete_object(Bucket=bucket, Key=payload)
    # Checked with IAM off: the payload is gone, the invalid record is kept.
    admin = stack.moto.client("s3")
    listed = admin.list_objects_v2(Bucket=bucket, Prefix="transactions/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [invalid]


def test_transactions_role_consumes_its_own_queue(
    stack: AppliedStack, clients: dict[str, Any]
) -> None:
    url = stack.outputs["transactions_queue_url"]
    body = json.dumps({"order_id": ORDER, "probe": "transactions-role"})
    # A producer's message (sent with IAM off: producers are not this role).
    stack.moto.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    sqs = clients["sqs"]
    found = 0
    with stack.moto.iam_enforced():
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        for _ in range(5):
            for m in sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                if m["Body"] == body:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                    found += 1
                else:
                    sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                    )
            if found:
                break
    assert found == 1


Attempt = Callable[[dict[str, Any], dict[str, str]], Any]
TRANSACTION = {"order_id": {"S": ORDER}}
FILE = {"FileName": {"S": "bucket/key.csv"}}
ROW = {"source": {"S": "bucket/key.csv"}, "row": {"N": "2"}}

DENIED: dict[str, Attempt] = {
    # The transactions table: put, get and update; never delete, scan, query or batch.
    "DeleteItem on the transactions table": lambda c, o: c["dynamodb"].delete_item(
        TableName=o["transactions_table"], Key=TRANSACTION
    ),
    "Scan of the transactions table": lambda c, o: c["dynamodb"].scan(
        TableName=o["transactions_table"]
    ),
    "Query of the transactions table": lambda c, o: c["dynamodb"].query(
        TableName=o["transactions_table"],
        KeyConditionExpression="order_id = :o",
        ExpressionAttributeValues={":o": {"S": ORDER}},
    ),
    "BatchWriteItem on the transactions table": lambda c, o: c["dynamodb"].batch_write_item(
        RequestItems={o["transactions_table"]: [{"PutRequest": {"Item": TRANSACTION}}]}
    ),
    # The other tables: nothing.
    "GetItem on the files table": lambda c, o: c["dynamodb"].get_item(
        TableName=o["files_table"], Key=FILE
    ),
    "PutItem on the files table": lambda c, o: c["dynamodb"].put_item(
        TableName=o["files_table"], Item=FILE
    ),
    "UpdateItem on the files table": lambda c, o: c["dynamodb"].update_item(
        TableName=o["files_table"],
        Key=FILE,
        UpdateExpression="SET x = :x",
        ExpressionAttributeValues={":x": {"S": "x"}},
    ),
    "PutItem on the rows table": lambda c, o: c["dynamodb"].put_item(
        TableName=o["rows_table"], Item=ROW
    ),
    "GetItem on the rows table": lambda c, o: c["dynamodb"].get_item(
        TableName=o["rows_table"], Key=ROW
    ),
    # The output bucket: transactions/payloads/ and transactions/invalid/ only.
    "PutObject at reports/": lambda c, o: c["s3"].put_object(
        Bucket=o["output_bucket"], Key="reports/x.json", Body=b"x"
    ),
    "PutObject at transactions-x/": lambda c, o: c["s3"].put_object(
        Bucket=o["output_bucket"], Key="transactions-x/payloads/x.json", Body=b"x"
    ),
    "PutObject at transactions/ outside its two prefixes": lambda c, o: c["s3"].put_object(
        Bucket=o["output_bucket"], Key="transactions/other/x.json", Body=b"x"
    ),
    "PutObject at a report prefix": lambda c, o: c["s3"].put_object(
        Bucket=o["output_bucket"], Key="_manifests/x.json", Body=b"x"
    ),
    "GetObject of a payload": lambda c, o: c["s3"].get_object(
        Bucket=o["output_bucket"], Key=f"{PAYLOADS}{ORDER}.json"
    ),
    "GetObject of an invalid event": lambda c, o: c["s3"].get_object(
        Bucket=o["output_bucket"], Key=f"{INVALID}x.json"
    ),
    "DeleteObject of an invalid event": lambda c, o: c["s3"].delete_object(
        Bucket=o["output_bucket"], Key=f"{INVALID}x.json"
    ),
    "ListBucket on the output bucket": lambda c, o: c["s3"].list_objects_v2(
        Bucket=o["output_bucket"], Prefix="transactions/"
    ),
    "GetObject from the input bucket": lambda c, o: c["s3"].get_object(
        Bucket=o["input_bucket"], Key="x.csv"
    ),
    "PutObject to the input bucket": lambda c, o: c["s3"].put_object(
        Bucket=o["input_bucket"], Key=f"{PAYLOADS}x.json", Body=b"x"
    ),
    "PutObject to the partner-feed bucket": lambda c, o: c["s3"].put_object(
        Bucket=o["partner_feed_bucket"], Key=f"{PAYLOADS}x.json", Body=b"x"
    ),
    # Queues: consume its own; send to none (producers send to it, SQS dead-letters).
    "SendMessage to its own queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["transactions_queue_url"], MessageBody="x"
    ),
    "SendMessage to its DLQ": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["transactions_dlq_url"], MessageBody="x"
    ),
    "SendMessage to the reports queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["reports_queue_url"], MessageBody="x"
    ),
    "SendMessage to the customer-feed output queue": lambda c, o: c["sqs"].send_message(
        QueueUrl=o["customer_feed_queue_url"], MessageBody="x"
    ),
    "ReceiveMessage from its DLQ": lambda c, o: c["sqs"].receive_message(
        QueueUrl=o["transactions_dlq_url"]
    ),
    "ReceiveMessage from the loader queue": lambda c, o: c["sqs"].receive_message(
        QueueUrl=o["loader_queue_url"]
    ),
    "StartExecution of the registry state machine": lambda c, o: c["stepfunctions"].start_execution(
        stateMachineArn=o["state_machine_arn"], name="denied", input="{}"
    ),
}


@pytest.mark.parametrize("attempt", sorted(DENIED))
def test_transactions_role_is_denied(
    stack: AppliedStack, clients: dict[str, Any], attempt: str
) -> None:
    assert_denied(stack, lambda: DENIED[attempt](clients, stack.outputs))


# --- publishing alerts (a moto server authorising SNS by topic, see the module docstring) -------

# moto's server with SNS requests authorised against the topic they name (TopicArn, or
# TargetArn for Publish), not "*".
SNS_BY_TOPIC_SERVER = """\
import sys

from moto.server import main
from moto.sns.responses import SNSResponse


def _topic(self):
    for param in ("TopicArn", "TargetArn"):
        value = self._get_param(param)
        if isinstance(value, str) and value:
            return value
    return "*"


SNSResponse._determine_resource = _topic
main(sys.argv[1:])
"""


@dataclass
class AlertsServer:
    server: MotoServer
    sns: Any  # an SNS client with the transactions role's credentials
    subscriber_url: str  # a queue subscribed to the alerts topic for LARGE_ORDER alone


@pytest.fixture(scope="module")
def sns_moto(
    stack: AppliedStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AlertsServer]:
    """A moto server with the stack's three topics (by name), a subscriber queue filtering on
    the `alert` attribute, and the transactions role with the policy rendered for the stack."""
    tmp = tmp_path_factory.mktemp("sns-by-topic")
    script = tmp / "moto_sns_by_topic.py"
    script.write_text(SNS_BY_TOPIC_SERVER)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra, "SERVER", script)  # MotoServer starts this script instead
        server = MotoServer(tmp / "moto.log")
    try:
        sns = server.client("sns")
        for topic in (ALERTS, LANDING, ALARMS):
            assert sns.create_topic(Name=topic.rsplit(":", 1)[-1])["TopicArn"] == topic
        sqs = server.client("sqs")
        url = sqs.create_queue(QueueName="large-order-subscriber")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=ALERTS,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"FilterPolicy": json.dumps({"alert": ["LARGE_ORDER"]})},
        )
        rendered = stack.resource(
            "module.transactions.module.function[0].aws_iam_role_policy.this"
        )["values"]["policy"]
        role = stack.resource("module.transactions.module.function[0].aws_iam_role.this")
        iam = server.client("iam")
        created = iam.create_role(
            RoleName=role["values"]["name"],
            AssumeRolePolicyDocument=role["values"]["assume_role_policy"],
        )["Role"]
        assert created["Arn"] == stack.outputs["transactions_role_arn"]
        iam.put_role_policy(
            RoleName=created["RoleName"], PolicyName="transactions", PolicyDocument=rendered
        )
        creds = server.client("sts").assume_role(
            RoleArn=created["Arn"], RoleSessionName="transactions-fn"
        )["Credentials"]
        role_sns = server.client(
            "sns",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        yield AlertsServer(server=server, sns=role_sns, subscriber_url=url)
    finally:
        server.stop()


def _alert(kind: str) -> dict[str, Any]:
    return {
        "Message": json.dumps({"alert": kind, "order_id": ORDER, "amount": 1500, "reasons": []}),
        "MessageAttributes": {"alert": {"DataType": "String", "StringValue": kind}},
    }


def test_transactions_role_publishes_alerts_with_their_attribute(sns_moto: AlertsServer) -> None:
    with sns_moto.server.iam_enforced():
        sns_moto.sns.publish(TopicArn=ALERTS, **_alert("LARGE_ORDER"))
        sns_moto.sns.publish(TopicArn=ALERTS, **_alert("INVALID_EVENT"))
    # The subscriber that asked for LARGE_ORDER alone gets it, attribute included.
    sqs = sns_moto.server.client("sqs")
    received = sqs.receive_message(
        QueueUrl=sns_moto.subscriber_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
    ).get("Messages", [])
    notes = [json.loads(m["Body"]) for m in received]
    assert [json.loads(n["Message"])["alert"] for n in notes] == ["LARGE_ORDER"]
    assert notes[0]["MessageAttributes"]["alert"] == {"Type": "String", "Value": "LARGE_ORDER"}


@pytest.mark.parametrize(
    "topic", [pytest.param(LANDING, id="landing"), pytest.param(ALARMS, id="alarms")]
)
def test_transactions_role_may_not_publish_elsewhere(sns_moto: AlertsServer, topic: str) -> None:
    with sns_moto.server.iam_enforced(), pytest.raises(ClientError) as err:
        sns_moto.sns.publish(TopicArn=topic, **_alert("LARGE_ORDER"))
    assert err.value.response["Error"]["Code"] in DENIED_CODES, err.value


def test_transactions_role_may_not_subscribe_to_or_change_the_alerts_topic(
    sns_moto: AlertsServer,
) -> None:
    attempts: list[Callable[[], Any]] = [
        lambda: sns_moto.sns.subscribe(TopicArn=ALERTS, Protocol="email", Endpoint="a@b.example"),
        lambda: sns_moto.sns.set_topic_attributes(
            TopicArn=ALERTS, AttributeName="DisplayName", AttributeValue="x"
        ),
    ]
    for attempt in attempts:
        with sns_moto.server.iam_enforced(), pytest.raises(ClientError) as err:
            attempt()
        assert err.value.response["Error"]["Code"] in DENIED_CODES, err.value

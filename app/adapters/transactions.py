"""The transactions table and the alerts topic, as app.pipelines.transactions.service uses
them (its Table and Topic); the bucket is app.adapters.s3.BucketSink."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from app.pipelines.transactions.service import AlertKind, ItemTooLarge

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient

KEY = "order_id"
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class TransactionsTable:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def put_new(self, item: dict[str, Any]) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={name: _serialize(value) for name, value in item.items()},
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": KEY},
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ConditionalCheckFailedException":
                return False
            if error.get("Code") == "ValidationException" and "size" in error.get("Message", ""):
                raise ItemTooLarge(error.get("Message", "")) from exc
            raise
        return True

    def get(self, order_id: str) -> dict[str, Any] | None:
        found = self.client.get_item(
            TableName=self.table, Key={KEY: {"S": order_id}}, ConsistentRead=True
        ).get("Item")
        if found is None:
            return None
        return {name: _deserialize(value) for name, value in found.items()}

    def mark_alerted(self, order_id: str, at: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={KEY: {"S": order_id}},
            UpdateExpression="SET alerted_at = :at",
            ConditionExpression="attribute_exists(#k)",
            ExpressionAttributeNames={"#k": KEY},
            ExpressionAttributeValues={":at": {"S": at}},
        )


class AlertsTopic:
    """SNS: each alert's kind is also the message attribute `alert`, for filter policies."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, body: str, alert: AlertKind) -> None:
        self.client.publish(
            TopicArn=self.topic_arn,
            Message=body,
            MessageAttributes={"alert": {"DataType": "String", "StringValue": alert}},
        )

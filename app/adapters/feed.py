"""The customer feed's AWS: the partner-feed bucket (HEAD, If-Match reads), the set's status
and guard on the files table, the customer-feed queue (SendMessageBatch) and the function's
own queue (the delayed completeness check). These implement the Protocols of
app.pipelines.customer_feed.sets.

A missing object's HEAD is a 404 only with s3:ListBucket on the bucket; without it S3 says
403 for any key that does not exist, which this adapter cannot tell from a denied read, so it
raises (the role needs s3:ListBucket on the partner-feed bucket as well as s3:GetObject).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from app.adapters.s3 import open_object
from app.orders_csv.reader import Readable
from app.pipelines.customer_feed.sets import PROCESSING, SetOutcome

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

_MISSING = {"404", "NoSuchKey", "NotFound"}
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- bucket


class FeedBucket:
    """sets.Objects on S3."""

    def __init__(self, client: S3Client) -> None:
        self.client = client

    def etag(self, bucket: str, key: str) -> str | None:
        try:
            response = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return str(response["ETag"]).strip('"')

    def open(self, bucket: str, key: str, etag: str) -> Readable:
        return open_object(self.client, bucket, key, etag).stream


# --------------------------------------------------------------------------- registry


class FeedRegistry:
    """sets.Registry on the files table: UpdateItem only, SET/REMOVE of the Feed* attributes."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def _update(
        self,
        name: str,
        expression: str,
        values: dict[str, AttributeValueTypeDef],
        condition: str | None = None,
    ) -> bool:
        extra: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"FileName": {"S": name}},
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
                **extra,
            )
        except ClientError as exc:
            if _code(exc) == _CONDITION_FAILED:
                return False
            raise
        return True

    def note(self, name: str, status: str) -> bool:
        return self._update(
            name,
            "SET FeedStatus = :s",
            {
                ":s": {"S": status},
                ":processing": {"S": PROCESSING},
                ":sent": {"S": "sent"},
                ":failed": {"S": "failed"},
            },
            "attribute_not_exists(FeedStatus) OR NOT (FeedStatus IN (:processing, :sent)"
            " OR begins_with(FeedStatus, :failed))",
        )

    def claim(self, name: str, versions: str, now: float, lease_until: float) -> bool:
        return self._update(
            name,
            "SET FeedVersions = :v, FeedStatus = :processing, FeedLease = :until",
            {
                ":v": {"S": versions},
                ":processing": {"S": PROCESSING},
                ":until": {"N": f"{lease_until:.3f}"},
                ":now": {"N": f"{now:.3f}"},
            },
            "attribute_not_exists(FeedVersions) OR FeedVersions <> :v"
            " OR (FeedStatus = :processing AND FeedLease < :now)",
        )

    def finish(self, name: str, versions: str, outcome: SetOutcome) -> bool:
        values: dict[str, AttributeValueTypeDef] = {
            ":v": {"S": versions},
            ":s": {"S": outcome.registry_status},
            ":m": {"N": str(outcome.customer_messages)},
            ":e": {"N": str(outcome.error_messages)},
        }
        sets = "SET FeedStatus = :s, FeedMessages = :m, FeedErrors = :e"
        removes = " REMOVE FeedLease"
        if outcome.status in ("sent", "failed"):
            sets += ", FeedSentAt = :at"
            values[":at"] = {"S": _now()}
        else:
            removes += ", FeedSentAt"
        return self._update(name, sets + removes, values, "FeedVersions = :v")

    def release(self, name: str, versions: str) -> None:
        self._update(
            name,
            "SET FeedLease = :expired",
            {":v": {"S": versions}, ":processing": {"S": PROCESSING}, ":expired": {"N": "0"}},
            "FeedVersions = :v AND FeedStatus = :processing",
        )

    def mark(self, name: str, status: str, set_name: str) -> None:
        self._update(
            name,
            "SET FeedStatus = :s, FeedSet = :set",
            {":s": {"S": status}, ":set": {"S": set_name}},
        )


# --------------------------------------------------------------------------- queues


class CheckQueue:
    """sets.Checks: the function's own queue, with a delivery delay."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self.client = client
        self.url = url

    def schedule(self, body: str, delay_seconds: int) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=body, DelaySeconds=delay_seconds)

"""SQS as the table loader uses it: the message that continues a load in the next invocation."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class ContinueQueue:
    """The loader's -loader-continue queue (its function consumes it too)."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, body: str) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=body)

"""Lambda's SQS event source mapping, played locally: poll, invoke, delete what succeeded.

As in AWS: batches of up to `batch_size`, the handler gets a Lambda-shaped SQS event, records it
reports in batchItemFailures stay on the queue until their visibility timeout ends and are then
received again, and after the queue's maxReceiveCount SQS itself moves them to the DLQ.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.runtime.sqs_consumer import Handler

REGION = "us-east-1"
ACCOUNT = "123456789012"

BatchListener = Callable[[list[dict[str, Any]], set[str]], None]
"""Called after each invocation with the records and the ids of those that failed."""


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 1769
    timeout_ms: int = 300_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


class EventPump:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        function_name: str,
        *,
        batch_size: int = 10,
        wait_seconds: int = 1,
        on_batch: BatchListener | None = None,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_url.rsplit('/', 1)[-1]}"
        self.handler = handler
        self.function_name = function_name
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.on_batch = on_batch
        self.invocations = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.wait_seconds + 30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # keep pumping, as the managed poller does
                self.errors.append(exc)
                self._stop.wait(1)

    def poll_once(self) -> int:
        """Receive one batch and invoke the handler with it; returns the batch size."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        records = [self._record(m) for m in received]
        self.invocations += 1
        context = LambdaContext(self.function_name, str(uuid.uuid4()))
        try:
            response = self.handler({"Records": records}, context)
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as exc:  # a failed invocation fails the whole batch
            self.errors.append(exc)
            failed = {r["messageId"] for r in records}
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(received)
            if m["MessageId"] not in failed
        ]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
        if self.on_batch:
            self.on_batch(records, failed)
        return len(records)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", hashlib.md5(body.encode()).hexdigest()),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }

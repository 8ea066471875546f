"""The transactions function: order events from its SQS queue, each stored once (see
app.pipelines.transactions.service). The wiring only; built by a factory so the Lambda
handler, the tests and the local stack share it.

Partial batch responses: a record whose storing fails (the table, bucket or topic) is
reported and retried by SQS, then goes to the DLQ; invalid events are consumed.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from app.adapters.clients import Clients
from app.adapters.s3 import BucketSink
from app.adapters.transactions import AlertsTopic, TransactionsTable
from app.core.settings import TransactionsSettings
from app.pipelines.transactions.service import Outcome, Transactions
from app.runtime.sqs_consumer import Consumer, Handler

__all__ = ["Handler", "make_handler"]

METRICS = {
    "stored": "TransactionsStored",
    "duplicate": "TransactionsDuplicate",
    "conflict": "TransactionsConflict",
    "invalid": "TransactionsInvalid",
}


def make_handler(
    settings: TransactionsSettings,
    dynamodb: Any | None = None,
    s3: Any | None = None,
    sns: Any | None = None,
) -> Handler:
    consumer = Consumer(settings.telemetry)
    log, count = consumer.logger, consumer.count
    aws = Clients({"dynamodb": dynamodb, "s3": s3, "sns": sns})

    @functools.cache  # built on the first record: the clients (and boto3) load then
    def transactions() -> Transactions:
        return Transactions(
            TransactionsTable(aws("dynamodb"), settings.table),
            BucketSink(aws("s3"), settings.payload_bucket),
            AlertsTopic(aws("sns"), settings.alerts_topic_arn),
        )

    def on_record(record: SQSRecord, context: Any) -> None:
        consumer.logger.set_correlation_id(record.message_id)
        outcome = transactions().handle(
            record.body,
            sent_at=_sent_at(record),
            message_id=record.message_id,
        )
        report(outcome)

    def report(outcome: Outcome) -> None:
        count(METRICS[outcome.status])
        details: dict[str, Any] = {"order_id": outcome.order_id, "status": outcome.status}
        if outcome.large and outcome.status == "stored":
            count("LargeOrders")
        if outcome.offloaded:
            count("PayloadsOffloaded")
        if outcome.status in ("invalid", "conflict"):
            details["reasons"] = outcome.reasons
            log.warning("invalid event: kept and alerted", extra=details)
        else:
            log.info(f"event {outcome.status}", extra=details)

    return consumer.record_handler(on_record)


def _sent_at(record: SQSRecord) -> datetime | None:
    millis = record.attributes.sent_timestamp
    return datetime.fromtimestamp(int(millis) / 1000, UTC) if millis else None

"""The Powertools wiring every SQS consumer shares: JSON logs with a correlation id, EMF
metrics, and partial batch responses (a record that raises is reported back and retried by
SQS, then moved to the DLQ after maxReceiveCount; the others are consumed).

A pipeline gives a function of one record's body; this module does the rest, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from app.core.events import is_s3_event, objects_in
from app.core.objects import ObjectRef
from app.core.settings import Telemetry

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
Body = str | dict[str, Any]
"""An SQS record's body, or a whole event invoked directly (an S3 notification)."""
OnBody = Callable[[Body, Any], None]
OnRecord = Callable[[SQSRecord, Any], None]
OnObject = Callable[[ObjectRef, Any], None]


class Consumer:
    """One function's logger and metrics, and its Lambda handler around a record function."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.logger = Logger(service=telemetry.service, level=telemetry.log_level)
        self.metrics = Metrics(namespace=telemetry.namespace, service=telemetry.service)
        self._processor = BatchProcessor(event_type=EventType.SQS)

    def count(self, name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
        self.metrics.add_metric(name, unit, value)

    def each_object(self, on_object: OnObject) -> OnBody:
        """A body function for S3 notifications: `on_object` for every created object, with
        the log's correlation id set to `<bucket>/<key>` (s3:TestEvent names none)."""

        def on_body(body: Body, context: Any) -> None:
            for ref in objects_in(body):
                self.logger.set_correlation_id(ref.name)
                on_object(ref, context)

        return on_body

    def handler(self, on_body: OnBody) -> Handler:
        """The handler of an S3-notification consumer: `on_body` for each record's body, or
        for the whole event when the function is invoked directly with an S3 event."""
        return self.record_handler(lambda record, context: on_body(record.body, context), on_body)

    def record_handler(self, on_record: OnRecord, direct: OnBody | None = None) -> Handler:
        def each(record: SQSRecord, context: Any) -> None:
            try:
                on_record(record, context)
            except Exception:  # the record fails and SQS retries it: say why in the log
                self.logger.exception("record failed; SQS will deliver it again (then the DLQ)")
                raise

        @self.metrics.log_metrics
        @self.logger.inject_lambda_context
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            if direct is not None and is_s3_event(event):  # invoked with a plain S3 event
                direct(event, context)
                return {"processed": len(event["Records"])}
            response = process_partial_response(
                event=event,
                record_handler=lambda record: each(record, context),
                processor=self._processor,
                context=context,
            )
            return dict(response)

        def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                result: dict[str, Any] = handler(event, context)
                return result
            finally:  # flushed by now; with metrics disabled (locally) Powertools keeps them
                self.metrics.clear_metrics()

        return lambda_handler

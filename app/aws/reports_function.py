"""The reports function's wiring: Powertools logging, metrics and partial batch responses
around app.service. Built by a factory so the Lambda handler and the local event pump share it.
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

from app import layout, ordering, service
from app.aws.events import is_s3_event, objects_in
from app.aws.s3 import CLIENT_CONFIG, BucketSink, S3StateStore, open_object
from app.config import Settings

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_handler(settings: Settings, s3: Any | None = None) -> Handler:
    logger = Logger(service=settings.service, level=settings.log_level)
    metrics = Metrics(namespace=settings.namespace, service=settings.service)
    processor = BatchProcessor(event_type=EventType.SQS)
    clients: dict[str, Any] = {"s3": s3} if s3 else {}

    def client() -> Any:  # boto3 and the client's model load on first use (cold start)
        if "s3" not in clients:
            import boto3

            clients["s3"] = boto3.client("s3", config=CLIENT_CONFIG)
        return clients["s3"]

    def process_object(ref: service.ObjectRef) -> None:
        assert ref.bucket is not None
        bucket = ref.bucket
        logger.set_correlation_id(f"{bucket}/{ref.key}")
        if layout.input_format(ref.key) is None:
            metrics.add_metric("FilesIgnored", MetricUnit.Count, 1)
            logger.info("ignored: the key does not end in .csv or .csv.gz (any letter case)")
            return
        s3 = client()
        outcome = service.process(
            ref,
            lambda: open_object(s3, bucket, ref.key, ref.etag),
            BucketSink(s3, settings.output_bucket),
            guard=ordering.Guard(
                S3StateStore(s3, settings.output_bucket), wait_seconds=settings.source_wait_seconds
            ),
        )
        manifest = outcome.manifest
        if outcome.status == "superseded":
            metrics.add_metric("FilesSuperseded", MetricUnit.Count, 1)
            logger.info("superseded: a newer upload of this key wins", extra=manifest)
            return
        if outcome.ok:
            metrics.add_metric("RowsRead", MetricUnit.Count, manifest["rows"]["read"])
            metrics.add_metric("RowsRejected", MetricUnit.Count, manifest["rows"]["rejected"])
            logger.info("reports written", extra={"rows": manifest["rows"]})
        else:
            metrics.add_metric("FilesFailed", MetricUnit.Count, 1)
            logger.warning("file rejected", extra={"error": manifest["error"]})
        seconds = manifest["timings"]["total_seconds"]
        metrics.add_metric("Duration", MetricUnit.Milliseconds, seconds * 1000)

    def record_handler(record: SQSRecord) -> None:
        try:
            for ref in objects_in(record.body):
                process_object(ref)
        except Exception:  # the record fails and SQS retries it: say why in the log
            logger.exception("record failed; SQS will deliver it again (then the DLQ)")
            raise

    @metrics.log_metrics
    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if is_s3_event(event):  # a direct invoke with a plain S3 event
            refs = objects_in(event)
            for ref in refs:
                process_object(ref)
            return {"processed": len(refs)}
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)

    return handler

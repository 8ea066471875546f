"""The reports function: each created object of the input bucket through the service, its
outcome counted, logged and added to the file's registry record. Built by a factory so the
Lambda handler and the local event pump share it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from app.adapters.clients import Clients
from app.adapters.dynamodb import FileLedger
from app.adapters.s3 import BucketSink, S3StateStore, open_object
from app.core import ordering
from app.core.objects import ObjectRef
from app.core.settings import ReportsSettings
from app.orders_csv.inputs import input_format
from app.pipelines.reports import layout, service
from app.runtime.sqs_consumer import Consumer, Handler

__all__ = ["Handler", "make_handler"]


def make_handler(
    settings: ReportsSettings, s3: Any | None = None, dynamodb: Any | None = None
) -> Handler:
    consumer = Consumer(settings.telemetry)
    log, count = consumer.logger, consumer.count
    aws = Clients({"s3": s3, "dynamodb": dynamodb})

    def process_object(ref: ObjectRef, context: Any) -> None:
        assert ref.bucket is not None
        bucket = ref.bucket
        if input_format(ref.key) is None:
            count("FilesIgnored")
            log.info("ignored: the key does not end in .csv or .csv.gz (any letter case)")
            return
        s3 = aws("s3")
        outcome = service.process(
            ref,
            lambda: open_object(s3, bucket, ref.key, ref.etag),
            BucketSink(s3, settings.output_bucket),
            guard=ordering.Guard(
                S3StateStore(s3, settings.output_bucket), wait_seconds=settings.source_wait_seconds
            ),
        )
        manifest = outcome.manifest
        if manifest is None:
            count("FilesSuperseded")
            log.info(
                "superseded: a newer upload of this key wins", extra={"reason": outcome.reason}
            )
            return
        if manifest.rows is not None:
            count("RowsRead", manifest.rows.read)
            count("RowsRejected", manifest.rows.rejected)
            log.info("reports written", extra={"rows": manifest.as_json()["rows"]})
        else:
            count("FilesFailed")
            log.warning("file rejected", extra={"error": manifest.error})
        count("Duration", manifest.total_seconds * 1000, MetricUnit.Milliseconds)
        if settings.files_table:
            FileLedger(aws("dynamodb"), settings.files_table).add_reports_outcome(
                ref, outcome.status, layout.manifest_key(ref.date, layout.source_name(ref.key))
            )

    return consumer.handler(consumer.each_object(process_object))

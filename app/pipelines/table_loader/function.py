"""The loader function: every created .csv / .csv.gz object of the input bucket into the rows
table, and the continuations of loads too long for one invocation (its second queue).

Both kinds of SQS body reach one handler: an S3 notification starts a load, a Continuation
(JSON with `"type": load.CONTINUATION_TYPE`) resumes one. Built by a factory, like the reports
function, so the Lambda handler, the tests and the benchmark share it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

from app.adapters.clients import Clients
from app.adapters.dynamodb import FileLedger, LedgerLock
from app.adapters.queues import ContinueQueue
from app.adapters.ranged import open_range
from app.adapters.rows_table import RowsTable, rows_client
from app.adapters.s3 import open_object
from app.core.errors import FileError
from app.core.objects import ObjectRef
from app.core.ordering import Guard
from app.core.settings import LoaderSettings
from app.orders_csv.inputs import input_format, readable
from app.pipelines.table_loader.load import Continuation, Job, Loader, Stream
from app.runtime.sqs_consumer import Body, Consumer, Handler

__all__ = ["Handler", "make_handler"]

SOURCE_WAIT_SECONDS = 30.0  # how long a run waits for another run of its source to finish
_SKIP_PIECE = 1 << 20


def make_handler(
    settings: LoaderSettings,
    s3: Any | None = None,
    dynamodb: Any | None = None,
    sqs: Any | None = None,
    *,
    block_size: int | None = None,
) -> Handler:
    """`block_size`: the reader's (a chunk, and the checkpoint granularity); tests shrink it."""
    consumer = Consumer(settings.telemetry)
    log, count = consumer.logger, consumer.count
    aws = Clients(
        {"s3": s3, "dynamodb": dynamodb, "sqs": sqs, "rows": dynamodb},
        rows=lambda: rows_client(validate=False),  # items are valid by construction
    )

    def run(job: Job, context: Any) -> None:
        files = aws("dynamodb")
        loader = Loader(
            RowsTable(aws("rows"), settings.rows_table),
            FileLedger(files, settings.files_table),
            ContinueQueue(aws("sqs"), settings.continue_queue_url),
            guard=Guard(LedgerLock(files, settings.files_table), wait_seconds=SOURCE_WAIT_SECONDS),
            margin_seconds=settings.margin_seconds,
            block_size=block_size,
        )
        outcome = loader.load(job, S3Object(aws("s3"), job.ref), _remaining(context))
        if outcome.written and outcome.status != "failed":  # a failed file's rows are deleted
            count("RowsLoaded", outcome.written)
        if outcome.skipped:
            count("RowsSkipped", len(outcome.skipped))
            log.warning(
                "records too large for DynamoDB were not loaded",
                extra={"skipped": [s.note() for s in outcome.skipped[:5]]},
            )
        details = {"rows_loaded": outcome.rows_loaded, "written": outcome.written}
        if outcome.status == "superseded":
            count("FilesSuperseded")
            log.info(
                "superseded: a newer upload of this key wins", extra={"reason": outcome.reason}
            )
        elif outcome.status == "failed":
            assert outcome.error is not None
            count("FilesFailed")
            log.warning("file rejected", extra={"error": outcome.error.as_dict()})
        elif outcome.status == "continued":
            assert outcome.continuation is not None
            count("Continuations")
            log.info(
                "continues in the next invocation",
                extra={**details, "row": outcome.continuation.row},
            )
        else:
            log.info("loaded", extra={**details, "deleted": outcome.deleted})

    def process_object(ref: ObjectRef, context: Any) -> None:
        if input_format(ref.key) is None:
            count("FilesIgnored")
            log.info("ignored: the key does not end in .csv or .csv.gz (any letter case)")
            return
        run(Job.start(ref), context)

    on_event = consumer.each_object(process_object)

    def on_body(body: Body, context: Any) -> None:
        data = json.loads(body) if isinstance(body, str) else body
        if Continuation.is_one(data):
            continuation = Continuation.from_json(data)
            consumer.logger.set_correlation_id(continuation.ref.name)
            run(Job.resuming(continuation), context)
        else:
            on_event(data, context)

    return consumer.handler(on_body)


class S3Object:
    """load.ObjectSource on S3: the object at the event's ETag, whole or from an offset; a
    .csv.gz decompressed on the fly as the reports read it (an offset then counts
    decompressed bytes, so resuming one reads and drops what comes before)."""

    def __init__(self, s3: Any, ref: ObjectRef) -> None:
        assert ref.bucket is not None
        self.s3 = s3
        self.bucket = ref.bucket
        self.key = ref.key
        self.etag = ref.etag
        self.format = input_format(ref.key)

    def open(self, start: int = 0, end: int | None = None) -> Stream:
        if self.format == "csv.gz":
            raw = open_object(self.s3, self.bucket, self.key, self.etag).stream
            stream, _ = readable(raw, "csv.gz", None)
            plain = _Both(stream, raw)
            _skip(plain, start)
            return plain
        if start == 0 and end is None:
            return open_object(self.s3, self.bucket, self.key, self.etag).stream
        return open_range(self.s3, self.bucket, self.key, self.etag, start, end).stream


class _Both:
    """A decoded stream whose close() also closes the HTTP body under it."""

    def __init__(self, stream: IO[bytes], raw: IO[bytes]) -> None:
        self.stream = stream
        self.raw = raw

    def read(self, size: int = -1, /) -> bytes:
        return self.stream.read(size)

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


def _skip(stream: Stream, count: int) -> None:
    while count > 0:
        piece = stream.read(min(count, _SKIP_PIECE))
        if not piece:
            raise FileError(
                "object_changed", "the object ends before the offset the load stopped at"
            )
        count -= len(piece)


def _remaining(context: Any) -> Callable[[], float | None]:
    """Seconds left in the invocation (Lambda's context), None without a deadline."""
    get = getattr(context, "get_remaining_time_in_millis", None)
    if get is None:
        return lambda: None
    return lambda: float(get()) / 1000

"""The customer-feed function: the partner-feed bucket's S3 notifications (any file of a day's
set) and its own delayed completeness checks, both on its queue, through one handler.

The wiring only: what to do with a set is app.pipelines.customer_feed.sets; the AWS side is
app.adapters.feed. Built by a factory, like the other functions, so the Lambda handler, the
tests and the local stack share it.
"""

from __future__ import annotations

import json
from typing import Any

from app.adapters.clients import Clients
from app.adapters.feed import CheckQueue, FeedBucket, FeedRegistry
from app.adapters.queues import MessageSender
from app.core.objects import ObjectRef
from app.core.settings import FeedSettings
from app.pipelines.customer_feed.sets import FeedSet, FeedSets, SetOutcome
from app.runtime.sqs_consumer import Body, Consumer, Handler

__all__ = ["Handler", "make_handler"]

LEASE_SECONDS = 900.0  # a claim's lease without a Lambda deadline (Lambda's longest timeout)
LEASE_MARGIN_SECONDS = 30.0  # beyond the invocation's end: its last writes have landed by then


def make_handler(
    settings: FeedSettings,
    s3: Any | None = None,
    dynamodb: Any | None = None,
    sqs: Any | None = None,
) -> Handler:
    consumer = Consumer(settings.telemetry)
    log, count = consumer.logger, consumer.count
    aws = Clients({"s3": s3, "dynamodb": dynamodb, "sqs": sqs})

    def feed_sets() -> FeedSets:
        return FeedSets(
            FeedBucket(aws("s3")),
            FeedRegistry(aws("dynamodb"), settings.files_table),
            MessageSender(aws("sqs"), settings.output_queue_url),
            CheckQueue(aws("sqs"), settings.feed_queue_url),
            incomplete_after_seconds=settings.incomplete_after_seconds,
        )

    def report(feed_set: FeedSet, outcome: SetOutcome) -> None:
        details: dict[str, Any] = {"set": feed_set.record, "status": outcome.registry_status}
        if outcome.status == "waiting":
            log.info("the set is incomplete: waiting for its other files", extra=details)
        elif outcome.status == "incomplete":
            count("FeedSetsIncomplete")
            log.warning("the set is still incomplete", extra=details)
        elif outcome.status == "claimed":
            count("FeedSetsAlreadyClaimed")
            log.info("the set is processed, or being processed, at these versions", extra=details)
        elif outcome.status == "done":
            log.info("checked: the set is complete and processed", extra=details)
        elif outcome.status == "superseded":
            count("FeedSetsSuperseded")
            log.info("superseded: the newer upload's event processes the set", extra=details)
        else:
            count("FeedSetsProcessed")
            count("FeedMessagesSent", outcome.customer_messages)
            count("FeedErrorMessages", outcome.error_messages)
            details |= {
                "customer_messages": outcome.customer_messages,
                "error_messages": outcome.error_messages,
                "records": outcome.records,
            }
            if outcome.status == "failed":
                count("FeedSetsFailed")
                log.warning("the set is not processed", extra=details)
            else:
                log.info("the set is sent", extra=details)

    def process_object(ref: ObjectRef, context: Any) -> None:
        found = FeedSet.of(ref)
        if found is None:
            count("FilesIgnored")
            log.info(
                "ignored: not a file of a feed set "
                "(customers_, orders_ or items_YYYYMMDD.csv, in lower case)"
            )
            return
        feed_set, kind = found
        report(feed_set, feed_sets().on_file(feed_set, kind, _lease(context)))

    on_event = consumer.each_object(process_object)

    def on_body(body: Body, context: Any) -> None:
        data = json.loads(body) if isinstance(body, str) else body
        if FeedSet.is_check(data):
            feed_set = FeedSet.from_check(data)
            consumer.logger.set_correlation_id(feed_set.record)
            report(feed_set, feed_sets().on_check(feed_set, _lease(context)))
        else:
            on_event(data, context)

    return consumer.handler(on_body)


def _lease(context: Any) -> float:
    """How long a claim is held: the invocation's remaining time, and a margin."""
    get = getattr(context, "get_remaining_time_in_millis", None)
    if get is None:
        return LEASE_SECONDS
    return float(get()) / 1000 + LEASE_MARGIN_SECONDS

"""A record a consumer keeps failing on is retried maxReceiveCount times, then it is in that
consumer's DLQ, not lost and not retried forever: the registry, the loader and the feed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from app.core.settings import FeedSettings, LoaderSettings, RegistrySettings, Telemetry
from app.local.pump import ACCOUNT, REGION
from app.local.stack import LocalStack
from app.runtime.sqs_consumer import Handler

pytestmark = pytest.mark.xdist_group("consumers-dlq")
QUIET = Telemetry("test", log_level="CRITICAL")


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack.start(visibility_timeout=1, max_receive_count=2, pump=False) as s:
        yield s


def depth(stack: LocalStack, queue: str) -> int:
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def registry_without_its_state_machine(stack: LocalStack) -> Handler:
    from app.pipelines.file_registry.function import make_handler

    missing = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:no-such-machine"
    return make_handler(RegistrySettings(missing, QUIET), stack.client("stepfunctions"))


def loader_without_its_table(stack: LocalStack) -> Handler:
    from app.pipelines.table_loader.function import make_handler

    names = stack.names
    settings = LoaderSettings(
        "no-such-table", names.files_table, stack.queue_urls[names.queue("loader-continue")]
    )
    return make_handler(
        settings,
        s3=stack.client("s3"),
        dynamodb=stack.client("dynamodb"),
        sqs=stack.client("sqs"),
    )


def feed_without_its_table(stack: LocalStack) -> Handler:
    from app.pipelines.customer_feed.function import make_handler

    names = stack.names
    settings = FeedSettings(
        "no-such-table",
        stack.queue_urls[names.queue("customer-feed")],
        stack.queue_urls[names.queue("feed")],
        telemetry=QUIET,
    )
    return make_handler(
        settings, s3=stack.client("s3"), dynamodb=stack.client("dynamodb"), sqs=stack.client("sqs")
    )


@pytest.mark.parametrize(
    ("queue", "bucket", "key", "broken"),
    [
        ("registry", "input", "orders.csv", registry_without_its_state_machine),
        ("loader", "input", "orders.csv", loader_without_its_table),
        ("feed", "partner-feed", "customers_20220130.csv", feed_without_its_table),
    ],
)
def test_a_record_that_keeps_failing_ends_in_the_consumers_dlq(
    stack: LocalStack,
    queue: str,
    bucket: str,
    key: str,
    broken: Callable[[LocalStack], Handler],
) -> None:
    failures: list[str] = []
    pump = stack.consumer_pump(
        stack.names.queue(queue),
        broken(stack),
        10,
        lambda records, failed: failures.extend(
            r["attributes"]["ApproximateReceiveCount"] for r in records if r["messageId"] in failed
        ),
    )
    stack.client("s3").put_object(Bucket=stack.names.bucket(bucket), Key=key, Body=b"id\n1\n")
    deadline = time.monotonic() + 30
    while depth(stack, stack.names.dlq(queue)) == 0:
        assert time.monotonic() < deadline, f"nothing reached {stack.names.dlq(queue)}"
        pump.poll_once()
    assert failures == ["1", "2"]  # maxReceiveCount deliveries, each failed, then redriven
    assert depth(stack, stack.names.queue(queue)) == 0
    dead = stack.client("sqs").receive_message(QueueUrl=stack.queue_urls[stack.names.dlq(queue)])
    assert key in dead["Messages"][0]["Body"]

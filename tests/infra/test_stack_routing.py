"""The landing topic's routing on the applied stack: both buckets publish every created object
to the one topic, and SNS filter policies on the event's bucket name (FilterPolicyScope
MessageBody) decide which queue gets it: the reports and loader queues only the input bucket's
objects, the customer feed's queue (-feed) only the partner-feed bucket's, the registry queue both
buckets'. Proven with real uploads on the moto server."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

import pytest

from tests.infra.conftest import AppliedStack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

QUEUES = ("reports", "loader", "registry", "feed")
INPUT_QUEUES = ("reports", "loader", "registry")


def _landed(stack: AppliedStack, queue: str, keys: set[str]) -> set[tuple[str, str]]:
    """(bucket, key) of the ObjectCreated events for `keys` in a queue. Those messages are
    deleted. Any other message is held until the queue has nothing more to give (released at
    once, the queue's first ten would come back on every receive), then made visible again
    (another test may wait for it)."""
    sqs = stack.moto.client("sqs")
    url = stack.outputs[f"{queue}_queue_url"]
    found: set[tuple[str, str]] = set()
    others: list[str] = []
    empty_rounds = 0
    while empty_rounds < 2:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for m in messages:
            records = json.loads(m["Body"]).get("Records", [])
            landed = {
                (r["s3"]["bucket"]["name"], urllib.parse.unquote_plus(r["s3"]["object"]["key"]))
                for r in records
            }
            if {key for _, key in landed} & keys:
                found |= landed
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            else:
                others.append(m["ReceiptHandle"])
        empty_rounds = 0 if messages else empty_rounds + 1
    for handle in others:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return found


@pytest.fixture(scope="module")
def routed(stack: AppliedStack) -> dict[str, Any]:
    """One upload to each bucket; what each queue received of them."""
    s3 = stack.moto.client("s3")
    run = uuid.uuid4().hex[:8]
    orders = f"routing/{run}/orders.csv"
    feed = f"routing/{run}/customers_20250101.csv"
    s3.put_object(Bucket=stack.outputs["input_bucket"], Key=orders, Body=b"order_id\n1\n")
    s3.put_object(Bucket=stack.outputs["partner_feed_bucket"], Key=feed, Body=b"id\n1\n")
    keys = {orders, feed}
    return {
        "orders": (stack.outputs["input_bucket"], orders),
        "feed": (stack.outputs["partner_feed_bucket"], feed),
        "received": {queue: _landed(stack, queue, keys) for queue in QUEUES},
    }


def test_an_input_upload_reaches_the_reports_loader_and_registry_queues(
    routed: dict[str, Any],
) -> None:
    for queue in INPUT_QUEUES:
        assert routed["orders"] in routed["received"][queue], (queue, routed["received"])


def test_an_input_upload_does_not_reach_the_feed_queue(routed: dict[str, Any]) -> None:
    assert routed["orders"] not in routed["received"]["feed"], routed["received"]


def test_a_partner_feed_upload_reaches_the_registry_and_feed_queues_only(
    routed: dict[str, Any],
) -> None:
    assert routed["feed"] in routed["received"]["registry"], routed["received"]
    assert routed["feed"] in routed["received"]["feed"], routed["received"]
    assert routed["feed"] not in routed["received"]["reports"], routed["received"]
    assert routed["feed"] not in routed["received"]["loader"], routed["received"]


def test_both_buckets_publish_every_created_object_to_the_landing_topic(
    stack: AppliedStack,
) -> None:
    s3 = stack.moto.client("s3")
    for bucket in (stack.outputs["input_bucket"], stack.outputs["partner_feed_bucket"]):
        [topic] = s3.get_bucket_notification_configuration(Bucket=bucket)["TopicConfigurations"]
        assert topic["TopicArn"] == stack.outputs["landing_topic_arn"]
        assert topic["Events"] == ["s3:ObjectCreated:*"]
        assert not topic.get("Filter", {}).get("Key", {}).get("FilterRules")


def test_subscriptions_filter_on_the_bucket_name_in_the_message_body(stack: AppliedStack) -> None:
    sns = stack.moto.client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=stack.outputs["landing_topic_arn"])
    by_queue: dict[str, dict[str, str]] = {}
    for sub in subscriptions["Subscriptions"]:
        attrs = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
        by_queue[sub["Endpoint"].rsplit(":", 1)[-1]] = attrs["Attributes"]
    prefix = stack.outputs["name_prefix"]
    assert set(by_queue) == {f"{prefix}-{queue}" for queue in QUEUES}
    expected = {
        "reports": [stack.outputs["input_bucket"]],
        "loader": [stack.outputs["input_bucket"]],
        "registry": sorted([stack.outputs["input_bucket"], stack.outputs["partner_feed_bucket"]]),
        "feed": [stack.outputs["partner_feed_bucket"]],
    }
    for queue, buckets in expected.items():
        attrs = by_queue[f"{prefix}-{queue}"]
        assert attrs["RawMessageDelivery"] == "true"
        assert attrs["FilterPolicyScope"] == "MessageBody"
        assert json.loads(attrs["FilterPolicy"]) == {
            "Records": {"s3": {"bucket": {"name": buckets}}}
        }

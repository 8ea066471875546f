"""Parsing S3 notifications as they arrive from SQS (raw SNS delivery) or a direct invoke."""

from __future__ import annotations

import datetime as dt
import json

from app.core.events import is_s3_event, objects_in

RECORD = {
    "eventSource": "aws:s3",
    "eventName": "ObjectCreated:Put",
    "eventTime": "2026-03-01T23:59:59.123Z",
    "s3": {
        "bucket": {"name": "in-bucket"},
        "object": {"key": "incoming/Z%C3%BCrich+orders+%282%29.csv", "size": 10, "eTag": "abc"},
    },
}


def test_key_is_url_decoded_and_date_is_utc() -> None:
    [ref] = objects_in(json.dumps({"Records": [RECORD]}))
    assert ref.bucket == "in-bucket"
    assert ref.key == "incoming/Zürich orders (2).csv"
    assert (ref.etag, ref.size) == ("abc", 10)
    assert ref.date == dt.date(2026, 3, 1)


def test_version_and_sequencer_are_kept_for_ordering_uploads() -> None:
    record = {**RECORD, "s3": {**RECORD["s3"]}}
    record["s3"]["object"] = {"key": "a.csv", "versionId": "v2", "sequencer": "0055AED6DCD9"}
    [ref] = objects_in({"Records": [record]})
    assert (ref.version_id, ref.sequencer) == ("v2", "0055AED6DCD9")
    assert ref.order == "s" + "0055AED6DCD9".ljust(64, "0")


def test_s3_test_event_and_other_event_types_are_ignored() -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "in-bucket"}
    assert objects_in(json.dumps(test_event)) == []
    removed = dict(RECORD, eventName="ObjectRemoved:Delete")
    assert objects_in({"Records": [removed]}) == []


def test_sns_envelope_without_raw_delivery_is_unwrapped() -> None:
    envelope = {"Type": "Notification", "Message": json.dumps({"Records": [RECORD]})}
    assert [r.key for r in objects_in(json.dumps(envelope))] == ["incoming/Zürich orders (2).csv"]


def test_plain_s3_event_is_told_apart_from_an_sqs_batch() -> None:
    assert is_s3_event({"Records": [RECORD]})
    assert not is_s3_event({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
    assert not is_s3_event({})

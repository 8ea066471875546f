"""What the registry records for an event, and the execution name that makes a redelivery
start nothing new: pure functions, no AWS."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.events import objects_in
from app.core.objects import ObjectRef
from app.pipelines.file_registry.landing import (
    NAME_LIMIT,
    LandingInput,
    execution_name,
    iso_utc,
    landing_input,
)

WHEN = dt.datetime(2026, 3, 1, 23, 59, 59, 123000, tzinfo=dt.UTC)
REF = ObjectRef(
    key="incoming/orders.csv", bucket="in", etag="abc", size=10, event_time=WHEN, sequencer="0A"
)
NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def event(key: str, **object_fields: object) -> dict[str, object]:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-03-01T23:59:59.123Z",
                "s3": {"bucket": {"name": "in"}, "object": {"key": key, **object_fields}},
            }
        ]
    }


def test_the_input_is_the_landing_record_of_the_event() -> None:
    [ref] = objects_in(event("incoming/Z%C3%BCrich+orders.csv", size=10, eTag="abc"))
    record = landing_input(ref)
    assert record.as_json() == {
        "FileName": "in/incoming/Zürich orders.csv",
        "Bucket": "in",
        "Key": "incoming/Zürich orders.csv",
        "Size": 10,
        "ETag": "abc",
        "LandedAt": "2026-03-01T23:59:59.123Z",
        "LandedOrder": ref.order,
    }
    assert json.loads(record.dumps()) == record.as_json()
    assert record.dumps() == landing_input(ref).dumps()  # a redelivery's input is identical


def test_the_order_is_the_sequencer_when_there_is_one_else_the_event_time() -> None:
    assert landing_input(REF).landed_order == "s" + "0A".ljust(64, "0")
    untimed = ObjectRef(key="a.csv", bucket="in", event_time=WHEN)
    assert landing_input(untimed).landed_order == "t" + WHEN.isoformat()


def test_an_event_without_size_or_etag_is_recorded_with_0_and_empty() -> None:
    record = landing_input(ObjectRef(key="a.csv", bucket="in", event_time=WHEN))
    assert (record.size, record.etag) == (0, "")


def test_an_event_without_time_is_recorded_when_received() -> None:
    received = dt.datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=dt.UTC)
    record = landing_input(ObjectRef(key="a.csv", bucket="in", etag="e"), received_at=received)
    assert record.landed_at == "2026-03-02T01:02:03.456Z"
    assert record.landed_order == "t" + received.isoformat()
    with pytest.raises(ValueError, match="no time"):
        landing_input(ObjectRef(key="a.csv", bucket="in"))


def test_an_event_time_wins_over_the_received_time() -> None:
    later = WHEN + dt.timedelta(hours=1)
    assert landing_input(REF, received_at=later).landed_at == "2026-03-01T23:59:59.123Z"


def test_a_ref_without_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="no bucket"):
        landing_input(ObjectRef(key="a.csv", event_time=WHEN))


def test_times_are_utc_with_milliseconds() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert iso_utc(dt.datetime(2026, 3, 2, 0, 30, tzinfo=paris)) == "2026-03-01T23:30:00.000Z"
    assert iso_utc(dt.datetime(2026, 3, 2, 0, 30)) == "2026-03-02T00:30:00.000Z"  # naive: UTC


def test_landing_input_is_typed() -> None:
    record = landing_input(REF)
    assert isinstance(record, LandingInput)
    assert isinstance(record.size, int)


def test_the_name_is_readable_and_the_same_for_a_redelivery() -> None:
    name = execution_name(REF)
    assert name.startswith("orders-csv-")
    assert NAME.fullmatch(name)
    [again] = objects_in(
        event("incoming/orders.csv", size=10, eTag="abc", sequencer="0A"),
    )
    assert execution_name(again) == name


@pytest.mark.parametrize(
    "other",
    [
        ObjectRef(key="incoming/orders.csv", bucket="in", etag="abd", sequencer="0A"),
        ObjectRef(key="incoming/orders.csv", bucket="in", etag="abc", sequencer="0B"),
        ObjectRef(key="incoming/orders.csv", bucket="feed", etag="abc", sequencer="0A"),
        ObjectRef(key="other/orders.csv", bucket="in", etag="abc", sequencer="0A"),
        ObjectRef(key="incoming/orders.csv", bucket="in", etag="abc", event_time=WHEN),
    ],
    ids=["etag", "sequencer", "bucket", "key", "time-instead-of-sequencer"],
)
def test_another_upload_gets_another_name(other: ObjectRef) -> None:
    assert execution_name(other) != execution_name(REF)


def test_the_same_upload_at_another_time_gets_another_name() -> None:
    first = ObjectRef(key="a.csv", bucket="in", etag="e", event_time=WHEN)
    again = ObjectRef(key="a.csv", bucket="in", etag="e", event_time=WHEN + dt.timedelta(1))
    assert execution_name(first) != execution_name(again)  # same bytes uploaded twice


def test_keys_with_no_usable_character_still_get_a_name() -> None:
    for key in ("", "/", "日本語.csv", "____", "a/" + "é" * 2000):
        name = execution_name(ObjectRef(key=key, bucket="in", etag="e"))
        assert NAME.fullmatch(name), (key, name)


@given(
    key=st.text(min_size=1, max_size=1024),
    bucket=st.from_regex(r"[a-z0-9][a-z0-9.-]{2,62}", fullmatch=True),
    etag=st.text(alphabet="0123456789abcdef-", max_size=40),
    sequencer=st.text(alphabet="0123456789ABCDEF", max_size=20) | st.none(),
)
def test_any_event_gets_a_valid_deterministic_name(
    key: str, bucket: str, etag: str, sequencer: str | None
) -> None:
    ref = ObjectRef(key=key, bucket=bucket, etag=etag, sequencer=sequencer, event_time=WHEN)
    name = execution_name(ref)
    assert len(name) <= NAME_LIMIT
    assert NAME.fullmatch(name)
    assert execution_name(dataclasses.replace(ref)) == name

"""The customer feed's sending: SendMessageBatch, 10 entries and 1 MiB a call, only the failed
entries retried (backoff with full jitter), bounded, then TransientError. A fake client."""

from __future__ import annotations

from typing import Any

import pytest

from app.adapters.queues import BATCH_BYTES, MessageSender, batches
from app.core.errors import TransientError


class FakeSqs:
    """send_message_batch that fails the entries `fail(call, entry)` says, recording calls."""

    def __init__(self, fail: Any = None, sender_fault: bool = False) -> None:
        self.fail = fail or (lambda call, entry: False)
        self.sender_fault = sender_fault
        self.calls: list[list[str]] = []  # the bodies of each call
        self.delivered: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        call = len(self.calls)
        self.calls.append([e["MessageBody"] for e in Entries])
        ok, failed = [], []
        for entry in Entries:
            if self.fail(call, entry):
                failed.append(
                    {
                        "Id": entry["Id"],
                        "SenderFault": self.sender_fault,
                        "Code": "ServiceUnavailable",
                    }
                )
            else:
                ok.append({"Id": entry["Id"], "MessageId": "x", "MD5OfMessageBody": "y"})
                self.delivered.append(entry["MessageBody"])
        return {"Successful": ok, "Failed": failed}


def queue(client: FakeSqs, sleeps: list[float], **kwargs: Any) -> MessageSender:
    """One call at a time (the calls' order is asserted) unless the test says otherwise."""
    return MessageSender(
        client,  # type: ignore[arg-type]
        "https://sqs/queue",
        sleep=sleeps.append,
        jitter=lambda low, high: high,  # the cap, to see the backoff
        **{"concurrency": 1, **kwargs},
    )


def messages(n: int, size: int = 10) -> list[tuple[str, str]]:
    return [(f"id{i}", f"b{i}".ljust(size, "x")) for i in range(n)]


def test_batches_of_ten() -> None:
    client, sleeps = FakeSqs(), list[float]()
    assert queue(client, sleeps).send(messages(25)) == 25
    assert [len(c) for c in client.calls] == [10, 10, 5]
    assert client.delivered == [body for _, body in messages(25)]
    assert sleeps == []


def test_a_batch_holds_at_most_one_mebibyte_of_bodies() -> None:
    big = messages(5, size=400_000)
    assert [len(b) for b in batches(big)] == [2, 2, 1]
    assert all(sum(len(body) for _, body in b) <= BATCH_BYTES for b in batches(big))


def test_only_the_failed_entries_are_retried_with_backoff() -> None:
    # Call 0: entries 3 and 7 fail; call 1 (their retry): entry "7" (the second) fails again.
    def fail(call: int, entry: dict[str, Any]) -> bool:
        return (call == 0 and entry["Id"] in ("3", "7")) or (call == 1 and entry["Id"] == "7")

    client, sleeps = FakeSqs(fail), list[float]()
    feed = queue(client, sleeps, base_delay=0.1)
    assert feed.send(messages(10)) == 10
    assert [len(c) for c in client.calls] == [10, 2, 1]
    assert client.calls[1] == ["b3xxxxxxxx", "b7xxxxxxxx"]
    assert sorted(client.delivered) == sorted(body for _, body in messages(10))
    assert sleeps == [0.1, 0.2]  # full jitter's caps: doubling
    assert feed.calls == 3


def test_failures_that_persist_are_transient_after_bounded_attempts() -> None:
    client, sleeps = FakeSqs(lambda call, entry: entry["Id"] == "1"), list[float]()
    feed = queue(client, sleeps, max_attempts=4, base_delay=1.0, max_delay=2.5)
    with pytest.raises(TransientError, match=r"1 of 3 messages .* after 4 SendMessageBatch"):
        feed.send(messages(3))
    assert len(client.calls) == 4
    assert sleeps == [1.0, 2.0, 2.5]  # capped


def test_an_entry_refused_as_the_senders_fault_is_not_retried() -> None:
    client, sleeps = (
        FakeSqs(lambda call, entry: entry["Id"] == "0", sender_fault=True),
        list[float](),
    )
    with pytest.raises(RuntimeError, match=r"refused by SQS as the sender's fault, e\.g\. id0"):
        queue(client, sleeps).send(messages(2))
    assert len(client.calls) == 1


def test_with_calls_in_flight_every_message_is_sent_once() -> None:
    client, sleeps = FakeSqs(lambda call, entry: call % 7 == 3 and entry["Id"] == "4"), []
    feed = queue(client, sleeps, concurrency=4)
    assert feed.send(messages(1_003)) == 1_003
    assert sorted(client.delivered) == sorted(body for _, body in messages(1_003))
    assert feed.calls == len(client.calls) > 101  # 101 batches, some entries retried


def test_not_strict_counts_what_failed_and_goes_on() -> None:
    # Entry "2" is refused as the sender's fault; "5" keeps failing (throttled).
    def fail(call: int, entry: dict[str, Any]) -> bool:
        return entry["Id"] in ("2", "5")

    client = FakeSqs(fail)
    client_refuses = FakeSqs(lambda call, entry: entry["Id"] == "2", sender_fault=True)
    progress: list[tuple[int, int]] = []
    for fake in (client, client_refuses):
        sender = queue(fake, [], strict=False, max_attempts=3, on_batch=lambda s, f: None)
        assert sender.send(messages(12)) == 10 + (fake is client_refuses)
        assert sender.failed == 2 - (fake is client_refuses)
    sender = queue(FakeSqs(), [], batch_size=3, on_batch=lambda s, f: progress.append((s, f)))
    assert sender.send(messages(7)) == 7
    assert progress == [(3, 0), (3, 0), (1, 0)]


def test_a_batch_size_outside_one_to_ten_is_refused() -> None:
    for size in (0, 11):
        with pytest.raises(ValueError, match="1 to 10"):
            queue(FakeSqs(), [], batch_size=size)

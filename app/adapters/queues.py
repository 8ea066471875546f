"""SQS senders: the loader's continuation, and SendMessageBatch for many messages (the
customer feed's output, the producer of test events)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from app.adapters.retry import Backoff
from app.core.errors import TransientError
from app.core.inflight import CallCount, in_flight

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

BATCH = 10  # SendMessageBatch's limit of entries
BATCH_BYTES = 1 << 20  # and of the bodies' total size (1 MiB, as one message)
MAX_MESSAGE_BYTES = 1 << 20  # SQS's largest message body
CONCURRENCY = 4  # SendMessageBatch calls in flight: SQS's round trips overlap the caller


class ContinueQueue:
    """The loader's -loader-continue queue (its function consumes it too)."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, body: str) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=body)


class MessageSender:
    """Messages `(id, body)` to one queue with SendMessageBatch: up to `batch_size` (10) entries
    and 1 MiB a call, `concurrency` calls in flight. The entries SQS reports failed (throttled,
    internal) are retried alone, with exponential backoff and full jitter, a bounded number of
    times, then TransientError. An entry refused as the sender's fault (its body) would be
    refused again: that raises at once. With `strict=False` nothing raises for failed entries:
    they are counted in `failed` (a producer reports them). `on_batch(sent, failed)` follows
    each call's outcome (a progress bar)."""

    def __init__(
        self,
        client: SQSClient,
        url: str,
        *,
        batch_size: int = BATCH,
        concurrency: int = CONCURRENCY,
        strict: bool = True,
        on_batch: Callable[[int, int], None] | None = None,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.client = client
        self.url = url
        self.backoff = Backoff(max_attempts, base_delay, max_delay, sleep, jitter)
        if not 1 <= batch_size <= BATCH:
            raise ValueError(f"a batch holds 1 to {BATCH} messages, not {batch_size}")
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.strict = strict
        self.on_batch = on_batch
        self._calls = CallCount()
        self._failed = CallCount()

    @property
    def calls(self) -> int:
        """SendMessageBatch calls made (retries included)."""
        return self._calls.value

    @property
    def failed(self) -> int:
        """Messages given up on (strict=False): still failed after every attempt, or refused."""
        return self._failed.value

    def send(self, messages: Iterable[tuple[str, str]]) -> int:
        """Send every message; `concurrency` calls in flight while the caller's thread builds
        the next bodies. Returns how many were sent, once all were."""
        chunks = batches(messages, self.batch_size)
        return sum(in_flight(self._send_batch, chunks, self.concurrency, "sqs-sender"))

    def _send_batch(self, batch: list[tuple[str, str]]) -> int:
        pending: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(batch)
        ]
        refused = 0
        for _attempt in self.backoff.attempts():
            self._calls.add()
            response = self.client.send_message_batch(QueueUrl=self.url, Entries=pending)
            failed = response.get("Failed", [])
            faults = [f for f in failed if f.get("SenderFault")]
            if faults and self.strict:
                first = faults[0]
                raise RuntimeError(
                    f"{len(faults)} message(s) refused by SQS as the sender's fault, e.g. "
                    f"{batch[int(first['Id'])][0]}: {first.get('Code')}: {first.get('Message')}"
                )
            refused += len(faults)
            again = {f["Id"] for f in failed if not f.get("SenderFault")}
            pending = [entry for entry in pending if entry["Id"] in again]
            if not pending:
                return self._outcome(len(batch) - refused, refused)
        if self.strict:
            raise TransientError(
                f"{len(pending)} of {len(batch)} messages to {self.url} still failed after "
                f"{self.backoff.max_attempts} SendMessageBatch attempts: retry later"
            )
        lost = refused + len(pending)
        return self._outcome(len(batch) - lost, lost)

    def _outcome(self, sent: int, failed: int) -> int:
        if failed:
            self._failed.add(failed)
        if self.on_batch is not None:
            self.on_batch(sent, failed)
        return sent


def batches(
    messages: Iterable[tuple[str, str]], size_limit: int = BATCH
) -> Iterator[list[tuple[str, str]]]:
    """Consecutive messages in batches of at most `size_limit` entries and BATCH_BYTES of
    bodies."""
    batch: list[tuple[str, str]] = []
    size = 0
    for message in messages:
        body = message[1]
        length = len(body) if body.isascii() else len(body.encode())
        if length > MAX_MESSAGE_BYTES:
            raise ValueError(f"message {message[0]} is {length} bytes, over SQS's limit")
        if batch and (len(batch) == size_limit or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += length
    if batch:
        yield batch

"""The rows table as the table loader writes it: BatchWriteItem, 25 requests a call, the items
DynamoDB leaves unprocessed (throttling, partition limits) retried with exponential backoff and
full jitter, a bounded number of times; then TransientError, and the message is retried.

Batches may be written a few at a time (`concurrency`): DynamoDB's latency, not the client's
CPU, bounds one writer. The requests are still produced by the caller's thread, in order, and
every batch has been written (or has failed) when `put` or `delete_after` returns.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

from botocore.config import Config

from app.adapters.clients import CLIENT_CONFIG
from app.adapters.retry import Backoff
from app.core.errors import TransientError
from app.core.inflight import CallCount, in_flight
from app.pipelines.table_loader.items import ROW, SOURCE, Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestUnionTypeDef

BATCH = 25  # BatchWriteItem's limit
CONCURRENCY = 4  # batches in flight: DynamoDB's round trips overlap the client's CPU
WriteRequest = dict[str, dict[str, Item]]  # {"PutRequest": {"Item": ...}} or a DeleteRequest


def rows_client(*, validate: bool = True, **kwargs: Any) -> DynamoDBClient:
    """A DynamoDB client for the rows table. `validate=False` skips botocore's parameter
    validation (about a third of the client's CPU per batch): safe only because every item
    the loader builds is valid by construction (see table_loader.items)."""
    import boto3

    config = CLIENT_CONFIG.merge(Config(parameter_validation=validate))
    return boto3.client("dynamodb", config=config, **kwargs)


class RowsTable:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        concurrency: int = CONCURRENCY,
        max_attempts: int = 10,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.client = client
        self.table = table
        self.concurrency = max(1, concurrency)
        self.backoff = Backoff(max_attempts, base_delay, max_delay, sleep, jitter)
        self._calls = CallCount()

    @property
    def calls(self) -> int:
        """BatchWriteItem calls made (retries included)."""
        return self._calls.value

    def put(self, items: Iterable[Item]) -> int:
        return self._write({"PutRequest": {"Item": item}} for item in items)

    def delete(self, source: str, rows: Sequence[int]) -> int:
        return self._write(
            {"DeleteRequest": {"Key": _key(source, row)}} for row in sorted(set(rows))
        )

    def delete_after(self, source: str, row: int) -> int:
        """Delete the source's items with a row number above `row`: a Query of their keys
        (strongly consistent, page by page), deleted in batches as the pages come."""
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="#s = :s AND #r > :r",
            ProjectionExpression="#s, #r",
            ExpressionAttributeNames={"#s": SOURCE, "#r": ROW},  # both are reserved words
            ExpressionAttributeValues={":s": {"S": source}, ":r": {"N": str(row)}},
            ConsistentRead=True,
        )
        keys = (item for page in pages for item in page.get("Items", []))
        return self._write({"DeleteRequest": {"Key": cast(Item, key)}} for key in keys)

    # ------------------------------------------------------------------ batches

    def _write(self, requests: Iterable[WriteRequest]) -> int:
        return sum(in_flight(self._write_batch, _batches(requests), self.concurrency, "rows"))

    def _write_batch(self, batch: list[WriteRequest]) -> int:
        pending = cast("list[WriteRequestUnionTypeDef]", batch)
        for _attempt in self.backoff.attempts():
            self._calls.add()
            response = self.client.batch_write_item(RequestItems={self.table: pending})
            unprocessed = response.get("UnprocessedItems", {}).get(self.table, [])
            if not unprocessed:
                return len(batch)
            pending = cast("list[WriteRequestUnionTypeDef]", unprocessed)
        raise TransientError(
            f"{len(pending)} of {len(batch)} writes to {self.table} still unprocessed after "
            f"{self.backoff.max_attempts} BatchWriteItem attempts (throttled): retry later"
        )


def _key(source: str, row: int) -> Item:
    return {SOURCE: {"S": source}, ROW: {"N": str(row)}}


def _batches(requests: Iterable[WriteRequest]) -> Iterator[list[WriteRequest]]:
    iterator = iter(requests)
    while batch := list(islice(iterator, BATCH)):
        yield batch

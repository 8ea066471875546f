"""The files table (the registry's ledger) as the functions and the CLI use it.

The landing record is the state machine's (Bucket, Key, Size, ETag, LandedAt, Status,
LandedOrder); each consumer SETs only its own attributes with UpdateItem, so updates never
erase each other's, in whatever order they arrive (an outcome may land before the landing
record: the item then holds the outcome alone until the record arrives).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from app.core.objects import ObjectRef

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LoaderStatus = Literal["loading", "loaded", "failed"]
_CONDITION_FAILED = "ConditionalCheckFailedException"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class FileRecord:
    """One item of the files table, as `orders-pipeline files` shows it."""

    name: str
    size: int | None = None
    etag: str | None = None
    landed_at: str | None = None
    status: str | None = None
    reports: str | None = None
    reports_etag: str | None = None
    reports_manifest: str | None = None
    loader_status: str | None = None
    rows_loaded: int | None = None
    loader_etag: str | None = None
    loader_error: str | None = None
    feed_status: str | None = None  # the customer feed's, on the files of a day's set
    feed_messages: int | None = None
    feed_errors: int | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> FileRecord:
        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else str(next(iter(value.values())))

        def number(name: str) -> int | None:
            value = text(name)
            return None if value is None else int(Decimal(value))

        return cls(
            name=text("FileName") or "",
            size=number("Size"),
            etag=text("ETag"),
            landed_at=text("LandedAt"),
            status=text("Status"),
            reports=text("Reports"),
            reports_etag=text("ReportsETag"),
            reports_manifest=text("ReportsManifest"),
            loader_status=text("LoaderStatus"),
            rows_loaded=number("RowsLoaded"),
            loader_etag=text("LoaderETag"),
            loader_error=text("LoaderError"),
            feed_status=text("FeedStatus"),
            feed_messages=number("FeedMessages"),
            feed_errors=number("FeedErrors"),
        )


class FileLedger:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def _set(self, name: str, values: dict[str, str | int | None]) -> None:
        """SET the attributes given (REMOVE those given as None) on the item of `name`."""
        names = {f"#a{i}": attr for i, attr in enumerate(values)}
        sets = [f"#a{i} = :v{i}" for i, v in enumerate(values.values()) if v is not None]
        removes = [f"#a{i}" for i, v in enumerate(values.values()) if v is None]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        self.client.update_item(
            TableName=self.table,
            Key={"FileName": {"S": name}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                f":v{i}": ({"N": str(v)} if isinstance(v, int) else {"S": v})
                for i, v in enumerate(values.values())
                if v is not None
            },
        )

    def add_reports_outcome(self, ref: ObjectRef, status: str, manifest_key: str) -> None:
        self._set(
            ref.name,
            {
                "Reports": status,
                "ReportsManifest": manifest_key,
                "ReportsETag": ref.etag or "",
                "ReportsAt": now(),
            },
        )

    def set_loader_progress(
        self, ref: ObjectRef, status: LoaderStatus, rows_loaded: int, error: str | None = None
    ) -> None:
        self._set(
            ref.name,
            {
                "LoaderStatus": status,
                "RowsLoaded": rows_loaded,
                "LoaderETag": ref.etag or "",
                "LoaderAt": now(),
                "LoaderError": error,
            },
        )

    def get(self, name: str) -> FileRecord | None:
        item = self.client.get_item(
            TableName=self.table, Key={"FileName": {"S": name}}, ConsistentRead=True
        ).get("Item")
        return FileRecord.from_item(item) if item else None

    def newest(self, since: str | None = None, limit: int = 50) -> list[FileRecord]:
        """The `limit` most recently landed files (LandedAt >= since), newest first.

        A Scan: the ledger holds one item per key ever landed, and the CLI keeps only the
        `limit` newest in memory, whatever the table's size.
        """
        best: list[tuple[str, str, FileRecord]] = []
        for record in self._scan(since):
            entry = (record.landed_at or "", record.name, record)
            if len(best) < limit:
                heapq.heappush(best, entry)
            elif entry[:2] > best[0][:2]:
                heapq.heapreplace(best, entry)
        return [r for _, _, r in sorted(best, key=lambda e: e[:2], reverse=True)]

    def _scan(self, since: str | None) -> Iterator[FileRecord]:
        extra: dict[str, Any] = {}
        if since:
            extra = {
                "FilterExpression": "LandedAt >= :since",
                "ExpressionAttributeValues": {":since": {"S": since}},
            }
        for page in self.client.get_paginator("scan").paginate(TableName=self.table, **extra):
            for item in page.get("Items", []):
                yield FileRecord.from_item(item)


class LedgerLock:
    """app.core.ordering's StateStore as one attribute of the file's ledger item, written
    with conditions (absent / unchanged): the loader's one-run-per-source guard."""

    def __init__(self, client: DynamoDBClient, table: str, attribute: str = "LoaderLock") -> None:
        self.client = client
        self.table = table
        self.attribute = attribute

    def read(self, key: str) -> tuple[bytes, str] | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"FileName": {"S": key}},
            ProjectionExpression="#a",
            ExpressionAttributeNames={"#a": self.attribute},
            ConsistentRead=True,
        ).get("Item")
        if not item or self.attribute not in item:
            return None
        value = item[self.attribute]["S"]
        return value.encode(), value

    def create(self, key: str, body: bytes) -> str | None:
        return self._write(key, body, "attribute_not_exists(#a)", {})

    def replace(self, key: str, body: bytes, etag: str) -> str | None:
        return self._write(key, body, "#a = :seen", {":seen": {"S": etag}})

    def _write(self, key: str, body: bytes, condition: str, values: dict[str, Any]) -> str | None:
        value = body.decode()
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"FileName": {"S": key}},
                UpdateExpression="SET #a = :new",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#a": self.attribute},
                ExpressionAttributeValues={":new": {"S": value}, **values},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return None
            raise
        return value

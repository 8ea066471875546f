"""Every resource of the platform, named once from one prefix (as the Terraform stack names
them, without the account and region that AWS bucket names add), and what feeds what.

The embedded AWS (app.local.stack) is built from this; the CLI and the tests read names here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROJECT = "orders-pipeline"


@dataclass(frozen=True)
class Consumer:
    """An SQS-fed function: its queue (with a DLQ) gets the landing topic's events for the
    objects of `buckets` (none: producers send to it directly); `extra_queues` (each with a
    DLQ) feed the same function."""

    name: str  # its queue's
    buckets: tuple[str, ...]  # "input", "partner-feed"; () for a queue producers send to
    extra_queues: tuple[str, ...] = ()
    function: str = ""  # the function's name, when it is not the queue's

    @property
    def function_name(self) -> str:
        return self.function or self.name


CONSUMERS = (
    Consumer("reports", ("input",)),
    Consumer("registry", ("input", "partner-feed")),
    Consumer("loader", ("input",), extra_queues=("loader-continue",)),
    Consumer("feed", ("partner-feed",), function="customer-feed"),
    Consumer("transactions", ()),
)
OUTPUT_QUEUES = ("customer-feed",)  # what the platform sends to; its consumers own their redrive


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[tuple[str, str], ...]  # (attribute, S|N): the partition key, then the sort key

    def definition(self, name: str) -> dict[str, Any]:
        """The arguments of DynamoDB's CreateTable for this table under `name` (on demand)."""
        return {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": attribute, "KeyType": kind}
                for (attribute, _), kind in zip(self.key, ("HASH", "RANGE"), strict=False)
            ],
            "AttributeDefinitions": [
                {"AttributeName": attribute, "AttributeType": kind} for attribute, kind in self.key
            ],
        }


FILES = Table("files", (("FileName", "S"),))
ROWS = Table("rows", (("source", "S"), ("row", "N")))
TRANSACTIONS = Table("transactions", (("order_id", "S"),))
TABLES = (FILES, ROWS, TRANSACTIONS)
BUCKETS = ("input", "output", "partner-feed")
LANDING_BUCKETS = ("input", "partner-feed")  # their uploads are published on the landing topic


@dataclass(frozen=True)
class Names:
    """Every name derives from one prefix, as in the Terraform stack."""

    prefix: str

    @classmethod
    def for_env(cls, env: str = "local", project: str = PROJECT) -> Names:
        return cls(f"{project}-{env}")

    def bucket(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def table(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def queue(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def dlq(self, role: str) -> str:
        return f"{self.prefix}-{role}-dlq"

    def function(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    @property
    def input_bucket(self) -> str:
        return self.bucket("input")

    @property
    def output_bucket(self) -> str:
        return self.bucket("output")

    @property
    def partner_feed_bucket(self) -> str:
        return self.bucket("partner-feed")

    @property
    def topic(self) -> str:
        return f"{self.prefix}-landing"

    @property
    def alerts_topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def transactions_table(self) -> str:
        return self.table("transactions")

    @property
    def files_table(self) -> str:
        return self.table("files")

    @property
    def rows_table(self) -> str:
        return self.table("rows")

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-registry"

    @property
    def reports_queue(self) -> str:
        return self.queue("reports")

    @property
    def reports_dlq(self) -> str:
        return self.dlq("reports")

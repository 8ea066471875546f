"""Each function's configuration: read and validated once, at import, from the environment.

A missing or malformed variable is a ConfigError naming it, raised at import (the function
fails to start, with the reason in its log), never a KeyError deep inside a batch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Telemetry:
    """What every function's logger and metrics are called (Powertools' variables)."""

    service: str
    namespace: str = "OrdersPipeline"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str], service: str) -> Telemetry:
        return cls(
            service=env.get("POWERTOOLS_SERVICE_NAME", service),
            namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", cls.namespace),
            log_level=env.get("POWERTOOLS_LOG_LEVEL", env.get("LOG_LEVEL", cls.log_level)),
        )


def required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(
            f"{name} is not set: {what} (Terraform sets it; locally `orders-pipeline local` does)"
        )
    return value


def seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, str(default))
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} is not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise ConfigError(f"{name} must be 0 or more seconds: {text!r}")
    return value


@dataclass(frozen=True)
class ReportsSettings:
    output_bucket: str
    files_table: str | None = None  # where the outcome is added to the file's registry record
    source_wait_seconds: float = 60.0  # how long a run waits for another run of its source
    telemetry: Telemetry = Telemetry("orders-reports")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ReportsSettings:
        return cls(
            output_bucket=required(
                env, "OUTPUT_BUCKET", "the reports function needs the bucket to write reports to"
            ),
            files_table=env.get("FILES_TABLE", "").strip() or None,
            source_wait_seconds=seconds(env, "SOURCE_WAIT_SECONDS", cls.source_wait_seconds),
            telemetry=Telemetry.from_env(env, "orders-reports"),
        )


@dataclass(frozen=True)
class RegistrySettings:
    state_machine_arn: str
    telemetry: Telemetry = Telemetry("orders-registry")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RegistrySettings:
        return cls(
            state_machine_arn=required(
                env, "STATE_MACHINE_ARN", "the registry function starts this state machine"
            ),
            telemetry=Telemetry.from_env(env, "orders-registry"),
        )


@dataclass(frozen=True)
class LoaderSettings:
    rows_table: str
    files_table: str
    continue_queue_url: str
    margin_seconds: float = 60.0  # stop and continue in the next invocation this long before
    telemetry: Telemetry = Telemetry("orders-loader")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> LoaderSettings:
        return cls(
            rows_table=required(env, "ROWS_TABLE", "the loader writes each record to this table"),
            files_table=required(env, "FILES_TABLE", "the loader records its progress there"),
            continue_queue_url=required(
                env, "CONTINUE_QUEUE_URL", "a file too long for one invocation continues there"
            ),
            margin_seconds=seconds(env, "LOADER_MARGIN_SECONDS", cls.margin_seconds),
            telemetry=Telemetry.from_env(env, "orders-loader"),
        )


@dataclass(frozen=True)
class FeedSettings:
    files_table: str  # the registry: each file's FeedStatus, and the set guard on its item
    output_queue_url: str  # the customer-feed queue: customer and error messages
    feed_queue_url: str  # the function's own queue: the delayed completeness check
    incomplete_after_seconds: int = 900  # SQS DelaySeconds: 0..900
    telemetry: Telemetry = Telemetry("orders-customer-feed")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> FeedSettings:
        text = env.get("INCOMPLETE_AFTER_SECONDS", str(cls.incomplete_after_seconds)).strip()
        try:
            delay = int(text)
        except ValueError:
            raise ConfigError(
                f"INCOMPLETE_AFTER_SECONDS is not a whole number of seconds: {text!r}"
            ) from None
        if not 0 <= delay <= 900:
            raise ConfigError(
                f"INCOMPLETE_AFTER_SECONDS must be 0..900 (SQS DelaySeconds): {text!r}"
            )
        return cls(
            files_table=required(
                env, "FILES_TABLE", "the customer feed records each set's status and guard there"
            ),
            output_queue_url=required(
                env, "OUTPUT_QUEUE_URL", "the customer feed sends its messages to this queue"
            ),
            feed_queue_url=required(
                env, "FEED_QUEUE_URL", "the customer feed's own queue, for its completeness check"
            ),
            incomplete_after_seconds=delay,
            telemetry=Telemetry.from_env(env, "orders-customer-feed"),
        )


@dataclass(frozen=True)
class TransactionsSettings:
    table: str  # one item per order_id
    alerts_topic_arn: str  # LARGE_ORDER and INVALID_EVENT alerts
    payload_bucket: str  # payloads too large for an item, and the invalid events kept
    telemetry: Telemetry = Telemetry("orders-transactions")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TransactionsSettings:
        return cls(
            table=required(env, "TRANSACTIONS_TABLE", "the transactions function stores there"),
            alerts_topic_arn=required(
                env, "ALERTS_TOPIC_ARN", "large orders and invalid events are published there"
            ),
            payload_bucket=required(
                env,
                "PAYLOAD_BUCKET",
                "payloads over DynamoDB's item limit and invalid events are kept there",
            ),
            telemetry=Telemetry.from_env(env, "orders-transactions"),
        )

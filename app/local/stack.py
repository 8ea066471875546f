"""The embedded AWS: a moto server on loopback with the resources the Terraform stack creates.

Same names (app.local.topology, env "local"), same wiring (both landing buckets -> the landing
topic -> one SQS queue per consumer, routed by bucket with SNS filter policies, each with a
DLQ; the registry's state machine; the tables), and one event pump per queue that plays
Lambda's SQS event source mapping, so uploads are processed exactly as in AWS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from app.adapters.clients import CLIENT_CONFIG
from app.adapters.dynamodb import FileLedger, FileRecord
from app.core.objects import ObjectRef
from app.core.settings import (
    FeedSettings,
    LoaderSettings,
    RegistrySettings,
    ReportsSettings,
    Telemetry,
    TransactionsSettings,
)
from app.local import topology
from app.local.pump import ACCOUNT, REGION, BatchListener, EventPump
from app.local.server import LoopbackServer
from app.local.topology import Names
from app.pipelines.file_registry.landing import state_machine_definition
from app.pipelines.reports import layout
from app.runtime.sqs_consumer import Handler


@dataclass
class LocalStack:
    endpoint_url: str
    names: Names
    session: boto3.Session
    queue_urls: dict[str, str]  # queue name (DLQs included) -> URL
    visibility_timeout: int = 5
    max_receive_count: int = 5
    log_level: str = "ERROR"
    incomplete_after_seconds: int = 900  # when the feed's check finds a day's set incomplete
    transactions_pollers: int = 4  # concurrent invocations on the bursty -transactions queue
    pump: EventPump | None = None  # the reports function's
    consumers: list[EventPump] = field(default_factory=list)  # the other functions'

    @property
    def queue_url(self) -> str:
        return self.queue_urls[self.names.reports_queue]

    @property
    def dlq_url(self) -> str:
        return self.queue_urls[self.names.reports_dlq]

    @property
    def state_machine_arn(self) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.names.state_machine}"

    @property
    def alerts_topic_arn(self) -> str:
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{self.names.alerts_topic}"

    def client(self, service: str) -> Any:
        """A new client of the embedded AWS (tests add their own hooks to one)."""
        return _client(self.session, self.endpoint_url, service)

    @classmethod
    @contextmanager
    def start(
        cls,
        env: str = "local",
        port: int = 0,
        *,
        visibility_timeout: int = 5,
        max_receive_count: int = 5,
        batch_size: int = 10,
        handler: Handler | None = None,
        on_batch: BatchListener | None = None,
        pump: bool = True,
        log_level: str = "ERROR",
    ) -> Iterator[LocalStack]:
        """Start the server, create the resources, run the pumps; stop it all on exit.

        A port that cannot be bound (in use, privileged) raises OSError before anything starts.
        maxReceiveCount defaults to 5, as the Terraform stack's. With pump=False nothing is
        consumed until the caller starts pumps (make_pump, start_consumers). The default
        handlers log at ERROR only: a laptop's console shows what the caller announces, not a
        JSON line per file (and no EMF metrics lines: POWERTOOLS_METRICS_DISABLED is set while
        the stack runs).
        """
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", "No application metrics to publish")
        server = LoopbackServer("127.0.0.1", port)
        server.start()
        endpoint = f"http://127.0.0.1:{server.bound_port}"
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        names = Names.for_env(env)
        # The state machine's DynamoDB task calls this server: moto needs its port, and to be
        # told to run executions (it only records them otherwise).
        saved = {k: os.environ.get(k) for k in ("POWERTOOLS_METRICS_DISABLED", "MOTO_PORT")}
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # no EMF lines on a laptop's console
        os.environ["MOTO_PORT"] = str(server.bound_port)
        _execute_state_machines(True)
        stack = None
        try:
            urls = _create(session, endpoint, names, visibility_timeout, max_receive_count)
            stack = cls(
                endpoint,
                names,
                session,
                urls,
                visibility_timeout=visibility_timeout,
                max_receive_count=max_receive_count,
                log_level=log_level,
            )
            if pump:
                stack.pump = stack.make_pump(handler, batch_size=batch_size, on_batch=on_batch)
                stack.pump.start()
                stack.start_consumers(batch_size=batch_size)
            yield stack
        finally:
            if stack is not None:
                for running in [stack.pump, *stack.consumers]:
                    if running is not None:
                        running.stop()
            server.stop()
            _reset_moto()
            _execute_state_machines(False)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _telemetry(self, service: str) -> Telemetry:
        return Telemetry(service, log_level=self.log_level)

    def make_pump(
        self,
        handler: Handler | None = None,
        *,
        batch_size: int = 10,
        on_batch: BatchListener | None = None,
    ) -> EventPump:
        """An event pump on the reports queue; by default it runs the real reports handler."""
        from app.pipelines.reports.function import make_handler

        fn = handler or make_handler(
            ReportsSettings(
                self.names.output_bucket,
                files_table=self.names.files_table,
                telemetry=self._telemetry("orders-reports"),
            ),
            s3=self.client("s3"),
            dynamodb=self.client("dynamodb"),
        )
        return self.consumer_pump(self.names.reports_queue, fn, batch_size, on_batch)

    def function_of(self, queue: str) -> str:
        """The function a queue feeds (the loader's two queues feed one; `-feed`, the
        customer feed's), as the topology says."""
        for consumer in topology.CONSUMERS:
            if queue in {self.names.queue(q) for q in (consumer.name, *consumer.extra_queues)}:
                return self.names.function(consumer.function_name)
        raise KeyError(f"no function consumes {queue}")

    def consumer_pump(
        self, queue: str, fn: Handler, batch_size: int, on_batch: BatchListener | None = None
    ) -> EventPump:
        function = self.function_of(queue)
        return EventPump(
            self.client("sqs"),
            self.queue_urls[queue],
            fn,
            function,
            batch_size=batch_size,
            on_batch=on_batch,
        )

    def start_consumers(
        self,
        *,
        batch_size: int = 10,
        on_batch: Callable[[str, list[dict[str, Any]], set[str]], None] | None = None,
    ) -> None:
        """Pumps for the registry, loader, customer-feed and transactions functions (their real
        handlers); `on_batch` is told each function's batches (its name first)."""
        from app.pipelines.customer_feed.function import make_handler as feed
        from app.pipelines.file_registry.function import make_handler as registry
        from app.pipelines.table_loader.function import make_handler as loader
        from app.pipelines.transactions.function import make_handler as transactions

        names = self.names

        def registry_fn() -> Handler:
            return registry(
                RegistrySettings(self.state_machine_arn, self._telemetry("orders-registry")),
                stepfunctions=self.client("stepfunctions"),
            )

        def loader_fn() -> Handler:
            return loader(
                LoaderSettings(
                    names.rows_table,
                    names.files_table,
                    self.queue_urls[names.queue("loader-continue")],
                    telemetry=self._telemetry("orders-loader"),
                ),
                s3=self.client("s3"),
                dynamodb=self.client("dynamodb"),
                sqs=self.client("sqs"),
            )

        def feed_fn() -> Handler:
            return feed(
                FeedSettings(
                    names.files_table,
                    self.queue_urls[names.queue("customer-feed")],
                    self.queue_urls[names.queue("feed")],
                    incomplete_after_seconds=self.incomplete_after_seconds,
                    telemetry=self._telemetry("orders-customer-feed"),
                ),
                s3=self.client("s3"),
                dynamodb=self.client("dynamodb"),
                sqs=self.client("sqs"),
            )

        def transactions_fn() -> Handler:
            return transactions(
                TransactionsSettings(
                    names.transactions_table,
                    self.alerts_topic_arn,
                    names.output_bucket,
                    telemetry=self._telemetry("orders-transactions"),
                ),
                dynamodb=self.client("dynamodb"),
                s3=self.client("s3"),
                sns=self.client("sns"),
            )

        # (queue, the function's factory, pollers): each poller invokes its own instance, as
        # concurrent Lambda invocations would (a handler's batch processor holds one batch).
        for queue, make, pollers in (
            (names.queue("registry"), registry_fn, 1),
            (names.queue("loader"), loader_fn, 1),
            (names.queue("loader-continue"), loader_fn, 1),
            (names.queue("feed"), feed_fn, 1),
            (names.queue("transactions"), transactions_fn, self.transactions_pollers),
        ):
            listener = None
            if on_batch is not None:
                listener = functools.partial(on_batch, self.function_of(queue))
            for _ in range(pollers):
                pump = self.consumer_pump(queue, make(), batch_size, listener)
                pump.start()
                self.consumers.append(pump)

    # ------------------------------------------------------------------ conveniences

    def upload(self, path: Path, key: str | None = None) -> str:
        key = key or path.name
        self.client("s3").upload_file(str(path), self.names.input_bucket, key)
        return key

    def manifest_for(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The manifest at the (dt, source) an event names, or None if there is none (yet).

        One GET at the exact key the function writes: no listing, so no page to miss.
        """
        key = layout.manifest_key(ref.date, layout.source_name(ref.key))
        try:
            body = self.client("s3").get_object(Bucket=self.names.output_bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        manifest: dict[str, Any] = json.loads(body.read())
        return manifest

    def wait_for_manifest(
        self, key: str, timeout: float = 60, since: dt.datetime | None = None
    ) -> dict[str, Any]:
        """Poll the output bucket for the newest manifest of `key` (any dt) written after `since`.

        Lists every page of _manifests/ (dt comes first in the key, so a prefix cannot narrow
        it to one source); when the event is at hand, manifest_for reads the one key instead.
        """
        s3 = self.client("s3")
        suffix = f"/{layout.source_name(key)}.json"
        pages = s3.get_paginator("list_objects_v2")
        deadline = time.monotonic() + timeout
        while True:
            found = [
                item
                for page in pages.paginate(
                    Bucket=self.names.output_bucket, Prefix=f"{layout.MANIFESTS}/"
                )
                for item in page.get("Contents", [])
                if item["Key"].endswith(suffix) and (since is None or item["LastModified"] >= since)
            ]
            if found:
                newest = max(found, key=lambda item: item["LastModified"])
                with contextlib.suppress(s3.exceptions.NoSuchKey):  # a new run deleted it
                    body = s3.get_object(Bucket=self.names.output_bucket, Key=newest["Key"])
                    manifest: dict[str, Any] = json.loads(body["Body"].read())
                    return manifest
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"no manifest for s3://{self.names.input_bucket}/{key} after {timeout}s"
                )
            time.sleep(0.1)

    def read_outputs(self, manifest: dict[str, Any] | list[str]) -> dict[str, str]:
        """The text of every output a manifest lists (or of these keys), by key."""
        keys = manifest if isinstance(manifest, list) else manifest["outputs"]
        s3 = self.client("s3")
        return {
            key: s3.get_object(Bucket=self.names.output_bucket, Key=key)["Body"].read().decode()
            for key in keys
        }

    def file_record(self, key: str, bucket: str | None = None) -> FileRecord | None:
        """The registry's record of s3://bucket/key (the input bucket by default)."""
        name = f"{bucket or self.names.input_bucket}/{key}"
        return FileLedger(self.client("dynamodb"), self.names.files_table).get(name)

    def receive_all(self, queue: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """`count` distinct JSON message bodies from `queue` (by message_id), deleted as read."""
        sqs, url = self.client("sqs"), self.queue_urls[queue]
        found: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in received:
                body = json.loads(message["Body"])
                found[str(body.get("message_id", message["MessageId"]))] = body
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return list(found.values())

    def alerts_inbox(self, name: str, filter_policy: dict[str, Any] | None = None) -> str:
        """A queue `name` subscribed to the alerts topic (raw delivery, the `alert` message
        attribute kept; only what `filter_policy` lets through); its URL, also in queue_urls."""
        sqs = self.client("sqs")
        url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
        attributes = {"RawMessageDelivery": "true"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        self.client("sns").subscribe(
            TopicArn=self.alerts_topic_arn,
            Protocol="sqs",
            Endpoint=_queue_arn(sqs, url),
            Attributes=attributes,
        )
        self.queue_urls[name] = url
        return url

    def rows_loaded(self, key: str, bucket: str | None = None) -> list[int]:
        """The row numbers the rows table holds for s3://bucket/key, in order."""
        source = f"{bucket or self.names.input_bucket}/{key}"
        pages = (
            self.client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.names.rows_table,
                KeyConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": "source", "#r": "row"},
                ExpressionAttributeValues={":s": {"S": source}},
                ProjectionExpression="#r",
            )
        )
        return [int(item["row"]["N"]) for page in pages for item in page.get("Items", [])]


def _client(session: boto3.Session, endpoint: str, service: str) -> Any:
    return session.client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, config=CLIENT_CONFIG
    )


def _create(
    session: boto3.Session,
    endpoint: str,
    names: Names,
    visibility_timeout: int,
    max_receive_count: int,
) -> dict[str, str]:
    """Every resource of app.local.topology; returns the URL of every queue by name."""
    s3, sns, sqs, dynamodb, sfn, iam = (
        _client(session, endpoint, service)
        for service in ("s3", "sns", "sqs", "dynamodb", "stepfunctions", "iam")
    )
    for role in topology.BUCKETS:
        bucket = names.bucket(role)
        s3.create_bucket(Bucket=bucket)
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    for table in topology.TABLES:
        dynamodb.create_table(**table.definition(names.table(table.name)))
    urls: dict[str, str] = {}
    topic_arn = sns.create_topic(Name=names.topic)["TopicArn"]
    for consumer in topology.CONSUMERS:
        for role in (consumer.name, *consumer.extra_queues):
            dlq_url = sqs.create_queue(QueueName=names.dlq(role))["QueueUrl"]
            redrive = {"deadLetterTargetArn": _queue_arn(sqs, dlq_url)}
            redrive["maxReceiveCount"] = str(max_receive_count)
            urls[names.dlq(role)] = dlq_url
            urls[names.queue(role)] = sqs.create_queue(
                QueueName=names.queue(role),
                Attributes={
                    "VisibilityTimeout": str(visibility_timeout),
                    "RedrivePolicy": json.dumps(redrive),
                },
            )["QueueUrl"]
        buckets = [names.bucket(role) for role in consumer.buckets]
        if not buckets:
            continue
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=_queue_arn(sqs, urls[names.queue(consumer.name)]),
            Attributes={
                "RawMessageDelivery": "true",
                "FilterPolicyScope": "MessageBody",
                "FilterPolicy": json.dumps({"Records": {"s3": {"bucket": {"name": buckets}}}}),
            },
        )
    for role in topology.OUTPUT_QUEUES:
        urls[names.queue(role)] = sqs.create_queue(QueueName=names.queue(role))["QueueUrl"]
    sns.create_topic(Name=names.alerts_topic)
    for role in topology.LANDING_BUCKETS:
        s3.put_bucket_notification_configuration(
            Bucket=names.bucket(role),
            NotificationConfiguration={
                "TopicConfigurations": [
                    # Every created object, no suffix filter: each function decides what it
                    # reads (.csv in any case, .csv.gz) and says why it ignores anything else.
                    {"TopicArn": topic_arn, "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )
    role_arn = iam.create_role(
        RoleName=names.state_machine,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    sfn.create_state_machine(
        name=names.state_machine,
        type="STANDARD",
        roleArn=role_arn,
        definition=state_machine_definition(names.files_table),
    )
    return urls


def _queue_arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attrs["Attributes"]["QueueArn"])


def _execute_state_machines(enabled: bool) -> None:
    """moto runs a state machine's tasks only when configured to (a process-wide setting)."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": enabled}


def _reset_moto() -> None:
    """moto keeps its state per process: clear it so the next stack starts empty."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()

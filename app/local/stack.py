"""The embedded AWS: a moto server on loopback with the resources the Terraform stack creates.

Same names (with env "local"), same wiring (S3 -> SNS -> SQS with a DLQ), and an event pump
that plays Lambda's SQS event source mapping, so uploads are processed exactly as in AWS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from app.adapters.clients import CLIENT_CONFIG
from app.core.objects import ObjectRef
from app.core.settings import ReportsSettings, Telemetry
from app.local.pump import REGION, BatchListener, EventPump
from app.local.server import LoopbackServer
from app.pipelines.reports import layout
from app.pipelines.reports.function import make_handler
from app.runtime.sqs_consumer import Handler


@dataclass(frozen=True)
class Names:
    """Every name derives from one prefix, as in the Terraform stack."""

    prefix: str

    @classmethod
    def for_env(cls, env: str = "local", project: str = "orders-pipeline") -> Names:
        return cls(f"{project}-{env}")

    @property
    def input_bucket(self) -> str:
        return f"{self.prefix}-input"

    @property
    def output_bucket(self) -> str:
        return f"{self.prefix}-output"

    @property
    def topic(self) -> str:
        return f"{self.prefix}-landing"

    @property
    def queue(self) -> str:
        return f"{self.prefix}-reports"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}-reports-dlq"


@dataclass
class LocalStack:
    endpoint_url: str
    names: Names
    session: boto3.Session
    queue_url: str
    dlq_url: str
    visibility_timeout: int = 5
    max_receive_count: int = 5
    log_level: str = "ERROR"
    pump: EventPump | None = None

    def client(self, service: str) -> Any:
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
        """Start the server, create the resources, run the pump; stop it all on exit.

        A port that cannot be bound (in use, privileged) raises OSError before anything starts.
        maxReceiveCount defaults to 5, as the Terraform stack's. The default handler logs at ERROR
        only: a laptop's console shows what the caller announces, not a JSON line per file
        (and no EMF metrics lines: POWERTOOLS_METRICS_DISABLED is set while the stack runs).
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
        saved = os.environ.get("POWERTOOLS_METRICS_DISABLED")
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # no EMF lines on a laptop's console
        try:
            queue_url, dlq_url = _create(
                session, endpoint, names, visibility_timeout, max_receive_count
            )
            stack = cls(
                endpoint,
                names,
                session,
                queue_url,
                dlq_url,
                visibility_timeout=visibility_timeout,
                max_receive_count=max_receive_count,
                log_level=log_level,
            )
            if pump:
                stack.pump = stack.make_pump(handler, batch_size=batch_size, on_batch=on_batch)
                stack.pump.start()
            yield stack
        finally:
            if "stack" in locals() and stack.pump:
                stack.pump.stop()
            server.stop()
            _reset_moto()
            if saved is None:
                os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
            else:
                os.environ["POWERTOOLS_METRICS_DISABLED"] = saved

    def make_pump(
        self,
        handler: Handler | None = None,
        *,
        batch_size: int = 10,
        on_batch: BatchListener | None = None,
    ) -> EventPump:
        """An event pump on the reports queue; by default it runs the real reports handler."""
        fn = handler or make_handler(
            ReportsSettings(
                self.names.output_bucket,
                telemetry=Telemetry("orders-reports", log_level=self.log_level),
            ),
            s3=self.client("s3"),
        )
        return EventPump(
            self.client("sqs"),
            self.queue_url,
            fn,
            self.names.queue,
            batch_size=batch_size,
            on_batch=on_batch,
        )

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
) -> tuple[str, str]:
    s3, sns, sqs = (_client(session, endpoint, service) for service in ("s3", "sns", "sqs"))
    for bucket in (names.input_bucket, names.output_bucket):
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
    dlq_url = sqs.create_queue(QueueName=names.dlq)["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=names.queue,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    topic_arn = sns.create_topic(Name=names.topic)["TopicArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=_queue_arn(sqs, queue_url),
        Attributes={"RawMessageDelivery": "true"},
    )
    s3.put_bucket_notification_configuration(
        Bucket=names.input_bucket,
        NotificationConfiguration={
            "TopicConfigurations": [
                # Every created object, no suffix filter: the function decides what it reads
                # (.csv in any case, .csv.gz) and says why it ignores anything else.
                {"TopicArn": topic_arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    return queue_url, dlq_url


def _queue_arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attrs["Attributes"]["QueueArn"])


def _reset_moto() -> None:
    """moto keeps its state per process: clear it so the next stack starts empty."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()

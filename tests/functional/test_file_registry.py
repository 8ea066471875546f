"""The file registry on a real moto server: S3 events -> the registry handler -> Step Functions
-> the state machine's own DynamoDB UpdateItem -> the files table.

moto runs the state machine (its Amazon States Language interpreter, the DynamoDB task with
its ConditionExpression, Retry and Catch) only with the config execute_state_machine, and in
server mode its task clients call http://localhost:$MOTO_PORT: both are set for this module's
server, and put back afterwards (moto's config is per process).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from app.adapters.dynamodb import FileLedger, FileRecord
from app.core.objects import ObjectRef
from app.core.settings import RegistrySettings, Telemetry
from app.local import topology
from app.local.pump import EventPump, LambdaContext
from app.local.server import LoopbackServer
from app.pipelines.file_registry.function import make_handler
from app.pipelines.file_registry.landing import execution_name, state_machine_definition
from app.runtime.sqs_consumer import Handler

pytestmark = pytest.mark.xdist_group("file-registry")

REGION = "us-east-1"
TABLE = "orders-pipeline-test-files"
INPUT, FEED = "orders-pipeline-test-input", "orders-pipeline-test-partner-feed"
T0 = dt.datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)


@dataclass
class Aws:
    endpoint: str
    state_machine_arn: str

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def handler(self, state_machine_arn: str | None = None) -> Handler:
        settings = RegistrySettings(
            state_machine_arn or self.state_machine_arn,
            Telemetry("orders-registry", log_level="ERROR"),
        )
        return make_handler(settings, stepfunctions=self.client("stepfunctions"))

    def item(self, name: str) -> dict[str, Any]:
        response = self.client("dynamodb").get_item(
            TableName=TABLE, Key={"FileName": {"S": name}}, ConsistentRead=True
        )
        return {k: next(iter(v.values())) for k, v in response.get("Item", {}).items()}

    def executions(self, name: str | None = None) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.state_machine_arn
        )
        found = [e for page in pages for e in page["executions"]]
        return [e for e in found if name is None or e["name"] == name]

    def settle(self, timeout: float = 30) -> None:
        """Wait until no execution runs (moto runs each on a thread of its own)."""
        deadline = time.monotonic() + timeout
        while any(e["status"] == "RUNNING" for e in self.executions()):
            assert time.monotonic() < deadline, "an execution is still running"
            time.sleep(0.05)


def set_moto_config(endpoint: str, execute: bool) -> None:
    body = json.dumps({"stepfunctions": {"execute_state_machine": execute}}).encode()
    request = urllib.request.Request(f"{endpoint}/moto-api/config", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in {200, 201}


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    from moto.moto_api._internal.models import moto_api_backend

    server = LoopbackServer()
    server.start()
    endpoint = f"http://127.0.0.1:{server.bound_port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_PORT", str(server.bound_port))  # where moto's task clients call
        set_moto_config(endpoint, execute=True)  # before the state machine is created
        try:
            setup = Aws(endpoint, "")
            setup.client("dynamodb").create_table(**topology.FILES.definition(TABLE))
            arn = setup.client("stepfunctions").create_state_machine(
                name="orders-pipeline-test-registry",
                definition=state_machine_definition(TABLE),
                roleArn="arn:aws:iam::123456789012:role/orders-pipeline-test-registry",
                type="STANDARD",
            )["stateMachineArn"]
            yield Aws(endpoint, arn)
        finally:
            set_moto_config(endpoint, execute=False)
            server.stop()
            moto_api_backend.reset()


def s3_event(
    key: str,
    *,
    bucket: str = INPUT,
    etag: str = "e1",
    size: int = 10,
    when: dt.datetime = T0,
    sequencer: str | None = None,
) -> str:
    obj: dict[str, Any] = {"key": key, "size": size, "eTag": etag}
    if sequencer:
        obj["sequencer"] = sequencer
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": obj},
    }
    return json.dumps({"Records": [record]})


def deliver(handler: Handler, *bodies: str) -> dict[str, Any]:
    """One SQS batch (as Lambda's event source mapping hands it) through the handler."""
    records = [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": str(uuid.uuid4()),
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:orders-pipeline-test-registry",
            "awsRegion": REGION,
        }
        for body in bodies
    ]
    context = LambdaContext("orders-pipeline-test-registry", str(uuid.uuid4()))
    return handler({"Records": records}, context)


def metrics(capsys: pytest.CaptureFixture[str]) -> Counter[str]:
    """The metrics the handler emitted (EMF lines on stdout), summed by name."""
    totals: Counter[str] = Counter()
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith("{"):
            continue
        blob = json.loads(line)
        for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                totals[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return totals


def landing(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in ("FileName", "Size", "ETag", "LandedAt", "Status")}


def test_uploads_to_both_buckets_are_recorded(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="orders-pipeline-test-registry")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    for bucket in (INPUT, FEED):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
    before = dt.datetime.now(dt.UTC)
    uploads = {
        (INPUT, "incoming/new orders (1).csv"): b"order_id\n1\n",
        (FEED, "customers_20220130.txt"): b"any key, any content",
    }
    for (bucket, key), body in uploads.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    pump = EventPump(sqs, queue_url, aws.handler(), "orders-pipeline-test-registry")
    while pump.poll_once():  # the s3:TestEvents name no object: nothing started for them
        pass
    aws.settle()

    assert not pump.errors
    for (bucket, key), body in uploads.items():
        item = aws.item(f"{bucket}/{key}")
        etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        assert landing(item) == {
            "FileName": f"{bucket}/{key}",
            "Size": str(len(body)),
            "ETag": etag,
            "LandedAt": item["LandedAt"],
            "Status": "landed",
        }
        assert (item["Bucket"], item["Key"]) == (bucket, key)
        landed = dt.datetime.fromisoformat(item["LandedAt"].replace("Z", "+00:00"))
        assert before - dt.timedelta(seconds=1) <= landed <= dt.datetime.now(dt.UTC)
        assert item["LandedAt"].endswith("Z")
    assert metrics(capsys)["FilesRegistered"] == 2


def test_a_redelivered_event_runs_one_execution(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    body = s3_event("redelivered.csv", sequencer="0055AED6DCD90281E5")
    assert deliver(aws.handler(), body) == {"batchItemFailures": []}
    aws.settle()
    first = aws.item(f"{INPUT}/redelivered.csv")

    assert deliver(aws.handler(), body) == {"batchItemFailures": []}  # consumed, not retried
    aws.settle()

    ref = ObjectRef(key="redelivered.csv", bucket=INPUT, etag="e1", sequencer="0055AED6DCD90281E5")
    [execution] = aws.executions(execution_name(ref))
    assert execution["status"] == "SUCCEEDED"
    assert aws.item(f"{INPUT}/redelivered.csv") == first
    assert metrics(capsys) == Counter({"FilesRegistered": 1, "FilesAlreadyRegistered": 1})


def test_a_reupload_updates_the_record(aws: Aws) -> None:
    handler = aws.handler()
    deliver(handler, s3_event("reuploaded.csv", etag="e1", size=10, sequencer="01"))
    aws.settle()
    later = T0 + dt.timedelta(minutes=5)
    deliver(handler, s3_event("reuploaded.csv", etag="e2", size=2000, when=later, sequencer="02"))
    aws.settle()

    item = aws.item(f"{INPUT}/reuploaded.csv")
    assert (item["ETag"], item["Size"]) == ("e2", "2000")
    assert item["LandedAt"] == "2026-03-01T12:05:00.250Z"
    assert item["Status"] == "landed"


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ({"sequencer": "0A"}, {"sequencer": "0B", "when": T0 + dt.timedelta(seconds=1)}),
        # S3's sequencer orders the uploads of a key, even against the event times
        ({"sequencer": "0A", "when": T0 + dt.timedelta(seconds=9)}, {"sequencer": "0B"}),
        ({}, {"when": T0 + dt.timedelta(seconds=1)}),  # no sequencer: the event time orders
    ],
    ids=["sequencer-and-time", "sequencer-over-time", "time-alone"],
)
def test_an_older_event_arriving_late_changes_nothing(
    aws: Aws, older: dict[str, Any], newer: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    key = f"late-{request.node.callspec.id}.csv"
    handler = aws.handler()
    deliver(handler, s3_event(key, etag="new", size=20, **newer))
    aws.settle()
    recorded = aws.item(f"{INPUT}/{key}")
    assert recorded["ETag"] == "new"

    deliver(handler, s3_event(key, etag="old", size=10, **older))
    aws.settle()

    assert aws.item(f"{INPUT}/{key}") == recorded
    stale = aws.executions(
        execution_name(ObjectRef(key=key, bucket=INPUT, etag="old", **_ref(older)))
    )
    [execution] = stale
    assert execution["status"] == "SUCCEEDED"  # an older event is an outcome, not a failure
    history = aws.client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"]
    )["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    assert entered == ["RecordLanding", "OlderThanRecorded"]


def _ref(fields: dict[str, Any]) -> dict[str, Any]:
    return {"sequencer": fields.get("sequencer"), "event_time": fields.get("when", T0)}


@pytest.mark.parametrize("outcomes_first", [True, False], ids=["outcomes-first", "landing-first"])
def test_outcomes_and_the_landing_record_are_all_kept(aws: Aws, outcomes_first: bool) -> None:
    key = f"both-{'outcomes' if outcomes_first else 'landing'}-first.csv"
    ref = ObjectRef(key=key, bucket=INPUT, etag="e1", size=10, event_time=T0, sequencer="01")
    ledger = FileLedger(aws.client("dynamodb"), TABLE)

    def outcomes() -> None:
        ledger.add_reports_outcome(ref, "ok", f"_manifests/dt=2026-03-01/{key}.json")
        ledger.set_loader_progress(ref, "loaded", 20)

    def land() -> None:
        deliver(aws.handler(), s3_event(key, etag="e1", size=10, sequencer="01"))
        aws.settle()

    for step in (outcomes, land) if outcomes_first else (land, outcomes):
        step()

    record = ledger.get(f"{INPUT}/{key}")
    assert record == FileRecord(
        name=f"{INPUT}/{key}",
        size=10,
        etag="e1",
        landed_at="2026-03-01T12:00:00.250Z",
        status="landed",
        reports="ok",
        reports_etag="e1",
        reports_manifest=f"_manifests/dt=2026-03-01/{key}.json",
        loader_status="loaded",
        rows_loaded=20,
        loader_etag="e1",
    )


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_failure_to_start_fails_the_record_for_a_retry(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = aws.state_machine_arn.rsplit(":", 1)[0] + ":no-such-machine"
    # Every record failed: Powertools fails the invocation, and SQS delivers the batch again.
    with pytest.raises(BatchProcessingError, match="StateMachineDoesNotExist"):
        deliver(aws.handler(missing), s3_event("never.csv"), s3_event("never-2.csv"))
    assert aws.item(f"{INPUT}/never.csv") == {}
    assert metrics(capsys)["FilesRegistered"] == 0

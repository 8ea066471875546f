"""The reports function's role at work on the applied stack, under moto's IAM enforcement (so
the policy as Terraform rendered it decides): the reports handler runs in-process with the
function's environment and the role's credentials, writes the reports and records its outcome
in the files table; the same credentials may write and delete under each output prefix and keep
the per-source state, and are denied everything else."""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.infra.conftest import (
    ACCOUNT,
    BUCKET_PREFIX,
    REGION,
    REPORTS,
    SAMPLE,
    AppliedStack,
    received_s3_event,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

DENIED_CODES = {"AccessDenied", "AccessDeniedException", "403"}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def processed(stack: AppliedStack, role_credentials: dict[str, str]) -> dict[str, Any]:
    """Uploads the sample, takes its event off the created queue, runs the handler on it as
    the function would run (its environment, its role, IAM enforced). Returns what happened."""
    s3 = stack.moto.client("s3")
    key = "sample_orders_as_role.csv"  # deploy.sh's sample test already used sample_orders.csv
    s3.upload_file(str(SAMPLE), stack.outputs["input_bucket"], key)
    message = received_s3_event(stack, key)

    lam = stack.moto.client("lambda")
    cfg = lam.get_function_configuration(FunctionName=stack.outputs["function_name"])
    env = dict(cfg["Environment"]["Variables"])
    env.update(
        {
            "AWS_ENDPOINT_URL": stack.moto.url,
            "AWS_ACCESS_KEY_ID": role_credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": role_credentials["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": role_credentials["aws_session_token"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    queue_name = stack.outputs["reports_queue_url"].rsplit("/", 1)[-1]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        ]
    }
    from app.local.pump import LambdaContext

    context = LambdaContext(stack.outputs["function_name"], str(uuid.uuid4()))
    with _environment(env), stack.moto.iam_enforced():
        sys.modules.pop("app.handlers.reports", None)
        try:
            module = importlib.import_module("app.handlers.reports")
            response = module.handler(event, context)
        finally:
            sys.modules.pop("app.handlers.reports", None)  # its client holds these credentials
    return {"message": message, "response": response, "key": key}


def test_upload_reaches_the_queue_through_sns_raw(processed: dict[str, Any]) -> None:
    body = json.loads(processed["message"]["Body"])
    assert "Type" not in body, "an SNS envelope: raw message delivery is off"
    [record] = body["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == f"{BUCKET_PREFIX}-input"
    assert record["s3"]["object"]["key"] == processed["key"]


def test_handler_as_the_function_role_records_its_outcome_in_the_files_table(
    stack: AppliedStack, processed: dict[str, Any]
) -> None:
    """UpdateItem on the file's registry record (SET only), with the role's credentials."""
    name = f"{stack.outputs['input_bucket']}/{processed['key']}"
    item = stack.moto.client("dynamodb").get_item(
        TableName=stack.outputs["files_table"], Key={"FileName": {"S": name}}
    )
    assert item["Item"]["Reports"] == {"S": "ok"}, item.get("Item")


def test_handler_as_the_function_role_writes_the_reports(
    stack: AppliedStack, processed: dict[str, Any]
) -> None:
    assert processed["response"] == {"batchItemFailures": []}
    s3 = stack.moto.client("s3")
    bucket = stack.outputs["output_bucket"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    manifests = [
        k for k in keys if k.startswith("_manifests/") and k.endswith("/sample_orders_as_role.json")
    ]
    assert manifests, f"no manifest in {keys}"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifests[0])["Body"].read())
    assert manifest["status"] == "ok", manifest
    dt = manifest["dt"]
    for report in REPORTS:
        assert f"{report}/dt={dt}/sample_orders_as_role.csv" in keys
    body = s3.get_object(
        Bucket=bucket, Key=f"most_profitable_region/dt={dt}/sample_orders_as_role.csv"
    )
    rows = list(csv.DictReader(io.StringIO(body["Body"].read().decode())))
    assert rows[0]["rank"] == "1"
    assert rows[0]["region"] == "East"
    assert rows[0]["profit"] == "2465.50"


# --- denied ---------------------------------------------------------------------------------

Attempt = Callable[[Any, Any, dict[str, str]], Any]


def _put(bucket: str, key: str) -> Attempt:
    return lambda s3, sqs, o: s3.put_object(Bucket=o[bucket], Key=key, Body=b"x")


def _delete(bucket: str, key: str) -> Attempt:
    return lambda s3, sqs, o: s3.delete_object(Bucket=o[bucket], Key=key)


def _get(bucket: str, key: str) -> Attempt:
    return lambda s3, sqs, o: s3.get_object(Bucket=o[bucket], Key=key)


DENIED: dict[str, Attempt] = {
    # The input bucket is read-only.
    "PutObject to the input bucket": _put("input_bucket", "injected.csv"),
    "DeleteObject in the input bucket": _delete("input_bucket", "sample_orders.csv"),
    "GetObject of an input version (s3:GetObjectVersion)": lambda s3, sqs, o: s3.get_object(
        Bucket=o["input_bucket"], Key="sample_orders.csv", VersionId=o["input_version"]
    ),
    # The output bucket: put only under the output prefixes and _state/ ...
    "PutObject at the output bucket's root": _put("output_bucket", "x.csv"),
    "PutObject under another prefix": _put("output_bucket", "other/dt=2025-01-01/x.csv"),
    "PutObject under _athena/": _put("output_bucket", "_athena/results.csv"),
    "PutObject under a look-alike prefix": _put("output_bucket", "errors_evil/x.json"),
    "PutObject named like a prefix": _put("output_bucket", "errors"),
    "CreateMultipartUpload under another prefix": lambda s3, sqs, o: s3.create_multipart_upload(
        Bucket=o["output_bucket"], Key="other/big.csv"
    ),
    # ... delete only under the output prefixes (not _state/, not elsewhere) ...
    "DeleteObject at the output bucket's root": _delete("output_bucket", "x.csv"),
    "DeleteObject under _state/": _delete("output_bucket", "_state/sample_orders.json"),
    "DeleteObject under _athena/": _delete("output_bucket", "_athena/results.csv"),
    "DeleteObject under a look-alike prefix": _delete(
        "output_bucket", "most_profitable_region_old/x.csv"
    ),
    "DeleteObject of a version (s3:DeleteObjectVersion)": lambda s3, sqs, o: s3.delete_object(
        Bucket=o["output_bucket"], Key=o["output_key"], VersionId=o["output_version"]
    ),
    # ... and read only _state/.
    "GetObject of a manifest": _get("output_bucket", "_manifests/x.json"),
    "GetObject of a report": lambda s3, sqs, o: s3.get_object(
        Bucket=o["output_bucket"], Key=o["output_key"]
    ),
    "ListBucket on the output bucket": lambda s3, sqs, o: s3.list_objects_v2(
        Bucket=o["output_bucket"]
    ),
    # Nothing of anyone else's.
    "GetObject from another bucket": _get("other_bucket", "secret.csv"),
    "GetObject from the partner-feed bucket": _get("partner_feed_bucket", "customers.csv"),
    "ListBucket on another bucket": lambda s3, sqs, o: s3.list_objects_v2(Bucket=o["other_bucket"]),
    "PutObject to another bucket": _put("other_bucket", "most_profitable_region/x.csv"),
    "DeleteObject in another bucket": _delete("other_bucket", "secret.csv"),
    "SendMessage to another queue": lambda s3, sqs, o: sqs.send_message(
        QueueUrl=o["other_queue_url"], MessageBody="x"
    ),
    "SendMessage to its own DLQ": lambda s3, sqs, o: sqs.send_message(
        QueueUrl=o["reports_dlq_url"], MessageBody="x"
    ),
    "ReceiveMessage from another queue": lambda s3, sqs, o: sqs.receive_message(
        QueueUrl=o["other_queue_url"]
    ),
}


@pytest.fixture(scope="session")
def others(stack: AppliedStack) -> dict[str, str]:
    """A bucket and a queue that are not the stack's, and object versions of the stack's
    (created with IAM off)."""
    s3 = stack.moto.client("s3")
    s3.create_bucket(Bucket="someone-elses-bucket")
    s3.put_object(Bucket="someone-elses-bucket", Key="secret.csv", Body=b"a,b\n1,2\n")
    url = stack.moto.client("sqs").create_queue(QueueName="someone-elses-queue")["QueueUrl"]
    output_key = "most_profitable_region/dt=2025-01-01/versioned.csv"
    output = s3.put_object(Bucket=stack.outputs["output_bucket"], Key=output_key, Body=b"r\n")
    inputs = s3.put_object(
        Bucket=stack.outputs["input_bucket"], Key="versioned_input.csv", Body=b"order_id\n"
    )
    return {
        "other_bucket": "someone-elses-bucket",
        "other_queue_url": url,
        "output_key": output_key,
        "output_version": output["VersionId"],
        "input_version": inputs["VersionId"],
    }


@pytest.mark.parametrize("attempt", sorted(DENIED))
def test_function_role_is_denied(
    stack: AppliedStack,
    role_credentials: dict[str, str],
    others: dict[str, str],
    processed: dict[str, Any],
    attempt: str,
) -> None:
    s3 = stack.moto.client("s3", **role_credentials)
    sqs = stack.moto.client("sqs", **role_credentials)
    with stack.moto.iam_enforced(), pytest.raises(ClientError) as err:
        DENIED[attempt](s3, sqs, {**stack.outputs, **others})
    assert err.value.response["Error"]["Code"] in DENIED_CODES, err.value


FILE = {"FileName": {"S": "bucket/key.csv"}}

# The files table: its outcome by UpdateItem, never a whole item; no other table.
TABLE_DENIED: dict[str, Callable[[Any, dict[str, str]], Any]] = {
    "PutItem on the files table": lambda db, o: db.put_item(TableName=o["files_table"], Item=FILE),
    "DeleteItem on the files table": lambda db, o: db.delete_item(
        TableName=o["files_table"], Key=FILE
    ),
    "GetItem on the files table": lambda db, o: db.get_item(TableName=o["files_table"], Key=FILE),
    "UpdateItem on the rows table": lambda db, o: db.update_item(
        TableName=o["rows_table"],
        Key={"source": {"S": "bucket/key.csv"}, "row": {"N": "2"}},
        UpdateExpression="SET x = :x",
        ExpressionAttributeValues={":x": {"S": "x"}},
    ),
}


@pytest.mark.parametrize("attempt", sorted(TABLE_DENIED))
def test_function_role_is_denied_on_tables(
    stack: AppliedStack, role_credentials: dict[str, str], attempt: str
) -> None:
    dynamodb = stack.moto.client("dynamodb", **role_credentials)
    with stack.moto.iam_enforced(), pytest.raises(ClientError) as err:
        TABLE_DENIED[attempt](dynamodb, stack.outputs)
    assert err.value.response["Error"]["Code"] in DENIED_CODES, err.value


# --- allowed: the positive controls for the denials (same credentials, same enforcement) ----


def test_function_role_replaces_outputs_under_each_output_prefix(
    stack: AppliedStack, role_credentials: dict[str, str], processed: dict[str, Any]
) -> None:
    s3 = stack.moto.client("s3", **role_credentials)
    bucket = stack.outputs["output_bucket"]
    prefixes = stack.outputs["report_output_prefixes"]["outputs"]  # the stack's one list
    assert len(prefixes) == 6
    with stack.moto.iam_enforced():
        for prefix in prefixes:
            key = f"{prefix}/dt=2025-01-01/probe.csv"
            s3.put_object(Bucket=bucket, Key=key, Body=b"a\n")
            # Multipart (upload_file of a large file): create, parts, complete are PutObject ...
            upload = s3.create_multipart_upload(Bucket=bucket, Key=f"{key}.mp")
            part = s3.upload_part(
                Bucket=bucket, Key=f"{key}.mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"b"
            )
            s3.complete_multipart_upload(
                Bucket=bucket,
                Key=f"{key}.mp",
                UploadId=upload["UploadId"],
                MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
            )
            # ... and an interrupted one is aborted.
            aborted = s3.create_multipart_upload(Bucket=bucket, Key=f"{key}.aborted")
            s3.abort_multipart_upload(
                Bucket=bucket, Key=f"{key}.aborted", UploadId=aborted["UploadId"]
            )
            # A new upload of the source deletes what its run no longer writes.
            s3.delete_object(Bucket=bucket, Key=key)
            s3.delete_object(Bucket=bucket, Key=f"{key}.mp")
    listed = stack.moto.client("s3").list_objects_v2(Bucket=bucket)
    assert not [o["Key"] for o in listed.get("Contents", []) if "/probe.csv" in o["Key"]]


def test_function_role_streams_a_large_file_multipart(
    stack: AppliedStack, role_credentials: dict[str, str], processed: dict[str, Any]
) -> None:
    """What the handler does with a large rejected_rows file: boto3's upload_fileobj."""
    s3 = stack.moto.client("s3", **role_credentials)
    bucket = stack.outputs["output_bucket"]
    key = "rejected_rows/dt=2025-01-01/large.csv"
    config = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20)
    with stack.moto.iam_enforced():
        s3.upload_fileobj(io.BytesIO(b"r" * (6 * 2**20)), bucket, key, Config=config)
    head = stack.moto.client("s3").head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == 6 * 2**20
    assert head["ETag"].strip('"').endswith("-2")  # two parts: it was multipart


def test_function_role_keeps_the_source_state_with_conditional_writes(
    stack: AppliedStack, role_credentials: dict[str, str], processed: dict[str, Any]
) -> None:
    s3 = stack.moto.client("s3", **role_credentials)
    bucket = stack.outputs["output_bucket"]
    key = f"_state/probe-{uuid.uuid4().hex}.json"
    with stack.moto.iam_enforced():
        created = s3.put_object(Bucket=bucket, Key=key, Body=b"{}", IfNoneMatch="*")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"n": 1}', IfMatch=created["ETag"])
        with pytest.raises(ClientError) as again:  # the condition is S3's, not IAM's
            s3.put_object(Bucket=bucket, Key=key, Body=b"{}", IfNoneMatch="*")
    assert body == b"{}"
    assert again.value.response["Error"]["Code"] not in DENIED_CODES


def test_function_role_reads_the_input_at_the_events_etag_and_uses_its_queue(
    stack: AppliedStack, role_credentials: dict[str, str], processed: dict[str, Any]
) -> None:
    s3 = stack.moto.client("s3", **role_credentials)
    sqs = stack.moto.client("sqs", **role_credentials)
    o = stack.outputs
    etag = stack.moto.client("s3").head_object(Bucket=o["input_bucket"], Key="sample_orders.csv")[
        "ETag"
    ]
    with stack.moto.iam_enforced():
        s3.get_object(Bucket=o["input_bucket"], Key="sample_orders.csv", IfMatch=etag)
        with pytest.raises(ClientError) as missing:
            s3.get_object(Bucket=o["input_bucket"], Key="no-such-file.csv")
        s3.list_objects_v2(Bucket=o["input_bucket"])
        sqs.receive_message(QueueUrl=o["reports_queue_url"], WaitTimeSeconds=0)
        sqs.get_queue_attributes(QueueUrl=o["reports_queue_url"], AttributeNames=["All"])
    # With s3:ListBucket a missing key is 404, not 403.
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"

"""Starts the handler exactly as the image does, without Docker.

The Lambda base image's entrypoint runs `python -m awslambdaric <CMD>`; here the real runtime
interface client runs the Dockerfile's CMD string against a small local Runtime API (the
HTTP protocol Lambda speaks to the runtime), with a plain S3 event for an object in a moto
server, and the reports it writes are read back.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from dockerfile_parse import DockerfileParser
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assessment_assets" / "sample_orders.csv"
API = "/2018-06-01/runtime"
REQUEST_ID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders-pipeline-local-reports"
EVENT_TIME = "2024-05-01T12:00:00.000Z"


@dataclass
class RuntimeApi:
    """The Lambda Runtime API for one invocation: hands out `event`, records the outcome."""

    event: dict[str, Any]
    posts: list[tuple[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    handed_out: bool = False

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{API}/invocation/next":
                    return self.reply(404)
                if api.handed_out:  # the next invocation never comes: park the runtime
                    api.stop.wait(120)
                    return self.reply(500, b'{"errorMessage": "runtime API stopped"}')
                api.handed_out = True
                deadline_ms = int((time.time() + 60) * 1000)
                self.reply(
                    200,
                    json.dumps(api.event).encode(),
                    {
                        "Lambda-Runtime-Aws-Request-Id": REQUEST_ID,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                        "Lambda-Runtime-Trace-Id": (
                            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;"
                            "Sampled=0"
                        ),
                    },
                )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.path.rsplit("/", 1)[-1]  # response | error (invocation or init)
                api.posts.append((self.path, json.loads(body) if body else None))
                self.reply(202, b'{"status": "OK"}')
                if kind in ("response", "error"):
                    api.done.set()

        return Handler


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def image_cmd() -> list[str]:
    cmd = DockerfileParser(str(ROOT / "Dockerfile")).cmd
    assert cmd is not None
    parsed = json.loads(cmd)
    assert isinstance(parsed, list)
    return [str(part) for part in parsed]


def s3_event(bucket: str, key: str, etag: str, size: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": EVENT_TIME,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": size, "eTag": etag},
                },
            }
        ]
    }


@pytest.mark.slow
def test_the_image_cmd_runs_under_awslambdaric_and_writes_the_reports(
    moto_endpoint: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    input_bucket, output_bucket = f"ep-input-{suffix}", f"ep-output-{suffix}"
    creds = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=input_bucket)
    s3.create_bucket(Bucket=output_bucket)
    put = s3.put_object(Bucket=input_bucket, Key="sample_orders.csv", Body=SAMPLE.read_bytes())

    api = RuntimeApi(
        s3_event(input_bucket, "sample_orders.csv", put["ETag"].strip('"'), SAMPLE.stat().st_size)
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), api.handler_class())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        **creds,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        # What the Lambda service and the base image set:
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "PYTHONPATH": str(ROOT),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": "orders-pipeline-local-reports",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/orders-pipeline-local-reports",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/05/01/[$LATEST]0123456789abcdef",
        # What Terraform sets (here pointed at moto):
        "OUTPUT_BUCKET": output_bucket,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "POWERTOOLS_SERVICE_NAME": "orders-reports",
    }
    log = tmp_path / "runtime.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", *image_cmd()],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            finished = api.done.wait(90)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            api.stop.set()
            server.shutdown()
            server.server_close()
    runtime_log = log.read_text(errors="replace")

    assert finished, f"the runtime posted no result; its output:\n{runtime_log}"
    assert [path for path, _ in api.posts] == [f"{API}/invocation/{REQUEST_ID}/response"], (
        f"expected one response, got {api.posts}; runtime output:\n{runtime_log}"
    )
    assert api.posts[0][1] == {"processed": 1}

    def read(key: str) -> str:
        return str(s3.get_object(Bucket=output_bucket, Key=key)["Body"].read().decode())

    manifest = json.loads(read("_manifests/dt=2024-05-01/sample_orders.json"))
    assert manifest["status"] == "ok"
    assert manifest["source"]["bucket"] == input_bucket
    assert manifest["source"]["key"] == "sample_orders.csv"

    rows = list(
        csv.DictReader(io.StringIO(read("most_profitable_region/dt=2024-05-01/sample_orders.csv")))
    )
    assert rows[0]["rank"] == "1"
    assert rows[0]["region"] == "East"
    assert rows[0]["profit"] == "2465.50"
    for report in ("top_ship_mode_by_category", "orders_by_category"):
        assert read(f"{report}/dt=2024-05-01/sample_orders.csv").count("\n") > 1

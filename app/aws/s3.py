"""S3 adapters: read an object as a stream, write outputs by key."""

from __future__ import annotations

from typing import IO, Any, cast

from botocore.config import Config
from botocore.exceptions import ClientError

from app.errors import FileError

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=60,
)
_MISSING = {"NoSuchKey", "404", "NotFound"}


def open_object(client: Any, bucket: str, key: str) -> IO[bytes]:
    """One streaming GET: the body is read as the engine parses, never whole, never to /tmp."""
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _MISSING:
            raise FileError(
                "object_missing",
                f"s3://{bucket}/{key} does not exist (deleted before it was processed?)",
            ) from exc
        if code == "NoSuchBucket":
            raise FileError("bucket_missing", f"bucket {bucket} does not exist") from exc
        raise
    return cast(IO[bytes], response["Body"])


class BucketSink:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

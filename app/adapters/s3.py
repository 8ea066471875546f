"""S3 adapters: read an object as a stream at the version an event names, write and delete
outputs by key, and keep the per-source state record with conditional writes."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from app.core.errors import FileError, Superseded
from app.core.objects import Opened

_MISSING = {"NoSuchKey", "404", "NotFound"}
_JSON = "application/json"
_CONDITION_FAILED = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def open_object(
    client: S3Client,
    bucket: str,
    key: str,
    etag: str | None = None,
    *,
    byte_range: str | None = None,
) -> Opened:
    """One streaming GET: the body is read as the engine parses, never whole, never to /tmp.

    With `etag` (from the event), the GET carries If-Match: if the key now holds another
    upload, the event is superseded rather than processed against data it does not describe.
    `byte_range` (`bytes=start-end`) asks for a part of the object only.
    """
    extra: dict[str, Any] = {}  # headers only when set: an empty If-Match would be sent as one
    if etag:
        extra["IfMatch"] = f'"{etag.strip(chr(34))}"'
    if byte_range:
        extra["Range"] = byte_range
    try:
        response = client.get_object(Bucket=bucket, Key=key, **extra)
    except ClientError as exc:
        code = _code(exc)
        if code in _MISSING:
            raise FileError("object_missing", "the object does not exist") from exc
        if code == "NoSuchBucket":
            raise FileError("bucket_missing", f"bucket {bucket} does not exist") from exc
        if code in _CONDITION_FAILED:
            raise Superseded(f"the object was replaced since the event (ETag {etag})") from exc
        raise
    return Opened(
        stream=cast(IO[bytes], response["Body"]),
        etag=str(response.get("ETag", "")).strip('"') or None,
        version_id=response.get("VersionId"),
        size=response.get("ContentLength"),
    )


class BucketSink:
    """Outputs as objects of one bucket."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Streamed from disk (multipart when large): rejected rows can outgrow memory."""
        self.client.upload_file(
            str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)  # absent keys are not an error


class S3StateStore:
    """The reports' ordering.StateStore on S3 conditional writes (If-None-Match / If-Match)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def read(self, key: str) -> tuple[bytes, str] | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return response["Body"].read(), str(response["ETag"])

    def create(self, key: str, body: bytes) -> str | None:
        return self._put(key, body, if_none_match="*")

    def replace(self, key: str, body: bytes, etag: str) -> str | None:
        return self._put(key, body, if_match=etag)

    def _put(
        self, key: str, body: bytes, *, if_match: str = "", if_none_match: str = ""
    ) -> str | None:
        put = self.client.put_object
        try:
            if if_match:
                response = put(
                    Bucket=self.bucket, Key=key, Body=body, ContentType=_JSON, IfMatch=if_match
                )
            else:
                response = put(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=_JSON,
                    IfNoneMatch=if_none_match,
                )
        except ClientError as exc:
            if _code(exc) in _CONDITION_FAILED:
                return None
            raise
        return str(response["ETag"])

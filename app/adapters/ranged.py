"""Part of an S3 object, at the version an event names: a GET with a Range and If-Match.

The table loader continues a long file from a byte offset. The errors are those of
s3.open_object (missing object, replaced upload -> Superseded), which does the GET here.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from app.adapters.s3 import open_object
from app.core.objects import Opened

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def open_range(
    client: S3Client, bucket: str, key: str, etag: str | None, start: int, end: int | None = None
) -> Opened:
    """Bytes start..end-1 of the object (to its end when `end` is None), streamed.

    The range starts one byte early and that byte is dropped: a load that stopped exactly at
    the end of the object then still gets an answer to its If-Match (an empty rest), where a
    range starting at the end would be refused (416) before the ETag is looked at.
    """
    if end is not None and end <= start:
        return Opened(io.BytesIO(b""), etag=etag, size=0)
    early = 1 if start > 0 else 0
    last = "" if end is None else str(end - 1)
    byte_range = f"bytes={start - early}-{last}"
    opened = open_object(client, bucket, key, etag, byte_range=byte_range)
    if early:
        opened.stream.read(1)
    return opened

"""The manifest: written last, it says the output set of one (dt, source) is complete and
which version of the input it describes. One typed structure, read and written here only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from app.core.objects import ObjectRef

Status = Literal["ok", "failed"]


@dataclass(frozen=True)
class Source:
    """The input object, at the version actually read."""

    bucket: str | None
    key: str
    etag: str | None = None
    size: int | None = None
    sequencer: str | None = None
    version_id: str | None = None

    @classmethod
    def of(cls, ref: ObjectRef) -> Source:
        return cls(ref.bucket, ref.key, ref.etag, ref.size, ref.sequencer)

    def as_json(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "size": self.size,
        }
        if self.sequencer:
            fields["sequencer"] = self.sequencer
        fields["version_id"] = self.version_id
        return fields


@dataclass(frozen=True)
class Rows:
    read: int  # records after the header
    rejected: int

    @property
    def valid(self) -> int:
        return self.read - self.rejected


@dataclass(frozen=True)
class Manifest:
    source: Source
    dt: str  # YYYY-MM-DD
    engine: str
    status: Status
    outputs: list[str]
    total_seconds: float
    rows: Rows | None = None  # ok only
    bytes_read: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical name -> the file's header
    error: dict[str, Any] | None = None  # failed only: code, message, details

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "source": self.source.as_json(),
            "dt": self.dt,
            "engine": self.engine,
            "status": self.status,
        }
        if self.ok:
            assert self.rows is not None
            body["rows"] = {
                "read": self.rows.read,
                "valid": self.rows.valid,
                "rejected": self.rows.rejected,
            }
            body["bytes_read"] = self.bytes_read
            body["columns"] = self.columns
        else:
            body["error"] = self.error
        body["outputs"] = self.outputs
        body["timings"] = {"total_seconds": self.total_seconds}
        return body

    def dumps(self) -> bytes:
        return (json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def loads(cls, text: str | bytes) -> Manifest:
        return cls.from_json(json.loads(text))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """Lenient: what a manifest omits (an older version wrote fewer fields) is left empty."""
        source = data.get("source") or {}
        rows = data.get("rows")
        status: Status = "ok" if data.get("status") == "ok" else "failed"
        return cls(
            source=Source(
                source.get("bucket"),
                str(source.get("key", "")),
                source.get("etag"),
                source.get("size"),
                source.get("sequencer"),
                source.get("version_id"),
            ),
            dt=str(data.get("dt", "")),
            engine=str(data.get("engine", "")),
            status=status,
            outputs=list(data.get("outputs", [])),
            total_seconds=float((data.get("timings") or {}).get("total_seconds", 0.0)),
            rows=Rows(int(rows["read"]), int(rows["rejected"])) if rows else None,
            bytes_read=data.get("bytes_read"),
            columns=dict(data.get("columns") or {}),
            error=data.get("error"),
        )

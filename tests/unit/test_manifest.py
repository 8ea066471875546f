"""The manifest is one typed structure: what is written is what is read back."""

from __future__ import annotations

import json

from app.pipelines.reports.manifest import Manifest, Rows, Source

SOURCE = Source("in", "orders.csv", "abc", 120, "0055AED6DCD90281E5", "v1")


def test_an_ok_manifest_round_trips_with_the_documented_fields() -> None:
    manifest = Manifest(
        SOURCE,
        "2026-01-02",
        "orders-pipeline/0.2.0",
        "ok",
        ["most_profitable_region/dt=2026-01-02/orders.csv"],
        0.25,
        rows=Rows(read=20, rejected=2),
        bytes_read=120,
        columns={"order_id": "Order ID"},
    )
    body = json.loads(manifest.dumps())
    assert list(body) == [
        "source", "dt", "engine", "status", "rows", "bytes_read", "columns", "outputs", "timings"
    ]  # fmt: skip
    assert body["rows"] == {"read": 20, "valid": 18, "rejected": 2}
    assert body["source"] == {
        "bucket": "in",
        "key": "orders.csv",
        "etag": "abc",
        "size": 120,
        "sequencer": "0055AED6DCD90281E5",
        "version_id": "v1",
    }
    assert Manifest.loads(manifest.dumps()) == manifest


def test_a_failed_manifest_names_the_error_and_no_rows() -> None:
    error = {"code": "missing_columns", "message": "missing required column(s): region"}
    manifest = Manifest(SOURCE, "2026-01-02", "e", "failed", ["errors/x.json"], 0.1, error=error)
    body = json.loads(manifest.dumps())
    assert body["status"] == "failed" and body["error"] == error
    assert "rows" not in body
    assert Manifest.loads(manifest.dumps()) == manifest


def test_a_partial_manifest_reads_with_empty_fields() -> None:
    manifest = Manifest.from_json({"status": "ok", "rows": {"read": 1, "rejected": 0}})
    assert manifest.rows == Rows(1, 0)
    assert manifest.source.key == "" and manifest.outputs == []

"""Where outputs go: one Hive-style layout for the bucket and the CLI's --out directory."""

from __future__ import annotations

import datetime as dt

REPORTS = ("most_profitable_region", "top_ship_mode_by_category", "orders_by_category")
REJECTED = "rejected_rows"
ERRORS = "errors"
MANIFESTS = "_manifests"

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def source_name(key: str) -> str:
    """Name the outputs of one input key.

    Injective, so two keys never share outputs, and stable, so a redelivered event overwrites
    the same objects. A trailing ".csv" is dropped; every byte outside [A-Za-z0-9._-] becomes
    ~XX; a key without ".csv" gets a trailing "~" (which no escaped key can end with otherwise).
    """
    stem, marker = (key[:-4], "") if key.endswith(".csv") and key != ".csv" else (key, "~")
    escaped = "".join(chr(b) if b in _SAFE else f"~{b:02X}" for b in stem.encode("utf-8"))
    return escaped + marker


def partition(date: dt.date) -> str:
    return f"dt={date.isoformat()}"


def report_key(report: str, date: dt.date, source: str) -> str:
    return f"{report}/{partition(date)}/{source}.csv"


def rejected_key(date: dt.date, source: str) -> str:
    return f"{REJECTED}/{partition(date)}/{source}.csv"


def error_key(date: dt.date, source: str) -> str:
    return f"{ERRORS}/{partition(date)}/{source}.json"


def manifest_key(date: dt.date, source: str) -> str:
    return f"{MANIFESTS}/{partition(date)}/{source}.json"

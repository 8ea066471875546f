"""Where outputs go: one Hive-style layout for the bucket and the CLI's --out directory."""

from __future__ import annotations

import datetime as dt
import hashlib

REPORTS = ("most_profitable_region", "top_ship_mode_by_category", "orders_by_category")
REJECTED = "rejected_rows"
ERRORS = "errors"
MANIFESTS = "_manifests"
STATE = "_state"
OUTPUT_PREFIXES = (*REPORTS, REJECTED, ERRORS, MANIFESTS)
"""Every prefix a run writes and may delete under (the function's IAM policy names the same)."""

MAX_SOURCE_BYTES = 200
_HASHED_TAIL = 18  # "~h" + 16 hex digits of the key's SHA-256
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def source_name(key: str) -> str:
    """Name the outputs of one input key.

    Injective, so two keys never share outputs, and stable, so a redelivered event overwrites
    the same objects. A trailing ".csv" is dropped; every byte outside [A-Za-z0-9._-] becomes
    ~XX; a key without ".csv" gets a trailing "~" (which no escaped key can end with otherwise).
    A name longer than MAX_SOURCE_BYTES keeps its first bytes and ends in "~h" and a hash of
    the whole key: no escaped name contains "~h", so a cut name never equals an uncut one.
    """
    stem, marker = (key[:-4], "") if key.endswith(".csv") and key != ".csv" else (key, "~")
    escaped = "".join(chr(b) if b in _SAFE else f"~{b:02X}" for b in stem.encode("utf-8"))
    name = escaped + marker
    if len(name) <= MAX_SOURCE_BYTES:
        return name
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"{name[: MAX_SOURCE_BYTES - _HASHED_TAIL]}~h{digest}"


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


def output_set(date: dt.date, source: str) -> list[str]:
    """Every key a run of (date, source) may write, the manifest excluded."""
    return [
        *(report_key(r, date, source) for r in REPORTS),
        rejected_key(date, source),
        error_key(date, source),
    ]


def state_key(source: str) -> str:
    """The record of which upload of a source was processed last (see ordering)."""
    return f"{STATE}/{source}.json"

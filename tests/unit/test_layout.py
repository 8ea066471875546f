"""Output names: every input key gets its own, stable, path-safe source name."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.orders_csv.inputs import input_format
from app.pipelines.reports.layout import (
    MAX_SOURCE_BYTES,
    OUTPUT_PREFIXES,
    output_set,
    source_name,
)

SAFE_NAME = re.compile(r"[A-Za-z0-9._~-]*")


def decode(name: str) -> str:
    """Invert source_name by hand: if this always round-trips, no two keys share a name."""
    if name.endswith("~"):
        stem, suffix = name[:-1], ""
    else:
        stem, suffix = name, ".csv"
    raw = bytearray()
    i = 0
    while i < len(stem):
        if stem[i] == "~":
            raw.append(int(stem[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(stem[i]))
            i += 1
    return raw.decode("utf-8") + suffix


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("sample_orders.csv", "sample_orders"),
        ("in/a b.csv", "in~2Fa~20b"),
        ("2024/01/orders-v1.2.csv", "2024~2F01~2Forders-v1.2"),
        ("données/été.csv", "donn~C3~A9es~2F~C3~A9t~C3~A9"),
        ("commandes_東京.csv", "commandes_~E6~9D~B1~E4~BA~AC"),
        ("orders", "orders~"),
        ("orders.CSV", "orders.CSV~"),
        ("orders.csv.gz", "orders.csv.gz~"),
        ("a~b.csv", "a~7Eb"),
        ("100%.csv", "100~25"),
    ],
)
def test_source_name_examples(key: str, name: str) -> None:
    assert source_name(key) == name


def test_keys_that_differ_only_by_the_csv_suffix_or_an_escape_get_different_names() -> None:
    keys = ["orders", "orders.csv", "orders~", "orders~.csv", "orders.csv.csv", "a b", "a~20b"]
    names = [source_name(k) for k in keys]
    assert len(set(names)) == len(keys), dict(zip(keys, names, strict=True))


def test_source_name_is_stable() -> None:
    assert source_name("in/a b.csv") == source_name("in/a b.csv")


tricky_keys = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="a~.csvCSV/%2F7E0 -_é", max_size=15),
)


@settings(max_examples=300, deadline=None)
@given(tricky_keys)
def test_source_name_uses_only_safe_characters_and_round_trips(key: str) -> None:
    name = source_name(key)
    assert SAFE_NAME.fullmatch(name), name
    if "~h" in name:  # escaped past 200 bytes (4-byte characters): a cut name and a hash
        assert len(name) == MAX_SOURCE_BYTES
        assert name.endswith(hashlib.sha256(key.encode()).hexdigest()[:16])
    else:
        assert decode(name) == key


@settings(max_examples=200, deadline=None)
@given(st.lists(tricky_keys, unique=True, max_size=20))
def test_distinct_keys_get_distinct_names(keys: list[str]) -> None:
    names = {source_name(k) for k in keys}
    assert len(names) == len(keys)


long_keys = st.text(alphabet="aé東/ .~-", min_size=60, max_size=400)


@settings(max_examples=200, deadline=None)
@given(st.lists(long_keys, unique=True, min_size=1, max_size=10))
def test_long_keys_get_short_distinct_names(keys: list[str]) -> None:
    names = [source_name(k) for k in keys]
    for key, name in zip(keys, names, strict=True):
        assert len(name.encode()) <= MAX_SOURCE_BYTES
        assert SAFE_NAME.fullmatch(name)
        if len(name) == MAX_SOURCE_BYTES and "~h" in name:
            assert name.endswith(hashlib.sha256(key.encode()).hexdigest()[:16])
        else:
            assert decode(name) == key  # short enough: the plain, reversible name
    assert len(set(names)) == len(keys)


def test_a_long_non_ascii_key_fits_file_system_and_s3_limits(tmp_path: Path) -> None:
    key = "commandes/" + "é" * 300 + ".csv"
    name = source_name(key)
    assert len(name) == MAX_SOURCE_BYTES
    assert name.startswith("commandes~2F~C3~A9")
    (tmp_path / f".{name}.json.partial").write_text("{}")  # the longest file the CLI writes


@pytest.mark.parametrize(
    ("key", "fmt"),
    [
        ("orders.csv", "csv"),
        ("ORDERS.CSV", "csv"),
        ("in/Orders.Csv", "csv"),
        ("orders.csv.gz", "csv.gz"),
        ("orders.CSV.GZ", "csv.gz"),
        ("orders.gz", None),
        ("orders.csv.zip", None),
        ("notes.txt", None),
        ("folder/", None),
    ],
)
def test_input_format_accepts_csv_and_gzip_in_any_case(key: str, fmt: str | None) -> None:
    assert input_format(key) == fmt


def test_output_set_covers_every_prefix_but_the_manifest() -> None:
    keys = output_set(dt.date(2026, 1, 2), "s")
    assert [k.split("/")[0] for k in keys] == [p for p in OUTPUT_PREFIXES if p != "_manifests"]
    assert all("/dt=2026-01-02/s." in k for k in keys)

"""Which file of a partner's daily set an object key names, and for which day.

A set is three files, `customers_YYYYMMDD.csv`, `orders_YYYYMMDD.csv` and
`items_YYYYMMDD.csv`. Only the key's last segment is matched (a partner may upload under a
folder); grouping files into sets, by folder and date, is the caller's decision. The name
matches in any letter case (`ORDERS_20220130.CSV`), as the other pipelines match `.csv`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple

KINDS = ("customers", "orders", "items")  # the files of a set, in the order they are read

_NAME = re.compile(r"(customers|orders|items)_([0-9]{4})([0-9]{2})([0-9]{2})\.csv", re.IGNORECASE)


class FeedFile(NamedTuple):
    kind: str  # one of KINDS
    feed_date: date


def feed_file(key: str) -> FeedFile | None:
    """`customers_20220130.csv` -> ("customers", date(2022, 1, 30)); None for any key that
    is not one of the three files (another name, or a date that does not exist)."""
    match = _NAME.fullmatch(key.rsplit("/", 1)[-1])
    if match is None:
        return None
    kind, year, month, day = match.groups()
    try:
        return FeedFile(kind.lower(), date(int(year), int(month), int(day)))
    except ValueError:  # 20220230
        return None


def file_name(kind: str, feed_date: date) -> str:
    """The name of one file of a set: ("orders", 2022-01-30) -> `orders_20220130.csv`."""
    if kind not in KINDS:
        raise ValueError(f"not a feed file kind: {kind!r}")
    return f"{kind}_{feed_date.year:04d}{feed_date.month:02d}{feed_date.day:02d}.csv"

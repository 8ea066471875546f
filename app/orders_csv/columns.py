"""The row contract of an orders file, in one place: column names, how headers match, and
what a valid amount is. The report engine (vectorised) and the table loader (per cell) both
follow it."""

from __future__ import annotations

import re
from decimal import Decimal

from app.orders_csv import money

CANONICAL_COLUMNS = (
    "order_id",
    "order_date",
    "ship_mode",
    "segment",
    "country",
    "city",
    "state",
    "postal_code",
    "region",
    "category",
    "sub_category",
    "product_id",
    "cost_price",
    "list_price",
    "quantity",
    "discount_percent",
)
REQUIRED_COLUMNS = (
    "order_id",
    "ship_mode",
    "region",
    "category",
    "sub_category",
    "cost_price",
    "list_price",
    "quantity",
    "discount_percent",
)
NUMBER_COLUMNS = ("cost_price", "list_price", "quantity", "discount_percent")
LABEL_COLUMNS = ("region", "category", "sub_category", "ship_mode")
UNKNOWN_SHIP_MODES = frozenset({"not available", "unknown", ""})

_SCALE = 10**money.MAX_DECIMALS  # money.exact_value's scale
_RANGES = {  # column -> (lowest, highest or None, whole numbers only), in the contract's words
    "cost_price": (0, None, False),
    "list_price": (0, None, False),
    "quantity": (1, None, True),
    "discount_percent": (0, 100, False),
}


def normalise_header(name: str) -> str:
    """`Sub Category`, `sub-category` and ` SUB_CATEGORY ` all become `sub_category`."""
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def number_value(column: str, text: str) -> Decimal | None:
    """The exact value of a cell of one of NUMBER_COLUMNS when the row contract accepts it
    (a number the engine computes exactly, within the column's range), else None."""
    status, scaled = money.exact_value(text)
    if status != money.FAST:
        return None
    lowest, highest, whole = _RANGES[column]
    if scaled < lowest * _SCALE or (highest is not None and scaled > highest * _SCALE):
        return None
    if whole and scaled % _SCALE:
        return None
    value = (Decimal(scaled) / _SCALE).normalize()
    exact: Decimal = value.quantize(1) if value == value.to_integral_value() else value
    return exact  # plain digits (100, not 1E+2): DynamoDB stores the text it is given

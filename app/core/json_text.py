"""Compact JSON text in which a Decimal is written as the exact number it holds.

The standard encoder cannot write a Decimal as a number without going through a float; money
must not. Used for small documents (alerts, records, the CLI's output), not in bulk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value, allow_nan=False)  # str (ASCII-escaped), int, bool, None


def loads(text: str | bytes) -> Any:
    """JSON with every fraction as an exact Decimal; NaN and Infinity are refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse)


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")

"""Exact money: decimal text to scaled integers, exact sums, one rounding at the end.

No binary floating point ever holds an amount. A number column of a batch is parsed into
integers scaled by 10^scale (pyarrow's decimal128 cast does the parsing in C++ and refuses,
rather than rounds, a value with more decimals than the scale); a line's revenue and profit
are then int64 numerators over 10^10. The rare value or line that does not fit that fast path
(more than 4 decimals, or a product beyond int64) is computed with Python integers over 10^26,
still exactly. Per-group totals are kept as two int64 limbs (no overflow at any file size) and
become Python integers at the end, where they are compared (ranks, ties) and rounded once to
cents, half away from zero.

What is a number: `[+-]digits[.digits][e[+-]digits]` (or `.digits`), surrounding spaces
allowed, below 10^15 in absolute value with at most 12 decimal places once the exponent is
applied. Anything else is not a number (a rejected row), or out of range (a rejected row
whose reason says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_INTEGER_DIGITS = 15  # an amount is below 10^15 ...
MAX_DECIMALS = 12  # ... with at most 12 decimal places
EXACT = 10**MAX_DECIMALS  # the slow path holds every amount as an integer over 10^12
EXACT_DENOMINATOR = 10 ** (2 * MAX_DECIMALS + 2)  # a line amount over 10^26 (slow path)

PRICE_SCALE = 4  # decimals kept on the fast path: prices and discounts over 10^4
FAST_DENOMINATOR = 10 ** (2 * PRICE_SCALE + 2)  # a line amount over 10^10 (fast path)
_HUNDRED = 100 * 10**PRICE_SCALE  # 100 (percent) at the fast scale
_FAST_LIMIT = float(2**62)  # a line whose amounts may exceed this goes the exact slow way

NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"  # ASCII digits only
_PARTS = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")

# status of a parsed value
FAST = 0  # `values` holds it, scaled by 10^scale
SLOW = 1  # `exact` holds it, scaled by 10^12 (more decimals than the scale)
NOT_A_NUMBER = 2
OUT_OF_RANGE = 3


@dataclass
class Numbers:
    """One number column of a batch."""

    values: np.ndarray  # int64, the value times 10^scale where status == FAST
    status: np.ndarray  # int8, one of FAST, SLOW, NOT_A_NUMBER, OUT_OF_RANGE
    scale: int
    exact: dict[int, int] = field(default_factory=dict)  # row -> value * 10^12 (SLOW rows)

    def at(self, row: int) -> int:
        """The value of a FAST or SLOW row, times 10^12."""
        if self.status[row] == SLOW:
            return self.exact[row]
        value: int = self.values[row].item()
        return int(value * 10 ** (MAX_DECIMALS - self.scale))

    def compare(self, threshold: int) -> np.ndarray:
        """Per row: -1, 0 or 1 as the value is below, at or above `threshold` (an integer);
        0 for rows that are not numbers."""
        result: np.ndarray = np.sign(self.values - threshold * 10**self.scale).astype(np.int8)
        result[self.status >= NOT_A_NUMBER] = 0
        for row, value in self.exact.items():
            result[row] = (value > threshold * EXACT) - (value < threshold * EXACT)
        return result

    def is_number(self) -> np.ndarray:
        result: np.ndarray = self.status < NOT_A_NUMBER
        return result


def parse(column: pa.Array, scale: int, precision: int = 18, repeated: bool = False) -> Numbers:
    """Decimal text to integers scaled by 10^scale, exactly; FAST values are below
    10^(precision - scale). `repeated`: the column has few distinct texts (a quantity, a
    discount), so each distinct text is parsed once."""
    if repeated:
        encoded = pc.dictionary_encode(column)
        if 4 * len(encoded.dictionary) <= len(column):
            distinct = parse(encoded.dictionary, scale, precision)
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            numbers = Numbers(distinct.values[codes], distinct.status[codes], scale)
            for code, value in distinct.exact.items():
                numbers.exact.update(dict.fromkeys(np.flatnonzero(codes == code).tolist(), value))
            return numbers
    n = len(column)
    kind = pa.decimal128(precision, scale)
    if _may_all_be_plain(column):
        try:  # the fast path: every value of the batch is a plain number that fits
            return Numbers(_low_words(pc.cast(column, kind)), np.zeros(n, dtype=np.int8), scale)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    null = pa.scalar(None, pa.string())
    # Some value is not a plain number of this scale. First set aside the values holding a
    # character no plain number has (a letter, a space: `n/a`, ` 5`), a cheap pass over the
    # bytes; if the rest cast, that is all. Otherwise check every value with a regex.
    fits = _plain_characters(column)
    try:
        values = _low_words(pc.cast(pc.if_else(pa.array(fits), column, null), kind))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        integer = precision - scale
        plain = (
            rf"^[+-]?(?:[0-9]{{1,{integer}}}(?:\.[0-9]{{0,{scale}}})?|\.[0-9]{{1,{scale}}})$"
            if scale
            else rf"^[+-]?[0-9]{{1,{integer}}}$"
        )
        matched = pc.match_substring_regex(column, plain)
        values = _low_words(pc.cast(pc.if_else(matched, column, null), kind))
        fits = matched.to_numpy(zero_copy_only=False)
    status = np.where(fits, FAST, NOT_A_NUMBER).astype(np.int8)
    numbers = Numbers(values, status, scale)
    others = np.flatnonzero(status != FAST)
    trimmed = pc.utf8_trim_whitespace(column.take(pa.array(others, type=pa.int64())))
    numeric = pc.match_substring_regex(trimmed, NUMBER).to_numpy(zero_copy_only=False)
    others = others[numeric]  # few: numbers that need the exact slow way, one by one
    texts = trimmed.filter(pa.array(numeric)).to_pylist()
    fast_limit = 10 ** (precision - scale) * EXACT
    step = 10 ** (MAX_DECIMALS - scale)
    for row, text in zip(others.tolist(), texts, strict=True):
        kind_of, exact = exact_value(text)
        if kind_of != FAST:
            status[row] = kind_of
        elif exact % step == 0 and abs(exact) < fast_limit:  # e.g. `1e3`, `2.50000`
            values[row] = exact // step
            status[row] = FAST
        else:
            status[row] = SLOW
            numbers.exact[row] = exact
    return numbers


def _may_all_be_plain(column: pa.Array) -> bool:
    """False when some value surely is not a plain number (it is empty, or the column holds
    a byte no plain number has: a letter, a space), so the cast of the whole column would
    fail: two cheap passes over the bytes instead of a cast that fails part way."""
    n = len(column)
    if n == 0 or column.null_count or column.buffers()[2] is None:
        return True
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[
        column.offset : column.offset + n + 1
    ]
    if (offsets[1:] == offsets[:-1]).any():
        return False
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return bool(data.max() <= 0x39 and data.min() >= 0x2B)  # within "+" .. "9"


def _plain_characters(column: pa.Array) -> np.ndarray:
    """Per value: non-empty and made only of digits, `.`, `+` and `-`."""
    n = len(column)
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[
        column.offset : column.offset + n + 1
    ]
    if column.buffers()[2] is None or offsets[-1] == offsets[0]:
        return np.zeros(n, dtype=bool)
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    digit = (data - np.uint8(0x30)) <= np.uint8(9)  # wraps below "0"
    plain = digit | (data == 0x2E) | (data == 0x2B) | (data == 0x2D)  # . + -
    others = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum(~plain, out=others[1:])
    starts, ends = offsets[:-1] - offsets[0], offsets[1:] - offsets[0]
    result: np.ndarray = (others[ends] == others[starts]) & (ends > starts)
    if column.null_count:
        result &= column.is_valid().to_numpy(zero_copy_only=False)
    return result


def exact_value(text: str | None) -> tuple[int, int]:
    """(FAST, the value times 10^12) for a number's text, else (NOT_A_NUMBER, 0) or, for a
    number too large or too precise (see the module doc), (OUT_OF_RANGE, 0)."""
    match = _PARTS.fullmatch(text) if text is not None and re.match(NUMBER, text) else None
    if match is None:
        return NOT_A_NUMBER, 0
    sign, whole, fraction, exponent = match.groups()
    fraction = fraction or ""
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return FAST, 0
    shift = -len(fraction)
    if exponent:
        if len(exponent.lstrip("+-").lstrip("0")) > 6:  # beyond any limit, either way
            return OUT_OF_RANGE, 0
        shift += int(exponent)
    stripped = digits.rstrip("0")
    shift += len(digits) - len(stripped)  # now |value| = stripped * 10^shift
    if len(stripped) + shift > MAX_INTEGER_DIGITS or shift < -MAX_DECIMALS:
        return OUT_OF_RANGE, 0
    value = int(stripped) * 10 ** (shift + MAX_DECIMALS)
    return FAST, -value if sign == "-" else value


def _low_words(decimals: pa.Array) -> np.ndarray:
    """decimal128 values of precision <= 18 as int64 (their low 64 bits), 0 where null."""
    words = np.frombuffer(decimals.buffers()[1], dtype=np.int64)
    start = 2 * decimals.offset
    values = words[start : start + 2 * len(decimals) : 2].copy()
    if decimals.null_count:
        values[decimals.is_null().to_numpy(zero_copy_only=False)] = 0
    return values


# --------------------------------------------------------------------------- line amounts


def line_amounts(
    list_price: Numbers, cost_price: Numbers, discount: Numbers, quantity: Numbers
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Revenue and profit of each line as int64 numerators over FAST_DENOMINATOR, and the
    mask of lines whose values are valid there; the other lines need `exact_line_amounts`.

    revenue = quantity * list * (100 - discount) / 100, profit = revenue - quantity * cost.
    """
    lp, cp, dp, qty = list_price.values, cost_price.values, discount.values, quantity.values
    fast = (
        (list_price.status == FAST)
        & (cost_price.status == FAST)
        & (discount.status == FAST)
        & (quantity.status == FAST)
    )
    # An upper bound of every intermediate's magnitude, in float64 only to decide whether
    # int64 is wide enough (it is, with a margin of 2x, when the bound is under 2^62).
    bound = np.abs(qty.astype(np.float64)) * (
        np.abs(lp.astype(np.float64)) * np.abs(_HUNDRED - dp.astype(np.float64))
        + np.abs(cp.astype(np.float64)) * _HUNDRED
    )
    fast &= bound < _FAST_LIMIT
    net = lp * (_HUNDRED - dp)  # wraps harmlessly on the rows that are not `fast`
    revenue = qty * net
    profit = qty * (net - cp * _HUNDRED)
    return revenue, profit, fast


def exact_line_amounts(
    row: int, list_price: Numbers, cost_price: Numbers, discount: Numbers, quantity: Numbers
) -> tuple[int, int]:
    """Revenue and profit of one line as Python integers over EXACT_DENOMINATOR."""
    lp, cp, dp = list_price.at(row), cost_price.at(row), discount.at(row)
    qty = quantity.at(row) // EXACT  # a valid quantity is a whole number
    net = lp * (100 * EXACT - dp)
    return qty * net, qty * (net - cp * 100 * EXACT)


# --------------------------------------------------------------------------- sums


class ExactSums:
    """Per-group sums of int64 values, exact whatever their number: each total is kept as
    hi * 2^32 + lo in two int64 arrays (lo in [0, 2^32)), and any part of `hi` that grows
    too large moves to Python integers."""

    _SLICE = 1 << 20  # float64 adds 2^20 values below 2^32 exactly

    def __init__(self) -> None:
        self.hi = np.zeros(0, dtype=np.int64)
        self.lo = np.zeros(0, dtype=np.int64)
        self.big: dict[int, int] = {}

    def add(self, codes: np.ndarray, values: np.ndarray, size: int) -> None:
        if len(self.hi) < size:
            grow = max(size, len(self.hi) + len(self.hi) // 4) - len(self.hi)
            self.hi = np.concatenate([self.hi, np.zeros(grow, dtype=np.int64)])
            self.lo = np.concatenate([self.lo, np.zeros(grow, dtype=np.int64)])
        for start in range(0, len(codes), self._SLICE):
            self._add(codes[start : start + self._SLICE], values[start : start + self._SLICE])

    def _add(self, codes: np.ndarray, values: np.ndarray) -> None:
        if len(codes) == 0:
            return
        groups, local = present_groups(codes, len(self.hi))
        lo = np.bincount(local, weights=(values & 0xFFFFFFFF).astype(np.float64))
        hi = np.bincount(local, weights=(values >> 32).astype(np.float64))
        total_lo = self.lo[groups] + lo.astype(np.int64)
        total_hi = self.hi[groups] + hi.astype(np.int64) + (total_lo >> 32)
        self.lo[groups] = total_lo & 0xFFFFFFFF
        if np.abs(total_hi).max() > 1 << 61:  # keep room for the next batch
            large = np.abs(total_hi) > 1 << 61
            for g, h in zip(groups[large].tolist(), total_hi[large].tolist(), strict=True):
                self.big[g] = self.big.get(g, 0) + (h << 32)
            total_hi[large] = 0
        self.hi[groups] = total_hi

    def totals(self, size: int) -> np.ndarray:
        """The sums of groups 0..size-1: int64 when every one fits well within it, else
        Python integers (an object array)."""
        hi = np.zeros(size, dtype=np.int64)
        lo = np.zeros(size, dtype=np.int64)
        hi[: min(size, len(self.hi))] = self.hi[:size]
        lo[: min(size, len(self.lo))] = self.lo[:size]
        if not self.big and (size == 0 or np.abs(hi).max() < 1 << 28):
            small: np.ndarray = (hi << 32) + lo  # below 2^60 in magnitude
            return small
        totals = np.array(
            [(h << 32) + low for h, low in zip(hi.tolist(), lo.tolist(), strict=True)],
            dtype=object,
        )
        for g, value in self.big.items():
            totals[g] += value
        return totals


def present_groups(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The groups present in `codes` and each code's index among them."""
    if size <= 4 * len(codes):  # a dense table is cheaper than a sort
        present = np.bincount(codes, minlength=size) > 0
        groups = np.flatnonzero(present)
        index = np.cumsum(present) - 1
        return groups, index[codes]
    groups, local = np.unique(codes, return_inverse=True)
    return groups, local


# --------------------------------------------------------------------------- rounding


def round_half_away(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero."""
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def round_all(numerators: np.ndarray, denominator: int) -> np.ndarray:
    """round_half_away of each numerator (int64 below 2^60 in magnitude, or Python ints)."""
    if numerators.dtype == np.int64 and denominator < 1 << 60:
        magnitude = (np.abs(numerators) + denominator // 2) // denominator
        if denominator % 2:  # an odd denominator has no exact halves: plain nearest
            magnitude = (2 * np.abs(numerators) + denominator) // (2 * denominator)
        result: np.ndarray = np.where(numerators < 0, -magnitude, magnitude)
        return result
    return np.array([round_half_away(int(n), denominator) for n in numerators], dtype=object)


def cents_texts(cents: np.ndarray) -> pa.Array:
    """cents_text of each value, as a pyarrow string array."""
    if cents.dtype != np.int64:
        return pa.array([cents_text(int(c)) for c in cents], pa.string())
    magnitude = np.abs(cents)
    whole = pa.array(magnitude // 100).cast(pa.string())
    hundredths = pc.utf8_lpad(pa.array(magnitude % 100).cast(pa.string()), 2, "0")
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    result: pa.Array = pc.binary_join_element_wise(sign, whole, ".", hundredths, "")
    return result


def cents_text(cents: int) -> str:
    """-1234 -> '-12.34'; zero is never negative."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def ratio_text(part: int, whole: int, decimals: int = 4) -> str:
    """part / whole with `decimals` decimals, rounded half away from zero (both >= 0)."""
    scaled = round_half_away(part * 10**decimals, whole)
    return f"{scaled // 10**decimals}.{scaled % 10**decimals:0{decimals}d}"

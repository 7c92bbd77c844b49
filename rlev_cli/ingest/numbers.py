"""Strict number parsing: numbers, or numeric strings, never units, ranges or booleans."""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def parse_number(raw: object) -> tuple[float | None, str | None]:
    """Return (number, None), (None, None) when missing, or (None, reason) when invalid.

    >>> parse_number("３"), parse_number(" 2.5 "), parse_number("3分")
    ((3.0, None), (2.5, None), (None, "'3分' is not a number"))
    """
    if raw is None:
        return None, None
    if isinstance(raw, bool):  # JSON true is an int subclass in Python
        return None, f"{raw!r} is a boolean, not a number"
    if isinstance(raw, int | float | Decimal):
        number = float(raw)
        if math.isnan(number):
            return None, None
        if not math.isfinite(number):
            return None, f"{raw!r} is not finite"
        return number, None
    if isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).strip()
        if text == "" or text.lower() in ("nan", "null", "none", "na", "n/a"):
            return None, None
        if not _NUMBER.match(text):
            return None, f"{raw!r} is not a number"
        try:
            return float(Decimal(text)), None
        except (InvalidOperation, OverflowError):
            return None, f"{raw!r} is not a number"
    return None, f"{type(raw).__name__} value {raw!r} is not a number"


def parse_number_column(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Vectorized `parse_number` for a whole column.

    Returns (values with NaN for missing/invalid, invalid mask, reasons for invalid rows else None).
    Numeric columns are converted directly; string columns go through one regex; other types
    fall back to the scalar parser.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
        invalid = np.isinf(values)
        reasons: list[str | None] = (
            [f"{values[i]!r} is not finite" if invalid[i] else None for i in range(n)] if invalid.any() else [None] * n
        )
        values[invalid] = np.nan
        return values, invalid, reasons
    if pa.types.is_null(kind):
        return np.full(n, np.nan), np.zeros(n, dtype=bool), [None] * n
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(pc.utf8_normalize(column, "NFKC"))
        ok = pc.fill_null(pc.match_substring_regex(text, _NUMBER.pattern), False).to_numpy(zero_copy_only=False)
        missing = pc.fill_null(
            pc.is_in(pc.utf8_lower(text), pa.array(["", "nan", "null", "none", "na", "n/a"])), True
        ).to_numpy(zero_copy_only=False)
        values = np.full(n, np.nan)
        if ok.any():
            values[ok] = pc.cast(pc.filter(text, pa.array(ok)), pa.float64()).to_numpy(zero_copy_only=False)
        invalid = ~ok & ~missing
        raw = column.to_pylist() if invalid.any() else None
        reasons = (
            [f"{raw[i]!r} is not a number" if invalid[i] else None for i in range(n)] if raw is not None else [None] * n
        )
        return values, invalid, reasons
    # mixed or exotic types: scalar path
    values = np.full(n, np.nan)
    invalid = np.zeros(n, dtype=bool)
    reasons = [None] * n
    for i, raw in enumerate(column.to_pylist()):
        number, reason = parse_number(raw)
        if reason:
            invalid[i], reasons[i] = True, reason
        elif number is not None:
            values[i] = number
    return values, invalid, reasons

"""Human-readable numbers: SI prefixes for counts (G = 10^9), binary for bytes (MiB = 2^20).

A table cell carries its own prefix (``4.09G`` beside ``38.5K`` and ``160``, as fvcore prints
them), so a column whose values span orders of magnitude reads at a glance; CSV and JSON keep
the raw numbers.
"""

from __future__ import annotations

import math
from typing import Sequence

SI_PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")]
BINARY_PREFIXES = [(2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")]
SIGNIFICANT_DIGITS = 3


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """``value`` to ``digits`` significant digits, never rounding its integer part (20,123;
    45.1; 1.23; 0.00312): a latency reads to the precision its spread allows, whatever its size.
    An exact zero is 0."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:,.{decimals}f}"
    # Rounding may carry into a new digit (9.996 -> 10.00): one decimal fewer then.
    if decimals and len(text.replace(",", "").replace("-", "").replace(".", "").lstrip("0")) > digits:
        text = f"{value:,.{decimals - 1}f}"
    return text


def _prefixed(value: float, prefixes: Sequence[tuple[float, str]], base: str, joiner: str) -> str:
    for divisor, prefix in prefixes:
        if abs(value) >= divisor * (1 - 0.5 * 10 ** -SIGNIFICANT_DIGITS):
            return f"{significant(value / divisor)}{joiner}{prefix}"
    text = f"{int(value):,}" if float(value).is_integer() else significant(value)
    return f"{text}{joiner}{base}" if base else text


def si_cell(value: float) -> str:
    """A count with its own SI prefix, three significant digits: 4.09G, 118M, 38.5K, 160."""
    return _prefixed(value, SI_PREFIXES, "", "")


def bytes_cell(value: float) -> str:
    """Bytes with their own binary prefix, three significant digits: 3.83 MiB, 98.0 KiB, 512 B."""
    return _prefixed(value, BINARY_PREFIXES, "B", " ")


def percent_cell(value: float) -> str:
    """A share with one decimal throughout (0.8%, 12.5%); a non-zero share under 0.05% is
    "<0.1%", never 0.0%."""
    if value != 0 and abs(value) < 0.05:
        return "<0.1%"
    return f"{value:,.1f}%"


def human_count(value: float, decimals: int = 2) -> str:
    for divisor, prefix in SI_PREFIXES:
        if abs(value) >= divisor:
            return f"{value / divisor:,.{decimals}f} {prefix}"
    return f"{value:,.0f}"


def human_bytes(value: float, decimals: int = 2) -> str:
    for divisor, prefix in BINARY_PREFIXES:
        if abs(value) >= divisor:
            return f"{value / divisor:,.{decimals}f} {prefix}"
    return f"{value:,.0f} B"


def human_flop_rate(value: float) -> str:
    """FLOP/s with an SI prefix joined to the unit (145.85 GFLOP/s; 950 FLOP/s)."""
    count = human_count(value)
    return f"{count}FLOP/s" if count[-1].isalpha() else f"{count} FLOP/s"


def latency_pair(median_ms: float, iqr_ms: float) -> tuple[str, str]:
    """A median and its IQR with as many decimals as the IQR's own significant digits need:
    20,123 ms (IQR 1,812 ms), 4.532 ms (IQR 0.0213 ms); never a digit finer than the spread."""
    if iqr_ms == 0:
        return significant(median_ms), "0"
    iqr = significant(iqr_ms)
    decimals = len(iqr.split(".")[1]) if "." in iqr else 0
    return f"{median_ms:,.{decimals}f}", iqr

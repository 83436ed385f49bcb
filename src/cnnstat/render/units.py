"""Human-readable numbers: SI prefixes for counts (G = 10^9), binary for bytes (MiB = 2^20)."""

from __future__ import annotations

from cnnstat.render.table import BINARY_PREFIXES, SI_PREFIXES


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

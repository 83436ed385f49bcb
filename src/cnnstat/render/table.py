"""A view's figures as text: each cell with its own prefix (tables), or one unit per column
(plot axes: ``column_unit``, ``header_with_unit``).

Rendering never imports torch or pandas: ``cnnstat list`` renders through here too and
must start faster than ``import torch``. Numbers arrive raw and are formatted only here.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from cnnstat.figures import Figure, is_missing, shape_text
from cnnstat.frame.view import View
from cnnstat.render.units import BINARY_PREFIXES, SI_PREFIXES, bytes_cell, percent_cell, si_cell, significant


def column_unit(column: Figure, values: Sequence[Any]) -> tuple[float, str]:
    """The smallest unit that keeps a column's largest value under five digits (a plot's axis
    in one unit: 4,089.18 M)."""
    numbers = [abs(v) for v in values if not is_missing(v) and isinstance(v, (int, float))]
    largest = max(numbers, default=0)
    prefixes = SI_PREFIXES if column.scale == "si" else BINARY_PREFIXES if column.scale == "binary" else []
    base = (1.0, "B" if column.scale == "binary" else "")
    for divisor, prefix in [base, *reversed(prefixes)]:
        if largest < 10_000 * divisor:
            return divisor, prefix
    return prefixes[0] if prefixes else base


def header_with_unit(column: Figure, prefix: str) -> str:
    """'MACs (G)', 'Act. mem (MiB)', 'Achieved (GFLOP/s)', 'Latency (ms)'."""
    if column.scale == "binary":
        return f"{column.header} ({prefix})"
    if column.scale == "si":
        inside = prefix + column.unit if column.unit[:1].isalpha() else " ".join(p for p in (prefix, column.unit) if p)
    else:
        inside = column.unit
    return f"{column.header} ({inside})" if inside else column.header


def fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` places and thousands separators; a small non-zero value
    that would print as 0.00 keeps two significant digits instead (0.0012, 0.000031), and an
    exact zero is 0, so a reader never takes it for a rounded figure."""
    if value == 0:
        return "0"
    text = f"{value:,.{decimals}f}"
    if not any(digit in "123456789" for digit in text):
        return f"{value:.{1 - math.floor(math.log10(abs(value)))}f}"
    return text


def cell_text(column: Figure, value: Any) -> str:
    """A table cell (terminal, Markdown, HTML): counts and bytes with their own prefix, a
    measured float (one with a unit: ms, items/s) in significant digits, a published one
    with its decimals, a share with one decimal, an exact count with thousands separators."""
    if is_missing(value):
        return "-"
    if column.scale == "si":
        return si_cell(value)
    if column.scale == "binary":
        return bytes_cell(value)
    if column.scale == "percent":
        return percent_cell(value)
    if column.scale == "float":
        return significant(value) if column.unit else fixed(value, column.decimals)
    if column.scale == "raw":
        return f"{int(value):,}"
    if column.scale == "ratio":
        return f"x{fixed(value, column.decimals)}"
    if isinstance(value, (list, tuple)):
        return shape_text(value)
    return str(value)


def cell_header(column: Figure) -> str:
    """The header of a column of ``cell_text`` cells: the unit when the cells do not carry it."""
    return f"{column.header} ({column.unit})" if column.unit else column.header


def formatted(view: View) -> tuple[list[str], list[list[str]], list[str] | None]:
    """Headers, body cells and total cells as strings, each cell with its own prefix."""
    headers, bodies, totals = [], [], []
    for column in view.columns:
        headers.append(cell_header(column))
        bodies.append([cell_text(column, row.get(column.key)) for row in view.rows])
        if view.total is not None:
            total_value = view.total.get(column.key)
            totals.append("" if total_value is None else cell_text(column, total_value))
    body_rows = [list(cells) for cells in zip(*bodies)] if view.rows else []
    return headers, body_rows, totals if view.total is not None else None

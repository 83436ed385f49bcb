"""Fitting a table to a terminal without hiding a figure.

A table is first laid out at its natural width (no limit when stdout is not a terminal).
Wider than the terminal, it takes the first layout that keeps every cell whole:

1. text columns that may wrap (a paper's title) wrap at word boundaries;
2. a table of models (``View.transposable``) turns round: figures as rows, models as columns;
3. the lowest-priority columns (``Figure.priority``) are left out, one at a time, and one
   line under the table says which and how to get them.

Only when even the first column alone is wider than the terminal (or the user chose the
columns) do cells fold onto a second line; they are never cut to "…".
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnstat.figures import Figure
from cnnstat.frame.view import View
from cnnstat.render.table import formatted

RULE_AND_PADDING = 3
"""Per column: one space either side and the rule to its left; the table adds one rule on the right."""


@dataclass
class Grid:
    """A table as strings, ready to draw."""

    headers: list[str]
    body: list[list[str]]
    total: list[str] | None
    right: list[bool]
    """Right-justified (numbers)."""
    wrap: list[bool]
    figures: list[Figure]


def grid_of(view: View, indent_with: str = "  ") -> Grid:
    headers, body, total = formatted(view)
    if view.indent is not None:
        body = [[indent_with * depth + cells[0], *cells[1:]] for depth, cells in zip(view.indent, body)]
    return Grid(headers, body, total, [c.numeric for c in view.columns], [c.wrap for c in view.columns],
                list(view.columns))


def _cell_width(text: str, wrap: bool) -> int:
    from rich.cells import cell_len

    pieces = text.split() if wrap else text.splitlines()
    return max((cell_len(piece) for piece in pieces), default=0)


def width_of(grid: Grid, wrapped: bool = False) -> int:
    """Characters a drawn grid needs; ``wrapped``: with wrapping columns at their longest word."""
    rows = [grid.headers, *grid.body, *([grid.total] if grid.total else [])]
    widths = [max(_cell_width(row[i], wrapped and grid.wrap[i]) for row in rows) for i in range(len(grid.headers))]
    return 1 + sum(width + RULE_AND_PADDING for width in widths)


def transposed(grid: Grid) -> Grid:
    """Models as columns (the first column's cells become the headers), figures as rows."""
    columns = list(zip(*grid.body)) if grid.body else [[] for _ in grid.headers]
    body = [[header, *cells] for header, cells in zip(grid.headers[1:], columns[1:])]
    models = len(grid.body)
    figure = Figure("figure", "")
    return Grid(["", *columns[0]], body, None, [False, *[True] * models], [False] * (models + 1),
                [figure] * (models + 1))


def without(grid: Grid, drop: set[int]) -> Grid:
    keep = [i for i in range(len(grid.headers)) if i not in drop]

    def pick(cells):
        return [cells[i] for i in keep]

    return Grid(pick(grid.headers), [pick(row) for row in grid.body], pick(grid.total) if grid.total else None,
                pick(grid.right), pick(grid.wrap), pick(grid.figures))


def fit(view: View, width: int | None, chosen: bool = False) -> tuple[Grid, str | None]:
    """The grid to draw in ``width`` characters (None: no limit), and the line that says which
    columns were left out, if any. ``chosen``: the user picked the columns; none is left out."""
    grid = grid_of(view)
    if width is None or width_of(grid, wrapped=True) <= width:
        return grid, None
    if view.transposable and len(grid.body) > 0:
        turned = transposed(grid)
        if width_of(turned) <= width:
            return turned, None
    if chosen:
        return grid, None
    # Lowest priority first; among equals, the rightmost first. The first column stays.
    order = sorted(range(1, len(grid.headers)), key=lambda i: (grid.figures[i].priority, -i))
    dropped: set[int] = set()
    for index in order:
        dropped.add(index)
        if width_of(without(grid, dropped), wrapped=True) <= width:
            break
    left_out = ", ".join(f"{grid.figures[i].header} ({grid.figures[i].key})" for i in sorted(dropped))
    note = (f"Left out to fit {width} columns: {left_out}. Choose columns with --columns KEY,KEY; "
            f"--format csv writes every one.")
    return without(grid, dropped), note

"""Fitting a table to a terminal without hiding a figure.

A table is first laid out at its natural width (no limit when stdout is not a terminal).
Wider than the terminal, it takes the first layout that keeps every cell whole:

1. text columns that may wrap (a paper's title) wrap at word boundaries;
2. a table of models (``View.transposable``) turns round: figures as rows, models as columns;
3. headers wider than their cells take a line a word;
4. the lowest-priority columns (``Figure.priority``) are left out, one at a time, and one
   line under the table says which and how to get them; the figures a table exists for
   (``KEPT_PRIORITY`` and above) stay: the first column (a layer's name) folds onto a second
   line before one of them goes, and only when even that is not enough do they go too.

When the user chose the columns, cells fold instead; they are never cut to "…".
A tree's names hang from torchinfo's glyphs (``├─``, ``└─``, ``│``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, TypeVar

from cnnstat.figures import KEPT_PRIORITY, Figure
from cnnstat.frame.view import View

T = TypeVar("T")
from cnnstat.render.table import formatted

RULE_AND_PADDING = 3
"""Per column: one space either side and the rule to its left; the table adds one rule on the right."""
FOLDED_FIRST_COLUMN = 11
"""Characters a folding first column keeps: a layer's name on two or three lines."""


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
    fold_first: bool = False
    """The first column folds its cells onto more lines to leave room for the kept figures."""


def tree_prefixes(depths: list[int]) -> list[str]:
    """torchinfo's glyphs before each name of a tree listed parents first: ``├─`` for a child
    with a later sibling, ``└─`` for the last one, ``│ `` under an ancestor with more to come."""
    prefixes = []
    for position, depth in enumerate(depths):
        later = depths[position + 1:]

        def has_more(level: int) -> bool:
            """Whether a row at ``level`` follows before the tree climbs above it."""
            for other in later:
                if other < level:
                    return False
                if other == level:
                    return True
            return False

        if depth == 0:
            prefixes.append("")
            continue
        above = "".join("│ " if has_more(level) else "  " for level in range(1, depth))
        prefixes.append(above + ("├─" if has_more(depth) else "└─"))
    return prefixes


def grid_of(view: View, indent_with: str | None = None) -> Grid:
    """The view's cells; a tree's names indented by ``indent_with`` per level (default: the
    tree's glyphs)."""
    headers, body, total = formatted(view)
    if view.indent is not None:
        prefixes = (tree_prefixes(view.indent) if indent_with is None
                    else [indent_with * depth for depth in view.indent])
        body = [[prefix + cells[0], *cells[1:]] for prefix, cells in zip(prefixes, body)]
    return Grid(headers, body, total, [c.numeric for c in view.columns], [c.wrap for c in view.columns],
                list(view.columns))


def _cell_width(text: str, wrap: bool) -> int:
    from rich.cells import cell_len

    pieces = text.split() if wrap else text.splitlines()
    return max((cell_len(piece) for piece in pieces), default=0)


def width_of(grid: Grid, wrapped: bool = False) -> int:
    """Characters a drawn grid needs; ``wrapped``: with wrapping columns at their longest word
    (and a folding first column at ``FOLDED_FIRST_COLUMN``)."""
    rows = [grid.headers, *grid.body, *([grid.total] if grid.total else [])]
    widths = [max(_cell_width(row[i], wrapped and grid.wrap[i]) for row in rows) for i in range(len(grid.headers))]
    if wrapped and grid.fold_first and widths:
        widths[0] = min(widths[0], FOLDED_FIRST_COLUMN)
    return 1 + sum(width + RULE_AND_PADDING for width in widths)


def stacked(grid: Grid) -> Grid:
    """Headers wider than their column's cells on one line a word ("Output / shape",
    "Latency / (ms)"), so a header never widens its column."""
    from rich.cells import cell_len

    rows = [*grid.body, *([grid.total] if grid.total else [])]
    headers = []
    for position, header in enumerate(grid.headers):
        widest = max((_cell_width(row[position], grid.wrap[position]) for row in rows), default=0)
        headers.append(header.replace(" ", "\n") if cell_len(header) > widest else header)
    return Grid(headers, grid.body, grid.total, grid.right, grid.wrap, grid.figures, grid.fold_first)


def transposed(grid: Grid) -> Grid:
    """Models as columns (the first column's cells become the headers), figures as rows."""
    columns: list[Sequence[str]] = list(zip(*grid.body)) if grid.body else [[] for _ in grid.headers]
    body = [[header, *cells] for header, cells in zip(grid.headers[1:], columns[1:])]
    models = len(grid.body)
    figure = Figure("figure", "")
    return Grid(["", *columns[0]], body, None, [False, *[True] * models], [False] * (models + 1),
                [figure] * (models + 1))


def without(grid: Grid, drop: set[int]) -> Grid:
    keep = [i for i in range(len(grid.headers)) if i not in drop]

    def pick(cells: Sequence[T]) -> list[T]:
        return [cells[i] for i in keep]

    return Grid(pick(grid.headers), [pick(row) for row in grid.body], pick(grid.total) if grid.total else None,
                pick(grid.right), pick(grid.wrap), pick(grid.figures), grid.fold_first)


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
    grid = stacked(grid)
    if width_of(grid, wrapped=True) <= width:
        return grid, None
    # Lowest priority first; among equals, the rightmost first. The first column stays, and
    # folds before a kept figure goes.
    order = sorted(range(1, len(grid.headers)), key=lambda i: (grid.figures[i].priority, -i))
    dropped: set[int] = set()
    for index in order:
        if grid.figures[index].priority >= KEPT_PRIORITY and not grid.fold_first:
            grid.fold_first = True
            if width_of(without(grid, dropped), wrapped=True) <= width:
                break
        dropped.add(index)
        if width_of(without(grid, dropped), wrapped=True) <= width:
            break
    if not dropped:
        return grid, None
    left_out = ", ".join(f"{grid.figures[i].header} ({grid.figures[i].key})" for i in sorted(dropped))
    note = (f"Left out to fit {width} columns: {left_out}. Choose columns with --columns KEY,KEY; "
            f"--format csv writes every one.")
    return without(grid, dropped), note

"""Writers for a view: Rich (terminal or plain text), CSV, Markdown; and JSON for any plain data.

Every string reaches Rich as ``Text``, never as markup: a layer named ``box[/reg]`` or a
file ``exp[v2]/net.py`` prints as written.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from cnnstat.figures import is_missing, shape_text
from cnnstat.frame.view import View
from cnnstat.render.footer import footer_lines
from cnnstat.render.layout import fit, grid_of, width_of

if TYPE_CHECKING:
    from rich.console import Group, RenderableType


def to_rich(view: View, width: int | None = None, chosen: bool = False) -> tuple[Group, int]:
    """The title, the table laid out for ``width`` characters (None: its natural width) and the
    lines under it, as one Rich renderable; and the width that shows all of it unwrapped."""
    from rich.cells import cell_len
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    grid, left_out = fit(view, width, chosen)
    lines = [*([left_out] if left_out else []), *footer_lines(view)]
    table = RichTable(show_footer=grid.total is not None, header_style="bold")
    for position, header in enumerate(grid.headers):
        table.add_column(Text(header), justify="right" if grid.right[position] else "left",
                         footer=Text(grid.total[position] if grid.total else ""),
                         no_wrap=not (grid.wrap[position] or grid.fold_first and position == 0),
                         overflow="fold")
    for cells in grid.body:
        table.add_row(*(Text(cell) for cell in cells))
    parts: list[RenderableType] = [*([Text(view.title)] if view.title else []), table,
                                   *([Text("\n".join(lines))] if lines else [])]
    natural = max([width_of(grid), *(cell_len(line) for line in [view.title, *lines])])
    return Group(*parts), natural


def to_text(view: View, width: int | None = None, chosen: bool = False) -> str:
    """Title, table and lines under it as plain text (no colour), for a file or a pipe: as wide
    as they need, nothing wrapped."""
    from rich.console import Console

    renderable, natural = to_rich(view, width, chosen)
    console = Console(record=True, width=width or natural, file=io.StringIO(), color_system=None,
                      highlight=False, emoji=False, markup=False)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"


def csv_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return shape_text(value)
    return "" if is_missing(value) else value


def to_csv(view: View) -> str:
    """Raw numbers, one header row of column keys: for machines, not eyes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.key for column in view.columns])
    for row in view.rows:
        writer.writerow([csv_value(row.get(column.key)) for column in view.columns])
    return buffer.getvalue()


def _md_escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def to_markdown(view: View) -> str:
    grid = grid_of(view, indent_with="&nbsp;&nbsp;")
    align = ["---:" if right else ":---" for right in grid.right]
    lines = []
    if view.title:
        lines += [f"### {view.title}", ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in grid.headers) + " |")
    lines.append("| " + " | ".join(align) + " |")
    lines += ["| " + " | ".join(_md_escape(c) for c in cells) + " |" for cells in grid.body]
    if grid.total is not None:
        lines.append("| " + " | ".join(f"**{_md_escape(c)}**" if c else "" for c in grid.total) + " |")
    footer = footer_lines(view)
    if footer:
        lines.append("")
        lines += [f"{line}  " for line in footer]
    return "\n".join(lines) + "\n"


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n"

"""Writers for a Table: Rich (terminal), CSV, Markdown; and JSON for any plain data."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from cnnstat.figures import is_missing, shape_text
from cnnstat.render.table import Table, formatted


def to_rich(table: Table):
    from rich.table import Table as RichTable

    headers, rows, total = formatted(table)
    rich_table = RichTable(title=table.title or None, show_footer=total is not None, header_style="bold",
                           title_justify="left", caption_justify="left",
                           caption="\n".join(table.footer) or None)
    for position, (column, header) in enumerate(zip(table.columns, headers)):
        rich_table.add_column(
            header,
            justify="right" if column.numeric else "left",
            footer=(total[position] if total else ""),
            no_wrap=not column.wrap,
        )
    for index, cells in enumerate(rows):
        if table.indent is not None:
            cells = ["  " * table.indent[index] + cells[0], *cells[1:]]
        rich_table.add_row(*cells)
    return rich_table


def csv_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return shape_text(value)
    return "" if is_missing(value) else value


def to_csv(table: Table) -> str:
    """Raw numbers, one header row of column keys: for machines, not eyes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.key for column in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(row.get(column.key)) for column in table.columns])
    return buffer.getvalue()


def _md_escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def to_markdown(table: Table) -> str:
    headers, rows, total = formatted(table)
    align = ["---:" if c.numeric else ":---" for c in table.columns]
    lines = []
    if table.title:
        lines += [f"### {table.title}", ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in headers) + " |")
    lines.append("| " + " | ".join(align) + " |")
    for index, cells in enumerate(rows):
        if table.indent is not None:
            cells = ["&nbsp;&nbsp;" * table.indent[index] + cells[0], *cells[1:]]
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    if total is not None:
        lines.append("| " + " | ".join(f"**{_md_escape(c)}**" if c else "" for c in total) + " |")
    if table.footer:
        lines.append("")
        lines += [f"{line}  " for line in table.footer]
    return "\n".join(lines) + "\n"


def _json_default(value: Any):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n"

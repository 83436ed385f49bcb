"""Render a Table (or JSON data) in the chosen format to stdout or to a file."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

from cnnstat.errors import CnnstatError
from cnnstat.render.table import Table
from cnnstat.render.text import to_csv, to_json, to_markdown, to_rich
from cnnstat.render.output import write_atomic

FORMATS = ("table", "csv", "md", "json", "html")
PIPED_WIDTH = 200


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise CnnstatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def render_text(table: Table, fmt: str, json_data: Any = None, width: int | None = None,
                csv_table: Table | None = None) -> str:
    """The table as text in ``fmt``; ``json_data`` is what the json format writes and
    ``csv_table`` (every column of the data, not only those shown) what csv writes."""
    if fmt == "csv":
        return to_csv(csv_table or table)
    if fmt == "md":
        return to_markdown(table)
    if fmt == "json":
        return to_json(json_data)
    from rich.console import Console

    console = Console(record=True, width=width or PIPED_WIDTH, file=_NullWriter())
    console.print(to_rich(table))
    return console.export_text()


class _NullWriter:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def emit_json(data: Any, output: str | None = None) -> None:
    """JSON alone, for a command that need not build its table (nor import pandas) for it."""
    text = to_json(data)
    if output:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)


def emit(table: Table, fmt: str, output: str | None = None, json_data: Any = None,
         csv_table: Table | None = None, page: Callable[[], str] | None = None) -> None:
    """Print to stdout (Rich for a terminal table) or write the file atomically; ``page``
    makes the HTML page (a file named .html is one)."""
    check_format(fmt)
    if output and Path(output).suffix.lower() == ".html":
        fmt = "html"
    if fmt == "html":
        if page is None:
            raise CnnstatError("this command writes no HTML page; choose table, csv, md or json")
        if output:
            write_atomic(output, page())
        else:
            sys.stdout.write(page())
        return
    if fmt == "json":
        emit_json(json_data, output)
        return
    if output:
        write_atomic(output, render_text(table, fmt, json_data, csv_table=csv_table))
        return
    if fmt == "table":
        from rich.console import Console

        console = Console()
        if not console.is_terminal and "COLUMNS" not in os.environ:
            # Piped or redirected: nobody's window to fit, so do not squeeze columns to 80.
            console = Console(width=PIPED_WIDTH)
        console.print(to_rich(table))
        return
    sys.stdout.write(render_text(table, fmt, json_data, csv_table=csv_table))

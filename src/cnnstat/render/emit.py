"""Render a view (or JSON data) in the chosen format to stdout or to a file.

The format is ``--format``, or else the extension of ``-o FILE`` (``EXTENSIONS``), or else a
table. A renderer for another format registers itself in ``WRITERS`` and ``EXTENSIONS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from cnnstat.errors import CnnstatError
from cnnstat.frame.view import View
from cnnstat.render.output import STDOUT_NAME, data_stream, stdout_errors, write_atomic, write_stdout
from cnnstat.render.text import to_csv, to_json, to_markdown, to_rich, to_text

WRITERS: dict[str, Callable[[View], str]] = {"table": to_text, "csv": to_csv, "md": to_markdown}
"""Format -> the writer of a view as text (json writes the result's own data instead)."""
FORMATS = ("table", "csv", "md", "json", "html")
EXTENSIONS = {".txt": "table", ".csv": "csv", ".md": "md", ".json": "json", ".html": "html"}
FORMAT_NAMES = {"table": "a text table", "csv": "CSV", "md": "Markdown", "json": "JSON", "html": "an HTML"}


def check_format(fmt: str | None, output: str | None = None) -> str:
    """The format to write: ``fmt`` if given (it must agree with ``output``'s extension), else
    the extension's, else a table. A file ``-o`` would replace must be named by its format:
    ``-o table.xlsx`` or ``-o model.py`` is refused (a descriptor, device or FIFO is written through)."""
    if output == STDOUT_NAME and fmt is None:
        raise CnnstatError(f"-o {STDOUT_NAME} writes to stdout, which has no extension to name the format: give "
                           f"--format ({', '.join(FORMATS)})")
    if output:
        check_output_name(output)
    by_extension = EXTENSIONS.get(Path(output).suffix.lower()) if output else None
    if fmt is None:
        return by_extension or "table"
    if fmt not in FORMATS:
        raise CnnstatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if by_extension is not None and by_extension != fmt:
        raise CnnstatError(f"--format {fmt} contradicts -o {output}, a {FORMAT_NAMES[by_extension]} file by its "
                           f"extension; drop --format (the extension decides) or change the extension")
    return fmt


def check_output_name(output: str) -> None:
    """Refuse an -o file whose extension names no format cnnstat writes (it would get a text
    table under another format's name, or replace someone's own file), or an existing file
    whose name gives no format at all."""
    from cnnstat.render.output import check_writable, is_stream

    if is_stream(output):
        return
    known = ", ".join(EXTENSIONS)
    target = check_writable(output)  # a symlink's target: the file that would be replaced
    for name in dict.fromkeys((Path(output), target)):
        if name.suffix and name.suffix.lower() not in EXTENSIONS:
            linked = f"it links to {name}; " if name != Path(output) else ""
            raise CnnstatError(f"-o {output}: {linked}cnnstat writes {known} files, not {name.suffix}; name the file "
                               f"by the format to write, e.g. {name.with_suffix('.csv').name}")
        if not name.suffix and target.exists():
            raise CnnstatError(f"-o {output}: {name} exists and its name gives no format, so it is not replaced; "
                               f"name the file by the format to write ({known})")


def render_text(view: View, fmt: str, json_data: Any = None, csv_view: View | None = None) -> str:
    """The view as text in ``fmt``: json writes ``json_data``, csv writes ``csv_view`` (every
    column of the data, not only those shown) when given."""
    if fmt == "json":
        return to_json(json_data)
    return WRITERS[fmt](csv_view or view if fmt == "csv" else view)


def _write(text: str, output: str | None) -> None:
    if output and output != STDOUT_NAME:
        write_atomic(output, text)
        said_written(output, len(text.encode()))
    else:
        write_stdout(text)


def said_written(output: str, size: int) -> None:
    """One line on stderr for a file written, so ``-o FILE`` is never silent."""
    import sys

    from cnnstat.render.units import human_bytes

    sys.stderr.write(f"cnnstat: wrote {output} ({human_bytes(size)})\n")


def emit_json(data: Any, output: str | None = None) -> None:
    """JSON alone, for a command that need not build its view (nor import pandas) for it."""
    _write(to_json(data), output)


def emit(view: View, fmt: str, output: str | None = None, json_data: Any = None, csv_view: View | None = None,
         chosen: bool = False, page: Callable[[], str] | None = None) -> None:
    """Print to stdout or write the file atomically. A table on a terminal fits its width
    (``cnnstat.render.layout``); anywhere else it takes the width it needs. ``chosen``: the user
    picked the columns (none is left out to fit); ``page`` makes the HTML page."""
    if fmt == "html":
        if page is None:
            raise CnnstatError("this command writes no HTML page; choose table, csv, md or json")
        _write(page(), output)
        return
    if fmt == "table" and not output:
        from rich.console import Console

        console = Console(file=data_stream(), highlight=False, emoji=False, markup=False)
        if console.is_terminal:
            renderable, _ = to_rich(view, console.width, chosen)
            with stdout_errors():
                console.print(renderable)
            return
    _write(render_text(view, fmt, json_data, csv_view), output)

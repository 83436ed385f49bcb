"""`cnnstat list`: the zoo, without importing torch."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.cli.options import COLUMNS_OPTION, FORMAT_OPTION, OUTPUT_OPTION, choose_columns


def list_entries(pattern: Optional[str], family: Optional[str]) -> list:
    """The zoo's entries matching ``pattern`` and ``family``; a clear error when none does."""
    from cnnstat.errors import CnnstatError
    from cnnstat.zoo import get_entry, list_families, list_models

    if family is not None and family not in list_families():
        raise CnnstatError(f"unknown family {family!r}; families: {', '.join(list_families())}")
    entries = [get_entry(name) for name in list_models(pattern, family=family)]
    if not entries and pattern:
        from cnnstat.zoo import close_matches

        matches = close_matches(pattern)
        hint = f"; did you mean {', '.join(matches)}?" if matches else ""
        raise CnnstatError(f"no model matches {pattern!r}{hint}")
    return entries


def list_command(
    pattern: Optional[str] = typer.Argument(None, help="fnmatch pattern, e.g. 'resnet*'."),
    family: Optional[str] = typer.Option(None, "--family", "-f", help="Only this family."),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    columns: Optional[str] = COLUMNS_OPTION,
) -> None:
    """List the models of the zoo with their published params and MACs."""
    from cnnstat.frame.views import list_view
    from cnnstat.render.emit import check_format, emit
    from cnnstat.zoo import aliases

    fmt = check_format(fmt, output)
    full = list_view(list_entries(pattern, family), aliases())
    view, chosen = choose_columns(full, columns)
    emit(view, fmt, output, json_data=full.rows, chosen=chosen)

"""`cnnstat list`: the zoo, without importing torch."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.cli.options import COLUMNS_OPTION, FORMAT_OPTION, OUTPUT_OPTION, choose_columns
from cnnstat.figures import group
from cnnstat.frame.view import Facts, View


def list_rows(pattern: Optional[str], family: Optional[str]) -> list[dict]:
    from cnnstat.errors import CnnstatError
    from cnnstat.zoo import get_entry, list_families, list_models

    if family is not None and family not in list_families():
        raise CnnstatError(f"unknown family {family!r}; families: {', '.join(list_families())}")
    rows = []
    for name in list_models(pattern, family=family):
        entry = get_entry(name)
        rows.append({
            "model": entry.name,
            "family": entry.family,
            "input_shape": list(entry.input_size),
            "published_params": entry.num_params,
            "published_gmacs": entry.gmacs,
            "paper": entry.paper.title if entry.paper else None,
            "year": entry.paper.year if entry.paper else None,
        })
    if not rows and pattern:
        from cnnstat.zoo import close_matches

        matches = close_matches(pattern)
        hint = f"; did you mean {', '.join(matches)}?" if matches else ""
        raise CnnstatError(f"no model matches {pattern!r}{hint}")
    return rows


def list_command(
    pattern: Optional[str] = typer.Argument(None, help="fnmatch pattern, e.g. 'resnet*'."),
    family: Optional[str] = typer.Option(None, "--family", "-f", help="Only this family."),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    columns: Optional[str] = COLUMNS_OPTION,
) -> None:
    """List the models of the zoo with their published params and MACs."""
    from cnnstat.render.emit import check_format, emit
    from cnnstat.zoo import aliases

    fmt = check_format(fmt, output)
    rows = list_rows(pattern, family)
    notes = [f"{len(rows)} models; aliases: " + ", ".join(f"{a} -> {t}" for a, t in aliases().items())]
    view, chosen = choose_columns(View(group("list"), rows, Facts(notes=notes)), columns)
    emit(view, fmt, output, json_data=rows, chosen=chosen)

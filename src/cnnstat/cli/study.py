"""`cnnstat study`: a design comparison from an article on CNNs, rebuilt from real modules."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.cli.compare import DEVICE_HELP, comparison_facts, emit_comparison
from cnnstat.cli.options import COLUMNS_OPTION, FORMAT_OPTION, OUTPUT_OPTION
from cnnstat.errors import CnnstatError


def study_facts(result):
    """Notes, source, what the ratios divide by, conventions and (when measured) the machine."""
    ratios = [f"Columns \"... x\": each row's figure / {result.rows[0].label}'s."] if result.rows[0].ratios else []
    return comparison_facts(result.rows, result.title, [*result.notes, f"Source: {result.source}.", *ratios])


def _list_studies(fmt: str, output: Optional[str]) -> None:
    from cnnstat.analysis.studies import list_studies
    from cnnstat.frame.views import study_list_view
    from cnnstat.render.emit import emit

    view = study_list_view(list_studies())
    emit(view, fmt, output, json_data=view.rows)


def study_command(
    name: Optional[str] = typer.Argument(None, help="The study to run (see --list)."),
    list_: bool = typer.Option(False, "--list", help="List the studies and exit."),
    device: str = typer.Option("meta", "--device", help=DEVICE_HELP),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    columns: Optional[str] = COLUMNS_OPTION,
) -> None:
    """A design comparison from an article on CNNs (e.g. kernel-stack, resnext-cardinality), with the
    article's stated figures beside the ones cnnstat reads from the built modules."""
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    fmt = check_format(fmt, output)
    if output:
        check_writable(output)
    if list_:
        _list_studies(fmt, output)
        return
    if name is None:
        raise CnnstatError("name a study, or give --list to see them")

    from cnnstat.analysis.studies import run_study
    from cnnstat.frame.compare import STUDY_HIDDEN

    result = run_study(name, device=device)
    emit_comparison(result.rows, STUDY_HIDDEN, study_facts(result), fmt, output, columns, extras=result.extras,
                    json_data=result.to_records())

"""`cnnstat crosscheck`: our counts beside fvcore's, torchinfo's (and thop's, ptflops'), every
difference attributed to a named convention; exit 1 when one is not."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.cli.options import COLUMNS_OPTION, FORMAT_OPTION, SHAPE_HELP, MODEL_HELP, OUTPUT_OPTION, SET_HELP, \
    called_inputs, check_batch, check_inputs_alone, choose_columns, parse_one_shape, parse_set, parse_shape
from cnnstat.errors import CnnstatError


class UnexplainedDifference(CnnstatError):
    exit_code = 1


def crosscheck_command(
    model: str = typer.Argument(..., help=MODEL_HELP),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i", help=SHAPE_HELP),
    make_inputs: Optional[str] = typer.Option(None, "--inputs", metavar="pkg.module:make_inputs",
                                              help="A function (or file.py:make_inputs) returning the example "
                                                   "inputs: a tensor or a tuple of them (every tool passes them in "
                                                   "order); instead of --input and --batch."),
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    columns: Optional[str] = COLUMNS_OPTION,
) -> None:
    """Run fvcore, torchinfo (and thop, ptflops when installed) on MODEL beside cnnstat, per layer,
    and explain every difference by a named convention. Exit 1 when one is left unexplained."""
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    fmt = check_format(fmt, output)
    check_batch(batch)
    if output:
        check_writable(output)
    shape = parse_shape(parse_one_shape(input, "crosscheck"))
    check_inputs_alone(make_inputs, input, batch != 1)
    options = parse_set(set_)

    from cnnstat.analysis.crosscheck import crosscheck
    from cnnstat.frame.views import crosscheck_views
    from cnnstat.render.emit import emit

    result = crosscheck(model, shape, batch=batch, options=options,
                        inputs=called_inputs(make_inputs) if make_inputs else None)
    full, rules = crosscheck_views(result)
    layers, chosen = choose_columns(full, columns)
    if fmt in ("table", "md") and not output:
        emit(layers, fmt, chosen=chosen)
        emit(rules, fmt)
    else:
        emit(layers, fmt, output, json_data=result.to_dict() if fmt == "json" else None, csv_view=full)
    if result.unexplained:
        row, first = result.unexplained[0]
        raise UnexplainedDifference(f"{len(result.unexplained)} difference(s) no convention explains, e.g. "
                                    f"{first.tool} on {row.layer}: {first.reported:,} reported, "
                                    f"{first.predicted:,} predicted")

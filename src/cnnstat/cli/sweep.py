"""`cnnstat sweep`: one model over input sizes and batch sizes, with fitted growth exponents."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.cli.compare import DEVICE_HELP
from cnnstat.cli.plotting import PLOT_OPTION, check_plot
from cnnstat.cli.options import (COLUMNS_OPTION, DTYPE_HELP, FORMAT_OPTION, MODEL_HELP, OUTPUT_OPTION, SET_HELP, THREADS_HELP,
                                 TIMING_HELP, check_measure_options, choose_columns,
                                 parse_int_list, parse_one_shape, parse_set, parse_shape)

DEFAULT_INPUTS = "3x128x128,3x224x224,3x320x320,3x512x512"


def parse_shape_list(text: str) -> list[tuple[int, ...]]:
    """'3x128x128,3x224x224' -> [(3, 128, 128), (3, 224, 224)]."""
    return [shape for part in text.split(",") if (shape := parse_shape(part.strip())) is not None]


def sweep_html(view) -> str:
    """The sweep's table and its growth curves on one page."""
    from cnnstat.render.html import figures_page
    from cnnstat.render.plots import sweep_curves

    return figures_page(view, "cnnstat sweep: how the costs grow with input size and batch",
                        sweep_curves(view, None), charts=False)


def sweep_command(
    model: str = typer.Argument(..., help=MODEL_HELP),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i", help="Input shapes without batch, comma-separated "
                                              f"(default: {DEFAULT_INPUTS.replace(',', ', ')})."),  # spaces: a terminal may wrap there
    batch: str = typer.Option("1,8,32", "--batch", "-b", help="Batch sizes, comma-separated."),
    device: str = typer.Option("meta", "--device", help=DEVICE_HELP),
    mode: str = typer.Option("eval", "--mode", help="eval | train (train counts a training forward)."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help=DTYPE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    min_run_time: float = typer.Option(0.5, "--min-run-time", help=TIMING_HELP.format(what=" per point (real device)")),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    columns: Optional[str] = COLUMNS_OPTION,
    plot: Optional[str] = PLOT_OPTION,
) -> None:
    """MACs, FLOPs and memory of MODEL at every (input, batch), and how they grow: the exponent k
    of cost ~ pixels^k and ~ batch^k, with the layers that make a model depart from pixels^1.0."""
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    fmt = check_format(fmt, output)
    shapes = parse_shape_list(parse_one_shape(input, "sweep", DEFAULT_INPUTS) or DEFAULT_INPUTS)
    batches = parse_int_list(batch, "--batch")
    check_measure_options(threads, min_run_time)
    if output:
        check_writable(output)
    check_plot(plot)
    options = parse_set(set_)

    from cnnstat.analysis.sweep import sweep
    from cnnstat.render.emit import emit
    from cnnstat.cli.progress import working
    from cnnstat.frame.views import sweep_csv_view, sweep_view

    with working(f"{model}: sweeping {len(shapes) * len(batches)} points on {device}"):
        result = sweep(model, shapes, batches, device=device, mode=mode, dtype=dtype, options=options,
                       threads=threads, min_run_time=min_run_time)
    full = sweep_view(result)
    view, chosen = choose_columns(full, columns)
    if plot:  # drawn first: a plot that cannot be drawn stops the command before any output
        from cnnstat.render.plots import sweep_curves

        sweep_curves(full, plot)
    emit(view, fmt, output, json_data=result.to_dict() if fmt == "json" else None, csv_view=sweep_csv_view(result),
         chosen=chosen, page=lambda: sweep_html(full))

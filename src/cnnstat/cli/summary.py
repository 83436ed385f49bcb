"""`cnnstat summary`: the layer-by-layer table of one model."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.errors import CnnstatError

from cnnstat.cli.compare import AUTO_DEVICE_HELP
from cnnstat.cli.plotting import MEASURED_PLOT_METRICS, PLOT_METRIC_OPTION, PLOT_OPTION, check_plot, check_plot_metric
from cnnstat.cli.options import (COLUMNS_OPTION, DTYPE_HELP, FORMAT_OPTION, INPUT_HELP, INPUTS_OPTION, MODEL_HELP,
                                 OUTPUT_OPTION, REPROBE_OPTION, SET_HELP, THREADS_HELP, TIMING_HELP, called_inputs,
                                 check_batch, check_depth, check_inputs_alone, check_measure_options, check_positive,
                                 choose_columns, parse_inputs, parse_set)


def summary_command(
    model: str = typer.Argument(..., help=MODEL_HELP),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i", help=INPUT_HELP),
    make_inputs: Optional[str] = INPUTS_OPTION,
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    classes: Optional[int] = typer.Option(None, "--classes", help="Number of classes of the classifier."),
    in_channels: Optional[int] = typer.Option(None, "--in-channels", help="Input channels of the first layer."),
    mode: str = typer.Option("eval", "--mode", help="eval | train (train counts a training forward)."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help=DTYPE_HELP),
    device: str = typer.Option("auto", "--device",
                               help=AUTO_DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    min_run_time: float = typer.Option(1.0, "--min-run-time", help=TIMING_HELP.format(what=" (split: whole model, layers)")),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="sgd | adam: add the optimizer step (--mode train)."),
    depth: Optional[int] = typer.Option(None, "--depth", "-d", help="Fold rows deeper than this into their parent."),
    sort: Optional[str] = typer.Option(None, "--sort", metavar="KEY",
                                       help="List the leaf layers flat, the largest KEY first (macs, params, flops, "
                                            "activation_bytes, latency_ms ...)."),
    top: Optional[int] = typer.Option(None, "--top", metavar="N",
                                      help="Only the N costliest leaf layers (by --sort KEY, default macs)."),
    leaves: bool = typer.Option(False, "--leaves", help="Only leaf layers (no containers), flat, with full names."),
    by: Optional[str] = typer.Option(None, "--by", metavar="type|operator",
                                     help="The model's cost summed by layer type or by operator (aten op)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    columns: Optional[str] = COLUMNS_OPTION,
    plot: Optional[str] = PLOT_OPTION,
    plot_metric: str = PLOT_METRIC_OPTION,
    roofline: bool = typer.Option(False, "--roofline",
                                  help="Place each layer on this machine's roofline: FLOP/byte, achieved FLOP/s, "
                                       "memory- or compute-bound (needs --device auto, cpu or cuda)."),
    reprobe: bool = REPROBE_OPTION,
) -> None:
    """Shapes, params, MACs/FLOPs and memory of every layer of MODEL."""
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    fmt = check_format(fmt, output)
    check_batch(batch)
    check_depth(depth)
    check_positive(classes, "--classes")
    check_positive(in_channels, "--in-channels")
    check_measure_options(threads, min_run_time, optimizer, mode)
    if output:
        check_writable(output)
    check_plot(plot)
    check_cost_options(sort, top, by, leaves, depth, plot)
    if top is not None and sort is None:
        sort = "macs"
    inputs = parse_inputs(input)
    options = parse_set(set_)
    check_inputs_alone(make_inputs, input, batch != 1)

    from cnnstat.analysis.measure import check_optimizer, pick_device
    from cnnstat.analysis.report import measured_report, profile
    from cnnstat.cli.progress import table_on_terminal, working
    from cnnstat.frame.views import layer_csv_view
    from cnnstat.render.emit import emit, emit_json

    check_optimizer(optimizer, mode)
    measure_on = pick_device(device)
    if sort in MEASURED_KEYS and measure_on is None:
        raise CnnstatError(f"--sort {sort} needs a measurement: use --device auto, cpu or cuda, not meta")
    if plot:
        check_plot_metric(plot_metric, measured=measure_on is not None)
    if roofline and measure_on is None:
        raise CnnstatError("--roofline needs a measurement: use --device auto, cpu or cuda, not meta")
    with working(f"{model}: counting on the meta device") as status:
        examples = called_inputs(make_inputs) if make_inputs else None
        report = profile(model, inputs, batch=batch, mode=mode, dtype=dtype, device="meta", num_classes=classes,
                         in_channels=in_channels, options=options, name=model,  # as the user wrote it
                         inputs=examples)
        if measure_on is not None:
            status.update(f"{model}: measuring on {measure_on}: the whole model, then each layer")
            report = measured_report(report, measure_on, fall_back=device == "auto", optimizer=optimizer,
                                     threads=threads, min_run_time=min_run_time)
            say_how_measured([report], warn=not table_on_terminal(fmt, output))
        if plot and plot_metric in MEASURED_PLOT_METRICS and report.measured is None:
            raise CnnstatError(f"--plot-metric {plot_metric} needs a measurement, and {report.model} was not "
                               f"measured (see the note above); use --plot-metric macs or memory, or a smaller --batch")
        if report.measured is not None and measure_on is not None and (roofline or plot_metric == "roofline" and plot):
            from cnnstat.analysis.roofline import place_on_roofline, probe

            status.update(f"{model}: probing this machine's roofline")
            report = place_on_roofline(report, probe(measure_on, threads, reprobe))
    if by or sort or leaves:
        emit_cost(report, fmt, output, columns, by=by, sort=sort, top=top, leaves=leaves)
        return
    if fmt == "json" and not plot:
        emit_json(report.to_dict(), output)
        return
    screen = screen_sized(report, columns) if depth is None and table_on_terminal(fmt, output) else None
    full = summary_at(report, depth) if screen is None else summary_at(report, screen, folded=True)
    view, chosen = choose_columns(full, columns)
    if plot:  # drawn first: a plot that cannot be drawn stops the command before any output
        from cnnstat.cli.plotting import summary_plot
        from cnnstat.frame.build import layer_frame

        summary_plot(report, layer_frame(report), plot_metric, plot)
    emit(view, fmt, output, json_data=report.to_dict() if fmt == "json" else None, csv_view=layer_csv_view(report),
         chosen=chosen, page=lambda: summary_html(report, full))


def summary_at(report, depth: int | None, folded: bool = False):
    """The summary's view down to ``depth``; ``folded`` to fit the screen, with the note that says
    how many rows that folded and which option shows them."""
    from dataclasses import replace

    from cnnstat.frame.views import summary_view
    from cnnstat.render.screen import folded_note

    view = summary_view(report, depth)
    if not folded or depth is None:
        return view
    note = folded_note([layer.depth for layer in report.layers], depth)
    return replace(view, facts=replace(view.facts, notes=[note, *view.facts.notes]))


def screen_sized(report, columns: str | None) -> int | None:
    """The depth whose whole output (the lines under the table too, wrapped at the terminal's
    width) keeps within the terminal's screen, every row one --depth away; None: all fit."""
    from rich.console import Console

    from cnnstat.render.output import data_stream
    from cnnstat.render.screen import screen_depth

    console = Console(file=data_stream())

    def view_at(depth: int | None):
        return choose_columns(summary_at(report, depth, folded=True), columns)[0]

    return screen_depth(view_at, [layer.depth for layer in report.layers], console.width, console.height,
                        chosen=columns is not None)


SORT_KEYS = ("params", "macs", "flops", "backward_macs", "activation_bytes", "latency_ms", "latency_pct",
             "intensity_flop_per_byte", "achieved_flops_per_s")
"""What --sort ranks layers by."""
MEASURED_KEYS = ("latency_ms", "latency_pct", "intensity_flop_per_byte", "achieved_flops_per_s")


def check_cost_options(sort: str | None, top: int | None, by: str | None, leaves: bool, depth: int | None,
                       plot: str | None) -> None:
    from cnnstat.frame.cost import BY

    if sort is not None and sort not in SORT_KEYS:
        raise CnnstatError(f"unknown --sort {sort!r}; choose one of {', '.join(SORT_KEYS)}")
    check_positive(top, "--top")
    if by is not None and by not in BY:
        raise CnnstatError(f"unknown --by {by!r}; choose one of {', '.join(BY)}")
    if by is not None and (sort or top or leaves):
        raise CnnstatError("--by sums the cost by type or operator; --sort, --top and --leaves list layers: choose one")
    if depth is not None and (sort or top or leaves or by):
        raise CnnstatError("--depth folds the tree; --sort, --top, --leaves and --by show no tree: choose one")
    if plot and (sort or top or leaves or by):
        raise CnnstatError("--plot draws the layers in call order; drop --sort, --top, --leaves and --by for it")


def emit_cost(report, fmt: str, output: str | None, columns: str | None, *, by: str | None, sort: str | None,
              top: int | None, leaves: bool) -> None:
    """The layers ranked or filtered, or the cost summed by type or operator, in any format."""
    from cnnstat.frame.cost import by_view, ranked_view
    from cnnstat.render.emit import emit
    from cnnstat.render.html import figures_page

    full = by_view(report, by) if by else ranked_view(report, sort, top, leaves)
    view, chosen = choose_columns(full, columns)
    subtitle = f"cnnstat summary: cost by {by}" if by else "cnnstat summary: the layers, costliest first"
    emit(view, fmt, output, json_data={"model": report.model, "rows": full.rows, "total": full.total},
         csv_view=full, chosen=chosen, page=lambda: figures_page(full, subtitle, charts=False))


def summary_html(report, table) -> str:
    """The summary's page, with the layers on the machine's roofline when it was measured."""
    from cnnstat.cli.plotting import roofline_figure, timeline_figure
    from cnnstat.render.html import summary_page

    from cnnstat.frame.cost import BY, by_view

    trains = report.totals.est_peak_training_bytes is not None and report.recipe.spec is not None
    return summary_page(table, roofline_figure(report, None) if report.roofline is not None else None,
                        [by_view(report, by) for by in BY], timeline_figure(report, None) if trains else None)


def say_how_measured(reports, warn: bool = True) -> None:
    """On stderr: why a report was not measured (static figures only, the device cannot hold it),
    and, with ``warn`` (not when the table's footer on the terminal says them), what makes its
    timing less trustworthy."""
    from cnnstat.cli.errors import user_message
    from cnnstat.cli.progress import say
    from cnnstat.frame.views import measured_warnings

    for report in reports:
        if report.not_measured is not None:
            say(f"cnnstat: note: {user_message(report.not_measured)}; showing the static figures only")
        for warning in measured_warnings(report.measured) if warn else []:
            say(f"cnnstat: warning: {warning}")

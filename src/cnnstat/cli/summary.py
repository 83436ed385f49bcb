"""`cnnstat summary`: the layer-by-layer table of one model."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.errors import CnnstatError

from cnnstat.cli.compare import AUTO_DEVICE_HELP
from cnnstat.cli.plotting import MEASURED_PLOT_METRICS, PLOT_METRIC_OPTION, PLOT_OPTION, check_plot, check_plot_metric
from cnnstat.cli.options import (COLUMNS_OPTION, FORMAT_OPTION, INPUT_HELP, MODEL_HELP, OUTPUT_OPTION,
                                 REPROBE_OPTION, SET_HELP, THREADS_HELP, TIMING_HELP, check_batch, check_depth, check_measure_options,
                                 check_positive, choose_columns, parse_inputs, parse_set)


def summary_command(
    model: str = typer.Argument(..., help=MODEL_HELP),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i", help=INPUT_HELP),
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    classes: Optional[int] = typer.Option(None, "--classes", help="Number of classes of the classifier."),
    in_channels: Optional[int] = typer.Option(None, "--in-channels", help="Input channels of the first layer."),
    mode: str = typer.Option("eval", "--mode", help="eval | train (train counts a training forward)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 | float16 | bfloat16"),
    device: str = typer.Option("auto", "--device",
                               help=AUTO_DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    min_run_time: float = typer.Option(1.0, "--min-run-time", help=TIMING_HELP.format(what=" (split: whole model, layers)")),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="sgd | adam: add the optimizer step (--mode train)."),
    depth: Optional[int] = typer.Option(None, "--depth", "-d", help="Fold rows deeper than this into their parent."),
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
    inputs = parse_inputs(input)
    options = parse_set(set_)

    from cnnstat.analysis.measure import check_optimizer, pick_device
    from cnnstat.analysis.report import measured_report, profile
    from cnnstat.cli.progress import table_on_terminal, working
    from cnnstat.frame.views import layer_csv_view, summary_view
    from cnnstat.render.emit import emit, emit_json

    check_optimizer(optimizer, mode)
    measure_on = pick_device(device)
    if plot:
        check_plot_metric(plot_metric, measured=measure_on is not None)
    if roofline and measure_on is None:
        raise CnnstatError("--roofline needs a measurement: use --device auto, cpu or cuda, not meta")
    with working(f"{model}: counting on the meta device") as status:
        report = profile(model, inputs, batch=batch, mode=mode, dtype=dtype, device="meta", num_classes=classes,
                         in_channels=in_channels, options=options, name=model)  # as the user wrote it
        if measure_on is not None:
            status.update(f"{model}: measuring on {measure_on}: the whole model, then each layer")
            report = measured_report(report, measure_on, fall_back=device == "auto", optimizer=optimizer,
                                     threads=threads, min_run_time=min_run_time)
            say_how_measured(report, warn=not table_on_terminal(fmt, output))
        if plot and plot_metric in MEASURED_PLOT_METRICS and report.measured is None:
            raise CnnstatError(f"--plot-metric {plot_metric} needs a measurement, and {report.model} was not "
                               f"measured (see the note above); use --plot-metric macs or memory, or a smaller --batch")
        if report.measured is not None and (roofline or plot_metric == "roofline" and plot):
            from cnnstat.analysis.roofline import place_on_roofline, probe

            status.update(f"{model}: probing this machine's roofline")
            report = place_on_roofline(report, probe(measure_on, threads, reprobe))
    if fmt == "json" and not plot:
        emit_json(report.to_dict(), output)
        return
    full = summary_view(report, depth)
    view, chosen = choose_columns(full, columns)
    emit(view, fmt, output, json_data=report.to_dict() if fmt == "json" else None, csv_view=layer_csv_view(report),
         chosen=chosen, page=lambda: summary_html(report, full))
    if plot:
        from cnnstat.cli.plotting import summary_plot
        from cnnstat.frame.build import layer_frame

        summary_plot(report, layer_frame(report), plot_metric, plot)


def summary_html(report, table) -> str:
    """The summary's page, with the layers on the machine's roofline when it was measured."""
    from cnnstat.cli.plotting import roofline_figure
    from cnnstat.render.html import summary_page

    return summary_page(table, roofline_figure(report, None) if report.roofline is not None else None)


def say_how_measured(report, warn: bool = True) -> None:
    """On stderr: why a report was not measured (static figures only, the device cannot hold it),
    and, with ``warn`` (not when the table's footer on the terminal says them), what makes its
    timing less trustworthy."""
    from cnnstat.cli.errors import user_message
    from cnnstat.cli.progress import say
    from cnnstat.frame.views import measured_warnings

    if report.not_measured is not None:
        say(f"cnnstat: note: {user_message(report.not_measured)}; showing the static figures only")
    for warning in measured_warnings(report.measured) if warn else []:
        say(f"cnnstat: warning: {warning}")

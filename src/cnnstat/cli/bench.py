"""`cnnstat bench`: measured latency, throughput and peak memory, one row per model and batch."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.cli.plotting import PLOT_OPTION, check_plot
from cnnstat.cli.options import (COLUMNS_OPTION, DTYPE_HELP, FORMAT_OPTION, INPUTS_OPTION, SHAPE_HELP, MODELS_HELP,
                                 OUTPUT_OPTION, REPROBE_OPTION, THREADS_HELP, TIMING_HELP, called_inputs,
                                 check_inputs_alone, check_measure_options, choose_columns, parse_int_list,
                                 parse_one_shape, parse_shape)


def bench_command(
    models: list[str] = typer.Argument(..., metavar="MODEL", help=MODELS_HELP),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i", help=SHAPE_HELP),
    make_inputs: Optional[str] = INPUTS_OPTION,
    batch: str = typer.Option("1", "--batch", "-b", help="Batch sizes, e.g. 1,8,32."),
    device: str = typer.Option("auto", "--device", help="auto (cuda if present, else cpu) | cpu | cuda"),
    mode: str = typer.Option("eval", "--mode", help="eval (a forward) | train (a training step)."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help=DTYPE_HELP),
    channels_last: bool = typer.Option(False, "--channels-last", help="Model and input in channels_last layout."),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile the model (warm-up includes compiling)."),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    min_run_time: float = typer.Option(1.0, "--min-run-time", help=TIMING_HELP.format(what=" per configuration")),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="sgd | adam: add the optimizer step (--mode train)."),
    roofline: bool = typer.Option(False, "--roofline", help="Add the fraction of this machine's probed peak FLOP/s."),
    reprobe: bool = REPROBE_OPTION,
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    columns: Optional[str] = COLUMNS_OPTION,
    plot: Optional[str] = PLOT_OPTION,
) -> None:
    """Time each MODEL at each batch size on a real device."""
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    fmt = check_format(fmt, output)
    batches = parse_int_list(batch, "--batch")
    shape = parse_shape(parse_one_shape(input, "bench"))
    check_inputs_alone(make_inputs, input, batch != "1")
    check_measure_options(threads, min_run_time, optimizer, mode)
    if output:
        check_writable(output)
    check_plot(plot)

    from cnnstat.analysis.bench import bench
    from cnnstat.cli.progress import counting, table_on_terminal
    from cnnstat.cli.summary import say_how_measured
    from cnnstat.frame.bench import bench_json, bench_view
    from cnnstat.render.bench_page import bench_page
    from cnnstat.render.emit import emit

    examples = called_inputs(make_inputs) if make_inputs else None
    with counting(1, "bench") as progress:
        progress.update(f"{len(models) * len(batches)} configuration(s): profiled, then timed in turns")
        result = bench(models, shape, batches, device=device, mode=mode, dtype=dtype, channels_last=channels_last,
                       compile=compile_, threads=threads, min_run_time=min_run_time, optimizer=optimizer,
                       roofline=roofline, reprobe=reprobe, inputs=examples)
        progress.advance()
    say_how_measured(result.reports, warn=not table_on_terminal(fmt, output))
    view = bench_view(result)
    shown, chosen = choose_columns(view, columns)
    if plot:  # drawn first: a plot that cannot be drawn stops the command before any output
        from cnnstat.render.plots import bench_curves

        bench_curves(view, plot)
    emit(shown, fmt, output, json_data=bench_json(result), chosen=chosen, page=lambda: bench_page(view))

"""`cnnstat bench`: measured latency, throughput and peak memory, one row per model and batch."""

from __future__ import annotations

from dataclasses import asdict
from typing import Optional

import typer

from cnnstat.cli.plotting import PLOT_OPTION, check_plot
from cnnstat.cli.options import (COLUMNS_OPTION, DTYPE_HELP, FORMAT_OPTION, INPUTS_OPTION, SHAPE_HELP, MODELS_HELP, OUTPUT_OPTION,
                                 REPROBE_OPTION, THREADS_HELP, TIMING_HELP, called_inputs, check_inputs_alone, check_measure_options, choose_columns,
                                 parse_int_list, parse_one_shape, parse_shape)
from cnnstat.errors import CnnstatError


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

    from cnnstat.analysis.measure import check_optimizer, pick_device
    from cnnstat.analysis.report import measured_reports, profile
    from cnnstat.analysis.build import dtype_name
    from cnnstat.analysis.roofline import PROBED_DTYPES, peak_fraction, probe
    from cnnstat.cli.progress import counting, table_on_terminal
    from cnnstat.cli.summary import say_how_measured
    from cnnstat.frame.view import ProbedPeak
    from cnnstat.frame.views import bench_row, bench_view
    from cnnstat.render.emit import emit

    check_optimizer(optimizer, mode)
    measure_on = pick_device(device)
    if measure_on is None:
        raise CnnstatError("bench measures on a real device; use --device auto, cpu or cuda (summary shows meta figures)")
    # Every static pass first: a mistake in the last model is reported before any timing starts.
    examples = called_inputs(make_inputs) if make_inputs else None
    reports = [profile(model, shape, batch=size, mode=mode, dtype=dtype, channels_last=channels_last, name=model,
                       inputs=examples) for model in models for size in batches]
    computed_in = ", ".join(dict.fromkeys(report.dtype for report in reports))  # each model's own unless --dtype
    probed = [dtype_name(probed) for probed in PROBED_DTYPES]
    if roofline and computed_in not in probed:
        raise CnnstatError(f"--roofline compares with the probed peak of one dtype ({', '.join(probed)}), and these "
                           f"models compute in {computed_in}: give --dtype")
    roof = probe(measure_on, threads, reprobe) if roofline else None
    # Every configuration timed in turns (A B A B ...): a change of load hits them all alike.
    with counting(1, "bench") as progress:
        progress.update(f"{len(reports)} configuration(s) timed in turns")
        measured = measured_reports(reports, measure_on, fall_back=device == "auto", optimizer=optimizer,
                                    threads=threads, min_run_time=min_run_time * len(reports), per_layer=False,
                                    compile=compile_)
        progress.advance()
    say_how_measured(measured, warn=not table_on_terminal(fmt, output))
    rows = [bench_row(report, peak_fraction(report, roof) if roof else None) for report in measured]
    settings = {"device": str(measure_on), "mode": mode, "dtype": computed_in, "channels_last": channels_last,
                "compile": compile_, "optimizer": optimizer}
    peak = ProbedPeak(roof.machine.device_name, computed_in, roof.peak_flops[computed_in], roof.bandwidth_bytes_per_s) \
        if roof else None
    view = bench_view(measured, rows, settings, peak)
    shown, chosen = choose_columns(view, columns)
    if plot:  # drawn first: a plot that cannot be drawn stops the command before any output
        from cnnstat.render.plots import bench_curves

        bench_curves(view, plot)
    emit(shown, fmt, output, json_data={"settings": settings, "machine": asdict(peak) if peak else None, "rows": rows},
         chosen=chosen, page=lambda: bench_html(view))


def bench_html(view) -> str:
    """The bench table and its latency and throughput curves on one page."""
    from cnnstat.render.html import figures_page
    from cnnstat.render.plots import bench_curves

    return figures_page(view, "cnnstat bench: latency and throughput against batch",
                        bench_curves(view, None), charts=False)

"""`cnnstat compare`: several models' figures side by side, with ratios to a baseline."""

from __future__ import annotations

from typing import Any, Collection, Optional, Sequence

import typer

from cnnstat.cli.plotting import PLOT_OPTION, check_plot
from cnnstat.cli.options import FORMAT_OPTION, INPUT_HELP, OUTPUT_OPTION, check_batch, parse_set, parse_shape
from cnnstat.errors import CnnstatError

SPEC_HELP = ("Zoo models (see `cnnstat list`), each optionally with its own options after a colon: "
             "NAME:key=value,key=value, e.g. block/conv:k=3,n=3 (quote it in a shell if a value has spaces).")
DEVICE_HELP = "meta: static figures only (deterministic, instant) | cpu | cuda: adds measured latency and memory."


def parse_model_spec(text: str, shared: dict[str, Any]):
    """'block/conv:k=3,n=3' -> ModelSpec('block/conv', {**shared, 'k': 3, 'n': 3}); inline options win.
    A spec with a factory takes its options after one more colon: 'pkg.mod:build:width=2'."""
    from cnnstat.analysis.compare import ModelSpec
    from cnnstat.zoo.loader import split_inline_options

    name, inline = split_inline_options(text)
    if inline is not None and not inline.strip():
        raise CnnstatError(f"malformed model {text!r}: options after ':' are key=value pairs, e.g. block/conv:k=3")
    return ModelSpec(name, {**shared, **parse_set([inline] if inline is not None else [])}, label=text)


def measured_footer(rows) -> list[str]:
    """The machine line every measured figure needs; nothing on meta."""
    machine = rows[0].machine
    if not machine:
        return []
    return [f"Measured on {rows[0].device} ({machine['device_name']}), {machine['threads']} threads, "
            f"torch {machine['torch_version']}."]


def conventions_footer(rows) -> list[str]:
    """What every comparison's figures mean, and the machine when they were measured."""
    from cnnstat.analysis.report import CONVENTIONS
    from cnnstat.render.compare import PEAK_NOTE

    return [CONVENTIONS, PEAK_NOTE, *measured_footer(rows)]


def emit_comparison(records: Sequence[dict[str, Any]], hidden: Collection[str], title: str, footer: Sequence[str], fmt: str, output: str | None) -> None:
    """Write comparison records as a table/md (chosen columns), csv (every column) or json (the records)."""
    from cnnstat.frame.compare import comparison_frame
    from cnnstat.render.compare import comparison_table
    from cnnstat.render.emit import emit

    from cnnstat.render.html import figures_page

    frame = comparison_frame(records)
    table = comparison_table(frame, hidden, title, footer, full=fmt == "csv")
    emit(table, fmt, output, json_data=list(records),
         page=lambda: figures_page(comparison_table(frame, hidden, title, footer), "cnnstat: the models side by side"))


def compare_command(
    models: list[str] = typer.Argument(..., help=SPEC_HELP),
    input: Optional[str] = typer.Option(None, "--input", "-i", help=INPUT_HELP + " Applies to every model."),
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    device: str = typer.Option("meta", "--device", help=DEVICE_HELP),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="The model the ratios divide by "
                                           "(as written on the command line; default: the first)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Options for every model, e.g. --set cin=32; "
                                             "a model's own NAME:key=value options win over these."),
    fmt: str = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    plot: Optional[str] = PLOT_OPTION,
) -> None:
    """Params, MACs, FLOPs and memory of MODELS side by side, with ratios to a baseline.

    Example: cnnstat compare vgg16 mobilenet;
    cnnstat compare block/conv block/conv:k=3,n=3 --format md.
    JSON is a list with one object per model; CSV holds every figure and ratio as raw numbers.
    """
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    check_format(fmt)
    check_batch(batch)
    if output:
        check_writable(output)
    check_plot(plot)
    shape = parse_shape(input)
    specs = [parse_model_spec(text, parse_set(set_)) for text in models]

    from cnnstat.analysis.compare import compare, find_baseline
    from cnnstat.render.compare import COMPARE_HIDDEN

    rows = compare(specs, shape, batch=batch, baseline=baseline, device=device)
    base = find_baseline(rows, baseline).label
    inputs = "x".join(map(str, shape)) if shape else "each model's own"
    title = f"{' vs '.join(row.label for row in rows)}  (input {inputs}, batch {batch}, device {device})"
    footer = [f"Columns \"... x\": each model's figure / {base}'s (x0.5: half of {base}'s).",
              *conventions_footer(rows)]
    records = [row.to_dict() for row in rows]
    emit_comparison(records, COMPARE_HIDDEN, title, footer, fmt, output)
    if plot:
        from cnnstat.frame.compare import comparison_frame
        from cnnstat.render.plots import COMPARE_FIGURES, LATENCY, study_bars

        study_bars(comparison_frame(records), title, plot, (*COMPARE_FIGURES, LATENCY))

"""`cnnstat compare`: several models' figures side by side, with ratios to a baseline."""

from __future__ import annotations

from typing import Any, Collection, Optional, Sequence

import typer

from cnnstat.cli.plotting import PLOT_OPTION, check_plot
from cnnstat.cli.options import (COLUMNS_OPTION, DTYPE_HELP, FORMAT_OPTION, INPUTS_OPTION, SHAPE_HELP, MODELS_HELP,
                                 OUTPUT_OPTION, called_inputs, check_batch, check_inputs_alone, choose_columns,
                                 parse_set, parse_one_shape, parse_shape)
from cnnstat.errors import CnnstatError

SPEC_HELP = (MODELS_HELP + " Each may carry its own options after a colon: NAME:key=value,key=value, e.g. "
             "block/conv:k=3,n=3 or pkg.mod:build:width=2 (quote it in a shell if a value has spaces).")
DEVICE_HELP = ("meta (the default): static figures only, deterministic and instant | cpu | cuda: adds measured "
               "latency and memory.")
AUTO_DEVICE_HELP = ("auto (the default: cuda if present, else cpu) | cpu | cuda: measure latency and peak memory there; "
                    "meta: static figures only, instant.")


def parse_model_spec(text: str, shared: dict[str, Any]):
    """'block/conv:k=3,n=3' -> ModelSpec('block/conv', {**shared, 'k': 3, 'n': 3}); inline options win.
    A spec with a factory takes its options after one more colon: 'pkg.mod:build:width=2'."""
    from cnnstat.analysis.compare import ModelSpec
    from cnnstat.zoo.loader import split_inline_options

    name, inline = split_inline_options(text)
    if inline is not None and not inline.strip():
        raise CnnstatError(f"malformed model {text!r}: options after ':' are key=value pairs, e.g. block/conv:k=3")
    return ModelSpec(name, {**shared, **parse_set([inline] if inline is not None else [])}, label=text)


def comparison_facts(rows, title: str, notes: Sequence[str]):
    """The title, ``notes``, what every comparison's figures mean, the machine of measured
    figures, and their spread warnings."""
    from cnnstat.analysis.records import CONVENTIONS
    from cnnstat.frame.view import Facts
    from cnnstat.render.compare import PEAK_NOTE

    return Facts(title=[title], machine=rows[0].machine,
                 notes=[*notes, *latency_ratio_notes(rows), CONVENTIONS, PEAK_NOTE],
                 warnings=[warning for row in rows for warning in (row.spread_warning, row.contention)
                           if warning])  # each names its model


def latency_ratio_notes(rows) -> list[str]:
    """How the latency ratios were taken, with each one's spread, where the models were timed together."""
    spreads = [(row.label, row.ratios["latency_ms"], row.ratio_spreads["latency_ms"]) for row in rows
               if "latency_ms" in row.ratio_spreads]
    if len(spreads) < 2:
        return []
    rounds = len(rows[0].round_latency_ms or ())
    each = "; ".join(f"{label} x{ratio:.3f} (IQR {spread:.3f})" for label, ratio, spread in spreads)
    return [f"Latency x: the models were timed in turns (A B A B ..., {rounds} rounds) and each ratio is the median "
            f"of its round-by-round ratios: {each}."]


def emit_comparison(rows, hidden: Collection[str], facts, fmt: str, output: str | None, columns: str | None = None,
                    extras: Sequence[dict[str, Any]] | None = None, json_data: Any = None) -> None:
    """Write comparison rows (``ModelFigures``, with a study's ``extras``) as a table/md (chosen
    columns), csv (every column) or json (``json_data``, default each row's ``to_dict()``)."""
    from cnnstat.frame.compare import comparison_frame, comparison_view
    from cnnstat.render.emit import emit

    from cnnstat.render.html import figures_page

    from cnnstat.cli.progress import say, table_on_terminal

    if not table_on_terminal(fmt, output):  # on the terminal, the table's footer says them
        for warning in facts.warnings:
            say(f"cnnstat: warning: {warning}")
    frame = comparison_frame(rows, extras)
    full = comparison_view(frame, hidden, facts)
    view, chosen = choose_columns(full, columns)
    emit(view, fmt, output, json_data=json_data if json_data is not None else [row.to_dict() for row in rows], csv_view=comparison_view(frame, hidden, facts, full=True),
         chosen=chosen, page=lambda: figures_page(full, "cnnstat: the models side by side"))


def compare_command(
    models: list[str] = typer.Argument(..., metavar="MODEL", help=SPEC_HELP),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i", help=SHAPE_HELP + " Applies to every model."),
    make_inputs: Optional[str] = INPUTS_OPTION,
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help=DTYPE_HELP),
    device: str = typer.Option("auto", "--device", help=AUTO_DEVICE_HELP),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="The model the ratios divide by "
                                           "(as written on the command line; default: the first)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Options for every model, e.g. --set cin=32; "
                                             "a model's own NAME:key=value options win over these."),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    columns: Optional[str] = COLUMNS_OPTION,
    plot: Optional[str] = PLOT_OPTION,
) -> None:
    """Params, MACs, FLOPs and memory of MODELS side by side, with ratios to a baseline.

    Example: cnnstat compare vgg16 mobilenet;
    cnnstat compare block/conv block/conv:k=3,n=3 --format md.
    JSON is a list with one object per model; CSV holds every figure and ratio as raw numbers.
    """
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    fmt = check_format(fmt, output)
    check_batch(batch)
    if output:
        check_writable(output)
    check_plot(plot)
    shape = parse_shape(parse_one_shape(input, "compare"))
    check_inputs_alone(make_inputs, input, batch != 1)
    specs = [parse_model_spec(text, parse_set(set_)) for text in models]

    from cnnstat.analysis.compare import compare, find_baseline
    from cnnstat.analysis.measure import pick_device
    from cnnstat.cli.progress import working
    from cnnstat.figures import shape_text
    from cnnstat.frame.compare import COMPARE_HIDDEN

    measure_on = pick_device(device)
    where = str(measure_on) if measure_on is not None else "meta"
    with working(f"comparing {len(specs)} models on {where}"):
        examples = called_inputs(make_inputs) if make_inputs else None
        rows = compare(specs, shape, batch=batch, baseline=baseline, device=where, dtype=dtype, inputs=examples)
    base = find_baseline(rows, baseline).label
    inputs = shape_text(shape) if shape else make_inputs or "each model's own"
    converted = f", {dtype}" if dtype else ""  # else each model's own
    title = f"{' vs '.join(row.label for row in rows)}  (input {inputs}, batch {batch}{converted}, device {where})"
    ratio_note = f"Columns \"... x\": each model's figure / {base}'s (x0.5: half of {base}'s)."
    if plot:  # drawn first: a plot that cannot be drawn stops the command before any output
        from cnnstat.frame.compare import comparison_frame
        from cnnstat.render.plots import COMPARE_FIGURES, LATENCY, study_bars

        study_bars(comparison_frame(rows), title, plot, (*COMPARE_FIGURES, LATENCY))
    emit_comparison(rows, COMPARE_HIDDEN, comparison_facts(rows, title, [ratio_note]), fmt, output, columns)

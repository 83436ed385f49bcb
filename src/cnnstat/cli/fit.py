"""`cnnstat fit`: the largest batch (and input size) whose estimated peak memory fits a budget."""

from __future__ import annotations

import re
from typing import Optional

import typer

from cnnstat.cli.options import DTYPE_HELP, FORMAT_OPTION, MODEL_HELP, OUTPUT_OPTION, SET_HELP, parse_set, parse_shape
from cnnstat.errors import CnnstatError

UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
         "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
         "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
"""Binary prefixes (KiB, MiB, GiB, TiB, and a bare K, M, G, T as memory sizes are usually
meant), SI ones (KB, MB, GB, TB) and bytes."""


def parse_budget(text: str) -> int:
    """'24GiB' -> 25769803776; '1.5G', '512MiB', '8GB', '1000000' (bytes)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in UNITS:
        raise CnnstatError(f"malformed --budget {text!r}: expected a size such as 24GiB, 512MiB, 8GB or 1000000 (bytes)")
    value = int(float(match.group(1)) * UNITS[unit])
    if value <= 0:
        raise CnnstatError(f"--budget must be more than 0 bytes, got {text!r}")
    return value


def fit_command(
    model: str = typer.Argument(..., help=MODEL_HELP),
    budget: Optional[str] = typer.Option(None, "--budget", metavar="SIZE",
                                         help="Memory to fit in, e.g. 24GiB, 512MiB, 8GB (default: the device's "
                                              "free memory; needed with --device meta)."),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i",
                                              help="Input size without batch, e.g. 3x224x224; several (repeated or "
                                                   "comma-separated) sweep it, and the answer names the largest that "
                                                   "fits. Default: the model's own."),
    mode: str = typer.Option("train", "--mode", help="train (a training step: the default) | eval (a forward)."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="sgd | adam: count its state (--mode train)."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help=DTYPE_HELP),
    device: str = typer.Option("auto", "--device",
                               help="auto (cuda if present, else cpu) | cpu | cuda: whose free memory is the default "
                                    "budget, and where one real step confirms the answer | meta: the estimate only."),
    confirm: bool = typer.Option(True, "--confirm/--no-confirm",
                                 help="Run one real step at the answer on the device and measure its peak."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
) -> None:
    """The largest batch whose estimated peak memory fits the budget, with the headroom it leaves.

    Example: cnnstat fit resnet50 --budget 24GiB --optimizer adam --dtype bfloat16.
    """
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    fmt = check_format(fmt, output)
    if fmt == "html":
        raise CnnstatError("fit writes no HTML page; choose table, csv, md or json")
    if output:
        check_writable(output)
    budget_bytes = parse_budget(budget) if budget is not None else None
    sizes: list[tuple[int, ...] | None] = [parse_shape(part) for text in input or [] for part in text.split(",")
                                           if part.strip()] or [None]
    options = parse_set(set_)

    from cnnstat.analysis.build import check_mode
    from cnnstat.analysis.fit import fit
    from cnnstat.analysis.measure import check_optimizer, free_bytes, pick_device
    from cnnstat.cli.progress import working
    from cnnstat.frame.planning import fit_view
    from cnnstat.render.emit import emit
    from cnnstat.render.planning import fit_notes, fit_title

    check_mode(mode)
    check_optimizer(optimizer, mode)
    on = pick_device(device)
    source = "given"
    if budget_bytes is None:
        free = free_bytes(on) if on is not None else None
        if free is None:
            raise CnnstatError("give --budget: the device's free memory is unknown" if on is not None
                               else "give --budget: the meta device has no memory of its own")
        budget_bytes, source = free, str(on)
    with working(f"{model}: fitting in the budget"):
        result = fit(model, budget_bytes, input_sizes=sizes, mode=mode, optimizer=optimizer, dtype=dtype,
                     budget_source=source, options=options, confirm_on=on if confirm else None)
    emit(fit_view(result, fit_title(result), fit_notes(result)), fmt, output, json_data=result.to_dict())

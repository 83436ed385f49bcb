"""`cnnstat checkpoint`: what activation checkpointing of each block would save, and recompute."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.cli.options import (DTYPE_HELP, FORMAT_OPTION, INPUTS_OPTION, MODEL_HELP, OUTPUT_OPTION, SET_HELP,
                                 SHAPE_HELP, called_inputs, check_batch, check_inputs_alone, parse_one_shape, parse_set,
                                 parse_shape)
from cnnstat.errors import CnnstatError


def checkpoint_command(
    model: str = typer.Argument(..., help=MODEL_HELP),
    blocks: Optional[str] = typer.Option(None, "--blocks", "--checkpoint", metavar="NAMES",
                                         help="Modules to checkpoint, e.g. layer3 or layer2,layer3 (each alone, "
                                              "then all together). Default: each top-level block."),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i", help=SHAPE_HELP),
    make_inputs: Optional[str] = INPUTS_OPTION,
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help=DTYPE_HELP),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="sgd | adam: count its state in the peak."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    fmt: Optional[str] = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
) -> None:
    """Training peak memory saved and MACs recomputed by activation checkpointing, per block.

    Example: cnnstat checkpoint resnet50 --batch 32; cnnstat checkpoint resnet50 --blocks layer2,layer3.
    """
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    fmt = check_format(fmt, output)
    if fmt == "html":
        raise CnnstatError("checkpoint writes no HTML page; choose table, csv, md or json")
    check_batch(batch)
    if output:
        check_writable(output)
    shape = parse_shape(parse_one_shape(input, "checkpoint"))
    check_inputs_alone(make_inputs, input, batch != 1)
    names = [name.strip() for name in (blocks or "").split(",") if name.strip()] or None
    options = parse_set(set_)

    from cnnstat.analysis.checkpointing import checkpoint_what_if
    from cnnstat.cli.progress import working
    from cnnstat.frame.planning import checkpoint_view
    from cnnstat.render.emit import emit
    from cnnstat.render.planning import checkpoint_notes, checkpoint_title

    with working(f"{model}: checkpointing each block on the meta device"):
        result = checkpoint_what_if(model, shape, batch, blocks=names, dtype=dtype, optimizer=optimizer,
                                    options=options, inputs=called_inputs(make_inputs) if make_inputs else None)
    emit(checkpoint_view(result, checkpoint_title(result), checkpoint_notes(result)), fmt, output,
         json_data=result.to_dict())

"""`cnnstat summary`: the layer-by-layer table of one model."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.cli.options import (FORMAT_OPTION, INPUT_HELP, MODEL_HELP, OUTPUT_OPTION, SET_HELP, check_batch,
                                 check_depth, parse_set, parse_shape)


def summary_command(
    model: str = typer.Argument(..., help=MODEL_HELP),
    input: Optional[str] = typer.Option(None, "--input", "-i", help=INPUT_HELP),
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    classes: Optional[int] = typer.Option(None, "--classes", help="Number of classes of the classifier."),
    in_channels: Optional[int] = typer.Option(None, "--in-channels", help="Input channels of the first layer."),
    mode: str = typer.Option("eval", "--mode", help="eval | train (train counts a training forward)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 | float16 | bfloat16"),
    device: str = typer.Option("meta", "--device", help="meta (static, instant) | cpu | cuda"),
    depth: Optional[int] = typer.Option(None, "--depth", "-d", help="Fold rows deeper than this into their parent."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    fmt: str = FORMAT_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
) -> None:
    """Shapes, params, MACs/FLOPs and memory of every layer of MODEL."""
    from cnnstat.render.emit import check_format
    from cnnstat.render.output import check_writable

    check_format(fmt)
    check_batch(batch)
    check_depth(depth)
    if output:
        check_writable(output)
    shape = parse_shape(input)
    options = parse_set(set_)

    from cnnstat.analysis import profile
    from cnnstat.render.emit import emit
    from cnnstat.render.summary import summary_table

    report = profile(model, shape, batch=batch, mode=mode, dtype=dtype, device=device, num_classes=classes,
                     in_channels=in_channels, options=options)
    data = report.to_dict()
    emit(summary_table(report.to_frame(), data, depth), fmt, output, json_data=data)

"""Records -> pandas DataFrames with typed columns."""

from __future__ import annotations

import pandas as pd

from cnnstat.figures import field_text, shape_text
from cnnstat.frame.views import latency_shares

LAYER_FRAME_COLUMNS = [
    "index", "name", "type", "depth", "is_leaf", "call", "parent", "description", "input_shape",
    "output_shape", "params", "trainable_params", "macs", "flops", "activation_bytes",
]
"""The columns of ``Report.to_frame()`` and of CSV exports, in order."""


def field_columns(layer) -> dict[str, str | None]:
    field = layer.receptive_field
    if field is None:
        return {"receptive_field": None, "jump": None, "own_field": None}
    if field.size is None:
        return {"receptive_field": "?", "jump": "?", "own_field": field_text(field.kernel)}
    whole = all(size is None for size in field.size)  # no positions left: no stride between them
    return {"receptive_field": field_text(field.size), "jump": None if whole else field_text(field.jump),
            "own_field": field_text(field.kernel)}


def layer_frame(report) -> pd.DataFrame:
    """One row per module call, in call order (parents before children)."""
    rows = [
        {
            "index": layer.index,
            "name": layer.name or report.model,  # the root row is the model
            "type": layer.type,
            "depth": layer.depth,
            "is_leaf": layer.is_leaf,
            "call": layer.call,
            "parent": layer.parent if layer.parent is not None else -1,
            "description": layer.description,
            "input_shape": ", ".join(shape_text(s) for s in layer.input_shapes),
            "output_shape": ", ".join(shape_text(s) for s in layer.output_shapes),
            "params": layer.params,
            "trainable_params": layer.trainable_params,
            "macs": layer.macs,
            "flops": layer.flops,
            "activation_bytes": layer.output_bytes,
        }
        for layer in report.layers
    ]
    frame = pd.DataFrame(rows, columns=LAYER_FRAME_COLUMNS)
    if report.mode == "train":
        frame.insert(frame.columns.get_loc("flops") + 1, "backward_macs",
                     pd.Series([layer.backward_macs for layer in report.layers], dtype="int64"))
    if report.receptive_field is not None:
        for key, values in pd.DataFrame([field_columns(layer) for layer in report.layers]).items():
            frame[key] = values
    if report.measured is not None:
        frame["latency_ms"] = pd.Series(report.layer_latency_ms(), dtype="float64")
        frame["latency_pct"] = pd.Series(latency_shares(report), dtype="float64")
    if report.roofline is not None:
        roofs = report.layer_rooflines()
        frame["intensity_flop_per_byte"] = pd.Series([r.intensity if r else None for r in roofs], dtype="float64")
        frame["achieved_flops_per_s"] = pd.Series([r.achieved_flops_per_s if r else None for r in roofs],
                                                  dtype="float64")
        frame["bound"] = [r.bound if r else "" for r in roofs]
    integer_columns = ["index", "depth", "call", "parent", "params", "trainable_params", "macs", "flops",
                       "activation_bytes"]
    return frame.astype({column: "int64" for column in integer_columns} | {"is_leaf": "bool"})

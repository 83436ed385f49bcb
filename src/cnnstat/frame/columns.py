"""Column definitions: keys, display headers and units, kept in one map (pure data:
no torch and no pandas, so `cnnstat list` can use them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scale = Literal["raw", "si", "binary", "text", "ratio", "percent", "float"]


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    scale: Scale = "text"
    """raw: integer with thousands separators; si: counts with a K/M/G unit chosen for the
    column; binary: bytes with a KiB/MiB/GiB unit chosen for the column; ratio: "x1.23"."""
    unit: str = ""
    """What the number counts, shown in the header (e.g. "MACs")."""
    decimals: int = 2
    wrap: bool = False
    """Whether long text may wrap in a terminal table (other columns never wrap)."""



FIGURES = {column.key: column for column in [
    Column("params", "Params", "raw"),
    Column("macs", "MACs", "si"),
    Column("flops", "FLOPs", "si"),
    Column("activation_bytes", "Act. mem", "binary"),
    Column("est_peak_inference_bytes", "Eval peak", "binary"),
    Column("est_peak_training_bytes", "Train peak", "binary"),
    Column("latency_ms", "Latency (ms)", "float", decimals=3),
    Column("latency_iqr_ms", "IQR (ms)", "float", decimals=3),
    Column("throughput_per_s", "Throughput (items/s)", "float", decimals=1),
    Column("measured_peak_bytes", "Measured peak", "binary"),
    Column("achieved_flops_per_s", "Achieved", "si", unit="FLOP/s"),
]}
"""A model's figures as every per-model table (compare, study, sweep, bench) shows them."""


def figure_columns(*keys: str) -> list[Column]:
    return [FIGURES[key] for key in keys]


LAYER_COLUMNS = [
    Column("layer", "Layer"),
    Column("type", "Type"),
    Column("description", "Config"),
    Column("output_shape", "Output shape"),
    Column("params", "Params", "raw"),
    Column("macs", "MACs", "si"),
    Column("flops", "FLOPs", "si"),
    Column("activation_bytes", "Output", "binary"),
]
"""What the terminal and Markdown tables of `cnnstat summary` show, in order."""

LATENCY_COLUMNS = [
    FIGURES["latency_ms"],
    Column("latency_pct", "% time", "percent"),
]
"""Added to the summary table (and the layer frame) when the model was measured."""

ROOFLINE_COLUMNS = [
    Column("intensity_flop_per_byte", "FLOP/byte", "float", decimals=1),
    FIGURES["achieved_flops_per_s"],
    Column("bound", "Bound"),
]
"""Added to the summary table (and the layer frame) with --roofline: arithmetic intensity
(FLOPs per byte of inputs, weights and outputs), achieved FLOP/s, memory- or compute-bound."""

FIELD_COLUMNS = [
    Column("receptive_field", "RF"),
    Column("jump", "Jump"),
    Column("own_field", "Own RF"),
]
"""Added to the summary table (and the layer frame) of a model with a spatial input: the
receptive field of each layer's output over the model's input (pixels per spatial axis,
"whole" once every value sees the whole input), its effective stride, and the layer's own
field over its own input (a conv's dilated kernel, a block's field)."""

LAYER_FRAME_COLUMNS = [
    "index", "name", "type", "depth", "is_leaf", "call", "parent", "description", "input_shape",
    "output_shape", "params", "trainable_params", "macs", "flops", "activation_bytes",
]
"""The columns of ``Report.to_frame()`` and of CSV exports, in order."""

"""Comparison records (``ModelFigures.to_dict()``, ``StudyResult.to_records()``) -> DataFrames,
and the display columns of every key they can hold (one map: keys, headers, units)."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from cnnstat.analysis.compare import MEASURED_FIGURES, STATIC_FIGURES
from cnnstat.frame.columns import Column, figure_columns

IDENTITY_COLUMNS = [
    Column("model", "Model"),
    Column("spec", "Spec"),
    Column("name", "Registered name"),
    Column("family", "Family"),
    Column("input_shape", "Input"),
    Column("output_shape", "Output"),
    Column("device", "Device"),
    Column("device_name", "Device name"),
    Column("threads", "Threads", "raw"),
    Column("torch_version", "Torch"),
]

STATIC_KEYS = list(STATIC_FIGURES)
"""The figures that do not depend on the machine: what reports/ pins and its test holds."""

FIGURE_COLUMNS = figure_columns(*STATIC_FIGURES, *MEASURED_FIGURES)
"""A model's figures, in the order every comparison shows them; the measured ones appear
only when a real device was given."""

STUDY_COLUMNS = [
    Column("in_channels", "In", "raw"),
    Column("width", "Width", "raw"),
    Column("cardinality", "C", "raw"),
    Column("group_width", "d (solved)", "raw"),
    Column("stated_group_width", "d (article)", "raw"),
    Column("stated_rounded_group_width", "d rounded (article)", "raw"),
    Column("block", "Block"),
    Column("blocks", "Blocks", "raw"),
    Column("output_hwc", "Out HxWxC"),
    Column("stated_params", "Params (article)", "raw"),
    Column("published_params", "Params (published)", "raw"),
    Column("published_gmacs", "GMACs (published)", "float", decimals=3),
    Column("conv_weights", "Conv weights", "raw"),
    Column("target_conv_weights", "Target conv weights", "raw"),
    Column("reported_accuracy", "Acc. (reported)", "percent"),
]
"""The studies' own columns: settings, counts read from modules, and the articles' figures."""

RATIO_SUFFIX = "_ratio"
RATIO_HEADERS = {"params": "Params x", "macs": "MACs x", "est_peak_training_bytes": "Train peak x",
                 "latency_ms": "Latency x"}
"""The ratios a table shows, with short headers (a footer names the baseline); CSV and JSON
hold every ratio."""

_COLUMNS = {column.key: column for column in IDENTITY_COLUMNS + FIGURE_COLUMNS + STUDY_COLUMNS}


def ratio_column(key: str) -> Column:
    header = RATIO_HEADERS.get(key, f"{_COLUMNS[key].header} x")
    return Column(f"{key}{RATIO_SUFFIX}", header, "ratio", decimals=3)


def _shape_text(value: Any) -> Any:
    return "x".join(str(d) for d in value) if isinstance(value, (list, tuple)) else value


def comparison_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per model; shapes as text ("1x3x224x224"); columns in display order: identity,
    study columns, figures, ratios."""
    frame = pd.DataFrame([{key: _shape_text(value) for key, value in record.items()} for record in records])
    ratios = [f"{column.key}{RATIO_SUFFIX}" for column in FIGURE_COLUMNS]
    order = [c.key for c in IDENTITY_COLUMNS + STUDY_COLUMNS + FIGURE_COLUMNS] + ratios
    frame = frame[[key for key in order if key in frame.columns]]
    # Counts stay integers where a figure is missing (pandas would turn the column to float).
    counts = [key for key in frame.columns
              if all(isinstance(r.get(key), int) and not isinstance(r.get(key), bool)
                     for r in records if r.get(key) is not None) and frame[key].notna().any()]
    return frame.astype({key: "Int64" for key in counts})


def columns_of(frame: pd.DataFrame, all_ratios: bool = True) -> list[Column]:
    """Display columns for the frame's keys: every ratio, or only those of ``RATIO_HEADERS``."""
    columns = []
    for key in frame.columns:
        if key.endswith(RATIO_SUFFIX):
            figure = key.removesuffix(RATIO_SUFFIX)
            if all_ratios or figure in RATIO_HEADERS:
                columns.append(ratio_column(figure))
        else:
            columns.append(_COLUMNS[key])
    return columns

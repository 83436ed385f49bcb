"""Comparison results (``ModelFigures`` rows, with a study's own columns) -> DataFrames, and
the figures of every key they can hold (``cnnstat.figures``). Rows are read from the results'
fields; their JSON (``to_dict()``) is for JSON output alone."""

from __future__ import annotations

from typing import Any, Collection, Mapping, Sequence

import pandas as pd

from cnnstat.figures import RATIO_HEADERS, RATIO_SUFFIX, Figure, figure, keys, shape_text
from cnnstat.frame.view import Facts, View

from cnnstat.analysis.compare import ModelFigures, machine_fields

ORDER = keys("identity", "study", "static", "measured")
"""A comparison's columns in display order (ratios follow, in the same order)."""


def _record(row: ModelFigures, extra: Mapping[str, Any]) -> dict[str, Any]:
    """One model's cells: what it is, the study's own columns, its figures and their ratios."""
    return {"model": row.label, "spec": row.spec, "family": row.family,
            "input_shape": row.input_shape, "output_shape": row.output_shape,
            "device": row.device, **(machine_fields(row.machine) if row.machine else {}), **extra, **row.figures,
            **{f"{key}{RATIO_SUFFIX}": value for key, value in row.ratios.items()}}


def comparison_frame(rows: Sequence[ModelFigures], extras: Sequence[Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """One row per model; shapes as text ("1x3x224x224", batch included); columns in display
    order: identity, study columns, figures, ratios. ``extras``: per row, a study's own columns.
    One meaning per key: ``model`` names each model as the user wrote it, and ``spec`` (the
    registered name and every option) is there only where it says more for some row."""
    records = [_record(row, extra) for row, extra in zip(rows, extras or [{}] * len(rows))]
    if all(row.spec == row.label for row in rows):
        for record in records:
            del record["spec"]
    frame = pd.DataFrame([{key: shape_text(value) if isinstance(value, (list, tuple)) else value
                           for key, value in record.items()} for record in records])
    order = [*ORDER, *(f"{key}{RATIO_SUFFIX}" for key in ORDER)]
    frame = frame[[key for key in order if key in frame.columns]]
    # Counts stay integers where a figure is missing (pandas would turn the column to float).
    counts = [key for key in frame.columns
              if all(isinstance(r.get(key), int) and not isinstance(r.get(key), bool)
                     for r in records if r.get(key) is not None) and frame[key].notna().any()]
    return frame.astype({key: "Int64" for key in counts})


def columns_of(frame: pd.DataFrame, all_ratios: bool = True) -> list[Figure]:
    """The figures of the frame's keys: every ratio, or only those of ``RATIO_HEADERS``."""
    return [figure(key) for key in frame.columns
            if all_ratios or not key.endswith(RATIO_SUFFIX) or key.removesuffix(RATIO_SUFFIX) in RATIO_HEADERS]


_IDENTITY = set(keys("identity"))
COMPARE_HIDDEN = _IDENTITY - {"model", "input_shape"}
"""What a table or Markdown leaves out of each kind of comparison (CSV keeps every column)."""
ZOO_HIDDEN = _IDENTITY - {"model", "family", "input_shape"}
STUDY_HIDDEN = _IDENTITY - {"model"} | {"flops", "activation_bytes"}


def comparison_view(frame: pd.DataFrame, hidden: Collection[str], facts: Facts, full: bool = False) -> View:
    """A view of a comparison frame. ``full`` keeps every column and every ratio (for CSV);
    otherwise it leaves out the ``hidden`` keys and the ratios a reader needs least."""
    if full:
        columns = columns_of(frame)
    else:
        columns = columns_of(frame[[key for key in frame.columns if key not in hidden]], all_ratios=False)
    return View(columns, frame.to_dict("records"), facts, transposable=True)

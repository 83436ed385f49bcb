"""Records -> pandas DataFrames with typed columns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cnnstat.figures import figure
from cnnstat.frame.views import layer_columns, layer_records

if TYPE_CHECKING:
    from cnnstat.analysis.report import Report

INTEGER_IDENTITY = ("index", "depth", "call", "parent")


def layer_frame(report: Report) -> pd.DataFrame:
    """One row per module call, in call order (parents before children): the identity of each
    call and every figure of the report's rows (``cnnstat.figures``), typed: counts and bytes as
    integers (nullable where a figure can be missing), other numbers as floats, shapes as text."""
    columns = layer_columns(report)
    frame = pd.DataFrame(layer_records(report), columns=columns)
    types: dict[str, str] = {key: "int64" for key in INTEGER_IDENTITY} | {"is_leaf": "bool"}
    for key in report.layer_keys():
        scale = figure(key).scale
        if scale in ("raw", "si", "binary") and frame[key].map(lambda value: isinstance(value, int)).all():
            types[key] = "int64"
        elif figure(key).numeric:
            types[key] = "float64"
    return frame.astype(types)

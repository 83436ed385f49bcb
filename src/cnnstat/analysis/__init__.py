"""Static analysis (meta device) and measurement of a model: records -> Report.

Loaded lazily: the torch-free modules (``records``) can be imported without torch. ``compare()``
is ``cnnstat.compare`` (here the name is its module's)."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "LayerRecord": "cnnstat.analysis.records",
    "LayerRow": "cnnstat.analysis.records",
    "Totals": "cnnstat.analysis.records",
    "Report": "cnnstat.analysis.report",
    "profile": "cnnstat.analysis.report",
    "ModelFigures": "cnnstat.analysis.compare",
    "ModelSpec": "cnnstat.analysis.compare",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cnnstat.analysis' has no attribute {name!r}")

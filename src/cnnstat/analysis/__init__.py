"""Static analysis (meta device) and measurement of a model: records -> Report."""

from cnnstat.analysis.records import LayerRecord, Totals
from cnnstat.analysis.report import Report, profile
from cnnstat.analysis.compare import ModelFigures, ModelSpec, compare

__all__ = ["LayerRecord", "ModelFigures", "ModelSpec", "Report", "Totals", "compare", "profile"]

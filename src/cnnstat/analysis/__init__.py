"""Static analysis (meta device) and measurement of a model: records -> Report."""

from cnnstat.analysis.records import LayerRecord, Totals
from cnnstat.analysis.report import Report, profile

__all__ = ["LayerRecord", "Report", "Totals", "profile"]

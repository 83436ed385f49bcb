"""Table -> Rich table | CSV | Markdown | JSON | plots. Never imports torch."""

from cnnstat.frame.columns import Column
from cnnstat.render.table import Table

__all__ = ["Column", "Table"]

"""Table -> Rich table | CSV | Markdown | JSON | plots. Never imports torch."""

from cnnstat.render.table import Column, Table

__all__ = ["Column", "Table"]

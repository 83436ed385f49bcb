"""What ``render`` shows: a view is rows of raw figures, the figures (columns) to show, and a
small facts object (title facts, the machine of measured figures, notes, raw model-level
figures for the lines under the table). ``frame`` builds views from results; ``render``
reads views only. Pure data: no torch, no pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnstat.figures import Figure


@dataclass(frozen=True)
class Machine:
    """Where measured figures were taken: every measured figure is shown with it."""

    device: str
    device_name: str
    threads: int
    torch_version: str


@dataclass
class Facts:
    title: list[str] = field(default_factory=list)
    """Facts the title states, in order ("resnet50", "input 1x3x224x224", "float32", ...)."""
    machine: Machine | None = None
    notes: list[str] = field(default_factory=list)
    """Sentences under the table, in order."""
    figures: dict[str, Any] = field(default_factory=dict)
    """Raw model-level figures the lines under the table state (summary totals, a roofline,
    a machine's probed peak, sweep fits), keyed as in ``cnnstat.figures`` or the JSON."""
    warnings: list[str] = field(default_factory=list)
    """What makes a figure less trustworthy (a wide spread of timings): shown under the table
    and on stderr."""


@dataclass
class View:
    columns: list[Figure]
    rows: list[dict[str, Any]]
    facts: Facts = field(default_factory=Facts)
    kind: str = ""
    """Which lines ``render`` writes under the table from ``facts`` (summary, bench, sweep;
    "" for notes and the machine only)."""
    total: dict[str, Any] | None = None
    """A totals row shown under the rows (table and markdown) but not in CSV."""
    indent: list[int] | None = None
    """Tree depth of each row, to indent the first column."""
    transposable: bool = False
    """One row per model: a terminal too narrow for it may show models as columns."""

    @property
    def title(self) -> str:
        return "  ".join(self.facts.title)

    def only(self, keys: list[str]) -> View:
        """The same view with the columns ``keys`` (in that order), the first column kept first."""
        by_key = {column.key: column for column in self.columns}
        chosen = [self.columns[0], *(by_key[key] for key in keys if key in by_key and key != self.columns[0].key)]
        return View(chosen, self.rows, self.facts, self.kind, self.total, self.indent, self.transposable)

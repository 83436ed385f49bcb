"""What ``render`` shows: a view is rows of raw figures, the figures (columns) to show, and a
facts object of the kind of the table (title facts, the machine of measured figures, notes, and
for a summary, a bench or a sweep, the typed model-level figures of the lines under the table).
``frame`` builds views from results; ``render`` reads views only. Pure data: no torch, no pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from cnnstat.analysis.records import Fit, Machine, Measured, RooflineSummary, Totals
from cnnstat.figures import Figure

if TYPE_CHECKING:
    from cnnstat.analysis.parts import Part
    from cnnstat.analysis.receptive_field import FieldSummary

__all__ = ["BenchFacts", "Facts", "Machine", "ProbedPeak", "SummaryFacts", "SweepFacts", "View"]


@dataclass(frozen=True)
class Facts:
    title: Sequence[str] = ()
    """Facts the title states, in order ("resnet50", "input 1x3x224x224", "float32", ...)."""
    machine: Machine | None = None
    notes: Sequence[str] = ()
    """Sentences under the table, in order."""
    warnings: Sequence[str] = ()
    """What makes a figure less trustworthy (a wide spread of timings): shown under the table
    and on stderr."""


@dataclass(frozen=True, kw_only=True)
class SummaryFacts(Facts):
    """The model-level figures under a summary's table."""

    totals: Totals
    measured: Measured | None
    conventions: str
    uncounted_ops: Mapping[str, int]
    roofline: RooflineSummary | None
    receptive_field: FieldSummary | None
    parts: Sequence[Part]


@dataclass(frozen=True)
class ProbedPeak:
    """A machine's probed peak FLOP/s at one dtype and its memory bandwidth."""

    device_name: str
    dtype: str
    peak_flops: float
    bandwidth_bytes_per_s: float


@dataclass(frozen=True, kw_only=True)
class BenchFacts(Facts):
    measured_mode: str | None
    """eval (a forward) or train (a training step); None where nothing was measured."""
    peak: ProbedPeak | None


@dataclass(frozen=True, kw_only=True)
class SweepFacts(Facts):
    fits: Sequence[Fit]


@dataclass(frozen=True)
class View:
    columns: list[Figure]
    rows: list[dict[str, Any]]
    facts: Facts = field(default_factory=Facts)
    """Which lines ``render`` writes under the table: by the facts' type."""
    total: dict[str, Any] | None = None
    """A totals row shown under the rows (table and markdown) but not in CSV."""
    indent: list[int] | None = None
    """Tree depth of each row, to indent the first column."""
    transposable: bool = False
    """One row per model: a terminal too narrow for it may show models as columns."""

    @property
    def title(self) -> str:
        return "  ".join(self.facts.title)

    def only(self, keys: Sequence[str]) -> View:
        """The same view with the columns ``keys`` (in that order), the first column kept first."""
        by_key = {column.key: column for column in self.columns}
        chosen = [self.columns[0], *(by_key[key] for key in keys if key in by_key and key != self.columns[0].key)]
        return replace(self, columns=chosen)

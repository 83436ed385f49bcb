"""The lines under a table, from a view's facts, by their type: the figures the rows do not
show, notes, the machine of measured figures (stated the same way by every command) and warnings."""

from __future__ import annotations

from cnnstat.frame.view import BenchFacts, Facts, SummaryFacts, SweepFacts, View
from cnnstat.render.bench import bench_lines
from cnnstat.render.machine import machine_line
from cnnstat.render.summary import summary_lines
from cnnstat.render.sweep import sweep_lines


def fact_lines(facts: Facts) -> list[str]:
    """The lines a table's facts give, warnings left aside."""
    if isinstance(facts, SummaryFacts):
        return summary_lines(facts)
    if isinstance(facts, BenchFacts):
        return bench_lines(facts)
    if isinstance(facts, SweepFacts):
        return sweep_lines(facts)
    return [*facts.notes, *([machine_line(facts.machine) + "."] if facts.machine else [])]


def footer_lines(view: View) -> list[str]:
    return fact_lines(view.facts) + [f"Warning: {warning}" for warning in view.facts.warnings]

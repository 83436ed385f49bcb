"""The lines under the table of `cnnstat sweep`: the fitted exponents, why a model departs."""

from __future__ import annotations

from typing import Sequence

from cnnstat.analysis.records import Fit
from cnnstat.figures import figure
from cnnstat.frame.view import SweepFacts
from cnnstat.render.machine import machine_line


def fit_lines(fits: Sequence[Fit]) -> list[str]:
    """'Growth against pixels (batch 1): MACs ^1.000  Eval peak ^0.154 ...', one line per axis."""
    lines = []
    for against in ("pixels", "batch"):
        chosen = [fit for fit in fits if fit.against == against]
        if chosen:
            exponents = "   ".join(f"{figure(fit.figure).header} ^{fit.exponent:.3f}" for fit in chosen)
            lines.append(f"Growth against {against} ({chosen[0].held}, log-log least squares): {exponents}")
    return lines


def sweep_lines(facts: SweepFacts) -> list[str]:
    lines = [*fit_lines(facts.fits), *facts.notes,
             "Fixed-size MACs: the share of layers whose cost is the same at every input size of the sweep."]
    if facts.machine:
        lines.append(f"{machine_line(facts.machine)}; latency is the median of a forward.")
    return lines

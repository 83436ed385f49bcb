"""The table of `cnnstat sweep`: one row per (input, batch), the fitted exponents below."""

from __future__ import annotations

from typing import Any, Mapping

from cnnstat.figures import figure, group
from cnnstat.render.table import Table


def sweep_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The points of ``SweepResult.to_dict()`` as flat rows (share in percent)."""
    return [{**point, "fixed_share_pct": 100 * point["fixed_share"]} for point in data["points"]]


def fit_lines(data: Mapping[str, Any]) -> list[str]:
    """'Growth against pixels (batch 1): MACs ^1.000  Eval peak ^0.154 ...', one line per axis."""
    lines = []
    for against in ("pixels", "batch"):
        fits = [fit for fit in data["fits"] if fit["against"] == against]
        if fits:
            exponents = "   ".join(f"{figure(fit['figure']).header} ^{fit['exponent']:.3f}" for fit in fits)
            lines.append(f"Growth against {against} ({fits[0]['held']}, log-log least squares): {exponents}")
    return lines


def sweep_table(data: Mapping[str, Any]) -> Table:
    measured = bool(data["machine"])
    columns = group("sweep", "sweep_measured") if measured else group("sweep")
    title = f"{data['model']}  sweep  {data['dtype']}  {data['mode']}  device {data['device']}"
    footer = [*fit_lines(data), *data["explanation"],
              "Fixed-size MACs: the share of layers whose cost is the same at every input size of the sweep."]
    if measured:
        machine = data["machine"]
        footer.append(f"Measured on {machine['device_name']} ({data['device']}, {machine['threads']} threads, "
                      f"torch {machine['torch_version']}); latency is the median of a forward.")
    footer += [f"Note: {note}" for note in data["notes"]]
    return Table(columns, sweep_rows(data), title=title, footer=footer)

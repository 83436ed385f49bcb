"""`cnnstat crosscheck` data (plain dicts) -> Tables: per-layer figures side by side, and the
conventions that explain each tool's difference from our MACs."""

from __future__ import annotations

from typing import Any, Mapping

from cnnstat.figures import Figure, figure, group, shape_text
from cnnstat.render.table import Table


def layers_table(data: Mapping[str, Any]) -> Table:
    tools = data["tools"]
    columns = [*group("crosscheck"), *[Figure(tool, tool, "raw") for tool in tools], figure("unexplained")]
    rows = [_row(row, tools) for row in [*data["layers"], data["totals"]]]
    inputs = shape_text(data["input_shape"])
    skipped = [f"{tool}: {why}" for tool, why in data["skipped"].items()]
    footer = ["Each tool's figure per leaf module (cnnstat: MACs); every one is predicted from our record by the "
              "tool's convention (see the rules table).", *(["Not run: " + "; ".join(skipped)] if skipped else [])]
    return Table(columns, rows, title=f"{data['model']}  input {inputs}: cnnstat vs {', '.join(tools)}",
                 footer=footer)


def _row(row: Mapping[str, Any], tools: list[str]) -> dict[str, Any]:
    missed = [f"{tool} predicted {row[tool]['predicted']:,}" for tool in tools if not row[tool]["explained"]]
    return {"layer": row["layer"], "type": row["type"], "cnnstat_macs": row["macs"],
            **{tool: row[tool]["reported"] for tool in tools}, "unexplained": "; ".join(missed)}


def rules_table(data: Mapping[str, Any]) -> Table:
    columns = group("crosscheck_rules")
    unexplained = len(data["unexplained"])
    footer = [f"{unexplained} figure(s) left unexplained." if unexplained else "Every difference is explained."]
    return Table(columns, list(data["rules"]), title="Where the differences come from", footer=footer)

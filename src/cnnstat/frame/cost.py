"""Where a model's cost is: its layers ranked by a figure (``--sort``, ``--top``), its leaf
layers alone (``--leaves``), and its cost summed by layer type and by operator (as fvcore's
``by_module_type`` and ``by_operator`` do). Views of a report (``cnnstat.frame.view``), for
every format."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cnnstat.figures import figure, group
from cnnstat.frame.view import Facts, View
from cnnstat.frame.views import summary_view

if TYPE_CHECKING:
    from cnnstat.analysis.records import LayerRow
    from cnnstat.analysis.report import Report

BY = ("type", "operator")
"""What ``--by`` sums the cost by."""


def full_name(report: Report, layer: LayerRow) -> str:
    """A layer's qualified name (the model's for the root), and which call: a flat list's rows
    need the whole name, a tree's only the last part."""
    return (layer.name or report.model) + (f" (call {layer.call + 1})" if layer.call else "")


def ranked_view(report: Report, sort: str | None = None, top: int | None = None, leaves: bool = False) -> View:
    """The summary's rows flat, with full names: leaf layers only (``leaves``; always when
    ranked: a container's figures include its children's), the largest ``sort`` figure first
    (missing figures last), the first ``top`` of them; the totals row and the lines under the
    table stay the whole model's."""
    leaves = leaves or sort is not None
    tree = summary_view(report)
    rows = [row | {"layer": full_name(report, layer)} for row, layer in zip(tree.rows, report.layers)
            if layer.is_leaf or not leaves]
    if sort is not None:
        rows.sort(key=lambda row: (row.get(sort) is None, -(row.get(sort) or 0)))
    shown = rows[:top] if top is not None else rows
    facts = tree.facts
    said = [*(["leaf layers"] if leaves else []), *([f"largest {figure(sort).long_name} first"] if sort else []),
            *([f"the first {len(shown)} of {len(rows)}"] if top is not None and top < len(rows) else [])]
    if said:
        facts = replace(facts, notes=[*facts.notes, "showing " + ", ".join(said)])
    return View(tree.columns, shown, facts, total=tree.total)


def by_type_rows(report: Report) -> list[dict[str, Any]]:
    """Each layer type's own work summed over its module calls (a container's own work, such
    as a residual add, under its own type), so the rows add up to the model; largest MACs first."""
    sums: dict[str, dict[str, Any]] = {}
    for layer in report.layers:
        own = layer.counted
        if not (layer.is_leaf or own.own_macs or own.own_flops or own.own_params):
            continue
        row = sums.setdefault(layer.type, {"layer_type": layer.type, "calls": 0, "params": 0, "macs": 0,
                                           "flops": 0, "activation_bytes": None})
        row["calls"] += 1
        row["params"] += own.own_params
        row["macs"] += own.own_macs
        row["flops"] += own.own_flops
        if layer.is_leaf:  # a container's output is its last child's: counted there
            row["activation_bytes"] = (row["activation_bytes"] or 0) + layer.activation_bytes
    return _with_shares(list(sums.values()), report.totals.macs)


def by_operator_rows(report: Report) -> list[dict[str, Any]]:
    """Each aten op's calls, MACs and FLOPs over the whole forward; largest MACs first."""
    sums: dict[str, dict[str, Any]] = {}
    for layer in report.layers:
        for op, tally in layer.counted.forward_ops.items():
            row = sums.setdefault(op, {"operator": op, "calls": 0, "macs": 0, "flops": 0})
            row["calls"] += tally.calls
            row["macs"] += tally.macs
            row["flops"] += tally.flops
    return _with_shares(list(sums.values()), report.totals.macs)


def _with_shares(rows: list[dict[str, Any]], total_macs: int) -> list[dict[str, Any]]:
    for row in rows:
        row["macs_pct"] = 100 * row["macs"] / total_macs if total_macs else None
    return sorted(rows, key=lambda row: (-row["macs"], -row["flops"]))


def by_view(report: Report, by: str) -> View:
    """The model's cost summed by layer type or by operator, with a totals row."""
    rows = by_type_rows(report) if by == "type" else by_operator_rows(report)
    first = "layer_type" if by == "type" else "operator"
    keys = ["params", "macs", "flops", "activation_bytes"] if by == "type" else ["macs", "flops"]
    total = {first: "Total", "calls": sum(row["calls"] for row in rows),
             **{key: sum(row[key] or 0 for row in rows) for key in keys}, "macs_pct": 100.0 if report.totals.macs else None}
    what = ("the own work of every module call, by its type (a container's own work, such as a residual add, "
            "under the container's type)" if by == "type" else "every op of the forward, by aten op")
    facts = Facts(title=[report.model, f"cost by {'layer type' if by == 'type' else 'operator'}"],
                  notes=[f"Rows: {what}; they add up to the model's totals. Largest MACs first."])
    return View(group("by_type" if by == "type" else "by_operator"), rows, facts, total=total)

"""Results -> views (``cnnstat.frame.view``): the one place a result of the analysis becomes
rows and facts for ``render``. Reads the result dataclasses, never their JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from cnnstat.analysis.records import CONVENTIONS, LAYER_IDENTITY, ROW_LABEL, LayerRow, Measured
from cnnstat.figures import KEPT_PRIORITY, Figure, figure, group, shape_text
from cnnstat.frame.view import Facts, SummaryFacts, SweepFacts, View

if TYPE_CHECKING:
    from cnnstat.analysis.crosscheck import CrossCheck
    from cnnstat.analysis.report import Report
    from cnnstat.analysis.studies import Study
    from cnnstat.analysis.sweep import SweepResult
    from cnnstat.zoo._registry import ModelEntry


# -- lists -----------------------------------------------------------------------------------

def list_view(entries: Sequence[ModelEntry], aliases: Mapping[str, str]) -> View:
    """The zoo's entries (``cnnstat.zoo.get_entry``) with their published figures and paper."""
    rows = [{"model": entry.name, "family": entry.family, "input_size": list(entry.input_size),
             "published_params": entry.num_params, "published_gmacs": entry.gmacs,
             "paper": entry.paper.title if entry.paper else None,
             "year": entry.paper.year if entry.paper else None} for entry in entries]
    notes = [f"{len(rows)} models; aliases: " + ", ".join(f"{a} -> {t}" for a, t in aliases.items())]
    return View(group("list"), rows, Facts(notes=notes))


def study_list_view(studies: Sequence[Study]) -> View:
    rows = [{"study": study.name, "title": study.title, "source": study.source} for study in studies]
    return View(group("study_list"), rows, Facts(title=["Studies (cnnstat study NAME)"]))


# -- summary -------------------------------------------------------------------------------

SUMMARY_HIDDEN = frozenset({"trainable_params"})
"""Figures of the data formats a summary's table leaves out (CSV, JSON and the DataFrame keep them)."""


def measured_warnings(measured: Measured | None) -> list[str]:
    """What makes a measurement less trustworthy: a wide spread, contention (each names its model)."""
    if measured is None:
        return []
    candidates = (measured.spread_warning, measured.conditions and measured.conditions.contention)
    return [warning for warning in candidates if warning]


def layer_label(report: Report, row: LayerRow) -> str:
    """The row's short name: its last name part, the model's name for the root, and which call."""
    label = row.name.rsplit(".", 1)[-1] if row.name else report.model
    return label + (f" (call {row.call + 1})" if row.call else "")


def summary_view(report: Report, depth: int | None = None) -> View:
    """One row per module call down to ``depth`` (a row at the limit stands for its subtree:
    its figures are inclusive), a totals row, and the model's totals for the lines below."""
    columns = [column for column in group(*report.layer_groups()) if column.key not in SUMMARY_HIDDEN]
    shown = [row for row in report.layers if depth is None or row.depth <= depth]
    rows = [{ROW_LABEL: layer_label(report, row), **{c.key: row.figure(c.key) for c in columns[1:]}} for row in shown]
    measured, roofline = report.measured, report.roofline
    totals = asdict(report.totals) | (measured.totals_dict() if measured else {}) \
        | ({"achieved_flops_per_s": roofline.achieved_flops_per_s} if roofline else {})
    total = {ROW_LABEL: "Total", **{column.key: totals.get(column.key) for column in columns[1:]}}
    where = f"static pass on {report.device}" + (f", measured on {measured.machine.device}" if measured else "")
    inputs = ", ".join(shape_text(shape) for shape in report.input_shapes)  # every input of a two-input model
    facts = SummaryFacts(
        title=[report.model, f"input{'s' if len(report.input_shapes) > 1 else ''} {inputs}", report.dtype,
               report.mode, where],
        machine=measured.machine if measured else None, notes=list(report.notes),
        warnings=measured_warnings(measured),
        totals=report.totals, measured=measured, conventions=CONVENTIONS, uncounted_ops=report.uncounted_ops,
        roofline=roofline, receptive_field=report.receptive_field, parts=report.parts)
    return View(columns, rows, facts, total=total, indent=[row.depth for row in shown])


def layer_columns(report: Report) -> list[str]:
    """The columns of the layer data, in order: identity, then every figure of the rows."""
    return [*LAYER_IDENTITY, *report.layer_keys()]


def layer_records(report: Report) -> list[dict[str, Any]]:
    """Each row's identity and figures (``Report.row_data``), shapes as text ("1x3x224x224", inputs
    joined by ", "), the model's own row without a parent (-1): the cells of the DataFrame and CSV."""
    records = []
    for row in report.layers:
        data = report.row_data(row)
        data["parent"] = -1 if row.parent is None else row.parent
        data["input_shapes"] = ", ".join(shape_text(shape) for shape in row.input_shapes)
        for key in report.layer_keys():
            if figure(key).scale == "shape":
                data[key] = shape_text(data[key])
        records.append(data)
    return records


def layer_csv_view(report: Report) -> View:
    """Every column of the layer data, raw: what ``summary --format csv`` writes (the DataFrame's columns)."""
    return View([Figure(key, key) for key in layer_columns(report)], layer_records(report))


# -- sweep ---------------------------------------------------------------------------------

def sweep_rows(result: SweepResult) -> list[dict[str, Any]]:
    return [asdict(point) | {"fixed_share_pct": 100 * point.fixed_share} for point in result.points]


def sweep_view(result: SweepResult) -> View:
    from cnnstat.analysis.sweep import explain

    facts = SweepFacts(title=[result.model, "sweep", result.dtype, result.mode, f"device {result.device}"],
                       machine=result.machine, notes=[*explain(result), *(f"Note: {note}" for note in result.notes)],
                       fits=result.fits)
    return View(group("sweep", "sweep_measured") if result.machine else group("sweep"), sweep_rows(result), facts)


def sweep_csv_view(result: SweepResult) -> View:
    return View(group("sweep", "sweep_measured"), sweep_rows(result))


# -- crosscheck ----------------------------------------------------------------------------

def crosscheck_views(result: CrossCheck) -> tuple[View, View]:
    """Per-layer figures of every tool beside ours, and the conventions that explain them."""
    tools = result.tools
    rows = []
    for row in [*result.rows, result.totals]:
        missed = [f"{tool} predicted {c.predicted:,}" for tool, c in row.tools.items() if not c.explained]
        rows.append({"layer": row.layer, "type": row.type, "cnnstat_macs": row.macs,
                     **{tool: c.reported for tool, c in row.tools.items()}, "unexplained": "; ".join(missed)})
    skipped = [f"{tool}: {why}" for tool, why in result.skipped.items()]
    notes = ["Each tool's figure per leaf module (cnnstat: MACs); every one is predicted from our record by the "
             "tool's convention (see the rules table).", *(["Not run: " + "; ".join(skipped)] if skipped else [])]
    layers = View([*group("crosscheck"), *(Figure(tool, tool, "si", priority=KEPT_PRIORITY) for tool in tools), figure("unexplained")], rows,
                  Facts(title=[result.model, f"input {shape_text(result.input_shape)}: cnnstat vs {', '.join(tools)}"],
                        notes=notes))
    unexplained = len(result.unexplained)
    rules = View(group("crosscheck_rules"), result.rule_summary(),
                 Facts(title=["Where the differences come from"],
                       notes=[f"{unexplained} figure(s) left unexplained." if unexplained
                              else "Every difference is explained."]))
    return layers, rules

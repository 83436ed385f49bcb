"""Results -> views (``cnnstat.frame.view``): the one place a result of the analysis becomes
rows and facts for ``render``. Reads the result dataclasses, never their JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Mapping, Sequence

from cnnstat.figures import KEPT_PRIORITY, Figure, figure, group, shape_text
from cnnstat.frame.view import Facts, Machine, View


def machine_of(measured) -> Machine | None:
    """The machine of a ``Measured`` (or of anything with its four fields), or None."""
    if measured is None:
        return None
    return Machine(measured.device, measured.device_name, measured.threads, measured.torch_version)


def machine_from(device: str, fields: Mapping[str, Any]) -> Machine | None:
    """The machine of a dict with device_name, threads and torch_version (empty on meta)."""
    if not fields:
        return None
    return Machine(device, fields["device_name"], fields["threads"], fields["torch_version"])


# -- lists -----------------------------------------------------------------------------------

def list_view(entries: Sequence, aliases: Mapping[str, str]) -> View:
    """The zoo's entries (``cnnstat.zoo.get_entry``) with their published figures and paper."""
    rows = [{"model": entry.name, "family": entry.family, "input_shape": list(entry.input_size),
             "published_params": entry.num_params, "published_gmacs": entry.gmacs,
             "paper": entry.paper.title if entry.paper else None,
             "year": entry.paper.year if entry.paper else None} for entry in entries]
    notes = [f"{len(rows)} models; aliases: " + ", ".join(f"{a} -> {t}" for a, t in aliases.items())]
    return View(group("list"), rows, Facts(notes=notes))


def study_list_view(studies: Sequence) -> View:
    rows = [{"study": study.name, "title": study.title, "source": study.source} for study in studies]
    return View(group("study_list"), rows, Facts(title=["Studies (cnnstat study NAME)"]))


# -- summary -------------------------------------------------------------------------------

def latency_shares(report) -> list[float | None]:
    """Each row's share of the time, in percent. In eval, shares of the model's own row (the
    forward as the same hooks timed it), so the model is 100%; a training step's rows are shares
    of the whole step (forward, backward, update), as the footer says."""
    latencies = report.layer_latency_ms()
    root = latencies[0]
    whole = root if report.measured.mode == "eval" and root else report.measured.latency_ms
    return [None if value is None else 100 * value / whole for value in latencies]


def measured_warnings(measured) -> list[str]:
    """What makes a measurement less trustworthy: a wide spread, contention (each names its model)."""
    if measured is None:
        return []
    candidates = (measured.spread_warning, measured.conditions and measured.conditions.contention)
    return [warning for warning in candidates if warning]


def layer_label(report, layer) -> str:
    """The row's short name: its last name part, the model's name for the root, and which call."""
    label = layer.name.rsplit(".", 1)[-1] if layer.name else report.model
    return label + (f" (call {layer.call + 1})" if layer.call else "")


def summary_view(report, depth: int | None = None) -> View:
    """One row per module call down to ``depth`` (a row at the limit stands for its subtree:
    its figures are inclusive), a totals row, and the model's totals for the lines below."""
    from cnnstat.frame.build import field_columns

    measured = report.measured
    fields = report.receptive_field is not None
    shares = latency_shares(report) if measured else [None] * len(report.layers)
    latencies = report.layer_latency_ms()
    roofs = report.layer_rooflines()
    rows, indent = [], []
    for layer, latency, share, roof in zip(report.layers, latencies, shares, roofs):
        if depth is not None and layer.depth > depth:
            continue
        rows.append({"layer": layer_label(report, layer), "type": layer.type, "description": layer.description,
                     "output_shape": layer.output_shape, "params": layer.params, "macs": layer.macs,
                     "flops": layer.flops, "backward_macs": layer.backward_macs,
                     "activation_bytes": layer.output_bytes, "latency_ms": latency, "latency_pct": share,
                     **(field_columns(layer) if fields else {}),
                     **({"intensity_flop_per_byte": roof.intensity, "achieved_flops_per_s": roof.achieved_flops_per_s,
                         "bound": roof.bound} if roof else {})})
        indent.append(layer.depth)
    totals = asdict(report.totals) | (measured.totals_dict() if measured else {})
    roofline = report.roofline.to_dict() if report.roofline is not None else None
    total = {"layer": "Total", "params": totals["params"], "macs": totals["macs"], "flops": totals["flops"],
             "backward_macs": totals["backward_macs"],
             "activation_bytes": totals["activation_bytes"], "latency_ms": totals.get("latency_ms"),
             "achieved_flops_per_s": roofline["achieved_flops_per_s"] if roofline else None}
    groups = ["layer", *(["train_layer"] if report.mode == "train" else []),
              *(["receptive_field"] if fields else []), *(["latency"] if measured else []),
              *(["roofline"] if roofline else [])]
    where = f"static pass on {report.device}" + (f", measured on {measured.device}" if measured else "")
    from cnnstat.analysis.report import CONVENTIONS

    inputs = ", ".join(shape_text(shape) for shape in report.input_shapes)  # every input of a two-input model
    facts = Facts(title=[report.model, f"input{'s' if len(report.input_shapes) > 1 else ''} {inputs}", report.dtype,
                         report.mode, where],
                  machine=machine_of(measured), notes=list(report.notes),
                  figures={"totals": totals, "conventions": CONVENTIONS, "uncounted_ops": dict(report.uncounted_ops),
                           "roofline": roofline,
                           "receptive_field": asdict(report.receptive_field) if fields else None,
                           "parts": [part.to_dict() for part in report.parts]},
                  warnings=measured_warnings(measured))
    return View(group(*groups), rows, facts, kind="summary", total=total, indent=indent)


def layer_csv_view(frame) -> View:
    """Every column of the layer frame, raw: what ``summary --format csv`` writes."""
    return View([Figure(str(key), str(key)) for key in frame.columns], frame.to_dict("records"))


# -- bench ---------------------------------------------------------------------------------

def bench_row(report, machine=None) -> dict[str, Any]:
    """One configuration (model x batch) of ``cnnstat bench``, raw."""
    from cnnstat.analysis.roofline import achieved_flops_per_s, peak_fraction

    row = {"model": report.model, "batch": report.batch, "flops": report.totals.flops,
           "est_peak_inference_bytes": report.totals.est_peak_inference_bytes,
           "est_peak_training_bytes": report.totals.est_peak_training_bytes}
    if report.measured is None:
        row["skipped"] = "not measured: the device cannot hold it (static estimate)"
        return row
    row |= report.measured.totals_dict() | {"achieved_flops_per_s": achieved_flops_per_s(report)}
    if machine:
        row["peak_fraction"] = 100 * peak_fraction(report, machine)
    return row


def bench_view(reports: Sequence, rows: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
               peak: Mapping[str, Any] | None) -> View:
    """``peak``: the machine's probed peak FLOP/s and bandwidth, with --roofline."""
    measured = next((report.measured for report in reports if report.measured is not None), None)
    notes = [f"{row['model']} at batch {row['batch']}: {row['skipped']}" for row in rows if row.get("skipped")]
    models = ", ".join(dict.fromkeys(str(row["model"]) for row in rows))
    facts = Facts(title=[models, *(f"{key} {value}" for key, value in settings.items() if value not in (None, False))],
                  machine=machine_of(measured), notes=notes,
                  figures={"measured_mode": measured.mode if measured else None, "peak": peak},
                  # Each warning names its model and batch already.
                  warnings=[warning for report in reports for warning in measured_warnings(report.measured)])
    return View(group("bench", "bench_roofline") if peak else group("bench"), [dict(row) for row in rows], facts,
                kind="bench")


# -- sweep ---------------------------------------------------------------------------------

def sweep_rows(result) -> list[dict[str, Any]]:
    return [asdict(point) | {"fixed_share_pct": 100 * point.fixed_share} for point in result.points]


def sweep_view(result) -> View:
    from cnnstat.analysis.sweep import explain

    machine = machine_from(result.device, result.machine)
    facts = Facts(title=[result.model, "sweep", result.dtype, result.mode, f"device {result.device}"],
                  machine=machine, notes=[*explain(result), *(f"Note: {note}" for note in result.notes)],
                  figures={"fits": [asdict(fit) for fit in result.fits]})
    return View(group("sweep", "sweep_measured") if machine else group("sweep"), sweep_rows(result), facts,
                kind="sweep")


def sweep_csv_view(result) -> View:
    return View(group("sweep", "sweep_measured"), sweep_rows(result))


# -- crosscheck ----------------------------------------------------------------------------

def crosscheck_views(result) -> tuple[View, View]:
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

"""The table of `cnnstat summary`: layer frame + totals -> Table (tree, folded by depth)."""

from __future__ import annotations

from typing import Any, Mapping

from cnnstat.frame.columns import LAYER_COLUMNS
from cnnstat.render.table import Table
from cnnstat.render.units import human_bytes, human_count


def fold(frame, depth: int | None):
    """Rows down to ``depth``; a row at the limit stands for its subtree (its figures are inclusive)."""
    return frame if depth is None else frame[frame["depth"] <= depth]


def summary_table(frame, report: Mapping[str, Any], depth: int | None = None) -> Table:
    shown = fold(frame, depth)
    rows = []
    for record in shown.to_dict("records"):
        short = record["name"].rsplit(".", 1)[-1] if record["name"] else report["model"]
        if record["call"]:
            short += f" (call {record['call'] + 1})"
        rows.append({**record, "layer": short, "output_shape": record["output_shape"].split(", ")[0]})
    totals = report["totals"]
    total_row = {"layer": "Total", "params": totals["params"], "macs": totals["macs"], "flops": totals["flops"],
                 "activation_bytes": totals["activation_bytes"]}
    title = (f"{report['model']}  input {'x'.join(map(str, report['input_shape']))}  {report['dtype']}  "
             f"{report['mode']}  device {report['device']}")
    return Table(LAYER_COLUMNS, rows, title=title, footer=summary_footer(report), total=total_row,
                 indent=[int(d) for d in shown["depth"]])


def summary_footer(report: Mapping[str, Any]) -> list[str]:
    t = report["totals"]
    lines = [
        f"Params: {t['params']:,} ({human_count(t['params'])}), trainable {t['trainable_params']:,}"
        + (f", {t['unused_params']:,} in modules this forward did not call" if t["unused_params"] else ""),
        f"MACs: {human_count(t['macs'])}   FLOPs: {human_count(t['flops'])}   "
        f"backward MACs (train step): {human_count(t['backward_macs'])}",
        f"Parameters: {human_bytes(t['param_bytes'])}   buffers: {human_bytes(t['buffer_bytes'])}   "
        f"input: {human_bytes(t['input_bytes'])}   sum of layer outputs: {human_bytes(t['activation_bytes'])}",
        f"Estimated peak memory, inference: {human_bytes(t['est_peak_inference_bytes'])} "
        f"(activations at peak {human_bytes(t['peak_activation_bytes'])})",
        f"Estimated peak memory, training step: {human_bytes(t['est_peak_training_bytes'])} "
        f"(saved for backward {human_bytes(t['saved_for_backward_bytes'])}, gradients {human_bytes(t['grad_bytes'])}); "
        f"optimizer state: SGD-momentum +{human_bytes(t['optimizer_sgd_momentum_bytes'])}, "
        f"Adam +{human_bytes(t['optimizer_adam_bytes'])}",
        report["conventions"],
    ]
    if report["uncounted_ops"]:
        ops = ", ".join(f"{op} x{count}" for op, count in report["uncounted_ops"].items())
        lines.append(f"Uncounted ops (no cost rule): {ops}")
    return lines

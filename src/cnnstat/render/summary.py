"""The table of `cnnstat summary`: layer frame + totals -> Table (tree, folded by depth)."""

from __future__ import annotations

from typing import Any, Mapping

from cnnstat.figures import group, shape_text
from cnnstat.render.table import Table
from cnnstat.render.units import human_bytes, human_count, human_flop_rate


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
                 "backward_macs": totals["backward_macs"],
                 "activation_bytes": totals["activation_bytes"], "latency_ms": totals.get("latency_ms"),
                 "achieved_flops_per_s": report.get("roofline", {}).get("achieved_flops_per_s")}
    columns = group("layer", *(["train_layer"] if "backward_macs" in frame.columns else []),
                    *(["receptive_field"] if "receptive_field" in frame.columns else []),
                    *(["latency"] if "latency_ms" in frame.columns else []),
                    *(["roofline"] if "bound" in frame.columns else []))
    title = (f"{report['model']}  input {shape_text(report['input_shape'])}  {report['dtype']}  "
             f"{report['mode']}  static pass on {report['device']}"
             + (f", measured on {report['totals']['measured_device']}" if "measured_device" in report["totals"] else ""))
    return Table(columns, rows, title=title, footer=summary_footer(report), total=total_row,
                 indent=[int(d) for d in shown["depth"]])


def summary_footer(report: Mapping[str, Any]) -> list[str]:
    t = report["totals"]
    lines = [
        f"Params: {t['params']:,} ({human_count(t['params'])}), trainable {t['trainable_params']:,}"
        + (f", {t['unused_params']:,} not used by this forward" if t["unused_params"] else ""),
        f"MACs: {human_count(t['macs'])}   FLOPs: {human_count(t['flops'])}"
        + (f"   backward MACs (train step): {human_count(t['backward_macs'])}" if t["backward_macs"] is not None else ""),
        f"Parameters: {human_bytes(t['param_bytes'])}   buffers: {human_bytes(t['buffer_bytes'])}   "
        f"input: {human_bytes(t['input_bytes'])}   sum of layer outputs: {human_bytes(t['activation_bytes'])}",
        f"Estimated peak memory, inference: {human_bytes(t['est_peak_inference_bytes'])} "
        f"(activations at peak {human_bytes(t['peak_activation_bytes'])})",
    ]
    if t["est_peak_training_bytes"] is not None:
        lines.append(
            f"Estimated peak memory, training step: {human_bytes(t['est_peak_training_bytes'])} "
            f"(saved for backward {human_bytes(t['saved_for_backward_bytes'])}, "
            f"gradients {human_bytes(t['grad_bytes'])}); with the optimizer's step: "
            f"SGD-momentum {human_bytes(t['est_peak_training_sgd_bytes'])} "
            f"(state +{human_bytes(t['optimizer_sgd_momentum_bytes'])}), "
            f"Adam {human_bytes(t['est_peak_training_adam_bytes'])} (state +{human_bytes(t['optimizer_adam_bytes'])})"
        )
    lines.append(report["conventions"])
    if report["uncounted_ops"]:
        ops = ", ".join(f"{op} x{count}" for op, count in report["uncounted_ops"].items())
        lines.append(f"Uncounted ops (no cost rule): {ops}")
    if report.get("receptive_field"):
        lines.append(field_footer(report["receptive_field"]))
    lines += [f"Note: {note}" for note in report.get("notes", [])]
    if "latency_ms" in t:
        lines += measured_footer(t)
    if "roofline" in report:
        lines.append(roofline_footer(report["roofline"]))
    return lines


def field_footer(field: Mapping[str, Any]) -> str:
    """Where the receptive field reaches the whole input, and the last field that is local."""
    size = "x".join(map(str, field["input_size"]))
    reach = (f"reaches the whole {size} input at {field['covers_at']} (where a central output pixel sees every "
             f"input pixel the net reads)" if field["covers_at"] else f"never reaches the whole {size} input")
    last = field["last_spatial"]
    if last is not None:
        reach += (f"; last local field {'x'.join(map(str, last['size']))}, jump {'x'.join(map(str, last['jump']))}, "
                  f"at {field['last_spatial_at']}")
    unread = (field["output"] or {}).get("last_pixel")
    if unread and any(pixel is not None for pixel in unread):
        reach += (" (strides leave the input's last pixels unread: the output sees none past "
                  + "x".join("end" if pixel is None else str(pixel) for pixel in unread) + ")")
    return (f"Receptive field (input pixels one output pixel sees, through every branch): {reach}. "
            f"Own RF: a layer's field over its own input.")


def roofline_footer(roofline: Mapping[str, Any]) -> str:
    return (f"Roofline of {roofline['device_name']} ({roofline['threads']} threads, {roofline['dtype']}; probed once and "
            f"cached, --reprobe on an idle machine to renew): peak {human_flop_rate(roofline['peak_flops_per_s'])}, "
            f"bandwidth {human_bytes(roofline['bandwidth_bytes_per_s'])}/s, ridge {roofline['ridge_flop_per_byte']:.1f} "
            f"FLOP/byte (a layer below it is memory-bound); the model achieves "
            f"{human_flop_rate(roofline['achieved_flops_per_s'])}, {roofline['peak_fraction']:.1%} of peak")


def measured_footer(t: Mapping[str, Any]) -> list[str]:
    """The measured totals: latency, throughput, peak memory against the static estimate, and where."""
    step = "training step" if t["measured_mode"] == "train" else "forward"
    lines = [
        f"Measured {step} latency: median {t['latency_ms']:,.3f} ms (IQR {t['latency_iqr_ms']:,.3f} ms, "
        f"{t['runs']} runs)   throughput: {t['throughput_per_s']:,.1f} items/s",
        f"Measured on {t['device_name']} ({t['measured_device']}, {t['threads']} threads, torch {t['torch_version']})",
    ]
    peak = f"Measured peak memory: {human_bytes(t['measured_peak_bytes'])}"
    if t["peak_ratio"] is not None:
        peak += f" vs static estimate {human_bytes(t['est_peak_bytes'])} (measured/estimate x{t['peak_ratio']:.2f})"
    lines.append(peak + (f", {t['optimizer']} state included" if t["optimizer"] else ""))
    if t["hooked_latency_ms"] is not None and t["measured_mode"] == "train":
        lines.append("Per-layer latency by module hooks, forward only: % time is of the whole training step")
    elif t["hooked_latency_ms"] is not None:
        # The model's own row is the hooked forward, the total the plain one: say why they differ.
        cost = (f"{t['hook_overhead']:.1%} slower than the plain forward" if t["hook_overhead"] is not None
                else "the hooks' cost is lost in the plain forward's spread")
        lines.append(f"Per-layer latency by module hooks (% time: share of the model's own row, the hooked forward: "
                     f"{t['hooked_latency_ms']:,.3f} ms, {cost})")
    return lines

"""The lines under the table of `cnnstat summary`: the model's totals, memory estimates,
conventions, and the measured figures with the machine they were measured on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from cnnstat.analysis.records import Measured, RooflineSummary
from cnnstat.figures import field_text, shape_text
from cnnstat.frame.view import SummaryFacts
from cnnstat.render.machine import machine_line, threads_text
from cnnstat.render.table import fixed
from cnnstat.render.units import human_bytes, human_count, human_flop_rate, latency_pair

if TYPE_CHECKING:
    from cnnstat.analysis.parts import Part
    from cnnstat.analysis.receptive_field import FieldSummary


def summary_lines(facts: SummaryFacts) -> list[str]:
    t = facts.totals
    lines = [
        f"Params: {t.params:,} ({human_count(t.params)}), trainable {t.trainable_params:,}"
        + (f", {t.unused_params:,} not used by this forward" if t.unused_params else ""),
        f"MACs: {human_count(t.macs)}   FLOPs: {human_count(t.flops)}"
        + (f"   backward MACs (train step): {human_count(t.backward_macs)}" if t.backward_macs is not None else ""),
        f"Parameters: {human_bytes(t.param_bytes)}   buffers: {human_bytes(t.buffer_bytes)}   "
        f"input: {human_bytes(t.input_bytes)}   sum of layer outputs: {human_bytes(t.activation_bytes)}",
        f"Estimated peak memory, inference: {human_bytes(t.est_peak_inference_bytes)} "
        f"(activations at peak {human_bytes(t.peak_activation_bytes)})",
    ]
    if (t.est_peak_training_bytes is not None and t.saved_for_backward_bytes is not None
            and t.est_peak_training_sgd_bytes is not None and t.est_peak_training_adam_bytes is not None):
        lines.append(
            f"Estimated peak memory, training step: {human_bytes(t.est_peak_training_bytes)} "
            f"(saved for backward {human_bytes(t.saved_for_backward_bytes)}, "
            f"gradients {human_bytes(t.grad_bytes)}); with the optimizer's step: "
            f"SGD-momentum {human_bytes(t.est_peak_training_sgd_bytes)} "
            f"(state +{human_bytes(t.optimizer_sgd_momentum_bytes)}), "
            f"Adam {human_bytes(t.est_peak_training_adam_bytes)} (state +{human_bytes(t.optimizer_adam_bytes)})"
        )
    lines.append(facts.conventions)
    if facts.uncounted_ops:
        ops = ", ".join(f"{op} x{count}" for op, count in facts.uncounted_ops.items())
        lines.append(f"Uncounted ops (no cost rule): {ops}")
    if facts.parts:
        lines.append(parts_line(facts.parts, t.macs))
    if facts.receptive_field:
        lines.append(field_line(facts.receptive_field))
    lines += [f"Note: {note}" for note in facts.notes]
    if facts.measured:
        lines += measured_lines(facts.measured)
    if facts.roofline:
        lines.append(roofline_line(facts.roofline))
    return lines


def parts_line(parts: Sequence[Part], total_macs: int) -> str:
    """One line: each part's MACs and share of the model's, in call order."""
    shown = []
    for part in parts:
        name = f"{part.name} ({part.type})" if part.name else f"the rest of {part.type}"
        share = f" ({part.macs / total_macs:.1%})" if total_macs else ""
        shown.append(f"{name} {human_count(part.macs)} MACs{share}, {human_count(part.params)} params")
    return "Cost per part: " + "; ".join(shown)


def field_line(field: FieldSummary) -> str:
    """Where the receptive field reaches the whole input, and the last field that is local."""
    size = shape_text(field.input_size)
    reach = (f"reaches the whole {size} input at {field.covers_at} (where a central output pixel sees every "
             f"input pixel the net reads)" if field.covers_at else f"never reaches the whole {size} input")
    last = field.last_spatial
    if last is not None:
        reach += (f"; last local field {field_text(last.size)}, jump {field_text(last.jump)}, "
                  f"at {field.last_spatial_at}")
    unread = field.output.last_pixel if field.output else None
    if unread and any(pixel is not None for pixel in unread):
        reach += (" (strides leave the input's last pixels unread: the output sees none past "
                  + "x".join("end" if pixel is None else str(pixel) for pixel in unread) + ")")
    return (f"Receptive field (input pixels one output pixel sees, through every branch): {reach}. "
            f"Own RF: a layer's field over its own input.")


def roofline_line(roofline: RooflineSummary) -> str:
    return (f"Roofline of {roofline.machine.device_name} ({threads_text(roofline.machine.threads)}, {roofline.dtype}; "
            f"probed once and cached, --reprobe on an idle machine to renew): peak "
            f"{human_flop_rate(roofline.peak_flops_per_s)}, "
            f"bandwidth {human_bytes(roofline.bandwidth_bytes_per_s)}/s, ridge {roofline.ridge_flop_per_byte:.1f} "
            f"FLOP/byte (a layer below it is memory-bound); the model achieves "
            f"{human_flop_rate(roofline.achieved_flops_per_s)}, {roofline.peak_fraction:.1%} of peak")


def measured_lines(m: Measured) -> list[str]:
    """The measured totals: latency, throughput, peak memory against the static estimate, and where."""
    step = "training step" if m.mode == "train" else "forward"
    median, iqr = latency_pair(m.latency_ms, m.latency_iqr_ms)
    lines = [
        f"Measured {step} latency: median {median} ms (IQR {iqr} ms, "
        f"{m.runs} runs)   throughput: {fixed(m.throughput_per_s, 1)} items/s",
        machine_line(m.machine),
    ]
    peak = f"Measured peak memory: {human_bytes(m.measured_peak_bytes)}"
    if m.peak_ratio is not None and m.est_peak_bytes is not None:
        peak += f" vs static estimate {human_bytes(m.est_peak_bytes)} (measured/estimate x{m.peak_ratio:.2f})"
    lines.append(peak + (f", {m.optimizer} state included" if m.optimizer else ""))
    if m.hooked_latency_ms is not None and m.mode == "train":
        lines.append("Per-layer latency by module hooks, forward only: % time is of the whole training step")
    elif m.hooked_latency_ms is not None:
        # The model's own row is the hooked forward, the total the plain one: say why they differ.
        cost = (f"{m.hook_overhead:.1%} slower than the plain forward" if m.hook_overhead is not None
                else "the hooks' cost is lost in the plain forward's spread")
        lines.append(f"Per-layer latency by module hooks (% time: share of the model's own row, the hooked forward: "
                     f"{fixed(m.hooked_latency_ms, 3)} ms, {cost})")
    return lines

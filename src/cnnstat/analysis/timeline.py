"""The live bytes of one training step over its forward and backward: estimated by the static
pass on the meta device (every allocation and free, with the module call running), and, on a
real CPU, measured from the allocator's own record (``torch.autograd.profiler``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnstat.errors import CnnstatError


@dataclass(frozen=True)
class MemoryTimeline:
    live_bytes: tuple[int, ...]
    """Live bytes after each allocation and free of a training step, parameters and inputs included."""
    layers: tuple[str, ...]
    """The module call running at each step ("" for the model's own work)."""
    backward_from: int
    """The step at which the backward begins."""
    measured_live_bytes: tuple[int, ...] | None = None
    """The same, measured on the CPU (its own allocations and frees; None where not measured)."""

    @property
    def peak_index(self) -> int:
        return max(range(len(self.live_bytes)), key=self.live_bytes.__getitem__)

    @property
    def peak_layer(self) -> str:
        return self.layers[self.peak_index]


def memory_timeline(report, measure_on: torch.device | None = None) -> MemoryTimeline:
    """The estimated timeline of ``report``'s training step (its model built again on meta from
    its recipe), with the measured one where ``measure_on`` is the CPU."""
    from cnnstat.analysis.build import resolve_dtype
    from cnnstat.analysis.profiler import run_pass

    meta = torch.device("meta")
    model = report.recipe.build(meta)
    inputs = report.recipe.inputs(meta)
    result = run_pass(model, inputs, {}, training=True, backward=True, device=meta,
                      dtype=resolve_dtype(report.dtype), model_name=report.model,
                      channels_last=report.recipe.channels_last)
    if result.backward_from is None:
        raise CnnstatError(f"{report.model}: no training step to follow")
    names = [record.name for record in result.records]
    layers = tuple("" if maker is None else names[maker] for _, maker in result.timeline)
    measured = measured_live_bytes(report, measure_on) if measure_on is not None and measure_on.type == "cpu" else None
    return MemoryTimeline(tuple(live for live, _ in result.timeline), layers, result.backward_from, measured)


def measured_live_bytes(report, device: torch.device) -> tuple[int, ...]:
    """Live bytes after each allocation and free of one real training step on the CPU (after a
    warm-up step), from the allocator's own record, on top of what was resident before it."""
    from cnnstat.analysis.measure import cpu_live_bytes, make_step, resident_bytes

    model = report.recipe.build(device).train()
    inputs = report.recipe.inputs(device)
    step = make_step(model, inputs, "train", None)
    step()
    model.zero_grad(set_to_none=True)  # the step's own allocations only (as step_peak_bytes)
    resident = resident_bytes(model, inputs, None)
    return tuple(resident + live for live in cpu_live_bytes(step))

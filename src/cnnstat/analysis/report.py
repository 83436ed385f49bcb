"""``profile()``: the static analysis of one model at one input, as a Report."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import torch
from torch import nn

from cnnstat.analysis.build import (BuildRecipe, build_model, check_inputs, check_mode, default_inputs,
                                    dict_for_forward, dtype_name, example_inputs, input_specs, load_on, peer_inputs,
                                    ready_for_pass, resolve_device, resolve_dtype)
from cnnstat.analysis.fallback import Counting
from cnnstat.analysis.parts import Part, parts_of
from cnnstat.analysis.memory import carry_training_memory, unvalidated_layers, unvalidated_note
from cnnstat.analysis.preserve import leaves_model_as_found, plain_tensors_to_meta
from cnnstat.analysis.profiler import BackwardError
from cnnstat.analysis.receptive_field import ReceptiveFields, field_summary
from cnnstat.analysis.records import LayerRecord, Totals
from cnnstat.analysis.registry import OpRules
from cnnstat.analysis.rules import RULES
from cnnstat.errors import CnnstatError, ForwardError
from cnnstat.shown import Shown

if TYPE_CHECKING:
    from cnnstat.analysis.measure import Measured

CONVENTIONS = (
    "MACs: multiply-accumulates of conv, linear, matmul and attention (torchvision's \"GFLOPS\"). "
    "FLOPs: 2 x MACs + elementwise work (bias, BN, activations, adds, pooling, softmax). "
    "Counts in SI units (G = 10^9), bytes in binary units (MiB = 2^20)."
)


@dataclass(repr=False)  # a short repr and the display methods come from Shown
class Report(Shown):
    model: str
    input_shapes: list[tuple[int, ...]]
    """Input shape(s) with the batch dimension."""
    batch: int
    mode: str
    dtype: str
    device: str
    layers: list[LayerRecord]
    totals: Totals
    uncounted_ops: dict[str, int]
    notes: list[str] = field(default_factory=list)
    """What the reader should know about these figures (e.g. an estimate left out, and why)."""
    measured: Measured | None = None
    """Latency and peak memory measured on a real device (``cnnstat.analysis.measure``)."""
    roofline: Any = None
    """``cnnstat.analysis.roofline.Roofline`` of a measured report, when asked for."""
    recipe: BuildRecipe | None = None
    """How to build the model and inputs again on a real device (for measurement)."""
    parts: list[Part] = field(default_factory=list)
    """Cost per part of a model assembled from parts (a detection model: backbone, FPN, RPN, ROI heads)."""
    memory_validated: bool = True
    """False where the model has layers the memory estimates are not validated for (a note
    says which): measurement then does not refuse a run on the estimate."""
    receptive_field: Any = None
    """``cnnstat.analysis.receptive_field.FieldSummary``: the input's spatial size, the model
    output's field and the first layer whose output sees the whole input; None without a
    spatial input."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.input_shapes[0]

    def layer_latency_ms(self) -> list[float | None]:
        """Measured median latency of each row of ``layers`` (None where not measured)."""
        latencies = self.measured.layer_latency_ms if self.measured else None
        if latencies is None or len(latencies) != len(self.layers):
            return [None] * len(self.layers)
        return list(latencies)

    def to_frame(self):
        """One row per module call, typed columns (see ``cnnstat.frame``)."""
        from cnnstat.frame.build import layer_frame

        return layer_frame(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``cnnstat summary --format json``."""
        return {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "mode": self.mode,
            "dtype": self.dtype,
            "device": self.device,
            "conventions": CONVENTIONS,
            "totals": self.totals.to_dict() | (self.measured.totals_dict() if self.measured else {}),
            "layers": [
                {
                    "name": layer.name or self.model,  # the root row is the model
                    "type": layer.type,
                    "depth": layer.depth,
                    "is_leaf": layer.is_leaf,
                    "call": layer.call,
                    "description": layer.description,
                    "input_shapes": [list(s) for s in layer.input_shapes],
                    "output_shape": list(layer.output_shape) if layer.output_shape else None,
                    "params": layer.params,
                    "trainable_params": layer.trainable_params,
                    "macs": layer.macs,
                    "flops": layer.flops,
                    **({"backward_macs": layer.backward_macs} if self.mode == "train" else {}),
                    "activation_bytes": layer.output_bytes,
                    "receptive_field": asdict(layer.receptive_field) if layer.receptive_field else None,
                    **({"latency_ms": latency} if self.measured else {}),
                    **(_roofline_fields(roof) if self.roofline else {}),
                }
                for layer, latency, roof in zip(self.layers, self.layer_latency_ms(), self.layer_rooflines())
            ],
            "uncounted_ops": dict(self.uncounted_ops),
            "receptive_field": asdict(self.receptive_field) if self.receptive_field else None,
            "notes": list(self.notes),
            **({"parts": [part.to_dict() for part in self.parts]} if self.parts else {}),
            "memory_estimate_validated": self.memory_validated,
            **({"roofline": self.roofline.to_dict()} if self.roofline else {}),
        }

    def layer_rooflines(self) -> list:
        """Each row's ``LayerRoofline`` (None for rows without work, or without a roofline)."""
        return self.roofline.layers if self.roofline else [None] * len(self.layers)


def _roofline_fields(roof) -> dict[str, Any]:
    if roof is None:
        return {"intensity_flop_per_byte": None, "achieved_flops_per_s": None, "bound": None}
    return {"intensity_flop_per_byte": roof.intensity, "achieved_flops_per_s": roof.achieved_flops_per_s,
            "bound": roof.bound}


@leaves_model_as_found
def profile(
    model_or_name: nn.Module | str,
    input_size: Any = None,
    batch: int = 1,
    mode: str = "eval",
    dtype: str | torch.dtype = torch.float32,
    device: str | torch.device = "meta",
    *,
    inputs: Any = None,
    num_classes: int | None = None,
    in_channels: int | None = None,
    options: Mapping[str, Any] | None = None,
    name: str | None = None,
    channels_last: bool = False,
    rules: OpRules | None = None,
) -> Report:
    """Shapes, params, MACs/FLOPs and memory of every module call, from one static pass.

    ``model_or_name`` is a model spec (built on meta) or any ``nn.Module`` (left as found).
    ``input_size`` is one input's size without batch, a list of them (a model of several
    inputs), or ``InputSpec``s (an integer input). ``inputs`` takes real example inputs (a tensor, a tuple, or a dict of keyword
    inputs) instead of ``input_size`` x ``batch``. ``mode="train"`` counts a training
    forward; both modes also run a meta backward for the training-memory estimate.
    ``channels_last`` takes 4-D weights and inputs in that layout (memory estimates differ:
    CPU convolutions then need no reordered copies). ``rules`` add cost and shape rules for
    ops cnnstat has none for (``cnnstat.analysis.registry.OpRules``; one for an op it already
    covers raises ``DuplicateRule``). The figures are the same in any grad mode of the caller.
    """
    check_mode(mode)
    torch_dtype = resolve_dtype(dtype)
    torch_device = resolve_device(device)
    input_size, inputs = peer_inputs(input_size, inputs)
    spec, specs, default, takes_list, notes, real_model = None, input_specs(input_size), None, False, [], None
    if isinstance(model_or_name, str):
        loaded = load_on(model_or_name, num_classes, in_channels, options, device="meta")
        spec, name, takes_list = loaded.name, name or loaded.name, loaded.takes_list
        notes += loaded.notes
        default = loaded.input_size
        if specs is None and inputs is None:
            specs = default_inputs(loaded)
        model = loaded.module
        real_model = functools.partial(build_model, spec, num_classes, in_channels, options, device="cpu")
    elif isinstance(model_or_name, nn.Module):
        model = model_or_name
        name = name or type(model).__name__
    else:
        raise CnnstatError(f"expected a model name or an nn.Module, got {type(model_or_name).__name__}")
    if inputs is None:
        if specs is None:
            raise CnnstatError(f"{name}: give input_size (C, H, W) or example inputs")
        check_inputs(name, specs, model, batch, default)
    args, kwargs = example_inputs(dict_for_forward(model, inputs), specs, batch, torch_dtype, takes_list)

    model = ready_for_pass(model, name, args, kwargs, channels_last)
    if torch_device.type == "meta":
        plain_tensors_to_meta(model)  # profile() leaves the model as found: the real ones come back
    common = dict(dtype=torch_dtype, model_name=name, channels_last=channels_last,
                  rules=RULES.extended(rules))
    counting = Counting(model, torch_device, real_model)
    # Receptive fields follow batched inputs; a detector's list of unbatched images has none to show.
    observe = tuple if takes_list else lambda: [ReceptiveFields()]
    inference = counting.run(args, kwargs, training=False, backward=False, observe=observe, **common)
    fields = counting.observed[0] if counting.observed else None
    try:
        training = counting.run(args, kwargs, training=True, backward=True, **common)
    except (ForwardError, BackwardError) as error:
        if mode == "train":
            raise
        # e.g. BatchNorm after global pooling refuses a training batch of 1, or an in-place op
        # overwrites a tensor saved for backward: the eval figures stand, the training
        # estimate is left out and the reason is shown.
        training = None
        notes.append(f"no training-memory estimate: {error}")
    counting_note = counting.note()
    if counting_note:
        notes.append(counting_note)
    model = counting.model
    shown = training if mode == "train" else inference
    if training is not None:
        carry_training_memory(shown.records, training.records)
    # The eval forward's fields in either mode: batch statistics would make every field the whole input.
    if fields is not None:
        fields.fill(shown.records, inference.records)
        if fields.no_rule:
            ops = ", ".join(f"{op} x{count}" for op, count in sorted(fields.no_rule.items()))
            notes.append(f"receptive field unknown after ops without a receptive-field rule: {ops}")

    unvalidated = unvalidated_layers(model)
    if unvalidated:
        notes.append(unvalidated_note(unvalidated))
    totals = _totals(model, shown, inference, training, torch_dtype, args, kwargs)
    from torch.utils._pytree import tree_leaves

    input_shapes = [tuple(t.shape) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
    dtype = dtype_name(torch_dtype)
    first_batch = input_shapes[0][0] if input_shapes and input_shapes[0] and not takes_list else batch
    return Report(
        model=name,
        input_shapes=input_shapes,
        batch=first_batch,
        mode=mode,
        dtype=dtype,
        device=str(counting.device),
        layers=shown.records,
        totals=totals,
        uncounted_ops=_uncounted(shown, training),
        notes=notes,
        memory_validated=not unvalidated,
        recipe=BuildRecipe(spec, tuple(input_shapes), mode, dtype, num_classes, in_channels,
                           dict(options or {}), channels_last,
                           tuple(item.dtype for item in specs) if specs and inputs is None else (), takes_list),
        parts=parts_of(model, shown.records) if takes_list else [],
        receptive_field=field_summary(fields, inference.records) if fields is not None else None,
    )


def _uncounted(shown, training) -> dict[str, int]:
    """Ops without a cost rule: those of the forward shown, and those of the training step's
    backward (whose MACs the totals show in either mode)."""
    found = dict(shown.uncounted_ops)
    if training is not None:
        found.update({f"{op} (backward)": count for op, count in training.uncounted_backward_ops.items()})
    return dict(sorted(found.items()))


def _bytes_of(tensors, dtype: torch.dtype) -> int:
    total = 0
    for tensor in tensors:
        item = torch.empty((), dtype=dtype).element_size() if tensor.is_floating_point() else tensor.element_size()
        total += tensor.numel() * item
    return total


def _totals(model: nn.Module, shown, inference, training, dtype, args, kwargs) -> Totals:
    from torch.utils._pytree import tree_leaves

    params = list(model.parameters())
    trainable = [p for p in params if p.requires_grad]
    param_bytes = _bytes_of(params, dtype)
    buffer_bytes = _bytes_of(model.buffers(), dtype)
    input_bytes = _bytes_of((t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)), dtype)
    grad_bytes = _bytes_of(trainable, dtype)
    resident = param_bytes + buffer_bytes
    after_backward = resident + input_bytes + grad_bytes
    adam_step_temporaries = 2 * max((_bytes_of([p], dtype) for p in trainable), default=0)
    training_peak = training.peak_bytes if training else None
    root = shown.records[0]
    return Totals(
        params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in trainable),
        unused_params=shown.unused_params,
        param_bytes=param_bytes,
        buffer_bytes=buffer_bytes,
        macs=root.macs,
        flops=root.flops,
        backward_macs=training.backward_macs if training else None,
        input_bytes=input_bytes,
        activation_bytes=sum(r.output_bytes for r in shown.records if r.is_leaf),
        peak_activation_bytes=inference.peak_bytes - resident,
        est_peak_inference_bytes=inference.peak_bytes,
        saved_for_backward_bytes=training.end_of_forward_bytes - resident - input_bytes if training else None,
        grad_bytes=grad_bytes,
        est_peak_training_bytes=training_peak,
        optimizer_sgd_momentum_bytes=grad_bytes,
        optimizer_adam_bytes=2 * grad_bytes,
        est_peak_training_sgd_bytes=training_peak + grad_bytes if training else None,
        est_peak_training_adam_bytes=max(training_peak, after_backward + adam_step_temporaries) + 2 * grad_bytes
        if training else None,
    )

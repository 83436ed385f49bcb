"""``profile()``: the static analysis of one model at one input, as a ``Report``; ``measured_report()``:
the same report with what a real device measured (a new report: a built one is never changed)."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from cnnstat.analysis.build import (BuildRecipe, InputSpec, build_model, check_inputs, check_mode, default_inputs,
                                    dict_for_forward, dtype_name, example_inputs, input_specs, load_on, own_dtype,
                                    peer_inputs, ready_for_pass, resolve_device, resolve_dtype, takes_tokens)
from cnnstat.analysis.fallback import Counting
from cnnstat.analysis.measure import check_report_fits, measure_reports
from cnnstat.analysis.parts import Part, parts_of
from cnnstat.analysis.memory import (carry_training_memory, packed_weights, tensor_bytes, unvalidated_layers,
                                     unvalidated_note)
from cnnstat.analysis.preserve import leaves_model_as_found, plain_tensors_to_meta
from cnnstat.analysis.profiler import BackwardError, PassResult
from cnnstat.analysis.receptive_field import FieldSummary, ReceptiveFields, field_summary
from cnnstat.analysis.records import (CONVENTIONS, LAYER_IDENTITY, ROW_LABEL, LayerRecord, LayerRow, Measured,
                                      RooflineSummary, Shape, Totals)
from cnnstat.analysis.registry import OpRules
from cnnstat.analysis.rules import OP_RULES
from cnnstat.errors import CnnstatError, ForwardError, OutOfMemory
from cnnstat.figures import keys
from cnnstat.shown import Shown


@dataclass(frozen=True, repr=False)  # a short repr and the display methods come from Shown
class Report(Shown):
    """One model at one input: a row per module call, the model's totals and, once measured
    (``measured_report``), what a real device found. Immutable: measuring returns a new report."""

    model: str
    input_shapes: tuple[Shape, ...]
    """Input shape(s) with the batch dimension."""
    batch: int
    mode: str
    dtype: str
    device: str
    layers: tuple[LayerRow, ...]
    totals: Totals
    uncounted_ops: Mapping[str, int]
    notes: tuple[str, ...] = ()
    """What the reader should know about these figures (e.g. an estimate left out, and why)."""
    measured: Measured | None = None
    """Latency and peak memory measured on a real device (``measured_report``)."""
    roofline: RooflineSummary | None = None
    """The measured model on this machine's roofline (``cnnstat.analysis.roofline.place_on_roofline``)."""
    recipe: BuildRecipe | None = None
    """How to build the model and inputs again on a real device (for measurement)."""
    parts: tuple[Part, ...] = ()
    """Cost per part of a model assembled from parts (a detection model: backbone, FPN, RPN, ROI heads)."""
    memory_validated: bool = True
    """False where the model has layers the memory estimates are not validated for (a note
    says which): measurement then does not refuse a run on the estimate."""
    receptive_field: FieldSummary | None = None
    """The input's spatial size, the model output's field and the first layer whose output sees
    the whole input; None without a spatial input."""
    not_measured: CnnstatError | None = None
    """Why a measurement that was asked for, with fall-back, did not run (the device cannot hold it)."""

    @property
    def input_shape(self) -> Shape:
        """The first input's shape, with the batch dimension."""
        return self.input_shapes[0]

    def layer_groups(self) -> tuple[str, ...]:
        """The ``cnnstat.figures`` groups this report's rows fill."""
        return ("layer", *(("train_layer",) if self.mode == "train" else ()),
                *(("receptive_field",) if self.receptive_field is not None else ()),
                *(("latency",) if self.measured is not None else ()),
                *(("roofline",) if self.roofline is not None else ()))

    def layer_keys(self) -> tuple[str, ...]:
        """The figure keys of every row in the data formats (JSON, DataFrame, CSV), in order."""
        return tuple(key for key in keys(*self.layer_groups()) if key != ROW_LABEL and key not in LAYER_IDENTITY)

    def row_name(self, row: LayerRow) -> str:
        """The row's qualified name; the model's name for the model's own row."""
        return row.name or self.model

    def row_data(self, row: LayerRow) -> dict[str, Any]:
        """The row's identity and every figure of ``layer_keys()``, raw: what each data format holds of it."""
        identity = {"index": row.index, "name": self.row_name(row), "depth": row.depth, "is_leaf": row.is_leaf,
                    "call": row.call, "parent": row.parent, "input_shapes": row.input_shapes}
        return identity | {key: row.figure(key) for key in self.layer_keys()}

    def step_flops(self) -> int:
        """FLOPs of what a measurement times: a forward, or a training step (forward + backward at
        2 FLOPs per MAC)."""
        if self.mode == "train" and self.totals.backward_macs is not None:
            return self.totals.flops + 2 * self.totals.backward_macs
        return self.totals.flops

    def achieved_flops_per_s(self) -> float | None:
        """FLOP/s of the whole model at its measured latency; None unmeasured."""
        if self.measured is None:
            return None
        return self.step_flops() / (self.measured.latency_ms / 1e3)

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
            "totals": asdict(self.totals) | (self.measured.totals_dict() if self.measured else {}),
            "layers": [self.row_data(row) | {"field_figures": asdict(row.field_figures) if row.field_figures else None} for row in self.layers],
            "uncounted_ops": dict(self.uncounted_ops),
            "receptive_field": asdict(self.receptive_field) if self.receptive_field else None,
            "notes": list(self.notes),
            **({"parts": [asdict(part) for part in self.parts]} if self.parts else {}),
            "memory_estimate_validated": self.memory_validated,
            **({"roofline": self.roofline.to_dict()} if self.roofline else {}),
        }


def latency_shares(layer_ms: Sequence[float | None], measured: Measured) -> list[float | None]:
    """Each row's share of the time, in percent. In eval, shares of the model's own row (the
    forward as the same hooks timed it), so the model is 100%; a training step's rows are shares
    of the whole step (forward, backward, update), as the footer says."""
    root = layer_ms[0] if layer_ms else None
    whole = root if measured.mode == "eval" and root else measured.latency_ms
    return [None if value is None else 100 * value / whole for value in layer_ms]


def with_measured(report: Report, measured: Measured) -> Report:
    """``report`` with what a measurement found: its totals, and each row's latency and share.
    Latencies are left out of every row (and a note says why) where the measured forward called
    the modules another number of times than the static pass."""
    latencies = measured.layer_latency_ms
    notes = report.notes
    if latencies is not None and len(latencies) != len(report.layers):
        notes += (f"no per-layer latency: the measured forward made {len(latencies)} module calls, the static pass "
                  f"{len(report.layers)}",)
        latencies = None
    if latencies is None:
        return replace(report, measured=measured, notes=notes)
    rows = tuple(replace(row, latency_ms=ms, latency_pct=share)
                 for row, ms, share in zip(report.layers, latencies, latency_shares(latencies, measured)))
    return replace(report, measured=measured, layers=rows, notes=notes)


def measured_report(report: Report, device: str | torch.device = "cpu", *, fall_back: bool = False,
                    **settings: Any) -> Report:
    """``report`` measured on ``device`` ("cpu", "cuda"): a new report with each layer's latency
    and % time, the model's latency, throughput and peak memory (``measured_reports`` of one
    report; settings: threads, min_run_time, optimizer, per_layer)."""
    return measured_reports([report], device, fall_back=fall_back, **settings)[0]


def measured_reports(reports: Sequence[Report], device: str | torch.device, *, fall_back: bool = False,
                     **settings: Any) -> list[Report]:
    """``reports`` measured on ``device``, timed together in turns (a change of load hits them all
    alike; ``cnnstat.analysis.measure.measure_reports`` takes the settings). What the device cannot
    hold is an error or, with ``fall_back`` (the default choice of device), the static report with
    the reason in ``not_measured``."""
    device = resolve_device(device)
    refused: dict[int, OutOfMemory] = {}
    for index, report in enumerate(reports):
        try:
            check_report_fits(report, device, settings.get("optimizer"))
        except OutOfMemory as error:
            if not fall_back:
                raise
            refused[index] = error
    measurable = [report for index, report in enumerate(reports) if index not in refused]
    try:
        found = iter(measure_reports(measurable, device, **settings) if measurable else [])
    except OutOfMemory as error:  # beyond the estimate: a model whose memory it does not hold
        if not fall_back:
            raise
        return [replace(report, not_measured=refused.get(index, error)) for index, report in enumerate(reports)]
    return [replace(report, not_measured=refused[index]) if index in refused else with_measured(report, next(found))
            for index, report in enumerate(reports)]


@dataclass
class _Subject:
    """What a profile counts: the module, its name, and how to build it again."""

    model: nn.Module
    name: str
    spec: str | None = None
    specs: list[InputSpec] | None = None
    default: tuple[int, ...] | None = None
    takes_list: bool = False
    notes: list[str] = field(default_factory=list)
    real_model: Callable[[], nn.Module] | None = None
    """Builds the model on the CPU, where the meta device cannot count it."""


@dataclass
class _Passes:
    """The static passes of one profile: the eval forward, the training step (None where the
    model cannot take one here), the receptive fields and what the counting noted."""

    inference: PassResult
    training: PassResult | None
    fields: ReceptiveFields | None
    model: nn.Module
    device: torch.device
    notes: list[str]


@leaves_model_as_found
def profile(
    model_or_name: nn.Module | str,
    input_size: Any = None,
    batch: int = 1,
    mode: str = "eval",
    dtype: str | torch.dtype | None = None,
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
    ``dtype`` converts every floating-point tensor; None keeps a module's own (float32 for a spec).
    """
    check_mode(mode)
    if rules is not None and not isinstance(rules, OpRules):
        raise CnnstatError(f"rules must be an OpRules (cnnstat.analysis.registry), not {type(rules).__name__}")
    convert = resolve_dtype(dtype) if dtype is not None else None
    input_size, inputs = peer_inputs(input_size, inputs)
    subject = _subject(model_or_name, input_size, inputs, name, num_classes, in_channels, options)
    if subject.takes_list and mode == "train":
        raise CnnstatError(f"{subject.name} is a detection model: in training its forward takes targets (boxes and "
                           "labels) with the images, which a pass from an input size does not have; profile it in "
                           "eval (the training-memory estimate is given there where it can be)")
    torch_dtype = convert or own_dtype(subject.model)
    if inputs is None:
        if subject.specs is None:
            raise CnnstatError(f"{subject.name}: give input_size (C, H, W) or example inputs")
        check_inputs(subject.name, subject.specs, subject.model, batch, subject.default)
    args, kwargs = example_inputs(dict_for_forward(subject.model, inputs), subject.specs, batch, torch_dtype,
                                  subject.takes_list)
    passes = _count(subject, args, kwargs, mode, convert, resolve_device(device), channels_last,
                    OP_RULES.extended(rules))
    input_shapes = tuple(tuple(t.shape) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor))
    recipe = BuildRecipe(subject.spec, input_shapes, mode, dtype_name(torch_dtype), num_classes, in_channels,
                         dict(options or {}), channels_last,
                         tuple(item.dtype for item in subject.specs) if subject.specs and inputs is None else (),
                         subject.takes_list)
    return _report(subject, passes, mode, torch_dtype, convert, args, kwargs, batch, recipe)


def _subject(model_or_name: nn.Module | str, input_size: Any, inputs: Any, name: str | None,
             num_classes: int | None, in_channels: int | None, options: Mapping[str, Any] | None) -> _Subject:
    """The module to count: a model spec built on meta, or the module given."""
    specs = input_specs(input_size)
    if isinstance(model_or_name, nn.Module):
        return _Subject(model_or_name, name or type(model_or_name).__name__, specs=specs)
    if not isinstance(model_or_name, str):
        raise CnnstatError(f"expected a model name or an nn.Module, got {type(model_or_name).__name__}")
    loaded = load_on(model_or_name, num_classes, in_channels, options, device="meta")
    if specs is None and inputs is None:
        specs = default_inputs(loaded)
    return _Subject(loaded.module, name or loaded.name, loaded.name, specs, loaded.input_size, loaded.takes_list,
                    list(loaded.notes),
                    functools.partial(build_model, loaded.name, num_classes, in_channels, options, device="cpu"))


def _count(subject: _Subject, args: tuple, kwargs: dict[str, Any], mode: str, dtype: torch.dtype | None,
           device: torch.device, channels_last: bool, rules: OpRules) -> _Passes:
    """The eval forward (with its receptive fields) and a training step, on ``device`` or, where
    the meta device cannot count the model, on the CPU; ``dtype`` converts floating-point tensors."""
    model = ready_for_pass(subject.model, subject.name, args, kwargs, channels_last)
    if device.type == "meta":
        plain_tensors_to_meta(model)  # profile() leaves the model as found: the real ones come back
    common: dict[str, Any] = dict(dtype=dtype, model_name=subject.name, channels_last=channels_last, rules=rules)
    counting = Counting(model, device, subject.real_model)
    # Receptive fields follow batched inputs whose first layer is a convolution: a detector's list
    # of unbatched images has none to show, and tokens x features (a Transformer, an LSTM, a
    # per-token Linear) none along the features.
    spatial = not subject.takes_list and not takes_tokens(model, args)
    observe: Callable[[], Sequence[Any]] = (lambda: [ReceptiveFields(rules)]) if spatial else tuple
    inference = counting.run(args, kwargs, training=False, backward=False, observe=observe, **common)
    fields = counting.observed[0] if counting.observed else None
    notes = list(subject.notes)
    try:
        training: PassResult | None = counting.run(args, kwargs, training=True, backward=True, **common)
    except (ForwardError, BackwardError) as error:
        if mode == "train":
            raise
        # e.g. BatchNorm after global pooling refuses a training batch of 1, or an in-place op
        # overwrites a tensor saved for backward: the eval figures stand, the training
        # estimate is left out and the reason is shown.
        training = None
        notes.append(f"no training-memory estimate: {error}")
    if training is not None and not training.backward_ran:
        notes.append("no backward counted: the model's output holds no floating-point tensor that requires grad")
    counting_note = counting.note()
    if counting_note:
        notes.append(counting_note)
    return _Passes(inference, training, fields, counting.model, counting.device, notes)


def _report(subject: _Subject, passes: _Passes, mode: str, dtype: torch.dtype, converted: torch.dtype | None,
            args: tuple, kwargs: dict[str, Any], batch: int, recipe: BuildRecipe) -> Report:
    """The report of the counted passes: the rows of the pass shown, totals (floating-point
    tensors counted in ``converted``, or their own type), notes."""
    shown = passes.training if mode == "train" and passes.training is not None else passes.inference
    if passes.training is not None:
        carry_training_memory(shown.records, passes.training.records)
    notes = passes.notes
    fields = passes.fields
    # The eval forward's fields in either mode: batch statistics would make every field the whole input.
    if fields is not None:
        fields.fill(shown.records, passes.inference.records)
        if fields.no_rule:
            ops = ", ".join(f"{op} x{count}" for op, count in sorted(fields.no_rule.items()))
            notes.append(f"receptive field unknown after ops without a receptive-field rule: {ops}")
        notes += [f"receptive field unknown after {reason}" for reason in sorted(fields.stopped)]
    packed_kinds, packed_values, packed_bytes = packed_weights(passes.model)
    if packed_kinds:
        notes.append(f"the packed weights of quantized layers ({', '.join(packed_kinds)}: {packed_values:,} values, "
                     f"{packed_bytes:,} bytes) are not parameters: the parameter counts and bytes leave them out")
    unvalidated = unvalidated_layers(passes.model)
    if unvalidated:
        notes.append(unvalidated_note(unvalidated))
    input_shapes = recipe.input_shapes
    first_batch = input_shapes[0][0] if input_shapes and input_shapes[0] and not subject.takes_list else batch
    return Report(
        model=subject.name,
        input_shapes=input_shapes,
        batch=first_batch,
        mode=mode,
        dtype=dtype_name(dtype),
        device=str(passes.device),
        layers=tuple(_row(record) for record in shown.records),
        totals=_totals(passes.model, shown, passes.inference, passes.training, converted, args, kwargs),
        uncounted_ops=_uncounted(shown, passes.training),
        notes=tuple(notes),
        memory_validated=not unvalidated,
        recipe=recipe,
        parts=tuple(parts_of(passes.model, shown.records)) if subject.takes_list else (),
        receptive_field=field_summary(fields, passes.inference.records) if fields is not None else None,
    )


def _row(record: LayerRecord) -> LayerRow:
    """A counted module call's row: its static figures."""
    return LayerRow(index=record.index, name=record.name, type=record.type, depth=record.depth,
                    parent=record.parent, is_leaf=record.is_leaf, call=record.call,
                    description=record.description, input_shapes=tuple(record.input_shapes),
                    output_shapes=tuple(record.output_shapes), params=record.params,
                    trainable_params=record.trainable_params, macs=record.macs, flops=record.flops,
                    backward_macs=record.backward_macs, activation_bytes=record.output_bytes,
                    saved_for_backward_bytes=record.saved_bytes, grad_bytes=record.grad_bytes,
                    field_figures=record.receptive_field, counted=record)


def _uncounted(shown: PassResult, training: PassResult | None) -> dict[str, int]:
    """Ops without a cost rule: those of the forward shown, and those of the training step's
    backward (whose MACs the totals show in either mode)."""
    found = dict(shown.uncounted_ops)
    if training is not None:
        found.update({f"{op} (backward)": count for op, count in training.uncounted_backward_ops.items()})
    return dict(sorted(found.items()))


ADAM_STEP_BYTES = 4
"""``torch.optim.Adam``'s step count, one float32 tensor of one element per parameter tensor."""


def _bytes_of(tensors: Any, dtype: torch.dtype | None) -> int:
    return sum(tensor_bytes(tensor, dtype) for tensor in tensors)


def _totals(model: nn.Module, shown: PassResult, inference: PassResult, training: PassResult | None,
            dtype: torch.dtype | None, args: tuple, kwargs: dict[str, Any]) -> Totals:
    params = list(model.parameters())
    trainable = [p for p in params if p.requires_grad]
    param_bytes = _bytes_of(params, dtype)
    buffer_bytes = _bytes_of(model.buffers(), dtype)
    input_bytes = _bytes_of((t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)), dtype)
    grad_bytes = _bytes_of(trainable, dtype)
    resident = param_bytes + buffer_bytes
    after_backward = resident + input_bytes + grad_bytes
    adam_step_temporaries = 2 * max((_bytes_of([p], dtype) for p in trainable), default=0)
    # two moments per parameter, and a step count per parameter tensor (torch keeps it as a float32 tensor)
    adam_state = 2 * grad_bytes + ADAM_STEP_BYTES * len(trainable)
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
        optimizer_adam_bytes=adam_state,
        est_peak_training_sgd_bytes=training_peak + grad_bytes if training_peak is not None else None,
        est_peak_training_adam_bytes=max(training_peak, after_backward + adam_step_temporaries) + adam_state
        if training_peak is not None else None,
    )

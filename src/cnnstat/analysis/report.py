"""``profile()``: the static analysis of one model at one input, as a Report."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from cnnstat.analysis.profiler import ForwardError, run_pass
from cnnstat.analysis.records import LayerRecord, Totals
from cnnstat.errors import CnnstatError
from cnnstat.zoo.loader import BuildError, LoadedModel

if TYPE_CHECKING:
    from cnnstat.analysis.measure import Measured

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
MODES = ("eval", "train")

CONVENTIONS = (
    "MACs: multiply-accumulates of conv, linear, matmul and attention (torchvision's \"GFLOPS\"). "
    "FLOPs: 2 x MACs + elementwise work (bias, BN, activations, adds, pooling, softmax). "
    "Counts in SI units (G = 10^9), bytes in binary units (MiB = 2^20)."
)


@dataclass
class Report:
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
    spec: str | None = None
    """The model spec it was built from (``cnnstat.zoo.loader``), to rebuild it on a real
    device; None for a module passed in."""

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
                    "activation_bytes": layer.output_bytes,
                    **({"latency_ms": latency} if self.measured else {}),
                    **(_roofline_fields(roof) if self.roofline else {}),
                }
                for layer, latency, roof in zip(self.layers, self.layer_latency_ms(), self.layer_rooflines())
            ],
            "uncounted_ops": dict(self.uncounted_ops),
            "notes": list(self.notes),
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


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise CnnstatError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def resolve_device(device: str | torch.device) -> torch.device:
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise CnnstatError(f"unknown device {device!r}; use meta, cpu or cuda") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise CnnstatError("CUDA was asked for but is not available on this machine; use --device cpu or meta")
    return resolved


class _SkipInitOnMeta(TorchFunctionMode):
    """Weight initialisation on meta tensors computes nothing but costs seconds (Python
    meta kernels, and the import of torch._dynamo they pull in): skip it."""

    INIT_OPS = frozenset({torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.fill_, torch.Tensor.zero_,
                          torch.Tensor.erfinv_, torch.Tensor.clamp_, torch.Tensor.mul_, torch.Tensor.add_,
                          torch.Tensor.copy_, torch.Tensor.exponential_})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        is_init = func in self.INIT_OPS or getattr(func, "__module__", None) == "torch.nn.init"
        # torch.nn.init functions reach a mode with every argument by keyword.
        target = args[0] if args else kwargs.get("tensor")
        if is_init and isinstance(target, torch.Tensor) and target.is_meta:
            return target
        return func(*args, **kwargs)


def build_model(name: str, num_classes: int | None = None, in_channels: int | None = None,
                options: Mapping[str, Any] | None = None, device: str | torch.device = "meta") -> nn.Module:
    """The model a spec names (see ``cnnstat.zoo.loader``) built directly on ``device``."""
    return load_on(name, num_classes, in_channels, options, device).module


def load_on(spec: str, num_classes: int | None = None, in_channels: int | None = None,
            options: Mapping[str, Any] | None = None, device: str | torch.device = "meta") -> LoadedModel:
    """Load ``spec`` on ``device`` (on meta no weight is materialised). A constructor that
    needs real numbers (e.g. ``torch.linspace(...).item()`` in timm) cannot run on meta: it
    is built on the CPU instead, and the static pass copies its tensors to meta stand-ins."""
    from cnnstat.zoo.loader import load_model

    on_meta = torch.device(device).type == "meta"
    try:
        with torch.device(device), _SkipInitOnMeta() if on_meta else contextlib.nullcontext():
            return load_model(spec, num_classes, in_channels, options)
    except BuildError:
        if not on_meta:
            raise
    with torch.device("cpu"):
        return load_model(spec, num_classes, in_channels, options)


def default_input_size(name: str, declared: tuple[int, ...] | None) -> tuple[int, ...]:
    """The input size a loaded model declares; a model from user code may declare none."""
    if declared is None:
        raise CnnstatError(f"{name}: give the input size (--input 3x224x224), or state it as an "
                           "input_size attribute of the model's class or factory")
    return declared


def _example_inputs(inputs: Any, input_size: tuple[int, ...], batch: int) -> tuple[tuple, dict]:
    if inputs is None:
        return (torch.empty(batch, *input_size, device="meta"),), {}
    if isinstance(inputs, torch.Tensor):
        return (inputs,), {}
    if isinstance(inputs, Mapping):
        return (), dict(inputs)
    if isinstance(inputs, (tuple, list)):
        return tuple(inputs), {}
    raise CnnstatError(f"inputs must be a tensor, a tuple or a dict of tensors, not {type(inputs).__name__}")


def check_input_size(input_size: tuple[int, ...], batch: int) -> None:
    if batch < 1:
        raise CnnstatError(f"batch must be at least 1, got {batch}")
    if not input_size or any(int(d) < 1 for d in input_size):
        raise CnnstatError(f"every input dimension must be at least 1, got {'x'.join(map(str, input_size))}")


def check_input_rank(name: str, input_size: tuple[int, ...] | None, default_size: tuple[int, ...] | None) -> None:
    """An input with another number of sizes than the model's own is a malformed --input."""
    if input_size is not None and default_size is not None and len(input_size) != len(default_size):
        example = "x".join(map(str, default_size))
        raise CnnstatError(f"malformed --input {'x'.join(map(str, input_size))!r}: {name} takes "
                           f"{len(default_size)} sizes (channels and spatial), e.g. {example}")


def profile(
    model_or_name: nn.Module | str,
    input_size: tuple[int, ...] | None = None,
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
) -> Report:
    """Shapes, params, MACs/FLOPs and memory of every module call, from one static pass.

    ``model_or_name`` is a zoo name (built on ``device``) or any ``nn.Module`` (left as
    found). ``inputs`` takes real example inputs (a tensor, a tuple, or a dict of keyword
    inputs) instead of ``input_size`` x ``batch``. ``mode="train"`` counts a training
    forward; both modes also run a meta backward for the training-memory estimate.
    ``channels_last`` takes 4-D weights and inputs in that layout (memory estimates differ:
    CPU convolutions then need no reordered copies).
    """
    if mode not in MODES:
        raise CnnstatError(f"unknown mode {mode!r}; choose eval or train")
    torch_dtype = resolve_dtype(dtype)
    torch_device = resolve_device(device)
    spec = None
    if isinstance(model_or_name, str):
        loaded = load_on(model_or_name, num_classes, in_channels, options, device="meta")
        spec, name = loaded.name, name or loaded.name
        default_size = loaded.input_size
        if input_size is None and inputs is None:
            input_size = default_input_size(name, default_size)
        else:
            check_input_rank(name, input_size, default_size)
        model = loaded.module
    elif isinstance(model_or_name, nn.Module):
        model = model_or_name
        name = name or type(model).__name__
    else:
        raise CnnstatError(f"expected a model name or an nn.Module, got {type(model_or_name).__name__}")
    if inputs is None:
        if input_size is None:
            raise CnnstatError(f"{name}: give input_size (C, H, W) or example inputs")
        input_size = tuple(int(d) for d in input_size)
        check_input_size(input_size, batch)
    args, kwargs = _example_inputs(inputs, input_size, batch)

    common = dict(device=torch_device, dtype=torch_dtype, model_name=name, channels_last=channels_last)
    inference = run_pass(model, args, kwargs, training=False, backward=False, **common)
    notes = []
    try:
        training = run_pass(model, args, kwargs, training=True, backward=True, **common)
    except ForwardError as error:
        if mode == "train":
            raise
        # e.g. BatchNorm after global pooling refuses a training batch of 1: the eval
        # figures stand, the training estimate is left out and the reason is shown.
        training = None
        notes.append(f"no training-memory estimate: {error}")
    shown = training if mode == "train" else inference

    totals = _totals(model, shown, inference, training, torch_dtype, args, kwargs)
    from torch.utils._pytree import tree_leaves

    input_shapes = [tuple(t.shape) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
    first_batch = input_shapes[0][0] if input_shapes and input_shapes[0] else batch
    return Report(
        model=name,
        input_shapes=input_shapes,
        batch=first_batch,
        mode=mode,
        dtype=dtype_name(torch_dtype),
        device=str(torch_device),
        layers=shown.records,
        totals=totals,
        uncounted_ops=dict(sorted(shown.uncounted_ops.items())),
        notes=notes,
        spec=spec,
    )


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

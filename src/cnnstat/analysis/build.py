"""Building a model for a pass: dtype and device names, loading a spec on a device, the
example inputs and their checks, and the recipe a ``Report`` keeps to build its model
again on a real device for measurement."""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from cnnstat.figures import shape_text
from cnnstat.errors import (CnnstatError, InputRankError, InputSizeError, InputTooLarge, MissingInputSize,
                            UnavailableDevice)
from cnnstat.zoo.loader import BuildError, LoadedModel

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
MODES = ("eval", "train")


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise CnnstatError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


def own_dtype(model: nn.Module) -> torch.dtype:
    """The element type a model computes in: its first floating-point parameter's or buffer's
    (float32 for a model without one)."""
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def resolve_device(device: str | torch.device) -> torch.device:
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise CnnstatError(f"unknown device {device!r}; use meta, cpu or cuda") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise UnavailableDevice(resolved.type)
    return resolved


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise CnnstatError(f"unknown mode {mode!r}; choose eval or train")


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
        raise MissingInputSize(name)
    return declared


@dataclass(frozen=True)
class InputSpec:
    """One positional input of a model: its size without batch, and its element type."""

    size: tuple[int, ...]
    dtype: str | None = None
    """An element type of its own (token ids for an ``nn.Embedding``: "int64"); None: the model's dtype."""

    def torch_dtype(self, model_dtype: torch.dtype) -> torch.dtype:
        return getattr(torch, self.dtype) if self.dtype else model_dtype


def peer_inputs(input_size: Any, inputs: Any) -> tuple[Any, Any]:
    """``(input_size, inputs)`` as ``profile`` takes them, from the peers' habits too: a tensor,
    or a tuple, list or dict of tensors, where the size goes (fvcore's ``FlopCountAnalysis(model,
    x)``) is the example input itself. A dict of sizes is refused by one line naming the way."""
    if input_size is None:
        return None, inputs
    values = input_size.values() if isinstance(input_size, Mapping) else (
        input_size if isinstance(input_size, (tuple, list)) else [input_size])
    if any(isinstance(value, torch.Tensor) for value in values):
        if inputs is not None:
            raise CnnstatError("give example tensors once: as inputs=..., or where the input size goes, not both")
        return None, input_size
    if isinstance(input_size, Mapping):
        raise CnnstatError("input_size takes sizes of positional inputs, without the batch; for keyword or dict "
                           "inputs, give example tensors: inputs={'name': tensor} (or inputs=(a_dict,) for a "
                           "forward that takes one dict)")
    return input_size, inputs


def dict_for_forward(model: nn.Module, inputs: Any) -> Any:
    """A dict of example inputs is the forward's keyword inputs, or, for a forward that takes
    one dict (``forward(self, batch)``) and names none of its keys, that one positional input."""
    if not isinstance(inputs, Mapping):
        return inputs
    import inspect

    try:
        parameters = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):  # a scripted or built-in forward: keep the keywords
        return inputs
    named = {parameter.name for parameter in parameters}
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters) or set(inputs) <= named:
        return inputs
    positional = [parameter for parameter in parameters
                  if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    required = [parameter for parameter in positional if parameter.default is parameter.empty]
    return (inputs,) if len(required) == 1 or len(positional) == 1 else inputs


def input_specs(input_size: Any) -> list[InputSpec] | None:
    """What ``profile`` takes as ``input_size``: one size (3, 224, 224), several (a model of
    several inputs), or ``InputSpec``s; None stays None (the model's default)."""
    if input_size is None:
        return None
    if isinstance(input_size, InputSpec):
        return [input_size]
    try:
        items = list(input_size)
        if items and all(isinstance(d, int) for d in items):
            specs = [InputSpec(tuple(items))]
        else:
            specs = [item if isinstance(item, InputSpec) else InputSpec(tuple(item)) for item in items]
    except TypeError:
        raise InputSizeError(f"an input size is a sequence of whole numbers, e.g. (3, 224, 224), "
                             f"not {input_size!r}") from None
    for spec in specs:
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in spec.size):
            raise InputSizeError(f"an input size is made of whole numbers, got {spec.size!r}")
    return specs


def default_inputs(loaded: LoadedModel) -> list[InputSpec]:
    """The inputs a loaded model declares; a model from user code may declare none."""
    size = default_input_size(loaded.name, loaded.input_size)
    return [InputSpec(size), *(InputSpec(more) for more in loaded.more_input_sizes)]


def example_inputs(inputs: Any, specs: list[InputSpec] | None, batch: int, dtype: torch.dtype = torch.float32,
                   takes_list: bool = False) -> tuple[tuple, dict]:
    """``(args, kwargs)`` for the forward: the given example inputs, or one meta tensor of
    ``batch`` x size per input spec (a list of ``batch`` images for a model that takes one)."""
    if inputs is None:
        if specs is None:
            raise CnnstatError("give input_size (C, H, W) or example inputs")
        if takes_list:
            spec = specs[0]
            return ([torch.empty(spec.size, dtype=spec.torch_dtype(dtype), device="meta") for _ in range(batch)],), {}
        return tuple(torch.empty(batch, *spec.size, dtype=spec.torch_dtype(dtype), device="meta")
                     for spec in specs), {}
    if isinstance(inputs, torch.Tensor):
        return (inputs,), {}
    if isinstance(inputs, Mapping):
        return (), dict(inputs)
    if isinstance(inputs, (tuple, list)):
        return tuple(inputs), {}
    raise CnnstatError(f"inputs must be a tensor, a tuple or a dict of tensors, not {type(inputs).__name__}")


CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
"""torch's convolutions; their subclasses (timm's ScaledStdConv2d, lazy convolutions) are convolutions too."""
MEANINGS = {2: "channels and length", 3: "channels and spatial", 4: "channels, frames and spatial"}
"""What the sizes of an input mean, by how many a convolution's input takes (without batch)."""
EXAMPLES = {2: (16000,), 3: (224, 224), 4: (16, 112, 112)}
"""Typical sizes after the channels, by rank, for an error's example."""


def first_convolution(model: nn.Module) -> nn.modules.conv._ConvNd | None:
    """The first convolution a model registers (of any class derived from torch's), unless
    another layer that sets the input's rank (a linear layer, an embedding) comes before it."""
    for module in model.modules():
        if isinstance(module, CONVOLUTIONS):
            return module
        if isinstance(module, (nn.Linear, nn.Embedding, nn.MultiheadAttention)):
            return None
    return None


MAX_ELEMENT_BYTES = 16
"""The widest element a tensor may have (complex128): a storage's bytes must fit a signed 64-bit size."""


def takes_tokens(model: nn.Module, args: tuple) -> bool:
    """Whether the model's first input is tokens x features: 3-D (batch, tokens, features) and
    read first by a layer over features (a linear layer, an embedding, attention, a recurrent
    layer), not by a convolution."""
    first = next((t for t in args if isinstance(t, torch.Tensor)), None)
    if first is None or first.dim() != 3:
        return False
    for module in model.modules():
        if type(module) in CONVOLUTIONS:
            return False
        if isinstance(module, (nn.Linear, nn.Embedding, nn.MultiheadAttention, nn.RNNBase)):
            return True
    return False


def check_inputs(name: str, specs: list[InputSpec], model: nn.Module, batch: int,
                 default: tuple[int, ...] | None = None) -> None:
    """Sizes of at least 1, and a first input of the rank the model's first layer takes: a Conv1d
    takes channels x length, a Conv2d channels x H x W, a Conv3d channels x frames x H x W."""
    if batch < 1:
        raise CnnstatError(f"batch must be at least 1, got {batch}")
    for spec in specs:
        if not spec.size or any(d < 1 for d in spec.size):
            raise CnnstatError(f"every input dimension must be at least 1, got {shape_text(spec.size)}")
        if math.prod((batch, *spec.size)) * MAX_ELEMENT_BYTES >= 2**63:
            raise InputTooLarge(name, (batch, *spec.size))
    first = first_convolution(model)
    if first is None or specs[0].dtype is not None:
        return
    rank = len(first.kernel_size) + 1  # channels and one size per axis of the kernel (a lazy weight has no shape yet)
    if len(specs[0].size) != rank:
        example = default if default is not None and len(default) == rank else (first.in_channels, *EXAMPLES[rank])
        raise InputRankError(name, specs[0].size, example, MEANINGS[rank])


class ScriptedModuleError(CnnstatError):
    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(f"{model} is a TorchScript module: its forward runs in the TorchScript interpreter, which "
                         "has no module hooks to count per layer; profile the nn.Module before torch.jit.script")


def ready_for_pass(model: nn.Module, name: str, args: tuple, kwargs: Mapping[str, Any],
                   channels_last: bool = False) -> nn.Module:
    """The module the static pass can run: a scripted one is refused, and so is the channels-last
    layout for a model with no 4-D weight or input (a Conv3d model); one with lazy modules
    (``nn.LazyConv2d``, ``nn.LazyLinear``) is replaced by a meta copy whose parameters one meta
    forward has given their shapes (the user's model keeps its uninitialised ones)."""
    if isinstance(model, torch.jit.ScriptModule):
        raise ScriptedModuleError(getattr(model, "original_name", name) if name == type(model).__name__ else name)
    check_no_cycle(model, name)
    if channels_last:
        from torch.utils._pytree import tree_leaves

        tensors = [*model.parameters(), *(t for t in tree_leaves((args, dict(kwargs))) if isinstance(t, torch.Tensor))]
        if not any(t.dim() == 4 for t in tensors if not nn.parameter.is_lazy(t)):
            shapes = ", ".join(shape_text(t.shape) for t in tensors if not isinstance(t, nn.Parameter))
            raise CnnstatError(f"the channels-last layout applies to 4-D tensors (2-D convolutions), and {name} has "
                               f"no 4-D weight or input (input {shapes})")
    if not any(nn.parameter.is_lazy(p) for p in [*model.parameters(), *model.buffers()]):
        return model
    import copy

    from torch.utils._pytree import tree_map

    materialised = copy.deepcopy(model)
    for module in materialised.modules():  # not .to("meta"): it would make a lazy parameter a plain empty one
        for registered in (module._parameters, module._buffers):
            for key, tensor in registered.items():
                if tensor is not None:  # meta_copy keeps the kind: a parameter's copy is a Parameter
                    registered[key] = meta_copy(tensor)  # type: ignore[assignment]
    meta_args, meta_kwargs = tree_map(lambda t: t.to("meta") if isinstance(t, torch.Tensor) else t,
                                      (args, dict(kwargs)))
    with torch.no_grad(), _SkipInitOnMeta():
        materialised(*meta_args, **meta_kwargs)
    return materialised


def check_no_cycle(model: nn.Module, name: str) -> None:
    """Refuse a module that registers one of its ancestors as a submodule (a child keeping its
    parent): torch's own walks of such a graph (``named_modules``, ``state_dict``) never end."""
    path: list[tuple[str, nn.Module]] = [(name, model)]
    pending: list[Any] = [iter(model._modules.items())]
    while pending:
        entry = next(pending[-1], None)
        if entry is None:
            pending.pop()
            path.pop()
            continue
        key, child = entry
        if child is None:
            continue
        ancestors = [module for _, module in path]
        if any(child is module for module in ancestors):
            where = ".".join([*(part for part, _ in path[1:]), key])
            found = next(part for part, module in path if module is child)
            raise CnnstatError(f"{name}: submodule {where} is {found if found != name else 'the model itself'}, one "
                               "of its own ancestors: a module graph with a cycle has no layers to list (attach "
                               "it without registering it, e.g. in a plain list)")
        path.append((key, child))
        pending.append(iter(child._modules.items()))


def meta_copy(tensor: torch.Tensor) -> torch.Tensor:
    """The same shape, strides, dtype and kind (parameter, lazy or not) on meta."""
    if nn.parameter.is_lazy(tensor):
        kind = nn.UninitializedParameter if isinstance(tensor, nn.Parameter) else nn.UninitializedBuffer
        # torch's parameter.pyi types their __init__ without device and dtype, which their __new__ takes
        return kind(requires_grad=tensor.requires_grad, device="meta", dtype=tensor.dtype)  # type: ignore[call-arg]
    on_meta = torch.empty_strided(tensor.shape, tensor.stride(), dtype=tensor.dtype, device="meta")
    return nn.Parameter(on_meta, tensor.requires_grad) if isinstance(tensor, nn.Parameter) else on_meta


@dataclass(frozen=True)
class BuildRecipe:
    """Everything needed to build a report's model and inputs again, on any device."""

    spec: str | None
    """The model spec (``cnnstat.zoo.loader``); None for a module passed in, which cannot be rebuilt."""
    input_shapes: tuple[tuple[int, ...], ...]
    """Every input tensor's shape, batch included."""
    mode: str
    dtype: str
    num_classes: int | None = None
    in_channels: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    channels_last: bool = False
    input_dtypes: tuple[str | None, ...] = ()
    """Each input's own element type (``InputSpec.dtype``), where it has one."""
    takes_list: bool = False
    """The inputs go to the model as one list of images (torchvision's detection models)."""

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def build(self, device: torch.device) -> nn.Module:
        """The model on ``device``, in the recipe's dtype and layout (fresh weights)."""
        if self.spec is None:
            raise CnnstatError("this report is of a module passed in, which cannot be rebuilt: "
                               "measure the module itself (cnnstat.analysis.measure.measure)")
        model = build_model(self.spec, self.num_classes, self.in_channels, self.options, device=device)
        model = model.to(dtype=resolve_dtype(self.dtype))
        with torch.no_grad():  # 4-D tensors only, as in the static pass (Module.to would refuse a 5-D one)
            for tensor in [*model.parameters(), *model.buffers()]:
                if tensor.dim() == 4:
                    tensor.data = tensor.data.contiguous(memory_format=self.memory_format)
        return model

    def inputs(self, device: torch.device) -> tuple:
        """The model's positional inputs on ``device``: random ones of the recipe's shapes (4-D ones
        in the recipe's layout), zeros for integer inputs (valid token ids), a list of them for a
        model that takes a list of images."""
        dtype = resolve_dtype(self.dtype)
        tensors = []
        for shape, own in itertools.zip_longest(self.input_shapes, self.input_dtypes[:len(self.input_shapes)]):
            if own is not None:
                tensors.append(torch.zeros(shape, device=device, dtype=getattr(torch, own)))
                continue
            tensors.append(torch.randn(shape, device=device, dtype=dtype).contiguous(
                memory_format=self.memory_format if len(shape) == 4 else torch.contiguous_format))
        return (tensors,) if self.takes_list else tuple(tensors)

"""The static pass: run the model once under a TorchDispatchMode, on the meta device by
default, and attribute every aten op to the innermost module whose forward is running.

The model is left exactly as found: parameters and buffers are swapped for stand-ins by
``torch.func.functional_call`` (so no weight is touched, no gradient kept and no running
statistic updated), hooks are removed even on error, and train/eval flags are restored.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

import torch
from torch import nn
from torch.func import functional_call
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

from cnnstat.analysis.describe import describe
from cnnstat.analysis.memory import LiveMemory, convolution_workspace_bytes
from cnnstat.analysis.meta_shapes import meta_outputs
from cnnstat.analysis.records import LayerRecord
from cnnstat.analysis.rules import NORMS, op_cost
from cnnstat.errors import CnnstatError, ForwardError


def _shapes(value: Any) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in tree_leaves(value) if isinstance(t, torch.Tensor)]


def _tensor_bytes(value: Any) -> int:
    return sum(t.numel() * t.element_size() for t in tree_leaves(value) if isinstance(t, torch.Tensor))


@dataclass
class PassResult:
    """What one pass (a forward, optionally followed by a backward) measured."""

    records: list[LayerRecord]
    uncounted_ops: Counter
    peak_bytes: int
    """Peak of all live tensors, parameters and buffers included."""
    end_of_forward_bytes: int
    backward_macs: int = 0
    unused_params: int = 0
    """Parameters no op of the forward read (e.g. auxiliary heads in eval)."""


class PassObserver(Protocol):
    """Follows a pass op by op: each module call's inputs and output, and every op with the
    record of the module running it (None outside every forward)."""

    def module_input(self, record: LayerRecord, args: tuple, kwargs: dict) -> None: ...

    def op(self, func, args: tuple, kwargs: dict, out: Any, record: LayerRecord | None) -> None: ...

    def module_output(self, record: LayerRecord, output: Any) -> None: ...


class _CountingMode(TorchDispatchMode):
    def __init__(self, tracer: "_Tracer", on_meta: bool) -> None:
        super().__init__()
        self.tracer = tracer
        self.on_meta = on_meta

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # No torch.compile runs under this mode; wrapping it in dynamo.disable would import
        # torch._dynamo (over a second) on the first op.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = meta_outputs(func, args, kwargs) if self.on_meta else None
        if out is None:
            out = func(*args, **kwargs)
        self.tracer.on_op(func, args, kwargs, out)
        return out


def _param_counts(module: nn.Module) -> tuple[int, int, int]:
    """(params, trainable params, own params not in a child)."""
    params = list(module.parameters())
    return (sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad),
            sum(p.numel() for p in module.parameters(recurse=False)))


class _Tracer:
    def __init__(self, model: nn.Module, training: bool, channels_last: bool = False,
                 observers: Sequence[PassObserver] = ()) -> None:
        self.model = model
        self.observers = observers
        self.training = training
        self.channels_last = channels_last
        self.names = {id(module): name for name, module in model.named_modules()}
        # Counted now, from the real parameters: inside functional_call a module's parameters are
        # the stand-ins, whose requires_grad is off in a pass without backward.
        self.param_counts = {id(module): _param_counts(module) for module in model.modules()}
        self.records: list[LayerRecord] = []
        self.stack: list[LayerRecord] = []
        self.calls: Counter = Counter()
        self.uncounted: Counter = Counter()
        self.backward_macs = 0
        self.memory = LiveMemory()
        self.param_storages: dict[int, int] = {}
        """Storage id -> element count of each parameter stand-in, to find parameters never read."""
        self.read_storages: set[int] = set()

    # -- module hooks ---------------------------------------------------------------
    def pre_hook(self, module: nn.Module, args, kwargs) -> None:
        key = id(module)
        call = self.calls[key]
        self.calls[key] += 1
        first = call == 0
        record = LayerRecord(
            index=len(self.records),
            name=self.names.get(key, ""),
            type=type(module).__name__,
            depth=len(self.stack),
            parent=self.stack[-1].index if self.stack else None,
            is_leaf=next(module.children(), None) is None,
            call=call,
            input_shapes=_shapes((args, kwargs)),
            description=describe(module),
        )
        if first:
            record.params, record.trainable_params, record.own_params = self.param_counts[key]
        self.records.append(record)
        self.stack.append(record)
        for observer in self.observers:
            observer.module_input(record, args, kwargs)

    def post_hook(self, module: nn.Module, args, kwargs, output) -> None:
        record = self.stack.pop()
        record.output_shapes = _shapes(output)
        record.output_bytes = _tensor_bytes(output)
        for observer in self.observers:
            observer.module_output(record, output)

    # -- ops ---------------------------------------------------------------------------
    def on_op(self, func, args, kwargs, out) -> None:
        for observer in self.observers:
            observer.op(func, args, kwargs, out, self.stack[-1] if self.stack else None)
        allocated = out
        if not self.training and func._overloadpacket.__name__ in NORMS:
            # In eval, CPU and CUDA norm kernels return empty statistics where the meta kernel
            # returns per-channel ones; only the normalised output is a real allocation.
            allocated = out[0] if isinstance(out, (tuple, list)) else out
        for tensor in tree_leaves(allocated):
            if isinstance(tensor, torch.Tensor):
                self.memory.add(tensor)
        if func is torch.ops.aten.convolution.default and not self.channels_last:
            # Not read from the input's layout: meta convolutions return contiguous outputs even
            # where a real channels_last run keeps channels_last.
            self.memory.transient(convolution_workspace_bytes(args[0], args[1], out))
        for tensor in tree_leaves((args, kwargs)):
            if isinstance(tensor, torch.Tensor):
                self.read_storages.add(id(tensor.untyped_storage()))
        cost = op_cost(func, args, kwargs, out, self.training)
        if not self.stack:  # outside every forward: the backward pass
            if cost is not None:
                self.backward_macs += cost[0]
            return
        if cost is None:
            self.uncounted[str(func._overloadpacket)] += 1
            return
        record = self.stack[-1]
        record.own_macs += cost[0]
        record.own_flops += cost[1]

    def failing_module(self) -> LayerRecord | None:
        return self.stack[-1] if self.stack else None


def _stand_in(tensor: torch.Tensor, device: torch.device, dtype: torch.dtype | None, requires_grad: bool,
              channels_last: bool = False):
    target_dtype = dtype if dtype is not None and tensor.is_floating_point() else tensor.dtype
    layout = torch.channels_last if channels_last and tensor.dim() == 4 else None
    if device.type == "meta" and layout is not None:
        copy = torch.empty(tensor.shape, dtype=target_dtype, device="meta", memory_format=layout)
    elif device.type == "meta":
        # Not empty_like: on meta it runs a Python reference that imports sympy (half a second).
        copy = torch.empty_strided(tensor.shape, tensor.stride(), dtype=target_dtype, device="meta")
    elif tensor.is_meta:  # no data to copy: make some (values do not change what is counted)
        copy = torch.empty_like(tensor, device=device, dtype=target_dtype, memory_format=layout or torch.preserve_format)
        copy.normal_() if copy.is_floating_point() else copy.zero_()
    else:
        copy = tensor.detach().to(device=device, dtype=target_dtype, memory_format=layout or torch.preserve_format,
                                  copy=True)
    return copy.requires_grad_(requires_grad)


def _finalise(records: list[LayerRecord]) -> None:
    """Inclusive MACs/FLOPs: each module's own work plus its children's."""
    for record in records:
        record.macs, record.flops = record.own_macs, record.own_flops
    for record in reversed(records):
        if record.parent is not None:
            parent = records[record.parent]
            parent.macs += record.macs
            parent.flops += record.flops


def _loss(output: Any) -> torch.Tensor | None:
    terms = [t.sum() for t in tree_leaves(output)
             if isinstance(t, torch.Tensor) and t.is_floating_point() and t.requires_grad]
    return functools.reduce(operator.add, terms) if terms else None


def run_pass(
    model: nn.Module,
    args: tuple,
    kwargs: Mapping[str, Any],
    *,
    training: bool,
    backward: bool,
    device: torch.device,
    dtype: torch.dtype | None,
    model_name: str,
    channels_last: bool = False,
    observers: Sequence[PassObserver] = (),
) -> PassResult:
    """One forward (and, if asked, backward) of ``model`` under the counting mode; with
    ``channels_last``, 4-D parameters and inputs are in that layout, as after
    ``model.to(memory_format=torch.channels_last)``. ``observers`` follow the pass op by op."""
    tracer = _Tracer(model, training, channels_last, observers)
    handles = []
    modes = {module: module.training for module in model.modules()}
    try:
        for module in model.modules():
            handles.append(module.register_forward_pre_hook(tracer.pre_hook, with_kwargs=True))
            handles.append(module.register_forward_hook(tracer.post_hook, with_kwargs=True))
        model.train(training)
        state = {name: _stand_in(p, device, dtype, backward and p.requires_grad, channels_last)
                 for name, p in model.named_parameters()}
        state.update({name: _stand_in(b, device, dtype, False, channels_last) for name, b in model.named_buffers()})
        inputs = tree_map(lambda t: _stand_in(t, device, dtype, False, channels_last)
                          if isinstance(t, torch.Tensor) else t, (args, dict(kwargs)))
        for tensor in tree_leaves((state, inputs)):
            if isinstance(tensor, torch.Tensor):
                tracer.memory.add(tensor)
        for name, param in model.named_parameters():
            tracer.param_storages[id(state[name].untyped_storage())] = param.numel()
        grad_context = torch.enable_grad() if backward else torch.no_grad()
        with grad_context, _CountingMode(tracer, on_meta=device.type == "meta"):
            try:
                output = functional_call(model, state, inputs[0], inputs[1], tie_weights=True, strict=False)
            except CnnstatError:
                raise
            except Exception as error:
                raise _forward_error(error, tracer, model_name) from error
            end_of_forward = tracer.memory.live
            loss = _loss(output) if backward else None
            del output
            if loss is not None:
                loss.backward()
                del loss
        peak = tracer.memory.peak
        unused = sum(n for key, n in tracer.param_storages.items() if key not in tracer.read_storages)
        del state, inputs
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes.items():
            module.training = mode
    _finalise(tracer.records)
    return PassResult(tracer.records, tracer.uncounted, peak, end_of_forward, tracer.backward_macs, unused)


def _forward_error(error: Exception, tracer: _Tracer, model_name: str) -> ForwardError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    failing = tracer.failing_module()
    if failing is None:
        return ForwardError(model_name, reason)
    return ForwardError(model_name, reason, failing.name, failing.type, list(failing.input_shapes))

"""The static pass: run the model once under a TorchDispatchMode, on the meta device by
default, and charge every aten op, forward and backward, to the module call whose work it is.

Forward ops go to the innermost module whose forward is running (hooks of that module
included). Backward ops go to the module call whose forward created the autograd node that
runs them: each forward op's node is known by its autograd sequence number, and the
backward asks autograd which node it is running. What each op costs and, on meta, what it
returns come from the op registry (``cnnstat.analysis.registry``).

The model is left exactly as found: parameters and buffers are swapped for stand-ins by
``torch.func.functional_call`` (so no weight is touched, no gradient kept and no running
statistic updated), hooks are removed even on error, and train/eval flags are restored.
The pass runs in the grad mode it needs whatever the caller's (``torch.inference_mode``,
``torch.no_grad``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import operator
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import torch
from torch import nn
from torch.func import functional_call
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

from cnnstat.analysis.autocast import AutocastOnMeta
from cnnstat.analysis.describe import describe
from cnnstat.analysis.memory import LiveMemory
from cnnstat.analysis.records import LayerRecord, OpTally
from cnnstat.analysis.registry import OpCall, OpRules
from cnnstat.analysis.rules import NORMS, OP_RULES, tensors_in
from cnnstat.errors import CnnstatError, ForwardError, first_line

_current_node = torch._C._current_autograd_node
_next_sequence_number = torch._C._autograd._get_sequence_nr


class BackwardError(CnnstatError):
    """The backward of the model's output failed (e.g. an in-place op on a tensor saved for it)."""

    def __init__(self, model: str, reason: str) -> None:
        self.model, self.reason = model, reason
        super().__init__(f"{model}: the backward pass failed: {reason}")


def _shapes(value: Any) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in tensors_in(value)]


def _tensor_bytes(value: Any) -> int:
    return sum(t.numel() * t.element_size() for t in tensors_in(value))


@dataclass
class PassResult:
    """What one pass (a forward, optionally followed by a backward) measured."""

    records: list[LayerRecord]
    uncounted_ops: Counter
    """Forward ops without a cost rule, and how often they ran."""
    uncounted_backward_ops: Counter
    peak_bytes: int
    """Peak of all live tensors, parameters and buffers included."""
    end_of_forward_bytes: int
    unused_params: int = 0
    """Parameters no op of the forward read (e.g. auxiliary heads in eval)."""
    timeline: list[tuple[int, int | None]] = field(default_factory=list)
    """Live bytes after every allocation and free of the pass, with the module call (record
    index) running then (``LiveMemory.timeline``); the backward's start at ``backward_from``."""
    backward_from: int | None = None
    backward_ran: bool = False
    """Whether a backward ran: a pass with backward has none to run where the model's output
    holds no floating-point tensor that requires grad."""

    @property
    def backward_macs(self) -> int:
        return self.records[0].backward_macs


FORWARD, LOSS, BACKWARD = "forward", "loss", "backward"


class PassObserver(Protocol):
    """Follows a pass op by op: each module call's inputs and output, and every op with the
    record of the module running it (None outside every forward)."""

    def module_input(self, record: LayerRecord, args: tuple, kwargs: dict) -> None: ...

    def op(self, func, args: tuple, kwargs: dict, out: Any, record: LayerRecord | None) -> None: ...

    def module_output(self, record: LayerRecord, output: Any) -> None: ...


class _CountingMode(TorchDispatchMode):
    def __init__(self, tracer: "_Tracer", rules: OpRules, on_meta: bool) -> None:
        super().__init__()
        self.tracer = tracer
        self.lookup = rules.lookup
        self.on_meta = on_meta

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # No torch.compile runs under this mode; wrapping it in dynamo.disable would import
        # torch._dynamo (over a second) on the first op.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        cost_rule, shape_rule = self.lookup(func)
        out = shape_rule(*args, **kwargs) if self.on_meta and shape_rule is not None else None
        if out is None:
            out = func(*args, **kwargs)
        self.tracer.on_op(func, args, kwargs, out, cost_rule)
        return out


def _op_tensors(value: Any) -> list[torch.Tensor]:
    """The tensors of an aten op's arguments or outputs: a tensor, or a tuple or list holding
    tensors and lists of tensors (``cat``'s)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if not isinstance(value, (tuple, list)):
        return []
    found = []
    for item in value:
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (tuple, list)):
            found.extend(t for t in item if isinstance(t, torch.Tensor))
    return found


class CostRuleError(CnnstatError):
    """A cost rule that failed or returned something other than two non-negative whole numbers."""

    def __init__(self, op: str, reason: str) -> None:
        self.op, self.reason = op, reason
        super().__init__(f"the cost rule for {op} {reason}")


def _cost(rule, call: OpCall, op: str) -> tuple[int, int]:
    """A rule's (MACs, FLOPs), checked: a caller's rule may return anything."""
    try:
        macs, flops = rule(call)
    except CnnstatError:
        raise
    except Exception as error:
        raise CostRuleError(op, f"failed: {first_line(error)}") from error
    if type(macs) is int and type(flops) is int and macs >= 0 and flops >= 0:
        return macs, flops
    try:
        counted = operator.index(macs), operator.index(flops)
    except TypeError:
        counted = None
    if counted is None or min(counted) < 0 or isinstance(macs, bool) or isinstance(flops, bool):
        raise CostRuleError(op, f"returned {macs!r} MACs and {flops!r} FLOPs: a cost is two non-negative whole "
                                "numbers")
    return counted


def _param_counts(module: nn.Module) -> tuple[int, int, int]:
    """(params, trainable params, own params not in a child)."""
    own = list(module.parameters(recurse=False))
    params = list(module.parameters()) if next(module.children(), None) is not None else own
    return (sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad),
            sum(p.numel() for p in own))


class _Tracer:
    def __init__(self, model: nn.Module, training: bool, backward: bool, channels_last: bool,
                 observers: Sequence[PassObserver], memory: LiveMemory) -> None:
        self.model = model
        self.observers = observers
        self.training = training
        self.backward = backward
        self.channels_last = channels_last
        self.names = {id(module): name for name, module in model.named_modules()}
        # Counted now, from the real parameters: inside functional_call a module's parameters are
        # the stand-ins, whose requires_grad is off in a pass without backward.
        self.param_counts = {id(module): _param_counts(module) for module in model.modules()}
        self.records: list[LayerRecord] = []
        self.stack: list[LayerRecord] = []
        self.calls: Counter = Counter()
        self.uncounted: dict[str, Counter[str]] = {FORWARD: Counter(), BACKWARD: Counter()}
        self.op_names: dict = {}
        self.phase = FORWARD
        self.node_owner: dict[int, LayerRecord | None] = {}
        """Autograd sequence number of a forward op's node -> the module call that ran the op
        (None for the loss cnnstat adds, whose backward is not the model's)."""
        self.memory = memory
        self.param_storages: dict[int, int] = {}
        """Storage id -> element count of each parameter stand-in, to find parameters never read."""
        self.read_storages: set[int] = set()
        self.backward_from = 0
        self.step_timeline: list[tuple[int, int | None]] = []
        self.grad_bytes: dict[str, int] = {}
        """Module name -> bytes of its trainable parameters' gradients (children's included)."""

    # -- module hooks ---------------------------------------------------------------
    def pre_hook(self, module: nn.Module, args, kwargs) -> None:
        if self.phase != FORWARD:  # a checkpoint's forward run again in the backward: its work is the backward's
            return
        key = id(module)
        call = self.calls[key]
        self.calls[key] += 1
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
        if call == 0:
            record.params, record.trainable_params, record.own_params = self.param_counts[key]
            record.grad_bytes = self.grad_bytes.get(record.name, 0)
        self.records.append(record)
        self.stack.append(record)
        self.memory.running = record.index
        self.memory.enter(module, args)  # a layer whose CPU kernel is fused is counted as that kernel runs
        for observer in self.observers:
            observer.module_input(record, args, kwargs)

    def post_hook(self, module: nn.Module, args, kwargs, output) -> None:
        if self.phase != FORWARD:
            return
        self.memory.leave(module, output)
        record = self.stack.pop()
        record.output_shapes = _shapes(output)
        record.output_bytes = _tensor_bytes(output)
        for observer in self.observers:
            observer.module_output(record, output)

    # -- ops ---------------------------------------------------------------------------
    def on_op(self, func, args, kwargs, out, cost_rule) -> None:
        if self.observers:
            running = self.stack[-1] if self.phase == FORWARD and self.stack else None
            for observer in self.observers:
                observer.op(func, args, kwargs, out, running)
        record = self._owner()
        self.memory.running = record.index if record is not None else None
        allocated = out
        if not self.training and func.overloadpacket in NORMS:
            # In eval, CPU and CUDA norm kernels return empty statistics where the meta kernel
            # returns per-channel ones; only the normalised output is a real allocation.
            allocated = out[0] if isinstance(out, (tuple, list)) else out
        for tensor in _op_tensors(allocated):
            self.memory.add(tensor)
        # The layout not read from the input: meta convolutions return contiguous outputs even
        # where a real channels_last run keeps channels_last.
        self.memory.ran(func, args, out, self.channels_last)
        read = self.read_storages
        for tensor in _op_tensors(args):
            read.add(id(tensor.untyped_storage()))
        if kwargs:
            for tensor in _op_tensors(tuple(kwargs.values())):
                read.add(id(tensor.untyped_storage()))
        if record is None:
            return
        backward = self.phase == BACKWARD
        name = self.op_names.get(func)
        if name is None:
            name = self.op_names[func] = str(func.overloadpacket)
        if cost_rule is None:
            self.uncounted[self.phase][name] += 1
            return
        macs, flops = _cost(cost_rule, OpCall(func, args, kwargs, out, self.training), name)
        tallies = record.backward_ops if backward else record.forward_ops
        tally = tallies.get(name)
        if tally is None:
            tally = tallies[name] = OpTally()
        tally.calls += 1
        tally.macs += macs
        tally.flops += flops
        if backward:
            record.own_backward_macs += macs
            record.own_backward_flops += flops
        else:
            record.own_macs += macs
            record.own_flops += flops

    def _owner(self) -> LayerRecord | None:
        """The module call an op is charged to; None for the loss cnnstat adds."""
        if self.phase == BACKWARD:
            node = _current_node()
            if node is None:  # the gradient autograd seeds the loss with, outside every node
                return None
            # Nodes no forward op made (gradient accumulation into parameters) are the model's.
            return self.node_owner.get(node._sequence_nr(), self.records[0])
        # A forward op's autograd node (made just before it dispatches) is this module's work;
        # ops before the model's own forward hooks run are the model's too.
        owner = None
        if self.phase == FORWARD:
            owner = self.stack[-1] if self.stack else self.records[0] if self.records else None
        if self.backward:
            self.node_owner.setdefault(_next_sequence_number() - 1, owner)
        return owner

    def failing_module(self) -> LayerRecord | None:
        return self.stack[-1] if self.stack else None


def _stand_in(tensor: torch.Tensor, device: torch.device, dtype: torch.dtype | None, requires_grad: bool,
              channels_last: bool = False):
    target_dtype = dtype if dtype is not None and tensor.is_floating_point() else tensor.dtype
    layout = torch.channels_last if channels_last and tensor.dim() == 4 else None
    if tensor.layout != torch.strided:  # sparse: no strides to copy, no layout to choose
        return tensor.detach().to(device=device, dtype=target_dtype, copy=True).requires_grad_(requires_grad)
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


@contextlib.contextmanager
def _collector_held():
    """The cyclic garbage collector stopped while a pass runs, so that what the pass counts
    does not depend on when it would have run (a tensor held in a reference cycle lives
    until the end of the pass, every time), and the objects that exist before the pass (the
    model: its modules, parameters, hooks) out of its reach for the collection at the end. A
    caller's own frozen objects are left as they are (then nothing is frozen here)."""
    enabled, freeze = gc.isenabled(), gc.get_freeze_count() == 0
    gc.disable()
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _room_for_depth(model: nn.Module):
    """Python's recursion limit raised for a deep chain of modules, whose real forward fits
    in the default limit but not with the frames of the counting mode's hooks added."""
    depth = max((name.count(".") + 1 for name, _ in model.named_modules() if name), default=0)
    found = sys.getrecursionlimit()
    needed = 1000 + 8 * depth
    if needed > found:
        sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if needed > found:
            sys.setrecursionlimit(found)


def _finalise(records: list[LayerRecord]) -> None:
    """Inclusive figures: each module's own work plus its children's."""
    for record in records:
        record.macs, record.flops = record.own_macs, record.own_flops
        record.backward_macs, record.backward_flops = record.own_backward_macs, record.own_backward_flops
        record.saved_bytes = record.own_saved_bytes
    for record in reversed(records):
        if record.parent is not None:
            parent = records[record.parent]
            parent.saved_bytes += record.saved_bytes
            parent.macs += record.macs
            parent.flops += record.flops
            parent.backward_macs += record.backward_macs
            parent.backward_flops += record.backward_flops


def output_tensors(output: Any) -> list[torch.Tensor]:
    """The tensors a forward returned, wherever it put them: tuples, lists, dicts, dataclasses
    and other plain objects (a ``ModelOutput``, a named tuple)."""
    found, seen, pending = [], set(), [output]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (tuple, list, set, frozenset)):
            pending.extend(reversed(list(value)))
        elif isinstance(value, Mapping):
            pending.extend(reversed(list(value.values())))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            pending.extend(reversed([getattr(value, f.name) for f in dataclasses.fields(value)]))
        elif hasattr(value, "__dict__") and not isinstance(value, (type, nn.Module)):
            pending.extend(reversed(list(vars(value).values())))
    return found


def _loss(output: Any) -> torch.Tensor | None:
    terms = [t.sum() for t in output_tensors(output) if t.is_floating_point() and t.requires_grad]
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
    rules: OpRules | None = None,
    observers: Sequence[PassObserver] = (),
    memory: LiveMemory | None = None,
) -> PassResult:
    """One forward (and, if asked, backward) of ``model`` under the counting mode; with
    ``channels_last``, 4-D parameters and inputs are in that layout, as after
    ``model.to(memory_format=torch.channels_last)``. ``dtype`` converts floating-point
    tensors (None: each keeps its own). ``rules`` (default: cnnstat's) say what each op costs
    and returns; ``observers`` follow the pass op by op; ``memory`` (a fresh one by default)
    follows its live tensors, also up to a failure. A failing forward raises
    :class:`ForwardError`, a failing backward :class:`BackwardError`."""
    tracer = _Tracer(model, training, backward, channels_last, observers, memory or LiveMemory())
    handles = []
    modes = {module: module.training for module in model.modules()}
    try:
        for module in model.modules():
            if module is model:  # the model's row is opened around its call, whatever its __call__
                continue
            # First among the module's pre-hooks and last among its hooks: work in the model's
            # own hooks is the module's.
            handles.append(module.register_forward_pre_hook(tracer.pre_hook, with_kwargs=True, prepend=True))
            handles.append(module.register_forward_hook(tracer.post_hook, with_kwargs=True))
        for module in modes:  # not model.train(): a model may define its own train(loader)
            module.training = training
        # The caller's grad mode (inference_mode, no_grad) must not change what is counted.
        with torch.inference_mode(False), torch.enable_grad() if backward else torch.no_grad(), \
                _collector_held(), _room_for_depth(model):
            peak, end_of_forward, unused, backward_ran = _run(model, args, kwargs, tracer, device, dtype, model_name,
                                                              channels_last, rules or OP_RULES)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes.items():
            module.training = mode
    _finalise(tracer.records)
    return PassResult(tracer.records, tracer.uncounted[FORWARD], tracer.uncounted[BACKWARD], peak, end_of_forward,
                      unused, tracer.step_timeline, tracer.backward_from if backward else None, backward_ran)


class _Step(nn.Module):
    """The model's forward and, in a pass with backward, the backward of its output, in one
    call: ``functional_call`` keeps the stand-ins in place for both (a reentrant activation
    checkpoint runs its forward again inside the backward, and must not reach the real
    parameters)."""

    def __init__(self, model: nn.Module, step) -> None:
        super().__init__()
        self.model = model
        self.step = step

    def forward(self, args, kwargs):
        return self.step(args, kwargs)


def _run(model, args, kwargs, tracer: _Tracer, device, dtype, model_name, channels_last,
         rules) -> tuple[int, int, int, bool]:
    state = {f"model.{name}": _stand_in(p, device, dtype, tracer.backward and p.requires_grad, channels_last)
             for name, p in model.named_parameters()}
    state.update({f"model.{name}": _stand_in(b, device, dtype, False, channels_last)
                  for name, b in model.named_buffers()})
    inputs = tree_map(lambda t: _stand_in(t, device, dtype, False, channels_last)
                      if isinstance(t, torch.Tensor) else t, (args, dict(kwargs)))
    for tensor in tree_leaves((state, inputs)):
        if isinstance(tensor, torch.Tensor):
            tracer.memory.add(tensor)
    tracer.memory.timeline = [(tracer.memory.live, None)]  # the step's timeline starts from what is resident
    for name, param in model.named_parameters():
        stand_in = state[f"model.{name}"]
        tracer.param_storages[id(stand_in.untyped_storage())] = param.numel()
        if stand_in.requires_grad:  # its gradient, as big as the stand-in, belongs to every enclosing module
            parts = name.split(".")[:-1]
            for depth in range(len(parts) + 1):
                prefix = ".".join(parts[:depth])
                tracer.grad_bytes[prefix] = tracer.grad_bytes.get(prefix, 0) + stand_in.nbytes
    end_of_forward = 0

    def step(args, kwargs) -> bool:
        nonlocal end_of_forward
        tracer.pre_hook(model, args, kwargs)
        try:
            output = model(*args, **kwargs)
        except CnnstatError:
            raise
        except (Exception, SystemExit) as error:
            raise _forward_error(error, tracer, model_name) from error
        tracer.post_hook(model, args, kwargs, output)
        end_of_forward = tracer.memory.live
        for maker, nbytes in tracer.memory.live_by_maker().items():
            if maker is not None:  # what each module call made and the backward still holds
                tracer.records[maker].own_saved_bytes = nbytes
        tracer.backward_from = len(tracer.memory.timeline)
        tracer.phase = LOSS
        loss = _loss(output) if tracer.backward else None
        del output
        if loss is None:
            return False
        tracer.phase = BACKWARD
        try:
            loss.backward()
        except CnnstatError:
            raise
        except (Exception, SystemExit) as error:
            raise BackwardError(model_name, _reason(error)) from error
        return True

    parameters = [state[f"model.{name}"] for name, _ in model.named_parameters()]
    with AutocastOnMeta(parameters), _CountingMode(tracer, rules, on_meta=device.type == "meta"):
        backward_ran = functional_call(_Step(model, step), state, inputs, tie_weights=True, strict=False)
    tracer.step_timeline = list(tracer.memory.timeline)  # before the stand-ins go with this frame
    unused = sum(n for key, n in tracer.param_storages.items() if key not in tracer.read_storages)
    return tracer.memory.peak, end_of_forward, unused, backward_ran


def _reason(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"the model called sys.exit({error.code!r})"
    return first_line(error)


def _forward_error(error: BaseException, tracer: _Tracer, model_name: str) -> ForwardError:
    reason = _reason(error)
    failing = tracer.failing_module()
    if failing is None:
        return ForwardError(model_name, reason)
    return ForwardError(model_name, reason, failing.name, failing.type, list(failing.input_shapes))

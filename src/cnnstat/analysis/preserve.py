"""Leave a user's model exactly as found around a pass that runs its forward.

A forward may create or replace state: a causal-mask cache (``self.mask = torch.tril(...)``),
a buffer built on first use, a counter, a submodule made lazily, a history kept in a
``deque``, a list inside a dict, a ``SimpleNamespace``, a list at the top of the model's
file; under the static pass those would keep meta tensors and break the model's next real
forward. ``left_as_found`` records what a forward can reach and puts it back afterwards:

- every module's ``__dict__`` (its attributes, flags, and the containers that hold its
  parameters, buffers, submodules and hooks) and its class (``torch.nn.utils.parametrize``
  swaps it);
- every container and plain object reachable from those attributes, from the globals the
  code of the model's classes and hooks names (and the code of the functions of their own
  file that it names, as deep as they call each other), and from those functions' closures: a
  shallow copy of each, put back in place (so the handles of hooks the user registered,
  and a deque's ``maxlen``, keep working), and each global name's binding;
- the values of plain tensors found there (a forward may write into them), each
  parameter's ``requires_grad`` and ``.grad``;
- the global random state (torch's CPU and CUDA generators, ``random``, ``numpy.random``):
  a dropout or a ``torch.rand`` in the forward draws from them.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import random
import sys
import types
from dataclasses import dataclass, field, is_dataclass, replace
from typing import Any, Callable, Iterator, TypeVar, cast

import torch
from torch import nn

from cnnstat.analysis.build import meta_copy

_MISSING = object()
_ATOMS = (type(None), bool, int, float, complex, str, bytes, range, slice, type, types.ModuleType,
          types.BuiltinFunctionType, torch.dtype, torch.device, torch.Size)
_MAX_OBJECTS = 100_000
"""How many objects the walk visits at most: a model holding a whole data set in a list is
restored at its first hundred thousand objects, and its report says so."""


def _plain_tensor(value: Any) -> bool:
    """A real tensor kept outside parameters and buffers: what a forward may cache or write
    into, and a meta pass must not read."""
    return isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter) and not value.is_meta


def _is_user_code(function: Any) -> bool:
    """Code the model's authors wrote (torch's own functions keep no state of the model's)."""
    module = getattr(function, "__module__", None) or ""
    return isinstance(function, types.FunctionType) and not module.startswith(("torch", "cnnstat"))


def _names_used(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names_used(constant)
    return names


def _class_functions(cls: type) -> Iterator[Any]:
    for klass in cls.__mro__:
        if klass.__module__.startswith(("torch", "builtins")):
            continue
        for value in vars(klass).values():
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            elif isinstance(value, property):
                yield from (f for f in (value.fget, value.fset) if f is not None)
                continue
            yield value


@dataclass
class _Snapshot:
    """What a forward can reach, as found."""

    modules: list[tuple[nn.Module, type, dict[str, Any]]] = field(default_factory=list)
    containers: list[tuple[Any, Any]] = field(default_factory=list)
    """(container, a shallow copy of its contents) for every list, deque, dict, set and
    plain object's ``__dict__`` reached."""
    bindings: list[tuple[dict, str, Any]] = field(default_factory=list)
    """(namespace, name, value) of the globals the model's code names."""
    cells: list[tuple[types.CellType, Any]] = field(default_factory=list)
    tensors: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)
    """(plain tensor, a clone of its values)."""
    seen: set[int] = field(default_factory=set)
    functions: set[Any] = field(default_factory=set)
    pending: list[Any] = field(default_factory=list)
    cut_short: bool = False
    """The walk stopped at ``_MAX_OBJECTS``: what lies beyond is not put back."""

    def reach(self, value: Any) -> None:
        if isinstance(value, _ATOMS) or id(value) in self.seen:
            return
        if len(self.seen) >= _MAX_OBJECTS:
            self.cut_short = True
            return
        self.seen.add(id(value))
        self.pending.append(value)

    def note(self) -> str | None:
        if not self.cut_short:
            return None
        return (f"the model's forward can reach more than {_MAX_OBJECTS:,} Python objects (lists, dicts, plain "
                f"objects); only the first {_MAX_OBJECTS:,} were put back as found after the pass")

    def walk(self) -> None:
        while self.pending:
            value = self.pending.pop()
            if isinstance(value, torch.Tensor):
                if _plain_tensor(value) and value.layout == torch.strided:
                    self.tensors.append((value, value.detach().clone()))
            elif isinstance(value, nn.Module):
                self.module(value)
            elif isinstance(value, (list, collections.deque, set, frozenset, tuple, dict)):
                if not isinstance(value, (tuple, frozenset)):
                    self.containers.append((value, value.copy() if not isinstance(value, collections.deque)
                                            else list(value)))
                for item in (value.items() if isinstance(value, dict) else value):
                    if isinstance(value, dict):
                        self.reach(item[0])
                        self.reach(item[1])
                    else:
                        self.reach(item)
            elif isinstance(value, (types.MethodType, functools.partial)):
                self.reach(value.__func__ if isinstance(value, types.MethodType) else value.func)
                self.reach(getattr(value, "__self__", None))
            elif isinstance(value, types.SimpleNamespace) or (
                    hasattr(value, "__dict__") and not type(value).__module__.startswith(("torch", "builtins"))):
                self.reach(vars(value))

    def module(self, module: nn.Module) -> None:
        self.modules.append((module, type(module), module.__dict__.copy()))
        self.reach(module.__dict__)
        hooks = [hook for key, value in module.__dict__.items() if key.endswith("hooks") and isinstance(value, dict)
                 for hook in value.values()]
        for function in [*_class_functions(type(module)), *hooks]:
            if _is_user_code(function) and function not in self.functions:
                self.function(function)

    def function(self, function: types.FunctionType) -> None:
        """The globals and closure cells the function names, and those of the functions it
        names from its own file, and theirs in turn (functions from elsewhere are not followed: a
        walk through a library's functions would reach the whole library)."""
        to_read = [function]
        while to_read:
            function = to_read.pop()
            self.functions.add(function)
            namespace = function.__globals__
            for name in _names_used(function.__code__):
                value = namespace.get(name, _MISSING)
                self.bindings.append((namespace, name, value))
                if isinstance(value, types.FunctionType) and value.__globals__ is namespace \
                        and value not in self.functions:
                    self.functions.add(value)
                    to_read.append(value)
                elif value is not _MISSING and not isinstance(value, types.ModuleType):
                    self.reach(value)
            for cell in function.__closure__ or ():
                try:
                    contents = cell.cell_contents
                except ValueError:  # a cell not yet filled
                    continue
                self.cells.append((cell, contents))
                self.reach(contents)

    def restore(self) -> None:
        self._restore_modules()
        self._restore_containers()
        self._restore_bindings()
        self._restore_cells()
        self._restore_tensors()

    def _restore_modules(self) -> None:
        """Each module's class and attributes (those added since removed)."""
        for module, cls, attributes in self.modules:
            if type(module) is not cls:
                module.__class__ = cls
            found = module.__dict__
            for key in [key for key in found if key not in attributes]:
                del found[key]
            for key, value in attributes.items():
                if found.get(key, _MISSING) is not value:
                    found[key] = value

    def _restore_containers(self) -> None:
        for container, saved in self.containers:
            if not _same(container, saved):
                container.clear()
                if isinstance(container, dict):
                    container.update(saved)
                elif isinstance(container, set):
                    container.update(saved)
                else:
                    container.extend(saved)

    def _restore_bindings(self) -> None:
        """The globals the functions name (one added since removed)."""
        for namespace, name, value in self.bindings:
            if value is _MISSING:
                namespace.pop(name, None)
            elif namespace.get(name, _MISSING) is not value:
                namespace[name] = value

    def _restore_cells(self) -> None:
        for cell, contents in self.cells:
            if cell.cell_contents is not contents:
                cell.cell_contents = contents

    def _restore_tensors(self) -> None:
        """Values written in place; a tensor resized since is left as it is."""
        for tensor, clone in self.tensors:
            if tensor.shape == clone.shape and not torch.equal(tensor, clone):
                with torch.no_grad():
                    tensor.copy_(clone)


def _same(container, saved) -> bool:
    """Same entries, in the same order, the same objects (``==`` on tensors compares values)."""
    if isinstance(container, dict):
        return len(container) == len(saved) and all(container.get(key, _MISSING) is value
                                                     for key, value in saved.items()) and list(container) == list(saved)
    if isinstance(container, set):
        return {id(item) for item in container} == {id(item) for item in saved}
    return len(container) == len(saved) and all(a is b for a, b in zip(container, saved))


@contextlib.contextmanager
def random_state_kept() -> Iterator[None]:
    """Run the block, then put the global random generators back as they were: torch's (CPU,
    and CUDA where it has started), Python's ``random`` and, where imported, NumPy's."""
    numpy = sys.modules.get("numpy")
    python_state = random.getstate()
    numpy_state = numpy.random.get_state() if numpy is not None else None
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(python_state)
        if numpy is not None and numpy_state is not None:
            numpy.random.set_state(numpy_state)


@contextlib.contextmanager
def left_as_found(model: nn.Module) -> Iterator[_Snapshot]:
    """Run the block, then put back what a forward of ``model`` can reach (see the module's doc);
    the snapshot given says (``note()``) where it could not hold everything."""
    snapshot = _Snapshot()
    for module in model.modules():
        snapshot.reach(module)
    snapshot.walk()
    grads = [(param, param.requires_grad, param.grad, None if param.grad is None else param.grad.clone())
             for param in model.parameters()]
    try:
        with random_state_kept():
            yield snapshot
    finally:
        snapshot.restore()
        for param, flag, grad, values in grads:
            if param.requires_grad != flag:
                param.requires_grad_(flag)
            if param.grad is not grad:
                param.grad = grad
            if grad is not None and values is not None and not torch.equal(grad, values):
                grad.copy_(values)


def plain_tensors_to_meta(model: nn.Module) -> None:
    """Put meta stand-ins in place of the tensors a model keeps outside its parameters and buffers
    (a mask cached by an earlier real forward), so that a meta pass can read them. Only inside
    ``left_as_found``, which puts the real ones back."""
    for module in model.modules():
        for key, value in list(module.__dict__.items()):
            if _plain_tensor(value) and value.layout == torch.strided:
                module.__dict__[key] = meta_copy(value)


Function = TypeVar("Function", bound=Callable[..., Any])


def leaves_model_as_found(function: Function) -> Function:
    """Decorate a function whose first argument may be a user's module: it is left as found, and
    a result with ``notes`` (a report) says where not everything could be put back."""

    @functools.wraps(function)
    def wrapper(model, *args, **kwargs):
        if not isinstance(model, nn.Module):
            return function(model, *args, **kwargs)
        with left_as_found(model) as snapshot:
            result = function(model, *args, **kwargs)
        note = snapshot.note()
        if note is None or not is_dataclass(result) or not hasattr(result, "notes"):
            return result
        return replace(result, notes=(*result.notes, note))

    return cast(Function, wrapper)

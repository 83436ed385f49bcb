"""Leave a user's model exactly as found around a pass that runs its forward.

A forward may create or replace state: a causal-mask cache (``self.mask = torch.tril(...)``),
a buffer built on first use, a counter, a submodule made lazily; under the static pass those
would stay on the model as meta tensors and break its next real forward. ``left_as_found``
records every module's ``__dict__`` (its attributes, and the containers that hold its
parameters, buffers, submodules, hooks and flags), its class (``torch.nn.utils.parametrize``
swaps it) and each parameter's ``requires_grad``, and puts them back afterwards. The
containers are restored in place, so the handles of hooks the user registered keep working.
Tensor attributes outside parameters and buffers are cloned, since a forward may write into them.
"""

from __future__ import annotations

import contextlib
import functools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import torch
from torch import nn

from cnnstat.analysis.build import meta_copy

_MISSING = object()
_CONTAINERS = frozenset({dict, OrderedDict, set, list})
"""Exact types: a scripted module's wrappers of C++ state are left to it."""


@dataclass
class _ModuleState:
    module: nn.Module
    cls: type
    attributes: dict[str, Any]
    """``__dict__`` as found: the same objects."""
    contents: dict[str, Any]
    """A shallow copy of each container attribute's contents (parameters, buffers, hooks...);
    None for an empty one (most hook dicts: no copy to make or compare)."""
    tensor_values: dict[str, torch.Tensor]
    """Clones of plain tensor attributes, whose values a forward may change in place."""


def _plain_tensor(value: Any) -> bool:
    """A real tensor kept as a plain attribute: what a forward may cache, and a meta pass must not read."""
    return isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter) and not value.is_meta


def _snapshot(module: nn.Module) -> _ModuleState:
    attributes = module.__dict__.copy()
    contents, tensors = {}, {}
    for key, value in attributes.items():
        if type(value) in _CONTAINERS:
            contents[key] = value.copy() if value else None
        elif _plain_tensor(value):
            tensors[key] = value.detach().clone()
    return _ModuleState(module, type(module), attributes, contents, tensors)


def _restore(state: _ModuleState) -> None:
    module, found = state.module, state.module.__dict__
    if type(module) is not state.cls:
        module.__class__ = state.cls
    for key in [key for key in found if key not in state.attributes]:
        del found[key]
    for key, value in state.attributes.items():
        if found.get(key, _MISSING) is not value:
            found[key] = value
    for key, saved in state.contents.items():
        container = state.attributes[key]
        if saved is None:
            if container:
                container.clear()
        elif not _same(container, saved):
            container.clear()
            container.extend(saved) if isinstance(container, list) else container.update(saved)
    for key, clone in state.tensor_values.items():
        tensor = state.attributes[key]
        if tensor.shape == clone.shape and not torch.equal(tensor, clone):
            with torch.no_grad():
                tensor.copy_(clone)


def _same(container, saved) -> bool:
    """Same entries, in the same order, the same objects (``==`` on tensors compares values)."""
    if isinstance(container, dict):
        return list(container) == list(saved) and all(container[key] is saved[key] for key in saved)
    if isinstance(container, list):
        return len(container) == len(saved) and all(a is b for a, b in zip(container, saved))
    return container == saved


@contextlib.contextmanager
def left_as_found(model: nn.Module) -> Iterator[None]:
    """Run the block, then put every module of ``model`` back as it was (see the module's doc)."""
    states = [_snapshot(module) for module in model.modules()]
    requires_grad = [(param, param.requires_grad) for param in model.parameters()]
    try:
        yield
    finally:
        for state in states:
            _restore(state)
        for param, flag in requires_grad:
            if param.requires_grad != flag:
                param.requires_grad_(flag)


def plain_tensors_to_meta(model: nn.Module) -> None:
    """Put meta stand-ins in place of the tensors a model keeps outside its parameters and buffers
    (a mask cached by an earlier real forward), so that a meta pass can read them. Only inside
    ``left_as_found``, which puts the real ones back."""
    for module in model.modules():
        for key, value in list(module.__dict__.items()):
            if _plain_tensor(value):
                module.__dict__[key] = meta_copy(value)


Function = TypeVar("Function", bound=Callable[..., Any])


def leaves_model_as_found(function: Function) -> Function:
    """Decorate a function whose first argument may be a user's module: it is left as found."""

    @functools.wraps(function)
    def wrapper(model, *args, **kwargs):
        with left_as_found(model) if isinstance(model, nn.Module) else contextlib.nullcontext():
            return function(model, *args, **kwargs)

    return wrapper

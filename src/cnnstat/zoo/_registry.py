"""The model registry: pure data, importable without torch.

Each zoo entry names its builder as ``"module:function"`` inside ``cnnstat.zoo``; the family
module (and torch with it) is imported only when a model is built, so ``cnnstat list``
and ``cnnstat --help`` stay fast. A user's own builder is registered as a callable, directly
or with ``@register_model`` as a decorator (as timm and torchvision do).
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import importlib
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from cnnstat.errors import UnknownModelError


@dataclass(frozen=True)
class Paper:
    title: str
    year: int

    def cite(self) -> str:
        """How a user reads it: '"Deep Residual Learning for Image Recognition" (2016)'."""
        return f'"{self.title}" ({self.year})'


@dataclass(frozen=True)
class ModelEntry:
    """A registered model and the figures published for it."""

    name: str
    builder: str | Callable[..., Any]
    """``"module:function"`` inside ``cnnstat.zoo``, or a user's callable."""
    family: str
    paper: Paper | None
    """The paper the model comes from; None for a user's model."""
    input_size: tuple[int, ...]
    num_params: int | None
    """Parameter count at the default options (published, or the article's own figure); None when unknown."""
    gmacs: float | None = None
    """Published multiply-accumulates at ``input_size``, in units of 10^9, where there is one."""
    num_classes: int = 1000
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Family options this entry passes to its builder (e.g. ``{"aux_logits": True}``)."""
    note: str = ""

    def build_function(self):
        if callable(self.builder):
            return self.builder
        module_name, _, attr = self.builder.partition(":")
        module = importlib.import_module(f"cnnstat.zoo.{module_name}")
        return getattr(module, attr)


_REGISTRY: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}


USER_FAMILY = "custom"


def register_model(
    name: str | Callable[..., Any] | None = None,
    builder: str | Callable[..., Any] | None = None,
    *,
    family: str = USER_FAMILY,
    paper: Paper | None = None,
    input_size: tuple[int, ...] | None = None,
    num_params: int | None = None,
    gmacs: float | None = None,
    num_classes: int = 1000,
    options: Mapping[str, Any] | None = None,
    note: str = "",
):
    """Add a model to the registry; a name already taken (by a model or an alias) is refused.

    ``register_model("net", build_net, input_size=(3, 32, 32))`` registers a callable and returns
    its entry. As a decorator it returns the function unchanged: ``@register_model`` (the name is
    the function's, the input size its ``input_size`` attribute), ``@register_model("net")`` or
    ``@register_model(input_size=(3, 32, 32))``."""
    add_entry = functools.partial(_add_entry, family=family, paper=paper, input_size=input_size,
                                  num_params=num_params, gmacs=gmacs, num_classes=num_classes, options=options,
                                  note=note)
    if callable(name):  # bare @register_model
        add_entry(name.__name__, name)
        return name
    if builder is not None:
        if name is None:
            raise ValueError("register_model needs a name for its builder")
        return add_entry(name, builder)

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        add_entry(name or function.__name__, function)
        return function

    return decorate


def _add_entry(name: str, builder: str | Callable[..., Any], *, family: str, paper: Paper | None,
               input_size: tuple[int, ...] | None, num_params: int | None, gmacs: float | None, num_classes: int,
               options: Mapping[str, Any] | None, note: str) -> ModelEntry:
    if not isinstance(name, str) or not name or ":" in name:
        raise ValueError(f"model name {name!r} must be a non-empty string without ':'")
    if name in _REGISTRY or name in _ALIASES:
        raise ValueError(f"model name {name!r} is already registered")
    if not (isinstance(builder, str) or callable(builder)):
        raise TypeError(f"the builder of {name!r} must be a callable or 'module:function', not {type(builder).__name__}")
    input_size = input_size or getattr(builder, "input_size", None)
    if input_size is None:
        raise ValueError(f"register_model({name!r}) needs input_size=, e.g. (3, 224, 224), or an input_size "
                         "attribute on the builder")
    entry = ModelEntry(
        name=name,
        builder=builder,
        family=family,
        paper=paper,
        input_size=tuple(input_size),
        num_params=num_params,
        gmacs=gmacs,
        num_classes=num_classes,
        options=MappingProxyType(dict(options or {})),
        note=note,
    )
    _REGISTRY[name] = entry
    return entry


def register_alias(alias: str, target: str) -> None:
    if alias in _REGISTRY or alias in _ALIASES:
        raise ValueError(f"model name {alias!r} is already registered")
    if target not in _REGISTRY:
        raise ValueError(f"alias {alias!r} points to unregistered model {target!r}")
    _ALIASES[alias] = target


def natural_key(name: str) -> list:
    """Sort key that puts resnet18 before resnet101."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def list_models(pattern: str | Iterable[str] | None = None, family: str | None = None) -> list[str]:
    """Registered model names matching fnmatch ``pattern``(s) and ``family``, naturally sorted."""
    patterns = [pattern] if isinstance(pattern, str) else list(pattern or [])
    names = [
        entry.name
        for entry in _REGISTRY.values()
        if (not patterns or any(fnmatch.fnmatchcase(entry.name, p) for p in patterns))
        and (family is None or entry.family == family)
    ]
    return sorted(names, key=natural_key)


def list_families() -> list[str]:
    return sorted({entry.family for entry in _REGISTRY.values()})


def aliases() -> Mapping[str, str]:
    return MappingProxyType(_ALIASES)


def close_matches(name: str, limit: int = 3) -> list[str]:
    candidates = list(_REGISTRY) + list(_ALIASES)
    return difflib.get_close_matches(name, candidates, n=limit, cutoff=0.6)


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name`` (an alias resolves to its target)."""
    name = _ALIASES.get(name, name)
    try:
        return _REGISTRY[name]
    except KeyError:
        matches = close_matches(name)
        hint = f"; did you mean {', '.join(matches)}?" if matches else "; `cnnstat list` shows every model"
        raise UnknownModelError(f"unknown model {name!r}{hint}") from None


def create_model(name: str, num_classes: int | None = None, in_channels: int | None = None, **options: Any):
    """Build a registered model as an ``nn.Module`` (on the default device, weights initialised)."""
    entry = get_entry(name)
    kwargs = dict(entry.options)
    kwargs.update(options)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    if in_channels is not None:
        kwargs["in_channels"] = in_channels
    return entry.build_function()(**kwargs)

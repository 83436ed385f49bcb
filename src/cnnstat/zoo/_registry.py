"""The model registry: pure data, importable without torch.

Each entry names its builder as ``"module:function"`` inside ``cnnstat.zoo``; the family
module (and torch with it) is imported only when a model is built, so ``cnnstat list``
and ``cnnstat --help`` stay fast.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

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
    builder: str
    family: str
    paper: Paper
    input_size: tuple[int, ...]
    num_params: int
    """Parameter count at the default options (published, or the article's own figure)."""
    gmacs: float | None = None
    """Published multiply-accumulates at ``input_size``, in units of 10^9, where there is one."""
    num_classes: int = 1000
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Family options this entry passes to its builder (e.g. ``{"aux_logits": True}``)."""
    note: str = ""

    def build_function(self):
        module_name, _, attr = self.builder.partition(":")
        module = importlib.import_module(f"cnnstat.zoo.{module_name}")
        return getattr(module, attr)


_REGISTRY: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}


def register_model(
    name: str,
    builder: str,
    *,
    family: str,
    paper: Paper,
    input_size: tuple[int, ...],
    num_params: int,
    gmacs: float | None = None,
    num_classes: int = 1000,
    options: Mapping[str, Any] | None = None,
    note: str = "",
) -> ModelEntry:
    """Add a model to the registry; a name already taken (by a model or an alias) is refused."""
    if name in _REGISTRY or name in _ALIASES:
        raise ValueError(f"model name {name!r} is already registered")
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

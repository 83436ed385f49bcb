"""One resolver for every model spec a command takes.

=============================  ===============================================================
``resnet50``                   a zoo name (or alias), see ``cnnstat list``
``pkg.module:factory``         a module importable from the current folder (as ``python -m``
                               finds it) or installed, and a class or function in it
``path/to/file.py:ClassName``  a Python file loaded by path (its folder is importable meanwhile)
``torchvision:resnet50``       ``torchvision.models.get_model`` (extra ``cnnstat[torchvision]``)
``timm:convnext_tiny``         ``timm.create_model`` (extra ``cnnstat[timm]``)
=============================  ===============================================================

Constructor arguments are keyword options (``--set key=value``). No weights are ever loaded
and nothing touches the network: torchvision models are built as their published weights
describe them without reading the weights (``cnnstat.zoo._torchvision``), timm's with
``pretrained=False``. What a builder prints goes to stderr: stdout carries data only.

The default input of a zoo model is its registry entry's; torchvision's follows its weights'
preprocessing, timm's is the model's own ``pretrained_cfg``; a user's factory may state it as
an ``input_size`` attribute on the class, the function or the module it returns (channels and
spatial sizes, no batch). Everything that goes wrong here is a ``CnnstatError`` naming the spec.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from torch import nn

from cnnstat.errors import CnnstatError, UnknownModelError, first_line
from cnnstat.zoo import _torchvision
from cnnstat.zoo._hub import check_hub_model
from cnnstat.zoo._registry import ModelEntry, create_model, get_entry
from cnnstat.zoo._torchvision_compat import import_torchvision, import_torchvision_if_installed

HUBS = ("torchvision", "timm")
TIMM_INPUT_SIZE = (3, 224, 224)


class BuildError(CnnstatError):
    """The model's constructor raised (not a bad option: anything else it raised)."""


@dataclass(frozen=True)
class ParsedSpec:
    kind: str
    """"zoo", "import", "file", or a hub name ("torchvision", "timm")."""
    target: str
    """The zoo name, module path, file path or hub model name."""
    attr: str = ""
    """The factory inside an imported module or file."""


@dataclass
class LoadedModel:
    module: nn.Module
    name: str
    """How reports name it: the zoo name (alias resolved) or the spec as written."""
    input_size: tuple[int, ...] | None
    """Default input without batch; None when the spec does not say."""
    entry: ModelEntry | None = None
    """The registry entry of a zoo model."""
    more_input_sizes: tuple[tuple[int, ...], ...] = ()
    """Default sizes of the positional inputs after the first (RAFT takes two images)."""
    takes_list: bool = False
    """The forward takes a list of images of ``input_size`` (torchvision's detection models)."""
    notes: tuple[str, ...] = ()
    """How the model was built, for the report (e.g. which published architecture)."""


def parse_spec(spec: str) -> ParsedSpec:
    head, colon, tail = spec.partition(":")
    if not colon:
        return ParsedSpec("zoo", spec)
    if not head or not tail:
        raise CnnstatError(f"malformed model {spec!r}: expected NAME, pkg.module:factory, file.py:Class "
                           "or torchvision:NAME / timm:NAME")
    if head in HUBS:
        return ParsedSpec(head, tail)
    path, _, attr = spec.rpartition(":")
    if path.endswith(".py"):
        return ParsedSpec("file", path, attr)
    return ParsedSpec("import", head, tail)


def split_inline_options(text: str) -> tuple[str, str | None]:
    """``'block/conv:k=3'`` -> (``'block/conv'``, ``'k=3'``); ``'pkg.mod:build:width=2'`` ->
    (``'pkg.mod:build'``, ``'width=2'``); no options -> (text, None). Options follow the
    first colon after a zoo name, else the last colon when key=value pairs follow it."""
    head, colon, tail = text.partition(":")
    if colon and _is_registered(head):
        return head, tail
    spec, colon, tail = text.rpartition(":")
    if colon and (not tail or "=" in tail):
        return spec, tail
    return text, None


def _is_registered(name: str) -> bool:
    try:
        get_entry(name)
    except UnknownModelError:
        return False
    return True


def is_zoo_spec(spec: str) -> bool:
    return parse_spec(spec).kind == "zoo"


def zoo_entry(spec: str) -> ModelEntry | None:
    """The registry entry of a zoo spec (an unknown name raises); None for any other spec."""
    return get_entry(spec) if is_zoo_spec(spec) else None


def load_model(spec: str, num_classes: int | None = None, in_channels: int | None = None,
               options: Mapping[str, Any] | None = None) -> LoadedModel:
    """Build the model ``spec`` names (on torch's current default device)."""
    parsed = parse_spec(spec)
    kwargs = dict(options or {})
    if parsed.kind == "zoo":
        entry = get_entry(parsed.target)
        input_size = entry.input_size if in_channels is None else (in_channels, *entry.input_size[1:])
        module = _call(spec, lambda: create_model(entry.name, num_classes, in_channels, **kwargs))
        return LoadedModel(module, entry.name, input_size, entry)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    if in_channels is not None:
        kwargs["in_chans" if parsed.kind == "timm" else "in_channels"] = in_channels
    if parsed.kind == "torchvision":
        torchvision = _import_extra("torchvision", import_torchvision)
        built = _call(spec, lambda: _torchvision.build(spec, torchvision, parsed.target, kwargs))
        first, *more = built.input_sizes
        return LoadedModel(built.module, spec, first, more_input_sizes=tuple(more), takes_list=built.takes_list,
                           notes=(built.note,))
    if parsed.kind == "timm":
        factory = _timm_factory(spec, parsed)
    else:
        factory = _user_factory(spec, parsed)
    module = _call(spec, lambda: factory(**kwargs))
    if not isinstance(module, nn.Module):
        raise CnnstatError(f"{spec}: not a model factory: it returned {type(module).__name__}, not a torch.nn.Module")
    notes = (f"timm {parsed.target}: built with pretrained=False (no weights loaded)",) if parsed.kind == "timm" else ()
    return LoadedModel(module, spec, _declared_input_size(spec, parsed, factory, module), notes=notes)


def _call(spec: str, build: Callable[[], Any]) -> Any:
    try:
        with contextlib.redirect_stdout(sys.stderr):  # e.g. "Downloading ..." from a user's builder
            return build()
    except CnnstatError:
        raise
    except (TypeError, ValueError) as error:
        raise CnnstatError(f"{spec}: cannot build with these options: {error}") from None
    except Exception as error:  # the user's constructor: any failure is theirs to see, in one line
        raise BuildError(f"{spec}: building the model raised {type(error).__name__}: {first_line(error)}") from None


def _import_extra(package: str, importer: Callable[[str], Any] = importlib.import_module):
    try:
        return importer(package)
    except ImportError:
        import torch

        # Pinning the torch in use keeps pip from fetching the newest torch (a CUDA build) for the newest extra.
        raise CnnstatError(f"{package} models need {package}, which is not installed: "
                           f"pip install 'cnnstat[{package}]' torch=={torch.__version__.split('+')[0]}") from None


def _timm_factory(spec: str, parsed: ParsedSpec) -> Callable[..., Any]:
    import_torchvision_if_installed()  # timm imports it
    timm = _import_extra("timm")
    check_hub_model(spec, "timm", parsed.target, timm.list_models())
    return lambda **kwargs: timm.create_model(parsed.target, pretrained=False, **kwargs)


def _user_factory(spec: str, parsed: ParsedSpec) -> Callable[..., Any]:
    module = _user_module(spec, parsed)
    if not hasattr(module, parsed.attr):
        defined = sorted(name for name, value in vars(module).items()
                         if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == module.__name__)
        matches = difflib.get_close_matches(parsed.attr, defined, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(matches)}?" if matches else f"; it defines {', '.join(defined)}" if defined else ""
        raise CnnstatError(f"{spec}: {parsed.target} has no attribute {parsed.attr!r}{hint}")
    factory = getattr(module, parsed.attr)
    if not callable(factory):
        raise CnnstatError(f"{spec}: not a model factory: {parsed.attr} is a {type(factory).__name__}, "
                           "not a class or function returning a torch.nn.Module")
    return factory


def _user_module(spec: str, parsed: ParsedSpec):
    def load():
        return _load_file(spec, Path(parsed.target)) if parsed.kind == "file" else _import(spec, parsed.target)

    try:
        return load()
    except CnnstatError:
        # Its import of torchvision failed where torchvision's operators do not load: once they
        # are defined, run it again.
        if not import_torchvision_if_installed():
            raise
        return load()


@contextlib.contextmanager
def _importable_from(folder: Path):
    """``folder`` first on ``sys.path`` meanwhile."""
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))


def _import(spec: str, module_name: str):
    try:
        with _importable_from(Path.cwd()):  # the installed script's sys.path lacks it; python -m's has it
            return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise CnnstatError(f"{spec}: no module named {error.name!r} (not in the current folder, "
                               "on PYTHONPATH or installed)") from None
        raise CnnstatError(f"{spec}: importing {module_name} failed: {first_line(error)}") from None
    except Exception as error:
        raise CnnstatError(f"{spec}: importing {module_name} raised {type(error).__name__}: {first_line(error)}") from None


def _load_file(spec: str, path: Path):
    if not path.is_file():
        raise CnnstatError(f"{spec}: no such file {str(path)!r}")
    resolved = path.resolve()
    # A name unique to the file: two files called model.py must not share a module.
    module_name = f"cnnstat_user_{resolved.stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
    import_spec = importlib.util.spec_from_file_location(module_name, resolved)
    module = importlib.util.module_from_spec(import_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        with _importable_from(resolved.parent):  # so the file can import its neighbours
            import_spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise CnnstatError(f"{spec}: running {path} raised {type(error).__name__}: {first_line(error)}") from None
    return module


def _declared_input_size(spec: str, parsed: ParsedSpec, factory: Any, module: nn.Module) -> tuple[int, ...] | None:
    if parsed.kind == "timm":
        config = getattr(module, "pretrained_cfg", None) or {}
        return tuple(config.get("input_size", TIMM_INPUT_SIZE))
    declared = getattr(module, "input_size", None) or getattr(factory, "input_size", None)
    if declared is None:
        return None
    try:
        size = tuple(int(d) for d in declared)
    except (TypeError, ValueError):
        raise CnnstatError(f"{spec}: input_size must be a tuple of ints such as (3, 224, 224), "
                           f"got {declared!r}") from None
    if not size or any(d < 1 for d in size):
        raise CnnstatError(f"{spec}: input_size must be positive sizes such as (3, 224, 224), got {declared!r}")
    return size

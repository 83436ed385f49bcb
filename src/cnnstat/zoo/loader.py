"""One resolver for every model spec a command takes.

=============================  ===============================================================
``resnet50``                   a zoo name (or alias), see ``cnnstat list``
``pkg.module:factory``         a module importable from the current folder (as ``python -m``
                               finds it) or installed, and a class or function in it
``path/to/file.py:ClassName``  a Python file loaded by path, its folder first on ``sys.path``
                               while it is imported and built (as ``python file.py`` puts it)
``torchvision:resnet50``       ``torchvision.models.get_model`` (extra ``cnnstat[torchvision]``)
``timm:convnext_tiny``         ``timm.create_model`` (extra ``cnnstat[timm]``)
=============================  ===============================================================

A spec is code: loading it runs the file or module and calls the named callable, as ``python``
would. Constructor arguments are keyword options (``--set key=value``). No weights are ever loaded
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
import importlib.machinery
import importlib.util
import inspect
import io
import math
import numbers
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, cast

from torch import nn

from cnnstat.errors import CnnstatError, UnknownModelError, first_line
from cnnstat.zoo import _torchvision
from cnnstat.zoo._hub import check_hub_model
from cnnstat.zoo._registry import ModelEntry, create_model, get_entry
from cnnstat.zoo._torchvision_compat import import_torchvision, import_torchvision_if_installed

HUBS = ("torchvision", "timm")
TIMM_INPUT_SIZE = (3, 224, 224)


POSITIVE_OPTIONS = {"num_classes": numbers.Integral, "in_channels": numbers.Integral, "in_chans": numbers.Integral,
                    "width_mult": numbers.Real, "depth_mult": numbers.Real}
"""Options whose meaning every model shares: a count of at least 1, or a finite multiplier above 0."""


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
        return ParsedSpec("file", spec) if spec.endswith(".py") else ParsedSpec("zoo", spec)
    if not head or not tail:
        raise CnnstatError(f"malformed model {spec!r}: expected NAME, pkg.module:factory, file.py:Class "
                           "or torchvision:NAME / timm:NAME")
    if head in HUBS:
        return ParsedSpec(head, tail)
    path, _, attr = spec.rpartition(":")
    if path.endswith(".py"):
        return ParsedSpec("file", path, attr)
    return ParsedSpec("import", head, tail)


def load_callable(spec: str) -> Callable[..., Any]:
    """The function a ``pkg.module:name`` or ``file.py:name`` spec names (``summary --inputs``)."""
    parsed = parse_spec(spec)
    if parsed.kind not in ("import", "file"):
        raise CnnstatError(f"{spec}: name a function as pkg.module:make_inputs or file.py:make_inputs")
    function, folder = _user_factory(spec, parsed)

    def called(*args: Any, **kwargs: Any) -> Any:
        """``function`` run as a model's constructor is: its folder importable, its prints on
        stderr, what it raises one line naming the spec and the line."""
        try:
            with _importable_from(folder), contextlib.redirect_stdout(sys.stderr):
                return function(*args, **kwargs)
        except CnnstatError:
            raise
        except Exception as error:
            raise CnnstatError(f"{spec} raised {type(error).__name__}: {first_line(error)}{_raised_at(error)}") from None

    return called


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
        num_classes, in_channels = kwargs.pop("num_classes", num_classes), kwargs.pop("in_channels", in_channels)
        check_options(spec, {**kwargs, "num_classes": num_classes, "in_channels": in_channels})
        input_size = entry.input_size if in_channels is None else (in_channels, *entry.input_size[1:])
        module = _call(spec, lambda: create_model(entry.name, num_classes, in_channels, **kwargs),
                       entry.build_function(), kwargs, partial=True)
        return LoadedModel(module, entry.name, input_size, entry)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    if in_channels is not None:
        kwargs["in_chans" if parsed.kind == "timm" else "in_channels"] = in_channels
    check_options(spec, kwargs)
    if parsed.kind == "torchvision":
        torchvision = _import_extra("torchvision", import_torchvision)
        built = _call(spec, lambda: _torchvision.build(spec, torchvision, parsed.target, kwargs))
        first, *more = built.input_sizes
        return LoadedModel(built.module, spec, first, more_input_sizes=tuple(more), takes_list=built.takes_list,
                           notes=(built.note,))
    if parsed.kind == "timm":
        factory = _timm_factory(spec, parsed)
        module = _call(spec, lambda: factory(**kwargs))
    else:
        factory, folder = _user_factory(spec, parsed)
        with _importable_from(folder):  # a constructor may import its neighbours too
            module = _call(spec, lambda: factory(**kwargs), factory, kwargs)
    if not isinstance(module, nn.Module):
        raise CnnstatError(f"{spec}: not a model factory: it returned {type(module).__name__}, not a torch.nn.Module")
    notes = (f"timm {parsed.target}: built with pretrained=False (no weights loaded)",) if parsed.kind == "timm" else ()
    return LoadedModel(module, spec, _declared_input_size(spec, parsed, factory, module), notes=notes)


def check_options(spec: str, options: Mapping[str, Any]) -> None:
    """Refuse a value no model could mean for an option every model means the same by
    (``POSITIVE_OPTIONS``): 0 classes, a negative width multiplier. None is left to the model."""
    for name, kind in POSITIVE_OPTIONS.items():
        value = options.get(name)
        if value is None:
            continue
        if kind is numbers.Integral:
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) < 1:
                raise CnnstatError(f"{spec}: option {name} must be a whole number of at least 1, got {value!r}")
        elif (not isinstance(value, numbers.Real) or isinstance(value, bool)
              or not (math.isfinite(value) and float(value) > 0)):
            raise CnnstatError(f"{spec}: option {name} must be a finite number above 0, got {value!r}")


def _call(spec: str, build: Callable[[], Any], factory: Callable[..., Any] | None = None,
          options: Mapping[str, Any] = {}, partial: bool = False) -> Any:
    """Run ``build`` (which calls ``factory`` with ``options``; with ``partial``, more arguments
    of the builder's own): an option the factory does not take is the user's mistake, anything
    the constructor raises is the model's own error, named with the line that raised it."""
    if factory is not None:
        _check_signature(spec, factory, options, partial)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # e.g. "Downloading ..." from a user's builder
            return build()
    except CnnstatError:
        raise
    except Exception as error:  # the user's constructor: any failure is theirs to see, in one line
        if isinstance(error, TypeError) and "unexpected keyword argument" in str(error):  # a hub's **kwargs builder
            raise CnnstatError(f"{spec}: cannot build with these options: {first_line(error)}") from None
        raise BuildError(f"{spec}: building the model raised {type(error).__name__}: {first_line(error)}"
                         f"{_raised_at(error)}") from None


def _check_signature(spec: str, factory: Callable[..., Any], options: Mapping[str, Any], partial: bool) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C callable: its own call says what is wrong
        return
    try:
        (signature.bind_partial if partial else signature.bind)(**options)
    except TypeError as error:
        takes = [name for name, parameter in signature.parameters.items()
                 if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)]
        raise CnnstatError(f"{spec}: cannot build with these options: {error}; it takes "
                           f"{', '.join(takes) or 'no options'}") from None


def _raised_at(error: BaseException) -> str:
    """`` (file.py, line 12)``: the innermost line that raised ``error`` outside torch, the import
    machinery ("<frozen importlib._bootstrap>") and this loader."""
    import torch

    torch_folder = str(Path(torch.__file__).parent)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not frame.filename.startswith((torch_folder, "<")) and frame.filename != __file__]
    return f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""


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


def _user_factory(spec: str, parsed: ParsedSpec) -> tuple[Callable[..., Any], Path]:
    """The callable a file or import spec names, and the folder its neighbours are imported from."""
    module, folder = _user_module(spec, parsed)
    defined = sorted(name for name, value in vars(module).items()
                     if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == module.__name__)
    if not parsed.attr:
        models = [name for name in defined if isinstance(vars(module)[name], type) and issubclass(vars(module)[name], nn.Module)]
        listed = f"; it defines {', '.join(models or defined)}" if models or defined else "; it defines no class or function"
        raise CnnstatError(f"{spec}: name the model to build after a colon, e.g. {spec}:{(models or defined or ['Net'])[0]}"
                           f"{listed}")
    if not hasattr(module, parsed.attr):
        matches = difflib.get_close_matches(parsed.attr, defined, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(matches)}?" if matches else f"; it defines {', '.join(defined)}" if defined else ""
        raise CnnstatError(f"{spec}: {parsed.target} has no attribute {parsed.attr!r}{hint}")
    factory = getattr(module, parsed.attr)
    if not callable(factory):
        raise CnnstatError(f"{spec}: not a model factory: {parsed.attr} is a {type(factory).__name__}, "
                           "not a class or function returning a torch.nn.Module")
    return factory, folder


def _user_module(spec: str, parsed: ParsedSpec):
    """The module a file or import spec names (run), and the folder its neighbours are imported from."""
    def load():
        if parsed.kind == "file":
            path = Path(parsed.target)
            return _load_file(spec, path), path.resolve().parent
        return _import(spec, parsed.target), Path.cwd()

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
    """``folder`` first on ``sys.path`` meanwhile, as ``python file.py`` puts it. Its modules win
    over same-named ones that another model's folder left in ``sys.modules`` (two model files,
    each beside its own layers.py); ``sys.path`` and those modules are as they were after."""
    names = {entry.stem if entry.suffix == ".py" else entry.name for entry in _entries(folder)}
    left = {name for name in names - sys.stdlib_module_names if _left_by_another_model(sys.modules.get(name), folder)}
    shadowed = {name: module for name, module in sys.modules.items() if name.partition(".")[0] in left}
    for name in shadowed:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in shadowed:
            sys.modules.pop(name, None)
        sys.modules.update(shadowed)


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _left_by_another_model(module: Any, folder: Path) -> bool:
    """A top-level module imported from a folder other than ``folder`` that is not on ``sys.path``:
    only a model loaded from there could have imported it."""
    file = getattr(module, "__file__", None)
    if not file:
        return False
    location = Path(file).resolve().parent
    if Path(file).name == "__init__.py":
        location = location.parent
    return location != folder.resolve() and location not in {Path(entry or ".").resolve() for entry in sys.path}


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


class _WatchedArgv(list):
    """``sys.argv`` while a model file is imported: it remembers whether the file read it."""

    read = False

    def __getitem__(self, index):
        self.read = True
        return super().__getitem__(index)

    def __iter__(self):
        self.read = True
        return super().__iter__()

    def __len__(self):
        self.read = True
        return super().__len__()


class _Held(io.TextIOBase):
    """stderr while a model file is imported: what is written is held until ``release``, then
    written through to ``target``; a logging handler or a stream the file kept stays usable after."""

    def __init__(self, target: Any) -> None:
        self.target, self.held = target, cast("list[str] | None", [])

    def write(self, text: str) -> int:
        if self.held is None:
            return self.target.write(text)
        self.held.append(text)
        return len(text)

    def flush(self) -> None:
        if self.held is None:
            self.target.flush()

    def release(self, show: bool) -> str:
        """Stop holding; write what was held to ``target`` when ``show``. Returns it."""
        text, self.held = "".join(self.held or ()), None
        if show:
            self.target.write(text)
        return text


@contextlib.contextmanager
def _run_as_script_would(path: Path):
    """While a model file is imported: ``sys.argv`` as ``python file.py`` gives it (watched), and
    what the file prints (stdout is data: to stderr) held back until the import succeeds."""
    saved_argv, argv = sys.argv, _WatchedArgv([str(path)])
    printed = _Held(sys.stderr)
    sys.argv = argv
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            yield argv, printed
    finally:
        sys.argv = saved_argv
    printed.release(show=True)


def _load_file(spec: str, path: Path):
    try:
        path.stat()  # names a symlink loop or a name too long, which is_file() would call missing
    except FileNotFoundError:
        raise CnnstatError(f"{spec}: no such file {str(path)!r}") from None
    except OSError as error:
        raise CnnstatError(f"{spec}: cannot read {str(path)!r}: {error.strerror}") from None
    if not path.is_file():
        raise CnnstatError(f"{spec}: {str(path)!r} is not a file")
    resolved = path.resolve()
    # A name unique to the file: two files called model.py must not share a module.
    module_name = f"cnnstat_user_{path.stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
    # The loader named outright: a file.py link to a file without the .py suffix loads as python would.
    loader = importlib.machinery.SourceFileLoader(module_name, str(resolved))
    import_spec = importlib.util.spec_from_file_location(module_name, resolved, loader=loader)
    assert import_spec is not None  # given a loader, there is always one
    module = importlib.util.module_from_spec(import_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        with _importable_from(resolved.parent), _run_as_script_would(path) as (argv, printed):
            loader.exec_module(module)
    except (Exception, SystemExit) as error:
        del sys.modules[module_name]
        raise CnnstatError(_import_failure(spec, path, error, argv.read, printed.release(show=False))) from None
    return module


def _import_failure(spec: str, path: Path, error: BaseException, read_argv: bool, printed: str) -> str:
    """Why importing a model file failed, in one line: a script that reads its command line is named as such."""
    if isinstance(error, SystemExit):
        said = next((line.strip() for line in reversed(printed.splitlines()) if line.strip()), "")
        what = f"exited (sys.exit({error.code!r}))" + (f" saying {said!r}" if said else "")
    else:
        what = f"raised {type(error).__name__}: {first_line(error)}{_raised_at(error)}"
    if read_argv:
        return (f"{spec}: importing {path} {what}: it reads its command line (sys.argv) when imported, as a script "
                "does; cnnstat imports it as a module, so put the script part under "
                "`if __name__ == \"__main__\":`")
    return f"{spec}: importing {path} {what}"


def _declared_input_size(spec: str, parsed: ParsedSpec, factory: Any, module: nn.Module) -> tuple[int, ...] | None:
    if parsed.kind == "timm":
        config = getattr(module, "pretrained_cfg", None) or {}
        return tuple(config.get("input_size", TIMM_INPUT_SIZE))
    declared = getattr(module, "input_size", None) or getattr(factory, "input_size", None)
    if declared is None:
        return None
    try:
        size = tuple(declared)
    except TypeError:
        size = ()
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in size):
        raise CnnstatError(f"{spec}: input_size must be a tuple of whole numbers such as (3, 224, 224), "
                           f"got {declared!r}")
    size = tuple(int(d) for d in size)
    if not size or any(d < 1 for d in size):
        raise CnnstatError(f"{spec}: input_size must be positive sizes such as (3, 224, 224), got {declared!r}")
    return size

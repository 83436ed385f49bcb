"""Parsing of the option values that commands share (shapes, --set, lists)."""

from __future__ import annotations

import ast
import math
import os
from typing import Any, Optional, overload

import typer

from cnnstat.errors import CnnstatError

MODEL_HELP = ("A zoo model name (see `cnnstat list`), pkg.module:factory, path/to/file.py:ClassName, "
              "torchvision:NAME or timm:NAME (constructor arguments via --set).")
MODELS_HELP = ("Models, each a spec as summary takes it: a zoo name (see `cnnstat list`), pkg.module:factory, "
               "path/to/file.py:ClassName, torchvision:NAME or timm:NAME.")
_SIZE_HELP = "Input size without batch, e.g. 3x224x224, 1x16000 (Conv1d) or 3x16x112x112 (Conv3d)"
SHAPE_HELP = _SIZE_HELP + ". Default: the model's own."
"""For a command that takes one input size."""
INPUT_HELP = (_SIZE_HELP + "; integer token ids as long:128; repeat for a model of several inputs (RAFT: "
              "-i 3x256x256 -i 3x256x256). Default: the model's own.")
THREADS_HELP = ("CPU threads while measuring (default: torch's, but no more than the cores other processes leave "
                "idle: a thread that shares a busy core stalls the others at every op).")
TIMING_HELP = ("Seconds of timing{what}; sooner done where the spread is already tight (IQR within 3% of the median "
               "over 5 or more blocks).")
DTYPE_HELP = "float32 | float16 | bfloat16 (default: the model's own; float32 for a named model)"
SET_HELP = "Model options, e.g. --set k=7,cin=16, --set width_mult=0.5 or --set sizes=[64,128]."
INPUT_DTYPES = {"long": "int64", "int64": "int64", "int": "int64", "int32": "int32", "bool": "bool"}
"""Element types an --input may name; unnamed, an input takes the model's --dtype."""


@overload
def parse_shape(text: str) -> tuple[int, ...]: ...


@overload
def parse_shape(text: None) -> None: ...


@overload
def parse_shape(text: str | None) -> tuple[int, ...] | None: ...


def parse_shape(text: Optional[str]) -> tuple[int, ...] | None:
    """'3x224x224' -> (3, 224, 224); a clear error for 'axbxc', '3x0x224' or ''."""
    if text is None:
        return None
    parts = [part.strip() for part in text.lower().replace("*", "x").split("x")]
    if not all(part.isascii() and part.isdigit() for part in parts):  # int() would take '1_000' and '٣'
        raise CnnstatError(f"malformed --input {text!r}: expected sizes joined by 'x', e.g. 3x224x224")
    shape = tuple(int(part) for part in parts)
    if any(d < 1 for d in shape):
        raise CnnstatError(f"malformed --input {text!r}: every size must be at least 1")
    return shape


def parse_input(text: str):
    """'3x224x224' -> InputSpec((3, 224, 224)); 'long:128' -> InputSpec((128,), 'int64')."""
    from cnnstat.analysis.build import InputSpec

    dtype, colon, sizes = text.rpartition(":")
    if not colon:
        return InputSpec(parse_shape(text))
    if dtype.lower() not in INPUT_DTYPES:
        raise CnnstatError(f"malformed --input {text!r}: unknown element type {dtype!r}; "
                           f"choose {', '.join(INPUT_DTYPES)}, or none for the model's --dtype")
    return InputSpec(parse_shape(sizes), INPUT_DTYPES[dtype.lower()])


def parse_one_shape(texts: Optional[list[str]], command: str, example: str = "3x224x224") -> str | None:
    """The one plain --input of a command other than summary (compare, bench, sweep, crosscheck):
    a repeated or a typed one is refused by name, not silently dropped."""
    if not texts:
        return None
    if len(texts) > 1:
        raise CnnstatError(f"{command} takes one --input, got {len(texts)} ({' '.join(texts)}); a model of several "
                           "inputs is summary's (cnnstat summary MODEL -i SIZE -i SIZE)")
    if ":" in texts[0]:
        raise CnnstatError(f"{command} takes a plain --input size such as {example}, not {texts[0]!r}; an input "
                           "of its own element type (long:128) is summary's")
    return texts[0]


def parse_inputs(texts: Optional[list[str]]) -> list | None:
    """Each --input given, in order (``InputSpec``s): one per positional input of the model."""
    return [parse_input(text) for text in texts] if texts else None


def parse_int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CnnstatError(f"malformed {option} {text!r}: expected integers separated by commas, e.g. 1,8,32") from None
    if not values or any(v < 1 for v in values):
        raise CnnstatError(f"malformed {option} {text!r}: every value must be at least 1")
    return values


SET_NESTING = 16
"""The deepest list or tuple a --set value may hold: any real option is far shallower."""
_OPENING, _CLOSING = "([{", ")]}"
_WORDS = {"true": True, "false": False, "none": None, "nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _literal(text: str) -> Any:
    """A Python literal (number, string, list, tuple, dict), true/false/none/nan/inf in any case,
    else the text itself."""
    if text.lower() in _WORDS:
        return _WORDS[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _split_pairs(item: str) -> list[str]:
    """'k=7,sizes=[1,2],name="a,b"' -> ['k=7', 'sizes=[1,2]', 'name="a,b"']: commas inside
    brackets or quotes belong to the value."""
    pairs, start, depth, quote, previous = [], 0, 0, "", "="
    for index, char in enumerate(item):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"" and previous in "=,:([{":  # a quote opens a string; inside a word (don't) it is a letter
            quote = char
        elif char in _OPENING:
            depth += 1
            if depth > SET_NESTING:
                raise CnnstatError(f"malformed --set: a value nests deeper than {SET_NESTING} brackets")
        elif char in _CLOSING:
            depth -= 1
            if depth < 0:
                raise CnnstatError(f"malformed --set {item!r}: a {char!r} closes no bracket")
        elif char == "," and depth == 0:
            pairs.append(item[start:index])
            start = index + 1
        previous = char if not char.isspace() else previous
    if depth or quote:
        raise CnnstatError(f"malformed --set {item!r}: a bracket or quote is left open")
    return [*pairs, item[start:]]


def parse_set(items: Optional[list[str]]) -> dict[str, Any]:
    """['k=7,cin=16', 'bias=true', 'sizes=[1,2]'] -> {'k': 7, 'cin': 16, 'bias': True, 'sizes': [1, 2]}."""
    options: dict[str, Any] = {}
    for item in items or []:
        for pair in filter(None, (p.strip() for p in _split_pairs(item))):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise CnnstatError(f"malformed --set {pair!r}: expected key=value, e.g. --set k=7,cin=16")
            if not key.strip().isidentifier():
                raise CnnstatError(f"malformed --set {pair!r}: {key.strip()!r} is not an option name")
            options[key.strip()] = _literal(value.strip())
    return options


def check_positive(value: Optional[int], option: str) -> Optional[int]:
    """A count the user may leave out (None) but never set below 1."""
    if value is not None and value < 1:
        raise CnnstatError(f"{option} must be at least 1, got {value}")
    return value


def check_batch(batch: int) -> int:
    check_positive(batch, "--batch")
    return batch


def check_measure_options(threads: Optional[int], min_run_time: float, optimizer: Optional[str] = None,
                          mode: str = "eval") -> None:
    """What a measurement is told: threads within this machine's CPUs, a finite positive run time,
    and an optimizer only with a training step."""
    cpus = os.cpu_count() or 1
    if threads is not None and not 1 <= threads <= cpus:
        raise CnnstatError(f"--threads must be between 1 and {cpus} (this machine's CPUs), got {threads}")
    if not (math.isfinite(min_run_time) and min_run_time > 0):
        raise CnnstatError(f"--min-run-time must be a positive number of seconds, got {min_run_time}")
    if optimizer is not None and mode != "train":
        raise CnnstatError("--optimizer needs --mode train")


def check_depth(depth: Optional[int]) -> Optional[int]:
    if depth is not None and depth < 0:
        raise CnnstatError(f"--depth must be 0 or more, got {depth}")
    return depth


FORMAT_OPTION = typer.Option(None, "--format", metavar="FORMAT",
                             help="table | csv | md | json | html (a page to open in a browser) (default: the extension of -o FILE, "
                                  "else table).")
OUTPUT_OPTION = typer.Option(None, "--output", "-o", metavar="FILE",
                             help="Write to FILE instead of stdout, atomically; .csv .md .json .txt .html name the format "
                                  "(-o - is stdout, with --format).")
COLUMNS_OPTION = typer.Option(None, "--columns", metavar="KEY,...",
                              help="Show only these columns of the table (keys as in --format csv, e.g. "
                                   "params,macs); the first column always shows.")


def choose_columns(view, text: Optional[str]):
    """The view with the columns a user named (``--columns``), and whether any were named."""
    if not text:
        return view, False
    chosen = [key.strip() for key in text.split(",") if key.strip()]
    known = [column.key for column in view.columns]
    unknown = [key for key in chosen if key not in known]
    if unknown or not chosen:
        raise CnnstatError(f"unknown --columns {', '.join(unknown) or repr(text)}; this table has: {', '.join(known)}")
    return view.only(chosen), True


INPUTS_OPTION = typer.Option(None, "--inputs", metavar="pkg.module:make_inputs",
                             help="A function (or file.py:make_inputs) returning the example inputs: a tensor, a tuple "
                                  "of them, a dict of keyword inputs, or (args, kwargs); instead of --input and --batch.")


def check_inputs_alone(make_inputs: Optional[str], input: Optional[list[str]], batch_given: bool) -> None:
    """--inputs' examples hold the batch and every size: neither --input nor --batch beside them."""
    if make_inputs and (input or batch_given):
        raise CnnstatError("--inputs gives the example inputs, batch included: drop --input and --batch")


def called_inputs(spec: str):
    """What ``--inputs pkg.module:make_inputs`` returns, as ``profile`` takes example inputs: a
    tensor, a tuple or list of them, a dict of keyword inputs, or ``(args, kwargs)``."""
    import torch

    from cnnstat.zoo.loader import load_callable

    made = load_callable(spec)()
    if (isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], (tuple, list))
            and isinstance(made[1], dict)):
        args, kwargs = made
        if kwargs and args:
            raise CnnstatError(f"{spec} returned positional and keyword inputs together; cnnstat takes one kind: "
                               "return a tuple of tensors or a dict of keyword inputs")
        return kwargs or tuple(args)
    if isinstance(made, (torch.Tensor, tuple, list, dict)):
        return made
    raise CnnstatError(f"{spec} returned {type(made).__name__}; return a tensor, a tuple or dict of them, "
                       "or (args, kwargs)")


REPROBE_OPTION = typer.Option(False, "--reprobe", help="Probe the machine again instead of using the cached figures.")

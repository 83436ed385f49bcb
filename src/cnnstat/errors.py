"""Errors that are the user's to fix: the CLI prints their message on one line and exits 2.

Each error keeps what went wrong as data (the model, the shape, the failing layer) and its
message names no command-line flag: the CLI adds its own advice (``cnnstat.cli.errors``).
"""

from __future__ import annotations

from cnnstat.figures import shape_text


def first_line(error: BaseException) -> str:
    """An exception's message, first line only; its type's name when it says nothing."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class CnnstatError(Exception):
    """A mistake in what the user asked for; its message says what was wrong and what would be right."""

    exit_code = 2


class UnknownModelError(CnnstatError, LookupError):
    """A model name that is neither registered nor an alias."""


class UnavailableDevice(CnnstatError):
    def __init__(self, device: str) -> None:
        self.device = device
        super().__init__(f"{device.upper()} was asked for but is not available on this machine")


class InputSizeError(CnnstatError):
    """An input size the model cannot take, or none where the model declares none."""


class MissingInputSize(InputSizeError):
    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(f"{model}: give the input size, or state it as an input_size attribute of the model's "
                         "class or factory")


class InputRankError(InputSizeError):
    """An input with another number of sizes than the model's own."""

    def __init__(self, model: str, given: tuple[int, ...], expected: tuple[int, ...],
                 meaning: str = "channels and spatial") -> None:
        self.model, self.given, self.expected, self.meaning = model, tuple(given), tuple(expected), meaning
        batched = (f"; a size does not include the batch: give {shape_text(given[1:])} and the batch apart "
                   f"(--batch {given[0]}, or batch={given[0]} from Python)" if len(given) == len(expected) + 1 else "")
        super().__init__(f"{model} takes {len(expected)} sizes ({meaning}), e.g. {shape_text(expected)}, "
                         f"not {shape_text(given)}{batched}")


class InputTooLarge(InputSizeError):
    """An input whose elements no tensor can address: its storage size overflows 64 bits."""

    def __init__(self, model: str, shape: tuple[int, ...]) -> None:
        self.model, self.shape = model, tuple(shape)
        super().__init__(f"{model}: an input of {shape_text(shape)} holds more elements than a tensor can address")


class ForwardError(CnnstatError):
    """The model's forward failed: names the module that raised and the shapes it got."""

    def __init__(self, model: str, reason: str, layer: str | None = None, layer_type: str | None = None,
                 input_shapes: list[tuple[int, ...]] | None = None) -> None:
        self.model, self.reason, self.layer, self.layer_type = model, reason, layer, layer_type
        self.input_shapes = input_shapes
        if layer_type is None:
            message = f"{model}: the forward pass failed: {reason}"
        else:
            got = ", ".join(map(shape_text, input_shapes or [])) or "no tensor"
            message = f"{model}: layer {layer or '(the model itself)'} ({layer_type}) failed on input {got}: {reason}"
        super().__init__(message)


class OutOfMemory(CnnstatError):
    """The measurement does not fit the device (refused up front, or a real out-of-memory)."""

    def __init__(self, what: str, device: str, needed_bytes: int | None = None, free_bytes: int | None = None) -> None:
        self.what, self.device, self.needed_bytes, self.free_bytes = what, device, needed_bytes, free_bytes
        if needed_bytes is None or free_bytes is None:
            message = f"{what} ran out of memory on {device}"
        else:
            message = (f"{what} needs about {needed_bytes / 2**30:.2f} GiB (static estimate) but {device} has "
                       f"{free_bytes / 2**30:.2f} GiB free")
        super().__init__(message)


class CountingOutOfMemory(OutOfMemory):
    """Counting on the CPU, where the meta device cannot run the model, does not fit: only a
    smaller input helps (the meta device is what was asked for)."""


class ToolFailed(CnnstatError):
    """Another counter (fvcore, torchinfo, ...) raised on the model: the cross-check cannot be made."""

    exit_code = 1

    def __init__(self, tool: str, model: str, reason: str) -> None:
        self.tool, self.model, self.reason = tool, model, reason
        super().__init__(f"{tool} could not count {model}, so there is nothing to check against: {reason}")

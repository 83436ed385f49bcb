"""Counting where the meta device cannot.

A static pass runs on the meta device: shapes without values. Some models need values: a
detection model keeps the boxes whose scores pass a threshold (``nonzero``), takes the top
``k`` of a number it has just computed, and reads sizes back with ``.item()``; the number
of boxes that reach its ROI heads, and so their cost, depends on the data. When the meta pass
meets such an op, the same pass runs once on the CPU, at the same input, on a model built
there (real initial weights: random stand-ins would be no model at all, e.g. negative variances
in frozen BatchNorm). Nothing is timed; the report says which way its figures were obtained.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from cnnstat.analysis.measure import check_fits, is_out_of_memory
from cnnstat.analysis.memory import LiveMemory, kernel_scratch_bytes
from cnnstat.analysis.profiler import PassResult, run_pass
from cnnstat.errors import CountingOutOfMemory, ForwardError

CPU = torch.device("cpu")


class _ConvolutionSeen:
    """Follows a pass (``PassObserver``): whether it ran a convolution, whose memory (oneDNN's
    blocked copies included) the pass's peak then holds."""

    ran = False

    def module_input(self, record, args: tuple, kwargs: dict) -> None:
        pass

    def op(self, func, args: tuple, kwargs: dict, out: Any, record) -> None:
        self.ran = self.ran or func is torch.ops.aten.convolution.default

    def module_output(self, record, output: Any) -> None:
        pass


def first_convolution_bytes(model: nn.Module, args: tuple, kwargs: Mapping[str, Any]) -> int:
    """What the first convolution of each 4-D input adds on the CPU, where the model has a
    ``Conv2d`` taking the input's channels (the first one registered): its output and its
    kernel's scratch (oneDNN's blocked copies, ``kernel_scratch_bytes``), at the input's size."""
    convolutions = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    added = 0
    for tensor in tree_leaves((args, dict(kwargs))):
        if not (isinstance(tensor, torch.Tensor) and tensor.dim() == 4 and tensor.is_floating_point()):
            continue
        conv = next((conv for conv in convolutions if conv.in_channels == tensor.shape[1]), None)
        if conv is None:
            continue
        image = torch.empty(tensor.shape, dtype=tensor.dtype, device="meta")
        weight = torch.empty(conv.weight.shape, dtype=tensor.dtype, device="meta")
        output = nn.functional.conv2d(image, weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)
        call = (image, weight, None, conv.stride, conv.padding, conv.dilation, False, (0, 0), conv.groups)
        added += output.nbytes + kernel_scratch_bytes(torch.ops.aten.convolution.default, call, output)
    return added


def needs_values(error: ForwardError) -> bool:
    """Whether a meta pass failed on an op the meta device cannot run (no meta kernel, or an
    output whose size or value depends on the data), not on a mistake a real device would
    also refuse (an input of the wrong shape)."""
    cause = error.__cause__
    if isinstance(cause, NotImplementedError):  # no meta kernel; .item() and nonzero land here
        return True
    return isinstance(cause, RuntimeError) and ("meta" in str(cause).lower() or "data-dependent" in str(cause))


@dataclass
class Counting:
    """Where a report's passes run: the meta device, or the CPU once meta could not."""

    model: nn.Module
    device: torch.device
    real_model: Callable[[], nn.Module] | None
    """Builds the model on the CPU (None: the model given, its stand-ins copied to the CPU)."""
    fell_back: str | None = None
    """Why the passes run on the CPU (None while they run where asked)."""
    observed: Sequence[Any] = ()
    """The observers of the last pass that ran through."""

    def run(self, args: tuple, kwargs: Mapping[str, Any], observe: Callable[[], Sequence[Any]] = tuple,
            **settings) -> PassResult:
        """``run_pass`` on this counting's device, followed by the observers ``observe`` makes (fresh
        ones for a second try); a meta pass that meets an op it cannot run moves this counting, and
        every later pass, to the CPU."""
        if self.fell_back is None:
            memory, convolution = LiveMemory(), _ConvolutionSeen()
            try:
                self.observed = observe()
                return run_pass(self.model, args, kwargs, device=self.device, observers=[*self.observed, convolution],
                                memory=memory, **settings)
            except ForwardError as error:
                if self.device.type != "meta" or not needs_values(error):
                    raise
                # What the meta pass held before it stopped (inputs, parameters, activations) is
                # what the CPU must hold at least; where it stopped before any convolution, also
                # what the first one adds beside the input and parameters. Refused up front, as a
                # measurement is, before the real input exists.
                needed = memory.peak
                if not convolution.ran and not settings.get("channels_last", False):
                    resident = memory.timeline[0][0] if memory.timeline else 0
                    needed = max(needed, resident + first_convolution_bytes(self.model, args, kwargs))
                check_fits(needed, CPU, f"counting {error.model} on the CPU (the meta device cannot run it)",
                           CountingOutOfMemory)
                self.fell_back = _reason(error)
                self.device = CPU
                if self.real_model is not None:
                    with _seeded():
                        self.model = self.real_model()
        self.observed = observe()
        try:
            with _seeded():  # how many boxes a detector keeps depends on the values: the same every run
                return run_pass(self.model, args, kwargs, device=self.device, observers=self.observed, **settings)
        except ForwardError as error:
            if self.device.type == "cpu" and error.__cause__ is not None and is_out_of_memory(error.__cause__):
                raise CountingOutOfMemory(f"counting {error.model} on the CPU", "cpu") from None
            raise

    def note(self) -> str | None:
        if self.fell_back is None:
            return None
        return (f"shapes, MACs/FLOPs and memory counted on the CPU in one real forward at this input (not timed), "
                f"because the meta device could not: {self.fell_back}; parameters are counted from the model")


def _reason(error: ForwardError) -> str:
    reason = error.reason.split(". ")[0]  # torch's explanations run on for lines
    if error.layer_type is None:
        return reason
    return f"layer {error.layer or '(the model itself)'} ({error.layer_type}) raised: {reason}"


@contextlib.contextmanager
def _seeded() -> Iterator[None]:
    """Seed 0 for what runs within, the caller's random state restored after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield

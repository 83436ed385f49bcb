"""Activation checkpointing, what-if: the training peak saved and the MACs recomputed by
checkpointing a block (``torch.utils.checkpoint``, non-reentrant).

The same static pass as ``profile``, on the meta device, with the block's forward run through
``torch.utils.checkpoint``: its activations are dropped after the forward and computed again
in the backward, so the lifetime accounting sees exactly what a real step keeps and when it
makes it again. A block whose recomputation comes when the backward is at its peak can raise
the peak instead (a negative saving). The MACs recomputed are one more forward of the block.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from torch import nn

from cnnstat.analysis.report import Report, profile
from cnnstat.errors import CnnstatError


@dataclass(frozen=True)
class CheckpointWhatIf:
    block: str
    """The checkpointed block's module name; several joined by "+" when checkpointed together."""
    checkpointed_peak_bytes: int
    """Estimated peak of a training step with the block checkpointed."""
    saved_peak_bytes: int
    """The plain step's estimated peak minus ``checkpointed_peak_bytes`` (negative: it costs memory)."""
    recomputed_macs: int
    """MACs of the block's forward, run again in the backward."""
    recomputed_share: float
    """``recomputed_macs`` / the MACs of one plain training step (forward and backward)."""


@dataclass(frozen=True)
class CheckpointResult:
    model: str
    input_shape: tuple[int, ...]
    """With the batch dimension."""
    dtype: str
    optimizer: str | None
    peak_bytes: int
    """Estimated peak of the plain training step (optimizer state included when one is named)."""
    step_macs: int
    """MACs of one plain training step: forward and backward."""
    blocks: tuple[CheckpointWhatIf, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def default_blocks(model: nn.Module) -> list[str]:
    """The model's top-level blocks: its children that hold modules of their own (ResNet's
    layer1..layer4), or, in a model without any, every child with parameters."""
    children = list(model.named_children())
    blocks = [name for name, child in children if any(True for _ in child.children())]
    return blocks or [name for name, child in children if any(True for _ in child.parameters())]


@contextlib.contextmanager
def checkpointed(model: nn.Module, names: Sequence[str]) -> Iterator[None]:
    """Run the named submodules' forwards through ``torch.utils.checkpoint`` (non-reentrant), and
    restore them. Only for a model cnnstat built itself (a user's model is never touched)."""
    from torch.utils.checkpoint import checkpoint

    modules = [model.get_submodule(name) for name in names]
    for module in modules:
        module.forward = functools.partial(checkpoint, module.forward, use_reentrant=False)
    try:
        yield
    finally:
        for module in modules:
            del module.forward  # the class's own forward shows through again


def _peak(report: Report, optimizer: str | None) -> int:
    from cnnstat.analysis.measure import static_peak_bytes

    peak = static_peak_bytes(report.totals, "train", optimizer)
    if peak is None:
        raise CnnstatError(f"{report.model}: no training-memory estimate: {'; '.join(report.notes)}")
    return peak


def checkpoint_what_if(model: str, input_size: Any = None, batch: int = 1, *, blocks: Sequence[str] | None = None,
                       dtype: str | None = None, optimizer: str | None = None,
                       options: dict[str, Any] | None = None, inputs: Any = None) -> CheckpointResult:
    """For each block (default: the top-level blocks), the training peak saved and the MACs
    recomputed by checkpointing it; named ``blocks`` are also checkpointed all together.
    ``dtype`` converts the model; None keeps its own (float32 for a named model). ``inputs``:
    example inputs (as ``profile`` takes them) instead of ``input_size`` x ``batch``."""
    from cnnstat.analysis.build import load_on
    from cnnstat.analysis.measure import check_optimizer

    check_optimizer(optimizer, "train")
    plain = profile(model, input_size, batch=batch, mode="train", dtype=dtype, options=options, inputs=inputs)
    loaded = load_on(model, options=options, device="meta")
    module = loaded.module
    known = [name for name, _ in module.named_modules() if name]
    chosen = list(blocks) if blocks else default_blocks(module)
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise CnnstatError(f"{plain.model} has no module {', '.join(map(repr, unknown))}; its top-level modules: "
                           f"{', '.join(name for name, _ in module.named_children())}")
    if not chosen:
        raise CnnstatError(f"{plain.model} has no block to checkpoint: name one with --blocks")
    forward_macs = {row.name: 0 for row in plain.layers}
    for row in plain.layers:
        forward_macs[row.name] += row.macs  # every call of a module that runs twice
    step_macs = plain.totals.macs + (plain.totals.backward_macs or 0)
    peak = _peak(plain, optimizer)
    groups = [[name] for name in chosen] + ([chosen] if blocks and len(chosen) > 1 else [])
    what_ifs = []
    for group in groups:
        with checkpointed(module, group):
            report = profile(module, None if inputs is not None else input_size or loaded.input_size, batch=batch,
                             mode="train", dtype=dtype, name=plain.model, inputs=inputs)
        checkpointed_peak = _peak(report, optimizer)
        recomputed = sum(forward_macs[name] for name in group)
        what_ifs.append(CheckpointWhatIf("+".join(group), checkpointed_peak, peak - checkpointed_peak, recomputed,
                                         recomputed / step_macs if step_macs else 0.0))
    return CheckpointResult(plain.model, plain.input_shape, plain.dtype, optimizer, peak, step_macs, tuple(what_ifs),
                            tuple(plain.notes))

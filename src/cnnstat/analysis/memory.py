"""Live-tensor accounting by storage lifetime: the same rule a real allocator follows.

Every tensor an op returns is tracked by its storage; when Python frees the last tensor
that uses a storage, the storage's weak reference fires and its bytes leave the live
total. On the meta device this gives the peak a CPU or CUDA run would reach (without
allocator rounding or caching) at no cost.
"""

from __future__ import annotations

import weakref
from functools import partial

import torch
from torch import nn

VALIDATION = ("measured/estimate on CPU (torch.profiler), batch 1, 8, 16: LSTM 1.67 to 1.81 eval, 1.08 to 2.06 "
              "train; GRU 1.07 to 1.48 eval, 0.95 to 1.04 train; transformer encoder 0.79 to 0.95 in both modes")
"""Recurrent and attention layers, held against the CPU allocator (torch 2.13): off by more than
15%. Why: oneDNN's fused RNN kernel copies both weight matrices into its own layout and keeps
every time step's gates in one workspace, where the meta device runs the recurrence op by op
and frees each step's gates; a fused attention kernel never holds the attention weights that
the op-by-op pass counts."""


def unvalidated_layers(model: nn.Module) -> list[str]:
    """The kinds of layer in ``model`` whose memory the estimate is not validated for: recurrent
    layers (fused kernels keep gates and workspaces the op-by-op lifetimes do not see) and attention."""
    kinds = {type(module).__name__ for module in model.modules()
             if isinstance(module, (nn.RNNBase, nn.MultiheadAttention)) or type(module).__name__.endswith("Attention")}
    return sorted(kinds)


def unvalidated_note(kinds: list[str]) -> str:
    return (f"memory estimates are not validated for {', '.join(kinds)} layers ({VALIDATION}): "
            "they do not decide whether a run fits the device")


_COMPRESSED = {torch.sparse_csr: ("crow_indices", "col_indices"), torch.sparse_bsr: ("crow_indices", "col_indices"),
               torch.sparse_csc: ("ccol_indices", "row_indices"), torch.sparse_bsc: ("ccol_indices", "row_indices")}


def tensor_bytes(tensor: torch.Tensor, dtype: torch.dtype | None = None) -> int:
    """The bytes a tensor's values take where they are kept: a sparse tensor's indices and
    values, the span of memory a strided one reaches (an expanded tensor, of stride 0, keeps
    one copy of what it repeats). ``dtype`` is the type a floating-point tensor is counted in
    (None: its own)."""
    def size(part: torch.Tensor) -> int:
        item = (torch.empty((), dtype=dtype).element_size() if dtype is not None and part.is_floating_point()
                else part.element_size())
        return _span(part) * item

    if tensor.layout == torch.sparse_coo:
        return tensor._indices().numel() * tensor._indices().element_size() + size(tensor._values())
    if tensor.layout in _COMPRESSED:
        return sum(getattr(tensor, name)().numel() * getattr(tensor, name)().element_size()
                   for name in _COMPRESSED[tensor.layout]) + size(tensor.values())
    return size(tensor)


def _span(tensor: torch.Tensor) -> int:
    """Elements from a strided tensor's first to its last, each reached once."""
    if tensor.numel() == 0:
        return 0
    return 1 + sum((length - 1) * abs(stride) for length, stride in zip(tensor.shape, tensor.stride()))


def packed_weights(model: nn.Module) -> tuple[list[str], int, int]:
    """Quantized layers' packed weights (``torch.ao.nn.quantized``): kinds of layer, values and
    bytes. They are kept in an opaque object, not as parameters, so no parameter count has them."""
    kinds, values, nbytes = set(), 0, 0
    for module in model.modules():
        packed, weight, bias = (getattr(module, name, None) for name in ("_packed_params", "weight", "bias"))
        if packed is None or not callable(weight):
            continue
        kinds.add(type(module).__name__)
        for tensor in (weight(), bias() if callable(bias) else None):
            if tensor is not None:
                values += tensor.numel()
                nbytes += tensor_bytes(tensor)
    return sorted(kinds), values, nbytes


class LiveMemory:
    """Live bytes, their peak, which module call made each live storage, and the live bytes
    after every allocation and free (the timeline of a pass)."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self._storages: dict[int, weakref.ref] = {}
        self._makers: dict[int, tuple[int | None, int]] = {}
        """Storage id -> (the module call that made it, its bytes)."""
        self.running: int | None = None
        """The module call (record index) whose op runs now: it makes and frees what follows."""
        self.timeline: list[tuple[int, int | None]] = []
        """(live bytes, the module call running) after every allocation and free, in order."""

    def add(self, tensor: torch.Tensor) -> None:
        try:
            storage = tensor.untyped_storage()
        except (RuntimeError, NotImplementedError):  # tensors without storage (e.g. some subclasses)
            return
        key = id(storage)
        if key in self._storages:
            return
        nbytes = storage.nbytes()
        self._storages[key] = weakref.ref(storage, partial(self._free, key, nbytes))
        self._makers[key] = (self.running, nbytes)
        self.live += nbytes
        self.peak = max(self.peak, self.live)
        self.timeline.append((self.live, self.running))

    def _free(self, key: int, nbytes: int, _ref) -> None:
        if self._storages.pop(key, None) is not None:
            self._makers.pop(key, None)
            self.live -= nbytes
            self.timeline.append((self.live, self.running))

    def transient(self, nbytes: int) -> None:
        """A kernel's scratch memory, allocated and freed inside one op."""
        self.peak = max(self.peak, self.live + nbytes)
        self.timeline += [(self.live + nbytes, self.running), (self.live, self.running)]

    def live_by_maker(self) -> dict[int | None, int]:
        """Live bytes now, by the module call that made them (None: before any module ran)."""
        made: dict[int | None, int] = {}
        for maker, nbytes in self._makers.values():
            made[maker] = made.get(maker, 0) + nbytes
        return made

    def reset_peak(self) -> None:
        self.peak = self.live


def convolution_workspace_bytes(input: torch.Tensor, weight: torch.Tensor, output: torch.Tensor) -> int:
    """Scratch memory of a forward convolution of NCHW tensors on CPU. oneDNN computes in a
    blocked layout: it reorders the weight, then the input, into temporaries and writes a
    blocked output that it copies into the real one, so the weight plus max(input, output)
    bytes live beside the output for the length of the op. A channels_last convolution runs
    in its own layout, without copies (not counted)."""
    return weight.numel() * weight.element_size() + max(input.numel() * input.element_size(),
                                                        output.numel() * output.element_size())


def carry_training_memory(records, training_records) -> None:
    """Give each record the training pass's saved-for-backward and gradient bytes of the same
    module call (matched by name and call: a training forward may call modules an eval one skips)."""
    by_call = {(record.name, record.call): record for record in training_records}
    for record in records:
        trained = by_call.get((record.name, record.call))
        if trained is not None and trained is not record:
            record.own_saved_bytes, record.saved_bytes = trained.own_saved_bytes, trained.saved_bytes
            record.grad_bytes = trained.grad_bytes

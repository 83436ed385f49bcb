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


class LiveMemory:
    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self._storages: dict[int, weakref.ref] = {}

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
        self.live += nbytes
        self.peak = max(self.peak, self.live)

    def _free(self, key: int, nbytes: int, _ref) -> None:
        if self._storages.pop(key, None) is not None:
            self.live -= nbytes

    def transient(self, nbytes: int) -> None:
        """A kernel's scratch memory, allocated and freed inside one op."""
        self.peak = max(self.peak, self.live + nbytes)

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

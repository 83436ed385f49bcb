"""``torch.autocast`` inside a model's forward, applied on the meta device as the CPU (or CUDA)
applies it, so that a mixed-precision model is counted at the types it runs in.

Autocast acts in the dispatcher, for CPU and CUDA tensors only: on meta tensors every op runs
in its inputs' type, and a model that calls ``torch.autocast`` in its forward would be counted
at full precision. This mode reads the autocast state the model's forward sets and, for meta
tensors, casts the arguments of the functions autocast covers by its policy (torch's
``autocast_mode.cpp``): matrix products and convolutions to the lower precision, losses and a
few numerically fragile functions to float32, ``cat`` and ``stack`` to their widest input. As
autocast does, a parameter is cast once per autocast region and the copy kept until the region
ends. Functions written in Python that call others (``F.multi_head_attention_forward``) are
cast as one call: the functions they call run in the types they are given.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from cnnstat.analysis.rules import tensors_in

LOWER_PRECISION = frozenset({
    F.linear, F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d, F.prelu,
    F.scaled_dot_product_attention, torch.matmul, torch.mm, torch.bmm, torch.addmm, torch.baddbmm, torch.addbmm,
    torch.conv1d, torch.conv2d, torch.conv3d, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__,
    torch.Tensor.mm, torch.Tensor.bmm, torch.Tensor.addmm, torch.Tensor.baddbmm,
})
"""Run in autocast's lower precision (its ``lower_precision_fp`` policy)."""

FULL_PRECISION = frozenset({
    F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.nll_loss, F.cross_entropy, F.binary_cross_entropy,
    F.binary_cross_entropy_with_logits, F.kl_div, F.cosine_embedding_loss, F.margin_ranking_loss,
    F.soft_margin_loss, F.multilabel_margin_loss, F.multi_margin_loss, F.triplet_margin_loss, F.hinge_embedding_loss,
    F.poisson_nll_loss, F.ctc_loss, F.grid_sample, F.avg_pool3d, F.max_pool3d, F.adaptive_avg_pool3d, torch.prod,
    torch.cdist, torch.trace, torch.quantile, torch.nanquantile, torch.stft,
})
"""Run in float32 (its ``fp32`` policy, the functions of it a model calls)."""

WIDEST = frozenset({torch.cat, torch.stack, torch.index_copy})
"""Run in the widest floating-point type among their inputs (its ``promote`` policy)."""


def autocast_dtype() -> torch.dtype | None:
    """The lower precision of the autocast region the caller is in (CPU's, else CUDA's), or None."""
    for device in ("cpu", "cuda"):
        enabled, dtype = _autocast_state(device)
        if enabled:
            return dtype
    return None


def _autocast_state(device: str) -> tuple[bool, torch.dtype]:
    try:
        return torch.is_autocast_enabled(device), torch.get_autocast_dtype(device)
    except (TypeError, AttributeError):  # torch before 2.4: one function per device
        if device == "cpu":
            return torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
        return torch.is_autocast_enabled(), torch.get_autocast_gpu_dtype()


def _eligible(value: Any) -> bool:
    """What autocast casts: floating-point tensors other than float64."""
    return isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != torch.float64


class AutocastOnMeta(TorchFunctionMode):
    """Autocast's policy for the functions above, applied to meta tensors inside an autocast
    region. ``parameters`` are the tensors autocast would cache the casts of (leaves that
    require grad: a model's parameters), once per region."""

    def __init__(self, parameters: Iterable[torch.Tensor] = ()) -> None:
        super().__init__()
        self.parameters = {id(tensor) for tensor in parameters}
        self.cache: dict[tuple[int, torch.dtype], torch.Tensor] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        lower = autocast_dtype()
        if lower is None:
            self.cache.clear()  # the region ended: autocast frees its cached casts
            return func(*args, **kwargs)
        target = self._target(func, lower, args)
        if target is None or not _any_meta(args, kwargs):
            return func(*args, **kwargs)
        cast = self._caster(target)
        return func(*_map(cast, args), **{name: _map(cast, value) for name, value in kwargs.items()})

    @staticmethod
    def _target(func, lower: torch.dtype, args: tuple) -> torch.dtype | None:
        if func in LOWER_PRECISION:
            return lower
        if func in FULL_PRECISION:
            return torch.float32
        if func in WIDEST:
            dtypes = [t.dtype for t in tensors_in(args) if _eligible(t)]
            return max(dtypes, key=lambda dtype: torch.finfo(dtype).bits) if dtypes else None
        return None

    def _caster(self, target: torch.dtype) -> Callable[[Any], Any]:
        def cast(value: Any) -> Any:
            if not _eligible(value) or value.dtype == target:
                return value
            if id(value) not in self.parameters:
                return value.to(target)
            key = (id(value), target)
            if key not in self.cache:
                self.cache[key] = value.to(target)
            return self.cache[key]
        return cast


def _any_meta(args: tuple, kwargs: dict) -> bool:
    return any(tensor.is_meta for tensor in tensors_in((args, kwargs)))


def _map(cast: Callable[[Any], Any], value: Any) -> Any:
    """``cast`` applied to a tensor, or to each tensor of a list or tuple (``cat``'s)."""
    if isinstance(value, (list, tuple)):
        return type(value)(cast(item) for item in value)
    return cast(value)

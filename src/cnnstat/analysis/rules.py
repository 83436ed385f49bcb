"""What each aten op costs: the counting conventions of cnnstat, in one place.

``macs``  multiply-accumulates of convolution, linear, matmul/bmm and attention, taken
          from ``torch.utils.flop_counter``'s formulas (which give 2 FLOPs per MAC). This is
          the convention of torchvision's published "GFLOPS", torchinfo's mult-adds and
          ptflops' aten backend: ResNet-50 at 224x224 is 4.089 G.
``flops`` 2 x macs plus the elementwise work below, each by a fixed rule:
          - bias of a convolution or linear layer: 1 per output element
          - add, sub, mul, div, activations (ReLU, SiLU, GELU, Hardswish, sigmoid, ...): 1 per output element
          - batch/layer/group/instance norm: 2 per element (scale and shift); in training
            2 more for the batch statistics (mean and variance)
          - max/avg pooling: kernel area per output element; adaptive pooling, mean, sum: 1 per input element
          - softmax and log-softmax: 3 per element (exp, sum, divide)
          - dropout in training: 1 per element
Ops that move or reshape data (views, cat, copies, padding, factories) cost no arithmetic
and are listed in ``ZERO_COST``. Any other op is *uncounted*: reported with how often it
ran, never silently dropped.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry, sdpa_flop_count

ZERO_COST = frozenset({
    "view", "_unsafe_view", "reshape", "expand", "expand_as", "permute", "transpose", "t", "squeeze",
    "unsqueeze", "flatten", "unflatten", "slice", "select", "split", "split_with_sizes", "chunk", "unbind",
    "narrow", "as_strided", "alias", "detach", "clone", "contiguous", "_to_copy", "copy_", "to", "cat",
    "stack", "constant_pad_nd", "pad", "empty", "empty_like", "empty_strided", "new_empty",
    "new_empty_strided", "zeros", "zeros_like", "new_zeros", "ones", "ones_like", "new_ones", "full",
    "full_like", "fill_", "zero_", "lift_fresh", "lift_fresh_copy", "_local_scalar_dense", "is_same_size",
    "roll", "flip", "index_select", "gather", "embedding", "channel_shuffle", "pixel_shuffle",
    "pixel_unshuffle", "repeat", "_reshape_alias", "set_", "resize_", "arange", "scalar_tensor",
    "bernoulli_", "uniform_", "normal_", "rand", "randn", "rand_like", "randn_like", "bernoulli",
    "_assert_tensor_metadata", "_assert_async", "sym_size", "sym_stride", "sym_numel", "detach_",
    "transpose_", "squeeze_", "unsqueeze_", "as_strided_", "_unsafe_index", "masked_fill_", "masked_fill",
})
"""Ops that only move, reshape, copy or create data: zero arithmetic by convention."""

ONE_PER_OUTPUT = frozenset({
    "add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "relu", "relu_", "relu6",
    "hardtanh", "hardtanh_", "hardswish", "hardswish_", "hardsigmoid", "hardsigmoid_", "sigmoid",
    "sigmoid_", "tanh", "tanh_", "silu", "silu_", "gelu", "gelu_", "leaky_relu", "leaky_relu_", "elu",
    "elu_", "celu", "selu", "mish", "softplus", "clamp", "clamp_", "clamp_min", "clamp_min_", "clamp_max",
    "neg", "exp", "log", "sqrt", "rsqrt", "pow", "abs", "where", "maximum", "minimum", "threshold",
    "threshold_", "addcmul", "addcdiv", "reciprocal", "square", "erf", "lerp", "prelu", "_prelu_kernel",
    "glu", "native_dropout", "floor_divide", "remainder", "fmod", "sign", "sin", "cos",
})
"""Elementwise arithmetic: 1 FLOP per output element."""

NORMS = frozenset({
    "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
    "_native_batch_norm_legit_functional", "cudnn_batch_norm", "miopen_batch_norm", "native_layer_norm",
    "native_group_norm", "instance_norm", "_batch_norm_with_update", "_batch_norm_no_update",
})
POOLS = frozenset({
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
})
REDUCTIONS = frozenset({
    "mean", "sum", "amax", "amin", "max", "min", "var", "var_mean", "std", "_adaptive_avg_pool2d",
    "_adaptive_avg_pool3d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "logsumexp", "norm", "linalg_vector_norm",
})
SOFTMAXES = frozenset({"_softmax", "_log_softmax", "_safe_softmax", "softmax", "log_softmax"})

# CPU/CUDA fused attention kernels the flop counter has no formula for; their MACs are those
# of the two batched matmuls, as for the math path that the meta device takes.
SDPA_WITHOUT_FORMULA = frozenset({"_scaled_dot_product_flash_attention_for_cpu",
                                  "_scaled_dot_product_fused_attention_overrideable"})


def _numel(value: Any) -> int:
    return sum(t.numel() for t in tree_leaves(value) if isinstance(t, torch.Tensor))


def _first_tensor(value: Any) -> torch.Tensor | None:
    return next((t for t in tree_leaves(value) if isinstance(t, torch.Tensor)), None)


def _pool_kernel_area(args: tuple, kwargs: dict) -> int:
    kernel = kwargs.get("kernel_size", args[1] if len(args) > 1 else 1)
    kernel = [kernel] if isinstance(kernel, int) else list(kernel)
    spatial_dims = args[0].dim() - 2 if isinstance(args[0], torch.Tensor) else len(kernel)
    if len(kernel) == 1:
        kernel = kernel * max(spatial_dims, 1)
    return math.prod(kernel)


def _has_bias(name: str, args: tuple) -> bool:
    if name in ("addmm", "baddbmm"):
        return True
    if name in ("convolution", "_convolution", "convolution_overrideable", "cudnn_convolution"):
        return len(args) > 2 and args[2] is not None
    return False


def op_cost(func, args: tuple, kwargs: dict, out: Any, training: bool) -> tuple[int, int] | None:
    """(macs, flops) of one aten op call, or None when no rule covers it."""
    packet = func._overloadpacket
    name = packet.__name__
    if packet in flop_registry:
        macs = flop_registry[packet](*args, **kwargs, out_val=out) // 2
        bias = _numel(_first_tensor(out)) if _has_bias(name, args) else 0
        return macs, 2 * macs + bias
    if name in SDPA_WITHOUT_FORMULA:
        query, key, value = args[:3]
        macs = sdpa_flop_count(query.shape, key.shape, value.shape) // 2
        return macs, 2 * macs
    if name == "_native_multi_head_attention":
        return _fused_multi_head_attention(args)
    if name in ZERO_COST:
        return 0, 0
    if name in ONE_PER_OUTPUT:
        return 0, _numel(_first_tensor(out))
    if name in NORMS:
        elements = _numel(args[0])
        stats = 2 * elements if training and name not in ("_native_batch_norm_legit_no_training",) else 0
        return 0, 2 * elements + stats
    if name in POOLS:
        return 0, _numel(_first_tensor(out)) * _pool_kernel_area(args, kwargs)
    if name in REDUCTIONS:
        return 0, _numel(args[0])
    if name in SOFTMAXES:
        return 0, 3 * _numel(args[0])
    return None




def _fused_multi_head_attention(args: tuple) -> tuple[int, int]:
    """nn.MultiheadAttention's fused inference kernel: q/k/v and output projections plus
    the two attention matmuls, as the unfused path counts them."""
    query, key, _value, embed_dim, heads = args[:5]
    batch, q_len, k_len = query.shape[0], query.shape[1], key.shape[1]
    projections = batch * (q_len + 2 * k_len) * embed_dim * embed_dim + batch * q_len * embed_dim * embed_dim
    attention = 2 * batch * q_len * k_len * embed_dim
    biases = batch * (q_len + 2 * k_len) * embed_dim + batch * q_len * embed_dim
    softmax = 3 * batch * heads * q_len * k_len
    macs = projections + attention
    return macs, 2 * macs + biases + softmax

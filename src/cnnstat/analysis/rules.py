"""What each aten op costs: the counting conventions of cnnstat, as cost rules in the op
registry (``cnnstat.analysis.registry``).

``macs``  multiply-accumulates of convolution, linear, matmul/bmm and attention, taken
          from ``torch.utils.flop_counter``'s formulas (which give 2 FLOPs per MAC), except
          the backward of convolution, whose weight-gradient term there ignores ``groups``
          (our own rule below). This is the convention of torchvision's published "GFLOPS",
          torchinfo's mult-adds and ptflops' aten backend: ResNet-50 at 224x224 is 4.089 G.
``flops`` 2 x macs plus the elementwise work below, each by a fixed rule:
          - bias of a convolution or linear layer: 1 per output element (its gradient in
            backward: 1 per element of the output's gradient)
          - add, sub, mul, div, activations (ReLU, SiLU, GELU, Hardswish, sigmoid, ...): 1 per output element
          - batch/layer/group/instance norm: 2 per element (scale and shift); in training
            2 more for the batch statistics (mean and variance)
          - max/avg pooling: kernel area per output element; adaptive pooling, mean, sum: 1 per input element
          - softmax and log-softmax: 3 per element (exp, sum, divide)
          - dropout in training: 1 per element
Ops that move or reshape data (views, cat, copies, padding, factories) cost no arithmetic
(``ZERO_COST``). Any other op is *uncounted*: reported with how often it ran, never
silently dropped.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.flop_counter import flop_registry, sdpa_backward_flop_count, sdpa_flop_count

from cnnstat.analysis.meta_shapes import SHAPES
from cnnstat.analysis.op_sets import ONE_PER_OUTPUT, aten_ops
from cnnstat.analysis.receptive_field import FIELD_RULES
from cnnstat.analysis.registry import Cost, OpCall, OpRules

aten = torch.ops.aten

COSTS = OpRules()
"""cnnstat's cost rules (``OP_RULES`` below holds them with the shape and receptive-field rules)."""


ZERO_COST = aten_ops("""
    view _unsafe_view reshape expand expand_as permute transpose t squeeze unsqueeze flatten unflatten
    slice select split split_with_sizes chunk unbind narrow as_strided alias detach clone contiguous
    _to_copy copy_ to cat stack constant_pad_nd pad empty empty_like empty_strided new_empty
    new_empty_strided zeros zeros_like new_zeros ones ones_like new_ones full full_like fill_ zero_
    lift_fresh lift_fresh_copy _local_scalar_dense is_same_size roll flip index_select gather embedding
    channel_shuffle pixel_shuffle pixel_unshuffle repeat _reshape_alias set_ resize_ arange scalar_tensor
    bernoulli_ uniform_ normal_ rand randn rand_like randn_like bernoulli _assert_tensor_metadata
    _assert_async sym_size sym_stride sym_numel detach_ transpose_ squeeze_ unsqueeze_ as_strided_
    _unsafe_index masked_fill_ masked_fill slice_backward select_backward unsafe_split unsafe_chunk
    unsafe_split_with_sizes
""")
"""Ops that only move, reshape, copy or create data: zero arithmetic by convention."""


NORMS = aten_ops("""
    native_batch_norm _native_batch_norm_legit _native_batch_norm_legit_no_training
    _native_batch_norm_legit_functional cudnn_batch_norm miopen_batch_norm native_layer_norm
    native_group_norm instance_norm _batch_norm_with_update _batch_norm_no_update
""")
"""Normalisations, whose statistics outputs CPU and CUDA kernels leave empty in eval."""

NORM_BACKWARDS = aten_ops("""
    native_batch_norm_backward batch_norm_backward cudnn_batch_norm_backward miopen_batch_norm_backward
    native_layer_norm_backward native_group_norm_backward
""")


def tensors_in(value: Any):
    """The tensors in an op's arguments or outputs: a tensor, or tuples, lists and dicts of
    them (what aten ops take and return; cheaper than a general pytree walk)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)


def _numel(value: Any) -> int:
    return sum(t.numel() for t in tensors_in(value))


def _first_tensor(value: Any) -> torch.Tensor | None:
    return next(tensors_in(value), None)


def _shapes_of(value: Any) -> Any:
    """``value`` with every tensor replaced by its shape, as torch's flop formulas take them."""
    if isinstance(value, torch.Tensor):
        return value.shape
    if isinstance(value, (tuple, list)):
        return type(value)(_shapes_of(item) for item in value)
    return value


@COSTS.cost(*ZERO_COST)
def free(call: OpCall) -> Cost:
    return Cost(0, 0)


@COSTS.cost(*ONE_PER_OUTPUT)
def one_per_output(call: OpCall) -> Cost:
    return Cost(0, _numel(_first_tensor(call.out)))


def _argument(call: OpCall, name: str, default: Any = None) -> Any:
    """An op's argument by its name in the op's schema, given by position or keyword."""
    if name in call.kwargs:
        return call.kwargs[name]
    for index, argument in enumerate(call.func._schema.arguments):
        if argument.name == name:
            return call.args[index] if index < len(call.args) else argument.default_value
    return default


_WITHOUT_STATISTICS = (aten._native_batch_norm_legit_no_training, aten._batch_norm_no_update)
_WITH_STATISTICS = (aten.native_layer_norm, aten.native_group_norm, aten.instance_norm, aten._batch_norm_with_update,
                    aten.native_layer_norm_backward, aten.native_group_norm_backward, aten.cudnn_batch_norm_backward,
                    aten.miopen_batch_norm_backward)


def _computes_statistics(call: OpCall) -> bool:
    """Whether a norm computes its input's mean and variance: layer, group and instance norms
    always; a batch norm as its ``training`` argument says (eval uses the running ones)."""
    packet = call.func.overloadpacket
    if packet in _WITHOUT_STATISTICS:
        return False
    if packet in _WITH_STATISTICS:
        return True
    return bool(_argument(call, "training", _argument(call, "train", call.training)))


@COSTS.cost(*NORMS, *NORM_BACKWARDS)
def normalisation(call: OpCall) -> Cost:
    """A norm, or its gradient (by the same rule, over the gradient's elements)."""
    elements = _numel(call.args[0])
    return Cost(0, 2 * elements + (2 * elements if _computes_statistics(call) else 0))


@COSTS.cost(*aten_ops("max_pool1d max_pool2d max_pool3d max_pool2d_with_indices max_pool3d_with_indices "
                  "avg_pool1d avg_pool2d avg_pool3d"))
def pooling(call: OpCall) -> Cost:
    args, kwargs = call.args, call.kwargs
    kernel = kwargs.get("kernel_size", args[1] if len(args) > 1 else 1)
    kernel = [kernel] if isinstance(kernel, int) else list(kernel)
    spatial_dims = args[0].dim() - 2 if isinstance(args[0], torch.Tensor) else len(kernel)
    if len(kernel) == 1:
        kernel = kernel * max(spatial_dims, 1)
    return Cost(0, _numel(_first_tensor(call.out)) * math.prod(kernel))


@COSTS.cost(*aten_ops("avg_pool2d_backward avg_pool3d_backward"))
def average_pooling_backward(call: OpCall) -> Cost:
    """Each gradient element is spread over its window: kernel area per element."""
    kernel = call.args[2]
    kernel = [kernel] if isinstance(kernel, int) else list(kernel)
    if len(kernel) == 1:
        kernel = kernel * (call.args[1].dim() - 2)
    return Cost(0, _numel(call.args[0]) * math.prod(kernel))


@COSTS.cost(*aten_ops("mean sum amax amin max min var var_mean std _adaptive_avg_pool2d _adaptive_avg_pool3d "
                  "adaptive_avg_pool1d adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d logsumexp "
                  "norm linalg_vector_norm max_pool2d_with_indices_backward max_pool3d_with_indices_backward "
                  "_adaptive_avg_pool2d_backward _adaptive_avg_pool3d_backward adaptive_max_pool2d_backward "
                  "adaptive_max_pool3d_backward embedding_dense_backward"))
def reduction(call: OpCall) -> Cost:
    """1 per element of the first argument (the input; a gradient accumulated into its input's
    shape)."""
    return Cost(0, _numel(call.args[0]))


@COSTS.cost(*aten_ops("_softmax _log_softmax _safe_softmax softmax log_softmax _softmax_backward_data "
                  "_log_softmax_backward_data"))
def softmax(call: OpCall) -> Cost:
    return Cost(0, 3 * _numel(call.args[0]))


def _torch_formula(formula, bias_at: int | None = None):
    """A cost rule from one of ``torch.utils.flop_counter``'s formulas (2 FLOPs per MAC),
    plus one FLOP per output element for a convolution's bias (``args[bias_at]``) when given."""
    on_shapes = getattr(formula, "__wrapped__", None)  # without its (slow) pytree conversion of tensors

    def cost(call: OpCall) -> Cost:
        if on_shapes is None:  # a formula that reads tensors
            macs = formula(*call.args, **call.kwargs, out_val=call.out) // 2
        else:
            kwargs = {key: _shapes_of(value) for key, value in call.kwargs.items()}
            macs = on_shapes(*_shapes_of(call.args), **kwargs, out_shape=_shapes_of(call.out)) // 2
        has_bias = bias_at is not None and len(call.args) > bias_at and call.args[bias_at] is not None
        return Cost(macs, 2 * macs + (_numel(_first_tensor(call.out)) if has_bias else 0))
    return cost


_MATMULS = (aten.mm, aten.addmm, aten.bmm, aten.baddbmm)
_WITH_BIAS = (aten.addmm, aten.baddbmm)


@COSTS.cost(*_MATMULS)
def matmul(call: OpCall) -> Cost:
    """(b x) m x k times (b x) k x n: b*m*k*n MACs, as torch's flop counter counts them (whose
    own formulas for these re-convert shapes through a pytree, a tenth of a static pass);
    a bias of addmm/baddbmm 1 FLOP per output element."""
    with_bias = call.func.overloadpacket in _WITH_BIAS
    a, b = call.args[1:3] if with_bias else call.args[:2]
    macs = a.numel() * b.shape[-1]
    return Cost(macs, 2 * macs + (call.out.numel() if with_bias else 0))


def convolution_macs(input_shape, weight_shape, output_shape, transposed: bool) -> int:
    """MACs of one convolution: every weight element meets every output position (every input
    position of a transposed convolution), once per sample. A grouped weight holds
    in/groups channels, so groups are in its shape."""
    positions = input_shape[2:] if transposed else output_shape[2:]
    return input_shape[0] * math.prod(weight_shape) * math.prod(positions)


@COSTS.cost(aten.convolution_backward)
def convolution_backward(call: OpCall) -> Cost:
    """The input gradient is a convolution of the output's gradient with the weight, the weight
    gradient one of the input with the output's gradient: each takes the forward's MACs, and
    runs only when ``output_mask`` asks for it. The bias gradient sums the output's gradient."""
    grad_output, input, weight = call.args[:3]
    transposed, output_mask = call.args[7], call.args[10]
    forward = convolution_macs(input.shape, weight.shape, grad_output.shape, transposed)
    macs = forward * (bool(output_mask[0]) + bool(output_mask[1]))
    return Cost(macs, 2 * macs + (grad_output.numel() if output_mask[2] else 0))


@COSTS.cost(*aten_ops("_scaled_dot_product_flash_attention_for_cpu _scaled_dot_product_fused_attention_overrideable"))
def fused_attention(call: OpCall) -> Cost:
    """CPU/CUDA fused attention kernels the flop counter has no formula for, counted as the
    math path that the meta device takes: the two batched matmuls, the queries and keys each
    scaled by the square root of the scale, the mask added, the softmax."""
    query, key, value = call.args[:3]
    macs = sdpa_flop_count(query.shape, key.shape, value.shape) // 2
    scores = query.numel() // query.shape[-1] * key.shape[-2]
    masked = scores if _argument(call, "attn_mask") is not None or _argument(call, "is_causal") else 0
    return Cost(macs, 2 * macs + query.numel() + key.numel() + masked + 3 * scores)


@COSTS.cost(*aten_ops("_scaled_dot_product_flash_attention_for_cpu_backward "
                  "_scaled_dot_product_fused_attention_overrideable_backward"))
def fused_attention_backward(call: OpCall) -> Cost:
    """The gradients of the fused kernels above, by the flop counter's formula for attention's
    backward (recomputed scores and four batched matmuls)."""
    grad_output, query, key, value = call.args[:4]
    macs = sdpa_backward_flop_count(grad_output.shape, query.shape, key.shape, value.shape) // 2
    return Cost(macs, 2 * macs)


@COSTS.cost(*aten_ops("_native_multi_head_attention"))
def fused_multi_head_attention(call: OpCall) -> Cost:
    """nn.MultiheadAttention's fused inference kernel: q/k/v and output projections plus
    the two attention matmuls, as the unfused path counts them."""
    query, key, _value, embed_dim, heads = call.args[:5]
    batch, q_len, k_len = query.shape[0], query.shape[1], key.shape[1]
    projections = batch * (q_len + 2 * k_len) * embed_dim * embed_dim + batch * q_len * embed_dim * embed_dim
    attention = 2 * batch * q_len * k_len * embed_dim
    biases = batch * (q_len + 2 * k_len) * embed_dim + batch * q_len * embed_dim
    scores = batch * heads * q_len * k_len
    need_weights = _argument(call, "need_weights")
    # As the unfused path: with the weights returned, the queries are scaled by 1/sqrt(head
    # size); without, attention scales queries and keys each by its square root.
    scaling = batch * q_len * embed_dim if need_weights else batch * (q_len + k_len) * embed_dim
    masked = scores if _argument(call, "mask") is not None else 0
    averaged = scores if need_weights and _argument(call, "average_attn_weights") else 0
    macs = projections + attention
    return Cost(macs, 2 * macs + biases + scaling + masked + 3 * scores + averaged)


@COSTS.cost(*aten_ops("mkldnn_rnn_layer mkldnn_rnn_layer_backward"))
def recurrent_layer(call: OpCall) -> Cost:
    """One layer of an LSTM/GRU/RNN in oneDNN's CPU kernel: each time step of each sample
    multiplies its input by the input weights and the last hidden state by the hidden ones
    (the matmuls the meta device's decomposition counts); the backward takes both products'
    input and weight gradients, twice the forward."""
    input, input_weights, hidden_weights = call.args[:3]
    steps = input.numel() // input.shape[-1]
    macs = steps * (input_weights.numel() + hidden_weights.numel())
    if call.func.overloadpacket is aten.mkldnn_rnn_layer_backward:
        macs *= 2
    return Cost(macs, 2 * macs)


def _packet(op: Any) -> torch._ops.OpOverloadPacket | None:
    """The aten op a flop formula is registered for (torch 2.4 keys a formula registered after
    its own by each overload); None for a higher-order op (flex attention)."""
    if isinstance(op, torch._ops.OpOverload):
        return op.overloadpacket
    return op if isinstance(op, torch._ops.OpOverloadPacket) else None


# torch's formulas for every other op they cover. Ours were registered first and win: torch adds
# formulas in new releases (2.15: the CPU flash attention above, by the same count).
_BIAS_ARGUMENT = {aten.convolution: 2, aten._convolution: 2, aten.convolution_overrideable: 2,
                  aten._slow_conv2d_forward: 3}
_THEIRS = [(op, packet, formula) for op, formula in flop_registry.items()
           if (packet := _packet(op)) is not None and not COSTS.has_cost_rule(packet)]
for _op, _op_packet, _formula in _THEIRS:
    COSTS.cost(_op)(_torch_formula(_formula, _BIAS_ARGUMENT.get(_op_packet)))

OP_RULES = COSTS.extended(SHAPES).extended(FIELD_RULES)
"""The rules cnnstat counts with: the costs above, the shapes of ``cnnstat.analysis.meta_shapes`` and
the receptive fields of ``cnnstat.analysis.receptive_field``."""

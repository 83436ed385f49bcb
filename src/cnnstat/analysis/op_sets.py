"""Named sets of aten ops that more than one kind of rule reads (cost rules in
``cnnstat.analysis.rules``, receptive-field rules in ``cnnstat.analysis.receptive_field``)."""

from __future__ import annotations

import torch

aten = torch.ops.aten


def aten_ops(names: str) -> frozenset[torch._ops.OpOverloadPacket]:
    """The aten ops of these names that this torch has (an older torch lacks some, e.g.
    ``_safe_softmax``, new in 2.5: a rule for an op that never runs changes nothing)."""
    return frozenset(getattr(aten, name) for name in names.split() if hasattr(aten, name))


ONE_PER_OUTPUT = aten_ops("""
    add add_ sub sub_ rsub mul mul_ div div_ relu relu_ relu6 hardtanh hardtanh_ hardswish hardswish_
    hardsigmoid hardsigmoid_ sigmoid sigmoid_ tanh tanh_ silu silu_ gelu gelu_ leaky_relu leaky_relu_ elu
    elu_ celu selu mish softplus clamp clamp_ clamp_min clamp_min_ clamp_max neg exp log sqrt rsqrt pow abs
    where maximum minimum threshold threshold_ addcmul addcdiv reciprocal square erf lerp prelu
    _prelu_kernel glu native_dropout floor_divide remainder fmod sign sin cos
    threshold_backward hardtanh_backward sigmoid_backward silu_backward hardswish_backward
    hardsigmoid_backward leaky_relu_backward tanh_backward gelu_backward elu_backward softplus_backward
    mish_backward native_dropout_backward glu_backward _prelu_kernel_backward
""")
"""Elementwise arithmetic and its gradients: 1 FLOP per output element."""

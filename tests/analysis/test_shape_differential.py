"""Differential test of our shape rules (cnnstat.analysis.meta_shapes) against real CPU tensors:
hypothesis generates op configurations, valid and invalid (out-of-range dims, negative or
oversized padding, zero strides, mismatched channels or sizes), and each runs through the
rule, on meta tensors, and through torch on CPU tensors of the same shapes. Either both
raise, or both give the same shapes and dtypes. A rule may leave a case it does not cover
(a rank, a layout) to torch's meta kernel, as the static pass does; then that kernel is held
to the same test. 11 tests x 1,000 examples: 11,000 configurations. Batch norm is
held to torch's meta kernel only (test_meta_shapes.py): torch's CPU kernel crashes the
process on some invalid configurations instead of raising."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnstat.analysis.rules import OP_RULES

aten = torch.ops.aten
EXAMPLES = 1000
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@dataclass(frozen=True)
class T:
    """A tensor argument by shape, made on each device."""

    shape: tuple[int, ...]


def materialise(value, device):
    if isinstance(value, T):
        return torch.zeros(value.shape, device=device)
    if isinstance(value, (list, tuple)):
        return type(value)(materialise(item, device) for item in value)
    return value


def outcome(run):
    try:
        return run()
    except (RuntimeError, IndexError, ValueError, TypeError) as error:
        return error


def summary(value):
    values = value if isinstance(value, (tuple, list)) else [value]
    return [None if t is None else (tuple(t.shape), t.dtype) for t in values]


def differential(func, *spec):
    cpu_args, meta_args = materialise(spec, "cpu"), materialise(spec, "meta")
    expected = outcome(lambda: func(*cpu_args))
    rule = OP_RULES.lookup(func)[1]
    assert rule is not None, f"{func} has no shape rule"
    ours = outcome(lambda: rule(*meta_args))
    if ours is None:  # a case the rule leaves to torch's meta kernel, as the static pass does
        ours = outcome(lambda: func(*meta_args))
    if isinstance(expected, Exception):
        assert isinstance(ours, Exception), f"{func}{spec}: torch raises {expected!r}, we give {summary(ours)}"
        return
    assert not isinstance(ours, Exception), f"{func}{spec}: we raise {ours!r}, torch gives {summary(expected)}"
    assert summary(ours) == summary(expected), (func, spec)


small = st.integers(1, 6)
signed = st.integers(-2, 4)


def shapes(min_rank=0, max_rank=4, max_side=5):
    return st.lists(st.integers(1, max_side), min_size=min_rank, max_size=max_rank).map(tuple)


def per_axis(values, spatial):
    """A setting per spatial axis: one value for all, one per axis, or (invalid) another count."""
    return st.one_of(st.lists(values, min_size=1, max_size=1),
                     st.lists(values, min_size=spatial, max_size=spatial),
                     st.lists(values, min_size=0, max_size=spatial + 1))


@st.composite
def convolutions(draw):
    spatial = draw(st.integers(1, 3))
    transposed = draw(st.booleans())
    groups = draw(st.sampled_from([1, 1, 2, 3, 0]))
    width = max(groups, 1)
    in_channels = width * draw(st.integers(1, 3)) + draw(st.sampled_from([0, 0, 0, 0, 1]))
    out_channels = width * draw(st.integers(1, 3)) + draw(st.sampled_from([0, 0, 0, 0, 1]))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(spatial))
    if transposed:
        weight = (in_channels, out_channels // width, *kernel)
    else:
        weight = (out_channels, in_channels // width, *kernel)
    if 0 in weight[:2]:
        weight = (max(weight[0], 1), max(weight[1], 1), *kernel)
    rank_error = draw(st.sampled_from([0] * 9 + [1]))
    input_shape = (draw(small), in_channels, *(draw(st.integers(1, 7)) for _ in range(spatial + rank_error)))
    bias_size = draw(st.sampled_from([None, None, out_channels, out_channels + 1]))
    return (T(input_shape), T(weight), None if bias_size is None else T((bias_size,)),
            draw(per_axis(st.integers(0, 3), spatial)), draw(per_axis(st.integers(-1, 2), spatial)),
            draw(per_axis(st.integers(0, 3), spatial)), transposed, draw(per_axis(st.integers(-1, 3), spatial)),
            groups)


@SETTINGS
@given(convolutions())
def test_convolution(spec):
    differential(aten.convolution.default, *spec)


def windows(draw, with_dilation):
    rank = draw(st.sampled_from([4, 4, 4, 3]))
    shape = tuple(draw(st.integers(1, 8)) for _ in range(rank))
    kernel = draw(per_axis(st.integers(0, 4), 2))
    stride = draw(st.one_of(st.just([]), per_axis(st.integers(-1, 3), 2)))
    padding = draw(per_axis(st.integers(-1, 3), 2))
    dilation = draw(per_axis(st.integers(0, 3), 2)) if with_dilation else None
    return shape, kernel, stride, padding, dilation


@SETTINGS
@given(st.data())
def test_max_pool2d(data):
    shape, kernel, stride, padding, dilation = windows(data.draw, with_dilation=True)
    differential(aten.max_pool2d_with_indices.default, T(shape), kernel, stride, padding, dilation,
                 data.draw(st.booleans()))


@SETTINGS
@given(st.data())
def test_avg_pool2d(data):
    shape, kernel, stride, padding, _ = windows(data.draw, with_dilation=False)
    differential(aten.avg_pool2d.default, T(shape), kernel, stride, padding, data.draw(st.booleans()),
                 data.draw(st.booleans()), data.draw(st.sampled_from([None, None, 0, 2])))


@SETTINGS
@given(shapes(2, 5, 6), per_axis(st.integers(-1, 7), 2), st.booleans())
def test_adaptive_pools(shape, output_size, use_max):
    func = aten.adaptive_max_pool2d.default if use_max else aten._adaptive_avg_pool2d.default
    differential(func, T(shape), output_size)


@SETTINGS
@given(shapes(0, 4), st.lists(st.integers(-4, 4), max_size=9))
def test_constant_pad(shape, pad):
    differential(aten.constant_pad_nd.default, T(shape), pad, 0.0)


@SETTINGS
@given(shapes(0, 4), st.integers(-5, 5), st.booleans())
def test_softmax(shape, dim, log):
    differential(aten._log_softmax.default if log else aten._softmax.default, T(shape), dim, False)


@SETTINGS
@given(st.data())
def test_cat(data):
    base = data.draw(shapes(0, 4))
    parts = []
    for _ in range(data.draw(st.integers(1, 3))):
        shape = list(base)
        if shape and data.draw(st.booleans()):  # another size along one dim
            shape[data.draw(st.integers(0, len(shape) - 1))] = data.draw(st.integers(1, 4))
        if data.draw(st.sampled_from([False] * 9 + [True])):  # another rank, or a 1-d empty tensor
            shape = data.draw(st.sampled_from([[0], shape + [2], shape[1:]]))
        parts.append(T(tuple(shape)))
    differential(aten.cat.default, parts, data.draw(st.integers(-5, 5)))


@SETTINGS
@given(shapes(0, 4), st.lists(st.integers(-5, 5), max_size=4), st.booleans(), st.booleans())
def test_mean_and_sum_over_dims(shape, dims, keepdim, use_sum):
    differential(aten.sum.dim_IntList if use_sum else aten.mean.dim, T(shape), dims, keepdim)


@SETTINGS
@given(st.data())
def test_mm_and_addmm(data):
    m, k, n = data.draw(small), data.draw(small), data.draw(small)
    left = data.draw(st.sampled_from([(m, k), (m, k), (m, k + 1), (k,), (1, m, k)]))
    right = data.draw(st.sampled_from([(k, n), (k, n), (k + 1, n), (k, n, 1)]))
    if data.draw(st.booleans()):
        differential(aten.mm.default, T(left), T(right))
    else:
        bias = data.draw(st.sampled_from([(n,), (1, n), (m, n), (m, 1), (n + 1,), (2, m, n), ()]))
        differential(aten.addmm.default, T(bias), T(left), T(right))


def broadcast_partner(draw, shape):
    """A shape that broadcasts with ``shape`` (fewer dims, 1s), or now and then one that does not."""
    other = [draw(st.sampled_from([size, size, 1])) for size in shape[draw(st.integers(0, len(shape))):]]
    if other and draw(st.sampled_from([False] * 5 + [True])):
        other[draw(st.integers(0, len(other) - 1))] += 1
    if draw(st.sampled_from([False] * 9 + [True])):
        other = [2] + other  # more dims than ``shape``
    return tuple(other)


BINARY = [aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor]
IN_PLACE = [aten.add_.Tensor, aten.sub_.Tensor, aten.mul_.Tensor, aten.div_.Tensor]


@SETTINGS
@given(st.data())
def test_binary_ops(data):
    shape = data.draw(shapes(0, 4))
    other = data.draw(st.one_of(st.floats(-2, 2), st.integers(-3, 3), st.just(None)))
    func = data.draw(st.sampled_from(BINARY + IN_PLACE))
    right = T(broadcast_partner(data.draw, shape)) if other is None else other
    left = T(shape)
    if func in BINARY and data.draw(st.booleans()):
        left, right = right, left
        if not isinstance(left, T):
            return
    differential(func, left, right)


UNARY = ["relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "elu", "leaky_relu", "hardtanh"]


@SETTINGS
@given(shapes(0, 4), st.sampled_from(UNARY), st.booleans())
def test_activations(shape, name, in_place):
    differential(getattr(aten, name + ("_" if in_place else "")).default, T(shape))


def test_enough_configurations():
    differential_tests = [name for name, value in globals().items() if name.startswith("test_") and callable(value)
                          and name != "test_enough_configurations"]
    assert len(differential_tests) * EXAMPLES >= 10_000


pytestmark = pytest.mark.slow

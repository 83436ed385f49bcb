"""Our direct shape rules (cnnstat.analysis.meta_shapes) against torch's own meta kernels:
for every case a rule accepts, the outputs have torch's shapes, dtypes and memory layout; the
layouts CNNs use (contiguous, channels_last) must be accepted, so the fast path cannot
silently stop applying; where torch raises, the rule raises the same kind of error."""

import math
import subprocess
import sys

import pytest
import torch

from cnnstat.analysis.meta_shapes import meta_outputs
from cnnstat.analysis.rules import OP_RULES

aten = torch.ops.aten
META = "meta"
DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def layouts(shape, dtype=torch.float32):
    """Tensors of ``shape`` in the layouts a forward or backward hands an op."""
    found = {"contiguous": torch.empty(shape, dtype=dtype, device=META)}
    if len(shape) == 4:
        found["channels_last"] = torch.empty(shape, dtype=dtype, device=META).contiguous(memory_format=torch.channels_last)
    wide = torch.empty((*shape[:-1], 2 * shape[-1]), dtype=dtype, device=META)
    found["strided_slice"] = wide[..., ::2]
    found["channel_slice"] = torch.empty((shape[0], shape[1] + 3, *shape[2:]), dtype=dtype, device=META)[:, 3:]
    found["expanded"] = torch.empty((*shape[:-1], 1), dtype=dtype, device=META).expand(shape)
    if len(shape) >= 2 and shape[-1] != shape[-2]:
        found["transposed"] = torch.empty((*shape[:-2], shape[-1], shape[-2]), dtype=dtype, device=META).transpose(-1, -2)
    return found


def same_result(ours, theirs):
    """Same structure, shapes, dtypes, and strides over every dimension bigger than 1 (the
    stride of a size-1 dimension does not change where any element lies)."""
    ours_flat = list(ours) if isinstance(ours, (tuple, list)) else [ours]
    theirs_flat = list(theirs) if isinstance(theirs, (tuple, list)) else [theirs]
    assert len(ours_flat) == len(theirs_flat)
    for a, b in zip(ours_flat, theirs_flat):
        if b is None:
            assert a is None
            continue
        assert (a.shape, a.dtype, a.device) == (b.shape, b.dtype, b.device)
        assert [s for n, s in zip(a.shape, a.stride()) if n > 1] == [s for n, s in zip(b.shape, b.stride()) if n > 1]


def rule_and_torch(func, *args):
    """(our rule's outputs, torch's), or None for the pair when torch raises; then our rule
    must raise the same kind of error."""
    try:
        theirs = func(*args)
    except (RuntimeError, IndexError, ValueError) as error:
        with pytest.raises(type(error)):
            meta_outputs(func, args, {})
        return None
    return meta_outputs(func, args, {}), theirs


def check(func, *args, must_cover=False):
    ours = meta_outputs(func, args, {})
    if ours is None:
        assert not must_cover, f"{func} fell back to torch's kernel on a layout it must cover"
        return
    theirs = func(*args)
    same_result(ours, theirs)
    if func._schema.name.endswith("_") or func._schema.is_mutable:
        assert ours is args[0]


SHAPES = [(2, 3, 5, 7), (1, 8, 1, 1), (4, 6), (2, 4, 3, 5, 6)]
COVERED = ("contiguous", "channels_last")


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_forward_and_backward(shape, dtype, training, affine):
    channels = shape[1]
    statistics = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    weight = torch.empty(channels, dtype=statistics, device=META) if affine else None
    running = [torch.empty(channels, dtype=statistics, device=META) for _ in range(2)]
    one_value_per_channel = training and math.prod(shape) == channels  # torch raises; so must we
    for name, x in layouts(shape, dtype).items():
        check(aten.native_batch_norm.default, x, weight, weight, *running, training, 0.1, 1e-5,
              must_cover=name in COVERED and not one_value_per_channel)
        save = [torch.empty(channels, dtype=statistics, device=META) for _ in range(2)]
        for grad_name, grad in layouts(shape, dtype).items():
            for mask in ([True, True, True], [True, False, False]):
                check(aten.native_batch_norm_backward.default, grad, x, weight, *running, *save, training, 1e-5, mask,
                      must_cover=name == grad_name and name in COVERED)


def test_batch_norm_in_training_without_running_statistics():
    x = torch.empty(2, 3, 4, 4, device=META)
    check(aten.native_batch_norm.default, x, None, None, None, None, True, 0.1, 1e-5, must_cover=True)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_elementwise_binary_and_scalar(shape, dtype):
    for a_name, a in layouts(shape, dtype).items():
        for b_name, b in layouts(shape, dtype).items():
            for func in (aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor):
                check(func, a, b, must_cover=a_name == b_name and a_name in COVERED)
        for func, scalar in ((aten.mul.Scalar, 0.5), (aten.div.Scalar, 49), (aten.mul.Scalar, 2)):
            check(func, a, scalar, must_cover=a_name in COVERED)


@pytest.mark.parametrize("small_shape", [(2, 3, 1, 1), (1, 3, 5, 7), (3, 1, 1), (1, 1, 5, 1), (7,), (2, 1, 5, 7)], ids=str)
def test_broadcast_products(small_shape):
    """A gate or a bias broadcast onto a feature map, in either order, in either layout."""
    small = torch.empty(small_shape, device=META)
    for name, full in layouts((2, 3, 5, 7)).items():
        for func in (aten.mul.Tensor, aten.add.Tensor):
            check(func, full, small, must_cover=small_shape == (2, 3, 1, 1) and name in COVERED)
            check(func, small, full, must_cover=small_shape == (2, 3, 1, 1) and name in COVERED)


ACTIVATIONS = [name.removesuffix("_") for name in ("relu", "hardtanh", "sigmoid", "silu", "hardswish",
                                                    "hardsigmoid", "leaky_relu", "elu", "tanh")]


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_activations(name, dtype):
    for shape in SHAPES:
        for layout, x in layouts(shape, dtype).items():
            check(getattr(aten, name).default, x, must_cover=layout in COVERED)
            check(getattr(aten, name + "_").default, x, must_cover=layout in COVERED)


BACKWARDS = [
    (aten.threshold_backward.default, (0,)),
    (aten.hardtanh_backward.default, (0.0, 6.0)),
    (aten.sigmoid_backward.default, ()),
    (aten.tanh_backward.default, ()),
    (aten.silu_backward.default, ()),
    (aten.hardswish_backward.default, ()),
    (aten.hardsigmoid_backward.default, ()),
    (aten.leaky_relu_backward.default, (0.01, False)),
]


@pytest.mark.parametrize(("func", "scalars"), BACKWARDS, ids=lambda value: str(value))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_activation_backwards(func, scalars, dtype):
    for shape in SHAPES:
        for g_name, grad in layouts(shape, dtype).items():
            for s_name, saved in layouts(shape, dtype).items():
                check(func, grad, saved, *scalars, must_cover=g_name == s_name and g_name in COVERED)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("func", [aten.mean.dim, aten.sum.dim_IntList], ids=str)
def test_reductions_over_dims(shape, func):
    for layout, x in layouts(shape).items():
        for dims in ([-1], [-1, -2], [0], [1], []):
            for keepdim in (True, False):
                check(func, x, dims, keepdim, must_cover=True)


@pytest.mark.parametrize("func", [aten.ones_like.default, aten.zeros_like.default, aten.empty_like.default], ids=str)
def test_filled_like_as_autograd_seeds_it(func):
    for shape in [(), *SHAPES]:
        for layout, x in (layouts(shape) if shape else {"scalar": torch.empty((), device=META)}).items():
            ours = meta_outputs(func, (x,), {"memory_format": torch.preserve_format})
            assert ours is not None or layout not in (*COVERED, "scalar")
            if ours is not None:
                same_result(ours, func(x, memory_format=torch.preserve_format))
    x = torch.empty(2, 3, device=META)
    assert meta_outputs(func, (x,), {"dtype": torch.float16}) is None


CONVOLUTIONS = [
    # input, weight, stride, padding, dilation, transposed, output_padding, groups
    ((2, 3, 17, 23), (8, 3, 3, 3), [1, 1], [1, 1], [1, 1], False, [0, 0], 1),
    ((2, 3, 17, 23), (8, 3, 7, 7), [2, 2], [3, 3], [1, 1], False, [0, 0], 1),
    ((1, 16, 9, 9), (16, 1, 3, 3), [2, 2], [1, 1], [1, 1], False, [0, 0], 16),
    ((2, 8, 12, 10), (12, 2, 3, 5), [1, 2], [2, 0], [2, 1], False, [0, 0], 4),
    ((2, 4, 11), (6, 4, 3), [2], [1], [1], False, [0], 1),
    ((2, 4, 5, 6, 7), (6, 4, 3, 3, 3), [1, 2, 1], [1, 1, 1], [1, 1, 1], False, [0, 0, 0], 1),
    ((2, 8, 7, 7), (8, 4, 4, 4), [2, 2], [1, 1], [1, 1], True, [0, 0], 2),
    ((2, 8, 7, 7), (8, 3, 3, 3), [2, 2], [1, 1], [1, 1], True, [1, 1], 1),
    ((2, 3, 2, 2), (8, 3, 5, 5), [1, 1], [0, 0], [1, 1], False, [0, 0], 1),  # kernel bigger than the input
    ((2, 4, 9, 9), (8, 3, 3, 3), [1, 1], [1, 1], [1, 1], False, [0, 0], 1),  # wrong channel count
]


@pytest.mark.parametrize("case", CONVOLUTIONS, ids=str)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_convolution_forward_and_backward(case, bias):
    input_shape, weight_shape, stride, padding, dilation, transposed, output_padding, groups = case
    x, weight = torch.empty(input_shape, device=META), torch.empty(weight_shape, device=META)
    channels = weight_shape[1] * groups if transposed else weight_shape[0]
    b = torch.empty(channels, device=META) if bias else None
    conv = (stride, padding, dilation, transposed, output_padding, groups)
    pair = rule_and_torch(aten.convolution.default, x, weight, b, *conv)
    if pair is None:
        return
    ours, theirs = pair
    same_result(ours, theirs)
    for mask in ([True, True, bias], [True, False, False], [False, True, False]):
        check(aten.convolution_backward.default, torch.empty(theirs.shape, device=META), x, weight,
              [channels] if bias else None, *conv, mask, must_cover=True)
    channels_last = x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
    check(aten.convolution.default, channels_last, weight, b, *conv, must_cover=channels_last is x)
    # A channel slice (ShuffleNet's split) in, a contiguous output out.
    wider = torch.empty(input_shape[0], input_shape[1] * 2, *input_shape[2:], device=META)
    check(aten.convolution.default, wider[:, input_shape[1]:], weight, b, *conv, must_cover=True)
    check(aten.convolution_backward.default, torch.empty(theirs.shape, device=META), wider[:, input_shape[1]:],
          weight, [channels] if bias else None, *conv, [True, True, bias], must_cover=True)


POOLS = [  # kernel, stride, padding, dilation, ceil_mode
    ([3, 3], [2, 2], [1, 1], [1, 1], False), ([2, 2], [2, 2], [0, 0], [1, 1], False), ([3, 3], [2, 2], [0, 0], [1, 1], True),
    ([3, 3], [], [1, 1], [1, 1], True), ([3, 2], [1, 2], [1, 0], [2, 1], False), ([5, 5], [2, 2], [3, 3], [1, 1], False),
    ([8, 8], [1, 1], [0, 0], [1, 1], False),
]


@pytest.mark.parametrize("pool", POOLS, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 17, 23), (1, 4, 7, 7), (2, 3, 8, 8)], ids=str)
def test_max_pool2d_forward_and_backward(pool, shape):
    x = torch.empty(shape, device=META)
    pair = rule_and_torch(aten.max_pool2d_with_indices.default, x, *pool)
    if pair is None:
        return
    ours, (out, indices) = pair
    same_result(ours, (out, indices))
    check(aten.max_pool2d_with_indices_backward.default, torch.empty(out.shape, device=META), x, *pool, indices,
          must_cover=True)


@pytest.mark.parametrize("pool", POOLS, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_forward_and_backward(pool, count_include_pad):
    kernel, stride, padding, _dilation, ceil_mode = pool
    x = torch.empty(2, 3, 17, 23, device=META)
    settings = (kernel, stride, padding, ceil_mode, count_include_pad, None)
    pair = rule_and_torch(aten.avg_pool2d.default, x, *settings)
    if pair is None:
        return
    ours, out = pair
    same_result(ours, out)
    check(aten.avg_pool2d_backward.default, torch.empty(out.shape, device=META), x, *settings, must_cover=True)


@pytest.mark.parametrize("output_size", [[1, 1], [7, 7], [3, 5], [12, 12]], ids=str)
def test_adaptive_pool2d_forward_and_backward(output_size):
    for layout, x in layouts((2, 8, 9, 11)).items():
        check(aten._adaptive_avg_pool2d.default, x, output_size, must_cover=layout == "contiguous")
        check(aten.adaptive_max_pool2d.default, x, output_size, must_cover=layout == "contiguous")
    x = torch.empty(2, 8, 9, 11, device=META)
    grad = torch.empty(2, 8, *output_size, device=META)
    check(aten._adaptive_avg_pool2d_backward.default, grad, x, must_cover=True)
    indices = aten.adaptive_max_pool2d.default(x, output_size)[1]
    check(aten.adaptive_max_pool2d_backward.default, grad, x, indices, must_cover=True)


@pytest.mark.parametrize("pad", [[1, 1], [0, 0, 0, 0, 16, 16], [2, 3, 1, 0], [-1, -1, 1, 1], [-4, -4], [1] * 3])
def test_constant_pad(pad):
    for layout, x in layouts((2, 4, 5, 6)).items():
        pair = rule_and_torch(aten.constant_pad_nd.default, x, pad, 0.0)
        if pair is None:
            continue
        ours, theirs = pair
        assert ours is not None or layout != "contiguous"
        if ours is not None:
            same_result(ours, theirs)


@pytest.mark.parametrize("func", [aten._softmax.default, aten._log_softmax.default], ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_softmax_forward_and_backward(func, dtype):
    backward = aten._softmax_backward_data.default if func == aten._softmax.default \
        else aten._log_softmax_backward_data.default
    for shape in SHAPES:
        for layout, x in layouts(shape, dtype).items():
            check(func, x, -1, False, must_cover=layout == "contiguous")
            out = func(x, -1, False)
            check(backward, torch.empty_strided(out.shape, out.stride(), dtype=dtype, device=META), out, -1, dtype,
                  must_cover=out.is_contiguous())
            expanded = torch.empty((), dtype=dtype, device=META).expand(out.shape)  # the gradient of a sum
            check(backward, expanded, out, -1, dtype, must_cover=out.is_contiguous())


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_arithmetic_with_a_number_and_in_place(dtype):
    for shape in SHAPES:
        for layout, x in layouts(shape, dtype).items():
            for func in (aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor):
                check(func, x, 0.5, must_cover=layout in COVERED)
                check(func, x, x, must_cover=layout in COVERED)
    for shape in SHAPES:
        for layout, x in layouts(shape, dtype).items():
            check(aten.rsub.Scalar, x, 1, must_cover=layout in COVERED)
            for func in (aten.mul_.Scalar, aten.div_.Scalar):  # dropout's scaling
                check(func, torch.empty(shape, dtype=dtype, device=META), 0.8, must_cover=True)
    for func in (aten.add_.Tensor, aten.sub_.Tensor, aten.mul_.Tensor, aten.div_.Tensor):
        for other in (0.975, 2, torch.empty(2, 3, 1, 1, dtype=dtype, device=META),
                      torch.empty(7, dtype=dtype, device=META), torch.empty(2, 3, 5, 7, dtype=dtype, device=META)):
            check(func, torch.empty(2, 3, 5, 7, dtype=dtype, device=META), other, must_cover=True)
        wider = torch.empty(4, 3, 5, 7, dtype=dtype, device=META)
        assert meta_outputs(func, (torch.empty(1, 3, 5, 7, dtype=dtype, device=META), wider), {}) is None


@pytest.mark.parametrize("dim, start, end, step", [(3, 0, 2**63 - 1, 2), (1, 1, 5, 1), (0, 0, 1, 1), (2, -3, 8, 3)])
def test_slice_backward(dim, start, end, step):
    x = torch.empty(2, 6, 8, 16, device=META)
    grad = torch.empty(x[(slice(None),) * dim + (slice(start, end, step),)].shape, device=META)
    check(aten.slice_backward.default, grad, list(x.shape), dim, start, end, step, must_cover=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_addmm_and_mm(dtype):
    x, weight, bias = (torch.empty(shape, dtype=dtype, device=META) for shape in ((5, 7), (3, 7), (3,)))
    check(aten.addmm.default, bias, x, weight.t(), must_cover=True)
    check(aten.addmm.default, bias, x.t().contiguous().t(), weight.t(), must_cover=True)
    check(aten.mm.default, x, weight.t(), must_cover=True)
    assert rule_and_torch(aten.mm.default, weight.t(), x) is None  # 7 != 3: torch raises, and so do we
    for wrong in ((bias, x, weight), (torch.empty(4, dtype=dtype, device=META), x, weight.t())):  # inner or bias size
        assert rule_and_torch(aten.addmm.default, *wrong) is None


@pytest.mark.parametrize("dim", [0, 1, -1, 3])
def test_cat(dim):
    shapes = [(2, 3, 5, 7), (2, 3, 5, 7)]
    for name in ("contiguous", "channels_last", "strided_slice", "channel_slice", "transposed"):
        parts = [layouts(shape)[name] for shape in shapes]
        check(aten.cat.default, parts, dim, must_cover=name in COVERED)
    mixed = [layouts(shapes[0])["contiguous"], layouts(shapes[1])["channels_last"]]
    check(aten.cat.default, mixed, dim)
    check(aten.cat.default, [torch.empty(2, 3, device=META), torch.empty(2, 5, device=META)], 1, must_cover=True)


def test_every_rule_is_exercised():
    exercised = {aten.native_batch_norm.default, aten.native_batch_norm_backward.default, aten.add.Tensor,
                 aten.sub.Tensor, aten.mul.Tensor, aten.mul.Scalar, aten.div.Scalar, aten.mean.dim,
                 aten.sum.dim_IntList, aten.addmm.default, aten.mm.default, aten.cat.default,
                 aten.ones_like.default, aten.zeros_like.default, aten.convolution.default,
                 aten.convolution_backward.default, aten.max_pool2d_with_indices.default,
                 aten.max_pool2d_with_indices_backward.default, aten.empty_like.default, aten.avg_pool2d.default,
                 aten.avg_pool2d_backward.default, aten._adaptive_avg_pool2d.default,
                 aten._adaptive_avg_pool2d_backward.default, aten.constant_pad_nd.default, aten._softmax.default,
                 aten._log_softmax.default, aten._softmax_backward_data.default,
                 aten._log_softmax_backward_data.default, aten.div.Tensor, aten.add_.Tensor, aten.sub_.Tensor,
                 aten.mul_.Tensor, aten.div_.Tensor, aten.mul_.Scalar, aten.div_.Scalar, aten.rsub.Scalar,
                 aten.slice_backward.default, aten.adaptive_max_pool2d.default,
                 aten.adaptive_max_pool2d_backward.default}
    exercised |= {getattr(aten, name).default for name in ACTIVATIONS}
    exercised |= {getattr(aten, name + "_").default for name in ACTIVATIONS}
    exercised |= {func for func, _ in BACKWARDS}
    assert set(OP_RULES.shape_ops()) == exercised


def test_resnet50_static_pass_runs_no_python_meta_kernel():
    """The static pass of a ReLU/BN/conv net, forward and backward, runs none of torch's Python
    meta kernels, so it never imports torch._dynamo or sympy (1.8 s of a `cnnstat summary`).
    Nor does building the model on meta, except in torch 2.4, whose ``torch.zeros`` under a
    meta device context goes through ``torch._refs``, which imports sympy."""
    code = ("import sys, cnnstat; from cnnstat.analysis.build import load_on; "
            "heavy = lambda: sorted(m for m in ('torch._dynamo', 'sympy') if m in sys.modules); "
            "model = load_on('resnet50').module; built = heavy(); "
            "cnnstat.profile(model, (3, 224, 224), batch=2); print(built, heavy())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    built = "['sympy']" if torch.__version__.startswith("2.4.") else "[]"
    assert result.stdout.strip() == f"{built} {built}"

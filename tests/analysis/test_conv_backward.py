"""Backward MACs of convolutions: our rule against closed forms and against the real CPU
autograd graph of the same convolution written as patches times weights (whose matmuls
torch's flop counter counts exactly), for every variant: groups, depthwise, dilation,
stride, padding, transposed, 1-D/2-D/3-D, with and without an input gradient."""

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

import cnnstat
from cnnstat.analysis.registry import OpCall
from cnnstat.analysis.rules import convolution_backward

aten = torch.ops.aten

# channels in, channels out, kernel, stride, padding, dilation, groups, input spatial size
CONVS = [
    (4, 6, (3,), (1,), (1,), (1,), 1, (11,)),
    (8, 8, (5,), (2,), (2,), (1,), 8, (13,)),
    (6, 9, (3, 3), (1, 1), (1, 1), (1, 1), 3, (9, 7)),
    (16, 16, (3, 3), (2, 2), (1, 1), (1, 1), 16, (10, 10)),
    (8, 12, (3, 2), (2, 1), (0, 1), (2, 1), 4, (11, 8)),
    (4, 4, (2, 3, 3), (1, 2, 1), (0, 1, 1), (1, 1, 2), 2, (5, 6, 7)),
    (3, 5, (1, 1), (1, 1), (0, 0), (1, 1), 1, (4, 4)),
]


def _patches(x, kernel, stride, padding, dilation):
    """im2col for any number of spatial dims: (N, C, *out, *kernel)."""
    x = F.pad(x, [p for pad in reversed(padding) for p in (pad, pad)])
    for dim, (k, s, d) in enumerate(zip(kernel, stride, dilation)):
        x = x.unfold(2 + dim, d * (k - 1) + 1, s)[..., ::d]
    return x


def conv_as_matmul(x, weight, stride, padding, dilation, groups):
    """The convolution as one batched matmul per group: patches (N*out, C/g*k) x weight."""
    kernel = weight.shape[2:]
    patches = _patches(x, kernel, stride, padding, dilation)
    n, c = patches.shape[:2]
    out_sizes = patches.shape[2:2 + len(kernel)]
    positions, taps = math.prod(out_sizes), math.prod(kernel)
    # (N, g, C/g, *out, *k) -> (g, N*out, C/g*k)
    grouped = patches.reshape(n, groups, c // groups, positions, taps).permute(1, 0, 3, 2, 4)
    grouped = grouped.reshape(groups, n * positions, c // groups * taps)
    w = weight.reshape(groups, weight.shape[0] // groups, c // groups * taps).transpose(1, 2)
    out = torch.bmm(grouped, w)  # (g, N*out, Cout/g)
    return out.reshape(groups, n, positions, -1).permute(1, 0, 3, 2).reshape(n, weight.shape[0], *out_sizes)


def real_backward_macs(x, weight, conv):
    """MACs of the real CPU autograd backward of the matmul form, as torch's flop counter
    counts its bmm gradients."""
    with FlopCounterMode(display=False) as counter:
        out = conv_as_matmul(x, weight, *conv)
        forward = counter.get_total_flops()
        out.sum().backward()
    return (counter.get_total_flops() - forward) // 2


@pytest.mark.parametrize("case", CONVS, ids=str)
@pytest.mark.parametrize("input_grad", [True, False], ids=["input_grad", "weight_grad_only"])
def test_backward_macs_equal_the_real_autograd_graph_and_the_closed_form(case, input_grad):
    cin, cout, kernel, stride, padding, dilation, groups, size = case
    torch.manual_seed(0)
    x = torch.randn(2, cin, *size, dtype=torch.float64, requires_grad=input_grad)
    weight = torch.randn(cout, cin // groups, *kernel, dtype=torch.float64, requires_grad=True)
    conv = (stride, padding, dilation, groups)
    functional = (F.conv1d, F.conv2d, F.conv3d)[len(kernel) - 1]

    # The matmul form is the same convolution: same output and gradients as torch's kernel.
    reference = functional(x, weight, None, stride, padding, dilation, groups)
    ours_out = conv_as_matmul(x, weight, *conv)
    torch.testing.assert_close(ours_out, reference)
    grads = torch.autograd.grad(reference.sum(), [t for t in (x, weight) if t.requires_grad])
    mine = torch.autograd.grad(ours_out.sum(), [t for t in (x, weight) if t.requires_grad])
    for a, b in zip(grads, mine):
        torch.testing.assert_close(a, b)

    real = real_backward_macs(x.detach().requires_grad_(input_grad), weight.detach().requires_grad_(), conv)
    positions = math.prod(reference.shape[2:])
    closed_form = 2 * positions * cout * (cin // groups) * math.prod(kernel) * (1 + input_grad)
    assert real == closed_form

    model = nn.Sequential((nn.Conv1d, nn.Conv2d, nn.Conv3d)[len(kernel) - 1](
        cin, cout, kernel, stride, padding, dilation, groups, bias=False))
    for device in ("meta", "cpu"):
        report = cnnstat.profile(model, inputs=torch.randn(2, cin, *size), mode="train", device=device)
        # The model's input needs no gradient: the first convolution computes only its weight's.
        assert report.totals.backward_macs == report.layers[1].backward_macs == closed_form // (1 + input_grad)
        assert report.layers[1].counted.backward_ops["aten.convolution_backward"].macs == closed_form // (1 + input_grad)
    cost = _rule(x, weight, reference, conv, transposed=False, mask=[input_grad, True, False])
    assert cost.macs == real


def _rule(x, weight, grad_output, conv, transposed, mask):
    stride, padding, dilation, groups = conv
    args = (grad_output, x, weight, None, list(stride), list(padding), list(dilation), transposed,
            [0] * len(stride), groups, mask)
    return convolution_backward(OpCall(aten.convolution_backward.default, args, {}, None, True))


# in channels, out channels, kernel, stride, padding, output padding, dilation, groups, input size
TRANSPOSED = [
    (8, 4, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 2, (5, 6)),
    (6, 6, (3,), (2,), (1,), (1,), (1,), 6, (7,)),
    (4, 2, (3, 3, 3), (2, 1, 2), (1, 0, 1), (1, 0, 0), (1, 1, 1), 1, (3, 4, 3)),
    (4, 6, (3, 3), (1, 1), (0, 0), (0, 0), (2, 2), 2, (5, 5)),
]


@pytest.mark.parametrize("case", TRANSPOSED, ids=str)
def test_transposed_backward_is_the_adjoint_convolutions(case):
    """A transposed convolution's input gradient is the ordinary convolution of its output's
    gradient, and its weight gradient pairs every input position with every weight element:
    each the forward's MACs (input positions x weight elements per sample)."""
    cin, cout, kernel, stride, padding, output_padding, dilation, groups, size = case
    conv_type = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[len(kernel) - 1]
    model = nn.Sequential(nn.Identity(), conv_type(cin, cout, kernel, stride, padding, output_padding, groups,
                                                   bias=True, dilation=dilation))
    x = torch.randn(3, cin, *size)
    forward = 3 * math.prod(size) * cin * (cout // groups) * math.prod(kernel)
    report = cnnstat.profile(model, inputs=x, mode="train", device="cpu")
    assert report.totals.macs == forward
    assert report.totals.backward_macs == forward  # weight gradient only: the input needs none
    # With an input gradient, the input-gradient convolution is the forward convolution's adjoint.
    output = model(x)
    weight = model[1].weight
    regular = F.conv_transpose1d if len(kernel) == 1 else F.conv_transpose2d if len(kernel) == 2 else F.conv_transpose3d
    assert output.shape == regular(x, weight, model[1].bias, stride, padding, output_padding, groups, dilation).shape
    cost = _rule(x, weight.detach(), output.detach(), (stride, padding, dilation, groups), transposed=True,
                 mask=[True, True, True])
    assert cost.macs == 2 * forward
    assert cost.flops == 4 * forward + output.numel()


def test_depthwise_backward_is_not_groups_times_too_high():
    """torch's flop counter counts the weight gradient of a depthwise convolution 256x too high."""
    conv = nn.Conv2d(256, 256, 3, padding=1, groups=256, bias=False)
    report = cnnstat.profile(nn.Sequential(nn.ReLU(), conv), input_size=(256, 14, 14), mode="train")
    weight_grad = 14 * 14 * 256 * 9
    assert report.totals.macs == weight_grad
    assert report.totals.backward_macs == weight_grad  # the ReLU's input needs no gradient
    with FlopCounterMode(display=False) as counter:
        x = torch.randn(1, 256, 14, 14)
        conv(x).sum().backward()
    assert counter.get_total_flops() // 2 - weight_grad == 256 * weight_grad  # torch's count, for the record


def test_mobilenet_training_backward_is_about_twice_its_forward():
    report = cnnstat.profile("mobilenet_v1", mode="train")
    first_conv = report.layers[3]
    assert first_conv.type == "Conv2d"
    # Every layer but the first computes input and weight gradients: backward = 2 x forward less
    # the first convolution's input gradient.
    assert report.totals.backward_macs == 2 * report.totals.macs - first_conv.macs
    assert sum(layer.counted.own_backward_macs for layer in report.layers) == report.totals.backward_macs


def test_train_rows_carry_backward_macs():
    report = cnnstat.profile("mobilenet_v1", mode="train")
    frame = report.to_frame()
    assert list(frame["backward_macs"]) == [layer.backward_macs for layer in report.layers]
    assert [row["backward_macs"] for row in report.to_dict()["layers"]] == list(frame["backward_macs"])
    assert "backward_macs" not in cnnstat.profile("mobilenet_v1").to_frame().columns

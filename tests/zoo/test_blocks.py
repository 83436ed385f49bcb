"""The seed articles' design comparisons (shared/reference/studies.md), rebuilt from the real
block modules through the zoo, counted the way the articles count: conv weights (the conv
blocks have no bias and no BatchNorm, so there that is every parameter)."""

import pytest
import torch
from torch import nn

from cnnstat.zoo import create_model, get_entry, list_models


def conv_weights(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def output_shape(name: str, **options) -> tuple[int, ...]:
    entry = get_entry(name)
    cin = options.get("cin", entry.input_size[0])
    with torch.device("meta"):
        return tuple(create_model(name, **options)(torch.empty(1, cin, *entry.input_size[1:])).shape[1:])


@pytest.mark.parametrize("name", list_models(family="block"))
def test_block_forward_keeps_batch(name):
    entry = get_entry(name)
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *entry.input_size))
    assert out.shape[0] == 2 and torch.isfinite(out).all()


def test_7x7_vs_three_3x3():
    single, stack = create_model("block/conv"), create_model("block/conv3x3_stack")
    assert params(single) == 7 * 7 * 16 * 32 == 25_088
    # 16 -> 32, then 32 -> 32 twice. Seed 002 states 13,824, which is its first conv counted
    # three times; the real stack is 23,040, still below the 7x7.
    assert params(stack) == 3 * 3 * (16 * 32 + 2 * 32 * 32) == 23_040
    first = next(m for m in stack.modules() if isinstance(m, nn.Conv2d))
    assert 3 * first.weight.numel() == 13_824
    assert output_shape("block/conv") == output_shape("block/conv3x3_stack") == (32, 26, 26)
    assert sum(isinstance(m, nn.ReLU) for m in stack) == 2  # between the convs, none after the last


def test_stack_at_equal_channels_is_the_vgg_papers_27_vs_49():
    single = create_model("block/conv", cin=32)
    stack = create_model("block/conv3x3_stack", cin=32)
    assert (params(stack), params(single)) == (27 * 32 * 32, 49 * 32 * 32)


def test_standard_vs_depthwise_separable():
    standard, separable = create_model("block/conv_standard"), create_model("block/depthwise_separable")
    assert params(standard) == 270
    assert (separable.depthwise.weight.numel(), separable.pointwise.weight.numel()) == (27, 30)
    assert params(separable) == 57
    assert output_shape("block/conv_standard") == output_shape("block/depthwise_separable") == (10, 32, 32)


def test_5x5_vs_naive_vs_reduced_inception():
    assert params(create_model("block/conv5x5")) == 460_800
    assert params(create_model("block/inception_naive")) == 161_280
    assert params(create_model("block/inception_reduced")) == 28_416
    assert output_shape("block/conv5x5") == output_shape("block/inception_reduced") == (96, 28, 28)
    assert output_shape("block/inception_naive") == (192 + 3 * 24, 28, 28)  # the pool branch keeps 192


def test_bottleneck_conv_weights():
    block = create_model("block/resnet_bottleneck")
    assert conv_weights(block) == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69_632
    assert params(block) == get_entry("block/resnet_bottleneck").num_params  # + BatchNorms
    assert output_shape("block/resnet_bottleneck") == (256, 56, 56)


# Seed 001's table: the width d per group that keeps C groups at the plain bottleneck's weights.
@pytest.mark.parametrize("C, d", [(1, 64), (2, 40), (4, 24), (8, 14), (16, 8), (32, 4), (64, 2)])
def test_resnext_equal_params_table(C, d):  # noqa: N803
    def weights(width: int) -> int:
        return conv_weights(create_model("block/resnext_bottleneck", C=C, d=width))

    # Each group's 1x1 in (256 d), 3x3 (9 d^2) and 1x1 out (256 d), as the article counts.
    assert weights(d) == C * (256 * d + 9 * d * d + d * 256)
    # The table's d is the integer width closest to the plain bottleneck (within 8%).
    assert min(range(1, 80), key=lambda w: abs(weights(w) - 69_632)) == d
    assert weights(d) == pytest.approx(69_632, rel=0.08)
    assert output_shape("block/resnext_bottleneck", C=C, d=d) == (256, 56, 56)


def test_resnext_32x4d_defaults():
    block = create_model("block/resnext_bottleneck")
    assert block.conv2.groups == 32 and block.conv2.in_channels == 128
    assert conv_weights(block) == 70_144


def test_resnet_basic():
    block = create_model("block/resnet_basic")
    assert conv_weights(block) == 2 * 9 * 64 * 64
    assert block.downsample is None
    strided = create_model("block/resnet_basic", cout=128, stride=2)
    assert strided.downsample is not None  # projection shortcut where the identity cannot fit
    assert output_shape("block/resnet_basic", cout=128, stride=2) == (128, 28, 28)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_kernel_option_follows_closed_form(k):
    assert params(create_model("block/conv", k=k)) == k * k * 16 * 32
    assert output_shape("block/conv", k=k) == (32, 33 - k, 33 - k)
    assert params(create_model("block/conv3x3_stack", k=k)) == k * k * (16 * 32 + 2 * 32 * 32)
    assert params(create_model("block/depthwise_separable", k=k)) == k * k * 3 + 3 * 10


def test_channel_bias_group_options():
    assert params(create_model("block/conv", cin=8, cout=4, bias=True)) == 7 * 7 * 8 * 4 + 4
    assert params(create_model("block/conv", groups=4)) == 7 * 7 * 16 * 32 // 4
    assert output_shape("block/conv", stride=2, padding=3) == (32, 16, 16)
    assert params(create_model("block/inception_reduced", pp=0)) == 28_416 - 192 * 24


def test_in_channels_is_an_alias_for_cin_and_num_classes_is_ignored():
    by_alias = create_model("block/conv", in_channels=8, num_classes=5)
    assert params(by_alias) == params(create_model("block/conv", cin=8)) == 7 * 7 * 8 * 32
    # in_channels wins over cin when both are given.
    assert params(create_model("block/conv", cin=4, in_channels=8)) == 7 * 7 * 8 * 32

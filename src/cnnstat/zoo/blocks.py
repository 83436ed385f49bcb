"""Building blocks as zoo entries (family ``block``, names ``block/...``), so the design
comparisons of the articles the studies name (``cnnstat.analysis.studies``) are rebuilt from real
modules: one 7x7 conv vs three 3x3 convs, standard vs depthwise-separable conv, a 5x5 conv vs
naive vs reduced Inception, ResNet basic vs bottleneck vs ResNeXt bottleneck.

A block maps a feature map to a feature map. Its constructor parameters are keyword options,
settable from the CLI (``--set k=7,cin=16,cout=32``):

=========  ============================================================================
``cin``    input channels; ``in_channels`` is an alias that wins when given, so the
           option every model takes works here too
``cout``   output channels
``k``      kernel size
``n``      number of stacked convs (``block/conv``)
``stride``, ``padding``, ``bias``, ``groups``
           as in ``nn.Conv2d``; ``padding=None`` means ``k // 2`` ("same" at stride 1)
``c1``, ``c3``, ``c5``
           Inception branch widths (1x1, 3x3, 5x5)
``r3``, ``r5``, ``pp``
           Inception 1x1 reductions before the 3x3 and 5x5, and the 1x1 after the pool
           (0: none, the naive module)
``width``  ResNet bottleneck width: the 1x1 reduce of the plain bottleneck; out ``4 * width``
``C``      ResNeXt cardinality: groups of the 3x3 conv
``d``      ResNeXt width per group at ``width=64`` (torchvision's ``width_per_group``:
           the 3x3 has ``int(width * d / 64) * C`` channels)
=========  ============================================================================

``num_classes`` is accepted, for the registry's uniform call, and ignored: a block has no
classifier.

Counting: the articles count conv weights only, no bias and no BatchNorm. The conv
comparisons have neither (``bias=False`` by default), so their registered counts are the
articles' figures; the residual blocks keep their BatchNorms (they are the networks' real
blocks, reused from ``resnet.py``), so their registered counts are larger and the article's
figures are their conv weights (bottleneck 69,632 of 70,400; ResNeXt 32x4d 70,144 of 71,168).
One article figure is not reproducible: "代表的なモデル" gives three stacked 3x3 convs 16 -> 32 as
3x3x16x32 x 3 = 13,824, counting every conv as 16 -> 32; the second and third take 32
channels, so the stack has 4,608 + 2 x 9,216 = 23,040 weights (still fewer than the 7x7's 25,088).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnstat.zoo.resnet import BasicBlock, Bottleneck

# ---------------------------------------------------------------------------------- blocks


def _padding(k: int, padding: int | None) -> int:
    return k // 2 if padding is None else padding


class ConvStack(nn.Sequential):
    """``n`` k x k convs, cin -> cout then cout -> cout, with a ReLU between consecutive convs.

    The ReLUs are VGG's point (three non-linearities where a 7x7 has none) and cost no
    parameters; none follows the last conv, so ``n=1`` is exactly one ``nn.Conv2d``. ``stride``
    applies to the first conv, ``groups`` to every one."""

    def __init__(self, cin: int, cout: int, k: int, n: int = 1, stride: int = 1, padding: int | None = 0,
                 bias: bool = False, groups: int = 1) -> None:
        layers: list[nn.Module] = []
        for i in range(n):
            if i:
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.Conv2d(cin if i == 0 else cout, cout, k, stride=stride if i == 0 else 1,
                                    padding=_padding(k, padding), bias=bias, groups=groups))
        super().__init__(*layers)


class DepthwiseSeparable(nn.Sequential):
    """A k x k depthwise conv (one filter per input channel) then a 1x1 pointwise conv: the
    factorised convolution itself. MobileNet puts BatchNorm and ReLU after each; the study
    compares the factorisation with one plain conv, so neither is here."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, padding: int | None = None,
                 bias: bool = False) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, k, stride=stride, padding=_padding(k, padding), groups=cin, bias=bias)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=bias)


def _conv_relu(cin: int, cout: int, k: int, bias: bool) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias), nn.ReLU(inplace=True)]


def _reduce(cin: int, cout: int, bias: bool) -> list[nn.Module]:
    """An Inception 1x1 reduction/projection, or nothing when ``cout`` is 0."""
    return _conv_relu(cin, cout, 1, bias) if cout else []


class Inception(nn.Module):
    """GoogLeNet's Inception module: 1x1, 3x3, 5x5 and 3x3-max-pool branches side by side,
    "same" padded so they concatenate. ``r3``/``r5`` put a 1x1 reduction before the 3x3/5x5 and
    ``pp`` a 1x1 projection after the pool (the paper's figure 2b); 0 leaves it out (figure 2a,
    where the pool branch passes all ``cin`` channels through)."""

    def __init__(self, cin: int, c1: int, c3: int, c5: int, r3: int = 0, r5: int = 0, pp: int = 0,
                 bias: bool = False) -> None:
        super().__init__()
        self.branch1 = nn.Sequential(*_conv_relu(cin, c1, 1, bias))
        self.branch2 = nn.Sequential(*_reduce(cin, r3, bias), *_conv_relu(r3 or cin, c3, 3, bias))
        self.branch3 = nn.Sequential(*_reduce(cin, r5, bias), *_conv_relu(r5 or cin, c5, 5, bias))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), *_reduce(cin, pp, bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


def _projection(cin: int, cout: int, stride: int) -> nn.Module | None:
    """ResNet's projection shortcut (1x1 conv + BatchNorm) where the identity would not fit."""
    if cin == cout and stride == 1:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


# ---------------------------------------------------------------------------------- builders


def _cin(cin: int, in_channels: int | None) -> int:
    return cin if in_channels is None else in_channels


def conv(num_classes: int | None = None, in_channels: int | None = None, *, k: int = 7, cin: int = 16,
         cout: int = 32, n: int = 1, stride: int = 1, padding: int | None = 0, bias: bool = False,
         groups: int = 1) -> nn.Module:
    """``n`` stacked k x k convs (defaults: one 7x7, 16 -> 32, no padding: the VGG study)."""
    return ConvStack(_cin(cin, in_channels), cout, k, n, stride, padding, bias, groups)


def depthwise_separable(num_classes: int | None = None, in_channels: int | None = None, *, k: int = 3,
                        cin: int = 3, cout: int = 10, stride: int = 1, padding: int | None = None,
                        bias: bool = False) -> nn.Module:
    """Depthwise k x k + pointwise 1x1 (defaults: 3 -> 10, the MobileNet study)."""
    return DepthwiseSeparable(_cin(cin, in_channels), cout, k, stride, padding, bias)


def inception_naive(num_classes: int | None = None, in_channels: int | None = None, *, cin: int = 192,
                    c1: int = 24, c3: int = 24, c5: int = 24, bias: bool = False) -> nn.Module:
    """Inception without reductions (defaults: the GoogLeNet study, 192 in, 24 per conv branch)."""
    return Inception(_cin(cin, in_channels), c1, c3, c5, bias=bias)


def inception_reduced(num_classes: int | None = None, in_channels: int | None = None, *, cin: int = 192,
                      c1: int = 24, r3: int = 16, c3: int = 24, r5: int = 16, c5: int = 24, pp: int = 24,
                      bias: bool = False) -> nn.Module:
    """Inception with 1x1 reductions (defaults: the GoogLeNet study, 192 in, 96 out)."""
    return Inception(_cin(cin, in_channels), c1, c3, c5, r3, r5, pp, bias)


def resnet_basic(num_classes: int | None = None, in_channels: int | None = None, *, cin: int = 64,
                 cout: int = 64, stride: int = 1) -> nn.Module:
    """ResNet-18/34's basic block (defaults: conv2_x, 64 -> 64)."""
    cin = _cin(cin, in_channels)
    return BasicBlock(cin, cout, stride, _projection(cin, cout, stride))


def bottleneck(num_classes: int | None = None, in_channels: int | None = None, *, cin: int = 256,
               width: int = 64, C: int = 1, d: int = 64, stride: int = 1) -> nn.Module:  # noqa: N803
    """ResNet/ResNeXt bottleneck, out ``4 * width`` (defaults: ResNet-50's conv2_x, 256 -> 256)."""
    cin = _cin(cin, in_channels)
    return Bottleneck(cin, width, stride, _projection(cin, width * Bottleneck.expansion, stride),
                      groups=C, width_per_group=d)

"""CIFAR-10 networks (3x32x32 input, 10 classes): the progression of the walkthrough "CIFAR-10
from a linear model towards the state of the art", the ResNet paper's CIFAR ResNets, and
Shake-Shake ResNet-26 (the walkthrough's final target).

The walkthrough's nets are built as the article's code builds them, with the counts it states:
linear 30,730; MLP 123,330; LeNet-style CNN 62,958; ConvBnNet 39,650; DeepBnNet 462,570;
its small ResNet 1,965,066. Two departures, neither changing a count: the article's
``BnLayer`` declares ``Dropout2d(p=0.2)`` but its ``forward`` never applies it, so it is left
out (it has no parameters and never runs); and the stem width follows ``layers[0]`` where the
article hard-codes it (10 for DeepBnNet, 16 for the ResNet: equal at the defaults). The
article's last three nets return ``log_softmax`` scores; so do these.

CIFAR ResNets (He et al. 2016, section 4.2): 6n+2 layers, 16/32/64 channels, option A
shortcuts (subsample + zero-pad channels), so a dimension increase adds no parameters.

Shake-Shake (Gastaldi 2017): two residual branches mixed by a random convex combination,
per image ("Shake-Shake-Image", the paper's CIFAR-10 setting): alpha in the forward pass, an
independent beta in the backward pass, 0.5/0.5 in eval.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnstat.zoo._layers import init_weights
from cnnstat.zoo.resnet import BasicBlock

# ---------------------------------------------------------------------------------- blocks


class BnLayer(nn.Module):
    """The walkthrough's conv-ReLU-BatchNorm layer (in that order, as the article writes it)."""

    def __init__(self, in_chan: int, out_chan: int, kernel_size: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chan, out_chan, kernel_size=kernel_size, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_chan)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


class ResnetLayer(BnLayer):
    """The walkthrough's residual layer: ``x + BnLayer(x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + super().forward(x)


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: subsample by ``stride`` and zero-pad the new channels (no parameters)."""

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra = out_planes - in_planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        # Pad evenly on both sides of the channel axis, as the common reference implementations do.
        return F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class _ShakeShake(torch.autograd.Function):
    """Mix two branches with per-image alpha forward and an independent per-image beta backward."""

    @staticmethod
    def forward(ctx, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        alpha = torch.rand(x1.size(0), 1, 1, 1, dtype=x1.dtype, device=x1.device)
        return alpha * x1 + (1 - alpha) * x2

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        beta = torch.rand(grad.size(0), 1, 1, 1, dtype=grad.dtype, device=grad.device)
        return beta * grad, (1 - beta) * grad


def _shake_branch(in_planes: int, out_planes: int, stride: int) -> nn.Sequential:
    """ReLU-Conv3x3-BN-ReLU-Conv3x3-BN."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_planes),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_planes, out_planes, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_planes),
    )


class ShakeShortcut(nn.Module):
    """The paper's shortcut where the shape changes: two strided 1x1-pooled paths, the second on
    the input shifted by one pixel so it sees the pixels the first skips, each a 1x1 conv to half
    the output channels, concatenated, then BatchNorm."""

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(1, stride=stride)
        self.conv1 = nn.Conv2d(in_planes, out_planes // 2, 1, bias=False)
        self.conv2 = nn.Conv2d(in_planes, out_planes - out_planes // 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv1(self.pool(x)), self.conv2(self.pool(shifted))], dim=1))


class ShakeBlock(nn.Module):
    def __init__(self, in_planes: int, out_planes: int, stride: int = 1) -> None:
        super().__init__()
        self.branch1 = _shake_branch(in_planes, out_planes, stride)
        self.branch2 = _shake_branch(in_planes, out_planes, stride)
        same_shape = in_planes == out_planes and stride == 1
        self.shortcut = nn.Identity() if same_shape else ShakeShortcut(in_planes, out_planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1, h2 = self.branch1(x), self.branch2(x)
        mixed = _ShakeShake.apply(h1, h2) if self.training else 0.5 * (h1 + h2)
        return self.shortcut(x) + mixed


# ---------------------------------------------------------------------------------- models


class VeryBasicNet(nn.Module):
    """The walkthrough's first net: one linear layer on the flattened image."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels * 32 * 32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(x, 1))


class BasicNet(nn.Module):
    """The walkthrough's MLP: one hidden layer of ``hidden`` units."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, hidden: int = 40) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_channels * 32 * 32, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class BasicCNN(nn.Module):
    """The walkthrough's LeNet-style CNN: two 5x5 convs with max-pooling, three linear layers."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 8, 5)
        self.conv2 = nn.Conv2d(8, 16, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BnNet(nn.Module):
    """The walkthrough's ConvBnNet, DeepBnNet and ResNet in one: a 5x5 stem to ``layers[0]``, then per
    stage a stride-2 ``BnLayer`` to ``layers[i+1]`` followed by ``extra`` stride-1 layers
    (``BnLayer``, or ``ResnetLayer`` when ``residual``), global pooling, a linear classifier and
    ``log_softmax``."""

    def __init__(self, layers: Sequence[int], num_classes: int = 10, in_channels: int = 3, extra: int = 0,
                 residual: bool = False, pool: str = "avg") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, layers[0], kernel_size=5, stride=1, padding=2)
        inner = ResnetLayer if residual else BnLayer
        self.layers = nn.Sequential(*[
            nn.Sequential(BnLayer(c_in, c_out), *[inner(c_out, c_out, stride=1) for _ in range(extra)])
            for c_in, c_out in zip(layers[:-1], layers[1:])
        ])
        self.pool = nn.AdaptiveAvgPool2d(1) if pool == "avg" else nn.AdaptiveMaxPool2d(1)
        self.out = nn.Linear(layers[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.layers(self.conv1(x)))
        return F.log_softmax(self.out(torch.flatten(x, 1)), dim=-1)


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet: 3x3 stem to 16, three stages of ``n`` basic blocks at 16/32/64
    channels (stride 2 into stages 2 and 3), global average pooling, linear classifier."""

    def __init__(self, n: int, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        stages, planes = [], 16
        for i, width in enumerate((16, 32, 64)):
            stride = 1 if i == 0 else 2
            shortcut = None if planes == width and stride == 1 else ZeroPadShortcut(planes, width, stride)
            blocks = [BasicBlock(planes, width, stride, shortcut)]
            blocks += [BasicBlock(width, width) for _ in range(1, n)]
            stages.append(nn.Sequential(*blocks))
            planes = width
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(planes, num_classes)
        init_weights(self, linear=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ShakeShakeResNet(nn.Module):
    """Shake-Shake ResNet-26 2x``width``d: 3x3 stem to 16 (+BN), three stages of 4 shake blocks
    at width, 2x, 4x (stride 2 into stages 2 and 3), ReLU, global average pooling, linear."""

    def __init__(self, width: int, num_classes: int = 10, in_channels: int = 3, depth: int = 26) -> None:
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"Shake-Shake depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages, planes = [], 16
        for i, out in enumerate((width, 2 * width, 4 * width)):
            blocks = [ShakeBlock(planes, out, stride=1 if i == 0 else 2)]
            blocks += [ShakeBlock(out, out) for _ in range(1, n)]
            stages.append(nn.Sequential(*blocks))
            planes = out
        self.layer1, self.layer2, self.layer3 = stages
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(planes, num_classes)
        init_weights(self, linear=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.conv1(x))
        x = self.relu(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---------------------------------------------------------------------------------- builders


def _create_bn_net(layers: Sequence[int], num_classes: int, in_channels: int, **options) -> BnNet:
    options.setdefault("layers", layers)
    return BnNet(num_classes=num_classes, in_channels=in_channels, **options)


def _create_cifar_resnet(depth: int, num_classes: int, in_channels: int, **options) -> CifarResNet:
    return CifarResNet((depth - 2) // 6, num_classes=num_classes, in_channels=in_channels, **options)


def _create_shake_shake(width: int, num_classes: int, in_channels: int, **options) -> ShakeShakeResNet:
    return ShakeShakeResNet(width, num_classes=num_classes, in_channels=in_channels, **options)


def cifar_linear(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return VeryBasicNet(num_classes, in_channels, **options)


def cifar_mlp(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return BasicNet(num_classes, in_channels, **options)


def cifar_lenet(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return BasicCNN(num_classes, in_channels, **options)


def cifar_convbn(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_bn_net((10, 20, 40, 80), num_classes, in_channels, **options)


def cifar_deepbn(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_bn_net((10, 20, 40, 80, 160), num_classes, in_channels, extra=1, pool="max", **options)


def cifar_resnet_small(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_bn_net((16, 32, 64, 128, 256), num_classes, in_channels, extra=2, residual=True, pool="max",
                          **options)


def cifar_resnet20(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_cifar_resnet(20, num_classes, in_channels, **options)


def cifar_resnet32(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_cifar_resnet(32, num_classes, in_channels, **options)


def cifar_resnet44(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_cifar_resnet(44, num_classes, in_channels, **options)


def cifar_resnet56(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_cifar_resnet(56, num_classes, in_channels, **options)


def cifar_resnet110(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_cifar_resnet(110, num_classes, in_channels, **options)


def shake_shake26_2x32d(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_shake_shake(32, num_classes, in_channels, **options)


def shake_shake26_2x64d(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_shake_shake(64, num_classes, in_channels, **options)


def shake_shake26_2x96d(num_classes: int = 10, in_channels: int = 3, **options) -> nn.Module:
    return _create_shake_shake(96, num_classes, in_channels, **options)

"""ResNet, ResNeXt, Wide ResNet and the plain (shortcut-free) baselines of the ResNet paper.

Module names follow torchvision's ``resnet.py`` (``conv1``, ``bn1``, ``layer1``..``layer4``
of blocks with ``conv1``/``bn1``/.../``downsample``, ``avgpool``, ``fc``), so a torchvision
``state_dict`` loads into the residual variants unchanged. Bottleneck blocks stride in the
3x3 convolution ("ResNet v1.5"), as torchvision does.

Plain nets (``residual=False``, the PlainNet-50 post's ``is_plain``) remove every shortcut: a block's
output is ``relu(main_path(x))`` with no addition, and the projection shortcuts
(``downsample``: 1x1 conv + BatchNorm, at the first block of a stage where the shape
changes) are dropped along with the identity ones; the main path alone strides and widens.
This is the rule the published counts pin down exactly: plain34 = resnet34 - 173,824 and
plain50 = resnet50 - 2,776,576, which are precisely the parameters of those models'
``downsample`` convs and BatchNorms (layer2..4 for resnet34, layer1..4 for resnet50).
"""

from __future__ import annotations

import functools
from typing import Sequence

import torch
from torch import nn

from cnnstat.zoo._layers import init_weights


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, width_per_group: int = 64, residual: bool = True) -> None:
        super().__init__()
        if groups != 1 or width_per_group != 64:
            raise ValueError("BasicBlock only supports groups=1 and width_per_group=64")
        self.residual = residual
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand by 4 (ResNet-50 and deeper)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, width_per_group: int = 64, residual: bool = True) -> None:
        super().__init__()
        # ResNeXt's "32x4d" and Wide ResNet's "_2" only change this inner width.
        width = int(planes * (width_per_group / 64.0)) * groups
        self.residual = residual
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock | Bottleneck], layers: Sequence[int], num_classes: int = 1000,
                 in_channels: int = 3, zero_init_residual: bool = False, groups: int = 1,
                 width_per_group: int = 64, residual: bool = True) -> None:
        super().__init__()
        if zero_init_residual and not residual:
            # Zeroing each block's last BatchNorm is only an identity start when there is a shortcut;
            # in a plain net it would zero the whole signal.
            raise ValueError("zero_init_residual needs residual=True")
        self.inplanes = 64
        self.groups = groups
        self.width_per_group = width_per_group
        self.residual = residual
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        # Adaptive pooling lets small inputs (e.g. 1x28x28) through.
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        init_weights(self, linear=None)  # as the ResNet paper and torchvision
        if zero_init_residual:
            # Each residual branch starts at zero, so each block starts as the identity.
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int,
                    stride: int = 1) -> nn.Sequential:
        out_planes = planes * block.expansion
        downsample = None
        if self.residual and (stride != 1 or self.inplanes != out_planes):
            # Projection shortcut where the identity would not match the main path's shape.
            downsample = nn.Sequential(_conv1x1(self.inplanes, out_planes, stride), nn.BatchNorm2d(out_planes))
        make_block = functools.partial(block, groups=self.groups, width_per_group=self.width_per_group,
                                       residual=self.residual)
        layers = [make_block(self.inplanes, planes, stride, downsample)]
        self.inplanes = out_planes
        layers += [make_block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def _create_resnet(block: type[BasicBlock | Bottleneck], layers: Sequence[int], num_classes: int,
                   in_channels: int, **options) -> ResNet:
    return ResNet(block, layers, num_classes=num_classes, in_channels=in_channels, **options)


def resnet18(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, **options)


def resnet34(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, **options)


def resnet50(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, **options)


def resnet101(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 4, 23, 3), num_classes, in_channels, **options)


def resnet152(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 8, 36, 3), num_classes, in_channels, **options)


def resnext50_32x4d(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, groups=32, width_per_group=4,
                          **options)


def resnext101_32x8d(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 4, 23, 3), num_classes, in_channels, groups=32, width_per_group=8,
                          **options)


def resnext101_64x4d(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 4, 23, 3), num_classes, in_channels, groups=64, width_per_group=4,
                          **options)


def wide_resnet50_2(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, width_per_group=128, **options)


def wide_resnet101_2(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 4, 23, 3), num_classes, in_channels, width_per_group=128, **options)


def plain34(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, residual=False, **options)


def plain50(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, residual=False, **options)

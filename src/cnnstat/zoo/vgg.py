"""VGG (configurations A, B, D, E of the paper), with and without BatchNorm.

Module names follow torchvision's ``vgg.py`` (``features``, ``avgpool``, ``classifier``), so a
torchvision ``state_dict`` loads unchanged.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from cnnstat.zoo._layers import init_weights

# Output channels of each 3x3 convolution; "M" is a 2x2 max-pool.
_CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def _make_features(config: Sequence[int | str], batch_norm: bool, in_channels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for value in config:
        if isinstance(value, str):  # "M"
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, value, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(value))
        layers.append(nn.ReLU(inplace=True))
        in_channels = value
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features: nn.Module, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        # Fixes the classifier's input at 512x7x7 whatever the input size.
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def _create_vgg(config: str, batch_norm: bool, num_classes: int, in_channels: int, **options) -> VGG:
    return VGG(_make_features(_CONFIGS[config], batch_norm, in_channels), num_classes=num_classes, **options)


def vgg11(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_vgg("A", False, num_classes, in_channels, **options)


def vgg11_bn(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_vgg("A", True, num_classes, in_channels, **options)


def vgg13(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_vgg("B", False, num_classes, in_channels, **options)


def vgg13_bn(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_vgg("B", True, num_classes, in_channels, **options)


def vgg16(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_vgg("D", False, num_classes, in_channels, **options)


def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_vgg("D", True, num_classes, in_channels, **options)


def vgg19(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_vgg("E", False, num_classes, in_channels, **options)


def vgg19_bn(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_vgg("E", True, num_classes, in_channels, **options)

"""SqueezeNet 1.0 (the paper's) and 1.1 (the SqueezeNet repo's cheaper revision: 3x3 stem, earlier
pooling; well under half the MACs at about the same accuracy). Module names follow torchvision's
``squeezenet.py``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class Fire(nn.Module):
    """1x1 squeeze, then 1x1 and 3x3 expands side by side, concatenated."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1
        )


# (stem channels, stem kernel, body); in the body "M" is a 3x3/2 max-pool and (s, e) a Fire
# module with s squeeze and e + e expand channels.
_VERSIONS: dict[str, tuple[int, int, list[tuple[int, int] | str]]] = {
    "1_0": (96, 7, ["M", (16, 64), (16, 64), (32, 128), "M", (32, 128), (48, 192), (48, 192), (64, 256), "M",
                    (64, 256)]),
    "1_1": (64, 3, ["M", (16, 64), (16, 64), "M", (32, 128), (32, 128), "M", (48, 192), (48, 192), (64, 256),
                    (64, 256)]),
}


class SqueezeNet(nn.Module):
    def __init__(self, stem_channels: int, stem_kernel: int, body: Sequence[tuple[int, int] | str],
                 num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, stem_channels, kernel_size=stem_kernel, stride=2),
                                   nn.ReLU(inplace=True)]
        channels = stem_channels
        for item in body:
            if isinstance(item, str):  # "M"
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
            else:
                squeeze, expand = item
                layers.append(Fire(channels, squeeze, expand, expand))
                channels = 2 * expand
        self.features = nn.Sequential(*layers)
        # No fully connected layer: a 1x1 conv to the classes, then global average pooling.
        final_conv = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def _create_squeezenet(version: str, num_classes: int, in_channels: int, **options) -> SqueezeNet:
    return SqueezeNet(*_VERSIONS[version], num_classes=num_classes, in_channels=in_channels, **options)


def squeezenet1_0(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_squeezenet("1_0", num_classes, in_channels, **options)


def squeezenet1_1(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    return _create_squeezenet("1_1", num_classes, in_channels, **options)

"""MobileNet v1 (the paper's Table 1 network), and v2 and v3 as torchvision builds them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
from torch import Tensor, nn

from cnnstat.zoo._layers import (
    Conv2dNormActivation,
    SqueezeExcitation,
    _make_divisible,
    init_weights,
)

# --- MobileNet v1 ---------------------------------------------------------------------


class DepthwiseSeparable(nn.Sequential):
    """Depthwise 3x3 conv + BN + ReLU, then pointwise 1x1 conv + BN + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__(
            Conv2dNormActivation(in_channels, in_channels, stride=stride, groups=in_channels),
            Conv2dNormActivation(in_channels, out_channels, kernel_size=1),
        )


# (output channels, stride) of the 13 depthwise-separable blocks of the paper's Table 1.
_V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0) -> None:
        super().__init__()
        # The width multiplier alpha thins every layer; rounding to 8 keeps the paper's
        # alphas (1, 0.75, 0.5, 0.25) exact.
        channels = _make_divisible(32 * width_mult, 8)
        layers: list[nn.Module] = [Conv2dNormActivation(in_channels, channels, stride=2)]
        for out_channels, stride in _V1_BLOCKS:
            out_channels = _make_divisible(out_channels * width_mult, 8)
            layers.append(DepthwiseSeparable(channels, out_channels, stride))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


# --- MobileNet v2 ---------------------------------------------------------------------


class InvertedResidual(nn.Module):
    """MobileNet v2 block: 1x1 expand, 3x3 depthwise, linear 1x1 project; residual when
    shapes allow."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1, activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# t (expansion), c (channels), n (repeats), s (first stride): the paper's Table 2.
_V2_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]


class MobileNetV2(nn.Module):
    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_mult: float = 1.0,
        round_nearest: int = 8,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        input_channel = _make_divisible(32 * width_mult, round_nearest)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [
            Conv2dNormActivation(in_channels, input_channel, stride=2, activation_layer=nn.ReLU6)
        ]
        for t, c, n, s in _V2_SETTING:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, expand_ratio=t))
                input_channel = output_channel
        features.append(
            Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1, activation_layer=nn.ReLU6)
        )
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # torchvision pools functionally; a module is visible per layer
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


# --- MobileNet v3 ---------------------------------------------------------------------


@dataclass
class InvertedResidualConfig:
    """One MobileNet v3 bneck row; channel counts already scaled by the width multiplier."""

    input_channels: int
    kernel: int
    expanded_channels: int
    out_channels: int
    use_se: bool
    use_hs: bool  # Hardswish, else ReLU
    stride: int


class InvertedResidualV3(nn.Module):
    """MobileNet v3 bneck: optional 1x1 expand, depthwise, optional SE, linear 1x1 project."""

    def __init__(self, cnf: InvertedResidualConfig, norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
        layers: list[nn.Module] = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(
                Conv2dNormActivation(
                    cnf.input_channels, cnf.expanded_channels, kernel_size=1,
                    norm_layer=norm_layer, activation_layer=activation_layer,
                )
            )
        layers.append(
            Conv2dNormActivation(
                cnf.expanded_channels, cnf.expanded_channels, kernel_size=cnf.kernel, stride=cnf.stride,
                groups=cnf.expanded_channels, norm_layer=norm_layer, activation_layer=activation_layer,
            )
        )
        if cnf.use_se:
            squeeze_channels = _make_divisible(cnf.expanded_channels // 4, 8)
            layers.append(SqueezeExcitation(cnf.expanded_channels, squeeze_channels, scale_activation=nn.Hardsigmoid))
        layers.append(
            Conv2dNormActivation(
                cnf.expanded_channels, cnf.out_channels, kernel_size=1, norm_layer=norm_layer, activation_layer=None
            )
        )
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels

    def forward(self, x: Tensor) -> Tensor:
        result = self.block(x)
        return result + x if self.use_res_connect else result


# input, kernel, expanded, output, SE, activation, stride: the paper's Tables 1 and 2.
_V3_SETTINGS = {
    "large": (
        [
            (16, 3, 16, 16, False, "RE", 1),
            (16, 3, 64, 24, False, "RE", 2),
            (24, 3, 72, 24, False, "RE", 1),
            (24, 5, 72, 40, True, "RE", 2),
            (40, 5, 120, 40, True, "RE", 1),
            (40, 5, 120, 40, True, "RE", 1),
            (40, 3, 240, 80, False, "HS", 2),
            (80, 3, 200, 80, False, "HS", 1),
            (80, 3, 184, 80, False, "HS", 1),
            (80, 3, 184, 80, False, "HS", 1),
            (80, 3, 480, 112, True, "HS", 1),
            (112, 3, 672, 112, True, "HS", 1),
            (112, 5, 672, 160, True, "HS", 2),
            (160, 5, 960, 160, True, "HS", 1),
            (160, 5, 960, 160, True, "HS", 1),
        ],
        1280,
    ),
    "small": (
        [
            (16, 3, 16, 16, True, "RE", 2),
            (16, 3, 72, 24, False, "RE", 2),
            (24, 3, 88, 24, False, "RE", 1),
            (24, 5, 96, 40, True, "HS", 2),
            (40, 5, 240, 40, True, "HS", 1),
            (40, 5, 240, 40, True, "HS", 1),
            (40, 5, 120, 48, True, "HS", 1),
            (48, 5, 144, 48, True, "HS", 1),
            (48, 5, 288, 96, True, "HS", 2),
            (96, 5, 576, 96, True, "HS", 1),
            (96, 5, 576, 96, True, "HS", 1),
        ],
        1024,
    ),
}


class MobileNetV3(nn.Module):
    def __init__(
        self,
        inverted_residual_setting: list[InvertedResidualConfig],
        last_channel: int,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        # TensorFlow's BN defaults, as torchvision uses for v3.
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                in_channels, inverted_residual_setting[0].input_channels, stride=2,
                norm_layer=norm_layer, activation_layer=nn.Hardswish,
            )
        ]
        layers += [InvertedResidualV3(cnf, norm_layer) for cnf in inverted_residual_setting]
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = 6 * lastconv_input_channels
        layers.append(
            Conv2dNormActivation(
                lastconv_input_channels, lastconv_output_channels, kernel_size=1,
                norm_layer=norm_layer, activation_layer=nn.Hardswish,
            )
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(lastconv_output_channels, last_channel),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(last_channel, num_classes),
        )
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def _v3_config(arch: str, width_mult: float) -> tuple[list[InvertedResidualConfig], int]:
    def adjust(channels: int) -> int:
        return _make_divisible(channels * width_mult, 8)

    rows, last_channel = _V3_SETTINGS[arch]
    setting = [
        InvertedResidualConfig(adjust(inp), kernel, adjust(exp), adjust(out), se, act == "HS", stride)
        for inp, kernel, exp, out, se, act, stride in rows
    ]
    return setting, adjust(last_channel)


def _create_mobilenet(version: str, num_classes: int, in_channels: int, **options) -> nn.Module:
    if version == "v1":
        return MobileNetV1(num_classes=num_classes, in_channels=in_channels, **options)
    if version == "v2":
        return MobileNetV2(num_classes=num_classes, in_channels=in_channels, **options)
    setting, last_channel = _v3_config(version.removeprefix("v3_"), options.pop("width_mult", 1.0))
    return MobileNetV3(setting, last_channel, num_classes=num_classes, in_channels=in_channels, **options)


def mobilenet_v1(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """The MobileNets paper's network; option ``width_mult`` (alpha, default 1.0)."""
    return _create_mobilenet("v1", num_classes, in_channels, **options)


def mobilenet_v2(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """Options: ``width_mult``, ``round_nearest``, ``dropout``."""
    return _create_mobilenet("v2", num_classes, in_channels, **options)


def mobilenet_v3_large(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """Options: ``width_mult``, ``dropout``."""
    return _create_mobilenet("v3_large", num_classes, in_channels, **options)


def mobilenet_v3_small(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """Options: ``width_mult``, ``dropout``."""
    return _create_mobilenet("v3_small", num_classes, in_channels, **options)

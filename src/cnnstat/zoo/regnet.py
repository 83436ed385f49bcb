"""RegNet (Radosavovic et al. 2020) as torchvision builds it: RegNetY has SE blocks."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from torch import Tensor, nn

from cnnstat.zoo._layers import Conv2dNormActivation, SqueezeExcitation, _make_divisible


class BottleneckTransform(nn.Sequential):
    """1x1 (a), grouped 3x3 (b), optional SE, 1x1 without activation (c)."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None,
    ) -> None:
        w_b = int(round(width_out * bottleneck_multiplier))
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["a"] = Conv2dNormActivation(width_in, w_b, kernel_size=1)
        layers["b"] = Conv2dNormActivation(w_b, w_b, stride=stride, groups=w_b // group_width)
        if se_ratio:
            # The squeeze width follows the block's input width, as in the paper's code.
            layers["se"] = SqueezeExcitation(w_b, int(round(se_ratio * width_in)))
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """Residual bottleneck: x + f(x), with a 1x1 projection when width or stride change."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None,
    ) -> None:
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, group_width, bottleneck_multiplier, se_ratio)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.proj(x) if self.proj is not None else x
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    """``depth`` blocks; only the first changes width and stride (children block{i}-{j})."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        depth: int,
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None,
        stage_index: int,
    ) -> None:
        super().__init__()
        for i in range(depth):
            block = ResBottleneckBlock(
                width_in if i == 0 else width_out, width_out, stride if i == 0 else 1,
                group_width, bottleneck_multiplier, se_ratio,
            )
            self.add_module(f"block{stage_index}-{i}", block)


@dataclass(frozen=True)
class StageParams:
    width: int
    stride: int
    depth: int
    group_width: int
    bottleneck_multiplier: float


def _stage_params(
    depth: int,
    w_0: int,
    w_a: float,
    w_m: float,
    group_width: int,
    bottleneck_multiplier: float = 1.0,
) -> list[StageParams]:
    """Per-stage widths and depths from the paper's quantised linear rule (Sec. 3.3).

    Plain Python floats rather than torch ops, so the model builds on the meta device.
    """
    quant, stride = 8, 2
    if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
        raise ValueError("invalid RegNet settings")
    # Block j's width u_j = w_0 + w_a * j, snapped to w_0 * w_m^s for an integer s.
    block_widths = []
    for j in range(depth):
        exponent = round(math.log((j * w_a + w_0) / w_0) / math.log(w_m))
        block_widths.append(int(round(w_0 * w_m**exponent / quant)) * quant)
    # A stage is a run of equal widths.
    stage_widths: list[int] = []
    stage_depths: list[int] = []
    for width in block_widths:
        if stage_widths and stage_widths[-1] == width:
            stage_depths[-1] += 1
        else:
            stage_widths.append(width)
            stage_depths.append(1)
    # Make each bottleneck width a multiple of its group width (a group no wider than it).
    stages = []
    for width, stage_depth in zip(stage_widths, stage_depths):
        w_bot = int(width * bottleneck_multiplier)
        g = min(group_width, w_bot)
        width = int(_make_divisible(w_bot, g) / bottleneck_multiplier)
        stages.append(StageParams(width, stride, stage_depth, g, bottleneck_multiplier))
    return stages


class RegNet(nn.Module):
    def __init__(
        self,
        stages: list[StageParams],
        se_ratio: float | None = None,
        num_classes: int = 1000,
        in_channels: int = 3,
        stem_width: int = 32,
    ) -> None:
        super().__init__()
        self.stem = Conv2dNormActivation(in_channels, stem_width, stride=2)
        current_width = stem_width
        blocks = []
        for i, stage in enumerate(stages, start=1):
            blocks.append((
                f"block{i}",
                AnyStage(current_width, stage.width, stage.stride, stage.depth, stage.group_width,
                         stage.bottleneck_multiplier, se_ratio, stage_index=i),
            ))
            current_width = stage.width
        self.trunk_output = nn.Sequential(OrderedDict(blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(current_width, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # He init on fan-out, as in the pycls reference code.
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.trunk_output(self.stem(x))
        x = self.avgpool(x).flatten(start_dim=1)
        return self.fc(x)


def _create_regnet(
    depth: int,
    w_0: int,
    w_a: float,
    w_m: float,
    group_width: int,
    num_classes: int,
    in_channels: int,
    se_ratio: float | None = None,
    bottleneck_multiplier: float = 1.0,
    **options,
) -> RegNet:
    stages = _stage_params(depth, w_0, w_a, w_m, group_width, bottleneck_multiplier)
    return RegNet(stages, se_ratio, num_classes=num_classes, in_channels=in_channels, **options)


def regnet_y_400mf(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """RegNetY-400MF: the paper's Table 2 parameters."""
    options = {"depth": 16, "w_0": 48, "w_a": 27.89, "w_m": 2.09, "group_width": 8, "se_ratio": 0.25, **options}
    return _create_regnet(num_classes=num_classes, in_channels=in_channels, **options)

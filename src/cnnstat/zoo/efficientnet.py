"""EfficientNet-B0 and MNASNet 1.0, as torchvision builds them (MBConv-style nets found by
architecture search)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from torch import Tensor, nn

from cnnstat.zoo._layers import (
    Conv2dNormActivation,
    SqueezeExcitation,
    _make_divisible,
    init_weights,
)


class StochasticDepth(nn.Module):
    """Drop a residual branch per sample (Huang et al. 2016, "row" mode): in training each
    row of the batch is zeroed with probability ``p`` and survivors scaled by 1/(1-p); in
    eval it is the identity."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival_rate = 1.0 - self.p
        noise = x.new_empty([x.shape[0]] + [1] * (x.ndim - 1)).bernoulli_(survival_rate)
        if survival_rate > 0.0:
            noise.div_(survival_rate)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}"


# --- EfficientNet ---------------------------------------------------------------------


@dataclass
class MBConvConfig:
    """One stage of the EfficientNet table; channels and depth already scaled."""

    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int


class MBConv(nn.Module):
    """Inverted residual with SE and SiLU; the residual branch is dropped stochastically."""

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float) -> None:
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded_channels = _make_divisible(cnf.input_channels * cnf.expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels, kernel_size=1,
                                               activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels, kernel_size=cnf.kernel,
                                           stride=cnf.stride, groups=expanded_channels, activation_layer=nn.SiLU))
        # The squeeze width follows the block's input, not its expanded width.
        squeeze_channels = max(1, cnf.input_channels // 4)
        layers.append(SqueezeExcitation(expanded_channels, squeeze_channels, activation=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels, kernel_size=1, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)
        self.out_channels = cnf.out_channels

    def forward(self, x: Tensor) -> Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


# expand ratio, kernel, stride, input channels, output channels, layers: B0 (paper Table 1).
_B0_SETTING = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]


def _uniform_by_outputs(linear: nn.Linear) -> None:
    bound = 1.0 / math.sqrt(linear.out_features)
    nn.init.uniform_(linear.weight, -bound, bound)


def _sigmoid_fan_out(linear: nn.Linear) -> None:
    nn.init.kaiming_uniform_(linear.weight, mode="fan_out", nonlinearity="sigmoid")


class EfficientNet(nn.Module):
    def __init__(
        self,
        setting: list[MBConvConfig],
        dropout: float,
        stochastic_depth_prob: float = 0.2,
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            Conv2dNormActivation(in_channels, setting[0].input_channels, stride=2, activation_layer=nn.SiLU)
        ]
        # The drop probability grows linearly with the block's index over the whole net.
        total_blocks = sum(cnf.num_layers for cnf in setting)
        block_id = 0
        for cnf in setting:
            stage: list[nn.Module] = []
            for i in range(cnf.num_layers):
                block_cnf = cnf if i == 0 else replace(cnf, input_channels=cnf.out_channels, stride=1)
                stage.append(MBConv(block_cnf, stochastic_depth_prob * block_id / total_blocks))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_input_channels = setting[-1].out_channels
        lastconv_output_channels = 4 * lastconv_input_channels
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels, kernel_size=1,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout, inplace=True), nn.Linear(lastconv_output_channels, num_classes)
        )

        init_weights(self, _uniform_by_outputs)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x)).flatten(1)
        return self.classifier(x)


def _create_efficientnet(
    width_mult: float, depth_mult: float, dropout: float, num_classes: int, in_channels: int, **options
) -> EfficientNet:
    """Compound scaling: widths by ``width_mult`` (rounded to 8), depths by ``depth_mult``."""
    setting = [
        MBConvConfig(
            expand_ratio, kernel, stride,
            _make_divisible(inp * width_mult, 8), _make_divisible(out * width_mult, 8),
            int(math.ceil(layers * depth_mult)),
        )
        for expand_ratio, kernel, stride, inp, out, layers in _B0_SETTING
    ]
    return EfficientNet(setting, dropout, num_classes=num_classes, in_channels=in_channels, **options)


def efficientnet_b0(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """Options: ``stochastic_depth_prob`` (default 0.2), ``dropout`` (0.2)."""
    options = {"width_mult": 1.0, "depth_mult": 1.0, "dropout": 0.2, **options}
    return _create_efficientnet(num_classes=num_classes, in_channels=in_channels, **options)


# --- MNASNet --------------------------------------------------------------------------

# TensorFlow's BN momentum 0.9997, in PyTorch's convention.
_BN_MOMENTUM = 1 - 0.9997


class _InvertedResidual(nn.Module):
    """MNASNet block: 1x1 expand + ReLU, kxk depthwise + ReLU, linear 1x1 project."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int, expansion_factor: int) -> None:
        super().__init__()
        mid_ch = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, 1, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, mid_ch, kernel_size, padding=kernel_size // 2, stride=stride, groups=mid_ch, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch, momentum=_BN_MOMENTUM),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x) + x if self.apply_residual else self.layers(x)


def _stack(in_ch: int, out_ch: int, kernel_size: int, stride: int, exp_factor: int, repeats: int) -> nn.Sequential:
    """``repeats`` blocks; only the first changes width and stride."""
    first = _InvertedResidual(in_ch, out_ch, kernel_size, stride, exp_factor)
    rest = [_InvertedResidual(out_ch, out_ch, kernel_size, 1, exp_factor) for _ in range(1, repeats)]
    return nn.Sequential(first, *rest)


class MNASNet(nn.Module):
    def __init__(self, alpha: float, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2) -> None:
        super().__init__()
        depths = [_make_divisible(d * alpha, 8) for d in (32, 16, 24, 40, 80, 96, 192, 320)]
        # One flat Sequential, as torchvision numbers it (its state_dict keys are layers.N).
        self.layers = nn.Sequential(
            # First layer: regular conv.
            nn.Conv2d(in_channels, depths[0], 3, padding=1, stride=2, bias=False),
            nn.BatchNorm2d(depths[0], momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            # Depthwise separable, no skip.
            nn.Conv2d(depths[0], depths[0], 3, padding=1, stride=1, groups=depths[0], bias=False),
            nn.BatchNorm2d(depths[0], momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(depths[0], depths[1], 1, padding=0, stride=1, bias=False),
            nn.BatchNorm2d(depths[1], momentum=_BN_MOMENTUM),
            # Stacks of inverted residuals: kernel, stride, expansion, repeats (paper Fig. 7).
            _stack(depths[1], depths[2], 3, 2, 3, 3),
            _stack(depths[2], depths[3], 5, 2, 3, 3),
            _stack(depths[3], depths[4], 5, 2, 6, 3),
            _stack(depths[4], depths[5], 3, 1, 6, 2),
            _stack(depths[5], depths[6], 5, 2, 6, 4),
            _stack(depths[6], depths[7], 3, 1, 6, 1),
            # Final mapping to classifier input.
            nn.Conv2d(depths[7], 1280, 1, padding=0, stride=1, bias=False),
            nn.BatchNorm2d(1280, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(1280, num_classes))

        init_weights(self, _sigmoid_fan_out)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layers(x).mean([2, 3])  # global average pool
        return self.classifier(x)


def _create_mnasnet(alpha: float, num_classes: int, in_channels: int, **options) -> MNASNet:
    return MNASNet(alpha, num_classes=num_classes, in_channels=in_channels, **options)


def mnasnet1_0(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """Depth multiplier 1.0; option ``dropout`` (default 0.2)."""
    return _create_mnasnet(1.0, num_classes, in_channels, **options)

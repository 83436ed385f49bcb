"""ConvNeXt (Liu et al. 2022) as torchvision builds it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnstat.zoo._layers import Conv2dNormActivation
from cnnstat.zoo.efficientnet import StochasticDepth


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(x, self.dims)


class CNBlock(nn.Module):
    """7x7 depthwise conv, LayerNorm, 4x MLP with GELU (as Linears on NHWC), layer scale,
    stochastic depth, residual."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        # Per-channel scale of the branch, starting near zero so each block begins close
        # to the identity.
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)

    def forward(self, x: Tensor) -> Tensor:
        return self.stochastic_depth(self.layer_scale * self.block(x)) + x


@dataclass(frozen=True)
class CNBlockConfig:
    input_channels: int
    out_channels: int | None  # None: the last stage, with no downsampling after it
    num_layers: int


class ConvNeXt(nn.Module):
    def __init__(
        self,
        block_setting: list[CNBlockConfig],
        stochastic_depth_prob: float = 0.0,
        layer_scale: float = 1e-6,
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        norm_layer = partial(LayerNorm2d, eps=1e-6)
        # Patchify stem: 4x4 conv at stride 4, then LayerNorm.
        layers: list[nn.Module] = [
            Conv2dNormActivation(in_channels, block_setting[0].input_channels, kernel_size=4, stride=4, padding=0,
                                 norm_layer=norm_layer, activation_layer=None, bias=True)
        ]
        # The drop probability grows linearly from 0 at the first block to the full
        # stochastic_depth_prob at the last.
        total_blocks = sum(cnf.num_layers for cnf in block_setting)
        block_id = 0
        for cnf in block_setting:
            stage = []
            for _ in range(cnf.num_layers):
                sd_prob = stochastic_depth_prob * block_id / (total_blocks - 1.0)
                stage.append(CNBlock(cnf.input_channels, layer_scale, sd_prob))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                # Downsampling between stages: LayerNorm, then 2x2 conv at stride 2.
                layers.append(nn.Sequential(
                    norm_layer(cnf.input_channels),
                    nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2),
                ))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        lastconv_output_channels = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(
            norm_layer(lastconv_output_channels), nn.Flatten(1), nn.Linear(lastconv_output_channels, num_classes)
        )

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


def _create_convnext(
    block_setting: list[CNBlockConfig], num_classes: int, in_channels: int, **options
) -> ConvNeXt:
    return ConvNeXt(block_setting, num_classes=num_classes, in_channels=in_channels, **options)


def convnext_tiny(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """ConvNeXt-T: depths 3-3-9-3, widths 96-768; options ``stochastic_depth_prob``
    (default 0.1), ``layer_scale`` (1e-6)."""
    block_setting = [
        CNBlockConfig(96, 192, 3),
        CNBlockConfig(192, 384, 3),
        CNBlockConfig(384, 768, 9),
        CNBlockConfig(768, None, 3),
    ]
    options = {"stochastic_depth_prob": 0.1, **options}
    return _create_convnext(block_setting, num_classes, in_channels, **options)

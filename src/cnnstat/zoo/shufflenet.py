"""ShuffleNet v2 as torchvision builds it."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups so that information crosses branches."""
    batch, channels, height, width = x.size()
    x = x.view(batch, groups, channels // groups, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batch, -1, height, width)


def _depthwise_conv(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, kernel_size=3, stride=stride, padding=1, bias=False, groups=channels)


class InvertedResidual(nn.Module):
    """ShuffleNet v2 unit: at stride 1 half the channels pass untouched and the other half
    go through branch2; at stride 2 both branches see the whole input. Then a shuffle."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        branch_features = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                _depthwise_conv(inp, stride),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, kernel_size=1, bias=False),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch_features, branch_features, kernel_size=1, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
            _depthwise_conv(branch_features, stride),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    # Set by name in __init__'s loop.
    stage2: nn.Sequential
    stage3: nn.Sequential
    stage4: nn.Sequential

    def __init__(
        self,
        stages_repeats: list[int],
        stages_out_channels: list[int],
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        output_channels = stages_out_channels[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, output_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True),
        )
        input_channels = output_channels
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        # Stages are attributes stage2..stage4 (not a Sequential), as in torchvision.
        for index, (repeats, output_channels) in enumerate(zip(stages_repeats, stages_out_channels[1:]), start=2):
            blocks = [InvertedResidual(input_channels, output_channels, 2)]
            blocks += [InvertedResidual(output_channels, output_channels, 1) for _ in range(repeats - 1)]
            setattr(self, f"stage{index}", nn.Sequential(*blocks))
            input_channels = output_channels

        output_channels = stages_out_channels[-1]
        self.conv5 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(output_channels, num_classes)
        # torchvision keeps PyTorch's default initialisation here.

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x).mean([2, 3])  # global average pool
        return self.fc(x)


def _create_shufflenet(
    stages_repeats: list[int], stages_out_channels: list[int], num_classes: int, in_channels: int, **options
) -> ShuffleNetV2:
    return ShuffleNetV2(stages_repeats, stages_out_channels, num_classes=num_classes, in_channels=in_channels,
                        **options)


def shufflenet_v2_x1_0(num_classes: int = 1000, in_channels: int = 3, **options) -> nn.Module:
    """Width 1.0x: stage repeats 4, 8, 4 (paper Table 5)."""
    return _create_shufflenet([4, 8, 4], [24, 116, 232, 464, 1024], num_classes, in_channels, **options)

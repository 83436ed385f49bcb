"""A receptive field only where it means something: none along the features of tokens x
features; "unknown" with the op and the reason where an input is not channels-first, a spatial
axis is folded into the channels, a transposed convolution, an uneven adaptive pooling or a
concatenation along a spatial axis stops it."""

import pytest
import torch
from torch import nn

from cnnstat.analysis import profile


class PerToken(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 4)

    def forward(self, x):
        return self.proj(x)


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 8, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]


@pytest.mark.parametrize("model", [PerToken(), Recurrent(), nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)],
                         ids=["linear", "lstm", "transformer"])
def test_tokens_by_features_have_no_field(model):
    report = profile(model, (10, 16))
    assert report.receptive_field is None and all(layer.field_figures is None for layer in report.layers)


class ChannelsLast(nn.Module):
    """An N x H x W x C input permuted to channels-first."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x.permute(0, 3, 1, 2))


class FoldedRows(nn.Module):
    """The rows moved into the channels, then mixed by a convolution."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3 * 8, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x.permute(0, 1, 3, 2).reshape(x.shape[0], 3 * 8, 8, 1))


class SpatialCat(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(torch.cat([x, x], dim=2))


CASES = {
    "channels last": (ChannelsLast(), (8, 8, 3), "a convolution mixes an input axis taken as spatial in its channels"),
    "folded rows": (FoldedRows(), (3, 8, 8), "a convolution mixes an input axis taken as spatial in its channels"),
    "transposed": (nn.Sequential(nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(4, 4, 3, stride=2)), (3, 8, 8),
                   "a transposed convolution"),
    "uneven adaptive": (nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(4)), (3, 11, 11),
                        "an adaptive pooling from 9 to 4 positions (uneven windows)"),
    "spatial cat": (SpatialCat(), (3, 8, 8), "a concatenation along a spatial axis"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_field_that_cannot_be_stated_is_unknown_and_says_why(case):
    model, size, reason = CASES[case]
    report = profile(model, size)
    assert report.receptive_field.output.size is None
    assert any(note.startswith(f"receptive field unknown after {reason}") for note in report.notes), report.notes


def test_an_even_adaptive_pooling_keeps_its_field():
    report = profile(nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(4)), (3, 10, 10))
    assert report.receptive_field.output.size == [3 + 1, 3 + 1]  # a 2x2 window of stride 2 after a 3x3 kernel

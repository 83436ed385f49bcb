"""A layer's configuration names one size per spatial dimension of the layer."""

from torch import nn

from cnnstat.analysis.describe import describe


def test_a_pool_shows_its_own_dimensions():
    assert describe(nn.MaxPool1d(2)) == "2"
    assert describe(nn.AvgPool1d(3, 2)) == "3 s2"
    assert describe(nn.MaxPool2d(2)) == "2x2"
    assert describe(nn.MaxPool3d(2, 1)) == "2x2x2 s1"

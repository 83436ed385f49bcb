"""Generated layer configurations: MACs, FLOPs, params and output shapes equal closed forms."""

import math

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from cnnstat.analysis import profile

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@st.composite
def conv_configs(draw, dims=2):
    groups = draw(st.integers(1, 4))
    cin = groups * draw(st.integers(1, 4))
    cout = groups * draw(st.integers(1, 4))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    spatial = tuple(draw(st.integers(dilation[i] * (kernel[i] - 1) + 1, 12)) for i in range(dims))
    return dict(cin=cin, cout=cout, kernel=kernel, stride=stride, dilation=dilation, padding=padding,
                groups=groups, spatial=spatial, bias=draw(st.booleans()), batch=draw(st.integers(1, 3)))


@pytest.mark.parametrize("dims", [1, 2, 3])
@SETTINGS
@given(data=st.data())
def test_conv(dims, data):
    c = data.draw(conv_configs(dims))
    conv_class = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
    layer = conv_class(c["cin"], c["cout"], c["kernel"], c["stride"], c["padding"], c["dilation"], c["groups"],
                       bias=c["bias"])
    report = profile(layer, (c["cin"], *c["spatial"]), batch=c["batch"])
    out = tuple(out_size(*args) for args in zip(c["spatial"], c["kernel"], c["stride"], c["padding"], c["dilation"]))
    outputs = c["batch"] * c["cout"] * math.prod(out)
    macs = outputs * (c["cin"] // c["groups"]) * math.prod(c["kernel"])
    params = c["cout"] * (c["cin"] // c["groups"]) * math.prod(c["kernel"]) + (c["cout"] if c["bias"] else 0)
    assert report.layers[0].output_shape == (c["batch"], c["cout"], *out)
    assert report.totals.macs == macs
    assert report.totals.flops == 2 * macs + (outputs if c["bias"] else 0)
    assert report.totals.params == params
    assert report.layers[0].trainable_params == params  # in eval too, where the pass takes no gradients


@SETTINGS
@given(data=st.data())
def test_conv_transpose2d(data):
    cin, cout = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    kernel, stride = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    padding = data.draw(st.integers(0, kernel - 1))
    side, batch = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 3))
    out = (side - 1) * stride - 2 * padding + kernel
    assume(out >= 1)
    layer = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, bias=False)
    report = profile(layer, (cin, side, side), batch=batch)
    assert report.layers[0].output_shape == (batch, cout, out, out)
    # every input element is scattered through the kernel to every output channel
    assert report.totals.macs == batch * cin * side * side * cout * kernel * kernel


@SETTINGS
@given(batch=st.integers(1, 4), tokens=st.integers(1, 3), fin=st.integers(1, 64), fout=st.integers(1, 64),
       bias=st.booleans())
def test_linear(batch, tokens, fin, fout, bias):
    report = profile(nn.Linear(fin, fout, bias=bias), (tokens, fin), batch=batch)
    rows = batch * tokens
    assert report.totals.macs == rows * fin * fout
    assert report.totals.flops == 2 * rows * fin * fout + (rows * fout if bias else 0)
    assert report.totals.params == fin * fout + (fout if bias else 0)


@SETTINGS
@given(data=st.data())
def test_pooling(data):
    kernel = data.draw(st.integers(1, 4))
    stride = data.draw(st.integers(1, 3))
    padding = data.draw(st.integers(0, kernel // 2))
    side = data.draw(st.integers(kernel, 14))
    channels, batch = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    kind = data.draw(st.sampled_from([nn.MaxPool2d, nn.AvgPool2d]))
    report = profile(kind(kernel, stride, padding), (channels, side, side), batch=batch)
    out = out_size(side, kernel, stride, padding, 1)
    assert report.layers[0].output_shape == (batch, channels, out, out)
    assert report.totals.macs == 0
    assert report.totals.flops == batch * channels * out * out * kernel * kernel


@SETTINGS
@given(channels=st.integers(1, 8), side=st.integers(1, 9), batch=st.integers(1, 3), mode=st.sampled_from(["eval", "train"]))
def test_batchnorm_and_activations(channels, side, batch, mode):
    if mode == "train" and batch * side * side == 1:
        return  # BatchNorm refuses to train on one value per channel
    model = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    report = profile(model, (channels, side, side), batch=batch, mode=mode)
    elements = batch * channels * side * side
    # training adds the batch statistics, and BatchNorm's num_batches_tracked += 1
    norm = 2 * elements + (2 * elements + 1 if mode == "train" else 0)
    assert [l.flops for l in report.layers[1:]] == [norm, elements, elements]
    assert report.totals.params == 2 * channels


UNARY = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "exp": torch.exp, "neg": torch.neg,
         "gelu": F.gelu, "silu": F.silu, "hardswish": F.hardswish, "leaky_relu": F.leaky_relu, "relu6": F.relu6}
BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "maximum": torch.maximum}


class Chain(nn.Module):
    """Elementwise ops in sequence; a binary op takes a buffer that broadcasts to the input."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps
        for index, (_name, operand) in enumerate(steps):
            if operand is not None:
                self.register_buffer(f"operand{index}", torch.ones(operand))

    def forward(self, x):
        for index, (name, operand) in enumerate(self.steps):
            x = UNARY[name](x) if operand is None else BINARY[name](x, getattr(self, f"operand{index}"))
        return x


@st.composite
def broadcasting_to(draw, shape):
    """A shape that broadcasts to ``shape``: some sizes 1, some leading dimensions left out."""
    sizes = tuple(draw(st.sampled_from([size, 1])) for size in shape)
    return sizes[draw(st.integers(0, len(sizes) - 1)):]


@SETTINGS
@given(data=st.data())
def test_elementwise_ops_and_fused_chains(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
    batch = data.draw(st.integers(1, 3))
    full = (batch, *shape)
    step = st.one_of(st.tuples(st.sampled_from(sorted(UNARY)), st.none()),
                     st.tuples(st.sampled_from(sorted(BINARY)), broadcasting_to(full)))
    steps = data.draw(st.lists(step, min_size=1, max_size=5))
    report = profile(Chain(steps), shape, batch=batch, mode=data.draw(st.sampled_from(["eval", "train"])))
    assert report.layers[0].output_shape == full
    assert report.uncounted_ops == {}
    assert report.totals.macs == 0 and report.totals.params == 0
    # one FLOP per output element and op, whatever broadcasts
    assert report.totals.flops == len(steps) * math.prod(full)


class Branching(nn.Module):
    def __init__(self, widths, join):
        super().__init__()
        self.branches = nn.ModuleList(nn.Conv2d(3, w, 3, padding=1) for w in widths)
        self.join = join

    def forward(self, x):
        outs = [branch(x) for branch in self.branches]
        if self.join == "cat":
            return torch.cat(outs, dim=1)
        total = outs[0]
        for other in outs[1:]:
            total = total + other
        return torch.relu(total)


@SETTINGS
@given(widths=st.lists(st.integers(1, 6), min_size=1, max_size=4), join=st.sampled_from(["cat", "add"]),
       depth=st.integers(0, 3), batch=st.integers(1, 3), mode=st.sampled_from(["eval", "train"]))
def test_rows_sum_to_totals_in_random_nets(widths, join, depth, batch, mode):
    if join == "add":
        widths = [widths[0]] * len(widths)
    width = sum(widths) if join == "cat" else widths[0]
    layers = [Branching(widths, join)] + [nn.Sequential(nn.Conv2d(width, width, 1), nn.ReLU()) for _ in range(depth)]
    report = profile(nn.Sequential(*layers), (3, 6, 6), batch=batch, mode=mode)
    assert sum(l.counted.own_macs for l in report.layers) == report.totals.macs
    assert sum(l.counted.own_flops for l in report.layers) == report.totals.flops
    assert sum(l.counted.own_params for l in report.layers) == report.totals.params
    leaf_and_own = sum(l.flops for l in report.layers if l.is_leaf) + \
        sum(l.counted.own_flops for l in report.layers if not l.is_leaf)
    assert leaf_and_own == report.totals.flops

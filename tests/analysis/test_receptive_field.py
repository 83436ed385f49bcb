"""Receptive fields held against closed forms, a gradient probe and torchscan."""

import itertools
import random

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from cnnstat.analysis import profile
from cnnstat.analysis.profiler import run_pass
from cnnstat.analysis.receptive_field import AxisField, ReceptiveFields

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
MAX_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVG_POOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
FUNCTIONAL_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def out_size(size, kernel, stride, padding, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class FunctionalConv(nn.Module):
    """A convolution called as a function, not through a Conv module."""

    def __init__(self, dims, channels, kernel, stride, padding, dilation):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(channels, channels, *[kernel] * dims) + 0.1)
        self.dims, self.stride, self.padding, self.dilation = dims, stride, padding, dilation

    def forward(self, x):
        return FUNCTIONAL_CONV[self.dims](x, self.weight, None, self.stride, self.padding, self.dilation)


@st.composite
def chains(draw):
    """A chain of convolutions (module and functional) and poolings that fits its input."""
    dims = draw(st.integers(1, 3))
    size = draw(st.integers(24, 64)) if dims < 3 else draw(st.integers(12, 20))
    layers, current = [], size
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "functional", "max", "avg"]))
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, 3))
        d = draw(st.integers(1, 3)) if kind in ("conv", "functional", "max") else 1
        p = draw(st.integers(0, k // 2))
        if current < d * (k - 1) + 1:  # torch wants the window inside the unpadded input
            break
        layers.append((kind, k, s, p, d))
        current = out_size(current, k, s, p, d)
    return dims, size, layers


def build_chain(dims, layers, channels=2):
    modules = []
    for kind, k, s, p, d in layers:
        if kind == "conv":
            modules.append(CONV[dims](channels, channels, k, s, p, d))
        elif kind == "functional":
            modules.append(FunctionalConv(dims, channels, k, s, p, d))
        elif kind == "max":
            modules.append(MAX_POOL[dims](k, s, p, d))
        else:
            modules.append(AVG_POOL[dims](k, s, p))
    return nn.Sequential(*modules)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_a_chain_has_the_closed_form_field(chain):
    """rf = 1 + sum (k_i - 1) d_i prod_{j<i} s_j, jump = prod s_i, start = -sum p_i prod_{j<i} s_j,
    and each layer's own extent is its dilated kernel."""
    dims, size, layers = chain
    report = profile(build_chain(dims, layers), (2, *[size] * dims))
    rf, jump, start = 1, 1, 0
    for (kind, k, s, p, d), record in zip(layers, report.layers[1:]):
        rf += (k - 1) * d * jump
        start -= p * jump
        jump *= s
        field = record.field_figures
        assert field.size == [rf] * dims and field.jump == [jump] * dims and field.start == [start] * dims
        assert field.kernel == [(k - 1) * d + 1] * dims and field.kernel_stride == [s] * dims
    root = report.layers[0].field_figures
    assert root.size == [rf] * dims and root.jump == [jump] * dims


# ---------------------------------------------------------------------------- gradient probe


class Residual(nn.Module):
    def __init__(self, dims, channels, k, dilation, stride):
        super().__init__()
        self.body = CONV[dims](channels, channels, k, stride, (k - 1) // 2 * dilation, dilation)
        self.shortcut = CONV[dims](channels, channels, 1, stride) if stride > 1 else nn.Identity()

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class Branches(nn.Module):
    """Inception: 1x1, 3x3, 5x5 and a 3x3 average pool side by side, concatenated."""

    def __init__(self, dims, channels):
        super().__init__()
        self.one = CONV[dims](channels, channels, 1)
        self.three = CONV[dims](channels, channels, 3, padding=1)
        self.five = CONV[dims](channels, channels, 5, padding=2)
        self.pool = AVG_POOL[dims](3, 1, 1)
        self.merge = CONV[dims](4 * channels, channels, 1)

    def forward(self, x):
        return self.merge(torch.cat([self.one(x), self.three(x), self.five(x), self.pool(x)], dim=1))


class GlobalMean(nn.Module):
    def forward(self, x):
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)


def random_net(rng: random.Random, dims: int, sizes: list[int], dilated: bool, channels: int = 2) -> nn.Module:
    """Chains, residuals (with strided projections), Inception branches, softplus and a global mean.

    Every window of the net holds at least one real position (the padding is at most half the
    window). ``dilated`` adds dilations, whose holes the field keeps; then strides divide what
    they slide over, since at a border a dilated window's padded taps would stand for pixels
    that no real position's field fills."""
    modules, current = [], list(sizes)
    for _ in range(rng.randint(2, 6)):
        kind = rng.choice(["conv", "conv", "avg", "residual", "branches", "softplus"])
        if kind in ("conv", "avg"):
            k = rng.randint(1, 4)
            s, d = rng.randint(1, k), rng.randint(1, 2) if kind == "conv" and dilated else 1
            p = rng.randint(0, (k - 1) * d // 2)
            if any(dilated and (n + 2 * p - d * (k - 1) - 1) % s or out_size(n, k, s, p, d) < 2 for n in current):
                continue
            modules.append(CONV[dims](channels, channels, k, s, p, d) if kind == "conv" else AVG_POOL[dims](k, s, p))
            current = [out_size(n, k, s, p, d) for n in current]
        elif kind == "residual":
            k, d = rng.choice([1, 3, 5]), rng.randint(1, 2) if dilated else 1
            s = 2 if (all(n % 2 for n in current) or not dilated) and min(current) > 2 else 1
            modules.append(Residual(dims, channels, k, d, s))
            current = [out_size(n, k, s, (k - 1) // 2 * d, d) for n in current]
        elif kind == "branches":
            modules.append(Branches(dims, channels))
        else:
            modules.append(nn.Softplus())  # a derivative that never vanishes (tanh saturates)
    if rng.random() < 0.2:
        modules.append(GlobalMean())
    net = nn.Sequential(*modules).double()
    with torch.no_grad():  # positive weights and inputs: no gradient cancels, so its support is exact
        for parameter in net.parameters():
            parameter.copy_(torch.rand_like(parameter) + 0.1)
    return net


def observed_field(net, x):
    fields = ReceptiveFields()
    run_pass(net, (x,), {}, training=False, backward=False, device=torch.device("meta"), dtype=None,
             model_name="probe", observers=[fields])
    return fields.output_fields[0]


def predicted_pixels(field, position, sizes):
    per_axis = []
    for axis, state in enumerate(field.axes):
        along = [d for d, held in enumerate(field.dims) if axis in held]
        index = position[along[0]] if along else 0
        per_axis.append(state.pixels(index, sizes[axis]))
    return set(itertools.product(*per_axis))


@pytest.mark.parametrize("seed", range(40))
def test_the_gradient_of_one_output_pixel_is_non_zero_on_its_field_only(seed):
    """Centre and corner pixels: the input pixels with a non-zero gradient are those the field
    predicts, clipped at the border; with dilations, the field's holes included."""
    rng = random.Random(seed)
    dims = rng.choice([1, 2, 2, 3])
    sizes = [rng.randint(9, 24) if dims < 3 else rng.randint(7, 11) for _ in range(dims)]
    dilated = seed % 3 == 0
    net = random_net(rng, dims, sizes, dilated)
    x = (torch.rand(1, 2, *sizes, dtype=torch.float64) + 0.1).requires_grad_()
    out = net(x)
    field = observed_field(net, x.detach())
    figures = profile(net, (2, *sizes), dtype=torch.float64).layers[0].field_figures
    corners = [[0, n // 2, n - 1] for n in out.shape[2:]]
    for position in itertools.product(*corners):
        (grad,) = torch.autograd.grad(out[(0, slice(None), *position)].sum(), x, retain_graph=True)
        seen = {tuple(p) for p in grad[0].abs().sum(0).nonzero().tolist()}
        assert seen == predicted_pixels(field, (0, 0, *position), sizes), (seed, position)
        for axis in range(dims):  # the reported figures: the same pixels' span, clipped
            low, high = min(p[axis] for p in seen), max(p[axis] for p in seen)
            end = sizes[axis] - 1 if figures.last_pixel[axis] is None else figures.last_pixel[axis]
            if figures.size[axis] is None:  # the whole input, as far as the net reads it
                assert (low, high) == (0, end)
                continue
            first = figures.start[axis] + position[axis] * figures.jump[axis]
            assert max(first, 0) <= low and high <= min(first + figures.size[axis] - 1, end)
            if not dilated:
                assert (low, high) == (max(first, 0), min(first + figures.size[axis] - 1, end))


def test_dilation_leaves_holes_that_the_size_spans():
    net = nn.Conv1d(1, 1, 3, dilation=4, padding=4).double()
    with torch.no_grad():
        net.weight.fill_(1.0)
    x = torch.ones(1, 1, 20, dtype=torch.float64)
    field = observed_field(net, x)
    assert field.axes[0] == AxisField(jump=1, start=-4, mask=0b100010001, high=19)
    assert field.axes[0].size == 9 and field.axes[0].pixels(0, 20) == [0, 4]


# ---------------------------------------------------------------------------- whole input, merges


def test_resnet18_reaches_the_whole_input_in_layer4_and_its_final_conv_field_is_435():
    report = profile("resnet18", (3, 224, 224))
    by_name = {layer.name: layer.field_figures for layer in report.layers if layer.call == 0}
    assert by_name["layer4"].size == [435, 435] and by_name["layer4"].jump == [32, 32]
    assert by_name["avgpool"].size == [None, None] and by_name["avgpool"].covers_input
    assert by_name["fc"].size == [None, None] and by_name["fc"].kernel is None
    assert by_name["layer2.0.downsample"].kernel == [1, 1] and by_name["layer2.0"].kernel == [7, 7]
    assert report.receptive_field.covers_at == "layer4.0.conv2"
    assert report.receptive_field.input_size == [224, 224]


def test_inception_branches_and_their_union():
    report = profile("block/inception_reduced", None)
    fields = {layer.name: layer.field_figures.size for layer in report.layers}
    assert fields["branch1"] == [1, 1] and fields["branch2"] == [3, 3] and fields["branch3"] == [5, 5]
    assert fields["branch4"] == [3, 3] and fields[""] == [5, 5]


def test_attention_and_squeeze_excitation_see_the_whole_input():
    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, 8, 4, 4)
            self.attention = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            tokens = self.patch(x).flatten(2).transpose(1, 2)
            return self.attention(tokens, tokens, tokens)[0]

    report = profile(Attend(), (3, 32, 32))
    assert {l.name: l.field_figures.size for l in report.layers} == {"": [None, None], "patch": [4, 4],
                                                                       "attention": [None, None]}
    se = profile("efficientnet_b0", (3, 64, 64))
    first_se = next(l for l in se.layers if l.name.endswith("block.2"))
    assert first_se.field_figures.size == [None, None]


def test_a_model_without_a_spatial_input_has_no_field():
    report = profile(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), (4,))
    assert report.receptive_field is None and all(l.field_figures is None for l in report.layers)


def test_an_op_without_a_rule_is_named_and_its_field_unknown():
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 3))
    report = profile(net, (1, 16, 16))
    assert report.layers[1].field_figures.size == [3, 3]
    assert report.layers[2].field_figures.size is None and report.layers[3].field_figures.size is None
    assert any("upsample_nearest2d" in note for note in report.notes)


# ---------------------------------------------------------------------------- torchscan


@pytest.mark.parametrize("name,size", [("resnet18", 64), ("vgg11", 64), ("googlenet", 96), ("mobilenet_v2", 64)])
def test_each_layers_own_extent_and_stride_equal_torchscans(name, size):
    """torchscan (0.2) reports a module's own field: a conv's or pooling's dilated kernel and its
    stride. Adaptive pooling it sizes as input/output, where cnnstat says "the whole input"."""
    torchscan = pytest.importorskip("torchscan")
    import cnnstat

    model = cnnstat.create_model(name)
    info = torchscan.crawl_module(model, (3, size, size))
    theirs = {layer["path"]: layer["metrics"] for layer in info["layers"]}
    report = profile(model, (3, size, size))
    modules = dict(model.named_modules())
    compared = 0
    for layer in report.layers:
        if not isinstance(modules[layer.name], (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) or layer.call:
            continue
        metrics = theirs[layer.name]
        assert layer.field_figures.kernel == [metrics["receptive_field"]["value"]] * 2, layer.name
        assert layer.field_figures.kernel_stride == [metrics["effective_stride"]["value"]] * 2, layer.name
        compared += 1
    assert compared >= 8


# ---------------------------------------------------------------------------- studies


def test_the_kernel_stack_sees_what_the_7x7_sees():
    from cnnstat.analysis.studies import run_study

    assert [row["output_field"] for row in run_study("kernel-stack").to_records()] == [[7, 7], [7, 7]]


def test_inception_shows_each_branch_field():
    from cnnstat.analysis.studies import run_study

    records = run_study("inception").to_records()
    assert records[0]["branch_fields"] is None
    assert records[2]["branch_fields"] == "branch1 1x1, branch2 3x3, branch3 5x5, branch4 3x3"
    assert [row["output_field"] for row in records] == [[5, 5]] * 3


def test_residual_nets_say_where_their_field_covers_the_input():
    from cnnstat.analysis.studies import run_study

    records = {row["model"]: row for row in run_study("basic-vs-bottleneck").to_records()}
    assert records["resnet18"]["covers_input_at"] == "layer4.0.conv2"
    assert records["resnet18"]["last_field"] == [435, 435]


def test_following_fields_keeps_no_tensor_alive():
    """The memory estimate follows tensor lifetimes: the observer must not extend any."""
    import cnnstat

    model = cnnstat.create_model("densenet121")
    x = torch.empty(1, 3, 64, 64, device="meta")
    peaks = [run_pass(model, (x,), {}, training=False, backward=False, device=torch.device("meta"), dtype=None,
                      model_name="densenet121", observers=observers).peak_bytes
             for observers in ([], [ReceptiveFields()])]
    assert peaks[0] == peaks[1]


def test_a_training_forward_shows_the_eval_fields_of_the_same_calls():
    """Inception v3's auxiliary head runs in training only: rows after it keep their own fields."""
    eval_fields = {(l.name, l.call): l.field_figures for l in profile("inception_v3", batch=2).layers}
    train = profile("inception_v3", batch=2, mode="train")
    assert any(l.name.startswith("AuxLogits") for l in train.layers)
    for layer in train.layers:
        assert layer.field_figures == eval_fields.get((layer.name, layer.call)), layer.name
    assert train.layers[-1].field_figures.kernel is None  # fc: no spatial input of its own
    assert train.receptive_field == profile("inception_v3", batch=2).receptive_field


class _RolledOverTheBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)

    def forward(self, x):
        return self.second(torch.roll(self.first(x), 1, dims=0))


def test_a_callers_field_rule_is_kept_by_op_packet_beside_the_others():
    """Field rules live in the op registry like cost and shape rules: a caller's rule for an op
    cnnstat has none for carries the field on; a second rule for an op raises."""
    from cnnstat.analysis.registry import DuplicateRule, OpRules

    assert profile(_RolledOverTheBatch(), (1, 16, 16), batch=2).layers[2].field_figures.size is None
    rules = OpRules()

    @rules.field(torch.ops.aten.roll)
    def rolled_over_the_batch(op):
        return [(op.out, op.field_of(op.args[0]))]

    assert profile(_RolledOverTheBatch(), (1, 16, 16), batch=2, rules=rules).layers[2].field_figures.size == [5, 5]
    taken = OpRules()
    taken.field(torch.ops.aten.convolution)(rolled_over_the_batch)
    with pytest.raises(DuplicateRule, match="receptive-field"):
        profile(_RolledOverTheBatch(), (1, 16, 16), rules=taken)

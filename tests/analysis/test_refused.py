"""Nonsense is refused in the library with a typed error that names what was wrong, and models
that crashed the analysis are counted or refused in one line: a rule's bad cost, a size that is
not a whole number, a CPU fallback that would not fit, a model with its own train(loader), a deep
chain, a module cycle, sys.exit in forward, torch.compile and activation checkpointing."""

import math
import sys

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from cnnstat.analysis import profile
from cnnstat.analysis.registry import Cost, OpRules
from cnnstat.errors import CnnstatError, ForwardError, InputSizeError, OutOfMemory


class Erfinv(nn.Module):
    def forward(self, x):
        return torch.erfinv(x)


def rules_returning(cost):
    rules = OpRules()

    @rules.cost(torch.ops.aten.erfinv)
    def erfinv(call):
        if isinstance(cost, Exception):
            raise cost
        return cost

    return rules


@pytest.mark.parametrize("cost", [Cost(-1, 0), Cost(0, math.nan), Cost(1.5, 3), Cost(0, math.inf), (1, 2, 3),
                                  Cost(True, 0), ValueError("no size")])
def test_a_cost_rule_must_give_two_non_negative_whole_numbers(cost):
    with pytest.raises(CnnstatError, match=r"^the cost rule for aten\.erfinv "):
        profile(Erfinv(), (4,), rules=rules_returning(cost))


def test_a_well_formed_rule_counts():
    assert profile(Erfinv(), (4,), batch=2, rules=rules_returning(Cost(0, 8))).totals.flops == 8
    with pytest.raises(CnnstatError, match="rules must be an OpRules"):
        profile(Erfinv(), (4,), rules={"erfinv": 1})


@pytest.mark.parametrize("size", [(3, 8.5, 8), (3, "8", 8), 3.0, (True, 8, 8), ((3, 8), (3, 0.5))])
def test_an_input_size_of_anything_but_whole_numbers_is_refused(size):
    with pytest.raises(InputSizeError, match="whole numbers"):
        profile(nn.Conv2d(3, 4, 3), size)


@pytest.mark.parametrize("options", [{"width_mult": 0}, {"width_mult": -1}, {"num_classes": 0}])
def test_numeric_options_no_model_could_mean_are_refused(options):
    with pytest.raises(CnnstatError, match="option"):
        profile("mobilenet_v2", options=options)


class NeedsValues(nn.Module):
    """Keeps the positive outputs of its convolution: meta cannot say how many."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.real_forwards = 0

    def forward(self, x):
        if not x.is_meta:
            self.real_forwards += 1
        y = self.conv(x)
        return y[y > 0].sum()


def test_the_cpu_fallback_is_refused_up_front_when_it_would_not_fit(monkeypatch):
    import cnnstat.analysis.measure as measure

    model = NeedsValues()
    assert "counted on the CPU" in " ".join(profile(model, (3, 8, 8)).notes)
    monkeypatch.setattr(measure, "free_bytes", lambda device: 1000)
    with pytest.raises(OutOfMemory, match="counting NeedsValues on the CPU .* needs about"):
        profile(model, (3, 64, 64))
    assert model.real_forwards == 0


class ReadsBeforeItsFirstConvolution(nn.Module):
    """Scales its image by a value read from it: the meta pass stops before the convolution."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.real_forwards = 0

    def forward(self, x):
        if not x.is_meta:
            self.real_forwards += 1
        return self.conv(x / float(x.abs().amax()))


def test_the_cpu_fallback_counts_the_first_convolution_it_did_not_reach(monkeypatch):
    """The meta pass held the 3x1000x1000 image and one temporary (23 MiB) when it stopped; on the
    CPU the convolution then writes its 8-channel output (30 MiB) and, beside it, oneDNN's blocked
    output of 16 channels (61 MiB): 48 MiB free is refused before any real forward."""
    import cnnstat.analysis.measure as measure
    from cnnstat.analysis.fallback import first_convolution_bytes

    model = ReadsBeforeItsFirstConvolution()
    positions = 998 * 998
    assert first_convolution_bytes(model, (torch.zeros(1, 3, 1000, 1000),), {}) == (8 + 16) * positions * 4
    assert first_convolution_bytes(model, (torch.zeros(1, 4, 10, 10),), {}) == 0  # no convolution takes 4 channels
    monkeypatch.setattr(measure, "free_bytes", lambda device: 48 * 2**20)
    with pytest.raises(OutOfMemory, match="counting ReadsBeforeItsFirstConvolution on the CPU .* needs about 0.10 GiB"):
        profile(model, (3, 1000, 1000))
    assert model.real_forwards == 0
    monkeypatch.setattr(measure, "free_bytes", lambda device: 2**30)
    profile(model, (3, 64, 64), channels_last=True)  # no blocked copies in channels_last: nothing added


class OwnTrain(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def train(self, loader):  # a training loop, not Module.train(mode)
        raise AssertionError("cnnstat called the model's own train()")

    def forward(self, x):
        return self.proj(x)


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_model_with_its_own_train_method_is_counted(device, mode):
    model = OwnTrain()
    assert profile(model, (4,), device=device, mode=mode).totals.macs == 16 and model.training


def test_a_200_deep_chain_is_counted():
    model = nn.Linear(4, 4)
    for _ in range(200):
        model = nn.Sequential(model)
    limit = sys.getrecursionlimit()
    report = profile(model, (4,), mode="train")
    assert report.totals.macs == 16 and len(report.layers) == 201 and sys.getrecursionlimit() == limit


class ChildKeepsParent(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(4, 4))
        self.block[0].owner = self  # registered: a cycle in the module graph

    def forward(self, x):
        return self.block(x)


def test_a_module_cycle_is_refused_in_one_line():
    with pytest.raises(CnnstatError, match=r"^ChildKeepsParent: submodule block\.0\.owner is the model itself.*cycle"):
        profile(ChildKeepsParent(), (4,))


class Exits(nn.Module):
    def forward(self, x):
        sys.exit(3)


def test_sys_exit_in_forward_is_a_forward_error():
    with pytest.raises(ForwardError, match=r"the model called sys\.exit\(3\)"):
        profile(Exits(), (4,))


class Checkpointed(nn.Module):
    def __init__(self, reentrant):
        super().__init__()
        self.first, self.second = nn.Linear(8, 8), nn.Linear(8, 8)
        self.reentrant = reentrant

    def forward(self, x):
        x = x.requires_grad_()
        if self.reentrant is None:
            return self.second(self.first(x))
        return self.second(checkpoint(self.first, x, use_reentrant=self.reentrant))


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpointed_models_are_counted(reentrant):
    plain = profile(Checkpointed(None), (8,), mode="train")
    report = profile(Checkpointed(reentrant), (8,), mode="train")
    assert report.totals.macs == plain.totals.macs == 128
    # A reentrant checkpoint runs the layer's forward again in the backward: backward work. The
    # other kind recomputes only the saved tensors it needs, and a linear layer saves its inputs.
    assert report.totals.backward_macs == plain.totals.backward_macs + (64 if reentrant else 0)


@pytest.mark.slow  # torch.compile imports torch._dynamo: 7 s, which no other test pays
def test_a_compiled_model_is_counted():
    compiled = profile(torch.compile(nn.Linear(8, 8)), (8,), mode="train")
    assert (compiled.totals.macs, compiled.totals.backward_macs) == (64, 64)  # the weight's gradient


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_model_with_its_own_train_method_is_measured(mode):
    from cnnstat.analysis.measure import measure

    model = OwnTrain()
    measured = measure(model, (torch.randn(2, 4),), mode=mode, min_run_time=0.01, per_layer=False)
    assert measured.latency_ms > 0 and model.training

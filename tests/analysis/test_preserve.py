"""After profile() (and an eval measurement) every module's attributes, buffers, parameters,
hooks, flags and class are as they were, and the model's next real forward gives what it gave
before: checked on models that cache in forward, build state lazily, count calls, are
parametrized, share weights or carry a user's hook."""

import math

import pytest
import torch
import torch.nn.utils.parametrize as parametrize
from torch import nn

from cnnstat.analysis import profile
from cnnstat.analysis.measure import measure
from cnnstat.analysis.preserve import left_as_found


class CausalMaskCache(nn.Module):
    """GPT-style: the causal mask is built on first use and kept for the next call."""

    input_size = (8, 16)

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 16)
        self.mask = None

    def forward(self, x):
        length = x.shape[1]
        if self.mask is None or self.mask.shape[0] < length:
            self.mask = torch.tril(torch.ones(length, length, device=x.device, dtype=torch.bool))
        scores = (x @ x.transpose(1, 2)).masked_fill(~self.mask[:length, :length], -math.inf)
        return self.proj(scores.softmax(-1) @ x)


class LazyBuffer(nn.Module):
    """A positional table registered as a buffer on the first forward, then replaced if too short."""

    input_size = (8, 16)

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 16)

    def forward(self, x):
        if not hasattr(self, "positions") or self.positions.shape[0] < x.shape[1]:
            self.register_buffer("positions", torch.arange(x.shape[1], device=x.device).float()[:, None])
        return self.proj(x + self.positions)


class Counting(nn.Module):
    """Counts its calls in an int and in a tensor written in place; makes a submodule lazily."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(16, 16)
        self.calls = 0
        self.seen = torch.zeros(1)

    def forward(self, x):
        self.calls += 1
        self.seen += 1
        if not hasattr(self, "head"):
            self.head = nn.Linear(16, 4).to(x.device)
        return self.head(self.body(x))


class Symmetric(nn.Module):
    def forward(self, weight):
        return weight.triu() + weight.triu(1).transpose(0, 1)


def parametrized():
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
    parametrize.register_parametrization(model[0], "weight", Symmetric())
    return model


def weight_shared():
    model = nn.Sequential(nn.Linear(16, 16, bias=False), nn.Tanh(), nn.Linear(16, 16, bias=False))
    model[2].weight = model[0].weight
    return model


def hooked():
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
    model.calls_seen = []
    model.handle = model.register_forward_hook(lambda module, args, output: model.calls_seen.append(1))
    return model


MODELS = {"causal mask cache": CausalMaskCache, "lazy buffer": LazyBuffer, "counting": Counting,
          "parametrized": parametrized, "weight shared": weight_shared, "hooked": hooked}


def fingerprint(model: nn.Module):
    """Everything a pass could change, as comparable values (identities for objects)."""
    state = []
    for name, module in model.named_modules():
        entries = {}
        for key, value in module.__dict__.items():
            if isinstance(value, dict):
                entries[key] = [(k, id(v)) for k, v in value.items()]
            elif isinstance(value, (set, list)):
                entries[key] = sorted(map(id, value)) if isinstance(value, list) else sorted(value)
            elif isinstance(value, torch.Tensor):
                entries[key] = (id(value), value.device.type, value.tolist())
            else:
                entries[key] = id(value) if not isinstance(value, (int, float, bool, str)) else value
        state.append((name, type(module), entries))
    grads = [(name, p.requires_grad, p.device.type) for name, p in model.named_parameters()]
    return state, grads


def real_forward(model):
    torch.manual_seed(1)
    return model(torch.randn(2, 8, 16))


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_profile_leaves_the_model_as_found(kind, mode):
    torch.manual_seed(0)
    model = MODELS[kind]().eval()
    expected = real_forward(model)  # whatever the first forward caches is part of the state found
    before = fingerprint(model)
    report = profile(model, (8, 16), batch=2, mode=mode)
    assert report.totals.macs > 0
    assert fingerprint(model) == before
    torch.testing.assert_close(real_forward(model), expected)


@pytest.mark.parametrize("kind", ["causal mask cache", "lazy buffer", "counting"])
def test_a_model_never_run_stays_unrun(kind):
    """The pass's forward is the first: nothing it made (on meta) stays behind."""
    model = MODELS[kind]()
    before = fingerprint(model)
    profile(model, (8, 16), batch=2)
    assert fingerprint(model) == before
    assert real_forward(model).device.type == "cpu"


def test_a_users_hook_handle_still_removes_its_hook():
    model = hooked()
    profile(model, (8, 16))
    model.calls_seen.clear()
    real_forward(model)
    assert model.calls_seen == [1]
    model.handle.remove()
    real_forward(model)
    assert model.calls_seen == [1]


def test_an_eval_measurement_leaves_the_model_as_found():
    model = Counting()
    real_forward(model)
    before = fingerprint(model)
    measure(model, (torch.randn(2, 8, 16),), min_run_time=0.01, per_layer=True)
    assert fingerprint(model) == before


def test_restored_even_when_the_block_fails():
    model = CausalMaskCache()
    before = fingerprint(model)
    with pytest.raises(RuntimeError, match="boom"), left_as_found(model):
        model(torch.randn(1, 4, 16))
        model.extra = 1
        raise RuntimeError("boom")
    assert fingerprint(model) == before and model.mask is None


CACHING_CONVNET = '''
import torch
from torch import nn


class CachedScale(nn.Module):
    input_size = (3, 8, 8)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.scale = None

    def forward(self, x):
        if self.scale is None:
            self.scale = torch.ones(1, 4, 1, 1, device=x.device)
        return self.conv(x) * self.scale
'''


def test_crosscheck_of_a_model_that_caches_in_forward(tmp_path, monkeypatch):
    """The other counters run the real forward after ours: it meets the real model, not meta leftovers."""
    from cnnstat.analysis.crosscheck import crosscheck

    (tmp_path / "caching.py").write_text(CACHING_CONVNET)
    monkeypatch.chdir(tmp_path)
    result = crosscheck("caching.py:CachedScale")
    conv_macs = 4 * 3 * 9 * 6 * 6
    assert result.totals.macs == conv_macs and result.tools
    assert all(comparison.explained for row in result.rows for comparison in row.tools.values())


# -- state a forward reaches outside the module's own attributes -----------------------------------

import collections  # noqa: E402
import random  # noqa: E402
import types  # noqa: E402

import numpy  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.utils.checkpoint import checkpoint  # noqa: E402

SEEN_BY_EVERY_FORWARD = []
"""A module-level list a forward appends to."""


REMEMBERED = []
"""A module-level list that only helper functions of this file touch, never a forward itself."""


def remember(y):
    _keep(y)  # a helper calling a helper


def _keep(y):
    REMEMBERED.append(y.detach())


def recalled(y):
    return REMEMBERED[-1] if REMEMBERED and REMEMBERED[-1].shape == y.shape else 0


class KeepsHistory(nn.Module):
    """Keeps what it computed in a deque, a list inside a dict, a SimpleNamespace, a
    module-level list and one only its helper functions touch, and reads it back in the next
    forward."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 16)
        self.recent = collections.deque(maxlen=2)
        self.cache = {"outputs": []}
        self.last = types.SimpleNamespace(output=None)

    def forward(self, x):
        y = self.proj(x)
        for earlier in (*self.recent, *self.cache["outputs"][-1:], self.last.output):
            if earlier is not None and earlier.shape == y.shape:
                y = y + earlier
        y = y + recalled(y)
        remember(y)
        self.recent.append(y.detach())
        self.cache["outputs"].append(y.detach())
        self.last.output = y.detach()
        SEEN_BY_EVERY_FORWARD.append(y.detach())
        return y


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("warmed", [False, True])
def test_state_a_forward_reaches_is_put_back(device, warmed):
    model = KeepsHistory()
    if warmed:
        real_forward(model)
    found = (list(model.recent), list(model.cache["outputs"]), model.last.output, list(SEEN_BY_EVERY_FORWARD),
             list(REMEMBERED))
    profile(model, (8, 16), batch=2, device=device, mode="train")
    now = (list(model.recent), list(model.cache["outputs"]), model.last.output, list(SEEN_BY_EVERY_FORWARD),
           list(REMEMBERED))
    assert all(a is b for a, b in zip(found[0] + found[1] + found[3] + found[4], now[0] + now[1] + now[3] + now[4]))
    assert [len(part) for part in (found[0], found[1], found[3], found[4])] == \
        [len(part) for part in (now[0], now[1], now[3], now[4])]
    assert now[2] is found[2] and model.recent.maxlen == 2
    assert real_forward(model).device.type == "cpu"  # the next real forward reads no meta tensor


class HoldsManyObjects(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.data = [[index] for index in range(100_001)]

    def forward(self, x):
        return self.proj(x)


def test_a_walk_cut_short_says_so():
    cut_short = "forward can reach more than 100,000 Python objects"
    assert cut_short in " ".join(profile(HoldsManyObjects(), (4,)).notes)
    assert cut_short not in " ".join(profile(nn.Linear(4, 4), (4,)).notes)


class CheckpointedReentrant(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(16, 16)
        self.second = nn.Linear(16, 16)

    def forward(self, x):
        return self.second(checkpoint(self.first, x.requires_grad_(), use_reentrant=True))


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_reentrant_checkpoint_leaves_no_gradient(device):
    """Its backward runs the forward again: under the pass, on the stand-ins, not the parameters."""
    model = CheckpointedReentrant()
    report = profile(model, (8, 16), batch=2, device=device, mode="train")
    assert all(p.grad is None for p in model.parameters())
    assert report.totals.backward_macs > 0
    assert real_forward(model).device.type == "cpu"


class Random(nn.Module):
    """Draws from every global generator a forward may use."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.proj = nn.Linear(16, 16)

    def forward(self, x):
        scale = random.random() + float(numpy.random.rand())
        return self.drop(self.proj(x)) * scale + torch.rand_like(x)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_profiling_draws_nothing_from_the_global_generators(device):
    model = Random()
    found = torch.get_rng_state(), random.getstate(), numpy.random.get_state()[1].copy()
    profile(model, (8, 16), device=device, mode="train")
    assert torch.equal(found[0], torch.get_rng_state())
    assert found[1] == random.getstate() and (found[2] == numpy.random.get_state()[1]).all()


# -- the property: any small model built from these layers is left as found --------------------------

LAYERS = {
    "conv": lambda: nn.Conv2d(4, 4, 3, padding=1),
    "batchnorm": lambda: nn.BatchNorm2d(4),
    "relu": lambda: nn.ReLU(),
    "dropout": lambda: nn.Dropout(0.3),
    "history": lambda: History(),
    "counter": lambda: CallCounter(),
    "frozen conv": lambda: nn.Conv2d(4, 4, 1).requires_grad_(False),
    "checkpointed": lambda: Checkpointed(),
}


class History(nn.Module):
    def __init__(self):
        super().__init__()
        self.kept = {"seen": collections.deque(maxlen=3)}

    def forward(self, x):
        self.kept["seen"].append(x.detach())
        return x + torch.randn_like(x) * 0.0


class CallCounter(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = types.SimpleNamespace(n=0, shapes=[])
        self.register_buffer("total", torch.zeros(1))

    def forward(self, x):
        self.calls.n += 1
        self.calls.shapes.append(tuple(x.shape))
        self.total += 1
        return x


class Checkpointed(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return checkpoint(self.conv, x, use_reentrant=x.requires_grad) if torch.is_grad_enabled() else self.conv(x)


def everything_reachable(model: nn.Module):
    """Parameters, buffers, .grad, hooks, training flags, reachable Python state, as values."""
    state = []
    for name, module in model.named_modules():
        state.append((name, type(module), module.training, len(module._forward_hooks), len(module._forward_pre_hooks)))
        if isinstance(module, History):
            state.append([t.device.type for t in module.kept["seen"]])
        if isinstance(module, CallCounter):
            state.append((module.calls.n, list(module.calls.shapes)))
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        state.append((name, tensor.device.type, tensor.requires_grad, tensor.grad is None, tensor.tolist()))
    return state


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(sorted(LAYERS)), min_size=1, max_size=5), mode=st.sampled_from(["eval", "train"]),
       device=st.sampled_from(["meta", "cpu"]), training=st.booleans(), warmed=st.booleans())
def test_any_model_of_these_layers_is_left_as_found(kinds, mode, device, training, warmed):
    torch.manual_seed(0)
    model = nn.Sequential(*(LAYERS[kind]() for kind in kinds)).train(training)
    model.register_forward_hook(lambda module, args, output: None)
    if warmed:
        model(torch.randn(2, 4, 6, 6))
    before = everything_reachable(model)
    generators = torch.get_rng_state(), random.getstate()
    profile(model, (4, 6, 6), batch=2, device=device, mode=mode)
    assert everything_reachable(model) == before
    assert torch.equal(generators[0], torch.get_rng_state()) and generators[1] == random.getstate()
    assert model(torch.randn(2, 4, 6, 6)).device.type == "cpu"


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_measurement_draws_nothing_from_the_global_generators(mode):
    from cnnstat.analysis.measure import measure_report

    model = Random()
    inputs = (torch.randn(2, 8, 16),)
    found = torch.get_rng_state(), random.getstate(), numpy.random.get_state()[1].copy()
    measure(model, inputs, mode=mode, min_run_time=0.01, per_layer=False)
    measure_report(profile("cifar_lenet", mode=mode), torch.device("cpu"), min_run_time=0.01, per_layer=False)
    assert torch.equal(found[0], torch.get_rng_state())
    assert found[1] == random.getstate() and (found[2] == numpy.random.get_state()[1]).all()

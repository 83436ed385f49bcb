"""The op registry: one rule of a kind per op, extendable by a caller, costs per op on each row."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import flop_registry

import cnnstat
from cnnstat.analysis.registry import Cost, DuplicateRule, OpCall, OpRules
from cnnstat.analysis.rules import OP_RULES

aten = torch.ops.aten


def test_a_second_rule_for_an_op_raises():
    rules = OpRules()
    rules.cost(aten.erfinv)(lambda call: Cost(0, 1))
    with pytest.raises(DuplicateRule, match="erfinv"):
        rules.cost(aten.erfinv)(lambda call: Cost(0, 2))
    with pytest.raises(DuplicateRule):  # one overload of an op with a rule for all of them
        rules.cost(aten.erfinv.default)(lambda call: Cost(0, 2))
    rules.shape(aten.mean.dim)(lambda *args: None)
    rules.shape(aten.mean.default)(lambda *args: None)  # another overload: fine
    with pytest.raises(DuplicateRule):
        rules.shape(aten.mean)(lambda *args: None)
    with pytest.raises(DuplicateRule, match="convolution"):  # a caller's rule for an op cnnstat covers
        own = OpRules()
        own.cost(aten.convolution)(lambda call: Cost(0, 0))
        OP_RULES.extended(own)


class Erf(nn.Module):
    def forward(self, x):
        return torch.special.erfinv(x.clamp(-0.5, 0.5)) * 2


def test_a_caller_extends_the_rules():
    x = torch.rand(3, 5)
    plain = cnnstat.profile(Erf(), inputs=x, device="cpu")
    assert plain.uncounted_ops == {"aten.erfinv": 1}
    mine = OpRules()

    @mine.cost(aten.erfinv)
    def erfinv_cost(call):
        return Cost(macs=0, flops=10 * call.out.numel())

    extended = cnnstat.profile(Erf(), inputs=x, device="cpu", rules=mine)
    assert extended.uncounted_ops == {}
    assert extended.totals.flops == plain.totals.flops + 10 * 15
    assert extended.layers[0].counted.forward_ops["aten.erfinv"].flops == 150
    assert cnnstat.profile(Erf(), inputs=x, device="cpu").uncounted_ops == {"aten.erfinv": 1}  # defaults untouched


def test_each_row_shows_its_cost_per_op():
    report = cnnstat.profile("resnet18", mode="train")
    for layer in report.layers:
        assert sum(t.macs for t in layer.counted.forward_ops.values()) == layer.counted.own_macs
        assert sum(t.flops for t in layer.counted.forward_ops.values()) == layer.counted.own_flops
        assert sum(t.macs for t in layer.counted.backward_ops.values()) == layer.counted.own_backward_macs
    conv = next(layer for layer in report.layers if layer.type == "Conv2d")
    assert conv.counted.forward_ops["aten.convolution"].calls == 1
    assert set(conv.counted.backward_ops) == {"aten.convolution_backward"}
    bn = next(layer for layer in report.layers if layer.type == "BatchNorm2d")
    assert set(bn.counted.backward_ops) == {"aten.native_batch_norm_backward"}


FORWARD_COMPATIBLE = textwrap.dedent("""
    import json

    import torch
    from torch import nn
    from torch.utils.flop_counter import register_flop_formula

    aten = torch.ops.aten

    # What a newer torch may do: add formulas, one for an op cnnstat has its own rule for.
    @register_flop_formula(aten.relu)
    def relu_flop(x_shape, *args, out_shape=None, **kwargs):
        return 10**9

    @register_flop_formula(aten.erfinv)
    def erfinv_flop(x_shape, *args, out_shape=None, **kwargs):
        return 14 * x_shape.numel()

    import cnnstat

    class Net(nn.Module):
        def forward(self, x):
            return torch.special.erfinv(torch.relu(x))

    layer = cnnstat.profile(Net(), inputs=torch.rand(3, 5), device="cpu").layers[0]
    print(json.dumps({op: [tally.macs, tally.flops] for op, tally in layer.counted.forward_ops.items()}))
""")


def test_a_newer_torchs_formulas_do_not_break_counting():
    """A torch formula registered before cnnstat's rules load (as a new torch release ships one,
    as 2.15 did for the CPU flash attention): for an op cnnstat rules, cnnstat's rule stays
    (ReLU: 1 FLOP per element); for an op cnnstat has no rule for, torch's formula counts it."""
    result = subprocess.run([sys.executable, "-c", FORWARD_COMPATIBLE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"aten.relu": [0, 15], "aten.erfinv": [7 * 15, 14 * 15]}


def _meta(*shape):
    return torch.empty(shape, device="meta")


q, k, v = _meta(2, 4, 10, 8), _meta(2, 4, 12, 8), _meta(2, 4, 12, 8)
BOTH = [  # ops cnnstat rules that torch has (or may get) a formula for: (op, args, out)
    ("mm", (_meta(8, 16), _meta(16, 4)), _meta(8, 4)),
    ("addmm", (_meta(4), _meta(8, 16), _meta(16, 4)), _meta(8, 4)),
    ("bmm", (_meta(2, 8, 16), _meta(2, 16, 4)), _meta(2, 8, 4)),
    ("baddbmm", (_meta(2, 8, 4), _meta(2, 8, 16), _meta(2, 16, 4)), _meta(2, 8, 4)),
    ("_scaled_dot_product_flash_attention_for_cpu", (q, k, v, 0.0, False), (_meta(2, 4, 10, 8), _meta(2, 4, 10))),
    ("_scaled_dot_product_flash_attention_for_cpu_backward",
     (_meta(2, 4, 10, 8), q, k, v, _meta(2, 4, 10, 8), _meta(2, 4, 10), 0.0, False), (q, k, v)),
]


@pytest.mark.parametrize("name, args, out", BOTH, ids=[name for name, _, _ in BOTH])
def test_our_rule_and_torchs_formula_count_the_same_macs(name, args, out):
    """Where torch has a formula for an op cnnstat rules itself, both count the same MACs (torch
    gives 2 FLOPs per MAC); the exception, convolution_backward's grouped weight gradient, is
    is held to the real autograd graph in test_conv_backward.py."""
    packet = getattr(aten, name)
    theirs = flop_registry.get(packet)
    if theirs is None:
        pytest.skip(f"torch {torch.__version__} has no formula for {name}")
    ours = OP_RULES.lookup(packet.default)[0](OpCall(packet.default, args, {}, out, training=False))
    assert 2 * ours.macs == theirs(*args, out_val=out)

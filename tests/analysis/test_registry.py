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
from cnnstat.analysis.rules import RULES

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
        RULES.extended(own)


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
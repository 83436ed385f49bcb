"""Every op is charged to the module and phase it ran in, whatever the caller's grad mode; a
failed backward is a note in eval."""

import pytest
import torch
from torch import nn

import cnnstat
from cnnstat.analysis.profiler import BackwardError


@pytest.mark.parametrize("grad_mode", [torch.inference_mode, torch.no_grad, torch.enable_grad])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_counts_are_the_same_in_any_grad_mode(grad_mode, mode):
    expected = cnnstat.profile("resnet18", mode=mode)
    with grad_mode():
        report = cnnstat.profile("resnet18", mode=mode)
        with_inputs = cnnstat.profile(nn.Sequential(nn.Conv2d(3, 4, 3)), inputs=torch.randn(1, 3, 8, 8),
                                      mode=mode, device="cpu")
    assert report.totals == expected.totals
    assert [(r.macs, r.backward_macs) for r in report.layers] == [(r.macs, r.backward_macs) for r in expected.layers]
    assert with_inputs.totals.macs == 4 * 3 * 9 * 36 and with_inputs.totals.backward_macs == 4 * 3 * 9 * 36


def _mix(module, args):
    (x,) = args
    return (torch.cat([x, x], dim=1) @ module.mixing + x.erfinv(),)


def test_work_in_a_root_pre_hook_is_the_roots_forward_work():
    model = nn.Sequential(nn.Linear(4, 4))
    model.mixing = nn.Parameter(torch.ones(8, 4))
    handle = model.register_forward_pre_hook(_mix)
    try:
        report = cnnstat.profile(model, inputs=torch.rand(3, 4) - 0.5, device="cpu", mode="train")
        assert list(model._forward_pre_hooks.values()) == [_mix]  # ours gone, the model's kept
    finally:
        handle.remove()
    root, linear = report.layers
    assert root.counted.own_macs == 3 * 8 * 4  # the hook's matmul
    assert report.totals.macs == 3 * 8 * 4 + 3 * 4 * 4
    assert root.counted.forward_ops["aten.mm"].macs == 3 * 8 * 4
    assert report.uncounted_ops == {"aten.erfinv": 1}  # listed, not dropped
    # Backward: the linear's input and weight gradients, and the gradient of the hook's
    # parameter (the model's input needs none).
    assert linear.backward_macs == 2 * 3 * 4 * 4
    assert root.counted.own_backward_macs == 3 * 8 * 4
    assert report.totals.backward_macs == 2 * 3 * 4 * 4 + 3 * 8 * 4


class InPlaceOnSaved(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 8)

    def forward(self, x):
        y = torch.sigmoid(self.linear(x))
        y.add_(1)  # sigmoid saved its output for backward
        return y


class ItemInBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * grad.sum().item()


class CallsItem(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 8)

    def forward(self, x):
        return ItemInBackward.apply(self.linear(x))


@pytest.mark.parametrize("model", [InPlaceOnSaved(), CallsItem()], ids=lambda m: type(m).__name__)
def test_a_failed_backward_is_a_note_in_eval_and_an_error_in_train(model):
    report = cnnstat.profile(model, input_size=(3, 8), batch=2)
    assert report.totals.flops > 0 and report.totals.backward_macs is None
    assert report.totals.est_peak_training_bytes is None
    assert any("the backward pass failed" in note for note in report.notes)
    with pytest.raises(BackwardError, match="backward pass failed"):
        cnnstat.profile(model, input_size=(3, 8), batch=2, mode="train")

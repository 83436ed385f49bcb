"""CIFAR ResNets and Shake-Shake: the exact counts we register round to the papers' figures,
option A shortcuts add no parameters, and the shake mixes as the paper says."""

import pytest
import torch

from cnnstat.zoo import create_model, get_entry
from cnnstat.zoo.cifar import _ShakeShake


def rounds_to(count: int, millions: str) -> bool:
    decimals = len(millions.partition(".")[2])
    return f"{count / 1e6:.{decimals}f}" == millions


@pytest.mark.parametrize("name, millions", [
    # ResNet paper, Table 6.
    ("cifar_resnet20", "0.27"),
    ("cifar_resnet32", "0.46"),
    ("cifar_resnet44", "0.66"),
    ("cifar_resnet56", "0.85"),
    ("cifar_resnet110", "1.7"),
    # Shake-Shake paper, Table 1.
    ("shake_shake26_2x32d", "2.9"),
    ("shake_shake26_2x64d", "11.7"),
    ("shake_shake26_2x96d", "26.2"),
])
def test_registered_count_rounds_to_paper(name, millions):
    with torch.device("meta"):
        model = create_model(name)
    count = sum(p.numel() for p in model.parameters())
    assert count == get_entry(name).num_params
    assert rounds_to(count, millions)


def test_option_a_shortcuts_have_no_parameters():
    model = create_model("cifar_resnet20")
    kernels = {m.kernel_size for m in model.modules() if isinstance(m, torch.nn.Conv2d)}
    assert kernels == {(3, 3)}
    assert tuple(model(torch.randn(1, 3, 32, 32)).shape) == (1, 10)


def test_shake_forward_alpha_and_backward_beta_are_independent_per_image():
    torch.manual_seed(0)
    ones = torch.ones(4, 2, 3, 3, requires_grad=True)
    zeros = torch.zeros(4, 2, 3, 3, requires_grad=True)
    alpha = _ShakeShake.apply(ones, zeros)
    alpha.sum().backward()
    beta = ones.grad
    for per_image in (alpha, beta):
        assert torch.all(per_image == per_image[:, :1, :1, :1])  # one coefficient per image
        assert torch.all((0 <= per_image) & (per_image <= 1))
    assert torch.allclose(ones.grad + zeros.grad, torch.ones_like(beta))
    assert not torch.allclose(alpha.detach(), beta)


def test_shake_shake_eval_is_deterministic_train_is_not():
    torch.manual_seed(0)
    model = create_model("shake_shake26_2x32d")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(x), model(x))
        model.train()
        assert not torch.allclose(model(x), model(x))
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())

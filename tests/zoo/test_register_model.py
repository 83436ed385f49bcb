"""A user's own builder joins the registry as a callable, directly or as a decorator (timm and
torchvision style), and is then built, profiled and listed like a zoo model."""

import pytest
from torch import nn

from cnnstat.analysis import profile
from cnnstat.zoo import _registry, create_model, get_entry, list_models, register_model


@pytest.fixture(autouse=True)
def restore_registry(monkeypatch):
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))


def tiny_net(num_classes: int = 10, width: int = 4) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(width, num_classes))


TINY_PARAMS = 3 * 4 * 9 + 4 + 4 * 10 + 10


def test_a_callable_registered_directly_is_built_and_profiled():
    entry = register_model("my_tiny", tiny_net, input_size=(3, 16, 16), num_classes=10)
    assert entry is get_entry("my_tiny") and entry.family == "custom" and entry.paper is None
    assert "my_tiny" in list_models("my_*")
    assert sum(p.numel() for p in create_model("my_tiny").parameters()) == TINY_PARAMS
    report = profile("my_tiny")
    assert report.input_shape == (1, 3, 16, 16) and report.totals.params == TINY_PARAMS
    # conv: 4 x 3 x 9 per output pixel of 14x14; linear 4 x 10
    assert report.totals.macs == 4 * 3 * 9 * 14 * 14 + 4 * 10
    assert profile("my_tiny", options={"width": 8}).totals.params == 3 * 8 * 9 + 8 + 8 * 10 + 10


def test_decorator_forms_return_the_function_unchanged():
    def sized():
        return tiny_net()
    sized.input_size = (3, 8, 8)
    assert register_model(sized) is sized

    @register_model("named_net", input_size=(3, 12, 12), family="mine")
    def anything():
        return tiny_net()

    assert callable(anything) and anything.__name__ == "anything"
    assert get_entry("sized").input_size == (3, 8, 8)
    assert get_entry("named_net").family == "mine" and profile("named_net").input_shape == (1, 3, 12, 12)
    with pytest.raises(ValueError, match="needs input_size"):
        @register_model  # a bare decorator on a function that declares no input size
        def unsized():
            return tiny_net()
    assert "unsized" not in list_models()


def test_mistakes_are_refused_at_registration():
    register_model("taken", tiny_net, input_size=(3, 8, 8))
    with pytest.raises(ValueError, match="already registered"):
        register_model("taken", tiny_net, input_size=(3, 8, 8))
    with pytest.raises(ValueError, match="already registered"):
        register_model("resnet18", tiny_net, input_size=(3, 8, 8))
    with pytest.raises(ValueError, match="needs input_size"):
        register_model("no_size", tiny_net)
    with pytest.raises(TypeError, match="must be a callable"):
        register_model("not_callable", 42, input_size=(3, 8, 8))
    with pytest.raises(ValueError, match="without ':'"):
        register_model("pkg:net", tiny_net, input_size=(3, 8, 8))

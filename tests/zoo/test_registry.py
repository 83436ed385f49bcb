import pytest

from cnnstat.errors import UnknownModelError
from cnnstat.zoo import _registry, create_model, get_entry, list_models, register_model
from cnnstat.zoo._catalog import RESNET


def test_natural_sort_and_fnmatch():
    names = list_models("resnet*")
    assert names == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert list_models(family="vgg")[:2] == ["vgg11", "vgg11_bn"]


def test_duplicate_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_model("resnet50", "resnet:resnet50", family="resnet", paper=RESNET,
                       input_size=(3, 224, 224), num_params=1)
    with pytest.raises(ValueError, match="already registered"):
        register_model("mobilenet", "mobilenet:mobilenet_v1", family="mobilenet", paper=RESNET,
                       input_size=(3, 224, 224), num_params=1)


def test_unknown_name_lists_closest():
    with pytest.raises(UnknownModelError, match="resnet50") as error:
        get_entry("resnet05")
    assert "did you mean" in str(error.value)


def test_alias_resolves():
    assert get_entry("mobilenet").name == "mobilenet_v1"


def test_every_entry_names_a_builder_that_exists():
    for name in list_models():
        entry = get_entry(name)
        assert callable(entry.build_function()), name
        assert entry.paper.title and entry.paper.year > 1990
        assert len(entry.input_size) == 3


def test_registry_is_private_state_only():
    # create_model must not register anything as a side effect
    before = dict(_registry._REGISTRY)
    create_model("cifar_linear")
    assert _registry._REGISTRY == before

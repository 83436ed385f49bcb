"""Every registered model: parameter count equals its published figure, and a forward
pass at its default input gives (batch, num_classes), on meta and (small ones) on CPU."""

import csv

import pytest
import torch

from cnnstat.zoo import create_model, get_entry, list_models
from tests.conftest import REFERENCE

SMALL_ON_CPU = 30_000_000  # params; bigger nets run on meta only, to keep CI short
# Blocks output feature maps, not (batch, num_classes); tests/zoo/test_blocks.py checks them.
CLASSIFIERS = [n for n in list_models() if get_entry(n).family != "block"]


def reference_rows():
    path = REFERENCE / "models.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def count_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", list_models())
def test_params_equal_published(name):
    entry = get_entry(name)
    with torch.device("meta"):
        model = create_model(name)
    assert count_params(model) == entry.num_params


@pytest.mark.skipif(not (REFERENCE / "models.csv").exists(), reason="../shared/reference is absent")
@pytest.mark.parametrize("row", reference_rows(), ids=lambda row: row["model"])
def test_entry_carries_reference_figures(row):
    entry = get_entry(row["model"])
    assert entry.num_params == int(row["params"])
    assert entry.family == row["family"]
    assert "x".join(map(str, entry.input_size)) == row["input"]
    if row["gmacs"]:
        assert entry.gmacs == pytest.approx(float(row["gmacs"]))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_meta_forward_shape(name):
    entry = get_entry(name)
    with torch.device("meta"):
        model = create_model(name, num_classes=7).eval()
        out = model(torch.empty(2, *entry.input_size))
    out = out[0] if isinstance(out, tuple) else out
    assert tuple(out.shape) == (2, 7)


@pytest.mark.parametrize("name", [n for n in CLASSIFIERS if get_entry(n).num_params < SMALL_ON_CPU])
def test_cpu_forward_shape(name):
    entry = get_entry(name)
    torch.manual_seed(0)
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, *entry.input_size))
    assert tuple(out.shape) == (1, entry.num_classes)
    assert torch.isfinite(out).all()


def test_fashion_mnist_resnet50():
    model = create_model("resnet50", in_channels=1, num_classes=10).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, 28, 28))
    assert tuple(out.shape) == (2, 10)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_in_channels_option(name):
    entry = get_entry(name)
    with torch.device("meta"):
        model = create_model(name, in_channels=1, num_classes=5).eval()
        out = model(torch.empty(1, 1, *entry.input_size[1:]))
    out = out[0] if isinstance(out, tuple) else out
    assert tuple(out.shape) == (1, 5)

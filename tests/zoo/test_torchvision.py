"""torchvision specs: the published architectures, built without weights or network."""

import importlib.util
import urllib.request

import pytest
import torch

from cnnstat.analysis.build import load_on
from cnnstat.errors import CnnstatError

pytestmark = [pytest.mark.torchvision,
              pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="torchvision is not installed")]


@pytest.fixture(scope="module")
def torchvision():
    from cnnstat.zoo._torchvision_compat import import_torchvision

    return import_torchvision()


def params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_building_never_touches_the_network(monkeypatch, torchvision, capsys):
    """Segmentation and detection builders fetch backbone weights by default; here nothing is
    fetched, and nothing is printed to stdout."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    for name in ("deeplabv3_resnet50", "fasterrcnn_mobilenet_v3_large_320_fpn", "googlenet"):
        for options in ({}, {"weights": None}):
            load_on(f"torchvision:{name}", options=options)
    assert capsys.readouterr().out == ""


def test_published_architecture_or_the_builders_defaults(torchvision):
    published = load_on("torchvision:googlenet")
    weights = torchvision.models.GoogLeNet_Weights.DEFAULT
    assert params(published.module) == weights.meta["num_params"] == 6_624_904  # no aux heads
    assert "GoogLeNet_Weights.IMAGENET1K_V1" in published.notes[0]
    builder = load_on("torchvision:googlenet", options={"weights": None})
    assert params(builder.module) == params(torchvision.models.googlenet(weights=None, init_weights=False))
    assert params(builder.module) > 6_624_904 and "builder's defaults" in builder.notes[0]


def test_the_default_input_follows_the_weights(torchvision):
    assert load_on("torchvision:vit_h_14").input_size == (3, 518, 518)
    assert load_on("torchvision:vit_h_14", options={"weights": "IMAGENET1K_SWAG_LINEAR_V1"}).input_size == (3, 224, 224)
    assert load_on("torchvision:vit_h_14", options={"weights": None}).input_size == (3, 224, 224)
    assert load_on("torchvision:r3d_18").input_size == (3, 16, 112, 112)
    raft = load_on("torchvision:raft_small")
    assert (raft.input_size, raft.more_input_sizes) == ((3, 512, 512), ((3, 512, 512),))
    detection = load_on("torchvision:ssdlite320_mobilenet_v3_large")
    assert detection.input_size == (3, 320, 320) and detection.takes_list


def test_user_mistakes_name_the_fix(torchvision):
    with pytest.raises(CnnstatError, match="torchvision has no model 'resnet5'; did you mean resnet50"):
        load_on("torchvision:resnet5")
    with pytest.raises(CnnstatError, match="resnet50 has no weights 'V3'; choose one of IMAGENET1K_V1, IMAGENET1K_V2"):
        load_on("torchvision:resnet50", options={"weights": "V3"})
    with pytest.raises(CnnstatError, match="num_classes.*--set weights=None builds the builder's defaults"):
        load_on("torchvision:resnet50", num_classes=10)
    assert params(load_on("torchvision:resnet50", num_classes=10, options={"weights": None}).module) == 23_528_522

"""torchvision specs: the published architectures, built without weights or network."""

import functools
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


def test_every_builder_is_called_without_weights(monkeypatch, torchvision):
    """The published architecture comes from the options its weights set, never from the weights."""
    calls = []
    get_builder = torchvision.models.get_model_builder

    def recording(name):
        builder = get_builder(name)

        @functools.wraps(builder)  # its signature and module, as the loader reads them
        def build(**kwargs):
            calls.append((name, kwargs.get("weights", "absent"), kwargs.get("weights_backbone")))
            return builder(**kwargs)
        return build

    monkeypatch.setattr(torchvision.models, "get_model_builder", recording)
    for name in ("googlenet", "vit_h_14", "fcn_resnet50", "fasterrcnn_mobilenet_v3_large_320_fpn"):
        load_on(f"torchvision:{name}")
    assert calls == [(name, None, None) for name, _, _ in calls] and len(calls) == 4


def test_a_detection_backbone_for_trained_weights_has_frozen_norms(torchvision):
    from torchvision.ops.misc import FrozenBatchNorm2d

    body = load_on("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn").module.backbone.body
    kinds = {type(module) for module in body.modules()}
    assert FrozenBatchNorm2d in kinds and torch.nn.BatchNorm2d not in kinds
    builder = load_on("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn", options={"weights": None})
    assert torch.nn.BatchNorm2d in {type(module) for module in builder.module.backbone.body.modules()}


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

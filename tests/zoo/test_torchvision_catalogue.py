"""Every model of torchvision's catalogue, as `cnnstat summary torchvision:NAME` counts it:
parameters equal to its published weights' ``num_params``, MACs within the rounding of their
``_ops`` (torchvision publishes MACs to three decimals of G), or the difference explained
(cnnstat.analysis.torchvision_figures). Marked ``torchvision_catalogue``: `.ci/run` runs it
as its own step (the default run leaves it out; about two minutes on two cores)."""

import importlib.util

import pytest

from cnnstat.analysis import profile
from cnnstat.analysis.torchvision_figures import DETECTION_TEST_SIDE, published_figures

pytestmark = pytest.mark.torchvision_catalogue


def catalogue() -> list[str]:
    if importlib.util.find_spec("torchvision") is None:
        return []
    from cnnstat.zoo._torchvision_compat import import_torchvision

    return import_torchvision().models.list_models()


@pytest.mark.parametrize("name", catalogue())
def test_published_figures(name):
    published = published_figures(name)
    if published.task == "detection":
        # The real-CPU pass at torchvision's 800 x 800 takes a minute per model on two cores: a
        # small image here (the model resizes to min_size), the published size in the report.
        side = DETECTION_TEST_SIDE
        report = profile(f"torchvision:{name}", (3, side, side),
                         options={"min_size": side, "max_size": side})
        assert any("counted on the CPU" in note for note in report.notes)
        assert [part.name for part in report.parts][:3] in (["transform", "backbone.body", "backbone.fpn"],
                                                             ["transform", "backbone", "anchor_generator"])
        assert sum(part.macs for part in report.parts) == report.totals.macs
    else:
        report = profile(f"torchvision:{name}")
        assert report.device == "meta"
        assert round(report.totals.macs / 1e9, 3) == published.gmacs, published.note
    assert report.totals.params == published.params, published.note

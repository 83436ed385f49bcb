"""A seeded sample of timm's catalogue, as `cnnstat summary timm:NAME` counts it: each model is
built without weights, its `pretrained_cfg` input passes the rank check (taken from the first
convolution, subclasses included: the ScaledStdConv2d stem of the NFNets, not the Conv1d of their
ECA attention), the static pass runs, and the parameters cnnstat counts are the ones the module
timm built holds. Marked ``timm``: the default run leaves it out, `.ci/run` runs it."""

import importlib.util
import random

import pytest

from cnnstat.analysis import profile
from cnnstat.analysis.build import load_on

pytestmark = pytest.mark.timm

SAMPLE = 64
"""Models drawn from ``timm.list_models()`` (1,371 in timm 1.0.31): 1-2 s each on two cores."""
SEED = 18
ALWAYS = ["eca_nfnet_l0", "convnext_tiny"]
"""Models held whatever the draw: the NFNet whose rank check read its ECA Conv1d, the README's example."""


def pytest_generate_tests(metafunc):
    # Collected in every run, but only a run that selects the marker pays for importing timm.
    selected = "not timm" not in (metafunc.config.getoption("markexpr") or "")
    if "name" in metafunc.fixturenames:
        metafunc.parametrize("name", _sample() if selected and importlib.util.find_spec("timm") else [])


def _sample() -> list[str]:
    from cnnstat.zoo._torchvision_compat import import_torchvision_if_installed

    import_torchvision_if_installed()  # timm imports torchvision
    import timm

    names = timm.list_models()
    return ALWAYS + sorted(random.Random(SEED).sample(sorted(set(names) - set(ALWAYS)), SAMPLE))


def test_timm_model(name):
    loaded = load_on(f"timm:{name}")
    report = profile(loaded.module, loaded.input_size, name=loaded.name)
    assert report.input_shape == (1, *loaded.input_size)
    assert report.totals.macs > 0
    assert report.totals.params == sum(p.numel() for p in loaded.module.parameters())

"""Every model of torchvision's catalogue, as `cnnstat summary torchvision:NAME` counts it:
parameters equal to its published weights' ``num_params``, MACs equal to their ``_ops`` at
torchvision's rounding (three decimals of G), or the difference explained by a named
convention; and the committed reports/torchvision.csv row still what we count. Marked
``torchvision``: the default run leaves it out, `.ci/run` runs it as a second step."""

import math

import pandas as pd
import pytest

from cnnstat.analysis import profile
from cnnstat.analysis.build import load_on
from cnnstat.analysis.torchvision_figures import catalogue, convention, published_figures
from tests.conftest import REPO

pytestmark = pytest.mark.torchvision
COMMITTED = REPO / "reports" / "torchvision.csv"

DETECTION_TEST_SIDE = 96
"""Image side of the catalogue test's detection passes (real-CPU; the published side in the report)."""


def pytest_generate_tests(metafunc):
    # Collected in every run, but only a run that selects the marker pays for importing torchvision.
    selected = "not torchvision" not in (metafunc.config.getoption("markexpr") or "")
    if "name" in metafunc.fixturenames:
        metafunc.parametrize("name", catalogue() if selected and _installed() else [])


def _installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("torchvision") is not None


@pytest.fixture(scope="module")
def committed():
    return pd.read_csv(COMMITTED).set_index("model")


def test_published_figures(name, committed):
    published = published_figures(name)
    row = committed.loc[name]
    if published.task == "detection":
        # The real-CPU pass at the published side takes up to minutes per model on two cores: a
        # small image here (the model resizes to min_size; SSDs resize to their fixed size).
        side = DETECTION_TEST_SIDE
        fixed = load_on(f"torchvision:{name}").module.transform.fixed_size
        report = profile(f"torchvision:{name}", (3, side, side),
                         options={} if fixed else {"min_size": side, "max_size": side})
        assert report.device == "cpu" and any("counted on the CPU" in note for note in report.notes)
        names = [part.name for part in report.parts]
        assert "transform" in names and any(part.startswith("backbone") for part in names), names
        assert sum(part.macs for part in report.parts) == report.totals.macs
    else:
        report = profile(f"torchvision:{name}")
        assert report.device == "meta"
        explained = convention(published, report)
        assert round(report.totals.macs / 1e9, 3) == published.gmacs or explained, explained
        assert row["macs"] == report.totals.macs, "reports/torchvision.csv is stale: run `cnnstat report`"
        assert (row["convention"] if isinstance(row["convention"], str) else "") == explained
    if published.task == "quantization" and report.totals.params != published.params:
        # torchvision states the float model's num_params, aux head included; the quantized
        # builder drops the head. Ours is the float model without it, built by torchvision.
        float_name = name.removeprefix("quantized_")
        float_model = load_on(f"torchvision:{float_name}", options={"weights": None, "aux_logits": False,
                                                                    "init_weights": False}).module
        assert report.totals.params == sum(p.numel() for p in float_model.parameters())
    else:
        assert report.totals.params == published.params
    assert (row["params"], row["published_params"]) == (report.totals.params, published.params)
    assert math.isclose(row["published_gmacs"], published.gmacs)

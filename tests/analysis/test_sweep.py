import math

import pytest

from cnnstat.analysis.sweep import DEFAULT_INPUTS, growth_exponent, sweep
from cnnstat.errors import CnnstatError


@pytest.fixture(scope="module")
def resnet50():
    return sweep("resnet50", DEFAULT_INPUTS, [1])


@pytest.fixture(scope="module")
def vgg16():
    return sweep("vgg16", DEFAULT_INPUTS, [1])


def test_growth_exponent_recovers_a_power_law():
    xs = [1, 2, 4, 8, 16]
    assert growth_exponent(xs, [3 * x**1.5 for x in xs]) == pytest.approx(1.5)


def test_resnet50_macs_grow_as_pixels(resnet50):
    assert resnet50.fit("macs", "pixels").exponent == pytest.approx(1.0, abs=0.02)
    assert [p.pixels for p in resnet50.points] == [128**2, 224**2, 320**2, 512**2]
    assert "Proportional to pixels" in "\n".join(resnet50.to_dict()["explanation"])


def test_vgg16_departs_because_of_its_fixed_size_classifier(vgg16):
    assert vgg16.fit("macs", "pixels").exponent < 1 - 0.005
    assert {layer.type for layer in vgg16.fixed_layers} == {"Linear"}
    assert all(layer.name.startswith("classifier.") for layer in vgg16.fixed_layers)
    assert vgg16.fixed_from[:2] == ("avgpool", "AdaptiveAvgPool2d") and vgg16.fixed_from[2] == (512, 7, 7)
    # The three Linear layers: 25088x4096 + 4096x4096 + 4096x1000 MACs at every input size.
    assert sum(layer.macs for layer in vgg16.fixed_layers) == 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    explanation = "\n".join(vgg16.to_dict()["explanation"])
    assert "Departs (below 1)" in explanation and "classifier.0" in explanation and "AdaptiveAvgPool2d" in explanation
    shares = [p.fixed_share for p in vgg16.points]
    assert shares == sorted(shares, reverse=True) and shares[0] > 0.02


def test_batch_fit_and_memory_fit():
    result = sweep("resnet18", [(3, 64, 64), (3, 96, 96)], [1, 4])
    assert result.fit("macs", "batch").exponent == pytest.approx(1.0, abs=1e-9)
    assert result.fit("macs", "batch").held == "input 3x64x64"
    # Parameters stay resident, so peak memory grows slower than the activations.
    memory = result.fit("est_peak_inference_bytes", "pixels").exponent
    assert 0 < memory < result.fit("activation_bytes", "pixels").exponent
    assert len(result.points) == 4 and not any(math.isnan(f.exponent) for f in result.fits)


@pytest.mark.parametrize("inputs, batches", [([(3, 64, 64)], [1]), ([(3, 64, 64), (3, 64, 64, 64)], [1])])
def test_sweeps_that_cannot_be_fitted_are_refused(inputs, batches):
    with pytest.raises(CnnstatError):
        sweep("resnet18", inputs, batches)

import pytest

from cnnstat.analysis.compare import STATIC_FIGURES, ModelSpec, compare
from cnnstat.errors import CnnstatError


def test_ratios_are_the_ratios_of_the_figures():
    rows = compare(["vgg16", "mobilenet"])
    vgg, mobilenet = rows
    assert mobilenet.model == "mobilenet_v1" and mobilenet.label == "mobilenet"
    for key in STATIC_FIGURES:
        assert vgg.ratios[key] == 1.0
        assert mobilenet.ratios[key] == mobilenet.figures[key] / vgg.figures[key]
    assert vgg.figures["params"] == 138_357_544 and mobilenet.figures["params"] == 4_231_976


def test_baseline_by_name_and_unknown_baseline():
    rows = compare(["block/conv", ModelSpec("block/conv", {"k": 3, "n": 3})], baseline="block/conv:k=3,n=3")
    assert rows[1].ratios["params"] == 1.0
    assert rows[0].ratios["params"] == 25_088 / 23_040
    with pytest.raises(CnnstatError, match="baseline 'nope'"):
        compare(["block/conv"], baseline="nope")


def test_inline_options_reach_the_module_and_input_applies_to_all():
    rows = compare([ModelSpec("block/conv", {"k": 3, "cin": 3, "cout": 10, "padding": None})], input_size=(3, 8, 8))
    assert rows[0].figures["params"] == 270
    assert rows[0].output_shape == (1, 10, 8, 8)  # with the batch, as input_shape
    assert rows[0].spec == "block/conv:k=3,cin=3,cout=10,padding=None"


def test_no_models_is_a_user_error():
    with pytest.raises(CnnstatError):
        compare([])


def test_a_latency_ratio_is_taken_round_by_round_with_its_spread():
    from cnnstat.analysis.compare import paired_ratio

    # A load that doubles both models' times in rounds 3 and 4 leaves every round's ratio at 2.
    ratio, spread = paired_ratio([2.0, 2.0, 4.0, 4.0, 2.0], [1.0, 1.0, 2.0, 2.0, 1.0])
    assert ratio == 2.0 and spread == 0.0
    ratio, spread = paired_ratio([1.0, 2.0, 3.0, 4.0, 5.0], [1.0] * 5)
    assert ratio == 3.0 and spread == 3.0  # statistics.quantiles' exclusive quartiles: 1.5 and 4.5
    assert paired_ratio([1.0, 2.0], [1.0]) is None  # not timed in the same turns


def test_compared_models_are_timed_in_the_same_turns():
    from cnnstat.analysis.compare import compare

    rows = compare(["cifar_lenet", "cifar_resnet20"], device="cpu")
    assert len(rows[0].round_latency_ms) == len(rows[1].round_latency_ms) >= 5
    assert rows[1].ratio_spreads["latency_ms"] >= 0 and "latency_ms_ratio_iqr" in rows[1].to_dict()

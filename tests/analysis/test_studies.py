import pytest

from cnnstat.analysis.studies import (CARDINALITIES, STATED_CARDINALITY_WIDTHS, STATED_STAGE_WIDTHS, conv_weights,
                                      get_study, list_studies, run_study, solve_width)
from cnnstat.analysis.compare import ModelSpec
from cnnstat.errors import CnnstatError


def _column(result, key):
    return [record[key] for record in result.to_records()]


def test_the_issue_lists_every_study():
    assert {s.name for s in list_studies()} >= {
        "kernel-stack", "depthwise-separable", "inception", "resnext-cardinality", "resnext-width",
        "plain-vs-residual", "basic-vs-bottleneck", "cifar-progression", "vgg-vs-mobilenet"}


def test_kernel_stack_states_and_rebuilds():
    result = run_study("kernel-stack")
    assert _column(result, "stated_params") == [25_088, 13_824]
    assert _column(result, "params") == [25_088, 23_040]  # the real stack (see the study's note)
    assert _column(result, "output_hwc") == ["26x26x32", "26x26x32"]


@pytest.mark.parametrize("name, figures", [
    ("depthwise-separable", [270, 57]),
    ("inception", [460_800, 161_280, 28_416]),
])
def test_block_studies_reproduce_the_articles(name, figures):
    result = run_study(name)
    assert _column(result, "params") == figures == _column(result, "stated_params")


def test_resnext_cardinality_solves_the_articles_widths():
    result = run_study("resnext-cardinality")
    assert _column(result, "target_conv_weights") == [69_632] * len(CARDINALITIES)
    assert _column(result, "cardinality") == list(CARDINALITIES)
    assert _column(result, "group_width") == list(STATED_CARDINALITY_WIDTHS)
    assert _column(result, "conv_weights")[0] == 69_632


def test_resnext_width_per_stage():
    assert _column(run_study("resnext-width"), "group_width") == list(STATED_STAGE_WIDTHS)


def test_solve_width_picks_the_nearest_count():
    assert solve_width(lambda d: d * d, 50) == 7
    assert solve_width(lambda d: 10 * d, 10) == 1
    assert conv_weights(ModelSpec("block/resnet_bottleneck")) == 69_632


def test_cifar_progression_keeps_the_articles_figures():
    result = run_study("cifar-progression")
    assert _column(result, "params") == _column(result, "stated_params") == [
        30_730, 123_330, 62_958, 39_650, 462_570, 1_965_066]
    assert _column(result, "reported_accuracy") == [32.0, 25.0, 53.0, 65.8, 71.1, 73.3]


def test_basic_vs_bottleneck_reads_the_blocks():
    result = run_study("basic-vs-bottleneck")
    assert _column(result, "block") == ["BasicBlock"] * 2 + ["Bottleneck"] * 3
    assert _column(result, "blocks") == [8, 16, 16, 33, 50]


def test_unknown_study():
    with pytest.raises(CnnstatError, match="did you mean kernel-stack"):
        get_study("kernel-stak")

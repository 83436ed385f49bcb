"""Our counts against fvcore, torchinfo, thop and ptflops: every difference predicted by a named rule."""

import pytest

from cnnstat.analysis import crosscheck as crosscheck_module
from cnnstat.analysis.crosscheck import OUTSIDE_LEAVES, Rule, crosscheck
from tests.conftest import run_cli

pytest.importorskip("fvcore")
pytest.importorskip("torchinfo")


@pytest.mark.parametrize("model", ["cifar_resnet20", "mobilenet_v2"])
def test_every_difference_is_explained(model):
    result = crosscheck(model)
    assert result.unexplained == []
    assert {"fvcore", "torchinfo"} <= set(result.tools)
    assert result.rows[-1].layer == OUTSIDE_LEAVES
    # fvcore's one-per-MAC rule leaves conv and linear layers equal to ours
    convs = [row for row in result.rows if row.type == "Conv2d"]
    assert convs and all(row.tools["fvcore"].reported == row.macs for row in convs)


def test_a_wrong_rule_is_reported_unexplained(monkeypatch):
    wrong = Rule("batch_norm: 3 per element (wrong on purpose)", lambda leaf: leaf.type == "BatchNorm2d",
                 lambda leaf: 3 * leaf.input_elements)
    conventions = crosscheck_module.TOOL_CONVENTIONS
    monkeypatch.setitem(conventions, "fvcore", [wrong, *conventions["fvcore"]])
    result = crosscheck("cifar_resnet20", tools=["fvcore"])
    layers = {row.layer for row, _ in result.unexplained}
    assert "bn1" in layers and "total" in layers
    assert result.to_dict()["unexplained"][0]["tool"] == "fvcore"


@pytest.mark.slow
def test_resnet50_through_the_console_script():
    result = run_cli("crosscheck", "resnet50", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert '"unexplained": []' in result.stdout and '"reported": 4111512576' in result.stdout

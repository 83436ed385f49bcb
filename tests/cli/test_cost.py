"""Where the cost is: layers ranked (--sort, --top), leaf layers alone (--leaves), and the cost
summed by layer type and by operator (--by), in every format and on the summary's page."""

import csv
import io
import json

import pytest
import torch

import cnnstat
from cnnstat.frame.cost import by_operator_rows, by_type_rows


def test_by_operator_agrees_with_fvcore():
    """fvcore's by_operator() (an independent counter, MACs under its 'flops' name) per op."""
    from fvcore.nn import FlopCountAnalysis

    from cnnstat.zoo import create_model

    model = create_model("cifar_resnet20").eval()
    theirs = FlopCountAnalysis(model, torch.zeros(1, 3, 32, 32)).unsupported_ops_warnings(False).by_operator()
    ours = {row["operator"]: row for row in by_operator_rows(cnnstat.profile("cifar_resnet20"))}
    assert ours["aten.convolution"]["macs"] == theirs["conv"]
    assert ours["aten.addmm"]["macs"] == theirs["linear"]


def test_by_type_adds_up_to_the_model():
    report = cnnstat.profile("resnet18")
    rows = by_type_rows(report)
    for key in ("params", "macs", "flops"):
        assert sum(row[key] for row in rows) == getattr(report.totals, key)
    assert sum(row["activation_bytes"] or 0 for row in rows) == report.totals.activation_bytes
    assert rows[0]["layer_type"] == "Conv2d" and rows[0]["calls"] == 20


def test_top_lists_the_costliest_leaf_layers(invoke):
    result = invoke("summary", "resnet18", "--device", "meta", "--top", "3", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    frame = cnnstat.profile("resnet18").to_frame()
    leaves = frame[frame["is_leaf"]].sort_values("macs", ascending=False, kind="stable")
    assert [row["layer"] for row in rows] == list(leaves["name"][:3])


@pytest.mark.parametrize("args", [("--by", "type"), ("--by", "operator"), ("--sort", "params"), ("--leaves",)])
@pytest.mark.parametrize("fmt", ["table", "md", "csv", "json", "html"])
def test_every_format(invoke, args, fmt):
    result = invoke("summary", "cifar_lenet", "--device", "meta", *args, "--format", fmt)
    assert result.exit_code == 0, result.output
    expected = {"type": "Conv2d", "operator": "aten.convolution"}.get(args[-1], "conv1")
    if fmt == "json":
        assert expected in json.dumps(json.loads(result.stdout)["rows"])
    else:
        assert expected in result.stdout


def test_the_summary_page_sums_by_type_and_operator(invoke):
    page = invoke("summary", "cifar_lenet", "--device", "meta", "--format", "html").stdout
    assert "Cost by layer type" in page and "Cost by operator" in page and "aten.convolution" in page


@pytest.mark.parametrize("args, message", [(("--sort", "nope"), "unknown --sort"), (("--by", "op"), "unknown --by"),
                                           (("--by", "type", "--top", "2"), "choose one"),
                                           (("--sort", "macs", "--depth", "1"), "choose one"),
                                           (("--top", "0"), "--top")])
def test_bad_cost_options_are_one_line(invoke, args, message):
    result = invoke("summary", "cifar_lenet", "--device", "meta", *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr

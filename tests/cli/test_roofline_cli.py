"""`cnnstat summary --roofline`: per-layer intensity, achieved FLOP/s and bound beside the
measured latency, in every format."""

import json

import pytest


def test_roofline_columns_in_json_and_table(invoke, quick_probe, tmp_path):
    target = tmp_path / "lenet.json"
    result = invoke("summary", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.05", "--roofline",
                    "--format", "json", "-o", str(target))
    assert result.exit_code == 0, result.output
    data = json.loads(target.read_text())
    machine = quick_probe.probe(quick_probe.torch.device("cpu"), data["roofline"]["threads"])
    assert data["roofline"]["peak_flops_per_s"] == machine.peak_flops["float32"]  # the cached probe, not a new one
    assert data["roofline"]["ridge_flop_per_byte"] == pytest.approx(machine.ridge("float32"))
    conv = next(layer for layer in data["layers"] if layer["name"] == "conv1")
    assert conv["intensity_flop_per_byte"] > 0 and conv["achieved_flops_per_s"] > 0
    assert conv["bound"] == ("memory" if conv["intensity_flop_per_byte"] < machine.ridge("float32") else "compute")
    assert data["roofline"]["peak_fraction"] == pytest.approx(data["roofline"]["achieved_flops_per_s"]
                                                              / machine.peak_flops["float32"])

    result = invoke("summary", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.05", "--roofline")
    assert result.exit_code == 0, result.output
    assert "FLOP/byte" in result.stdout and "Bound" in result.stdout and "Roofline of" in result.stdout


def test_roofline_needs_a_measurement(invoke):
    result = invoke("summary", "cifar_lenet", "--device", "meta", "--roofline")
    assert result.exit_code == 2
    assert "--roofline needs a measurement" in result.stderr

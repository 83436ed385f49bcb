import io
import json

import pandas as pd

SMALL = ("--input", "3x64x64,3x96x96", "--batch", "1,2")


def test_sweep_vgg16_says_why_it_departs(cli):
    out = cli("sweep", "vgg16", "--batch", "1", check=True).stdout
    assert "MACs ^0.992" in out and "Departs (below 1)" in out and "classifier.6" in out


def test_sweep_json_and_csv(invoke):
    data = json.loads(invoke("sweep", "resnet18", *SMALL, "--format", "json").stdout)
    assert [(p["input_size"], p["batch"]) for p in data["points"]] == [
        ([3, 64, 64], 1), ([3, 64, 64], 2), ([3, 96, 96], 1), ([3, 96, 96], 2)]
    assert {(f["figure"], f["against"]) for f in data["fits"]} >= {("macs", "pixels"), ("macs", "batch")}
    csv = pd.read_csv(io.StringIO(invoke("sweep", "resnet18", *SMALL, "--format", "csv").stdout))
    assert list(csv["macs"]) == [p["macs"] for p in data["points"]]
    assert list(csv["input_size"]) == ["3x64x64", "3x64x64", "3x96x96", "3x96x96"]


def test_sweep_mistakes_exit_2(invoke, tmp_path):
    for args in (("--input", "3x64"), ("--batch", "0"), ("--input", "3x64x64", "--batch", "1"),
                 ("-o", str(tmp_path / "missing" / "out.csv"))):
        result = invoke("sweep", "resnet18", *args)
        assert result.exit_code == 2 and "error:" in result.stderr

"""The console entry point (in process, see ``run_cli``): output, formats and user mistakes."""

import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from cnnstat.zoo import list_models


def test_list_is_fast_path_without_torch(cli):
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys; from cnnstat.cli.main import app; "
         "sys.argv=['cnnstat','list','--format','json']; "
         "import contextlib, io\n"
         "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): app()\n"
         "print('torch' in sys.modules, 'pandas' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert probe.stdout.strip().splitlines()[-1] == "False False"


def test_list_formats(cli):
    rows = json.loads(cli("list", "resnet*", "--format", "json", check=True).stdout)
    assert [r["model"] for r in rows] == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    frame = pd.read_csv(io.StringIO(cli("list", "--format", "csv", check=True).stdout))
    assert len(frame) == len(list_models())
    assert "| vgg16 |" in cli("list", "--family", "vgg", "--format", "md", check=True).stdout


def test_version_and_help(cli):
    assert cli("--version", check=True).stdout.startswith("cnnstat ")
    assert "summary" in cli("--help", check=True).stdout


def test_summary_json_shape(cli):
    data = json.loads(cli("summary", "resnet18", "--format", "json", check=True).stdout)
    assert data["input_shape"] == [1, 3, 224, 224]
    assert data["totals"]["params"] == 11_689_512
    assert set(data["totals"]) >= {"params", "trainable_params", "macs", "flops", "param_bytes", "activation_bytes",
                                   "est_peak_inference_bytes", "est_peak_training_bytes"}
    assert set(data["layers"][1]) >= {"name", "type", "depth", "is_leaf", "output_shape", "params", "macs", "flops",
                                      "activation_bytes"}
    assert data["uncounted_ops"] == {}


def test_summary_table_and_depth(cli):
    full = cli("summary", "resnet18", "--device", "meta", check=True).stdout
    folded = cli("summary", "resnet18", "--device", "meta", "--depth", "1", check=True).stdout
    assert "MACs" in full and "Params" in full and "7x7 s2 p3" in full and "├─conv1" in full
    assert "layer1" in folded and "downsample" not in folded and "downsample" in full
    assert "11,689,512" in folded


def test_summary_csv_is_the_layer_frame(cli, tmp_path):
    target = tmp_path / "r.csv"
    cli("summary", "cifar_lenet", "--device", "meta", "--format", "csv", "-o", str(target), check=True)
    frame = pd.read_csv(target)
    assert {"name", "type", "input_shapes", "output_shape", "macs", "flops"} <= set(frame.columns)
    assert frame.loc[frame["is_leaf"], "macs"].sum() == frame.loc[0, "macs"]


@pytest.mark.parametrize("args, message", [
    (["summary", "resnet5O"], "did you mean"),
    (["summary", "resnet18", "--input", "3x224"], "malformed --input"),
    (["summary", "resnet18", "--input", "axbxc"], "malformed --input"),
    (["summary", "resnet18", "--input", "3x0x224"], "at least 1"),
    (["summary", "resnet18", "--batch", "0"], "--batch"),
    (["summary", "resnet18", "--batch", "-3"], "--batch"),
    (["summary", "vgg16", "--input", "3x16x16", "--device", "meta"], "layer features."),
    (["summary", "resnet18", "--input", "1x224x224", "--device", "meta"], "layer conv1 (Conv2d) failed on input 1x1x224x224"),
    (["summary", "resnet18", "--dtype", "float8"], "unknown dtype"),
    (["summary", "resnet18", "--format", "xml"], "unknown format"),
    (["summary", "resnet18", "--device", "tpu"], "unknown device"),
    (["summary", "resnet18", "--depth", "-1"], "--depth"),
    (["summary", "block/conv", "--set", "k"], "malformed --set"),
    (["summary", "resnet18", "--set", "nonsense=1", "--device", "meta"], "cannot build"),
    (["summary", "resnet18", "-o", "/nonexistent/dir/x.json"], "does not exist"),
    (["list", "--family", "nope"], "unknown family"),
])
def test_user_mistakes_are_one_clear_line(cli, args, message):
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_traceback(cli):
    result = cli("--debug", "summary", "resnet5O")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_failed_run_leaves_no_file_and_keeps_old(cli, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous")
    result = cli("summary", "vgg16", "--input", "3x16x16", "--device", "meta", "-o", str(target))
    assert result.returncode == 2
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]

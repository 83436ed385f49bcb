import io
import json

import pandas as pd

from cnnstat.analysis.compare import STATIC_FIGURES


def test_compare_vgg16_mobilenet_table(cli):
    result = cli("compare", "vgg16", "mobilenet", "--device", "meta", check=True)
    assert "138,357,544" in result.stdout and "4,231,976" in result.stdout
    assert "x0.031" in result.stdout and "vgg16's" in result.stdout


def test_csv_and_json_parse_back_to_the_same_numbers(cli):
    args = ("compare", "block/conv", "block/conv:k=3,n=3", "block/conv5x5", "--device", "meta")
    csv = pd.read_csv(io.StringIO(cli(*args, "--format", "csv", check=True).stdout))
    records = json.loads(cli(*args, "--format", "json", check=True).stdout)
    frame = pd.DataFrame(records)
    assert list(csv["model"]) == list(frame["model"]) == ["block/conv", "block/conv:k=3,n=3", "block/conv5x5"]
    for key in STATIC_FIGURES:
        assert list(csv[key]) == list(frame[key])
        assert list(csv[f"{key}_ratio"]) == list(frame[key] / frame[key][0])
    assert list(csv["params"]) == [25_088, 23_040, 460_800]


def test_set_applies_to_all_and_inline_wins(cli):
    records = json.loads(cli("compare", "block/conv", "block/conv:cout=64", "--set", "cout=10", "--device", "meta", "--format", "json",
                             check=True).stdout)
    assert [r["params"] for r in records] == [16 * 10 * 49, 16 * 64 * 49]


def test_study_outputs_the_seed_figures(cli):
    out = cli("study", "inception", "--format", "md", check=True).stdout
    for figure in ("460,800", "161,280", "28,416"):
        assert figure in out
    table = cli("study", "resnext-cardinality", check=True).stdout
    assert "69,632" in table
    listing = cli("study", "--list", check=True).stdout
    assert "vgg-vs-mobilenet" in listing


def test_user_mistakes_exit_2_in_one_line(cli, tmp_path):
    for args in (("compare", "vgg16", "--baseline", "resnet50", "--device", "meta"), ("compare", "block/conv:"), ("study", "nope"),
                 ("study",), ("compare", "vgg16", "--format", "xml")):
        result = cli(*args)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_output_file(cli, tmp_path):
    target = tmp_path / "cmp.json"
    cli("compare", "vgg16", "mobilenet", "--device", "meta", "--format", "json", "-o", str(target), check=True)
    assert [r["name"] for r in json.loads(target.read_text())] == ["vgg16", "mobilenet_v1"]


def test_csv_names_each_model_once_and_its_output_shape_has_the_batch(cli):
    """One meaning per key: the model as typed; the resolved spec only where it says more."""
    import torch

    from cnnstat import create_model

    plain = pd.read_csv(io.StringIO(cli("compare", "cifar_lenet", "cifar_convbn", "--device", "meta", "--batch", "3",
                                        "--format", "csv", check=True).stdout))
    assert [key for key in plain.columns if key in {"model", "spec", "name"}] == ["model"]
    with torch.no_grad():  # the output of a real forward at batch 3
        real = create_model("cifar_lenet")(torch.zeros(3, 3, 32, 32)).shape
    assert plain["output_shape"][0] == "x".join(map(str, real)) and plain["input_shape"][0] == "3x3x32x32"
    resolved = pd.read_csv(io.StringIO(cli("compare", "mobilenet", "block/conv:cout=10", "--device", "meta",
                                           "--format", "csv", check=True).stdout))
    assert [key for key in resolved.columns if key in {"model", "spec", "name"}] == ["model", "spec"]
    assert list(resolved["model"]) == ["mobilenet", "block/conv:cout=10"]
    assert list(resolved["spec"]) == ["mobilenet_v1", "block/conv:cout=10"]

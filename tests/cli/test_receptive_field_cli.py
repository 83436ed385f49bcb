"""Receptive-field columns, footer line and plot of `cnnstat summary`."""

import csv
import io
import json


def test_summary_shows_each_layers_field_and_where_it_covers_the_input(invoke):
    result = invoke("summary", "vgg11", "--device", "meta", "--format", "md")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("| Layer"))
    assert "| RF |" in header and "| Jump |" in header and "| Own RF |" in header
    # VGG-11's last pooling, by the closed form: 1 + 2 (conv) + 1 (pool) + 2*2 + 2 + 4*(2+2) + 4
    # + 8*(2+2) + 8 + 16*(2+2) + 16 = 150, at jump 2^5; its fixed 7x7 adaptive pooling keeps it.
    assert "last local field 150x150, jump 32x32, at avgpool" in result.output
    assert "reaches the whole 224x224 input at classifier.0" in result.output


def test_csv_and_json_hold_the_same_fields(invoke):
    table = invoke("summary", "resnet18", "--input", "3x64x64", "--device", "meta", "--format", "csv")
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(table.output))}
    assert (rows["conv1"]["receptive_field"], rows["conv1"]["jump"], rows["conv1"]["own_field"]) == ("7x7", "2x2", "7x7")
    assert rows["fc"]["receptive_field"] == "whole" and rows["fc"]["own_field"] == ""
    data = json.loads(invoke("summary", "resnet18", "--input", "3x64x64", "--device", "meta", "--format", "json").output)
    conv1 = next(layer for layer in data["layers"] if layer["name"] == "conv1")
    assert (conv1["receptive_field"], conv1["jump"], conv1["own_field"]) == ("7x7", "2x2", "7x7")  # as in CSV
    assert conv1["field_figures"]["size"] == [7, 7] and conv1["field_figures"]["start"] == [-3, -3]
    assert data["receptive_field"]["input_size"] == [64, 64]
    # layer2.0.conv1: 51 pixels, fewer than 64; layer2.0.conv2: 67 from -33 at jump 8, so its
    # output position 4 spans -1..65, every pixel of the 64.
    assert data["receptive_field"]["covers_at"] == "layer2.0.conv2"


def test_a_model_without_a_spatial_input_has_no_field_columns(invoke):
    result = invoke("summary", "cifar_linear", "--device", "meta", "--format", "md")
    assert result.exit_code == 0 and "| RF |" in result.output  # 3x32x32 input: its field becomes whole
    assert "whole" in result.output


def test_receptive_field_plot(invoke, tmp_path):
    result = invoke("summary", "resnet18", "--input", "3x64x48", "--device", "meta", "--plot", str(tmp_path / "rf.svg"),
                    "--plot-metric", "receptive-field")
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "rf.svg").read_text()
    assert "input 64 px (H)" in svg and "input 48 px (W)" in svg

"""Two runs give byte-identical CSV and JSON (on meta; on a real device, all but the measured
columns), with rows and columns in a fixed order. One run is in this process, the other a
console script with another string-hash seed, so output that followed a set's or a hash's
order would differ."""

import io
import json
import os

import pandas as pd
import pytest
from typer.testing import CliRunner

from cnnstat.cli.main import app
from tests.conftest import run_cli

OTHER_SEED = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"

COMMANDS = {
    "summary": ["summary", "resnet18", "--device", "meta"],
    "compare": ["compare", "resnet18", "mobilenet_v2", "block/conv:k=3,n=3", "--batch", "2",
                "--device", "meta"],
    "study": ["study", "resnext-cardinality"],
}


def in_process(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def runs(*args: str) -> list[str]:
    return [in_process(*args), run_cli(*args, check=True, env={"PYTHONHASHSEED": OTHER_SEED}).stdout]


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_two_runs_on_meta_are_byte_identical(args, fmt):
    first, second = runs(*args, "--format", fmt)
    assert first and first == second


def test_rows_follow_the_model_and_the_command_line():
    summary = json.loads(in_process(*COMMANDS["summary"], "--format", "json"))
    assert [layer["name"] for layer in summary["layers"][:6]] == ["resnet18", "conv1", "bn1", "relu", "maxpool", "layer1"]
    compare = pd.read_csv(io.StringIO(in_process(*COMMANDS["compare"], "--format", "csv")))
    assert list(compare["model"]) == ["resnet18", "mobilenet_v2", "block/conv:k=3,n=3"]


def test_measured_runs_differ_only_in_measured_columns():
    measured = {"latency_ms", "latency_pct"}
    frames = [pd.read_csv(io.StringIO(text)) for text in
              runs("summary", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.02", "--format", "csv")]
    assert list(frames[0].columns) == list(frames[1].columns) and measured <= set(frames[0].columns)
    static = [frame.drop(columns=sorted(measured)) for frame in frames]
    pd.testing.assert_frame_equal(*static)


@pytest.mark.slow
def test_two_report_runs_are_byte_identical(fresh_reports, tmp_path):
    run_cli("report", "--out", str(tmp_path), check=True, timeout=600, env={"PYTHONHASHSEED": "2"})  # fresh: 1
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(fresh_reports) for p in fresh_reports.rglob("*") if p.is_file())
    for path in files:  # .png included: the plots are written without a date
        assert (tmp_path / path).read_bytes() == (fresh_reports / path).read_bytes(), path

"""Two runs give byte-identical CSV and JSON (on meta; on a real device, all but the measured
columns), with rows and columns in a fixed order. One run is in this process, the other a
console script with another string-hash seed, so output that followed a set's or a hash's
order would differ. The other-seed runs share one fresh interpreter (one torch import)."""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import REPO, REPORT_SEED, finish, run_cli, start_console_script, take_early

OTHER_SEED = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
OTHER_REPORT_SEED = "2" if REPORT_SEED == "1" else "1"

COMMANDS = {
    "summary": ["summary", "resnet18", "--device", "meta"],
    "compare": ["compare", "resnet18", "mobilenet_v2", "block/conv:k=3,n=3", "--batch", "2",
                "--device", "meta"],
    "study": ["study", "resnext-cardinality"],
}


MEASURED_SUMMARY = ["summary", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.02", "--format", "csv"]
OTHER_SEED_RUNS = [[*args, "--format", fmt] for args in COMMANDS.values() for fmt in ("csv", "json")] + [MEASURED_SUMMARY]


def in_process(*args: str) -> str:
    return run_cli(*args, check=True).stdout


def start_early(test_names):
    """One interpreter with another hash seed for OTHER_SEED_RUNS, one more for the report, each
    when a test that reads it runs (``test_names`` None: all)."""
    def wanted(*tests):
        return test_names is None or any(test in test_names for test in tests)

    started = {}
    if wanted("test_two_runs_on_meta_are_byte_identical", "test_measured_runs_differ_only_in_measured_columns"):
        code = ("import json, sys; from tests.conftest import run_cli; "
                "print(json.dumps([run_cli(*args, check=True).stdout for args in json.loads(sys.argv[1])]))")
        started["runs"] = subprocess.Popen([sys.executable, "-c", code, json.dumps(OTHER_SEED_RUNS)], cwd=REPO,
                                           env=dict(os.environ, PYTHONHASHSEED=OTHER_SEED), stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True)
    if wanted("test_two_report_runs_are_byte_identical"):
        folder = Path(tempfile.mkdtemp(prefix="cnnstat-report-"))
        started["report"] = start_console_script("report", "--out", str(folder / "reports"), "--no-torchvision",
                                                 env={"PYTHONHASHSEED": OTHER_REPORT_SEED})
        started["report folder"] = folder
    return started


@pytest.fixture(scope="module")
def started():
    started = take_early(__name__) or start_early(None)
    yield started
    for process in (started.get("runs"), started.get("report")):
        if process is not None and process.returncode is None:
            process.kill()
            process.communicate()
    if "report folder" in started:
        shutil.rmtree(started["report folder"])


@pytest.fixture(scope="module")
def other_seed_outputs(started) -> dict[tuple[str, ...], str]:
    """Each of OTHER_SEED_RUNS's stdout from one interpreter started with another hash seed."""
    result = finish(started["runs"], check=True)
    return dict(zip(map(tuple, OTHER_SEED_RUNS), json.loads(result.stdout)))


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_two_runs_on_meta_are_byte_identical(args, fmt, other_seed_outputs):
    first = in_process(*args, "--format", fmt)
    assert first and first == other_seed_outputs[(*args, "--format", fmt)]


def test_rows_follow_the_model_and_the_command_line():
    summary = json.loads(in_process(*COMMANDS["summary"], "--format", "json"))
    assert [layer["name"] for layer in summary["layers"][:6]] == ["resnet18", "conv1", "bn1", "relu", "maxpool", "layer1"]
    compare = pd.read_csv(io.StringIO(in_process(*COMMANDS["compare"], "--format", "csv")))
    assert list(compare["model"]) == ["resnet18", "mobilenet_v2", "block/conv:k=3,n=3"]


def test_measured_runs_differ_only_in_measured_columns(other_seed_outputs):
    measured = {"latency_ms", "latency_pct"}
    frames = [pd.read_csv(io.StringIO(text)) for text in
              (in_process(*MEASURED_SUMMARY), other_seed_outputs[tuple(MEASURED_SUMMARY)])]
    assert list(frames[0].columns) == list(frames[1].columns) and measured <= set(frames[0].columns)
    static = [frame.drop(columns=sorted(measured)) for frame in frames]
    pd.testing.assert_frame_equal(*static)


@pytest.mark.slow
def test_two_report_runs_are_byte_identical(fresh_reports, started):
    finish(started["report"], check=True, timeout=600)
    tmp_path = started["report folder"] / "reports"
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(fresh_reports) for p in fresh_reports.rglob("*") if p.is_file())
    for path in files:  # .png included: the plots are written without a date
        assert (tmp_path / path).read_bytes() == (fresh_reports / path).read_bytes(), path

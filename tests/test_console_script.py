"""One run of the installed ``cnnstat`` script per command: the entry point pip writes, in a
fresh interpreter, its output parsed back. Everything else about the commands is tested in
process (``run_cli`` in tests/conftest.py calls the same ``cnnstat.cli.main.run``). The ten
runs start together before the first test (``start_early``), since each spends seconds starting
an interpreter and importing torch."""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from cnnstat.cli.main import app
from tests.conftest import finish, start_console_script, take_early

TINY_PACKAGE = textwrap.dedent("""
    from torch import nn

    def build(width=4):
        return nn.Sequential(nn.Conv2d(3, width, 3), nn.Flatten(), nn.Linear(width * 36, 2))
""")

RUNS = {
    "list": ["list", "resnet*", "--format", "json"],
    # a package in the current folder, nothing but cnnstat's source on PYTHONPATH: as python -m finds it
    "summary": ["summary", "mynets.tiny:build", "--input", "3x8x8", "--device", "meta", "--format", "json"],
    "bench": ["bench", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.01", "--format", "json"],
    "compare": ["compare", "vgg16", "mobilenet", "--device", "meta", "--format", "csv"],
    "study": ["study", "--list"],
    # the report itself takes seconds; tests/test_reports_current.py runs it in process
    "report": ["report", "--out", "{folder}/a-file/reports"],
    "crosscheck": ["crosscheck", "cifar_lenet", "--format", "json"],
    "sweep": ["sweep", "cifar_resnet20", "--input", "3x32x32,3x64x64", "--batch", "1", "--format", "csv"],
    "fit": ["fit", "cifar_lenet", "--budget", "6MiB", "--device", "cpu", "--format", "json"],
    "checkpoint": ["checkpoint", "cifar_resnet20", "--format", "csv"],
}


def start_early(test_names):
    """Every command's run, in a folder of its own holding a package ``mynets``; nothing when only
    the test that needs no run was collected."""
    if test_names is not None and set(test_names) <= {"test_every_command_has_its_run"}:
        return None
    folder = Path(tempfile.mkdtemp(prefix="cnnstat-console-script-"))
    (folder / "mynets").mkdir()
    (folder / "mynets" / "__init__.py").write_text("")
    (folder / "mynets" / "tiny.py").write_text(TINY_PACKAGE)
    (folder / "a-file").write_text("not a folder")
    return folder, {command: start_console_script(*(arg.format(folder=folder) for arg in args), cwd=folder)
                    for command, args in RUNS.items()}


@pytest.fixture(scope="module")
def runs():
    folder, started = take_early(__name__) or start_early(None)
    try:
        return {command: finish(process) for command, process in started.items()}
    finally:
        shutil.rmtree(folder)


def succeeded(runs, command):
    result = runs[command]
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_command_has_its_run():
    assert [command.name for command in app.registered_commands] == list(RUNS)


def test_list(runs):
    assert {"resnet18", "resnet50"} <= {row["model"] for row in json.loads(succeeded(runs, "list"))}


def test_summary_of_a_package_in_the_current_folder(runs):
    report = json.loads(succeeded(runs, "summary"))
    assert report["model"] == "mynets.tiny:build" and report["totals"]["params"] == (4 * 27 + 4) + (4 * 36 * 2 + 2)


def test_bench(runs):
    [row] = json.loads(succeeded(runs, "bench"))["rows"]
    assert row["model"] == "cifar_lenet" and row["latency_ms"] > 0


def test_compare(runs):
    assert list(pd.read_csv(io.StringIO(succeeded(runs, "compare")))["model"]) == ["vgg16", "mobilenet"]


def test_study(runs):
    assert "resnext-cardinality" in succeeded(runs, "study")


def test_report_refuses_a_folder_it_cannot_make(runs):
    result = runs["report"]
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("cnnstat: error: ") and result.stderr.count("\n") == 1, result.stderr


def test_crosscheck(runs):
    check = json.loads(succeeded(runs, "crosscheck"))
    assert {"fvcore", "torchinfo"} <= set(check["tools"]) and check["unexplained"] == []


def test_sweep(runs):
    sweep = pd.read_csv(io.StringIO(succeeded(runs, "sweep")))
    assert list(sweep["pixels"]) == [1024, 4096] and sweep["macs"].iloc[1] > 3.9 * sweep["macs"].iloc[0]


def test_fit(runs):
    [point] = json.loads(succeeded(runs, "fit"))["points"]
    assert point["batch"] >= 1 and point["confirmation"]["device"] == "cpu"


def test_checkpoint(runs):
    assert list(pd.read_csv(io.StringIO(succeeded(runs, "checkpoint")))["block"]) == ["layer1", "layer2", "layer3"]


def test_the_script_ends_after_the_atexit_handlers_with_the_commands_status():
    """``console`` skips the interpreter's teardown, not what a user's or a library's atexit
    handler would do at exit, nor the exit status or a line still buffered (Python's or C's)."""
    code = ("import atexit, sys; atexit.register(lambda: sys.stderr.write('handler ran\\n')); "
            "sys.argv = ['cnnstat'] + sys.argv[1:]; from cnnstat.cli.main import console; "
            "import ctypes; ctypes.CDLL(None).printf(b'C stdio, '); "
            "print('buffered', end=''); console()")
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}  # C stdio buffers
    ran = subprocess.run([sys.executable, "-c", code, "study", "--frobnicate"], capture_output=True, text=True,
                         timeout=120, env=environment)
    assert ran.returncode == 2 and ran.stdout == "bufferedC stdio, ", ran.stdout  # Python's, then C's
    assert ran.stderr.startswith("cnnstat: error: ") and ran.stderr.endswith("handler ran\n"), ran.stderr

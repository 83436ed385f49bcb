"""Every command answers a user's mistake with one line on stderr that says what was wrong and
what would be right, exit 2, no traceback, nothing on stdout. The whole table runs in this
process (``invoke``: the same Typer app and error handling, without a torch import per case);
Ctrl-C runs the real console script (tests/test_console_script.py runs it once per command).
(test_list_summary_cli.py holds the summary mistakes it already covered; they are not repeated.)"""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from cnnstat.cli.main import app

COMMANDS = {command.name for command in app.registered_commands}
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")

# {tmp}: the test's own folder; {file}: a regular file in it (a path under it fails even for root).
MISTAKES = [
    # list
    (["list", "resnet5O"], "did you mean resnet50"),
    (["list", "--format", "xml"], "choose one of table, csv, md, json"),
    (["list", "-o", "{file}/out.csv"], "is a file, not a directory"),
    (["list", "-o", "{tmp}/missing/out.csv"], "does not exist"),
    # summary, beyond test_list_summary_cli.py
    (["summary", "resnet18", "--mode", "fast", "--device", "meta"], "choose eval or train"),
    (["summary", "resnet18", "--classes", "0", "--device", "meta"], "--classes must be at least 1"),
    (["summary", "resnet18", "--in-channels", "0", "--device", "meta"], "--in-channels must be at least 1"),
    (["summary", "resnet18", "--optimizer", "adam", "--device", "meta"], "--optimizer needs --mode train"),
    (["summary", "resnet18", "--optimizer", "lion", "--mode", "train", "--device", "meta"], "choose sgd or adam"),
    (["summary", "resnet18", "--threads", "0", "--device", "cpu"], "--threads must be between 1 and"),
    (["summary", "resnet18", "--min-run-time", "0", "--device", "cpu"], "--min-run-time must be a positive number"),
    (["summary", "resnet18", "--min-run-time", "nan", "--device", "cpu"], "--min-run-time must be a positive number"),
    (["summary", "resnet18", "--threads", "65536", "--device", "cpu"], "--threads must be between 1 and"),
    (["summary", "resnet18", "--device", "meta", "-o", "{file}/out.csv"], "is a file, not a directory"),
    (["summary", "resnet18", "--batch", "100000", "--device", "cpu", "-o", "{tmp}/out.json"],
     "static estimate) but cpu has"),
    # compare
    (["compare", "resnet18", "resnet5O"], "did you mean resnet50"),
    (["compare", "resnet18", "--input", "3x224"], "resnet18 takes 3 sizes (channels and spatial), e.g. 3x224x224"),
    (["compare", "resnet18", "--input", "axbxc"], "expected sizes joined by 'x'"),
    (["compare", "resnet18", "--input", "3x0x224"], "every size must be at least 1"),
    (["compare", "resnet18", "--batch", "0"], "--batch must be at least 1"),
    (["compare", "resnet18", "--batch", "-2"], "--batch must be at least 1"),
    (["compare", "vgg16", "--input", "3x16x16"], "layer features.30 (MaxPool2d) failed on input 1x512x1x1"),
    (["compare", "resnet18", "--input", "1x224x224"], "layer conv1 (Conv2d) failed on input 1x1x224x224"),
    (["compare", "resnet18", "--device", "tpu"], "unknown device 'tpu'; use meta, cpu or cuda"),
    pytest.param(["compare", "resnet18", "--device", "cuda"], "use --device cpu or meta", marks=NO_CUDA),
    (["compare", "resnet18", "--format", "xml"], "choose one of"),
    (["compare", "block/conv", "--set", "k"], "expected key=value"),
    (["compare", "block/conv:k=3,", "--set", "=3"], "expected key=value"),
    (["compare", "resnet18", "-o", "{tmp}/missing/out.csv"], "does not exist"),
    (["compare", "resnet18", "--batch", "100000", "--device", "cpu", "-o", "{tmp}/out.csv"],
     "use a smaller --batch or --device meta"),
    # study
    (["study", "kernel-stak"], "did you mean kernel-stack"),
    (["study", "kernel-stack", "--device", "tpu"], "unknown device"),
    pytest.param(["study", "kernel-stack", "--device", "cuda"], "use --device cpu or meta", marks=NO_CUDA),
    (["study", "kernel-stack", "--format", "xml"], "choose one of"),
    (["study", "kernel-stack", "-o", "{file}/out.csv"], "is a file, not a directory"),
    # bench (every mistake is caught before any timing)
    (["bench", "resnet18", "resnet5O"], "did you mean resnet50"),
    (["bench", "resnet18", "--batch", "0"], "every value must be at least 1"),
    (["bench", "resnet18", "--batch", "8,x"], "expected integers separated by commas"),
    (["bench", "resnet18", "--dtype", "float8"], "choose one of float32, float16, bfloat16"),
    (["bench", "resnet18", "--mode", "fast"], "choose eval or train"),
    (["bench", "resnet18", "--optimizer", "sgd"], "--optimizer needs --mode train"),
    (["bench", "resnet18", "--threads", "-1"], "--threads must be between 1 and"),
    (["bench", "resnet18", "--threads", "65536"], "--threads must be between 1 and"),
    (["bench", "resnet18", "--min-run-time", "nan"], "--min-run-time must be a positive number of seconds, got nan"),
    (["bench", "resnet18", "--min-run-time", "inf"], "--min-run-time must be a positive number of seconds, got inf"),
    (["bench", "resnet18", "--device", "tpu"], "unknown device"),
    (["bench", "resnet18", "--device", "meta"], "bench measures on a real device"),
    pytest.param(["bench", "resnet18", "--device", "cuda"], "use --device cpu or meta", marks=NO_CUDA),
    (["bench", "resnet18", "--format", "xml"], "choose one of"),
    (["bench", "resnet18", "-o", "{tmp}/missing/out.csv"], "does not exist"),
    (["bench", "resnet18", "--batch", "100000", "--device", "cpu"], "use a smaller --batch or --device meta"),
    # report
    (["report", "--device", "tpu", "--out", "{tmp}/new"], "unknown device"),
    pytest.param(["report", "--device", "cuda", "--out", "{tmp}/new"], "use --device cpu or meta", marks=NO_CUDA),
    (["report", "--out", "{file}"], "is a file, not a directory; give a folder"),
    (["report", "--out", "{file}/reports"], "give a folder you can write"),
]
if "sweep" in COMMANDS:
    MISTAKES += [
        (["sweep", "resnet5O"], "did you mean resnet50"),
        (["sweep", "cifar_lenet", "--input", "3x32"], "takes 3 sizes"),
        (["sweep", "cifar_lenet", "--input", "3x0x32"], "every size must be at least 1"),
        (["sweep", "cifar_lenet", "--batch", "0"], "every value must be at least 1"),
        (["sweep", "cifar_lenet", "--threads", "65536"], "--threads must be between 1 and"),
        (["sweep", "cifar_lenet", "--min-run-time", "inf"], "--min-run-time must be a positive number"),
        (["sweep", "cifar_lenet", "--device", "tpu"], "unknown device"),
        (["sweep", "cifar_lenet", "--format", "xml"], "choose one of"),
        (["sweep", "cifar_lenet", "--set", "k"], "expected key=value"),
        (["sweep", "cifar_lenet", "-o", "{file}/out.csv"], "is a file, not a directory"),
    ]
if "crosscheck" in COMMANDS:
    MISTAKES += [
        (["crosscheck", "resnet5O"], "did you mean resnet50"),
        (["crosscheck", "cifar_lenet", "--batch", "0"], "--batch must be at least 1"),
        (["crosscheck", "cifar_lenet", "--input", "3x32"], "cifar_lenet takes 3 sizes"),
        (["crosscheck", "cifar_lenet", "--input", "3x8x8"], "layer conv2 (Conv2d) failed on input 1x8x2x2"),
        (["crosscheck", "cifar_lenet", "--input", "1x32x32"], "layer conv1 (Conv2d) failed on input 1x1x32x32"),
        (["crosscheck", "cifar_lenet", "--set", "k"], "expected key=value"),
        (["crosscheck", "cifar_lenet", "--format", "xml"], "choose one of"),
        (["crosscheck", "cifar_lenet", "-o", "{tmp}/missing/out.csv"], "does not exist"),
    ]


def _fill(args, tmp_path):
    regular_file = tmp_path / "file.txt"
    regular_file.write_text("a regular file")
    return [arg.format(tmp=tmp_path, file=regular_file) for arg in args]


def assert_one_clear_line(result, message):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("cnnstat: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr


def in_process(invoke):
    """``invoke`` with the console script's result attributes (exit code, stdout, stderr)."""
    def run(*args):
        result = invoke(*args)
        assert isinstance(result.exception, SystemExit), result.exception  # anything else would be a traceback
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
    return run


def _ids(value):
    return " ".join(value) if isinstance(value, list) else None


@pytest.mark.parametrize("args, message", MISTAKES, ids=_ids)
def test_a_mistake_is_one_clear_line(invoke, tmp_path, args, message):
    assert_one_clear_line(in_process(invoke)(*_fill(args, tmp_path)), message)
    # nothing written, not even a temporary file (report's --out folder is only made once the device is known)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


USAGE_MISTAKES = [
    (["summary", "resnet18", "--batch", "abc"], "Invalid value for '--batch'"),
    (["summary"], "Missing argument 'MODEL'"),
    (["summry", "resnet18"], "No such command 'summry'. Did you mean 'summary'?"),
    (["bench", "resnet18", "--no-such-flag"], "No such option: --no-such-flag"),
]


@pytest.mark.parametrize("args, message", USAGE_MISTAKES, ids=_ids)
def test_a_usage_mistake_is_one_clear_line(cli, args, message):
    """Mistakes the command line parser catches (Typer's boxed usage text otherwise)."""
    result = cli(*args)
    assert_one_clear_line(result, message)
    assert "--help')" in result.stderr


def test_a_directory_that_cannot_be_written(invoke, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):
        pytest.skip("running as a user who can write a 0o500 folder (root)")
    for args in (["summary", "cifar_lenet", "--device", "meta", "-o", str(locked / "out.csv")],
                 ["report", "--out", str(locked / "reports")]):
        assert_one_clear_line(in_process(invoke)(*args), "writ")


def test_auto_device_falls_back_to_static_figures_when_memory_would_not_suffice(cli):
    result = cli("bench", "cifar_lenet", "--batch", "100000000", "--format", "json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "note:" in result.stderr and "static figures only" in result.stderr
    assert '"skipped"' in result.stdout


# Batch 32 of resnet50: one CPU step takes seconds, so the signal lands inside the run however soon a
# tight spread would end the timing.
@pytest.mark.parametrize("args", [["bench", "resnet50", "--batch", "32", "--device", "cpu", "--min-run-time", "60"],
                                  ["summary", "resnet50", "--batch", "32", "--device", "cpu", "--min-run-time", "60"]],
                         ids=["bench", "summary"])
def test_ctrl_c_exits_130_without_a_traceback(tmp_path, args):
    target = tmp_path / "out.csv"
    child = subprocess.Popen([sys.executable, "-m", "cnnstat", *args, "--format", "csv", "-o", str(target)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # past start-up, inside the run
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr and stderr.strip().endswith("cnnstat: error: interrupted")
    assert stdout == "" and list(tmp_path.iterdir()) == []


def test_ctrl_c_while_the_options_are_read_is_one_line_too(monkeypatch, capsys):
    """A Ctrl-C before a command's own handler runs (typer still reading the options) ends
    the script with 130 and the same line, not a traceback."""
    import atexit

    from cnnstat.cli import main

    class Ended(Exception):
        pass

    def interrupted():
        raise KeyboardInterrupt

    def ended(status):
        raise Ended(status)

    monkeypatch.setattr(main, "run", interrupted)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: None)  # pytest's own handlers stay for pytest's exit
    monkeypatch.setattr(os, "_exit", ended)
    with pytest.raises(Ended) as status:
        main.console()
    assert status.value.args == (130,) and capsys.readouterr().err == "cnnstat: error: interrupted\n"

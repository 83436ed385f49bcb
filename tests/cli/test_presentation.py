"""Output a person can read at any width and a program can load (issue 11's presentation points).

Terminal behaviour is tested in process with Rich told the stream is a terminal
(TTY_COMPATIBLE=1, as a pseudo-terminal would be) and COLUMNS set; stream behaviour (a full
disk, a closed pipe) through the console script."""

import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")
UPDATE = os.environ.get("CNNSTAT_UPDATE_SNAPSHOTS") == "1"


@pytest.fixture
def terminal(invoke, monkeypatch):
    """Run a command as if stdout were a terminal ``columns`` wide; returns plain text."""
    def run(columns, *args):
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
        monkeypatch.setenv("COLUMNS", str(columns))
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        return ANSI.sub("", result.stdout)
    return run


@pytest.mark.parametrize("columns", [80, 120])
def test_compare_snapshot(terminal, columns):
    text = terminal(columns, "compare", "vgg16", "mobilenet", "--device", "meta")
    snapshot = SNAPSHOTS / f"compare_vgg16_mobilenet_{columns}.txt"
    if UPDATE or not snapshot.exists():
        snapshot.write_text(text)
    assert text == snapshot.read_text()
    # Models as columns: every figure whole, the names as written.
    assert "138,357,544" in text and "x0.031" in text and "vgg16" in text and "mobilenet" in text


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("args", [("summary", "resnet50", "--device", "meta"), ("list",),
                                  ("compare", "vgg16", "mobilenet", "resnet50", "resnet18", "--device", "meta")],
                         ids=["summary", "list", "compare"])
def test_nothing_is_cut_at_any_width(terminal, columns, args):
    text = terminal(columns, *args)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= columns
    if args[0] == "summary":
        assert "25,557,032" in text and "4.09G" in text  # the model's params and MACs, whole


def test_a_narrow_terminal_says_which_columns_it_left_out(terminal):
    text = terminal(80, "summary", "resnet18", "--device", "meta", "--depth", "1")
    assert "Left out to fit 80 columns: " in text and "FLOPs (flops)" in text and "--columns" in text
    chosen = terminal(80, "summary", "resnet18", "--device", "meta", "--depth", "1", "--columns", "flops,macs")
    header = next(line for line in chosen.splitlines() if "Layer" in line)
    assert "FLOPs" in header and "Params" not in header and "Left out" not in chosen


def test_off_a_terminal_there_is_no_width_limit(invoke):
    result = invoke("summary", "resnet50", "--device", "meta", "--depth", "1")
    headers = next(line for line in result.stdout.splitlines() if "Layer" in line)
    assert all(h in headers for h in ("Config", "Output shape", "Params", "MACs", "FLOPs", "Act. mem"))
    assert "…" not in result.stdout and "Left out" not in result.stdout


def test_unknown_columns_are_a_clear_error(invoke):
    result = invoke("list", "--columns", "params,nope")
    assert result.exit_code == 2 and "unknown --columns params, nope" in result.stderr


@pytest.mark.parametrize("suffix", [".csv", ".json", ".md", ".txt"])
def test_output_format_follows_the_extension(invoke, tmp_path, suffix):
    target = tmp_path / f"out{suffix}"
    assert invoke("summary", "resnet18", "--device", "meta", "-o", str(target)).exit_code == 0
    text = target.read_text()
    if suffix == ".csv":
        frame = pd.read_csv(target)
        assert frame["name"].iloc[0] == "resnet18" and frame["params"].iloc[0] == 11_689_512
    elif suffix == ".json":
        assert json.loads(text)["layers"][0]["name"] == "resnet18"
    elif suffix == ".md":
        assert text.startswith("### resnet18") and "| ---:" in text
    else:
        assert "┃ Layer" in text


def test_a_format_contradicting_the_extension_is_an_error(invoke, tmp_path):
    result = invoke("list", "--format", "csv", "-o", str(tmp_path / "zoo.md"))
    assert result.exit_code == 2 and "--format csv contradicts -o" in result.stderr
    assert not (tmp_path / "zoo.md").exists()


def test_small_figures_keep_their_digits(invoke):
    text = invoke("compare", "resnet50", "cifar_linear", "--device", "meta").stdout
    row = next(line for line in text.splitlines() if line.startswith("│ cifar_linear"))
    assert not re.search(r"│\s+x?0\.0+\s+│", row), row  # no non-zero figure printed as 0.00
    assert "x0.0000075" in row  # its MACs are 7.5e-6 of resnet50's


def test_help_reads_like_a_unix_tool(invoke, monkeypatch):
    """What a user reads, whatever Typer and Rich are installed: each command's whole summary on
    its line of the command list, no Python type where a value is named, no word cut to "…" on
    an 80-column terminal."""
    import typer.main

    from cnnstat.cli.help import first_paragraph
    from cnnstat.cli.main import app

    monkeypatch.setenv("COLUMNS", "400")  # nothing wraps: a line that ends early is a hard break
    top = invoke("--help").stdout
    commands = typer.main.get_command(app).commands
    assert {"list", "summary", "bench", "compare", "study", "report", "crosscheck", "sweep"} <= set(commands)
    for name, command in commands.items():  # each summary on one line of the command list
        line = next(line for line in top.splitlines() if re.match(rf"\W*{name}\s", line))
        assert " ".join(line.strip(" │").split()) == f"{name} {first_paragraph(command.help)}", line
        text = invoke(name, "--help").stdout
        assert not re.search(r"<(bool|str|int|float|list|path)|\{[A-Za-z]|\b(bool|str|int|float|Path)\b", text), name
    monkeypatch.setenv("COLUMNS", "80")
    for args in (["--help"], *([name, "--help"] for name in commands)):
        assert "…" not in invoke(*args).stdout, args
    bench = invoke("bench", "--help").stdout
    assert "pkg.module:factory" in bench and "torchvision:NAME" in bench
    for command in ("summary", "compare"):
        assert "auto (the default" in invoke(command, "--help").stdout


def test_square_brackets_print_as_written(invoke, tmp_path, monkeypatch):
    folder = tmp_path / "exp[v2]"
    folder.mkdir()
    (folder / "net.py").write_text(
        "import torch\n"
        "class Net(torch.nn.Module):\n"
        "    input_size = (4,)\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.heads = torch.nn.ModuleDict({'box[/reg]': torch.nn.Linear(4, 2), '[bold]x': torch.nn.ReLU()})\n"
        "    def forward(self, x):\n"
        "        return self.heads['[bold]x'](self.heads['box[/reg]'](x))\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("summary", "exp[v2]/net.py:Net", "--device", "meta")
    assert result.exit_code == 0, result.output
    assert "exp[v2]/net.py:Net" in result.stdout and "box[/reg]" in result.stdout and "[bold]x" in result.stdout


def test_compare_carries_the_measurement_and_its_warnings(invoke, monkeypatch):
    from cnnstat.analysis import measure
    from cnnstat.analysis.records import Machine, Measured

    def fake_measure(reports, device, **settings):  # a measurement with a wide spread, without the seconds of timing
        return [Measured(Machine("cpu", "test CPU", 1, "x"), "eval", None, 1, latency_ms=2.0,
                         latency_iqr_ms=1.5, runs=5, throughput_per_s=500.0, measured_peak_bytes=10,
                         spread_warning="block/conv: the spread is wide" if not index else None)
                for index, _ in enumerate(reports)]

    monkeypatch.setattr(measure, "measure_reports", fake_measure)
    result = invoke("compare", "block/conv", "block/conv:k=5")  # --device auto: measured on cpu
    assert result.exit_code == 0, result.output
    assert "Latency x" in result.stdout and "device cpu" in result.stdout
    assert "Measured on test CPU (cpu, 1 thread, torch x)" in result.stdout
    assert "Warning: block/conv: the spread is wide" in result.stdout
    assert "warning: block/conv: the spread is wide" in result.stderr


def test_progress_goes_to_stderr_on_a_terminal(invoke, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    result = invoke("summary", "resnet18", "--device", "meta", "--format", "csv")
    assert "counting on the meta device" in result.stderr
    assert "counting" not in result.stdout


def test_output_writes_through_devices_fifos_and_symlinks(invoke, tmp_path):
    assert invoke("list", "-o", "/dev/null").exit_code == 0
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert invoke("list", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and target.read_text().startswith("model,family")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = io.StringIO()
    reader = threading.Thread(target=lambda: got.write(fifo.read_text()))
    reader.start()
    assert invoke("list", "--format", "csv", "-o", str(fifo)).exit_code == 0
    reader.join(timeout=10)
    assert got.getvalue().startswith("model,family") and fifo.is_fifo()


def _script_started(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    return subprocess.Popen([sys.executable, "-m", "cnnstat", *args], env=env, **kwargs)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_stdout_is_one_line_and_a_closed_pipe_is_quiet():
    with open("/dev/full", "w") as full:
        result = _script_started("list", stdout=full, stderr=subprocess.PIPE, text=True)
        assert result.wait(timeout=60) == 1
    assert result.stderr.read() == "cnnstat: error: cannot write to stdout: No space left on device\n"
    writer = _script_started("list", "--format", "md", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer.stdout.close()  # the reader is gone before a byte is read
    assert writer.wait(timeout=60) == 141 and writer.stderr.read() == b""

"""-o writes what it is told and nothing else: a descriptor path (/dev/stdout, /dev/fd/N,
/proc/self/fd/N) is written through the open descriptor, appending where it was opened to
append; a file whose name gives no format is never replaced; a path that cannot be written is
one line. stdout carries the output only: what a model prints goes to stderr."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.cli.test_hardening import assert_one_clear_line, in_process

SUMMARY = ["summary", "cifar_lenet", "--device", "meta"]


def test_dev_stdout_appends_where_the_shell_opened_it_to_append(tmp_path):
    """`cnnstat ... -o /dev/stdout >> log.txt` keeps log.txt's earlier lines (a real shell redirection;
    `list` runs without torch, so the process is quick)."""
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    with open(log, "ab") as appended:
        for _ in range(2):
            subprocess.run([sys.executable, "-m", "cnnstat", "list", "--format", "csv", "-o", "/dev/stdout"],
                           stdout=appended, check=True, timeout=120)
    lines = log.read_text().splitlines()
    rows = lines.index("model,family,input_size,published_params,published_gmacs,year,paper", 2) - 1
    assert lines[0] == "earlier line" and lines[1] == lines[1 + rows] and len(lines) == 1 + 2 * rows
    assert [p.name for p in tmp_path.iterdir()] == ["log.txt"]


@pytest.fixture
def appended(tmp_path):
    """A descriptor open to append to log.txt, which holds one line."""
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    yield fd, log
    os.close(fd)


@pytest.mark.parametrize("path", ["/dev/fd/{fd}", "/proc/self/fd/{fd}", "{tmp}/link.csv"])
def test_a_descriptor_path_is_written_through_the_descriptor(invoke, tmp_path, appended, path):
    fd, log = appended
    (tmp_path / "link.csv").symlink_to(f"/dev/fd/{fd}")
    for _ in range(2):
        result = invoke(*SUMMARY, "--format", "csv", "-o", path.format(fd=fd, tmp=tmp_path))
        assert result.exit_code == 0, result.output
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line" and lines[1] == lines[10] and lines[1].startswith("index,name,depth")
    assert (tmp_path / "link.csv").is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "log.txt"]


def test_dev_stdout_and_stderr_are_the_commands_own_streams(invoke):
    result = invoke(*SUMMARY, "--format", "json", "-o", "/dev/stdout")
    assert result.exit_code == 0 and json.loads(result.stdout)["model"] == "cifar_lenet"


@pytest.mark.parametrize("command", [SUMMARY, ["fit", "cifar_lenet", "--device", "meta", "--budget", "1GiB"]],
                         ids=["summary", "fit"])
def test_a_dash_is_stdout_in_the_format_given(invoke, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    result = invoke(*command, "--format", "json", "-o", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == "cifar_lenet" and "wrote" not in result.stderr
    assert_one_clear_line(in_process(invoke)(*command, "-o", "-"), "-o - writes to stdout, which has no extension "
                                                                 "to name the format: give --format (table, csv")
    assert list(tmp_path.iterdir()) == []  # no file named "-"


def test_a_descriptor_that_cannot_be_written(invoke, tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("kept\n")
    fd = os.open(log, os.O_RDONLY)
    try:
        assert_one_clear_line(in_process(invoke)(*SUMMARY, "-o", f"/dev/fd/{fd}"),
                              f"cannot write /dev/fd/{fd}: descriptor {fd} is open for reading only")
    finally:
        os.close(fd)
    closed = os.open(log, os.O_RDONLY)
    os.close(closed)
    assert_one_clear_line(in_process(invoke)(*SUMMARY, "-o", f"/dev/fd/{closed}"), f"descriptor {closed} is not open")
    assert log.read_text() == "kept\n"


@pytest.mark.parametrize("name, existing, message", [
    ("table.xlsx", False, "-o {path}: cnnstat writes .txt, .csv, .md, .json, .html files, not .xlsx; name the file by "
                          "the format to write, e.g. table.csv"),
    ("own.py", True, "not .py"),
    ("Makefile", True, "-o {path}: {path} exists and its name gives no format, so it is not replaced"),
    ("link.csv", True, "-o {path}: it links to {tmp}/own.py; cnnstat writes"),
])
def test_a_file_whose_name_gives_no_format_is_never_replaced(invoke, tmp_path, name, existing, message):
    own = tmp_path / "own.py"
    own.write_text("class Net: ...\n")
    (tmp_path / "Makefile").write_text("all:\n")
    (tmp_path / "link.csv").symlink_to(own)
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    path = tmp_path / name
    assert path.exists() == existing
    assert_one_clear_line(in_process(invoke)(*SUMMARY, "-o", str(path)), message.format(path=path, tmp=tmp_path))
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before


def test_a_new_file_without_an_extension_takes_the_format_given(invoke, tmp_path):
    result = invoke(*SUMMARY, "--format", "csv", "-o", str(tmp_path / "results"))
    assert result.exit_code == 0 and (tmp_path / "results").read_text().startswith("index,name,depth")


@pytest.mark.parametrize("name, message", [
    ("loop.csv", "cannot write {tmp}/loop.csv: Too many levels of symbolic links"),
    ("a" * 300 + ".csv", "File name too long"),
    ("a/" * 3000 + "x.csv", "File name too long"),
], ids=["symlink loop", "name too long", "path too long"])
def test_a_path_no_file_system_takes(invoke, tmp_path, name, message):
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    result = in_process(invoke)(*SUMMARY, "-o", str(tmp_path / name))
    assert_one_clear_line(result, message.format(tmp=tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["loop.csv"]


CHATTY = """
    import sys
    import torch.nn as nn

    class Net(nn.Module):
        input_size = (3, 8, 8)

        def __init__(self):
            super().__init__()
            print("building Net")
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            print("forward got", tuple(x.shape))
            return self.conv(x)

    class Quits(Net):
        def forward(self, x):
            sys.exit(3)
"""


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_what_a_model_prints_goes_to_stderr(cli, tmp_path, fmt):
    (tmp_path / "chatty.py").write_text(textwrap.dedent(CHATTY))
    result = cli("summary", f"{tmp_path}/chatty.py:Net", "--device", "meta", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert "building Net" in result.stderr and "forward got (1, 3, 8, 8)" in result.stderr
    assert "building" not in result.stdout and "forward" not in result.stdout
    if fmt == "json":
        assert json.loads(result.stdout)["totals"]["params"] == 4 * 27 + 4


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_model_that_calls_sys_exit_is_one_line(cli, tmp_path, device):
    (tmp_path / "chatty.py").write_text(textwrap.dedent(CHATTY))
    result = cli("summary", f"{tmp_path}/chatty.py:Quits", "--device", device, "--min-run-time", "0.01")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("cnnstat: error: ") and "sys.exit(3)" in result.stderr


WRITES_TO_DESCRIPTOR_1 = """
    import os
    import torch.nn as nn

    class Net(nn.Module):
        input_size = (16,)

        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(16, 8)

        def forward(self, x):
            os.write(1, b"noise from descriptor 1\\n")  # as a C extension writes, past Python's sys.stdout
            return self.proj(x)
"""


def test_what_a_model_writes_to_descriptor_1_goes_to_stderr(tmp_path):
    """Real processes (a test's in-process run has no descriptor of its own): stdout parses as JSON,
    and -o /dev/stdout still appends through the shell's descriptor."""
    from tests.conftest import finish, start_console_script

    (tmp_path / "noisy.py").write_text(textwrap.dedent(WRITES_TO_DESCRIPTOR_1))
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    summary = ["summary", "noisy.py:Net", "--device", "meta"]
    piped = start_console_script(*summary, "--format", "json", cwd=tmp_path)
    with open(log, "ab") as appended:
        subprocess.run([sys.executable, "-m", "cnnstat", *summary, "--format", "csv", "-o", "/dev/stdout"],
                       cwd=tmp_path, stdout=appended, stderr=subprocess.DEVNULL, check=True, timeout=120)
    result = finish(piped, check=True)
    assert json.loads(result.stdout)["totals"]["params"] == 16 * 8 + 8
    assert "noise from descriptor 1" in result.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line" and lines[1].startswith("index,name,depth") and len(lines) == 4  # root, proj


PER_TOKEN = """
    import torch.nn as nn

    class Net(nn.Module):
        input_size = (16,)

        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(16, 4)

        def forward(self, x):
            return self.linear(x)
"""


def test_a_plot_that_cannot_be_drawn_stops_the_command_before_the_table(cli, tmp_path):
    (tmp_path / "per_token.py").write_text(textwrap.dedent(PER_TOKEN))
    result = cli("summary", f"{tmp_path}/per_token.py:Net", "--device", "meta", "--plot", str(tmp_path / "field.png"),
                 "--plot-metric", "receptive-field")
    assert_one_clear_line(result, "has no spatial input, so no receptive field to plot")
    assert [p.name for p in tmp_path.iterdir()] == ["per_token.py"]


DATA_DEPENDENT = """
    import torch.nn as nn

    class Net(nn.Module):
        input_size = (3, 8, 8)

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            y = self.conv(x)
            return y, len(y.nonzero())
"""


def test_fvcore_failing_inside_crosscheck_is_one_line(cli, tmp_path):
    pytest.importorskip("fvcore")
    (tmp_path / "dynamic.py").write_text(textwrap.dedent(DATA_DEPENDENT))
    result = cli("crosscheck", f"{tmp_path}/dynamic.py:Net")
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        f"cnnstat: error: fvcore could not count {tmp_path}/dynamic.py:Net, so there is nothing to check against: "
        "RuntimeError: ")


def test_cuda_homes_notice_is_not_shown(invoke):
    """A CUDA build of torch without a GPU logs "No CUDA runtime is found" when torch.utils.benchmark
    first imports cpp_extension; the command line keeps that logger to errors."""
    import logging

    assert invoke(*SUMMARY, "--format", "csv").exit_code == 0
    assert not logging.getLogger("torch.utils.cpp_extension").isEnabledFor(logging.WARNING)


def test_a_plot_through_a_descriptor_is_written_as_bytes(invoke, tmp_path):
    (tmp_path / "plot.png").symlink_to("/dev/stdout")
    result = invoke(*SUMMARY, "--format", "csv", "-o", os.devnull, "--plot", str(tmp_path / "plot.png"))
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\x89PNG\r\n")


def test_a_closed_stdout_is_one_line(tmp_path):
    """`cnnstat ... >&-`: Python's stdout is None; the output has nowhere to go."""
    result = subprocess.run([sys.executable, "-m", "cnnstat", "list", "--format", "csv"], capture_output=False,
                            stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1), timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == "cnnstat: error: cannot write to stdout: it is closed; give -o FILE\n"


def test_whether_the_table_is_on_a_terminal_is_asked_of_stdout(monkeypatch):
    """While a command runs, sys.stdout is stderr: the question goes to the stdout it found."""
    import io

    from cnnstat.cli.progress import table_on_terminal
    from cnnstat.render.output import stdout_for_data_only

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stdout, stderr, on_terminal in ((Terminal(), io.StringIO(), True), (io.StringIO(), Terminal(), False)):
        monkeypatch.setattr(sys, "stdout", stdout)
        monkeypatch.setattr(sys, "stderr", stderr)
        with stdout_for_data_only():
            assert table_on_terminal("table", None) is on_terminal

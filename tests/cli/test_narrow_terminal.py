"""At every width from 60 columns up, each command keeps the figures it exists for, and the line
that says what was left out names only options the command has (issue 21)."""

import re

import pytest

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


@pytest.fixture
def terminal(invoke, monkeypatch):
    """Run a command as if stdout were a terminal ``columns`` wide; returns the header cells of
    its first table and the whole text."""
    def run(columns, *args):
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
        monkeypatch.setenv("COLUMNS", str(columns))
        result = invoke(*args)
        assert result.exit_code in (0, 1), result.output
        text = ANSI.sub("", result.stdout)
        assert max(len(line) for line in text.splitlines()) <= columns and "…" not in text
        lines = text.splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("┃"))
        last = next(i for i, line in enumerate(lines) if line.startswith("┡"))
        header = [line.strip("┃").split("┃") for line in lines[first:last]]
        return [" ".join(" ".join(cells).split()) for cells in zip(*header)], text
    return run


KEPT = {
    "summary": (("summary", "resnet18", "--device", "meta"), ["Output shape", "Params", "MACs"]),
    "measured summary": (("summary", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.02"),
                         ["Output shape", "Params", "MACs", "Latency (ms)"]),
    "crosscheck": (("crosscheck", "cifar_lenet"), ["cnnstat", "fvcore", "torchinfo", "Unexplained"]),
    "bench": (("bench", "cifar_linear", "--batch", "1,2", "--min-run-time", "0.02"), ["Latency (ms)", "IQR (ms)"]),
}


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("command", KEPT)
def test_each_command_keeps_the_figures_it_exists_for(terminal, command, columns):
    args, kept = KEPT[command]
    headers, text = terminal(columns, *args)
    assert all(header in headers for header in kept), (headers, text)
    if "Left out" in text:
        assert "--columns KEY,KEY" in " ".join(text.split())  # every one of these commands has --columns


def test_summary_drops_type_config_and_field_before_shape(terminal):
    headers, text = terminal(80, "summary", "resnet50", "--device", "meta")
    assert "Output shape" in headers and "Config" not in headers and "RF" not in headers
    assert "├─conv1" in text and "└─fc" in text  # torchinfo's tree glyphs


def test_compare_keeps_memory_before_ratios(terminal):
    headers, _ = terminal(60, "compare", "vgg16", "mobilenet", "resnet50", "resnet18", "--device", "meta")
    assert "Eval peak" in headers and "Train peak" in headers and "MACs x" not in headers


def test_a_deep_tree_fits_a_screen_with_every_row_one_option_away(terminal, monkeypatch):
    monkeypatch.setenv("LINES", "50")
    _, text = terminal(120, "summary", "resnet50", "--device", "meta")
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert len(rows) == 27 + 1  # to depth 2, and the totals
    assert "--depth 4 shows every row" in " ".join(text.split())
    _, chosen = terminal(120, "summary", "resnet50", "--device", "meta", "--depth", "4")
    assert len([line for line in chosen.splitlines() if line.startswith("│")]) == 183 + 1


@pytest.mark.parametrize("columns,lines", [(80, 45), (80, 60), (120, 40), (120, 60)])
def test_the_screen_sized_tree_fits_the_screen_with_its_footer(terminal, monkeypatch, columns, lines):
    """The whole output, the lines under the table wrapped at the width included, leaves the
    shell's next line on the screen; one level deeper would not."""
    monkeypatch.setenv("LINES", str(lines))
    _, text = terminal(columns, "summary", "resnet50", "--device", "meta")
    shown = text.splitlines()
    assert len(shown) <= lines - 1
    note = next(i for i, line in enumerate(shown) if line.startswith("Note: ") and " rows, to depth " in line)
    depth = int(re.search(r"to depth (\d+)", " ".join(shown[note:])).group(1))
    assert depth < 4 and "--depth 4 shows every row" in " ".join(" ".join(shown[note:]).split())
    _, deeper = terminal(columns, "summary", "resnet50", "--device", "meta", "--depth", str(depth + 1))
    assert len(deeper.splitlines()) + len(shown) - note > lines - 1  # with its note, it would run past


def test_the_console_script_on_a_real_terminal_keeps_the_figures():
    """The installed script in a pseudo-terminal 60 columns wide."""
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("cnnstat")
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "60", "LINES": "40", "NO_COLOR": "1", "TERM": "xterm"}
    process = subprocess.Popen([str(script), "summary", "resnet18", "--device", "meta"], stdout=follower,
                               stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    text = ANSI.sub("", b"".join(chunks).decode())
    header = next(line for line in text.splitlines() if "Layer" in line)
    assert all(name in " ".join(text.split()) for name in ("Output", "Params", "MACs")), text
    assert "Layer" in header and max(len(line.rstrip("\r")) for line in text.splitlines()) <= 60

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

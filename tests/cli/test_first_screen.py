"""The first screen: a warning is said once, never onto a live progress line; -o FILE says
what it wrote; the model is named as the user wrote it."""

import re

import pytest

from cnnstat.analysis import measure
from cnnstat.analysis.records import Machine

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


@pytest.fixture
def spread(monkeypatch):
    """Measurements with a wide spread, without the seconds of timing."""
    def fake_measure(reports, device, **settings):
        return [measure.Measured(Machine("cpu", "test CPU", 1, "x"), "eval", None, 1, latency_ms=2.0,
                                 latency_iqr_ms=1.5, runs=5, throughput_per_s=500.0, measured_peak_bytes=10,
                                 spread_warning=f"{report.model}: the spread is wide") for report in reports]

    monkeypatch.setattr(measure, "measure_reports", fake_measure)


def test_on_a_terminal_the_footer_says_the_warning_and_stderr_does_not_repeat_it(invoke, spread, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    result = invoke("compare", "block/conv", "block/conv:k=5")
    assert ANSI.sub("", result.stdout).count("the spread is wide") == 2  # one per model, in the footer
    assert "the spread is wide" not in result.stderr


def test_a_warning_is_printed_above_the_live_line(invoke, spread, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # stderr too is a terminal: the spinner runs
    result = invoke("compare", "block/conv", "mobilenet", "--format", "csv")
    warnings = [m.start() for m in re.finditer("cnnstat: warning", result.stderr)]
    assert len(warnings) == 2  # once each, here: the CSV on stdout has no footer
    for start in warnings:  # each starts a line of its own, after the live line was cleared
        assert result.stderr[:start].endswith(("\n", "\x1b[2K", "\r")), repr(result.stderr[max(0, start - 40):start])
    assert "mobilenet: the spread is wide" in result.stderr  # as written, not mobilenet_v1


def test_output_to_a_file_says_what_it_wrote(invoke, tmp_path):
    target = tmp_path / "lenet.md"
    result = invoke("summary", "cifar_lenet", "--device", "meta", "-o", str(target))
    assert result.exit_code == 0 and f"cnnstat: wrote {target}" in result.stderr

"""Results show themselves in a notebook (through IPython's own display formatter) and print as
the command line's table; tab completion finds the public API (issue 21)."""

import re

import pytest

import cnnstat
from cnnstat.cli.main import app

SELF_CONTAINED = re.compile(r"""(src|href)=["'](?!#|data:)""")


def shown(result):
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(result)
    return data


@pytest.fixture(scope="module")
def lenet():
    return cnnstat.profile("cifar_lenet")


def test_a_report_in_a_notebook_is_the_summary_page(lenet, tmp_path):
    from typer.testing import CliRunner

    data = shown(lenet)
    page = tmp_path / "lenet.html"
    assert CliRunner().invoke(app, ["summary", "cifar_lenet", "--device", "meta", "-o", str(page)]).exit_code == 0
    assert data["text/html"] == page.read_text()  # the same template, the same page
    assert not SELF_CONTAINED.search(data["text/html"])
    assert data["text/plain"].startswith("<cnnstat Report cifar_lenet") and len(data["text/plain"]) < 200


def test_print_shows_the_command_line_table(lenet):
    from typer.testing import CliRunner

    text = str(lenet)
    printed = CliRunner().invoke(app, ["summary", "cifar_lenet", "--device", "meta"], env={"COLUMNS": "300"}).stdout
    assert text == printed
    assert "├─conv1" in text and "Params: 62,958" in text


def test_table_takes_depth_and_columns(lenet):
    table = lenet.table(depth=0, columns=["params", "macs"])
    header = next(line for line in table.splitlines() if "Layer" in line)
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == ["Layer", "Params", "MACs"]
    assert "conv1" not in table
    with pytest.raises(ValueError, match="unknown columns nope"):
        lenet.table(columns=["nope"])


def test_a_comparison_and_a_sweep_show_themselves_and_have_frames():
    from cnnstat.analysis.sweep import sweep

    comparison = cnnstat.compare(["cifar_lenet", "cifar_convbn"])
    assert list(comparison.to_frame()["model"]) == ["cifar_lenet", "cifar_convbn"]
    assert "cifar_convbn" in shown(comparison)["text/html"] and "x0.630" in str(comparison)
    assert comparison[1].figures["params"] == 39_650  # still the list of rows it was
    points = sweep("cifar_resnet20", [(3, 32, 32), (3, 64, 64)], [1])
    assert list(points.to_frame()["pixels"]) == [1024, 4096]
    assert "<svg" in shown(points)["text/html"] and "Pixels" in str(points)
    assert repr(points).startswith("<cnnstat SweepResult cifar_resnet20")


def test_tab_completion_finds_the_public_api():
    assert {"profile", "compare", "Report", "create_model", "list_models"} <= set(dir(cnnstat))
    assert "PackageNotFoundError" not in dir(cnnstat)


def test_measuring_from_python_returns_a_new_report(lenet):
    measured = cnnstat.measured_report(lenet, "cpu", min_run_time=0.02)
    assert lenet.measured is None and measured.measured is not None  # the static report is left as it was
    assert measured.measured.latency_ms > 0 and measured.measured.measured_peak_bytes > 0
    assert "Latency (ms)" in measured.table(columns=["macs", "latency_ms"]) and " ms on cpu>" in repr(measured)


def test_a_bench_result_shows_itself_as_the_bench_command_does(tmp_path):
    """cnnstat.bench() runs the benchmark `cnnstat bench` runs: the same rows and columns in
    every format, the page from the same template (timings differ from run to run)."""
    import io

    import pandas as pd
    from typer.testing import CliRunner

    from cnnstat.errors import CnnstatError

    assert {"bench", "BenchResult"} <= set(dir(cnnstat))
    with pytest.raises(CnnstatError, match="bench measures on a real device"):
        cnnstat.bench("cifar_lenet", device="meta")
    models, quick = ["cifar_lenet", "cifar_convbn"], ["--device", "cpu", "--min-run-time", "0.02"]
    result = cnnstat.bench(models, batches=[1, 2], device="cpu", min_run_time=0.02)
    with pytest.raises(AttributeError):  # frozen: measuring again returns a new result
        result.device = "cuda"
    runner, page = CliRunner(), tmp_path / "bench.html"
    cli = ["bench", *models, "--batch", "1,2", *quick]
    csv = pd.read_csv(io.StringIO(runner.invoke(app, [*cli, "--format", "csv"]).stdout))
    frame = result.to_frame()
    assert list(frame.columns) == list(csv.columns)
    assert list(zip(frame["model"], frame["batch"])) == list(zip(csv["model"], csv["batch"])) == \
        [(model, batch) for model in models for batch in (1, 2)]
    assert (frame["latency_ms"] > 0).all() and (frame["measured_peak_bytes"] > 0).all()
    assert runner.invoke(app, [*cli, "-o", str(page)]).exit_code == 0
    data = shown(result)
    assert not SELF_CONTAINED.search(data["text/html"])
    tags = re.compile(r"<(?:th|h1|h2|title)[^>]*>[^<]*")  # the page's headings and columns, not its figures
    assert tags.findall(data["text/html"]) == tags.findall(page.read_text())
    assert data["text/plain"] == repr(result) == \
        "<cnnstat BenchResult cifar_lenet, cifar_convbn: 4 configurations on cpu, eval>"
    printed = runner.invoke(app, cli, env={"COLUMNS": "300"}).stdout
    header = [line for line in str(result).splitlines() if "Latency" in line]
    assert header and header == [line for line in printed.splitlines() if "Latency" in line]

"""The HTML pages in a real browser (headless Chromium): they load with no console error and no
request, and what the table shows, sorts and folds is what the CSV holds."""

import csv

import pytest

from tests.render.browser import start_browser

pytestmark = pytest.mark.browser

ROWS_SHOWN = "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr')).filter(r => !r.hidden)"
COLUMN_VALUES = """
const table = document.getElementById(arguments[0]);
const column = Array.from(table.tHead.rows[0].cells).findIndex(th => th.dataset.key === arguments[1]);
return Array.from(table.tBodies[0].rows).filter(r => !r.hidden).map(r => r.cells[column].dataset.v);
"""


@pytest.fixture(scope="module")
def browser():
    browser = start_browser()
    yield browser
    browser.driver.quit()


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def load(browser, path):
    """Open the page and hold what every page must: no console error, no request but itself."""
    browser.open(path)
    assert browser.console_errors() == []
    assert set(browser.requests()) <= {path.resolve().as_uri()}
    ids = browser.run("return Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert len(ids) == len(set(ids)), "an id is used twice: links and lookups would find the wrong element"


def test_the_harness_sees_console_errors_and_requests(browser, tmp_path):
    """A page that asks the network for an image is caught both ways."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>')
    browser.open(page)
    assert any("boom" in message for message in browser.console_errors())
    assert "http://127.0.0.1:9/x.png" in browser.requests()


def click_header(browser, table_id, key):
    browser.run("document.querySelector(`#${arguments[0]} th[data-key='${arguments[1]}']`).click()", table_id, key)


def test_summary_page(browser, summary_files):
    page, csv_path = summary_files
    load(browser, page)
    rows = read_csv(csv_path)
    assert len(browser.run(ROWS_SHOWN, "layers")) == len(rows)
    for key in ("params", "macs", "flops", "activation_bytes"):
        assert browser.run(COLUMN_VALUES, "layers", key) == [row[key] for row in rows], f"{key} differ from the CSV's"
    browser.screenshot("summary-resnet50.png")

    click_header(browser, "layers", "macs")
    macs = [int(value) for value in browser.run(COLUMN_VALUES, "layers", "macs")]
    assert macs == sorted((int(row["macs"]) for row in rows), reverse=True)
    browser.run("document.querySelector('input.leaves').click()")
    first = browser.run(ROWS_SHOWN + "[0].dataset.name", "layers")
    leaves = [row for row in rows if row["is_leaf"] == "True"]
    assert first == max(leaves, key=lambda row: int(row["macs"]))["name"]
    assert len(browser.run(ROWS_SHOWN, "layers")) == len(leaves)
    browser.run("document.querySelector('.controls[data-for=layers]').scrollIntoView()")
    browser.screenshot("summary-resnet50-sorted-by-macs.png")

    browser.run("document.querySelector('button.tree-order').click(); document.querySelector('input.leaves').click()")
    browser.run("const s = document.querySelector('select.depth'); s.value = '1'; s.dispatchEvent(new Event('change'))")
    assert len(browser.run(ROWS_SHOWN, "layers")) == sum(int(row["depth"]) <= 1 for row in rows)

    # A bar brings its row into view, unfolding what hides it.
    bar = browser.run("return document.querySelector('svg.strip').querySelectorAll('rect')[100].dataset.row")
    row = browser.run("return document.querySelector(`#layers tr[data-index='${arguments[0]}']`)", bar)
    assert row.get_attribute("hidden") is not None
    browser.run("const svg = document.querySelector('svg.strip'); const box = svg.getBoundingClientRect();"
                "svg.dispatchEvent(new MouseEvent('click', {clientX: box.left + box.width * 100.5 /"
                " svg.querySelectorAll('rect').length, clientY: box.top + 5, bubbles: true}))")
    assert row.get_attribute("hidden") is None
    assert browser.console_errors() == []


def test_comparison_page(browser, comparison_files):
    page, csv_path = comparison_files
    load(browser, page)
    rows = read_csv(csv_path)
    assert browser.run(ROWS_SHOWN + ".map(r => r.dataset.name)", "figures") == [row["model"] for row in rows]
    for key in ("params", "macs", "macs_ratio"):
        assert browser.run(COLUMN_VALUES, "figures", key) == [row[key] for row in rows]
    browser.screenshot("compare.png")
    click_header(browser, "figures", "macs")
    assert browser.run(ROWS_SHOWN + "[0].dataset.name", "figures") == max(rows, key=lambda r: int(r["macs"]))["model"]


def test_sweep_page(browser, tmp_path):
    cnnstat("sweep", "cifar_resnet20", "-i", "3x32x32,3x64x64", "-b", "1,2", "-o", str(tmp_path / "sweep.html"))
    cnnstat("sweep", "cifar_resnet20", "-i", "3x32x32,3x64x64", "-b", "1,2", "--format", "csv",
            "-o", str(tmp_path / "sweep.csv"))
    load(browser, tmp_path / "sweep.html")
    rows = read_csv(tmp_path / "sweep.csv")
    assert browser.run(COLUMN_VALUES, "figures", "macs") == [row["macs"] for row in rows]
    assert browser.run("return document.querySelectorAll('.plot svg').length") == 1
    browser.screenshot("sweep.png")


def test_bench_page(browser, tmp_path):
    page = tmp_path / "bench.html"
    cnnstat("bench", "cifar_lenet", "--device", "cpu", "--batch", "1,2", "--min-run-time", "0.01", "-o", str(page))
    load(browser, page)
    assert browser.run(ROWS_SHOWN + ".map(r => r.dataset.name)", "figures") == ["cifar_lenet"] * 2
    assert all(float(value) > 0 for value in browser.run(COLUMN_VALUES, "figures", "latency_ms"))
    assert browser.run("return document.querySelectorAll('.plot svg').length") == 1


@pytest.mark.slow
def test_report_index(browser, fresh_reports):
    """index.html beside the reports: each table holds its CSV's rows and figures, each link a file."""
    load(browser, fresh_reports / "index.html")
    tables = [fresh_reports / "zoo.csv", *sorted((fresh_reports / "studies").glob("*.csv"))]
    assert sorted(browser.run("return Array.from(document.querySelectorAll('table')).map(t => t.id)")) == \
        sorted(path.stem for path in tables)
    for path in tables:
        rows = read_csv(path)
        assert browser.run(ROWS_SHOWN + ".map(r => r.dataset.name)", path.stem) == [row["model"] for row in rows]
        assert browser.run(COLUMN_VALUES, path.stem, "macs") == [row["macs"] for row in rows], path.name
    links = browser.run("return Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
    assert all((fresh_reports / link).is_file() for link in links if not link.startswith("#"))
    assert all(browser.run("return document.getElementById(arguments[0]) !== null", link[1:])
               for link in links if link.startswith("#"))
    browser.screenshot("report-index.png")


def test_measured_summary_page(browser, quick_probe, tmp_path):
    """Measured, the page adds a latency strip whose bars are the table's latencies, the roofline and the
    measured live memory beside the estimate."""
    page = tmp_path / "lenet.html"
    cnnstat("summary", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.05", "--roofline", "-o", str(page))
    load(browser, page)
    strips = browser.run("return Array.from(document.querySelectorAll('svg.strip')).map(svg => svg.dataset.header)")
    assert strips == ["MACs", "Params", "Act. mem", "Latency (ms)"]
    heights = browser.run("""return Array.from(document.querySelectorAll('svg.strip')[3].querySelectorAll('rect'))
                             .map(bar => [bar.dataset.row, Number(bar.getAttribute('height'))])""")
    latency = dict(zip(browser.run(ROWS_SHOWN + ".map(r => r.dataset.index)", "layers"),
                       map(float, browser.run(COLUMN_VALUES, "layers", "latency_ms"))))
    longest = max(latency[row] for row, _ in heights)
    assert heights == [[row, pytest.approx(100 * latency[row] / longest, abs=0.01)] for row, _ in heights]
    # The roofline, and the live memory over a training step (estimated, and measured beside it)
    assert browser.run("return document.querySelectorAll('.plot svg').length") == 2
    assert "measured (CPU allocator)" in browser.run("return document.querySelectorAll('.plot svg')[1].textContent")
    assert "Roofline of" in browser.run("return document.querySelector('ul.facts').textContent")
    browser.run("document.querySelector('.plot').scrollIntoView()")
    browser.screenshot("summary-measured-roofline.png")


def cnnstat(*args):
    """A command in this process (the CLI's own path to the file, atomic write included)."""
    from typer.testing import CliRunner

    from cnnstat.cli.main import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def summary_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("summary")
    cnnstat("summary", "resnet50", "--device", "meta", "-o", str(out / "resnet50.html"))
    cnnstat("summary", "resnet50", "--device", "meta", "--format", "csv", "-o", str(out / "resnet50.csv"))
    return out / "resnet50.html", out / "resnet50.csv"


@pytest.fixture(scope="module")
def comparison_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    models = ("resnet50", "mobilenet_v2", "vgg16")
    cnnstat("compare", *models, "--device", "meta", "-o", str(out / "compare.html"))
    cnnstat("compare", *models, "--device", "meta", "--format", "csv", "-o", str(out / "compare.csv"))
    return out / "compare.html", out / "compare.csv"

"""The pages' geometry in headless Chromium at 1000 and 1400 px, read from element boxes:
nothing clipped, no table wider than the window outside its own scroll box, no page that
scrolls sideways, no two labels of a plot on top of each other, headings with separators."""

import pytest

from tests.render.browser import start_browser
from tests.render.test_html_browser import cnnstat, load

pytestmark = pytest.mark.browser

WIDTHS = (1000, 1400)

PROBLEMS = """
const width = document.documentElement.clientWidth, problems = [];
const inside = (inner, outer) => inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5;
if (document.documentElement.scrollWidth > width + 1) problems.push('the page scrolls sideways');
for (const table of document.querySelectorAll('table')) {
  const box = (table.closest('.scroll') || table).getBoundingClientRect();
  if (box.right > width + 0.5) problems.push(`table ${table.id} reaches ${box.right} px`);
}
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  if (box.right > width + 0.5) problems.push(`a chart reaches ${box.right} px`);
  for (const text of svg.querySelectorAll('text')) {
    const own = text.getBoundingClientRect();
    if (own.width && !inside(own, box)) problems.push(`"${text.textContent}" runs off its chart`);
  }
}
for (const svg of document.querySelectorAll('.plot svg')) {
  const boxes = Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim())
    .map(t => [t.textContent, t.getBoundingClientRect()]);
  boxes.forEach(([a, p], i) => boxes.slice(i + 1).forEach(([b, q]) => {
    const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
    const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (x > 1 && y > 1) problems.push(`"${a}" overlaps "${b}"`);
  }));
}
return problems;
"""


@pytest.fixture(scope="module")
def browser():
    browser = start_browser()
    yield browser
    browser.driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("pages")
    cnnstat("summary", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.02", "-o", str(out / "summary.html"))
    cnnstat("compare", "cifar_lenet", "cifar_convbn", "cifar_resnet20", "--device", "cpu", "-o",
            str(out / "compare.html"))
    cnnstat("bench", "cifar_lenet", "cifar_convbn", "--device", "cpu", "--batch", "1,4", "--min-run-time", "0.01",
            "-o", str(out / "bench.html"))
    return out


def at_width(browser, width):
    browser.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", ["summary", "compare", "bench"])
def test_nothing_is_clipped_or_wider_than_the_window(browser, pages, page, width):
    at_width(browser, width)
    load(browser, pages / f"{page}.html")
    assert browser.run(PROBLEMS) == []
    heading = browser.run("return document.querySelector('h1').textContent")
    assert " · " in heading
    if page == "bench":
        assert heading.startswith("cifar_lenet, cifar_convbn")  # bench names its models
        ticks = browser.run("return Array.from(document.querySelectorAll('.plot svg text')).map(t => t.textContent)")
        assert not any("e+" in tick for tick in ticks), ticks  # axes in plain numbers


def test_bar_strips_have_a_scale(browser, pages):
    at_width(browser, 1000)
    load(browser, pages / "summary.html")
    scales = browser.run("""return Array.from(document.querySelectorAll('.scale'))
                            .map(s => Array.from(s.children).map(c => c.textContent))""")
    shown = browser.run("return Array.from(document.querySelectorAll('figcaption')).map(f => f.textContent)")
    assert scales and all(scale[-1] == "0" and scale[0] in caption for scale, caption in zip(scales, shown))


LABELS = """
const svg = document.querySelector(arguments[0]), legend = svg.querySelector('g[id$="legend_1"]');
const outside = element => !legend || !legend.contains(element);
const box = element => element.getBoundingClientRect();
const labels = Array.from(svg.querySelectorAll('text')).filter(t => outside(t) && t.textContent.trim())
  .map(t => [t.textContent, box(t)]);
const marks = Array.from(svg.querySelectorAll('g[id*="PathCollection"] use')).filter(outside)
  .map(u => ['a marker', box(u)]);
const others = [...labels, ...marks, ...(legend ? [['the legend', box(legend)]] : [])];
const problems = [];
labels.forEach(([a, p]) => others.forEach(([b, q]) => {
  const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
  const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
  if (a !== b && p !== q && x > 1 && y > 1) problems.push(`"${a}" overlaps ${b === 'a marker' || b === 'the legend' ? b : '"' + b + '"'}`);
}));
return [labels.map(([text]) => text), marks.length, problems];
"""
"""The labels of the chart ``arguments[0]`` names, its number of markers, and every label that
overlaps another label, a marker or the legend."""


def scatter_labels(browser, selector, width):
    at_width(browser, width)
    return browser.run(LABELS, selector)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_zoo_scatter_labels_every_model_and_no_label_overlaps(browser, fresh_reports, width):
    import pandas as pd

    load(browser, fresh_reports / "index.html")
    assert browser.run(PROBLEMS) == []
    labels, markers, problems = scatter_labels(browser, "#about-zoo ~ .plot svg", width)
    models = list(pd.read_csv(fresh_reports / "zoo.csv")["model"])
    assert problems == [] and markers == len(models)
    assert set(models) <= set(labels)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    """120 models on nearly one point between two far ones, on a page of their own."""
    import pandas as pd

    from cnnstat.render.plots import zoo_scatter

    names = [f"model_{index:03d}" for index in range(120)]
    frame = pd.DataFrame({"model": [*names, "small", "large"], "family": "net",
                          "macs": [*(1e9 * (1 + i / 400) for i in range(120)), 1e5, 1e12],
                          "params": [*(1e7 * (1 + i / 400) for i in range(120)), 1e4, 1e9]})
    page = tmp_path_factory.mktemp("crowded") / "crowded.html"
    page.write_text(f"<!DOCTYPE html><meta charset='utf-8'><div class='plot'>{zoo_scatter(frame, None)}</div>")
    return page, names


@pytest.mark.parametrize("width", WIDTHS)
def test_a_crowded_scatter_lists_what_it_cannot_label(browser, crowded, width):
    """The labels no free place takes are named under the plot, and still nothing overlaps."""
    import re

    page, names = crowded
    load(browser, page)
    labels, markers, problems = scatter_labels(browser, ".plot svg", width)
    assert problems == [] and markers == 122 and browser.run(PROBLEMS) == []
    labelled = [text for text in labels if text in names]
    listed = re.findall(r"model_\d+", " ".join(text for text in labels if text not in names))
    assert listed and sorted([*labelled, *listed]) == names and {"small", "large"} <= set(labels)
    assert any(text.startswith("Too crowded to label: ") for text in labels)

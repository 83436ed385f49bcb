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

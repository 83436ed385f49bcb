"""reports/ is committed; this fails when its static figures are stale (regenerate with `cnnstat report`)."""

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from cnnstat.figures import keys

REPORTS = Path(__file__).resolve().parents[1] / "reports"
TORCHVISION = "torchvision.csv"
"""Written with torchvision installed; held current row by row by tests/zoo/test_torchvision_catalogue.py."""
MACHINE_DEPENDENT = set(keys("measured")) | {"device", "device_name", "threads", "torch_version"}


def _static(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column but those a measurement adds (and their ratios)."""
    keep = [key for key in frame.columns if key.removesuffix("_ratio") not in MACHINE_DEPENDENT]
    return frame[keep]


@pytest.mark.slow
def test_committed_reports_are_current(fresh_reports):
    fresh = sorted(p.relative_to(fresh_reports) for p in fresh_reports.rglob("*.csv"))
    committed = sorted(p.relative_to(REPORTS) for p in REPORTS.rglob("*.csv") if p.name != TORCHVISION)
    assert fresh == committed, "reports/ lists other files than `cnnstat report` writes: regenerate it"
    for path in fresh:
        pd.testing.assert_frame_equal(_static(pd.read_csv(REPORTS / path)), _static(pd.read_csv(fresh_reports / path)),
                                      obj=f"reports/{path} (stale: run `cnnstat report`)")
    assert (REPORTS / "README.md").read_text() == (fresh_reports / "README.md").read_text()


class _PageTables(HTMLParser):
    """Each table of a page: its column keys and, per row, the raw figures (data-v) of its cells."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._current = self.tables.setdefault(attrs["id"], {"keys": [], "rows": []})
        elif tag == "th" and self._current is not None:
            self._current["keys"].append(attrs.get("data-key"))
        elif tag == "tr" and self._current is not None and "data-index" in attrs:
            self._current["rows"].append([])
        elif tag == "td" and self._current is not None and self._current["rows"]:
            self._current["rows"][-1].append(attrs.get("data-v"))

    def handle_endtag(self, tag):
        if tag == "table":
            self._current = None


def test_committed_index_page_holds_the_committed_csvs():
    """reports/index.html's tables hold the CSVs' figures (which the test above holds current)."""
    parser = _PageTables()
    parser.feed((REPORTS / "index.html").read_text())
    csvs = {"zoo": REPORTS / "zoo.csv", "torchvision": REPORTS / "torchvision.csv",
            **{path.stem: path for path in (REPORTS / "studies").glob("*.csv")}}
    assert sorted(parser.tables) == sorted(csvs), "reports/index.html is stale: run `cnnstat report`"
    for name, path in csvs.items():
        table, frame = parser.tables[name], pd.read_csv(path, dtype=str, keep_default_na=False)
        for column, key in enumerate(table["keys"]):
            if key in frame.columns and table["rows"][0][column] is not None:
                assert [row[column] for row in table["rows"]] == list(frame[key]), \
                    f"reports/index.html's {name} {key} differ from {path.name}: run `cnnstat report`"

"""A per-layer figure declared once in ``cnnstat.figures`` (in a layer group) and stored on the
rows reaches every format: JSON, CSV, the DataFrame, the terminal table, Markdown and HTML."""

import csv
import io
import json
from dataclasses import dataclass, fields, replace

import pytest

from cnnstat import figures
from cnnstat.analysis.records import LayerRow
from cnnstat.analysis.report import profile
from cnnstat.figures import Figure
from cnnstat.frame.build import layer_frame
from cnnstat.frame.views import layer_csv_view, summary_view
from cnnstat.render.emit import render_text
from cnnstat.render.html import summary_page

FAKE = Figure("fake_figure", "Fake", "raw", priority=9)


@dataclass(frozen=True)
class FakeRow(LayerRow):
    fake_figure: int = 0


@pytest.fixture
def report(monkeypatch):
    """cifar_lenet's report, its rows carrying the fake figure (a distinct value per row)."""
    monkeypatch.setitem(figures.FIGURES, FAKE.key, FAKE)
    monkeypatch.setitem(figures.GROUPS, "layer", (*figures.GROUPS["layer"], FAKE.key))
    static = profile("cifar_lenet")
    rows = tuple(FakeRow(**{f.name: getattr(row, f.name) for f in fields(row)}, fake_figure=7_000_001 + row.index)
                 for row in static.layers)
    return replace(static, layers=rows)


def expected(report) -> list[int]:
    return [row.fake_figure for row in report.layers]


def test_json_csv_and_frame_hold_every_row_of_it(report):
    assert [layer["fake_figure"] for layer in json.loads(json.dumps(report.to_dict()))["layers"]] == expected(report)
    text = render_text(layer_csv_view(report), "csv")
    assert [int(row["fake_figure"]) for row in csv.DictReader(io.StringIO(text))] == expected(report)
    assert list(layer_frame(report)["fake_figure"]) == expected(report)


@pytest.mark.parametrize("fmt", ["table", "md"])
def test_the_table_and_markdown_show_it(report, fmt):
    text = render_text(summary_view(report), fmt)
    assert "Fake" in text
    assert all(f"{value:,}" in text for value in expected(report))


def test_the_page_shows_it(report):
    page = summary_page(summary_view(report))
    assert 'data-key="fake_figure"' in page
    assert all(f"{value:,}" in page for value in expected(report))


def test_every_declared_layer_figure_is_a_row_field():
    """What the rows hold is what the layer groups declare (a figure without a field, or a field
    under a key no group declares, fails here)."""
    declared = set(figures.keys("layer", "train_layer", "latency", "roofline", "receptive_field")) - {"layer"}
    row_fields = {f.name for f in fields(LayerRow)} | {"output_shape", "receptive_field", "jump", "own_field"}
    assert declared <= row_fields

"""Self-contained HTML pages: a summary's layer table with its bars, a comparison, a sweep,
and the reports' index. Jinja2 templates shipped with the package; every script and style
is inline and the page's own policy forbids any request, so a page opens from disk, offline,
and can be sent as one file.

Tables arrive as views (``cnnstat.frame.view``) (raw numbers); each cell shows the number formatted as the
terminal does and holds the raw one, the same the CSV writes, for sorting and for readers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from cnnstat.figures import RATIO_SUFFIX, is_missing
from cnnstat.frame.view import View
from cnnstat.render.footer import footer_lines
from cnnstat.render.table import cell_text, formatted
from cnnstat.render.text import csv_value

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

STRIP_KEYS = ("macs", "params", "activation_bytes", "latency_ms")
"""The per-layer figures drawn as bars above a summary's table, when its table has them."""
CHART_KEYS = ("params", "macs", "est_peak_inference_bytes", "est_peak_training_bytes", "latency_ms")
"""The per-model figures a comparison draws side by side, when measured or present."""
BAR_LENGTH = 260
"""Pixels of the longest bar of a side-by-side chart."""
CHAR_PIXELS = 7.5
"""Pixels a character of the charts' 12 px sans-serif text takes at most (digits and most letters)."""


@functools.cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("cnnstat.render", "templates"),
                       autoescape=select_autoescape(["html.j2"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def _render(template: str, **context: Any) -> str:
    return str(_environment().get_template(template).render(**context))


@dataclass
class _HtmlTable:
    id: str
    headers: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    total: list[str] | None
    max_depth: int = 0


def _tree(labels: Sequence[str], depths: Sequence[int]) -> list[dict[str, Any]]:
    """Parent, leafness and full name of each row of a tree listed parents first (each row's
    depth says where it hangs); the root's name is not part of its descendants' names."""
    nodes: list[dict[str, Any]] = []
    latest: list[int] = []  # latest[d]: the position of the last row seen at depth d
    for position, (label, depth) in enumerate(zip(labels, depths)):
        parent = latest[depth - 1] if depth else -1
        del latest[depth:]
        latest.append(position)
        prefix = nodes[parent]["name"] + "." if parent >= 0 and depths[parent] else ""
        nodes.append({"parent": parent, "depth": depth, "name": prefix + label, "path": prefix,
                      "leaf": position + 1 == len(depths) or depths[position + 1] <= depth})
    return nodes


def _html_table(table: View, table_id: str, tree: bool = False) -> _HtmlTable:
    """Headers with their units, cells as shown (text) and as the CSV holds them (value); for a
    tree (``table.indent``), each row's parent, depth and full name."""
    headers, bodies, total = formatted(table)
    numeric = [column.numeric for column in table.columns]
    nodes = _tree([texts[0] for texts in bodies], table.indent or []) if tree else []
    rows = []
    for position, (row, texts) in enumerate(zip(table.rows, bodies)):
        cells = [{"text": text, "numeric": is_number, "value": csv_value(row.get(column.key)) if is_number else None}
                 for column, text, is_number in zip(table.columns, texts, numeric)]
        words = [text for text, is_number in zip(texts, numeric) if not is_number]
        entry = {"index": position, "cells": cells, "name": texts[0], "search": " ".join(words).lower()}
        if tree:
            node = nodes[position]
            entry |= node | {"type": row.get("type", ""), "has_children": not node["leaf"],
                             "search": f"{node['name']} {row.get('type', '')}".lower()}
        rows.append(entry)
    return _HtmlTable(table_id, [{"text": text, "key": column.key, "numeric": is_number}
                                for text, column, is_number in zip(headers, table.columns, numeric)],
                      rows, total, max(table.indent or [0]))


def _trusted(svg: str | None, prefix: str = "") -> Markup | None:
    """Our own plot's SVG markup, to insert as is (autoescaping would show it as text), its ids
    (and the references to them) prefixed: two plots on one page would otherwise share
    matplotlib's ids (figure_1, patch_1), and a reference would find the other plot's element."""
    import re

    from markupsafe import Markup

    if not svg:
        return None
    if prefix:
        ids = set(re.findall(r'\bid="([^"]+)"', svg))
        svg = re.sub(r'(\bid="|url\(#|href="#)([^")]+)',
                     lambda m: m.group(1) + (prefix + m.group(2) if m.group(2) in ids else m.group(2)), svg)
    return Markup(svg)


def _number(value: Any) -> float:
    """A figure as a bar length: a missing one (None, NaN) draws no bar."""
    return 0.0 if is_missing(value) else float(value)


def _strips(table: View, html_table: _HtmlTable) -> list[dict[str, Any]]:
    """One strip of bars per figure of ``STRIP_KEYS`` the table has: a bar per leaf layer in
    call order, heights to scale, each bar naming its row."""
    keys = [column.key for column in table.columns]
    leaves = [(row, shown) for row, shown in zip(table.rows, html_table.rows) if shown["leaf"]]
    strips = []
    for key in STRIP_KEYS:
        if key not in keys or not leaves:
            continue
        column = keys.index(key)
        values = [_number(row.get(key)) for row, _ in leaves]
        largest = max(values)
        if largest <= 0:
            continue
        heights = [round(100 * value / largest, 2) for value in values]
        top_row, top_shown = leaves[values.index(largest)]
        strips.append({
            "header": html_table.headers[column]["text"], "column": column,
            "largest_name": top_shown["name"], "largest_text": top_shown["cells"][column]["text"],
            "half_text": cell_text(table.columns[column], largest / 2),
            "bars": [{"row": shown["index"], "x": position, "y": round(100 - height, 2), "height": height}
                     for position, (height, (_, shown)) in enumerate(zip(heights, leaves))],
        })
    return strips


def _charts(table: View, labels: Sequence[str]) -> list[dict[str, Any]]:
    """Horizontal bars, one chart per figure of ``CHART_KEYS`` that some row has, one bar per
    row; the value is written as the table writes it, with its unit and the ratio where known."""
    label_width = 8 + CHAR_PIXELS * max((len(label) for label in labels), default=0)
    charts: list[dict[str, Any]] = []
    for column in table.columns:
        if column.key not in CHART_KEYS:
            continue
        raw = [row.get(column.key) for row in table.rows]
        values = [_number(value) for value in raw]
        if not any(values):
            continue
        largest = max(values)
        bars: list[dict[str, Any]] = []
        for position, (label, row, value, original) in enumerate(zip(labels, table.rows, values, raw)):
            text = cell_text(column, original) + (f" {column.unit}" if column.unit else "")
            ratio = row.get(f"{column.key}{RATIO_SUFFIX}")
            if not is_missing(ratio) and position:
                text += f"  (x{ratio:,.3f})"
            bars.append({"label": label, "y": 22 * position, "width": round(BAR_LENGTH * value / largest, 1),
                         "text": text})
        header = column.header if not column.unit else f"{column.header} ({column.unit})"
        # Room right of the longest bar for the longest value: no text runs off the chart.
        value_width = 8 + CHAR_PIXELS * max(len(bar["text"]) for bar in bars)
        charts.append({"header": header, "bars": bars, "label_width": label_width,
                       "width": label_width + BAR_LENGTH + value_width, "height": 22 * len(bars) + 4})
    return charts


def heading(table: View) -> str:
    """The title's facts with a visible separator (HTML folds the terminal's two spaces into one)."""
    return " · ".join(part.strip() for part in table.title.split("  ") if part.strip())


def summary_page(table: View, roofline_svg: str | None = None, costs: Sequence[View] = (),
                 timeline_svg: str | None = None) -> str:
    """The layer table of `cnnstat summary` (tree, sortable, filterable, foldable), bars of its
    per-layer figures linked to the rows, the facts of its footer, the cost summed by layer
    type and by operator (``costs``), the roofline if measured, and the live memory over a
    training step (``timeline_svg``)."""
    layers = _html_table(table, "layers", tree=True)
    sums = [{"title": view.facts.title[-1].capitalize(), "notes": view.facts.notes,
             "table": _html_table(view, f"cost-{position}")} for position, view in enumerate(costs)]
    return _render("summary.html.j2", page_title=table.title, heading=heading(table),
                   subtitle="cnnstat summary: what each layer costs", fact_lines=footer_lines(table), table=layers,
                   bar_strips=_strips(table, layers), roofline_svg=_trusted(roofline_svg, "roofline-"), costs=sums,
                   timeline_svg=_trusted(timeline_svg, "timeline-"))


def figures_page(table: View, subtitle: str, plot_svg: str | None = None, charts: bool = True) -> str:
    """A table of models or points (`cnnstat compare`, `cnnstat sweep`): sortable, filterable,
    with the rows' figures side by side as bars (``charts``) and a plot when given."""
    shown = _html_table(table, "figures")
    labels = [row["name"] for row in shown.rows]
    return _render("figures.html.j2", page_title=table.title, heading=heading(table), subtitle=subtitle,
                   fact_lines=footer_lines(table), table=shown, charts=_charts(table, labels) if charts else [],
                   plot_svg=_trusted(plot_svg))


@dataclass
class ReportSection:
    """One table of the reports' index, with the files it is also written to."""
    heading: str
    anchor: str
    table: View
    files: Sequence[str]
    charts: bool = True
    plot_svg: str | None = None


def report_index_page(title: str, subtitle: str, guide: Sequence[str], sections: Sequence[ReportSection]) -> str:
    """index.html of `cnnstat report`: the reading guide, then each table (sortable, filterable)
    with its models side by side as bars, and links to the md/csv files beside it."""
    shown = []
    for section in sections:
        table = _html_table(section.table, section.anchor)
        labels = [row["name"] for row in table.rows]
        shown.append({"heading": section.heading, "anchor": section.anchor, "files": section.files, "table": table, "notes": footer_lines(section.table),
                      "charts": _charts(section.table, labels) if section.charts else [],
                      "plot_svg": _trusted(section.plot_svg, f"{section.anchor}-")})
    return _render("index.html.j2", page_title=title, heading=title, subtitle=subtitle, guide=guide, sections=shown)

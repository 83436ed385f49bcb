"""The page of ``cnnstat bench``; apart from ``render/bench.py``, whose footer lines the page's
footer reads (one module would import itself round through ``render/html.py``)."""

from __future__ import annotations

from cnnstat.frame.view import View
from cnnstat.render.html import figures_page
from cnnstat.render.plots import bench_curves


def bench_page(view: View) -> str:
    """The bench table and its latency and throughput curves on one page (``-o x.html``, and a
    bench result in a notebook)."""
    return figures_page(view, "cnnstat bench: latency and throughput against batch",
                        bench_curves(view, None), charts=False)

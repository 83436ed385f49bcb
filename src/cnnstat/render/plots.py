"""Comparison frames -> PNG figures (matplotlib, Agg: no display needed)."""

from __future__ import annotations

import io
from typing import Callable, Sequence

from cnnstat.render.output import write_atomic
from cnnstat.render.units import human_bytes, human_count

BAR_FIGURES = (("params", "Params", human_count), ("macs", "MACs", human_count),
               ("est_peak_training_bytes", "Est. peak memory, training step", human_bytes))
"""What a study's bars show: size, compute, and the memory a training step needs."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path) -> None:
    buffer = io.BytesIO()
    # No "Software" stamp: the PNG then changes only when the figures do.
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(figure)
    write_atomic(path, buffer.getvalue())


def zoo_scatter(frame, path) -> None:
    """Params against MACs (log-log), one colour per family, every model labelled."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(11, 7.5))
    for index, (family, group) in enumerate(frame.groupby("family", sort=True)):
        # Ten colours repeat across some twenty families: the marker tells the repeats apart.
        axes.scatter(group["macs"], group["params"], label=family, s=28, marker="os^D"[index // 10 % 4])
        for model, macs, params in zip(group["model"], group["macs"], group["params"]):
            axes.annotate(model, (macs, params), fontsize=6, xytext=(3, 2), textcoords="offset points")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("MACs (batch 1, default input)")
    axes.set_ylabel("Params")
    axes.set_title("cnnstat zoo: parameters vs compute")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7, ncol=2, loc="lower right")
    _save(figure, path)


def study_bars(frame, title: str, path, figures: Sequence[tuple[str, str, Callable]] = BAR_FIGURES) -> None:
    """One horizontal bar chart per figure, rows in the study's order, values printed."""
    plt = _pyplot()
    labels = list(frame["model"])
    figure, panels = plt.subplots(1, len(figures), figsize=(4.2 * len(figures), 0.9 + 0.42 * len(labels)),
                                  sharey=True)
    for axes, (key, header, human) in zip(panels, figures):
        values = [0 if value is None or value != value else value for value in frame[key]]  # missing: no bar
        bars = axes.barh(labels, values, color="tab:blue")
        axes.bar_label(bars, labels=[human(v) if v else "n/a" for v in values], fontsize=7, padding=2)
        axes.set_title(header, fontsize=9)
        axes.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
        axes.margins(x=0.25)
    panels[0].invert_yaxis()  # shared by every panel: first row on top
    figure.suptitle(title, fontsize=10)
    _save(figure, path)

"""Figures (matplotlib, Agg: no display needed), PNG or SVG by the file's extension, or SVG markup
to inline in a page when no path is given.

Plots take frames or plain numbers, never torch objects. Every axis names its figure and
unit: counts in SI units (G = 10^9), bytes in binary units (MiB = 2^20), as in the tables.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TypeAlias

from cnnstat.errors import CnnstatError
from dataclasses import replace

from cnnstat.figures import Figure, figure, is_missing, shape_text
from cnnstat.frame.view import SweepFacts, View
from cnnstat.render.output import check_writable, write_atomic
from cnnstat.render.table import column_unit, header_with_unit
from cnnstat.render.units import human_bytes, human_count, human_flop_rate

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

PlotPath: TypeAlias = "str | Path | None"
"""Where a plot goes: a PNG or SVG file, or None for SVG markup returned."""

PLOT_FORMATS = {".png": "png", ".svg": "svg"}
TOP_LAYERS = 15
"""How many layers a per-layer figure names; the rest are summed in its title."""



def _axis(key: str, **changes: Any) -> Figure:
    """A figure of the schema under its long name (and a plot's own scale, where given)."""
    return replace(figure(key), header=figure(key).long_name, **changes)


PARAMS = _axis("params", scale="si")
MACS = _axis("macs")
EVAL_PEAK = _axis("est_peak_inference_bytes")
TRAIN_PEAK = _axis("est_peak_training_bytes")
LATENCY = _axis("latency_ms")
THROUGHPUT = _axis("throughput_per_s")
OUTPUT_MEMORY = _axis("activation_bytes")
LAYER_METRICS = {"macs": MACS, "memory": OUTPUT_MEMORY, "latency": LATENCY}
"""What per-layer bars can show (keys of the layer frame)."""
BAR_FIGURES = (PARAMS, MACS, TRAIN_PEAK)
"""What a study's bars show: size, compute, and the memory a training step needs."""
COMPARE_FIGURES = (PARAMS, MACS, EVAL_PEAK, TRAIN_PEAK)


def check_plot_path(path: str | Path) -> Path:
    """Fail before any work when ``path`` has no known plot extension or cannot be written."""
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise CnnstatError(f"cannot plot to {path}: unknown extension {suffix or '(none)'!r}; "
                           f"use {' or '.join(PLOT_FORMATS)}")
    return check_writable(path)


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: MplFigure, path: PlotPath, inline: bool = False) -> str | None:
    """Write the figure to ``path`` (PNG or SVG by its extension); with ``inline`` or no path,
    return it as SVG markup to put in a page: text kept as text, ids fixed, so the same figure
    gives the same bytes."""
    plt = _pyplot()
    # No software or date stamp: the file then changes only when the figures do.
    metadata = {"png": {"Software": None}, "svg": {"Creator": None, "Date": None}}
    try:
        if path is not None:
            fmt = PLOT_FORMATS[check_plot_path(path).suffix.lower()]
            image = io.BytesIO()
            figure.savefig(image, format=fmt, dpi=110, bbox_inches="tight", metadata=metadata[fmt])
            write_atomic(path, image.getvalue())
        if path is not None and not inline:
            return None
        buffer = io.StringIO()
        with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cnnstat"}):
            figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=metadata["svg"])
        markup = buffer.getvalue()
        return markup[markup.index("<svg"):]  # the XML prolog and doctype have no place inside HTML
    finally:
        plt.close(figure)


def _present(values: Iterable[Any]) -> list[float]:
    """Numbers as floats, a missing one (None, NaN, pandas NA) as 0: no bar."""
    return [0.0 if is_missing(value) else float(value) for value in values]


def _scaled(column: Figure, values: Sequence[float]) -> tuple[list[float], str]:
    """Values in the unit that keeps the largest readable, and the axis label naming that unit."""
    divisor, prefix = column_unit(column, values)
    return [value / divisor for value in values], header_with_unit(column, prefix)


def _human(column: Figure) -> Callable[[float], str]:
    if column.scale == "binary":
        return human_bytes
    if column.scale == "si":
        return human_count
    return plain_tick


def plain_tick(value: float) -> str:
    """A tick in plain numbers (1,000 and 0.05, never 1e+03)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _log_axis(axes: Axes, which: str, column: Figure) -> None:
    """A log axis with unit-prefixed ticks: powers of 2 for bytes (1 GiB) and batch sizes,
    of 10 otherwise (10 G); call it after plotting (a short base-10 span also labels 2 and 5)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    base = 2 if column.scale in ("binary", "raw") else 10
    getattr(axes, f"set_{which}scale")("log", base=base)
    tick: Callable[[float], str]
    if column.scale == "raw":
        tick = lambda value: f"{value:,.0f}"  # noqa: E731
    elif column.scale == "binary":
        tick = lambda value: human_bytes(value, 0)  # noqa: E731
    elif column.scale == "si":
        tick = lambda value: human_count(value, 0)  # noqa: E731
    else:
        tick = plain_tick
    axis = getattr(axes, f"{which}axis")
    axis.set_major_formatter(FuncFormatter(lambda value, _: tick(value)))
    low, high = getattr(axes, f"get_{which}lim")()
    if base == 10 and high < 100 * low:
        axis.set_minor_formatter(FuncFormatter(lambda value, _: tick(value) if _leading_digit(value) in (2, 5) else ""))
    else:
        axis.set_minor_formatter(NullFormatter())
    axis.set_label_text(header_with_unit(column, "") if column.scale == "float" else column.header)


def _leading_digit(value: float) -> int:
    return round(value / 10 ** math.floor(math.log10(value))) if value > 0 else 0


Extents: TypeAlias = "tuple[float, float, float, float]"
"""A box on the canvas: x0, y0, x1, y1 in pixels."""
LABEL_OFFSETS = sorted(((dx, 2 + 9 * step) for step in range(-11, 12) for dx in (4, -4, 40, -40)),
                       key=lambda offset: (abs(offset[1] - 2) + abs(offset[0]) / 2, offset[0] < 0))
"""Where a point's label may go, in points from the point, nearest first (dx < 0: to its left)."""


def _place_labels(figure: MplFigure, axes: Axes, points: Sequence[tuple[str, float, float]]) -> list[str]:
    """Label every point where its text overlaps no other label, marker or the legend, trying
    offsets nearest first; a label moved away from its point gets a thin leader line. Returns
    the names no free place near their point could take: left unlabelled, for the caller to list."""
    from matplotlib.text import Text

    figure.canvas.draw()  # settles the axis limits, so that data maps to its final place
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas has one
    axes.set_autoscale_on(False)  # labels must not move the limits they were placed against
    frame_box = axes.get_window_extent(renderer)
    xy = [axes.transData.transform((x, y)) for _, x, y in points]
    # Boxes as plain extents (x0, y0, x1, y1): Bbox.overlaps took seconds for a crowded plot.
    placed: list[Extents] = [(px - 3, py - 3, px + 3, py + 3) for px, py in xy]  # the markers themselves
    legend = axes.get_legend()
    if legend is not None:
        x0, y0, x1, y1 = legend.get_window_extent(renderer).extents
        placed.append((x0, y0, x1, y1))
    # Densest points first get the nearest places: sort by how many others sit close by.
    crowding = [sum(abs(a[0] - b[0]) < 40 and abs(a[1] - b[1]) < 12 for b in xy) for a in xy]
    pixels_per_point = figure.dpi / 72
    crowded = []
    for (name, x, y), _ in sorted(zip(points, crowding), key=lambda item: -item[1]):
        # The text's box once, its left edge at the point; every candidate place is that box moved.
        probe = axes.annotate(name, (x, y), fontsize=6, xytext=(0, 0), textcoords="offset points", va="center")
        probe.update_positions(renderer)
        text_box = Text.get_window_extent(probe, renderer)  # an annotation's own extent would add its leader line
        probe.remove()

        def free(dx: float, dy: float) -> Extents | None:
            left = dx * pixels_per_point - (text_box.width if dx < 0 else 0)
            x0, y0, x1, y1 = text_box.translated(left, dy * pixels_per_point).expanded(1.05, 1.1).extents
            inside = frame_box.contains(x0, y0) and frame_box.contains(x1, y1)
            return ((x0, y0, x1, y1) if inside and not any(x0 <= ox1 and ox0 <= x1 and y0 <= oy1 and oy0 <= y1
                                                           for ox0, oy0, ox1, oy1 in placed) else None)

        spot = next(((dx, dy, box) for dx, dy in LABEL_OFFSETS for box in [free(dx, dy)] if box is not None), None)
        if spot is None:
            crowded.append(name)
            continue
        dx, dy, box = spot
        placed.append(box)
        far = abs(dy) > 11 or abs(dx) > 4
        axes.annotate(name, (x, y), fontsize=6, xytext=(dx, dy), textcoords="offset points",
                      ha="left" if dx > 0 else "right", va="center",
                      arrowprops=dict(arrowstyle="-", lw=0.4, color="0.5") if far else None)
    return crowded


def zoo_scatter(frame: pd.DataFrame, path: PlotPath, inline: bool = False) -> str | None:
    """Params against MACs (log-log), one colour per family, every model labelled where its
    label overlaps nothing (those too crowded for one are listed under the plot); with
    ``inline``, also returned as SVG markup for a page."""
    import textwrap

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(11, 7.5))
    for index, (family, group) in enumerate(frame.groupby("family", sort=True)):
        # Ten colours repeat across some twenty families: the marker tells the repeats apart.
        axes.scatter(group["macs"], group["params"], label=family, s=28, marker="os^D"[index // 10 % 4])
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("MACs (batch 1, default input)")
    axes.set_ylabel("Params")
    axes.set_title("cnnstat zoo: parameters vs compute")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7, ncol=2, loc="lower right")
    axes.margins(x=0.08, y=0.2)  # room for the labels of the outermost points
    crowded = _place_labels(figure, axes, list(zip(frame["model"], frame["macs"], frame["params"])))
    if crowded:
        axes.set_xlabel("\n".join(["MACs (batch 1, default input)", *textwrap.wrap(
            f"Too crowded to label: {', '.join(crowded)}", 110)]))
    return _save(figure, path, inline)


def _bar_panels(labels: Sequence[str], series: Sequence[tuple[Figure, Sequence[Any]]], title: str,
                path: PlotPath) -> str | None:
    """One horizontal bar chart per (column, values), sharing the row labels; first row on top,
    each bar labelled with its value in units, each x axis naming its unit."""
    plt = _pyplot()
    width = max(len(label) for label in labels)
    figure, panels = plt.subplots(1, len(series), figsize=(0.07 * width + 3.6 * len(series), 1.1 + 0.34 * len(labels)),
                                  sharey=True, squeeze=False)
    for axes, (column, raw) in zip(panels[0], series):
        values = _present(raw)
        scaled, label = _scaled(column, values)
        human = _human(column)
        bars = axes.barh(labels, scaled, color="tab:blue")
        axes.bar_label(bars, labels=[human(v) if v else "n/a" for v in values], fontsize=7, padding=2)
        axes.set_xlabel(label, fontsize=9)
        axes.margins(x=0.3)
        axes.grid(True, axis="x", alpha=0.3)
    panels[0][0].invert_yaxis()  # shared by every panel
    panels[0][0].tick_params(axis="y", labelsize=8)
    figure.suptitle(title, fontsize=10)
    return _save(figure, path)


def study_bars(frame: pd.DataFrame, title: str, path: PlotPath, figures: Sequence[Figure] = BAR_FIGURES) -> str | None:
    """One horizontal bar chart per figure, rows in the study's (or comparison's) order."""
    present = [column for column in figures if column.key in frame and frame[column.key].notna().any()]
    return _bar_panels(list(frame["model"]), [(column, frame[column.key]) for column in present], title, path)


def layer_bars(frame: pd.DataFrame, column: Figure, title: str, path: PlotPath, top: int = TOP_LAYERS) -> str | None:
    """The ``top`` leaf layers by ``column`` (a layer frame's key), largest first, with the
    share they hold of the model's total in the title."""
    leaves = frame[frame["is_leaf"]]
    values = _present(leaves[column.key])
    total = sum(values)
    if not total:
        raise CnnstatError(f"no layer has a {column.header} figure to plot")
    ranked = sorted(zip(values, leaves["name"], leaves["type"], leaves["call"]), key=lambda row: -row[0])[:top]
    labels = [f"{name}{f' (call {call + 1})' if call else ''}  {kind}" for _, name, kind, call in ranked]
    shown = sum(value for value, *_ in ranked)
    return _bar_panels(labels, [(column, [value for value, *_ in ranked])],
                f"{title}\ntop {len(ranked)} of {len(leaves)} layers: {shown / total:.0%} of the "
                f"{column.header.split(' (')[0]}", path)


def roofline_plot(layers: Sequence[Mapping[str, Any]], peak_flops_per_s: float, bandwidth_bytes_per_s: float,
                  title: str, path: PlotPath, top: int = 10) -> str | None:
    """The machine's roof (memory bandwidth x intensity, capped by the peak FLOP/s) and one dot
    per layer at (FLOPs per byte, achieved FLOP/s); the ``top`` layers by FLOPs are named.
    ``layers``: dicts with name, type, flops, intensity and achieved_flops_per_s."""
    plt = _pyplot()
    placed = [layer for layer in layers if layer["achieved_flops_per_s"]]
    if not placed:
        raise CnnstatError("no layer has a measured latency to place on the roofline")
    ridge = peak_flops_per_s / bandwidth_bytes_per_s
    intensities = [layer["intensity"] for layer in placed]
    low = min(min(intensities), ridge) / 4
    high = max(max(intensities), ridge) * 4
    xs = [low * (high / low) ** (i / 200) for i in range(201)]
    figure, axes = plt.subplots(figsize=(9, 6))
    axes.plot(xs, [min(peak_flops_per_s, bandwidth_bytes_per_s * x) for x in xs], color="black", linewidth=1.5,
              label=f"roof: {human_flop_rate(peak_flops_per_s)} peak, {human_bytes(bandwidth_bytes_per_s)}/s")
    axes.axvline(ridge, color="grey", linestyle=":", linewidth=1, label=f"ridge: {ridge:.1f} FLOP/byte")
    flops = [layer["flops"] for layer in placed]
    largest = max(flops)
    colours = {kind: f"C{index % 10}" for index, kind in enumerate(sorted({layer["type"] for layer in placed}))}
    for kind, colour in colours.items():
        group = [layer for layer in placed if layer["type"] == kind]
        axes.scatter([layer["intensity"] for layer in group], [layer["achieved_flops_per_s"] for layer in group],
                     s=[12 + 150 * layer["flops"] / largest for layer in group], color=colour, alpha=0.7,
                     label=kind, edgecolors="none")
    for layer in sorted(placed, key=lambda layer: -layer["flops"])[:top]:
        axes.annotate(layer["name"], (layer["intensity"], layer["achieved_flops_per_s"]), fontsize=6,
                      xytext=(3, 2), textcoords="offset points")
    axes.set_xlim(low, high)
    _log_axis(axes, "x", _axis("intensity_flop_per_byte"))
    _log_axis(axes, "y", _axis("achieved_flops_per_s"))
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")
    above = sum(layer["achieved_flops_per_s"] > 1.05 * min(peak_flops_per_s, bandwidth_bytes_per_s * layer["intensity"])
                for layer in placed)
    warning = (f"\n{above} layer(s) above the roof: the probed ceilings are low (a busy machine while probing?), "
               f"probe again on an idle one (cnnstat bench --roofline --reprobe)" if above else "")
    axes.set_title(f"{title}\ndot area ~ the layer's FLOPs; the {min(top, len(placed))} largest are named{warning}",
                   fontsize=10)
    return _save(figure, path)


Curve = tuple[str | None, Sequence[float], Sequence[Any], str, str]
"""(legend label or None, xs, ys, line style, colour); a missing y leaves its point out."""
PIXELS = _axis("pixels", scale="si")
BATCH = _axis("batch")
PEAK_MEMORY = Figure("peak", "Est. peak memory", "binary")


def _curve_panel(axes: Axes, curves: Sequence[Curve], x: Figure, y: Figure) -> None:
    for label, xs, ys, style, colour in curves:
        pairs = [(a, b) for a, b in zip(xs, _present(ys)) if b]
        if pairs:
            axes.plot(*zip(*pairs), style, label=label, color=colour, markersize=4)
    _log_axis(axes, "x", x)
    _log_axis(axes, "y", y)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7)


def sweep_curves(view: View, path: PlotPath) -> str | None:
    """MACs and memory against pixels (a curve per batch) and against batch (a curve per input),
    log-log: a straight line of slope k is cost ~ x^k. ``view``: a sweep's (``frame.views.sweep_view``)."""
    plt = _pyplot()
    figure, panels = plt.subplots(2, 2, figsize=(11, 8.5))
    facts = view.facts
    fits = {(fit.figure, fit.against): fit for fit in facts.fits} if isinstance(facts, SweepFacts) else {}
    groupings: tuple[tuple[Figure, Callable[[dict[str, Any]], str]], ...] = (
        (PIXELS, lambda p: f"batch {p['batch']}"), (BATCH, lambda p: f"input {shape_text(p['input_size'])}"))
    for col, (x, group_of) in enumerate(groupings):
        groups: dict[str, list[dict[str, Any]]] = {}
        for point in view.rows:
            groups.setdefault(group_of(point), []).append(point)
        colours = {name: f"C{index % 10}" for index, name in enumerate(groups)}

        def curve(name: str, key: str, style: str, labelled: bool = True) -> Curve:
            group = groups[name]
            return (name if labelled else None, [p[x.key] for p in group], [p[key] for p in group], style, colours[name])

        _curve_panel(panels[0][col], [curve(name, MACS.key, "-o") for name in groups], x, MACS)
        _curve_panel(panels[1][col], [c for name in groups for c in (
            curve(name, EVAL_PEAK.key, "-o"), curve(name, TRAIN_PEAK.key, "--s", labelled=False))], x, PEAK_MEMORY)
        for row, keys in enumerate(((MACS.key,), (EVAL_PEAK.key, TRAIN_PEAK.key))):
            found = [fits[key, x.key] for key in keys if (key, x.key) in fits]
            if found:
                names = {MACS.key: "MACs", EVAL_PEAK.key: "inference (solid)", TRAIN_PEAK.key: "training (dashed)"}
                growth = ", ".join(f"{names[fit.figure]} ~ {x.key}^{fit.exponent:.3f}" for fit in found)
                panels[row][col].set_title(f"{growth}\nfitted at {found[0].held}", fontsize=9)
    figure.suptitle(f"{view.title}: growth with input size and batch", fontsize=11)
    figure.tight_layout()
    return _save(figure, path)


def bench_curves(view: View, path: PlotPath) -> str | None:
    """Latency and throughput against batch, one curve per model (log-log), from bench's view."""
    rows, title = view.rows, view.title
    plt = _pyplot()
    models = list(dict.fromkeys(row["model"] for row in rows))
    figure, panels = plt.subplots(1, 2, figsize=(11, 4.8))
    for axes, y in zip(panels, (LATENCY, THROUGHPUT)):
        curves = [(model, [row["batch"] for row in rows if row["model"] == model],
                   [row.get(y.key) for row in rows if row["model"] == model], "-o", f"C{index % 10}")
                  for index, model in enumerate(models)]
        _curve_panel(axes, curves, BATCH, y)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, path)


def receptive_field_plot(layers: Sequence[Mapping[str, Any]], input_size: Sequence[int], covers_at: str | None,
                         title: str, path: PlotPath) -> str | None:
    """Each layer's receptive field (pixels per spatial axis) against its place in the forward,
    the input's size marked; a layer whose values see the whole input is drawn on that line.
    ``layers``: dicts with name and size (per axis, None for the whole input axis; the list
    None where no rule gave the field), in forward order."""
    plt = _pyplot()
    placed = [(step, layer) for step, layer in enumerate(layers) if layer["size"] is not None]
    if not placed:
        raise CnnstatError("no layer has a receptive field to plot")
    figure, axes = plt.subplots(figsize=(10, 5.5))
    square = len(set(input_size)) == 1
    names = ["H", "W"] if len(input_size) == 2 else ["D", "H", "W"] if len(input_size) == 3 else ["L"]
    for axis, length in enumerate(input_size[:1] if square else input_size):
        colour = f"C{axis}"
        label = "field" if square else f"field along {names[axis]}"
        local = [(step, layer["size"][axis]) for step, layer in placed if layer["size"][axis] is not None]
        whole = [step for step, layer in placed if layer["size"][axis] is None]
        if local:
            axes.plot(*zip(*local), "-o", color=colour, markersize=3, linewidth=1, label=label)
        if whole:
            axes.plot(whole, [length] * len(whole), "^", color=colour, markersize=5,
                      label=f"{label}: the whole input" if not square else "the whole input")
        axes.axhline(length, color=colour, linestyle="--", linewidth=0.8)
        axes.annotate(f"input {length} px" + ("" if square else f" ({names[axis]})"), (0, length), fontsize=7,
                      xytext=(2, 3), textcoords="offset points", color=colour)
    for step, layer in placed:
        if layer["name"] == covers_at:
            axes.axvline(step, color="grey", linestyle=":", linewidth=1)
            axes.annotate(f"reaches the whole input: {covers_at}", (step, axes.get_ylim()[1]), fontsize=7,
                          xytext=(3, -10), textcoords="offset points")
            break
    axes.set_xlabel("layer, in forward order")
    axes.set_ylabel("receptive field (input pixels)")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")
    axes.set_title(title, fontsize=10)
    return _save(figure, path)


def memory_timeline_plot(live_bytes: Sequence[int], backward_from: int, peak_layer: str,
                         measured_live_bytes: Sequence[int] | None, title: str, path: PlotPath) -> str | None:
    """Live bytes over one training step, forward then backward, each series against its own
    progress through the step (the estimate follows the meta device's allocations, the
    measurement the CPU allocator's); the estimated peak and the layer running at it marked."""
    plt = _pyplot()
    series = [("estimated (static pass)", live_bytes, "C0")]
    if measured_live_bytes:
        series.append(("measured (CPU allocator)", measured_live_bytes, "C1"))
    divisor, unit = column_unit(figure("activation_bytes"), [max(values) for _, values, _ in series])
    figure_, axes = plt.subplots(figsize=(10, 5))
    for label, values, colour in series:
        steps = len(values) - 1 or 1
        axes.plot([index / steps for index in range(len(values))], [value / divisor for value in values],
                  color=colour, linewidth=1, label=f"{label}: peak {max(values) / divisor:,.1f} {unit}")
    steps = len(live_bytes) - 1 or 1
    axes.axvline(backward_from / steps, color="grey", linestyle=":", linewidth=1)
    axes.annotate("backward", (backward_from / steps, 0), xytext=(3, 3), textcoords="offset points", fontsize=7)
    peak_at = max(range(len(live_bytes)), key=live_bytes.__getitem__)
    axes.plot([peak_at / steps], [live_bytes[peak_at] / divisor], "v", color="C0")
    axes.annotate(f"peak at {peak_layer or 'the model'}", (peak_at / steps, live_bytes[peak_at] / divisor),
                  xytext=(4, 4), textcoords="offset points", fontsize=8)
    axes.set_xlabel("progress through one training step (allocations and frees, in order)")
    axes.set_ylabel(f"live memory ({unit})")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    axes.set_title(title, fontsize=10)
    markup = _save(figure_, path)
    return _prefixed_ids(markup, "timeline-") if markup is not None else None


def _prefixed_ids(markup: str, prefix: str) -> str:
    """SVG markup whose ids (and the references to them) carry ``prefix``: matplotlib names every
    figure's parts alike (figure_1, axes_1), and a page with two figures needs each id once."""
    import re

    return re.sub(r'(\bid="|url\(#|href="#)([^")]+)', lambda match: match.group(1) + prefix + match.group(2), markup)

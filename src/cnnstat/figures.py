"""The schema of every figure cnnstat shows: key, header, unit, how it is scaled, and the
groups (tables) it belongs to. Pure data: imports neither torch nor pandas, so every layer
(analysis, frame, render, cli, ``cnnstat list``) can import it.

A *figure* is one named quantity, keyed as in the JSON and CSV outputs (``"macs"``). Its
``header`` is what a table prints, and the unit is added to it by the renderer, once the
unit of the column is chosen (``MACs (G)``, ``Act. mem (MiB)``, ``Latency (ms)``).

Using it::

    from cnnstat.figures import figure, group, shape_text

    figure("macs").header            # 'MACs'
    [f.key for f in group("static")] # ['params', 'macs', 'flops', ...], in display order
    shape_text((1, 3, 224, 224))     # '1x3x224x224': the one place a shape becomes text

Adding a figure (e.g. a new per-layer figure): append a ``Figure`` to ``_FIGURES`` below and
its key to every group (``GROUPS``) whose tables should show it, in the place it should
appear. Keys are unique: ``figure()`` refuses a second declaration of one. A figure that a
table builds on the fly (a crosscheck tool's column) is a plain ``Figure(...)`` not
registered here.

Scales (how a renderer formats the raw number; values always arrive raw):

- ``raw``: an integer with thousands separators (``25,557,032``);
- ``si``: a count with one SI prefix chosen per column (G = 10^9); ``unit`` follows the prefix;
- ``binary``: bytes with one binary prefix chosen per column (MiB = 2^20);
- ``float``: a number with ``decimals`` places (small non-zero values keep significant digits);
- ``percent``, ``ratio`` (``x0.031``), ``shape`` (a tuple of sizes, ``1x3x224x224``), ``text``.

Groups name the tables: ``identity`` (what a compared row is), ``static`` (figures of a
model that need no device), ``measured`` (what a real device adds), ``layer`` (the per-layer
table of ``summary``), ``receptive_field`` (added to it for a spatial input), ``latency`` and
``roofline`` (added to it when measured / asked for), ``bench``, ``sweep``, ``fit``, ``checkpoint``, ``study``,
``list``, ``crosscheck``.

``priority`` orders what a terminal table too wide for its window leaves out first (lowest
first; the first column of a table is never left out). ``KEPT_PRIORITY`` and above are the
figures a table exists for (a layer's output shape, params, MACs and latency; bench's IQR; a
crosscheck's tools and what is unexplained): kept at every width, the first column folding
before one of them goes. A comparison's ratios (3) go before its memory (6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal

Scale = Literal["raw", "si", "binary", "float", "percent", "ratio", "shape", "text"]
NUMERIC_SCALES = frozenset({"raw", "si", "binary", "float", "percent", "ratio"})


@dataclass(frozen=True)
class Figure:
    key: str
    header: str
    scale: Scale = "text"
    unit: str = ""
    """What the number counts, e.g. "FLOP/s", "ms", "items/s"; shown in the header after
    the prefix the column's unit needs."""
    decimals: int = 2
    wrap: bool = False
    """Whether long text may wrap onto several lines of a terminal table (words only)."""
    priority: int = 5
    """What a too-narrow terminal keeps: lower goes first."""
    label: str = ""
    """A longer name for plot axes and notes (default: ``header``)."""

    @property
    def numeric(self) -> bool:
        return self.scale in NUMERIC_SCALES

    @property
    def long_name(self) -> str:
        return self.label or self.header


RATIO_SUFFIX = "_ratio"
KEPT_PRIORITY = 7


def shape_text(shape: Iterable[int] | None) -> str:
    """(1, 3, 224, 224) -> '1x3x224x224'; None or () -> ''."""
    return "x".join(str(size) for size in shape) if shape else ""


def field_text(sizes: Iterable[int | None] | None) -> str | None:
    """A receptive field's per-axis pixels as "7x7"; "whole" where every value sees the whole
    input (an axis alone: "all"); None where there is no spatial field."""
    if sizes is None:
        return None
    shown = list(sizes)
    if all(size is None for size in shown):
        return "whole"
    return "x".join("all" if size is None else str(size) for size in shown)


_FIGURES = [
    # identity of a compared row
    Figure("model", "Model", priority=9),
    Figure("spec", "Spec", label="The registered name and every option (where it says more than Model)"),
    Figure("name", "Registered name"),
    Figure("family", "Family", priority=3),
    Figure("input_shape", "Input", "shape", priority=4, label="Input shape, batch included"),
    Figure("input_size", "Input", "shape", priority=4, label="Input size, without the batch"),
    Figure("output_shape", "Output shape", "shape", priority=7),
    Figure("device", "Device"),
    Figure("device_name", "Device name"),
    Figure("threads", "Threads", "raw"),
    Figure("torch_version", "Torch"),
    # static figures of a model (and of a layer)
    Figure("params", "Params", "raw", priority=8),
    Figure("trainable_params", "Trainable params", "raw"),
    Figure("macs", "MACs", "si", priority=8),
    Figure("flops", "FLOPs", "si", priority=2),
    Figure("backward_macs", "Bwd MACs", "si", priority=7, label="Backward MACs (training step)"),
    Figure("saved_for_backward_bytes", "Saved for bwd", "binary", priority=5,
           label="Memory saved for the backward (training step)"),
    Figure("grad_bytes", "Grad mem", "binary", priority=4, label="Gradient memory of the layer's parameters"),
    Figure("activation_bytes", "Act. mem", "binary", priority=4, label="Output memory"),
    Figure("est_peak_inference_bytes", "Eval peak", "binary", priority=6, label="Est. peak memory, inference"),
    Figure("est_peak_training_bytes", "Train peak", "binary", priority=6, label="Est. peak memory, training step"),
    # measured on a real device
    Figure("latency_ms", "Latency", "float", unit="ms", decimals=3, priority=8),
    Figure("latency_iqr_ms", "IQR", "float", unit="ms", decimals=3, priority=7),
    Figure("throughput_per_s", "Throughput", "float", unit="items/s", decimals=1, priority=5),
    Figure("measured_peak_bytes", "Measured peak", "binary", priority=6),
    Figure("peak_ratio", "Peak / estimate", "ratio", priority=2),
    # per layer
    Figure("layer", "Layer", priority=9),
    Figure("type", "Type", priority=4),
    Figure("description", "Config", priority=3),
    Figure("latency_pct", "% time", "percent", priority=7),
    Figure("intensity_flop_per_byte", "FLOP/byte", "float", decimals=1, priority=4,
           label="Arithmetic intensity (FLOP/byte)"),
    Figure("achieved_flops_per_s", "Achieved", "si", unit="FLOP/s", priority=4, label="Achieved FLOP/s"),
    Figure("bound", "Bound", priority=5),
    Figure("peak_fraction", "% of peak FLOP/s", "percent", priority=3),
    # receptive field over the model's input (cnnstat.analysis.receptive_field): pixels per
    # spatial axis ("7x7"), "whole" once every value sees the whole input
    Figure("receptive_field", "RF", priority=3, label="Receptive field (input pixels)"),
    Figure("jump", "Jump", priority=2, label="Effective stride (input pixels)"),
    Figure("own_field", "Own RF", priority=2, label="The layer's own field over its own input"),
    # bench and sweep points
    Figure("batch", "Batch", "raw", priority=9),
    Figure("pixels", "Pixels", "raw", priority=2, label="Pixels (H x W)"),
    Figure("fixed_share_pct", "Fixed-size MACs", "percent", priority=3),
    # fit: the largest batch within a memory budget (cnnstat.analysis.fit)
    Figure("est_peak_bytes", "Est. peak", "binary", priority=8, label="Estimated peak memory"),
    Figure("headroom_bytes", "Headroom", "binary", priority=7, label="Budget left at the answer"),
    Figure("next_est_peak_bytes", "Est. peak, next batch", "binary", priority=5,
           label="Estimated peak memory one batch up"),
    # activation checkpointing, what-if (cnnstat.analysis.checkpointing)
    Figure("block", "Block"),
    Figure("saved_peak_bytes", "Peak saved", "binary", priority=8, label="Training peak saved by checkpointing"),
    Figure("checkpointed_peak_bytes", "Peak", "binary", priority=7, label="Training peak with the block checkpointed"),
    Figure("recomputed_macs", "MACs recomputed", "si", priority=8, label="Forward MACs run again in the backward"),
    Figure("recomputed_share", "Extra MACs", "percent", priority=6, label="Recomputed MACs / one training step's MACs"),
    # studies: settings, counts read from modules, and the articles' figures
    Figure("in_channels", "In", "raw"),
    Figure("width", "Width", "raw"),
    Figure("cardinality", "C", "raw"),
    Figure("group_width", "d (solved)", "raw"),
    Figure("stated_group_width", "d (article)", "raw"),
    Figure("stated_rounded_group_width", "d rounded (article)", "raw"),
    Figure("blocks", "Blocks", "raw"),
    Figure("output_hwc", "Out HxWxC"),
    Figure("stated_params", "Params (article)", "raw"),
    Figure("published_params", "Params (published)", "raw", priority=8),
    Figure("published_gmacs", "GMACs (published)", "float", decimals=3, priority=8),
    Figure("conv_weights", "Conv weights", "raw"),
    Figure("target_conv_weights", "Target conv weights", "raw"),
    Figure("reported_accuracy", "Acc. (reported)", "percent"),
    # a compared model's receptive field (cnnstat.analysis.receptive_field)
    Figure("output_field", "RF", label="Receptive field of the output (input pixels)"),
    Figure("branch_fields", "Branch RFs", wrap=True),
    Figure("last_field", "Last local RF", priority=4, label="Last receptive field that is a window of the input"),
    Figure("covers_input_at", "Whole input at", priority=3, label="First layer whose field spans the whole input"),
    # the list of models and of studies
    Figure("year", "Year", priority=2),
    Figure("paper", "Paper", wrap=True, priority=1),
    Figure("study", "Study", priority=9),
    Figure("title", "Question", wrap=True),
    Figure("source", "Source", wrap=True),
    # torchvision's catalogue
    Figure("task", "Task", priority=7),
    Figure("weights", "Weights", priority=5),
    Figure("inputs", "Inputs", "raw", priority=4),
    Figure("gmacs", "GMACs", "float", decimals=3, priority=8, label="MACs in G, as torchvision publishes them"),
    Figure("counted_on", "Counted on", priority=6),
    Figure("convention", "Difference explained", wrap=True, priority=6),
    # where the cost is: by layer type, by operator (cnnstat.frame.cost)
    Figure("layer_type", "Layer type", priority=9),
    Figure("operator", "Operator", priority=9),
    Figure("calls", "Calls", "raw", priority=6),
    Figure("macs_pct", "% MACs", "percent", priority=7, label="Share of the model's MACs"),
    # crosscheck
    Figure("cnnstat_macs", "cnnstat", "si", priority=8, label="cnnstat MACs"),
    Figure("unexplained", "Unexplained", wrap=True, priority=7),
    Figure("tool", "Tool"),
    Figure("rule", "Convention", wrap=True),
    Figure("layers", "Layers", "raw"),
    Figure("difference", "Tool - cnnstat MACs", "si", priority=7),
]

FIGURES: dict[str, Figure] = {}
for _figure in _FIGURES:
    if _figure.key in FIGURES:
        raise ValueError(f"figure {_figure.key!r} is declared twice")
    FIGURES[_figure.key] = _figure

GROUPS: dict[str, tuple[str, ...]] = {
    "identity": ("model", "spec", "name", "family", "input_shape", "output_shape", "device", "device_name",
                 "threads", "torch_version"),
    "static": ("params", "macs", "flops", "activation_bytes", "est_peak_inference_bytes", "est_peak_training_bytes"),
    "measured": ("latency_ms", "latency_iqr_ms", "throughput_per_s", "measured_peak_bytes"),
    "layer": ("layer", "type", "description", "output_shape", "params", "trainable_params", "macs", "flops",
              "activation_bytes"),
    "train_layer": ("backward_macs", "saved_for_backward_bytes", "grad_bytes"),
    "latency": ("latency_ms", "latency_pct"),
    "roofline": ("intensity_flop_per_byte", "achieved_flops_per_s", "bound"),
    "receptive_field": ("receptive_field", "jump", "own_field"),
    "bench": ("model", "batch", "latency_ms", "latency_iqr_ms", "throughput_per_s", "measured_peak_bytes",
              "peak_ratio", "achieved_flops_per_s"),
    "bench_roofline": ("peak_fraction",),
    "sweep": ("input_size", "batch", "pixels", "macs", "flops", "activation_bytes", "est_peak_inference_bytes",
              "est_peak_training_bytes", "fixed_share_pct"),
    "sweep_measured": ("latency_ms", "throughput_per_s", "measured_peak_bytes"),
    "study": ("in_channels", "width", "cardinality", "group_width", "stated_group_width",
              "stated_rounded_group_width", "block", "blocks", "output_hwc", "stated_params", "published_params",
              "published_gmacs", "conv_weights", "target_conv_weights", "reported_accuracy", "output_field",
              "branch_fields", "last_field", "covers_input_at"),
    "fit": ("input_size", "batch", "est_peak_bytes", "headroom_bytes", "next_est_peak_bytes", "measured_peak_bytes"),
    "checkpoint": ("block", "saved_peak_bytes", "checkpointed_peak_bytes", "recomputed_macs", "recomputed_share"),
    "list": ("model", "family", "input_size", "published_params", "published_gmacs", "year", "paper"),
    "study_list": ("study", "title", "source"),
    "torchvision": ("model", "task", "weights", "input_size", "inputs", "published_params", "params",
                    "published_gmacs", "gmacs", "macs", "counted_on", "convention"),
    "by_type": ("layer_type", "calls", "params", "macs", "macs_pct", "flops", "activation_bytes"),
    "by_operator": ("operator", "calls", "macs", "macs_pct", "flops"),
    "crosscheck": ("layer", "type", "cnnstat_macs"),
    "crosscheck_rules": ("tool", "rule", "layers", "difference"),
}
"""Each table's figures, in display order."""

for _name, _keys in GROUPS.items():
    _unknown = [key for key in _keys if key not in FIGURES]
    if _unknown:
        raise ValueError(f"group {_name!r} names undeclared figures: {', '.join(_unknown)}")

RATIO_HEADERS = {"params": "Params x", "macs": "MACs x", "est_peak_training_bytes": "Train peak x",
                 "latency_ms": "Latency x"}
"""The ratios a comparison table shows, with short headers (its footer names the baseline);
CSV and JSON hold every ratio."""


def figure(key: str) -> Figure:
    """The figure of ``key``; a ratio key (``macs_ratio``) gives its ratio figure."""
    if key in FIGURES:
        return FIGURES[key]
    if key.endswith(RATIO_SUFFIX) and key.removesuffix(RATIO_SUFFIX) in FIGURES:
        return ratio_figure(key.removesuffix(RATIO_SUFFIX))
    raise KeyError(f"no figure {key!r} in cnnstat.figures")


def group(*names: str) -> list[Figure]:
    """The figures of one or more groups, in order, each once."""
    keys = dict.fromkeys(key for name in names for key in GROUPS[name])
    return [FIGURES[key] for key in keys]


def keys(*names: str) -> tuple[str, ...]:
    """The keys of one or more groups, in order, each once."""
    return tuple(figure.key for figure in group(*names))


def ratio_figure(key: str) -> Figure:
    """The ratio to a baseline of figure ``key`` (key ``<key>_ratio``)."""
    base = FIGURES[key]
    return Figure(f"{key}{RATIO_SUFFIX}", RATIO_HEADERS.get(key, f"{base.header} x"), "ratio", decimals=3,
                  priority=3 if key in RATIO_HEADERS else 0)


def is_missing(value: Any) -> bool:
    """None or NaN (pandas' NA compares unequal to itself, too)."""
    try:
        return value is None or bool(value != value)
    except TypeError:  # pandas.NA refuses bool()
        return True

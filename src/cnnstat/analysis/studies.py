"""The study registry: the design comparisons of the articles named in ``cnnstat.zoo._catalog``,
rebuilt from real zoo modules and profiled side by side. A study's source names the article
by its title and the paper the idea comes from.

Every count in a study comes from a built module (``profile()`` or the module's own
parameters). What is typed here is the articles' *stated* figures and reported accuracies,
kept as data beside the source that states them, so a table shows both and any gap is
visible rather than hidden.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from cnnstat.analysis.compare import ModelFigures, ModelSpec, compare, figures_of
from cnnstat.errors import CnnstatError
from cnnstat.figures import field_text
from cnnstat.zoo._catalog import (CIFAR_ARTICLE, GOOGLENET, MOBILENET_V1, MODELS_ARTICLE, PLAIN_ARTICLE, RESNET,
                                  RESNEXT, RESNEXT_ARTICLE, SHAKE_SHAKE, VGG)


@dataclass
class StudyResult:
    name: str
    title: str
    source: str
    rows: list[ModelFigures]
    extras: list[dict[str, Any]]
    """Per row, the study's own columns: settings, figures read from the modules, and the
    articles' stated figures (keys ``stated_*`` / ``reported_*``)."""
    notes: list[str] = field(default_factory=list)

    def to_records(self) -> list[dict[str, Any]]:
        return [{"model": row.label, **extra, **{k: v for k, v in row.to_dict().items() if k != "model"}}
                for row, extra in zip(self.rows, self.extras)]


Build = Callable[[str], tuple[list[ModelFigures], list[dict[str, Any]], list[str]]]


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    source: str
    build: Build
    """device -> (rows, per-row extras, notes)."""

    def run(self, device: str = "meta") -> StudyResult:
        rows, extras, notes = self.build(device)
        return StudyResult(self.name, self.title, self.source, rows, extras, notes)


STUDIES: dict[str, Study] = {}


def _study(name: str, title: str, source: str) -> Callable[[Build], Build]:
    def register(build: Build) -> Build:
        STUDIES[name] = Study(name, title, source, build)
        return build

    return register


def list_studies() -> list[Study]:
    return list(STUDIES.values())


def get_study(name: str) -> Study:
    if name not in STUDIES:
        matches = difflib.get_close_matches(name, STUDIES, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(matches)}?" if matches else "; `cnnstat study --list` shows them"
        raise CnnstatError(f"unknown study {name!r}{hint}")
    return STUDIES[name]


def run_study(name: str, device: str = "meta") -> StudyResult:
    return get_study(name).run(device)


# ------------------------------------------------------------------ counts read from modules


def conv_weights(spec: ModelSpec) -> int:
    """Conv weights of the built module: what the articles count (no bias, no BatchNorm)."""
    from torch import nn

    from cnnstat.analysis.build import build_model

    module = build_model(spec.name, options=spec.options)
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


def solve_width(count: Callable[[int], int], target: int) -> int:
    """The integer width whose ``count`` is nearest ``target``; ``count`` must grow with the
    width. Doubling then bisection: a handful of module builds per solve."""
    high = 1
    while count(high) < target:
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if count(middle) < target:
            low = middle
        else:
            high = middle
    # high is now the smallest width reaching the target; low the largest below it.
    if low >= 1 and target - count(low) < count(high) - target:
        return low
    return high


def output_hwc(row: ModelFigures) -> str:
    """The output shape as the articles write it (H x W x C)."""
    _batch, channels, *spatial = row.output_shape
    return "x".join(str(d) for d in (*spatial, channels))


def field_value(sizes: list[int | None] | None) -> list | str | None:
    """Per-axis pixels of a receptive field, "whole" where every value sees the whole input;
    None where no rule gave it."""
    if sizes is None:
        return None
    if all(size is None for size in sizes):
        return "whole"
    return ["all" if size is None else size for size in sizes]


def field_extras(report) -> dict[str, Any]:
    """Where a model's receptive field first spans the whole input, and its last field that does not."""
    summary = report.receptive_field
    if summary is None:
        return {"last_field": None, "covers_input_at": None}
    return {"last_field": field_value(summary.last_spatial.size) if summary.last_spatial else None,
            "covers_input_at": summary.covers_at}


def output_field(report) -> list | str | None:
    root = report.layers[0].field_figures
    return field_value(root.size) if root else None


def _block_rows(stated: Sequence[tuple[ModelSpec, int]], source: str, device: str):
    """Rows of block comparisons whose article states one parameter figure per block."""
    rows = compare([spec for spec, _ in stated], device=device)
    extras = [{"conv_weights": conv_weights(spec), "stated_params": figure, "output_hwc": output_hwc(row),
               "output_field": output_field(row.report)} for (spec, figure), row in zip(stated, rows)]
    return rows, extras, [f"Stated figures: {source}; conv weights without bias, as the article counts."]


# ------------------------------------------------------------------------------- studies


@_study("kernel-stack", "One 7x7 conv vs three stacked 3x3 convs (16 -> 32, 32x32 input, no padding)",
        f"{MODELS_ARTICLE}, VGG section; {VGG.cite()}")
def _kernel_stack(device: str):
    rows, extras, notes = _block_rows([
        (ModelSpec("block/conv", label="one 7x7 conv"), 25_088),
        (ModelSpec("block/conv3x3_stack", label="three 3x3 convs"), 13_824),
    ], "the article (VGG section)", device)
    notes.append("RF: the input pixels one output pixel sees: 7x7 for both, the VGG paper's argument for the stack.")
    notes.append("The article's 13,824 is 3 x (3x3x16x32): it counts every conv as 16 -> 32. In a real stack the "
                 "second and third convs take 32 channels, so the module's count is higher; still below the 7x7's, "
                 "with two ReLUs between the convs where the 7x7 has none.")
    return rows, extras, notes


@_study("depthwise-separable", "Standard 3x3 conv vs depthwise + pointwise (3 -> 10, no bias)",
        f"{MODELS_ARTICLE}, MobileNet section; {MOBILENET_V1.cite()}")
def _depthwise_separable(device: str):
    return _block_rows([
        (ModelSpec("block/conv_standard", label="standard 3x3 conv"), 270),
        (ModelSpec("block/depthwise_separable", label="depthwise 3x3 + pointwise 1x1"), 57),
    ], "the article (MobileNet section)", device)


@_study("inception", "5x5 conv 192 -> 96 vs naive Inception vs Inception with 1x1 reductions",
        f"{MODELS_ARTICLE}, GoogLeNet section; {GOOGLENET.cite()}")
def _inception(device: str):
    rows, extras, notes = _block_rows([
        (ModelSpec("block/conv5x5", label="5x5 conv, 192 -> 96"), 460_800),
        (ModelSpec("block/inception_naive", label="naive Inception"), 161_280),
        (ModelSpec("block/inception_reduced", label="Inception, 1x1 reductions"), 28_416),
    ], "the article (GoogLeNet section)", device)
    for row, extra in zip(rows, extras):
        branches = [layer for layer in row.report.layers if layer.depth == 1 and layer.name.startswith("branch")]
        extra["branch_fields"] = ", ".join(
            f"{layer.name} {field_text(layer.field_figures.size)}" for layer in branches) or None
    notes.append("The naive module passes the pooled 192 channels through, so it outputs 264 channels, not 96.")
    notes.append("RF and Branch RFs: the input pixels one output pixel sees; the concatenation sees the union of "
                 "its branches' windows (1x1, 3x3, 5x5 and the 3x3 pool).")
    return rows, extras, notes


CARDINALITIES = (1, 2, 4, 8, 16, 32, 64)
STATED_CARDINALITY_WIDTHS = (64, 40, 24, 14, 8, 4, 2)


def _resnext_block(cin: int, width: int, cardinality: int, group_width: int, label: str | None = None) -> ModelSpec:
    """The ResNeXt bottleneck whose 3x3 has ``cardinality`` groups of ``group_width`` channels.

    The block's ``d`` is torchvision's ``width_per_group``, defined at width 64 (the 3x3 has
    ``int(width * d / 64) * C`` channels); at other widths it is scaled, exactly, since every
    stage width is a power of two."""
    per_group = group_width * 64 / width
    options = {"cin": cin, "width": width, "C": cardinality, "d": int(per_group) if per_group.is_integer() else per_group}
    return ModelSpec("block/resnext_bottleneck", options, label)


@_study("resnext-cardinality", "ResNeXt cardinality C vs group width d at the params of the (256, 64) bottleneck",
        f"{RESNEXT_ARTICLE}; {RESNEXT.cite()}, Table 2")
def _resnext_cardinality(device: str):
    target = conv_weights(ModelSpec("block/resnet_bottleneck"))
    specs, extras = [], []
    for cardinality, stated in zip(CARDINALITIES, STATED_CARDINALITY_WIDTHS):
        width = solve_width(lambda d: conv_weights(_resnext_block(256, 64, cardinality, d)), target)
        spec = _resnext_block(256, 64, cardinality, width, label=f"{cardinality}x{width}d")
        specs.append(spec)
        extras.append({"cardinality": cardinality, "group_width": width, "stated_group_width": stated,
                       "conv_weights": conv_weights(spec), "target_conv_weights": target})
    notes = [f"Target: the conv weights of ResNet-50's (256, 64) bottleneck, read from the module: {target:,}. "
             "For each C the group width d is solved by building the grouped block at candidate widths and "
             "taking the one whose conv weights come nearest the target; params also count BatchNorm."]
    return compare(specs, device=device), extras, notes


RESNEXT_STAGES = ((64, 64, 56), (256, 64, 56), (256, 128, 28), (512, 128, 28), (512, 256, 14), (1024, 256, 14),
                  (1024, 512, 7), (2048, 512, 7))
"""(in_channels, bottleneck width, feature-map size) of each distinct block shape of ResNet-50."""
STATED_STAGE_WIDTHS = (5, 4, 9, 8, 18, 16, 36, 32)
STATED_ROUNDED_WIDTHS = (4, 4, 8, 8, 16, 16, 32, 32)
"""The "32x4d" rounding the article gives: 4 at width 64, doubled with the width."""


@_study("resnext-width", "ResNeXt 32 x d per stage at the params of each ResNet-50 bottleneck",
        f"{RESNEXT_ARTICLE}; {RESNEXT.cite()}")
def _resnext_width(device: str):
    rows, extras = [], []
    for (cin, width, size), stated, rounded in zip(RESNEXT_STAGES, STATED_STAGE_WIDTHS, STATED_ROUNDED_WIDTHS):
        target = conv_weights(ModelSpec("block/resnet_bottleneck", {"cin": cin, "width": width}))
        group_width = solve_width(lambda d: conv_weights(_resnext_block(cin, width, 32, d)), target)
        spec = _resnext_block(cin, width, 32, group_width, label=f"({cin}, {width}) 32x{group_width}d")
        rows.append(figures_of(spec, (cin, size, size), device=device))
        extras.append({"in_channels": cin, "width": width, "group_width": group_width,
                       "stated_group_width": stated, "stated_rounded_group_width": rounded,
                       "conv_weights": conv_weights(spec), "target_conv_weights": target})
    notes = ["Each row: the ResNeXt block (C = 32) whose conv weights come nearest those of the ResNet-50 "
             "bottleneck with the same (in, width), both read from built modules; each at its stage's "
             "feature-map size. Rows are different stages, so no ratio column."]
    return rows, extras, notes


@_study("plain-vs-residual", "Plain networks vs residual networks of the same depth",
        f"{PLAIN_ARTICLE}; {RESNET.cite()}")
def _plain_vs_residual(device: str):
    reported = {"plain50": 53.0, "resnet50": 73.0}
    rows = compare(["plain34", "resnet34", "plain50", "resnet50"], device=device)
    extras = [{"reported_accuracy": reported.get(row.model), **field_extras(row.report)} for row in rows]
    notes = ["Reported accuracy: the post's validation accuracy on its cat-vs-dog subset (it trained the 50-layer "
             "pair only). Shortcuts cost almost nothing: the only parameters they add are the projections.",
             FIELD_NOTE]
    return rows, extras, notes


@_study("basic-vs-bottleneck", "Basic blocks (ResNet-18/34) vs bottleneck blocks (ResNet-50/101/152)",
        f"{MODELS_ARTICLE}, ResNet section; {PLAIN_ARTICLE}; {RESNET.cite()}")
def _basic_vs_bottleneck(device: str):
    rows = compare(["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"], device=device)
    extras = []
    for row in rows:
        blocks = [layer.type for layer in row.report.layers if layer.type in ("BasicBlock", "Bottleneck")]
        extras.append({"block": blocks[0], "blocks": len(blocks), **field_extras(row.report)})
    return rows, extras, ["Block type and count are read from each built network.", FIELD_NOTE]


FIELD_NOTE = ("Whole input at: the first layer with an output pixel that sees every input pixel (through every "
              "branch, shortcuts included). Last local RF: the last field that is still a window of the input, "
              "most often the one the final global pooling takes; after the global pooling of a squeeze-and-"
              "excitation block, every value sees the whole input.")


CIFAR_PROGRESSION = (
    ("cifar_linear", 30_730, 32.0),
    ("cifar_mlp", 123_330, 25.0),
    ("cifar_lenet", 62_958, 53.0),
    ("cifar_convbn", 39_650, 65.8),
    ("cifar_deepbn", 462_570, 71.1),
    ("cifar_resnet_small", 1_965_066, 73.3),
)
"""The CIFAR-10 walkthrough's nets, with the parameter counts and test accuracies it states."""


@_study("cifar-progression", "CIFAR-10: linear -> MLP -> CNN -> BatchNorm -> deeper -> residual",
        f"{CIFAR_ARTICLE}; {SHAKE_SHAKE.cite()} for where it leads")
def _cifar_progression(device: str):
    rows = compare([name for name, _, _ in CIFAR_PROGRESSION], device=device)
    extras = [{"stated_params": params, "reported_accuracy": accuracy} for _, params, accuracy in CIFAR_PROGRESSION]
    notes = ["Stated params and reported accuracy: the article's own training runs (not recomputed here)."]
    return rows, extras, notes


@_study("vgg-vs-mobilenet", "VGG-16 vs MobileNet (v1), ImageNet 224x224",
        f"{MODELS_ARTICLE}; {VGG.cite()}; {MOBILENET_V1.cite()}")
def _vgg_vs_mobilenet(device: str):
    from cnnstat.zoo import get_entry

    rows = compare(["vgg16", "mobilenet"], device=device)
    extras = [{"published_params": get_entry(row.model).num_params, "published_gmacs": get_entry(row.model).gmacs}
              for row in rows]
    notes = ["Published figures: torchvision's weights meta (VGG-16) and the MobileNets paper, Table 8 (v1)."]
    return rows, extras, notes


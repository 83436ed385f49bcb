"""Cross-check: our counts against fvcore, torchinfo, thop and ptflops on the same model.

Every other tool's figure for a leaf module is *predicted* from our record of that module
(its calls' input and output shapes, its parameters, our MACs) by one small named rule, the
tool's counting convention. A figure that the rule predicts exactly is explained; any other
is listed as unexplained. Work done outside leaf modules (``x + y`` in a residual block,
``F.adaptive_avg_pool2d`` in a forward) is one more row per tool, "(outside leaf modules)",
predicted by the tool's rule for functional ops.

All tools run on the CPU in eval mode, on one model with random weights and one random input.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from cnnstat.analysis.records import LayerRow
from cnnstat.analysis.build import check_inputs, default_input_size, input_specs, load_on, own_dtype
from cnnstat.analysis.report import Report, profile
from cnnstat.errors import CnnstatError, ToolFailed

OUTSIDE_LEAVES = "(outside leaf modules)"
TOOLS = ("fvcore", "torchinfo", "thop", "ptflops")
REQUIRED = ("fvcore", "torchinfo")
"""Tools the check needs (the ``crosscheck`` extra); thop and ptflops join when installed."""

CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
BATCH_NORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
POOLING = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
           nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool2d)
ADAPTIVE_AVG = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.PReLU)
"""The activations ptflops hooks (1 per output element); others it leaves at 0."""


@dataclass
class Leaf:
    """Our figures for one leaf module, over all its calls."""

    name: str
    module: nn.Module
    records: list[LayerRow]

    @property
    def type(self) -> str:
        return type(self.module).__name__

    @property
    def macs(self) -> int:
        return sum(record.macs for record in self.records)

    @property
    def input_elements(self) -> int:
        return sum(math.prod(record.input_shapes[0]) for record in self.records if record.input_shapes)

    @property
    def output_elements(self) -> int:
        return sum(math.prod(record.output_shape) for record in self.records if record.output_shape)

    @property
    def batch(self) -> int:
        return sum(record.input_shapes[0][0] for record in self.records if record.input_shapes)

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    @property
    def has_bias(self) -> bool:
        return getattr(self.module, "bias", None) is not None

    @property
    def affine(self) -> bool:
        return bool(getattr(self.module, "affine", False))


@dataclass(frozen=True)
class Rule:
    """One counting convention of a tool: which leaves it covers and what it predicts."""

    name: str
    covers: Callable[[Leaf], bool]
    predict: Callable[[Leaf], int]


def _is(*types: type) -> Callable[[Leaf], bool]:
    return lambda leaf: isinstance(leaf.module, types)


def _bias_elements(leaf: Leaf) -> int:
    return leaf.output_elements if leaf.has_bias else 0


def _norm_elements(leaf: Leaf, per_element: int) -> int:
    return leaf.input_elements * per_element * (2 if leaf.affine else 1)


def _adaptive_avg_kernel(leaf: Leaf) -> int:
    return sum(math.prod(record.output_shapes[0]) * (math.prod(record.input_shapes[0][2:])
                                                     // math.prod(record.output_shapes[0][2:]) + 1)
               for record in leaf.records)


ONE_PER_MAC = Rule("1 per MAC of conv/linear/matmul, bias not counted", lambda leaf: True, lambda leaf: leaf.macs)

TOOL_CONVENTIONS: dict[str, list[Rule]] = {
    "fvcore": [
        Rule("batch_norm: 1 per element, 2 when affine (eval)", _is(*BATCH_NORM), lambda l: _norm_elements(l, 1)),
        Rule("adaptive_avg_pool: 1 per input element", _is(*ADAPTIVE_AVG), lambda l: l.input_elements),
        Rule("upsample: 1 per output element (nearest)", _is(nn.Upsample),
             lambda l: l.output_elements * (4 if l.module.mode == "bilinear" else 1)),
        ONE_PER_MAC,
    ],
    "torchinfo": [
        Rule("conv/linear: MACs + bias x output positions", _is(*CONV, nn.Linear),
             lambda l: l.macs + _bias_elements(l)),
        Rule("other parametrised module: params x batch", lambda l: l.params > 0, lambda l: l.params * l.batch),
        Rule("module without parameters: 0", lambda l: True, lambda l: 0),
    ],
    "thop": [
        Rule("batch_norm: 2 per element, x2 when affine", _is(*BATCH_NORM), lambda l: _norm_elements(l, 2)),
        Rule("adaptive_avg_pool: (kernel area + 1) per output element", _is(*ADAPTIVE_AVG), _adaptive_avg_kernel),
        Rule("conv/linear: 1 per MAC, bias not counted", _is(*CONV, nn.Linear), lambda l: l.macs),
        Rule("ReLU, max pooling, dropout and unhooked modules: 0", lambda l: True, lambda l: 0),
    ],
    "ptflops": [
        Rule("conv/linear: MACs + 1 per output element for the bias", _is(*CONV, nn.Linear),
             lambda l: l.macs + _bias_elements(l)),
        Rule("batch_norm: 1 per element, 2 when affine", _is(*BATCH_NORM), lambda l: _norm_elements(l, 1)),
        Rule("pooling: 1 per input element", _is(*POOLING), lambda l: l.input_elements),
        Rule("ReLU-like activations: 1 per output element", _is(*ACTIVATIONS), lambda l: l.output_elements),
        Rule("unhooked modules (dropout, hardswish, ...): 0", lambda l: True, lambda l: 0),
    ],
}
"""Each tool's conventions, first match wins. The figures are those of fvcore 0.1.5,
torchinfo 1.8, thop 0.1.1 and ptflops 0.7.5 (``backend="pytorch"``, module hooks only: its default
functional patching counts the ``F.relu`` and pooling calls inside ReLU and pooling modules a
second time)."""

OUTSIDE_RULES: dict[str, tuple[str, Callable[[Report], int]]] = {
    "fvcore": ("matmul ops outside modules: 1 per MAC; elementwise adds ignored",
               lambda report: sum(r.counted.own_macs for r in report.layers if not r.is_leaf)),
    "torchinfo": ("module hooks only: 0", lambda report: 0),
    "thop": ("module hooks only: 0", lambda report: 0),
    "ptflops": ("module hooks only (functional patching off): 0", lambda report: 0),
}


@dataclass
class ToolFigures:
    """What one tool reported: a figure per leaf module name, and its total."""

    tool: str
    by_leaf: dict[str, int]
    total: int


@dataclass
class Comparison:
    """One tool's figure for one row, the rule that predicts it, and whether it does."""

    tool: str
    reported: int
    predicted: int
    rule: str

    @property
    def explained(self) -> bool:
        return self.reported == self.predicted

    def to_dict(self) -> dict[str, Any]:
        return {"reported": self.reported, "predicted": self.predicted, "rule": self.rule,
                "explained": self.explained}


@dataclass
class Row:
    layer: str
    type: str
    macs: int
    """Ours."""
    tools: dict[str, Comparison] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "type": self.type, "macs": self.macs,
                **{tool: comparison.to_dict() for tool, comparison in self.tools.items()}}


@dataclass
class CrossCheck:
    model: str
    input_shape: tuple[int, ...]
    tools: list[str]
    rows: list[Row]
    """One per leaf module, then the row outside leaf modules."""
    totals: Row
    skipped: dict[str, str] = field(default_factory=dict)
    """Tools not run, and why."""

    @property
    def unexplained(self) -> list[tuple[Row, Comparison]]:
        return [(row, comparison) for row in [*self.rows, self.totals]
                for comparison in row.tools.values() if not comparison.explained]

    def rule_summary(self) -> list[dict[str, Any]]:
        """Per tool and rule: how many layers it covers and what it adds to our MACs there."""
        summary: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.rows:
            for tool, comparison in row.tools.items():
                entry = summary.setdefault((tool, comparison.rule), {"tool": tool, "rule": comparison.rule,
                                                                     "layers": 0, "difference": 0})
                entry["layers"] += 1
                entry["difference"] += comparison.reported - row.macs
        return list(summary.values())

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "input_shape": list(self.input_shape), "tools": self.tools,
                "skipped": self.skipped, "totals": self.totals.to_dict(),
                "layers": [row.to_dict() for row in self.rows], "rules": self.rule_summary(),
                "unexplained": [{"layer": row.layer, "tool": c.tool, "reported": c.reported,
                                 "predicted": c.predicted} for row, c in self.unexplained]}


# -- running the tools -------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet():
    """The tools print and warn freely (unsupported ops, tracer warnings): keep our streams clean."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _run_fvcore(model: nn.Module, args: tuple[torch.Tensor, ...], leaves: Mapping[str, Leaf]) -> ToolFigures:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, args)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    by_module = analysis.by_module()
    return ToolFigures("fvcore", {name: int(by_module.get(name, 0)) for name in leaves}, int(analysis.total()))


def _run_torchinfo(model: nn.Module, args: tuple[torch.Tensor, ...], leaves: Mapping[str, Leaf]) -> ToolFigures:
    import torchinfo

    summary = torchinfo.summary(model, input_data=list(args), verbose=0, depth=1000, device="cpu")
    names = {id(module): name for name, module in model.named_modules()}
    by_leaf = dict.fromkeys(leaves, 0)
    for info in summary.summary_list:
        name = names.get(id(info.module))
        if name in by_leaf and info.executed:
            by_leaf[name] += int(info.macs)
    return ToolFigures("torchinfo", by_leaf, int(summary.total_mult_adds))


def _run_thop(model: nn.Module, args: tuple[torch.Tensor, ...], leaves: Mapping[str, Leaf]) -> ToolFigures:
    from thop import profile as thop_profile

    total, _params, layers = thop_profile(model, inputs=args, verbose=False, ret_layer_info=True)

    def flatten(tree: Mapping[str, tuple], prefix: str) -> dict[str, int]:
        flat = {}
        for name, (ops, _params, children) in tree.items():
            qualified = f"{prefix}{name}"
            flat[qualified] = int(ops)
            flat.update(flatten(children, f"{qualified}."))
        return flat

    by_module = flatten(layers, "")
    return ToolFigures("thop", {name: by_module.get(name, 0) for name in leaves}, int(total))


def _run_ptflops(model: nn.Module, args: tuple[torch.Tensor, ...], leaves: Mapping[str, Leaf]) -> ToolFigures:
    from ptflops.pytorch_engine import add_flops_counting_methods

    counted = add_flops_counting_methods(model)
    counted.start_flops_count(ost=io.StringIO(), verbose=False, ignore_list=[])
    try:
        with torch.no_grad():
            model(*args)
        by_leaf = {name: int(getattr(leaves[name].module, "__flops__", 0)) for name in leaves}
        total = sum(int(getattr(module, "__flops__", 0)) for module in model.modules())
    finally:
        counted.stop_flops_count()
        counted.reset_flops_count()
    return ToolFigures("ptflops", by_leaf, total)


RUNNERS = {"fvcore": _run_fvcore, "torchinfo": _run_torchinfo, "thop": _run_thop, "ptflops": _run_ptflops}
PACKAGES = {"fvcore": "fvcore", "torchinfo": "torchinfo", "thop": "thop", "ptflops": "ptflops"}


def available_tools() -> tuple[list[str], dict[str, str]]:
    """The tools installed here, and why the others are left out (a required one missing is an error)."""
    missing = [tool for tool in TOOLS if importlib.util.find_spec(PACKAGES[tool]) is None]
    required_missing = [tool for tool in missing if tool in REQUIRED]
    if required_missing:
        raise CnnstatError(f"crosscheck needs {' and '.join(required_missing)}, which "
                           f"{'is' if len(required_missing) == 1 else 'are'} not installed: "
                           "pip install fvcore torchinfo")
    return [tool for tool in TOOLS if tool not in missing], {tool: "not installed" for tool in missing}


# -- the check -----------------------------------------------------------------------------------

def _positional(inputs: Any, name: str) -> tuple[torch.Tensor, ...]:
    """Example inputs as every tool takes them: positional tensors."""
    args = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs) if isinstance(inputs, (tuple, list)) else ()
    if not args or not all(isinstance(arg, torch.Tensor) for arg in args):
        raise CnnstatError(f"{name}: crosscheck takes example inputs as a tensor or a tuple of tensors, which every "
                           "tool passes to the forward in order (fvcore and thop take no keyword inputs)")
    return args


def _leaves(model: nn.Module, report: Report) -> dict[str, Leaf]:
    modules = dict(model.named_modules())
    leaves: dict[str, Leaf] = {}
    for record in report.layers:
        if record.is_leaf and record.depth > 0:
            leaves.setdefault(record.name, Leaf(record.name, modules[record.name], [])).records.append(record)
    return leaves


def _compare(tool: str, leaf: Leaf, reported: int) -> Comparison:
    rule = next(rule for rule in TOOL_CONVENTIONS[tool] if rule.covers(leaf))
    return Comparison(tool, reported, rule.predict(leaf), rule.name)


def crosscheck(spec: str, input_size: tuple[int, ...] | None = None, batch: int = 1,
               options: Mapping[str, Any] | None = None, tools: list[str] | None = None,
               inputs: torch.Tensor | Sequence[torch.Tensor] | None = None) -> CrossCheck:
    """Run our counter and every installed tool on the model ``spec`` names, and explain each
    difference; ``inputs``: example positional inputs (a tensor or a tuple of them) instead of
    ``input_size`` x ``batch`` (the other tools take no keyword inputs)."""
    installed, skipped = available_tools()
    tools = [tool for tool in (tools or installed) if tool in installed]
    torch.manual_seed(0)
    loaded = load_on(spec, options=options, device="cpu")
    model = loaded.module.eval()
    if inputs is not None:
        args = _positional(inputs, loaded.name)
        report = profile(model, inputs=args, name=loaded.name)
    else:
        specs = input_specs(input_size)
        if specs is not None:
            check_inputs(loaded.name, specs, model, batch, loaded.input_size)
        report = profile(model, input_size or default_input_size(loaded.name, loaded.input_size), batch=batch,
                         name=loaded.name)
        args = (torch.randn(report.input_shape, dtype=own_dtype(model)),)  # as the model computes (float16 too)
    leaves = _leaves(model, report)
    rows = [Row(leaf.name, leaf.type, leaf.macs) for leaf in leaves.values()]
    outside = Row(OUTSIDE_LEAVES, "", report.totals.macs - sum(leaf.macs for leaf in leaves.values()))
    totals = Row("total", "", report.totals.macs)
    for tool in tools:
        try:
            with _quiet():
                figures = RUNNERS[tool](model, args, leaves)
        except Exception as error:  # the tool's own failure (fvcore's tracer on a data-dependent forward)
            raise ToolFailed(tool, loaded.name, f"{type(error).__name__}: {' '.join(str(error).split())}") from None
        for row, leaf in zip(rows, leaves.values()):
            row.tools[tool] = _compare(tool, leaf, figures.by_leaf[leaf.name])
        outside_rule, predict_outside = OUTSIDE_RULES[tool]
        outside.tools[tool] = Comparison(tool, figures.total - sum(figures.by_leaf.values()),
                                         predict_outside(report), outside_rule)
        totals.tools[tool] = Comparison(tool, figures.total, sum(row.tools[tool].predicted for row in [*rows, outside]),
                                        "sum of the rows")
    return CrossCheck(loaded.name, report.input_shape, tools, [*rows, outside], totals, skipped)


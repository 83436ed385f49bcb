"""``sweep()``: one model over a grid of input sizes and batch sizes, and how its costs grow.

Each point is one static ``profile()`` (plus a measurement on a real device). Growth is the
exponent ``k`` of ``cost ~ x^k``, fitted by least squares on log-log, against pixels (H*W,
at one batch) and against batch (at one input). A CNN's convolutions cost ~ pixels^1.0;
a model departs from that where some layers cost the same at every input size (a
classifier behind an adaptive pooling, squeeze-excitation FCs): the records of every
point show which layers those are, and where their input stops depending on the input size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from cnnstat.analysis.records import Fit, Machine
from cnnstat.analysis.report import Report, measured_report, profile
from cnnstat.figures import shape_text
from cnnstat.errors import CnnstatError
from cnnstat.shown import Shown

DEFAULT_INPUTS = ((3, 128, 128), (3, 224, 224), (3, 320, 320), (3, 512, 512))
DEFAULT_BATCHES = (1, 8, 32)
FITTED = ("macs", "activation_bytes", "est_peak_inference_bytes", "est_peak_training_bytes", "latency_ms")
"""The figures whose growth is fitted (latency only when measured)."""
PROPORTIONAL = 0.005
"""How far an exponent may be from 1.0 and still read as proportional (it prints as 1.00)."""


@dataclass
class SweepPoint:
    input_size: tuple[int, ...]
    """Without the batch dimension."""
    batch: int
    pixels: int
    """Product of the spatial sizes (H*W)."""
    macs: int
    flops: int
    activation_bytes: int
    est_peak_inference_bytes: int
    est_peak_training_bytes: int | None
    resident_bytes: int
    """Parameters and buffers: in memory at every input size."""
    fixed_macs: int = 0
    """MACs of the layers whose cost is the same at every input size of the sweep."""
    latency_ms: float | None = None
    latency_iqr_ms: float | None = None
    throughput_per_s: float | None = None
    measured_peak_bytes: int | None = None

    @property
    def fixed_share(self) -> float:
        return self.fixed_macs / self.macs if self.macs else 0.0


@dataclass
class FixedLayer:
    name: str
    call: int
    type: str
    macs: int
    """At batch 1-equivalent: the MACs at the sweep's smallest batch."""


@dataclass(repr=False)  # a short repr and the display methods come from Shown
class SweepResult(Shown):
    model: str
    device: str
    dtype: str
    mode: str
    points: list[SweepPoint]
    fits: list[Fit]
    fixed_layers: list[FixedLayer]
    """Leaf layers with MACs whose cost does not change with the input size."""
    fixed_from: tuple[str, str, tuple[int, ...]] | None
    """(name, type, output shape) of the first layer whose output is the same size at every
    input size although its input is not: where the fixed-cost part begins."""
    notes: list[str] = field(default_factory=list)
    machine: Machine | None = None
    """Where the points were measured; None on meta."""

    def fit(self, figure: str, against: str) -> Fit | None:
        return next((f for f in self.fits if f.figure == figure and f.against == against), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "device": self.device, "dtype": self.dtype, "mode": self.mode,
            "points": [asdict(point) | {"fixed_share": point.fixed_share} for point in self.points],
            "fits": [asdict(fit) for fit in self.fits],
            "fixed_layers": [asdict(layer) for layer in self.fixed_layers],
            "fixed_from": ({"name": self.fixed_from[0], "type": self.fixed_from[1],
                            "output_size": list(self.fixed_from[2])} if self.fixed_from else None),
            "explanation": explain(self),
            "notes": list(self.notes),
            "machine": asdict(self.machine) if self.machine else None,
        }


def growth_exponent(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mean_x, mean_y = sum(lx) / len(lx), sum(ly) / len(ly)
    spread = sum((x - mean_x) ** 2 for x in lx)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(lx, ly)) / spread


def _fits(points: list[SweepPoint]) -> list[Fit]:
    """Against pixels at the smallest batch, against batch at the smallest input."""
    smallest_batch = min(p.batch for p in points)
    smallest_input = min((p.pixels, p.input_size) for p in points)[1]
    groups = [("pixels", f"batch {smallest_batch}", [p for p in points if p.batch == smallest_batch]),
              ("batch", f"input {shape_text(smallest_input)}", [p for p in points if p.input_size == smallest_input])]
    fits = []
    for against, held, group in groups:
        for figure in FITTED:
            pairs = sorted({(getattr(p, against), getattr(p, figure)) for p in group if getattr(p, figure)})
            if len({x for x, _ in pairs}) >= 2:
                fits.append(Fit(figure, against, held, growth_exponent(*zip(*pairs)), len(pairs)))
    return fits


def _leaves(report: Report) -> dict[tuple[str, int], Any]:
    return {(layer.name, layer.call): layer for layer in report.layers if layer.is_leaf}


def _fixed_cost(reports: Sequence[Report]) -> tuple[list[FixedLayer], tuple | None]:
    """Leaf layers with the same MACs at every input size (at one batch), and the layer
    where the input size stops mattering."""
    per_report = [_leaves(report) for report in reports]
    common = [key for key in per_report[0] if all(key in leaves for leaves in per_report[1:])]
    fixed = [FixedLayer(*key, per_report[0][key].type, per_report[0][key].macs) for key in common
             if per_report[0][key].macs and len({leaves[key].macs for leaves in per_report}) == 1]
    fixed_from = None
    for key in common:
        layers = [leaves[key] for leaves in per_report]
        if len({tuple(map(tuple, layer.input_shapes)) for layer in layers}) > 1 and \
                len({layer.output_shape for layer in layers}) == 1:
            fixed_from = (key[0], layers[0].type, tuple(layers[0].output_shape[1:]))
            break
    return fixed, fixed_from


def sweep(model: str, inputs: Sequence[tuple[int, ...]] = DEFAULT_INPUTS, batches: Sequence[int] = DEFAULT_BATCHES,
          *, device: str = "meta", mode: str = "eval", dtype: str | None = None, options: Mapping[str, Any] | None = None,
          threads: int | None = None, min_run_time: float = 0.5) -> SweepResult:
    """Profile ``model`` at every (input, batch); on ``cpu`` or ``cuda`` also measure each point.
    ``dtype`` converts the model; None keeps its own (float32 for a named model)."""
    from cnnstat.analysis.measure import pick_device

    if not inputs or not batches:
        raise CnnstatError("a sweep needs at least one input size and one batch size")
    if len(set(inputs)) < 2 and len(set(batches)) < 2:
        raise CnnstatError("a sweep needs two or more input sizes or batch sizes to fit a growth exponent")
    if len({len(shape) for shape in inputs}) > 1:
        raise CnnstatError("every input size of a sweep needs the same number of sizes, e.g. 3x128x128,3x224x224")
    measure_on = pick_device(device)
    points, reports = [], {}
    for shape in inputs:
        for batch in batches:
            report = profile(model, tuple(shape), batch=batch, mode=mode, dtype=dtype, options=options)
            if measure_on is not None:
                report = measured_report(report, measure_on, threads=threads, min_run_time=min_run_time,
                                         per_layer=False)
            reports[tuple(shape), batch] = report
            points.append(_point(report, tuple(shape), batch))
    smallest_batch = min(batches)
    by_input = [reports[tuple(shape), smallest_batch] for shape in dict.fromkeys(map(tuple, inputs))]
    fixed, fixed_from = _fixed_cost(by_input) if len(by_input) > 1 else ([], None)
    fixed_keys = {(layer.name, layer.call) for layer in fixed}
    for point in points:
        leaves = _leaves(reports[point.input_size, point.batch])
        point.fixed_macs = sum(leaves[key].macs for key in fixed_keys if key in leaves)
    first = next(iter(reports.values()))
    machine = first.measured.machine if first.measured is not None else None
    notes = list(dict.fromkeys(note for report in reports.values() for note in report.notes))
    return SweepResult(first.model, str(measure_on or "meta"), first.dtype, mode, points, _fits(points), fixed,
                       fixed_from, notes, machine)


def _point(report: Report, shape: tuple[int, ...], batch: int) -> SweepPoint:
    totals, measured = report.totals, report.measured
    return SweepPoint(
        input_size=shape, batch=batch, pixels=math.prod(shape[1:]), macs=totals.macs, flops=totals.flops,
        activation_bytes=totals.activation_bytes, est_peak_inference_bytes=totals.est_peak_inference_bytes,
        est_peak_training_bytes=totals.est_peak_training_bytes,
        resident_bytes=totals.param_bytes + totals.buffer_bytes,
        latency_ms=measured.latency_ms if measured else None,
        latency_iqr_ms=measured.latency_iqr_ms if measured else None,
        throughput_per_s=measured.throughput_per_s if measured else None,
        measured_peak_bytes=measured.measured_peak_bytes if measured else None,
    )


def explain(result: SweepResult) -> list[str]:
    """Plain sentences: how MACs grow with pixels, whether that departs from pixels^1.0, and why."""
    fit = result.fit("macs", "pixels")
    if fit is None:
        return []
    lines = [f"MACs grow as pixels^{fit.exponent:.3f} ({fit.held}); a CNN's convolutions grow as pixels^1.0."]
    at_pixels = [p for p in result.points if p.batch == min(q.batch for q in result.points)]
    smallest, largest = min(at_pixels, key=lambda p: p.pixels), max(at_pixels, key=lambda p: p.pixels)
    share = (f"{smallest.fixed_share:.2%} of the MACs at {shape_text(smallest.input_size)} "
             f"({largest.fixed_share:.2%} at {shape_text(largest.input_size)})")
    if result.fixed_layers:
        types = sorted({layer.type for layer in result.fixed_layers})
        names = ", ".join(layer.name for layer in result.fixed_layers[:4])
        more = f" and {len(result.fixed_layers) - 4} more" if len(result.fixed_layers) > 4 else ""
        where = ""
        if result.fixed_from:
            name, kind, shape = result.fixed_from
            where = f" after {name} ({kind}), whose output is {shape_text(shape)} at every input size"
        fixed_line = (f"{share} are in {len(result.fixed_layers)} layer(s) whose cost does not change with the "
                      f"input size ({', '.join(types)}: {names}{more}){where}.")
    else:
        fixed_line = f"No layer's cost stays fixed as the input grows ({share})."
    lines += [_macs_verdict(fit, result, fixed_line)]
    memory = result.fit("est_peak_inference_bytes", "pixels")
    if memory is not None:
        lines.append(f"Est. peak inference memory grows as pixels^{memory.exponent:.3f}: parameters and buffers "
                     f"({smallest.resident_bytes / 2**20:,.1f} MiB, "
                     f"{smallest.resident_bytes / smallest.est_peak_inference_bytes:.0%} of the peak at "
                     f"{shape_text(smallest.input_size)}) stay the same at every input size.")
    return lines


def _macs_verdict(fit: Fit, result: SweepResult, fixed_line: str) -> str:
    if abs(fit.exponent - 1) <= PROPORTIONAL:
        return f"Proportional to pixels. {fixed_line}"
    if fit.exponent < 1 and result.fixed_layers:
        return f"Departs (below 1) because part of the model costs the same at every input size: {fixed_line}"
    return (f"Departs ({'below' if fit.exponent < 1 else 'above'} 1): not explained by fixed-size layers "
            f"(stride and padding rounding at small inputs, or layers whose cost grows faster than "
            f"the pixels, e.g. attention). {fixed_line}")

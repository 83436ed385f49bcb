"""``compare()``: the same figures for several models side by side, with ratios to a baseline.

Static figures always come from the meta pass of ``profile()`` (deterministic, instant);
a real device adds measured figures from ``cnnstat.analysis.measure``, so a comparison never
mixes two ways of counting. Every static pass runs before any measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from cnnstat.analysis.build import resolve_device
from cnnstat.analysis.records import Machine
from cnnstat.analysis.report import Report, profile
from cnnstat.errors import CnnstatError
from cnnstat.shown import Shown
from cnnstat.figures import keys

STATIC_FIGURES = keys("static")
MEASURED_FIGURES = keys("measured")
"""What a measurement adds, in the key names of the JSON totals."""


def format_options(options: Mapping[str, Any]) -> str:
    """{'k': 3, 'n': 3} -> 'k=3,n=3': the inline syntax the CLI reads back."""
    return ",".join(f"{key}={value}" for key, value in options.items())


@dataclass(frozen=True)
class ModelSpec:
    """A model spec (``cnnstat.zoo.loader``) with options, e.g. ``ModelSpec("block/conv", {"k": 3, "n": 3})``."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None
    """How a table names the row (default: the spec itself)."""

    @property
    def spec(self) -> str:
        """The spec as ``cnnstat compare`` takes it: ``block/conv:k=3,n=3``."""
        return f"{self.name}:{format_options(self.options)}" if self.options else self.name

    @property
    def shown_as(self) -> str:
        return self.label or self.spec


@dataclass(frozen=True)
class ModelFigures:
    """One model's row: what it is, its figures (raw counts and bytes), and ratios to the baseline."""

    label: str
    """The model as the user wrote it (or a study named it)."""
    spec: str
    """The spec resolved: the registered name (an alias resolved) and every option, as ``cnnstat
    compare`` takes it back (``mobilenet_v1`` for ``mobilenet``)."""
    model: str
    """The registered name (an alias resolved), or the spec of a model from outside the zoo."""
    family: str
    """The zoo family; "" for a model from outside the zoo."""
    input_shape: tuple[int, ...]
    """With the batch dimension."""
    output_shape: tuple[int, ...]
    """The first output's shape, with the batch dimension."""
    device: str
    figures: Mapping[str, float | None]
    """None where the analysis could not give a figure (its report's notes say why)."""
    machine: Machine | None = None
    """Where the measured figures were taken; None on meta."""
    ratios: Mapping[str, float | None] = field(default_factory=dict)
    """``figure / baseline's figure`` for every figure both have."""
    spread_warning: str | None = None
    """Set when the measured latency's spread is wide (``cnnstat.analysis.measure.spread_warning``)."""
    contention: str | None = None
    """Set when other load decided the measured latency (``cnnstat.analysis.conditions``)."""
    round_latency_ms: tuple[float, ...] | None = field(default=None, repr=False)
    """The latency of each round of turns: rows measured together pair up round by round."""
    ratio_spreads: Mapping[str, float] = field(default_factory=dict)
    """IQR of a ratio taken round by round (``latency_ms``: each round's latency over the
    baseline's in the same round)."""
    report: Report | None = field(default=None, repr=False, compare=False)
    """The static report behind the figures, for studies that read per-layer records."""

    def to_dict(self) -> dict[str, Any]:
        """One flat JSON object: every figure and ``<figure>_ratio``."""
        return {
            "model": self.label,
            "spec": self.spec,
            "name": self.model,
            "family": self.family,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "device": self.device,
            **(machine_fields(self.machine) if self.machine else {}),
            **self.figures,
            **{f"{key}_ratio": value for key, value in self.ratios.items()},
            **{f"{key}_ratio_iqr": value for key, value in self.ratio_spreads.items()},
            **({"spread_warning": self.spread_warning, "contention": self.contention} if self.machine else {}),
        }


def as_spec(model: str | ModelSpec) -> ModelSpec:
    return model if isinstance(model, ModelSpec) else ModelSpec(model)


def machine_fields(machine: Machine) -> dict[str, Any]:
    """A compared row's measured machine, in the row's own keys (its ``device`` stands apart)."""
    return {"device_name": machine.device_name, "threads": machine.threads, "torch_version": machine.torch_version}


def static_figures(model: str | ModelSpec, input_size: tuple[int, ...] | None = None,
                   batch: int = 1, dtype: str | None = None, inputs: Any = None) -> ModelFigures:
    """A model's row from the static pass on meta: no measured figure yet; ``dtype`` converts the
    model (None keeps its own); ``inputs`` are example inputs as ``profile`` takes them."""
    from cnnstat.zoo.loader import zoo_entry

    spec = as_spec(model)
    entry = zoo_entry(spec.name)
    # The report (and its measurement's warnings) names the model as the user wrote it.
    report = profile(spec.name, input_size, batch=batch, dtype=dtype, options=spec.options, device="meta",
                     name=spec.shown_as, inputs=inputs)
    figures: dict[str, float | None] = {key: getattr(report.totals, key) for key in STATIC_FIGURES}
    resolved = ModelSpec(entry.name, spec.options) if entry else spec
    return ModelFigures(label=spec.shown_as, spec=resolved.spec, model=resolved.name,
                        family=entry.family if entry else "", input_shape=report.input_shape,
                        output_shape=report.layers[0].output_shape or (), device="meta", figures=figures,
                        report=report)


def add_measured(rows: Sequence[ModelFigures], device: str) -> list[ModelFigures]:
    """The rows with their models measured on ``device`` (a real one), timed together in turns (a
    change of load hits them all alike): latency, throughput, peak memory, and where."""
    from cnnstat.analysis.measure import measure_reports

    reports = [row.report for row in rows if row.report is not None]
    measured = measure_reports(reports, resolve_device(device), per_layer=False)
    return [replace(row, figures={**row.figures, **{key: getattr(found, key) for key in MEASURED_FIGURES}},
                    machine=found.machine, spread_warning=found.spread_warning,
                    contention=found.conditions.contention if found.conditions else None,
                    round_latency_ms=found.round_latency_ms, device=device)
            for row, found in zip(rows, measured)]


def figures_of(model: str | ModelSpec, input_size: tuple[int, ...] | None = None, batch: int = 1,
               device: str = "meta") -> ModelFigures:
    row = static_figures(model, input_size, batch)
    return add_measured([row], device)[0] if resolve_device(device).type != "meta" else row


def find_baseline(rows: Sequence[ModelFigures], baseline: str | None) -> ModelFigures:
    """The row named ``baseline`` (by label, spec or registered name); the first when None."""
    if baseline is None:
        return rows[0]
    for row in rows:
        if baseline in (row.label, row.spec, row.model):
            return row
    raise CnnstatError(f"baseline {baseline!r} is not among the compared models: "
                       f"{', '.join(row.label for row in rows)}")


def with_ratios(rows: Sequence[ModelFigures], baseline: str | None = None) -> list[ModelFigures]:
    """Every row with its ratios against the baseline row."""
    base = find_baseline(rows, baseline)
    rows_with_ratios = []
    for row in rows:
        ratios = {key: value / base_value if value is not None and base_value else None
                  for key, value in row.figures.items() for base_value in [base.figures.get(key)]}
        spreads = dict(row.ratio_spreads)
        paired = paired_ratio(row.round_latency_ms, base.round_latency_ms)
        if paired is not None:
            ratios["latency_ms"], spreads["latency_ms"] = paired
        rows_with_ratios.append(replace(row, ratios=ratios, ratio_spreads=spreads))
    return rows_with_ratios


def paired_ratio(rounds: Sequence[float] | None, base_rounds: Sequence[float] | None) -> tuple[float, float] | None:
    """Median and IQR of ``rounds[i] / base_rounds[i]``: latencies timed in the same turns, so
    each round's ratio saw one load; None unless both were timed in the same rounds."""
    if not rounds or not base_rounds or len(rounds) != len(base_rounds):
        return None
    import statistics

    ratios = [value / base for value, base in zip(rounds, base_rounds)]
    if len(ratios) < 2:
        return ratios[0], 0.0
    quartiles = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), quartiles[2] - quartiles[0]


class Comparison(Shown, list):
    """The rows of ``compare``, one ``ModelFigures`` per model: a list that shows itself as
    ``cnnstat compare`` does (``print()``, a notebook, ``to_frame()``)."""


def compare(models: Sequence[str | ModelSpec], input_size: tuple[int, ...] | None = None, batch: int = 1,
            baseline: str | None = None, device: str = "meta", dtype: str | None = None,
            inputs: Any = None) -> Comparison:
    """Figures of every model (each at its own default input unless ``input_size`` or example
    ``inputs`` are given, in its own dtype unless ``dtype`` is), with ratios against ``baseline``
    (default: the first model)."""
    if not models:
        raise CnnstatError("give at least one model to compare")
    rows = [static_figures(model, input_size, batch, dtype, inputs) for model in models]
    find_baseline(rows, baseline)  # a wrong name is refused before minutes of measuring
    if resolve_device(device).type != "meta":
        rows = add_measured(rows, device)
    return Comparison(with_ratios(rows, baseline))

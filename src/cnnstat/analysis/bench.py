"""``bench()``: models timed at several batch sizes on a real device, as ``cnnstat bench`` times
them: every static pass first (a mistake in the last model stops it before any timing), then
every configuration (model x batch) timed in turns (A B A B ...: a change of load hits them
all alike); latency, throughput and peak memory per configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from cnnstat.analysis.report import Report
from cnnstat.analysis.roofline import Roof
from cnnstat.errors import CnnstatError
from cnnstat.shown import Shown


@dataclass(frozen=True, repr=False)  # a short repr and the display methods come from Shown
class BenchResult(Shown):
    """Every configuration of a bench, measured; shows itself as ``cnnstat bench`` does
    (``print()``, a notebook, ``to_frame()``)."""

    reports: tuple[Report, ...]
    """One per model and batch, models outermost; a report the device could not hold keeps its
    static figures and says why in ``not_measured``."""
    device: str
    mode: str
    dtype: str
    """The dtype the models compute in (each model's own unless one was given)."""
    channels_last: bool = False
    compile: bool = False
    optimizer: str | None = None
    roof: Roof | None = None
    """This machine's probed peaks, with ``roofline=True``."""
    peak_fractions: tuple[float | None, ...] | None = None
    """Per report: achieved FLOP/s / the probed peak at its dtype, with ``roofline=True``."""

    @property
    def settings(self) -> dict[str, Any]:
        """How the configurations were run, in the keys of the JSON's ``settings``."""
        return {"device": self.device, "mode": self.mode, "dtype": self.dtype, "channels_last": self.channels_last,
                "compile": self.compile, "optimizer": self.optimizer}

    @property
    def models(self) -> list[str]:
        """The models, once each, as they were given."""
        return list(dict.fromkeys(report.model for report in self.reports))


def bench(models: str | Sequence[str], input_size: Any = None, batches: int | Sequence[int] = 1, *,
          device: str = "auto", mode: str = "eval", dtype: str | None = None, channels_last: bool = False,
          compile: bool = False, threads: int | None = None, min_run_time: float = 1.0, optimizer: str | None = None,
          roofline: bool = False, reprobe: bool = False, inputs: Any = None) -> BenchResult:
    """Time every model at every batch size on ``device`` (``auto``: cuda if present, else cpu,
    and a configuration the device cannot hold keeps its static figures; ``cpu`` or ``cuda``:
    that is an error). ``input_size`` without the batch (default: each model's own);
    ``min_run_time`` seconds of timing per configuration; ``mode="train"`` times a training step
    (with an ``optimizer`` step: ``"sgd"`` or ``"adam"``); ``roofline`` adds the fraction of
    this machine's probed peak FLOP/s (probed once and cached; ``reprobe`` probes again).
    ``inputs``: example inputs instead of ``input_size`` x batch, as ``profile()`` takes them.
    Example: ``cnnstat.bench(["resnet18", "mobilenet_v2"], batches=[1, 8])``."""
    from cnnstat.analysis.build import dtype_name
    from cnnstat.analysis.measure import check_optimizer, pick_device
    from cnnstat.analysis.report import measured_reports, profile
    from cnnstat.analysis.roofline import PROBED_DTYPES, peak_fraction, probe

    names = [models] if isinstance(models, str) else list(models)
    sizes = [batches] if isinstance(batches, int) else list(batches)
    if not names or not sizes:
        raise CnnstatError("give at least one model and one batch size to bench")
    check_optimizer(optimizer, mode)
    measure_on = pick_device(device)
    if measure_on is None:
        raise CnnstatError("bench measures on a real device: auto, cpu or cuda (summary counts on meta)")
    # Every static pass first: a mistake in the last model is reported before any timing starts.
    reports = [profile(model, input_size, batch=size, mode=mode, dtype=dtype, channels_last=channels_last, name=model,
                       inputs=inputs) for model in names for size in sizes]
    computed_in = ", ".join(dict.fromkeys(report.dtype for report in reports))
    probed = [dtype_name(probed) for probed in PROBED_DTYPES]
    if roofline and computed_in not in probed:
        raise CnnstatError(f"--roofline compares with the probed peak of one dtype ({', '.join(probed)}), and these "
                           f"models compute in {computed_in}: give --dtype")
    roof = probe(measure_on, threads, reprobe) if roofline else None
    measured = measured_reports(reports, measure_on, fall_back=device == "auto", optimizer=optimizer, threads=threads,
                                min_run_time=min_run_time * len(reports), per_layer=False, compile=compile)
    return BenchResult(tuple(measured), str(measure_on), mode, computed_in, channels_last, compile, optimizer, roof,
                       tuple(peak_fraction(report, roof) for report in measured) if roof else None)

"""A bench result (``cnnstat.analysis.bench.BenchResult``) -> its rows, view, JSON and
DataFrame: one projection of the same rows for every format."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from cnnstat.figures import group
from cnnstat.frame.view import BenchFacts, ProbedPeak, View
from cnnstat.frame.views import measured_warnings

if TYPE_CHECKING:
    import pandas as pd

    from cnnstat.analysis.bench import BenchResult
    from cnnstat.analysis.report import Report


def bench_row(report: Report, peak_fraction: float | None = None) -> dict[str, Any]:
    """One configuration (model x batch), raw; ``peak_fraction`` of the machine's probed peak
    FLOP/s, with a roofline."""
    row: dict[str, Any] = {"model": report.model, "batch": report.batch, "flops": report.totals.flops,
                           "est_peak_inference_bytes": report.totals.est_peak_inference_bytes,
                           "est_peak_training_bytes": report.totals.est_peak_training_bytes}
    if report.measured is None:
        row["skipped"] = "not measured: the device cannot hold it (static estimate)"
        return row
    row |= report.measured.totals_dict() | {"achieved_flops_per_s": report.achieved_flops_per_s()}
    if peak_fraction is not None:
        row["peak_fraction"] = 100 * peak_fraction
    return row


def bench_rows(result: BenchResult) -> list[dict[str, Any]]:
    fractions = result.peak_fractions or (None,) * len(result.reports)
    return [bench_row(report, fraction) for report, fraction in zip(result.reports, fractions)]


def probed_peak(result: BenchResult) -> ProbedPeak | None:
    roof = result.roof
    return (ProbedPeak(roof.machine.device_name, result.dtype, roof.peak_flops[result.dtype],
                       roof.bandwidth_bytes_per_s) if roof else None)


def bench_view(result: BenchResult) -> View:
    """The table of ``cnnstat bench``: one row per configuration; its CSV."""
    rows = bench_rows(result)
    measured = next((report.measured for report in result.reports if report.measured is not None), None)
    notes = [f"{row['model']} at batch {row['batch']}: {row['skipped']}" for row in rows if row.get("skipped")]
    settings = [f"{key} {value}" for key, value in result.settings.items() if value not in (None, False)]
    peak = probed_peak(result)
    facts = BenchFacts(title=[", ".join(result.models), *settings],
                       machine=measured.machine if measured else None, notes=notes,
                       measured_mode=measured.mode if measured else None, peak=peak,
                       # Each warning names its model and batch already.
                       warnings=[warning for report in result.reports for warning in measured_warnings(report.measured)])
    return View(group("bench", "bench_roofline") if peak else group("bench"), rows, facts)


def bench_json(result: BenchResult) -> dict[str, Any]:
    """What ``--format json`` writes: the settings, the probed machine (with a roofline), the rows."""
    peak = probed_peak(result)
    return {"settings": result.settings, "machine": asdict(peak) if peak else None, "rows": bench_rows(result)}


def bench_frame(result: BenchResult) -> pd.DataFrame:
    """The rows under the CSV's keys, raw numbers."""
    import pandas as pd

    view = bench_view(result)
    return pd.DataFrame(view.rows, columns=[column.key for column in view.columns])

"""The table of `cnnstat bench`: one row per configuration (model x batch)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from cnnstat.frame.columns import Column, figure_columns
from cnnstat.render.table import Table

BENCH_COLUMNS = [
    Column("model", "Model"),
    Column("batch", "Batch", "raw"),
    *figure_columns("latency_ms", "latency_iqr_ms", "throughput_per_s", "measured_peak_bytes"),
    Column("peak_ratio", "Peak / estimate", "ratio"),
    *figure_columns("achieved_flops_per_s"),
]
ROOFLINE_COLUMNS = [Column("peak_fraction", "% of peak FLOP/s", "percent")]


def bench_table(rows: Sequence[Mapping[str, Any]], settings: Mapping[str, Any], machine: Mapping[str, Any] | None) -> Table:
    columns = BENCH_COLUMNS + (ROOFLINE_COLUMNS if machine else [])
    title = "  ".join(f"{key} {value}" for key, value in settings.items() if value not in (None, False))
    footer = []
    measured = next((row for row in rows if row.get("latency_ms") is not None), None)
    if measured:
        footer.append(f"Measured on {measured['device_name']} ({measured['measured_device']}, "
                      f"{measured['threads']} threads, torch {measured['torch_version']}); latency is the median "
                      f"of a {'training step' if measured['measured_mode'] == 'train' else 'forward'}")
    footer += [f"{row['model']} at batch {row['batch']}: {row['skipped']}" for row in rows if row.get("skipped")]
    if machine:
        footer.append(f"Peak of this machine (probed): {machine['peak_flops'] / 1e9:,.1f} GFLOP/s at "
                      f"{machine['dtype']}, memory bandwidth {machine['bandwidth_bytes_per_s'] / 1e9:,.1f} GB/s")
    return Table(columns, [dict(row) for row in rows], title=title, footer=footer)

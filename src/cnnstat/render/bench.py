"""The table of `cnnstat bench`: one row per configuration (model x batch)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from cnnstat.figures import group
from cnnstat.render.table import Table
from cnnstat.render.units import human_bytes, human_flop_rate


def bench_table(rows: Sequence[Mapping[str, Any]], settings: Mapping[str, Any], machine: Mapping[str, Any] | None) -> Table:
    columns = group("bench", "bench_roofline") if machine else group("bench")
    title = "  ".join(f"{key} {value}" for key, value in settings.items() if value not in (None, False))
    footer = []
    measured = next((row for row in rows if row.get("latency_ms") is not None), None)
    if measured:
        footer.append(f"Measured on {measured['device_name']} ({measured['measured_device']}, "
                      f"{measured['threads']} threads, torch {measured['torch_version']}); latency is the median "
                      f"of a {'training step' if measured['measured_mode'] == 'train' else 'forward'}")
    footer += [f"{row['model']} at batch {row['batch']}: {row['skipped']}" for row in rows if row.get("skipped")]
    if machine:
        footer.append(f"Peak of this machine (probed): {human_flop_rate(machine['peak_flops'])} at "
                      f"{machine['dtype']}, memory bandwidth {human_bytes(machine['bandwidth_bytes_per_s'])}/s")
    return Table(columns, [dict(row) for row in rows], title=title, footer=footer)

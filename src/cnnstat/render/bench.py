"""The lines under the table of `cnnstat bench`."""

from __future__ import annotations

from cnnstat.frame.view import BenchFacts, View
from cnnstat.render.machine import machine_line
from cnnstat.render.units import human_bytes, human_flop_rate


def bench_lines(facts: BenchFacts) -> list[str]:
    lines = []
    if facts.machine:
        step = "training step" if facts.measured_mode == "train" else "forward"
        lines.append(f"{machine_line(facts.machine)}; latency is the median of a {step}")
    lines += facts.notes
    peak = facts.peak
    if peak:
        lines.append(f"Peak of this machine (probed): {human_flop_rate(peak.peak_flops)} at "
                     f"{peak.dtype}, memory bandwidth {human_bytes(peak.bandwidth_bytes_per_s)}/s")
    return lines


def bench_page(view: View) -> str:
    """The bench table and its latency and throughput curves on one page (``-o x.html``, and a
    bench result in a notebook)."""
    from cnnstat.render.html import figures_page
    from cnnstat.render.plots import bench_curves

    return figures_page(view, "cnnstat bench: latency and throughput against batch",
                        bench_curves(view, None), charts=False)

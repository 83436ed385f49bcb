"""The lines under the table of `cnnstat bench`."""

from __future__ import annotations

from cnnstat.frame.view import BenchFacts
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


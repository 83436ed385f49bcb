"""The lines under a table, from a view's facts: the figures the rows do not show, notes,
the machine of measured figures (stated the same way by every command) and warnings."""

from __future__ import annotations

from cnnstat.frame.view import Machine, View


def threads_text(threads: int) -> str:
    return f"{threads} thread" + ("" if threads == 1 else "s")


def machine_line(machine: Machine) -> str:
    return (f"Measured on {machine.device_name} ({machine.device}, {threads_text(machine.threads)}, "
            f"torch {machine.torch_version})")


def footer_lines(view: View) -> list[str]:
    from cnnstat.render import bench, summary, sweep

    facts = view.facts
    by_kind = {"summary": summary.summary_lines, "bench": bench.bench_lines, "sweep": sweep.sweep_lines}
    if view.kind in by_kind:
        lines = by_kind[view.kind](facts)
    else:
        lines = [*facts.notes, *([machine_line(facts.machine) + "."] if facts.machine else [])]
    return lines + [f"Warning: {warning}" for warning in facts.warnings]

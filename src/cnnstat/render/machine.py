"""How every command states the machine of measured figures."""

from __future__ import annotations

from cnnstat.analysis.records import Machine


def threads_text(threads: int) -> str:
    return f"{threads} thread" + ("" if threads == 1 else "s")


def machine_line(machine: Machine) -> str:
    return (f"Measured on {machine.device_name} ({machine.device}, {threads_text(machine.threads)}, "
            f"torch {machine.torch_version})")

"""How every command states the machine of measured figures."""

from __future__ import annotations

from cnnstat.analysis.records import Machine


def machine_line(machine: Machine) -> str:
    return (f"Measured on {machine.device_name} ({machine.device}, {machine.threads} threads, "
            f"torch {machine.torch_version})")

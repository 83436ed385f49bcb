"""The roofline: what this machine can do at best, and how close a model or a layer comes.

A probe times a large GEMM (the compute ceiling, per dtype) and a large copy (the memory
bandwidth) once per machine and caches the figures in the user's cache directory; a layer
whose arithmetic intensity (FLOPs per byte of inputs, weights and outputs) is below the
ridge point (peak FLOP/s / bandwidth) is memory-bound, above it compute-bound.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch.utils.benchmark import Timer

from cnnstat.analysis.measure import device_name, using_threads
from cnnstat.analysis.build import dtype_name

PROBE_SECONDS = 0.3
GEMM_SIZE = {"cuda": 8192, "cpu": 1024}
HALF_GEMM_SIZE_CPU = 512
"""fp16/bf16 GEMMs are slow on CPUs without matrix units: a smaller one keeps the probe short."""
COPY_BYTES = {"cuda": 2**30, "cpu": 2**28}
PROBED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@dataclass
class Machine:
    key: str
    device: str
    device_name: str
    threads: int
    torch_version: str
    peak_flops: dict[str, float]
    """FLOP/s of a large matrix multiply, per dtype name."""
    bandwidth_bytes_per_s: float
    """Bytes read plus bytes written per second by a large copy."""

    def ridge(self, dtype: str) -> float:
        """The arithmetic intensity (FLOP/byte) where the memory roof meets the compute roof."""
        return self.peak_flops[dtype] / self.bandwidth_bytes_per_s


def machine_key(device: torch.device, threads: int) -> str:
    return f"{platform.node()} | {device_name(device)} | {device.type} | {threads} threads | torch {torch.__version__}"


def cache_file() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cnnstat")) / "roofline.json"


def _seconds(run, threads: int) -> float:
    return Timer("run()", globals={"run": run}, num_threads=threads).blocked_autorange(
        min_run_time=PROBE_SECONDS).median


def _gemm_flops(device: torch.device, dtype: torch.dtype, threads: int) -> float:
    size = GEMM_SIZE[device.type] if device.type == "cuda" or dtype == torch.float32 else HALF_GEMM_SIZE_CPU
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    return 2 * size**3 / _seconds(lambda: torch.mm(a, b), threads)


def _copy_bandwidth(device: torch.device, threads: int) -> float:
    source = torch.empty(COPY_BYTES[device.type] // 4, device=device, dtype=torch.float32).fill_(1.0)
    target = torch.empty_like(source)
    return 2 * source.nbytes / _seconds(lambda: target.copy_(source), threads)


def probe(device: torch.device, threads: int | None = None, reprobe: bool = False) -> Machine:
    """This machine's compute and bandwidth ceilings, from the cache unless ``reprobe``."""
    with using_threads(threads) as used_threads:
        key = machine_key(device, used_threads)
        path = cache_file()
        cached = _read_cache(path)
        machine = None if reprobe else _valid_machine(cached.get(key), key)
        if machine is not None:
            return machine
        machine = Machine(
            key=key,
            device=str(device),
            device_name=device_name(device),
            threads=used_threads,
            torch_version=torch.__version__,
            peak_flops={dtype_name(dtype): _gemm_flops(device, dtype, used_threads) for dtype in PROBED_DTYPES},
            bandwidth_bytes_per_s=_copy_bandwidth(device, used_threads),
        )
    cached[key] = asdict(machine)
    _write_cache(path, cached)
    return machine


def _read_cache(path: Path) -> dict:
    """The cached machines; an absent, unreadable or malformed file is an empty cache (probed again)."""
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return cached if isinstance(cached, dict) else {}


def _valid_machine(entry, key: str) -> Machine | None:
    """The cached figures of ``key`` if they are whole and of this torch; None means probe again."""
    names = {field.name for field in fields(Machine)}
    if not isinstance(entry, dict) or set(entry) != names or entry["key"] != key:
        return None
    if entry["torch_version"] != torch.__version__ or not isinstance(entry["peak_flops"], dict):
        return None
    ceilings = [entry["peak_flops"].get(dtype_name(dtype)) for dtype in PROBED_DTYPES]
    ceilings.append(entry["bandwidth_bytes_per_s"])
    if not all(isinstance(value, (int, float)) and math.isfinite(value) and value > 0 for value in ceilings):
        return None
    return Machine(**entry)


def _write_cache(path: Path, cached: dict) -> None:
    """Replace the cache file whole (a reader never sees half of it); a cache that cannot be
    written only means probing again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".roofline-")
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(cached, handle, indent=2)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def step_flops(totals, mode: str) -> int:
    """FLOPs of what was timed: a forward, or a training step (forward + backward at 2 FLOPs per MAC)."""
    if mode == "train" and totals.backward_macs is not None:
        return totals.flops + 2 * totals.backward_macs
    return totals.flops


def achieved_flops_per_s(report) -> float | None:
    if report.measured is None:
        return None
    return step_flops(report.totals, report.mode) / (report.measured.latency_ms / 1e3)


def peak_fraction(report, machine: Machine) -> float | None:
    """Achieved FLOP/s of the whole model as a fraction of the probed peak at its dtype."""
    achieved = achieved_flops_per_s(report)
    return achieved / machine.peak_flops[report.dtype] if achieved is not None else None


@dataclass
class LayerRoofline:
    intensity: float
    """FLOPs per byte of inputs, weights and outputs."""
    achieved_flops_per_s: float | None
    bound: str
    """"memory" or "compute"."""


def layer_rooflines(report, machine: Machine) -> list[LayerRoofline | None]:
    """Per row of ``report.layers``: intensity, achieved FLOP/s and bound (None for rows without work)."""
    item = torch.empty((), dtype=getattr(torch, report.dtype)).element_size()
    weights = {layer.name: layer.params for layer in report.layers if layer.call == 0}
    ridge = machine.ridge(report.dtype)
    rows = []
    for layer, latency_ms in zip(report.layers, report.layer_latency_ms()):
        moved = (sum(math.prod(shape) for shape in layer.input_shapes) + weights.get(layer.name, 0)) * item \
            + layer.output_bytes
        if not layer.flops or not moved:
            rows.append(None)
            continue
        intensity = layer.flops / moved
        achieved = layer.flops / (latency_ms / 1e3) if latency_ms else None
        rows.append(LayerRoofline(intensity, achieved, "memory" if intensity < ridge else "compute"))
    return rows


@dataclass
class Roofline:
    """A measured report placed on this machine's roofline."""

    machine: Machine
    dtype: str
    layers: list[LayerRoofline | None]
    """Per row of the report's layers."""
    achieved_flops_per_s: float | None
    """Of the whole model (forward, or training step)."""
    peak_fraction: float | None

    def to_dict(self) -> dict:
        return {"device_name": self.machine.device_name, "threads": self.machine.threads, "dtype": self.dtype,
                "peak_flops_per_s": self.machine.peak_flops[self.dtype],
                "bandwidth_bytes_per_s": self.machine.bandwidth_bytes_per_s,
                "ridge_flop_per_byte": self.machine.ridge(self.dtype),
                "achieved_flops_per_s": self.achieved_flops_per_s, "peak_fraction": self.peak_fraction}


def place_on_roofline(report, machine: Machine) -> Roofline:
    return Roofline(machine, report.dtype, layer_rooflines(report, machine), achieved_flops_per_s(report),
                    peak_fraction(report, machine))

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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch.utils.benchmark import Timer

from cnnstat.analysis.measure import device_name, using_threads
from cnnstat.analysis.build import dtype_name
from cnnstat.analysis.records import LayerRow, Machine, RooflineSummary
from cnnstat.errors import CnnstatError

if TYPE_CHECKING:
    from cnnstat.analysis.report import Report

PROBE_SECONDS = 0.3
GEMM_SIZE = {"cuda": 8192, "cpu": 1024}
HALF_GEMM_SIZE_CPU = 512
"""fp16/bf16 GEMMs are slow on CPUs without matrix units: a smaller one keeps the probe short."""
COPY_BYTES = {"cuda": 2**30, "cpu": 2**28}
PROBED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class Roof:
    """A machine's probed ceilings."""

    key: str
    machine: Machine
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


def _seconds(run: Callable[[], Any], threads: int) -> float:
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


def probe(device: torch.device, threads: int | None = None, reprobe: bool = False) -> Roof:
    """This machine's compute and bandwidth ceilings, from the cache unless ``reprobe``."""
    with using_threads(threads) as used_threads:
        key = machine_key(device, used_threads)
        path = cache_file()
        cached = _read_cache(path)
        roof = None if reprobe else _valid_roof(cached.get(key), key)
        if roof is not None:
            return roof
        roof = Roof(
            key=key,
            machine=Machine(str(device), device_name(device), used_threads, torch.__version__),
            peak_flops={dtype_name(dtype): _gemm_flops(device, dtype, used_threads) for dtype in PROBED_DTYPES},
            bandwidth_bytes_per_s=_copy_bandwidth(device, used_threads),
        )
    cached[key] = asdict(roof)
    _write_cache(path, cached)
    return roof


def _read_cache(path: Path) -> dict[str, Any]:
    """The cached machines; an absent, unreadable or malformed file is an empty cache (probed again)."""
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return cached if isinstance(cached, dict) else {}


def _valid_roof(entry: Any, key: str) -> Roof | None:
    """The cached figures of ``key`` if they are whole and of this torch; None means probe again."""
    if not isinstance(entry, dict) or set(entry) != {"key", "machine", "peak_flops", "bandwidth_bytes_per_s"} \
            or entry["key"] != key or not isinstance(entry["machine"], dict):
        return None
    try:
        machine = Machine(**entry["machine"])
    except TypeError:
        return None
    if machine.torch_version != torch.__version__ or not isinstance(entry["peak_flops"], dict):
        return None
    ceilings = [entry["peak_flops"].get(dtype_name(dtype)) for dtype in PROBED_DTYPES]
    ceilings.append(entry["bandwidth_bytes_per_s"])
    if not all(isinstance(value, (int, float)) and math.isfinite(value) and value > 0 for value in ceilings):
        return None
    return Roof(key, machine, entry["peak_flops"], entry["bandwidth_bytes_per_s"])


def _write_cache(path: Path, cached: dict[str, Any]) -> None:
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


def peak_fraction(report: Report, roof: Roof) -> float | None:
    """Achieved FLOP/s of the whole model as a fraction of the probed peak at its dtype."""
    achieved = report.achieved_flops_per_s()
    return achieved / roof.peak_flops[report.dtype] if achieved is not None else None


def _on_roofline(row: LayerRow, weights: int, item: int, ridge: float) -> LayerRow:
    """The row with its intensity, achieved FLOP/s and bound (unchanged for a row without work)."""
    moved = (sum(math.prod(shape) for shape in row.input_shapes) + weights) * item + row.activation_bytes
    if not row.flops or not moved:
        return row
    intensity = row.flops / moved
    achieved = row.flops / (row.latency_ms / 1e3) if row.latency_ms else None
    return replace(row, intensity_flop_per_byte=intensity, achieved_flops_per_s=achieved,
                   bound="memory" if intensity < ridge else "compute")


def place_on_roofline(report: Report, roof: Roof) -> Report:
    """A measured report with every row and the whole model placed on ``roof``."""
    achieved = report.achieved_flops_per_s()
    if achieved is None:
        raise CnnstatError(f"{report.model} was not measured: no achieved FLOP/s to place on the roofline")
    item = torch.empty((), dtype=getattr(torch, report.dtype)).element_size()
    weights = {row.name: row.params for row in report.layers if row.call == 0}
    ridge = roof.ridge(report.dtype)
    rows = tuple(_on_roofline(row, weights.get(row.name, 0), item, ridge) for row in report.layers)
    summary = RooflineSummary(roof.machine, report.dtype, roof.peak_flops[report.dtype], roof.bandwidth_bytes_per_s,
                              achieved, achieved / roof.peak_flops[report.dtype])
    return replace(report, layers=rows, roofline=summary)

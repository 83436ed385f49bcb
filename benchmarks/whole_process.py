"""Speed targets of whole commands, timed as whole processes in pairs (A B A B ...) against a
yardstick, so a change of the machine's speed hits both sides of each pair.

    python benchmarks/whole_process.py static      # at most 1.2x `python -c "import torch"`
    python benchmarks/whole_process.py main-job    # within 5 s on a quiet 2-core machine
    python benchmarks/whole_process.py list        # at most 0.2x `python -c "import torch"`
    python benchmarks/whole_process.py torchinfo   # at most 1/10 of torchinfo.summary's time, 1 GiB peak

Each prints the median wall time of both commands, their peak resident memory, and the ratio
A/B pair by pair (median, min, max), with the machine's load average before and after: on a
shared machine the ratio holds better than either time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
IMPORT_TORCH = [sys.executable, "-c", "import torch"]
STATIC = ["summary", "resnet50", "--device", "meta", "--batch", "32", "--input", "3x512x512"]


@dataclass(frozen=True)
class Target:
    command: list[str]
    yardstick: list[str]
    runs: int
    goal: str


TARGETS = {
    "static": Target([str(BIN / "cnnstat"), *STATIC], IMPORT_TORCH, 10, "median ratio at most 1.2x"),
    "main-job": Target([str(BIN / "cnnstat"), "summary", "resnet50"], IMPORT_TORCH, 5,
                       "cnnstat within 5 s on a quiet machine"),
    "list": Target([str(BIN / "cnnstat"), "list"], IMPORT_TORCH, 10, "median ratio at most 0.2x"),
    "torchinfo": Target([str(BIN / "cnnstat"), *STATIC, "--format", "json", "-o", os.devnull],
                        [sys.executable, str(Path(__file__).with_name("torchinfo_resnet50.py"))], 3,
                        "median ratio at most 0.1x, cnnstat's peak at most 1 GiB"),
}


@dataclass(frozen=True)
class Run:
    wall_s: float
    peak_mib: float


def timed(command: list[str]) -> Run:
    """One run: wall time, and the process's own peak resident memory from its rusage."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} exited {os.waitstatus_to_exitcode(status)}")
    return Run(wall, usage.ru_maxrss / 1024)


def spread(values: list[float], unit: str) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):.2f}{unit} (min {ordered[0]:.2f}, max {ordered[-1]:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--runs", type=int, help="pairs to time (default: the target's)")
    args = parser.parse_args()
    target = TARGETS[args.target]
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    timed(target.command), timed(target.yardstick)  # warm-up: the file cache
    pairs = [(timed(target.command), timed(target.yardstick)) for _ in range(args.runs or target.runs)]
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for name, runs in ((" ".join(target.command[1:]) or target.command[0], [a for a, _ in pairs]),
                       (" ".join(target.yardstick[1:]), [b for _, b in pairs])):
        print(f"{name}: wall {spread([run.wall_s for run in runs], ' s')}; "
              f"peak {max(run.peak_mib for run in runs):.0f} MiB")
    print(f"ratio, pair by pair: {spread([a.wall_s / b.wall_s for a, b in pairs], 'x')}; target: {target.goal}")


if __name__ == "__main__":
    main()

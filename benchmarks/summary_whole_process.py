"""The README's main job against `import torch`, whole process, in pairs (A B A B ...).

Target: `cnnstat summary resnet50` (static pass, measured latency per layer, peak memory, table)
within 5 s on a quiet 2-core machine; it took 6.3 s, 3.1x `python -c "import torch"`.
The machine's load average is printed before and after: on a shared machine the ratio, taken
pair by pair, holds better than either time.

    python benchmarks/summary_whole_process.py [--runs 5] [-- extra summary arguments]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def wall_seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("extra", nargs="*", help="more arguments for cnnstat summary")
    args = parser.parse_args()
    summary = [str(BIN / "cnnstat"), "summary", "resnet50", *args.extra]
    baseline = [sys.executable, "-c", "import torch"]
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    wall_seconds(summary), wall_seconds(baseline)  # warm-up: file cache
    pairs = [(wall_seconds(summary), wall_seconds(baseline)) for _ in range(args.runs)]
    ratios = sorted(a / b for a, b in pairs)
    a_times, b_times = sorted(a for a, _ in pairs), sorted(b for _, b in pairs)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{' '.join(summary[1:])}: median {statistics.median(a_times):.2f} s (min {a_times[0]:.2f}, max {a_times[-1]:.2f})")
    print(f"import torch: median {statistics.median(b_times):.2f} s (min {b_times[0]:.2f}, max {b_times[-1]:.2f})")
    print(f"ratio, pair by pair: median {statistics.median(ratios):.2f}x (min {ratios[0]:.2f}, max {ratios[-1]:.2f}); "
          f"target: within 5 s on a quiet machine")


if __name__ == "__main__":
    main()

"""Latency on an idle and on a loaded CPU: cnnstat's measurement (default threads) against
``torch.utils.benchmark.Timer`` at 1 thread and at every core, with and without one process
that keeps a core busy beside it. On a loaded machine cnnstat should choose fewer threads, or
say that other load decided its figure (the contention line).

    python benchmarks/busy_cpu.py [--model resnet18] [--min-run-time 1]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

import torch
from torch.utils.benchmark import Timer

from cnnstat.analysis.measure import measure_report
from cnnstat.analysis.report import profile

CPU = torch.device("cpu")


@contextlib.contextmanager
def one_busy_core(busy: bool):
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        time.sleep(0.3 if busy else 0)
        yield
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--min-run-time", type=float, default=1.0)
    args = parser.parse_args()
    report = profile(args.model)
    model = report.recipe.build(CPU).eval()
    x = report.recipe.inputs(CPU)

    def forward():
        with torch.no_grad():
            model(*x)

    cores = os.cpu_count() or 1
    for busy in (False, True):
        with one_busy_core(busy):
            load = os.getloadavg()[0]
            timer_ms = {threads: Timer("forward()", globals={"forward": forward}, num_threads=threads)
                        .blocked_autorange(min_run_time=args.min_run_time).median * 1e3 for threads in (1, cores)}
            measured = measure_report(report, CPU, min_run_time=args.min_run_time, per_layer=False)
        conditions = measured.conditions
        print(f"{'one more core kept busy' if busy else 'as found'} (load average {load:.2f}, {cores} cores): Timer "
              f"{timer_ms[1]:.2f} ms at 1 thread, {timer_ms[cores]:.2f} ms at {cores}; cnnstat {measured.latency_ms:.2f} ms "
              f"(IQR {measured.latency_iqr_ms:.2f}) at {measured.machine.threads} thread(s), CPU share {conditions.cpu_share:.0%}, "
              f"other load {conditions.other_load_cores:.1f} cores")
        print(f"  contention line: {conditions.contention}")


if __name__ == "__main__":
    main()

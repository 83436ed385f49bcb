"""Targets of the measured pass, on CPU (figures, not unit tests: timings are too noisy for those).

1. resnet18, batch 1: cnnstat's end-to-end latency within 5% of a direct
   torch.utils.benchmark measurement of the same model in the same run; per-layer latencies
   (leaf modules) summing to within 10% of the end-to-end latency; hook overhead <= 5%.
2. Static peak-memory estimate within 15% of the measured peak for resnet18, resnet50, vgg16
   and mobilenet_v2 at batch 1 and 16, eval and train.

    python benchmarks/measure_latency.py [--min-run-time 2] [--threads N] [--skip-memory]
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torch.utils.benchmark import Timer

from cnnstat.analysis.build import build_model
from cnnstat.analysis.measure import make_step, measure_report, static_peak_bytes, step_peak_bytes
from cnnstat.analysis.report import profile

MEMORY_MODELS = ("resnet18", "resnet50", "vgg16", "mobilenet_v2")
CPU = torch.device("cpu")


def latency_targets(min_run_time: float, threads: int, rounds: int) -> None:
    report = profile("resnet18")
    model = build_model("resnet18", device=CPU).eval()
    x = torch.randn(report.input_shape)

    def direct() -> float:
        def forward():
            with torch.no_grad():
                model(x)
        return Timer("forward()", globals={"forward": forward}, num_threads=threads).blocked_autorange(
            min_run_time=min_run_time).median * 1e3

    direct()  # warm-up
    ours, theirs, leaf_sums, overheads = [], [], [], []
    for _ in range(rounds):  # interleaved, so that a burst of other load hits both sides
        measured = measure_report(report, CPU, threads=threads, min_run_time=2 * min_run_time)
        theirs.append(direct())
        ours.append(measured.latency_ms)
        leaf_sums.append(sum(ms for ms, layer in zip(measured.layer_latency_ms, report.layers) if layer.is_leaf))
        overheads.append(measured.hook_overhead)
        print(f"  round: cnnstat {measured.latency_ms:.3f} ms  direct {theirs[-1]:.3f} ms  hooked "
              f"{measured.hooked_latency_ms:.3f} ms  leaf sum {leaf_sums[-1]:.3f} ms  IQR {measured.latency_iqr_ms:.3f} ms")
    e2e, reference = statistics.median(ours), statistics.median(theirs)
    leaf = statistics.median(leaf_sums)
    overhead = statistics.median(overheads)
    print(f"resnet18 batch 1, CPU, {threads} threads, torch {torch.__version__}, medians of {rounds} rounds")
    print(f"  end-to-end latency: cnnstat {e2e:.3f} ms, direct Timer {reference:.3f} ms, ratio {e2e / reference:.3f} "
          f"(target within 5%: {'ok' if abs(e2e / reference - 1) <= 0.05 else 'MISSED'})")
    print(f"  per-layer sum (leaves) {leaf:.3f} ms = {leaf / e2e:.3f} of end-to-end "
          f"(target within 10%: {'ok' if abs(leaf / e2e - 1) <= 0.10 else 'MISSED'})")
    print(f"  hook overhead {overhead:+.1%} (target <= 5%: {'ok' if overhead <= 0.05 else 'MISSED'})")


def memory_targets(batches: list[int]) -> None:
    print(f"{'model':<14}{'batch':>6}{'mode':>7}{'estimate MiB':>14}{'measured MiB':>14}{'ratio':>8}")
    worst = 1.0
    for name in MEMORY_MODELS:
        for batch in batches:
            for mode in ("eval", "train"):
                report = profile(name, batch=batch, mode=mode)
                model = build_model(name, device=CPU).train(mode == "train")
                inputs = (torch.randn(report.input_shape),)
                step = make_step(model, inputs, mode, None)
                step()  # warm-up, as the measured pass does
                peak = step_peak_bytes(model, inputs, step, CPU)
                estimate = static_peak_bytes(report.totals, mode, None)
                ratio = peak / estimate
                worst = max(worst, abs(ratio - 1) + 1)
                print(f"{name:<14}{batch:>6}{mode:>7}{estimate / 2**20:>14.1f}{peak / 2**20:>14.1f}{ratio:>8.3f}"
                      f"{'' if abs(ratio - 1) <= 0.15 else '  MISSED (target within 15%)'}")
                del model, inputs, step
    print(f"largest deviation of measured/estimate from 1: {worst - 1:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-run-time", type=float, default=2.0, help="seconds per direct timing")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    if not args.skip_latency:
        latency_targets(args.min_run_time, args.threads, args.rounds)
    if not args.skip_memory:
        memory_targets([int(b) for b in args.batches.split(",")])


if __name__ == "__main__":
    main()

"""Per-module cost of the static pass: cnnstat.profile of an nn.Sequential of 10,000
Linear(4, 4) on meta (eval figures plus the training pass cnnstat always runs).
Target: under 5 s (was 29 s, 2.7 ms per module call).

    PYTHONPATH=src python benchmarks/many_modules.py [modules] [repeats]
    PYTHONPATH=src python benchmarks/many_modules.py 2000 1 --profile   # cProfile's top functions
"""

import cProfile
import pstats
import statistics
import sys
import time

from torch import nn

import cnnstat


def main() -> None:
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    modules = int(arguments[0]) if arguments else 10_000
    repeats = int(arguments[1]) if len(arguments) > 1 else 3
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(modules)])
    cnnstat.profile(nn.Sequential(nn.Linear(4, 4)), input_size=(4,))  # imports and first-call setup
    if "--profile" in sys.argv:
        cProfile.runctx("cnnstat.profile(model, input_size=(4,))", globals(), locals(), "/tmp/many_modules.prof")
        pstats.Stats("/tmp/many_modules.prof").sort_stats("tottime").print_stats(25)
        return
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        report = cnnstat.profile(model, input_size=(4,))
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    assert report.totals.macs == 16 * modules
    # CPU time as well as wall time: on a shared machine the wall time counts other processes' turns.
    print(f"{modules} x Linear(4, 4): profile() median {statistics.median(times):.2f} s wall, "
          f"{statistics.median(cpu_times):.2f} s CPU over {repeats} (wall min {min(times):.2f}, max {max(times):.2f}); "
          f"{1e3 * statistics.median(times) / modules:.3f} ms a module")


if __name__ == "__main__":
    main()

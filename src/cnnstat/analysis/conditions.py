"""The conditions a CPU timing ran under, and whether other load decided it.

torch's OpenMP threads spin at every barrier: when another process holds one of the cores
they need, each op waits for the descheduled thread, and a forward can run 20 times slower
with 2 threads than with 1, with a tight, consistent spread that looks trustworthy. What
tells it apart is the CPU time the process actually got while it ran: its CPU seconds over
the wall seconds times its threads (a share of 1 means every thread ran all the time), and
the CPU seconds the rest of the machine used meanwhile (Linux's ``/proc/stat``).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

CONTENDED_SHARE = 0.8
"""Below this share of the CPU time its threads need, the process was held back by other load."""
BUSY_CORE = 0.5
"""Another process's use of a core counts as busy from this fraction of it."""


@dataclass(frozen=True)
class CpuClock:
    """One reading of the clocks that tell how the CPU was shared since an earlier reading."""

    wall_s: float
    process_cpu_s: float
    """CPU seconds of this process, all threads together."""
    machine_busy_s: float | None
    """CPU seconds every core of the machine spent busy (not idle, not waiting on I/O); None
    where ``/proc/stat`` cannot be read."""


def machine_busy_seconds() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait; guest time is already inside user time
        busy = sum(fields[:8]) - idle
        return busy / os.sysconf("SC_CLK_TCK")
    return None


def read_clock() -> CpuClock:
    return CpuClock(time.perf_counter(), time.process_time(), machine_busy_seconds())


def cores() -> int:
    """The cores this process may run on (its affinity, where the platform says)."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def other_load_cores(start: CpuClock, end: CpuClock) -> float | None:
    """Cores that other processes kept busy, on average, between two readings."""
    wall = end.wall_s - start.wall_s
    if start.machine_busy_s is None or end.machine_busy_s is None or wall <= 0:
        return None
    others = (end.machine_busy_s - start.machine_busy_s) - (end.process_cpu_s - start.process_cpu_s)
    return max(0.0, others / wall)


def idle_cores(since: CpuClock) -> int:
    """Cores left idle by other processes since ``since`` (at least 1)."""
    others = other_load_cores(since, read_clock())
    busy = 0 if others is None else int(others + 1 - BUSY_CORE)  # 0.4 of a core leaves it idle, 0.6 takes it
    return max(1, cores() - busy)


def cpu_mhz() -> float | None:
    """The mean current clock of the cores, where the kernel shows it (cpufreq, else /proc/cpuinfo)."""
    readings = []
    for cpu in range(os.cpu_count() or 1):
        with contextlib.suppress(OSError, ValueError):
            with open(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq") as freq:
                readings.append(int(freq.read()) / 1e3)
    if not readings:
        with contextlib.suppress(OSError, ValueError):
            with open("/proc/cpuinfo") as cpuinfo:
                readings = [float(line.split(":", 1)[1]) for line in cpuinfo if line.startswith("cpu MHz")]
    return sum(readings) / len(readings) if readings else None


@dataclass(frozen=True)
class Conditions:
    """What decided a CPU timing, read over the timed runs."""

    threads: int
    cores: int
    """Cores the process may run on."""
    cpu_share: float
    """CPU seconds the process got / (wall seconds x threads) over the timed runs: 1.0 when
    every thread ran all the time; lower when other load held the threads back (or they slept)."""
    other_load_cores: float | None
    """Cores kept busy by other processes, on average, over the timed runs (None where the
    platform does not say)."""
    cpu_mhz: float | None
    """Mean clock of the cores when timing ended (None where not readable)."""
    single_thread_ms: float | None = None
    """Median of the same step on 1 thread, timed where contention was seen (else None)."""
    contention: str | None = None
    """One line when other load decided the latency, with the remedy; None on a fair share."""

    @property
    def contended(self) -> bool:
        """Whether other load held the process back: much less CPU than its threads need while
        other processes were busy (threads that sleep, in a forward of mostly Python, also lower
        the share: the other load tells the two apart where the platform shows it)."""
        others_busy = self.other_load_cores is None or self.other_load_cores >= BUSY_CORE
        return self.cpu_share < CONTENDED_SHARE and others_busy

    def needs_single_thread_probe(self) -> bool:
        """Several threads, held back or more than the cores other load left idle: 1 thread may be faster."""
        oversubscribed = (self.other_load_cores is not None
                          and self.other_load_cores + self.threads > self.cores + BUSY_CORE)
        return self.threads > 1 and (self.contended or oversubscribed)


def conditions_over(start: CpuClock, end: CpuClock, threads: int) -> Conditions:
    wall = end.wall_s - start.wall_s
    share = (end.process_cpu_s - start.process_cpu_s) / (wall * threads) if wall > 0 else 1.0
    return Conditions(threads=threads, cores=cores(), cpu_share=share, other_load_cores=other_load_cores(start, end),
                      cpu_mhz=cpu_mhz())


def contention_line(conditions: Conditions, latency_ms: float, what: str) -> str | None:
    """The warning a contended timing carries, with its remedy; None when the process got its share
    and 1 thread was not faster."""
    faster_alone = conditions.single_thread_ms is not None and conditions.single_thread_ms < latency_ms
    if not (conditions.contended or faster_alone):
        return None
    others = ("" if conditions.other_load_cores is None
              else f" while other processes kept {conditions.other_load_cores:.1f} of {conditions.cores} cores busy")
    got = f"the process got {conditions.cpu_share:.0%} of the CPU time its {conditions.threads} thread" \
          f"{'s' if conditions.threads > 1 else ''} needed{others}"
    if faster_alone:
        return (f"{what}: contention: {got}, and 1 thread ran the step in {conditions.single_thread_ms:,.3f} ms against "
                f"{latency_ms:,.3f} ms with {conditions.threads}: this latency is the busy machine's; "
                f"rerun with --threads 1 (or on an idle machine)")
    remedy = "rerun with --threads 1 or on an idle machine" if conditions.threads > 1 else "rerun on an idle machine"
    return f"{what}: contention: {got}: this latency is the busy machine's; {remedy}"

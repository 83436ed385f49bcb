"""The measured pass: latency and peak memory of a real model on CPU or CUDA.

End-to-end latency is the median (and IQR) over blocks of runs, as
``torch.utils.benchmark`` reports it, with at least ``MIN_RUNS`` blocks however long one
forward takes. Per-layer latency comes from forward pre/post hooks on every module:
``perf_counter`` on CPU; on CUDA a pair of events per call, read after one synchronisation
per forward (a synchronize per module would serialise the GPU). Plain and hooked forwards
are timed in turns, so that load on the machine falls on both alike; the model's own row is
the hooked forward, and the hooks' overhead is its slowdown over the plain one, shown only
where the hooked forward is the slower.

Peak memory: on CUDA the caching allocator's ``max_memory_allocated``; on CPU the
allocator's own record of every allocation and free (``torch.profiler`` with
``profile_memory=True``) added to the bytes already resident, so the figure is independent
of the static lifetime estimate it is compared with.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import math
import os
import platform
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, ContextManager, Iterator, Sequence, cast

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from cnnstat.analysis.build import resolve_device
from cnnstat.analysis.conditions import Conditions, CpuClock, conditions_over, contention_line, idle_cores, read_clock
from cnnstat.analysis.preserve import left_as_found, random_state_kept
from cnnstat.analysis.profiler import _loss as loss_of
from cnnstat.analysis.records import Machine, Measured
from cnnstat.errors import CnnstatError, OutOfMemory

OPTIMIZERS = ("sgd", "adam")
MEASURE_DEVICES = ("auto", "cpu", "cuda", "meta")
WIDE_SPREAD = 0.10
"""Relative IQR above which a latency is flagged as noisy."""
MIN_RUNS = 5
"""The fewest timed blocks a median is taken over, however long one forward takes."""
TIGHT_SPREAD = 0.03
"""Relative IQR at or below which timing stops before its run time is spent: more blocks would
not move a median that tight."""
PROBE_RUNS = 3
"""Blocks of the 1-thread probe that a contended timing is checked against."""
BLOCK_SECONDS = {"cpu": 1e-4, "cuda": 1e-3}
"""The least work in one timed block: a clock read (CPU) or a synchronisation (CUDA) is about 1% of
it or less. No longer than that (one forward, where a forward takes longer): a long block is
likelier to span a preemption by other load, which inflates the median where it should be an
outlier, and a block of hooked forwards (slower) would be hit more often than a plain one."""


# -- devices and memory --------------------------------------------------------------------

def pick_device(device: str) -> torch.device | None:
    """'auto' -> cuda when present, else cpu; 'meta' -> None (nothing to measure)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = resolve_device(device)
    if resolved.type not in ("cpu", "cuda", "meta"):
        raise CnnstatError(f"cannot measure on {device!r}; use {', '.join(MEASURE_DEVICES)}")
    return None if resolved.type == "meta" else resolved


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "cpu"


def free_bytes(device: torch.device) -> int | None:
    """Memory the device can still give (CUDA: free device memory; CPU: MemAvailable)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def check_fits(estimate: int | None, device: torch.device, what: str,
               refusal: type[OutOfMemory] = OutOfMemory) -> None:
    """Refuse up front (``refusal``) a run whose static peak estimate exceeds the device's free memory."""
    free = free_bytes(device)
    if estimate is not None and free is not None and estimate > free:
        raise refusal(what, str(device), estimate, free)


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    message = str(error)
    return isinstance(error, RuntimeError) and ("out of memory" in message or "DefaultCPUAllocator" in message)


@contextlib.contextmanager
def out_of_memory_as_error(device: torch.device, what: str) -> Iterator[None]:
    try:
        yield
    except (RuntimeError, MemoryError) as error:
        if not (isinstance(error, MemoryError) or is_out_of_memory(error)):
            raise
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise OutOfMemory(what, str(device)) from None


@contextlib.contextmanager
def using_threads(threads: int | None) -> Iterator[int]:
    """Run with ``threads`` intra-op threads (default: torch's, i.e. every core) and restore."""
    before = torch.get_num_threads()
    if threads is not None:
        cpus = os.cpu_count() or 1
        if not 1 <= threads <= cpus:  # torch.set_num_threads(65536) crashes the process
            raise CnnstatError(f"threads must be between 1 and {cpus} (this machine's CPUs), got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def _storages(tensors) -> dict[int, int]:
    return {id(t.untyped_storage()): t.untyped_storage().nbytes()
            for t in tensors if isinstance(t, torch.Tensor) and t.device.type != "meta"}


def resident_tensors(model: nn.Module, inputs: tuple, optimizer: torch.optim.Optimizer | None) -> list:
    """Tensors alive across steps: parameters, buffers, gradients, inputs and optimizer state."""
    params = list(model.parameters())
    tensors = [*params, *model.buffers(), *(p.grad for p in params if p.grad is not None), *tree_leaves(inputs)]
    if optimizer is not None:
        tensors += tree_leaves(list(optimizer.state.values()))
    return tensors


def peak_memory(run: Callable[[], Any], device: torch.device, resident: list) -> int:
    """Peak bytes of live tensors during ``run()``; ``resident`` are those alive before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        run()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device)
    return sum(_storages(resident).values()) + max([0, *cpu_live_bytes(run)])


def cpu_live_bytes(run: Callable[[], Any]) -> list[int]:
    """The bytes ``run()`` holds on the CPU after each of its allocations and frees, in order,
    from the allocator's own record (``torch.autograd.profiler`` with ``profile_memory``)."""
    # The autograd profiler that torch.profiler.profile wraps: the wrapper's first session asks
    # `hasattr(torch, "_inductor")`, which imports the compiler stack (1.4 s of CPU) to read one setting.
    from torch.autograd.profiler import profile

    # libkineto prints profiler_start/stop lines on stderr at every session unless told not to
    # (read when a session starts); a level the user set is kept.
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    with profile(use_cpu=True, profile_memory=True, use_kineto=True) as prof:
        run()
    # Raw allocator records (prof.events() folds them into the ops that made them, hiding peaks inside an op).
    records = sorted((event.start_ns(), event.nbytes()) for event in prof.kineto_results.events()
                     if event.name() == "[memory]" and event.device_type() == torch.autograd.DeviceType.CPU)
    return list(itertools.accumulate(nbytes for _start, nbytes in records))


def resident_bytes(model: nn.Module, inputs: tuple, optimizer: torch.optim.Optimizer | None) -> int:
    """Bytes of the tensors alive across steps (``resident_tensors``), each storage once."""
    return sum(_storages(resident_tensors(model, inputs, optimizer)).values())


def step_peak_bytes(model: nn.Module, inputs: tuple, step: Callable[[], Any], device: torch.device,
                    optimizer: torch.optim.Optimizer | None = None) -> int:
    """Peak bytes of one ``step()``, run after a warm-up step (lazy state already allocated)."""
    # The CPU profiler misses frees of blocks allocated before it started: drop the old
    # gradients first, so that the step's own allocations are all it sees.
    model.zero_grad(set_to_none=True)
    return peak_memory(step, device, resident_tensors(model, inputs, optimizer))


# -- timing ---------------------------------------------------------------------------------

def time_in_turns(steps: Sequence[tuple[Callable[[], Any], Callable[[], ContextManager]]],
                  min_run_time: float, block_seconds: float,
                  min_runs: int = MIN_RUNS) -> list["torch.utils.benchmark.Measurement"]:
    """Median and IQR of each ``(step, around)``: a block of each step in turn (A B A B ...),
    entered in ``around()`` (set-up kept out of the time), so that a change of load falls on every
    step alike. Every step gets ``min_runs`` blocks; timing then goes on until ``min_run_time``
    has passed, or stops sooner once every step's spread is tight (IQR within ``TIGHT_SPREAD`` of
    its median), as ``torch.utils.benchmark.Timer.adaptive_autorange`` stops. That Timer times one
    statement at a time (no turns) and ends after one block of a forward longer than its budget,
    hence this loop; the statistics and the synchronising clock are its."""
    from torch.utils.benchmark import Measurement, TaskSpec, timer  # imported here: the static path never times

    def block(step: Callable[[], Any], around: Callable[[], ContextManager], number: int) -> float:
        collecting = gc.isenabled()
        gc.disable()  # as timeit does: a collection would land in whichever block allocated last
        try:
            with around():
                start = timer()
                for _ in range(number):
                    step()
                return timer() - start
        finally:
            if collecting:
                gc.enable()

    # One call of each, timed, sets each step's own number of calls per block; where that number
    # is 1 (a step longer than a block), the call is the first block.
    firsts = [block(step, around, 1) for step, around in steps]
    numbers = [max(1, round(block_seconds / max(first, 1e-9))) for first in firsts]
    times: list[list[float]] = [[first] if number == 1 else [] for first, number in zip(firsts, numbers)]

    def measurements() -> list[Measurement]:
        return [Measurement(number, step_times, TaskSpec(stmt="step()", setup=""))
                for number, step_times in zip(numbers, times)]

    started = time.perf_counter()
    while True:
        for (step, around), number, step_times in zip(steps, numbers, times):
            step_times.append(block(step, around, number))
        if min(len(step_times) for step_times in times) < min_runs:
            continue
        if time.perf_counter() - started >= min_run_time:
            break
        if all(relative_spread(measurement) <= TIGHT_SPREAD for measurement in measurements()):
            break
    return measurements()


def relative_spread(measurement) -> float:
    return measurement.iqr / measurement.median if measurement.median else 0.0


def per_call_seconds(measurement) -> list[float]:
    """Each block's time per call, in the order the blocks ran (one per round of turns)."""
    return [block / measurement.number_per_run for block in measurement.raw_times]


def spread_warning(measurement, what: str) -> str | None:
    relative = relative_spread(measurement)
    if relative <= WIDE_SPREAD:
        return None
    return (f"{what}: latency spread is wide (IQR {relative:.0%} of the median over {len(measurement.times)} "
            f"blocks); other load on the machine? a longer run or fewer threads steadies it")


class LayerTimer:
    """Forward pre/post hooks on every module that time each call; ``medians_ms()`` gives the
    median per call position over all forwards seen (the position order is ``Report.layers``)."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.model = model
        self.cuda = device.type == "cuda"
        self.samples: list[list[float]] = []
        self._open: list[list] = []
        self._stack: list[int] = []
        self._handles: list = []

    def __enter__(self) -> "LayerTimer":
        for module in self.model.modules():
            self._handles.append(module.register_forward_pre_hook(self._pre))
            self._handles.append(module.register_forward_hook(self._post))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _now(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def _pre(self, module, args) -> None:
        self._stack.append(len(self._open))
        self._open.append([None, None])
        self._open[-1][0] = self._now()  # last, so the hook's own work stays outside the span

    def _post(self, module, args, output) -> None:
        end = self._now()
        self._open[self._stack.pop()][1] = end
        if not self._stack:
            self._close_forward()

    def _close_forward(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()
            durations = [start.elapsed_time(end) for start, end in self._open]
        else:
            durations = [(end - start) * 1e3 for start, end in self._open]
        self._open.clear()
        if len(self.samples) != len(durations):
            if self.samples:  # the call sequence changed between forwards: positions no longer align
                raise CnnstatError("the model called its modules in a different order on different forwards; "
                                   "per-layer latency is undefined")
            self.samples = [[] for _ in durations]
        for samples, duration in zip(self.samples, durations):
            samples.append(duration)

    def reset(self) -> None:
        self.samples = []

    def medians_ms(self) -> list[float]:
        return [float(torch.tensor(samples).median()) for samples in self.samples]


# -- one measured run -------------------------------------------------------------------------

def check_optimizer(name: str | None, mode: str) -> None:
    """Refuse an optimizer step the run would not take (unknown name, or no training step)."""
    if name is None:
        return
    if name not in OPTIMIZERS:
        raise CnnstatError(f"unknown optimizer {name!r}; choose {' or '.join(OPTIMIZERS)}")
    if mode != "train":
        raise CnnstatError("an optimizer step needs the train mode")


def make_optimizer(name: str | None, model: nn.Module) -> torch.optim.Optimizer | None:
    if name is None:
        return None
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise CnnstatError(f"an optimizer step ({name}) needs trainable parameters, and the model has none")
    return torch.optim.SGD(params, lr=1e-3, momentum=0.9) if name == "sgd" else torch.optim.Adam(params, lr=1e-3)


def make_step(model: nn.Module, inputs: tuple, mode: str, optimizer: torch.optim.Optimizer | None) -> Callable[[], None]:
    """One inference forward (no_grad) or one training step (forward, backward, optimizer step)."""
    if mode == "eval":
        def forward() -> None:
            with torch.no_grad():
                model(*inputs)
        return forward

    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss = loss_of(model(*inputs))
        if loss is not None:
            loss.backward()
        if optimizer is not None:
            optimizer.step()
    return step


@dataclass
class Subject:
    """One model to measure, beside others timed in the same turns."""

    model: nn.Module
    inputs: tuple
    name: str | None = None
    """How messages name it (default: its class)."""
    est_peak_bytes: int | None = None
    """The static estimate its peak is compared with."""

    @property
    def device(self) -> torch.device:
        tensors = [t for t in tree_leaves(self.inputs) if isinstance(t, torch.Tensor)]
        return tensors[0].device if tensors else next(self.model.parameters()).device

    @property
    def batch(self) -> int:
        tensors = [t for t in tree_leaves(self.inputs) if isinstance(t, torch.Tensor)]
        return int(tensors[0].shape[0]) if tensors and tensors[0].dim() else 1

    @property
    def what(self) -> str:
        return self.name or type(self.model).__name__


def measure(model: nn.Module, inputs: tuple, *, mode: str = "eval", optimizer: str | None = None,
            threads: int | None = None, min_run_time: float = 1.0, per_layer: bool = True,
            est_peak_bytes: int | None = None, name: str | None = None) -> Measured:
    """Time ``model(*inputs)`` (eval) or one training step (train) where the model and the
    inputs live, and measure its peak memory. In eval the model is left as found (``left_as_found``:
    hooks removed, flags and anything the forward caches restored); a train step is real (gradients, BN statistics and,
    with an optimizer, the weights change). ``threads`` None: torch's, but no more than the
    cores other load leaves idle (a thread that has to share a core stalls all the others)."""
    return measure_in_turns([Subject(model, inputs, name, est_peak_bytes)], mode=mode, optimizer=optimizer,
                            threads=threads, min_run_time=min_run_time, per_layer=per_layer)[0]


MIN_LOAD_WINDOW = 0.1
"""Seconds of other processes' CPU use read before choosing the default threads."""


def default_threads(since: CpuClock) -> int:
    """torch's threads, but no more than the cores other load left idle since ``since``."""
    waited = time.perf_counter() - since.wall_s
    if waited < MIN_LOAD_WINDOW:  # too short a window to see other load in
        time.sleep(MIN_LOAD_WINDOW - waited)
    return min(torch.get_num_threads(), idle_cores(since))


def _turns(subjects: Sequence[Subject], steps: Sequence[Callable[[], Any]], mode: str, device: torch.device,
           per_layer: bool) -> tuple[list[tuple[Callable[[], Any], Callable[[], ContextManager]]], list[LayerTimer]]:
    """What ``time_in_turns`` runs: each subject's step and, with ``per_layer``, after it its
    forward under a ``LayerTimer`` (the timers come back with the turns)."""
    turns: list[tuple[Callable[[], Any], Callable[[], ContextManager]]] = []
    layer_timers = []
    for subject, step in zip(subjects, steps):
        turns.append((step, contextlib.nullcontext))
        if per_layer:
            layer_timer = LayerTimer(subject.model, device)
            forward = (make_step(subject.model, subject.inputs, "eval", None) if mode == "eval"
                       else functools.partial(subject.model, *subject.inputs))
            turns.append((forward, functools.partial(lambda timer: timer, layer_timer)))
            layer_timers.append(layer_timer)
    return turns, layer_timers


@random_state_kept()  # a dropout, a random input: the caller's generators are not advanced
def measure_in_turns(subjects: Sequence[Subject], *, mode: str = "eval", optimizer: str | None = None,
                     threads: int | None = None, min_run_time: float = 1.0, per_layer: bool = True,
                     since: CpuClock | None = None) -> list[Measured]:
    """Measure every subject as ``measure`` does one, timing all of them in turns (a block of
    each in turn), so that a change of load on the machine hits every model alike and their
    ratios hold. ``since``: when the caller began (the load since then sets the default
    threads). On the CPU the conditions of the timing are read over the timed runs; where other
    load held the threads back, a 1-thread probe of each step says whether fewer threads
    would be faster, and each result carries the contention line."""
    check_optimizer(optimizer, mode)
    if not (math.isfinite(min_run_time) and min_run_time > 0):
        raise CnnstatError(f"the minimum run time must be a positive number of seconds, got {min_run_time}")
    since = since or read_clock()
    device = subjects[0].device
    modes = {module: module.training for subject in subjects for module in subject.model.modules()}
    optimizers = [make_optimizer(optimizer, subject.model) for subject in subjects]
    steps = [make_step(subject.model, subject.inputs, mode, torch_optimizer)
             for subject, torch_optimizer in zip(subjects, optimizers)]
    if threads is None and device.type == "cpu":
        threads = default_threads(since)
    # On the CPU without an optimizer the first step's peak is the steady one (checked on the
    # zoo's CNNs): the profiled step is the warm-up. The optimizer's state is made by its first step.
    peak_warms_up = device.type == "cpu" and optimizer is None
    try:
        with contextlib.ExitStack() as stack:
            used_threads = stack.enter_context(using_threads(threads))
            stack.enter_context(out_of_memory_as_error(device, ", ".join(subject.what for subject in subjects)))
            if mode == "eval":
                for subject in subjects:
                    stack.enter_context(left_as_found(subject.model))
            for subject in subjects:  # not model.train(): a model may define its own train(loader)
                for module in subject.model.modules():
                    module.training = mode == "train"
            peaks: list[int] = []
            for subject, step, torch_optimizer in zip(subjects, steps, optimizers):
                if peak_warms_up:
                    peaks.append(step_peak_bytes(subject.model, subject.inputs, step, device, torch_optimizer))
                else:
                    step()  # first run: lazy inits (cuDNN, optimizer state) stay out of the timing and the peak
            turns, layer_timers = _turns(subjects, steps, mode, device, per_layer)
            started = read_clock()
            timed = time_in_turns(turns, min_run_time, BLOCK_SECONDS[device.type])
            conditions = conditions_over(started, read_clock(), used_threads) if device.type == "cpu" else None
            plains = timed[::2] if per_layer else timed
            probes: list = [None] * len(subjects)
            if conditions is not None and conditions.needs_single_thread_probe():
                with using_threads(1):
                    probes = time_in_turns([(step, contextlib.nullcontext) for step in steps], 0.0,
                                           BLOCK_SECONDS[device.type], min_runs=PROBE_RUNS)
            if not peak_warms_up:
                peaks = [step_peak_bytes(subject.model, subject.inputs, step, device, torch_optimizer)
                         for subject, step, torch_optimizer in zip(subjects, steps, optimizers)]
    finally:
        for module, training in modes.items():
            module.training = training
    results = []
    for index, (subject, plain, probe, peak) in enumerate(zip(subjects, plains, probes, peaks)):
        layers = layer_timers[index].medians_ms() if per_layer else None
        hooked = timed[2 * index + 1] if per_layer else None
        overhead = hooked.median / plain.median - 1 if hooked is not None and mode == "eval" else None
        latency_ms = plain.median * 1e3
        found = None
        if conditions is not None:
            found = replace(conditions, single_thread_ms=probe.median * 1e3 if probe is not None else None)
            found = replace(found, contention=contention_line(found, latency_ms, subject.what))
        results.append(Measured(
            machine=Machine(str(device), device_name(device), used_threads, torch.__version__),
            mode=mode,
            optimizer=optimizer,
            batch=subject.batch,
            latency_ms=latency_ms,
            latency_iqr_ms=plain.iqr * 1e3,
            runs=len(plain.raw_times) * plain.number_per_run,
            throughput_per_s=subject.batch / plain.median,
            measured_peak_bytes=peak,
            est_peak_bytes=subject.est_peak_bytes,
            layer_latency_ms=tuple(layers) if layers is not None else None,
            hooked_latency_ms=layers[0] if layers else None,
            hook_overhead=overhead if overhead is not None and overhead > 0 else None,
            spread_warning=spread_warning(plain, subject.what),
            round_latency_ms=tuple(seconds * 1e3 for seconds in per_call_seconds(plain)),
            conditions=found,
        ))
    return results


def static_peak_bytes(totals, mode: str, optimizer: str | None) -> int | None:
    """The static estimate a measured peak is compared with: inference, or training step plus optimizer state."""
    if mode == "eval":
        return totals.est_peak_inference_bytes
    return {None: totals.est_peak_training_bytes, "sgd": totals.est_peak_training_sgd_bytes,
            "adam": totals.est_peak_training_adam_bytes}[optimizer]


def measure_report(report, device: torch.device, *, optimizer: str | None = None, threads: int | None = None,
                   min_run_time: float = 1.0, per_layer: bool = True, compile: bool = False) -> Measured:
    """Build the model of a static ``Report`` again (its ``recipe``) on ``device`` and measure it at the
    report's input, batch, dtype, layout and mode. Refuses up front what the device cannot hold, by the
    static estimate where it is validated (``Report.memory_validated``)."""
    return measure_reports([report], device, optimizer=optimizer, threads=threads, min_run_time=min_run_time,
                           per_layer=per_layer, compile=compile)[0]


def check_report_fits(report, device: torch.device, optimizer: str | None, beside: int = 0) -> int | None:
    """Refuse (``OutOfMemory``) a report's run that the device cannot hold beside ``beside`` bytes,
    by the static estimate where it is validated; returns the estimate."""
    estimate = static_peak_bytes(report.totals, report.mode, optimizer)
    if report.memory_validated and estimate is not None:  # an estimate off by up to 2x decides nothing
        check_fits(estimate + beside, device, f"{report.model} at batch {report.batch}")
    return estimate


@random_state_kept()  # building the model and its inputs draws random numbers
def measure_reports(reports, device: torch.device, *, optimizer: str | None = None, threads: int | None = None,
                    min_run_time: float = 1.0, per_layer: bool = True, compile: bool = False) -> list[Measured]:
    """``measure_report`` of several reports (of one mode), their models built together and timed in
    turns (``measure_in_turns``). Each must fit the device beside the others' parameters and inputs."""
    since = read_clock()
    resident = [report.totals.param_bytes + report.totals.buffer_bytes + report.totals.input_bytes
                for report in reports]
    subjects = []
    for index, report in enumerate(reports):
        estimate = check_report_fits(report, device, optimizer, beside=sum(resident) - resident[index])
        what = f"{report.model} at batch {report.batch}"
        with out_of_memory_as_error(device, what):
            model = report.recipe.build(device)
            inputs = report.recipe.inputs(device)
        subjects.append(Subject(cast(nn.Module, torch.compile(model)) if compile else model, inputs, what, estimate))
    modes = {report.mode for report in reports}
    if len(modes) != 1:
        raise CnnstatError(f"reports measured together need one mode, got {', '.join(sorted(modes))}")
    return measure_in_turns(subjects, mode=modes.pop(), optimizer=optimizer, threads=threads,
                            min_run_time=min_run_time, per_layer=per_layer and not compile, since=since)

"""The measured pass: structure, units, hooks and memory. No timing is asserted (a shared
2-core machine is too noisy for that); benchmarks/measure_latency.py holds the timing targets."""

import contextlib
import itertools
import json
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from cnnstat.analysis.conditions import CONTENDED_SHARE, Conditions, contention_line, cores
from cnnstat.analysis.measure import (MIN_RUNS, LayerTimer, OutOfMemory, check_fits, is_out_of_memory, measure,
                                      measure_report, pick_device, using_threads)
from cnnstat.analysis.report import measured_report, profile
from cnnstat.errors import CnnstatError
from tests.conftest import run_cli

CPU = torch.device("cpu")
QUICK = 0.02
"""Seconds of timing per measurement: enough to exercise the code, not to be accurate."""


def tiny_convnet() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


def snapshot(model: nn.Module) -> dict:
    return {key: value.clone() for key, value in model.state_dict().items()}


def test_eval_measurement_has_every_figure_in_its_unit():
    model = tiny_convnet().eval()
    result = measure(model, (torch.randn(4, 3, 16, 16),), min_run_time=QUICK)
    assert result.batch == 4 and result.mode == "eval" and result.machine.device == "cpu"
    assert result.latency_ms > 0 and result.latency_iqr_ms >= 0 and result.runs >= 1
    assert result.throughput_per_s == pytest.approx(4 / (result.latency_ms / 1e3))
    assert result.machine.threads == torch.get_num_threads()
    assert result.machine.torch_version == torch.__version__
    # One latency per module call, parents first: the root includes its children.
    assert len(result.layer_latency_ms) == len(list(model.modules()))
    assert all(ms > 0 for ms in result.layer_latency_ms)
    assert result.layer_latency_ms[0] >= max(result.layer_latency_ms[1:])
    # The model's own row is the hooked forward; the overhead is shown only where it was measured slower.
    assert result.hooked_latency_ms == result.layer_latency_ms[0]
    assert result.hook_overhead is None or result.hook_overhead > 0
    assert result.measured_peak_bytes > sum(p.numel() * 4 for p in model.parameters())


class Sleeps(nn.Module):
    """A forward that takes the next of ``seconds`` (cycling): time without compute."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = itertools.cycle(seconds)

    def forward(self, x):
        time.sleep(next(self.seconds))
        return x


def test_a_forward_longer_than_the_budget_is_still_a_median_of_several():
    result = measure(Sleeps([0.03]), (torch.zeros(1),), min_run_time=0.01)
    assert result.runs >= MIN_RUNS and result.latency_ms >= 30
    assert len(result.layer_latency_ms) == 1 and result.layer_latency_ms[0] >= 30


def test_hook_overhead_is_measured_where_hooks_dominate():
    """Two hundred modules that do nothing: the hooks' perf_counter calls are most of the hooked forward."""
    result = measure(nn.Sequential(*[nn.Identity() for _ in range(200)]), (torch.zeros(1),), min_run_time=QUICK)
    assert result.hook_overhead is not None and result.hook_overhead > 0.5
    assert result.hooked_latency_ms == result.layer_latency_ms[0] > result.latency_ms


def test_a_wide_spread_is_flagged():
    """Forwards of 2 to 32 ms in turn, one per block (the budget is under a tenth of any)."""
    result = measure(Sleeps([0.002, 0.004, 0.008, 0.016, 0.032]), (torch.zeros(1),), min_run_time=0.01, per_layer=False)
    assert result.runs >= MIN_RUNS and "latency spread is wide" in result.spread_warning


def test_compare_and_bench_results_carry_the_spread_warning(monkeypatch):
    from cnnstat.analysis import measure as measure_module
    from cnnstat.analysis.compare import figures_of

    monkeypatch.setattr(measure_module, "WIDE_SPREAD", -1.0)  # every spread counts as wide
    assert "latency spread is wide" in figures_of("cifar_lenet", device="cpu").to_dict()["spread_warning"]
    bench = run_cli("bench", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.01", "--format", "json")
    assert "latency spread is wide" in json.loads(bench.stdout)["rows"][0]["spread_warning"], bench.stderr


def test_measurement_leaves_the_model_as_found():
    model = tiny_convnet().train()
    before = snapshot(model)
    measure(model, (torch.randn(2, 3, 16, 16),), min_run_time=QUICK)
    assert model.training
    assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())
    after = snapshot(model)
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_threads_are_used_and_restored():
    before = torch.get_num_threads()
    other = 2 if before == 1 else 1
    result = measure(tiny_convnet().eval(), (torch.randn(1, 3, 8, 8),), threads=other, min_run_time=QUICK,
                     per_layer=False)
    assert result.machine.threads == other and result.layer_latency_ms is None
    assert torch.get_num_threads() == before


def test_layer_timer_removes_its_hooks_even_on_error():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(5, 5))
    with pytest.raises(RuntimeError), LayerTimer(model, CPU):
        model(torch.randn(1, 4))
    assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())


@pytest.mark.parametrize("model", ["cifar_resnet20", "cifar_lenet"])
@pytest.mark.parametrize("mode, optimizer", [("eval", None), ("train", None), ("train", "adam")])
def test_static_peak_within_15_percent_of_measured_peak(model, mode, optimizer):
    report = profile(model, batch=2, mode=mode)
    result = measure_report(report, CPU, optimizer=optimizer, min_run_time=QUICK, per_layer=False)
    assert result.est_peak_bytes is not None
    assert result.peak_ratio == pytest.approx(1.0, abs=0.15)


def vgg_stem() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(32, 32, 3, padding=1),
                         nn.ReLU(inplace=True), nn.MaxPool2d(2))


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
def test_static_peak_counts_the_cpu_convolution_workspace(channels_last):
    """A VGG stem peaks inside its second convolution, where oneDNN holds a reordered copy of
    an NCHW input beside the output (without that rule, measured/estimate is x1.5); a
    channels_last run makes no copy."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    report = profile(vgg_stem(), (3, 64, 64), batch=4, channels_last=channels_last)
    model = vgg_stem().eval().to(memory_format=layout)
    inputs = (torch.randn(4, 3, 64, 64).contiguous(memory_format=layout),)
    result = measure(model, inputs, min_run_time=QUICK, per_layer=False,
                     est_peak_bytes=report.totals.est_peak_inference_bytes)
    assert result.peak_ratio == pytest.approx(1.0, abs=0.05)


def test_per_layer_latency_lines_up_with_the_report_and_reaches_json():
    report = measured_report(profile("cifar_lenet", batch=2), CPU, min_run_time=QUICK)
    data = report.to_dict()
    assert len(report.measured.layer_latency_ms) == len(report.layers)
    assert data["totals"]["latency_ms"] == report.measured.latency_ms
    for key in ("latency_iqr_ms", "throughput_per_s", "measured_peak_bytes", "threads", "device_name",
                "torch_version"):
        assert key in data["totals"]
    assert all(layer["latency_ms"] > 0 for layer in data["layers"])
    assert [row.latency_ms for row in report.layers] == list(report.measured.layer_latency_ms)
    assert report.layers[0].latency_pct == 100  # the model's own row: the hooked forward, whole


def test_optimizer_needs_train_mode():
    with pytest.raises(CnnstatError, match="needs the train mode"):
        measure(tiny_convnet(), (torch.randn(1, 3, 8, 8),), optimizer="sgd", min_run_time=QUICK)


def test_a_real_out_of_memory_becomes_a_clear_error():
    class Exhausted(nn.Module):
        def forward(self, x):
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    with pytest.raises(OutOfMemory, match="Exhausted ran out of memory on cpu$"):
        measure(Exhausted(), (torch.randn(1, 3),), min_run_time=QUICK)
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_an_estimate_over_free_memory_is_refused_up_front():
    with pytest.raises(OutOfMemory, match="static estimate"):
        check_fits(2**62, CPU, "huge")
    check_fits(1, CPU, "tiny")


def test_device_choice():
    assert pick_device("meta") is None
    assert pick_device("cpu") == CPU
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_cuda_measurement(mode):
    report = profile("cifar_lenet", batch=8, mode=mode)
    result = measure_report(report, torch.device("cuda"), min_run_time=QUICK)
    assert result.device.startswith("cuda") and result.latency_ms > 0
    assert len(result.layer_latency_ms) == len(report.layers)
    assert result.peak_ratio == pytest.approx(1.0, abs=0.5)  # cuDNN workspaces are outside the static estimate


# -- the command line --------------------------------------------------------------------------

def test_summary_on_cpu_shows_measured_columns():
    result = run_cli("summary", "cifar_lenet", "--device", "cpu", "--min-run-time", "0.05", check=True)
    assert "Latency (ms)" in result.stdout and "Measured peak" in result.stdout


def test_explicit_device_refuses_what_it_cannot_hold(tmp_path):
    target = tmp_path / "out.json"
    result = run_cli("summary", "vgg16", "--batch", "100000", "--device", "cpu", "--format", "json", "-o", str(target))
    assert result.returncode == 2 and "smaller --batch or --device meta" in result.stderr
    assert "Traceback" not in result.stderr and not target.exists() and not result.stdout


def test_auto_device_falls_back_to_the_static_table():
    result = run_cli("summary", "vgg16", "--batch", "100000", "--format", "json")
    assert result.returncode == 0 and "static" in result.stderr
    assert '"latency_ms"' not in result.stdout


def test_cuda_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run_cli("summary", "cifar_lenet", "--device", "cuda")
    assert result.returncode == 2 and "CUDA" in result.stderr and "Traceback" not in result.stderr


# -- roofline and bench --------------------------------------------------------------------------

def test_machine_probe_is_cached_until_reprobed(quick_probe):
    first = quick_probe.probe(CPU, threads=1)
    assert set(first.peak_flops) == {"float32", "float16", "bfloat16"}
    assert first.bandwidth_bytes_per_s > 0 and first.machine.threads == 1
    assert quick_probe.probe(CPU, threads=1) == first
    assert quick_probe.probe(CPU, threads=1, reprobe=True).peak_flops != first.peak_flops


def test_layer_roofline(quick_probe):
    measured = measured_report(profile("cifar_lenet", batch=2), CPU, min_run_time=QUICK)
    roof = quick_probe.probe(CPU, threads=1)
    report = quick_probe.place_on_roofline(measured, roof)
    assert measured.roofline is None and report.roofline is not None  # a new report; the measured one stands
    conv = next(row for row in report.layers if row.name == "conv1")
    moved = (2 * 3 * 32 * 32 + 8 * 3 * 5 * 5 + 8) * 4 + 2 * 8 * 28 * 28 * 4  # input, weight and bias, output
    assert conv.intensity_flop_per_byte == pytest.approx(conv.flops / moved)
    assert conv.achieved_flops_per_s == pytest.approx(conv.flops / (conv.latency_ms / 1e3))
    assert conv.bound == ("memory" if conv.intensity_flop_per_byte < roof.ridge("float32") else "compute")
    assert 0 < quick_probe.peak_fraction(report, roof) == report.roofline.peak_fraction


def test_bench_rows_in_json(tmp_path):
    import json

    target = tmp_path / "bench.json"
    run_cli("bench", "cifar_lenet", "--batch", "1,2", "--device", "cpu", "--min-run-time", "0.02", "--format", "json",
            "-o", str(target), check=True)
    rows = json.loads(target.read_text())["rows"]
    assert [(row["model"], row["batch"]) for row in rows] == [("cifar_lenet", 1), ("cifar_lenet", 2)]
    assert all(row["latency_ms"] > 0 and row["measured_peak_bytes"] > 0 and row["achieved_flops_per_s"] > 0
               for row in rows)


def test_bench_refuses_meta():
    result = run_cli("bench", "cifar_lenet", "--device", "meta")
    assert result.returncode == 2 and "real device" in result.stderr


@pytest.mark.parametrize("threads", [0, 65536])
def test_thread_counts_outside_the_machine_are_refused_before_torch_sees_them(threads):
    before = torch.get_num_threads()
    with pytest.raises(CnnstatError, match="threads must be between 1 and"):
        with using_threads(threads):
            pass
    assert torch.get_num_threads() == before


@contextlib.contextmanager
def cpu_burners(count: int):
    """``count`` processes that keep a core busy each, for as long as the block runs."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.2)  # started and spinning before the measurement reads the load
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


@pytest.mark.skipif(cores() < 2, reason="contention needs two cores to share: this machine has one")
def test_contention_beside_a_cpu_burner_is_reported_with_its_remedy():
    """Every core kept busy by another process while 2 threads time a convolution: the process
    gets well under the CPU its threads need, and the result says so, with the remedy."""
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1)).eval()
    with cpu_burners(cores()):
        result = measure(model, (torch.randn(2, 3, 48, 48),), threads=2, min_run_time=0.3, per_layer=False)
        chosen = measure(model, (torch.randn(2, 3, 48, 48),), min_run_time=QUICK, per_layer=False)
    conditions = result.conditions
    # Two burners and two timing threads share two cores: the burners get about one core between them.
    assert conditions.threads == 2 and conditions.other_load_cores >= 0.75
    assert conditions.cpu_share < CONTENDED_SHARE
    assert conditions.single_thread_ms > 0  # the 1-thread probe ran
    assert "contention" in conditions.contention and "--threads 1" in conditions.contention
    assert result.totals_dict()["contention"] == conditions.contention  # the JSON carries it
    assert chosen.machine.threads == 1  # the default: no more threads than the cores left idle


def test_a_fair_share_is_not_contention():
    fair = Conditions(threads=2, cores=2, cpu_share=0.97, other_load_cores=0.1, cpu_mhz=None)
    assert contention_line(fair, 10.0, "m") is None and not fair.needs_single_thread_probe()
    # Threads asleep in a forward of mostly Python also lower the share: with no other load that is no contention.
    asleep = Conditions(threads=2, cores=2, cpu_share=0.5, other_load_cores=0.0, cpu_mhz=None)
    assert contention_line(asleep, 10.0, "m") is None
    # 1 thread faster than 2: said even where the share looked fair.
    faster = Conditions(threads=2, cores=2, cpu_share=0.9, other_load_cores=1.0, cpu_mhz=None, single_thread_ms=4.0)
    assert "1 thread ran the step in 4.000 ms against 10.000 ms with 2" in contention_line(faster, 10.0, "m")

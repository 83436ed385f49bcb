"""--plot on summary, compare, sweep and bench: PNG or SVG by extension, mistakes exit 2 with no file."""

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TINY = ("resnet18", "--input", "3x32x32")


def test_summary_plots_per_layer_bars(invoke, tmp_path):
    result = invoke("summary", *TINY, "--device", "meta", "--plot", str(tmp_path / "macs.png"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "macs.png").read_bytes().startswith(PNG_SIGNATURE)
    result = invoke("summary", *TINY, "--device", "meta", "--plot", str(tmp_path / "memory.svg"),
                    "--plot-metric", "memory")
    assert result.exit_code == 0, result.output
    assert "<svg" in (tmp_path / "memory.svg").read_text()


def test_summary_roofline_and_latency_on_cpu(invoke, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the probe's cache stays in the test
    for metric in ("roofline", "latency"):
        result = invoke("summary", *TINY, "--device", "cpu", "--min-run-time", "0.05", "--format", "json",
                        "--plot", str(tmp_path / f"{metric}.png"), "--plot-metric", metric)
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"{metric}.png").read_bytes().startswith(PNG_SIGNATURE)


def test_compare_sweep_and_bench_plot(invoke, tmp_path):
    commands = {"compare.svg": ("compare", "resnet18", "mobilenet_v2", "--device", "meta"),
                "sweep.png": ("sweep", "resnet18", "--input", "3x32x32,3x64x64", "--batch", "1,2"),
                "bench.png": ("bench", "block/conv", "--batch", "1,2", "--device", "cpu", "--min-run-time", "0.05")}
    for name, args in commands.items():
        result = invoke(*args, "--plot", str(tmp_path / name))
        assert result.exit_code == 0, result.output
    assert "<svg" in (tmp_path / "compare.svg").read_text()
    assert (tmp_path / "sweep.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (tmp_path / "bench.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("command", [("summary", *TINY, "--device", "meta"), ("compare", "resnet18", "--device", "meta"),
                                     ("sweep", "resnet18", "--input", "3x32x32,3x64x64", "--batch", "1"),
                                     ("bench", "block/conv", "--device", "cpu")])
def test_bad_plot_paths_exit_2_before_any_work(invoke, tmp_path, command):
    for plot, message in ((tmp_path / "figure.pdf", "unknown extension"),
                          (tmp_path / "missing" / "figure.png", "does not exist")):
        result = invoke(*command, "--plot", str(plot), "-o", str(tmp_path / "table.txt"))
        assert result.exit_code == 2 and message in result.stderr
    assert not list(tmp_path.iterdir())  # neither the table nor a figure


def test_latency_plot_needs_a_measurement(invoke, tmp_path):
    result = invoke("summary", *TINY, "--device", "meta", "--plot", str(tmp_path / "l.png"), "--plot-metric", "latency")
    assert result.exit_code == 2 and "--device cpu or cuda" in result.stderr
    assert not list(tmp_path.iterdir())

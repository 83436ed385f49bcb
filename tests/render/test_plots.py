"""Every plot kind renders to PNG and SVG from plain data (no torch in render)."""

import pandas as pd
import pytest

from cnnstat.errors import CnnstatError
from cnnstat.figures import group
from cnnstat.analysis.records import Fit
from cnnstat.frame.view import BenchFacts, SweepFacts, View
from cnnstat.render import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

LAYERS = pd.DataFrame({
    "name": ["", "conv1", "relu", "fc"], "type": ["Net", "Conv2d", "ReLU", "Linear"], "call": [0, 0, 0, 0],
    "is_leaf": [False, True, True, True], "macs": [1_100_000, 1_000_000, 0, 100_000],
    "activation_bytes": [0, 4 << 20, 4 << 20, 4000], "latency_ms": [2.0, 1.5, 0.2, 0.1],
})
SWEEP = View(group("sweep"),
             [{"input_size": [3, size, size], "batch": batch, "pixels": size * size, "macs": batch * size**2 * 1000,
               "est_peak_inference_bytes": (50 << 20) + batch * size**2 * 64,
               "est_peak_training_bytes": (100 << 20) + batch * size**2 * 256}
              for size in (64, 128) for batch in (1, 4)],
             SweepFacts(title=["net", "sweep", "float32", "eval", "device meta"],
                        fits=[Fit("macs", "pixels", "batch 1", 1.0, 2)]))
BENCH = View(group("bench"), [{"model": model, "batch": batch, "latency_ms": scale * batch, "throughput_per_s": 1e3 / scale}
                              for model, scale in (("a", 2.0), ("b", 5.0)) for batch in (1, 2, 4)],
             BenchFacts(title=["bench"], measured_mode=None, peak=None))
ROOF_LAYERS = [{"name": "conv1", "type": "Conv2d", "flops": 2e9, "intensity": 40.0, "achieved_flops_per_s": 8e10},
               {"name": "relu", "type": "ReLU", "flops": 1e6, "intensity": 0.12, "achieved_flops_per_s": 5e8}]
COMPARE = pd.DataFrame({"model": ["a", "b"], "params": [1_000_000, 3_000_000], "macs": [2e9, 1e9],
                        "est_peak_inference_bytes": [10 << 20, 30 << 20], "est_peak_training_bytes": [None, 90 << 20]})

KINDS = {
    "layer_macs": lambda path: plots.layer_bars(LAYERS, plots.MACS, "net", path),
    "layer_memory": lambda path: plots.layer_bars(LAYERS, plots.OUTPUT_MEMORY, "net", path),
    "layer_latency": lambda path: plots.layer_bars(LAYERS, plots.LATENCY, "net", path),
    "roofline": lambda path: plots.roofline_plot(ROOF_LAYERS, 1e11, 2e10, "net on cpu", path),
    "compare": lambda path: plots.study_bars(COMPARE, "a vs b", path, plots.COMPARE_FIGURES),
    "sweep": lambda path: plots.sweep_curves(SWEEP, path),
    "bench": lambda path: plots.bench_curves(BENCH, path),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_png_and_svg(kind, tmp_path):
    KINDS[kind](tmp_path / "figure.png")
    KINDS[kind](tmp_path / "figure.SVG")
    assert (tmp_path / "figure.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "<svg" in (tmp_path / "figure.SVG").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.SVG", "figure.png"]  # no temporary left


def test_layer_bars_show_the_largest_first(tmp_path):
    plots.layer_bars(LAYERS, plots.MACS, "net", tmp_path / "bars.svg", top=1)
    svg = (tmp_path / "bars.svg").read_text()
    assert "conv1" in svg and "fc  Linear" not in svg and "91% of the MACs" in svg


@pytest.mark.parametrize("name", ["figure.pdf", "figure", "figure.png.txt"])
def test_unknown_extension_is_refused(name, tmp_path):
    with pytest.raises(CnnstatError, match="use .png or .svg"):
        plots.check_plot_path(tmp_path / name)


def test_unwritable_path_is_refused_and_leaves_nothing(tmp_path):
    with pytest.raises(CnnstatError, match="does not exist"):
        KINDS["bench"](tmp_path / "missing" / "figure.png")
    assert not list(tmp_path.iterdir())

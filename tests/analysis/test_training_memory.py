"""Per-layer training memory: what each module call leaves for the backward, and its gradients,
held to closed forms and to the model's totals."""

from cnnstat.analysis import profile


def test_saved_and_gradient_bytes_per_layer_in_closed_form():
    report = profile("resnet18", batch=2, mode="train")
    rows = {row.name: row.counted for row in report.layers}
    # conv1's output (2x64x112x112 float32) stays for bn1's backward; max pooling keeps its output
    # and its int64 indices (the next conv's input and the pool's backward).
    assert rows["conv1"].own_saved_bytes == 2 * 64 * 112 * 112 * 4
    assert rows["maxpool"].own_saved_bytes == 2 * 64 * 56 * 56 * (4 + 8)
    assert rows["conv1"].grad_bytes == 64 * 3 * 7 * 7 * 4 and rows["fc"].grad_bytes == (512 * 1000 + 1000) * 4
    # The parts add up to the model's totals.
    root = report.layers[0]
    assert root.saved_for_backward_bytes == report.totals.saved_for_backward_bytes == sum(
        row.counted.own_saved_bytes for row in report.layers)
    assert root.grad_bytes == report.totals.grad_bytes
    assert report.layers[[row.name for row in report.layers].index("layer1")].saved_for_backward_bytes == sum(
        row.counted.own_saved_bytes for row in report.layers if row.name == "layer1" or row.name.startswith("layer1."))
    # An eval report's counting records carry the training pass's figures too.
    eval_rows = {row.name: row.counted for row in profile("resnet18", batch=2).layers}
    assert eval_rows["conv1"].own_saved_bytes == rows["conv1"].own_saved_bytes


def test_the_timeline_peaks_at_the_training_estimate_and_the_measured_one_follows_it():
    import pytest
    import torch

    from cnnstat.analysis.timeline import memory_timeline

    report = profile("cifar_resnet20", batch=4, mode="train")
    timeline = memory_timeline(report, torch.device("cpu"))
    assert max(timeline.live_bytes) == report.totals.est_peak_training_bytes
    assert 0 < timeline.backward_from < timeline.peak_index < len(timeline.live_bytes)
    assert timeline.peak_layer.startswith("layer3")
    assert max(timeline.measured_live_bytes) == pytest.approx(max(timeline.live_bytes), rel=0.05)
    # Both start from what is resident: parameters and the input.
    assert timeline.live_bytes[0] == report.totals.param_bytes + report.totals.buffer_bytes + report.totals.input_bytes


def test_the_timeline_plot_is_written(tmp_path):
    from tests.conftest import run_cli

    done = run_cli("summary", "cifar_lenet", "--device", "meta", "--plot", str(tmp_path / "t.png"), "--plot-metric",
                   "timeline", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")


def test_the_summary_page_shows_the_timeline(tmp_path):
    from tests.conftest import run_cli

    page = tmp_path / "net.html"
    assert run_cli("summary", "cifar_lenet", "--device", "meta", "-o", str(page)).returncode == 0
    text = page.read_text()
    assert "Live memory over one training step" in text and "peak at" in text


def test_a_training_report_carries_them_in_json_and_csv():
    import csv
    import io

    from cnnstat.frame.views import layer_csv_view
    from cnnstat.render.emit import render_text

    report = profile("cifar_lenet", batch=2, mode="train")
    layers = report.to_dict()["layers"]
    assert [layer["saved_for_backward_bytes"] for layer in layers] == [row.saved_for_backward_bytes
                                                                       for row in report.layers]
    rows = list(csv.DictReader(io.StringIO(render_text(layer_csv_view(report), "csv"))))
    assert [int(row["grad_bytes"]) for row in rows] == [row.grad_bytes for row in report.layers]
    assert layers[0]["grad_bytes"] == report.totals.grad_bytes > 0

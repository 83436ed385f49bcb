"""Edge cases of measuring and plotting, each one clear line and exit 2 or a sensible result."""

import pytest

MODELS = '''
from torch import nn


def conv3d():
    return nn.Sequential(nn.Conv3d(3, 4, 3), nn.ReLU())
conv3d.input_size = (3, 4, 8, 8)


def mixed():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.Unflatten(1, (1, 4)), nn.Conv3d(1, 2, 3))
mixed.input_size = (3, 8, 8)


def no_weights():
    return nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1))
no_weights.input_size = (3, 8, 8)


def bn_head():
    """BatchNorm1d after pooling: no training estimate at batch 1, so one figure is missing."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.BatchNorm1d(4))
bn_head.input_size = (3, 8, 8)
'''


@pytest.fixture
def models(tmp_path, monkeypatch):
    (tmp_path / "edge.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_clear_line(result, message):
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_an_optimizer_step_without_trainable_parameters(invoke, models):
    one_clear_line(invoke("summary", "edge.py:no_weights", "--mode", "train", "--optimizer", "adam", "--device", "cpu",
                          "--min-run-time", "0.01"),
                   "an optimizer step (adam) needs trainable parameters, and the model has none")


def test_channels_last_on_a_conv3d_model(invoke, models):
    one_clear_line(invoke("bench", "edge.py:conv3d", "--channels-last", "--device", "cpu", "--min-run-time", "0.01"),
                   "the channels-last layout applies to 4-D tensors (2-D convolutions), and edge.py:conv3d has no 4-D "
                   "weight or input (input 1x3x4x8x8)")


def test_channels_last_on_a_model_with_2d_and_3d_convolutions(invoke, models):
    """The 4-D weights and input take the layout, the 5-D weight keeps its own (as in the static pass)."""
    result = invoke("bench", "edge.py:mixed", "--channels-last", "--device", "cpu", "--min-run-time", "0.01",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"latency_ms"' in result.stdout


def test_compare_plot_where_one_model_lacks_a_figure(invoke, models):
    result = invoke("compare", "cifar_lenet", "edge.py:bn_head", "--input", "3x32x32", "--device", "meta",
                    "--plot", "bars.png")
    assert result.exit_code == 0, result.output
    assert (models / "bars.png").stat().st_size > 0


def test_latency_plot_after_the_auto_device_fell_back(invoke, models):
    result = invoke("summary", "cifar_lenet", "--batch", "100000000", "--plot", "latency.png",
                    "--plot-metric", "latency")
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert "note:" in result.stderr and "static figures only" in result.stderr
    assert ("--plot-metric latency needs a measurement, and cifar_lenet was not measured" in result.stderr)
    assert not (models / "latency.png").exists()

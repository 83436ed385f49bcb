"""Memory estimates vs torch.profiler's record of the CPU allocator. Recurrent and attention layers
are held to it within 15% at batch 1, 8 and 16, eval and train (oneDNN's fused LSTM, torch's CPU
GRU, flash attention and the encoder layer's fast path counted as they run), autocast inside a
forward at the types it runs in. A bidirectional LSTM's estimate is not validated (README,
Memory): the report says so, and the estimate no longer refuses (or allows) a run."""

import pytest
import torch

from cnnstat.analysis import measure as measure_module
from cnnstat.analysis import profile
from cnnstat.analysis.measure import measure_report
from cnnstat.analysis.memory import LSTM_FITTED_FROM
from cnnstat.errors import OutOfMemory

CPU = torch.device("cpu")

MODELS = '''
import torch
from torch import nn


class Recurrent(nn.Module):
    input_size = (32, 64)

    def __init__(self, kind="LSTM", hidden=128, layers=2, bidirectional=False, time_major=False):
        super().__init__()
        self.time_major = time_major  # given batch first, handed over transposed: a copy the kernel makes
        self.rnn = getattr(nn, kind)(64, hidden, num_layers=layers, batch_first=not time_major,
                                     bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (1 + bidirectional), 10)

    def forward(self, x):
        out, _ = self.rnn(x.transpose(0, 1) if self.time_major else x)
        return self.head(out[-1] if self.time_major else out[:, -1])


def encoder():
    layer = nn.TransformerEncoderLayer(64, 4, 256, batch_first=True, dropout=0.0)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
encoder.input_size = (32, 64)


class Mixed(nn.Module):
    """autocast inside forward around two convolutions and a linear; the pooling runs in bfloat16 too"""
    input_size = (3, 32, 32)

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1),
                                      nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.head = nn.Linear(512, 10)

    def forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.head(self.features(x)).float()


class ViT(nn.Module):
    """A small vision transformer: patches, a class token, pre-norm encoder layers of GELU MLPs."""
    input_size = (3, 32, 32)

    def __init__(self):
        super().__init__()
        self.patches = nn.Conv2d(3, 64, 8, stride=8)
        self.cls = nn.Parameter(torch.zeros(1, 1, 64))
        self.position = nn.Parameter(torch.zeros(1, 17, 64))
        layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True, dropout=0.0, activation="gelu",
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.position
        return self.head(self.encoder(x)[:, 0])


def convnet():
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
convnet.input_size = (3, 32, 32)
'''

RECURRENT_ACCURACY = 0.15
"""Beyond CNNs (recurrent and attention layers): the issue's tolerance."""
RECURRENT = {"lstm": {"kind": "LSTM"}, "gru": {"kind": "GRU"}, "rnn": {"kind": "RNN", "layers": 1},
             # a hidden size oneDNN pads (100: to 112 rows in the backward) and a time-major copy; two directions
             "lstm-time-major": {"kind": "LSTM", "hidden": 100, "layers": 1, "time_major": True},
             "gru-bidirectional": {"kind": "GRU", "hidden": 48, "bidirectional": True}}


@pytest.fixture
def models(tmp_path, monkeypatch):
    (tmp_path / "models.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("options", RECURRENT.values(), ids=RECURRENT.keys())
def test_recurrent_estimates_hold_to_the_cpu_allocator(models, options, mode):
    """Within 15% where the fitted forms hold; an LSTM on a torch older than they were fitted on
    (2.4.1: up to 1.47x) is marked not validated instead, naming the torch."""
    unfitted = options["kind"] == "LSTM" and torch.__version__ < LSTM_FITTED_FROM
    for batch in (1, 8, 16):
        report = profile("models.py:Recurrent", batch=batch, mode=mode, options=options)
        if unfitted:
            assert not report.memory_validated
            assert any(f"LSTM layers on torch {torch.__version__}" in note for note in report.notes), report.notes
            continue
        assert report.memory_validated and not any("not validated" in note for note in report.notes)
        measured = measure_report(report, CPU, min_run_time=0.001, per_layer=False, threads=1)
        assert abs(measured.peak_ratio - 1) <= RECURRENT_ACCURACY, (batch, measured.peak_ratio)


@pytest.mark.parametrize("spec", ["models.py:encoder", "models.py:ViT"])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_attention_estimates_hold_to_the_cpu_allocator(models, spec, mode):
    """In training the CPU runs attention with flash attention, which keeps a log-sum-exp per query
    where the meta device's math reference keeps the attention weights and a scaled query and key;
    in inference an encoder layer runs as torch's fused fast path. Measured/estimate was 0.79 to
    0.96 for the encoder and 0.86 to 1.08 for the ViT."""
    for batch in (1, 8, 16):
        report = profile(spec, batch=batch, mode=mode)
        assert report.memory_validated
        measured = measure_report(report, CPU, min_run_time=0.001, per_layer=False, threads=1)
        assert abs(measured.peak_ratio - 1) <= RECURRENT_ACCURACY, (batch, measured.peak_ratio)


def test_a_bidirectional_lstm_is_measured_and_marked_unvalidated(models, monkeypatch):
    report = profile("models.py:Recurrent", batch=8, mode="train", options={"hidden": 48, "bidirectional": True})
    assert not report.memory_validated and report.to_dict()["memory_estimate_validated"] is False
    assert any("bidirectional LSTM" in note and "not validated" in note for note in report.notes)
    # a device with next to nothing free: the estimate does not refuse the run, the run decides
    monkeypatch.setattr(measure_module, "free_bytes", lambda device: 1)
    measured = measure_report(report, CPU, min_run_time=0.001, per_layer=False, threads=1)
    assert measured.measured_peak_bytes > 0 and measured.est_peak_bytes > 0
    assert measured.peak_ratio == measured.measured_peak_bytes / measured.est_peak_bytes


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_autocast_inside_forward_is_counted_as_it_runs(models, mode):
    """Measured/estimate was 0.52 to 0.82 with every tensor counted at float32 (batch 1 to 16);
    at batch 1 in train oneDNN's bfloat16 weight-gradient scratch (not counted) is most of the peak."""
    for batch in (8, 16):
        report = profile("models.py:Mixed", batch=batch, mode=mode)
        convolutions = [row for row in report.layers if row.type == "Conv2d"]
        assert [row.activation_bytes for row in convolutions] == [batch * 32 * 32 * 32 * 2] * 2  # bfloat16
        assert report.layers[0].activation_bytes == batch * 10 * 4  # .float() after the region
        measured = measure_report(report, CPU, min_run_time=0.001, per_layer=False, threads=1)
        assert abs(measured.peak_ratio - 1) <= 0.08, (batch, measured.peak_ratio)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_convnet_stays_validated_and_gated(models, monkeypatch, mode):
    report = profile("models.py:convnet", batch=8, mode=mode)
    assert report.memory_validated and not any("not validated" in note for note in report.notes)
    monkeypatch.setattr(measure_module, "free_bytes", lambda device: 1)
    with pytest.raises(OutOfMemory, match="static estimate"):
        measure_report(report, CPU, min_run_time=0.01, per_layer=False)

"""Memory estimates vs torch.profiler's record of the CPU allocator for an LSTM, a GRU and a
small transformer encoder, eval and train. The estimate is not validated for them (README,
Memory): the report says so, and the estimate no longer refuses (or allows) a run."""

import pytest
import torch

from cnnstat.analysis import measure as measure_module
from cnnstat.analysis import profile
from cnnstat.analysis.measure import measure_report
from cnnstat.errors import OutOfMemory

CPU = torch.device("cpu")

MODELS = '''
import torch
from torch import nn


class Recurrent(nn.Module):
    input_size = (32, 64)

    def __init__(self, kind="LSTM"):
        super().__init__()
        self.rnn = getattr(nn, kind)(64, 128, num_layers=2, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def encoder():
    layer = nn.TransformerEncoderLayer(64, 4, 256, batch_first=True, dropout=0.0)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
encoder.input_size = (32, 64)


def convnet():
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
convnet.input_size = (3, 32, 32)
'''

SEQUENCE_MODELS = [("models.py:Recurrent", {"kind": "LSTM"}, "LSTM"), ("models.py:Recurrent", {"kind": "GRU"}, "GRU"),
                   ("models.py:encoder", {}, "MultiheadAttention")]


@pytest.fixture
def models(tmp_path, monkeypatch):
    (tmp_path / "models.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("spec, options, kind", SEQUENCE_MODELS, ids=["lstm", "gru", "encoder"])
def test_sequence_models_measured_and_marked_unvalidated(models, monkeypatch, spec, options, kind, mode):
    report = profile(spec, batch=8, mode=mode, options=options)
    assert not report.memory_validated and report.to_dict()["memory_estimate_validated"] is False
    assert any(kind in note and "not validated" in note for note in report.notes)
    # a device with next to nothing free: the estimate does not refuse the run, the run decides
    monkeypatch.setattr(measure_module, "free_bytes", lambda device: 1)
    measured = measure_report(report, CPU, min_run_time=0.01, per_layer=False)
    assert measured.measured_peak_bytes > 0 and measured.est_peak_bytes > 0
    assert measured.peak_ratio == measured.measured_peak_bytes / measured.est_peak_bytes


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_convnet_stays_validated_and_gated(models, monkeypatch, mode):
    report = profile("models.py:convnet", batch=8, mode=mode)
    assert report.memory_validated and not any("not validated" in note for note in report.notes)
    monkeypatch.setattr(measure_module, "free_bytes", lambda device: 1)
    with pytest.raises(OutOfMemory, match="static estimate"):
        measure_report(report, CPU, min_run_time=0.01, per_layer=False)

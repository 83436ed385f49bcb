"""Lazy modules are counted from a meta copy that one forward materialised (the user's model
stays uninitialised); a TorchScript module is refused with one clear line."""

import pytest
import torch
from torch import nn

from cnnstat.analysis import profile
from cnnstat.errors import CnnstatError


def lazy_net():
    return nn.Sequential(nn.LazyConv2d(8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))


def eager_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 10))


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_lazy_model_counts_as_its_materialised_twin(mode):
    model = lazy_net()
    lazy, eager = profile(model, (3, 16, 16), mode=mode), profile(eager_net(), (3, 16, 16), mode=mode)
    # closed form: conv 8 x 27 per output pixel of 14x14, linear 1568 x 10
    assert lazy.totals.macs == eager.totals.macs == 8 * 27 * 14 * 14 + 8 * 14 * 14 * 10
    assert lazy.totals.params == eager.totals.params == 8 * 27 + 8 + 8 * 14 * 14 * 10 + 10
    assert [layer.type for layer in lazy.layers] == [layer.type for layer in eager.layers]
    assert lazy.totals.est_peak_training_bytes == eager.totals.est_peak_training_bytes
    # the user's model is still lazy, and a real forward then initialises it as usual
    assert isinstance(model[0], nn.LazyConv2d) and nn.parameter.is_lazy(model[0].weight)
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 10) and not nn.parameter.is_lazy(model[3].weight)


def test_a_partly_initialised_lazy_model_keeps_its_weights():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(5))
    weight = model[0].weight
    report = profile(model, (3, 8, 8))
    assert report.totals.params == 4 * 27 + 4 + 4 * 36 * 5 + 5
    assert model[0].weight is weight and weight.device.type == "cpu" and nn.parameter.is_lazy(model[2].weight)


def test_a_scripted_module_is_refused_by_name():
    scripted = torch.jit.script(eager_net())
    with pytest.raises(CnnstatError, match="^Sequential is a TorchScript module: .* profile the nn.Module before "
                                           "torch.jit.script$"):
        profile(scripted, (3, 16, 16))
    assert scripted(torch.randn(1, 3, 16, 16)).shape == (1, 10)


SCRIPTED_FACTORY = '''
import torch
from torch import nn


def scripted():
    return torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
scripted.input_size = (3, 8, 8)
'''


def test_a_scripted_model_from_a_file_is_one_clear_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cnnstat.cli.main import app

    (tmp_path / "scripted.py").write_text(SCRIPTED_FACTORY)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["summary", "scripted.py:scripted", "--device", "meta"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "scripted.py:scripted is a TorchScript module" in result.stderr

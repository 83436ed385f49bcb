"""The peers' calls work or get one line naming cnnstat's way: example tensors where the size
goes (fvcore), a size with the batch (torchinfo), dict and keyword inputs, --inputs on the CLI."""

import textwrap

import pytest
import torch
from torch import nn

import cnnstat
from cnnstat.errors import CnnstatError, InputRankError


class TakesADict(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, batch):
        return self.conv(batch["image"])


class TakesKeywords(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.extra = nn.Linear(5, 4)

    def forward(self, image, extra=None):
        return self.conv(image).mean((2, 3)) + self.extra(extra)


def test_a_tensor_or_tuple_of_tensors_where_the_size_goes():
    conv = nn.Conv2d(3, 4, 3)
    assert cnnstat.profile(conv, torch.zeros(2, 3, 8, 8)).input_shapes == ((2, 3, 8, 8),)
    assert cnnstat.profile(conv, (torch.zeros(1, 3, 8, 8),)).totals.macs == 4 * 27 * 36


def test_a_size_with_the_batch_names_batch():
    with pytest.raises(InputRankError, match=r"give 3x8x8 and the batch apart \(--batch 1, or batch=1"):
        cnnstat.profile(nn.Conv2d(3, 4, 3), (1, 3, 8, 8))


def test_dict_inputs():
    image = torch.zeros(1, 3, 8, 8)
    assert cnnstat.profile(TakesADict(), inputs={"image": image}).totals.macs == 4 * 27 * 36  # one dict
    keywords = cnnstat.profile(TakesKeywords(), inputs={"image": image, "extra": torch.zeros(1, 5)})
    assert keywords.totals.macs == 4 * 27 * 36 + 20
    with pytest.raises(CnnstatError, match=r"inputs=\{'name': tensor\}"):
        cnnstat.profile(TakesKeywords(), {"image": (3, 8, 8)})


def test_inputs_from_a_function_on_the_command_line(invoke, tmp_path, monkeypatch):
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)

            def forward(self, batch):
                return self.conv(batch["image"])

        def make_inputs():
            return (), {"batch": {"image": torch.zeros(2, 3, 8, 8)}}
    """))
    monkeypatch.chdir(tmp_path)
    result = invoke("summary", "net.py:Net", "--inputs", "net.py:make_inputs", "--device", "meta", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert f"{2 * 4 * 27 * 36}" in result.stdout.splitlines()[1]
    refused = invoke("summary", "net.py:Net", "--inputs", "net.py:make_inputs", "--batch", "2")
    assert refused.exit_code == 2 and "drop --input and --batch" in refused.stderr

"""Inputs beyond one float image, from the command line: 1-D (Conv1d), 3-D (Conv3d), integer
token ids (nn.Embedding), two images (RAFT), a list of images (detection, with its cost per part)."""

import importlib.util
import json
import textwrap

import pytest

from tests.cli.conftest import invoke  # noqa: F401  (the fixture)

NETS = textwrap.dedent('''
    from torch import nn


    class Audio(nn.Module):
        """A Conv1d front end over raw audio."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(1, 8, 80, stride=16)
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            return self.fc(self.conv(x).mean(-1))


    class Clip(nn.Module):
        """A Conv3d over frames x height x width."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv3d(3, 4, 3)

        def forward(self, x):
            return self.conv(x)


    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(100, 8)
            self.fc = nn.Linear(8, 4)

        def forward(self, ids):
            return self.fc(self.embed(ids))
''')

def needs_torchvision(test):
    """torchvision's models: slower (import, real-CPU passes), under the torchvision marker."""
    skip = pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="torchvision is not installed")
    return pytest.mark.torchvision(skip(test))


@pytest.fixture
def nets(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(NETS)
    return str(path)


def summary_json(invoke, *args):  # noqa: F811
    result = invoke("summary", *args, "--device", "meta", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_conv1d_net_takes_channels_x_length(invoke, nets):  # noqa: F811
    data = summary_json(invoke, f"{nets}:Audio", "--input", "1x16000")
    length = (16000 - 80) // 16 + 1
    assert data["input_shape"] == [1, 1, 16000]
    assert data["totals"]["macs"] == 8 * 80 * length + 8 * 4


def test_a_conv3d_net_takes_channels_x_frames_x_spatial(invoke, nets):  # noqa: F811
    data = summary_json(invoke, f"{nets}:Clip", "--input", "3x8x16x16")
    assert data["totals"]["macs"] == 4 * 3 * 27 * 6 * 14 * 14
    result = invoke("summary", f"{nets}:Clip", "--input", "3x16x16", "--device", "meta")
    assert result.exit_code == 2
    assert "takes 4 sizes (channels, frames and spatial), e.g. 3x16x112x112, not 3x16x16" in result.output


def test_an_embedding_net_takes_integer_ids(invoke, nets):  # noqa: F811
    data = summary_json(invoke, f"{nets}:Tokens", "--input", "long:16")
    assert data["input_shape"] == [1, 16]
    assert data["totals"]["macs"] == 16 * 8 * 4 and data["totals"]["input_bytes"] == 16 * 8
    result = invoke("summary", f"{nets}:Tokens", "--input", "complex:16", "--device", "meta")
    assert result.exit_code == 2 and "unknown element type 'complex'" in result.output


@needs_torchvision
def test_raft_takes_two_images(invoke):  # noqa: F811
    data = summary_json(invoke, "torchvision:raft_small", "-i", "3x128x128", "-i", "3x128x128")
    assert [layer["input_shapes"] for layer in data["layers"][:1]] == [[[1, 3, 128, 128], [1, 3, 128, 128]]]
    assert data["totals"]["params"] == 990_162  # Raft_Small_Weights' published num_params


@needs_torchvision
def test_a_detection_model_reports_its_cost_per_part(invoke):  # noqa: F811
    """Counted on the CPU (the meta device cannot keep boxes by score), per part; the backbone's
    share equals the backbone counted alone, on meta."""
    from cnnstat.analysis import profile
    from cnnstat.analysis.build import load_on

    spec = "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn"
    data = summary_json(invoke, spec, "--input", "3x96x96", "--set", "min_size=96,max_size=96")
    assert data["device"] == "cpu" and any("counted on the CPU" in note for note in data["notes"])
    parts = {part["name"]: part for part in data["parts"]}
    assert list(parts)[:5] == ["transform", "backbone.body", "backbone.fpn", "rpn", "roi_heads"]
    assert sum(part["macs"] for part in parts.values()) == data["totals"]["macs"]
    body = load_on(spec).module.backbone.body
    assert parts["backbone.body"]["macs"] == profile(body, (3, 96, 96)).totals.macs
    result = invoke("summary", spec, "--input", "3x96x96", "--set", "min_size=96,max_size=96", "--device", "meta")
    assert "Cost per part: transform (GeneralizedRCNNTransform) 0 MACs" in result.stdout

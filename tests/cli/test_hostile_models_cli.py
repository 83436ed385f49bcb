"""Models that crashed the analysis end in one line on stderr and exit 2 through the command
line: sys.exit in forward, a module cycle, a detection model asked for a training pass."""

import pytest

from tests.cli.test_hardening import assert_one_clear_line
from tests.cli.test_user_model_files import folder, write  # noqa: F401 (a fixture)

MODELS = """
    import sys
    import torch.nn as nn

    class Exits(nn.Module):
        input_size = (4,)

        def forward(self, x):
            sys.exit(3)

    class KeepsParent(nn.Module):
        input_size = (4,)

        def __init__(self):
            super().__init__()
            self.block = nn.Sequential(nn.Linear(4, 4))
            self.block[0].owner = self

        def forward(self, x):
            return self.block(x)
"""


@pytest.mark.parametrize("model, message", [
    ("Exits", "layer (the model itself) (Exits) failed on input 1x4: the model called sys.exit(3)"),
    ("KeepsParent", "submodule block.0.owner is the model itself, one of its own ancestors"),
])
def test_a_hostile_model_is_one_clear_line(cli, folder, model, message):  # noqa: F811
    write(folder / "models.py", MODELS)
    assert_one_clear_line(cli("summary", f"models.py:{model}", "--device", "meta"), message)


def test_a_detection_model_in_training_says_it_needs_targets(cli):
    result = cli("summary", "torchvision:ssdlite320_mobilenet_v3_large", "--mode", "train", "--device", "meta")
    assert_one_clear_line(result, "is a detection model: in training its forward takes targets (boxes and labels)")


HALF = """
    import torch.nn as nn

    class Half(nn.Module):
        input_size = (16,)

        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(16, 8).half()

        def forward(self, x):
            return self.proj(x)
"""


def test_a_model_files_own_dtype_is_counted(cli, folder):  # noqa: F811
    import json

    write(folder / "half.py", HALF)
    result = cli("summary", "half.py:Half", "--device", "meta", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["dtype"] == "float16" and data["totals"]["param_bytes"] == (16 * 8 + 8) * 2

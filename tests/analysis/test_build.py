"""The build recipe a report carries rebuilds its model for measurement with no repeated
arguments; library errors carry their data and name no command-line flag (the CLI words them)."""

import re

import pytest
import torch
from torch import nn

from cnnstat.analysis import profile
from cnnstat.analysis.build import BuildRecipe, resolve_device
from cnnstat.cli.errors import user_message
from cnnstat.errors import CnnstatError, ForwardError, InputRankError, MissingInputSize, OutOfMemory, UnavailableDevice

FLAG = re.compile(r"--[a-z]")


def test_the_recipe_rebuilds_the_profiled_model():
    report = profile("block/conv", (8, 32, 32), batch=2, mode="train", dtype="bfloat16", options={"k": 5, "cin": 8, "cout": 4},
                     channels_last=True)
    recipe = report.recipe
    assert recipe == BuildRecipe("block/conv", ((2, 8, 32, 32),), "train", "bfloat16", None, None,
                                 {"k": 5, "cin": 8, "cout": 4}, True, input_dtypes=(None,))
    model, (example,) = recipe.build(torch.device("cpu")), recipe.inputs(torch.device("cpu"))
    weight = next(model.parameters())
    assert weight.shape == (4, 8, 5, 5) and weight.dtype == torch.bfloat16
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert example.shape == (2, 8, 32, 32) and example.is_contiguous(memory_format=torch.channels_last)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params


def test_a_module_passed_in_has_a_recipe_that_cannot_rebuild():
    report = profile(nn.Linear(4, 2), (4,))
    assert report.recipe.spec is None and report.recipe.input_shapes == ((1, 4),)
    with pytest.raises(CnnstatError, match="cannot be rebuilt"):
        report.recipe.build(torch.device("cpu"))


def test_errors_carry_data_and_name_no_flag():
    with pytest.raises(ForwardError) as failed:
        profile("resnet18", (1, 224, 224))
    error = failed.value
    assert (error.model, error.layer, error.layer_type, error.input_shapes) == \
        ("resnet18", "conv1", "Conv2d", [(1, 1, 224, 224)])
    with pytest.raises(InputRankError) as rank:
        profile("resnet18", (3, 224))
    assert (rank.value.given, rank.value.expected) == ((3, 224), (3, 224, 224))
    errors = [error, rank.value, MissingInputSize("net"), OutOfMemory("net at batch 9", "cpu", 2**31, 2**30),
              OutOfMemory("net", "cuda"), UnavailableDevice("cuda")]
    assert [FLAG.search(str(e)) for e in errors] == [None] * len(errors)
    assert all(FLAG.search(user_message(e)) for e in errors)  # the CLI adds what to type
    assert user_message(rank.value) == ("malformed --input: resnet18 takes 3 sizes (channels and spatial), "
                                        "e.g. 3x224x224, not 3x224")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_an_absent_device_is_named():
    with pytest.raises(UnavailableDevice, match="^CUDA was asked for but is not available on this machine$"):
        resolve_device("cuda")


class ScaledConv2d(nn.Conv2d):
    """A Conv2d subclass as a stem (timm's ScaledStdConv2d of the NFNets)."""


class EcaNet(nn.Module):
    """A stem, then ECA attention: a Conv1d over the pooled channels (timm's eca_nfnet_l0)."""

    def __init__(self):
        super().__init__()
        self.stem = ScaledConv2d(3, 8, 3)
        self.attention = nn.Conv1d(1, 1, 3, padding=1)

    def forward(self, x):
        y = self.stem(x)
        weights = self.attention(y.mean((2, 3)).unsqueeze(1)).squeeze(1).sigmoid()
        return y * weights[:, :, None, None]


def test_the_input_rank_is_the_first_convolutions_whatever_its_class():
    assert profile(EcaNet(), (3, 16, 16)).totals.macs == 8 * 27 * 14 * 14 + 8 * 3
    with pytest.raises(InputRankError, match=r"takes 3 sizes \(channels and spatial\)"):
        profile(EcaNet(), (3, 16))
    with pytest.raises(InputRankError, match=r"takes 2 sizes \(channels and length\)"):
        profile(nn.Sequential(nn.LazyConv1d(4, 3)), (2, 8, 8))  # a lazy weight has no shape yet

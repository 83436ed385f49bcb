"""Activation checkpointing, what-if: held to a real checkpointed training step on the CPU and to
the MACs of the block's convolutions in closed form."""

import pytest
import torch

from cnnstat.analysis.build import build_model
from cnnstat.analysis.checkpointing import checkpoint_what_if, checkpointed
from cnnstat.analysis.measure import make_step, step_peak_bytes
from tests.conftest import run_cli

CPU = torch.device("cpu")
BATCH = 8


def real_peak(blocks):
    """Peak bytes of one real training step of cifar_resnet20 with ``blocks`` checkpointed."""
    model = build_model("cifar_resnet20", device=CPU).train()
    inputs = (torch.randn(BATCH, 3, 32, 32),)
    step = make_step(model, inputs, "train", None)
    with checkpointed(model, blocks):
        return step_peak_bytes(model, inputs, step, CPU)


def test_checkpointing_layer1_held_to_a_real_checkpointed_step():
    result = checkpoint_what_if("cifar_resnet20", batch=BATCH)
    assert [what_if.block for what_if in result.blocks] == ["layer1", "layer2", "layer3"]
    layer1 = result.blocks[0]
    plain, checkpointed_step = real_peak([]), real_peak(["layer1"])
    assert layer1.checkpointed_peak_bytes == pytest.approx(checkpointed_step, rel=0.02)
    assert result.peak_bytes == pytest.approx(plain, rel=0.02)
    # The saving, measured, is the one estimated (a fifth of the step's peak here).
    assert layer1.saved_peak_bytes > 0.15 * result.peak_bytes
    assert plain - checkpointed_step == pytest.approx(layer1.saved_peak_bytes, rel=0.05)
    # Recomputed: layer1's six 3x3 convolutions of 16 channels on 32x32, once more.
    assert layer1.recomputed_macs == 6 * 16 * 16 * 9 * 32 * 32 * BATCH


def test_blocks_named_are_also_checkpointed_together_and_a_wrong_name_is_one_line():
    result = checkpoint_what_if("cifar_resnet20", batch=2, blocks=["layer1", "layer2"])
    assert [what_if.block for what_if in result.blocks] == ["layer1", "layer2", "layer1+layer2"]
    together = result.blocks[2]
    assert together.recomputed_macs == result.blocks[0].recomputed_macs + result.blocks[1].recomputed_macs
    done = run_cli("checkpoint", "cifar_resnet20", "--blocks", "layer9")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no module 'layer9'" in done.stderr

"""``--inputs pkg.module:make_inputs`` on every command that runs a model at one input: the
function's example (a batch of 2 images 3x8x8) is what is counted and timed; beside --input or
--batch it is refused in one line. sweep and fit choose the sizes themselves and take none."""

import json

import pytest

from tests.cli.test_hardening import assert_one_clear_line
from tests.cli.test_user_model_files import folder, write  # noqa: F401 (a fixture)

NET = """
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return self.conv(x)

    def make_inputs():
        return torch.zeros(2, 3, 8, 8)

    def make_keywords():
        return (), {"x": torch.zeros(2, 3, 8, 8)}
"""
MACS = 2 * 4 * (3 * 3 * 3) * (6 * 6)
"""Batch 2 x 4 output channels x 27 weights each x 6x6 output positions."""


@pytest.fixture
def run_json(cli, folder):  # noqa: F811
    write(folder / "net.py", NET)

    def run(*args):
        result = cli(*args, "--inputs", "net.py:make_inputs", "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
    return run


def test_compare_counts_the_example(run_json):
    row, = run_json("compare", "net.py:Net", "--device", "meta")
    assert row["input_shape"] == [2, 3, 8, 8] and row["macs"] == MACS


def test_checkpoint_counts_the_example(run_json):
    result = run_json("checkpoint", "net.py:Net")
    assert result["input_shape"] == [2, 3, 8, 8] and result["blocks"][0]["recomputed_macs"] == MACS


def test_crosscheck_gives_the_example_to_every_tool(run_json):
    result = run_json("crosscheck", "net.py:Net")
    assert result["input_shape"] == [2, 3, 8, 8]
    assert result["totals"]["macs"] == result["totals"]["fvcore"]["reported"] == MACS  # fvcore ran on it too


def test_bench_times_the_example(run_json):
    row, = run_json("bench", "net.py:Net", "--device", "cpu", "--min-run-time", "0.05")["rows"]
    assert row["batch"] == 2 and row["flops"] >= 2 * MACS and row["latency_ms"] > 0


@pytest.mark.parametrize("command", ["compare", "bench", "checkpoint", "crosscheck"])
def test_inputs_beside_batch_is_refused(cli, folder, command):  # noqa: F811
    write(folder / "net.py", NET)
    assert_one_clear_line(cli(command, "net.py:Net", "--inputs", "net.py:make_inputs", "--batch", "2"),
                          "--inputs gives the example inputs, batch included: drop --input and --batch")


def test_crosscheck_refuses_keyword_inputs_by_name(cli, folder):  # noqa: F811
    write(folder / "net.py", NET)
    assert_one_clear_line(cli("crosscheck", "net.py:Net", "--inputs", "net.py:make_keywords"),
                          "crosscheck takes example inputs as a tensor or a tuple of tensors")


@pytest.mark.parametrize("command", ["sweep", "fit"])
def test_sweep_and_fit_say_nothing_of_inputs(cli, command):
    assert "--inputs" not in cli(command, "--help").stdout
    assert cli(command, "cifar_lenet", "--inputs", "net.py:make_inputs").returncode == 2

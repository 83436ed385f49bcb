"""Every command counts (and runs) a model file in the model's own dtype unless --dtype says
otherwise: a float16 Linear(16, 8) holds 136 parameters at 2 bytes each, and its input (16
values) and output (8) are float16 too."""

import json

import pytest

from tests.cli.test_hostile_models_cli import HALF  # a float16 Linear(16, 8), input_size (16,)
from tests.cli.test_user_model_files import folder, write  # noqa: F401 (a fixture)

PARAMS, INPUTS, OUTPUTS = 16 * 8 + 8, 16, 8


def inference_peak(batch: int, element_bytes: int) -> int:
    """Parameters, the input and the output, all alive at once."""
    return (PARAMS + batch * (INPUTS + OUTPUTS)) * element_bytes


@pytest.fixture
def run_json(cli, folder):  # noqa: F811
    write(folder / "half.py", HALF)

    def run(*args):
        result = cli(*args, "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
    return run


@pytest.mark.parametrize("dtype, element_bytes", [([], 2), (["--dtype", "float32"], 4)])
def test_compare_sweep_and_checkpoint_count_the_files_own_dtype(run_json, dtype, element_bytes):
    compared = run_json("compare", "half.py:Half", "--device", "meta", *dtype)
    assert compared[0]["est_peak_inference_bytes"] == inference_peak(1, element_bytes)
    swept = run_json("sweep", "half.py:Half", "-i", "16", "-b", "1,2", *dtype)
    assert swept["dtype"] == ("float16" if element_bytes == 2 else "float32")
    assert [point["resident_bytes"] for point in swept["points"]] == [PARAMS * element_bytes] * 2
    assert [point["est_peak_inference_bytes"] for point in swept["points"]] == \
        [inference_peak(1, element_bytes), inference_peak(2, element_bytes)]
    checkpointed = run_json("checkpoint", "half.py:Half", *dtype)
    assert checkpointed["dtype"] == swept["dtype"]
    assert checkpointed["peak_bytes"] == 580 * element_bytes // 2  # the same step, at its element size


@pytest.mark.parametrize("dtype, element_bytes", [([], 2), (["--dtype", "float32"], 4)])
def test_fit_finds_the_batch_of_the_files_own_dtype(run_json, dtype, element_bytes):
    budget = 1000
    fitted = run_json("fit", "half.py:Half", "--device", "meta", "--mode", "eval", "--budget", str(budget), *dtype)
    largest = (budget // element_bytes - PARAMS) // (INPUTS + OUTPUTS)  # 15 at float16, 4 at float32
    assert fitted["dtype"] == ("float16" if element_bytes == 2 else "float32")
    assert fitted["points"][0]["batch"] == largest
    assert fitted["points"][0]["est_peak_bytes"] == inference_peak(largest, element_bytes)


def test_bench_runs_the_file_in_its_own_dtype(run_json):
    benched = run_json("bench", "half.py:Half", "--device", "cpu", "--min-run-time", "0.05")
    assert benched["settings"]["dtype"] == "float16"
    row = benched["rows"][0]
    assert row["measured_peak_bytes"] == row["est_peak_inference_bytes"] == inference_peak(1, 2)  # measured in float16


def test_bench_roofline_of_models_in_two_dtypes_asks_for_one(cli, folder):  # noqa: F811
    from tests.cli.test_hardening import assert_one_clear_line

    write(folder / "half.py", HALF)
    assert_one_clear_line(cli("bench", "half.py:Half", "cifar_lenet", "--device", "cpu", "--roofline"),
                          "these models compute in float16, float32: give --dtype")


def test_crosscheck_feeds_the_tools_the_files_own_dtype(run_json):
    """fvcore and torchinfo run the float16 model on a float16 input (a float32 one would stop
    them), and count the same 128 MACs as cnnstat."""
    checked = run_json("crosscheck", "half.py:Half")
    assert checked["unexplained"] == [] and checked["totals"]["macs"] == checked["totals"]["fvcore"]["reported"] == 16 * 8

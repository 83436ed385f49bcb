"""`cnnstat fit`: the largest batch within a memory budget, held to the estimate one batch up and
to one real step at the answer."""

import json

import pytest
import torch

from cnnstat.analysis.fit import MAX_BATCH, fit, largest_batch
from cnnstat.analysis.measure import static_peak_bytes
from cnnstat.analysis.report import profile
from cnnstat.cli.fit import parse_budget
from tests.conftest import run_cli

CPU = torch.device("cpu")
CNN_ACCURACY = 0.02
"""Measured peak / static estimate for CNNs on the CPU is within 2% (tests/analysis/test_memory_validation.py)."""


def test_the_answer_holds_to_a_real_step_and_one_batch_up_is_over_the_budget():
    budget = 6 << 20
    result = fit("cifar_lenet", budget, mode="train", confirm_on=CPU)
    (point,) = result.points
    estimate_up = static_peak_bytes(profile("cifar_lenet", batch=point.batch + 1, mode="train").totals, "train", None)
    assert point.est_peak_bytes <= budget < estimate_up == point.next_est_peak_bytes
    assert point.headroom_bytes == budget - point.est_peak_bytes
    confirmed = point.confirmation
    assert confirmed.device == "cpu" and confirmed.measured_peak_bytes <= budget * (1 + CNN_ACCURACY)
    assert confirmed.fits == (confirmed.measured_peak_bytes <= budget)


def test_a_swept_input_names_the_largest_that_fits():
    at_batch_one = {size: static_peak_bytes(profile("cifar_resnet20", size, mode="eval").totals, "eval", None)
                    for size in [(3, 32, 32), (3, 96, 96)]}
    budget = (at_batch_one[(3, 32, 32)] + at_batch_one[(3, 96, 96)]) // 2  # the small input fits, the large does not
    result = fit("cifar_resnet20", budget, input_sizes=[(3, 32, 32), (3, 96, 96)], mode="eval")
    small, large = result.points
    assert small.batch >= 1 and large.batch is None and large.est_peak_bytes == at_batch_one[(3, 96, 96)]
    assert result.largest_input.input_size == (3, 32, 32)


@pytest.mark.parametrize("fixed, per_item, budget", [(100, 7, 1000), (100, 7, 106), (100, 7, 107), (50, 3, 10**6)])
def test_largest_batch_is_the_brute_force_answer(fixed, per_item, budget):
    def estimate(batch):  # affine, with a kink: the guess from batches 1 and 2 is off past batch 10
        return fixed + per_item * batch + (5 * (batch - 10) if batch > 10 else 0)

    fitting = [batch for batch in range(1, 200_000) if estimate(batch) <= budget]
    batch, seen = largest_batch(estimate, budget)
    assert batch == (max(fitting) if fitting else None)
    assert len(seen) < 40  # bisection, not a walk


def test_a_batch_that_never_grows_the_peak_stops_at_the_largest_searched():
    assert largest_batch(lambda batch: 10, 100)[0] == MAX_BATCH


@pytest.mark.parametrize("text, expected", [("24GiB", 24 << 30), ("512MiB", 512 << 20), ("8GB", 8 * 10**9),
                                            ("1.5G", int(1.5 * (1 << 30))), ("1000", 1000)])
def test_budgets_read_as_written(text, expected):
    assert parse_budget(text) == expected


def test_cli_answers_in_json_and_refuses_a_malformed_budget():
    done = run_cli("fit", "cifar_lenet", "--budget", "6MiB", "--device", "meta", "--format", "json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["budget_bytes"] == 6 << 20 and answer["points"][0]["batch"] >= 1
    assert answer["points"][0]["confirmation"] is None  # meta: an estimate only
    table = run_cli("fit", "cifar_lenet", "--budget", "6MiB", "--device", "meta")
    assert "to spare" in table.stdout and "not confirmed by a real step" in table.stdout
    bad = run_cli("fit", "cifar_lenet", "--budget", "lots")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "malformed --budget" in bad.stderr
    no_budget = run_cli("fit", "cifar_lenet", "--device", "meta")
    assert no_budget.returncode == 2 and "give --budget" in no_budget.stderr


@pytest.mark.parametrize("model, budget, mode, optimizer", [
    ("cifar_resnet20", 24 << 20, "train", "adam"),  # Adam's step counts: 4 bytes per parameter tensor
    ("cifar_lenet", 4 << 20, "eval", None),  # oneDNN pads conv1's 6 output channels to 16
    ("cifar_resnet20", 9 << 19, "train", None),  # batch 1: torch's own unfolding convolution
])
def test_the_answer_fits_when_a_real_step_confirms_it(model, budget, mode, optimizer):
    (point,) = fit(model, budget, mode=mode, optimizer=optimizer, confirm_on=CPU).points
    assert point.est_peak_bytes <= budget < point.next_est_peak_bytes
    assert point.confirmation.fits and point.confirmation.measured_peak_bytes <= budget
    assert point.confirmation.measured_peak_bytes / point.est_peak_bytes == pytest.approx(1, abs=CNN_ACCURACY)

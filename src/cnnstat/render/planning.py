"""The sentences under the planning tables: ``cnnstat fit``'s budget, what each answer leaves and what
was confirmed; ``cnnstat checkpoint``'s plain step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnstat.figures import shape_text
from cnnstat.render.units import human_bytes, human_count

if TYPE_CHECKING:
    from cnnstat.analysis.checkpointing import CheckpointResult
    from cnnstat.analysis.fit import FitResult


def fit_title(result: FitResult) -> list[str]:
    return [result.model, "fit", result.mode, result.dtype, f"budget {human_bytes(result.budget_bytes)}"]


def fit_notes(result: FitResult) -> list[str]:
    """What each answer leaves and what was confirmed, in sentences."""
    budget = human_bytes(result.budget_bytes)
    source = "given" if result.budget_source == "given" else f"the free memory of {result.budget_source}"
    step = f"{result.mode} step" + (f" with {result.optimizer}" if result.optimizer else "")
    notes = [f"Budget {budget} ({source}); peak memory of one {step} in {result.dtype}, estimated on the meta device."]
    for point in result.points:
        at = f"Input {shape_text(point.input_size)}"
        if point.batch is None or point.headroom_bytes is None:
            notes.append(f"{at}: not even batch 1 fits: its estimated peak is {human_bytes(point.est_peak_bytes)}.")
            continue
        over = ("" if point.next_est_peak_bytes is None else
                f"; batch {point.batch + 1:,} would need {human_bytes(point.next_est_peak_bytes)}")
        notes.append(f"{at}: batch {point.batch:,} fits with {human_bytes(point.headroom_bytes)} to spare "
                     f"({point.headroom_bytes / result.budget_bytes:.1%} of the budget){over}.")
        confirmation = point.confirmation
        if confirmation is None:
            notes.append(f"{at}: not confirmed by a real step.")
        else:
            verdict = "within" if confirmation.fits else "OVER"
            notes.append(f"{at}: confirmed by one real {step} at batch {point.batch:,} on {confirmation.device}: "
                         f"measured peak {human_bytes(confirmation.measured_peak_bytes)}, {verdict} the budget.")
        notes += [f"{at}: {note}" for note in point.notes]
    largest = result.largest_input
    if len(result.points) > 1 and largest is not None:
        notes.append(f"Largest input that fits: {shape_text(largest.input_size)} (batch up to {largest.batch:,}).")
    return notes + [f"Note: {note}" for note in result.notes]


def checkpoint_title(result: CheckpointResult) -> list[str]:
    return [result.model, "checkpointing what-if", f"input {shape_text(result.input_shape)}", result.dtype]


def checkpoint_notes(result: CheckpointResult) -> list[str]:
    step = "training step" + (f" with {result.optimizer}" if result.optimizer else "")
    return [f"Plain {step}: estimated peak {human_bytes(result.peak_bytes)}, {human_count(result.step_macs)}MACs "
            f"(forward and backward). Each row checkpoints its block (torch.utils.checkpoint, non-reentrant): "
            f"estimated on the meta device, its activations dropped after the forward and computed again in the "
            f"backward; a negative saving means the recomputation comes at the backward's peak.",
            *(f"Note: {note}" for note in result.notes)]

"""``fit()``: the largest batch, and input size, whose estimated peak memory fits a budget.

The estimate is the static one (``profile`` on the meta device: any batch costs the same few
tenths of a second), so the search is cheap: the peak grows by about the same bytes per item
(activations scale with the batch, parameters and optimizer state do not), so two batches give a
first guess, and bisection over batch sizes, every one an estimate, settles it: the answer's
estimate fits and the next batch's does not. One real step at the answer on the CPU or a GPU
then confirms it (``confirm``): its measured peak against the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from cnnstat.analysis.report import Report, profile
from cnnstat.errors import CnnstatError

MAX_BATCH = 1 << 20
"""The largest batch searched: past it the answer is "at least this"."""


@dataclass(frozen=True)
class Confirmation:
    """One real step at the answer's batch."""

    device: str
    measured_peak_bytes: int
    fits: bool
    """Whether the measured peak was within the budget."""


@dataclass(frozen=True)
class FitPoint:
    """The largest batch for one input size."""

    input_size: tuple[int, ...]
    """Without the batch."""
    batch: int | None
    """The largest batch whose estimated peak fits the budget; None where batch 1 does not fit."""
    est_peak_bytes: int
    """The estimate at ``batch`` (at batch 1 where that does not fit)."""
    next_est_peak_bytes: int | None
    """The estimate at ``batch + 1``: over the budget (None at ``MAX_BATCH``)."""
    headroom_bytes: int | None
    """Budget - estimate at ``batch``."""
    confirmation: Confirmation | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FitResult:
    model: str
    mode: str
    optimizer: str | None
    dtype: str
    budget_bytes: int
    budget_source: str
    """Where the budget came from: "given", or the device whose free memory it is."""
    points: tuple[FitPoint, ...]
    memory_validated: bool
    """False where the model has layers the estimate is not validated for (the notes say which)."""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def largest_input(self) -> FitPoint | None:
        """The largest input size (by elements) at which some batch fits."""
        fitting = [point for point in self.points if point.batch is not None]
        return max(fitting, key=lambda point: _elements(point.input_size), default=None)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        largest = self.largest_input
        return asdict(self) | {"largest_input_size": list(largest.input_size) if largest else None}


def _elements(shape: Sequence[int]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def peak_estimate(report: Report, optimizer: str | None) -> int | None:
    from cnnstat.analysis.measure import static_peak_bytes

    return static_peak_bytes(report.totals, report.mode, optimizer)


def largest_batch(estimate: Callable[[int], int], budget: int) -> tuple[int | None, dict[int, int]]:
    """The largest batch ``b`` with ``estimate(b) <= budget`` (``estimate`` grows with the
    batch), and every estimate taken. An affine first guess from batches 1 and 2, then
    bisection between a batch that fits and one that does not."""
    seen: dict[int, int] = {}

    def at(batch: int) -> int:
        if batch not in seen:
            seen[batch] = estimate(batch)
        return seen[batch]

    if at(1) > budget:
        return None, seen
    per_item = at(2) - at(1)
    guess = MAX_BATCH if per_item <= 0 else max(1, min(MAX_BATCH, 1 + (budget - at(1)) // per_item))
    # Bracket the answer from the guess, doubling the step: low fits, high does not.
    step = 1
    if at(guess) <= budget:
        low = guess
        while True:
            if low == MAX_BATCH:
                return MAX_BATCH, seen
            high = min(MAX_BATCH, low + step)
            if at(high) > budget:
                break
            low, step = high, 2 * step
    else:
        high = guess
        while True:
            low = max(1, high - step)
            if at(low) <= budget:
                break
            high, step = low, 2 * step
    while high - low > 1:
        middle = (low + high) // 2
        if at(middle) <= budget:
            low = middle
        else:
            high = middle
    return low, seen


def fit(model: str, budget_bytes: int, *, input_sizes: Sequence[tuple[int, ...] | None] = (None,),
        mode: str = "train", optimizer: str | None = None, dtype: str | None = None, budget_source: str = "given",
        options: dict[str, Any] | None = None, confirm_on=None) -> FitResult:
    """For each input size (None: the model's own), the largest batch whose static peak
    estimate (``mode``; training with ``optimizer``'s state) fits ``budget_bytes``; with
    ``confirm_on`` (a CPU or CUDA ``torch.device``) one real step at that batch checks it.
    ``dtype`` converts the model; None keeps its own (float32 for a named model)."""
    from cnnstat.analysis.measure import check_optimizer

    check_optimizer(optimizer, mode)
    if budget_bytes <= 0:
        raise CnnstatError(f"the memory budget must be more than 0 bytes, got {budget_bytes}")
    if not input_sizes:
        raise CnnstatError("fit needs at least one input size (None: the model's own)")
    points, notes, validated, name = [], [], True, model
    for size in input_sizes:
        reports: dict[int, Report] = {}

        def estimate(batch: int) -> int:
            reports[batch] = profile(model, size, batch=batch, mode=mode, dtype=dtype, options=options)
            peak = peak_estimate(reports[batch], optimizer)
            if peak is None:  # no training step at this input: the report's notes say why
                raise CnnstatError(f"{model}: no {mode} memory estimate at batch {batch}: "
                                   f"{'; '.join(reports[batch].notes) or 'the training step failed'}")
            return peak

        batch, seen = largest_batch(estimate, budget_bytes)
        first = reports[1]
        name, validated, computed_in = first.model, validated and first.memory_validated, first.dtype
        notes += [note for note in first.notes if note not in notes]
        shape = tuple(first.input_shape[1:])
        if batch is None:
            points.append(FitPoint(shape, None, seen[1], None, None))
            continue
        confirmation = confirm(reports[batch], optimizer, confirm_on, budget_bytes) if confirm_on is not None else None
        point_notes = () if batch < MAX_BATCH else (f"batch {MAX_BATCH:,} (the largest searched) fits",)
        points.append(FitPoint(shape, batch, seen[batch], seen.get(batch + 1), budget_bytes - seen[batch],
                               confirmation, point_notes))
    return FitResult(name, mode, optimizer, computed_in, budget_bytes, budget_source, tuple(points), validated, tuple(notes))


def confirm(report: Report, optimizer: str | None, device, budget_bytes: int) -> Confirmation:
    """One real step of the report's model at its batch on ``device``: its measured peak."""
    from cnnstat.analysis.measure import make_optimizer, make_step, out_of_memory_as_error, step_peak_bytes

    what = f"{report.model} at batch {report.batch}"
    recipe = report.recipe
    if recipe is None:
        raise CnnstatError(f"{report.model}: a module passed in cannot be built again for a real step")
    with out_of_memory_as_error(device, what):
        model = recipe.build(device).train(report.mode == "train")
        inputs = recipe.inputs(device)
        torch_optimizer = make_optimizer(optimizer, model)
        step = make_step(model, inputs, report.mode, torch_optimizer)
        if torch_optimizer is not None:
            step()  # the optimizer's state is made by its first step: the peak is the next one's
        peak = step_peak_bytes(model, inputs, step, device, torch_optimizer)
    return Confirmation(str(device), peak, peak <= budget_bytes)

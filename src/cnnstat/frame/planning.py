"""Planning a training run -> views: ``cnnstat fit``'s answer (``cnnstat.analysis.fit.FitResult``, one
row per input size) and ``cnnstat checkpoint``'s what-if (``cnnstat.analysis.checkpointing``, one row per block)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from cnnstat.figures import group
from cnnstat.frame.view import Facts, View

if TYPE_CHECKING:
    from cnnstat.analysis.checkpointing import CheckpointResult
    from cnnstat.analysis.fit import FitResult


def fit_rows(result: FitResult) -> list[dict[str, Any]]:
    return [{"input_size": point.input_size, "batch": point.batch, "est_peak_bytes": point.est_peak_bytes,
             "headroom_bytes": point.headroom_bytes, "next_est_peak_bytes": point.next_est_peak_bytes,
             "measured_peak_bytes": point.confirmation.measured_peak_bytes if point.confirmation else None}
            for point in result.points]


def fit_view(result: FitResult, title: Sequence[str], notes: Sequence[str]) -> View:
    """``title`` and ``notes``: the sentences ``cnnstat.render.fit`` writes of the result."""
    return View(group("fit"), fit_rows(result), Facts(title=list(title), notes=list(notes)))


def checkpoint_view(result: CheckpointResult, title: Sequence[str], notes: Sequence[str]) -> View:
    rows = [{"block": what_if.block, "saved_peak_bytes": what_if.saved_peak_bytes,
             "checkpointed_peak_bytes": what_if.checkpointed_peak_bytes, "recomputed_macs": what_if.recomputed_macs,
             "recomputed_share": 100 * what_if.recomputed_share} for what_if in result.blocks]
    return View(group("checkpoint"), rows, Facts(title=list(title), notes=list(notes)))

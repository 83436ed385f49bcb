"""torchvision's published figures beside ours, model by model (reports/torchvision.md).

Each torchvision weights entry publishes ``num_params`` and ``_ops``: MACs of conv, linear and
matmul in G, to three decimals, counted with torchvision's own dispatch counter on its
preprocessing of a noise image (16 frames for video, 512 x 512 pairs for optical flow, the
model's resize size for detection). Where ours differs, the row says why, by a named convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnstat.zoo import _torchvision

if TYPE_CHECKING:
    from cnnstat.analysis.report import Report


@dataclass(frozen=True)
class Published:
    name: str
    task: str
    weights: str
    params: int
    gmacs: float


def published_figures(name: str) -> Published:
    from cnnstat.zoo._torchvision_compat import import_torchvision

    torchvision = import_torchvision()
    weights = torchvision.models.get_model_weights(name).DEFAULT
    builder = torchvision.models.get_model_builder(name)
    return Published(name, _torchvision.task_of(builder), str(weights), weights.meta["num_params"],
                     weights.meta["_ops"])


def boxes_to_roi_heads(report) -> int | None:
    """How many boxes reached a two-stage detector's box head (None for other models)."""
    pools = [layer for layer in report.layers if layer.name.endswith("box_roi_pool")]
    return sum(layer.output_shapes[0][0] for layer in pools) if pools else None


def convention(published: Published, report) -> str:
    """Why our figures differ from the published ones, or "" where they agree."""
    reasons = []
    if report.totals.params != published.params and published.task == "quantization":
        reasons.append(f"torchvision publishes the float model's num_params ({published.params:,}), counted before "
                       "the quantized builder drops its aux head")
    if round(report.totals.macs / 1e9, 3) != published.gmacs:
        boxes = boxes_to_roi_heads(report)
        if boxes is not None:
            heads = sum(part.macs for part in report.parts if part.name == "roi_heads")
            reasons.append(
                f"the ROI heads' cost follows how many boxes the RPN keeps, which depends on the weights: here "
                f"{boxes} from untrained weights ({heads / 1e9:.3f} G), in torchvision's figure those its trained "
                f"weights keep on a noise image; without the ROI heads: {(report.totals.macs - heads) / 1e9:.3f} G")
        else:
            reasons.append("unexplained")
    return "; ".join(reasons)


def one_input_size(report: Report) -> tuple[int, ...]:
    """The size of one input without the batch: a detector takes a list of unbatched images."""
    takes_list = report.recipe is not None and report.recipe.takes_list
    return report.input_shapes[0] if takes_list else report.input_shapes[0][1:]


def catalogue_row(name: str) -> dict[str, Any]:
    """One model of the catalogue at its published input: both figures, and how ours was counted."""
    from cnnstat.analysis.report import profile

    published = published_figures(name)
    report = profile(f"torchvision:{name}")
    return {
        "model": name,
        "task": published.task,
        "weights": published.weights.partition(".")[2],
        "input_size": list(one_input_size(report)),
        "inputs": len(report.input_shapes),
        "published_params": published.params,
        "params": report.totals.params,
        "published_gmacs": published.gmacs,
        "gmacs": report.totals.macs / 1e9,
        "macs": report.totals.macs,
        "counted_on": report.device,
        "convention": convention(published, report),
    }


def catalogue() -> list[str]:
    from cnnstat.zoo._torchvision_compat import import_torchvision

    return import_torchvision().models.list_models()

"""Cost per part of a model assembled from parts, such as a detection model: where its MACs go
(backbone, FPN, RPN, ROI heads), the rows users look for first."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from cnnstat.analysis.records import LayerRecord

SPLIT = ("body", "fpn")
"""A backbone with a feature pyramid (torchvision's BackboneWithFPN) counts as these two parts."""


@dataclass
class Part:
    name: str
    """The module's qualified name; "" for the model's own ops outside every part."""
    type: str
    params: int
    macs: int
    flops: int


def part_names(model: nn.Module) -> list[str]:
    """The top-level children, a backbone with a feature pyramid split into body and FPN."""
    names = []
    for name, child in model.named_children():
        children = dict(child.named_children())
        if all(part in children for part in SPLIT):
            names += [f"{name}.{part}" for part in SPLIT]
            names += [f"{name}.{other}" for other in children if other not in SPLIT]
        else:
            names.append(name)
    return names


def parts_of(model: nn.Module, records: list[LayerRecord]) -> list[Part]:
    """Each part's parameters and its MACs/FLOPs summed over its calls, then the work of
    the modules above the parts that no part holds (e.g. a detector's box decoding)."""
    names = part_names(model)
    parts = {name: Part(name, "", 0, 0, 0) for name in names}
    for record in records:
        part = parts.get(record.name)
        if part is None:
            continue
        part.type = record.type
        part.params += record.params
        part.macs += record.macs
        part.flops += record.flops
    shown = [part for part in parts.values() if part.type]
    root = records[0]
    outside = Part("", root.type, root.params - sum(p.params for p in shown),
                   root.macs - sum(p.macs for p in shown), root.flops - sum(p.flops for p in shown))
    return shown + ([outside] if outside.macs or outside.params else [])

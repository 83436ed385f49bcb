"""torchvision's models as their published weights describe them, without the weights.

A builder given weights changes the architecture to match them (GoogLeNet drops its aux
heads, ViT-H/14 SWAG takes 518 x 518 images, detection backbones freeze their BatchNorm,
segmentation models add the aux head) and then downloads them. Here the builder runs with
the weights entry but every read of the weights file is skipped: the architecture is the
published one, the parameters keep their initial values, and nothing touches the network.
``--set weights=None`` keeps the builder's own defaults; ``--set weights=NAME`` picks another
entry (e.g. ``IMAGENET1K_SWAG_LINEAR_V1``).

The default input follows the weights' preprocessing: the crop (or resize) size of
``weights.transforms()``, 16 frames for video (torchvision's convention for its published
figures), two images for optical flow, and one image of the size a detection model resizes
to for detection models (which take a list of images).
"""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass
from typing import Any, Iterator

from torch import nn

from cnnstat.errors import CnnstatError
from cnnstat.zoo._hub import check_hub_model

VIDEO_FRAMES = 16
"""Frames of a video clip, as torchvision counts its video models' published figures."""
OPTICAL_FLOW_SIZE = 512
"""Image side of an optical-flow pair, as torchvision counts RAFT's published figures."""


@dataclass
class TorchvisionModel:
    module: nn.Module
    input_sizes: tuple[tuple[int, ...], ...]
    """Each positional input's size without batch."""
    takes_list: bool
    """The model takes a list of images (detection) rather than a batch tensor."""
    task: str
    """classification, quantization, segmentation, detection, video or optical_flow."""
    weights: Any
    """The weights entry whose architecture was built (None: the builder's defaults)."""
    note: str


class _NotRead(dict):
    """What a weights entry returns instead of its file: an empty state dict to skip loading."""


@contextlib.contextmanager
def _weights_not_read(torchvision) -> Iterator[None]:
    """Within: ``WeightsEnum.get_state_dict`` returns a ``_NotRead`` and ``load_state_dict``
    of one does nothing, so a builder given weights builds their architecture only."""
    enum = torchvision.models.WeightsEnum
    original_get, original_load = enum.get_state_dict, nn.Module.load_state_dict

    def get_state_dict(self, *args, **kwargs):
        return _NotRead()

    def load_state_dict(module, state_dict, *args, **kwargs):
        if isinstance(state_dict, _NotRead):
            return None
        return original_load(module, state_dict, *args, **kwargs)

    # Replaced for the with-block only, and put back after it.
    enum.get_state_dict, nn.Module.load_state_dict = get_state_dict, load_state_dict  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        enum.get_state_dict, nn.Module.load_state_dict = original_get, original_load  # type: ignore[method-assign]


def task_of(builder) -> str:
    """torchvision's module of the builder: ``torchvision.models.detection.faster_rcnn`` -> detection."""
    parts = builder.__module__.split(".")
    return parts[2] if len(parts) > 3 else "classification"


def _pick_weights(spec: str, torchvision, name: str, options: dict[str, Any]):
    entries = torchvision.models.get_model_weights(name)
    if "weights" not in options:
        return getattr(entries, "DEFAULT", None)
    chosen = options.pop("weights")
    if chosen is None or not isinstance(chosen, str):
        return chosen
    known = [entry.name for entry in entries]
    if chosen.rpartition(".")[2] not in known:
        raise CnnstatError(f"{spec}: {name} has no weights {chosen!r}; choose one of {', '.join(known)} or None")
    return entries[chosen.rpartition(".")[2]]


def build(spec: str, torchvision, name: str, options: dict[str, Any]) -> TorchvisionModel:
    """torchvision's model ``name`` (``torchvision`` as ``import_torchvision`` returns it)."""
    check_hub_model(spec, "torchvision", name, torchvision.models.list_models())
    builder = torchvision.models.get_model_builder(name)
    task = task_of(builder)
    kwargs = dict(options)
    weights = _pick_weights(spec, torchvision, name, kwargs)
    published = weights
    if task == "quantization" and weights is not None and not kwargs.get("quantize"):
        # Quantized weights describe a quantized model; the float model they were made from (the
        # one the builder builds unless quantize=True, and whose figures they publish) takes
        # the weights they were quantized from.
        weights = weights.meta["unquantized"]
    kwargs["weights"] = weights
    if "weights_backbone" in inspect.signature(builder).parameters:
        kwargs.setdefault("weights_backbone", None)
    with _weights_not_read(torchvision):  # stdout already goes to stderr (loader._call)
        try:
            module = builder(**kwargs)
        except ValueError as error:
            if weights is None:
                raise
            raise ValueError(f"{error} (the published {weights} fix it; --set weights=None builds "
                             "the builder's defaults)") from None
    return TorchvisionModel(module, _input_sizes(task, weights, module), task == "detection", task, published,
                            _note(name, published))


def _note(name: str, weights) -> str:
    if weights is None:
        return f"torchvision {name}: the builder's defaults, no weights loaded"
    return (f"torchvision {name}: the architecture of its published weights {weights} (no weights loaded; "
            "--set weights=None for the builder's defaults)")


def _input_sizes(task: str, weights, module: nn.Module) -> tuple[tuple[int, ...], ...]:
    if task == "detection":
        transform: Any = module.transform  # every detection model's GeneralizedRCNNTransform
        side = transform.min_size[-1]
        return ((3, side, side),)
    if task == "optical_flow":
        return ((3, OPTICAL_FLOW_SIZE, OPTICAL_FLOW_SIZE),) * 2
    side = _image_side(weights, module)
    if task == "video":
        return ((3, VIDEO_FRAMES, side, side),)
    return ((3, side, side),)


def _image_side(weights, module: nn.Module) -> int:
    """The side the weights' preprocessing feeds the model; without weights, the size the model
    was built for (ViT's ``image_size``), else 224."""
    if weights is None:
        return int(getattr(module, "image_size", 224))
    transforms = weights.transforms()
    size = getattr(transforms, "crop_size", None) or transforms.resize_size
    return int(size[0])

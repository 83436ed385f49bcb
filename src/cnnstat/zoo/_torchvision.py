"""torchvision's models as their published weights describe them, without the weights.

A builder given weights changes the architecture to match them (GoogLeNet drops its aux
heads, ViT-H/14 SWAG takes 518 x 518 images, detection backbones freeze their BatchNorm,
segmentation models add the aux head) and then downloads them. Here the builder runs with
``weights=None`` and the options those weights would set (``published_options``; detection
backbones then take torchvision's ``FrozenBatchNorm2d``): the architecture is the published
one, the parameters keep their initial values, and nothing touches the network.
``--set weights=None`` keeps the builder's own defaults; ``--set weights=NAME`` picks another
entry (e.g. ``IMAGENET1K_SWAG_LINEAR_V1``).

The default input follows the weights' preprocessing: the crop (or resize) size of
``weights.transforms()``, 16 frames for video (torchvision's convention for its published
figures), two images for optical flow, and one image of the size a detection model resizes
to for detection models (which take a list of images).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping

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


PUBLISHED_DEFAULTS: dict[str, dict[str, Any]] = {
    "googlenet": {"transform_input": True, "aux_logits": False, "init_weights": False},
    "quantization.googlenet": {"transform_input": True, "aux_logits": False, "init_weights": False},
    "inception": {"transform_input": True, "init_weights": False},
    "quantization.inception": {"transform_input": True, "aux_logits": False, "init_weights": False},
}
"""What a builder given weights defaults to (a user's own value wins), by the builder's module
under ``torchvision.models``: GoogLeNet and the quantizable Inception drop the aux heads their
weights were trained with, all normalise the input as the weights expect and skip the random
initialisation the weights would replace."""
PUBLISHED_FIXED: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "vision_transformer": lambda meta: {"image_size": meta["min_size"][0]},
    "segmentation.fcn": lambda meta: {"aux_loss": True},
    "segmentation.deeplabv3": lambda meta: {"aux_loss": True},
    "detection.keypoint_rcnn": lambda meta: {"num_keypoints": len(meta["keypoint_names"])},
}
"""What a builder given weights sets from their meta whatever it is told (every builder: the
number of classes, where the weights have categories)."""
FROZEN_BACKBONE = frozenset({"fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn",
                             "fasterrcnn_mobilenet_v3_large_320_fpn", "fcos_resnet50_fpn", "maskrcnn_resnet50_fpn",
                             "retinanet_resnet50_fpn", "keypointrcnn_resnet50_fpn"})
"""Detection builders whose backbone, built for trained weights, normalises with
``FrozenBatchNorm2d`` (fixed statistics and affine values: buffers, not parameters)."""


def published_options(spec: str, builder, weights, options: Mapping[str, Any]) -> dict[str, Any]:
    """The builder's options for the architecture of ``weights``, as the builder given them would
    set them (torchvision's ``_ovewrite_named_param``), with ``weights=None``: nothing is read. A
    user's option that contradicts a fixed one is refused, as the builder refuses it."""
    family = builder.__module__.removeprefix("torchvision.models.")
    fixed = PUBLISHED_FIXED.get(family, lambda meta: {})(weights.meta)
    if "categories" in weights.meta:
        fixed["num_classes"] = len(weights.meta["categories"])
    if "backend" in weights.meta:  # a quantized model's weights: the engine they were quantized for
        fixed["backend"] = weights.meta["backend"]
    for name, value in fixed.items():
        if name in options and options[name] != value:
            raise CnnstatError(f"{spec}: the published {weights} set {name}={value!r}, not {options[name]!r}; "
                               "--set weights=None builds the builder's defaults")
    return {**PUBLISHED_DEFAULTS.get(family, {}), **options, **fixed, "weights": None}


def freeze_backbone_norms(module: nn.Module) -> None:
    """The detection backbone's ``BatchNorm2d`` layers as ``FrozenBatchNorm2d``, as a builder
    given trained weights makes them."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    body = module.get_submodule("backbone.body")  # every FROZEN_BACKBONE model's
    for name, child in list(body.named_modules()):
        if isinstance(child, nn.BatchNorm2d):  # made on the device the model is built on (loader)
            parent_name, _, attribute = name.rpartition(".")
            setattr(body.get_submodule(parent_name), attribute, FrozenBatchNorm2d(child.num_features, child.eps))


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
    if weights is not None:
        kwargs = published_options(spec, builder, weights, kwargs)
    if "weights_backbone" in inspect.signature(builder).parameters:
        kwargs.setdefault("weights_backbone", None)
    module = builder(**kwargs)  # stdout already goes to stderr (loader._call)
    if weights is not None and name in FROZEN_BACKBONE:
        freeze_backbone_norms(module)
    return TorchvisionModel(module, _input_sizes(task, weights, module), task == "detection", task, published,
                            _note(name, published,
                                  freezes_layers="trainable_backbone_layers" in inspect.signature(builder).parameters))


def _note(name: str, weights, freezes_layers: bool) -> str:
    if weights is None:
        return f"torchvision {name}: the builder's defaults, no weights loaded"
    trainable = ("; every backbone layer trainable, as without weights (the builder given them freezes the "
                 "first ones)") if freezes_layers else ""
    return (f"torchvision {name}: the architecture of its published weights {weights} (no weights loaded; "
            f"--set weights=None for the builder's defaults){trainable}")


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

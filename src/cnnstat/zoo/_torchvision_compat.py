"""Import torchvision where its compiled operators cannot load.

torchvision's wheels on PyPI are built against CUDA builds of torch. Beside a CPU-only torch
(the quick start's ``torch==2.13.0``) their extension fails to load (it needs
``libc10_cuda.so``), and then:

* ``import torchvision`` itself raises (0.28: ``_meta_registrations`` registers fake kernels for
  ``torchvision::nms`` and ``qnms`` whether or not the extension defined those operators),
  in cnnstat and in any code that imports it: timm, a user's model file;
* ``torchvision.ops.nms`` has no fallback, so no detection model runs;
* ``roi_align`` falls back to a pure-Python version wrapped in ``torch.compile`` that samples
  every pixel of the feature map when the sampling grid is adaptive.

``import_torchvision()`` lets torchvision try first: where its import succeeds with its own
operators (whatever its extension is called: ``_C`` up to 0.28, ``_C_stable`` from 0.29), it
returns torchvision untouched and nothing here is defined. Only where torchvision's own attempt
found no ``torchvision::nms`` does it define, in the ``torchvision`` operator namespace, the
operators that torchvision's models call, written in torch and checked against brute-force
references (tests/zoo/test_torchvision_compat.py):

* ``nms`` / ``qnms``: greedy non-maximum suppression, computed as torchvision's CPU kernel does;
* ``roi_align``: bilinear sampling averaged per bin, as torchvision's CPU kernel does,
  with the sampling weights split into rows and columns (memory: one box at a time).

and tells torchvision's ops modules that their operators are there. By then torchvision's own
extension has already failed to load, so nothing can register these operators a second time.
Operators no model of ``torchvision.models`` uses (``roi_pool``, ``ps_roi_align``,
``deform_conv2d`` ...) stay missing, with torch's "no such operator" error.

cnnstat calls it for what it builds: a ``torchvision:`` spec, a ``timm:`` spec (timm imports
torchvision), and a user's model file or module whose ``import torchvision`` failed (the file is
then run again). ``cnnstat.profile(module)`` of a module the caller built never calls it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

import torch

_LIBRARY: torch.library.Library | None = None
"""The operator definitions (kept alive: a Library's definitions go with it)."""

SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "roi_align": "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
                 "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor",
}


def import_torchvision(name: str = "torchvision") -> ModuleType:
    """``torchvision`` with ``torchvision.models`` imported, its operators defined here only
    when its own import found none. ImportError when torchvision is not installed.
    (``name`` is there to be called as ``importlib.import_module`` is.)"""
    try:
        torchvision = importlib.import_module("torchvision")
    except ImportError:
        raise
    except Exception:
        if own_operators_load():
            raise  # a failure of another kind: torchvision's own, to be seen as it is
        # Its extension did not load, and its import stopped where it needs the operators.
        define_operators()
        torchvision = importlib.import_module("torchvision")
    if not own_operators_load():
        define_operators()
    importlib.import_module("torchvision.models")
    if _LIBRARY is not None:
        _announce_operators()
    return torchvision


def import_torchvision_if_installed() -> bool:
    """``import_torchvision()`` where torchvision is installed and not imported yet: before
    code that imports it (timm does), or after such code failed at its ``import torchvision``.
    True when the operators had to be defined here now (code that failed can then run again);
    a torchvision that fails for another reason is left for that code to meet."""
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is None:
        return False
    defined_before = _LIBRARY is not None
    try:
        import_torchvision()
    except Exception:
        return False
    return not defined_before and _LIBRARY is not None


def own_operators_load() -> bool:
    """Whether ``torchvision::nms`` is an operator that this module did not define (after
    torchvision's import tried to load its extension)."""
    return _LIBRARY is None and hasattr(torch.ops.torchvision, "nms")


def define_operators() -> None:
    global _LIBRARY
    if _LIBRARY is not None:
        return
    library = torch.library.Library("torchvision", "DEF")
    for name, schema in SCHEMAS.items():
        library.define(schema)
    library.impl("nms", nms, "CPU")
    library.impl("qnms", qnms, "CPU")
    library.impl("roi_align", roi_align, "CPU")
    _LIBRARY = library


def _announce_operators() -> None:
    """torchvision asks ``_has_ops()`` (bound into each ops module at import) before calling an
    operator; answer yes in the modules whose operators are defined here."""
    boxes = importlib.import_module("torchvision.ops.boxes")
    # Not the attribute torchvision.ops.roi_align: that is the function, which shadows its module.
    roi_align_module = importlib.import_module("torchvision.ops.roi_align")

    def defined() -> bool:
        return True

    def check() -> None:
        return None

    setattr(boxes, "_assert_has_ops", check)
    setattr(roi_align_module, "_has_ops", defined)
    setattr(roi_align_module, "_assert_has_ops", check)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the boxes kept, highest score first: a box is dropped when its IoU with a kept,
    higher-scoring box exceeds ``iou_threshold``. Boxes are (x1, y1, x2, y2); as torchvision's CPU
    kernel: the same sort, areas without +1, IoU = inter / (area_i + area_j - inter)."""
    if boxes.dim() != 2 or boxes.size(1) != 4 or scores.dim() != 1 or scores.size(0) != boxes.size(0):
        raise RuntimeError(f"nms: expected boxes N x 4 and scores N, got {tuple(boxes.shape)} and {tuple(scores.shape)}")
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.long, device=boxes.device)
    order = scores.sort(0, descending=True)[1]
    ordered = boxes[order]
    x1, y1, x2, y2 = ordered.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    width = (torch.minimum(x2[:, None], x2[None, :]) - torch.maximum(x1[:, None], x1[None, :])).clamp(min=0)
    height = (torch.minimum(y2[:, None], y2[None, :]) - torch.maximum(y1[:, None], y1[None, :])).clamp(min=0)
    inter = width * height
    suppresses = (inter / (areas[:, None] + areas[None, :] - inter) > iou_threshold).triu(diagonal=1)
    # Greedy over the kept boxes only: each keeps the first box left and drops what it overlaps.
    left = torch.ones(len(order), dtype=torch.bool, device=boxes.device)
    kept = []
    while True:
        remaining = left.nonzero()
        if remaining.numel() == 0:
            break
        first = int(remaining[0, 0])
        kept.append(first)
        left[first] = False
        left &= ~suppresses[first]
    return order[torch.tensor(kept, dtype=torch.long, device=boxes.device)]


def qnms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS of quantized boxes' integer values: IoU does not change with the scale, and the zero
    point cancels in the differences it is made of."""
    return nms(boxes.to(torch.float32), scores.to(torch.float32), iou_threshold)


def _axis_weights(start: torch.Tensor, bin_size: torch.Tensor, grid: torch.Tensor, bins: int, size: int,
                  max_grid: int) -> torch.Tensor:
    """Per box, the weight each feature-map row (or column) gets in each output bin: the bilinear
    weights of the bin's sample points, summed (K x bins x size). A sample beyond [-1, size] adds
    nothing; one below 0 is read at 0, one past the last row at the last row (as the kernel)."""
    boxes = start.shape[0]
    step = torch.arange(max_grid, device=start.device, dtype=start.dtype)
    in_grid = step[None, :] < grid[:, None]  # K x G: adaptive grids differ per box
    position = (start[:, None, None] + torch.arange(bins, device=start.device, dtype=start.dtype)[None, :, None]
                * bin_size[:, None, None] + (step[None, None, :] + 0.5) * (bin_size / grid)[:, None, None])
    valid = in_grid[:, None, :] & (position >= -1.0) & (position <= size)
    position = position.clamp(min=0)
    low = position.to(torch.long)
    at_edge = low >= size - 1
    low = torch.where(at_edge, size - 1, low)
    high = torch.where(at_edge, size - 1, low + 1)
    position = torch.where(at_edge, low.to(position.dtype), position)
    frac_high = position - low
    frac_low = 1.0 - frac_high
    weights = torch.zeros(boxes, bins, size, dtype=start.dtype, device=start.device)
    zero = torch.zeros((), dtype=start.dtype, device=start.device)
    weights.scatter_add_(2, low, torch.where(valid, frac_low, zero))
    weights.scatter_add_(2, high, torch.where(valid, frac_high, zero))
    return weights


def roi_align(input: torch.Tensor, rois: torch.Tensor, spatial_scale: float, pooled_height: int,
              pooled_width: int, sampling_ratio: int, aligned: bool) -> torch.Tensor:
    """RoIAlign (Mask R-CNN): each box (batch index, x1, y1, x2, y2) in ``rois``, scaled by
    ``spatial_scale``, split into pooled_height x pooled_width bins, each the mean of a grid of
    bilinear samples (``sampling_ratio`` per side, or ceil(box size / bins) when <= 0). Bilinear
    weights are a product of a row weight and a column weight, so a bin is row weights @ feature
    map @ column weights, over the rows and columns the box reaches."""
    if input.dim() != 4 or rois.dim() != 2 or rois.size(1) != 5:
        raise RuntimeError(f"roi_align: expected input N x C x H x W and rois K x 5, got {tuple(input.shape)} "
                           f"and {tuple(rois.shape)}")
    _, channels, height, width = input.shape
    output = input.new_zeros((rois.size(0), channels, pooled_height, pooled_width))
    if rois.size(0) == 0:
        return output
    boxes = rois.to(input.dtype)
    offset = 0.5 if aligned else 0.0
    start_w, start_h, end_w, end_h = (boxes[:, i] * spatial_scale - offset for i in (1, 2, 3, 4))
    box_w, box_h = end_w - start_w, end_h - start_h
    if not aligned:
        box_w, box_h = box_w.clamp(min=1.0), box_h.clamp(min=1.0)
    bin_h, bin_w = box_h / pooled_height, box_w / pooled_width
    if sampling_ratio > 0:
        grid_h = torch.full_like(bin_h, sampling_ratio)
        grid_w = torch.full_like(bin_w, sampling_ratio)
    else:
        grid_h, grid_w = torch.ceil(box_h / pooled_height), torch.ceil(box_w / pooled_width)
    max_grid_h = max(int(grid_h.max()), 1)
    max_grid_w = max(int(grid_w.max()), 1)
    count = (grid_h * grid_w).clamp(min=1)
    rows = _axis_weights(start_h, bin_h, grid_h, pooled_height, height, max_grid_h)
    cols = _axis_weights(start_w, bin_w, grid_w, pooled_width, width, max_grid_w)
    batch_index = rois[:, 0].to(torch.long).tolist()
    row_reach, col_reach = rows.sum(1) != 0, cols.sum(1) != 0
    for k, image in enumerate(batch_index):
        row_span, col_span = row_reach[k].nonzero(), col_reach[k].nonzero()
        if row_span.numel() == 0 or col_span.numel() == 0:
            continue
        r0, r1 = int(row_span[0]), int(row_span[-1]) + 1
        c0, c1 = int(col_span[0]), int(col_span[-1]) + 1
        crop = input[image, :, r0:r1, c0:c1]
        output[k] = rows[k, :, r0:r1] @ crop @ cols[k, :, c0:c1].T / count[k]
    return output


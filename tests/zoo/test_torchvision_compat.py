"""The operators cnnstat defines for torchvision when its compiled extension does not load,
held against brute-force references written from the operators' definitions."""

import importlib.util
import json
import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from cnnstat.zoo import _torchvision_compat as compat
from tests.conftest import finish, start_console_script


def brute_force_nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float) -> list[int]:
    """The textbook greedy loop, one pair at a time, in Python floats."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    kept: list[int] = []
    for i in order:
        x1, y1, x2, y2 = map(float, boxes[i])
        for j in kept:
            a1, b1, a2, b2 = map(float, boxes[j])
            inter = max(0.0, min(x2, a2) - max(x1, a1)) * max(0.0, min(y2, b2) - max(y1, b1))
            union = (x2 - x1) * (y2 - y1) + (a2 - a1) * (b2 - b1) - inter
            if inter / union > threshold:
                break
        else:
            kept.append(i)
    return kept


def random_boxes(count: int, generator: torch.Generator) -> torch.Tensor:
    corner = torch.rand(count, 2, generator=generator) * 100
    size = torch.rand(count, 2, generator=generator) * 40 + 1
    return torch.cat([corner, corner + size], 1)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_keeps_what_the_greedy_loop_keeps(seed, threshold):
    generator = torch.Generator().manual_seed(seed)
    boxes = random_boxes(200, generator)
    scores = torch.rand(200, generator=generator)
    kept = compat.nms(boxes, scores, threshold)
    assert kept.dtype == torch.long
    assert kept.tolist() == brute_force_nms(boxes, scores, threshold)


def test_nms_of_no_boxes_and_of_identical_boxes():
    assert compat.nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []
    same = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 3)
    assert compat.nms(same, torch.tensor([0.1, 0.9, 0.5]), 0.5).tolist() == [1]


def test_qnms_is_nms_of_the_integer_values():
    """torchvision passes qnms the uint8 values of quantized boxes and scores."""
    generator = torch.Generator().manual_seed(7)
    boxes = random_boxes(50, generator).round().clamp(max=255)
    scores = torch.randperm(50, generator=generator)
    kept = compat.qnms(boxes.to(torch.uint8), scores.to(torch.uint8), 0.5)
    assert kept.tolist() == brute_force_nms(boxes, scores.float(), 0.5)


def bilinear(image: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """One sample of a C x H x W map, as RoIAlign (Mask R-CNN) defines it: zero beyond a pixel
    outside the map, the border pixel just past it."""
    height, width = image.shape[1:]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return torch.zeros(image.shape[0], dtype=torch.float64)
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = min(int(y), height - 1), min(int(x), width - 1)
    y1, x1 = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
    if y0 == height - 1:
        y = float(y0)
    if x0 == width - 1:
        x = float(x0)
    ly, lx = y - y0, x - x0
    image = image.double()
    return ((1 - ly) * (1 - lx) * image[:, y0, x0] + (1 - ly) * lx * image[:, y0, x1]
            + ly * (1 - lx) * image[:, y1, x0] + ly * lx * image[:, y1, x1])


def brute_force_roi_align(features, rois, scale, pooled, sampling_ratio, aligned):
    out = torch.zeros(len(rois), features.shape[1], pooled, pooled, dtype=torch.float64)
    for k, (index, *box) in enumerate(rois.tolist()):
        offset = 0.5 if aligned else 0.0
        x1, y1, x2, y2 = (v * scale - offset for v in box)
        width, height = x2 - x1, y2 - y1
        if not aligned:
            width, height = max(width, 1.0), max(height, 1.0)
        bin_h, bin_w = height / pooled, width / pooled
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(height / pooled)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(width / pooled)
        for ph in range(pooled):
            for pw in range(pooled):
                total = torch.zeros(features.shape[1], dtype=torch.float64)
                for iy in range(grid_h):
                    for ix in range(grid_w):
                        y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                        x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                        total += bilinear(features[int(index)], y, x)
                out[k, :, ph, pw] = total / max(grid_h * grid_w, 1)
    return out


@pytest.mark.parametrize("sampling_ratio", [2, 0])
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_matches_the_definition(sampling_ratio, aligned):
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(2, 3, 12, 16, generator=generator)
    boxes = random_boxes(6, generator) * 0.3 - 2  # some past the map's edges
    rois = torch.cat([torch.tensor([[0.0], [1.0], [0.0], [1.0], [1.0], [0.0]]), boxes], 1)
    got = compat.roi_align(features, rois, 0.5, 4, 4, sampling_ratio, aligned)
    expected = brute_force_roi_align(features, rois, 0.5, 4, sampling_ratio, aligned)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.torchvision
def test_torchvision_ops_run_through_them():
    """Where torchvision's extension does not load (a CUDA wheel beside a CPU torch), its
    nms and roi_align reach the operators above; where it loads (torch 2.14.1 beside
    torchvision 0.29.1, whose extension is ``_C_stable``), its own, and nothing is defined here."""
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed")
    torchvision = compat.import_torchvision()
    generator = torch.Generator().manual_seed(11)
    boxes, scores = random_boxes(100, generator), torch.rand(100, generator=generator)
    assert torchvision.ops.nms(boxes, scores, 0.5).tolist() == brute_force_nms(boxes, scores, 0.5)
    features = torch.randn(1, 2, 8, 8, generator=generator)
    rois = torch.tensor([[0.0, 1.0, 1.5, 6.0, 7.0]])
    with OpLog() as log:
        pooled = torchvision.ops.roi_align(features, rois, 3, 1.0, 2, True)
    torch.testing.assert_close(pooled.double(), brute_force_roi_align(features, rois, 1.0, 3, 2, True),
                               rtol=1e-5, atol=1e-5)
    assert log.ops == ["torchvision.roi_align.default"]  # one operator, not a compiled Python fallback
    assert (compat._LIBRARY is None) == torchvision.extension._has_ops()  # torchvision's own word


@pytest.mark.torchvision
def test_a_model_file_that_imports_torchvision(tmp_path):
    """In a fresh process, where the model file's ``import torchvision`` is the first: beside a
    CPU torch that import fails inside torchvision, and the file runs again once the operators
    are defined; beside its own torch it just runs."""
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed")
    (tmp_path / "net.py").write_text("import torchvision\n\n\ndef build():\n"
                                     "    return torchvision.models.resnet18(num_classes=10)\n")
    result = finish(start_console_script("summary", "net.py:build", "--input", "3x32x32", "--device", "meta",
                                         "--format", "json", cwd=tmp_path), check=True)
    assert json.loads(result.stdout)["totals"]["params"] == 11_181_642  # resnet18's 11,689,512 less 990 x 513 of the head


class OpLog(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))

"""A short description of a layer's configuration (`3x3 s2 g32`, `2x2 s2`, `512->1000`)."""

from __future__ import annotations

from torch import nn


_ONE_D = (nn.MaxPool1d, nn.AvgPool1d)
_THREE_D = (nn.MaxPool3d, nn.AvgPool3d)


def _size(value, dims: int = 2) -> str:
    """A kernel size in full, one size per spatial dimension: 3x3; 2 for a 1-d pool."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims
    return "x".join(str(v) for v in values)


def _setting(value) -> str:
    """A stride, padding or dilation: one number when all dimensions agree."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return str(values[0]) if len(set(values)) == 1 else "x".join(str(v) for v in values)


def _nontrivial(value, trivial) -> bool:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return any(v != trivial for v in values)


def describe(module: nn.Module) -> str:
    if isinstance(module, nn.modules.conv._ConvNd):
        parts = [_size(module.kernel_size)]
        if _nontrivial(module.stride, 1):
            parts.append(f"s{_setting(module.stride)}")
        if isinstance(module.padding, str) or _nontrivial(module.padding, 0):
            parts.append(f"p{module.padding if isinstance(module.padding, str) else _setting(module.padding)}")
        if _nontrivial(module.dilation, 1):
            parts.append(f"d{_setting(module.dilation)}")
        if module.groups > 1:
            parts.append("dw" if module.groups == module.in_channels == module.out_channels
                         else f"g{module.groups}")
        return " ".join(parts)
    if isinstance(module, nn.Linear):
        return f"{module.in_features}->{module.out_features}"
    if isinstance(module, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        dims = 1 if isinstance(module, _ONE_D) else 3 if isinstance(module, _THREE_D) else 2
        parts = [_size(module.kernel_size, dims)]
        if module.stride is not None and module.stride != module.kernel_size:
            parts.append(f"s{_setting(module.stride)}")
        return " ".join(parts)
    if isinstance(module, (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
        return f"->{_setting(module.output_size)}"
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return str(module.num_features)
    if isinstance(module, nn.Dropout):
        return f"p={module.p}"
    return ""

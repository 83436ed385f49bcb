"""Output shapes of the ops whose meta kernels torch writes in Python.

On the meta device, batch norm and its backward run torch's Python decompositions: a dozen
elementwise references each, with dtype promotion and broadcasting checks, which make them
most of a static pass's time (and import ``torch._dynamo`` on first use). Here the same outputs
(shape, strides, dtype) are allocated directly. A rule returns ``None`` for a case it does not
cover (a layout that is not dense), and the op then runs torch's own meta kernel;
tests/analysis/test_meta_shapes.py holds every rule equal to torch's kernel.
"""

from __future__ import annotations

from typing import Callable

import torch

aten = torch.ops.aten


def _is_dense(tensor: torch.Tensor) -> bool:
    return tensor.is_contiguous() or (tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last))


def _is_row_major(tensor: torch.Tensor) -> bool:
    """Strides in decreasing order over the dimensions that are neither size 1 nor broadcast:
    an elementwise result of such a tensor (a slice, an expand) is a contiguous tensor."""
    strides = [stride for size, stride in zip(tensor.shape, tensor.stride()) if size > 1 and stride > 0]
    return all(a > b for a, b in zip(strides, strides[1:]))


def _same_strides(tensor: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    # Not torch.empty_like: on meta it runs a Python reference that imports sympy (half a second).
    return torch.empty_strided(tensor.shape, tensor.stride(), dtype=dtype or tensor.dtype, device=tensor.device)


def _like(tensor: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor | None:
    """The output of an elementwise op on ``tensor``: its layout if dense, else contiguous."""
    dtype = dtype or tensor.dtype
    if _is_dense(tensor):
        return _same_strides(tensor, dtype)
    if _is_row_major(tensor):
        return torch.empty(tensor.shape, dtype=dtype, device=tensor.device)
    return None


def _statistics_dtype(dtype: torch.dtype) -> torch.dtype:
    # Half-precision statistics are kept in float32, as the kernels accumulate.
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _channel_vector(input: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return torch.empty((input.shape[1],), dtype=dtype, device=input.device)


def _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    output = _like(input)
    if input.dim() < 2 or output is None:
        return None
    if training and input.numel() <= input.shape[1] or not training and (running_mean is None or running_var is None):
        return None  # torch's kernel raises the error (one value per channel, no statistics)
    statistics = _statistics_dtype(input.dtype)
    return output, _channel_vector(input, statistics), _channel_vector(input, statistics)


def _batch_norm_backward(grad_out, input, weight, running_mean, running_var, save_mean, save_invstd,
                         train, eps, output_mask):
    grad_input = _elementwise(grad_out, input)
    if input.dim() < 2 or grad_input is None:
        return None
    parameter_dtype = weight.dtype if weight is not None else input.dtype
    grad_weight = _channel_vector(input, parameter_dtype) if output_mask[1] else None
    grad_bias = _channel_vector(input, parameter_dtype) if output_mask[2] else None
    return grad_input, grad_weight, grad_bias


def _elementwise(*tensors) -> torch.Tensor | None:
    """The output of an elementwise op on tensors of one shape and dtype: laid out like them
    when they share strides, contiguous when each is row-major (e.g. a slice beside a
    contiguous tensor), otherwise left to torch."""
    first = tensors[0]
    if not all(isinstance(t, torch.Tensor) and (t.shape, t.dtype, t.device) == (first.shape, first.dtype, first.device)
               for t in tensors):
        return None
    if all(t.stride() == first.stride() for t in tensors):
        return _like(first)
    if all(_is_row_major(t) for t in tensors):
        return torch.empty(first.shape, dtype=first.dtype, device=first.device)
    return None


def _activation_backward(grad_output, saved, *scalars):
    """threshold_backward (ReLU), sigmoid_backward, hardtanh_backward and the like: the
    gradient has the layout of the incoming gradient."""
    if not (grad_output.is_floating_point() and all(type(s) in (int, float, bool) for s in scalars)):
        return None
    return _elementwise(grad_output, saved)


def _broadcasts_into(small: torch.Tensor, full: torch.Tensor) -> bool:
    """``small`` (contiguous) broadcasts to ``full`` (dense) without changing the order in which
    TensorIterator lays out the output: ``full``'s strides decrease over ``small``'s non-1 dims,
    as in a squeeze-and-excitation gate (N, C, 1, 1) times a feature map."""
    if small.dim() > full.dim() or not small.is_contiguous() or not _is_dense(full):
        return False
    offset = full.dim() - small.dim()
    kept = [offset + d for d, size in enumerate(small.shape) if size > 1]
    if any(small.shape[d - offset] != full.shape[d] for d in kept):
        return False
    strides = [full.stride(d) for d in kept]
    return all(a > b for a, b in zip(strides, strides[1:]))


def _binary_float(self, other):
    if isinstance(self, torch.Tensor) and self.is_floating_point() and type(other) in (int, float):
        return _like(self)  # a Python number: the tensor's dtype and layout
    if not (isinstance(self, torch.Tensor) and isinstance(other, torch.Tensor) and self.is_floating_point()
            and self.dtype == other.dtype and self.device == other.device):
        return None
    if self.shape == other.shape:
        return _elementwise(self, other)
    for full, small in ((self, other), (other, self)):
        if _broadcasts_into(small, full):
            return _same_strides(full)
    return None


def _binary_float_inplace(self, other):
    """x += y, x *= s: the result is ``self`` when ``other`` (a number, or a tensor of its dtype)
    broadcasts into it."""
    if not self.is_floating_point():
        return None
    if type(other) in (int, float):
        return self
    fits = (isinstance(other, torch.Tensor) and other.dtype == self.dtype and other.device == self.device
            and other.dim() <= self.dim()
            and all(o in (1, s) for o, s in zip(reversed(other.shape), reversed(self.shape))))
    return self if fits else None


def _is_activation_call(self, scalars) -> bool:
    return self.is_floating_point() and all(type(s) in (int, float, bool) for s in scalars)


def _unary_float(self, *scalars):
    """Activations: the output is laid out like the input; in-place variants return it."""
    return _like(self) if _is_activation_call(self, scalars) else None


def _unary_float_inplace(self, *scalars):
    covered = _is_activation_call(self, scalars) and (_is_dense(self) or _is_row_major(self))  # as _like
    return self if covered else None


def _cat(tensors, dim=0):
    first = tensors[0] if tensors else None
    if first is None or first.dim() == 0 or any(t.dtype != first.dtype or t.dim() != first.dim() for t in tensors):
        return None
    dim %= first.dim()
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1:] != first.shape[dim + 1:] for t in tensors):
        return None  # torch's kernel raises the error a user should see
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    if all(t.is_contiguous() for t in tensors):
        layout = torch.contiguous_format
    elif first.dim() == 4 and all(t.is_contiguous(memory_format=torch.channels_last) for t in tensors):
        layout = torch.channels_last
    else:
        return None
    return torch.empty(shape, dtype=first.dtype, device=first.device, memory_format=layout)


def _reduce_dims(self, dim=None, keepdim=False, dtype=None):
    """mean and sum over dimensions (a bias gradient, a global pool): torch's meta kernel returns
    them contiguous whatever the input's layout."""
    if not self.is_floating_point() or dtype not in (None, self.dtype) or self.dim() == 0:
        return None
    reduced = {d % self.dim() for d in dim} if dim else set(range(self.dim()))
    shape = [1 if d in reduced else size for d, size in enumerate(self.shape) if keepdim or d not in reduced]
    return torch.empty(shape, dtype=self.dtype, device=self.device)


def _mm(self, mat2):
    if not (self.dim() == mat2.dim() == 2 and self.shape[1] == mat2.shape[0] and self.dtype == mat2.dtype
            and self.is_floating_point()):
        return None
    return torch.empty((self.shape[0], mat2.shape[1]), dtype=self.dtype, device=self.device)


def _addmm(self, mat1, mat2):
    """A linear layer: mat1 @ mat2 plus a bias (``self``) that broadcasts into the product."""
    product = _mm(mat1, mat2)
    if product is None or self.dtype != product.dtype or self.dim() > 2 \
            or any(b not in (1, p) for b, p in zip(reversed(self.shape), reversed(product.shape))):
        return None
    return product


def _spatial(values, count: int) -> list[int] | None:
    values = list(values)
    return values * count if len(values) == 1 else values if len(values) == count else None


def _window_count(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool = False) -> int:
    """Positions of a sliding window (convolution, pooling) along one dimension."""
    count = (size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (count - 1) * stride >= size + padding:
        count -= 1  # the last window must start inside the input or its left padding
    return count


def _channels_last(tensor: torch.Tensor) -> bool:
    return tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last) and not tensor.is_contiguous()


def _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """A contiguous output, for any input but a channels_last one: there torch's meta kernel
    picks the layout differently across versions."""
    spatial = input.dim() - 2
    if not (spatial in (1, 2, 3) and weight.dim() == input.dim() and not _channels_last(input)
            and not _channels_last(weight) and input.dtype == weight.dtype
            and (bias is None or bias.dtype == input.dtype)):
        return None
    stride, padding, dilation, output_padding = (_spatial(v, spatial) for v in (stride, padding, dilation, output_padding))
    if None in (stride, padding, dilation, output_padding) or min(stride) <= 0:
        return None
    kernel = weight.shape[2:]
    if transposed:
        if input.shape[1] != weight.shape[0]:
            return None
        channels = weight.shape[1] * groups
        sizes = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1
                 for n, s, p, d, k, o in zip(input.shape[2:], stride, padding, dilation, kernel, output_padding)]
    else:
        if input.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
            return None
        channels = weight.shape[0]
        sizes = [_window_count(n, k, s, p, d) for n, s, p, d, k in zip(input.shape[2:], stride, padding, dilation, kernel)]
    if min(sizes) <= 0:
        return None  # torch's kernel raises the error a user should see
    return torch.empty((input.shape[0], channels, *sizes), dtype=input.dtype, device=input.device)


def _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed,
                          output_padding, groups, output_mask):
    if _channels_last(input) or _channels_last(weight):
        return None
    def empty(shape, wanted):
        return torch.empty(shape, dtype=grad_output.dtype, device=grad_output.device) if wanted else None
    return (empty(input.shape, output_mask[0]), empty(weight.shape, output_mask[1]),
            empty(bias_sizes, output_mask[2] and bias_sizes is not None))


def _pool_shape(self, kernel_size, stride, padding, dilation, ceil_mode) -> tuple[int, ...] | None:
    """Output shape of a 2-D pooling window over a contiguous NCHW tensor (None where torch raises)."""
    if self.dim() != 4 or not self.is_contiguous():
        return None
    kernel = _spatial(kernel_size, 2)
    stride = _spatial(stride, 2) if stride else kernel
    padding, dilation = (_spatial([v] if isinstance(v, int) else v, 2) for v in (padding, dilation))
    if None in (kernel, stride, padding, dilation) or min(*kernel, *stride, *dilation) <= 0 \
            or any(p > k // 2 for p, k in zip(padding, kernel)):
        return None
    sizes = [_window_count(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(self.shape[2:], kernel, stride, padding,
                                                                              dilation)]
    return (*self.shape[:2], *sizes) if min(sizes) > 0 else None


def _max_pool2d(self, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    shape = _pool_shape(self, kernel_size, stride, padding, dilation, ceil_mode)
    if shape is None:
        return None
    return (torch.empty(shape, dtype=self.dtype, device=self.device),
            torch.empty(shape, dtype=torch.int64, device=self.device))


def _avg_pool2d(self, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
    shape = _pool_shape(self, kernel_size, stride, padding, 1, ceil_mode)
    if shape is None or divisor_override == 0:
        return None
    return torch.empty(shape, dtype=self.dtype, device=self.device)


def _adaptive_avg_pool2d(self, output_size):
    output_size = _spatial(output_size, 2)
    if self.dim() != 4 or not self.is_contiguous() or output_size is None or min(output_size) < 0:
        return None
    return torch.empty((*self.shape[:2], *output_size), dtype=self.dtype, device=self.device)


def _adaptive_max_pool2d(self, output_size):
    output = _adaptive_avg_pool2d(self, output_size)
    return None if output is None else (output, torch.empty(output.shape, dtype=torch.int64, device=self.device))


def _pool2d_backward(grad_output, self, *settings):
    """The gradient of a pooling: the input's shape, contiguous like it."""
    if self.dim() != 4 or not self.is_contiguous() or grad_output.dtype != self.dtype:
        return None
    return torch.empty(self.shape, dtype=self.dtype, device=self.device)


def _constant_pad(self, pad, value=0):
    if len(pad) % 2 or len(pad) // 2 > self.dim() or not self.is_contiguous():
        return None
    shape = list(self.shape)
    for index in range(len(pad) // 2):
        shape[-1 - index] += pad[2 * index] + pad[2 * index + 1]
    if min(shape, default=1) < 0:
        return None
    return torch.empty(shape, dtype=self.dtype, device=self.device)


def _softmax(self, dim, half_to_float):
    # Contiguous only: torch's kernel returns other layouts contiguous, or not, by dim.
    if half_to_float or not self.is_floating_point() or not self.is_contiguous():
        return None
    return torch.empty(self.shape, dtype=self.dtype, device=self.device)


def _softmax_backward(grad_output, output, dim, input_dtype):
    if grad_output.dtype != input_dtype or not output.is_contiguous():
        return None
    return _elementwise(grad_output, output)


def _slice_backward(grad_output, input_sizes, dim, start, end, step):
    """The gradient of a slice: zeros of the input's size, the slice filled in."""
    if len(input_sizes) != grad_output.dim() or step <= 0:
        return None
    return torch.empty(input_sizes, dtype=grad_output.dtype, device=grad_output.device)


def _filled_like(self, *, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None):
    """ones_like, zeros_like and empty_like as autograd and dropout call them."""
    if not (dtype in (None, self.dtype) and layout in (None, torch.strided) and device in (None, self.device)
            and not pin_memory and memory_format in (None, torch.preserve_format)):
        return None
    return _like(self)


_ACTIVATIONS = ("relu", "hardtanh", "sigmoid", "silu", "hardswish", "hardsigmoid", "leaky_relu", "elu", "tanh")

_ACTIVATION_BACKWARDS = ("threshold_backward", "hardtanh_backward", "sigmoid_backward", "silu_backward",
                         "hardswish_backward", "hardsigmoid_backward", "leaky_relu_backward",
                         "tanh_backward")

RULES: dict[torch._ops.OpOverload, Callable] = {
    **{getattr(aten, name).default: _unary_float for name in _ACTIVATIONS},
    **{getattr(aten, name + "_").default: _unary_float_inplace for name in _ACTIVATIONS},
    aten.native_batch_norm.default: _batch_norm,
    aten.native_batch_norm_backward.default: _batch_norm_backward,
    **{getattr(aten, name).default: _activation_backward for name in _ACTIVATION_BACKWARDS},
    aten.add.Tensor: _binary_float,
    aten.sub.Tensor: _binary_float,
    aten.mul.Tensor: _binary_float,
    aten.mul.Scalar: _binary_float,
    aten.div.Scalar: _binary_float,
    aten.mean.dim: _reduce_dims,
    aten.sum.dim_IntList: _reduce_dims,
    aten.cat.default: _cat,
    aten.addmm.default: _addmm,
    aten.mm.default: _mm,
    aten.ones_like.default: _filled_like,
    aten.zeros_like.default: _filled_like,
    aten.empty_like.default: _filled_like,
    aten.convolution.default: _convolution,
    aten.convolution_backward.default: _convolution_backward,
    aten.max_pool2d_with_indices.default: _max_pool2d,
    aten.max_pool2d_with_indices_backward.default: _pool2d_backward,
    aten.avg_pool2d.default: _avg_pool2d,
    aten.avg_pool2d_backward.default: _pool2d_backward,
    aten._adaptive_avg_pool2d.default: _adaptive_avg_pool2d,
    aten._adaptive_avg_pool2d_backward.default: _pool2d_backward,
    aten.adaptive_max_pool2d.default: _adaptive_max_pool2d,
    aten.adaptive_max_pool2d_backward.default: _pool2d_backward,
    aten.constant_pad_nd.default: _constant_pad,
    aten._softmax.default: _softmax,
    aten._log_softmax.default: _softmax,
    aten._softmax_backward_data.default: _softmax_backward,
    aten._log_softmax_backward_data.default: _softmax_backward,
    aten.div.Tensor: _binary_float,
    **{getattr(aten, name).Tensor: _binary_float_inplace for name in ("add_", "sub_", "mul_", "div_")},
    aten.mul_.Scalar: _binary_float_inplace,
    aten.div_.Scalar: _binary_float_inplace,
    aten.rsub.Scalar: _binary_float,
    aten.slice_backward.default: _slice_backward,
}


def meta_outputs(func, args, kwargs):
    """The outputs of ``func`` on meta tensors, or ``None`` where torch's own kernel must run."""
    rule = RULES.get(func)
    if rule is None or kwargs and rule is not _filled_like:
        return None
    return rule(*args, **kwargs)

"""Shape rules: the outputs of the ops whose meta kernels torch writes in Python.

On the meta device, batch norm and its backward run torch's Python decompositions: a dozen
elementwise references each, with dtype promotion and broadcasting checks, which make them
most of a static pass's time (and import ``torch._dynamo`` on first use). Here the same outputs
(shape, strides, dtype) are allocated directly, as shape rules of the op registry
(``cnnstat.analysis.registry``). A rule raises where a real CPU tensor raises (an
out-of-range dim, negative padding, mismatched channels), with torch's words; it returns
``None`` for a case it does not cover (a layout that is not dense), and the op then runs
torch's own meta kernel. tests/analysis/test_meta_shapes.py holds every rule equal to torch's
kernel, tests/analysis/test_shape_differential.py to real CPU tensors over generated cases.
"""

from __future__ import annotations

from typing import TypeVar

import torch

from cnnstat.analysis.registry import OpRules

aten = torch.ops.aten
T = TypeVar("T")

SHAPES = OpRules()
"""cnnstat's shape rules (``cnnstat.analysis.rules.OP_RULES`` holds them with the cost rules)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


def _required(value: T | None, message: str) -> T:
    """``value``, raising ``message`` as torch does where it is None."""
    if value is None:
        raise RuntimeError(message)
    return value


def _wrap_dim(dim: int, rank: int) -> int:
    """``dim`` as an index into ``rank`` dimensions, raising as torch does (a 0-d tensor takes -1 and 0)."""
    bound = max(rank, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})")
    return dim % bound


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


@SHAPES.shape(aten.native_batch_norm.default)
def _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    output = _like(input)
    if input.dim() < 2 or output is None:
        return None
    if training and input.numel() <= input.shape[1] or not training and (running_mean is None or running_var is None):
        return None  # torch's kernel raises the error (one value per channel, no statistics)
    statistics = _statistics_dtype(input.dtype)
    return output, _channel_vector(input, statistics), _channel_vector(input, statistics)


@SHAPES.shape(aten.native_batch_norm_backward.default)
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


_ACTIVATION_BACKWARDS = ("threshold_backward", "hardtanh_backward", "sigmoid_backward", "silu_backward",
                         "hardswish_backward", "hardsigmoid_backward", "leaky_relu_backward",
                         "tanh_backward")


@SHAPES.shape(*(getattr(aten, name).default for name in _ACTIVATION_BACKWARDS))
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


@SHAPES.shape(aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor, aten.mul.Scalar, aten.div.Scalar,
             aten.rsub.Scalar)
def _binary_float(self, other, alpha=1):
    if alpha != 1:
        return None
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


@SHAPES.shape(aten.add_.Tensor, aten.sub_.Tensor, aten.mul_.Tensor, aten.div_.Tensor, aten.mul_.Scalar,
             aten.div_.Scalar)
def _binary_float_inplace(self, other, alpha=1):
    """x += y, x *= s: the result is ``self`` when ``other`` (a number, or a tensor of its dtype)
    broadcasts into it."""
    if not self.is_floating_point() or alpha != 1:
        return None
    if type(other) in (int, float):
        return self
    fits = (isinstance(other, torch.Tensor) and other.dtype == self.dtype and other.device == self.device
            and other.dim() <= self.dim()
            and all(o in (1, s) for o, s in zip(reversed(other.shape), reversed(self.shape))))
    return self if fits else None


def _is_activation_call(self, scalars) -> bool:
    return self.is_floating_point() and all(type(s) in (int, float, bool) for s in scalars)


_ACTIVATIONS = ("relu", "hardtanh", "sigmoid", "silu", "hardswish", "hardsigmoid", "leaky_relu", "elu", "tanh")


@SHAPES.shape(*(getattr(aten, name).default for name in _ACTIVATIONS))
def _unary_float(self, *scalars):
    """Activations: the output is laid out like the input; in-place variants return it."""
    return _like(self) if _is_activation_call(self, scalars) else None


@SHAPES.shape(*(getattr(aten, name + "_").default for name in _ACTIVATIONS))
def _unary_float_inplace(self, *scalars):
    covered = _is_activation_call(self, scalars) and (_is_dense(self) or _is_row_major(self))  # as _like
    return self if covered else None


@SHAPES.shape(aten.cat.default)
def _cat(tensors, dim=0):
    # 1-d empty tensors are skipped by torch's cat whatever their rank (a legacy rule): left to torch.
    if not tensors or any(t.dim() == 1 and t.numel() == 0 for t in tensors):
        return None
    first = tensors[0]
    _require(first.dim() > 0, "zero-dimensional tensor (at position 0) cannot be concatenated")
    dim = _wrap_dim(dim, first.dim())
    if any(t.dtype != first.dtype or t.dim() != first.dim() for t in tensors):
        return None
    for index, t in enumerate(tensors):
        _require(t.shape[:dim] == first.shape[:dim] and t.shape[dim + 1:] == first.shape[dim + 1:],
                 f"Sizes of tensors must match except in dimension {dim}. Expected sizes {list(first.shape)} "
                 f"but got size {list(t.shape)} for tensor number {index} in the list.")
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    if all(t.is_contiguous() for t in tensors):
        layout = torch.contiguous_format
    elif first.dim() == 4 and all(t.is_contiguous(memory_format=torch.channels_last) for t in tensors):
        layout = torch.channels_last
    else:
        return None
    return torch.empty(shape, dtype=first.dtype, device=first.device, memory_format=layout)


@SHAPES.shape(aten.mean.dim, aten.sum.dim_IntList)
def _reduce_dims(self, dim=None, keepdim=False, dtype=None):
    """mean and sum over dimensions (a bias gradient, a global pool): torch's meta kernel returns
    them contiguous whatever the input's layout."""
    if not self.is_floating_point() or dtype not in (None, self.dtype):
        return None
    wrapped = [_wrap_dim(d, self.dim()) for d in dim or ()]
    for d in set(wrapped):
        _require(wrapped.count(d) == 1, f"dim {d} appears multiple times in the list of dims")
    if self.dim() == 0:
        return torch.empty((), dtype=self.dtype, device=self.device)
    reduced = set(wrapped) if dim else set(range(self.dim()))
    shape = [1 if d in reduced else size for d, size in enumerate(self.shape) if keepdim or d not in reduced]
    return torch.empty(shape, dtype=self.dtype, device=self.device)


@SHAPES.shape(aten.mm.default)
def _mm(self, mat2):
    _require(self.dim() == 2, "self must be a matrix")
    _require(mat2.dim() == 2, "mat2 must be a matrix")
    _require(self.shape[1] == mat2.shape[0],
             f"mat1 and mat2 shapes cannot be multiplied ({self.shape[0]}x{self.shape[1]} and "
             f"{mat2.shape[0]}x{mat2.shape[1]})")
    if not (self.dtype == mat2.dtype and self.is_floating_point()):
        return None
    return torch.empty((self.shape[0], mat2.shape[1]), dtype=self.dtype, device=self.device)


@SHAPES.shape(aten.addmm.default)
def _addmm(self, mat1, mat2, beta=1, alpha=1):
    """A linear layer: mat1 @ mat2 plus a bias (``self``) that broadcasts into the product."""
    product = _mm(mat1, mat2)
    if product is None or self.dtype != product.dtype:
        return None
    _require(self.dim() <= 2 and all(b in (1, p) for b, p in zip(reversed(self.shape), reversed(product.shape))),
             f"The expanded size of the bias {list(self.shape)} must match the product {list(product.shape)}")
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


def _check_convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """The checks of torch's convolution (``check_shape_forward``), in its words."""
    _require(weight.dim() == input.dim() and input.dim() >= 3,
             f"Expected {weight.dim()}D (unbatched) or {weight.dim() + 1}D (batched) input to conv, "
             f"but got input of size: {list(input.shape)}")
    _require(min(padding) >= 0, "negative padding is not supported")
    _require(min(output_padding) >= 0, "negative output_padding is not supported")
    _require(min(stride) > 0, "non-positive stride is not supported")
    _require(min(dilation) > 0, "non-positive dilation is not supported")
    _require(groups > 0, "non-positive groups is not supported")
    _require(weight.shape[0] % groups == 0 and weight.shape[0] >= groups,
             f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got weight of "
             f"size {list(weight.shape)} instead")
    if transposed:
        _require(all(o < s or o < d for o, s, d in zip(output_padding, stride, dilation)),
                 "output padding must be smaller than either stride or dilation")
        _require(input.shape[1] == weight.shape[0],
                 f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(input.shape)} to "
                 f"have {weight.shape[0]} channels, but got {input.shape[1]} channels instead")
        channels = weight.shape[1] * groups
    else:
        _require(input.shape[1] == weight.shape[1] * groups,
                 f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(input.shape)} to "
                 f"have {weight.shape[1] * groups} channels, but got {input.shape[1]} channels instead")
        for size, pad, dil, k in zip(input.shape[2:], padding, dilation, weight.shape[2:]):
            _require(size + 2 * pad >= dil * (k - 1) + 1,
                     f"Kernel size can't be greater than actual input size: input {list(input.shape)}, "
                     f"weight {list(weight.shape)}")
        channels = weight.shape[0]
    _require(bias is None or (bias.dim() == 1 and bias.shape[0] == channels),
             f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with {channels} "
             f"elements, but got bias of size {list(bias.shape) if bias is not None else None} instead")
    return channels


@SHAPES.shape(aten.convolution.default)
def _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """A contiguous output, for any input but a channels_last one: there torch's meta kernel
    picks the layout differently across versions."""
    spatial = input.dim() - 2
    if not (spatial in (1, 2, 3) and weight.dim() == input.dim()) or not all(input.shape[2:]):
        return None
    settings = {"stride": stride, "padding": padding, "dilation": dilation, "output_padding": output_padding}
    per_dimension = {name: _spatial(values, spatial) for name, values in settings.items()}
    for name, values in per_dimension.items():
        _require(values is not None,
                 f"expected {name} to be a single integer value or a list of {spatial} values to match the "
                 f"convolution dimensions, but got {name}={list(settings[name])}")
    stride, padding, dilation, output_padding = per_dimension.values()
    channels = _check_convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    if _channels_last(input) or _channels_last(weight) or input.dtype != weight.dtype \
            or bias is not None and bias.dtype != input.dtype:
        return None
    kernel = weight.shape[2:]
    if transposed:
        sizes = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1
                 for n, s, p, d, k, o in zip(input.shape[2:], stride, padding, dilation, kernel, output_padding)]
    else:
        sizes = [_window_count(n, k, s, p, d) for n, s, p, d, k in zip(input.shape[2:], stride, padding, dilation, kernel)]
    _require(min(sizes) > 0, f"Calculated output size {sizes} is too small for input {list(input.shape)}")
    return torch.empty((input.shape[0], channels, *sizes), dtype=input.dtype, device=input.device)


@SHAPES.shape(aten.convolution_backward.default)
def _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed,
                          output_padding, groups, output_mask):
    if _channels_last(input) or _channels_last(weight):
        return None
    def empty(shape, wanted):
        return torch.empty(shape, dtype=grad_output.dtype, device=grad_output.device) if wanted else None
    return (empty(input.shape, output_mask[0]), empty(weight.shape, output_mask[1]),
            empty(bias_sizes, output_mask[2] and bias_sizes is not None))


def _pool_shape(self, kernel_size, stride, padding, dilation, ceil_mode, name) -> tuple[int, ...] | None:
    """Output shape of a 2-D pooling window over a contiguous NCHW tensor, raising as torch's
    pooling checks do; None for a layout or rank it leaves to torch."""
    if self.dim() != 4 or not self.is_contiguous():
        return None
    kernel = _required(_spatial(kernel_size, 2),
                       f"{name}: kernel_size must either be a single int, or a tuple of two ints")
    strides = _spatial(stride, 2) if stride else kernel
    paddings, dilations = (_spatial([v] if isinstance(v, int) else v, 2) for v in (padding, dilation))
    stride = _required(strides, f"{name}: stride must either be omitted, a single int, or a tuple of two ints")
    padding = _required(paddings, f"{name}: padding must either be a single int, or a tuple of two ints")
    dilation = _required(dilations, f"{name}: dilation must be either a single int, or a tuple of two ints")
    _require(min(kernel) > 0, "kernel size should be greater than zero")
    _require(min(stride) != 0, "stride should not be zero")
    _require(min(stride) > 0, "stride should be greater than zero")
    _require(min(dilation) > 0, "dilation should be greater than zero")
    _require(min(padding) >= 0, "pad must be non-negative")
    _require(all(p <= k // 2 for p, k in zip(padding, kernel)), "pad should be smaller than or equal to half of kernel size")
    _require(all(self.shape[1:]), f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
                                  f"input, but got:{list(self.shape)}")
    sizes = [_window_count(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(self.shape[2:], kernel, stride, padding,
                                                                              dilation)]
    _require(min(sizes) > 0, f"Given input size: {list(self.shape[1:])}. Calculated output size: {sizes}. "
                             "Output size is too small")
    return (*self.shape[:2], *sizes)


@SHAPES.shape(aten.max_pool2d_with_indices.default)
def _max_pool2d(self, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    shape = _pool_shape(self, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    if shape is None:
        return None
    return (torch.empty(shape, dtype=self.dtype, device=self.device),
            torch.empty(shape, dtype=torch.int64, device=self.device))


@SHAPES.shape(aten.avg_pool2d.default)
def _avg_pool2d(self, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
    shape = _pool_shape(self, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    if shape is None:
        return None
    _require(divisor_override != 0, "divisor must be not zero")
    return torch.empty(shape, dtype=self.dtype, device=self.device)


@SHAPES.shape(aten._adaptive_avg_pool2d.default)
def _adaptive_avg_pool2d(self, output_size):
    _require(len(output_size) == 2, "adaptive_avg_pool2d: output_size must be 2")
    if self.dim() != 4 or not self.is_contiguous() or min(output_size) < 0:
        return None
    return torch.empty((*self.shape[:2], *output_size), dtype=self.dtype, device=self.device)


@SHAPES.shape(aten.adaptive_max_pool2d.default)
def _adaptive_max_pool2d(self, output_size):
    output = _adaptive_avg_pool2d(self, output_size)
    return None if output is None else (output, torch.empty(output.shape, dtype=torch.int64, device=self.device))


@SHAPES.shape(aten.max_pool2d_with_indices_backward.default, aten.avg_pool2d_backward.default,
             aten._adaptive_avg_pool2d_backward.default, aten.adaptive_max_pool2d_backward.default)
def _pool2d_backward(grad_output, self, *settings):
    """The gradient of a pooling: the input's shape, contiguous like it."""
    if self.dim() != 4 or not self.is_contiguous() or grad_output.dtype != self.dtype:
        return None
    return torch.empty(self.shape, dtype=self.dtype, device=self.device)


@SHAPES.shape(aten.constant_pad_nd.default)
def _constant_pad(self, pad, value=0):
    """Padding by a constant; a negative pad crops."""
    _require(len(pad) % 2 == 0, "Length of pad must be even but instead it equals " + str(len(pad)))
    _require(len(pad) // 2 <= self.dim(), f"Length of pad should be no more than twice the number of dimensions "
                                          f"of the input. Pad length is {len(pad)} while the input has "
                                          f"{self.dim()} dimensions.")
    shape = list(self.shape)
    for index in range(len(pad) // 2):
        dim = self.dim() - 1 - index
        before, after = pad[2 * index], pad[2 * index + 1]
        # A crop first narrows, and torch checks each narrowing on its own.
        _require(shape[dim] + min(before, 0) >= 0 and shape[dim] + min(before, 0) + min(after, 0) >= 0,
                 "narrow(): length must be non-negative.")
        shape[dim] += before + after
        _require(shape[dim] >= 0, f"The input size {self.shape[dim]}, plus negative padding {before} and {after} "
                                  f"resulted in a negative output size, which is invalid. Check dimension {dim} "
                                  "of your input.")
    if not self.is_contiguous():
        return None
    return torch.empty(shape, dtype=self.dtype, device=self.device)


@SHAPES.shape(aten._softmax.default, aten._log_softmax.default)
def _softmax(self, dim, half_to_float):
    _wrap_dim(dim, self.dim())
    # Contiguous only: torch's kernel returns other layouts contiguous, or not, by dim.
    if half_to_float or not self.is_floating_point() or not self.is_contiguous():
        return None
    return torch.empty(self.shape, dtype=self.dtype, device=self.device)


@SHAPES.shape(aten._softmax_backward_data.default, aten._log_softmax_backward_data.default)
def _softmax_backward(grad_output, output, dim, input_dtype):
    _wrap_dim(dim, output.dim())
    if grad_output.dtype != input_dtype or not output.is_contiguous():
        return None
    return _elementwise(grad_output, output)


@SHAPES.shape(aten.slice_backward.default)
def _slice_backward(grad_output, input_sizes, dim, start, end, step):
    """The gradient of a slice: zeros of the input's size, the slice filled in."""
    if len(input_sizes) != grad_output.dim() or step <= 0:
        return None
    return torch.empty(input_sizes, dtype=grad_output.dtype, device=grad_output.device)


@SHAPES.shape(aten.ones_like.default, aten.zeros_like.default, aten.empty_like.default)
def _filled_like(self, *, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None):
    """ones_like, zeros_like and empty_like as autograd and dropout call them."""
    if not (dtype in (None, self.dtype) and layout in (None, torch.strided) and device in (None, self.device)
            and not pin_memory and memory_format in (None, torch.preserve_format)):
        return None
    return _like(self)


def meta_outputs(func, args, kwargs, rules: OpRules = SHAPES):
    """The outputs of ``func`` on meta tensors by its shape rule, or ``None`` where torch's own
    kernel must run."""
    rule = rules.lookup(func)[1]
    return None if rule is None else rule(*args, **kwargs)

"""Live-tensor accounting by storage lifetime: the same rule a real allocator follows.

Every tensor an op returns is tracked by its storage; when Python frees the last tensor
that uses a storage, the storage's weak reference fires and its bytes leave the live
total. On the meta device this gives the peak a CPU or CUDA run would reach (without
allocator rounding or caching) at no cost.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from functools import partial

from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from cnnstat.analysis.autocast import autocast_dtype

LSTM_FITTED_FROM = "2.13"
"""The oldest torch whose oneDNN LSTM buffers (``Recurrence``) the closed forms were fitted to and
tested on (2.13 to 2.15); on torch 2.4.1 an LSTM's measured peak was up to 1.47x the estimate."""


def unvalidated_layers(model: nn.Module) -> list[str]:
    """The kinds of layer in ``model`` whose memory the estimate is not validated for, each with why:
    a bidirectional LSTM (oneDNN's scratchpad for a layer whose input is both directions' outputs
    grows in a way the fitted closed form does not follow), and any LSTM on a torch older than the
    one its buffers were fitted on."""
    lstms = [module for module in model.modules() if isinstance(module, nn.LSTM)]
    kinds = set()
    if any(lstm.bidirectional for lstm in lstms):
        kinds.add("bidirectional LSTM layers (measured/estimate on CPU, hidden 48, batch 1, 8, 16: 1.08 to 1.25)")
    if lstms and torch.__version__ < LSTM_FITTED_FROM:
        kinds.add(f"LSTM layers on torch {torch.__version__} (oneDNN's LSTM buffers are fitted on torch 2.13 to "
                  "2.15; on 2.4.1 the measured peak was up to 1.47x the estimate)")
    return sorted(kinds)


def unvalidated_note(kinds: list[str]) -> str:
    return f"memory estimates are not validated for {'; '.join(kinds)}: they do not decide whether a run fits the device"


_COMPRESSED = {torch.sparse_csr: ("crow_indices", "col_indices"), torch.sparse_bsr: ("crow_indices", "col_indices"),
               torch.sparse_csc: ("ccol_indices", "row_indices"), torch.sparse_bsc: ("ccol_indices", "row_indices")}


def tensor_bytes(tensor: torch.Tensor, dtype: torch.dtype | None = None) -> int:
    """The bytes a tensor's values take where they are kept: a sparse tensor's indices and
    values, the span of memory a strided one reaches (an expanded tensor, of stride 0, keeps
    one copy of what it repeats). ``dtype`` is the type a floating-point tensor is counted in
    (None: its own)."""
    def size(part: torch.Tensor) -> int:
        item = (torch.empty((), dtype=dtype).element_size() if dtype is not None and part.is_floating_point()
                else part.element_size())
        return _span(part) * item

    if tensor.layout == torch.sparse_coo:
        return tensor._indices().numel() * tensor._indices().element_size() + size(tensor._values())
    if tensor.layout in _COMPRESSED:
        return sum(getattr(tensor, name)().numel() * getattr(tensor, name)().element_size()
                   for name in _COMPRESSED[tensor.layout]) + size(tensor.values())
    return size(tensor)


def _span(tensor: torch.Tensor) -> int:
    """Elements from a strided tensor's first to its last, each reached once."""
    if tensor.numel() == 0:
        return 0
    return 1 + sum((length - 1) * abs(stride) for length, stride in zip(tensor.shape, tensor.stride()))


def packed_weights(model: nn.Module) -> tuple[list[str], int, int]:
    """Quantized layers' packed weights (``torch.ao.nn.quantized``): kinds of layer, values and
    bytes. They are kept in an opaque object, not as parameters, so no parameter count has them."""
    kinds, values, nbytes = set(), 0, 0
    for module in model.modules():
        packed, weight, bias = (getattr(module, name, None) for name in ("_packed_params", "weight", "bias"))
        if packed is None or not callable(weight):
            continue
        kinds.add(type(module).__name__)
        for tensor in (weight(), bias() if callable(bias) else None):
            if tensor is not None:
                values += tensor.numel()
                nbytes += tensor_bytes(tensor)
    return sorted(kinds), values, nbytes


@dataclass
class _RecurrentCall:
    """A recurrent (or fused encoder) layer's call in progress, counted as the CPU runs it (``LiveMemory.enter``)."""

    module: nn.Module
    projections: int | None
    """The ``LiveMemory.hold`` key of every step's input projection, made at once; None: fused."""
    kept: list[int]
    """Bytes each layer keeps for its backward beyond the tensors the pass counts."""
    backward_scratch: list[int]
    """Each layer's backward scratch beyond its counted ops."""


class LiveMemory:
    """Live bytes, their peak, which module call made each live storage, and the live bytes
    after every allocation and free (the timeline of a pass)."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self._storages: dict[int, weakref.ref] = {}
        self._makers: dict[int, tuple[int | None, int]] = {}
        """Storage id -> (the module call that made it, its bytes)."""
        self.running: int | None = None
        """The module call (record index) whose op runs now: it makes and frees what follows."""
        self.timeline: list[tuple[int, int | None]] = []
        """(live bytes, the module call running) after every allocation and free, in order."""
        self._held: dict[int, int] = {}
        """Key -> bytes of memory a kernel holds that no tensor of the pass stands for (``hold``)."""
        self._next_hold = 0
        self._fused: nn.Module | None = None
        """The module whose call runs as one fused kernel on the CPU: its own ops are not counted."""
        self._recurrent: _RecurrentCall | None = None

    def add(self, tensor: torch.Tensor) -> None:
        if self._fused is not None:
            return
        try:
            storage = tensor.untyped_storage()
        except (RuntimeError, NotImplementedError):  # tensors without storage (e.g. some subclasses)
            return
        key = id(storage)
        if key in self._storages:
            return
        nbytes = storage.nbytes()
        self._storages[key] = weakref.ref(storage, partial(self._free, key))
        self._makers[key] = (self.running, nbytes)
        self.live += nbytes
        self.peak = max(self.peak, self.live)
        self.timeline.append((self.live, self.running))

    def _free(self, key: int, _ref) -> None:
        if self._storages.pop(key, None) is not None:
            _maker, nbytes = self._makers.pop(key)
            self.live -= nbytes
            self.timeline.append((self.live, self.running))

    def recount(self, tensor: torch.Tensor, nbytes: int) -> None:
        """Count ``tensor``'s storage, from now until it is freed, as ``nbytes``: what the kernel a
        real run picks keeps in its place."""
        key = id(tensor.untyped_storage())
        if key in self._makers:
            maker, counted = self._makers[key]
            self._makers[key] = (maker, nbytes)
            self.live += nbytes - counted
            self.timeline.append((self.live, self.running))

    def ran(self, func, args: tuple, out: Any, channels_last: bool) -> None:
        """After an op's outputs are counted: its kernel's scratch (``kernel_scratch_bytes``; none
        for a channels_last convolution, which needs no copies) and, after the math reference of
        attention, what the CPU's fused kernel would keep instead (``flash_attention_kept``)."""
        if not channels_last:
            self.transient(kernel_scratch_bytes(func, args, out))
        if func is _MATH_ATTENTION_SOFTMAX:
            for tensor, nbytes in flash_attention_kept(args[0], out):
                self.recount(tensor, nbytes)

    def transient(self, nbytes: int) -> None:
        """A kernel's scratch memory, allocated and freed inside one op."""
        self.peak = max(self.peak, self.live + nbytes)
        self.timeline += [(self.live + nbytes, self.running), (self.live, self.running)]

    def hold(self, nbytes: int) -> int:
        """Memory a kernel keeps beyond one op (a workspace saved for the backward), made by the
        module call running now, until ``release`` with the key returned."""
        key = self._next_hold = self._next_hold - 1  # negative: never a storage's id
        self._held[key] = nbytes
        self._makers[key] = (self.running, nbytes)
        self.live += nbytes
        self.peak = max(self.peak, self.live)
        self.timeline.append((self.live, self.running))
        return key

    def release(self, key: int) -> None:
        nbytes = self._held.pop(key, None)
        if nbytes is not None:
            self._makers.pop(key, None)
            self.live -= nbytes
            self.timeline.append((self.live, self.running))

    def enter(self, module: nn.Module, args: tuple) -> None:
        """A module call begins. A recurrent layer is counted as the CPU runs it: oneDNN's fused
        LSTM (``fused_lstm_route``) in place of its ops; a GRU or plain RNN op by op, but with
        every step's input projection made at once (torch's CPU path) and held through the call,
        from a time-major copy of the input where it is not one already (kept for the backward).
        A transformer encoder layer in inference runs as torch's fused fast path
        (``encoder_fast_path_peak``) in place of its ops."""
        if self._fused is not None or self._recurrent is not None:
            return
        encoder_peak = encoder_fast_path_peak(module, args)
        if encoder_peak is not None:
            self.transient(encoder_peak)
            self._fused = module
            self._recurrent = _RecurrentCall(module, None, [], [])
            return
        call = recurrence(module, args)
        if call is None:
            return
        grad = torch.is_grad_enabled()
        if module.mode == "LSTM" and args[0].dtype in (torch.float32, torch.bfloat16):
            peak, kept, backward = fused_lstm_route(call, grad)
            self.transient(peak)
            self._fused = module
            self._recurrent = _RecurrentCall(module, None, kept, backward)
            return
        projections = self.hold(call.sequence(call.gates * call.hidden))  # one direction's at a time
        copy = call.sequence(call.features) if grad and call.copies_input else 0
        self._recurrent = _RecurrentCall(module, projections, [copy] + [0] * (call.layers - 1), [0] * call.layers)

    def leave(self, module: nn.Module, output: Any) -> None:
        """A module call ends: a fused layer's outputs are counted, and what a recurrent layer
        keeps for the backward held until its layer's weights get their gradients."""
        recurrent = self._recurrent
        if recurrent is None or recurrent.module is not module:
            return
        self._recurrent = None
        if self._fused is module:
            self._fused = None
            for tensor in tree_leaves(output):
                if isinstance(tensor, torch.Tensor):
                    self.add(tensor)
        if recurrent.projections is not None:
            self.release(recurrent.projections)
        for layer, (nbytes, scratch) in enumerate(zip(recurrent.kept, recurrent.backward_scratch)):
            if not nbytes:
                continue
            key = self.hold(nbytes)
            weight = getattr(module, f"weight_ih_l{layer}", None)
            if isinstance(weight, torch.Tensor) and weight.requires_grad:
                weight.register_post_accumulate_grad_hook(partial(self._layer_backward_done, key, scratch))

    def _layer_backward_done(self, key: int, scratch: int, _weight) -> None:
        self.transient(scratch)
        self.release(key)

    def live_by_maker(self) -> dict[int | None, int]:
        """Live bytes now, by the module call that made them (None: before any module ran)."""
        made: dict[int | None, int] = {}
        for maker, nbytes in self._makers.values():
            made[maker] = made.get(maker, 0) + nbytes
        return made

    def reset_peak(self) -> None:
        self.peak = self.live


_MATH_ATTENTION_SOFTMAX = getattr(getattr(torch.ops.aten, "_safe_softmax", None), "default", None)
"""The softmax of ``scaled_dot_product_attention``'s math reference, used nowhere else (None on a
torch without it, 2.4, whose math reference calls the plain softmax: attention then counted as
the meta device runs it)."""

BLOCK = 16
"""Channels of oneDNN's blocked layouts on x86-64 (float32): a tensor is padded to whole blocks."""


def _blocked(tensor: torch.Tensor, channel_dims: tuple[int, ...] = (1,)) -> int:
    """Bytes of ``tensor`` in oneDNN's blocked layout: each dimension of ``channel_dims`` padded to ``BLOCK``."""
    sizes = list(tensor.shape)
    for dim in channel_dims:
        sizes[dim] = _round_up(sizes[dim], BLOCK)
    return math.prod(sizes) * tensor.element_size()


def kernel_scratch_bytes(func, args: tuple, out: Any) -> int:
    """Scratch memory of one CPU kernel, allocated and freed inside the op, above what the op
    returns: oneDNN's convolutions, forward and backward (others: 0)."""
    if func is torch.ops.aten.convolution.default:
        input, weight, output = args[0], args[1], out
        if args[6] or args[8] != 1:  # transposed or grouped: the plain rule
            return convolution_workspace_bytes(input, weight, output)
        if all(size == 1 for size in weight.shape[2:]):  # a 1x1 kernel: a matrix product, no copies
            return 0
        if _unfolds(input, weight):
            return _columns(input, weight, output)
        return max(_reordered(input, weight) + _blocked(output), _blocked(output) + _bytes(output)) - _bytes(output)
    if func is torch.ops.aten.convolution_backward.default:
        grad_output, input, weight = args[0], args[1], args[2]
        if args[7] or args[9] != 1 or not input.dim() == weight.dim() >= 3:
            return 0
        grad_input = out[0] if isinstance(out[0], torch.Tensor) else None
        if all(size == 1 for size in weight.shape[2:]):  # a 1x1 kernel: a matrix product, no copies
            return 0
        if _unfolds(input, weight):  # one unfolded buffer, for both gradients in turn
            return _columns(input, weight, grad_output)
        made = sum(_bytes(t) for t in out if isinstance(t, torch.Tensor))
        return max(0, _convolution_backward_peak(grad_output, input, weight, grad_input) - made)
    return 0


def _unfolds(input: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether torch runs a 2-D float32 convolution of a kernel larger than 1x1 on the CPU with its
    own unfold-and-multiply kernel (``slow_conv2d``) rather than oneDNN's: one small image through
    a kernel of 3x3 or less (the rule of ``ConvParams::use_mkldnn``, torch 2.x)."""
    if input.dim() != 4 or input.dtype != torch.float32:
        return False
    large_kernel = weight.shape[-1] > 3 and weight.shape[-2] > 3
    return not large_kernel and input.shape[0] <= 1 and input.numel() <= 20480


def _columns(input: torch.Tensor, weight: torch.Tensor, output: torch.Tensor) -> int:
    """The unfolded input of ``slow_conv2d``: every output position's receptive field, one column each."""
    return weight.shape[1] * weight.shape[2] * weight.shape[3] * output.shape[2] * output.shape[3] * input.element_size()


def encoder_fast_path_peak(module: nn.Module, args: tuple) -> int | None:
    """The peak bytes above its input of an ``nn.TransformerEncoderLayer`` call that torch runs on
    its inference fast path (``torch._transformer_encoder_layer_fwd``: the conditions of its
    forward, torch 2.x, for a module without hooks, as a real run has), its output not included;
    None where it would not. The fused kernel holds the packed query-key-value projection and
    its rescaled copy (6 activations), then the scores of every head (batch x heads x tokens^2),
    then the feed-forward's hidden layer beside the residual (one activation more before a
    pre-norm layer's attention and feed-forward, for its normalised input)."""
    attention = getattr(module, "self_attn", None)
    if (not isinstance(module, nn.TransformerEncoderLayer) or module.training or torch.is_grad_enabled()
            or not args or not isinstance(args[0], torch.Tensor) or args[0].dim() != 3 or args[0].is_nested
            or not isinstance(attention, nn.MultiheadAttention) or not attention.batch_first
            or attention.in_proj_bias is None or not attention._qkv_same_embed_dim
            or not module.activation_relu_or_gelu or module.norm1.eps != module.norm2.eps
            or attention.num_heads % 2 or autocast_dtype() is not None):
        return None
    tokens = args[0]
    batch, length, width = tokens.shape
    activation = tokens.numel() * tokens.element_size()
    scores = batch * attention.num_heads * length * length * tokens.element_size()
    hidden = batch * length * module.linear1.out_features * tokens.element_size()
    normalised = activation if module.norm_first else 0
    return normalised + max(6 * activation, 3 * activation + scores, 2 * activation + hidden)


def flash_attention_kept(scores: torch.Tensor, weights: torch.Tensor) -> list[tuple[torch.Tensor, int]]:
    """The tensors ``scaled_dot_product_attention``'s math reference (the meta device's: it has no
    fused kernel) keeps for the backward, with the bytes the CPU's flash attention keeps in their
    place. Math keeps the attention weights (``weights``, batch x heads x queries x keys) and the
    scaled query and key it multiplied (read from the autograd node of ``scores``); flash keeps
    one log-sum-exp per query, and the query and key as they were given. ``_safe_softmax`` is
    the math reference's own softmax: it marks the call. Nothing is kept without autograd."""
    if scores.grad_fn is None:  # inference: fused kernels take the softmax in place, over the scores
        return [(weights, 0)]
    logsumexp = weights.numel() // weights.shape[-1] * FLOAT
    kept = [(weights, logsumexp)]
    product: Any = scores.grad_fn
    while product is not None and not hasattr(product, "_saved_mat2"):  # the views after the batched product
        product = product.next_functions[0][0] if product.next_functions else None
    if product is not None:
        kept += [(product._saved_self, 0), (product._saved_mat2, 0)]
    return kept


def _bytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def _reordered(input: torch.Tensor, weight: torch.Tensor) -> int:
    """The input and weight oneDNN copies into its blocked layouts: an input of fewer than a block of
    channels is read as it is (the weight's input channels then unpadded)."""
    if input.shape[1] < BLOCK:
        return _blocked(weight, (0,))
    return _blocked(input) + _blocked(weight, (0, 1))


def _convolution_backward_peak(grad_output: torch.Tensor, input: torch.Tensor, weight: torch.Tensor,
                               grad_input: torch.Tensor | None) -> int:
    """The peak bytes of a CPU convolution's backward above what was live before it (its
    gradients included): oneDNN reorders the output's gradient and the weight into blocked
    layouts and computes the input's gradient blocked, then copies it out; then, for the
    weight's gradient, the output's gradient and the input blocked again."""
    weight_blocked = _blocked(weight, (0, 1) if input.shape[1] >= BLOCK else (0,))
    grad_output_blocked = _blocked(grad_output)
    for_weight = grad_output_blocked + (_blocked(input) if input.shape[1] >= BLOCK else 0) + weight_blocked
    if grad_input is None:
        return for_weight
    grad_input_blocked = _blocked(grad_input)
    for_input = max(grad_output_blocked + weight_blocked + grad_input_blocked, grad_input_blocked + _bytes(grad_input))
    return max(for_input, _bytes(grad_input) + for_weight)


def convolution_workspace_bytes(input: torch.Tensor, weight: torch.Tensor, output: torch.Tensor) -> int:
    """Scratch memory of a transposed or grouped forward convolution of NCHW tensors on CPU:
    oneDNN reorders the weight, then the input, into temporaries and writes a blocked output
    that it copies into the real one, so the weight plus max(input, output) bytes live beside
    the output for the length of the op. A channels_last convolution runs in its own layout,
    without copies (not counted)."""
    return weight.numel() * weight.element_size() + max(input.numel() * input.element_size(),
                                                        output.numel() * output.element_size())


def carry_training_memory(records, training_records) -> None:
    """Give each record the training pass's saved-for-backward and gradient bytes of the same
    module call (matched by name and call: a training forward may call modules an eval one skips)."""
    by_call = {(record.name, record.call): record for record in training_records}
    for record in records:
        trained = by_call.get((record.name, record.call))
        if trained is not None and trained is not record:
            record.own_saved_bytes, record.saved_bytes = trained.own_saved_bytes, trained.saved_bytes
            record.grad_bytes = trained.grad_bytes


# -- recurrent layers as the CPU runs them ---------------------------------------------------

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
PAGE = 4096
FLOAT = 4
"""oneDNN keeps an RNN's gates, states and scratch in float32 whatever the input's type."""


@dataclass(frozen=True)
class Recurrence:
    """One call of a recurrent layer (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``) on a padded (not packed) input."""

    steps: int
    batch: int
    features: int
    hidden: int
    layers: int
    directions: int
    gates: int
    itemsize: int
    copies_input: bool
    """Whether the input, time-major, is not contiguous (a batch-first one is not): the kernel copies it."""
    given_state: bool

    def layer_inputs(self, layer: int) -> int:
        return self.features if layer == 0 else self.directions * self.hidden

    def states(self) -> int:
        """Bytes of one direction's hidden (or cell) state of one layer."""
        return self.batch * self.hidden * self.itemsize

    def sequence(self, width: int) -> int:
        return self.steps * self.batch * width * self.itemsize

    # oneDNN's own buffers, per layer and direction (torch 2.13, oneDNN 3.x, x86-64). The closed
    # forms are fitted to the sizes torch's allocator records for steps 4 to 50, batch 1 to 16 and
    # hidden 16 to 256 (within 3% where hidden is a multiple of 32 and the buffer over 256 KiB;
    # smaller ones are rounded to whole pages and come out up to 2x).
    def weight_copies(self, layer: int, training: bool) -> int:
        """Both weight matrices reordered into oneDNN's layout: in inference each gate padded to
        32 outputs, in training all gates' outputs together padded to 16."""
        outputs = (self.gates * _round_up(self.hidden, 32) if not training
                   else _round_up(self.gates * self.hidden, 16))
        return (self.layer_inputs(layer) + self.hidden) * outputs * self.itemsize

    def backward_weight_copies(self, layer: int) -> int:
        """The backward's reordered weights: the forward's, and a copy with its rows padded to
        16 of each matrix whose rows (inputs) are not a multiple of 16."""
        padded = sum(_round_up(rows, 16) * self.gates * self.hidden * self.itemsize
                     for rows in (self.layer_inputs(layer), self.hidden) if rows % 16)
        return self.weight_copies(layer, True) + padded

    def scratch(self, training: bool) -> int:
        """oneDNN's scratchpad of one layer's call: every step's gates, and a few states."""
        states = 2 if training else 6
        return FLOAT * (self.steps * self.batch * self.gates * self.hidden + states * self.batch * self.hidden) + 3 * PAGE

    def workspace(self) -> int:
        """What a training forward keeps for the backward: gates and states of every step
        (about 15.5 states, of hidden padded to 8, per step), never less than oneDNN's floor of
        the recurrent weight's size."""
        kept = FLOAT * self.batch * _round_up(self.hidden, 8) * (31 * self.steps + 21) // 2
        return max(kept, FLOAT * self.gates * self.hidden * self.hidden)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def recurrence(module: nn.Module, args: tuple) -> Recurrence | None:
    """The shape of a recurrent layer's call; None for a packed sequence, a projection (LSTM's
    ``proj_size``) or a layer of another kind."""
    if not isinstance(module, nn.RNNBase) or module.mode not in GATES or module.proj_size:
        return None
    if not args or not isinstance(args[0], torch.Tensor) or args[0].dim() not in (2, 3):
        return None
    input = args[0]
    batched = input.dim() == 3
    time_major = input.transpose(0, 1) if batched and module.batch_first else input
    steps, batch = time_major.shape[0], time_major.shape[1] if batched else 1
    return Recurrence(steps=int(steps), batch=int(batch), features=module.input_size, hidden=module.hidden_size,
                      layers=module.num_layers, directions=2 if module.bidirectional else 1, gates=GATES[module.mode],
                      itemsize=input.element_size(), copies_input=not time_major.is_contiguous(),
                      given_state=len(args) > 1 and args[1] is not None)


def fused_lstm_route(call: Recurrence, training: bool) -> tuple[int, list[int], list[int]]:
    """oneDNN's LSTM on the CPU (``mkldnn_rnn_layer``, one call per layer and direction), as the
    allocator sees it: (the forward's peak above what was live before it, the bytes each layer
    keeps for its backward, each layer's backward scratch). The output, the last hidden and cell
    states are the module's outputs, counted where they are made."""
    states = call.states()
    live = peak = 0
    kept = [0] * call.layers

    def allocate(nbytes: int) -> None:
        nonlocal live, peak
        live += nbytes
        peak = max(peak, live)

    # the input copied where it is not contiguous time-major; initial states of zeros; both kept
    # for layer 0's backward
    entry = (call.sequence(call.features) if call.copies_input else 0) + (
        0 if call.given_state else 2 * call.layers * call.directions * states)
    allocate(entry)
    kept[0] += entry
    previous = 0
    for layer in range(call.layers):
        for _direction in range(call.directions):
            allocate(call.sequence(call.hidden) + 2 * states)  # this direction's output, last hidden and cell
            workspace = call.workspace() if training else 0
            scratch = call.weight_copies(layer, training) + call.scratch(training) + call.gates * call.hidden * call.itemsize
            allocate(workspace + scratch)
            live -= scratch
            kept[layer] += workspace + 2 * states
        if call.directions == 2:  # the two directions' outputs joined (each then kept for the backward, or freed)
            allocate(call.sequence(2 * call.hidden))
            if not training:
                live -= 2 * call.sequence(call.hidden)
        if layer and training:
            kept[layer - 1] += previous  # the layer's output, the next one's input
        elif layer:
            live -= previous
        previous = call.sequence(call.directions * call.hidden)
    allocate(2 * call.layers * call.directions * states)  # the stacked last states (the module's outputs)
    backward = [call.backward_weight_copies(layer) + call.scratch(True) for layer in range(call.layers)]
    return peak, kept if training else [0] * call.layers, backward

"""What the analysis produces: one LayerRecord per module call, and the model's totals.

Records hold raw numbers only (counts and bytes); formatting happens in ``render``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Shape = tuple[int, ...]


@dataclass
class OpTally:
    """What the calls of one op inside one module call cost, together."""

    calls: int = 0
    macs: int = 0
    flops: int = 0


@dataclass
class FieldFigures:
    """A layer output's receptive field over the model's input (``cnnstat.analysis.receptive_field``).

    Per spatial axis of the input; None on an axis every value sees whole (after global
    pooling, a linear layer, attention). ``size``, ``jump`` and ``start`` are None where an op
    had no receptive-field rule (the report's notes name it)."""

    size: list[int | None] | None
    """Input pixels one output position spans (holes of a dilation included), unclipped."""
    jump: list[int | None] | None
    """Effective stride: input pixels between neighbouring output positions."""
    start: list[int | None] | None
    """First input pixel output position 0 spans (negative: in the padding)."""
    covers_input: bool
    """Whether an output position (a central one) sees every input pixel."""
    last_pixel: list[int | None] | None = None
    """The last input pixel any output position sees, where strides left the input's last
    ones out (e.g. a 1x1 stride-2 conv on an even size); None on an axis that reaches the end."""
    kernel: list[int | None] | None = None
    """The layer's own extent: its output's field over its own input (a conv's dilated kernel)."""
    kernel_stride: list[int | None] | None = None


@dataclass
class LayerRecord:
    index: int
    """Position in call order (parents come before their children)."""
    name: str
    """Qualified module name; "" for the model itself."""
    type: str
    depth: int
    parent: int | None
    is_leaf: bool
    call: int
    """0 for a module's first call, 1 for its second (a module called twice gives two rows)."""
    input_shapes: list[Shape] = field(default_factory=list)
    output_shapes: list[Shape] = field(default_factory=list)
    params: int = 0
    """Parameters of the module and its children; counted on the first call only."""
    trainable_params: int = 0
    own_params: int = 0
    """Parameters the module holds directly (not through children); first call only."""
    description: str = ""
    own_macs: int = 0
    """MACs of the module's own work, not inside a child module (a container's functional ops)."""
    own_flops: int = 0
    macs: int = 0
    """MACs of the module and everything it calls."""
    flops: int = 0
    own_backward_macs: int = 0
    """MACs of the backward of the module's own work (its input and weight gradients), in a
    pass with a backward; 0 otherwise."""
    own_backward_flops: int = 0
    backward_macs: int = 0
    """Backward MACs of the module and everything it calls."""
    backward_flops: int = 0
    output_bytes: int = 0
    """Bytes of the tensors the module returns."""
    own_saved_bytes: int = 0
    """Bytes of the tensors the module's own ops made that are still alive at the end of the
    forward (in a pass with a backward: what autograd keeps for it, and the model's output)."""
    saved_bytes: int = 0
    """``own_saved_bytes`` of the module and everything it calls."""
    grad_bytes: int = 0
    """Bytes of the gradients of the module's trainable parameters, children's included (in a pass
    with a backward; first call only)."""
    forward_ops: dict[str, OpTally] = field(default_factory=dict)
    """The module's own work by aten op (not inside a child module): op name -> tally."""
    backward_ops: dict[str, OpTally] = field(default_factory=dict)
    """The backward of the module's own work by aten op."""
    receptive_field: FieldFigures | None = None
    """None where the output does not depend on a spatial input."""

    @property
    def output_shape(self) -> Shape | None:
        return self.output_shapes[0] if self.output_shapes else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Totals:
    params: int
    trainable_params: int
    unused_params: int
    """Parameters no op of the (eval) forward read, e.g. auxiliary heads."""
    param_bytes: int
    buffer_bytes: int
    macs: int
    flops: int
    backward_macs: int | None
    """MACs of one backward pass (conv and matmul gradients), from the training pass."""
    input_bytes: int
    activation_bytes: int
    """Sum of the output bytes of every leaf call: what torchinfo calls the forward pass size."""
    peak_activation_bytes: int
    """Largest total of live tensors other than parameters and buffers during the forward."""
    est_peak_inference_bytes: int
    """Parameters + buffers + peak of live activations, following tensor lifetimes (no_grad)."""
    saved_for_backward_bytes: int | None
    """Activations alive at the end of a training forward: those autograd keeps for backward."""
    grad_bytes: int
    est_peak_training_bytes: int | None
    """Peak of live tensors over one forward and backward step: parameters, buffers,
    tensors saved for backward, gradients and the largest transient. Optimizer state is apart.
    None (with a note on the report) when the model cannot run a training step at this input."""
    optimizer_sgd_momentum_bytes: int
    optimizer_adam_bytes: int
    est_peak_training_sgd_bytes: int | None
    """Peak of a training step with SGD-momentum's step: its state (one buffer per parameter,
    updated in place) on top of the step's peak."""
    est_peak_training_adam_bytes: int | None
    """Peak of a training step with Adam's step: its state (two moments per parameter) on top
    of the step's peak, or, if larger, what stays after backward (parameters, buffers, inputs,
    gradients, state) plus the step's temporaries. torch's per-parameter Adam (its CPU default)
    computes sqrt and then the division of one second moment at a time: twice the largest
    parameter. The foreach version (its CUDA default) takes the sqrt of all moments at once."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

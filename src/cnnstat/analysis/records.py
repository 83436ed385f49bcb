"""What the analysis produces, torch-free: the counting record of each module call
(``LayerRecord``, filled while a pass runs), and the frozen values a report is made of: one
``LayerRow`` per module call holding every per-layer figure under its ``cnnstat.figures`` key,
the model's ``Totals``, what a measurement found (``Measured``, on a ``Machine``) and where the
model sits on the machine's roofline (``RooflineSummary``).

Records hold raw numbers only (counts and bytes); formatting happens in ``render``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnstat.analysis.conditions import Conditions
from cnnstat.figures import field_text

Shape = tuple[int, ...]

CONVENTIONS = (
    "MACs: multiply-accumulates of conv, linear, matmul and attention (torchvision's \"GFLOPS\"). "
    "FLOPs: 2 x MACs + elementwise work (bias, BN, activations, adds, pooling, softmax). "
    "Counts in SI units (G = 10^9), bytes in binary units (MiB = 2^20)."
)

LAYER_IDENTITY = ("index", "name", "depth", "is_leaf", "call", "parent", "input_shapes")
"""What every projection of a row starts with (JSON, DataFrame, CSV), before its figures."""
ROW_LABEL = "layer"
"""The short row label a table shows (``cnnstat.frame.views``): not a figure of the data."""



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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Machine:
    """Where measured figures were taken: every measured figure is shown with it."""

    device: str
    device_name: str
    threads: int
    torch_version: str


@dataclass(frozen=True)
class Measured:
    """What one measured run found; times in milliseconds, memory in bytes."""

    machine: Machine
    mode: str
    optimizer: str | None
    batch: int
    latency_ms: float
    """Median of the end-to-end forward (eval) or training step (train)."""
    latency_iqr_ms: float
    runs: int
    """How many forwards or steps the median is taken over."""
    throughput_per_s: float
    """Items (batch elements) per second at the median latency."""
    measured_peak_bytes: int
    est_peak_bytes: int | None = None
    """The static estimate this peak is compared with (optimizer state included when used)."""
    layer_latency_ms: tuple[float, ...] | None = None
    """Median latency of every module call, in call order (the order of ``Report.layers``);
    a forward-only figure in train mode. A report holds them on its rows."""
    hooked_latency_ms: float | None = None
    """The forward with every module hooked: the model's own row of ``layer_latency_ms``."""
    hook_overhead: float | None = None
    """(hooked forward - plain forward) / plain forward, in eval; None in train (a forward is
    not a step) and where the hooked forward was not the slower (the overhead is lost in the noise)."""
    spread_warning: str | None = None
    """Set when the latency's IQR is wider than ``WIDE_SPREAD`` of its median."""
    round_latency_ms: tuple[float, ...] | None = None
    """The latency of each round of turns, in order: models timed in the same turns pair up round
    by round (a ratio with its spread)."""
    conditions: Conditions | None = None
    """What decided a CPU timing (threads, CPU share, other load, clock; contention); None on CUDA."""

    @property
    def peak_ratio(self) -> float | None:
        """Measured peak / static estimate."""
        return self.measured_peak_bytes / self.est_peak_bytes if self.est_peak_bytes else None

    def totals_dict(self) -> dict[str, Any]:
        """The measured entries of ``totals`` in the JSON report."""
        return {"measured_device": self.machine.device, "device_name": self.machine.device_name,
                "torch_version": self.machine.torch_version, "threads": self.machine.threads,
                "measured_mode": self.mode, "optimizer": self.optimizer, "batch": self.batch,
                "latency_ms": self.latency_ms, "latency_iqr_ms": self.latency_iqr_ms, "runs": self.runs,
                "throughput_per_s": self.throughput_per_s, "measured_peak_bytes": self.measured_peak_bytes,
                "est_peak_bytes": self.est_peak_bytes, "hooked_latency_ms": self.hooked_latency_ms,
                "hook_overhead": self.hook_overhead, "spread_warning": self.spread_warning,
                **conditions_dict(self.conditions), "peak_ratio": self.peak_ratio}


def conditions_dict(conditions: Conditions | None) -> dict[str, Any]:
    """A timing's conditions in the JSON totals, beside its threads (None where not read: CUDA)."""
    return {"cpu_share": conditions and conditions.cpu_share,
            "other_load_cores": conditions and conditions.other_load_cores, "cores": conditions and conditions.cores,
            "cpu_mhz": conditions and conditions.cpu_mhz, "single_thread_ms": conditions and conditions.single_thread_ms,
            "contention": conditions and conditions.contention}


@dataclass(frozen=True)
class RooflineSummary:
    """A measured model on its machine's roofline (``cnnstat.analysis.roofline``): the probed
    ceilings at the report's dtype and what the whole model achieves."""

    machine: Machine
    dtype: str
    peak_flops_per_s: float
    bandwidth_bytes_per_s: float
    achieved_flops_per_s: float
    """Of the whole model (forward, or training step)."""
    peak_fraction: float

    @property
    def ridge_flop_per_byte(self) -> float:
        """The arithmetic intensity (FLOP/byte) where the memory roof meets the compute roof."""
        return self.peak_flops_per_s / self.bandwidth_bytes_per_s

    def to_dict(self) -> dict[str, Any]:
        return {"device_name": self.machine.device_name, "threads": self.machine.threads, "dtype": self.dtype,
                "peak_flops_per_s": self.peak_flops_per_s, "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
                "ridge_flop_per_byte": self.ridge_flop_per_byte, "achieved_flops_per_s": self.achieved_flops_per_s,
                "peak_fraction": self.peak_fraction}


@dataclass(frozen=True)
class LayerRow:
    """One module call of a report, with every per-layer figure raw under its ``cnnstat.figures``
    key (``row.figure("macs")``): what JSON, the DataFrame, CSV and the tables show of it.

    Adding a per-layer figure: declare it in ``cnnstat.figures`` (in a layer group), compute it
    in the analysis, and store it here as a field of that key; every format then shows it."""

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
    description: str
    input_shapes: tuple[Shape, ...]
    """With the batch dimension."""
    output_shapes: tuple[Shape, ...]
    """With the batch dimension."""
    params: int
    """Parameters of the module and its children; counted on the first call only."""
    trainable_params: int
    macs: int
    """MACs of the module and everything it calls."""
    flops: int
    backward_macs: int
    """Backward MACs of the module and everything it calls (in a training pass; 0 in eval)."""
    activation_bytes: int
    """Bytes of the tensors the module returns."""
    saved_for_backward_bytes: int = 0
    """Bytes of what the module's ops made that a training forward leaves alive for the backward
    (children's included; the model's output on its last layer): they add up to the model's
    ``saved_for_backward_bytes``."""
    grad_bytes: int = 0
    """Bytes of the gradients of the module's trainable parameters (children's included; first call only)."""
    field_figures: FieldFigures | None = None
    """The output's receptive field over the model's input; None where the output does not
    depend on a spatial input."""
    latency_ms: float | None = None
    """Measured median latency of the call (``Report`` measured)."""
    latency_pct: float | None = None
    """Its share of the time, in percent (``cnnstat.analysis.report.latency_shares``)."""
    intensity_flop_per_byte: float | None = None
    """FLOPs per byte of inputs, weights and outputs (on a roofline)."""
    achieved_flops_per_s: float | None = None
    bound: str | None = None
    """"memory" or "compute" (on a roofline; None for a call without work)."""
    counted: LayerRecord = field(kw_only=True, repr=False, compare=False)
    """The counting record behind the row: per-op tallies and the module's own work."""

    @property
    def output_shape(self) -> Shape | None:
        """The first output's shape, with the batch dimension."""
        return self.output_shapes[0] if self.output_shapes else None

    @property
    def receptive_field(self) -> str | None:
        """Input pixels one output position sees, per spatial axis ("7x7", "whole"; "?" where an
        op had no receptive-field rule)."""
        if self.field_figures is None:
            return None
        return "?" if self.field_figures.size is None else field_text(self.field_figures.size)

    @property
    def jump(self) -> str | None:
        """Input pixels between neighbouring output positions (none once the field is whole)."""
        if self.field_figures is None:
            return None
        if self.field_figures.size is None:
            return "?"
        whole = all(size is None for size in self.field_figures.size)  # no positions left: no stride between them
        return None if whole else field_text(self.field_figures.jump)

    @property
    def own_field(self) -> str | None:
        """The layer's own field over its own input (a conv's dilated kernel)."""
        return None if self.field_figures is None else field_text(self.field_figures.kernel)

    def figure(self, key: str) -> Any:
        """The raw figure of ``key`` (a ``cnnstat.figures`` key)."""
        return getattr(self, key)


@dataclass(frozen=True)
class Fit:
    """The growth exponent ``k`` of ``figure ~ against^k`` over a sweep's points."""

    figure: str
    against: str
    """"pixels" or "batch"."""
    held: str
    """What stays fixed, e.g. "batch 1" or "input 3x128x128"."""
    exponent: float
    points: int

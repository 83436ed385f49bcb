"""One registry of op rules: what an aten op costs and what it returns on the meta device.

Rules are keyed by op overload packet (``aten.convolution``) and registered with a decorator,
as ``torch.utils.flop_counter.register_flop_formula`` and fvcore's handle table do::

    rules = OpRules()

    @rules.cost(aten.my_op)
    def my_op_cost(call: OpCall) -> Cost:
        return Cost(macs=..., flops=...)

A rule given an overload (``aten.mean.dim``) covers that overload only; a rule given a packet
covers all of its overloads. Registering a second rule of one kind for an op raises
:class:`DuplicateRule`, within a registry and when a caller's rules extend the defaults
(``profile(model, rules=my_rules)``).

A *cost rule* takes an :class:`OpCall` and returns a :class:`Cost`. A *shape rule* takes the
op's arguments and returns its outputs as meta tensors (shape, strides, dtype), or ``None``
where torch's own meta kernel must run; it raises where torch raises. A *field rule* maps the
receptive fields of the op's inputs to those of its outputs (``cnnstat.analysis.receptive_field``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Union

import torch

from cnnstat.errors import CnnstatError

Op = Union[torch._ops.OpOverloadPacket, torch._ops.OpOverload]


class Cost(NamedTuple):
    macs: int
    flops: int


@dataclass(frozen=True, slots=True)
class OpCall:
    """One call of an aten op, as a cost rule sees it."""

    func: torch._ops.OpOverload
    args: tuple
    kwargs: dict
    out: Any
    training: bool
    """Whether the module that ran the op was in training mode (batch statistics)."""


CostRule = Callable[[OpCall], Cost]
ShapeRule = Callable[..., Any]
FieldRule = Callable[..., Any]

_EVERY_OVERLOAD = ""


class DuplicateRule(CnnstatError):
    """A second rule of one kind for one op."""


def _key(op: Op) -> tuple[torch._ops.OpOverloadPacket, str]:
    if isinstance(op, torch._ops.OpOverload):
        return op.overloadpacket, op._overloadname
    if isinstance(op, torch._ops.OpOverloadPacket):
        return op, _EVERY_OVERLOAD
    raise TypeError(f"rules are registered for aten ops (torch.ops.aten.x or torch.ops.aten.x.overload), not {op!r}")


class _Table:
    """Rules of one kind, by packet, then by overload name ("" for every overload)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.by_packet: dict[torch._ops.OpOverloadPacket, dict[str, Callable]] = {}

    def add(self, op: Op, rule: Callable) -> None:
        packet, overload = _key(op)
        entry = self.by_packet.setdefault(packet, {})
        clash = overload in entry or (overload == _EVERY_OVERLOAD and entry) or _EVERY_OVERLOAD in entry
        if clash:
            raise DuplicateRule(f"{op} already has a {self.kind} rule")
        entry[overload] = rule

    def entries(self) -> list[tuple[Op, Callable]]:
        """(op as it was registered, rule) for every rule."""
        return [(packet if overload == _EVERY_OVERLOAD else getattr(packet, overload), rule)
                for packet, entry in self.by_packet.items() for overload, rule in entry.items()]

    def find(self, func: torch._ops.OpOverload) -> Callable | None:
        entry = self.by_packet.get(func.overloadpacket)
        if entry is None:
            return None
        return entry.get(func._overloadname) or entry.get(_EVERY_OVERLOAD)


class OpRules:
    """Cost, shape and receptive-field rules by op; see the module's docstring."""

    def __init__(self) -> None:
        self._costs = _Table("cost")
        self._shapes = _Table("shape")
        self._fields = _Table("receptive-field")
        self._resolved: dict[torch._ops.OpOverload, tuple[CostRule | None, ShapeRule | None]] = {}

    def cost(self, *ops: Op) -> Callable[[CostRule], CostRule]:
        """Decorator: ``rule`` is the cost of each of ``ops``."""
        return self._register(self._costs, ops)

    def shape(self, *ops: Op) -> Callable[[ShapeRule], ShapeRule]:
        """Decorator: ``rule`` gives the meta outputs of each of ``ops``."""
        return self._register(self._shapes, ops)

    def field(self, *ops: Op) -> Callable[[FieldRule], FieldRule]:
        """Decorator: ``rule`` gives the receptive fields of the outputs of each of ``ops``."""
        return self._register(self._fields, ops)

    def _register(self, table: _Table, ops: tuple[Op, ...]) -> Callable:
        def register(rule: Callable) -> Callable:
            for op in ops:
                table.add(op, rule)
            self._resolved.clear()
            return rule
        return register

    def lookup(self, func: torch._ops.OpOverload) -> tuple[CostRule | None, ShapeRule | None]:
        """(cost rule, shape rule) of one overload, either None where there is none."""
        found = self._resolved.get(func)
        if found is None:
            found = self._resolved[func] = (self._costs.find(func), self._shapes.find(func))
        return found

    def field_rule(self, func: torch._ops.OpOverload) -> FieldRule | None:
        """The receptive-field rule of one overload, None where there is none."""
        return self._fields.find(func)

    def has_cost_rule(self, packet: torch._ops.OpOverloadPacket) -> bool:
        """Whether a cost rule covers ``packet`` or one of its overloads."""
        return packet in self._costs.by_packet

    def shape_ops(self) -> list[Op]:
        """Every op a shape rule was registered for, as it was registered."""
        return [op for op, _ in self._shapes.entries()]

    def extended(self, other: OpRules | None) -> OpRules:
        """A registry with the rules of both; a rule for an op both cover raises."""
        if other is None:
            return self
        merged = OpRules()
        for source in (self, other):
            for mine, theirs in ((merged._costs, source._costs), (merged._shapes, source._shapes),
                                 (merged._fields, source._fields)):
                for op, rule in theirs.entries():
                    mine.add(op, rule)
        return merged

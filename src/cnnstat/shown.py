"""Results that show themselves where users read them: in a notebook (the page ``-o x.html``
writes, self-contained), with ``print()`` (the command line's table), as a short ``repr``, as
a table of a chosen depth and columns, and as a DataFrame.

Results live in ``cnnstat.analysis``, below the layers that draw them (zoo -> analysis ->
frame -> render -> cli): a result never imports those. ``cnnstat.cli.display`` draws, and
``import cnnstat`` registers it here (``register``). Pure Python: no torch, no pandas.

A result class takes ``Shown`` as a base and ``repr=False`` in its ``@dataclass`` (a dataclass
writes its own ``__repr__`` otherwise: 51,442 characters for resnet18's report).
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence


class Drawer(Protocol):
    def html(self, result: Any) -> str: ...

    def text(self, result: Any, depth: int | None = None, columns: Sequence[str] | None = None) -> str: ...

    def short(self, result: Any) -> str: ...

    def frame(self, result: Any) -> Any: ...


_drawers: list[Drawer] = []


def register(drawer: Drawer) -> None:
    """The one drawer of every result (``cnnstat.cli.display``)."""
    _drawers[:] = [drawer]


def _drawer() -> Drawer:
    if not _drawers:
        raise RuntimeError("no drawer registered: import cnnstat (its import registers cnnstat.cli.display)")
    return _drawers[0]


class Shown:
    """The display methods of a result."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        """The page ``-o x.html`` writes, for Jupyter."""
        return _drawer().html(self)

    def __str__(self) -> str:
        """The command line's table with the lines under it, as plain text at its natural width."""
        return _drawer().text(self)

    def __repr__(self) -> str:
        return _drawer().short(self)

    def table(self, depth: int | None = None, columns: Sequence[str] | None = None) -> str:
        """The table as text: rows down to ``depth`` (a report's tree), only ``columns`` (keys as
        in CSV, e.g. ``["params", "macs"]``; the first column stays)."""
        return _drawer().text(self, depth=depth, columns=columns)

    def to_frame(self):
        """A pandas DataFrame of the rows, raw numbers under the CSV's keys."""
        return _drawer().frame(self)

"""Progress on stderr while long work runs, only when stderr is a terminal (a log or a pipe
gets nothing: a transient line would leave a blank one there), and the lines a command says
meanwhile (``say``): printed above the live line, never onto it, wrapped to the width."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_live: list[Console] = []
"""The stderr console of the spinner or bar now running, if any: ``say`` prints through it."""


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def say(text: str) -> None:
    """One message on stderr (``cnnstat: warning: ...``), above any live progress line and
    wrapped to the terminal's width; as one unwrapped line in a log."""
    from rich.text import Text

    console = _live[-1] if _live else _stderr()
    if console.is_terminal:
        console.print(Text(text))
    else:
        console.file.write(text + "\n")
        console.file.flush()


def table_on_terminal(fmt: str, output: str | None) -> bool:
    """Whether the result is a table printed on a terminal: its footer shows the warnings, so
    stderr need not say them again."""
    from rich.console import Console

    from cnnstat.render.output import data_stream

    # data_stream: while a command runs, sys.stdout is stderr (what a model prints goes there)
    return fmt == "table" and not output and Console(file=data_stream()).is_terminal


class _Quiet:
    def update(self, _text: str) -> None:
        pass

    def advance(self) -> None:
        pass


@contextlib.contextmanager
def working(text: str):
    """A spinner with ``text`` on stderr; ``update(text)`` says what runs now."""
    from rich.text import Text

    stderr = _stderr()
    if not stderr.is_terminal:
        yield _Quiet()
        return
    with stderr.status(Text(text)) as status:
        _live.append(stderr)
        try:
            yield _StatusText(status)
        finally:
            _live.pop()


@contextlib.contextmanager
def counting(total: int, text: str):
    """A bar of ``total`` steps on stderr; ``update(text)`` names the step, ``advance()`` ends it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    stderr = _stderr()
    if not stderr.is_terminal:
        yield _Quiet()
        return
    columns = (TextColumn("{task.description}"), BarColumn(bar_width=None), MofNCompleteColumn())
    with Progress(*columns, console=stderr, transient=True) as progress:
        _live.append(stderr)
        try:
            yield _Steps(progress, progress.add_task(text, total=total))
        finally:
            _live.pop()


class _StatusText:
    """Status text as plain text: a model named ``box[/reg]`` is not markup."""

    def __init__(self, status) -> None:
        self._status = status

    def update(self, text: str) -> None:
        from rich.text import Text

        self._status.update(Text(text))

    def advance(self) -> None:
        pass


class _Steps:
    def __init__(self, progress, task) -> None:
        self._progress, self._task = progress, task

    def update(self, text: str) -> None:
        from rich.markup import escape

        self._progress.update(self._task, description=escape(text))

    def advance(self) -> None:
        self._progress.advance(self._task)

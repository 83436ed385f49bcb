"""Progress on stderr while long work runs, only when stderr is a terminal (a log or a pipe
gets nothing: a transient line would leave a blank one there)."""

from __future__ import annotations

import contextlib


class _Quiet:
    def update(self, _text: str) -> None:
        pass


@contextlib.contextmanager
def working(text: str):
    """A spinner with ``text`` on stderr; ``update(text)`` says what runs now."""
    from rich.console import Console
    from rich.text import Text

    stderr = Console(stderr=True, highlight=False)
    if not stderr.is_terminal:
        yield _Quiet()
        return
    with stderr.status(Text(text)) as status:
        yield _StatusText(status)


class _StatusText:
    """Status text as plain text: a model named ``box[/reg]`` is not markup."""

    def __init__(self, status) -> None:
        self._status = status

    def update(self, text: str) -> None:
        from rich.text import Text

        self._status.update(Text(text))

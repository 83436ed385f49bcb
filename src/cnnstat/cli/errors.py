"""Turn a user's mistake into one line on stderr and an exit code, with no traceback."""

from __future__ import annotations

import functools

import typer

from cnnstat.cli import state
from cnnstat.errors import (CnnstatError, CountingOutOfMemory, ForwardError, InputRankError, InputTooLarge,
                            MissingInputSize, OutOfMemory, UnavailableDevice)

INTERRUPTED = 130

WORDING = {
    MissingInputSize: "{message}; give it with --input, e.g. --input 3x224x224",
    InputRankError: "malformed --input: {message}",
    InputTooLarge: "{message}; give a smaller --input or --batch",
    ForwardError: "{message}; check --input and --batch",
    CountingOutOfMemory: "{message}; use a smaller --input or --batch",
    OutOfMemory: "{message}; use a smaller --batch or --device meta",
    UnavailableDevice: "{message}; use --device cpu or meta",
}
"""How the command line words a library error: with the flags that fix it (the library names none)."""


def user_message(error: CnnstatError) -> str:
    """The error's message in the command line's words."""
    wording = next((text for kind, text in WORDING.items() if isinstance(error, kind)), "{message}")
    return wording.format(message=error)


def print_error(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(f"[bold red]cnnstat: error:[/] {escape(message)}")


def handle_errors(command):
    """Wrap a command so that CnnstatError exits with its code and Ctrl-C exits 130; stdout
    carries the command's output only (what a model prints goes to stderr)."""
    from cnnstat.render.output import stdout_for_data_only

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with stdout_for_data_only():
                return command(*args, **kwargs)
        except SystemExit as error:  # raised by the model's code: cnnstat's own exits are typer.Exit
            if state.debug:
                raise
            print_error(f"the model's code called sys.exit({error.code!r}), which stops cnnstat")
            raise typer.Exit(CnnstatError.exit_code) from None
        except CnnstatError as error:
            if state.debug:
                raise
            print_error(user_message(error))
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            if state.debug:
                raise
            print_error("interrupted")
            raise typer.Exit(INTERRUPTED) from None

    return wrapper

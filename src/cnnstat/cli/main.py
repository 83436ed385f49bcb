"""The `cnnstat` command: assembles one small Typer app per command. Commands map a user's
mistake to exit code 2 (1 for a failed check, 130 for Ctrl-C) through ``handle_errors``."""

from __future__ import annotations

import logging
from typing import NoReturn, Optional

import typer

from cnnstat import __version__
from cnnstat.cli import compare, listing, report, state, study, summary
from cnnstat.cli import bench
from cnnstat.cli import crosscheck
from cnnstat.cli import checkpoint, fit
from cnnstat.cli import sweep
from cnnstat.cli.errors import INTERRUPTED, handle_errors, print_error
from cnnstat.cli.help import UnixCommand, UnixGroup

app = typer.Typer(
    name="cnnstat",
    help="What a convolutional network costs, layer by layer: shapes, params, MACs/FLOPs, memory, latency.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=UnixGroup,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"cnnstat {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Optional[bool] = typer.Option(None, "--version", callback=_show_version, is_eager=True,
                                           help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
) -> None:
    state.debug = debug
    # torch.utils.benchmark imports cpp_extension, which warns "No CUDA runtime is found" when a CUDA
    # build of torch runs where no GPU is: the timing cnnstat does compiles nothing, so it need not know.
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)


app.command("list", cls=UnixCommand)(handle_errors(listing.list_command))
app.command("summary", cls=UnixCommand)(handle_errors(summary.summary_command))
app.command("bench", cls=UnixCommand)(handle_errors(bench.bench_command))
app.command("compare", cls=UnixCommand)(handle_errors(compare.compare_command))
app.command("study", cls=UnixCommand)(handle_errors(study.study_command))
app.command("report", cls=UnixCommand)(handle_errors(report.report_command))
app.command("crosscheck", cls=UnixCommand)(handle_errors(crosscheck.crosscheck_command))
app.command("sweep", cls=UnixCommand)(handle_errors(sweep.sweep_command))
app.command("fit", cls=UnixCommand)(handle_errors(fit.fit_command))
app.command("checkpoint", cls=UnixCommand)(handle_errors(checkpoint.checkpoint_command))


def _click_exception():
    try:  # typer >= 0.20 carries its own copy of click
        from typer._click.exceptions import ClickException
    except ImportError:
        from click.exceptions import ClickException
    return ClickException


PIPE_CLOSED = 141
"""128 + SIGPIPE: what a shell reports for a Unix tool whose reader went away."""


def run() -> None:
    """The console entry point. A reader that closed the pipe early (``| head``) ends it
    quietly, as Unix tools end; a stdout that cannot take the output is one line on stderr
    (``emit``)."""
    import os
    import sys

    from cnnstat.render.output import PipeClosed

    try:
        try:
            _run()
        finally:
            if sys.stdout is not None:  # None: descriptor 1 was closed (`>&-`)
                sys.stdout.flush()
    except (PipeClosed, BrokenPipeError):
        # Nobody reads stdout any more: point it at /dev/null so the flush at exit cannot raise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(PIPE_CLOSED)


def console() -> NoReturn:
    """The ``cnnstat`` script: ``run``, then end the process without the interpreter's teardown.
    Finalising the modules of a process that imported torch takes about 0.4 s, a sixth of a
    static pass, and a finished command needs none of it: the atexit handlers (logging's
    flush among them) still run and both streams are flushed. Where a thread that is not a
    daemon still runs, the process ends the usual way, which waits for it."""
    import atexit
    import os
    import sys
    import threading

    try:
        run()
        code: str | int | None = 0
    except SystemExit as exit:
        code = exit.code
    except KeyboardInterrupt:  # Ctrl-C before a command began (parsing its options) or after it ended
        print_error("interrupted")
        code = INTERRUPTED
    if any(thread.is_alive() and not thread.daemon for thread in threading.enumerate()
           if thread is not threading.main_thread()):
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): Python prints it and ends with 1
        sys.stderr.write(f"{code}\n")
        status = 1
    atexit._run_exitfuncs()  # what interpreter shutdown would run first
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a reader gone, a stream closed: nothing more can be said
            pass
    _flush_c_streams()
    os._exit(status)


def _flush_c_streams() -> None:
    """What a C library buffered in its stdio (a model's extension writing with printf), which
    exit() would flush and ``os._exit`` does not."""
    import ctypes

    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to ask (not a POSIX system)
        pass


def _run() -> None:
    """Typer's own usage errors (a missing argument, ``--batch abc``) become one line on
    stderr, like every other mistake, instead of a boxed usage text."""
    import sys

    click_exception = _click_exception()
    command = typer.main.get_command(app)
    try:
        code = command.main(prog_name="cnnstat", standalone_mode=False)
    except click_exception as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # `cnnstat` alone: its message is the help
            sys.stderr.write(error.format_message() + "\n")
        else:
            context = getattr(error, "ctx", None)
            where = f" (see '{context.command_path} --help')" if context is not None else ""
            print_error(error.format_message().replace("\n", " ") + where)
        sys.exit(error.exit_code)
    except typer.Abort:
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)

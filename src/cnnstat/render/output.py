"""Where rendered output goes: stdout, or a file written atomically (never half-written).

A symlink is followed: its target is replaced atomically and the link stays a link. A path that
names an open descriptor (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``)
is written through that descriptor, at its offset, appending where it was opened to append
(``-o /dev/stdout >> log.txt``); ``-o -`` is stdout, as in most tools. A device node or a
FIFO (``-o /dev/null``, a named pipe) is written through, never replaced by a regular file.
SIGINT and SIGTERM wait while a file is written and renamed, so that no temporary file is
left behind.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator, TextIO

from cnnstat.errors import CnnstatError


class PipeClosed(Exception):
    """The reader of stdout went away (``cnnstat ... | head``): the command ends quietly."""


class OutputFailed(CnnstatError):
    exit_code = 1


@contextlib.contextmanager
def stdout_errors() -> Iterator[None]:
    """Around writes to stdout: a closed pipe is ``PipeClosed``, any other failure (``> /dev/full``)
    one clear error."""
    try:
        yield
    except BrokenPipeError:
        raise PipeClosed from None
    except OSError as error:
        raise OutputFailed(f"cannot write to stdout: {error.strerror or error}") from None


_UNSET = object()
_DATA: contextvars.ContextVar[Any] = contextvars.ContextVar("data_stream", default=_UNSET)


@contextlib.contextmanager
def stdout_for_data_only() -> Iterator[None]:
    """Meanwhile anything printed (a model's forward, a builder, a library, C code writing to
    descriptor 1) goes to stderr, and only ``data_stream()`` reaches stdout: ``--format json``
    stays JSON."""
    with _descriptor_1_on_stderr() as data:
        token = _DATA.set(data)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                yield
        finally:
            _DATA.reset(token)


@contextlib.contextmanager
def _descriptor_1_on_stderr() -> Iterator[TextIO | None]:
    """Descriptor 1 points at stderr's file meanwhile, and the stream given writes to stdout as it
    was (a duplicate of descriptor 1, sharing its offset and append mode); restored after. Where
    Python's stdout is not descriptor 1 (a test's capture, a closed stdout), or there is no stderr
    (``2>&-``), stdout is given as it is."""
    stdout = sys.stdout
    try:
        on_descriptors = stdout.fileno() == 1 and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # None for a closed one, or a stream without a descriptor
        on_descriptors = False
    if not on_descriptors:
        yield stdout
        return
    stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    data = open(saved, "w", buffering=1 if stdout.line_buffering else -1, encoding=stdout.encoding,
                errors=stdout.errors)
    try:
        yield data
    finally:
        with contextlib.suppress(OSError):  # a reader gone: the command has ended with PipeClosed already
            data.flush()
        with contextlib.suppress(OSError):
            sys.stderr.flush()
        os.dup2(saved, 1)
        with contextlib.suppress(OSError):
            data.close()


def data_stream() -> TextIO:
    """Where a command's output goes: stdout, as it was before ``stdout_for_data_only``."""
    found = _DATA.get()
    stream = sys.stdout if found is _UNSET else found
    if stream is None:  # Python's stdout when descriptor 1 was closed (`cnnstat ... >&-`)
        raise OutputFailed("cannot write to stdout: it is closed; give -o FILE")
    return stream


def write_stdout(text: str) -> None:
    stream = data_stream()
    with stdout_errors():
        stream.write(text)
        stream.flush()


_DESCRIPTOR_PATH = re.compile(r"/dev/(?P<std>stdin|stdout|stderr)|/dev/fd/(?P<fd>\d+)"
                              r"|/proc/(?P<process>self|thread-self|\d+)/fd/(?P<proc_fd>\d+)")
_STANDARD = {"stdin": 0, "stdout": 1, "stderr": 2}
STDOUT_NAME = "-"
"""What ``-o`` takes for stdout (a file of that name is ``./-``)."""
MAX_LINKS = 40
"""Symbolic links followed to a descriptor path, as the kernel follows them."""


def descriptor_of(path: str | os.PathLike[str]) -> int | None:
    """The open descriptor ``path`` names, directly or through symbolic links (out.csv ->
    /dev/stdout -> /proc/self/fd/1), ``-`` for stdout; None for any other path."""
    if os.fspath(path) == STDOUT_NAME:
        return 1
    current = os.path.abspath(path)
    for _ in range(MAX_LINKS):
        match = _DESCRIPTOR_PATH.fullmatch(current)
        if match and match["process"] not in (None, "self", "thread-self", str(os.getpid())):
            return None  # another process's descriptor: its file is written as a file
        if match:
            return _STANDARD[match["std"]] if match["std"] else int(match["fd"] or match["proc_fd"])
        try:
            link = os.readlink(current)
        except OSError:  # not a link: a file, a folder, or nothing yet
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return None


def _check_descriptor(path: str | os.PathLike[str], fd: int) -> None:
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        raise CnnstatError(f"cannot write {path}: descriptor {fd} is not open") from None
    if flags & os.O_ACCMODE == os.O_RDONLY:
        raise CnnstatError(f"cannot write {path}: descriptor {fd} is open for reading only")


def _write_descriptor(path: str | os.PathLike[str], fd: int, payload: bytes) -> None:
    """Through the open descriptor, at its offset (appending where it was opened to append)."""
    if fd in (1, 2):  # through Python's own stream (what it holds is written first), as bytes: a plot too
        stream = data_stream() if fd == 1 else sys.stderr
        with stdout_errors():
            stream.flush()
            stream.buffer.write(payload)
            stream.buffer.flush()
        return
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        raise PipeClosed from None
    except OSError as error:
        raise CnnstatError(f"cannot write {path}: {error.strerror}") from None


def _resolved(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` reaches: a symlink's final target."""
    target = Path(path)
    if not target.is_symlink():
        return target
    try:
        return Path(os.path.realpath(target, strict=True))  # a loop raises here
    except FileNotFoundError:  # a dangling link: its target is created, as open() would
        return Path(os.path.realpath(target))


def _is_special(target: Path) -> bool:
    """An existing file that is not a regular one: a device node, a FIFO, a socket."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def is_stream(path: str | os.PathLike[str]) -> bool:
    """A path written through, not replaced: an open descriptor, a device node, a FIFO."""
    return descriptor_of(path) is not None or _is_special(Path(path))


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early, before any work, when ``path`` could not be written."""
    fd = descriptor_of(path)
    if fd is not None:
        _check_descriptor(path, fd)
        return Path(path)
    try:
        return _check_file(path)
    except OSError as error:  # a symlink loop, a name too long for the file system
        raise CnnstatError(f"cannot write {path}: {error.strerror or error}") from None


def _check_file(path: str | os.PathLike[str]) -> Path:
    if _is_special(Path(path)):  # through any symlink: a FIFO, /dev/null
        if not os.access(path, os.W_OK):
            raise CnnstatError(f"cannot write {path}: permission denied")
        return Path(path)
    target = _resolved(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise CnnstatError(f"cannot write {target}: it is a directory; give a file name")
    if parent.exists() and not parent.is_dir():
        raise CnnstatError(f"cannot write {target}: {parent} is a file, not a directory")
    if not parent.is_dir():
        raise CnnstatError(f"cannot write {target}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CnnstatError(f"cannot write {target}: directory {parent} is not writable")
    return target


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write to a temporary file beside ``path`` and rename it over: readers see the old
    file or the new one, never a part; a failure leaves no file behind."""
    target = check_writable(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = descriptor_of(path)
    if fd is not None:
        _write_descriptor(path, fd, payload)
        return target
    if _is_special(target):
        _write_through(target, payload)
        return target
    mode = _file_mode(target)
    with signals_held():
        try:
            fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
        except OSError as error:
            raise CnnstatError(f"cannot write {target}: {error.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), mode)
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, target)
        except BaseException as error:
            try:
                os.unlink(temp_name)
            except FileNotFoundError:
                pass
            if isinstance(error, OSError):
                raise CnnstatError(f"cannot write {target}: {error.strerror}") from None
            raise
    return target


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive meanwhile take effect after it, as if they arrived then:
    a file being written is finished and renamed (or removed) first. Only the main thread
    handles signals; elsewhere this holds nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {number: signal.getsignal(number) for number in HELD_SIGNALS}
    held = [number for number, handler in previous.items() if handler is not None]  # None: not set from Python
    for number in held:
        signal.signal(number, lambda number, frame: arrived.append(number))
    try:
        yield
    finally:
        for number in held:
            signal.signal(number, previous[number])
        if arrived:
            signal.raise_signal(arrived[0])


def _write_through(target: Path, payload: bytes) -> None:
    try:
        with open(target, "wb") as handle:
            handle.write(payload)
    except BrokenPipeError:  # -o a FIFO whose reader left
        raise PipeClosed from None
    except OSError as error:
        raise CnnstatError(f"cannot write {target}: {error.strerror}") from None


def _file_mode(target: Path) -> int:
    """The mode a plain open() would give (mkstemp's is 0o600): the replaced file's, or 0o666 less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)  # the only way to read it; restored at once
        os.umask(umask)
        return 0o666 & ~umask

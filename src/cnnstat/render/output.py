"""Where rendered output goes: stdout, or a file written atomically (never half-written).

A symlink is followed: its target is replaced atomically and the link stays a link. A device
node or a FIFO (``-o /dev/null``, ``-o /dev/stdout``, a named pipe) is written through, never
replaced by a regular file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from cnnstat.errors import CnnstatError


class PipeClosed(Exception):
    """The reader of stdout went away (``cnnstat ... | head``): the command ends quietly."""


class OutputFailed(CnnstatError):
    exit_code = 1


@contextlib.contextmanager
def stdout_errors():
    """Around writes to stdout: a closed pipe is ``PipeClosed``, any other failure (``> /dev/full``)
    one clear error."""
    try:
        yield
    except BrokenPipeError:
        raise PipeClosed from None
    except OSError as error:
        raise OutputFailed(f"cannot write to stdout: {error.strerror or error}") from None


def write_stdout(text: str) -> None:
    with stdout_errors():
        sys.stdout.write(text)
        sys.stdout.flush()


def _resolved(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` reaches: a symlink's final target."""
    target = Path(path)
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def _is_special(target: Path) -> bool:
    """An existing file that is not a regular one: a device node, a FIFO, a socket."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, before any work, when ``path`` could not be written."""
    if _is_special(Path(path)):  # through any symlink: /dev/stdout -> /proc/self/fd/1 -> a pipe
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


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write to a temporary file beside ``path`` and rename it over: readers see the old
    file or the new one, never a part; a failure leaves no file behind."""
    target = check_writable(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if _is_special(target):
        _write_through(target, payload)
        return target
    mode = _file_mode(target)
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


def _write_through(target: Path, payload: bytes) -> None:
    try:
        with open(target, "wb") as handle:
            handle.write(payload)
    except BrokenPipeError:  # -o /dev/stdout into a pipe whose reader left
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

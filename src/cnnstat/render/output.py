"""Where rendered output goes: stdout, or a file written atomically (never half-written)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from cnnstat.errors import CnnstatError


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, before any work, when ``path`` could not be written."""
    target = Path(path)
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


def _file_mode(target: Path) -> int:
    """The mode a plain open() would give (mkstemp's is 0o600): the replaced file's, or 0o666 less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)  # the only way to read it; restored at once
        os.umask(umask)
        return 0o666 & ~umask

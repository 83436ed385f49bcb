"""Output files are written atomically: the previous file survives a killed or failed run."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from cnnstat.errors import CnnstatError
from cnnstat.render import output
from cnnstat.render.output import write_atomic

# A child that writes a 4 MiB report through write_atomic, one 64 KiB chunk every 10 ms
# (announcing the first), so that the parent can kill it halfway.
SLOW_WRITER = textwrap.dedent("""
    import os, sys, time
    from cnnstat.render import output

    real_fdopen = os.fdopen

    class SlowFile:
        def __init__(self, handle):
            self.handle = handle
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.handle.close()
        def fileno(self):
            return self.handle.fileno()
        def flush(self):
            self.handle.flush()
        def write(self, data):
            for start in range(0, len(data), 65536):
                self.handle.write(data[start:start + 65536])
                self.handle.flush()
                if start == 0:
                    print("writing", flush=True)
                time.sleep(0.01)

    output.os.fdopen = lambda fd, mode: SlowFile(real_fdopen(fd, mode))
    output.write_atomic(sys.argv[1], "new row\\n" * (4 << 17))
""")


def test_sigkill_during_export_leaves_the_previous_file(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("previous report\n")
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "writing\n"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert target.read_text() == "previous report\n"
    # SIGKILL cannot be caught: the killed run's partial temporary file stays, hidden and named after
    # the target; it is the only other file, and the next run replaces the target as usual.
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert len(leftovers) == 1 and leftovers[0].startswith(".report.csv.") and leftovers[0].endswith(".tmp")
    assert 0 < (tmp_path / leftovers[0]).stat().st_size < len("new row\n" * (4 << 17))
    write_atomic(target, "next report\n")
    assert target.read_text() == "next report\n"


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk full", "ctrl-c"])
@pytest.mark.parametrize("existing", [True, False], ids=["replacing", "new"])
def test_a_failed_write_leaves_no_file_behind(tmp_path, monkeypatch, failure, existing):
    target = tmp_path / "out.json"
    if existing:
        target.write_text("previous")

    def fail(fd, mode):
        os.close(fd)
        raise failure

    monkeypatch.setattr(output.os, "fdopen", fail)
    with pytest.raises(CnnstatError if isinstance(failure, OSError) else KeyboardInterrupt):
        write_atomic(target, "new")
    assert [p.name for p in tmp_path.iterdir()] == (["out.json"] if existing else [])
    if existing:
        assert target.read_text() == "previous"


def test_a_written_file_has_the_mode_a_plain_open_gives(tmp_path):
    umask = os.umask(0o022)
    try:
        assert write_atomic(tmp_path / "new.csv", "x").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(umask)
    kept = tmp_path / "kept.csv"
    kept.write_text("old")
    kept.chmod(0o640)
    write_atomic(kept, "new")
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "new"


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("existing", [True, False], ids=["replacing", "new"])
def test_sigterm_or_sigint_during_export_leave_no_temporary_file(tmp_path, sent, existing):
    """The signal waits until the file is whole and renamed, then stops the process as it would have."""
    target = tmp_path / "report.csv"
    if existing:
        target.write_text("previous report\n")
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "writing\n"
    child.send_signal(sent)
    child.wait(timeout=30)
    assert child.returncode == -sent
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]
    assert target.read_text() == "new row\n" * (4 << 17)


def test_signals_held_restores_the_handlers_and_delivers_what_arrived():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with output.signals_held():
            signal.raise_signal(signal.SIGINT)
            finished = True  # reached: the interrupt waited
    assert finished and signal.getsignal(signal.SIGINT) is before

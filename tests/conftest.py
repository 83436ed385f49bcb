import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

import pytest

# One intra-op thread unless told otherwise, set before torch is imported (and inherited by every
# console script a test starts): on a shared 2-core machine torch's OpenMP threads spin-wait
# against each other and everything else; test_zoo_on_cpu took 214 s with two threads under
# load, 8 s with one. No test asserts a figure that depends on the thread count.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"

CLI_ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
"""What every CLI test runs under, in process or not: a wide, colourless, non-terminal stdout."""


def run_cli(*args: str, check: bool = False, cwd=None,
            env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess:
    """Run the console entry point (``cnnstat.cli.main.run``) in this process, as the ``cnnstat``
    script would: ``sys.argv`` set, environment variables added (``None`` removes one), ``cwd``
    entered, stdout and stderr captured, the exit code taken from ``SystemExit``; an exception
    that escapes prints its traceback on stderr and exits 1, as the interpreter would.
    A fresh interpreter (hash seed, first import, the installed script) is ``start_console_script``'s."""
    from typer.testing import CliRunner

    from cnnstat.cli import main, state

    runner = CliRunner()
    with runner.isolation(env={**CLI_ENV, **(env or {})}) as (stdout, stderr, _), _interpreter_defaults(), \
            contextlib.chdir(cwd or os.getcwd()):
        saved_argv, saved_debug = sys.argv, state.debug
        sys.argv = ["cnnstat", *args]
        try:
            main.run()
            returncode = 0
        except SystemExit as exit_:
            returncode = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:  # noqa: B036 (what the interpreter does with an uncaught exception)
            sys.stderr.write(traceback.format_exc())
            returncode = 1
        finally:
            sys.argv, state.debug = saved_argv, saved_debug
            sys.stdout.flush()
            sys.stderr.flush()
        result = subprocess.CompletedProcess(["cnnstat", *args], returncode,
                                             stdout.getvalue().decode(), stderr.getvalue().decode())
    if check and result.returncode != 0:
        raise AssertionError(f"cnnstat {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


@contextlib.contextmanager
def _interpreter_defaults():
    """Python's own warning filters, printing to (the captured) stderr, instead of pytest's
    recording: a warning the user would see, a test sees too."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: \
            sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
        yield


CONSOLE_SCRIPT = Path(sys.executable).with_name("cnnstat")
"""The script ``pip install`` writes beside the interpreter."""


def start_console_script(*args: str, cwd=None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start the installed ``cnnstat`` script (seconds each: a fresh interpreter imports torch), for
    what only a new process shows: the entry point pip writes, a hash seed, the current folder."""
    assert CONSOLE_SCRIPT.is_file(), f"{CONSOLE_SCRIPT} is missing: pip install -e . first"
    env = dict(os.environ, **CLI_ENV, **(env or {}))
    if env.get("PYTHONPATH"):  # PYTHONPATH=src stays this checkout's src in another cwd
        env["PYTHONPATH"] = os.pathsep.join(str(Path(entry).resolve()) for entry in env["PYTHONPATH"].split(os.pathsep))
    return subprocess.Popen([str(CONSOLE_SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=cwd)


def finish(process: subprocess.Popen, check: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=timeout)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(process.args)} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture
def cli():
    return run_cli


REPORT_SEED = "1"
"""The string-hash seed of ``fresh_reports`` (test_determinism runs the report with another)."""


def start_fresh_reports(folder: Path | None = None):
    folder = folder or Path(tempfile.mkdtemp(prefix="cnnstat-fresh-reports-"))
    return folder, start_console_script("report", "--out", str(folder / "reports"), "--no-torchvision",
                                        env={"PYTHONHASHSEED": REPORT_SEED})


@pytest.fixture(scope="session")
def fresh_reports(tmp_path_factory):
    """`cnnstat report` on meta, run once per session (started before the first test: it takes
    seconds), without torchvision's catalogue (minutes; tests/zoo/test_torchvision_catalogue.py
    holds its rows current). Under xdist (``-n 2``) the workers share one run: the first that
    needs it runs it, under a lock, in the folder pytest gives the whole run."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        from filelock import FileLock

        shared = tmp_path_factory.getbasetemp().parent
        with FileLock(shared / "fresh-reports.lock"):
            if not (shared / "fresh-reports.done").exists():
                finish(start_fresh_reports(shared / "fresh-reports")[1], check=True, timeout=600)
                (shared / "fresh-reports.done").touch()
        yield shared / "fresh-reports" / "reports"
        return
    folder, process = take_early("fresh_reports") or start_fresh_reports()
    finish(process, check=True, timeout=600)
    yield folder / "reports"
    shutil.rmtree(folder)


def needs_reference():
    return pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference is absent")


@pytest.fixture
def quick_probe(monkeypatch, tmp_path):
    """The roofline module with a probe that takes milliseconds and a cache of its own."""
    from cnnstat.analysis import roofline

    monkeypatch.setattr(roofline, "cache_file", lambda: tmp_path / "roofline.json")
    monkeypatch.setattr(roofline, "PROBE_SECONDS", 0.01)
    monkeypatch.setattr(roofline, "GEMM_SIZE", {"cpu": 64, "cuda": 256})
    monkeypatch.setattr(roofline, "HALF_GEMM_SIZE_CPU", 32)
    monkeypatch.setattr(roofline, "COPY_BYTES", {"cpu": 2**20, "cuda": 2**20})
    return roofline


STARTED_EARLY: dict[str, object] = {}
"""What each test module's ``start_early(test_names)`` started, by module name (``take_early``)."""


def pytest_collection_finish(session):
    """Before the first test, start the fresh interpreters the collected tests will read: each
    module's ``start_early`` gets the names of its collected tests and starts what they need. On a
    2-core machine they run beside the in-process tests instead of after them."""
    if session.config.option.collectonly or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # under xdist each worker collects every test: the one that runs a module starts its own
    by_module: dict = {}
    for item in session.items:
        if getattr(item, "module", None) is not None and hasattr(item.module, "start_early"):
            by_module.setdefault(item.module, []).append(item.originalname)
    for module, names in by_module.items():
        STARTED_EARLY[module.__name__] = module.start_early(names)
    if any("fresh_reports" in getattr(item, "fixturenames", ()) for item in session.items):
        STARTED_EARLY["fresh_reports"] = start_fresh_reports()


def take_early(module_name: str):
    """What ``start_early`` started for this module; None when it was not (the module was not
    collected through this conftest, or its fixture asks twice)."""
    return STARTED_EARLY.pop(module_name, None)


def pytest_addoption(parser):
    parser.addoption("--update-readme", action="store_true",
                     help="rewrite the README's shown outputs with what the tool prints now (tests/test_readme.py)")

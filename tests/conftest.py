import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"


def run_cli(*args: str, check: bool = False, timeout: float = 300, cwd=None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess (``env``: variables added to ours)."""
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", **(env or {}))
    result = subprocess.run([sys.executable, "-m", "cnnstat", *args], capture_output=True, text=True,
                            timeout=timeout, env=env, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"cnnstat {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def fresh_reports(tmp_path_factory):
    """`cnnstat report` on meta, run once per session (it takes half a minute), without torchvision's
    catalogue (minutes; its rows are held current by tests/zoo/test_torchvision_catalogue.py)."""
    out = tmp_path_factory.mktemp("reports")
    run_cli("report", "--out", str(out), "--no-torchvision", check=True, timeout=600, env={"PYTHONHASHSEED": "1"})
    return out


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

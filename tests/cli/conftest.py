import pytest
from typer.testing import CliRunner


@pytest.fixture
def invoke(monkeypatch):
    """Run a cnnstat command's Typer app in this process and return Click's result (exception
    included); ``cli`` runs the console entry point ``run()`` in this process, and
    tests/test_console_script.py the installed script."""
    from cnnstat.cli import state
    from cnnstat.cli.main import app

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(state, "debug", False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))

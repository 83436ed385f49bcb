import pytest
from typer.testing import CliRunner


@pytest.fixture
def invoke(monkeypatch):
    """Run a cnnstat command in this process: no interpreter start-up and torch import per call
    (``cli`` runs the real console script in a subprocess)."""
    from cnnstat.cli import state
    from cnnstat.cli.main import app

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(state, "debug", False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))

"""The README's quick-start test command is the one CI runs."""

from tests.conftest import REPO


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    test_command = command.split(" && rc=0")[0]
    assert f"\n{test_command}\n" in readme

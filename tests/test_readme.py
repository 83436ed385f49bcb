"""The README's commands and shown outputs are the tool's: the quick-start test command is the
one CI runs, the install lines keep the quick start's CPU torch, and every example shown with
its output (a block that starts with ``$ cnnstat ...``) prints that output now. After a change
to what a command prints, ``pytest tests/test_readme.py --update-readme`` rewrites the blocks."""

import importlib.metadata
import re
import shlex

import pytest

from tests.conftest import REPO, run_cli

README = REPO / "README.md"
SHOWN = re.compile(r"```\n\$ (cnnstat [^\n]*)\n(.*?)```", re.S)
"""A fenced block whose first line is a command after ``$ ``; the rest is its stdout."""
SHOWN_COLUMNS = "140"
"""The terminal width the shown outputs are printed at."""


def normalised(text: str) -> str:
    return " ".join(text.split())


def test_ci_runs_the_readme_test_command():
    readme = README.read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    test_command = command.split(" && rc=0")[0]
    assert f"\n{test_command}\n" in readme


def pins(line: str) -> dict[str, str]:
    return dict(re.findall(r"\b([a-z][a-z0-9_-]*)==([0-9][^\s'\"]*)", line))


def test_every_install_line_keeps_the_quick_start_torch():
    """A line that installs anything beside cnnstat pins the quick start's torch, and torchvision
    (timm needs it too) at the release that asks for that very torch."""
    lines = [line for line in README.read_text().splitlines() if "pip install" in line]
    torch = pins(lines[0])["torch"]
    extras = [line for line in lines if "[torchvision]" in line or "[timm]" in line]
    assert len(extras) == 2 and not any("pip install 'cnnstat[" in line for line in lines)
    for line in lines:
        assert pins(line).get("torch") == torch, line
    for line in extras:
        assert "torchvision" in pins(line), line
    torchvision = pins(extras[0])["torchvision"]
    assert {pins(line)["torchvision"] for line in extras} == {torchvision}
    try:
        installed = importlib.metadata.version("torchvision")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("torchvision is not installed: its own torch requirement cannot be read")
    if installed != torchvision:
        pytest.skip(f"torchvision {installed} is installed, the README pins {torchvision}")
    needs = [req for req in importlib.metadata.requires("torchvision") if req.startswith("torch ")]
    assert needs == [f"torch (=={torch})"] or needs == [f"torch=={torch}"], needs


EXAMPLES = SHOWN.findall(README.read_text())


def test_the_readme_shows_outputs():
    assert EXAMPLES


@pytest.mark.parametrize("command, shown", EXAMPLES, ids=[command for command, _ in EXAMPLES])
def test_shown_output_is_what_the_tool_prints(command, shown, request):
    printed = run_cli(*shlex.split(command)[1:], check=True, env={"COLUMNS": SHOWN_COLUMNS}).stdout
    if request.config.getoption("--update-readme") and normalised(printed) != normalised(shown):
        block = "".join(line.rstrip() + "\n" for line in printed.splitlines())
        README.write_text(README.read_text().replace(f"$ {command}\n{shown}", f"$ {command}\n{block}", 1))
        pytest.skip("README rewritten")
    assert normalised(printed) == normalised(shown), "run pytest tests/test_readme.py --update-readme"


def test_shown_python_results_are_current():
    import cnnstat

    readme = README.read_text()
    listed = re.search(r'cnnstat\.list_models\("resnet\*"\) +# (\[.*\])', readme).group(1)
    assert listed == repr(cnnstat.list_models("resnet*"))
    totals = cnnstat.profile("resnet50", (3, 224, 224)).totals
    assert f"| cnnstat `macs` | {totals.macs:,} |" in readme and f"| cnnstat `flops` | {totals.flops:,} |" in readme

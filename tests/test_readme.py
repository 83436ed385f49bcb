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


def extras_lines() -> list[str]:
    return [line for line in README.read_text().splitlines() if "pip install" in line
            and ("[torchvision]" in line or "[timm]" in line)]


def test_every_install_line_pins_torch_and_the_extras_a_torchvision_for_it():
    """The quick start's lines pin its CPU torch; the extras' lines pin one torch and one
    torchvision, a release whose own torch requirement admits that torch (read from the
    installed torchvision when it is that release)."""
    from packaging.requirements import Requirement

    lines = [line for line in README.read_text().splitlines() if "pip install" in line]
    extras = extras_lines()
    assert len(extras) == 2 and not any("pip install 'cnnstat[" in line for line in lines)
    assert all("torch" in pins(line) for line in lines)
    assert len({pins(line)["torch"] for line in lines if line not in extras}) == 1
    assert len({(pins(line)["torch"], pins(line).get("torchvision")) for line in extras}) == 1
    torch, torchvision = pins(extras[0])["torch"], pins(extras[0])["torchvision"]
    try:
        installed = importlib.metadata.version("torchvision")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("torchvision is not installed: its own torch requirement cannot be read")
    if installed != torchvision:
        pytest.skip(f"torchvision {installed} is installed, the README pins {torchvision}")
    needs = [Requirement(req) for req in importlib.metadata.requires("torchvision") if Requirement(req).name == "torch"]
    assert needs and all(need.specifier.contains(torch) for need in needs), needs


def test_ci_runs_the_extras_lines_as_written():
    """The support matrix installs the pair of the extras' lines with those very lines (into its venv)."""
    matrix = (REPO / ".ci" / "matrix.sh").read_text()
    for line in extras_lines():
        assert line.replace(".venv/bin/pip", '"$venv/bin/pip"') in matrix, line


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

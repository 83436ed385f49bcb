"""Words a user reads name sources by article title and paper, never by how this project was
made ("seed 002", "the seed articles", "the mission"): README, reports/, `cnnstat list`,
`cnnstat study` and every command's --help."""

import re

import pytest

from cnnstat.cli.main import app
from tests.conftest import REPO, run_cli

MAKING_OF = re.compile(r"\bseeds? ?(?:0\d\d|articles?|and \d)|\bseed articles?\b|\bmission\b|\bhelpers?\b|"
                       r"\bworktrees?\b|\bthe lead\b|\bprompts?\b|shared/reference|\bissues? #?\d+\b", re.I)
COMMANDS = [command.name for command in app.registered_commands]


def making_of(text: str) -> list[str]:
    return [text[max(0, m.start() - 40):m.end() + 40] for m in MAKING_OF.finditer(text)]


def test_the_pattern_finds_what_it_is_for():
    assert len(making_of("Source: seed 002 (VGG section). The seed articles; seeds 002 and 004; the mission's example")) == 4
    assert making_of("string-hash seed 1, PYTHONHASHSEED=2, torch.manual_seed(0)") == []


@pytest.mark.parametrize("path", sorted(p.relative_to(REPO) for p in [REPO / "README.md", *(REPO / "reports").rglob("*")]
                                        if p.suffix in (".md", ".csv", ".html")), ids=str)
def test_readme_and_reports(path):
    assert making_of((REPO / path).read_text()) == []


@pytest.mark.parametrize("args", [["list", "--format", "csv"], ["study", "--list", "--format", "csv"], ["--help"],
                                  *([command, "--help"] for command in COMMANDS)], ids=" ".join)
def test_command_output(args):
    assert making_of(run_cli(*args, check=True).stdout) == []


def test_docstrings_of_the_library():
    """What help() shows of every cnnstat module, class and function."""
    import importlib
    import inspect
    import pkgutil

    import cnnstat

    found = {}
    for module_info in pkgutil.walk_packages(cnnstat.__path__, "cnnstat."):
        if module_info.name == "cnnstat.__main__":  # importing it runs the command line
            continue
        module = importlib.import_module(module_info.name)
        for name, value in [("", module), *inspect.getmembers(module, lambda v: inspect.isclass(v) or inspect.isfunction(v))]:
            if getattr(value, "__module__", module.__name__) == module.__name__ and making_of(inspect.getdoc(value) or ""):
                found[f"{module.__name__}.{name}"] = making_of(inspect.getdoc(value))
    assert found == {}

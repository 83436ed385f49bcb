"""The presentation boundary: one schema of figures, and render modules that never import torch."""

import pkgutil
import subprocess
import sys

import pytest

import cnnstat.render
from cnnstat.figures import FIGURES, GROUPS, figure, group, ratio_figure, shape_text

RENDER_MODULES = sorted(f"cnnstat.render.{m.name}" for m in pkgutil.iter_modules(cnnstat.render.__path__))


def test_every_render_module_imports_without_torch():
    # One interpreter for all modules (a process each would pay the start-up nine times over).
    code = ("import importlib, sys\n"
            f"for name in {RENDER_MODULES!r}:\n"
            "    importlib.import_module(name)\n"
            "    assert 'torch' not in sys.modules, name\n"
            "import cnnstat.figures\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_schema_imports_neither_torch_nor_pandas():
    code = "import cnnstat.figures, sys; assert not {'torch', 'pandas'} & set(sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_groups_name_declared_figures_in_order():
    assert [f.key for f in group("static")] == list(GROUPS["static"])
    assert all(key in FIGURES for keys in GROUPS.values() for key in keys)
    # Two groups at once: each figure once, in order of first appearance.
    assert [f.key for f in group("bench", "measured")].count("latency_ms") == 1


def test_ratio_keys_resolve_to_ratio_figures():
    assert figure("macs_ratio") == ratio_figure("macs")
    assert figure("macs_ratio").scale == "ratio" and figure("macs_ratio").header == "MACs x"
    with pytest.raises(KeyError):
        figure("no_such_figure")


def test_shape_text_is_the_one_shape_format():
    assert shape_text((1, 3, 224, 224)) == "1x3x224x224"
    assert shape_text([7]) == "7"
    assert shape_text(None) == "" and shape_text(()) == ""

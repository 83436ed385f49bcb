"""A model file is loaded as ``python file.py`` would run it, and what goes wrong names the file
and what to do: the file's neighbours, links, scripts that read their command line, a
constructor's own errors, options no model could mean. Each case is a tiny model in its own
folder, run through the command line in this process."""

import json
import sys
import textwrap

import pytest

from tests.cli.test_hardening import assert_one_clear_line


def write(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


NEIGHBOUR = """
    import torch.nn as nn

    def block():
        return nn.Conv2d(3, {channels}, 3)
"""
NET = """
    import torch.nn as nn
    from helpers import block

    class Net(nn.Module):
        input_size = (3, 8, 8)

        def __init__(self):
            super().__init__()
            self.conv = block()

        def forward(self, x):
            return self.conv(x)

    class Head(nn.Module):
        pass

    def build():
        return Net()
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The test's folder, entered; the modules its files define are forgotten after (only those:
    torch's own lazily imported modules cannot be imported twice)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def params(cli, *args):
    result = cli(*args, "--device", "meta", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return [row["params"] for row in data] if isinstance(data, list) else data["totals"]["params"]


def test_each_model_file_imports_its_own_neighbour(cli, folder):
    """Two model files, each beside its own helpers.py: each gets its own, as two `python file.py` runs would."""
    for name, channels in (("a", 4), ("b", 8)):
        write(folder / name / "helpers.py", NEIGHBOUR.format(channels=channels))
        write(folder / name / "net.py", NET)
    assert params(cli, "compare", "a/net.py:Net", "b/net.py:Net") == [4 * 27 + 4, 8 * 27 + 8]
    assert "a" not in sys.path and str(folder / "b") not in sys.path


def test_a_constructor_may_import_its_neighbour(cli, folder):
    write(folder / "models" / "helpers.py", NEIGHBOUR.format(channels=4))
    write(folder / "models" / "lazy.py", NET.replace("from helpers import block\n", "").replace(
        "super().__init__()", "super().__init__()\n            from helpers import block"))
    assert params(cli, "summary", "models/lazy.py:Net") == 4 * 27 + 4


def test_a_py_link_to_a_file_without_the_suffix(cli, folder):
    write(folder / "helpers.py", NEIGHBOUR.format(channels=4))
    write(folder / "source" / "net_source", NET)
    (folder / "net.py").symlink_to(folder / "source" / "net_source")
    (folder / "source" / "helpers.py").symlink_to(folder / "helpers.py")  # python puts the link's target folder first
    assert params(cli, "summary", "net.py:Net") == 4 * 27 + 4


def test_a_file_without_its_class_lists_the_models_it_defines(cli, folder):
    write(folder / "helpers.py", NEIGHBOUR.format(channels=4))
    write(folder / "net.py", NET)
    assert_one_clear_line(cli("summary", "net.py", "--device", "meta"),
                          "net.py: name the model to build after a colon, e.g. net.py:Head; it defines Head, Net")


def test_a_script_that_reads_its_command_line_is_named(cli, folder):
    write(folder / "train.py", """
        import argparse
        import torch.nn as nn

        parser = argparse.ArgumentParser()
        parser.add_argument("--data", required=True)
        args = parser.parse_args()

        class Net(nn.Linear):
            pass
    """)
    result = cli("summary", "train.py:Net", "--device", "meta")
    assert_one_clear_line(result, "train.py:Net: importing train.py exited (sys.exit(2)) saying "
                                  "'train.py: error: the following arguments are required: --data': it reads its "
                                  "command line (sys.argv) when imported")
    assert 'if __name__ == "__main__":' in result.stderr and "usage:" not in result.stderr


def test_what_a_file_prints_when_imported_goes_to_stderr(cli, folder):
    write(folder / "helpers.py", NEIGHBOUR.format(channels=4))
    write(folder / "net.py", 'print("loading net")\n' + textwrap.dedent(NET))
    result = cli("summary", "net.py:Net", "--device", "meta", "--format", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["model"] == "net.py:Net"
    assert result.stderr == "loading net\n"


def test_a_constructors_own_error_is_the_models(cli, folder):
    write(folder / "net.py", """
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, width=2):
                super().__init__()
                if width % 2:
                    raise ValueError("width must be even")
    """)
    assert_one_clear_line(cli("summary", "net.py:Net", "--set", "width=3", "--device", "meta"),
                          "net.py:Net: building the model raised ValueError: width must be even (net.py, line 8)")
    assert_one_clear_line(cli("summary", "net.py:Net", "--set", "depth=3", "--device", "meta"),
                          "net.py:Net: cannot build with these options: got an unexpected keyword argument 'depth'; "
                          "it takes width")


@pytest.mark.parametrize("option", ["width_mult=-1", "width_mult=0", "width_mult=nan", "num_classes=0",
                                    "num_classes=2.5", "in_channels=0"])
def test_options_no_model_could_mean(invoke, option):
    """One line naming the option and the value (mobilenet_v2 built with them silently before)."""
    from tests.cli.test_hardening import in_process

    result = in_process(invoke)("summary", "mobilenet_v2", "--set", option, "--device", "meta")
    key, _, value = option.partition("=")
    assert_one_clear_line(result, f"option {key} ")
    assert f"got {value}" in result.stderr


def test_num_classes_through_set_builds_a_zoo_model(cli):
    result = cli("summary", "cifar_lenet", "--set", "num_classes=5", "--device", "meta", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["layers"][0]["output_shape"] == [1, 5]


@pytest.mark.parametrize("declared", ["(3, 8.5, 8)", "(3, True, 8)", "('3', 8, 8)"])
def test_a_declared_input_size_of_whole_numbers_only(cli, folder, declared):
    write(folder / "helpers.py", NEIGHBOUR.format(channels=4))
    write(folder / "net.py", textwrap.dedent(NET).replace("input_size = (3, 8, 8)", f"input_size = {declared}"))
    assert_one_clear_line(cli("summary", "net.py:Net", "--device", "meta"),
                          "net.py:Net: input_size must be a tuple of whole numbers such as (3, 224, 224)")


def test_a_log_handler_a_file_makes_at_import_keeps_writing_to_stderr(cli, folder):
    write(folder / "helpers.py", NEIGHBOUR.format(channels=4))
    write(folder / "net.py", "import logging, sys\nlog = logging.getLogger('net')\nlog.propagate = False\n"
          "log.addHandler(logging.StreamHandler(sys.stdout))\n" + textwrap.dedent(NET).replace(
              "return self.conv(x)", "log.warning('forward ran')\n        return self.conv(x)"))
    result = cli("summary", "net.py:Net", "--device", "meta", "--format", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["model"] == "net.py:Net"
    assert "forward ran" in result.stderr


@pytest.mark.parametrize("name, message", [("loop.py", "cannot read 'loop.py': Too many levels of symbolic links"),
                                           ("q" * 300 + ".py", "File name too long"),
                                           ("models.py", "'models.py' is not a file")])
def test_a_model_file_no_file_system_takes(cli, folder, name, message):
    (folder / "loop.py").symlink_to(folder / "loop.py")
    (folder / "models.py").mkdir()
    assert_one_clear_line(cli("summary", f"{name}:Net", "--device", "meta"), message)


def test_an_inputs_function_that_raises_is_one_line(cli, folder):
    write(folder / "make.py", """
        def make_inputs():
            raise ValueError("no data folder")
    """)
    assert_one_clear_line(cli("summary", "cifar_lenet", "--device", "meta", "--inputs", "make.py:make_inputs"),
                          "make.py:make_inputs raised ValueError: no data folder (make.py, line 3)")

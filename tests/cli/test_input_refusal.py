"""What a command is given is refused in one line (exit 2) when no model could mean it: sizes
that are not whole numbers or whose storage no tensor can address, --set values nested without
end, a repeated or typed --input given to a command that takes one plain size. --set takes
lists, tuples and quoted strings."""

import json

import pytest

from tests.cli.test_hardening import assert_one_clear_line, in_process

ONE_INPUT = ["compare", "bench", "sweep", "crosscheck", "checkpoint"]


@pytest.mark.parametrize("size", ["3x32.5x32", "3x1_0x32", "3x٣٢x32", "3x32x", "3x-32x32"])
def test_a_size_that_is_not_a_whole_number(invoke, size):
    assert_one_clear_line(in_process(invoke)("summary", "cifar_lenet", "--input", size, "--device", "meta"),
                          f"malformed --input {size!r}")


@pytest.mark.parametrize("args", [["--input", "3x99999999999x99999999999"],
                                  ["--input", "3x3000000x3000000", "--batch", "99999999999"]],
                         ids=["size", "batch"])
@pytest.mark.parametrize("command", ["summary", "compare", "crosscheck"])
def test_an_input_whose_storage_overflows(invoke, command, args):
    assert_one_clear_line(in_process(invoke)(command, "cifar_lenet", *args, "--device", "meta")
                          if command != "crosscheck" else in_process(invoke)(command, "cifar_lenet", *args),
                          "holds more elements than a tensor can address; give a smaller --input or --batch")


@pytest.mark.parametrize("value, message", [
    ("[" * 200 + "]" * 200, "a value nests deeper than 16 brackets"),
    ("[1,2", "a bracket or quote is left open"),
    ("1]", "a ']' closes no bracket"),
])
def test_a_set_value_that_cannot_be_read(invoke, value, message):
    assert_one_clear_line(in_process(invoke)("summary", "block/conv", "--set", f"k={value}", "--device", "meta"),
                          message)


def test_set_takes_lists_tuples_and_quoted_strings():
    from cnnstat.cli.options import parse_set

    options = parse_set(["k=3,sizes=[64,128],pair=(1,(2,3)),name='a,b'", "note=don't,scale=inf"])
    assert options == {"k": 3, "sizes": [64, 128], "pair": (1, (2, 3)), "name": "a,b", "note": "don't",
                       "scale": float("inf")}


def test_a_list_option_reaches_the_model(cli, tmp_path):
    (tmp_path / "stages.py").write_text(
        "import torch.nn as nn\n"
        "def build(widths=(4,)):\n"
        "    layers, previous = [], 3\n"
        "    for width in widths:\n"
        "        layers += [nn.Conv2d(previous, width, 1)]\n"
        "        previous = width\n"
        "    return nn.Sequential(*layers)\n")
    result = cli("summary", f"{tmp_path}/stages.py:build", "--set", "widths=[2,5]", "--input", "3x4x4",
                 "--device", "meta", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == (3 * 2 + 2) + (2 * 5 + 5)


@pytest.mark.parametrize("command", ONE_INPUT)
def test_a_repeated_input_is_refused_by_name(invoke, command):
    assert_one_clear_line(in_process(invoke)(command, "cifar_lenet", "-i", "3x32x32", "-i", "3x64x64"),
                          f"{command} takes one --input, got 2 (3x32x32 3x64x64)")


@pytest.mark.parametrize("command", ONE_INPUT)
def test_a_typed_input_is_refused_by_name(invoke, command):
    assert_one_clear_line(in_process(invoke)(command, "cifar_lenet", "-i", "long:128"),
                          f"{command} takes a plain --input size such as")

"""Model specs beyond the zoo: import paths, files, hubs; inputs and outputs of any shape;
and every way a user's model can be wrong, through the API and the real console script."""

import importlib.util
import sys
import textwrap

import pytest
import torch
from torch import nn

from cnnstat.analysis import profile
from cnnstat.analysis.compare import compare
from cnnstat.errors import CnnstatError
from cnnstat.zoo.loader import load_model, parse_spec, split_inline_options
from tests.conftest import run_cli

PACKAGE = textwrap.dedent('''
    import collections

    import torch
    from torch import nn

    Pair = collections.namedtuple("Pair", "logits features")


    class Net(nn.Module):
        input_size = (3, 16, 16)

        def __init__(self, width=4, num_classes=10):
            super().__init__()
            self.conv = nn.Conv2d(3, width, 3, padding=1)
            self.fc = nn.Linear(width, num_classes)

        def forward(self, x):
            return self.fc(self.conv(x).mean((2, 3)))


    class NoSize(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc(x)


    class TwoInTwoOut(nn.Module):
        """Takes an image and a mask, returns a namedtuple."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, image, mask):
            features = self.conv(image) * mask
            return Pair(features.sum((2, 3)), features)


    class Broken(nn.Module):
        input_size = (3, 8, 8)

        def __init__(self):
            super().__init__()
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            return self.head(x)


    def build(width=4):
        return Net(width)


    def not_a_model():
        return "a string"


    def fails():
        raise RuntimeError("weights file missing")


    LAYERS = 3
''')


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory):
    """A package ``userpkg`` on disk, importable while the tests of this module run."""
    root = tmp_path_factory.mktemp("userpkg_root")
    (root / "userpkg").mkdir()
    (root / "userpkg" / "__init__.py").write_text(PACKAGE)
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [name for name in sys.modules if name == "userpkg" or name.startswith("userpkg.")]:
        del sys.modules[name]


def run_user_cli(package_dir, *args):
    """The command line, run from the folder holding ``userpkg``."""
    return run_cli(*args, cwd=package_dir)


@pytest.mark.parametrize("spec, kind, target, attr", [
    ("resnet50", "zoo", "resnet50", ""),
    ("blocks/conv7x7", "zoo", "blocks/conv7x7", ""),
    ("pkg.module:factory", "import", "pkg.module", "factory"),
    ("models/net.py:Net", "file", "models/net.py", "Net"),
    ("torchvision:resnet50", "torchvision", "resnet50", ""),
    ("timm:convnext_tiny", "timm", "convnext_tiny", ""),
])
def test_parse_spec(spec, kind, target, attr):
    assert parse_spec(spec) == type(parse_spec(spec))(kind, target, attr)


@pytest.mark.parametrize("text, expected", [
    ("block/conv:k=3,n=3", ("block/conv", "k=3,n=3")),
    ("block/conv:", ("block/conv", "")),
    ("resnet18", ("resnet18", None)),
    ("pkg.mod:build", ("pkg.mod:build", None)),
    ("pkg:Net:width=2", ("pkg:Net", "width=2")),
    ("dir/net.py:Net:width=2", ("dir/net.py:Net", "width=2")),
])
def test_inline_options_follow_the_factory(text, expected):
    assert split_inline_options(text) == expected


def test_import_path_class_and_function_with_options(package_dir):
    by_class = profile("userpkg:Net", options={"width": 6})
    by_function = profile("userpkg:build", (3, 16, 16), options={"width": 6})
    assert by_class.input_shape == (1, 3, 16, 16)  # from the class's input_size
    assert by_class.totals.params == by_function.totals.params == 6 * 27 + 6 + 6 * 10 + 10
    assert by_class.model == by_class.recipe.spec == "userpkg:Net"


def test_file_path_and_classes(package_dir, monkeypatch):
    monkeypatch.chdir(package_dir)
    report = profile("userpkg/__init__.py:Net", num_classes=3)
    assert report.layers[0].output_shape == (1, 3)
    loaded = load_model(f"{package_dir}/userpkg/__init__.py:Net")
    assert isinstance(loaded.module, nn.Module) and loaded.input_size == (3, 16, 16)


def test_custom_spec_survives_measurement_and_compare(package_dir):
    from cnnstat.analysis.measure import measure_report

    report = profile("userpkg:Net", options={"width": 2})
    measured = measure_report(report, torch.device("cpu"), min_run_time=0.01)
    assert measured.latency_ms > 0 and len(measured.layer_latency_ms) == len(report.layers)
    rows = compare(["resnet18", "userpkg:Net"], (3, 16, 16))
    assert [(row.model, row.family) for row in rows] == [("resnet18", "resnet"), ("userpkg:Net", "")]


def test_tuple_and_dict_inputs_namedtuple_output(package_dir):
    from userpkg import TwoInTwoOut

    model = TwoInTwoOut()
    image, mask = torch.randn(2, 3, 5, 5), torch.ones(2, 1, 5, 5)
    by_tuple = profile(model, inputs=(image, mask))
    by_dict = profile(model, inputs={"image": image, "mask": mask})
    for report in (by_tuple, by_dict):
        assert report.input_shapes == ((2, 3, 5, 5), (2, 1, 5, 5))
        assert report.layers[0].output_shapes == ((2, 4), (2, 4, 5, 5))
        assert report.totals.macs == 2 * 4 * 3 * 25


class DictOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        y = self.conv(x)
        return {"map": y, "pooled": (y.mean((2, 3)), y.amax((2, 3)))}


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_dict_and_nested_tuple_outputs(mode):
    report = profile(DictOut(), (3, 4, 4), batch=2, mode=mode)
    assert report.layers[0].output_shapes == ((2, 2, 4, 4), (2, 2), (2, 2))
    assert report.totals.est_peak_training_bytes is not None


def test_tensor_and_namedtuple_outputs_through_the_cli(package_dir):
    result = run_user_cli(package_dir, "summary", "userpkg:Net", "--device", "meta", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert '"model": "userpkg:Net"' in result.stdout and '"input_shape": [\n    1,\n    3,\n    16,\n    16' in result.stdout


def test_not_a_module_is_a_clear_error():
    with pytest.raises(CnnstatError, match="expected a model name or an nn.Module, got Sequential|got list"):
        profile([nn.Linear(2, 2)], (2,))
    with pytest.raises(CnnstatError, match="expected a model name or an nn.Module, got function"):
        profile(lambda x: x, (2,))


USER_MISTAKES = [
    (["userpkg.missing:Net"], "userpkg.missing:Net: no module named 'userpkg.missing'"),
    (["nowhere:Net"], "nowhere:Net: no module named 'nowhere'"),
    (["userpkg:Nett"], "userpkg:Nett: userpkg has no attribute 'Nett'; did you mean Net?"),
    (["userpkg:LAYERS"], "userpkg:LAYERS: not a model factory: LAYERS is a int"),
    (["userpkg:not_a_model"], "userpkg:not_a_model: not a model factory: it returned str"),
    (["userpkg:fails"], "userpkg:fails: building the model raised RuntimeError: weights file missing"),
    (["userpkg:Net", "--set", "depth=3"], "userpkg:Net: cannot build with these options"),
    (["userpkg:NoSize"], "userpkg:NoSize: give the input size, or state it as an input_size attribute of the model's class or factory; give it with --input"),
    (["userpkg:Broken"], "userpkg:Broken: layer head (Linear) failed on input 1x3x8x8"),
    (["missing.py:Net"], "missing.py:Net: no such file 'missing.py'"),
    *[([f"{extra}:resnet50"], f"pip install 'cnnstat[{extra}]'")
      for extra in ("torchvision", "timm") if importlib.util.find_spec(extra) is None],
]


def test_user_model_errors_through_the_command_line(package_dir):
    for args, message in USER_MISTAKES:
        result = run_user_cli(package_dir, "summary", *args, "--device", "meta")
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr

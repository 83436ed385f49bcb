"""The probed ceilings are cached per machine; a cache that is malformed, of another torch,
missing a figure or unwritable means probing again, never a traceback or a wrong ceiling."""

import json
from dataclasses import asdict

import pytest
import torch

CPU = torch.device("cpu")


def test_the_second_probe_reads_the_cache(quick_probe):
    first = quick_probe.probe(CPU, threads=1)
    cached = json.loads(quick_probe.cache_file().read_text())
    assert cached == {first.key: asdict(first)}
    assert quick_probe.probe(CPU, threads=1) == first


@pytest.mark.parametrize("corrupt", [
    lambda entry: "not json {",
    lambda entry: json.dumps(["a list"]),
    lambda entry: json.dumps({entry["key"]: "a string"}),
    lambda entry: json.dumps({entry["key"]: {**entry, "machine": {**entry["machine"], "torch_version": "1.0.0"}}}),
    lambda entry: json.dumps({entry["key"]: {k: v for k, v in entry.items() if k != "bandwidth_bytes_per_s"}}),
    lambda entry: json.dumps({entry["key"]: {**entry, "peak_flops": {"float32": 1e9}}}),
    lambda entry: json.dumps({entry["key"]: {**entry, "bandwidth_bytes_per_s": -1}}),
    lambda entry: json.dumps({entry["key"]: {**entry, "peak_flops": {**entry["peak_flops"], "float16": None}}}),
    lambda entry: json.dumps({entry["key"]: {**entry, "extra": 1}}),
], ids=["not json", "a list", "entry not an object", "older torch", "figure missing", "dtype missing",
        "negative bandwidth", "null ceiling", "unknown field"])
def test_a_bad_cache_is_probed_again_and_replaced(quick_probe, corrupt):
    good = asdict(quick_probe.probe(CPU, threads=1))
    path = quick_probe.cache_file()
    path.write_text(corrupt(good))
    roof = quick_probe.probe(CPU, threads=1)
    assert roof.machine.torch_version == torch.__version__ and roof.bandwidth_bytes_per_s > 0
    assert all(roof.peak_flops[dtype] > 0 for dtype in ("float32", "float16", "bfloat16"))
    assert json.loads(path.read_text())[roof.key] == asdict(roof)
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".roofline-")] == []


def test_an_unwritable_cache_only_means_probing_again(quick_probe, monkeypatch, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setattr(quick_probe, "cache_file", lambda: blocker / "roofline.json")
    assert quick_probe.probe(CPU, threads=1).peak_flops["float32"] > 0

"""The figures are those of the model as it would run: its own element types, attention counted
the same on meta and on the CPU, real storage of sparse and expanded buffers, the model's row
whatever its __call__, a backward wherever the output keeps its tensors, quantized weights
disclosed, norm statistics where the op computes them, a training estimate independent of the
garbage collector. Expected figures are closed forms of the layers' sizes."""

import dataclasses
import gc
import itertools

import pytest
import torch
from torch import nn

from cnnstat.analysis import profile


class Mixed(nn.Module):
    """A bfloat16 layer feeding a float32 one, with a float64 buffer."""

    def __init__(self):
        super().__init__()
        self.low = nn.Linear(16, 8).bfloat16()
        self.high = nn.Linear(8, 4)
        self.register_buffer("offset", torch.zeros(4, dtype=torch.float64))

    def forward(self, x):
        return self.high(self.low(x.bfloat16()).float()) + self.offset.float()


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_models_own_element_types_are_counted(device):
    half = nn.Sequential(nn.Linear(16, 8)).half()
    assert profile(half, (16,), device="meta").totals.param_bytes == (16 * 8 + 8) * 2
    report = profile(Mixed(), (16,), device=device)  # runs as it is: no layer converted
    assert report.totals.param_bytes == (16 * 8 + 8) * 2 + (8 * 4 + 4) * 4
    assert report.totals.buffer_bytes == 4 * 8
    assert report.totals.macs == 16 * 8 + 8 * 4
    assert profile(Mixed(), (16,), dtype="float16", device="meta").totals.param_bytes == (16 * 8 + 8 + 8 * 4 + 4) * 2


class Attention(nn.Module):
    def __init__(self, need_weights, average, masked, batch_first):
        super().__init__()
        self.attention = nn.MultiheadAttention(16, 2, batch_first=batch_first)
        self.need_weights, self.average, self.masked = need_weights, average, masked

    def forward(self, x):
        batch, length = (x.shape[0], x.shape[1]) if self.attention.batch_first else (x.shape[1], x.shape[0])
        mask = torch.zeros(batch, length, dtype=torch.bool, device=x.device) if self.masked else None
        return self.attention(x, x, x, need_weights=self.need_weights, average_attn_weights=self.average,
                              key_padding_mask=mask)[0]


@pytest.mark.parametrize("need_weights, average, masked, batch_first", itertools.product([True, False], repeat=4))
def test_attention_is_counted_the_same_on_meta_and_on_the_cpu(need_weights, average, masked, batch_first):
    """The CPU runs fused kernels (_native_multi_head_attention, flash attention for CPU) where
    meta runs the math path op by op: the same work, the same count."""
    model = Attention(need_weights, average, masked, batch_first).eval()
    meta, cpu = (profile(model, (10, 16), batch=3, device=device) for device in ("meta", "cpu"))
    assert (meta.totals.macs, meta.totals.flops) == (cpu.totals.macs, cpu.totals.flops)


def test_a_transformer_encoder_is_counted_the_same_on_meta_and_on_the_cpu():
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    model = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    meta, cpu = (profile(model, (10, 16), batch=2, device=device) for device in ("meta", "cpu"))
    assert cpu.uncounted_ops == {} and meta.totals.flops == cpu.totals.flops


class SparseAndExpanded(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.register_buffer("repeated", torch.zeros(4).expand(1000, 4))
        self.register_buffer("coo", torch.eye(100).to_sparse())
        self.register_buffer("csr", torch.eye(50).to_sparse_csr())

    def forward(self, x):
        return self.proj(x)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_sparse_and_expanded_buffers_count_their_real_storage(device):
    report = profile(SparseAndExpanded(), (4,), device=device)
    coo = 2 * 100 * 8 + 100 * 4  # indices (2 x nnz, int64) and values
    csr = (51 + 50) * 8 + 50 * 4  # row pointers, column indices, values
    assert report.totals.buffer_bytes == 4 * 4 + coo + csr


class OwnCall(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 16)

    def __call__(self, x):
        return self.forward(x) * 2

    def forward(self, x):
        return self.proj(x)


def test_a_model_that_overrides_call_keeps_its_row_and_totals():
    report = profile(OwnCall(), (16,), batch=2)
    root = report.layers[0]
    assert (root.name, root.type, root.depth) == ("", "OwnCall", 0)
    assert report.totals.flops == root.flops == 2 * (2 * 16 * 16 + 16) + 2 * 16  # the doubling is the model's


@dataclasses.dataclass
class Output:
    logits: torch.Tensor
    label: str = "x"


class ReturnsDataclass(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 4)

    def forward(self, x):
        return Output(self.proj(x))


def test_a_dataclass_output_gets_its_backward_counted():
    report = profile(ReturnsDataclass(), (16,), batch=2, mode="train")
    assert report.totals.backward_macs == 2 * 16 * 4  # the weight's gradient (the input needs none)
    frozen = profile(ReturnsDataclass().requires_grad_(False), (16,), mode="train")
    assert frozen.totals.backward_macs == 0 and any("no backward counted" in note for note in frozen.notes)


def test_a_statically_quantized_models_packed_weights_are_disclosed():
    import torch.ao.quantization as quantization

    model = nn.Sequential(quantization.QuantStub(), nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 10),
                          quantization.DeQuantStub()).eval()
    model.qconfig = quantization.get_default_qconfig("x86")
    prepared = quantization.prepare(model)
    prepared(torch.randn(2, 3, 8, 8))
    quantized = quantization.convert(prepared)
    report = profile(quantized, (3, 8, 8))
    values = 4 * 3 * 9 + 4 + 144 * 10 + 10
    int8_and_float_bias = 4 * 3 * 9 + 144 * 10 + (4 + 10) * 4
    note = next(note for note in report.notes if "packed weights" in note)
    assert f"{values:,} values, {int8_and_float_bias:,} bytes" in note


@pytest.mark.parametrize("norm, statistics_in_eval", [(nn.LayerNorm([6, 6]), True), (nn.GroupNorm(2, 4), True),
                                                       (nn.InstanceNorm2d(4), True), (nn.BatchNorm2d(4), False)])
def test_a_norms_flops_change_with_the_mode_only_where_its_work_does(norm, statistics_in_eval):
    elements = 2 * 4 * 6 * 6
    eval_flops, train_flops = (profile(norm, (4, 6, 6), batch=2, mode=mode).layers[0].flops for mode in ("eval", "train"))
    assert eval_flops == 4 * elements if statistics_in_eval else 2 * elements
    assert train_flops - (1 if isinstance(norm, nn.BatchNorm2d) else 0) == 4 * elements  # + the batch counter


class Cyclic(nn.Module):
    """Keeps each activation in a reference cycle: only the cyclic collector frees it."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(64, 64) for _ in range(4))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
            holder = {"x": x}
            holder["self"] = holder
        return x


def test_the_training_estimate_does_not_depend_on_the_garbage_collector():
    threshold = gc.get_threshold()
    try:
        gc.set_threshold(1, 1, 1)
        eager = profile(Cyclic(), (64,), batch=4, mode="train").totals.est_peak_training_bytes
        gc.set_threshold(10**6, 10**6, 10**6)
        lazy = profile(Cyclic(), (64,), batch=4, mode="train").totals.est_peak_training_bytes
    finally:
        gc.set_threshold(*threshold)
    assert eager == lazy

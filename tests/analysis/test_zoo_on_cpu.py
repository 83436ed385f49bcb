"""Every small zoo model (under 5M params: CIFAR nets, blocks, the mobile ImageNet nets) runs
the static pass on real CPU tensors, once, in train mode: the training forward runs every
layer the eval forward runs, plus BatchNorm's batch statistics and live dropout. The eval
forward of every model is counted on meta by
test_static.py::test_every_zoo_model_profiles_on_meta_in_both_modes, and
test_static.py::test_meta_and_cpu_passes_agree shows meta and CPU count alike in both modes."""

from cnnstat.analysis import profile
from cnnstat.zoo import get_entry, list_models

SMALL = [name for name in list_models() if get_entry(name).num_params < 5_000_000]


def test_every_small_zoo_model_profiles_on_cpu():
    assert len(SMALL) >= 20
    for name in SMALL:
        # batch 2: BatchNorm after global pooling cannot train on one value per channel
        report = profile(name, batch=2, mode="train", device="cpu")
        assert report.device == "cpu"
        assert report.totals.params == get_entry(name).num_params, name
        assert report.totals.macs > 0 and report.uncounted_ops == {}, (name, report.uncounted_ops)
        assert report.totals.est_peak_training_bytes is not None, name

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench.models import InvalidArchitecture, build_model, count_macs, count_parameters, reference_models
from nasbench.space import preset


@pytest.mark.parametrize("name, shape", [("jahs_cnn", (1, 8, 8)), ("evo_cnn", (3, 16, 16)), ("mlp", (1, 5)),
                                         ("jahs_cnn", (1, 40))])
def test_every_preset_configuration_builds_and_runs(name, shape):
    space = preset(name)
    rng = np.random.default_rng(0)
    configs = [space.default(), space.smallest(), space.largest()] + [space.sample(rng) for _ in range(20)]
    for config in configs:
        model = build_model(config, shape, 10)
        out = model.eval()(torch.randn(2, *shape))
        assert out.shape == (2, 10)


def test_counts_by_hand():
    mlp = build_model({"n_layers": 1, "n_neurons": 16, "activation": "relu", "dropout": 0.0}, (1, 8, 8), 10)
    assert count_parameters(mlp) == (64 * 16 + 16) + (16 * 10 + 10)
    assert count_macs(mlp, (1, 8, 8)) == 64 * 16 + 16 * 10
    config = {**preset("jahs_cnn").smallest()}  # 1 conv of 8 3x3 filters, no BN, flatten, one FC of 512
    cnn = build_model(config, (1, 8, 8), 10)
    assert count_parameters(cnn) == (9 * 8 + 8) + (4 * 4 * 8 * 512 + 512) + (512 * 10 + 10)
    assert count_macs(cnn, (1, 8, 8)) == 8 * 8 * 8 * 9 + 128 * 512 + 512 * 10


def test_batch_norm_and_global_pooling_change_the_network():
    base = {**preset("jahs_cnn").default(), "batch_norm": False, "global_avg_pooling": False}
    bn = build_model({**base, "batch_norm": True}, (1, 8, 8), 10)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in bn)
    gap = build_model({**base, "global_avg_pooling": True}, (1, 8, 8), 10)
    assert count_parameters(gap) < count_parameters(build_model(base, (1, 8, 8), 10))


def test_impossible_architecture_is_reported():
    config = {**preset("jahs_cnn").default(), "n_conv_layers": 3}
    with pytest.raises(InvalidArchitecture, match="shrink a 4x4 input to nothing; use fewer conv layers"):
        build_model(config, (1, 4, 4), 10)
    with pytest.raises(InvalidArchitecture, match="activation 'swish' unknown"):
        build_model({"n_layers": 1, "n_neurons": 8, "activation": "swish"}, (4,), 2)
    with pytest.raises(InvalidArchitecture, match="lacks 'n_conv_layers'"):
        build_model({}, (1, 8, 8), 10, architecture="cnn")


def test_reference_models_match_published_counts():
    ref = reference_models()
    assert ref["ResNet-18"]["n_params"] == 11_689_512
    assert ref["ResNet-50"]["n_params"] == 25_557_032
    assert ref["AlexNet"]["n_params"] == 61_100_840
    assert abs(ref["ResNet-50"]["macs"] / 4.09e9 - 1) < 0.01 and abs(ref["ResNet-18"]["macs"] / 1.82e9 - 1) < 0.01

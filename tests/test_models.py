from __future__ import annotations

import numpy as np
import pytest
import torch

import nasbench.models as models
from nasbench.models import (InvalidArchitecture, build_model, count_macs, count_parameters, largest_configs,
                             reference_models, size_bounds)
from nasbench.space import preset

DIGITS, MNIST1D = (1, 8, 8), (1, 40)


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


def test_missing_keys_are_named_and_a_network_of_nothing_is_invalid():
    lacks_filters = r"configuration lacks 'n_filters' \(or 'filters_2'\), which a cnn needs"
    with pytest.raises(InvalidArchitecture, match=lacks_filters):
        build_model({"n_conv_layers": 2, "filters_1": 8, "n_fc_layers": 1, "n_fc_neurons": 16}, DIGITS, 10)
    with pytest.raises(InvalidArchitecture, match=r"lacks 'n_neurons' \(or 'fc_neurons_1'\), which a mlp needs"):
        build_model({"n_layers": 1, "activation": "relu"}, DIGITS, 10)
    with pytest.raises(InvalidArchitecture, match="n_neurons must be >= 1, got 0"):
        build_model({"n_layers": 1, "n_neurons": 0}, DIGITS, 10)
    with pytest.raises(InvalidArchitecture, match="n_conv_layers must be >= 0, got -1"):
        build_model({**preset("jahs_cnn").default(), "n_conv_layers": -1}, DIGITS, 10)


def test_a_key_error_inside_the_builder_stays_a_bug(monkeypatch):
    def broken_head(*args, **kwargs):
        return {}["typo"]  # a code bug, not a bad configuration

    monkeypatch.setattr(models, "_head", broken_head)
    with pytest.raises(KeyError, match="typo") as info:
        build_model(preset("mlp").default(), DIGITS, 10)
    assert not isinstance(info.value, InvalidArchitecture)


def test_reference_models_match_published_counts():
    ref = reference_models()
    assert ref["ResNet-18"]["n_params"] == 11_689_512
    assert ref["ResNet-50"]["n_params"] == 25_557_032
    assert ref["AlexNet"]["n_params"] == 61_100_840
    assert abs(ref["ResNet-50"]["macs"] / 4.09e9 - 1) < 0.01 and abs(ref["ResNet-18"]["macs"] / 1.82e9 - 1) < 0.01


def _meta_sizes(config, shape, n_out=10):
    """Parameters and MACs of the built model (on the meta device: shapes only, no memory)."""
    with torch.device("meta"):
        model = build_model(config, shape, n_out)
    return count_parameters(model), count_macs(model, shape)


@pytest.mark.parametrize("name, shape", [("evo_cnn", DIGITS), ("jahs_cnn", DIGITS), ("mlp", DIGITS),
                                         ("evo_cnn", MNIST1D), ("jahs_cnn", MNIST1D)])
def test_size_bounds_bound_every_configuration_and_are_reached(name, shape):
    space = preset(name)
    bounds = size_bounds(space, shape, 10)
    rng = np.random.default_rng(1)
    configs = [space.default(), space.smallest(), space.largest()] + [space.sample(rng) for _ in range(300)]
    sizes = []
    for config in configs:
        try:
            sizes.append(_meta_sizes(config, shape))
        except InvalidArchitecture:
            continue
    assert len(sizes) > 250
    assert max(p for p, _ in sizes) <= bounds["n_params"] and max(m for _, m in sizes) <= bounds["macs"]
    for metric, config in largest_configs(space, shape, 10).items():  # reached: a real configuration has it
        assert space.validate(config) == config
        assert _meta_sizes(config, shape)[metric == "macs"] == bounds[metric]


def test_size_bounds_by_hand_exceed_the_all_high_configuration():
    # evo_cnn on digits: 1 conv of 64 5x5 filters with batch-norm, 4x4x64 features, FC 256, 256, 10
    evo = size_bounds(preset("evo_cnn"), DIGITS, 10)
    assert evo["n_params"] == (25 * 64 + 2 * 64) + (1024 * 256 + 256) + (256 * 256 + 256) + (256 * 10 + 10) == 332_490
    # its MACs: 3 convs of 64 5x5 filters on 8x8, 4x4, 2x2 maps, then 64 -> 256 -> 256 -> 10
    assert evo["macs"] == 64 * 25 * (64 + 16 * 64 + 4 * 64) + 64 * 256 + 256 * 256 + 256 * 10 == 2_234_880
    # space.largest() switches on the most pooling: even the old reference, 1.1 x its size, is below the bound
    old = _meta_sizes(preset("evo_cnn").largest(), DIGITS)[0]
    assert old == 291_786 and round(1.1 * old) == 320_965 < evo["n_params"]
    jahs = size_bounds(preset("jahs_cnn"), DIGITS, 10)
    assert jahs["n_params"] == (25 * 256 + 2 * 256) + (4096 * 2048 + 2048) + (2048 * 2048 + 2048) + (2048 * 10 + 10)
    assert jahs["n_params"] == 12_614_410 > 1.1 * _meta_sizes(preset("jahs_cnn").largest(), DIGITS)[0]
    mlp = size_bounds(preset("mlp"), DIGITS, 10)  # five hidden layers of 128
    assert mlp["n_params"] == (64 * 128 + 128) + 4 * (128 * 128 + 128) + (128 * 10 + 10)
    assert mlp["macs"] == 64 * 128 + 4 * 128 * 128 + 128 * 10


def test_size_bounds_when_nothing_builds():
    with pytest.raises(InvalidArchitecture, match="no configuration of space 'jahs_cnn' builds for inputs of shape"):
        size_bounds(preset("jahs_cnn"), (1, 1, 1), 10)


# --- the small reference networks of seed 000 (helper h6) -------------------------------------
@pytest.mark.parametrize("shape", [MNIST1D, DIGITS, (3, 32, 32)])
@pytest.mark.parametrize("name", sorted(models.REFERENCE_NETWORKS))
def test_reference_networks_build_for_small_inputs_and_run(name, shape):
    model = models.build_reference(name, shape, 10)
    assert model(torch.zeros(2, *shape)).shape == (2, 10)
    assert 10_000 < count_parameters(model) < 2_000_000


def test_reference_networks_keep_their_architectures_character():
    resnet = models.build_reference("ResNet-like", MNIST1D, 10)
    blocks = [m for m in resnet.modules() if isinstance(m, models._BasicBlock)]
    assert len(blocks) == 6 and sum(not isinstance(b.shortcut, torch.nn.Identity) for b in blocks) == 2  # projections
    alexnet = models.build_reference("AlexNet-like", MNIST1D, 10)
    convs = [m for m in alexnet.modules() if isinstance(m, torch.nn.Conv1d)]
    linear = sum(p.numel() for m in alexnet.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
    assert len(convs) == 5 and linear > count_parameters(alexnet) / 2  # like AlexNet: most weights in the FC layers
    # 40 -> 20 -> 10 -> 5 after three poolings: 64 channels x 5 into the first 256-wide layer
    assert [m.in_features for m in alexnet.modules() if isinstance(m, torch.nn.Linear)][0] == 64 * 5
    assert count_parameters(models.build_reference("AlexNet-like", DIGITS, 10)) > count_parameters(
        models.build_reference("ResNet-like", DIGITS, 10))


def test_unknown_reference_network_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown reference network 'VGG'; use one of \['AlexNet-like', 'ResNet-like'\]"):
        models.build_reference("VGG", MNIST1D, 10)
    with pytest.raises(InvalidArchitecture, match="inputs of shape"):
        models.build_reference("ResNet-like", (5,), 10)

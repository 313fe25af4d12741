from __future__ import annotations

import json

import numpy as np
import pytest

from nasbench.space import (
    Boolean,
    Categorical,
    ChoiceTree,
    Condition,
    Float,
    Integer,
    SearchSpace,
    SpaceError,
    preset,
    preset_names,
)


def small_space() -> SearchSpace:
    return SearchSpace((
        Integer("n_fc", 1, 2, default=1),
        Integer("neurons_1", 16, 512, log=True, default=64),
        Integer("neurons_2", 16, 512, log=True, default=32, condition=Condition("n_fc", (2,))),
        Float("lr", 1e-4, 1e-1, log=True, default=1e-3, prior="default"),
        Categorical("act", ("relu", "tanh", "gelu")),
        Boolean("bn", default=True, prior=0.9),
    ), name="small")


def test_presets_are_listed_and_build():
    assert preset_names() == ["evo_cnn", "jahs_cnn", "mlp"]
    for name in preset_names():
        space = preset(name)
        space.validate(space.default())
        space.validate(space.smallest())
        space.validate(space.largest())


def test_jahs_preset_has_the_fourteen_rows_of_seed_004_table_1():
    space = preset("jahs_cnn")
    assert len(space) == 14
    assert space["n_conv_layers"].low == 1 and space["n_conv_layers"].high == 3
    assert (space["n_filters"].low, space["n_filters"].high, space["n_filters"].log) == (8, 256, True)
    assert space["kernel_size"].choices == (3, 5)
    assert space["batch_size"].choices == (64, 128, 256, 512, 1024, 2048)
    assert (space["learning_rate"].low, space["learning_rate"].high, space["learning_rate"].log) == (1e-3, 1.0, True)
    assert (space["weight_decay"].low, space["weight_decay"].high) == (1e-5, 1e-2)
    assert space["dropout"].choices == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert space["optimizer"].choices == ("adam", "sgd")
    assert (space["n_fc_neurons"].low, space["n_fc_neurons"].high) == (512, 2048)
    for b in ("batch_norm", "global_avg_pooling", "random_flip", "random_rotation"):
        assert isinstance(space[b], Boolean)


def test_mlp_preset_is_seed_003():
    space = preset("mlp")
    assert space.names == ["n_layers", "n_neurons", "activation", "dropout"]
    assert space["n_layers"].perturb_width == 2 and space["n_neurons"].perturb_width == 16
    assert space["dropout"].mutation == "gaussian" and space["dropout"].scale == 0.15
    act = space["activation"]
    assert act.mutation == "tree" and len(act.choices) == 6
    assert act.tree.hops("relu", "leakyrelu") == 2
    assert act.tree.hops("relu", "gelu") == 4
    assert act.tree.hops("relu", "tanh") == 5
    assert act.tree.hops("tanh", "sigmoid") == 2


def test_evo_cnn_preset_assigns_seed_000_variation_per_parameter():
    space = preset("evo_cnn")
    assert space["optimizer"].crossover == "sbx"
    assert space["filters_1"].crossover == "gaussian"
    assert space["n_fc_layers"].crossover == "uniform"
    assert space["batch_norm"].crossover == "prior" and space["batch_norm"].prior == 0.8


def test_conditions_drop_inactive_parameters():
    space = small_space()
    cfg = space.default()
    assert "neurons_2" not in cfg
    cfg2 = space.to_config(space.to_genome({**cfg, "n_fc": 2}))
    assert cfg2["neurons_2"] == 32
    with pytest.raises(SpaceError, match="neurons_2 is inactive unless n_fc in \\[2\\]"):
        space.validate({**cfg, "neurons_2": 20})
    with pytest.raises(SpaceError, match="missing parameter 'neurons_2'"):
        space.validate({**cfg, "n_fc": 2})


def test_validate_names_the_parameter_and_range():
    space = small_space()
    with pytest.raises(SpaceError, match=r"lr=1\.0 is out of range; allowed: \[0\.0001, 0\.1\] \(log scale\)"):
        space.validate({**space.default(), "lr": 1.0})
    with pytest.raises(SpaceError, match=r"neurons_1=1000 is out of range; allowed: integers in \[16, 512\]"):
        space.validate({**space.default(), "neurons_1": 1000})
    with pytest.raises(SpaceError, match=r"neurons_1=3\.5 must be an integer"):
        space.validate({**space.default(), "neurons_1": 3.5})
    with pytest.raises(SpaceError, match=r"act='swish' is out of range; allowed: one of \['relu', 'tanh', 'gelu'\]"):
        space.validate({**space.default(), "act": "swish"})
    with pytest.raises(SpaceError, match="bn=1 must be True or False"):
        space.validate({**space.default(), "bn": 1})
    with pytest.raises(SpaceError, match=r"unknown parameters \['colour'\]"):
        space.validate({**space.default(), "colour": 1})


@pytest.mark.parametrize("make, message", [
    (lambda: Integer("n", 5, 1), "low must be < high"),
    (lambda: Integer("n", 1.5, 3), "must be integers"),
    (lambda: Float("x", 0.0, 1.0, log=True), "log-scaled float needs low > 0"),
    (lambda: Float("x", 0.0, float("inf")), "finite"),
    (lambda: Float("x", 0.0, 1.0, default=2.0), r"x=2\.0 is out of range"),
    (lambda: Categorical("c", ("a",)), "at least 2 choices"),
    (lambda: Categorical("c", ("a", "a")), "distinct"),
    (lambda: Categorical("c", ("a", "b"), prior=(0.3, 0.3)), "summing to 1"),
    (lambda: Categorical("c", ("a", "b"), tree=ChoiceTree({"root": ("a", "z")})), "leaves"),
    (lambda: Boolean("b", prior=1.5), "probability of True"),
    (lambda: Integer("n", 1, 3, mutation="bogus"), "mutation 'bogus' unknown"),
    (lambda: Integer("not a name", 1, 3), "Python identifier"),
    (lambda: SearchSpace((Integer("a", 1, 3), Integer("a", 1, 3))), r"unique; rename \['a'\]"),
    (lambda: SearchSpace((Integer("b", 1, 3, condition=Condition("a", (1,))),)), "unknown parameter 'a'"),
    (lambda: SearchSpace((Integer("a", 1, 3), Integer("b", 1, 3, condition=Condition("a", (7,))))), r"a=7 is out of range"),
    (lambda: SearchSpace(()), "at least one parameter"),
    (lambda: SearchSpace.from_dict({"parameters": [{"type": "complex", "name": "z"}]}), "type 'complex' unknown"),
    (lambda: SearchSpace.from_dict({"parameters": [{"type": "int", "name": "z", "lo": 1}]}), "unexpected keyword"),
    (lambda: SearchSpace.from_dict({"params": []}), "needs a 'parameters' list"),
    (lambda: preset("resnet"), r"no preset 'resnet'; use one of"),
])
def test_invalid_spaces_raise_a_message_naming_the_fix(make, message):
    with pytest.raises(SpaceError, match=message):
        make()


def test_smallest_largest_and_default():
    space = small_space()
    assert space.smallest() == {"n_fc": 1, "neurons_1": 16, "lr": 1e-4, "act": "relu", "bn": False}
    assert space.largest() == {"n_fc": 2, "neurons_1": 512, "neurons_2": 512, "lr": 0.1, "act": "gelu", "bn": True}
    assert space.default() == {"n_fc": 1, "neurons_1": 64, "lr": 1e-3, "act": "relu", "bn": True}


def test_uniform_integer_sampling_is_uniform_and_log_sampling_is_log_uniform():
    rng = np.random.default_rng(0)
    p = Integer("n", 1, 4)
    counts = np.bincount([p.sample_uniform(rng) for _ in range(20000)], minlength=5)[1:]
    assert np.allclose(counts / 20000, 0.25, atol=0.015)
    q = Float("lr", 1e-4, 1e-0, log=True)
    draws = np.log10([q.sample_uniform(rng) for _ in range(20000)])
    assert np.allclose(np.histogram(draws, bins=4, range=(-4, 0))[0] / 20000, 0.25, atol=0.015)


def test_prior_sampling_follows_the_prior():
    rng = np.random.default_rng(1)
    assert abs(np.mean([Boolean("b", prior=0.9).sample_prior(rng) for _ in range(10000)]) - 0.9) < 0.015
    c = Categorical("c", ("a", "b", "c"), prior=(0.7, 0.2, 0.1))
    freq = np.array([[c.sample_prior(rng) == k for k in "abc"] for _ in range(10000)]).mean(axis=0)
    assert np.allclose(freq, [0.7, 0.2, 0.1], atol=0.015)
    lr = Float("lr", 1e-4, 1e-1, log=True, default=1e-3, prior="default")
    draws = np.log10([lr.sample_prior(rng) for _ in range(20000)])
    # triangular on log10 scale with mode -3 on [-4, -1]: median is -4 + sqrt(0.5 * 3 * 3) ... below the midpoint
    assert abs(np.median(draws) - (-1 - np.sqrt(0.5 * 3 * 2))) < 0.03


def test_sample_is_reproducible_and_valid():
    space = preset("evo_cnn")
    a = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    b = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    for cfg in (space.sample(np.random.default_rng(s)) for s in range(200)):
        assert space.validate(cfg) == cfg


def test_config_hash_is_canonical():
    space = small_space()
    cfg = space.default()
    shuffled = dict(reversed(list(cfg.items())))
    assert space.config_hash(cfg) == space.config_hash(shuffled)
    assert space.config_hash(cfg) != space.config_hash({**cfg, "lr": 2e-3})
    # numpy scalars hash like Python ones
    assert space.config_hash({**cfg, "neurons_1": np.int64(64)}) == space.config_hash(cfg)


def test_round_trip_through_json_keeps_the_space():
    for name in preset_names():
        space = preset(name)
        again = SearchSpace.from_json(json.dumps(space.to_dict()))
        assert again == space
        assert again.default() == space.default()


def test_encode_decode_round_trip_and_clipping():
    space = small_space()
    for p in space:
        for value in (p.smallest, p.largest, p.default):
            again = p.decode(p.encode(value))
            assert type(again) is type(value)
            assert again == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value)
        lo, hi = p.encoded_bounds
        assert p.decode(lo - 100) == p.smallest and p.decode(hi + 100) == p.largest

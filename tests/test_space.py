from __future__ import annotations

import json
import math
import re

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


def _space(*params) -> SearchSpace:
    return SearchSpace(tuple(params))


def _int_spec(**extra) -> dict:
    return {"parameters": [{"type": "int", "name": "n", "low": 1, "high": 5, **extra}]}


NAN, INF = float("nan"), float("inf")
TREE = {"root": ("a", "n"), "n": ("b", "c")}

BAD_INPUTS = [
    # numeric ranges
    (lambda: Integer("n", 5, 1), "n: low must be < high, got low=5, high=1"),
    (lambda: Integer("n", 3, 3), "low must be < high"),
    (lambda: Float("x", 1.0, 1.0), "low must be < high"),
    (lambda: Integer("n", 1.5, 3), "n: low and high must be integers, got 1.5, 3"),
    (lambda: Integer("n", NAN, 3), "low and high must be integers, got nan, 3"),
    (lambda: Integer("n", 1, INF), "low and high must be integers"),
    (lambda: Integer("n", "1", 3), "low and high must be integers"),
    (lambda: Integer("n", 0, 8, log=True), "log-scaled integer needs low > 0"),
    (lambda: Integer("n", 1, 8, log="yes"), "n: log must be True or False, got 'yes'"),
    (lambda: Float("x", 0.0, 1.0, log=True), "log-scaled float needs low > 0"),
    (lambda: Float("x", 0.0, INF), "finite"),
    (lambda: Float("x", NAN, 1.0), "low and high must be finite numbers"),
    (lambda: Float("x", 0.0, 1.0, default=2.0), r"x=2.0 is out of range"),
    (lambda: Float("x", 0.0, 1.0, default=NAN), "x=nan (a float) must be a number in [0.0, 1.0]"),
    (lambda: Float("x", 0.0, 1.0, prior="triangular"), "x: prior must be 'uniform' or 'default', got 'triangular'"),
    (lambda: Integer("n", 1, 5, default=True), "n=True (a bool) must be an integer in [1, 5]"),
    # categoricals, priors, trees
    (lambda: Categorical("c", "abc"), "c: choices must be a list of values, got 'abc' (a str)"),
    (lambda: Categorical("c", 5), "c: choices must be a list of values, got 5 (an int)"),
    (lambda: Categorical("c", ("a", ["b"])), "c: choice ['b'] (a list) is not a str, int, float, bool or None"),
    (lambda: Categorical("c", ("a", NAN)), "c: choice nan (a float) is not"),
    (lambda: Categorical("c", ("a",)), "at least 2 choices"),
    (lambda: Categorical("c", ("a", "a")), "distinct"),
    (lambda: Categorical("c", ("a", "b"), prior=(0.3, 0.3)), "summing to 1"),
    (lambda: Categorical("c", ("a", "b"), prior="ab"), "c: prior must be 2 non-negative probabilities summing to 1, one per choice, got 'ab'"),
    (lambda: Categorical("c", ("a", "b"), prior=(0.5, NAN)), "summing to 1"),
    (lambda: Categorical("c", ("a", "b"), prior=(1.5, -0.5)), "non-negative"),
    (lambda: Categorical("c", ("a", "b"), tree=ChoiceTree({"root": ("a", "z")})), "leaves"),
    (lambda: ChoiceTree({"root": "ab"}), "choice tree: the children of 'root' must be a list of node names, got 'ab'"),
    (lambda: ChoiceTree({"top": ("a", "b")}), "choice tree has no root node 'root'"),
    (lambda: ChoiceTree({"root": ("a", "n"), "n": ("root",)}), "choice tree: 'root' is the root and cannot be a child"),
    (lambda: ChoiceTree({"root": ("a", "n"), "n": ("a", "b")}), "choice tree: 'a' has two parents ('root' and 'n')"),
    (lambda: ChoiceTree({"root": ("a", "b"), "x": ("c",)}), "choice tree: node 'x' is not reachable from 'root'"),
    (lambda: ChoiceTree({"root": ("a", "b"), "x": ("y",), "y": ("x",)}), "choice tree: node 'x' is not reachable from 'root'"),
    (lambda: ChoiceTree("root"), "choice tree: children must be a dict from node to its children"),
    (lambda: Categorical("c", ("a", "b"), tree={"root": "root", "kids": {"root": ["a", "b"]}}),
     "c: tree has unknown key 'kids'; its keys are ['children', 'root']"),
    (lambda: Categorical("c", ("a", "b"), mutation="tree"), "c: mutation 'tree' needs a tree over the choices"),
    (lambda: Integer("n", 1, 3, mutation="tree"), "n: mutation 'tree' needs a categorical"),
    (lambda: Integer("n", 1, 3, mutation="flip"), "n: mutation 'flip' needs a bool"),
    (lambda: Boolean("b", prior=1.5), "probability of True"),
    (lambda: Boolean("b", prior=True), "probability of True"),
    (lambda: Integer("n", 1, 3, mutation="bogus"), "mutation 'bogus' unknown"),
    (lambda: Integer("n", 1, 3, crossover="blend"), "crossover 'blend' unknown"),
    # the mutation's scale
    (lambda: Integer("n", 1, 5, scale=-1), "n: scale (perturb_width of mutation 'perturb') must be a positive number, got -1"),
    (lambda: Integer("n", 1, 5, scale=0), "must be a positive number, got 0"),
    (lambda: Float("x", 0.0, 1.0, scale="0.1"), "x: scale (gaussian_sigma of mutation 'gaussian') must be a positive number, got '0.1' (a str)"),
    (lambda: Float("x", 0.0, 1.0, scale=NAN), "must be a positive number, got nan"),
    (lambda: Float("x", 0.0, 1.0, scale=True), "must be a positive number, got True (a bool)"),
    (lambda: Integer("n", 1, 5, scale=2.5), "n: scale (perturb_width of mutation 'perturb') must be a whole number of steps, got 2.5"),
    (lambda: Categorical("c", ("a", "b"), tree=ChoiceTree({"root": ("a", "b")}), scale=1.0),
     "c: scale (tree_base of mutation 'tree') must be > 1 (a larger base explores more), got 1.0"),
    (lambda: Float("x", 0.0, 1.0, mutation="uniform", scale=0.1), "x: scale has no meaning for mutation 'uniform'; drop it"),
    # names
    (lambda: Integer("not a name", 1, 3), "Python identifier"),
    (lambda: Integer(5, 1, 3), "parameter name 5 must be a Python identifier"),
    # conditions
    (lambda: Condition("a", ()), "condition on 'a' has no values"),
    (lambda: Condition("a", "xy"), "condition on 'a': values must be a list of the parent's values, got 'xy' (a str)"),
    (lambda: Condition(5, (1,)), "a condition's parent must be a parameter name, got 5 (an int)"),
    (lambda: Integer("b", 1, 3, condition={"parent": "a", "value": [1]}),
     "b: condition has unknown key 'value'; its keys are ['parent', 'values']"),
    (lambda: Integer("b", 1, 3, condition={"parent": "a"}), "b: condition is missing key 'values'; its keys are ['parent', 'values']"),
    (lambda: Integer("b", 1, 3, condition="a == 1"), "b: condition must be a Condition or a dict with 'parent' and 'values', got 'a == 1'"),
    (lambda: _space(Integer("b", 1, 3, condition=Condition("a", (1,)))), "unknown parameter 'a'"),
    (lambda: _space(Integer("b", 1, 3, condition=Condition("a", (1,))), Integer("a", 1, 3)),
     "b: its condition's parent 'a' must come before it in the space"),
    (lambda: _space(Integer("a", 1, 3, condition=Condition("a", (1,)))), "must come before it"),
    (lambda: _space(Integer("a", 1, 3), Integer("b", 1, 3, condition=Condition("a", (7,)))), "a=7 is out of range"),
    # spaces
    (lambda: _space(Integer("a", 1, 3), Integer("a", 1, 3)), "unique; rename ['a']"),
    (lambda: _space(), "a search space needs at least one parameter"),
    (lambda: SearchSpace(Integer("a", 1, 3)), "parameters must be a list or tuple of parameters, got Integer"),
    (lambda: _space("x"), "parameter #0 must be an Integer, Float, Categorical or Boolean, got 'x' (a str)"),
    (lambda: preset("resnet"), "no preset 'resnet'; use one of"),
    # from_dict / from_json
    (lambda: SearchSpace.from_dict({"params": []}), "needs a 'parameters' list"),
    (lambda: SearchSpace.from_dict(["x"]), "needs a 'parameters' list"),
    (lambda: SearchSpace.from_dict({"parameters": ["x"]}), "parameter #0 must be a dict with a 'type' and a 'name', got 'x' (a str)"),
    (lambda: SearchSpace.from_dict({"parameters": 5}), "'parameters' must be a list of parameter dicts, got 5 (an int)"),
    (lambda: SearchSpace.from_dict({"parameters": "n"}), "'parameters' must be a list of parameter dicts, got 'n'"),
    (lambda: SearchSpace.from_dict({"parameters": []}), "a search space needs at least one parameter"),
    (lambda: SearchSpace.from_dict(_int_spec(hihg=5)),
     "parameter 'n' (int): unknown key 'hihg'; known keys: ['condition', 'crossover', 'default', 'high', 'log', 'low', "
     "'mutation', 'name', 'prior', 'scale', 'type']"),
    (lambda: SearchSpace.from_dict({"parameters": [{"type": "categorical", "name": "c", "choices": ["a", "b"], "choice": 1}]}),
     "parameter 'c' (categorical): unknown key 'choice'; known keys: ['choices', 'condition', 'crossover', 'default', "
     "'mutation', 'name', 'prior', 'scale', 'tree', 'type']"),
    (lambda: SearchSpace.from_dict({"parameters": [{"type": "int", "low": 1, "high": 5}]}), "parameter #0 (int) is missing key 'name'"),
    (lambda: SearchSpace.from_dict({"parameters": [{"type": "int", "name": "n", "low": 1}]}), "parameter 'n' (int) is missing key 'high'"),
    (lambda: SearchSpace.from_dict({"parameters": [{"name": "n", "low": 1, "high": 5}]}),
     "parameter 'n' has no 'type'; use one of ['bool', 'categorical', 'float', 'int']"),
    (lambda: SearchSpace.from_dict({"parameters": [{"type": "complex", "name": "z"}]}),
     "parameter 'z': type 'complex' unknown; use one of ['bool', 'categorical', 'float', 'int'] "
     "(or upgrade nasbench if this space was written by a newer version)"),
    (lambda: SearchSpace.from_dict({"parameters": [{"type": ["int"], "name": "z"}]}), "type ['int'] unknown"),
    (lambda: SearchSpace.from_dict(_int_spec(condition={"parent": "n", "vals": [1]})),
     "n: condition has unknown key 'vals'; its keys are ['parent', 'values']"),
    (lambda: SearchSpace.from_json("{parameters: []}"), "the space is not valid JSON"),
    # genomes and configurations
    (lambda: small_space().to_config([1, 64]), "a genome of space 'small' has 6 genes"),
    (lambda: small_space().to_config([1, 64, 32, 1e-3, "relu", True, 0]), "got 7; build one with to_genome"),
    (lambda: small_space().to_config(small_space().default()), "to_config takes a genome"),
    (lambda: small_space().validate([1, 64]), "a configuration must be a dict of parameter values, got list"),
    (lambda: small_space().validate({**small_space().default(), "colour": 1}), "unknown parameters ['colour']"),
    (lambda: small_space().validate({**small_space().default(), 1: 2}), "unknown parameters [1]"),
    (lambda: small_space().validate({"n_fc": 1}), "missing parameter 'neurons_1'; add it (allowed: [16, 512])"),
    (lambda: small_space().validate({**small_space().default(), "n_fc": "2"}), "n_fc='2' (a str) must be an integer in [1, 2]"),
    (lambda: small_space().validate({**small_space().default(), "n_fc": True}), "n_fc=True (a bool) must be an integer in [1, 2]"),
    (lambda: small_space().validate({**small_space().default(), "neurons_1": 64.5}), "neurons_1=64.5 (a float) must be an integer"),
    (lambda: small_space().validate({**small_space().default(), "neurons_1": NAN}), "neurons_1=nan (a float) must be an integer"),
    (lambda: small_space().validate({**small_space().default(), "neurons_1": INF}), "neurons_1=inf (a float) must be an integer"),
    (lambda: small_space().validate({**small_space().default(), "neurons_1": 1000}), "neurons_1=1000 is out of range; allowed: integers in [16, 512]"),
    (lambda: small_space().validate({**small_space().default(), "lr": NAN}), "lr=nan (a float) must be a number in [0.0001, 0.1]"),
    (lambda: small_space().validate({**small_space().default(), "lr": "0.01"}), "lr='0.01' (a str) must be a number"),
    (lambda: small_space().validate({**small_space().default(), "lr": True}), "lr=True (a bool) must be a number"),
    (lambda: small_space().validate({**small_space().default(), "lr": 1.0}), "lr=1.0 is out of range; allowed: [0.0001, 0.1] (log scale)"),
    (lambda: small_space().validate({**small_space().default(), "act": "swish"}), "act='swish' is out of range; allowed: one of ['relu', 'tanh', 'gelu']"),
    (lambda: small_space().validate({**small_space().default(), "bn": 1}), "bn=1 (an int) must be True or False"),
    (lambda: small_space().validate({**small_space().default(), "neurons_2": 20}), "neurons_2 is inactive unless n_fc in [2]; drop it"),
]


@pytest.mark.parametrize("make, fragment", BAD_INPUTS, ids=[f"case{i}" for i in range(len(BAD_INPUTS))])
def test_bad_input_raises_a_one_line_space_error_naming_the_fix(make, fragment):
    with pytest.raises(SpaceError) as info:
        make()
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


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


def chain_space() -> SearchSpace:
    """a -> b -> c: c is active only when b is, and b only when a is."""
    return SearchSpace((
        Categorical("a", ("off", "on")),
        Categorical("b", ("x", "y"), condition=Condition("a", ("on",))),
        Integer("c", 1, 3, default=2, condition=Condition("b", ("x",))),
        Boolean("d"),
    ), name="chain")


def test_a_chained_condition_needs_its_parent_active():
    space = chain_space()
    assert space.active({"a": "off", "b": "x", "c": 1, "d": True}) == [True, False, False, True]
    assert space.active({"a": "on", "b": "x", "c": 1, "d": True}) == [True, True, True, True]
    assert space.active({"a": "on", "b": "y", "c": 1, "d": True}) == [True, True, False, True]
    assert space.to_config(["off", "x", 3, True]) == {"a": "off", "d": True}
    assert space.to_config(["on", "x", 3, True]) == {"a": "on", "b": "x", "c": 3, "d": True}
    assert space.to_config(["on", "y", 3, False]) == {"a": "on", "b": "y", "d": False}
    assert space.default() == {"a": "off", "d": False}
    assert space.smallest() == {"a": "off", "d": False}
    assert space.largest() == {"a": "on", "b": "y", "d": True}
    for cfg in (space.default(), space.smallest(), space.largest()):
        assert space.validate(cfg) == cfg
    with pytest.raises(SpaceError, match=r"c is inactive unless b in \['x'\]"):
        space.validate({"a": "off", "c": 2, "d": False})
    with pytest.raises(SpaceError, match=r"b is inactive unless a in \['on'\]"):
        space.validate({"a": "off", "b": "x", "c": 2, "d": False})


def test_random_genomes_and_samples_of_a_chain_always_validate():
    space = chain_space()
    rng = np.random.default_rng(0)
    shapes = set()
    for _ in range(1000):
        genome = [rng.choice(["off", "on"]).item(), rng.choice(["x", "y"]).item(), int(rng.integers(1, 4)), bool(rng.random() < 0.5)]
        cfg = space.to_config(genome)
        assert space.validate(cfg) == cfg
        shapes.add(tuple(cfg))
        sampled = space.sample(rng)
        assert space.validate(sampled) == sampled
        from_prior = space.sample(rng, prior=True)
        assert space.validate(from_prior) == from_prior
    assert shapes == {("a", "d"), ("a", "b", "d"), ("a", "b", "c", "d")}


@pytest.mark.parametrize("low, high, seed", [(16, 128, 0), (1, 8, 1)])
def test_log_integers_give_each_value_the_log_mass_of_its_half_step_neighbourhood(low, high, seed):
    from scipy import stats

    p = Integer("n", low, high, log=True)
    assert p.encoded_bounds == (math.log(low - 0.5), math.log(high + 0.5))
    assert (p.smallest, p.largest) == (low, high)
    assert p.decode(p.encoded_bounds[0]) == low and p.decode(p.encoded_bounds[1]) == high
    rng = np.random.default_rng(seed)
    n = 200_000
    counts = np.bincount([p.sample_uniform(rng) for _ in range(n)], minlength=high + 1)[low:]
    k = np.arange(low, high + 1)
    share = np.log((k + 0.5) / (k - 0.5)) / np.log((high + 0.5) / (low - 0.5))
    expected = n * share
    for end in (0, -1):  # the end values get their whole share (16 had half of it: 2,922 of 5,912)
        assert abs(counts[end] - expected[end]) < 4 * np.sqrt(expected[end] * (1 - share[end]))
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < stats.chi2.ppf(0.999, len(k) - 1)


def test_log_integer_natural_default_is_still_the_geometric_midpoint():
    assert Integer("n", 16, 512, log=True).default == 91  # round(sqrt(16 * 512)) = round(90.51)
    assert Integer("n", 1, 8, log=True).default == 3  # round(sqrt(8)) = round(2.83)
    assert Integer("n", 1, 4).default == 2  # round(2.5), banker's rounding, as before


def test_scale_is_read_through_the_property_its_mutation_names():
    space = preset("mlp")
    assert space["n_layers"].perturb_width == 2 and space["n_neurons"].perturb_width == 16
    assert space["dropout"].gaussian_sigma == 0.15
    assert space["activation"].tree_base == 2.0
    # unset: the documented defaults
    n = Integer("n", 1, 17)
    assert n.perturb_width == 2 and n.gaussian_sigma == pytest.approx(16.9998 / 10, abs=1e-12)
    x = Float("x", 0.0, 4.0)
    assert x.perturb_width == 0.5 and x.gaussian_sigma == 0.4
    c = Categorical("c", ("a", "b"), tree=ChoiceTree({"root": ("a", "b")}))
    assert c.tree_base == 2.0
    # a scale belongs to its own mutation only
    g = Integer("g", 1, 17, mutation="gaussian", scale=0.5)
    assert g.gaussian_sigma == 0.5 and g.perturb_width == 2
    # stored studies keep the field name: the dict round-trip still writes and reads "scale"
    spec = space["activation"].to_dict()
    assert spec["scale"] == 2.0
    spec["scale"] = 4.0
    assert SearchSpace.from_dict({"parameters": [spec]})["activation"].tree_base == 4.0


def test_from_dict_round_trips_chained_conditions_and_trees():
    space = chain_space()
    assert SearchSpace.from_json(json.dumps(space.to_dict())) == space


def test_merge_spaces_is_gone():
    import nasbench.space as space_module

    assert not hasattr(space_module, "merge_spaces")


# --- whole generations on arrays --------------------------------------------------------------
def _flat_space():
    # exp(log(7.0)) < 7.0 and exp(log(0.001)) > 0.001: the ends must come out exact all the same
    return SearchSpace((Float("a", 0.0, 1.0), Float("lr", 1e-4, 1.0, log=True), Integer("n", 1, 9),
                        Integer("w", 2, 256, log=True), Float("b", -3.0, 5.0), Float("c", 0.001, 7.0, log=True),
                        *[Float(f"x{i}", -1.0, 1.0) for i in range(10)]))  # x10 sorts before x2


def test_the_array_codec_decodes_as_each_parameter_does():
    space = _flat_space()
    codec = space.numeric
    rng = np.random.default_rng(0)
    genomes = [space.sample_genome(rng) for _ in range(500)]
    X = codec.encode(genomes)
    assert np.array_equal(X, [[p.encode(v) for p, v in zip(space.parameters, g)] for g in genomes])
    for spread in (0.1, 3.0, 30.0):  # inside the bounds and far beyond them
        Y = X + rng.normal(size=X.shape) * spread
        decoded = codec.decode(Y)
        expected = [[p.decode(y) for p, y in zip(space.parameters, row)] for row in Y.tolist()]
        assert decoded == expected
        assert [[type(v) for v in g] for g in decoded] == [[type(v) for v in g] for g in expected]
    unchanged = codec.decode(X, X, genomes)  # genes whose encoding did not move keep their exact value
    assert unchanged == genomes
    assert SearchSpace((Float("a", 0.0, 1.0), Boolean("b"))).numeric is None
    assert preset("mlp").numeric is None  # conditional and categorical genes: gene by gene


def test_trial_texts_on_arrays_equal_the_per_configuration_path():
    space = _flat_space()
    rng = np.random.default_rng(1)
    genomes = [space.sample_genome(rng) for _ in range(300)]
    genomes.append([0.0, 1e-4, 1, 2, -3.0, 0.001] + [-0.0] * 10)  # the ends, and a negative zero
    genomes.append([1.0, 1.0, 9, 256, 5.0, 7.0] + [1e-300] * 10)
    texts, configs, genome_texts = space.numeric.trial_texts(genomes)
    assert texts == [space.canonical_json(space.to_config(g)) for g in genomes]
    assert configs == [json.loads(t) for t in texts] and [list(c) for c in configs] == [list(json.loads(t)) for t in texts]
    assert genome_texts == [json.dumps(g, separators=(",", ":")) for g in genomes]
    assert space.trial_texts(genomes) == (texts, configs, genome_texts)
    cond = preset("mlp")  # the gene-by-gene path gives the same three things
    g = cond.sample_genome(rng)
    assert cond.trial_texts([g]) == ([cond.canonical_json(cond.to_config(g))],
                                     [json.loads(cond.canonical_json(cond.to_config(g)))],
                                     [json.dumps(g, separators=(",", ":"))])


@pytest.mark.parametrize("gene, value, message", [
    (0, True, "a=True (a bool) must be a number in [0.0, 1.0]"),
    (0, "0.5", "a='0.5' (a str) must be a number"),
    (0, float("nan"), "a=nan"),
    (0, 1.5, "a=1.5 is out of range; allowed: [0.0, 1.0]"),
    (2, 3.5, "n=3.5 (a float) must be an integer in [1, 9]"),
    (2, 10, "n=10 is out of range"),
])
def test_a_bad_gene_in_a_generation_is_named_as_alone(gene, value, message):
    space = _flat_space()
    rng = np.random.default_rng(2)
    genomes = [space.sample_genome(rng) for _ in range(5)]
    genomes[3][gene] = value
    with pytest.raises(SpaceError, match=re.escape(message)):
        space.trial_texts(genomes)
    with pytest.raises(SpaceError, match="has 16 genes"):
        space.trial_texts([genomes[0][:-1]])


def test_numpy_numbers_and_whole_floats_are_checked_gene_by_gene_to_the_same_texts():
    space = _flat_space()
    rng = np.random.default_rng(3)
    plain = space.sample_genome(rng)
    numpy = [np.float64(v) if isinstance(v, float) else np.int64(v) for v in plain]
    assert space.trial_texts([numpy])[0] == space.trial_texts([plain])[0]
    whole = list(plain)
    whole[2] = float(whole[2])  # 3.0 in an integer gene: valid, and its configuration holds 3
    assert space.trial_texts([whole])[0] == space.trial_texts([plain])[0]

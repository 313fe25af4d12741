from __future__ import annotations

import itertools
import json

import pytest

from nasbench.optimizers.base import Observation
from nasbench.optimizers.grid import GridSearch, parameter_values
from nasbench.space import Boolean, Categorical, Condition, Float, Integer, SearchSpace, SpaceError, preset


def conditional_space() -> SearchSpace:
    """Two branches off ``optimizer`` (one for two of its values), and a chain below ``layers``."""
    return SearchSpace((
        Categorical("optimizer", choices=("adam", "sgd", "rmsprop")),
        Float("momentum", 0.0, 0.9, condition=Condition("optimizer", ("sgd", "rmsprop"))),
        Boolean("nesterov", condition=Condition("optimizer", ("sgd",))),
        Integer("layers", 1, 3),
        Integer("width2", 16, 64, log=True, condition=Condition("layers", (2, 3))),
        Integer("width3", 16, 64, log=True, condition=Condition("layers", (3,))),
    ))


def expected_configs() -> list[dict]:
    """Written out by hand: 3 points per numeric parameter, every active combination."""
    widths = [16, 32, 64]
    moms = [0.0, 0.45, 0.9]
    heads = [{"optimizer": "adam"}]
    heads += [{"optimizer": "sgd", "momentum": m, "nesterov": n} for m in moms for n in (False, True)]
    heads += [{"optimizer": "rmsprop", "momentum": m} for m in moms]
    tails = [{"layers": 1}] + [{"layers": 2, "width2": w} for w in widths]
    tails += [{"layers": 3, "width2": a, "width3": b} for a in widths for b in widths]
    return [{**h, **t} for h in heads for t in tails]


def all_configs(opt: GridSearch, batch: int = 7) -> list[dict]:
    out = []
    while batch_out := opt.ask(batch):
        out += [opt.space.to_config(s.genome) for s in batch_out]
    return out


def canon(config: dict) -> str:
    return json.dumps(config, sort_keys=True)


def test_conditional_space_gives_every_expected_configuration_exactly_once():
    space = conditional_space()
    opt = GridSearch(space, points=3)
    got = all_configs(opt)
    want = expected_configs()
    assert len(want) == 10 * 13 == opt.size
    assert sorted(map(canon, got)) == sorted(map(canon, want))
    assert len(set(map(canon, got))) == len(got)
    for config in got:
        assert space.validate(config) == config


def test_exhausted_grid_asks_for_nothing_and_the_last_batch_is_short():
    space = SearchSpace((Integer("a", 1, 3), Boolean("b")))
    opt = GridSearch(space)
    assert [len(opt.ask(4)) for _ in range(3)] == [4, 2, 0]
    assert opt.exhausted and opt.ask(1) == []
    opt.tell([Observation(0, [1, False], (1.0,))])  # nothing to learn, nothing breaks


def test_numeric_values_are_spread_log_spaced_and_integers_deduplicated():
    assert parameter_values(Float("lr", 1e-3, 1.0, log=True), 4) == [1e-3, pytest.approx(1e-2), pytest.approx(1e-1), 1.0]
    assert parameter_values(Float("p", 0.0, 0.5), 3) == [0.0, 0.25, 0.5]
    assert parameter_values(Integer("n", 8, 256, log=True), 5) == [8, 19, 45, 108, 256]
    assert parameter_values(Integer("k", 1, 3), 5) == [1, 2, 3]
    assert parameter_values(Categorical("c", choices=(3, 5)), 9) == [3, 5]


def test_explicit_values_replace_the_discretisation():
    space = SearchSpace((Float("lr", 1e-4, 1.0, log=True), Categorical("act", choices=("relu", "tanh", "elu"))))
    opt = GridSearch(space, values={"lr": [0.1, 0.01, 0.1], "act": ["tanh"]})
    assert all_configs(opt) == [{"lr": 0.1, "act": "tanh"}, {"lr": 0.01, "act": "tanh"}]


def test_explicit_parent_values_prune_the_branches():
    space = conditional_space()
    opt = GridSearch(space, points=3, values={"optimizer": ["adam"], "layers": [1, 2]})
    assert sorted(map(canon, all_configs(opt))) == sorted(map(canon, [
        {"optimizer": "adam", "layers": 1}] + [{"optimizer": "adam", "layers": 2, "width2": w} for w in (16, 32, 64)]))


def test_shuffle_visits_the_same_grid_in_a_seeded_order():
    space = conditional_space()
    plain = all_configs(GridSearch(space, points=3))
    a = all_configs(GridSearch(space, points=3, shuffle=True, seed=1))
    b = all_configs(GridSearch(space, points=3, shuffle=True, seed=1))
    c = all_configs(GridSearch(space, points=3, shuffle=True, seed=2))
    assert a == b and a != plain and a != c
    assert sorted(map(canon, a)) == sorted(map(canon, plain))


@pytest.mark.parametrize("shuffle", [False, True])
def test_resume_through_json_continues_exactly(shuffle):
    space = conditional_space()
    straight = GridSearch(space, points=3, shuffle=shuffle, seed=3)
    full = all_configs(straight, batch=5)
    first = GridSearch(space, points=3, shuffle=shuffle, seed=3)
    head = [space.to_config(s.genome) for _ in range(8) for s in first.ask(5)]
    fresh = GridSearch(space, points=3, shuffle=not shuffle, seed=99)  # other settings: the state wins
    fresh.load_state_dict(json.loads(json.dumps(first.state_dict())))
    assert head + all_configs(fresh, batch=5) == full


def test_resume_with_another_space_says_so():
    opt = GridSearch(conditional_space(), points=3)
    other = GridSearch(SearchSpace((Integer("layers", 1, 3),)))
    with pytest.raises(ValueError, match="saved grid had 130 configurations but this space gives 3"):
        other.load_state_dict(opt.state_dict())


def test_jahs_preset_grid_is_valid():
    space = preset("jahs_cnn")
    opt = GridSearch(space, points=2)
    assert opt.size == 2 ** 12 * 6 * 5  # batch size 6 and dropout 5 choices, the other 12 two values each
    for s in itertools.islice(iter(lambda: opt.ask(50), []), 5):
        for sug in s:
            space.validate(space.to_config(sug.genome))


@pytest.mark.parametrize("kwargs, message", [
    ({"points": "5"}, r"points must be an integer >= 2 .*got '5' \(a str\); pass an int"),
    ({"points": 1}, r"points must be an integer >= 2"),
    ({"points": True}, r"points must be an integer >= 2"),
    ({"shuffle": "yes"}, r"shuffle must be True or False, got 'yes'"),
    ({"values": ["layers"]}, r"values must be a dict from parameter name to a list of values"),
    ({"values": {"depth": [1]}}, r"values: no parameter 'depth'; the space has \['optimizer'"),
    ({"values": {"layers": []}}, r"values\['layers'\] must be a non-empty list of values"),
    ({"values": {"layers": 2}}, r"values\['layers'\] must be a non-empty list of values, got 2; pass e.g. \[2\]"),
    ({"values": {"layers": [9]}}, r"layers=9 is out of range; allowed: integers in \[1, 3\]"),
])
def test_bad_options_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        GridSearch(conditional_space(), **kwargs)
    assert "\n" not in str(info.value)


def test_bad_ask_size_and_oversized_shuffle():
    opt = GridSearch(conditional_space())
    with pytest.raises(ValueError, match=r"n must be an integer >= 0, got -1"):
        opt.ask(-1)
    with pytest.raises(ValueError, match=r"shuffle=True needs a grid of at most 10,000,000"):
        GridSearch(preset("jahs_cnn"), points=6, shuffle=True)  # 14,929,920
    assert isinstance(SpaceError("x"), ValueError)


def test_a_grid_beyond_int64_indexing_is_refused_not_wrapped():
    space = SearchSpace([Float(f"x{i}", 0.0, 1.0) for i in range(30)], name="wide")
    with pytest.raises(ValueError, match=r"9.31e\+20 configurations .* lower points"):
        GridSearch(space, 1, points=5)
    assert GridSearch(space, 1, points=2).size == 2**30  # large but indexable

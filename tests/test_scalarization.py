from __future__ import annotations

import json

import pytest

from nasbench.optimizers import GeneticAlgorithm, NSGA2, Observation, RandomSearch
from nasbench.optimizers.scalarization import WeightedProduct, weighted_product
from nasbench.space import preset


def test_the_formula_on_hand_values():
    assert weighted_product(0.9, 2e6, 1e6, -0.07, -0.07) == 0.9 * 2.0 ** -0.07
    assert weighted_product(0.9, 5e5, 1e6, -0.07, -0.07) == 0.9 * 0.5 ** -0.07
    assert weighted_product(0.9, 1e6, 1e6, 0.0, -1.0) == 0.9  # at the target the factor is 1 whichever w
    assert weighted_product(0.9, 5e5, 1e6, 0.0, -1.0) == 0.9  # hard constraint: no reward below T
    assert weighted_product(0.9, 2e6, 1e6, 0.0, -1.0) == 0.45  # and a penalty above it


def test_told_values_are_minimised_and_accuracy_arrives_negated():
    opt = WeightedProduct(preset("mlp"), 2, target=1000.0, inner="random")
    assert opt.scalarize((-0.9, 2000.0)) == -(0.9 * 2.0 ** -0.07)
    raw = WeightedProduct(preset("mlp"), 2, target=1000.0, inner="random", accuracy_maximized=False)
    assert raw.scalarize((0.9, 2000.0)) == -(0.9 * 2.0 ** -0.07)
    swapped = WeightedProduct(preset("mlp"), 3, target=1000.0, inner="random", accuracy_objective=2,
                              size_objective=0)
    assert swapped.scalarize((500.0, 7.0, -0.8)) == -(0.8 * 0.5 ** -0.07)


def test_the_ranking_flips_across_the_target_only_when_alpha_differs_from_beta():
    a, b = (-0.90, 2e6), (-0.88, 1e6)  # a: more accurate, twice as big
    hard = {"alpha": 0.0, "beta": -1.0}
    def scalar(v, target, **w):
        return WeightedProduct(preset("mlp"), 2, target=target, inner="random", **w).scalarize(v)
    assert scalar(a, 2e6, **hard) < scalar(b, 2e6, **hard)  # both within T: the accurate one wins
    assert scalar(a, 1e6, **hard) > scalar(b, 1e6, **hard)  # a over budget: b wins
    for target in (1e5, 1e6, 2e6, 1e8):  # soft, alpha = beta: b wins at every T
        assert scalar(a, target) > scalar(b, target)


def test_the_inner_optimiser_is_told_the_scalar_and_the_status():
    space = preset("mlp")
    inner = GeneticAlgorithm(space, 1, {"population_size": 4}, seed=1)
    opt = WeightedProduct(space, 2, target=100.0, inner=inner)
    assert opt.generation_size == 4
    batch = opt.ask(4)
    told = []
    inner.tell = told.extend
    opt.tell([Observation(0, batch[0].genome, (-0.5, 100.0)),
              Observation(1, batch[1].genome, None, status="failed"),
              Observation(2, batch[2].genome, (-0.5, None), status="pruned", fidelity=3),
              Observation(3, batch[3].genome, (-0.5, 400.0), status="pruned")])
    assert [(o.trial_id, o.values, o.status) for o in told] == [
        (0, (-0.5,), "done"), (1, None, "failed"), (2, None, "pruned"), (3, (-0.5 * 4.0 ** -0.07,), "pruned")]
    assert told[2].fidelity == 3


def test_a_ga_runs_a_two_objective_study_through_it():
    space = preset("mlp")
    opt = WeightedProduct(space, 2, target=64.0, alpha=0.0, beta=-1.0,
                          inner="ga", inner_options={"config": {"population_size": 6}}, seed=3)
    next_id = 0
    for _ in range(8):
        batch = opt.ask(opt.generation_size)
        obs = []
        for s in batch:  # accuracy best at 2 layers; size = neurons
            acc = 1.0 - abs(s.genome[0] - 2) * 0.1
            obs.append(Observation(next_id, s.genome, (-acc, float(s.genome[1])), s.generation, s.parents))
            next_id += 1
        opt.tell(obs)
    best = min(opt.inner.population, key=lambda r: r["values"][0])
    assert best["genome"][0] == 2 and best["genome"][1] <= 64  # the accurate one within the target


def run(make, n_gen, resume_at=None):
    opt, out, next_id = make(0), [], 0
    for gen in range(n_gen):
        if gen == resume_at:
            text = json.dumps(opt.state_dict())
            opt = make(999)
            opt.load_state_dict(json.loads(text))
        for part in (3, 3):  # mid-generation tells
            obs = []
            for s in opt.ask(part):
                out.append(s.genome)
                obs.append(Observation(next_id, s.genome, (-1.0 / s.genome[0], float(s.genome[1])),
                                       s.generation, s.parents))
                next_id += 1
            opt.tell(obs)
    return out


def test_resume_through_json_is_exact():
    def make(seed):
        return WeightedProduct(preset("mlp"), 2, target=50.0, inner="ga",
                               inner_options={"config": {"population_size": 6}}, seed=seed)
    straight = run(make, 6)
    assert run(make, 6, resume_at=3) == straight
    assert run(lambda seed: make(seed + 1), 6) != straight


def test_a_state_for_another_inner_optimiser_is_refused():
    space = preset("mlp")
    state = WeightedProduct(space, 2, target=50.0, inner="random").state_dict()
    with pytest.raises(ValueError, match=r"^the saved inner optimiser is 'random', this one's is 'ga'; "
                                         r"build the WeightedProduct with inner='random'$"):
        WeightedProduct(space, 2, target=50.0, inner="ga").load_state_dict(state)


@pytest.mark.parametrize("kwargs, message", [
    ({"target": 0}, r"^target must be a number > 0 \(in the size objective's unit\), got 0$"),
    ({"target": "1e6"}, r"^target must be a number > 0 .*got '1e6' \(str\); pass a float$"),
    ({"target": 1.0, "alpha": None}, r"^alpha must be a number \(MnasNet: -0.07, or 0 for a hard constraint\), "
                                     r"got None \(NoneType\); pass a float$"),
    ({"target": 1.0, "size_objective": 2}, r"^size_objective=2 is not an objective index in \[0, 1\]$"),
    ({"target": 1.0, "size_objective": 0}, r"^accuracy_objective and size_objective are both 0; "
                                           r"pass two different indices$"),
    ({"target": 1.0, "accuracy_maximized": "yes"}, r"^accuracy_maximized must be True or False, got 'yes' \(str\)$"),
    ({"target": 1.0, "inner": 3}, r"^inner must be an optimiser's name or an Optimizer, got 3 \(int\)$"),
    ({"target": 1.0, "inner": "bohb2"}, r"^unknown optimizer 'bohb2'"),
])
def test_bad_settings_name_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WeightedProduct(preset("mlp"), 2, **kwargs)


def test_instances_must_be_single_objective_and_sizes_positive():
    space = preset("mlp")
    with pytest.raises(ValueError, match=r"^the inner optimiser must be single-objective, got one with 2 objectives$"):
        WeightedProduct(space, 2, target=1.0, inner=NSGA2(space, 2))
    with pytest.raises(ValueError, match=r"^the weighted product needs 2 objectives .*got 1; use a single-objective"):
        WeightedProduct(space, 1, target=1.0)
    opt = WeightedProduct(space, 2, target=1.0, inner=RandomSearch(space, 1))
    with pytest.raises(ValueError, match=r"^trial 7: the size objective \(index 1\) is 0.0; the weighted product "
                                         r"needs a positive size \(parameters or MACs\)$"):
        opt.scalarize((-0.9, 0.0), 7)
    with pytest.raises(ValueError, match=r"^trial 2: the accuracy read from objective 0 is -0.9; point "
                                         r"accuracy_objective at a maximised accuracy, or set accuracy_maximized$"):
        opt.scalarize((0.9, 10.0), 2)


def test_generation_and_population_are_the_inner_optimisers():
    space = preset("mlp")
    opt = WeightedProduct(space, 2, target=50.0, inner="ga", inner_options={"config": {"population_size": 4}})
    batch = opt.ask(4)
    opt.tell([Observation(i, s.genome, (-0.5, 100.0)) for i, s in enumerate(batch)])
    assert opt.generation == 1 and [r["values"] for r in opt.population] == [[-0.5 * 2.0 ** -0.07]] * 4
    assert WeightedProduct(space, 2, target=50.0, inner="random").population is None

from __future__ import annotations

import json

import numpy as np
import pytest

from nasbench.hypervolume import hypervolume
from nasbench.objectives import ZDT1
from nasbench.optimizers import NSGA2, EvolutionConfig, GAConfig, GeneticAlgorithm, Observation, RandomSearch, make_optimizer
from nasbench.space import preset


def drive(opt, evaluate, n_trials):
    """A bare ask/tell loop; returns all (genome, values)."""
    seen, next_id = [], 0
    while next_id < n_trials:
        batch = opt.ask(min(opt.batch_size or 1, n_trials - next_id))
        obs = []
        for s in batch:
            values = evaluate(s.genome)
            obs.append(Observation(next_id, s.genome, values, s.generation, s.parents))
            seen.append((s.genome, values))
            next_id += 1
        opt.tell(obs)
    return seen


def zdt1_values(genome):
    p = ZDT1(n_var=10)
    return tuple(p.evaluate(np.array(genome)))


def test_nsga2_converges_on_zdt1():
    p = ZDT1(n_var=10)
    opt = NSGA2(p.space, 2, {"population_size": 40}, seed=0)
    seen = drive(opt, zdt1_values, 4000)
    F = np.array([v for _, v in seen])
    # the true front's HV is 1.21 - 1/3 = 0.8767; random search gets nowhere near it
    assert hypervolume(F, [1.1, 1.1]) > 0.85
    assert opt.generation == 100 and len(opt.population) == 40


def test_state_round_trips_through_json_and_continues_identically():
    p = ZDT1(n_var=10)
    a = NSGA2(p.space, 2, {"population_size": 10}, seed=5)
    drive(a, zdt1_values, 35)  # mid-generation: 5 asked of generation 3 told
    state = json.loads(json.dumps(a.state_dict()))
    b = NSGA2(p.space, 2, {"population_size": 10}, seed=999)
    b.load_state_dict(state)
    assert [s.genome for s in a.ask(10)] == [s.genome for s in b.ask(10)]


def test_extremes_initialisation_is_seed_000s():
    space = preset("evo_cnn")
    opt = NSGA2(space, 2, {"population_size": 5, "init": "extremes"}, seed=0)
    configs = [space.to_config(s.genome) for s in opt.ask(5)]
    assert configs[:3] == [space.default(), space.largest(), space.smallest()]
    assert all(space.validate(c) == c for c in configs)


@pytest.mark.parametrize("selection", ["crowded_tournament", "size_tournament", "hypervolume", "alternating",
                                       "tournament", "tournament_pressure", "fitness_proportional", "random"])
def test_every_parent_selection_drives_nsga2(selection):
    p = ZDT1(n_var=10)
    opt = NSGA2(p.space, 2, {"population_size": 12, "parent_selection": selection, "size_objective": 1,
                             "reference_point": (1.1, 11.0), "tournament_size": 3}, seed=1)
    seen = drive(opt, zdt1_values, 120)
    assert len(seen) == 120 and opt.generation == 10
    for genome, _ in seen:
        p.space.validate(p.space.to_config(genome))
    parents = {s.parents for s in opt.ask(12)}
    assert all(len(pr) == 2 for pr in parents)


def test_avoid_duplicates_on_a_small_discrete_space():
    space = preset("mlp")
    opt = NSGA2(space, 2, {"population_size": 10}, seed=2)
    seen = drive(opt, lambda g: (g[0] * 0.1, 1.0 / g[1]), 200)
    gen = [json.dumps(g) for g, _ in seen[100:110]]
    assert len(set(gen)) == len(gen)


def test_failed_trials_do_not_survive_and_an_all_failed_generation_restarts():
    p = ZDT1(n_var=10)
    opt = NSGA2(p.space, 2, {"population_size": 6}, seed=3)
    drive(opt, lambda g: None, 12)  # everything fails
    assert opt.population == [] and opt.generation == 2
    batch = opt.ask(6)
    assert all(s.parents == () for s in batch)  # fresh random draws


def test_ga_defaults_are_seed_003():
    cfg = GAConfig()
    assert (cfg.population_size, cfg.tournament_size, cfg.crossover) == (5, 3, "two_point")
    with pytest.raises(ValueError, match="single-objective"):
        GeneticAlgorithm(preset("mlp"), 2)
    with pytest.raises(ValueError, match="elitism must be in"):
        GAConfig(elitism=5)


def test_ga_keeps_the_elite():
    space = preset("mlp")
    opt = GeneticAlgorithm(space, 1, seed=4)
    best = []
    def loss(g):
        return (abs(g[1] - 100) + g[0],)
    seen = drive(opt, loss, 5 * 20)
    for gen in range(1, 20):
        best.append(min(v[0] for _, v in seen[: 5 * (gen + 1)]))
    assert min(r["values"][0] for r in opt.population) == best[-1]


def test_random_search_state():
    opt = RandomSearch(preset("jahs_cnn"), seed=0)
    opt.ask(3)
    again = RandomSearch(preset("jahs_cnn"), seed=1)
    again.load_state_dict(json.loads(json.dumps(opt.state_dict())))
    assert [s.genome for s in opt.ask(2)] == [s.genome for s in again.ask(2)]


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("bohb", preset("mlp"), 1)
    with pytest.raises(ValueError, match="reference_point has 3 values for 2 objectives"):
        NSGA2(preset("mlp"), 2, EvolutionConfig(reference_point=(1, 2, 3)))
    with pytest.raises(ValueError, match="size_objective=5 is not an objective index"):
        NSGA2(preset("mlp"), 2, EvolutionConfig(parent_selection="size_tournament", size_objective=5))
    with pytest.raises(ValueError, match="only 0 suggestions are outstanding"):
        opt = NSGA2(preset("mlp"), 2, {"population_size": 2})
        opt.tell([Observation(0, [1, 16, "relu", 0.0], (1.0, 1.0))])

from __future__ import annotations

import numpy as np
import pytest

from nasbench.objectives import ZDT1
from nasbench.optimizers import OPTIMIZERS, Observation, SteadyStateNSGA2, make_optimizer
from nasbench.selection import nsga2_survivors
from nasbench.space import Float, SearchSpace
from nasbench.study import Study

SPACE = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])


def drive(opt: SteadyStateNSGA2, n: int, problem=ZDT1(n_var=2), start: int = 0) -> list[tuple]:
    """Ask one, tell one, ``n`` times (as the in-process loop does); the (genome, parents) asked."""
    asked = []
    for trial_id in range(start, start + n):
        (s,) = opt.ask(1)
        values = problem.evaluate(np.array(s.genome, dtype=float))
        opt.tell([Observation(trial_id, s.genome, tuple(values), s.generation, s.parents)])
        asked.append((tuple(s.genome), s.parents, s.generation))
    return asked


def test_registered_and_built_by_name():
    assert OPTIMIZERS["nsga2_async"] is SteadyStateNSGA2
    opt = make_optimizer("nsga2_async", SPACE, 2, seed=1, config={"population_size": 6})
    assert opt.asynchronous and opt.config.population_size == 6
    with pytest.raises(ValueError, match="tournament_size is an EvolutionConfig setting: put it under config="):
        make_optimizer("nsga2_async", SPACE, 2, tournament_size=3)
    with pytest.raises(ValueError, match="offspring_size does not apply to 'nsga2_async'.*leave it out"):
        SteadyStateNSGA2(SPACE, 2, {"offspring_size": 4})


def test_random_until_the_population_is_full_then_one_child_per_ask():
    opt = SteadyStateNSGA2(SPACE, 2, {"population_size": 4}, seed=0)
    first = opt.ask(6)  # nothing told: the initial population, then random while it fills
    assert all(s.parents == () for s in first)
    for i, s in enumerate(first[:4]):
        opt.tell([Observation(i, s.genome, (float(i), 4.0 - i))])
    (child,) = opt.ask(1)
    assert len(child.parents) == 2 and set(child.parents) <= {0, 1, 2, 3}
    assert opt.generation == 1 and child.generation == 1
    assert len(opt.outstanding) == 3  # two random ones and the child, still in flight


def test_survival_drops_the_worst_by_rank_and_crowding():
    opt = SteadyStateNSGA2(SPACE, 2, {"population_size": 4}, seed=0)
    points = [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0), (0.6, 0.6), (0.2, 0.9)]
    suggestions = opt.ask(len(points))
    for i, (s, f) in enumerate(zip(suggestions, points)):
        opt.tell([Observation(i, s.genome, f)])
    # (0.6, 0.6) is dominated by (0.5, 0.5): it is the one that leaves
    assert [r["trial_id"] for r in opt.population] == [0, 1, 2, 4]
    F = np.array(points)
    assert sorted(nsga2_survivors(F, 4).tolist()) == [0, 1, 2, 4]
    # a failed trial never enters the population, but it is told (no longer outstanding)
    (s,) = opt.ask(1)
    opt.tell([Observation(5, s.genome, None, status="failed")])
    assert [r["trial_id"] for r in opt.population] == [0, 1, 2, 4] and opt.outstanding == [] and opt.n_told == 6


def test_tell_of_an_unknown_suggestion_fails_with_the_fix():
    opt = SteadyStateNSGA2(SPACE, 2, {"population_size": 4}, seed=0)
    opt.ask(1)
    with pytest.raises(ValueError, match="not among the 1 outstanding suggestions; tell each result"):
        opt.tell([Observation(0, [0.123, 0.456], (1.0, 1.0))])


def test_same_seed_same_search_and_a_restored_state_continues_exactly():
    a = SteadyStateNSGA2(SPACE, 2, {"population_size": 6}, seed=4)
    b = SteadyStateNSGA2(SPACE, 2, {"population_size": 6}, seed=4)
    assert drive(a, 40) == drive(b, 40)
    c = SteadyStateNSGA2(SPACE, 2, {"population_size": 6}, seed=99)
    c.load_state_dict(a.state_dict())
    assert drive(a, 30, start=40) == drive(c, 30, start=40)
    assert a.state_dict() == c.state_dict()


def test_children_avoid_duplicates_of_the_population_and_of_trials_in_flight():
    from nasbench.space import Integer

    tiny = SearchSpace([Integer("a", 0, 3), Integer("b", 0, 3)])  # 16 configurations
    opt = SteadyStateNSGA2(tiny, 2, {"population_size": 4}, seed=2)
    seen = []
    for i, s in enumerate(opt.ask(4)):
        opt.tell([Observation(i, s.genome, (float(s.genome[0]), float(s.genome[1])))])
        seen.append(tuple(s.genome))
    children = opt.ask(4)  # in flight together
    keys = [tuple(c.genome) for c in children]
    population = {tuple(r["genome"]) for r in opt.population}
    assert len(set(keys)) == len(keys) and not set(keys) & population


def test_async_study_beats_random_on_zdt1(tmp_path):
    """A real optimiser: on ZDT1 it ends well above random search with the same budget."""
    hv = {}
    for name in ("nsga2_async", "random"):
        options = {"config": {"population_size": 10}} if name == "nsga2_async" else {}
        study = Study.create(tmp_path / name, ZDT1(n_var=5), optimizer=name, optimizer_options=options, seed=3)
        study.optimize(300, show_progress=False)
        hv[name] = study.hypervolume()
    assert hv["nsga2_async"] > hv["random"] + 0.1, hv


def test_the_evolution_settings_reach_the_steady_state_variant():
    # never mutated, no crossover, duplicates allowed: every child is a copy of a parent
    opt = SteadyStateNSGA2(SPACE, 2, {"population_size": 6, "crossover_prob": 0.0, "individual_mutation_prob": 0.0,
                                      "avoid_duplicates": False}, seed=4)
    asked = drive(opt, 40)
    bred = [(g, parents) for g, parents, _ in asked if parents]
    all_asked = [g for g, _, _ in asked]
    assert all(all_asked[parents[0]] == g or all_asked[parents[1]] == g for g, parents in bred)
    # mutated: children differ from both parents
    opt = SteadyStateNSGA2(SPACE, 2, {"population_size": 6, "crossover_prob": 0.0, "individual_mutation_prob": 1.0,
                                      "mutation_prob": 1.0}, seed=4)
    asked = drive(opt, 40)
    all_asked = [g for g, _, _ in asked]
    assert all(all_asked[p[0]] != g for g, p, _ in asked if p)


def test_crowding_kept_between_asks_breeds_the_same_children_as_computed_afresh():
    # the population's crowding is computed once per change of the population, not per ask:
    # a twin that recomputes it before every ask must breed the same children
    problem = ZDT1(n_var=6)
    kept, fresh = (SteadyStateNSGA2(problem.space, 2, {"population_size": 12}, seed=3) for _ in range(2))
    for round_ in range(30):
        fresh._crowded_members = ()  # forget: recompute on this ask
        n = 1 + round_ % 4  # several asks from one population, as when trials finish together
        a, b = kept.ask(n), fresh.ask(n)
        assert [s.genome for s in a] == [s.genome for s in b], round_
        for opt, suggestions in ((kept, a), (fresh, b)):
            opt.tell([Observation(100 * round_ + i, s.genome, tuple(problem.evaluate(np.array(s.genome, dtype=float))),
                                  s.generation, s.parents) for i, s in enumerate(suggestions)])
    assert kept.n_told == fresh.n_told > 12  # it bred: the population was full

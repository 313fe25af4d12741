from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from deap import tools

from nasbench import selection as sel
from nasbench._deap import make_individual
from nasbench.hypervolume import box_volumes, hypervolume_contributions


def population(F) -> list:
    F = np.asarray(F, dtype=float)
    return [make_individual([i], f, n_objectives=F.shape[1]) for i, f in enumerate(F)]


def ids(inds) -> list[int]:
    return [ind[0] for ind in inds]


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("nd", ["standard", "log"])
@pytest.mark.parametrize("seed", range(4))
def test_nsga2_survivors_equal_deaps_selnsga2(m, nd, seed):
    rng = np.random.default_rng(seed)
    n = 300
    # a mix of many fronts: a noisy linear front plus a cloud
    F = np.vstack([rng.random((n // 2, m)), rng.random((n // 2, m)) * 0.2 + rng.random((n // 2, 1))])
    for k in (1, 37, n // 2, n - 1, n):
        pop = population(F)
        assert_same_survivors(F, ids(sel.sel_nsga2(pop, k)), ids(tools.selNSGA2(pop, k, nd=nd)))


def assert_same_survivors(F, ours, theirs):
    """Identical survivors, except that among individuals tied in (front, crowding
    distance) at the cut either may survive: DEAP breaks those ties by its sort's
    internal order, nasbench by input order."""
    ranks, crowd = sel._rank_and_crowding(F)
    key = {i: (int(ranks[i]), -float(crowd[i])) for i in range(len(F))}
    assert len(ours) == len(theirs)
    assert sorted(key[i] for i in ours) == sorted(key[i] for i in theirs)
    cut = max(key[i] for i in theirs)
    assert sorted(i for i in ours if key[i] != cut) == sorted(i for i in theirs if key[i] != cut)


def test_nsga2_survivors_equal_deaps_exactly_without_ties():
    rng = np.random.default_rng(11)
    for m in (2, 3):
        F = rng.random((2000, m))
        pop = population(F)
        assert sorted(ids(sel.sel_nsga2(pop, 1000))) == sorted(ids(tools.selNSGA2(pop, 1000, nd="log")))


def test_pareto_ranks_equal_deaps_fronts():
    F = np.random.default_rng(1).random((200, 3))
    pop = population(F)
    fronts = tools.sortNondominated(pop, len(pop))
    ranks = sel.pareto_ranks(F)
    for r, front in enumerate(fronts):
        assert sorted(ids(front)) == sorted(np.flatnonzero(ranks == r).tolist())


def test_crowding_distance_equals_deaps():
    F = np.random.default_rng(2).random((50, 3))
    pop = population(F)
    tools.emo.assignCrowdingDist(pop)
    assert np.allclose(sel.crowding_distance(F), [ind.fitness.crowding_dist for ind in pop])


def test_crowding_distance_by_hand():
    F = np.array([[0.0, 4.0], [1.0, 2.0], [3.0, 1.0], [4.0, 0.0]])
    d = sel.crowding_distance(F)
    assert np.isinf(d[0]) and np.isinf(d[3])
    # point 1: (3-0)/(2*4) + (4-1)/(2*4) = 0.75; point 2: (4-1)/8 + (2-0)/8 = 0.625
    assert d[1] == pytest.approx(0.75) and d[2] == pytest.approx(0.625)


def test_survival_crowding_is_taken_within_each_front_of_the_pool_before_the_cut():
    # front 0: (0, 0); front 1: four points, of which k=4 keeps the ends and the one of
    # the two middles with the larger crowding, (2, 4)
    F = np.array([[0.0, 0.0], [1.0, 7.0], [2.0, 4.0], [5.0, 2.0], [6.0, 1.0]])
    chosen, crowding = sel.nsga2_survival(F, 4)
    assert chosen.tolist() == sel.nsga2_survivors(F, 4).tolist() and sorted(chosen) == [0, 1, 2, 4]
    got = dict(zip(chosen.tolist(), crowding))
    # (2, 4) within the whole front 1: (5-1)/(2*5) + (7-2)/(2*6); among the survivors it would be 1.0
    assert got[2] == pytest.approx(0.4 + 5 / 12)
    assert np.isinf([got[0], got[1], got[4]]).all()


def test_survival_crowding_of_whole_fronts_and_the_same_survivors_and_draws():
    rng = np.random.default_rng(21)
    F = np.vstack([rng.random((150, 2)), rng.random((150, 2)) * 0.2 + rng.random((150, 1))])
    ranks = sel.pareto_ranks(F)
    for k in (1, 31, 42, 150, 299, 300):  # 31, 42: one of a front of 11 dropped
        chosen, crowding = sel.nsga2_survival(F, k, np.random.default_rng(k))
        assert chosen.tolist() == sel.nsga2_survivors(F, k, np.random.default_rng(k)).tolist()
        for r in np.unique(ranks[chosen]):
            front = np.flatnonzero(ranks == r)
            expected = dict(zip(front.tolist(), sel.crowding_distance(F[front])))
            assert [expected[i] for i in chosen[ranks[chosen] == r]] == crowding[ranks[chosen] == r].tolist()


def test_survival_bad_k():
    with pytest.raises(ValueError, match="k must be in"):
        sel.nsga2_survivors(np.zeros((3, 2)), 4)


def test_size_tournament_with_whole_population_picks_best_performer():
    F = np.array([[0.5, 10.0], [0.1, 1000.0], [0.9, 1.0]])  # (error, size)
    rng = np.random.default_rng(0)
    chosen = sel.sel_size_tournament(population(F), 50, rng, tournsize=3, size_objective=1)
    assert set(ids(chosen)) == {1}


@pytest.mark.parametrize("weighting, expected", [
    ("rank", np.array([1, 3, 2]) / 6),        # smallest size gets the largest weight (n), largest 1
    ("inverse", np.array([1 / 100, 1 / 1, 1 / 10]) / (1 / 100 + 1 + 1 / 10)),
])
def test_size_tournament_group_favours_small_models(weighting, expected):
    F = np.array([[0.0, 100.0], [0.0, 1.0], [0.0, 10.0]])
    rng = np.random.default_rng(1)
    n = 30000
    counts = Counter(ids(sel.sel_size_tournament(population(F), n, rng, tournsize=1, size_objective=1,
                                                 weighting=weighting)))
    freq = np.array([counts[i] / n for i in range(3)])
    assert np.allclose(freq, expected, atol=0.01)


def test_hypervolume_proportional_uses_each_points_own_box():
    F = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [5.0, 0.5]])
    ref = [4.0, 4.0]
    w = box_volumes(F, ref)
    assert w.tolist() == [3.0, 4.0, 3.0, 0.0]
    rng = np.random.default_rng(2)
    n = 40000
    counts = Counter(ids(sel.sel_hypervolume_proportional(population(F), n, rng, reference_point=ref)))
    assert np.allclose([counts[i] / n for i in range(4)], w / w.sum(), atol=0.01)
    contrib = hypervolume_contributions(F, ref)
    counts = Counter(ids(sel.sel_hypervolume_proportional(population(F), n, rng, reference_point=ref,
                                                          contribution=True)))
    assert np.allclose([counts[i] / n for i in range(4)], contrib / contrib.sum(), atol=0.01)


def test_hypervolume_proportional_is_uniform_when_nothing_is_inside_the_box():
    F = np.array([[5.0, 5.0], [6.0, 6.0]])
    counts = Counter(ids(sel.sel_hypervolume_proportional(population(F), 10000, np.random.default_rng(3),
                                                          reference_point=[1.0, 1.0])))
    assert abs(counts[0] / 10000 - 0.5) < 0.03


def test_alternating_schedule():
    # individual 0 is tiny and accurate in a 1-tournament sense; individual 1 owns all hypervolume
    F = np.array([[0.9, 1.0], [0.1, 50.0], [0.95, 100.0]])
    ref = [1.0, 60.0]
    rng = np.random.default_rng(4)
    for generation in range(7):
        chosen = ids(sel.sel_alternating(population(F), 200, rng, generation=generation, reference_point=ref,
                                         every=3, tournsize=1, size_objective=1))
        if generation % 3 == 0:
            assert set(chosen) == {0, 1, 2}            # size-weighted draw over everyone
            assert Counter(chosen)[0] > Counter(chosen)[2]
        else:
            boxes = box_volumes(F, ref)
            assert set(chosen) == set(np.flatnonzero(boxes > 0).tolist())


def test_tournament_with_pressure():
    F = np.array([[3.0], [1.0], [2.0]])
    rng = np.random.default_rng(5)
    n = 30000
    counts = Counter(ids(sel.sel_tournament_pressure(population(F), n, rng, tournsize=3, p=0.6)))
    # best wins with p, second with p(1-p), the last takes the rest
    assert np.allclose([counts[1] / n, counts[2] / n, counts[0] / n], [0.6, 0.24, 0.16], atol=0.01)
    with pytest.raises(ValueError, match="selection pressure"):
        sel.sel_tournament_pressure(population(F), 1, rng, p=0.0)


def test_fitness_proportional_for_a_minimised_objective():
    F = np.array([[1.0], [3.0], [2.0]])  # fitness = worst - value = 2, 0, 1
    rng = np.random.default_rng(6)
    n = 30000
    counts = Counter(ids(sel.sel_fitness_proportional(population(F), n, rng)))
    assert np.allclose([counts[i] / n for i in range(3)], [2 / 3, 0, 1 / 3], atol=0.01)


def test_seed_003_tournament_is_deaps_and_deterministic():
    F = np.random.default_rng(7).random((10, 1))
    a = ids(sel.sel_tournament(population(F), 20, np.random.default_rng(8), tournsize=3))
    b = ids(sel.sel_tournament(population(F), 20, np.random.default_rng(8), tournsize=3))
    assert a == b
    # DEAP draws the 3 aspirants with replacement: the best wins with 1 - 0.9^3, the worst with 0.1^3
    n = 20000
    counts = Counter(ids(sel.sel_tournament(population(F), n, np.random.default_rng(9), tournsize=3)))
    assert abs(counts[int(np.argmin(F[:, 0]))] / n - (1 - 0.9 ** 3)) < 0.01
    assert abs(counts[int(np.argmax(F[:, 0]))] / n - 0.1 ** 3) < 0.002


def test_crowded_tournament_dominance_then_crowding():
    F = np.array([[0.0, 0.0], [1.0, 1.0]])
    chosen = ids(sel.sel_crowded_tournament(population(F), 2000, np.random.default_rng(10)))
    assert set(chosen) == {0}  # pairs come from permutations, and 0 dominates 1
    # a front of four: the middle two have finite crowding, the ends infinite; a middle
    # wins only against the other middle, and that pair is drawn in 1 of 6 tournaments
    F = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    chosen = Counter(ids(sel.sel_crowded_tournament(population(F), 6000, np.random.default_rng(11))))
    assert abs((chosen[1] + chosen[2]) / 6000 - 1 / 6) < 0.02
    assert abs(chosen[0] / 6000 - 5 / 12) < 0.03  # the ends tie with each other: a coin flip
    # everyone enters about equally many tournaments
    groups = sel._permutation_groups(10, 50, 2, np.random.default_rng(0))
    assert np.bincount(groups.ravel(), minlength=10).tolist() == [10] * 10


def test_crowded_tournament_compares_the_crowding_survival_gave():
    # one front: recomputed, the ends would be infinite; given, the larger index always wins
    F = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    crowding = [0.1, 0.2, 0.3, 0.4]
    chosen = Counter(ids(sel.sel_crowded_tournament(population(F), 400, np.random.default_rng(12),
                                                    crowding=crowding)))
    # 800 places from 200 permutations of 4: each enters exactly 200 tournaments
    assert chosen[3] == 200 and chosen[0] == 0
    with pytest.raises(ValueError, match="crowding has 3 values for 4 individuals"):
        sel.sel_crowded_tournament(population(F), 4, np.random.default_rng(0), crowding=crowding[:3])


def test_registry_reads_the_survival_crowding_when_every_parent_has_one():
    F = np.random.default_rng(13).random((20, 2))
    crowding = np.random.default_rng(14).random(20)
    select = sel.PARENT_SELECTIONS["crowded_tournament"]

    def parents(with_crowding):
        pop = population(F)
        for ind, c in zip(pop, crowding):
            if with_crowding(ind[0]):
                ind.fitness.crowding_dist = float(c)
        return pop

    got = ids(select(parents(lambda i: True), 30, np.random.default_rng(5), CONFIG, 3))
    assert got == ids(sel.sel_crowded_tournament(population(F), 30, np.random.default_rng(5), crowding=crowding))
    assert got != ids(sel.sel_crowded_tournament(population(F), 30, np.random.default_rng(5)))
    # one parent without it (an immigrant, a state saved before): recomputed for all
    got = ids(select(parents(lambda i: i != 7), 30, np.random.default_rng(5), CONFIG, 3))
    assert got == ids(sel.sel_crowded_tournament(population(F), 30, np.random.default_rng(5)))


CONFIG = SimpleNamespace(tournament_size=2, selection_pressure=0.6, size_objective=1, performance_objective=0,
                         size_weighting="inverse", reference_point=(1.1, 1.1), hypervolume_contribution=True,
                         alternate_every=2)


def test_parent_selection_registry_maps_the_config_onto_each_selection():
    """PARENT_SELECTIONS[name](individuals, k, rng, config, generation) is the named
    selection with the config's settings: the same draws from the same generator."""
    c = CONFIG
    hv = dict(reference_point=c.reference_point, contribution=True)
    size = dict(tournsize=2, size_objective=1, performance_objective=0, weighting="inverse")
    expected = {
        "crowded_tournament": lambda pop, rng, gen: sel.sel_crowded_tournament(pop, 30, rng, tournsize=2),
        "size_tournament": lambda pop, rng, gen: sel.sel_size_tournament(pop, 30, rng, **size),
        "hypervolume": lambda pop, rng, gen: sel.sel_hypervolume_proportional(pop, 30, rng, **hv),
        "alternating": lambda pop, rng, gen: (sel.sel_size_tournament(pop, 30, rng, **size) if gen % 2 == 0
                                              else sel.sel_hypervolume_proportional(pop, 30, rng, **hv)),
        "tournament": lambda pop, rng, gen: sel.sel_tournament(pop, 30, rng, tournsize=2),
        "tournament_pressure": lambda pop, rng, gen: sel.sel_tournament_pressure(pop, 30, rng, tournsize=2, p=0.6),
        "fitness_proportional": lambda pop, rng, gen: sel.sel_fitness_proportional(pop, 30, rng, objective=0),
        "random": lambda pop, rng, gen: [pop[i] for i in rng.integers(len(pop), size=30)],
    }
    assert list(sel.PARENT_SELECTIONS) == list(expected)
    F = np.random.default_rng(12).random((20, 2))
    for name, select in sel.PARENT_SELECTIONS.items():
        for generation in (3, 4):
            got = ids(select(population(F), 30, np.random.default_rng(generation), c, generation))
            assert got == ids(expected[name](population(F), np.random.default_rng(generation), generation)), name
    outcomes = {name: tuple(ids(s(population(F), 30, np.random.default_rng(0), c, 3)))
                for name, s in sel.PARENT_SELECTIONS.items() if name != "alternating"}
    assert len(set(outcomes.values())) == len(outcomes) == 7  # seven different draws (alternating: see above)


def test_parent_selections_name_the_settings_they_need():
    needs = {name: s.needs for name, s in sel.PARENT_SELECTIONS.items() if s.needs}
    assert needs == {"size_tournament": ("size_objective",), "hypervolume": ("reference_point",),
                     "alternating": ("size_objective", "reference_point")}


def test_alternating_needs_a_positive_period():
    with pytest.raises(ValueError, match=r"^every must be an integer >= 1, got 0$"):
        sel.sel_alternating(population([[0.0, 1.0], [1.0, 0.0]]), 2, np.random.default_rng(0), generation=3,
                            reference_point=[2.0, 2.0], every=0)


def test_selection_code_never_touches_the_global_random_streams():
    import inspect
    import re
    source = inspect.getsource(sel)
    assert not re.search(r"^\s*import random|np\.random\.(?!Generator|default_rng)\w+\(", source, re.M)


# --- youngest (age-based replacement, Real et al. 2019) ---------------------------------------------

def test_youngest_keeps_the_newest_whatever_their_fitness():
    F = np.array([[0.1], [0.9], [0.5], [0.2], [0.8]])
    pop = population(F)
    assert ids(sel.sel_youngest(pop, 3)) == [2, 3, 4]  # input order is birth order, oldest first
    births = [40, 10, 30, 20, 50]
    assert ids(sel.sel_youngest(pop, 2, births=births)) == [0, 4]  # returned oldest first
    assert ids(sel.sel_youngest(pop, 3, births=[1, 1, 0, 1, 0])) == [0, 1, 3]  # equal birth: the later is younger
    assert sel.sel_youngest(pop, 0) == []


def test_youngest_bad_arguments():
    pop = population([[0.0], [1.0]])
    with pytest.raises(ValueError, match=r"^k must be in \[0, 2\], got 3$"):
        sel.sel_youngest(pop, 3)
    with pytest.raises(ValueError, match=r"^births has 1 entries for 2 individuals; give one per individual$"):
        sel.sel_youngest(pop, 1, births=[0])

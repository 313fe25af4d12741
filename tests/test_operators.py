from __future__ import annotations

import math
import random

import numpy as np
import pytest

from nasbench import operators as ops
from nasbench._deap import deap_random, make_individual
from nasbench.space import Boolean, Categorical, Float, Integer, SearchSpace, preset, preset_names


def _ks_statistic(sample: np.ndarray, cdf) -> float:
    x = np.sort(sample)
    n = len(x)
    f = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


@pytest.mark.parametrize("eta", [2.0, 15.0])
def test_sbx_children_follow_debs_spread_distribution(eta):
    """Deb & Agrawal (1995): the spread factor beta = |c2 - c1| / |p2 - p1| has density
    0.5 (eta+1) beta^eta on [0, 1] and 0.5 (eta+1) / beta^(eta+2) above (far from bounds)."""
    space = SearchSpace((Float("x", -1e6, 1e6),))
    rng = np.random.default_rng(123)
    betas, sums = [], []
    while len(betas) < 4000:
        a, b = [0.0], [1.0]
        ops.cx_sbx(a, b, space, rng, eta=eta)
        if a[0] != 0.0:  # DEAP crosses each gene with probability 0.5
            betas.append(abs(b[0] - a[0]))
            sums.append(a[0] + b[0])
    betas = np.array(betas)

    def cdf(beta):
        return np.where(beta <= 1, 0.5 * beta ** (eta + 1), 1 - 0.5 * beta ** -(eta + 1))

    d = _ks_statistic(betas, cdf)
    assert d < 1.95 / np.sqrt(len(betas))  # KS test at alpha = 0.001
    assert np.allclose(sums, 1.0, atol=1e-9)  # SBX keeps the parents' mean
    # and the law is really eta-dependent: the other eta's CDF is rejected
    other = 15.0 if eta == 2.0 else 2.0
    assert _ks_statistic(betas, lambda b: np.where(b <= 1, 0.5 * b ** (other + 1), 1 - 0.5 * b ** -(other + 1))) > 0.1


def test_sbx_on_integers_keeps_integers_and_bounds():
    space = SearchSpace((Integer("n", 1, 5), Integer("m", 16, 128, log=True)))
    rng = np.random.default_rng(0)
    for _ in range(2000):
        a, b = [1, 16], [5, 128]
        ops.cx_sbx(a, b, space, rng)
        for g in a + b:
            assert type(g) is int
        assert 1 <= a[0] <= 5 and 16 <= a[1] <= 128


def test_tree_mutation_probabilities_equal_the_formula():
    tree = preset("mlp")["activation"].tree
    # hops from relu: leakyrelu 2, elu 4, gelu 4, tanh 5, sigmoid 5; base 2: weight 2^-log2(h) = 1/h
    p = ops.tree_mutation_probabilities(tree, "relu", base=2.0)
    w = {"leakyrelu": 1 / 2, "elu": 1 / 4, "gelu": 1 / 4, "tanh": 1 / 5, "sigmoid": 1 / 5}
    total = sum(w.values())
    assert p == pytest.approx({k: v / total for k, v in w.items()}, abs=1e-12)
    # base 4: weight 2^-log4(h) = h^-1/2, a flatter (more explorative) law
    p4 = ops.tree_mutation_probabilities(tree, "relu", base=4.0)
    w4 = {k: h ** -0.5 for k, h in {"leakyrelu": 2, "elu": 4, "gelu": 4, "tanh": 5, "sigmoid": 5}.items()}
    assert p4 == pytest.approx({k: v / sum(w4.values()) for k, v in w4.items()}, abs=1e-12)
    assert max(p4.values()) < max(p.values())
    with pytest.raises(ValueError, match="base must be > 1"):
        ops.tree_mutation_probabilities(tree, "relu", base=1.0)


def test_tree_mutation_samples_the_law():
    space = preset("mlp")
    idx = space.index("activation")
    rng = np.random.default_rng(5)
    counts: dict[str, int] = {}
    n = 20000
    for _ in range(n):
        ind = space.to_genome(space.default())  # activation relu
        ops.mut_tree_categorical(ind, space, rng, indices=[idx])
        counts[ind[idx]] = counts.get(ind[idx], 0) + 1
    law = ops.tree_mutation_probabilities(space["activation"].tree, "relu", base=2.0)
    assert "relu" not in counts
    for leaf, prob in law.items():
        assert abs(counts[leaf] / n - prob) < 4 * np.sqrt(prob * (1 - prob) / n)


def test_perturb_moves_integers_by_at_most_the_seed_003_width():
    space = preset("mlp")
    rng = np.random.default_rng(1)
    steps_layers, steps_neurons = set(), set()
    for _ in range(3000):
        ind = [3, 70, "relu", 0.2]
        ops.mut_perturb(ind, space, rng, indices=[0, 1])
        steps_layers.add(ind[0] - 3)
        steps_neurons.add(ind[1] - 70)
    assert steps_layers == {-2, -1, 0, 1, 2}
    assert steps_neurons == set(range(-16, 17))


def test_gaussian_mutation_uses_the_parameter_sigma():
    space = preset("mlp")
    rng = np.random.default_rng(2)
    idx = space.index("dropout")
    deltas = []
    for _ in range(5000):
        ind = [2, 64, "relu", 0.25]
        ops.mut_gaussian(ind, space, rng, indices=[idx])
        deltas.append(ind[idx] - 0.25)
    deltas = np.array(deltas)
    inside = np.abs(deltas) < 0.25  # clipping at 0 and 0.5 truncates the tails
    a = 0.25 / 0.15  # N(0, 0.15) truncated at +-a sd has sd 0.15 * sqrt(1 - 2 a phi(a) / (2 Phi(a) - 1))
    phi, mass = np.exp(-a * a / 2) / np.sqrt(2 * np.pi), math.erf(a / np.sqrt(2))
    assert abs(np.std(deltas[inside]) - 0.15 * np.sqrt(1 - 2 * a * phi / mass)) < 0.004
    assert np.all((deltas >= -0.25) & (deltas <= 0.25))


def test_gaussian_recombination_centres_on_the_parents():
    space = SearchSpace((Float("x", 0.0, 10.0),))
    rng = np.random.default_rng(3)
    kids = []
    for _ in range(5000):
        a, b = [4.0], [6.0]
        ops.cx_gaussian(a, b, space, rng)
        kids += [a[0], b[0]]
    assert abs(np.mean(kids) - 5.0) < 0.03 and abs(np.std(kids) - 1.0) < 0.03


def test_two_point_crossover_moves_whole_genes():
    rng = np.random.default_rng(4)
    for _ in range(200):
        a, b = list(range(6)), list(range(10, 16))
        ops.cx_two_point(a, b, rng)
        for i in range(6):
            assert {a[i], b[i]} == {i, 10 + i}
        swapped = [i for i in range(6) if a[i] == 10 + i]
        # DEAP swaps one non-empty segment [p1, p2) with 1 <= p1 < p2 <= 6: never gene 0
        assert swapped and swapped[0] >= 1
        assert swapped == list(range(swapped[0], swapped[-1] + 1))


def test_flip_and_resampling_keep_types():
    space = SearchSpace((Boolean("b"), Categorical("c", ("x", "y", "z"), prior=(0.0, 0.0, 1.0))))
    rng = np.random.default_rng(0)
    ind = [False, "x"]
    ops.mut_flip(ind, space, rng, indices=[0])
    assert ind[0] is True
    ops.mut_prior_resample(ind, space, rng, indices=[1])
    assert ind[1] == "z"


@pytest.mark.parametrize("name", preset_names())
def test_bounds_and_types_hold_over_10000_variations(name):
    space = preset(name)
    rng = np.random.default_rng(hash(name) % 2**32)
    pop = [space.sample_genome(rng) for _ in range(20)]
    for step in range(10000):
        i, j = rng.integers(len(pop), size=2)
        a, b = list(pop[i]), list(pop[j])
        if step % 3 == 0:
            ops.cx_two_point(a, b, rng)
        else:
            ops.crossover_by_parameter(a, b, space, rng)
        ops.mutate_by_parameter(a, space, rng, indpb=0.5)
        ops.mutate_by_parameter(b, space, rng)
        for child in (a, b):
            for p, gene in zip(space.parameters, child):
                assert p.validate(gene) == gene
                assert type(gene) is type(p.default), (p.name, gene)
            space.validate(space.to_config(child))
        pop[int(rng.integers(len(pop)))] = a


def test_operators_are_deterministic_given_the_generator():
    space = preset("evo_cnn")

    def run(seed):
        rng = np.random.default_rng(seed)
        a, b = space.sample_genome(rng), space.sample_genome(rng)
        ops.crossover_by_parameter(a, b, space, rng)
        ops.mutate_by_parameter(a, space, rng, indpb=0.5)
        return a, b

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_deap_random_leaves_global_random_undisturbed():
    def two_point(seed):
        a, b = list(range(8)), list(range(10, 18))
        with deap_random(np.random.default_rng(seed)):
            from deap import tools
            tools.cxTwoPoint(a, b)
        return a

    random.seed(99)
    expected = [random.random() for _ in range(3)]
    random.seed(99)
    first = random.random()
    inside = two_point(0)
    rest = [random.random() for _ in range(2)]
    assert [first, *rest] == expected
    assert two_point(0) == inside and inside != list(range(8))


def test_toolbox_registers_nasbench_operators():
    space = preset("mlp")
    rng = np.random.default_rng(0)
    tb = ops.make_toolbox(space, rng)
    a = make_individual(space.sample_genome(rng), n_objectives=1)
    b = make_individual(space.sample_genome(rng), n_objectives=1)
    c1, c2 = tb.mate(a, b)
    (m,) = tb.mutate(c1)
    assert m is c1 and type(m).__name__ == "Individual1"
    space.validate(space.to_config(m))


def test_the_resampling_pair_operators_say_what_they_do():
    assert not hasattr(ops, "cx_uniform_resample") and not hasattr(ops, "cx_prior_resample")
    assert "resample_uniform_pair" in ops.__all__ and "resample_prior_pair" in ops.__all__
    space = SearchSpace((Integer("n", 1, 100, crossover="uniform"), Boolean("b", prior=1.0, crossover="prior")))
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(2000):
        a, b = [50, False], [50, False]
        ops.crossover_by_parameter(a, b, space, rng)
        seen.update((a[0], b[0]))
        assert a[1] is True and b[1] is True  # drawn from the prior, whatever the parents were
    assert seen == set(range(1, 101))  # drawn from the domain, not from the parents


def test_resample_pair_draws_the_same_stream_as_before_the_rename():
    space = preset("evo_cnn")
    idx = [space.index("n_conv_layers"), space.index("n_fc_layers")]
    rng, ref = np.random.default_rng(3), np.random.default_rng(3)
    a, b = space.to_genome(space.default()), space.to_genome(space.default())
    ops.resample_uniform_pair(a, b, space, rng, indices=idx)
    expected = []
    for i in idx:  # gene by gene, first child then second
        expected += [space.parameters[i].sample_uniform(ref), space.parameters[i].sample_uniform(ref)]
    assert [a[idx[0]], b[idx[0]], a[idx[1]], b[idx[1]]] == expected


def test_tree_mutation_reads_the_parameter_tree_base():
    tree = preset("mlp")["activation"].tree
    choices = preset("mlp")["activation"].choices
    wide = SearchSpace((Categorical("act", choices, tree=tree, mutation="tree", scale=4.0),))
    plain = SearchSpace((Categorical("act", choices, tree=tree),))
    assert wide["act"].tree_base == 4.0 and plain["act"].tree_base == 2.0
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(300):
        x, y = ["relu"], ["relu"]
        ops.mut_tree_categorical(x, wide, r1)
        ops.mut_tree_categorical(y, plain, r2, base=4.0)
        assert x == y


def test_gaussian_and_perturb_read_their_own_scale():
    space = SearchSpace((Float("x", 0.0, 100.0, mutation="perturb", scale=1.0),
                         Float("y", 0.0, 100.0, mutation="gaussian", scale=0.5)))
    rng = np.random.default_rng(0)
    dx, dy = [], []
    for _ in range(3000):
        ind = [50.0, 50.0]
        ops.mut_perturb(ind, space, rng, indices=[0])
        ops.mut_gaussian(ind, space, rng, indices=[1])
        dx.append(ind[0] - 50.0)
        dy.append(ind[1] - 50.0)
    assert max(np.abs(dx)) <= 1.0 and max(np.abs(dx)) > 0.99  # Unif(-1, 1)
    assert abs(np.std(dy) - 0.5) < 0.02  # N(0, 0.5)


def test_log_integer_variation_reaches_both_end_values():
    space = SearchSpace((Integer("n", 16, 128, log=True, mutation="polynomial"),))
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(3000):
        a, b = [16], [128]
        ops.cx_sbx(a, b, space, rng)
        ops.mut_polynomial(a, space, rng)
        seen.update((a[0], b[0]))
    assert min(seen) == 16 and max(seen) == 128


# --- the array operators against DEAP's, by distribution -----------------------------------
def _same_distribution(a, b) -> bool:
    from scipy.stats import ks_2samp

    return ks_2samp(np.asarray(a, dtype=float), np.asarray(b, dtype=float)).pvalue > 1e-3


@pytest.mark.parametrize("eta, parents", [(15.0, (0.2, 0.7)), (2.0, (0.02, 0.9)), (15.0, (0.95, 0.999))])
def test_sbx_arrays_draw_deaps_children(eta, parents):
    """Both children of a pair, gene by gene, as DEAP's cxSimulatedBinaryBounded makes them
    (through ``cx_sbx``), near the bounds too: two-sample KS test at alpha = 0.001."""
    space = SearchSpace((Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)))
    n = 4000
    rng = np.random.default_rng(1)
    deap = []
    for _ in range(n):
        a, b = [parents[0], parents[1]], [parents[1], parents[0]]
        ops.cx_sbx(a, b, space, rng, eta=eta)
        deap.append(a + b)
    deap = np.array(deap)
    X1, X2 = np.tile([parents[0], parents[1]], (n, 1)), np.tile([parents[1], parents[0]], (n, 1))
    C1, C2 = ops.sbx_arrays(X1, X2, np.zeros(2), np.ones(2), np.random.default_rng(2), eta=eta)
    arrays = np.hstack([C1, C2])
    for j in range(4):
        assert _same_distribution(deap[:, j], arrays[:, j]), j
    assert np.all((arrays >= 0) & (arrays <= 1))
    untouched = np.mean(arrays[:, 0] == parents[0])
    assert abs(untouched - np.mean(deap[:, 0] == parents[0])) < 0.05  # each gene crosses with probability 0.5


def test_sbx_arrays_leave_unchosen_rows_and_equal_genes_alone():
    X1 = np.array([[0.1, 0.5], [0.3, 0.5]])
    X2 = np.array([[0.9, 0.5], [0.6, 0.5]])
    C1, C2 = ops.sbx_arrays(X1, X2, np.zeros(2), np.ones(2), np.random.default_rng(0), rows=np.array([False, True]))
    assert np.array_equal(C1[0], X1[0]) and np.array_equal(C2[0], X2[0])
    assert C1[1, 1] == 0.5 and C2[1, 1] == 0.5  # parents equal there: nothing to cross
    assert np.array_equal(X1, [[0.1, 0.5], [0.3, 0.5]])  # inputs untouched


@pytest.mark.parametrize("x", [0.03, 0.5, 0.98])
def test_polynomial_arrays_draw_deaps_mutants(x):
    space = SearchSpace((Float("x", 0.0, 1.0),))
    n = 20000  # enough to tell eta = 20 from eta = 22
    rng = np.random.default_rng(3)
    deap = []
    for _ in range(n):
        ind = [x]
        ops.mut_polynomial(ind, space, rng, eta=20.0, indpb=1.0)
        deap.append(ind[0])
    arrays = ops.polynomial_arrays(np.full((n, 1), x), np.zeros(1), np.ones(1), np.ones((n, 1), bool),
                                   np.random.default_rng(4), eta=20.0)[:, 0]
    assert _same_distribution(deap, arrays)
    assert arrays.min() >= 0 and arrays.max() <= 1


def test_gaussian_arrays_draw_deaps_mutants_and_only_the_chosen_genes_move():
    space = SearchSpace((Float("x", 0.0, 1.0),))
    n = 4000
    rng = np.random.default_rng(5)
    deap = []
    for _ in range(n):
        ind = [0.9]
        ops.mut_gaussian(ind, space, rng, indpb=1.0)
        deap.append(ind[0])
    sigma = np.array([space.parameters[0].gaussian_sigma])
    moved = ops.gaussian_arrays(np.full((n, 1), 0.9), sigma, np.ones((n, 1), bool), np.random.default_rng(6))
    assert _same_distribution(deap, np.clip(moved[:, 0], 0, 1))  # decoding clips, as mut_gaussian's does
    genes = np.zeros((n, 1), bool)
    assert np.all(ops.gaussian_arrays(np.full((n, 1), 0.9), sigma, genes, np.random.default_rng(6)) == 0.9)

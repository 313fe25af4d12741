from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from nasbench.hypervolume import hypervolume
from nasbench.objectives import ZDT1
from nasbench.optimizers.base import Observation
from nasbench.optimizers.bayesian import (_GP, BayesianOptimization, BOConfig, GenomeEncoder, _acquire, ehvi_2d,
                                         matern52_log_marginal_likelihood)
from nasbench.optimizers.random_search import RandomSearch
from nasbench.space import Boolean, Categorical, Condition, Float, Integer, SearchSpace, preset

FAST = {"n_candidates": 500, "n_local": 100}
SPHERE = SearchSpace(tuple(Float(f"x{i}", -2.0, 2.0) for i in range(4))
                     + (Categorical("c", choices=("a", "b", "c")),), name="sphere")
OFFSET = {"a": 1.0, "b": 0.0, "c": 2.0}


def sphere(genome) -> tuple[float]:
    """A 4-D sphere centred at 0.5 plus a categorical offset; minimum 0 at c='b'."""
    c = SPHERE.to_config(genome)
    return (sum((c[f"x{i}"] - 0.5) ** 2 for i in range(4)) + OFFSET[c["c"]],)


ZDT = ZDT1(n_var=3)


def zdt1(genome) -> tuple[float, float]:
    return tuple(float(v) for v in ZDT.evaluate(np.array(genome)))


def drive(opt, evaluate, n_trials, batch=4, start=0):
    """A bare ask/tell loop in batches; returns the genomes asked and their values."""
    genomes, values, trial = [], [], start
    while trial < start + n_trials:
        obs = []
        for s in opt.ask(min(batch, start + n_trials - trial)):
            v = evaluate(s.genome)
            genomes.append(s.genome)
            values.append(v)
            obs.append(Observation(trial, s.genome, v, s.generation))
            trial += 1
        opt.tell(obs)
    return genomes, np.array([(math.nan,) if v is None else v for v in values], dtype=float)


# --- pieces ------------------------------------------------------------------------------------
def test_encoding_is_unit_scaled_one_hot_and_neutral_when_inactive():
    space = SearchSpace((
        Categorical("opt", choices=("adam", "sgd")),
        Float("momentum", 0.0, 1.0, condition=Condition("opt", ("sgd",))),
        Categorical("act", choices=("relu", "tanh", "elu"), condition=Condition("opt", ("sgd",))),
        Integer("layers", 1, 3),
        Boolean("bn"),
        Float("lr", 1e-3, 1e-1, log=True),
    ))
    enc = GenomeEncoder(space)
    assert enc.dim == 2 + 1 + 3 + 1 + 1 + 1
    row = enc.encode(["sgd", 0.25, "tanh", 3, True, 1e-2])
    np.testing.assert_allclose(row, [0, 1, 0.25, 0, 1, 0, (3 - 0.5001) / (3.4999 - 0.5001), 1, 0.5])
    off = enc.encode(["adam", 0.9, "elu", 1, False, 1e-3])  # momentum and act inactive: neutral
    np.testing.assert_allclose(off, [1, 0, 0.5, 0, 0, 0, (1 - 0.5001) / 2.9998, 0, 0])


def test_acquisitions_take_their_textbook_values():
    mu, sd = np.array([0.0, 1.0]), np.array([1.0, 0.5])
    np.testing.assert_allclose(_acquire("ei", mu, sd, 0.0, 0.0, 2.0),
                               [1 / math.sqrt(2 * math.pi), -1 * 0.02275013 + 0.5 * 0.05399097], rtol=1e-6)
    np.testing.assert_allclose(_acquire("pi", mu, sd, 0.0, 0.0, 2.0), [0.5, 0.02275013], rtol=1e-6)
    np.testing.assert_allclose(_acquire("ucb", mu, sd, 0.0, 0.0, 2.0), [2.0, 0.0])


FRONT = np.array([[0.2, 0.8], [0.5, 0.4], [0.9, 0.1]])
REF = np.array([1.0, 1.0])


@pytest.mark.parametrize("y", [[0.3, 0.3], [0.1, 0.95], [0.6, 0.6], [0.95, 0.05], [1.2, 0.1], [-1.0, -1.0]])
def test_ehvi_of_a_certain_point_is_its_hypervolume_improvement(y):
    gain = hypervolume(np.vstack([FRONT, y]), REF) - hypervolume(FRONT, REF)
    got = ehvi_2d(np.array([y]), np.full((1, 2), 1e-12), FRONT, REF)
    assert got[0] == pytest.approx(gain, abs=1e-9)


def test_ehvi_matches_monte_carlo_and_ignores_points_beyond_the_reference():
    rng = np.random.default_rng(0)
    mu, sd = np.array([0.4, 0.5]), np.array([0.2, 0.3])
    draws = mu + sd * rng.standard_normal((20_000, 2))
    base = hypervolume(FRONT, REF)
    gains = np.array([hypervolume(np.vstack([FRONT, d]), REF) - base for d in draws])
    got = ehvi_2d(mu[None], sd[None], np.vstack([FRONT, [[1.5, 0.0]]]), REF)[0]
    assert got == pytest.approx(gains.mean(), abs=3 * gains.std() / math.sqrt(len(gains)))
    assert ehvi_2d(mu[None], sd[None], np.zeros((0, 2)), REF)[0] > got  # an empty front: more to gain


def _gp_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    return X, np.sin(X @ rng.normal(size=d) * 3) + 0.1 * rng.normal(size=n)


def _sklearn_gp(X, kernel=None):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = kernel or (ConstantKernel(1.0, (0.05, 20.0)) * Matern(np.full(X.shape[1], 0.5), (0.03, 30.0), nu=2.5)
                        + WhiteKernel(1e-4, (1e-6, 0.5)))
    return GaussianProcessRegressor(kernel, alpha=1e-8)


@pytest.mark.parametrize("n, d", [(1, 1), (12, 1), (40, 3), (150, 10)])
def test_the_hand_written_likelihood_and_gradient_equal_scikit_learns(n, d):
    X, y = _gp_data(n, d)
    gp = _sklearn_gp(X)
    rng = np.random.default_rng(1)
    for _ in range(3):  # scattered over the hyperparameter box, not just at the start
        theta = gp.kernel.theta + rng.normal(scale=1.0, size=gp.kernel.theta.shape)
        gp.kernel_ = gp.kernel.clone_with_theta(theta)
        gp.X_train_, gp.y_train_ = X, y
        expected, expected_grad = gp.log_marginal_likelihood(theta, eval_gradient=True)
        value, grad = matern52_log_marginal_likelihood(theta, X, y)
        assert value == pytest.approx(expected, rel=1e-10, abs=1e-10)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-8, atol=1e-8)


def test_the_gp_fit_lands_on_scikit_learns_own_hyperparameters():
    X, y = _gp_data(80, 4, seed=2)
    ours = _GP(X, y, seed=0, restarts=0)
    # scikit-learn's L-BFGS-B on its own likelihood of _GP's own kernel (so a kernel changed
    # there without the hand-written likelihood fails here)
    reference = _sklearn_gp(X, ours.gp.kernel).fit(X, ours.z)
    np.testing.assert_allclose(ours.gp.kernel_.theta, reference.kernel_.theta, atol=1e-5)
    assert ours.gp.log_marginal_likelihood_value_ == pytest.approx(reference.log_marginal_likelihood_value_, abs=1e-8)


def test_failed_and_unreported_trials_are_imputed_with_the_worst_value():
    opt = BayesianOptimization(SPHERE, 2, FAST)
    g = SPHERE.sample_genome(np.random.default_rng(0))
    opt.tell([Observation(0, g, (3.0, 0.0)), Observation(1, g, (1.0, 5.0)), Observation(2, g, None, status="failed"),
              Observation(3, g, None, status="pruned"), Observation(4, g, (2.0, 2.0), status="pruned"),
              Observation(5, g, (math.nan, 1.0))])
    np.testing.assert_array_equal(opt._training_data()[1], [[3, 0], [1, 5], [3, 5], [3, 5], [2, 2], [3, 5]])


# --- behaviour ---------------------------------------------------------------------------------
@pytest.mark.parametrize("acquisition", ["ei", "pi", "ucb"])
def test_bo_beats_random_search_on_a_sphere_with_a_categorical_offset(acquisition):
    seeds = range(5)
    bo = [drive(BayesianOptimization(SPHERE, 1, {"acquisition": acquisition, **FAST}, seed=s), sphere, 30)[1].min()
          for s in seeds]
    rs = [drive(RandomSearch(SPHERE, 1, seed=s), sphere, 30)[1].min() for s in seeds]
    assert mannwhitneyu(bo, rs, alternative="less").pvalue < 0.05
    assert np.median(bo) < 0.5 < np.median(rs)


@pytest.mark.parametrize("multi_objective", ["parego", "ehvi"])
def test_multi_objective_bo_beats_random_search_by_hypervolume_on_zdt1(multi_objective):
    seeds = range(5)
    bo = [hypervolume(drive(BayesianOptimization(ZDT.space, 2, {"multi_objective": multi_objective, **FAST},
                                                 seed=s), zdt1, 60)[1], ZDT.reference_point) for s in seeds]
    rs = [hypervolume(drive(RandomSearch(ZDT.space, 2, seed=s), zdt1, 60)[1], ZDT.reference_point) for s in seeds]
    assert mannwhitneyu(bo, rs, alternative="greater").pvalue < 0.05
    assert min(bo) > 0.7 > 0.4 > max(rs)  # the true front's hypervolume is 1.21 - 1/3 = 0.877


def test_first_points_are_random_then_the_model_takes_over():
    opt = BayesianOptimization(SPHERE, 1, FAST, seed=0)
    assert opt.n_initial == 10  # 2 x 5 parameters
    rng = np.random.default_rng(0)
    assert [s.genome for s in opt.ask(4)] == [SPHERE.sample_genome(rng) for _ in range(4)]
    assert BayesianOptimization(SearchSpace((Integer("n", 1, 9),)), 1).n_initial == 5


@pytest.mark.parametrize("batch", ["believer", "liar"])
def test_a_batch_is_distinct_unseen_and_deterministic(batch):
    space = SearchSpace((Integer("n", 1, 3), Categorical("c", choices=("a", "b", "c")), Boolean("b")))  # 18 points

    def value(g):
        return (float(g[0]) + {"a": 0, "b": 1, "c": 2}[g[1]] + g[2],)

    runs = []
    for _ in range(2):
        opt = BayesianOptimization(space, 1, {"n_initial": 5, "batch": batch, **FAST}, seed=4)
        seen, _ = drive(opt, value, 6, batch=6)
        runs.append([space.to_config(s.genome) for s in opt.ask(8)])
    keys = [json.dumps(c, sort_keys=True) for c in runs[0]]
    assert runs[0] == runs[1]
    assert len(set(keys)) == 8
    assert not set(keys) & {json.dumps(space.to_config(g), sort_keys=True) for g in seen}


def test_pending_points_are_not_asked_twice_and_tell_clears_them():
    opt = BayesianOptimization(SPHERE, 1, {"n_initial": 5, **FAST}, seed=1)
    drive(opt, sphere, 6)
    first, second = opt.ask(3), opt.ask(3)
    rows = {GenomeEncoder(SPHERE).encode(s.genome).tobytes() for s in first + second}
    assert len(rows) == 6 and len(opt.pending) == 6
    opt.tell([Observation(10 + i, s.genome, sphere(s.genome)) for i, s in enumerate(second)])
    assert opt.pending == [s.genome for s in first]


def _straight_and_resumed(config, space, evaluate, n_objectives, total, cut, batch=3):
    straight = BayesianOptimization(space, n_objectives, config, seed=7)
    want, _ = drive(straight, evaluate, total, batch=batch)
    first = BayesianOptimization(space, n_objectives, config, seed=7)
    head, _ = drive(first, evaluate, cut, batch=batch)
    fresh = BayesianOptimization(space, n_objectives, config, seed=123)
    fresh.load_state_dict(json.loads(json.dumps(first.state_dict())))
    tail, _ = drive(fresh, evaluate, total - cut, batch=batch, start=cut)
    return want, head + tail


@pytest.mark.parametrize("config, cut", [({"acquisition": "ei"}, 6), ({"acquisition": "ucb"}, 15),
                                         ({"acquisition": "pi", "batch": "liar"}, 12)])
def test_resume_through_json_continues_exactly_single_objective(config, cut):
    want, got = _straight_and_resumed({"n_initial": 8, **FAST, **config}, SPHERE, sphere, 1, 24, cut)
    assert got == want


@pytest.mark.parametrize("multi_objective", ["parego", "ehvi"])
def test_resume_through_json_continues_exactly_multi_objective(multi_objective):
    want, got = _straight_and_resumed({"multi_objective": multi_objective, "n_initial": 6, **FAST},
                                      ZDT.space, zdt1, 2, 21, 12)
    assert got == want


def test_resume_keeps_failed_trials_and_pending_points():
    def flaky(g):
        return None if g[0] > 1.0 else sphere(g)

    config = {"n_initial": 6, **FAST}
    a = BayesianOptimization(SPHERE, 1, config, seed=2)
    drive(a, flaky, 9)
    a.ask(2)  # pending when the state is saved
    b = BayesianOptimization(SPHERE, 1, config, seed=9)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert [s.genome for s in a.ask(3)] == [s.genome for s in b.ask(3)]
    assert any(o["values"] is None for o in b.observations)


@pytest.mark.parametrize("name", ["jahs_cnn", "evo_cnn"])
def test_200_suggestions_on_a_preset_are_valid_configurations(name):
    space = preset(name)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=GenomeEncoder(space).dim)
    encoder = GenomeEncoder(space)

    def value(g):
        return (float(encoder.encode(g) @ weights),)

    opt = BayesianOptimization(space, 1, {"n_initial": 20, "n_candidates": 200, "n_local": 50}, seed=0)
    genomes, _ = drive(opt, value, 200, batch=25)
    for g in genomes:
        assert len(g) == len(space)
        assert space.validate(space.to_config(g)) == space.to_config(g)


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("config, message", [
    ({"acquisition": "lcb"}, r"acquisition must be one of \('ei', 'pi', 'ucb'\), got 'lcb'"),
    ({"multi_objective": "nsga"}, r"multi_objective must be one of \('parego', 'ehvi'\)"),
    ({"n_initial": "10"}, r"n_initial must be an integer >= 1 or None .*got '10' \(str\); pass an int"),
    ({"n_initial": 0}, r"n_initial must be an integer >= 1"),
    ({"n_candidates": 2.5}, r"n_candidates must be an integer >= 1"),
    ({"n_local": -1}, r"n_local must be an integer >= 0"),
    ({"xi": -0.1}, r"xi must be a number >= 0"),
    ({"kappa": "2"}, r"kappa must be a number >= 0, got '2' \(str\); pass a float"),
    ({"rho": math.nan}, r"rho must be a number >= 0"),
    ({"batch": "kriging"}, r"batch must be one of \('believer', 'liar'\)"),
    ({"gp_restarts": True}, r"gp_restarts must be an integer >= 0"),
    ({"multi_objective": "ehvi", "acquisition": "ucb"}, r"acquisition='ucb' has no meaning with multi_objective='ehvi'"),
    ({"reference_point": "1.1"}, r"reference_point must be a sequence of numbers"),
    ({"population_size": 5}, r"unknown BOConfig settings \['population_size'\]"),
])
def test_bad_settings_say_what_to_change(config, message):
    with pytest.raises(ValueError, match=message) as info:
        BayesianOptimization(ZDT.space, 2, config)
    assert "\n" not in str(info.value)


def test_bad_combinations_and_calls_say_what_to_change():
    with pytest.raises(ValueError, match=r"multi_objective='ehvi' is the closed form for 2 objectives, got 1"):
        BayesianOptimization(SPHERE, 1, {"multi_objective": "ehvi"})
    with pytest.raises(ValueError, match=r"reference_point has 3 values for 2 objectives"):
        BayesianOptimization(ZDT.space, 2, {"multi_objective": "ehvi", "reference_point": [1, 1, 1]})
    opt = BayesianOptimization(SPHERE, 1, BOConfig(n_initial=5))
    with pytest.raises(ValueError, match=r"ask\(n\): n must be an integer >= 0, got 2.0"):
        opt.ask(2.0)
    with pytest.raises(ValueError, match=r"trial 0 has 2 values for 1 objectives; tell one minimised value"):
        opt.tell([Observation(0, SPHERE.sample_genome(np.random.default_rng(0)), (1.0, 2.0))])
    with pytest.raises(ValueError, match=r"state is for optimiser 'random', not 'bo'"):
        opt.load_state_dict(RandomSearch(SPHERE).state_dict())

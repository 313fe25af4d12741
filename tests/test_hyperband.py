from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu, truncnorm

from nasbench.evaluators import TrialTask
from nasbench.optimizers.base import Observation
from nasbench.optimizers.hyperband import (BOHB, Hyperband, SuccessiveHalving, _KDE, _Encoding, hyperband_schedule,
                                           max_bracket, rank_order)
from nasbench.optimizers.random_search import RandomSearch
from nasbench.problems import LearningCurveProblem
from nasbench.space import Categorical, Condition, Float, SearchSpace


def table(max_fidelity, eta=3, min_fidelity=1):
    return [[(r.n, r.fidelity) for r in bracket] for bracket in hyperband_schedule(max_fidelity, eta, min_fidelity)]


# --- the schedule ------------------------------------------------------------------------------
def test_seed_001_table_for_r81_eta3():
    assert table(81, 3) == [[(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
                            [(34, 3), (11, 9), (3, 27), (1, 81)],
                            [(15, 9), (5, 27), (1, 81)],
                            [(8, 27), (2, 81)],
                            [(5, 81)]]
    assert repr(hyperband_schedule(81)[1]) == "(34@3, 11@9, 3@27, 1@81)"


def test_r243_gives_six_brackets_where_float_log_gives_five():
    assert int(math.log(243) / math.log(3)) == 4  # the float log's answer, one bracket short
    assert max_bracket(243, 3) == 5
    assert table(243, 3) == [[(243, 1), (81, 3), (27, 9), (9, 27), (3, 81), (1, 243)],
                             [(98, 3), (32, 9), (10, 27), (3, 81), (1, 243)],
                             [(41, 9), (13, 27), (4, 81), (1, 243)],
                             [(18, 27), (6, 81), (2, 243)],
                             [(9, 81), (3, 243)],
                             [(6, 243)]]


@pytest.mark.parametrize("args, expected", [
    ((8, 2, 1), [[(8, 1), (4, 2), (2, 4), (1, 8)], [(6, 2), (3, 4), (1, 8)], [(4, 4), (2, 8)], [(4, 8)]]),
    ((81, 3, 3), [[(27, 3), (9, 9), (3, 27), (1, 81)], [(12, 9), (4, 27), (1, 81)], [(6, 27), (2, 81)], [(4, 81)]]),
    ((100, 3, 1), [[(81, 1), (27, 3), (9, 11), (3, 33), (1, 100)], [(34, 3), (11, 11), (3, 33), (1, 100)],
                   [(15, 11), (5, 33), (1, 100)], [(8, 33), (2, 100)], [(5, 100)]]),
    ((10, 3, 4), [[(1, 10)]]),
    ((1, 2, 1), [[(1, 1)]]),
])
def test_other_schedules_have_integer_fidelities(args, expected):
    assert table(*args) == expected
    assert all(isinstance(r.fidelity, int) and isinstance(r.n, int)
               for bracket in hyperband_schedule(*args) for r in bracket)


@pytest.mark.parametrize("kwargs, message", [
    ({"eta": 1}, r"^eta \(the reduction factor\) must be an integer >= 2, got 1$"),
    ({"eta": 2.5}, r"^eta .* got 2\.5 \(a float\); pass an int$"),
    ({"eta": True}, r"^eta .* got True \(a bool\); pass an int$"),
    ({"max_fidelity": 81.0}, r"^max_fidelity \(R, epochs\) must be an integer >= 1, got 81\.0 \(a float\); pass an int$"),
    ({"max_fidelity": "81"}, r"got '81' \(a str\); pass an int$"),
    ({"max_fidelity": 0}, r"^max_fidelity \(R, epochs\) must be an integer >= 1, got 0$"),
    ({"min_fidelity": 0}, r"^min_fidelity \(r_min, epochs\) must be an integer >= 1, got 0$"),
    ({"max_fidelity": 9, "min_fidelity": 27}, r"^max_fidelity \(R=9\) must be >= min_fidelity \(r_min=27\); raise R"),
])
def test_bad_schedule_options_say_what_to_change(kwargs, message):
    space = LearningCurveProblem().space
    for make in (lambda: hyperband_schedule(**{"max_fidelity": 81, **kwargs}),
                 lambda: Hyperband(space, **kwargs), lambda: SuccessiveHalving(space, **kwargs),
                 lambda: BOHB(space, **kwargs)):
        with pytest.raises(ValueError, match=message) as info:
            make()
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"random_fraction": 1.5}, r"^random_fraction must be a number in \[0, 1\], got 1\.5"),
    ({"top_n_percent": 0}, r"^top_n_percent must be a number in \(0, 100\), got 0"),
    ({"num_samples": 0}, r"^num_samples must be an integer >= 1, got 0$"),
    ({"min_points_in_model": "3"}, r"^min_points_in_model must be an integer >= 1, got '3' \(a str\); pass an int$"),
    ({"bandwidth_factor": 0.0}, r"^bandwidth_factor must be a number > 0, got 0\.0"),
    ({"min_bandwidth": 1.0}, r"^min_bandwidth must be a number in \(0, 1\), got 1\.0"),
    ({"prior_weight": -1}, r"^prior_weight must be a number >= 0, got -1"),
])
def test_bad_bohb_options_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BOHB(LearningCurveProblem().space, **kwargs)


def test_successive_halving_needs_enough_configurations():
    space = LearningCurveProblem().space
    with pytest.raises(ValueError, match=r"^n_configs must be >= eta\*\*s_max = 9 .* got 5; pass more"):
        SuccessiveHalving(space, max_fidelity=9, n_configs=5)
    sh = SuccessiveHalving(space, max_fidelity=9, n_configs=10)
    assert [(r.n, r.fidelity) for r in sh._rungs(0)] == [(10, 1), (3, 3), (1, 9)]


# --- a hand loop --------------------------------------------------------------------------------
def drive(opt, problem, n_trials, directory=None, statuses=None):
    """Ask a rung, evaluate each suggestion at its fidelity, tell the rung; all trials as dicts."""
    trials = []
    while len(trials) < n_trials:
        batch = opt.ask(min(opt.generation_size, n_trials - len(trials)))
        obs = []
        for s in batch:
            tid = len(trials)
            task = TrialTask(tid, problem.space.to_config(s.genome), tid, directory, fidelity=s.fidelity,
                             warm_start=s.warm_start, checkpoint=directory is not None)
            result = problem.evaluate_trial(task)
            status = statuses(tid) if statuses else "done"
            values = None if status == "failed" else (result["loss"],)
            trials.append({"trial_id": tid, "genome": s.genome, "fidelity": s.fidelity, "warm_start": s.warm_start,
                           "parents": s.parents, "generation": s.generation, "loss": result["loss"],
                           "epochs_used": result["epochs_used"], "status": status})
            obs.append(Observation(tid, s.genome, values, s.generation, s.parents, status, s.fidelity, s.warm_start))
        opt.tell(obs)
    return trials


def test_hyperband_first_bracket_promotes_the_best_with_warm_start_chains(tmp_path):
    problem = LearningCurveProblem(noise=0.0)
    trials = drive(Hyperband(problem.space, seed=1), problem, 121 + 34, directory=str(tmp_path))
    by_id = {t["trial_id"]: t for t in trials}
    rungs = [trials[:81], trials[81:108], trials[108:117], trials[117:120], trials[120:121]]
    assert [len(r) for r in rungs] == [81, 27, 9, 3, 1]
    for i, (rung, fidelity) in enumerate(zip(rungs, (1, 3, 9, 27, 81))):
        assert {t["fidelity"] for t in rung} == {fidelity}
        assert {t["generation"] for t in rung} == {i}
        if i == 0:
            assert all(t["warm_start"] is None and t["parents"] == () for t in rung)
            continue
        below = rungs[i - 1]
        best = sorted(below, key=lambda t: (t["loss"], t["trial_id"]))[:len(rung)]
        assert [t["warm_start"] for t in rung] == [t["trial_id"] for t in best]
        for t in rung:
            donor = by_id[t["warm_start"]]
            assert donor["genome"] == t["genome"] and t["parents"] == (donor["trial_id"],)
            assert t["epochs_used"] == fidelity - donor["fidelity"]  # continued the donor's checkpoint
    assert sum(t["epochs_used"] for t in trials[:121]) == 81 + 27 * 2 + 9 * 6 + 3 * 18 + 54
    second = trials[121:]  # bracket s=3 starts afresh: 34 new configurations at 3 epochs
    assert all(t["fidelity"] == 3 and t["warm_start"] is None for t in second)


def test_hyperband_cycles_through_the_brackets_then_repeats():
    problem = LearningCurveProblem(max_fidelity=9)  # brackets 9@1 3@3 1@9; 5@3 1@9; 3@9
    trials = drive(Hyperband(problem.space, max_fidelity=9), problem, 2 * (13 + 6 + 3))
    fidelities = [t["fidelity"] for t in trials]
    assert fidelities == 2 * ([1] * 9 + [3] * 3 + [9] + [3] * 5 + [9] + [9] * 3)


def test_failed_and_pruned_trials_are_never_promoted():
    problem = LearningCurveProblem(max_fidelity=9)
    statuses = {0: "failed", 1: "pruned", 2: "pruned", 3: "failed"}
    opt = SuccessiveHalving(problem.space, max_fidelity=9)
    trials = drive(opt, problem, 9 + 3, statuses=lambda tid: statuses.get(tid, "done"))
    done = sorted((t for t in trials[:9] if t["status"] == "done"), key=lambda t: (t["loss"], t["trial_id"]))
    assert [t["warm_start"] for t in trials[9:12]] == [t["trial_id"] for t in done[:3]]


def test_a_rung_with_too_few_successes_shrinks_and_one_with_none_ends_the_bracket():
    problem = LearningCurveProblem(max_fidelity=9)
    opt = SuccessiveHalving(problem.space, max_fidelity=9)
    ok = {4, 7}  # only two of the first rung's nine succeed: two promotions, not three
    trials = drive(opt, problem, 9 + 2 + 9, statuses=lambda t: "done" if t in ok or t > 10 else "failed")
    assert sorted(t["warm_start"] for t in trials[9:11]) == [4, 7]
    assert all(t["status"] == "failed" for t in trials[9:11])
    assert [t["fidelity"] for t in trials[11:]] == [1] * 9  # nothing to promote: a fresh bracket
    assert all(t["warm_start"] is None for t in trials[11:])


def test_rank_order_single_and_multi_objective():
    assert list(rank_order(np.array([[0.3], [0.1], [0.3], [0.2]]), [7, 9, 5, 1])) == [1, 3, 2, 0]
    F = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [2.5, 2.5], [5.0, 5.0]])
    # front 0: rows 0, 1, 2 (ends first: infinite crowding, then by id), then 4, 3 (front 1), then 5
    assert list(rank_order(F, [0, 1, 2, 3, 4, 5])) == [0, 2, 1, 4, 3, 5]


def test_two_objectives_promote_by_nondominated_rank():
    problem = LearningCurveProblem(max_fidelity=9, noise=0.0)
    opt = Hyperband(problem.space, 2, max_fidelity=9)
    batch = opt.ask(9)
    values = [(1.0, 4.0), (2.0, 2.0), (4.0, 1.0), (3.0, 3.0), (2.5, 2.5), (5.0, 5.0), (6, 6), (7, 7), (8, 8)]
    opt.tell([Observation(i, s.genome, v) for i, (s, v) in enumerate(zip(batch, values))])
    assert [s.warm_start for s in opt.ask(9)] == [0, 2, 1]


def test_tell_rejects_results_it_did_not_ask_for():
    problem = LearningCurveProblem(max_fidelity=9)
    opt = Hyperband(problem.space, max_fidelity=9)
    batch = opt.ask(2)
    other = problem.space.sample_genome(np.random.default_rng(99))
    with pytest.raises(ValueError, match=r"^tell\(\) got trial 5, whose genome is not among the 2 asked"):
        opt.tell([Observation(5, other, (1.0,))])
    with pytest.raises(ValueError, match=r"^trial 0 was told at fidelity 3, but the rung being evaluated is at 1"):
        opt.tell([Observation(0, batch[0].genome, (1.0,), fidelity=3)])
    with pytest.raises(ValueError, match=r"^trial 0: 2 values for 1 objectives"):
        opt.tell([Observation(0, batch[0].genome, (1.0, 2.0))])
    assert len(opt.asked) == 2  # nothing was taken by the refused results


def test_tell_matches_a_genome_whose_inactive_genes_were_reset():
    problem = LearningCurveProblem(max_fidelity=9)
    opt = Hyperband(problem.space, max_fidelity=9, seed=2)
    batch = opt.ask(9)
    adam = next(i for i, s in enumerate(batch) if problem.space.to_config(s.genome)["optimizer"] == "adam")
    reset = problem.space.to_genome(problem.space.to_config(batch[adam].genome))
    assert reset != batch[adam].genome  # its momentum gene went back to the default
    opt.tell([Observation(adam, reset, (0.0,))])
    assert [e["genome"] for e in opt.asked] == [s.genome for i, s in enumerate(batch) if i != adam]


def test_ask_returns_nothing_while_the_rung_waits_and_the_whole_rung_otherwise():
    problem = LearningCurveProblem(max_fidelity=9)
    opt = Hyperband(problem.space, max_fidelity=9)
    assert opt.generation_size == 9
    first = opt.ask(5)
    assert opt.generation_size == 4 and len(opt.ask(10)) == 4
    assert opt.ask(3) == []
    assert len(first) == 5


# --- exact resume -------------------------------------------------------------------------------
def run_with_resume(make, problem, n_trials, batch, resume_at=None, before_tell=False):
    """Suggestions of a loop asking ``batch`` at a time; at trial ``resume_at`` the state goes
    through JSON into a fresh optimiser built with another seed (after an ask when ``before_tell``)."""
    opt, seen, next_id = make(0), [], 0
    while next_id < n_trials:
        suggestions = opt.ask(min(batch, n_trials - next_id))
        if not suggestions:
            raise AssertionError("the hand loop tells every batch, so ask must propose something")
        if before_tell and resume_at is not None and next_id <= resume_at < next_id + len(suggestions):
            fresh = make(12345)
            fresh.load_state_dict(json.loads(json.dumps(opt.state_dict())))
            opt = fresh
        obs = []
        for s in suggestions:
            seen.append((s.genome, s.fidelity, s.warm_start, s.generation, s.parents))
            value = problem.loss(problem.space.to_config(s.genome), s.fidelity, next_id)
            obs.append(Observation(next_id, s.genome, (value,), s.generation, s.parents, fidelity=s.fidelity,
                                   warm_start=s.warm_start))
            next_id += 1
        opt.tell(obs)
        if not before_tell and resume_at is not None and next_id - len(obs) < resume_at <= next_id:
            fresh = make(12345)
            fresh.load_state_dict(json.loads(json.dumps(opt.state_dict())))
            opt = fresh
    return seen, json.dumps(opt.state_dict())


MAKERS = {
    "successive_halving": lambda p: (lambda seed: SuccessiveHalving(p.space, max_fidelity=27, seed=seed)),
    "hyperband": lambda p: (lambda seed: Hyperband(p.space, max_fidelity=27, seed=seed)),
    "bohb": lambda p: (lambda seed: BOHB(p.space, max_fidelity=27, min_points_in_model=3, seed=seed)),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize("resume_at, before_tell", [(5, False), (27, False), (30, True), (40, False), (41, True),
                                                    (52, False), (70, True), (100, False)])
def test_resume_through_json_mid_rung_and_between_brackets(name, resume_at, before_tell):
    # R = 27: the first bracket has 27@1 9@3 3@9 1@27 (40 trials), the second 12@3 4@9 1@27
    problem = LearningCurveProblem(max_fidelity=27)
    make = MAKERS[name](problem)
    straight = run_with_resume(make, problem, 130, 7)
    assert run_with_resume(make, problem, 130, 7, resume_at, before_tell) == straight
    assert make(0).state_dict() != make(12345).state_dict()  # the fresh optimiser really differs


def test_loading_a_state_with_other_settings_says_so():
    space = LearningCurveProblem().space
    state = Hyperband(space, max_fidelity=27).state_dict()
    with pytest.raises(ValueError, match=r"^the saved hyperband state has settings .* build it with the saved"):
        Hyperband(space, max_fidelity=81).load_state_dict(state)


# --- BOHB's model -------------------------------------------------------------------------------
def test_bohb_fits_the_largest_budget_with_enough_points():
    problem = LearningCurveProblem(max_fidelity=27)
    opt = BOHB(problem.space, max_fidelity=27)  # min_points_in_model = 8 parameters + 1 = 9
    assert opt.min_points_in_model == 9
    drive(opt, problem, 27)
    assert opt.model_budget() == 1  # 27 points at 1 epoch: 9 good, 18 bad
    drive(opt, problem, 9)
    assert opt.model_budget() == 1  # 9 points at 3 epochs: no bad ones yet
    opt.min_points_in_model = 3
    assert opt.model_budget() == 3  # 9 points at 3: 3 good, 6 bad; at 9 epochs: none yet


def test_bohb_splits_good_and_bad_as_the_paper():
    opt = BOHB(LearningCurveProblem().space, min_points_in_model=3)
    records = [{"trial_id": i, "genome": [], "values": None if i == 0 else [float(-i)]} for i in range(30)]
    good, bad = opt._split(records)
    assert [r["trial_id"] for r in good] == [29, 28, 27, 26]  # max(3, 15 % of 30 = 4)
    assert [r["trial_id"] for r in bad] == list(range(25, 0, -1)) + [0]  # the rest; the failed one is worst


def _kde(space, genomes, min_bandwidth=1e-3):
    enc = _Encoding(space)
    return _KDE(*enc.encode_all(genomes), enc.n_choices, min_bandwidth), enc


def test_inactive_genes_do_not_move_the_density():
    space = SearchSpace((Categorical("opt", choices=("adam", "sgd")),
                         Float("momentum", 0.0, 1.0, condition=Condition("opt", ("sgd",)))))
    # the same configurations; only the inactive momentum genes of the adam points differ
    a, enc = _kde(space, [["adam", 0.1], ["adam", 0.2], ["sgd", 0.9], ["sgd", 0.8]])
    b, _ = _kde(space, [["adam", 0.7], ["adam", 0.95], ["sgd", 0.9], ["sgd", 0.8]])
    assert np.allclose(a.bw, b.bw)
    Y, B = enc.encode_all([["adam", 0.1], ["sgd", 0.1], ["sgd", 0.85], ["adam", 0.85]])
    assert np.allclose(a.log_pdf(Y, B), b.log_pdf(Y, B))
    pa = np.exp(a.log_pdf(Y, B))
    assert pa[0] == pytest.approx(pa[3])  # an adam candidate's momentum gene is not looked at
    assert pa[2] > pa[1]                    # sgd near the sgd points' momentum is likelier


def test_kde_density_has_known_values():
    space = SearchSpace((Float("x", 0.0, 1.0), Categorical("c", choices=("a", "b", "c"))))
    kde, enc = _kde(space, [[0.5, "a"]])
    assert kde.bw[0] == pytest.approx(1.06 * 12 ** -0.5)  # one point: a uniform's spread, n = 1
    assert kde.bw[1] == pytest.approx(1.06 * 12 ** -0.5)  # Aitchison-Aitken's lambda, the same rule
    Y, B = enc.encode_all([[0.5, "a"], [0.5, "b"], [0.9, "c"]])
    s, lam = kde.bw
    x_density = truncnorm.pdf([0.5, 0.5, 0.9], -0.5 / s, 0.5 / s, loc=0.5, scale=s)
    assert np.exp(kde.log_pdf(Y, B)) == pytest.approx(x_density * [1 - lam, lam / 2, lam / 2])
    enc = _Encoding(space)
    with_prior = _KDE(*enc.encode_all([[0.5, "a"]]), enc.n_choices, 1e-3, prior_weight=1.0)
    uniform = 1.0 * (1 / 3)  # the prior: density 1 on [0, 1], 1/3 per choice
    assert np.exp(with_prior.log_pdf(Y, B)) == pytest.approx((x_density * [1 - lam, lam / 2, lam / 2] + uniform) / 2)


def test_kde_samples_stay_in_bounds_and_near_tight_points():
    space = SearchSpace((Float("x", 0.0, 1.0), Categorical("c", choices=("a", "b", "c"))))
    kde, enc = _kde(space, [[0.25, "b"], [0.25, "b"], [0.25, "b"]])
    assert kde.bw[0] == pytest.approx(1e-3) and kde.bw[1] == pytest.approx(1e-3)
    draws = kde.sample(500, np.random.default_rng(0), widen=3.0)
    assert np.all(np.abs(draws[:, 0] - 0.25) < 0.02)
    assert set(draws[:, 1]) <= {0.0, 1.0, 2.0} and np.mean(draws[:, 1] == 1.0) > 0.99
    wide = _kde(space, [[0.0, "a"], [1.0, "c"]])[0].sample(2000, np.random.default_rng(1), widen=3.0)
    assert wide[:, 0].min() >= 0.0 and wide[:, 0].max() <= 1.0 and set(wide[:, 1]) == {0.0, 1.0, 2.0}


def test_bohb_model_draws_beat_random_draws():
    problem = LearningCurveProblem(noise=0.0)
    opt = BOHB(problem.space, random_fraction=0.0, seed=3)
    drive(opt, problem, 121)  # the first bracket: 81@1 .. 1@81
    assert opt.model_budget() == 3  # 27 points at 3 epochs (9 good, 18 bad); 9 at 9 epochs are too few
    model = [problem.final(problem.space.to_config(g)) for g in opt._new_genomes(40)]
    rng = np.random.default_rng(3)
    random = [problem.final(problem.space.sample(rng)) for _ in range(40)]
    assert mannwhitneyu(model, random, alternative="less").pvalue < 1e-3


# --- against random search ----------------------------------------------------------------------
def best_within(opt, problem, budget, seed_base):
    """Best full-fidelity loss found within ``budget`` epochs; a promotion costs only the epochs
    beyond its donor's (the checkpoint a study would keep)."""
    used, best, tid, fidelity_of = 0, math.inf, 0, {}
    while used < budget:
        obs = []
        for s in opt.ask(opt.generation_size or 8):
            fidelity = s.fidelity or problem.max_fidelity
            loss = problem.loss(problem.space.to_config(s.genome), fidelity, seed_base + tid)
            used += fidelity - fidelity_of.get(s.warm_start, 0)
            fidelity_of[tid] = fidelity
            if used <= budget and fidelity == problem.max_fidelity:
                best = min(best, loss)
            obs.append(Observation(tid, s.genome, (loss,), s.generation, s.parents, fidelity=s.fidelity,
                                   warm_start=s.warm_start))
            tid += 1
        opt.tell(obs)
    return best


@pytest.mark.slow
def test_hyperband_and_bohb_beat_random_search_with_half_its_epochs():
    problem = LearningCurveProblem()  # R = 81
    budget = 60 * 81  # random search: 60 full trainings
    rs = [best_within(RandomSearch(problem.space, seed=s), problem, budget, 1000 * s) for s in range(10)]
    hb = [best_within(Hyperband(problem.space, seed=s), problem, budget // 2, 1000 * s) for s in range(10)]
    bohb = [best_within(BOHB(problem.space, seed=s), problem, budget // 2, 1000 * s) for s in range(10)]
    assert np.median(hb) < np.median(rs) and np.median(bohb) < np.median(rs)
    assert mannwhitneyu(hb, rs, alternative="less").pvalue < 0.05
    assert mannwhitneyu(bohb, rs, alternative="less").pvalue < 0.01
    assert mannwhitneyu(bohb, hb, alternative="less").pvalue < 0.01  # the model earns its keep

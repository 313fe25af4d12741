from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasbench.evaluators import TrialPruned, TrialTask
from nasbench.problems import LearningCurveProblem
from nasbench.store import model_path

# x = (0.5, 0.5) against centres (0.2, 0.8); 3 layers, tanh, adam
CONFIG = {"x0": 0.5, "x1": 0.5, "layers": 3, "activation": "tanh", "optimizer": "adam"}
FINAL = 4 * 0.09 + 0.4 * 0.25 + 0.1 + 0.05        # 0.61
GAP = 0.2 + 0.8 * 3 / 8 + 0.6 * 0.5 + 0.2 + 0.1   # 1.1


def test_space_is_mixed_and_conditional():
    p = LearningCurveProblem(n_var=2)
    assert p.space.names == ["x0", "x1", "layers", "activation", "optimizer", "momentum"]
    assert [q.kind for q in p.space] == ["float", "float", "int", "categorical", "categorical", "float"]
    assert p.space.active({**CONFIG, "momentum": 0.5}) == [True] * 5 + [False]
    assert p.space.active({**CONFIG, "optimizer": "sgd"}) == [True] * 6


def test_curve_has_known_values():
    p = LearningCurveProblem(n_var=2, max_fidelity=81, noise=0.0)
    assert p.final(CONFIG) == pytest.approx(FINAL)
    assert p.gap(CONFIG) == pytest.approx(GAP)
    assert p.loss(CONFIG, 1) == pytest.approx(FINAL + GAP * (1 - 1 / 9))
    assert p.loss(CONFIG, 9) == pytest.approx(FINAL + GAP * (1 / 3 - 1 / 9))
    assert p.loss(CONFIG, 81) == pytest.approx(FINAL)
    assert p(CONFIG, seed=3) == {"loss": pytest.approx(FINAL), "epochs_used": 81.0}


def test_the_optimum_is_zero_where_the_docstring_says():
    p = LearningCurveProblem(n_var=3, noise=0.0)
    best = {"x0": 0.2, "x1": 0.5, "x2": 0.8, "layers": 5, "activation": "relu", "optimizer": "sgd", "momentum": 0.9}
    assert p.final(best) == pytest.approx(p.optimum) == 0.0
    rng = np.random.default_rng(0)
    assert min(p.final(p.space.sample(rng)) for _ in range(500)) > 0.0


def test_noise_comes_from_the_trial_seed_and_the_epoch():
    p = LearningCurveProblem(n_var=2, noise=0.01)
    quiet = LearningCurveProblem(n_var=2, noise=0.0)
    assert p.loss(CONFIG, 5, seed=7) == p.loss(CONFIG, 5, seed=7)
    assert p.loss(CONFIG, 5, seed=7) != p.loss(CONFIG, 5, seed=8)
    assert p.loss(CONFIG, 5, seed=7) - quiet.loss(CONFIG, 5) == pytest.approx(
        0.01 * np.random.default_rng([7, 5]).standard_normal())
    assert p.loss(CONFIG, 5) == quiet.loss(CONFIG, 5)  # no seed, no noise


def test_low_fidelity_ranks_imperfectly_but_informatively():
    p = LearningCurveProblem()
    rng = np.random.default_rng(0)
    configs = [p.space.sample(rng) for _ in range(300)]
    final = [p.loss(c, 81, seed=i) for i, c in enumerate(configs)]
    rho = {e: spearmanr([p.loss(c, e, seed=i) for i, c in enumerate(configs)], final)[0] for e in (1, 9, 27)}
    assert 0.6 < rho[1] < 0.9
    assert rho[1] < rho[9] < rho[27] < 1.0


def test_evaluate_trial_reports_each_epoch_up_to_the_fidelity():
    p = LearningCurveProblem(n_var=2, noise=0.0)
    task = TrialTask(0, CONFIG, 11, fidelity=3)
    result = p.evaluate_trial(task)
    assert [s for s, _ in task.reports] == [1, 2, 3]
    assert [v[0] for _, v in task.reports] == pytest.approx([p.loss(CONFIG, e) for e in (1, 2, 3)])
    assert result == {"loss": pytest.approx(p.loss(CONFIG, 3)), "epochs_used": 3.0}
    full = TrialTask(1, CONFIG, 11)
    assert p.evaluate_trial(full)["epochs_used"] == 81.0 and len(full.reports) == 81


def test_a_warm_start_continues_the_donors_checkpoint(tmp_path):
    p = LearningCurveProblem(n_var=2, noise=0.01)
    d = str(tmp_path)
    p.evaluate_trial(TrialTask(0, CONFIG, 5, d, fidelity=3, checkpoint=True))
    assert model_path(d, 0).is_file()
    task = TrialTask(1, CONFIG, 6, d, fidelity=9, warm_start=0, checkpoint=True)
    result = p.evaluate_trial(task)
    assert [s for s, _ in task.reports] == [4, 5, 6, 7, 8, 9]
    assert result == {"loss": p.loss(CONFIG, 9, seed=6), "epochs_used": 6.0}  # the same curve, cheaper
    again = TrialTask(2, CONFIG, 7, d, fidelity=27, warm_start=1)
    assert p.evaluate_trial(again)["epochs_used"] == 18.0


def test_a_warm_start_without_a_checkpoint_or_of_another_config_trains_from_scratch(tmp_path):
    p = LearningCurveProblem(n_var=2)
    d = str(tmp_path)
    unsaved = TrialTask(1, CONFIG, 6, d, fidelity=9, warm_start=0)
    assert p.evaluate_trial(unsaved)["epochs_used"] == 9.0 and len(unsaved.reports) == 9
    p.evaluate_trial(TrialTask(2, {**CONFIG, "layers": 4}, 5, d, fidelity=3, checkpoint=True))
    other = TrialTask(3, CONFIG, 6, d, fidelity=9, warm_start=2)
    assert p.evaluate_trial(other)["epochs_used"] == 9.0
    no_directory = TrialTask(4, CONFIG, 6, None, fidelity=9, warm_start=2)
    assert p.evaluate_trial(no_directory)["epochs_used"] == 9.0


def test_a_pruning_report_stops_the_curve():
    class Stopping(TrialTask):
        def report(self, step, values):
            super().report(step, values)
            if step == 2:
                raise TrialPruned("stop")

    task = Stopping(0, CONFIG, 1, fidelity=9)
    with pytest.raises(TrialPruned):
        LearningCurveProblem(n_var=2).evaluate_trial(task)
    assert [s for s, _ in task.reports] == [1, 2]


def test_spec_rebuilds_the_same_problem():
    p = LearningCurveProblem(n_var=3, max_fidelity=27, noise=0.05)
    assert p.spec() == {"problem": "learning_curve", "params": {"n_var": 3, "max_fidelity": 27, "noise": 0.05}}
    q = LearningCurveProblem(**p.spec()["params"])
    config = p.space.sample(np.random.default_rng(1))
    assert q(config, seed=4) == p(config, seed=4)
    assert q.space == p.space and q.reference_point == p.reference_point == (10.0,)
    assert [(m.name, m.direction) for m in p.metrics] == [("loss", "minimize")]


@pytest.mark.parametrize("kwargs, message", [
    ({"n_var": 1}, r"^learning_curve: n_var must be an integer >= 2, got 1$"),
    ({"max_fidelity": "81"}, r"^learning_curve: max_fidelity must be an integer >= 1, got '81' \(a str\)"),
    ({"noise": -0.1}, r"^learning_curve: noise must be a number >= 0 .* got -0\.1; pass e\.g\. 0\.01$"),
])
def test_bad_options_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LearningCurveProblem(**kwargs)


@pytest.mark.parametrize("fidelity", [0, 82, 2.5])
def test_a_fidelity_outside_the_curve_is_refused(fidelity):
    with pytest.raises(ValueError, match=r"^learning_curve: fidelity must be an integer in \[1, 81\] \(epochs\)"):
        LearningCurveProblem(n_var=2).evaluate_trial(TrialTask(0, CONFIG, 1, fidelity=fidelity))

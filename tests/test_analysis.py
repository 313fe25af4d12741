from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasbench import analysis
from nasbench.space import Boolean, Categorical, Float, Integer, SearchSpace

DIRS = {"acc": "maximize", "size": "minimize"}


def trials(rows) -> pd.DataFrame:
    """A hand-made trials table: (trial_id, generation, acc, size, started, finished)."""
    df = pd.DataFrame(rows, columns=["trial_id", "generation", "values_acc", "values_size", "started", "finished"])
    df["status"] = "done"
    return df


T = trials([(0, 0, 0.5, 10.0, 0.0, 1.0), (1, 0, 0.6, 20.0, 1.0, 2.0), (2, 0, 0.4, 30.0, 2.0, 3.0),
            (3, 1, 0.7, 15.0, 3.0, 4.0), (4, 1, 0.3, 5.0, 4.0, 5.0)])


def test_fronts_by_generation():
    info = analysis.pareto_fronts_by_generation(T, DIRS)
    g0 = info[info["front_generation"] == 0].set_index("trial_id")["on_front"]
    assert g0.to_dict() == {0: True, 1: True, 2: False}
    g1 = info[info["front_generation"] == 1].set_index("trial_id")["on_front"]
    assert g1.to_dict() == {0: True, 1: False, 2: False, 3: True, 4: True}


def test_final_front_and_table():
    assert analysis.final_front(T, DIRS)["trial_id"].tolist() == [4, 0, 3]  # sorted by acc
    table = analysis.front_table(T.assign(params_x=[1, 2, 3, 4, 5]), DIRS)
    assert list(table.columns) == ["trial_id", "generation", "acc", "size", "x"]


def test_hypervolume_trace_by_hand():
    info = analysis.hypervolume_trace(T, DIRS, reference_point=[0.0, 40.0])
    # minimised: (-acc, size) with ref (0, 40); after trial 0: 0.5 * 30 = 15
    assert info["hypervolume"].iloc[0] == pytest.approx(15.0)
    # after 0 and 1: 0.5*30 + (0.6-0.5)*20 = 17
    assert info["hypervolume"].iloc[1] == pytest.approx(17.0)
    # trial 2 is dominated; trial 3 (0.7, 15): 0.7*25 + ... exact with all: boxes union
    assert info["hypervolume"].iloc[-1] == pytest.approx(0.3 * 35 + 0.2 * 30 + 0.2 * 25)
    assert info["evaluations"].tolist() == [1, 2, 3, 4, 5] and info["elapsed"].tolist() == [1, 2, 3, 4, 5]


def test_coverage_counts():
    space = SearchSpace((Integer("n", 1, 4), Categorical("act", ("relu", "tanh")), Boolean("bn"), Float("lr", 1e-3, 1e-1, log=True)))
    df = pd.DataFrame({"params_n": [1, 1, 4], "params_act": ["relu", "relu", "relu"], "params_bn": [True, False, True],
                       "params_lr": [1e-3, 1e-2, 1e-1]})
    info = analysis.coverage(df, space, bins=2)
    act = info[info["parameter"] == "act"]
    assert act["count"].tolist() == [3, 0] and act["share_hit"].iloc[0] == 0.5
    assert info[info["parameter"] == "bn"]["count"].tolist() == [1, 2]
    assert info[info["parameter"] == "lr"]["count"].tolist() == [1, 2]  # log-scale halves: [1e-3,1e-2) and [1e-2,1e-1]
    assert info[info["parameter"] == "n"]["count"].sum() == 3


def test_incumbents_and_aggregation():
    trace = analysis.incumbent_trace(T, "acc", "maximize")
    assert trace["incumbent"].tolist() == [0.5, 0.6, 0.6, 0.7, 0.7]
    other = trials([(0, 0, 0.9, 1.0, 0.0, 2.0), (1, 0, 0.1, 1.0, 2.0, 4.0)])
    agg = analysis.aggregate_traces({"a": trace, "b": analysis.incumbent_trace(other, "acc", "maximize")}, points=5)
    # grid 1..5; at x=5: a=0.7, b=0.9 -> median 0.8
    assert agg["median"].iloc[-1] == pytest.approx(0.8)
    assert agg["runs"].iloc[0] == 1  # only run a has started at x=1
    with pytest.raises(ValueError, match="at least one trace"):
        analysis.aggregate_traces({})


def test_top_trials_and_comparisons():
    assert analysis.top_trials(T, "acc", "maximize", k=2)["trial_id"].tolist() == [3, 1]
    frames = {"GA": T.assign(params_x=1), "random": T.assign(params_x=2).iloc[:2]}
    comp = analysis.method_comparison(frames, "size", "minimize")
    assert comp["best size"].tolist() == [5.0, 10.0] and comp["best trial"].tolist() == [4, 0]
    top = analysis.top_trials_by_method(frames, "size", "minimize", k=3)
    assert top["name"].tolist() == ["GA-1-4", "GA-0-0", "random-0"]


def test_incumbent_test_table():
    frames = {0: T.assign(metrics_test_accuracy=[0.9, 0.8, 0.7, 0.6, 0.5]),
              1: T.assign(metrics_test_accuracy=[0.95, 0.8, 0.7, 0.6, 0.5])}
    baseline = pd.DataFrame({"test_accuracy": [0.8, 0.9]})
    table = analysis.incumbent_test_table(frames, baseline, metric="size", method="opt")
    # incumbents by minimum size are trial 4 in both: 0.5 and 0.5
    assert table["test accuracy (%)"].tolist() == ["85.0 ± 5.0", "50.0 ± 0.0"]


def test_param_importance_finds_the_parameter_that_matters():
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"trial_id": range(n), "generation": 0, "status": "done", "started": 0.0, "finished": 1.0,
                       "params_a": rng.uniform(0, 1, n), "params_b": rng.uniform(0, 1, n),
                       "params_c": rng.choice(["x", "y"], n)})
    df["values_loss"] = 5 * df["params_a"] + 0.1 * df["params_b"]
    space = SearchSpace((Float("a", 0, 1), Float("b", 0, 1), Categorical("c", ("x", "y"))))
    imp = analysis.param_importance(df, space, "loss")
    assert imp.index[0] == "a" and imp["a"] > 0.8


def test_hyperparameter_evolution_and_learning_curves():
    space = SearchSpace((Integer("n", 1, 5), Categorical("act", ("relu", "tanh"))))
    df = pd.DataFrame({"trial_id": [0, 1], "generation": [0, 1], "params_n": [2, 3], "params_act": ["relu", "tanh"],
                       "metrics_learning_curves": [[[{"epoch": 1, "val_loss": 1.0}, {"epoch": 2, "val_loss": 0.5}]],
                                                   [[{"epoch": 1, "val_loss": 2.0}]]]})
    evo = analysis.hyperparameter_evolution(df, space)
    assert evo[evo["parameter"] == "act"]["value"].tolist() == [0.0, 1.0]
    curves = analysis.learning_curves(df, [0, 1])
    assert curves["val_loss"].tolist() == [1.0, 0.5, 2.0] and curves["fold"].tolist() == [0, 0, 0]


def test_named_points_and_population_over_time():
    assert analysis.named_points(T, {"default": 0, "missing": 99}, DIRS) == {"default": {"acc": 0.5, "size": 10.0}}
    pop = analysis.population_over_time(T, {0: [0, 1], 1: [3, 4]})
    assert pop.groupby("population_of")["trial_id"].apply(list).to_dict() == {0: [0, 1], 1: [3, 4]}

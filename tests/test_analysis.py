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


def conditional_trials(n=60):
    """``b`` matters and is active only when kind == 'y'; ``c`` is noise."""
    rng = np.random.default_rng(0)
    kind, b, c = rng.choice(["x", "y"], n), rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    df = pd.DataFrame({"trial_id": range(n), "generation": 0, "status": "done", "started": 0.0, "finished": 1.0,
                       "params_kind": kind, "params_b": np.where(kind == "y", b, np.nan), "params_c": c})
    df["values_loss"] = np.where(kind == "y", 10 * b, 5.0) + 0.1 * c
    df["values_acc"] = 1 - 0.1 * df["params_c"]
    space = SearchSpace((Categorical("kind", ("x", "y")), Float("b", 0, 1, condition={"parent": "kind", "values": ["y"]}),
                         Float("c", 0, 1)))
    return df, space


def test_param_importance_scores_conditional_parameters():
    """Optuna's fANOVA drops a parameter some trials lack: the full genome keeps it."""
    df, space = conditional_trials()
    imp = analysis.param_importance(df, space, "loss")
    assert list(imp.index) == ["b", "c", "kind"] and imp["b"] > 0.9


@pytest.mark.parametrize("method", ["fanova", "ped_anova"])
def test_importance_per_objective(method):
    df, space = conditional_trials()
    table = analysis.importances(df, space, {"loss": "minimize", "acc": "maximize"}, method=method)
    assert list(table.index) == ["kind", "b", "c"] and list(table.columns) == ["loss", "acc"]
    assert table["loss"].idxmax() == "b" and table["acc"].idxmax() == "c"
    assert table.sum().to_numpy() == pytest.approx([1.0, 1.0])


def test_importance_input_errors():
    df, space = conditional_trials()
    with pytest.raises(ValueError, match="method must be one of \\('fanova', 'ped_anova'\\), got 'anova'"):
        analysis.importance(df, space, "loss", method="anova")
    with pytest.raises(ValueError, match="the trials table has no column 'values_size'"):
        analysis.importance(df, space, "size")
    with pytest.raises(ValueError, match="at least 2 done trials"):
        analysis.importance(df.head(1), space, "loss")


def test_compare_paired_by_wilcoxon():
    a = {s: float(s) for s in range(8)}
    b = {s: s + 1.5 for s in reversed(range(8))}  # paired by seed, not by order
    out = analysis.compare_paired(a, b, names=("BOHB", "random"))
    assert (out["statistic"], out["p_value"], out["n"]) == (0.0, 2 / 2**8, 8)
    assert out["verdict"] == "BOHB < random (p=0.008, Wilcoxon, 8 paired seeds)"
    flat = analysis.compare_paired([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], names=("A", "B"))
    assert flat["p_value"] == 1.0 and flat["verdict"].startswith("no significant difference between A and B (p=1.000")
    same = analysis.compare_paired([1, 2], [1, 2])
    assert same["p_value"] == 1.0 and "all 2 paired differences are zero" in same["verdict"]
    with pytest.raises(ValueError, match=r"compare_paired needs the same seeds in a and b; only in a: \[7\]"):
        analysis.compare_paired(a, {s: 0.0 for s in range(7)})


def test_compare_independent_by_mann_whitney():
    out = analysis.compare_independent([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], names=("GA", "BO"))
    assert (out["statistic"], out["p_value"]) == (25.0, pytest.approx(2 / 252))
    assert out["verdict"] == "GA > BO (p=0.008, Mann-Whitney U, 5 and 5 runs)"
    mixed = analysis.compare_independent([1, 4, 5, 8], [2, 3, 6, 7])
    assert mixed["p_value"] == 1.0 and mixed["verdict"].startswith("no significant difference between a and b")


def test_compare_many_by_friedman_then_holm_wilcoxon():
    seeds = range(8)
    table = pd.DataFrame({"BOHB": [s + 0.0 for s in seeds], "BO": [s + 1.0 for s in seeds],
                          "random": [s + 2.0 for s in seeds]}, index=list(seeds))
    out = analysis.compare_many(table, post_hoc="wilcoxon_holm")
    assert out["statistic"] == pytest.approx(16.0) and out["p_value"] == pytest.approx(np.exp(-8))
    assert out["mean_ranks"].to_dict() == {"BOHB": 1.0, "BO": 2.0, "random": 3.0}
    assert out["post_hoc"] == "Holm-corrected pairwise Wilcoxon signed-rank"
    pairs = out["pairs"]
    assert pairs[["a", "b"]].values.tolist() == [["BOHB", "BO"], ["BOHB", "random"], ["BO", "random"]]
    assert pairs["p_value"].tolist() == [2 / 256] * 3 and pairs["p_adjusted"].tolist() == pytest.approx([3 * 2 / 256] * 3)
    assert pairs["verdict"].iloc[0] == "BOHB < BO (p=0.023, Holm-corrected Wilcoxon, 8 paired seeds)"
    assert out["verdict"] == "the 3 methods differ (p<0.001, Friedman, 8 seeds); mean ranks: BOHB 1.0, BO 2.0, random 3.0"


def test_holm_correction_by_hand():
    assert analysis.holm([0.01, 0.04, 0.03, 0.5]).tolist() == pytest.approx([0.04, 0.09, 0.09, 0.5])


def test_compare_many_input_errors():
    with pytest.raises(ValueError, match="compare_many needs at least 3 methods"):
        analysis.compare_many(pd.DataFrame({"a": [1, 2], "b": [2, 3]}))
    with pytest.raises(ValueError, match=r"seeds \[1\] lack a value"):
        analysis.compare_many(pd.DataFrame({"a": [1, np.nan], "b": [2, 3], "c": [3, 4]}))
    with pytest.raises(ValueError, match="post_hoc must be one of"):
        analysis.compare_many(pd.DataFrame({"a": [1, 2], "b": [2, 3], "c": [3, 4]}), post_hoc="tukey")


def test_compare_many_nemenyi_when_scikit_posthocs_is_installed():
    pytest.importorskip("scikit_posthocs")
    table = pd.DataFrame({"A": range(8), "B": np.arange(8) + 1.0, "C": np.arange(8) + 2.0})
    out = analysis.compare_many(table)
    assert out["post_hoc"] == "Nemenyi (scikit-posthocs)" and len(out["pairs"]) == 3

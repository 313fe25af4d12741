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
    assert list(table.columns) == ["generation", "acc", "size", "x"] and table.index.name == "trial"
    assert table.index.tolist() == [4, 0, 3]


def test_front_table_reads_as_a_person_would_write_it():
    df = T.assign(values_size=T["values_size"].astype(float), params_n=[1.0, 2.0, 3.0, 4.0, 5.0],
                  params_drop=[np.nan, 0.1, 0.2, np.nan, 0.3], params_never=np.nan,
                  params_act=["relu", "tanh", "relu", None, "relu"])
    space = SearchSpace((Integer("n", 1, 8), Float("drop", 0.0, 0.5), Float("never", 0.0, 1.0),
                         Categorical("act", ("relu", "tanh"))))
    table = analysis.front_table(df, DIRS, space)
    assert "never" not in table  # inactive on the whole front: dropped
    assert table.loc[4, "size"] == 5 and isinstance(table.loc[4, "size"], (int, np.integer))  # 5.0 -> 5
    assert isinstance(table.loc[0, "n"], (int, np.integer)) and table.loc[0, "n"] == 1
    assert table.loc[0, "drop"] == "–" and table.loc[4, "drop"] == pytest.approx(0.3)  # inactive shown as a dash
    assert table.loc[3, "act"] == "–" and table["acc"].tolist() == [0.3, 0.5, 0.7]  # fractions stay fractions


def test_normalised_hypervolume_and_igd_against_a_known_front():
    info = analysis.hypervolume_trace(T, DIRS, reference_point=[0.0, 40.0], best_known=24.5)
    # the box from the observed ideal (acc 0.7, size 5) to the reference point (0, 40): 0.7 * 35 = 24.5
    assert info["hypervolume_fraction"].iloc[-1] == pytest.approx(21.5 / 24.5)
    assert info["hypervolume_of_best"].tolist() == pytest.approx([h / 24.5 for h in info["hypervolume"]])
    boxed = analysis.hypervolume_trace(T, DIRS, [0.0, 40.0], ideal=[1.0, 0.0])  # a fixed ideal: box 1 * 40
    assert boxed["hypervolume_fraction"].iloc[-1] == pytest.approx(21.5 / 40)
    # front by hand: the points (acc, size) = (0.7, 5) and (0.3, 5) -> minimised (-0.7, 5), (-0.3, 5)
    true = np.array([[0.7, 5.0], [0.3, 5.0]])
    score = analysis.igd(T, DIRS, true)
    # found front (-0.7,15), (-0.5,10), (-0.3,5): nearest to (-0.7,5) is (-0.3,5), 0.4 away; (-0.3,5) is on it
    assert score == pytest.approx({"igd": 0.2, "igd_plus": 0.2})
    traced = analysis.hypervolume_trace(T, DIRS, [0.0, 40.0], true_front=true)
    # after trial 0 alone (-0.5, 10): distances sqrt(0.2^2 + 5^2) to both true points
    assert traced["igd"].iloc[0] == pytest.approx(np.hypot(0.2, 5.0)) and traced["igd"].iloc[-1] == pytest.approx(0.2)
    assert traced["hypervolume_of_best"].iloc[-1] == pytest.approx(21.5 / (0.7 * 35))
    summary = analysis.hypervolume_summary(T, DIRS, [0.0, 40.0], best_known=43.0)
    assert summary.iloc[0].to_dict() == pytest.approx({"trials": 5, "hypervolume": 21.5, "share of reference box":
                                                       21.5 / 24.5, "share of best known": 0.5})
    with pytest.raises(ValueError, match=r"true_front must be an array of shape \(points, 2\)"):
        analysis.igd(T, DIRS, np.zeros((3, 3)))


def test_igd_and_igd_plus_are_moocores():
    # Ishibuchi et al. (2015) via moocore's docstring example: IGD 1.0628, IGD+ 0.9855
    found = pd.DataFrame({"values_a": [3.5, 3.6, 4.1, 5.5], "values_b": [5.5, 4.1, 3.2, 1.5], "status": "done",
                          "started": 0.0, "finished": 1.0, "trial_id": range(4), "generation": 0})
    true = np.array([[1, 6], [2, 5], [3, 4], [4, 3], [5, 2], [6, 1]], dtype=float)
    score = analysis.igd(found, {"a": "minimize", "b": "minimize"}, true)
    assert score == pytest.approx({"igd": 1.0627908666722465, "igd_plus": 0.9855036468106652})


def test_igd_on_zdt1_is_zero_on_the_true_front_and_positive_off_it():
    from nasbench.objectives import ZDT1

    problem = ZDT1(n_var=3)
    front = problem.pareto_front(200)
    on = pd.DataFrame({"values_f1": front[:, 0], "values_f2": front[:, 1], "status": "done", "started": 0.0,
                       "finished": 1.0, "trial_id": range(len(front)), "generation": 0})
    dirs = {"f1": "minimize", "f2": "minimize"}
    assert analysis.igd(on, dirs, front)["igd_plus"] == pytest.approx(0.0, abs=1e-12)
    off = on.assign(values_f2=on["values_f2"] + 0.1)
    worse = analysis.igd(off, dirs, front)
    # each true point is at most 0.1 from its shifted copy; the convex front brings neighbours closer
    assert 0.05 < worse["igd_plus"] <= worse["igd"] <= 0.1 + 1e-12


def test_optimization_history_and_slice_table():
    hist = analysis.optimization_history(T, "acc", "maximize")
    assert hist["value"].tolist() == [0.5, 0.6, 0.4, 0.7, 0.3] and hist["incumbent"].tolist() == [0.5, 0.6, 0.6, 0.7, 0.7]
    space = SearchSpace((Integer("n", 1, 4), Float("lr", 1e-3, 1e-1, log=True)))
    df = T.assign(params_n=[1, 2, 3, 4, 1], params_lr=[1e-3, np.nan, 1e-2, 1e-2, 1e-1])
    info = analysis.slice_table(df, space, "acc")
    assert info.groupby("parameter").size().to_dict() == {"lr": 4, "n": 5}  # inactive lr left out
    assert info[info["parameter"] == "lr"]["trial_id"].tolist() == [0, 2, 3, 4]
    with pytest.raises(ValueError, match=r"no parameters \['nope'\] in the space"):
        analysis.slice_table(df, space, "acc", ["nope"])


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
    n = info[info["parameter"] == "n"]
    assert n["label"].tolist() == ["1–2", "3–4"] and n["count"].tolist() == [2, 1]  # whole numbers, not 1..1, 1..2
    by_value = analysis.coverage(df, space, bins=10)
    n = by_value[by_value["parameter"] == "n"]
    assert n["label"].tolist() == ["1", "2", "3", "4"] and n["count"].tolist() == [2, 0, 0, 1]  # few values: by value


def test_coverage_bins_wide_integers_in_whole_number_runs():
    space = SearchSpace((Integer("width", 1, 100), Integer("filters", 1, 1000, log=True)))
    df = pd.DataFrame({"params_width": [1, 20, 21, 100], "params_filters": [1, 9, 10, 1000]})
    info = analysis.coverage(df, space, bins=5)
    width = info[info["parameter"] == "width"]
    assert width["label"].tolist() == ["1–20", "21–40", "41–60", "61–80", "81–100"]
    assert width["count"].tolist() == [2, 1, 0, 0, 1]
    filters = info[info["parameter"] == "filters"]
    assert filters["label"].tolist() == ["1–2", "3–10", "11–47", "48–218", "219–1000"]  # runs on the log scale
    assert filters["count"].tolist() == [1, 2, 0, 0, 1]


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


def test_the_direction_of_a_rank_test_is_the_tests_not_the_medians():
    """a's median is higher, yet a's values lose most pairwise comparisons: Mann-Whitney
    (and the sentences built on it) call a lower."""
    from collections import namedtuple

    from nasbench.comparison import _pair_sentence

    a, b = [0, 0, 0, 6, 6, 6, 6], [5, 5, 5, 5, 7, 7, 7]
    test = analysis.compare_independent(a, b, ("a", "b"))
    assert test["median_a"] > test["median_b"] and test["a_lower"] is True
    assert analysis.compare_independent(b, a, ("b", "a"))["a_lower"] is False
    assert analysis.compare_independent([1, 2], [2, 1])["a_lower"] is None
    assert analysis.compare_paired([1, 2, 3], [2, 3, 5])["a_lower"] is True
    Row = namedtuple("Row", "a b median_a median_b a_lower p_holm")
    assert _pair_sentence(Row("a", "b", 6.0, 5.0, True, 0.01), 0.05) == "a < b (Holm p=0.01)"
    assert _pair_sentence(Row("a", "b", 6.0, 5.0, None, 0.01), 0.05).startswith("no significant difference")

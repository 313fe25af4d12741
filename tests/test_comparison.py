"""nasbench.comparison: optimisers x seeds as real studies, traces, tables, rank tests, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasbench.comparison import (Comparison, OptimizerComparison, band_figure, run_trace, suggested_options,
                                  trial_epochs)
from nasbench.hypervolume import hypervolume
from nasbench.objectives import TrainingObjective


def _frame(rows):
    """A trials table as Study.trials_dataframe() gives it, for two minimised metrics."""
    cols = ["trial_id", "status", "values_f1", "values_f2", "metrics_epochs_trained", "metrics_intermediate"]
    return pd.DataFrame(rows, columns=cols)


def test_run_trace_counts_done_and_pruned_trials_in_trial_order():
    df = _frame([
        (2, "done", 0.2, 0.2, 3.0, None),
        (0, "done", 0.5, 0.5, 1.0, None),
        (1, "failed", np.nan, np.nan, np.nan, [[1, [9.0]], [2, [9.0]]]),  # trained 2 epochs, counts nothing
        (3, "pruned", 0.1, 0.9, np.nan, [[1, [0.1]]]),
        (4, "pending", np.nan, np.nan, np.nan, None),
    ])
    t = run_trace(df, {"f1": "minimize", "f2": "minimize"}, [1.0, 1.0])
    assert t["trial_id"].tolist() == [0, 1, 2, 3]
    assert t["evaluations"].tolist() == [1, 2, 3, 4]
    assert t["epochs"].tolist() == [1.0, 3.0, 6.0, 7.0]
    expected = [0.25, 0.25, 0.64, hypervolume(np.array([[0.2, 0.2], [0.1, 0.9]]), [1.0, 1.0])]
    np.testing.assert_allclose(t["hypervolume"], expected)
    assert t["best_f1"].tolist() == [0.5, 0.5, 0.2, 0.1]
    assert t["best_f2"].tolist() == [0.5, 0.5, 0.2, 0.2]


def test_run_trace_of_a_maximised_metric_and_points_outside_the_box():
    df = pd.DataFrame({"trial_id": [0, 1, 2], "status": ["done"] * 3, "values_acc": [0.5, 0.9, 0.7]})
    t = run_trace(df, {"acc": "maximize"}, [0.6])
    assert t["best_acc"].tolist() == [0.5, 0.9, 0.9]
    np.testing.assert_allclose(t["hypervolume"], [0.0, 0.3, 0.3])  # 0.5 is outside the reference box
    assert trial_epochs(df).tolist() == [0.0, 0.0, 0.0]


def test_a_comparison_runs_real_studies_and_a_rerun_reuses_them(tmp_path):
    cmp = Comparison(tmp_path, "zdt1", "nsga2, random", seeds=2, budget=24, problem_params={"n_var": 5})
    frames = cmp.run(show_progress=False)
    assert sorted(frames) == [("nsga2", 0), ("nsga2", 1), ("random", 0), ("random", 1)]
    assert all(len(df) == 24 and (df["status"] == "done").all() for df in frames.values())
    assert cmp.options["nsga2"] == {"config": {"population_size": 8}}  # sized to the budget
    assert (tmp_path / "nsga2" / "seed1" / "study.db").exists()
    final = cmp.final("hypervolume")
    for r in final.itertuples():  # the same hypervolume the study itself reports
        df = frames[(r.optimizer, r.seed)]
        F = df[["values_f1", "values_f2"]].to_numpy()
        inside = F[(F < 1.1).all(axis=1)]
        assert r.hypervolume == pytest.approx(hypervolume(inside, [1.1, 1.1]) if len(inside) else 0.0)
        assert r.trials == 24
    again = Comparison(tmp_path, "zdt1", "nsga2,random", seeds=2, budget=24, problem_params={"n_var": 5})
    frames2 = again.run(show_progress=False)
    for key, df in frames.items():  # reused, not re-run: identical tables, start times included
        pd.testing.assert_frame_equal(df, frames2[key])
    more = Comparison(tmp_path, "zdt1", ["random"], seeds=[1], budget=30, problem_params={"n_var": 5})
    df = more.run(show_progress=False)[("random", 1)]
    assert len(df) == 30 and df.iloc[:24].equals(frames[("random", 1)])  # a larger budget extends the run
    bands = cmp.bands("hypervolume")
    assert bands["cost"].tolist()[:3] == [1, 2, 3] and bands["cost"].max() == 24
    assert (bands["q25"] <= bands["median"]).all() and (bands["median"] <= bands["q75"]).all()
    fig = band_figure(bands, "hypervolume")
    assert {tr.line.shape for tr in fig.data} == {"hv"}  # step functions, not interpolated


def _constructed(tmp_path, losses: dict[str, list[list[float]]]) -> Comparison:
    """A comparison on learning_curve (one metric, loss, reference point 10) whose runs'
    trials are the given losses: the rank tests and the verdict see exactly these."""
    cmp = Comparison(tmp_path, "learning_curve", list(losses), seeds=len(next(iter(losses.values()))), budget=3,
                     unit="evaluations")
    for name, runs in losses.items():
        for seed, values in enumerate(runs):
            cmp._frames[(name, seed)] = pd.DataFrame({"trial_id": range(len(values)), "status": "done",
                                                      "values_loss": values, "started": 0.0, "finished": 1.0,
                                                      "duration": 0.5})
    return cmp


def test_tables_rank_tests_and_verdict_follow_the_data(tmp_path):
    # each run: its best x first, two worse trials, then a 4th (beyond the budget of 3) that would win
    runs = {"random": [3.0, 3.3, 3.1, 3.6, 3.2, 3.5], "nsga2": [1.0, 1.4, 1.2, 1.8, 1.6, 2.0],
            "bo": [1.1, 1.5, 1.3, 1.9, 1.7, 2.1]}
    losses = {k: [[x, x + 1, x + 2, 0.0] for x in v] for k, v in runs.items()}
    cmp = _constructed(tmp_path, losses)
    best = {k: [min(v[:3]) for v in runs] for k, runs in losses.items()}  # the budget is 3 trials
    table = cmp.final_table("best_loss").set_index("optimizer")
    for k, v in best.items():
        assert table.loc[k, "mean"] == pytest.approx(np.mean(v))
        assert table.loc[k, "se"] == pytest.approx(np.std(v, ddof=1) / np.sqrt(6))
        assert table.loc[k, "median"] == pytest.approx(np.median(v))
        assert table.loc[k, "IQR"] == pytest.approx(np.subtract(*np.percentile(v, [75, 25])))
    assert table.index[0] != "random" and table.index[-1] == "random"  # lower loss first
    tests = cmp.rank_tests("best_loss").set_index(["a", "b"])
    raw = {pair: stats.mannwhitneyu(best[pair[0]], best[pair[1]]).pvalue for pair in tests.index}
    assert tests["p_value"].to_dict() == pytest.approx(raw)
    order = sorted(raw, key=raw.get)  # Holm by hand: (m - i) p_(i), made monotone, capped at 1
    adjusted = np.minimum(1, np.maximum.accumulate([(3 - i) * raw[pair] for i, pair in enumerate(order)]))
    assert tests["p_holm"].to_dict() == pytest.approx(dict(zip(order, adjusted)))
    assert "random > nsga2" in tests.loc[("random", "nsga2"), "verdict"]
    verdict = cmp.verdict("best_loss")
    winner = table.index[0]
    assert f"{winner} has the best median best_loss ({table.loc[winner, 'median']:.4g}" in verdict
    assert "it beats random" in verdict and "not significantly different from" in verdict
    hv = cmp.final_table("hypervolume").set_index("optimizer")  # 10 - best loss
    assert hv.loc["random", "median"] == pytest.approx(10 - np.median(best["random"]))
    assert hv.index[0] == winner  # higher hypervolume first


def test_paired_rank_tests_use_wilcoxon_by_seed(tmp_path):
    losses = {"nsga2": [[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]], "bo": [[1.5], [2.6], [3.7], [4.8], [5.9], [7.0]]}
    cmp = _constructed(tmp_path, losses)
    tests = cmp.rank_tests("best_loss", paired=True)
    assert tests["test"].tolist() == ["Wilcoxon signed-rank"]
    assert tests["p_value"].iloc[0] == pytest.approx(stats.wilcoxon([1, 2, 3, 4, 5, 6], [1.5, 2.6, 3.7, 4.8, 5.9, 7]).pvalue)
    assert "nsga2 < bo" in tests["verdict"].iloc[0]


def test_an_epochs_budget_on_a_training_objective(tmp_path):
    objective = TrainingObjective("sinewave", "mlp", ["val_mse"], protocol={"max_epochs": 3}, n_samples=200)
    cmp = Comparison(tmp_path, objective, "random,hyperband", seeds=1, budget=10, reference_point=[10.0])
    assert cmp.unit == "epochs" and cmp.options["hyperband"] == {"max_fidelity": 3, "eta": 3}
    frames = cmp.run(show_progress=False)
    for df in frames.values():
        assert trial_epochs(df).sum() >= 10  # ran until the budget was spent
    hb = frames[("hyperband", 0)]
    assert set(hb["fidelity"].dropna()) <= {1, 3} and hb["warm_start"].notna().any()
    promoted = hb[hb["warm_start"].notna()]
    assert (promoted["metrics_epochs_trained"] == 2).all()  # 1 -> 3 epochs continues: 2 new ones
    final = cmp.final("best_val_mse").set_index("optimizer")
    assert (final["epochs"] <= 10).all()  # only trials that finished within the budget count
    t = run_trace(frames[("random", 0)], {"val_mse": "minimize"}, [10.0])
    within = t[t["epochs"] <= 10]
    assert final.loc["random", "best_val_mse"] == pytest.approx(within["best_val_mse"].iloc[-1])


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizers": "nsga2,cmaes"}, "unknown optimizer 'cmaes'; use one of"),
    ({"optimizers": ""}, "optimizers is empty; name at least one"),
    ({"seeds": 0}, "seeds (how many) must be an integer >= 1, got 0"),
    ({"seeds": [1, 1]}, "seeds must be distinct, got [1, 1]"),
    ({"seeds": []}, "seeds must be a count >= 1 (e.g. seeds=5) or a non-empty list"),
    ({"budget": 0}, "budget must be an integer >= 1, got 0"),
    ({"optimizers": "hyperband"}, "hyperband (hyperband) needs an objective with a fidelity (epochs)"),
    ({"options": {"bo": {}}}, "options for ['bo'], which is not among the optimizers"),
    ({"unit": "hours"}, "unit must be one of ['evaluations', 'epochs']"),
    ({"unit": "epochs"}, "unit='epochs' needs an objective that trains for epochs"),
    ({"objective": "zdt9"}, "unknown problem 'zdt9'; use one of"),
    ({"fresh": "yes"}, "fresh must be True or False"),
    ({"reference_point": [1.0]}, "reference_point needs 2 numbers"),
])
def test_bad_input_is_one_line_naming_the_fix(kwargs, message, tmp_path):
    args = {"objective": "zdt1", "optimizers": "nsga2", "seeds": 2, "budget": 10, **kwargs}
    with pytest.raises(ValueError) as info:
        Comparison(tmp_path, args.pop("objective"), args.pop("optimizers"), **args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_nothing_to_report_before_run_and_unknown_columns(tmp_path):
    cmp = Comparison(tmp_path, "zdt1", "random", seeds=1, budget=5)
    with pytest.raises(ValueError, match=r"call run\(\) first"):
        cmp.final()
    with pytest.raises(ValueError, match=r"unknown column 'best_x'; use one of \['hypervolume', 'best_f1', 'best_f2'\]"):
        cmp.final("best_x")


def test_suggested_options_size_populations_and_fidelities():
    objective = TrainingObjective("sinewave", "mlp", ["val_mse"], protocol={"max_epochs": 9})
    assert suggested_options("nsga2", 1000, None) == {"config": {"population_size": 100}}
    assert suggested_options("optuna_nsga2", 200, None) == {"population_size": 20}
    assert suggested_options("bohb", 100, objective, "epochs") == {"max_fidelity": 9, "eta": 3}
    assert suggested_options("bo", 100, None) == {}


def test_a_tie_for_the_best_median_names_no_winner(tmp_path):
    cmp = _constructed(tmp_path, {"nsga2": [[1.0], [2.0]], "random": [[1.0], [2.0]], "bo": [[3.0], [4.0]]})
    assert cmp.verdict("best_loss") == ("learning_curve, 3 evaluations: nsga2, random tie for the best median "
                                        "best_loss (1.5); no optimizer stands out.")


def test_the_notebook_recipe_checks_its_parameters_and_leaves_out_what_needs_epochs(tmp_path):
    recipe = OptimizerComparison(tmp_path, optimizers="nsga2,hyperband", problems="zdt1", seeds=2, budget=10,
                                 max_epochs=3, epochs_budget=6)
    synthetic = recipe.synthetic()["zdt1"]
    assert list(synthetic.optimizers) == ["nsga2"] and synthetic.objective.n_var == 10
    training = recipe.training()
    assert list(training.optimizers) == ["nsga2", "hyperband"] and training.unit == "epochs"
    assert training.options["hyperband"] == {"max_fidelity": 3, "eta": 3}
    assert recipe.plan()["left out (need epochs)"].tolist() == ["hyperband", ""]
    for kwargs, message in [({"dataset": "nope"}, "unknown dataset 'nope'"),
                            ({"problems": "zdt1,nope"}, "unknown problem 'nope'"),
                            ({"epochs_budget": 2}, "epochs_budget must be an integer >= 3, got 2")]:
        with pytest.raises(ValueError, match=message):
            OptimizerComparison(tmp_path, **{"optimizers": "nsga2", "max_epochs": 3, **kwargs})


@pytest.mark.slow
def test_notebook_04_runs_clean_on_tiny_parameters(tmp_path):
    """The comparison notebook (tests/test_notebooks.py holds its tiny parameters)."""
    import nbformat

    from nasbench.reports import render
    from tests.test_notebooks import NOTEBOOKS, TINY, errors

    name = "04_optimizer_comparison.ipynb"
    executed, html = render(NOTEBOOKS / name, {**TINY[name], "study_dir": str(tmp_path / "study")}, output_dir=tmp_path)
    assert errors(executed) == []
    text = html.read_text()
    assert "random search" in text  # says what "random" is
    assert text.count("seeds each:") + text.count("tie for the best median") == 3  # a computed verdict per objective
    nb = nbformat.read(executed, as_version=4)
    plots = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plots) == 3  # hypervolume bands on zdt1 and dtlz2, best validation error on the training objective

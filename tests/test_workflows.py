"""The seed recipes: frozen and validated, resumable, and they delete nothing nasbench did not create."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from nasbench import workflows
from nasbench.store import Store

TINY_NAS = dict(population=2, generations=1, max_epochs=1, folds=2)
TINY_GA = dict(population=2, generations=1, max_epochs=1, seeds=1)
TINY_JOINT = dict(seeds=1, trials=2, max_epochs=1, n_samples=300)  # mnist1d is the default; keeps it fast


def victim(path: Path) -> Path:
    """A folder of someone's files that no workflow may touch."""
    path.mkdir(parents=True)
    (path / "thesis.tex").write_text("x")
    return path


def intact(path: Path) -> bool:
    return sorted(p.name for p in path.iterdir()) == ["thesis.tex"] and (path / "thesis.tex").read_text() == "x"


def recipes(root: Path) -> list:
    """Each recipe pointed so that its (first) study directory is ``root``'s victim."""
    return [lambda fresh: workflows.EvolutionaryNAS(root / "nas", fresh=fresh, **TINY_NAS),
            lambda fresh: workflows.GAvsBaseline(root / "ga", fresh=fresh, **TINY_GA),
            lambda fresh: workflows.JointSearch(root / "joint", fresh=fresh, **TINY_JOINT)]


VICTIMS = {"nas": "nas", "ga": "ga/sinewave_noisy/seed0/ga", "joint": "joint/seed0"}


@pytest.mark.parametrize("fresh", [False, True])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_folder_that_is_not_a_study_survives_every_workflow(tmp_path, which, fresh):
    folder = victim(tmp_path / list(VICTIMS.values())[which])
    recipe = recipes(tmp_path)[which](fresh)
    with pytest.raises(ValueError, match="is not a nasbench study") as info:
        recipe.run()
    assert intact(folder) and "\n" not in str(info.value) and "choose" in str(info.value)


def test_a_study_with_foreign_files_is_resumed_but_never_made_fresh(tmp_path):
    recipe = workflows.GAvsBaseline(tmp_path, **TINY_GA)
    first = recipe.tables(recipe.run())
    (tmp_path / "sinewave_noisy" / "seed0" / "ga" / "notes.txt").write_text("mine")
    (tmp_path / "README").write_text("the root is not a sub-study")
    again = recipe.run()  # resuming touches nothing
    pd.testing.assert_frame_equal(again["GA"][0].trials_dataframe(), first["GA"][0])
    with pytest.raises(ValueError, match=r"holds files nasbench did not write \['notes.txt'\]"):
        dataclasses.replace(recipe, fresh=True).run()
    assert (tmp_path / "sinewave_noisy" / "seed0" / "ga" / "notes.txt").read_text() == "mine"
    assert Store.exists(tmp_path / "sinewave_noisy" / "seed0" / "ga") and (tmp_path / "README").is_file()


def test_rerun_resumes_and_more_generations_add_trials(tmp_path):
    recipe = workflows.EvolutionaryNAS(tmp_path / "s", **TINY_NAS)
    first = recipe.run().trials_dataframe()
    assert len(first) == 2 and (first["status"] == "done").all()
    again = workflows.EvolutionaryNAS(tmp_path / "s", **TINY_NAS).run().trials_dataframe()
    pd.testing.assert_frame_equal(again, first)  # same timings too: nothing re-evaluated
    longer = dataclasses.replace(recipe, generations=2).run().trials_dataframe()
    assert len(longer) == 4
    pd.testing.assert_frame_equal(longer.iloc[:2], first, check_dtype=False)  # NaN of inactive params


def test_fresh_deletes_only_what_nasbench_wrote(tmp_path):
    recipe = workflows.EvolutionaryNAS(tmp_path / "s", **TINY_NAS)
    first = recipe.run().trials_dataframe()
    assert sorted(p.name for p in (tmp_path / "s" / "models").iterdir()) == ["trial_000000.pt", "trial_000001.pt"]
    (tmp_path / "neighbour").mkdir()
    fresh = dataclasses.replace(recipe, fresh=True).run().trials_dataframe()
    assert (fresh["created"] > first["finished"].max()).all()  # evaluated again
    cols = ["trial_id", "values_val_top3_accuracy", "values_n_params", "config_hash"]
    pd.testing.assert_frame_equal(fresh[cols], first[cols])  # same seed, same table
    assert (tmp_path / "neighbour").is_dir()
    (tmp_path / "s" / "models" / "mine.pt").write_text("x")
    with pytest.raises(ValueError, match=r"holds files nasbench did not write \['models/mine.pt'\]"):
        dataclasses.replace(recipe, fresh=True).run()
    assert (tmp_path / "s" / "models" / "mine.pt").is_file()


def test_fresh_refuses_a_study_that_another_process_runs(tmp_path):
    from nasbench.store import StudyLocked

    recipe = workflows.GAvsBaseline(tmp_path, **TINY_GA)
    first = recipe.run()["GA"][0].trials_dataframe()
    store = Store.open(tmp_path / "sinewave_noisy" / "seed0" / "ga")
    with store.writer(), pytest.raises(StudyLocked, match="is being run by process"):
        dataclasses.replace(recipe, fresh=True).run()
    store.close()
    pd.testing.assert_frame_equal(workflows.open_study(tmp_path / "sinewave_noisy" / "seed0" / "ga").trials_dataframe(),
                                  first)


def test_joint_search_rerun_reuses_the_scored_baseline(tmp_path):
    recipe = workflows.JointSearch(tmp_path, **TINY_JOINT)
    studies, baseline = recipe.run()
    again_studies, again = recipe.run()
    pd.testing.assert_frame_equal(again, baseline)  # its seconds too: not scored again
    pd.testing.assert_frame_equal(again_studies[0].trials_dataframe(), studies[0].trials_dataframe())
    assert list(baseline.columns) == ["seed", "val_error", "test_accuracy", "seconds"]
    _, fresh = dataclasses.replace(recipe, fresh=True).run()
    assert fresh["val_error"].tolist() == baseline["val_error"].tolist()
    assert fresh["seconds"].tolist() != baseline["seconds"].tolist()


def test_recipes_are_frozen_and_return_their_results(tmp_path):
    recipe = workflows.GAvsBaseline(tmp_path, **TINY_GA)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.population = 3
    studies = recipe.run()
    assert sorted(studies) == ["GA", "bo"] and not hasattr(recipe, "studies")
    assert Store.exists(tmp_path / "sinewave_noisy" / "seed0" / "ga") and Store.exists(tmp_path / "sinewave_noisy" / "seed0" / "bo")
    assert not any(name.startswith("check_") for name in workflows.__all__)


@pytest.mark.parametrize("cls, kwargs, message", [
    (workflows.EvolutionaryNAS, {"image_size": "abc"},
     "image_size must be an integer >= 1 (or None: as the images come), got 'abc' (a str); pass an int"),
    (workflows.EvolutionaryNAS, {"image_size": 0}, "image_size must be an integer >= 1 (or None"),
    (workflows.JointSearch, {"image_size": -3}, "image_size must be an integer >= 1 (or None"),
    (workflows.EvolutionaryNAS, {"directory": 5},
     "study directory must be a path such as 'studies/01', got 5 (an int); pass a string"),
    (workflows.EvolutionaryNAS, {"seed": -1}, "seed must be an integer >= 0, got -1"),
    (workflows.GAvsBaseline, {"seed": "abc"}, "seed must be an integer >= 0, got 'abc' (a str); pass an int"),
    (workflows.EvolutionaryNAS, {"population": "10"},
     "population must be an integer >= 2, got '10' (a str); pass an int"),
    (workflows.EvolutionaryNAS, {"population": True}, "population must be an integer >= 2, got True (a bool)"),
    (workflows.EvolutionaryNAS, {"patience": 0}, "patience must be an integer >= 1, got 0"),
    (workflows.EvolutionaryNAS, {"evaluator": "gpu"}, "unknown evaluator 'gpu'; use one of ['inprocess', 'dask']"),
    (workflows.EvolutionaryNAS, {"dataset": "nope"}, "unknown dataset 'nope'; use one of"),
    (workflows.EvolutionaryNAS, {"fresh": "maybe"}, "fresh must be True or False, got 'maybe' (a str)"),
    (workflows.GAvsBaseline, {"fresh": 1}, "fresh must be True or False, got 1 (an int)"),
    (workflows.GAvsBaseline, {"tree_base": "x"}, "tree_base must be a number > 1 (larger explores more), got 'x'"),
    (workflows.GAvsBaseline, {"tree_base": 1.0}, "tree_base must be a number > 1 (larger explores more), got 1.0"),
    (workflows.GAvsBaseline, {"baseline": "cmaes"}, "unknown baseline 'cmaes'; use one of ['bo', 'bohb'"),
    (workflows.JointSearch, {"optimizer": "cmaes"}, "unknown optimizer 'cmaes'; use one of ['bo', 'bohb'"),
    (workflows.JointSearch, {"seeds": 0}, "seeds must be an integer >= 1, got 0"),
    (workflows.JointSearch, {"min_epochs": 0}, "min_epochs must be an integer >= 1, got 0"),
    (workflows.JointSearch, {"min_epochs": 10, "max_epochs": 9}, "min_epochs (10) must be <= max_epochs (9)"),
])
def test_bad_parameters_fail_in_one_line_naming_the_fix(cls, kwargs, message, tmp_path):
    kwargs = {"directory": tmp_path / "s", **kwargs}
    with pytest.raises(ValueError) as info:
        cls(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "s").exists()


def test_a_plain_file_as_study_dir(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"f.txt is a file, not a folder; give study_dir a folder"):
        workflows.EvolutionaryNAS(tmp_path / "f.txt")
    with pytest.raises(ValueError, match=r"is a file, not a folder"):
        workflows.JointSearch(tmp_path / "f.txt" / "sub")
    assert (tmp_path / "f.txt").read_text() == "x"


def test_reference_point_comes_from_the_objective_when_it_has_one():
    class WithBound:
        reference_point = (0.0, 123.0)

    assert workflows.reference_point_for(WithBound()) == [0.0, 123.0]
    objective = workflows.EvolutionaryNAS("unused", **TINY_NAS).objective()
    point = workflows.reference_point_for(objective)
    assert len(point) == 2 and point[0] == 0.0 and point[1] > 1e5  # accuracy 0, 1.1 x the largest model


# --- seed 004: JointSearch with BOHB, and the numbers behind its verdict ----------------------------------
def _run_frame(rows: list[tuple]) -> pd.DataFrame:
    """A trials table of (status, val_error, test_accuracy, epochs_trained, finished) rows."""
    return pd.DataFrame([{"trial_id": i, "status": s, "values_val_error": v, "metrics_test_accuracy": a,
                          "metrics_epochs_trained": e, "started": f - 1.0, "finished": f}
                         for i, (s, v, a, e, f) in enumerate(rows)])


def _constructed_runs(incumbent_accuracies: list[float]) -> dict[int, pd.DataFrame]:
    """One run per accuracy: its incumbent (lowest validation error) has that test accuracy;
    a worse-by-validation trial with a higher test accuracy must not be taken instead."""
    return {seed: _run_frame([("done", 0.30, 0.99, 1, 1.0), ("done", 0.10, acc, 9, 2.0), ("failed", None, None, 3, 3.0)])
            for seed, acc in enumerate(incumbent_accuracies)}


def test_verdict_counts_wins_and_gains_run_by_run():
    from nasbench import analysis

    baseline = pd.DataFrame({"seed": [0, 1, 2], "val_error": [0.2] * 3, "test_accuracy": [0.85, 0.85, 0.85]})
    table = analysis.incumbents_against_baseline(_constructed_runs([0.90, 0.80, 0.95]), baseline)
    assert table["incumbent trial"].tolist() == [1, 1, 1]
    assert table["beats baseline"].tolist() == [True, False, True]
    assert table["gain (points)"].round(6).tolist() == [5.0, -5.0, 10.0]
    verdict = analysis.baseline_verdict(table, "BOHB")
    assert (verdict["wins"], verdict["runs"], verdict["status"]) == (2, 3, "partly reproduced")
    assert verdict["mean_gain"] == pytest.approx(10 / 3) and verdict["median_gain"] == pytest.approx(5.0)
    assert verdict["sentence"].startswith("Partly reproduced: BOHB beat the baseline's test accuracy in 2 of 3 runs "
                                          "(mean gain +3.3 points, median +5.0")
    every = analysis.baseline_verdict(analysis.incumbents_against_baseline(_constructed_runs([0.9] * 3), baseline), "BOHB")
    assert every["status"] == "reproduced" and "in 3 of 3 runs (mean gain +5.0" in every["sentence"]
    none = analysis.baseline_verdict(analysis.incumbents_against_baseline(_constructed_runs([0.8, 0.85, 0.7]), baseline),
                                     "BOHB")  # a tie is no win
    assert none["wins"] == 0 and none["sentence"].startswith("Not reproduced: BOHB beat the baseline's test accuracy in "
                                                             "0 of 3 runs (mean gain -6.7 points, median -5.0")
    shown = analysis.incumbent_accuracy_table(table, "BOHB")
    assert shown["test accuracy (%)"].tolist() == ["85.0 ± 0.0", "88.3 ± 7.6"]  # sample std of 90, 80, 95


def test_verdict_needs_a_baseline_row_for_every_run():
    from nasbench import analysis

    baseline = pd.DataFrame({"seed": [0], "val_error": [0.2], "test_accuracy": [0.85]})
    with pytest.raises(ValueError, match="the baseline has no row for seed 1; score the baseline with every run's seed"):
        analysis.incumbents_against_baseline(_constructed_runs([0.9, 0.9]), baseline)


def test_better_than_the_baseline_caption_is_true_when_none_is_better():
    from nasbench import analysis

    trials = _run_frame([("done", 0.3, 0.7, 1, 1.0), ("done", 0.25, 0.75, 1, 2.0), ("done", 0.1, 0.9, 9, 3.0)])
    mask, caption = analysis.better_than(trials, "val_error", 0.05)
    assert not mask.any() and caption.startswith("None of the 3 trials is better than the baseline")
    mask, caption = analysis.better_than(trials, "val_error", 0.26)
    assert mask.tolist() == [False, True, True] and caption.startswith("2 of 3 trials (67 %) are better than the baseline")


def test_incumbent_over_epochs_counts_every_trial_spent():
    from nasbench import analysis

    run = _run_frame([("failed", None, None, 2, 1.0), ("done", 0.5, 0.5, 1, 2.0), ("pruned", 0.9, None, 3, 3.0),
                      ("done", 0.2, 0.8, 6, 4.0), ("done", 0.4, 0.6, 1, 5.0)])
    trace = analysis.incumbent_trace_by_epochs(run, "val_error")
    assert trace["epochs"].tolist() == [3.0, 6.0, 12.0, 13.0]  # the failed trial's 2 epochs count, it is no incumbent
    assert trace["incumbent"].tolist() == [0.5, 0.5, 0.2, 0.2]
    bands = analysis.incumbent_quartiles({0: run, 1: run}, "val_error", x="epochs")
    assert bands["median"].iloc[-1] == 0.2 and bands["epochs"].iloc[-1] == 13.0


def test_parallel_coordinates_axes_follow_the_space():
    from nasbench import plots
    from nasbench.space import preset

    space = preset("jahs_cnn")
    trials = pd.DataFrame([{**{f"params_{k}": v for k, v in space.default().items()}, "values_val_error": e,
                            "status": "done"} for e in (0.3, 0.2)])
    trials.loc[1, ["params_learning_rate", "params_n_filters", "params_batch_size"]] = [0.1, 128, 1024]
    order = ["learning_rate", "n_filters", "n_conv_layers", "batch_size"]
    fig = plots.parallel_coordinates_space(trials, space, order, "val_error", highlight=pd.Series([False, False]))
    dims = {d.label: d for d in fig.data[0].dimensions}
    assert list(dims["learning_rate"].values) == pytest.approx([-3.0, -1.0])  # log10 axis
    assert dims["learning_rate"].range == (-3.0, 0.0) and "0.001" in dims["learning_rate"].ticktext
    assert list(dims["n_filters"].ticktext) == ["8", "16", "32", "64", "128", "256"]
    assert list(dims["n_conv_layers"].tickvals) == [1.0, 2.0, 3.0]  # integers only
    assert list(dims["batch_size"].values) == [1, 4] and dims["batch_size"].ticktext[0] == "64"  # the space's order
    line = fig.data[0].line
    assert (line.cmin, line.cmax) == (0, 1) and list(line.color) == [0, 0]  # none highlighted: all grey
    fig = plots.parallel_coordinates_space(trials, space, order, "val_error", highlight=pd.Series([False, True]))
    assert "blue: 1 of 2 trials" in fig.layout.title.text


def test_joint_search_takes_any_registered_optimizer(tmp_path):
    from nasbench.optimizers import OPTIMIZERS

    with pytest.raises(ValueError, match=r"unknown optimizer 'cmaes'; use one of \['bo', 'bohb'"):
        workflows.JointSearch(tmp_path, optimizer="cmaes")
    with pytest.raises(ValueError, match="optimizer 'weighted_product' scalarises an accuracy and a model size .*; "
                                         "use it as mo_optimizer"):
        workflows.JointSearch(tmp_path, optimizer="weighted_product")
    for name in OPTIMIZERS:
        if name != "weighted_product":
            workflows.JointSearch(tmp_path, optimizer=name)
    recipe = workflows.JointSearch(tmp_path, max_epochs=9, eta=3, min_points_in_model=5)
    assert workflows._joint_options("bohb", recipe) == {"max_fidelity": 9, "eta": 3, "min_points_in_model": 5}
    assert workflows._joint_options("hyperband", recipe) == {"max_fidelity": 9, "eta": 3}
    higher = workflows.JointSearch(tmp_path, max_epochs=9, eta=3, min_epochs=3)
    assert workflows._joint_options("hyperband", higher) == {"max_fidelity": 9, "eta": 3, "min_fidelity": 3}
    assert workflows._joint_options("bohb", higher)["min_fidelity"] == 3
    assert workflows._joint_options("pbt", recipe) == {"config": {"max_epochs": 9}}
    assert recipe.mo_metrics == {"val_error": "minimize", "n_params": "minimize"}
    assert dataclasses.replace(recipe, mo_optimizer="weighted_product").mo_metrics == {"val_accuracy": "maximize",
                                                                                      "n_params": "minimize"}


@pytest.mark.slow  # trains 9 small random CNNs (about 30-60 s on a shared 2-core machine)
def test_joint_search_runs_bohb_on_the_epochs_fidelity(tmp_path):
    recipe = workflows.JointSearch(tmp_path, seeds=1, trials=5, max_epochs=3, eta=3, n_samples=200, mo_trials=3)
    studies, baseline = recipe.run()
    df = studies[0].trials_dataframe()
    assert df["fidelity"].tolist() == [1, 1, 1, 3, 3]  # bracket s=1: 3@1, then the best one continued to 3 epochs
    assert df["warm_start"].iloc[3] in (0, 1, 2) and df["metrics_epochs_trained"].iloc[3] == 2
    assert len(baseline) == 1 and 0 < baseline["test_accuracy"].iloc[0] < 1
    mo = recipe.run_multi_objective()
    assert list(mo.trials_dataframe().filter(like="values_").columns) == ["values_val_error", "values_n_params"]
    point = recipe.baseline_point(baseline)
    assert point["n_params"] == recipe.baseline_size() > 0 and point["val_error"] == baseline["val_error"].iloc[0]


# --- seed 003: the GA against a baseline over several seeds (helper h7) ---------------------------
TINY_GA_SEEDS = dict(population=2, generations=1, max_epochs=1, seeds=2, n_samples=60)


def test_ga_vs_baseline_runs_each_method_on_each_seed_and_resumes(tmp_path):
    recipe = workflows.GAvsBaseline(tmp_path, **TINY_GA_SEEDS)
    assert recipe.baseline == "bo" and recipe.dataset == "sinewave_noisy" and recipe.methods == ("GA", "bo")
    studies = recipe.run()
    assert {m: sorted(by_seed) for m, by_seed in studies.items()} == {"GA": [0, 1], "bo": [0, 1]}
    for method, folder in (("GA", "ga"), ("bo", "bo")):
        for seed in (0, 1):
            assert Store.exists(tmp_path / "sinewave_noisy" / f"seed{seed}" / folder)
            df = studies[method][seed].trials_dataframe()
            assert len(df) == recipe.trials == 2 and (df["status"] == "done").all()
            assert studies[method][seed].metrics[0].name == "val_mse"
    tables = recipe.tables(studies)
    assert not tables["GA"][0]["seed"].equals(tables["GA"][1]["seed"])  # the seeds are different runs
    again = recipe.tables(recipe.run())  # resumed: nothing trained again
    pd.testing.assert_frame_equal(again["bo"][1], tables["bo"][1])


def test_ga_vs_baseline_takes_any_registered_optimizer(tmp_path):
    from nasbench.optimizers import OPTIMIZERS

    for name in set(OPTIMIZERS) - {"ga"}:
        assert workflows.GAvsBaseline(tmp_path, baseline=name).methods == ("GA", name)
    with pytest.raises(ValueError, match=r"unknown baseline 'ga'"):  # the GA is the method itself, not a baseline
        workflows.GAvsBaseline(tmp_path, baseline="ga")
    hb = workflows.GAvsBaseline(tmp_path, baseline="hyperband", **{**TINY_GA_SEEDS, "seeds": 1, "max_epochs": 3})
    study = hb.run()["hyperband"][0]
    assert study.optimizer.max_fidelity == 3  # a multi-fidelity baseline gets max_epochs as its top rung
    with pytest.raises(ValueError, match=r"unknown baseline 'cmaes'; use one of \['bo', 'bohb'"):
        workflows.GAvsBaseline(tmp_path, baseline="cmaes")
    with pytest.raises(ValueError, match="seeds must be an integer >= 1, got 0"):
        workflows.GAvsBaseline(tmp_path, seeds=0)


def test_ga_vs_baseline_scores_classification_by_error(tmp_path):
    recipe = workflows.GAvsBaseline(tmp_path, dataset="digits")
    assert [m.name for m in recipe.objective().metrics] == ["val_error"]
    assert recipe.task == "digits" and workflows.GAvsBaseline(tmp_path).task.startswith("noisy sinewave")


def _runs(values: dict[str, list[float]]) -> dict:
    """Trials tables method -> seed -> df whose best val_mse per seed is the given value."""
    return {m: {s: pd.DataFrame({"trial_id": [0, 1, 2], "generation": [0, 0, 1], "status": ["done", "failed", "done"],
                                 "values_val_mse": [v + 1.0, float("nan"), v], "started": [0.5, 1.5, 2.5],
                                 "finished": [1.0, 2.0, 3.0],
                                 "params_activation": ["relu", "tanh", "gelu"], "params_n_layers": [1.0, 2.0, 3.0]})
                for s, v in enumerate(vs)} for m, vs in values.items()}


@pytest.mark.parametrize("ga, bo, claim, wins, p, outcome", [
    ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], "GA", 5, 2 / 252, "reproduced"),             # complete separation
    ([1, 2, 3, 4, 7], [5, 6, 8, 9, 10], "GA", 5, 8 / 252, "reproduced"),             # U = 2
    ([1, 3, 5, 7, 9], [2, 4, 6, 8, 10], "GA", 5, 0.6904761904761905, "same direction, not significant"),
    ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], "bo", 5, 2 / 252, "not reproduced"),
    ([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], "GA", 0, 2 / 252, "not reproduced"),
])
def test_method_vs_baseline_counts_wins_and_tests_the_claim(ga, bo, claim, wins, p, outcome):
    from nasbench import analysis

    best = analysis.best_by_seed(_runs({"GA": ga, "bo": bo}), "val_mse")
    assert best["GA"].tolist() == ga and best.index.tolist() == [0, 1, 2, 3, 4]
    result = analysis.method_vs_baseline(best, "GA", "bo", claim=claim, task="noisy sinewave", metric="val_mse")
    assert (result["wins"], result["losses"], result["ties"]) == (wins, 5 - wins, 0)
    assert result["p_value"] == pytest.approx(p) and result["outcome"] == outcome
    assert result["verdict"].startswith(f"noisy sinewave: GA had the lower best val_mse in {wins} of 5 seeds, bo in "
                                        f"{5 - wins} (median {sorted(ga)[2]} vs {sorted(bo)[2]}; ")
    assert result["verdict"].endswith(f"Mann-Whitney U, 5 runs each). Seed 003 found {claim} better than "
                                      f"{'bo' if claim == 'GA' else 'GA'} here: {outcome}.")
    with pytest.raises(ValueError, match="claim must name one of the two methods"):
        analysis.method_vs_baseline(best, "GA", "bo", claim="random", task="t", metric="val_mse")


def test_convergence_and_views_of_several_seeds():
    from nasbench import analysis, plots
    from nasbench.space import preset

    runs = _runs({"GA": [1.0, 3.0, 5.0], "bo": [2.0, 2.0, 2.0]})
    curves = analysis.convergence_over_seeds(runs, "val_mse")
    # best so far after each evaluation, per seed: [v+1, v+1 (a failure keeps it), v]; median over seeds 1, 3, 5
    assert curves["GA"]["median"].tolist() == [4.0, 4.0, 3.0] and curves["GA"]["q25"].tolist() == [3.0, 3.0, 2.0]
    assert curves["bo"]["evaluations"].tolist() == [1, 2, 3] and curves["bo"]["runs"].tolist() == [3, 3, 3]
    fig = plots.convergence_steps(curves, "val_mse")
    assert {t.line.shape for t in fig.data} == {"hv"} and len(fig.data) == 6  # band edges and median, per method
    top = analysis.top_trials_over_seeds(runs, "val_mse", k=3)
    assert top["name"].tolist() == ["GA-s0-1-2", "GA-s0-0-0", "bo-s0-2"] and top["seed"].tolist() == [0, 0, 0]
    assert top["activation"].tolist() == ["gelu", "relu", "gelu"] and str(top["n_layers"].dtype) == "Int64"
    space = preset("mlp")
    info = analysis.hyperparameter_evolution_named(runs["GA"][0].assign(params_n_neurons=[16, 32, 64],
                                                                        params_dropout=[0.0, 0.1, 0.2]),
                                                   space, "val_mse")
    acts = info[info["parameter"] == "activation"]["value"].tolist()
    assert acts == ["relu", "gelu"] and info.attrs["categories"]["activation"][:2] == ["relu", "leakyrelu"]
    fig = plots.hyperparameter_evolution_named(info)
    assert fig.layout.yaxis3.type == "category" and list(fig.layout.yaxis3.categoryarray) == list(space["activation"].choices)
    assert fig.layout.yaxis5.type == "log"  # the metric row


# --- seed 000: EvolutionaryNAS with baselines and reference networks, and its verdicts (helper h6) -----------
ACC = {"val_top3_accuracy": "maximize", "n_params": "minimize"}


def _plane(points: list[tuple[float, float]], status: list[str] | None = None) -> pd.DataFrame:
    """A trials table of (top-3 accuracy, parameters) points; trial 0 is the default."""
    return pd.DataFrame({"trial_id": range(len(points)), "status": status or ["done"] * len(points),
                         "values_val_top3_accuracy": [a for a, _ in points], "values_n_params": [n for _, n in points],
                         "started": range(len(points)), "finished": range(1, len(points) + 1),
                         "elapsed": range(1, len(points) + 1)})


def test_dominance_count_against_the_default_is_computed_from_the_table():
    from nasbench import analysis

    default = {"val_top3_accuracy": 0.8, "n_params": 1000.0}
    df = _plane([(0.8, 1000), (0.9, 500), (0.8, 900), (0.85, 1000), (0.95, 2000), (0.7, 100), (0.99, 10)],
                status=["done"] * 6 + ["failed"])
    verdict = analysis.default_verdict(df, ACC, default)
    # (0.9, 500) better in both; (0.8, 900) and (0.85, 1000) dominate with a tie; the default never dominates itself
    assert (verdict["dominating"], verdict["strictly_better"], verdict["trials"]) == (3, 1, 6)
    assert verdict["reproduced"] and verdict["sentence"].startswith("Reproduced: 3 of 6 models dominate the default "
                                                                     "(val_top3_accuracy 0.800, n_params 1,000), 1 of")
    none = analysis.default_verdict(df.iloc[[0, 2, 4, 5]], ACC, default)
    assert (none["dominating"], none["strictly_better"], none["reproduced"]) == (1, 0, False)
    assert none["sentence"].startswith("Not reproduced: 1 of 4 models")


def test_hypervolumes_of_methods_and_the_verdict_on_them():
    from nasbench import analysis

    ref = [0.0, 1000.0]  # box from (accuracy 1, 0 parameters) to the reference point: 1 x 1000
    frames = {"NSGA-II": _plane([(0.5, 500), (0.8, 800)]), "random": _plane([(0.5, 600)]),
              "tpe": _plane([(0.6, 500)])}
    table = analysis.method_hypervolumes(frames, ACC, ref)
    # NSGA-II: 0.5 x 500 + (0.8 - 0.5) x 200 = 310; random 0.5 x 400 = 200; tpe 0.6 x 500 = 300
    assert table["hypervolume"].to_dict() == pytest.approx({"NSGA-II": 310.0, "random": 200.0, "tpe": 300.0})
    assert table["share of reference box"]["NSGA-II"] == pytest.approx(0.31)
    # all trials together: (0.6, 500) and (0.8, 800): 0.6 x 500 + (0.8 - 0.6) x 200 = 340
    assert table["share of best known"]["tpe"] == pytest.approx(300 / 340)
    assert table["rank"].tolist() == [1, 3, 2]
    won = analysis.hypervolume_verdict(table, "NSGA-II")
    assert won["reproduced"] and won["beaten"] == ["random", "tpe"]
    assert won["sentence"].startswith("Reproduced: NSGA-II beat 2 of 2 baselines by hypervolume (share of the "
                                      "reference box: NSGA-II 31.00 %, random 20.00 %, tpe 30.00 %")
    lost = analysis.hypervolume_verdict(analysis.method_hypervolumes({**frames, "tpe": _plane([(0.7, 400)])}, ACC, ref),
                                        "NSGA-II")
    assert not lost["reproduced"] and lost["beaten"] == ["random"] and lost["sentence"].startswith("Not reproduced: "
                                                                                                   "NSGA-II beat 1 of 2")
    traces = analysis.hypervolume_traces(frames, ACC, ref)
    assert traces["NSGA-II"]["hypervolume_fraction"].tolist() == pytest.approx([0.25, 0.31])
    # the default (trial 0) alone: 250 of 310
    assert analysis.default_share(frames["NSGA-II"], ACC, ref) == pytest.approx(250 / 310)


def test_similarity_to_the_reference_networks_in_both_metrics():
    from nasbench import analysis

    df = _plane([(0.80, 1000), (0.905, 3000), (0.95, 9000), (0.96, 50_000)])
    refs = {"ResNet-like": {"val_top3_accuracy": 0.91, "n_params": 60_000.0},
            "AlexNet-like": {"val_top3_accuracy": 0.97, "n_params": 40_000.0}}
    verdict = analysis.reference_verdict(df, ACC, refs, accuracy="val_top3_accuracy")
    # ResNet-like: the smallest within 0.01 is trial 1 (3000 = 0.05 x); AlexNet-like: trial 3, 1.25 x its size
    assert verdict["per_reference"] == {"ResNet-like": True, "AlexNet-like": False} and not verdict["reproduced"]
    assert verdict["sentence"] == ("Partly reproduced: ResNet-like (val_top3_accuracy 0.910, n_params 60,000): trial 1 "
                                   "reaches 0.905 with 0.05 x its parameters; AlexNet-like (val_top3_accuracy 0.970, "
                                   "n_params 40,000): trial 3 reaches 0.960 with 1.25 x its parameters.")
    far = analysis.reference_verdict(df.iloc[:2], ACC, {"AlexNet-like": refs["AlexNet-like"]}, accuracy="val_top3_accuracy")
    assert far["sentence"].startswith("Not reproduced: AlexNet-like") and "the best found is 0.065 below" in far["sentence"]


@pytest.mark.slow  # trains two reference networks and a random-search study (about 10 s idle)
def test_evolutionary_nas_runs_its_baselines_and_reference_networks(tmp_path):
    recipe = workflows.EvolutionaryNAS(tmp_path / "nas", dataset="mnist1d", n_samples=120, baselines="random",
                                       **TINY_NAS)
    assert recipe.baselines == ("random",) and recipe.trials == 2
    studies = recipe.run_baselines()
    assert list(studies) == ["random"] and (tmp_path / "nas-random" / "study.db").is_file()
    assert studies["random"].settings.optimizer == "random" and len(studies["random"].trials_dataframe()) == 2
    assert studies["random"].reference_point == workflows.reference_point_for(recipe.objective())
    refs = recipe.train_references()
    assert refs["name"].tolist() == ["ResNet-like", "AlexNet-like"]
    assert refs["values_n_params"].tolist() == [61210.0, 221642.0] and refs["values_val_top3_accuracy"].between(0, 1).all()
    again = recipe.train_references()  # read back, not retrained
    pd.testing.assert_frame_equal(again, refs)
    (tmp_path / "nas-references" / "mine.txt").write_text("x")
    with pytest.raises(ValueError, match=r"holds files nasbench did not write \['mine.txt'\]"):
        dataclasses.replace(recipe, fresh=True).train_references()


def test_evolutionary_nas_refuses_an_unknown_baseline():
    with pytest.raises(ValueError, match=r"unknown baseline 'cmaes'; use one of \['nsga2_async'"):
        workflows.EvolutionaryNAS("unused", baselines="random,cmaes")


@pytest.mark.parametrize("make", [
    lambda root, threads: workflows.EvolutionaryNAS(root, threads=threads, **TINY_NAS).objective(),
    lambda root, threads: workflows.GAvsBaseline(root, threads=threads, **TINY_GA).objective(),
    lambda root, threads: workflows.GAvsBaseline(root, dataset="mnist1d", n_samples=200, threads=threads,
                                                 **TINY_GA).objective(),  # the classification branch
    lambda root, threads: workflows.JointSearch(root, threads=threads, **TINY_JOINT).objective(),
    lambda root, threads: (lambda r: r.objective(r.mo_metrics))(workflows.JointSearch(root, threads=threads,
                                                                                      **TINY_JOINT)),
])
def test_threads_reach_the_objective_of_every_recipe(make, tmp_path):
    assert make(tmp_path, 2).threads == 2 and make(tmp_path, 2).spec()["training"]["threads"] == 2
    assert make(tmp_path, None).threads is None  # the default: picked per trial from the free cores


def test_a_recipe_with_fixed_threads_records_them_on_every_trial(tmp_path):
    recipe = workflows.GAvsBaseline(tmp_path, threads=1, **TINY_GA)
    df = recipe.run(show_progress=False)["GA"][0].trials_dataframe()
    assert len(df) == 2 and df["metrics_threads"].tolist() == [1, 1]


@pytest.mark.parametrize("threads, message", [
    (0, "threads must be an integer >= 1 (or None: picked per trial from the free cores), got 0; pass an int"),
    ("2", "threads must be an integer >= 1 (or None: picked per trial from the free cores), got '2' (a str)"),
    (True, "got True (a bool)"),
])
def test_bad_threads_fail_in_one_line_naming_the_fix(threads, message, tmp_path):
    for cls in (workflows.EvolutionaryNAS, workflows.GAvsBaseline, workflows.JointSearch):
        with pytest.raises(ValueError) as info:
            cls(tmp_path / "s", threads=threads)
        assert message in str(info.value) and "\n" not in str(info.value)

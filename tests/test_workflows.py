"""The seed recipes: frozen and validated, resumable, and they delete nothing nasbench did not create."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from nasbench import workflows
from nasbench.store import Store

TINY_NAS = dict(population=2, generations=1, max_epochs=1, folds=2)
TINY_GA = dict(population=2, generations=1, max_epochs=1)
TINY_JOINT = dict(seeds=1, trials=2, max_epochs=1)


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


VICTIMS = {"nas": "nas", "ga": "ga/sinewave/ga", "joint": "joint/seed0"}


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
    first = {k: s.trials_dataframe() for k, s in recipe.run().items()}
    (tmp_path / "sinewave" / "ga" / "notes.txt").write_text("mine")
    (tmp_path / "README").write_text("the root is not a sub-study")
    again = recipe.run()  # resuming touches nothing
    pd.testing.assert_frame_equal(again["GA"].trials_dataframe(), first["GA"])
    with pytest.raises(ValueError, match=r"holds files nasbench did not write \['notes.txt'\]"):
        dataclasses.replace(recipe, fresh=True).run()
    assert (tmp_path / "sinewave" / "ga" / "notes.txt").read_text() == "mine"
    assert Store.exists(tmp_path / "sinewave" / "ga") and (tmp_path / "README").is_file()


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
    first = recipe.run()["GA"].trials_dataframe()
    store = Store.open(tmp_path / "sinewave" / "ga")
    with store.writer(), pytest.raises(StudyLocked, match="is being run by process"):
        dataclasses.replace(recipe, fresh=True).run()
    store.close()
    pd.testing.assert_frame_equal(workflows.open_study(tmp_path / "sinewave" / "ga").trials_dataframe(), first)


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
    assert sorted(studies) == ["GA", "random"] and not hasattr(recipe, "studies")
    assert Store.exists(tmp_path / "sinewave" / "ga") and Store.exists(tmp_path / "sinewave" / "random")
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
    (workflows.GAvsBaseline, {"baseline": "bo"}, "unknown baseline 'bo'; use one of ['random']"),
    (workflows.JointSearch, {"optimizer": "cmaes"}, "unknown optimizer 'cmaes'; use one of ['random', 'nsga2']"),
    (workflows.JointSearch, {"seeds": 0}, "seeds must be an integer >= 1, got 0"),
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

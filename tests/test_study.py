from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from nasbench.objectives import ZDT1
from nasbench.space import Float, Integer, SearchSpace
from nasbench.store import StoreError
from nasbench.study import Study, trial_seed

TIMING = ["created", "started", "finished", "duration"]
N_TRIALS, POP = 50, 10


def make(directory, **kwargs):
    kwargs.setdefault("optimizer_options", {"config": {"population_size": POP}})
    return Study.create(directory, ZDT1(n_var=5), seed=3, **kwargs)


def table(study) -> pd.DataFrame:
    return study.trials_dataframe().drop(columns=TIMING)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: the trials table, populations and optimiser state."""
    study = make(tmp_path_factory.mktemp("ref") / "s")
    study.optimize(N_TRIALS, show_progress=False)
    return table(study), study.generations(), study.optimizer.state_dict()


# A child process that runs the same study and SIGKILLs itself: after the k-th SQL
# statement (``sql``: lands inside or between transactions, mid-commit included) or
# after the k-th finished trial, each committed on its own (``trial``: mid-generation).
CHILD = textwrap.dedent("""
    import os, signal, sys
    from nasbench.objectives import ZDT1
    from nasbench.study import Study

    mode, k, directory, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    Study.commit_interval = 0.0 if mode == "trial" else Study.commit_interval  # one commit per result
    if mode == "resume":
        study = Study.load(directory)
    else:
        study = Study.create(directory, ZDT1(n_var=5), seed=3,
                             optimizer_options={"config": {"population_size": 10}})

    class Killing:
        def __init__(self, conn):
            self.conn, self.count = conn, 0
        def _tick(self):
            self.count += 1
            if self.count == k:
                os.kill(os.getpid(), signal.SIGKILL)
        def execute(self, *a):
            out = self.conn.execute(*a)
            self._tick()
            return out
        def executemany(self, *a):
            out = self.conn.executemany(*a)
            self._tick()
            return out
        def __getattr__(self, name):
            return getattr(self.conn, name)

    callbacks = []
    if mode in ("sql", "resume"):
        study._store._conn = Killing(study._store._conn)
    else:
        callbacks.append(lambda s, t: t.trial_id + 1 == k and os.kill(os.getpid(), signal.SIGKILL))
    if mode == "resume":
        study.resume(show_progress=False)
    else:
        study.optimize(n, callbacks=callbacks, show_progress=False)
    sys.exit(3)  # not killed: the test asked for a point beyond the run
""")


def run_child(tmp_path, *args) -> int:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, timeout=120).returncode


def assert_like_reference(directory, reference, k=None):
    ref_table, ref_generations, ref_state = reference
    study = Study.load(directory)
    if study._settings_target() == 0:  # killed before optimize() recorded its budget: run it again
        assert k is not None and k <= 4
        study.optimize(N_TRIALS, show_progress=False)
    study.resume(show_progress=False)
    pd.testing.assert_frame_equal(table(study), ref_table)
    assert study.generations() == ref_generations
    assert study.optimizer.state_dict() == ref_state
    assert study._store.counts() == {"pending": 0, "done": N_TRIALS, "failed": 0}


# with this study (results of a generation committed together), statement 4 is the budget's
# UPDATE, 10 the pending trials' INSERT inside the ask transaction, 11 the optimiser state in it,
# 12 its COMMIT; 14 the results' UPDATE, 15 its COMMIT; 17-19 the tell transaction (state,
# generation, COMMIT); the others fall in later generations (13 statements each)
@pytest.mark.parametrize("k", [4, 6, 10, 11, 12, 14, 15, 17, 18, 19, 28, 37, 46, 58, 70])
def test_sigkill_at_any_sql_statement_then_resume_equals_uninterrupted(tmp_path, reference, k):
    directory = tmp_path / "s"
    assert run_child(tmp_path, "sql", k, directory, N_TRIALS) == -9
    assert_like_reference(directory, reference, k)


@pytest.mark.parametrize("k", [1, 10, 13, 29, 49])
def test_sigkill_mid_generation_then_resume_equals_uninterrupted(tmp_path, reference, k):
    directory = tmp_path / "s"
    assert run_child(tmp_path, "trial", k, directory, N_TRIALS) == -9
    assert_like_reference(directory, reference)


def test_killed_twice_including_during_resume(tmp_path, reference):
    directory = tmp_path / "s"
    assert run_child(tmp_path, "trial", 17, directory, N_TRIALS) == -9
    assert run_child(tmp_path, "resume", 25, directory, 0) == -9
    assert_like_reference(directory, reference)


def test_optimize_in_steps_equals_one_run(tmp_path, reference):
    study = make(tmp_path / "s")
    study.optimize(17, show_progress=False)
    study.optimize(N_TRIALS - 17, show_progress=False)
    pd.testing.assert_frame_equal(table(study), reference[0])


def test_timeout_leaves_trials_pending_and_resume_finishes_them(tmp_path, reference):
    study = make(tmp_path / "s")
    study.optimize(N_TRIALS, timeout=0.0, show_progress=False)
    assert study._store.next_trial_id() == 0  # out of time before the first batch
    slow_calls = []

    def slow(config, seed):
        slow_calls.append(1)
        if len(slow_calls) == 3:
            import time
            time.sleep(0.3)
        return ZDT1(n_var=5)(config, seed)

    study = Study.load(tmp_path / "s", objective=slow)
    study.optimize(N_TRIALS, timeout=0.2, show_progress=False)
    counts = study._store.counts()
    assert counts["pending"] > 0 and counts["done"] >= 3
    study.close()
    assert_like_reference(tmp_path / "s", reference)


def test_trial_seeds_derive_from_study_seed_and_trial_id(tmp_path):
    study = make(tmp_path / "s")
    study.optimize(12, show_progress=False)
    df = study.trials_dataframe()
    expected = [int(np.random.SeedSequence(3, spawn_key=(i,)).generate_state(1, np.uint32)[0]) for i in range(12)]
    assert df["seed"].tolist() == expected == [trial_seed(3, i) for i in range(12)]
    assert len(set(expected)) == 12


def test_failing_and_nan_trials_are_recorded_and_the_study_goes_on(tmp_path):
    space = SearchSpace((Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)))

    def objective(config, seed):
        if config["x"] < 0.2:
            raise RuntimeError("diverged")
        if config["x"] > 0.8:
            return {"a": float("nan"), "b": 1.0}
        return {"a": config["x"], "b": 1 - config["x"] + config["y"]}

    study = Study.create(tmp_path / "s", objective, space=space, metrics=["a", "b"],
                         optimizer_options={"config": {"population_size": 8}}, reference_point=[2, 3])
    study.optimize(40, show_progress=False)
    df = study.trials_dataframe()
    failed = df[df["status"] == "failed"]
    assert len(failed) > 0 and (df["status"] == "done").sum() > 0
    raised = failed[failed["params_x"] < 0.2]
    assert raised["error"].str.startswith("RuntimeError: diverged").all()
    nan = failed[failed["params_x"] > 0.8]
    assert nan["error"].str.contains("non-finite value for \\['a'\\]").all()
    assert len(raised) and len(nan)
    population = study.population()
    assert (population["status"] == "done").all()  # failed trials never survive
    assert study.hypervolume() > 0


def test_maximised_metric_is_converted_once(tmp_path):
    space = SearchSpace((Integer("n", 0, 100),))
    study = Study.create(tmp_path / "s", lambda c, s: {"score": c["n"]}, space=space,
                         metrics={"score": "maximize"}, optimizer="ga", seed=0, reference_point=[-1.0])
    study.optimize(60, show_progress=False)
    df = study.trials_dataframe()
    assert df["values_score"].max() == 100  # the GA climbs to the top
    assert set(study.pareto_front()["values_score"]) == {100}  # the GA keeps duplicates
    assert study.hypervolume() == 101.0  # 1-D: distance from the best to the reference point


def test_trials_dataframe_columns(tmp_path):
    study = make(tmp_path / "s")
    study.optimize(10, show_progress=False)
    df = study.trials_dataframe()
    for col in ["trial_id", "generation", "status", "values_f1", "values_f2", "params_x0", "parents", "seed",
                "config_hash", "error", "started", "finished", "duration"]:
        assert col in df.columns
    assert df["trial_id"].tolist() == list(range(10))
    assert (df["generation"] == 0).all()


def test_callbacks_see_every_trial(tmp_path):
    seen = []
    study = make(tmp_path / "s")
    study.optimize(15, callbacks=[lambda s, t: seen.append((t.trial_id, t.status))], show_progress=False)
    assert seen == [(i, "done") for i in range(15)]


def test_random_search_and_ga_run(tmp_path):
    study = Study.create(tmp_path / "r", ZDT1(n_var=3), optimizer="random", seed=1)
    study.optimize(7, show_progress=False)
    assert study._store.counts()["done"] == 7
    space = SearchSpace((Integer("a", 0, 10), Float("b", -1, 1)))
    ga = Study.create(tmp_path / "g", lambda c, s: (c["a"] - 7) ** 2 + c["b"] ** 2, space=space, metrics=["loss"],
                      optimizer="ga", optimizer_options={"config": {"population_size": 6}}, seed=2)
    ga.optimize(120, show_progress=False)
    df = ga.trials_dataframe()
    assert df["values_loss"].min() < 0.05
    first, last = df[df["generation"] == 0]["values_loss"].median(), df[df["generation"] == 19]["values_loss"].median()
    assert last < first


# --- bad input -------------------------------------------------------------------------------------
def test_directory_that_is_not_a_study(tmp_path):
    with pytest.raises(StoreError, match="is not a nasbench study .*point at a study directory"):
        Study.load(tmp_path)
    with pytest.raises(StoreError, match="does not exist; create a study there first"):
        Study.load(tmp_path / "nothing")
    (tmp_path / "study.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable study database"):
        Study.load(tmp_path)


def test_store_from_a_newer_version(tmp_path):
    make(tmp_path / "s").close()
    with sqlite3.connect(tmp_path / "s" / "study.db") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"store schema 99.*upgrade nasbench"):
        Study.load(tmp_path / "s")


def test_create_over_an_existing_study(tmp_path):
    make(tmp_path / "s").optimize(5, show_progress=False)
    with pytest.raises(StoreError, match="already holds a study"):
        make(tmp_path / "s")
    again = make(tmp_path / "s", load_if_exists=True)
    assert again._store.counts()["done"] == 5
    with pytest.raises(ValueError, match="holds a study with other optimizer, seed; load it as it is"):
        Study.create(tmp_path / "s", ZDT1(n_var=5), seed=4, load_if_exists=True)


@pytest.mark.parametrize("kwargs, message", [
    (dict(objective=42), "objective must be callable"),
    (dict(objective=lambda c, s: 1.0), "needs space=... and metrics="),
    (dict(objective=ZDT1(), reference_point=[1.0]), "reference_point needs 2 finite values"),
    (dict(objective=ZDT1(), optimizer="cmaes"), "unknown optimizer 'cmaes'"),
    (dict(objective=ZDT1(), optimizer_options={"config": {"population_size": 1}}), "population_size must be an integer >= 2, got 1"),
    (dict(objective=ZDT1(), optimizer_options={"config": {"popsize": 10}}), r"unknown EvolutionConfig settings \['popsize'\]"),
    (dict(objective=ZDT1(), optimizer_options={"config": {"parent_selection": "alternating"}}), "needs size_objective"),
    (dict(objective=ZDT1(), metrics={"f1": "minimise", "f2": "minimize"}), "direction must be 'minimize' or 'maximize'"),
])
def test_bad_study_arguments(tmp_path, kwargs, message):
    objective = kwargs.pop("objective")
    with pytest.raises(ValueError, match=message):
        Study.create(tmp_path / "s", objective, **kwargs)
    assert not (tmp_path / "s" / "study.db").exists()  # nothing written


def test_unrebuildable_objective_must_be_passed_again(tmp_path):
    space = SearchSpace((Float("x", 0, 1),))
    Study.create(tmp_path / "s", lambda c, s: c["x"], space=space, metrics=["x"]).close()
    study = Study.load(tmp_path / "s")
    with pytest.raises(ValueError, match=r"pass it again: Study.load\(directory, objective=...\)"):
        study.optimize(1, show_progress=False)


def test_optimize_needs_a_budget(tmp_path):
    with pytest.raises(ValueError, match="give n_trials"):
        make(tmp_path / "s").optimize()
    with pytest.raises(ValueError, match="non-negative integer"):
        make(tmp_path / "t").optimize(-1)


def test_summary(tmp_path):
    study = make(tmp_path / "s")
    study.optimize(30, show_progress=False)
    s = study.summary()
    assert s["trials"] == {"pending": 0, "done": 30, "failed": 0}
    assert s["optimizer"] == "nsga2" and s["generation"] == 3 and s["metrics"] == {"f1": "minimize", "f2": "minimize"}
    assert s["reference_point"] == [1.1, 1.1]
    assert math.isfinite(s["hypervolume"])
    assert len(s["pareto_front"]) >= 1

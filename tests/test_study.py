from __future__ import annotations

import math
import os
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


#: the studies the resume tests run: NSGA-II on ZDT1, and seed 003's GA on ZDT1's f2
KINDS = {
    "nsga2": dict(optimizer_options={"config": {"population_size": POP}}),
    "ga": dict(optimizer="ga", metrics=["f2"], optimizer_options={"config": {"population_size": 5}}),
    "async": dict(optimizer="nsga2_async", optimizer_options={"config": {"population_size": POP}}),
    "random_async": dict(optimizer="random", optimizer_options={"asynchronous": True}),
}


def make(directory, kind="nsga2", **kwargs):
    for key, value in KINDS[kind].items():
        kwargs.setdefault(key, value)
    kwargs.setdefault("seed", 3)
    return Study.create(directory, ZDT1(n_var=5), **kwargs)


def table(study) -> pd.DataFrame:
    return study.trials_dataframe().drop(columns=TIMING)


def _reference(directory, kind):
    study = make(directory / "s", kind)
    study.optimize(N_TRIALS, show_progress=False)
    return table(study), study.generations(), study.optimizer.state_dict()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: the trials table, populations and optimiser state."""
    return _reference(tmp_path_factory.mktemp("ref"), "nsga2")


@pytest.fixture(scope="module")
def ga_reference(tmp_path_factory):
    return _reference(tmp_path_factory.mktemp("ga_ref"), "ga")


# A child process that runs the same study and SIGKILLs itself: after the k-th SQL
# statement (``sql``: lands inside or between transactions, mid-commit included) or
# after the k-th finished trial, each committed on its own (``trial``: mid-generation).
CHILD = textwrap.dedent("""
    import os, signal, sys
    from nasbench.objectives import ZDT1
    from nasbench.study import Study

    mode, k, directory, n, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    from nasbench.loop import StudyLoop
    StudyLoop.commit_interval = 0.0 if mode == "trial" else StudyLoop.commit_interval  # one commit per result
    if mode == "resume":
        study = Study.load(directory)
    else:
        sys.path.insert(0, os.environ["NASBENCH_TESTS"])
        from test_study import make
        study = make(directory, kind)

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


def run_child(tmp_path, mode, k, directory, n, kind="nsga2") -> int:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "NASBENCH_TESTS": os.path.dirname(__file__)}
    return subprocess.run([sys.executable, str(script), mode, str(k), str(directory), str(n), kind],
                          capture_output=True, timeout=120, env=env).returncode


def assert_like_reference(directory, reference, k=None):
    ref_table, ref_generations, ref_state = reference
    study = Study.load(directory)
    if study.target_trials == 0:  # killed before optimize() recorded its budget: run it again
        assert k is not None and k <= 4
        study.optimize(N_TRIALS, show_progress=False)
    study.resume(show_progress=False)
    pd.testing.assert_frame_equal(table(study), ref_table)
    assert study.generations() == ref_generations
    assert study.optimizer.state_dict() == ref_state
    assert study._store.counts() == {"pending": 0, "done": N_TRIALS, "failed": 0, "pruned": 0}


# with this study (results of a generation committed together), statements 3-5 are the budget's
# transaction (4 its INSERT, 5 its COMMIT); 11-15 the first ask transaction (12 the id check, 13 the
# pending trials' INSERT, 14 the optimiser state, 15 COMMIT); 16-18 the results' (17 UPDATE, 18 COMMIT);
# from the second generation on, the ask transaction also writes the generation the tell before it
# ended (22-27: 24 INSERT, 25 state, 26 generation, 27 COMMIT; 12 statements a generation); after the
# last results (66) the state after the last tell and its generation are written alone (68-71). The
# listing comes from wrapping the connection as CHILD does and printing each statement.
@pytest.mark.parametrize("k", [4, 5, 6, 12, 13, 14, 15, 17, 18, 20, 24, 25, 26, 27, 29, 30, 41, 52, 66, 69, 70, 71])
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


# seed 003's GA (generations of 5, elitism): killed inside the ask, results and tell transactions
# of the first generations, and after single trials mid-generation
@pytest.mark.parametrize("mode, k", [("sql", 5), ("sql", 13), ("sql", 15), ("sql", 18), ("sql", 21), ("sql", 37),
                                     ("trial", 3), ("trial", 12), ("trial", 31)])
def test_ga_resumes_from_sigkill_to_the_uninterrupted_run(tmp_path, ga_reference, mode, k):
    directory = tmp_path / "s"
    assert run_child(tmp_path, mode, k, directory, N_TRIALS, "ga") == -9
    assert_like_reference(directory, ga_reference, k if mode == "sql" else None)


@pytest.fixture(scope="module")
def async_reference(tmp_path_factory):
    return _reference(tmp_path_factory.mktemp("async_ref"), "async")


# the asynchronous steady-state NSGA-II, one trial in flight (in process): per trial, a pending
# transaction (statements 10-14 for the first: 12 INSERT, 13 state, 14 COMMIT) and a result's
# (15-17); after each 10th result the population's (108-111 for the first: 109 state, 110
# generation, 111 COMMIT); the final state after the last tell is 529-531.
ASYNC_KILLS = [("sql", 14), ("sql", 17), ("sql", 110), ("trial", 29)]
ASYNC_KILLS_SLOW = [("sql", 5), ("sql", 12), ("sql", 13), ("sql", 16), ("sql", 107), ("sql", 109), ("sql", 111),
                    ("sql", 117), ("sql", 530), ("trial", 1), ("trial", 10), ("trial", 50)]


@pytest.mark.parametrize("mode, k", ASYNC_KILLS + [pytest.param(*p, marks=pytest.mark.slow) for p in ASYNC_KILLS_SLOW])
def test_async_nsga2_resumes_from_sigkill_to_the_uninterrupted_run(tmp_path, async_reference, mode, k):
    directory = tmp_path / "s"
    assert run_child(tmp_path, mode, k, directory, N_TRIALS, "async") == -9
    assert_like_reference(directory, async_reference, k if mode == "sql" else None)


@pytest.mark.slow
def test_async_nsga2_killed_twice_including_during_resume(tmp_path, async_reference):
    directory = tmp_path / "s"
    assert run_child(tmp_path, "trial", 17, directory, N_TRIALS, "async") == -9
    assert run_child(tmp_path, "resume", 25, directory, 0) == -9
    assert_like_reference(directory, async_reference)


def test_asynchronous_random_search_runs_the_trials_of_batches(tmp_path):
    batches = make(tmp_path / "b", optimizer="random", optimizer_options={})
    batches.optimize(N_TRIALS, show_progress=False)
    streamed = make(tmp_path / "a", "random_async")
    assert streamed._loop.asynchronous and not batches._loop.asynchronous
    streamed.optimize(N_TRIALS, show_progress=False)
    pd.testing.assert_frame_equal(table(streamed), table(batches))


@pytest.mark.parametrize("mode, k", [("sql", 14), ("trial", 29)])
def test_asynchronous_random_search_resumes_from_sigkill(tmp_path, mode, k):
    reference = _reference(tmp_path / "ref", "random_async")
    directory = tmp_path / "s"
    assert run_child(tmp_path, mode, k, directory, N_TRIALS, "random_async") == -9
    assert_like_reference(directory, reference, k if mode == "sql" else None)


def test_random_search_asynchronous_must_be_a_bool(tmp_path):
    with pytest.raises(ValueError, match="asynchronous must be True or False"):
        make(tmp_path / "s", optimizer="random", optimizer_options={"asynchronous": "yes"})


def test_async_nsga2_in_steps_and_after_a_timeout_equals_one_run(tmp_path, async_reference):
    study = make(tmp_path / "s", "async")
    study.optimize(17, show_progress=False)
    study.optimize(N_TRIALS - 17, timeout=0.0, show_progress=False)  # out of time at once: nothing asked
    assert study.n_trials == 17
    study.resume(show_progress=False)
    pd.testing.assert_frame_equal(table(study), async_reference[0])
    assert study.generations() == async_reference[1] and len(study.generations()) == N_TRIALS // POP
    assert study.optimizer.state_dict() == async_reference[2]


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
    with pytest.raises(ValueError, match=r"holds a study with another seed \(stored 3, asked 4\); open it as it is"):
        make(tmp_path / "s", seed=4, load_if_exists=True)
    with pytest.raises(ValueError, match=r"another optimizer.options.config.population_size \(stored 10, asked 12\)"):
        make(tmp_path / "s", optimizer_options={"config": {"population_size": 12}}, load_if_exists=True)


@pytest.mark.parametrize("kwargs, message", [
    (dict(objective=42), "objective must be callable"),
    (dict(objective=lambda c, s: 1.0), "needs space=... and metrics="),
    (dict(objective=ZDT1(), reference_point=[1.0]), "reference_point needs 2 finite numbers"),
    (dict(objective=ZDT1(), reference_point="1,1"), r"reference_point must be a list of 2 numbers .*e.g. \[1.0, 1.0\]"),
    (dict(objective=ZDT1(), reference_point=[1.0, float("nan")]), "reference_point needs 2 finite numbers"),
    (dict(objective=ZDT1(), seed=-1), "seed must be a non-negative integer, e.g. seed=0, got -1"),
    (dict(objective=ZDT1(), seed="abc"), "seed must be a non-negative integer, e.g. seed=0, got 'abc'"),
    (dict(objective=ZDT1(), seed=1.5), "seed must be a non-negative integer"),
    (dict(objective=ZDT1(), load_if_exists="maybe"), "load_if_exists must be True or False, got 'maybe'"),
    (dict(objective=ZDT1(), cache="yes"), "cache must be True or False, got 'yes'"),
    (dict(objective=ZDT1(), optimizer_options=10), r"optimizer_options must be a dict"),
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
    import moocore

    assert make(tmp_path / "zdt").reference_point == [1.1, 1.1]  # the problem's own
    study = make(tmp_path / "s", reference_point=[1.1, 4.0])
    study.optimize(30, show_progress=False)
    s = study.summary()
    assert s["trials"] == {"pending": 0, "done": 30, "failed": 0, "pruned": 0}
    assert s["optimizer"] == "nsga2" and s["generation"] == 3 and s["metrics"] == {"f1": "minimize", "f2": "minimize"}
    assert s["reference_point"] == [1.1, 4.0]
    df = study.trials_dataframe()
    F = df[["values_f1", "values_f2"]].to_numpy()
    inside = F[(F < [1.1, 4.0]).all(axis=1)]
    assert s["dominating_reference"] == len(inside) > 3
    assert s["hypervolume"] == pytest.approx(moocore.hypervolume(inside, ref=[1.1, 4.0]), rel=1e-12)
    assert s["hypervolume"] == study.hypervolume()
    assert sorted(s["pareto_front"]["trial_id"]) == sorted(study.pareto_front()["trial_id"])


def test_a_reference_point_that_no_trial_dominates_warns(tmp_path):
    study = make(tmp_path / "s", reference_point=[0.01, 0.01])
    study.optimize(10, show_progress=False)
    with pytest.warns(RuntimeWarning, match=r"none of the 10 done trials dominates the reference point \[0.01, 0.01\]"):
        assert study.hypervolume() == 0.0
    assert study.summary()["dominating_reference"] == 0  # the summary says it without a warning


def repeating_objective(config, seed):
    """Counts its calls in the config's only parameter's value."""
    repeating_objective.calls += 1
    return {"f": float(config["n"]), "seed": seed}


def test_the_evaluation_cache_trains_a_configuration_once(tmp_path):
    space = SearchSpace((Integer("n", 0, 3),))
    for cache, calls in ((False, 24), (True, 4)):
        repeating_objective.calls = 0
        study = Study.create(tmp_path / f"cache{cache}", repeating_objective, space=space, metrics=["f"],
                             optimizer="random", seed=1, cache=cache)
        study.optimize(24, show_progress=False)
        df = study.trials_dataframe()
        assert repeating_objective.calls == calls and (df["status"] == "done").all()
    cached = df[df["metrics_cached_from"].notna()]
    assert len(cached) == 20  # 4 distinct configurations, each trained once
    first = df.set_index("trial_id")
    for _, row in cached.iterrows():
        source = first.loc[int(row["metrics_cached_from"])]
        assert source["params_n"] == row["params_n"] and source["metrics_seed"] == row["metrics_seed"]
        assert source["config_hash"] == row["config_hash"] and int(row["metrics_cached_from"]) < row["trial_id"]
    again = Study.load(tmp_path / "cacheTrue", objective=repeating_objective)
    assert again.settings.cache is True

"""The driver loop's multi-fidelity side: fidelities and warm starts reach the trials,
stopping rules prune, checkpoints are continued, resume stays exact, old stores migrate."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from nasbench.evaluators import TrialTask
from nasbench.objectives import TrainingObjective, problem
from nasbench.study import Study

TIMING = ["created", "started", "finished", "duration"]


def table(study) -> pd.DataFrame:
    return study.trials_dataframe().drop(columns=TIMING)


def hyperband_study(directory, **kwargs):
    return Study.create(directory, problem("learning_curve", max_fidelity=27), optimizer="hyperband",
                        optimizer_options={"max_fidelity": 27, "eta": 3}, seed=1, **kwargs)


def test_fidelities_and_warm_starts_reach_the_trials(tmp_path):
    study = hyperband_study(tmp_path / "s")
    study.optimize(40, show_progress=False)
    df = study.trials_dataframe().set_index("trial_id")
    assert list(df["fidelity"].iloc[:27]) == [1] * 27  # bracket s=3: 27 configurations at 1 epoch
    promoted = df[df["warm_start"].notna()]
    assert list(promoted["fidelity"]) == [3] * 9 + [9] * 3 + [27]  # bracket s=3: 9@3, 3@9, 1@27
    for tid, row in promoted.iterrows():  # a promotion continues the same configuration at a lower rung
        donor = df.loc[int(row["warm_start"])]
        assert donor["fidelity"] < row["fidelity"] and donor["config_hash"] == row["config_hash"]
        assert row["metrics_epochs_used"] == row["fidelity"] - donor["fidelity"]
    assert (df["metrics_epochs_used"][df["warm_start"].isna()] == df["fidelity"][df["warm_start"].isna()]).all()


CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, os.environ["NASBENCH_TESTS"])
    from test_loop import hyperband_study
    from nasbench.study import Study
    k, directory, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    study = hyperband_study(directory, **({"stopping": "median"} if sys.argv[4] == "median" else {}))
    study.optimize(n, callbacks=[lambda s, t: t.trial_id + 1 == k and os.kill(os.getpid(), signal.SIGKILL)],
                   show_progress=False)
    sys.exit(3)
""")


@pytest.mark.parametrize("stopping, k", [("none", 5), ("none", 30), ("none", 41), ("median", 20), ("median", 45)])
def test_sigkill_mid_bracket_then_resume_equals_uninterrupted(tmp_path, stopping, k):
    import os

    extra = {"stopping": "median"} if stopping == "median" else {}
    reference = hyperband_study(tmp_path / "ref", **extra)
    reference.optimize(60, show_progress=False)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "NASBENCH_TESTS": os.path.dirname(__file__)}
    code = subprocess.run([sys.executable, str(script), str(k), str(tmp_path / "s"), "60", stopping], env=env,
                          capture_output=True, timeout=120).returncode
    assert code == -9
    study = Study.load(tmp_path / "s")
    study.resume(show_progress=False)
    pd.testing.assert_frame_equal(table(study), table(reference))
    assert study.optimizer.state_dict() == reference.optimizer.state_dict()


def test_a_stopping_rule_prunes_and_keeps_the_curve(tmp_path):
    study = Study.create(tmp_path / "s", problem("learning_curve", max_fidelity=27), optimizer="random", seed=3,
                         stopping={"name": "median", "options": {"grace_steps": 2, "min_trials": 3}})
    study.optimize(30, show_progress=False)
    df = study.trials_dataframe()
    pruned, done = df[df["status"] == "pruned"], df[df["status"] == "done"]
    assert len(pruned) >= 5 and len(done) >= 3 and study._store.counts()["pruned"] == len(pruned)
    for _, row in pruned.iterrows():
        curve = row["metrics_intermediate"]
        assert 2 < row["metrics_pruned_at"] < 27 and curve[-1][0] == row["metrics_pruned_at"]
        assert row["values_loss"] == curve[-1][1][0]  # the last reported value stands
        assert "stopped at step" in row["error"]
    assert all(len(c) == 27 for c in done["metrics_intermediate"])
    # nothing pruned before three others finished (min_trials) or within the grace steps
    assert (df["status"].iloc[:3] == "done").all()
    again = Study.load(tmp_path / "s")
    assert again.settings.stopping == {"name": "median", "options": {"grace_steps": 2, "min_trials": 3, "objective": 0}}


def test_a_bad_stopping_rule_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="unknown stopping rule 'medain'"):
        hyperband_study(tmp_path / "s", stopping="medain")
    assert not (tmp_path / "s").exists()


def test_a_warm_start_continues_the_donors_weights(tmp_path):
    objective = TrainingObjective("digits", "mlp", ["val_error"], n_samples=300,
                                  protocol={"max_epochs": 4, "patience": None})
    config = objective.space.default()
    donor = TrialTask(0, config, 11, str(tmp_path), fidelity=2, checkpoint=True, metric_names=("val_error",))
    first = objective.evaluate_trial(donor)
    assert (tmp_path / "models" / "trial_000000.pt").is_file()
    # at the donor's own fidelity nothing is left to train: the loaded weights score exactly the same
    same = objective.evaluate_trial(TrialTask(1, config, 99, str(tmp_path), fidelity=2, warm_start=0))
    assert same["val_loss"] == pytest.approx(first["val_loss"], abs=1e-6) and same["epochs_trained"] == 0
    more = objective.evaluate_trial(TrialTask(2, config, 99, str(tmp_path), fidelity=4, warm_start=0,
                                              metric_names=("val_error",)))
    assert more["epochs_trained"] == 2 and more["epochs"] == 4
    retrain = TrainingObjective("digits", "mlp", ["val_error"], n_samples=300, continue_trials=False,
                                protocol={"max_epochs": 4, "patience": None})
    fresh = retrain.evaluate_trial(TrialTask(3, config, 99, str(tmp_path), fidelity=2, warm_start=0))
    assert fresh["epochs_trained"] == 2 and fresh["val_loss"] != pytest.approx(first["val_loss"], abs=1e-6)


def test_training_reports_each_epoch_in_the_study_metrics(tmp_path):
    objective = TrainingObjective("digits", "mlp", ["val_error", "n_params"], n_samples=300,
                                  protocol={"max_epochs": 3, "patience": None})
    study = Study.create(tmp_path / "s", objective, optimizer="random", seed=0, reference_point=[1.0, 1e6])
    study.optimize(2, show_progress=False)
    df = study.trials_dataframe()
    for _, row in df.iterrows():
        curve = row["metrics_intermediate"]
        assert [step for step, _ in curve] == [1, 2, 3]
        assert all(point[1] == row["values_n_params"] for _, point in curve)
        assert all(0 <= point[0] <= 1 for _, point in curve)


def test_a_store_of_the_first_schema_migrates(tmp_path):
    from nasbench import store as store_module

    study = hyperband_study(tmp_path / "s")
    study.optimize(5, show_progress=False)
    settings = study._store.settings()
    study.close()
    old = tmp_path / "old"
    old.mkdir()
    schema_v1 = store_module._SCHEMA.replace(", 'pruned'", "").replace(
        "    finished REAL,\n    fidelity INTEGER,\n    warm_start INTEGER\n", "    finished REAL\n")
    with sqlite3.connect(old / "study.db") as conn:
        conn.executescript(schema_v1)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "1"), ("nasbench_version", "0.1.0"),
                                                            ("settings", __import__("json").dumps(settings))])
        conn.execute("INSERT INTO trials (trial_id, generation, status, config, genome, config_hash, parents, seed,"
                     " created) VALUES (0, 0, 'pending', '{}', '[]', 'h', '[]', 1, 0)")
    with pytest.raises(sqlite3.IntegrityError):
        with sqlite3.connect(old / "study.db") as conn:
            conn.execute("UPDATE trials SET status = 'pruned'")
    migrated = store_module.Store.open(old)
    assert migrated.trials()[0].fidelity is None and migrated.trials()[0].status == "pending"
    migrated._conn.execute("UPDATE trials SET status = 'pruned'")  # allowed now
    assert migrated.counts()["pruned"] == 1
    with sqlite3.connect(old / "study.db") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"


# --- the cheap-trial path: seeds in a batch, the state once per batch ---------------------------
@pytest.mark.parametrize("seed", [0, 3, 2**32 - 1, 2**32, 2**40 + 5, 2**64 + 3, 2**200 + 9])
def test_trial_seeds_in_a_batch_equal_seedsequence_one_by_one(seed):
    from nasbench.loop import trial_seed, trial_seeds

    ids = [*range(200), 2**31, 2**32 - 1, 2**32, 2**40]  # the last two: two spawn words
    assert trial_seeds(seed, ids) == [trial_seed(seed, t) for t in ids]
    assert trial_seeds(seed, []) == []


def test_the_optimisers_state_is_written_once_per_generation(tmp_path, monkeypatch):
    """Each generation's state after ``ask`` rides in its pending trials' transaction (with
    the generation the ``tell`` before ended); only the state after the last ``tell`` is
    written on its own, when the run stops."""
    from nasbench.objectives import ZDT1
    from nasbench.store import Store

    writes = []
    put = Store._put_state
    monkeypatch.setattr(Store, "_put_state", staticmethod(lambda conn, state, now: (writes.append(1), put(conn, state, now))))
    study = Study.create(tmp_path / "s", ZDT1(n_var=5), optimizer_options={"config": {"population_size": 10}}, seed=2)
    study.optimize(50, show_progress=False)
    assert len(writes) == 5 + 1
    assert sorted(study.generations()) == [0, 1, 2, 3, 4] and all(len(p) == 10 for p in study.generations().values())
    assert study._store.optimizer_state()["optimizer"] == study.optimizer.state_dict()


def test_a_crash_between_tell_and_the_next_ask_resumes_to_the_uninterrupted_run(tmp_path, monkeypatch):
    """The state after ``tell`` is not written before the next batch: a run that dies there
    resumes from the state after ``ask`` and tells the stored results again, to the same end."""
    from nasbench.objectives import ZDT1
    from nasbench.store import Store

    def make(directory):
        return Study.create(directory, ZDT1(n_var=5), optimizer_options={"config": {"population_size": 10}}, seed=2)

    straight = make(tmp_path / "straight")
    straight.optimize(50, show_progress=False)
    crashed = make(tmp_path / "crashed")
    calls = []
    add = Store.add_pending

    def dies_at_the_third_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # after the second generation's tell, before its state was written
        return add(self, *args, **kwargs)

    monkeypatch.setattr(Store, "add_pending", dies_at_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        crashed.optimize(50, show_progress=False)
    crashed.close()
    monkeypatch.setattr(Store, "add_pending", add)
    resumed = Study.load(tmp_path / "crashed")
    assert resumed._store.counts()["done"] == 20
    resumed.resume(show_progress=False)
    pd.testing.assert_frame_equal(table(resumed), table(straight))
    assert resumed.generations() == straight.generations()
    assert resumed.optimizer.state_dict() == straight.optimizer.state_dict()

from __future__ import annotations

import os
import sys

import cloudpickle
import pandas as pd
import pytest

from nasbench.evaluators import DaskEvaluator, InProcessEvaluator, TrialTask, make_evaluator, run_trial
from nasbench.objectives import ZDT1
from nasbench.space import Float, SearchSpace
from nasbench.study import Study

# Dask workers are other processes: ship this module's functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TIMING = ["created", "started", "finished", "duration"]


def test_run_trial_outcomes():
    ok = run_trial(lambda c, s: {"a": 1.0, "b": 2, "note": "x"}, ["a", "b"], TrialTask(0, {}, 7))
    assert (ok.status, ok.values, ok.metrics) == ("done", (1.0, 2.0), {"note": "x"})
    assert run_trial(lambda c, s: 3, ["a"], TrialTask(0, {}, 7)).values == (3.0,)
    assert run_trial(lambda c, s: [1, 2], ["a", "b"], TrialTask(0, {}, 7)).values == (1.0, 2.0)
    nan = run_trial(lambda c, s: {"a": float("inf")}, ["a"], TrialTask(0, {}, 7))
    assert nan.status == "failed" and "non-finite value for ['a']" in nan.error and nan.metrics == {"a": "inf"}
    missing = run_trial(lambda c, s: {"b": 1.0}, ["a"], TrialTask(0, {}, 7))
    assert missing.status == "failed" and "lacks metrics ['a']" in missing.error

    def boom(config, seed):
        raise MemoryError("out of memory")

    failed = run_trial(boom, ["a"], TrialTask(3, {}, 7))
    assert failed.status == "failed" and failed.error.startswith("MemoryError: out of memory (test_evaluators.py:")
    assert failed.trial_id == 3 and failed.finished >= failed.started


def test_seed_reaches_the_objective():
    out = run_trial(lambda c, s: {"a": float(s)}, ["a"], TrialTask(0, {}, 12345))
    assert out.values == (12345.0,)


def test_make_evaluator():
    assert isinstance(make_evaluator(), InProcessEvaluator)
    with pytest.raises(ValueError, match="use 'inprocess' or 'dask'"):
        make_evaluator("ray")


def noisy_objective(config, seed):
    """Depends on the trial seed, so a wrong seed on a worker would show."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {"f1": config["x"] + 0.01 * rng.random(), "f2": 1 - config["x"] + config["y"]}


SPACE = SearchSpace((Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)))


def dies_once_objective(config, seed):
    """Kills its worker process the first time it sees a trial with x < 0.5."""
    marker = os.path.join(os.environ["NASBENCH_TEST_DIR"], f"died-{seed}")
    if config["x"] < 0.5 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return {"f1": config["x"], "f2": 1 - config["x"]}


def doomed_objective(config, seed):
    """Kills its worker process every time for x > 0.85."""
    if config["x"] > 0.85:
        os._exit(1)
    return {"f1": config["x"], "f2": 1 - config["x"]}


@pytest.fixture(scope="module")
def dask_evaluator():
    with DaskEvaluator(n_workers=2) as ev:
        yield ev


def test_serial_and_dask_runs_agree(tmp_path, dask_evaluator):
    tables = []
    for name, ev in (("serial", None), ("dask", dask_evaluator)):
        study = Study.create(tmp_path / name, noisy_objective, space=SPACE, metrics=["f1", "f2"], seed=11,
                             optimizer_options={"config": {"population_size": 6}})
        study.optimize(24, evaluator=ev, show_progress=False)
        tables.append(study.trials_dataframe().drop(columns=TIMING))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert dask_evaluator.parallelism == 2


def test_random_search_batches_by_worker_count(tmp_path, dask_evaluator):
    study = Study.create(tmp_path / "r", ZDT1(n_var=4), optimizer="random", seed=1)
    study.optimize(5, evaluator=dask_evaluator, show_progress=False)
    assert study._store.counts()["done"] == 5


@pytest.mark.slow
def test_a_trial_whose_worker_dies_is_rescheduled(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_TEST_DIR", str(tmp_path))
    study = Study.create(tmp_path / "s", dies_once_objective, space=SPACE, metrics=["f1", "f2"], seed=0,
                         optimizer="random")
    with DaskEvaluator(n_workers=2) as ev:
        study.optimize(6, evaluator=ev, show_progress=False)
    df = study.trials_dataframe()
    killed = list(tmp_path.glob("died-*"))
    assert len(killed) == (df["params_x"] < 0.5).sum() > 0  # each of them killed a worker once
    assert (df["status"] == "done").all() and len(df) == 6


@pytest.mark.slow
def test_a_trial_that_always_kills_its_worker_fails_and_the_study_goes_on(tmp_path):
    study = Study.create(tmp_path / "s", doomed_objective, space=SPACE, metrics=["f1", "f2"], seed=0,
                         optimizer="random")
    with DaskEvaluator(n_workers=2) as ev:
        study.optimize(12, evaluator=ev, show_progress=False)
    df = study.trials_dataframe()
    assert len(df) == 12 and (df["status"] != "pending").all()  # nothing lost
    doomed = df[df["params_x"] > 0.85]
    assert len(doomed) and (doomed["status"] == "failed").all()
    assert doomed["error"].str.startswith("worker lost: KilledWorker").all()
    # a bystander queued on the dying workers may run out of reschedules too: same reason
    failed = df[df["status"] == "failed"]
    assert failed["error"].str.startswith("worker lost").all()
    assert (df["status"] == "done").sum() > 0

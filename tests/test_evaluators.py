from __future__ import annotations

import json
import os
import random
import sys
import threading
import time

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from nasbench.evaluators import (DaskEvaluator, InProcessEvaluator, TrialTask, make_evaluator, process_cache_loads,
                                 run_trial)
from nasbench.objectives import ZDT1, TrainingObjective
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
    assert failed.status == "failed" and failed.trial_id == 3 and failed.finished >= failed.started
    # a bug keeps its whole traceback, innermost frame included
    first, _, trace = failed.error.partition("\n\n")
    assert first == "MemoryError: out of memory"
    assert trace.startswith("Traceback (most recent call last):") and 'in boom\n    raise MemoryError' in trace


def test_known_trial_failures_stay_one_line():
    from nasbench.models import InvalidArchitecture
    from nasbench.training import TrainingDiverged

    for exc in (InvalidArchitecture("3 pooled conv layers shrink a 8x8 input to nothing"), TrainingDiverged("nan loss")):
        def fail(config, seed, exc=exc):
            raise exc

        out = run_trial(fail, ["a"], TrialTask(0, {}, 7))
        assert out.error == f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("result, status, stored, error", [
    ({"a": np.float32(0.5), "n": np.int64(3), "v": np.arange(2)}, "done", {"n": 3, "v": [0, 1]}, None),
    ({"a": 1.0, "curve": [1.0, float("nan")], "deep": {"x": [np.float64("inf")]}}, "done",
     {"curve": [1.0, "nan"], "deep": {"x": ["inf"]}}, None),
    ({"a": 1.0, "tags": {"x", "y"}}, "failed", {}, "metric 'tags' is a set, which a study cannot store"),
    ({"a": "0.5"}, "failed", {}, "metric 'a' is '0.5' (str); return a number"),
    ({"a": True}, "failed", {}, "metric 'a' is True (bool); return a number"),
    ({"a": None}, "failed", {}, "metric 'a' is None (NoneType); return a number"),
    (np.float32(2.0), "done", {}, None),
    ("0.5", "failed", {}, "objective returned str; return a dict with keys ['a']"),
])
def test_results_are_stored_or_fail_with_their_reason(result, status, stored, error):
    out = run_trial(lambda c, s: result, ["a"], TrialTask(0, {}, 7))
    assert out.status == status and out.metrics == stored
    if error is None:
        assert out.error is None and json.dumps(out.metrics, allow_nan=False)
    else:
        assert out.error.startswith(f"BadResult: {error}") and "\n" not in out.error


def odd_objective(config, seed):
    """Extra metrics of every awkward type; a set once in a while."""
    out = {"f": config["x"], "f32": np.float32(config["x"]), "i64": np.int64(seed % 7), "curve": [1.0, float("nan")]}
    if config["x"] > 0.8:
        out["bad"] = {1, 2}
    return out


def test_awkward_results_never_leave_a_study_stuck(tmp_path):
    space = SearchSpace((Float("x", 0.0, 1.0),))
    study = Study.create(tmp_path / "s", odd_objective, space=space, metrics=["f"], optimizer="random", seed=2)
    study.optimize(20, show_progress=False)
    df = study.trials_dataframe()
    assert (df["status"] != "pending").all() and len(df) == 20
    failed = df[df["params_x"] > 0.8]
    assert len(failed) and (failed["status"] == "failed").all()
    assert failed["error"].str.contains("metric 'bad' is a set").all()
    done = df[df["status"] == "done"]
    assert (done["metrics_i64"] == done["seed"] % 7).all() and (done["metrics_curve"].map(lambda c: c[1]) == "nan").all()


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


# Tests that start Dask clusters run in one pytest-xdist worker (make test): the module's
# cluster starts once, and no two of their clusters compete for the cores.
on_a_cluster = pytest.mark.xdist_group("test_evaluators_dask")


@pytest.fixture(scope="module")
def dask_evaluator():
    with DaskEvaluator(n_workers=2) as ev:
        yield ev


@on_a_cluster
def test_serial_and_dask_runs_agree(tmp_path, dask_evaluator):
    tables = []
    for name, ev in (("serial", None), ("dask", dask_evaluator)):
        study = Study.create(tmp_path / name, noisy_objective, space=SPACE, metrics=["f1", "f2"], seed=11,
                             optimizer_options={"config": {"population_size": 6}})
        study.optimize(24, evaluator=ev, show_progress=False)
        tables.append(study.trials_dataframe().drop(columns=TIMING))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert dask_evaluator.parallelism == 2


@on_a_cluster
def test_random_search_batches_by_worker_count(tmp_path, dask_evaluator):
    from nasbench.loop import StudyLoop

    study = Study.create(tmp_path / "r", ZDT1(n_var=4), optimizer="random", seed=1)
    asked, ask = [], study.optimizer.ask
    study.optimizer.ask = lambda n: asked.append(n) or ask(n)
    study.optimize(20, evaluator=dask_evaluator, show_progress=False)
    per_batch = StudyLoop.oversubscribe * dask_evaluator.parallelism  # a few trials per worker
    assert asked == [per_batch, per_batch, 20 - 2 * per_batch] and study._store.counts()["done"] == 20


def test_serial_runs_are_not_disturbed_by_other_threads_drawing_from_random(tmp_path):
    """Dask's scheduler thread draws from Python's global random (random.sample, shuffle):
    a run with such a thread beside it must give the same table as one without."""
    tables = []
    for name, busy in (("quiet", False), ("busy", True)):
        stop = threading.Event()

        def draw():
            while not stop.is_set():
                random.random()
                random.shuffle([1, 2, 3])

        thread = threading.Thread(target=draw, daemon=True)
        if busy:
            thread.start()
        try:
            study = Study.create(tmp_path / name, noisy_objective, space=SPACE, metrics=["f1", "f2"], seed=11,
                                 optimizer_options={"config": {"population_size": 20}})
            study.optimize(400, show_progress=False)  # before the fix: 36 trials were too few to show it
        finally:
            stop.set()
        tables.append(study.trials_dataframe().drop(columns=TIMING))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def sleepy_objective(config, seed):
    time.sleep(1.5)
    return {"f1": config["x"], "f2": 1 - config["x"]}


@on_a_cluster
def test_the_deadline_holds_on_dask(tmp_path, dask_evaluator):
    study = Study.create(tmp_path / "s", sleepy_objective, space=SPACE, metrics=["f1", "f2"], optimizer="random",
                         seed=0)
    dask_evaluator.parallelism  # the cluster is up before the clock starts
    start = time.monotonic()
    study.optimize(8, timeout=0.5, evaluator=dask_evaluator, show_progress=False)
    assert time.monotonic() - start < 0.5 + 1.5  # within one trial's time of the deadline, not the batch's 6 s
    counts = study._store.counts()
    # 8 trials of 1.5 s on 2 workers take 6 s; the deadline ends the batch after the first round at most
    assert counts["pending"] >= 6 and counts["done"] <= 2
    study.resume(evaluator=dask_evaluator, show_progress=False)
    assert study._store.counts() == {"pending": 0, "done": 8, "failed": 0, "pruned": 0}


def test_a_dask_setting_made_before_distributed_loads_does_not_break_later_clusters():
    # a fresh interpreter: distributed must not be imported yet for dask to lose its section
    code = """
import dask
with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
    import distributed
# dask 2026.8 pops the whole section on leaving (a later dask that does not leaves nothing to restore)
with dask.config.set({"distributed.scheduler.work-stealing": False}):
    from nasbench.evaluators import _restore_distributed_defaults
    _restore_distributed_defaults()
    assert dask.config.get("distributed.comm.require-encryption") is None  # what LocalCluster reads
    assert dask.config.get("distributed.scheduler.work-stealing") is False  # the user's value is kept
print("ok")
"""
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_an_unreachable_scheduler_fails_fast_with_the_fix():
    from nasbench.evaluators import ClusterUnreachable

    ev = DaskEvaluator("tcp://127.0.0.1:9")
    ev.connect_timeout = 1.0
    with pytest.raises(ClusterUnreachable, match=r"no Dask scheduler answered at tcp://127.0.0.1:9 within 1 s"):
        ev.parallelism


@pytest.mark.slow
@on_a_cluster
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
@on_a_cluster
def test_a_trial_that_always_kills_its_worker_fails_and_the_study_goes_on(tmp_path):
    import dask
    import distributed  # noqa: F401  its defaults must be in dask's config before the set below:
    # set() on a not-yet-loaded section records an insert of all "distributed" and pops it on
    # exit, defaults included, and every later cluster in this process fails (KeyError: 'comm')

    study = Study.create(tmp_path / "s", doomed_objective, space=SPACE, metrics=["f1", "f2"], seed=0,
                         optimizer="random")
    # each death restarts a worker (seconds): give up on a trial after 2 of them, not Dask's 4
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), DaskEvaluator(n_workers=2) as ev:
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


# --- many workers: data once per worker, trials submitted as others finish -------------------

class DataOnlyObjective(TrainingObjective):
    """A training objective whose trials read its data set and train nothing: what is
    counted here is how often a worker loads the data, not how it trains."""

    def evaluate_trial(self, task):
        return {"val_mse": float(self.data.y.float().mean()) + task.config["dropout"], "pid": os.getpid()}


def test_copies_and_unpickled_objectives_in_one_process_share_one_load():
    before = process_cache_loads("dataset")
    objective = DataOnlyObjective("sinewave", "mlp", ["val_mse"], n_samples=123)
    copies = [objective, objective.with_fidelity(2), cloudpickle.loads(cloudpickle.dumps(objective))]
    assert copies[2]._data is None  # the pickle carries the recipe, not the tensors
    assert all(c.data is copies[0].data for c in copies)
    assert process_cache_loads("dataset") == before + 1
    other = DataOnlyObjective("sinewave", "mlp", ["val_mse"], n_samples=123, data_seed=1)
    assert other.data is not objective.data and process_cache_loads("dataset") == before + 2


@on_a_cluster
def test_a_dask_worker_loads_the_data_once_not_once_per_trial(tmp_path, dask_evaluator):
    client = dask_evaluator.client
    before = client.run(process_cache_loads, "dataset")
    objective = DataOnlyObjective("sinewave", "mlp", ["val_mse"], n_samples=211)  # a key no other test loads
    study = Study.create(tmp_path / "s", objective, optimizer="random", seed=0)
    study.optimize(16, evaluator=dask_evaluator, show_progress=False)
    loads = {w: n - before[w] for w, n in client.run(process_cache_loads, "dataset").items()}
    df = study.trials_dataframe()
    assert (df["status"] == "done").all() and len(df) == 16
    workers_used = df["metrics_pid"].nunique()
    assert sum(loads.values()) == workers_used >= 1 and max(loads.values()) == 1, loads


def _profiler_enabled():
    import dask

    return dask.config.get("distributed.worker.profile.enabled")


@on_a_cluster
def test_the_cluster_nasbench_starts_runs_its_workers_without_the_profiler(dask_evaluator):
    # it has no dashboard to show the profile, and sampling every 10 ms kept 64 workers on 2
    # cores 10-25 points less busy (benchmarks/bench_workers.py)
    assert set(dask_evaluator.client.run(_profiler_enabled).values()) == {False}
    assert _profiler_enabled() is True  # this process's own setting is left as it was


@on_a_cluster
def test_a_stream_keeps_every_worker_busy_and_returns_each_trial(dask_evaluator):
    tasks = [TrialTask(i, {"x": 0.1 * i, "y": 0.0}, i) for i in range(6)]
    with dask_evaluator.stream(noisy_objective, ["f1", "f2"]) as stream:
        for task in tasks[:2]:
            stream.submit(task)
        seen = []
        while stream.in_flight:
            outcome = stream.next()
            seen.append(outcome.trial_id)
            if len(seen) + stream.in_flight < len(tasks):
                stream.submit(tasks[len(seen) + stream.in_flight])
        assert stream.next() is None  # nothing in flight
    assert sorted(seen) == list(range(6))
    serial = [run_trial(noisy_objective, ["f1", "f2"], t).values for t in tasks]
    with InProcessEvaluator().stream(noisy_objective, ["f1", "f2"]) as stream:
        for task in tasks:
            stream.submit(task)
        assert [stream.next().values for _ in tasks] == serial and stream.next() is None


def test_no_tasks_on_dask_is_no_outcomes_and_no_cluster():
    ev = DaskEvaluator(n_workers=1)
    assert list(ev.run(noisy_objective, ["f1", "f2"], [])) == []
    assert ev._client is None  # nothing was started for nothing


@pytest.mark.slow
def test_a_stream_is_the_first_thing_a_fresh_dask_evaluator_does():
    # no client exists yet: the stream must start its own cluster, not ask Dask for a default client
    task = TrialTask(0, {"x": 0.3, "y": 0.0}, 0)
    with DaskEvaluator(n_workers=1) as ev, ev.stream(noisy_objective, ["f1", "f2"]) as stream:
        stream.submit(task)
        assert stream.next().values == run_trial(noisy_objective, ["f1", "f2"], task).values


@on_a_cluster
def test_an_async_study_on_dask_finishes_every_trial(tmp_path, dask_evaluator):
    study = Study.create(tmp_path / "s", noisy_objective, space=SPACE, metrics=["f1", "f2"], seed=5,
                         optimizer="nsga2_async", optimizer_options={"config": {"population_size": 4}})
    study.optimize(16, evaluator=dask_evaluator, show_progress=False)
    df = study.trials_dataframe()
    assert (df["status"] == "done").all() and len(df) == 16 and study.is_complete
    bred = df[df["parents"].map(len) == 2]
    assert len(bred) >= 16 - 2 * 4 - 2  # init, then random until 4 are told, with 2 in flight
    assert study.generations() and set(study.generations()) == {0, 1, 2, 3}


@on_a_cluster
def test_the_deadline_holds_on_dask_in_the_asynchronous_loop(tmp_path, dask_evaluator):
    study = Study.create(tmp_path / "s", sleepy_objective, space=SPACE, metrics=["f1", "f2"], seed=0,
                         optimizer="nsga2_async", optimizer_options={"config": {"population_size": 8}})
    dask_evaluator.parallelism  # the cluster is up before the clock starts
    start = time.monotonic()
    study.optimize(8, timeout=0.5, evaluator=dask_evaluator, show_progress=False)
    elapsed = time.monotonic() - start
    # 8 trials of 1.5 s on 2 workers take 6 s: the run ends at the deadline, within one trial's time
    assert elapsed < 0.5 + 1.5, elapsed
    assert study._store.counts() == {"pending": 2, "done": 0, "failed": 0, "pruned": 0}  # one per worker
    study.resume(evaluator=dask_evaluator, show_progress=False)
    assert study._store.counts() == {"pending": 0, "done": 8, "failed": 0, "pruned": 0}

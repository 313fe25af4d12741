"""Benchmark how busy a study keeps many Dask workers: generational NSGA-II, random search, async NSGA-II.

Run from the repository root:

    python benchmarks/bench_workers.py            # 16 and 64 virtual and Dask workers, then 2 real ones
    python benchmarks/bench_workers.py --virtual-only --workers 256   # the loop alone, at any scale
    python benchmarks/bench_workers.py --quick    # 8 workers, a few trials: a smoke test
    python benchmarks/bench_workers.py --out benchmarks/results/workers.md

**Simulated workers.** A Dask ``LocalCluster`` of ``W`` single-threaded workers (threads
of this process on the in-process transport, ``processes=False``) runs a study whose
objective is ZDT1 (10 variables) after sleeping a log-normal time drawn from the trial's
seed (median 0.2 s, sigma 1: mean 0.33 s, 1 % of trials over 2 s), so sleeping workers
need no cores and 64 of them fit this 2-core machine. Each study runs ``--rounds`` x W
trials. Utilisation = the trials' busy time (their ``duration``, measured on the worker)
/ (the study's wall time x W): 1.0 means no worker ever waited for the study loop.

* ``nsga2``: generational NSGA-II, population 64 (the issue's setting): a generation is
  one batch and the next starts when its slowest trial ends (the generational barrier).
* ``random (batches)``: random search as the loop runs it today: batches of
  ``StudyLoop.oversubscribe`` x W trials, each waiting for its slowest.
* ``random (async)``: random search in the asynchronous loop (``optimizer_options=
  {"asynchronous": True}``; the same trials as in batches, one submitted per finished one).
* ``nsga2_async``: :class:`nasbench.optimizers.SteadyStateNSGA2`, population 64, one
  new trial per finished one.

**Virtual workers.** Dask with 64 worker threads on 2 cores is itself a bottleneck here:
Dask alone (no nasbench, ``client.submit`` + ``as_completed``) keeps 64 sleeping workers
77-93 % busy in its steady state with :data:`QUIET_WORKERS` (32-76 % with Dask's
defaults, in the same runs, 2026-12-04), and the loop's driver shares those 2 cores, so the Dask rows measure
this machine as well as the loop. :class:`VirtualCluster`
is a discrete-event simulation of ``W`` workers (as Syne Tune's ``SimulatorBackend``
with its simulated time keeper does): trials take their log-normal time on a virtual clock,
and every second the driver spends between two calls of the evaluator (ask, write pending,
record, tell, checkpoint: the study loop's real per-trial cost, measured with
``perf_counter``) is added to that clock, during which no new trial starts. It runs the
study's real loop, store and optimiser; only the workers are simulated. Each loop is also
run with the driver's cost left out (``free driver``): what the schedule alone allows (the
generational barrier, and the drain at the end of a finite study).

**Steady state.** A finite study ends with a drain: its last trials run while the other
workers have nothing left to do. With this heavy-tailed time even a free driver on an
ideal cluster keeps 64 workers only ~76 % busy over a whole study of 16 x workers trials
(~50 % over 8 x workers), so
the table reports utilisation over the whole study and over its steady state (from the
start until the last trial is submitted), the latter being whether the loop keeps the
workers busy while it has work to give them.

**Two real workers.** The same small training study (random search over seed 003's MLP
space on the sinewave task) in one process (torch's threads) and on a 2-worker
``DaskEvaluator`` (one thread each): the ratio of trials per second, with the cluster
started before the clock. On a 2-core machine the physical limit is about 1x.
"""

from __future__ import annotations

import argparse
import heapq
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, markdown_table, write_report  # noqa: E402

from nasbench.evaluators import (OWN_CLUSTER_CONFIG, DaskEvaluator, InProcessEvaluator, TrialOutcome,  # noqa: E402
                                 TrialStream, TrialTask, run_trial)
from nasbench.loop import StudyLoop, trial_seeds  # noqa: E402
from nasbench.objectives import ZDT1, TrainingObjective  # noqa: E402
from nasbench.study import Study  # noqa: E402

MEDIAN, SIGMA = 0.2, 1.0

#: The simulated cluster's workers: what DaskEvaluator's own cluster sets (no profiler), and
#: the per-worker monitors slowed, since all W workers share this process's event loop and
#: each ticks every 20 ms and polls memory and the system every 0.5 s. Dask alone keeping 64
#: sleeping workers busy in the steady state (2026-12-04), in fresh processes: 66-76 % with
#: Dask's defaults, 86 % with the profiler off, 91-93 % with this; in one later bench run,
#: back to back, 31.6 % against 76.7 % (benchmarks/README.md).
QUIET_WORKERS = {**OWN_CLUSTER_CONFIG,
                 "distributed.admin.tick.interval": "1s",
                 "distributed.admin.system-monitor.interval": "5s",
                 "distributed.worker.memory.monitor-interval": "5s"}


class SleepyZDT1:
    """ZDT1 that first sleeps a log-normal time drawn from the trial's seed (a stand-in
    for training whose length varies from trial to trial)."""

    def __init__(self, n_var: int = 10, median: float = MEDIAN, sigma: float = SIGMA) -> None:
        self.problem, self.median, self.sigma = ZDT1(n_var=n_var), median, sigma
        self.space, self.metrics = self.problem.space, self.problem.metrics
        self.reference_point = self.problem.reference_point

    def __call__(self, config, seed):
        time.sleep(sleep_time(seed, self.median, self.sigma))
        return self.problem(config, seed)


def sleep_time(seed: int, median: float = MEDIAN, sigma: float = SIGMA) -> float:
    """The trial's simulated training time: log-normal, drawn from its seed."""
    return median * float(np.exp(sigma * np.random.default_rng(seed).standard_normal()))


class VirtualCluster:
    """``workers`` simulated workers on a virtual clock, behind the evaluator interface
    (``parallelism``, ``run`` for batches, ``stream`` for the asynchronous loop).

    A trial submitted at virtual time ``now`` starts on the first free worker (at once when
    one is free, else when one frees: Dask's queueing) and ends ``duration(task)`` virtual
    seconds later; its values come from ``objective`` (called without sleeping). With
    ``charge_driver`` the real time the caller spends between two calls (the study loop's
    work) advances the virtual clock, so a slow driver leaves simulated workers idle
    exactly as it would leave real ones. Outcomes carry virtual ``started``/``finished``
    times (seconds from 0), so a study's ``duration`` column is the simulated busy time."""

    def __init__(self, workers: int, duration: Callable[[TrialTask], float], *, charge_driver: bool = True) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.parallelism, self.duration, self.charge_driver = workers, duration, charge_driver
        self.now = 0.0
        self.last_submit = 0.0  # virtual time of the latest submission (the end of the steady state)
        self.driver_seconds = 0.0  # real seconds charged to the clock
        self._free = [0.0] * workers  # when each worker is next free (a heap)
        self._running: list = []  # (end, sequence, task, start), a heap
        self._sequence = 0
        self._mark: float | None = None

    # --- the clock -----------------------------------------------------------------------
    def _charge(self) -> None:
        """Advance the clock by the caller's real time since it last got control back."""
        if self._mark is not None and self.charge_driver:
            spent = time.perf_counter() - self._mark
            self.now += spent
            self.driver_seconds += spent
        self._mark = None

    def _resume(self) -> None:
        """Hand control back to the caller: its time counts from here."""
        self._mark = time.perf_counter()

    def _submit(self, task: TrialTask) -> None:
        start = max(self.now, heapq.heappop(self._free))
        end = start + float(self.duration(task))
        heapq.heappush(self._free, end)
        heapq.heappush(self._running, (end, self._sequence, task, start))
        self._sequence += 1
        self.last_submit = self.now

    def _finish(self, objective: Callable, metric_names: Sequence[str]) -> TrialOutcome:
        """The earliest-ending trial: the clock moves to its end; its values, at virtual times."""
        end, _, task, start = heapq.heappop(self._running)
        self.now = max(self.now, end)
        outcome = run_trial(objective, metric_names, task)
        return TrialOutcome(outcome.trial_id, outcome.status, outcome.values, outcome.metrics, outcome.error,
                            start, end)

    # --- the evaluator interface -----------------------------------------------------------
    def run(self, objective: Callable, metric_names: Sequence[str], tasks: Sequence[TrialTask],
            deadline: float | None = None) -> Iterator[TrialOutcome]:
        self._charge()
        for task in tasks:
            self._submit(task)
        while self._running:
            outcome = self._finish(objective, metric_names)
            self._resume()
            yield outcome
            self._charge()
        self._resume()

    def stream(self, objective: Callable, metric_names: Sequence[str], deadline: float | None = None) -> TrialStream:
        return _VirtualStream(self, objective, metric_names, deadline)

    def close(self) -> None:
        pass


class _VirtualStream(TrialStream):
    """:class:`~nasbench.evaluators.TrialStream` on a :class:`VirtualCluster`."""

    def __init__(self, cluster: VirtualCluster, objective: Callable, metric_names: Sequence[str],
                 deadline: float | None) -> None:
        super().__init__(objective, metric_names, deadline)
        self.cluster = cluster

    @property
    def in_flight(self) -> int:
        return len(self.cluster._running)

    def submit(self, task: TrialTask) -> None:
        self.cluster._charge()
        self.cluster._submit(task)
        self.cluster._resume()

    def next(self) -> TrialOutcome | None:
        self.cluster._charge()
        try:
            return self.cluster._finish(self.objective, self.metric_names) if self.cluster._running else None
        finally:
            self.cluster._resume()

    def ready(self) -> list[TrialOutcome]:
        """Trials that ended by now on the virtual clock (finished together)."""
        self.cluster._charge()
        out = []
        while self.cluster._running and self.cluster._running[0][0] <= self.cluster.now:
            out.append(self.cluster._finish(self.objective, self.metric_names))
        self.cluster._resume()
        return out

    def close(self) -> None:
        self.cluster._running.clear()


METHODS = {  # name: (optimizer, options)
    "nsga2": ("nsga2", {"config": {"population_size": 64}}),
    "random (batches)": ("random", {}),
    "random (async)": ("random", {"asynchronous": True}),
    "nsga2_async": ("nsga2_async", {"config": {"population_size": 64}}),
}


def busy_fraction(started: np.ndarray, finished: np.ndarray, t0: float, t1: float, workers: int) -> float:
    """Busy time of the trials within [t0, t1] over (t1 - t0) x workers."""
    if t1 <= t0:
        return float("nan")
    busy = np.clip(np.minimum(finished, t1) - np.maximum(started, t0), 0.0, None).sum()
    return float(busy / ((t1 - t0) * workers))


def utilisation(method: str, workers: int, evaluator, n_trials: int, seed: int = 0) -> dict:
    """One study of ``n_trials`` on ``evaluator``: utilisation over the whole study and over
    its steady state (until the last trial was submitted), on the evaluator's clock."""
    optimizer, options = METHODS[method]
    virtual = isinstance(evaluator, VirtualCluster)
    objective = SleepyZDT1() if not virtual else SleepyZDT1().problem
    with tempfile.TemporaryDirectory() as tmp:
        study = Study.create(Path(tmp) / "s", objective, optimizer=optimizer, optimizer_options=options, seed=seed)
        t0, start = time.time(), time.perf_counter()
        study.optimize(n_trials, evaluator=evaluator, show_progress=False)
        real = time.perf_counter() - start
        df = study.trials_dataframe()
        with warnings.catch_warnings():  # random search on ZDT1 seldom dominates the reference point: hv 0
            warnings.simplefilter("ignore")
            hv = study.hypervolume()
        study.close()
    started, finished = df["started"].to_numpy(float), df["finished"].to_numpy(float)
    if virtual:  # the virtual clock starts at 0; the last submission is the cluster's
        t0, end, last = 0.0, evaluator.now, evaluator.last_submit
        driver = evaluator.driver_seconds / n_trials * 1e3
    else:
        end, last, driver = t0 + real, float(df["created"].max()), float("nan")
    return {"method": method, "workers": workers, "trials": int((df["status"] == "done").sum()), "wall": end - t0,
            "utilisation": busy_fraction(started, finished, t0, end, workers),
            "steady": busy_fraction(started, finished, t0, last, workers), "driver_ms": driver, "hv": hv}


def virtual(worker_counts: list[int], rounds: int) -> list[dict]:
    """Every loop on virtual workers, with the driver's real cost charged and without it."""
    rows = []
    for workers in worker_counts:
        for charge in (True, False):
            for method in METHODS:
                cluster = VirtualCluster(workers, lambda task: sleep_time(task.seed), charge_driver=charge)
                row = utilisation(method, workers, cluster, rounds * workers)
                row["cluster"] = "virtual" if charge else "virtual, free driver"
                print(f"  {workers} {row['cluster']} workers, {method}: {row['utilisation']:.1%} "
                      f"(steady {row['steady']:.1%}) in {row['wall']:.1f} virtual s", flush=True)
                rows.append(row)
    return rows


def _sleep_task(seed: int) -> tuple[float, float]:
    started = time.time()
    time.sleep(sleep_time(seed))
    return started, time.time()


def dask_alone(client, workers: int, n_tasks: int) -> dict:
    """What Dask itself allows on this cluster: the studies' sleeps (their trials' seeds), one
    submitted per finished one (``client.submit`` + ``as_completed``), no study loop."""
    from distributed import as_completed

    seeds = trial_seeds(0, range(n_tasks))
    t0 = time.time()
    futures = [client.submit(_sleep_task, seeds[i], pure=False) for i in range(min(workers, n_tasks))]
    submitted, spans, last = len(futures), [], t0
    finished = as_completed(futures, with_results=True)
    for _, span in finished:
        spans.append(span)
        if submitted < n_tasks:
            finished.add(client.submit(_sleep_task, seeds[submitted], pure=False))
            submitted += 1
            last = time.time()
    end = time.time()
    started, ended = np.array(spans, dtype=float).T
    return {"method": "Dask alone (no study)", "workers": workers, "trials": n_tasks, "wall": end - t0,
            "utilisation": busy_fraction(started, ended, t0, end, workers),
            "steady": busy_fraction(started, ended, t0, last, workers), "driver_ms": float("nan"), "hv": None,
            "cluster": "Dask threads"}


def simulated(worker_counts: list[int], rounds: int) -> list[dict]:
    """Every loop on a Dask cluster of single-threaded workers (threads of this process)."""
    import dask
    from distributed import LocalCluster

    rows = []
    for workers in worker_counts:
        # memory_limit=0: threads of one process each see the whole process's memory, and at 64 a
        # per-worker share (24 GiB / 64) pauses them ("Worker is at 80% memory usage")
        threads = dict(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None, memory_limit=0)
        # Dask's own defaults, beside the settings below in the same run (this machine's speed drifts)
        with LocalCluster(**threads) as cluster, DaskEvaluator(cluster.scheduler_address) as ev:
            assert ev.parallelism == workers
            rows.append({**dask_alone(ev.client, workers, rounds * workers), "cluster": "Dask threads, Dask's defaults"})
        with dask.config.set(QUIET_WORKERS), LocalCluster(**threads) as cluster, \
                DaskEvaluator(cluster.scheduler_address) as ev:
            assert ev.parallelism == workers
            rows.append(dask_alone(ev.client, workers, rounds * workers))
            for method in METHODS:
                row = {**utilisation(method, workers, ev, rounds * workers), "cluster": "Dask threads"}
                print(f"  {workers} Dask workers, {method}: {row['utilisation']:.1%} "
                      f"(steady {row['steady']:.1%}) in {row['wall']:.1f} s", flush=True)
                rows.append(row)
    return rows


def real_training(n_trials: int) -> dict:
    """Trials per second on 2 Dask workers over one process, the same trials on each."""
    objective = TrainingObjective("sinewave", "mlp", ["val_mse"], protocol={"max_epochs": 5}, n_samples=600)
    walls = {}
    with DaskEvaluator(n_workers=2, threads_per_worker=1) as dask:
        dask.parallelism  # started before the clock
        for name, ev in (("one process", InProcessEvaluator()), ("2 Dask workers", dask)):
            with tempfile.TemporaryDirectory() as tmp:
                study = Study.create(Path(tmp) / "s", objective, optimizer="random", seed=0)
                start = time.perf_counter()
                study.optimize(n_trials, evaluator=ev, show_progress=False)
                walls[name] = time.perf_counter() - start
                assert study._store.counts()["done"] == n_trials
                study.close()
    return {"trials": n_trials, **walls, "ratio": walls["one process"] / walls["2 Dask workers"]}


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.2f}"


def _share(value: float) -> str:
    return "-" if value != value else f"{value:.1%}"  # nan: no steady state (one batch)


def report(rows: list[dict], real: dict | None, rounds: int) -> str:
    table = markdown_table(
        ["workers", "cluster", "loop", "trials", "wall (s)", "utilisation", "steady state", "driver (ms/trial)",
         "hypervolume"],
        [[r["workers"], r["cluster"], r["method"], r["trials"], f"{r['wall']:.1f}", _share(r["utilisation"]),
          _share(r["steady"]), _ms(r["driver_ms"]), "-" if r["hv"] is None else f"{r['hv']:.3f}"] for r in rows])
    lines = [f"Log-normal trial times (median {MEDIAN} s, sigma {SIGMA}), {rounds} x workers trials per study; "
             "utilisation = busy / (wall x workers) over the whole study, steady state = the same until the last "
             "trial was submitted. Virtual: simulated workers, the driver's real time charged to the clock "
             "(free driver: not charged); wall is virtual seconds. Dask threads: real sleeping workers, threads "
             "of this process, with QUIET_WORKERS (no profiler, slower monitors) unless marked Dask's defaults. "
             f"Loop batch for random search: {StudyLoop.oversubscribe} x workers.", "", table, ""]
    if real is None:
        lines.append("Real workers: skipped (--quick).")
    else:
        lines += [markdown_table(["trials", "one process (s)", "2 Dask workers (s)", "ratio (throughput)"],
                                 [[real["trials"], f"{real['one process']:.1f}", f"{real['2 Dask workers']:.1f}",
                                   f"{real['ratio']:.2f}x"]])]
    lines += ["", environment("torch", "distributed")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 workers, 3 rounds, no real training")
    parser.add_argument("--out", type=Path, help="also write the markdown tables here")
    parser.add_argument("--workers", type=int, nargs="+", default=[16, 64], help="simulated worker counts")
    parser.add_argument("--rounds", type=int, default=16, help="trials per study, in units of the worker count")
    parser.add_argument("--real-trials", type=int, default=8, help="training trials in the 2-worker comparison")
    parser.add_argument("--virtual-only", action="store_true", help="skip the Dask clusters and the real workers")
    args = parser.parse_args(argv)
    workers, rounds = ([8], 3) if args.quick else (args.workers, args.rounds)
    rows = virtual(workers, rounds)
    if not args.virtual_only:
        rows += simulated(workers, rounds)
    real = None if args.quick or args.virtual_only else real_training(args.real_trials)
    write_report(report(rows, real, rounds), args.out)


if __name__ == "__main__":
    main()

"""Benchmark how busy a study keeps many Dask workers: generational NSGA-II, random search, async NSGA-II.

Run from the repository root:

    python benchmarks/bench_workers.py            # 16 and 64 simulated workers, then 2 real ones
    python benchmarks/bench_workers.py --quick    # 8 simulated workers, a few trials: a smoke test
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
* ``random (async)``: random search in the asynchronous loop (``RandomSearch`` with
  ``asynchronous = True``; its table is the same as in batches, see the report).
* ``nsga2_async``: :class:`nasbench.optimizers.SteadyStateNSGA2`, population 64, one
  new trial per finished one.

**Two real workers.** The same small training study (random search over seed 003's MLP
space on the sinewave task) in one process (torch's threads) and on a 2-worker
``DaskEvaluator`` (one thread each): the ratio of trials per second, with the cluster
started before the clock. On a 2-core machine the physical limit is about 1x.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, markdown_table, write_report  # noqa: E402

from nasbench.evaluators import DaskEvaluator, InProcessEvaluator  # noqa: E402
from nasbench.loop import StudyLoop  # noqa: E402
from nasbench.objectives import ZDT1, TrainingObjective  # noqa: E402
from nasbench.study import Study  # noqa: E402

MEDIAN, SIGMA = 0.2, 1.0


class SleepyZDT1:
    """ZDT1 that first sleeps a log-normal time drawn from the trial's seed (a stand-in
    for training whose length varies from trial to trial)."""

    def __init__(self, n_var: int = 10, median: float = MEDIAN, sigma: float = SIGMA) -> None:
        self.problem, self.median, self.sigma = ZDT1(n_var=n_var), median, sigma
        self.space, self.metrics = self.problem.space, self.problem.metrics
        self.reference_point = self.problem.reference_point

    def __call__(self, config, seed):
        time.sleep(self.median * float(np.exp(self.sigma * np.random.default_rng(seed).standard_normal())))
        return self.problem(config, seed)


METHODS = {  # name: (optimizer, options, run random search asynchronously)
    "nsga2": ("nsga2", {"config": {"population_size": 64}}, False),
    "random (batches)": ("random", {}, False),
    "random (async)": ("random", {}, True),
    "nsga2_async": ("nsga2_async", {"config": {"population_size": 64}}, False),
}


def utilisation(method: str, workers: int, evaluator: DaskEvaluator, n_trials: int, seed: int = 0) -> dict:
    optimizer, options, asynchronous = METHODS[method]
    with tempfile.TemporaryDirectory() as tmp:
        study = Study.create(Path(tmp) / "s", SleepyZDT1(), optimizer=optimizer, optimizer_options=options,
                             seed=seed)
        if asynchronous:  # the one-line change proposed for RandomSearch (class attribute asynchronous = True)
            study.optimizer.asynchronous = True
        start = time.perf_counter()
        study.optimize(n_trials, evaluator=evaluator, show_progress=False)
        wall = time.perf_counter() - start
        df = study.trials_dataframe()
        hv = study.hypervolume()
        study.close()
    busy = float(df["duration"].sum())
    return {"method": method, "workers": workers, "trials": int((df["status"] == "done").sum()), "wall": wall,
            "busy": busy, "utilisation": busy / (wall * workers), "hv": hv}


def simulated(worker_counts: list[int], rounds: int) -> list[dict]:
    from distributed import LocalCluster

    rows = []
    for workers in worker_counts:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
            with DaskEvaluator(cluster.scheduler_address) as ev:
                assert ev.parallelism == workers
                for method in METHODS:
                    row = utilisation(method, workers, ev, rounds * workers)
                    print(f"  {workers} workers, {method}: {row['utilisation']:.1%} in {row['wall']:.1f} s",
                          flush=True)
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


def report(rows: list[dict], real: dict | None, rounds: int) -> str:
    table = markdown_table(
        ["workers", "loop", "trials", "wall (s)", "utilisation", "hypervolume"],
        [[r["workers"], r["method"], r["trials"], f"{r['wall']:.1f}", f"{r['utilisation']:.1%}",
          f"{r['hv']:.3f}"] for r in rows])
    lines = [f"Simulated workers: log-normal trial times (median {MEDIAN} s, sigma {SIGMA}), {rounds} x workers "
             "trials per study, utilisation = busy / (wall x workers). Loop batch for random search: "
             f"{StudyLoop.oversubscribe} x workers.", "", table, ""]
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
    parser.add_argument("--quick", action="store_true", help="8 simulated workers, 3 rounds, no real training")
    parser.add_argument("--out", type=Path, help="also write the markdown tables here")
    parser.add_argument("--workers", type=int, nargs="+", default=[16, 64], help="simulated worker counts")
    parser.add_argument("--rounds", type=int, default=8, help="trials per study, in units of the worker count")
    parser.add_argument("--real-trials", type=int, default=8, help="training trials in the 2-worker comparison")
    args = parser.parse_args(argv)
    workers, rounds = ([8], 3) if args.quick else (args.workers, args.rounds)
    rows = simulated(workers, rounds)
    real = None if args.quick else real_training(args.real_trials)
    write_report(report(rows, real, rounds), args.out)


if __name__ == "__main__":
    main()

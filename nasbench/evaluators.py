"""Run a batch of trials: in this process, or on a Dask cluster.

:func:`run_trial` is the unit of work on either: it calls the objective with the
trial's configuration and seed and turns whatever happens (values, NaN, an
exception) into a :class:`TrialOutcome`, so one bad trial never stops a study.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

__all__ = ["TrialTask", "TrialOutcome", "run_trial", "InProcessEvaluator", "DaskEvaluator", "make_evaluator"]


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to run one trial."""

    trial_id: int
    config: dict
    seed: int
    directory: str | None = None  # the study's, for objectives that save artefacts (weights)


@dataclass(frozen=True)
class TrialOutcome:
    """What came of a trial: values in metric order (None when it failed)."""

    trial_id: int
    status: str
    values: tuple[float, ...] | None
    metrics: dict = field(default_factory=dict)
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0


def _split_result(result: Any, metric_names: Sequence[str]) -> tuple[list[float], dict]:
    if isinstance(result, Mapping):
        missing = [m for m in metric_names if m not in result]
        if missing:
            raise ValueError(f"objective result lacks metrics {missing}; return a dict with keys {list(metric_names)}")
        extra = {k: v for k, v in result.items() if k not in metric_names}
        return [float(result[m]) for m in metric_names], extra
    if isinstance(result, (int, float)) and len(metric_names) == 1:
        return [float(result)], {}
    if isinstance(result, (list, tuple)) and len(result) == len(metric_names):
        return [float(v) for v in result], {}
    raise ValueError(f"objective returned {type(result).__name__}; return a dict with keys {list(metric_names)}")


def _json_safe(metrics: dict) -> dict:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = repr(v)
        out[str(k)] = v
    return out


def run_trial(objective: Callable, metric_names: Sequence[str], task: TrialTask) -> TrialOutcome:
    """Call ``objective(config, seed)`` (or ``objective.evaluate_trial(task)`` where the
    objective wants the whole task); a raise or a NaN/inf value becomes a failed outcome."""
    started = time.time()
    try:
        if hasattr(objective, "evaluate_trial"):
            result = objective.evaluate_trial(task)
        else:
            result = objective(dict(task.config), task.seed)
        values, metrics = _split_result(result, metric_names)
        bad = [n for n, v in zip(metric_names, values) if not math.isfinite(v)]
        if bad:
            return TrialOutcome(task.trial_id, "failed", None, _json_safe({**metrics, **dict(zip(metric_names, values))}),
                                f"objective returned a non-finite value for {bad}", started, time.time())
        return TrialOutcome(task.trial_id, "done", tuple(values), _json_safe(metrics), None, started, time.time())
    except Exception as exc:  # noqa: BLE001 - a failing trial is data, not a crash
        where = traceback.extract_tb(exc.__traceback__)[-1]
        error = f"{type(exc).__name__}: {exc} ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
        return TrialOutcome(task.trial_id, "failed", None, {}, error, started, time.time())


class InProcessEvaluator:
    """Trials one after another in this process."""

    parallelism = 1

    def run(self, objective: Callable, metric_names: Sequence[str], tasks: Sequence[TrialTask],
            deadline: float | None = None) -> Iterator[TrialOutcome]:
        for task in tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return
            yield run_trial(objective, metric_names, task)

    def close(self) -> None:
        pass

    def __enter__(self) -> "InProcessEvaluator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class DaskEvaluator:
    """Trials in parallel on Dask: a ``LocalCluster`` that nasbench starts and stops
    when no ``address`` is given, or the running scheduler at ``address``.

    A trial that raises inside Dask machinery is retried ``retries`` times; one whose
    worker dies is rescheduled by Dask until it has been on
    ``distributed.scheduler.allowed-failures`` (default 3) dying workers, then it is
    recorded as failed with the reason. Either way the study goes on.
    """

    def __init__(self, address: str | None = None, *, n_workers: int = 2, threads_per_worker: int = 1,
                 retries: int = 1) -> None:
        if address is None and n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        self.address, self.n_workers, self.threads_per_worker, self.retries = address, n_workers, threads_per_worker, retries
        self._client = self._cluster = None

    @property
    def client(self):
        if self._client is None:
            from distributed import Client, LocalCluster

            if self.address is None:
                # one BLAS/OpenMP thread per worker thread, so parallel trials do not
                # oversubscribe the cores (torch reads these when the worker imports it)
                threads = str(self.threads_per_worker)
                env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
                # distributed sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's
                # dynamic mmap threshold: torch training ran ~30% slower there (8 s vs 10.5 s)
                import dask

                with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                    self._cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=self.threads_per_worker,
                                                 dashboard_address=None, processes=True, env=env)
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.address)
        return self._client

    @property
    def parallelism(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def run(self, objective: Callable, metric_names: Sequence[str], tasks: Sequence[TrialTask],
            deadline: float | None = None) -> Iterator[TrialOutcome]:
        from distributed import as_completed

        # The objective travels with each task rather than scattered once: scattered data
        # dies with its worker, and a trial must survive that.
        futures = {self.client.submit(run_trial, objective, list(metric_names), t, pure=False, retries=self.retries,
                                      key=f"nasbench-trial-{t.trial_id}-{time.monotonic_ns()}"): t for t in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after the retries
                now = time.time()
                yield TrialOutcome(task.trial_id, "failed", None, {}, f"worker lost: {type(exc).__name__}: {exc}",
                                   now, now)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def __enter__(self) -> "DaskEvaluator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def make_evaluator(kind: str | None = None, **options: Any):
    """``"inprocess"`` (default) or ``"dask"`` (``address=..., n_workers=...``)."""
    if kind in (None, "inprocess"):
        return InProcessEvaluator()
    if kind == "dask":
        return DaskEvaluator(**options)
    raise ValueError(f"unknown evaluator {kind!r}; use 'inprocess' or 'dask'")

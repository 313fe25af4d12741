"""Run a batch of trials: in this process, or on a Dask cluster.

:func:`run_trial` is the unit of work on either: it calls the objective with the
trial's configuration and seed and turns whatever happens (values, NaN, an
exception) into a :class:`TrialOutcome`, so one bad trial never stops a study.
"""

from __future__ import annotations

import math
import numbers
import threading
import time
import traceback
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

__all__ = ["TrialTask", "TrialOutcome", "TrialPruned", "BadResult", "describe_error", "run_trial", "InProcessEvaluator",
           "DaskEvaluator", "ClusterUnreachable", "make_evaluator", "process_cached", "process_cache_loads",
           "TrialStream"]


# --- what every trial in a worker process shares --------------------------------------------
# Objectives travel to Dask workers pickled with each task, as a recipe without its data
# (TrainingObjective.__getstate__). What the recipe rebuilds (a dataset) is kept here, once per
# process, keyed by the recipe: every later trial in that worker takes it from the cache. Chosen
# over Client.scatter (scattered data dies with its worker and must be re-scattered by hand, and
# a study must survive a lost worker) and over a worker plugin (it has to be registered with
# each cluster, and it knows nothing of an objective that changes between studies): a cache
# needs no cluster at all, so the in-process evaluator and a restarted worker behave alike.
_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_LOADS: Counter = Counter()
#: Entries kept per process (least recently used go first), so a long-lived worker that
#: serves many studies does not keep every dataset it ever loaded.
PROCESS_CACHE_SIZE = 4


def process_cached(kind: str, key: str, build: Callable[[], Any]) -> Any:
    """``build()`` once per process for ``(kind, key)``; later calls get the same object.
    Threads of one worker wait for the first build rather than repeat it."""
    with _CACHE_LOCK:
        if (kind, key) in _CACHE:
            _CACHE.move_to_end((kind, key))
            return _CACHE[(kind, key)]
        value = build()
        _CACHE_LOADS[kind] += 1
        _CACHE[(kind, key)] = value
        while len(_CACHE) > PROCESS_CACHE_SIZE:
            _CACHE.popitem(last=False)
        return value


def process_cache_loads(kind: str | None = None) -> int:
    """How many times this process built an entry (of ``kind``, or of any kind)."""
    with _CACHE_LOCK:
        return sum(_CACHE_LOADS.values()) if kind is None else _CACHE_LOADS[kind]


class TrialPruned(Exception):
    """Raised by :meth:`TrialTask.report` when the study's stopping rule ends the trial;
    an objective lets it pass (it is how a trial stops early, not a failure)."""


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to run one trial.

    ``fidelity``: the budget (epochs) to train to, None for the objective's own.
    ``warm_start``: the trial whose saved checkpoint this one continues (None: from
    scratch). ``stopping``: the stopping rule and what it compares against (the
    curves of the trials finished before this batch was asked; see
    :mod:`nasbench.optimizers.stopping`), or None. ``checkpoint``: save the weights
    where a later trial may continue them (``nasbench.store.write_weights``).
    """

    trial_id: int
    config: dict
    seed: int
    directory: str | None = None  # the study's, for objectives that save artefacts (weights)
    fidelity: int | None = None
    warm_start: int | None = None
    stopping: dict | None = None
    checkpoint: bool = False
    metric_names: tuple = ()
    reports: list = field(default_factory=list, compare=False, repr=False)

    def report(self, step: int, values: Mapping[str, float]) -> None:
        """An intermediate result at ``step`` (an epoch): the study's metrics by name,
        as far as they are known mid-training. Kept with the trial (``intermediate``);
        raises :class:`TrialPruned` when the stopping rule says stop."""
        names = list(self.metric_names) or sorted(values)
        point = [_number(n, values[n]) if n in values else None for n in names]
        self.reports.append([int(step), point])
        if not self.stopping:
            return
        signs = [1.0 if d == "minimize" else -1.0 for d in self.stopping["directions"]]
        curve = [(s, tuple(None if v is None else sign * v for v, sign in zip(p, signs))) for s, p in self.reports]
        others = [[(s, tuple(p)) for s, p in c] for c in self.stopping["history"]]
        if _stopping_rule(self.stopping["rule"]).should_stop(curve, others):
            raise TrialPruned(f"stopped at step {step} by the {self.stopping['rule']['name']} rule")


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


def _stopping_rule(spec: dict):
    from .optimizers.stopping import make_stopping_rule

    return make_stopping_rule(spec["name"], **spec.get("options", {}))


class BadResult(ValueError):
    """An objective returned something a study cannot record; the message says what to return."""


def _number(name: str, value: Any) -> float:
    """A metric's value as a float; ``'0.5'``, ``True`` or ``None`` are not numbers."""
    if type(value) is float:  # the common case, without the slower ABC check
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise BadResult(f"metric {name!r} is {value!r} ({type(value).__name__}); return a number")
    return float(value)


def _split_result(result: Any, metric_names: Sequence[str]) -> tuple[list[float], dict]:
    if type(result) is dict or isinstance(result, Mapping):  # a plain dict skips the slower ABC check
        missing = [m for m in metric_names if m not in result]
        if missing:
            raise BadResult(f"objective result lacks metrics {missing}; {_expect(metric_names)}")
        extra = {k: v for k, v in result.items() if k not in metric_names} if len(result) > len(metric_names) else {}
        return [_number(m, result[m]) for m in metric_names], extra
    if isinstance(result, (numbers.Real, np.generic)) and not isinstance(result, (str, bytes)) and len(metric_names) == 1:
        return [_number(metric_names[0], result)], {}
    if isinstance(result, (list, tuple)) and len(result) == len(metric_names):
        return [_number(m, v) for m, v in zip(metric_names, result)], {}
    raise BadResult(f"objective returned {type(result).__name__}; {_expect(metric_names)}")


def _expect(metric_names: Sequence[str]) -> str:
    return f"return a dict with keys {list(metric_names)}"


def _storable(value: Any, where: str) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays become numbers and lists,
    non-finite floats their text ('nan'); anything else unstorable raises BadResult."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, (np.generic, np.ndarray)):
        return _storable(value.tolist(), where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [_storable(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _storable(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise BadResult(f"metric {where} is a {type(value).__name__}, which a study cannot store; return numbers, "
                    "strings, lists or dicts")


def _json_safe(metrics: dict) -> dict:
    return {str(k): _storable(v, repr(str(k))) for k, v in metrics.items()}


#: Exceptions that say what is wrong with a trial (its configuration, its training):
#: recorded as one line. Anything else is a bug and keeps its whole traceback.
TRIAL_ERRORS: tuple[type[BaseException], ...] = (BadResult,)


def _trial_errors() -> tuple[type[BaseException], ...]:
    errors = list(TRIAL_ERRORS)
    try:  # torch-backed failures, when torch is in use
        from .models import InvalidArchitecture
        from .training import OutOfMemory, TrainingDiverged

        errors += [InvalidArchitecture, OutOfMemory, TrainingDiverged]
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return tuple(errors)


def describe_error(exc: BaseException) -> str:
    """A failed trial's error text: one line for a known trial failure (a diverging
    run, an impossible architecture, a bad result); the whole traceback for anything
    else, so a bug in an objective still looks like a bug."""
    line = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, _trial_errors()):
        return line
    return line + "\n\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()


def run_trial(objective: Callable, metric_names: Sequence[str], task: TrialTask) -> TrialOutcome:
    """Call ``objective(config, seed)`` (or ``objective.evaluate_trial(task)`` where the
    objective wants the whole task); a raise, a NaN/inf value or a result that cannot be
    stored becomes a failed outcome with its reason."""
    started = time.time()
    try:
        if hasattr(objective, "evaluate_trial"):
            result = objective.evaluate_trial(task)
        else:
            result = objective(dict(task.config), task.seed)
        values, metrics = _split_result(result, metric_names)
        metrics = _json_safe(metrics)
        if task.reports:
            metrics["intermediate"] = _json_safe({"r": task.reports})["r"]
        bad = [n for n, v in zip(metric_names, values) if not math.isfinite(v)]
        if bad:
            return TrialOutcome(task.trial_id, "failed", None, {**metrics, **_json_safe(dict(zip(metric_names, values)))},
                                f"objective returned a non-finite value for {bad}", started, time.time())
        return TrialOutcome(task.trial_id, "done", tuple(values), metrics, None, started, time.time())
    except TrialPruned as exc:  # stopped early by the study's stopping rule: its last values stand
        last = task.reports[-1][1] if task.reports else None
        values = tuple(last) if last is not None and all(v is not None and math.isfinite(v) for v in last) else None
        metrics = {"intermediate": _json_safe({"r": task.reports})["r"], "pruned_at": task.reports[-1][0]}
        return TrialOutcome(task.trial_id, "pruned", values, metrics, str(exc), started, time.time())
    except Exception as exc:  # noqa: BLE001 - a failing trial is data, not a crash
        return TrialOutcome(task.trial_id, "failed", None, {}, describe_error(exc), started, time.time())


class TrialStream:
    """Trials submitted one at a time, results as each finishes: the asynchronous mode
    of the study loop (:meth:`nasbench.loop.StudyLoop.run_async`). ``submit(task)``
    starts a trial; ``next()`` waits for the next finished one and returns its outcome,
    or None when ``deadline`` (``time.monotonic()``) has passed or nothing is in flight;
    leaving the ``with`` block cancels what is still running (those trials stay pending
    in the study). This base class runs trials in this process, one at a time, in the
    order submitted, each at ``next()``; :class:`DaskEvaluator` overrides it."""

    def __init__(self, objective: Callable, metric_names: Sequence[str], deadline: float | None = None) -> None:
        self.objective, self.metric_names, self.deadline = objective, list(metric_names), deadline
        self._queue: list[TrialTask] = []

    @property
    def in_flight(self) -> int:
        """Trials submitted and not yet returned by :meth:`next`."""
        return len(self._queue)

    def submit(self, task: TrialTask) -> None:
        self._queue.append(task)

    def next(self) -> TrialOutcome | None:
        if not self._queue or (self.deadline is not None and time.monotonic() >= self.deadline):
            return None
        return run_trial(self.objective, self.metric_names, self._queue.pop(0))

    def ready(self) -> list[TrialOutcome]:
        """The outcomes of trials that have finished already, without waiting (here: none,
        since a trial runs when :meth:`next` asks for it)."""
        return []

    def close(self) -> None:
        self._queue.clear()

    def __enter__(self) -> "TrialStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class InProcessEvaluator:
    """Trials one after another in this process."""

    parallelism = 1

    def stream(self, objective: Callable, metric_names: Sequence[str], deadline: float | None = None) -> TrialStream:
        """Submit trials one at a time (see :class:`TrialStream`)."""
        return TrialStream(objective, metric_names, deadline)

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


class ClusterUnreachable(ConnectionError):
    """No Dask scheduler answered at the address given."""


def _restore_distributed_defaults() -> None:
    """Put distributed's own defaults back into dask's config where they are missing.

    ``dask.config.set({"distributed.<key>": v})`` entered before ``distributed`` is first
    imported records an insert of the whole ``distributed`` section, and on leaving pops it,
    the defaults merged in meanwhile included: every later cluster in the process then
    fails with ``KeyError: 'comm'``. Values the user set are kept (priority "old").
    """
    import dask
    from distributed.config import defaults  # the module (the package's .config is dask's dict)

    with dask.config.config_lock:
        dask.config.update(dask.config.config, defaults, priority="old")


#: Dask settings of the cluster a :class:`DaskEvaluator` starts itself (not of one at an address).
OWN_CLUSTER_CONFIG = {
    # distributed sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's
    # dynamic mmap threshold: torch training ran ~30% slower there (8 s vs 10.5 s)
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # each worker's statistical profiler samples its threads every 10 ms for the dashboard's
    # profile page; this cluster has no dashboard. With it on, Dask alone kept 64 sleeping
    # workers on 2 cores 66-76 % busy, with it off 86 % (bench_workers.py, 2026-12-04)
    "distributed.worker.profile.enabled": False,
}


class DaskEvaluator:
    """Trials in parallel on Dask: a ``LocalCluster`` that nasbench starts and stops
    when no ``address`` is given, or the running scheduler at ``address``.

    A trial that raises inside Dask machinery is retried ``retries`` times; one whose
    worker dies is rescheduled by Dask until it has been on
    ``distributed.scheduler.allowed-failures`` (default 3) dying workers, then it is
    recorded as failed with the reason. Either way the study goes on.
    """

    #: Seconds to wait for a scheduler at ``address`` before giving up.
    connect_timeout = 10.0

    def __init__(self, address: str | None = None, *, n_workers: int = 2, threads_per_worker: int = 1,
                 retries: int = 1) -> None:
        for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
        self.address, self.n_workers, self.threads_per_worker, self.retries = address, n_workers, threads_per_worker, retries
        self._client = self._cluster = None

    @property
    def client(self):
        if self._client is None:
            from distributed import Client, LocalCluster

            _restore_distributed_defaults()
            if self.address is None:
                # one BLAS/OpenMP thread per worker thread, so parallel trials do not
                # oversubscribe the cores (torch reads these when the worker imports it)
                threads = str(self.threads_per_worker)
                env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
                import dask

                with dask.config.set(OWN_CLUSTER_CONFIG):
                    self._cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=self.threads_per_worker,
                                                 dashboard_address=None, processes=True, env=env)
                self._client = Client(self._cluster)
            else:
                try:
                    self._client = Client(self.address, timeout=self.connect_timeout)
                except (OSError, TimeoutError) as exc:
                    raise ClusterUnreachable(f"no Dask scheduler answered at {self.address} within "
                                             f"{self.connect_timeout:.0f} s ({type(exc).__name__}); start one "
                                             "(dask scheduler) or check the address") from None
        return self._client

    @property
    def parallelism(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def run(self, objective: Callable, metric_names: Sequence[str], tasks: Sequence[TrialTask],
            deadline: float | None = None) -> Iterator[TrialOutcome]:
        from distributed import as_completed

        if not tasks:  # nothing to wait for (an empty as_completed would ask Dask for a default client)
            return
        # The objective travels with each task rather than scattered once: scattered data
        # dies with its worker, and a trial must survive that. What it loads (its data set)
        # is built once per worker process (process_cached).
        futures = {self._submit(objective, metric_names, t): t for t in tasks}
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        finished = as_completed(futures, timeout=timeout)
        try:
            for future in finished:
                task = futures[future]
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after the retries
                    yield _lost(task, exc)
        except TimeoutError:  # the deadline passed: what has not finished stays pending
            pass
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def stream(self, objective: Callable, metric_names: Sequence[str],
               deadline: float | None = None) -> "_DaskTrialStream":
        """Submit trials as others finish, keeping the workers busy (see :class:`TrialStream`):
        results come back in the order they finish, which depends on timing."""
        return _DaskTrialStream(self, objective, metric_names, deadline)

    def _submit(self, objective: Callable, metric_names: Sequence[str], task: TrialTask):
        return self.client.submit(run_trial, objective, list(metric_names), task, pure=False, retries=self.retries,
                                  key=f"nasbench-trial-{task.trial_id}-{time.monotonic_ns()}")

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


def _lost(task: TrialTask, exc: BaseException) -> TrialOutcome:
    now = time.time()
    return TrialOutcome(task.trial_id, "failed", None, {}, f"worker lost: {type(exc).__name__}: {exc}", now, now)


class _DaskTrialStream(TrialStream):
    """:class:`TrialStream` on Dask: ``distributed.as_completed``, which takes new
    futures while it is being iterated (``add``), so a finished trial's successor
    starts while the others still run."""

    def __init__(self, evaluator: DaskEvaluator, objective: Callable, metric_names: Sequence[str],
                 deadline: float | None) -> None:
        from distributed import as_completed

        super().__init__(objective, metric_names, deadline)
        self.evaluator = evaluator
        self._futures: dict = {}
        loop = evaluator.client.loop  # starts the cluster, before the clock is read
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        # results come back with the futures (one round trip fewer per trial than future.result());
        # the evaluator's own loop: an empty as_completed otherwise asks for Dask's default client,
        # which is none on a fresh evaluator, or the user's other one
        self._finished = as_completed([], loop=loop, with_results=True, raise_errors=False,
                                      timeout=timeout)

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, task: TrialTask) -> None:
        future = self.evaluator._submit(self.objective, self.metric_names, task)
        self._futures[future] = task
        self._finished.add(future)

    def next(self) -> TrialOutcome | None:
        if not self._futures:
            return None
        try:
            future, result = next(self._finished)
        except (TimeoutError, StopIteration):  # the deadline passed: what has not finished stays pending
            return None
        return self._outcome(future, result)

    def ready(self) -> list[TrialOutcome]:
        """The outcomes of trials that have finished already, without waiting."""
        return [self._outcome(future, result) for future, result in self._finished.next_batch(block=False)]

    def _outcome(self, future, result) -> TrialOutcome:
        task = self._futures.pop(future)
        if isinstance(result, TrialOutcome):
            return result
        exc = result[1] if isinstance(result, tuple) else result  # (type, exception, traceback) or CancelledError
        return _lost(task, exc)  # e.g. KilledWorker after the retries

    def close(self) -> None:
        if self._futures:
            self.evaluator.client.cancel(list(self._futures))
        self._futures.clear()


def make_evaluator(kind: str | None = None, **options: Any):
    """``"inprocess"`` (default) or ``"dask"`` (``address=..., n_workers=...``)."""
    if kind in (None, "inprocess"):
        return InProcessEvaluator()
    if kind == "dask":
        return DaskEvaluator(**options)
    raise ValueError(f"unknown evaluator {kind!r}; use 'inprocess' or 'dask'")

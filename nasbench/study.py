"""The :class:`Study` handle: create / load / resume a study, and ask it questions.

A study lives in a directory (:mod:`nasbench.store`). Its :class:`StudySettings`
are fixed when it is created and validated on the way in and out of the store;
the driver loop is :class:`nasbench.loop.StudyLoop`; queries on its results
delegate to :mod:`nasbench.analysis`.

An objective is any callable ``objective(config, seed)``. It may carry ``space``,
``metrics`` and ``reference_point`` (the synthetic problems and
:class:`~nasbench.objectives.TrainingObjective` do), and a ``spec()`` that
rebuilds it in another process; nothing here tests for its concrete class.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import pandas as pd

from . import __version__, analysis
from .callbacks import ProgressBar
from .evaluators import make_evaluator
from .hypervolume import to_minimization
from .loop import StudyLoop, trial_seed
from .objectives import Metric, objective_from_spec, objective_spec, parse_metrics
from .optimizers import OPTIMIZERS, Optimizer, make_optimizer
from .space import SearchSpace, SpaceError
from .store import Store, StoreError, TrialRecord

__all__ = ["Study", "StudySettings", "trial_seed", "create_study", "load_study", "trials_to_dataframe"]

Callback = Callable[["Study", TrialRecord], None]


def _plain(obj: Any) -> Any:
    """JSON's view of ``obj`` (tuples become lists), for comparisons."""
    return json.loads(json.dumps(obj))


@dataclass(frozen=True)
class StudySettings:
    """What a study is, fixed when it is created: the space, the metrics, the optimiser
    and its options, the seed, the reference point (metrics' own units) and how to
    rebuild the objective. Stored as JSON in the study's database."""

    space: SearchSpace
    metrics: tuple[Metric, ...]
    optimizer: str = "nsga2"
    optimizer_options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    reference_point: tuple[float, ...] | None = None
    objective: Mapping[str, Any] | None = None
    cache: bool = False
    stopping: Mapping[str, Any] | None = None
    created_with: str = __version__

    def __post_init__(self) -> None:
        if not isinstance(self.space, SearchSpace):
            raise ValueError(f"space must be a nasbench.space.SearchSpace, got {type(self.space).__name__}")
        object.__setattr__(self, "metrics", parse_metrics(self.metrics))
        if not isinstance(self.optimizer, str) or self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; use one of {sorted(OPTIMIZERS)}")
        if not isinstance(self.optimizer_options, Mapping):
            raise ValueError(f"optimizer_options must be a dict, e.g. {{'config': {{'population_size': 20}}}}, "
                             f"got {self.optimizer_options!r}")
        object.__setattr__(self, "optimizer_options", dict(self.optimizer_options))
        object.__setattr__(self, "seed", _check_seed(self.seed))
        if not isinstance(self.cache, bool):
            raise ValueError(f"cache must be True or False, got {self.cache!r}")
        if self.stopping is not None:
            object.__setattr__(self, "stopping", _check_stopping(self.stopping))
        if self.reference_point is not None:
            object.__setattr__(self, "reference_point", _check_reference(self.reference_point, self.metrics))

    @property
    def directions(self) -> list[str]:
        return [m.direction for m in self.metrics]

    def build_optimizer(self) -> Optimizer:
        """The optimiser these settings describe, fresh (bad options fail here, before anything is written)."""
        return make_optimizer(self.optimizer, self.space, len(self.metrics), seed=self.seed,
                              **_with_reference(self.optimizer, self.optimizer_options, self.metrics,
                                                self.reference_point))

    # --- the stored form -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "space": self.space.to_dict(),
            "metrics": [{"name": m.name, "direction": m.direction} for m in self.metrics],
            "optimizer": {"name": self.optimizer, "options": _plain(self.optimizer_options)},
            "seed": self.seed,
            "reference_point": None if self.reference_point is None else list(self.reference_point),
            "objective": self.objective,
            "cache": self.cache,
            "stopping": None if self.stopping is None else _plain(self.stopping),
            "created_with": self.created_with,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: Any = "the study") -> "StudySettings":
        """Settings from their stored form; a damaged or foreign form fails with the fix."""
        missing = [k for k in ("space", "metrics", "optimizer", "seed") if k not in data]
        if missing:
            raise StoreError(f"{where}: the stored settings lack {missing}; the study database is damaged or was "
                             "not written by nasbench: restore it from a backup or start a new study")
        optimizer = data["optimizer"]
        if optimizer.get("name") not in OPTIMIZERS:
            raise StoreError(f"{where} uses optimizer {optimizer.get('name')!r}, unknown to this nasbench "
                             f"{__version__}; upgrade nasbench (pip install -U nasbench)")
        try:
            return cls(SearchSpace.from_dict(data["space"]), parse_metrics(data["metrics"]), optimizer["name"],
                       optimizer.get("options") or {}, data["seed"], data.get("reference_point"),
                       data.get("objective"), data.get("cache", False), data.get("stopping"),
                       data.get("created_with", "unknown"))
        except (SpaceError, ValueError) as exc:
            raise StoreError(f"{where}: the stored settings do not load ({exc}); if a newer nasbench wrote this "
                             "study, upgrade nasbench") from None

    def differences(self, other: "StudySettings") -> list[str]:
        """The fields (dotted paths into the stored form) where ``other`` differs."""
        mine, theirs = _plain(self.to_dict()), _plain(other.to_dict())
        out: list[str] = []
        for key in ("space", "metrics", "optimizer", "seed", "reference_point", "objective", "cache", "stopping"):
            out += _diff(mine[key], theirs[key], key)
        return out


def _diff(a: Any, b: Any, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _diff(a.get(k), b.get(k), f"{path}.{k}")]
    if a == b:
        return []
    return [f"{path} (stored {json.dumps(a)[:60]}, asked {json.dumps(b)[:60]})"]


def _check_stopping(stopping: Any) -> dict:
    """A stopping rule as ``{"name": ..., "options": {...}}`` (or its name alone), checked."""
    from .optimizers.stopping import make_stopping_rule

    if isinstance(stopping, str):
        stopping = {"name": stopping}
    if not isinstance(stopping, Mapping) or "name" not in stopping or set(stopping) - {"name", "options"}:
        raise ValueError(f"stopping must be a rule's name or {{'name': 'median', 'options': {{'grace_steps': 5}}}}, "
                         f"got {stopping!r}")
    rule = make_stopping_rule(stopping["name"], **dict(stopping.get("options") or {}))
    return _plain(rule.to_dict())


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, float)) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, e.g. seed=0, got {seed!r}")
    return int(seed)


def _check_reference(point: Any, metrics: Sequence[Metric]) -> tuple[float, ...]:
    example = [1.0] * len(metrics)
    if isinstance(point, (str, bytes)) or not isinstance(point, Sequence):
        raise ValueError(f"reference_point must be a list of {len(metrics)} numbers (one per metric), e.g. "
                         f"{example}, got {point!r}")
    if len(point) != len(metrics) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and
                                             math.isfinite(v) for v in point):
        raise ValueError(f"reference_point needs {len(metrics)} finite numbers (one per metric: "
                         f"{[m.name for m in metrics]}), got {list(point)}")
    return tuple(float(v) for v in point)


def _with_reference(optimizer: str, options: Mapping[str, Any], metrics: Sequence[Metric], reference_point) -> dict:
    """NSGA-II's hypervolume-based parent selection uses the study's reference point."""
    options = dict(options)
    if optimizer not in ("nsga2", "nsga2_async") or reference_point is None or not isinstance(options.get("config", {}), Mapping):
        return options
    config = dict(options.get("config") or {})
    if config.get("reference_point") is None:
        config["reference_point"] = list(to_minimization([reference_point], [m.direction for m in metrics])[0])
    return {**options, "config": config}


def _objective_reference(objective: Any) -> Any:
    """The objective's own reference point, if it carries one. A training objective whose
    metrics have no fixed worst value (``val_mse``) has none: it raises ValueError."""
    try:
        return getattr(objective, "reference_point", None)
    except ValueError:
        return None


class Study:
    """A resumable optimisation study. Build one with :meth:`create` or :meth:`load`."""

    def __init__(self, store: Store, objective: Callable | None, optimizer: Optimizer, settings: StudySettings,
                 untold: Sequence[int] = ()) -> None:
        self._store, self.objective, self.optimizer, self.settings = store, objective, optimizer, settings
        self._loop = StudyLoop(store, optimizer, settings.space, settings.metrics, settings.seed, untold,
                               cache=settings.cache, stopping=settings.stopping)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def create(cls, directory: str | Path, objective: Callable, *, space: SearchSpace | None = None,
               metrics: Any = None, optimizer: str = "nsga2", optimizer_options: Mapping[str, Any] | None = None,
               seed: int = 0, reference_point: Sequence[float] | None = None, cache: bool = False,
               stopping: str | Mapping[str, Any] | None = None, load_if_exists: bool = False) -> "Study":
        """A new study in ``directory``. An objective that carries ``space``, ``metrics``
        and ``reference_point`` brings them; a plain callable needs ``space`` and
        ``metrics``. ``reference_point`` (in the metrics' own units) is fixed up front.
        ``cache``: a configuration evaluated before is not trained again; its trial takes the
        earlier values (see :meth:`nasbench.loop.StudyLoop.reuse`). ``stopping``: a rule of
        :mod:`nasbench.optimizers.stopping` (``"median"``, ``"mean"``, ``"pareto"``, or
        ``{"name": ..., "options": {...}}``) that ends unpromising trials early (``pruned``)
        from the values they report each epoch; it works with any optimiser.
        ``load_if_exists``: open the study already there instead, refusing one whose
        settings (objective included) differ."""
        settings = cls._settings_for(objective, space, metrics, optimizer, optimizer_options, seed, reference_point,
                                     cache, stopping)
        if not isinstance(load_if_exists, bool):
            raise ValueError(f"load_if_exists must be True or False, got {load_if_exists!r}")
        if load_if_exists and Store.exists(directory):
            study = cls.load(directory, objective=objective)
            differ = study.settings.differences(settings)
            if differ:
                study.close()
                more = f" (and {len(differ) - 1} more)" if len(differ) > 1 else ""
                raise ValueError(f"{directory} holds a study with another {differ[0]}{more}; open it as it is "
                                 "(Study.load), or choose another directory")
            return study
        optimizer_ = settings.build_optimizer()  # fails on bad options before anything is written
        store = Store.create(directory, settings.to_dict())
        return cls(store, objective, optimizer_, settings)

    @staticmethod
    def _settings_for(objective, space, metrics, optimizer, options, seed, reference_point, cache,
                      stopping=None) -> StudySettings:
        if not callable(objective):
            raise ValueError(f"objective must be callable as objective(config, seed), got {type(objective).__name__}")
        space = space if space is not None else getattr(objective, "space", None)
        if reference_point is None and metrics is None:  # the objective's point fits its own metrics only
            reference_point = _objective_reference(objective)
        metrics = metrics if metrics is not None else getattr(objective, "metrics", None)
        if space is None or metrics is None:
            raise ValueError("a plain objective function needs space=... and metrics={'name': 'minimize', ...}")
        return StudySettings(space, metrics, optimizer, options or {}, seed, reference_point,
                             objective_spec(objective), cache, stopping)

    @classmethod
    def load(cls, directory: str | Path, *, objective: Callable | None = None) -> "Study":
        """Open the study in ``directory``; ``objective`` is needed when it cannot be
        rebuilt from the store (a function defined in a notebook)."""
        store = Store.open(directory)
        try:
            settings = StudySettings.from_dict(store.settings(), directory)
            optimizer = settings.build_optimizer()
            state = store.optimizer_state()
            if state is not None:
                optimizer.load_state_dict(state["optimizer"])
        except BaseException:
            store.close()
            raise
        return cls(store, objective, optimizer, settings, state["untold"] if state else ())

    # --- properties ------------------------------------------------------------------------
    @property
    def directory(self) -> Path:
        return self._store.directory

    @property
    def space(self) -> SearchSpace:
        return self.settings.space

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return self.settings.metrics

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def reference_point(self) -> list[float] | None:
        """The fixed reference point, in the metrics' own units."""
        rp = self.settings.reference_point
        return None if rp is None else list(rp)

    @property
    def directions(self) -> list[str]:
        return self.settings.directions

    @property
    def n_trials(self) -> int:
        """Trials created so far (done, failed or pending)."""
        return self._store.next_trial_id()

    @property
    def target_trials(self) -> int:
        """The number of trials the last ``optimize`` call asked for."""
        return self._store.target_trials()

    @property
    def is_complete(self) -> bool:
        """All trials up to the target exist and none is pending."""
        return not self._loop.untold and self.n_trials >= self.target_trials and not self._store.counts()["pending"]

    # --- running ---------------------------------------------------------------------------
    def optimize(self, n_trials: int | None = None, *, timeout: float | None = None, evaluator: Any = None,
                 callbacks: Iterable[Callback] = (), show_progress: bool = True) -> "Study":
        """Run ``n_trials`` more trials (or until ``timeout`` seconds pass).

        Trials left pending by an interrupted run are finished first, with the
        same ids and seeds. ``evaluator``: ``None``/``"inprocess"``, ``"dask"`` or an
        evaluator object (:mod:`nasbench.evaluators`).
        """
        if n_trials is None and timeout is None:
            raise ValueError("give n_trials=..., timeout=... (seconds) or both")
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, (int, float))
                                     or int(n_trials) != n_trials or n_trials < 0):
            raise ValueError(f"n_trials must be a non-negative integer, got {n_trials!r}")
        _check_timeout(timeout)
        with self._store.writer():
            self._refresh()
            created = self.n_trials
            target = created + int(n_trials) if n_trials is not None else None
            self._store.set_target_trials(target if target is not None else created)
            self._run(target, timeout, evaluator, callbacks, show_progress)
        return self

    def optimize_until(self, total_trials: int, **kwargs: Any) -> "Study":
        """Run until the study holds ``total_trials`` trials (idempotent: a rerun of a
        finished notebook or script adds nothing, and finishes pending trials)."""
        if isinstance(total_trials, bool) or not isinstance(total_trials, int) or total_trials < 0:
            raise ValueError(f"total_trials must be a non-negative integer, got {total_trials!r}")
        return self.optimize(max(0, total_trials - self.n_trials), **kwargs)

    def resume(self, *, timeout: float | None = None, evaluator: Any = None, callbacks: Iterable[Callback] = (),
               show_progress: bool = True) -> "Study":
        """Continue to the number of trials the last ``optimize`` call asked for."""
        _check_timeout(timeout)
        with self._store.writer():
            self._refresh()
            self._run(self.target_trials, timeout, evaluator, callbacks, show_progress)
        return self

    def _refresh(self) -> None:
        """Continue from the latest checkpoint: another handle (or process) may have run the
        study since this one was opened. Called with the writer lock held."""
        state = self._store.optimizer_state()
        if state is not None:
            self.optimizer.load_state_dict(state["optimizer"])
            self._loop.untold = list(state["untold"])

    def _run(self, target: int | None, timeout: float | None, evaluator: Any, callbacks: Iterable[Callback],
             show_progress: bool) -> None:
        todo = None if target is None else max(0, target - self.n_trials) + self._store.counts()["pending"]
        if todo == 0 and not self._loop.untold:
            return  # complete: nothing to evaluate, no empty progress bar
        if self.objective is None:
            self.objective = objective_from_spec(self.settings.objective)
        deadline = None if timeout is None else time.monotonic() + timeout
        own = evaluator is None or isinstance(evaluator, str)
        ev = make_evaluator(evaluator) if own else evaluator
        progress = ProgressBar(todo) if show_progress else None
        callbacks = list(callbacks) + ([progress] if progress is not None else [])
        try:
            self._loop.run(self.objective, ev, target, deadline, callbacks, study=self)
            if self._loop.exhausted:
                warnings.warn(f"optimizer {self.settings.optimizer!r} has nothing more to propose (a grid walked to "
                              f"its end, a schedule finished) after {self.n_trials} trials; the target was "
                              f"{target}", RuntimeWarning, stacklevel=3)
        finally:
            if progress is not None:
                progress.close()
            if own:
                ev.close()

    # --- results ---------------------------------------------------------------------------
    @property
    def trials(self) -> list[TrialRecord]:
        return self._store.trials()

    def trials_dataframe(self) -> pd.DataFrame:
        """One row a trial: ids, status (pending, done, failed, pruned), ``values_<metric>``,
        ``params_<name>``, ``metrics_<name>``, parents, fidelity and warm start, seed, error
        and timings (seconds)."""
        return trials_to_dataframe(self._store.trials(), self.metrics, self.space)

    def population(self, generation: int | None = None) -> pd.DataFrame:
        """The trials of the population after ``generation`` (default: the latest)."""
        gens = self._store.generations()
        if not gens:
            return self.trials_dataframe().iloc[0:0]
        g = max(gens) if generation is None else generation
        if g not in gens:
            raise KeyError(f"no generation {g}; the study has generations {min(gens)}..{max(gens)}")
        df = self.trials_dataframe()
        return df[df["trial_id"].isin(gens[g])].reset_index(drop=True)

    def generations(self) -> dict[int, list[int]]:
        return self._store.generations()

    def _directions(self) -> dict[str, str]:
        return {m.name: m.direction for m in self.metrics}

    def pareto_front(self) -> pd.DataFrame:
        """The non-dominated done trials, sorted by the first metric."""
        return analysis.final_front(self.trials_dataframe(), self._directions())

    def hypervolume(self) -> float | None:
        """Hypervolume of the done trials w.r.t. the fixed reference point (None without one)."""
        if self.reference_point is None:
            return None
        return analysis.front_hypervolume(self.trials_dataframe(), self._directions(), self.reference_point)

    def summary(self) -> dict[str, Any]:
        """Objective, optimiser, trial counts, current front and hypervolume."""
        df = self.trials_dataframe()
        directions = self._directions()
        ref = self.reference_point
        return {
            "directory": str(self.directory),
            "objective": self.settings.objective,
            "metrics": directions,
            "optimizer": self.settings.optimizer,
            "seed": self.seed,
            "trials": self._store.counts(),
            "target_trials": self.target_trials,
            "generation": getattr(self.optimizer, "generation", None),
            "reference_point": ref,
            "hypervolume": None if ref is None else _quiet(analysis.front_hypervolume, df, directions, ref),
            "dominating_reference": None if ref is None else analysis.dominating_reference(df, directions, ref),
            "pareto_front": analysis.final_front(df, directions),
        }

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "Study":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _quiet(function: Callable, *args: Any) -> Any:
    """``function(*args)`` without its warnings (the summary reports what they would say)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


def _check_timeout(timeout: Any) -> None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout >= 0):
        raise ValueError(f"timeout must be a number of seconds >= 0 (or None), got {timeout!r}")


def trials_to_dataframe(records: Sequence[TrialRecord], metrics: Sequence[Metric], space: SearchSpace) -> pd.DataFrame:
    """The trials table as a DataFrame (see :meth:`Study.trials_dataframe`)."""
    rows = []
    for r in records:
        row: dict[str, Any] = {"trial_id": r.trial_id, "generation": r.generation, "status": r.status}
        for i, m in enumerate(metrics):
            row[f"values_{m.name}"] = r.values[i] if r.values is not None else float("nan")
        for name in space.names:
            row[f"params_{name}"] = r.config.get(name)
        for k, v in r.metrics.items():
            row[f"metrics_{k}"] = v
        row.update(parents=list(r.parents), fidelity=r.fidelity, warm_start=r.warm_start, seed=r.seed,
                   config_hash=r.config_hash, error=r.error,
                   created=r.created, started=r.started, finished=r.finished,
                   duration=(r.finished - r.started) if r.finished is not None else float("nan"))
        rows.append(row)
    columns = ["trial_id", "generation", "status", *[f"values_{m.name}" for m in metrics],
               *[f"params_{n}" for n in space.names]]
    extra = sorted({k for row in rows for k in row if k.startswith("metrics_")})
    columns += extra + ["parents", "fidelity", "warm_start", "seed", "config_hash", "error", "created", "started",
                        "finished", "duration"]
    return pd.DataFrame(rows, columns=columns)


def create_study(directory: str | Path, objective: Callable, **kwargs: Any) -> Study:
    """Shorthand for :meth:`Study.create`."""
    return Study.create(directory, objective, **kwargs)


def load_study(directory: str | Path, *, objective: Callable | None = None) -> Study:
    """Shorthand for :meth:`Study.load`."""
    return Study.load(directory, objective=objective)

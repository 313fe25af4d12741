"""The driver loop: ask -> record pending -> evaluate -> record results -> tell -> checkpoint.

A :class:`Study` lives in a directory (see :mod:`nasbench.store`). Trials are
written as pending, together with the optimiser's state after ``ask``, before
any of them runs; each result is written as it arrives; the optimiser's state
after ``tell`` is written with the generation's population. A study killed at
any point and loaded again re-runs only the trials that were pending (same
ids, same seeds) and then continues exactly as an uninterrupted run would.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import __version__
from .evaluators import TrialOutcome, TrialTask, make_evaluator
from .hypervolume import hypervolume, nondominated_mask, to_minimization
from .objectives import Metric, Problem, TrainingObjective, objective_from_spec, objective_spec, parse_metrics
from .optimizers import OPTIMIZERS, Observation, Optimizer, make_optimizer
from .space import SearchSpace, text_hash
from .store import Store, StoreError, TrialRecord

__all__ = ["Study", "trial_seed", "create_study", "load_study"]

Callback = Callable[["Study", TrialRecord], None]


def trial_seed(study_seed: int, trial_id: int) -> int:
    """A trial's seed, from (study seed, trial id) through ``numpy.random.SeedSequence``."""
    return int(np.random.SeedSequence(study_seed, spawn_key=(trial_id,)).generate_state(1, np.uint32)[0])


class Study:
    """A resumable optimisation study. Build one with :meth:`create` or :meth:`load`."""

    #: Results that arrive within this many seconds are committed together. A kill
    #: loses at most these (they re-run on resume, same ids and seeds); a trial that
    #: trains for seconds is always committed on its own.
    commit_interval = 0.05
    #: Trials per worker in a batch of an optimiser that has no generations.
    oversubscribe = 4

    def __init__(self, store: Store, objective: Callable, optimizer: Optimizer, settings: dict) -> None:
        self._store, self.objective, self.optimizer, self._settings = store, objective, optimizer, settings
        self.space = SearchSpace.from_dict(settings["space"])
        self.metrics = parse_metrics(settings["metrics"])
        self._untold: list[int] = []  # trial ids asked in the open batch, not yet told

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def create(cls, directory: str | Path, objective: Callable, *, space: SearchSpace | None = None,
               metrics: Any = None, optimizer: str = "nsga2", optimizer_options: Mapping[str, Any] | None = None,
               seed: int = 0, reference_point: Sequence[float] | None = None,
               load_if_exists: bool = False) -> "Study":
        """A new study in ``directory``. A :class:`~nasbench.objectives.Problem` brings its
        own space, metrics and reference point; a plain callable needs ``space`` and
        ``metrics``. ``reference_point`` (in the metrics' own units) is fixed up front."""
        settings = cls._settings_for(objective, space, metrics, optimizer, optimizer_options, seed, reference_point)
        if load_if_exists and Store.exists(directory):
            study = cls.load(directory, objective=objective)
            _check_same_settings(directory, study._settings, settings)
            return study
        opt = cls._build_optimizer(settings)  # fails on bad options before anything is written
        store = Store.create(directory, settings)
        return cls(store, objective, opt, settings)

    @staticmethod
    def _settings_for(objective, space, metrics, optimizer, options, seed, reference_point) -> dict:
        if not callable(objective):
            raise ValueError(f"objective must be callable as objective(config, seed), got {type(objective).__name__}")
        if isinstance(objective, (Problem, TrainingObjective)):
            space = space or objective.space
            metrics = metrics or objective.metrics
        if isinstance(objective, Problem) and reference_point is None:
            reference_point = objective.reference_point
        if space is None or metrics is None:
            raise ValueError("a plain objective function needs space=... and metrics={'name': 'minimize', ...}")
        if not isinstance(space, SearchSpace):
            raise ValueError(f"space must be a nasbench.space.SearchSpace, got {type(space).__name__}")
        metrics = parse_metrics(metrics)
        if reference_point is not None:
            reference_point = [float(v) for v in reference_point]
            if len(reference_point) != len(metrics) or not all(np.isfinite(reference_point)):
                raise ValueError(f"reference_point needs {len(metrics)} finite values (one per metric), got {reference_point}")
        if int(seed) != seed:
            raise ValueError(f"seed must be an integer, got {seed!r}")
        return {
            "space": space.to_dict(),
            "metrics": [{"name": m.name, "direction": m.direction} for m in metrics],
            "optimizer": {"name": optimizer, "options": _with_reference(optimizer, dict(options or {}), metrics,
                                                                        reference_point)},
            "seed": int(seed),
            "reference_point": reference_point,
            "objective": objective_spec(objective),
            "target_trials": 0,
            "created_with": __version__,
        }

    @staticmethod
    def _build_optimizer(settings: dict) -> Optimizer:
        spec = settings["optimizer"]
        space = SearchSpace.from_dict(settings["space"])
        return make_optimizer(spec["name"], space, len(settings["metrics"]), seed=settings["seed"], **spec["options"])

    @classmethod
    def load(cls, directory: str | Path, *, objective: Callable | None = None) -> "Study":
        """Open the study in ``directory``; ``objective`` is needed when it cannot be
        rebuilt from the store (a function defined in a notebook)."""
        store = Store.open(directory)
        settings = store.settings()
        if settings["optimizer"]["name"] not in OPTIMIZERS:
            raise StoreError(f"{directory} uses optimizer {settings['optimizer']['name']!r}, unknown to this "
                             "nasbench; upgrade nasbench")
        opt = cls._build_optimizer(settings)
        state = store.optimizer_state()
        if state is not None:
            opt.load_state_dict(state["optimizer"])
        study = cls(store, objective, opt, settings)
        study._untold = list(state["untold"]) if state else []
        return study

    # --- properties ------------------------------------------------------------------------
    @property
    def directory(self) -> Path:
        return self._store.directory

    @property
    def seed(self) -> int:
        return self._settings["seed"]

    @property
    def reference_point(self) -> list[float] | None:
        """The fixed reference point, in the metrics' own units."""
        return self._settings["reference_point"]

    @property
    def directions(self) -> list[str]:
        return [m.direction for m in self.metrics]

    # --- the loop --------------------------------------------------------------------------
    def optimize(self, n_trials: int | None = None, *, timeout: float | None = None, evaluator: Any = None,
                 callbacks: Iterable[Callback] = (), show_progress: bool = True) -> "Study":
        """Run ``n_trials`` more trials (or until ``timeout`` seconds pass).

        Trials left pending by an interrupted run are finished first, with the
        same ids and seeds. ``evaluator``: ``None``/``"inprocess"``, ``"dask"`` or an
        evaluator object (:mod:`nasbench.evaluators`).
        """
        if n_trials is None and timeout is None:
            raise ValueError("give n_trials=..., timeout=... (seconds) or both")
        if n_trials is not None and (int(n_trials) != n_trials or n_trials < 0):
            raise ValueError(f"n_trials must be a non-negative integer, got {n_trials}")
        created = self._store.next_trial_id()
        target = created + n_trials if n_trials is not None else None
        self._store.update_settings(target_trials=target if target is not None else created)
        return self._run(target, timeout, evaluator, list(callbacks), show_progress)

    @property
    def n_trials(self) -> int:
        """Trials created so far (done, failed or pending)."""
        return self._store.next_trial_id()

    def optimize_until(self, total_trials: int, **kwargs: Any) -> "Study":
        """Run until the study holds ``total_trials`` trials (idempotent: a rerun of a
        finished notebook or script adds nothing)."""
        return self.optimize(max(0, int(total_trials) - self.n_trials), **kwargs)

    def resume(self, *, timeout: float | None = None, evaluator: Any = None, callbacks: Iterable[Callback] = (),
               show_progress: bool = True) -> "Study":
        """Continue to the number of trials the last ``optimize`` call asked for."""
        return self._run(self._settings_target(), timeout, evaluator, list(callbacks), show_progress)

    def _settings_target(self) -> int:
        return int(self._store.settings()["target_trials"])

    def _run(self, target: int | None, timeout: float | None, evaluator: Any, callbacks: list,
             show_progress: bool) -> "Study":
        if self.objective is None:
            self.objective = objective_from_spec(self._settings["objective"])
        deadline = None if timeout is None else time.monotonic() + timeout
        own = evaluator is None or isinstance(evaluator, str)
        ev = make_evaluator(evaluator) if own else evaluator
        progress = _progress(show_progress, target, self._store.next_trial_id(), len(self._untold))
        try:
            self._finish_untold(ev, deadline, callbacks, progress)
            while not self._untold and (target is None or self._store.next_trial_id() < target):
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._one_batch(ev, target, deadline, callbacks, progress)
        finally:
            if progress is not None:
                progress.close()
            if own:
                ev.close()
        return self

    def _one_batch(self, ev, target, deadline, callbacks, progress) -> None:
        first = self._store.next_trial_id()
        room = ev.parallelism if target is None else target - first
        # an optimiser without generations gets a few trials per worker per batch, so a
        # slow trial does not leave the other workers idle until the batch ends
        batch = self.optimizer.batch_size or self.oversubscribe * ev.parallelism
        suggestions = self.optimizer.ask(max(1, min(room, batch)))
        if not suggestions:
            raise RuntimeError(f"optimizer {self.optimizer.name!r} proposed nothing; it is waiting on results")
        rows = []
        for i, s in enumerate(suggestions):
            text = self.space.canonical_json(self.space.to_config(s.genome))  # validated: types and bounds hold
            rows.append({"trial_id": first + i, "generation": s.generation, "config": text, "genome": s.genome,
                         "config_hash": text_hash(text), "parents": s.parents, "seed": trial_seed(self.seed, first + i)})
        self._untold = [r["trial_id"] for r in rows]
        self._store.add_pending(rows, {"optimizer": self.optimizer.state_dict(), "untold": self._untold})
        now = time.time()
        records = {r["trial_id"]: TrialRecord(r["trial_id"], r["generation"], "pending", json.loads(r["config"]),
                                              list(r["genome"]), r["config_hash"], tuple(r["parents"]), r["seed"],
                                              None, {}, None, now, None, None) for r in rows}
        self._finish_untold(ev, deadline, callbacks, progress, records)

    def _finish_untold(self, ev, deadline, callbacks, progress, records: dict | None = None) -> None:
        """Evaluate the pending trials of the asked batch, then tell the optimiser.
        ``records``: the batch as just written (else read back, as on resume)."""
        if not self._untold:
            return
        records = records or dict(zip(self._untold, self._store.trials_by_id(self._untold)))
        tasks = [TrialTask(t, records[t].config, records[t].seed, str(self.directory))
                 for t in self._untold if records[t].status == "pending"]
        names = [m.name for m in self.metrics]
        buffer: list[TrialOutcome] = []

        def flush() -> None:
            self._store.finish_trials(buffer)
            for outcome in buffer:
                record = replace(records[outcome.trial_id], status=outcome.status, values=outcome.values,
                                 metrics=outcome.metrics, error=outcome.error, started=outcome.started,
                                 finished=outcome.finished)
                records[outcome.trial_id] = record
                if progress is not None:
                    progress.update(1)
                for callback in callbacks:
                    callback(self, record)
            buffer.clear()

        last_flush = time.monotonic()
        for outcome in ev.run(self.objective, names, tasks, deadline):
            buffer.append(outcome)
            if time.monotonic() - last_flush >= self.commit_interval:
                flush()
                last_flush = time.monotonic()
        flush()
        if any(records[t].status == "pending" for t in self._untold):
            return  # out of time: the rest stay pending for the next run
        observations = [self._observation(records[t]) for t in self._untold]
        generation_before = getattr(self.optimizer, "generation", None)
        self.optimizer.tell(observations)
        self._untold = []
        ended = getattr(self.optimizer, "generation", None)
        population = getattr(self.optimizer, "population", None)
        self._store.save_state({"optimizer": self.optimizer.state_dict(), "untold": []},
                               generation=generation_before if ended != generation_before else None,
                               population=[r["trial_id"] for r in population] if population is not None else None)

    def _observation(self, record: TrialRecord) -> Observation:
        values = None
        if record.status == "done":
            values = tuple(to_minimization([record.values], self.directions)[0])
        return Observation(record.trial_id, record.genome, values, record.generation, record.parents)

    # --- results ---------------------------------------------------------------------------
    @property
    def trials(self) -> list[TrialRecord]:
        return self._store.trials()

    def trials_dataframe(self) -> pd.DataFrame:
        """One row a trial: ids, status, ``values_<metric>``, ``params_<name>``,
        ``metrics_<name>``, parents, seed, error and timings (seconds)."""
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

    def pareto_front(self) -> pd.DataFrame:
        """The non-dominated done trials."""
        df = self.trials_dataframe()
        done = df[df["status"] == "done"].reset_index(drop=True)
        if done.empty:
            return done
        F = to_minimization(done[[f"values_{m.name}" for m in self.metrics]].to_numpy(), self.directions)
        return done[nondominated_mask(F)].reset_index(drop=True)

    def hypervolume(self) -> float | None:
        """Hypervolume of the done trials w.r.t. the fixed reference point (None without one)."""
        if self.reference_point is None:
            return None
        front = self.pareto_front()
        F = to_minimization(front[[f"values_{m.name}" for m in self.metrics]].to_numpy(), self.directions)
        ref = to_minimization([self.reference_point], self.directions)[0]
        if len(self.metrics) == 1:  # the length from the best value to the reference point
            return float(max(0.0, ref[0] - F.min())) if len(F) else 0.0
        return hypervolume(F.reshape(-1, len(self.metrics)), ref)

    def summary(self) -> dict[str, Any]:
        """Objective, optimiser, trial counts, current front and hypervolume."""
        s = self._settings
        counts = self._store.counts()
        return {
            "directory": str(self.directory),
            "objective": s["objective"],
            "metrics": {m.name: m.direction for m in self.metrics},
            "optimizer": s["optimizer"]["name"],
            "seed": s["seed"],
            "trials": counts,
            "target_trials": self._settings_target(),
            "generation": getattr(self.optimizer, "generation", None),
            "reference_point": self.reference_point,
            "hypervolume": self.hypervolume(),
            "pareto_front": self.pareto_front(),
        }

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "Study":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _check_same_settings(directory, stored: dict, asked: dict) -> None:
    keys = ("space", "metrics", "optimizer", "seed", "reference_point")
    differ = [k for k in keys if json.loads(json.dumps(stored[k])) != json.loads(json.dumps(asked[k]))]
    if differ:
        raise ValueError(f"{directory} holds a study with other {', '.join(differ)}; load it as it is "
                         "(Study.load) or choose another directory")


def _with_reference(optimizer: str, options: dict, metrics: Sequence[Metric], reference_point) -> dict:
    """NSGA-II's hypervolume-based parent selection uses the study's reference point."""
    if optimizer != "nsga2" or reference_point is None:
        return options
    config = dict(options.get("config") or {})
    if config.get("reference_point") is None:
        config["reference_point"] = list(to_minimization([reference_point], [m.direction for m in metrics])[0])
    return {**options, "config": config}


def trials_to_dataframe(records: Sequence[TrialRecord], metrics: Sequence[Metric], space: SearchSpace) -> pd.DataFrame:
    """The trials table as a DataFrame (see :meth:`Study.trials_dataframe`)."""
    rows = []
    for r in records:
        row: dict[str, Any] = {"trial_id": r.trial_id, "generation": r.generation, "status": r.status}
        for i, m in enumerate(metrics):
            row[f"values_{m.name}"] = r.values[i] if r.values is not None else np.nan
        for name in space.names:
            row[f"params_{name}"] = r.config.get(name)
        for k, v in r.metrics.items():
            row[f"metrics_{k}"] = v
        row.update(parents=list(r.parents), seed=r.seed, config_hash=r.config_hash, error=r.error,
                   created=r.created, started=r.started, finished=r.finished,
                   duration=(r.finished - r.started) if r.finished is not None else np.nan)
        rows.append(row)
    columns = ["trial_id", "generation", "status", *[f"values_{m.name}" for m in metrics],
               *[f"params_{n}" for n in space.names]]
    extra = sorted({k for row in rows for k in row if k.startswith("metrics_")})
    columns += extra + ["parents", "seed", "config_hash", "error", "created", "started", "finished", "duration"]
    return pd.DataFrame(rows, columns=columns)


def _progress(show: bool, target: int | None, created: int, untold: int):
    if not show:
        return None
    from tqdm.auto import tqdm

    total = None if target is None else max(0, target - created) + untold
    return tqdm(total=total, desc="trials", unit="trial", leave=True)


def create_study(directory: str | Path, objective: Callable, **kwargs: Any) -> Study:
    """Shorthand for :meth:`Study.create`."""
    return Study.create(directory, objective, **kwargs)


def load_study(directory: str | Path, *, objective: Callable | None = None) -> Study:
    """Shorthand for :meth:`Study.load`."""
    return Study.load(directory, objective=objective)

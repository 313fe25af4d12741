"""The driver: ask -> record pending -> evaluate -> record results -> tell -> checkpoint.

Each step is a method of :class:`StudyLoop`, so the multi-fidelity work can slot
in where it belongs: a suggestion that carries a fidelity or a warm start
becomes part of its :class:`~nasbench.evaluators.TrialTask` in :meth:`pending`;
intermediate reports and stop decisions happen while :meth:`evaluate` runs; a
pruned trial is one more status :meth:`record` writes; promotion is the
optimiser's business in ``ask``/``tell``.

Contracts (DESIGN.md): trials are written as pending, with the optimiser's state
after ``ask``, before any of them runs; each result is written as it arrives
(results within :attr:`StudyLoop.commit_interval` seconds share a commit); the
optimiser's state after ``tell`` is written with the generation's population. A
loop killed at any point and started again re-runs only the pending trials (same
ids, same seeds) and then continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .evaluators import TrialOutcome, TrialTask
from .hypervolume import to_minimization
from .objectives import Metric
from .optimizers import Observation, Optimizer, Suggestion
from .space import SearchSpace, text_hash
from .store import Store, TrialRecord

__all__ = ["StudyLoop", "trial_seed"]

Callback = Callable[[Any, TrialRecord], None]


def trial_seed(study_seed: int, trial_id: int) -> int:
    """A trial's seed, from (study seed, trial id) through ``numpy.random.SeedSequence``."""
    return int(np.random.SeedSequence(study_seed, spawn_key=(trial_id,)).generate_state(1, np.uint32)[0])


class StudyLoop:
    """Runs batches of trials for one study until a target or a deadline.

    ``untold``: the trial ids of the open batch (asked and written, not yet told),
    as the last checkpoint left them.
    """

    #: Results that arrive within this many seconds are committed together. A kill
    #: loses at most these (they re-run on resume, same ids and seeds); a trial that
    #: trains for seconds is always committed on its own.
    commit_interval = 0.05
    #: Trials per worker in a batch of an optimiser that has no generations, so a slow
    #: trial does not leave the other workers idle until the batch ends.
    oversubscribe = 4

    def __init__(self, store: Store, optimizer: Optimizer, space: SearchSpace, metrics: Sequence[Metric],
                 seed: int, untold: Sequence[int] = (), *, cache: bool = False) -> None:
        self.store, self.optimizer, self.space, self.metrics, self.seed = store, optimizer, space, tuple(metrics), seed
        self.untold: list[int] = list(untold)
        self.cache = cache

    # --- the loop --------------------------------------------------------------------------
    def run(self, objective: Callable, evaluator: Any, target: int | None, deadline: float | None,
            callbacks: Iterable[Callback], study: Any = None) -> None:
        """Finish the open batch, then run batches until ``target`` trials exist (None: no
        limit) or ``deadline`` (``time.monotonic()``) passes. Callbacks get ``(study, trial)``."""
        callbacks = list(callbacks)
        self.finish_open_batch(objective, evaluator, deadline, callbacks, study)
        while not self.untold and (target is None or self.store.next_trial_id() < target):
            if deadline is not None and time.monotonic() >= deadline:
                break
            records = self.pending(self.ask(evaluator, target))
            self.finish_open_batch(objective, evaluator, deadline, callbacks, study, records)

    def finish_open_batch(self, objective: Callable, evaluator: Any, deadline: float | None,
                          callbacks: list, study: Any, records: dict[int, TrialRecord] | None = None) -> None:
        """Evaluate the open batch's pending trials, then tell the optimiser and checkpoint.
        ``records``: the batch as just written (else read back, as on resume)."""
        if not self.untold:
            return
        records = records or dict(zip(self.untold, self.store.trials_by_id(self.untold)))
        pending = [records[t] for t in self.untold if records[t].status == "pending"]
        twins: list[TrialRecord] = []
        if self.cache:
            pending, twins = self.reuse(pending, records, callbacks, study)
        self.evaluate(objective, evaluator, [self.task(r) for r in pending], deadline, records, callbacks, study)
        if twins:  # repeats within the batch take their twin's result, or run where the twin failed
            rest, again = self.reuse([records[r.trial_id] for r in twins], records, callbacks, study)
            self.evaluate(objective, evaluator, [self.task(r) for r in rest + again], deadline, records, callbacks,
                          study)
        if any(records[t].status == "pending" for t in self.untold):
            return  # out of time: the rest stay pending for the next run
        self.tell([records[t] for t in self.untold])

    # --- the steps -------------------------------------------------------------------------
    def ask(self, evaluator: Any, target: int | None) -> list[Suggestion]:
        """The optimiser's next suggestions: a generation, or a few trials per worker."""
        room = evaluator.parallelism if target is None else target - self.store.next_trial_id()
        batch = self.optimizer.generation_size or self.oversubscribe * evaluator.parallelism
        suggestions = self.optimizer.ask(max(1, min(room, batch)))
        if not suggestions:
            raise RuntimeError(f"optimizer {self.optimizer.name!r} proposed nothing; it is waiting on results")
        return suggestions

    def pending(self, suggestions: Sequence[Suggestion]) -> dict[int, TrialRecord]:
        """Write the suggestions as pending trials, with the optimiser's state after ``ask``."""
        first = self.store.next_trial_id()
        rows = []
        for i, s in enumerate(suggestions):
            text = self.space.canonical_json(self.space.to_config(s.genome))  # validated: types and bounds hold
            rows.append({"trial_id": first + i, "generation": s.generation, "config": text, "genome": s.genome,
                         "config_hash": text_hash(text), "parents": s.parents, "seed": trial_seed(self.seed, first + i)})
        self.untold = [r["trial_id"] for r in rows]
        self.store.add_pending(rows, self.checkpoint_state())
        now = time.time()
        return {r["trial_id"]: TrialRecord(r["trial_id"], r["generation"], "pending", json.loads(r["config"]),
                                           list(r["genome"]), r["config_hash"], tuple(r["parents"]), r["seed"],
                                           None, {}, None, now, None, None) for r in rows}

    def reuse(self, pending: list[TrialRecord], records: dict[int, TrialRecord], callbacks: list,
              study: Any) -> tuple[list[TrialRecord], list[TrialRecord]]:
        """With the evaluation cache on (STYLE rule 5): a pending trial whose configuration
        (by canonical hash) an earlier trial already evaluated takes that trial's values and
        metrics, with ``cached_from`` naming it, instead of training again. Returns the
        trials to evaluate and their twins later in the batch (to reuse once those are
        done). Off by default: with it, a repeated configuration is not re-measured under
        its own seed."""
        done = self.store.done_by_hash([r.config_hash for r in pending])
        now = time.time()
        hits = [TrialOutcome(r.trial_id, "done", done[r.config_hash].values,
                             {**done[r.config_hash].metrics, "cached_from": done[r.config_hash].trial_id}, None, now, now)
                for r in pending if r.config_hash in done]
        self.record(hits, records, callbacks, study)
        first: dict[str, TrialRecord] = {}
        twins = []
        for r in pending:
            if r.config_hash in done:
                continue
            if r.config_hash in first:
                twins.append(r)
            else:
                first[r.config_hash] = r
        return list(first.values()), twins

    def task(self, record: TrialRecord) -> TrialTask:
        """What a worker needs to run a pending trial."""
        return TrialTask(record.trial_id, record.config, record.seed, str(self.store.directory))

    def evaluate(self, objective: Callable, evaluator: Any, tasks: Sequence[TrialTask], deadline: float | None,
                 records: dict[int, TrialRecord], callbacks: list, study: Any) -> None:
        """Run ``tasks`` on the evaluator and record each outcome as it arrives."""
        names = [m.name for m in self.metrics]
        buffer: list[TrialOutcome] = []
        last_flush = time.monotonic()
        for outcome in evaluator.run(objective, names, tasks, deadline):
            buffer.append(outcome)
            if time.monotonic() - last_flush >= self.commit_interval:
                self.record(buffer, records, callbacks, study)
                last_flush = time.monotonic()
        self.record(buffer, records, callbacks, study)

    def record(self, outcomes: list[TrialOutcome], records: dict[int, TrialRecord], callbacks: list,
               study: Any) -> None:
        """Commit finished trials together, then show each to the callbacks; empties ``outcomes``."""
        self.store.finish_trials(outcomes)
        for o in outcomes:
            record = replace(records[o.trial_id], status=o.status, values=o.values, metrics=o.metrics, error=o.error,
                             started=o.started, finished=o.finished)
            records[o.trial_id] = record
            for callback in callbacks:
                callback(study, record)
        outcomes.clear()

    def tell(self, records: Sequence[TrialRecord]) -> None:
        """Tell the optimiser the batch's results, then checkpoint (with the population
        when a generation ended)."""
        generation_before = getattr(self.optimizer, "generation", None)
        self.optimizer.tell([self.observation(r) for r in records])
        self.untold = []
        ended = getattr(self.optimizer, "generation", None) != generation_before
        population = getattr(self.optimizer, "population", None)
        self.store.save_state(self.checkpoint_state(), generation=generation_before if ended else None,
                              population=[r["trial_id"] for r in population] if population is not None else None)

    def observation(self, record: TrialRecord) -> Observation:
        """A trial as the optimiser sees it: minimised values, None when it failed."""
        values = None
        if record.status == "done":
            values = tuple(to_minimization([record.values], [m.direction for m in self.metrics])[0])
        return Observation(record.trial_id, record.genome, values, record.generation, record.parents)

    def checkpoint_state(self) -> dict:
        """What resumes the loop exactly: the optimiser's whole state and the open batch."""
        return {"optimizer": self.optimizer.state_dict(), "untold": list(self.untold)}

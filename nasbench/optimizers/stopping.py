"""Learning-curve stopping rules usable by any optimiser (seed 001's "simple statistics").

A rule answers one question after each intermediate report of a trial: stop it now?
``should_stop(curve, others)`` sees

- ``curve``: this trial's reports so far, ``[(step, (v1, v2, ...)), ...]``, steps
  increasing (epochs, counted from 1), values **minimised** (the study negates
  maximised metrics before a rule sees them), ``None`` where a metric was not reported;
- ``others``: the curves of the trials that finished before this trial's batch, in
  the same form.

The decision is taken at the step of the trial's latest report, ``s``. Every rule has
``grace_steps`` (never stop at a step ``s <= grace_steps``: the warm-up) and
``min_trials`` (decide only when at least that many other trials can be compared at
``s``; with fewer, the trial goes on). ``None`` values are ignored; a trial with
nothing to compare goes on. Every rule breaks ties in the trial's favour.

- ``median`` and ``mean`` (Golovin et al. 2017, Google Vizier's median stopping rule):
  stop at ``s`` when the trial's best value of objective ``objective`` up to ``s`` is
  *strictly* worse than the median (mean) of the other trials' running averages up to
  ``s``, over the other trials that reached ``s`` (reported at a step >= ``s``).
- ``pareto`` (multi-objective, in the style of MOASHA, Schmucker et al. 2021): compare
  the trial's values at ``s`` with the other trials' values at exactly step ``s``. Stop
  only when the trial (a) is dominated by one of them, so it cannot enter the current
  non-dominated set, and (b) falls outside the top ``ceil(n / eta)`` of the ``n``
  points (the others and the trial) ordered by non-dominated rank, ties within a front
  broken by NSGA-II's crowding distance (larger first) or by an epsilon-net order
  (``tie_break="epsilon_net"``: Salinas et al.'s farthest-point order on objectives
  normalised to the compared points' range). Optuna's pruners refuse multi-objective
  studies (``Trial.report is not supported for multi-objective optimization``,
  optuna issue 3450); this rule is what nasbench offers instead. With one objective it
  is ASHA's rule: stop what is not in the top 1/eta and not the best.

Rules are built by name, ``make_stopping_rule("median", grace_steps=3)``, and saved as
``rule.to_dict()`` (``{"name", "options"}``), which ``make_stopping_rule`` rebuilds.
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

import numpy as np

from .. import selection
from .evolution import _check_choice, _check_int, _check_real

__all__ = ["StoppingRule", "MedianRule", "MeanRule", "ParetoRule", "STOPPING_RULES", "make_stopping_rule"]

Curve = Sequence[tuple[int, Sequence[float | None]]]


class StoppingRule(ABC):
    """A rule that may stop a trial after an intermediate report; options are keyword-only."""

    name = "rule"

    def __init__(self, *, grace_steps: int = 0, min_trials: int = 3) -> None:
        _check_int("grace_steps", grace_steps, 0)
        _check_int("min_trials", min_trials, 1)
        self.grace_steps, self.min_trials = int(grace_steps), int(min_trials)

    @abstractmethod
    def should_stop(self, curve: Curve, others: Sequence[Curve]) -> bool:
        """True to stop the trial whose reports so far are ``curve``."""

    def options(self) -> dict[str, Any]:
        return {"grace_steps": self.grace_steps, "min_trials": self.min_trials}

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "options"}``: what :func:`make_stopping_rule` rebuilds the rule from."""
        return {"name": self.name, "options": self.options()}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"

    def _in_grace(self, curve: Curve) -> bool:
        return not curve or curve[-1][0] <= self.grace_steps


def _check_index(name: str, index: int, values: Sequence) -> None:
    if index >= len(values):
        raise ValueError(f"{name}={index} but the curves have {len(values)} value(s) per report; "
                         f"pass an index in [0, {len(values) - 1}]")


def _series(curve: Curve, j: int) -> list[tuple[int, float]]:
    """(step, value of objective ``j``) of the reports where it is known."""
    return [(int(step), float(v[j])) for step, v in curve if v[j] is not None]


class _StatisticRule(StoppingRule):
    """Stop when the best value so far is strictly worse than a statistic of the other
    trials' running averages up to the same step (Golovin et al. 2017)."""

    statistic: Callable[[list[float]], float]

    def __init__(self, *, objective: int = 0, grace_steps: int = 0, min_trials: int = 3) -> None:
        super().__init__(grace_steps=grace_steps, min_trials=min_trials)
        _check_int("objective", objective, 0)
        self.objective = int(objective)

    def options(self) -> dict[str, Any]:
        return {"objective": self.objective, **super().options()}

    def should_stop(self, curve: Curve, others: Sequence[Curve]) -> bool:
        if self._in_grace(curve):
            return False
        _check_index("objective", self.objective, curve[-1][1])
        s = int(curve[-1][0])
        own = [v for step, v in _series(curve, self.objective) if step <= s]
        averages = [a for a in (self._running_average(c, s) for c in others) if a is not None]
        if not own or len(averages) < self.min_trials:
            return False
        return min(own) > type(self).statistic(averages)  # a tie goes on

    def _running_average(self, curve: Curve, s: int) -> float | None:
        """Mean of ``curve``'s values up to step ``s``, if it reached ``s`` (else None)."""
        series = _series(curve, self.objective)
        upto = [v for step, v in series if step <= s]
        reached = any(step >= s for step, _ in series)
        return sum(upto) / len(upto) if upto and reached else None


class MedianRule(_StatisticRule):
    """The median stopping rule (Golovin et al. 2017, seed 001): a trial whose best value
    is strictly worse than the median of the others' running averages stops."""

    name = "median"
    statistic = staticmethod(statistics.median)


class MeanRule(_StatisticRule):
    """As :class:`MedianRule`, against the mean of the others' running averages."""

    name = "mean"
    statistic = staticmethod(statistics.fmean)


_TIE_BREAKS = ("crowding", "epsilon_net")


class ParetoRule(StoppingRule):
    """Multi-objective stopping at each step, MOASHA style (Schmucker et al. 2021): stop only
    a trial that is dominated at step ``s`` and outside the top ``ceil(n / eta)`` by
    non-dominated rank (ties: crowding distance or epsilon-net). ``objectives``: the
    indices compared (None: all)."""

    name = "pareto"

    def __init__(self, *, eta: float = 3.0, objectives: Sequence[int] | None = None, tie_break: str = "crowding",
                 grace_steps: int = 0, min_trials: int = 3) -> None:
        super().__init__(grace_steps=grace_steps, min_trials=min_trials)
        _check_real("eta", eta, "> 1", lambda v: v > 1)
        _check_choice("tie_break", tie_break, _TIE_BREAKS)
        if objectives is not None:
            ok = isinstance(objectives, Sequence) and not isinstance(objectives, str) and len(objectives) > 0
            if not ok:
                raise ValueError(f"objectives must be a non-empty list of indices or None (all), got {objectives!r}")
            for j in objectives:
                _check_int("each of objectives", j, 0)
            objectives = [int(j) for j in objectives]
        self.eta, self.objectives, self.tie_break = float(eta), objectives, tie_break

    def options(self) -> dict[str, Any]:
        return {"eta": self.eta, "objectives": self.objectives, "tie_break": self.tie_break, **super().options()}

    def should_stop(self, curve: Curve, others: Sequence[Curve]) -> bool:
        if self._in_grace(curve):
            return False
        s, own = int(curve[-1][0]), self._point(curve[-1][1])
        pool = [p for p in (self._at_step(c, s) for c in others) if p is not None]
        if own is None or len(pool) < self.min_trials:
            return False
        F = np.array(pool + [own], dtype=float)  # the trial is the last row
        if not _dominated(F[-1], F[:-1]):
            return False  # it enters the current non-dominated set
        return self._ahead(F) >= math.ceil(len(F) / self.eta)

    def _point(self, values: Sequence[float | None]) -> list[float] | None:
        indices = self.objectives if self.objectives is not None else range(len(values))
        for j in indices:
            _check_index("objectives", j, values)
        point = [values[j] for j in indices]
        return None if any(v is None for v in point) else [float(v) for v in point]

    def _at_step(self, curve: Curve, s: int) -> list[float] | None:
        """The other trial's complete point at exactly step ``s`` (its last report there)."""
        at = [v for step, v in curve if int(step) == s]
        return self._point(at[-1]) if at else None

    def _ahead(self, F: np.ndarray) -> int:
        """How many rows come strictly before the last one (the trial) in the order."""
        ranks = selection.pareto_ranks(F)
        front = np.flatnonzero(ranks == ranks[-1])
        better_fronts = int(np.sum(ranks < ranks[-1]))
        if self.tie_break == "crowding":
            crowd = selection.crowding_distance(F[front])
            return better_fronts + int(np.sum(crowd[:-1] > crowd[-1]))  # equal crowding: the trial first
        order = epsilon_net_order(_normalise(F)[front])
        return better_fronts + int(np.flatnonzero(order == len(front) - 1)[0])


def _dominated(p: np.ndarray, F: np.ndarray) -> bool:
    """True when some row of ``F`` is <= ``p`` everywhere and < somewhere (minimisation)."""
    return bool(np.any(np.all(F <= p, axis=1) & np.any(F < p, axis=1)))


def _normalise(F: np.ndarray) -> np.ndarray:
    span = F.max(axis=0) - F.min(axis=0)
    return (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)


def epsilon_net_order(F: np.ndarray) -> np.ndarray:
    """Farthest-point order of the rows of ``F`` (Clarkson 2005, as MOASHA's epsilon-net):
    the row with the lowest first value first, then each next row the one farthest from
    those already ordered. Ties go to the later row, so a trial put last is favoured."""
    n = len(F)
    first = int(np.lexsort((-np.arange(n), F[:, 0]))[0])
    order, dist = [first], np.linalg.norm(F - F[first], axis=1)
    dist[first] = -np.inf
    for _ in range(n - 1):
        nxt = int(n - 1 - np.argmax(dist[::-1]))  # the last of the farthest
        order.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(F - F[nxt], axis=1))
        dist[order] = -np.inf
    return np.array(order, dtype=int)


#: Stopping rules by name: what ``make_stopping_rule`` and a study's ``stopping`` setting accept.
STOPPING_RULES: dict[str, type[StoppingRule]] = {"median": MedianRule, "mean": MeanRule, "pareto": ParetoRule}


def make_stopping_rule(name: str, **options: Any) -> StoppingRule:
    """A stopping rule by name (``median``, ``mean``, ``pareto``) with its keyword options."""
    if name not in STOPPING_RULES:
        raise ValueError(f"unknown stopping rule {name!r}; use one of {sorted(STOPPING_RULES)}")
    cls = STOPPING_RULES[name]
    known = sorted(cls().options())
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"stopping rule {name!r} has no option {unknown[0]!r}; its options: {known}")
    return cls(**options)

"""One ask/tell interface for every optimiser.

``ask(n)`` proposes up to ``n`` configurations as :class:`Suggestion`;
``tell(observations)`` reports their results. The study assigns trial ids.
Values handed to ``tell`` are minimised (the study converts maximised metrics
once, through :func:`nasbench.hypervolume.to_minimization`); a failed trial has
``values=None``. ``state_dict()`` returns the whole state, RNG included, as
JSON-ready data, and ``load_state_dict`` restores it exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..space import SearchSpace

__all__ = ["Suggestion", "Observation", "Optimizer", "STATUSES", "rng_state", "rng_from_state"]


@dataclass(frozen=True)
class Suggestion:
    """A proposed configuration: its genome, generation and parents (trial ids).

    ``fidelity``: the budget to train to (epochs; None: the objective's own). A trial
    continues the weights of trial ``warm_start`` when given (its checkpoint, at that
    trial's fidelity: Hyperband's promotion, PBT's exploit), else it starts afresh.
    """

    genome: list
    generation: int = 0
    parents: tuple[int, ...] = ()
    fidelity: int | None = None
    warm_start: int | None = None


#: What can come of a trial: ``done``, ``failed`` or ``pruned`` (stopped early by a rule).
STATUSES = ("done", "failed", "pruned")


@dataclass(frozen=True)
class Observation:
    """A result: the trial id, its genome and minimised values (None when it failed).

    A ``pruned`` trial carries the values it last reported (None if it reported none);
    ``fidelity`` and ``warm_start`` are the suggestion's."""

    trial_id: int
    genome: list
    values: tuple[float, ...] | None
    generation: int = 0
    parents: tuple[int, ...] = field(default=())
    status: str = "done"
    fidelity: int | None = None
    warm_start: int | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


def rng_state(rng: np.random.Generator) -> dict:
    """JSON-ready state of a numpy Generator."""
    return rng.bit_generator.state


def rng_from_state(state: dict) -> np.random.Generator:
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state
    return np.random.Generator(bitgen)


class Optimizer(ABC):
    """Base class: stores the space, the number of objectives and the RNG."""

    name = "optimizer"

    def __init__(self, space: SearchSpace, n_objectives: int, *, seed: int | None = 0) -> None:
        if int(n_objectives) != n_objectives or n_objectives < 1:
            raise ValueError(f"n_objectives must be a positive integer, got {n_objectives}")
        self.space = space
        self.n_objectives = int(n_objectives)
        self.rng = np.random.default_rng(seed)

    #: Trials the optimiser wants evaluated together (a generation); None, for an
    #: optimiser without generations, lets the evaluator's parallelism decide.
    generation_size: int | None = None

    @property
    def batch_size(self) -> int | None:
        """Deprecated alias of :attr:`generation_size` (not a training minibatch size)."""
        return self.generation_size

    @abstractmethod
    def ask(self, n: int) -> list[Suggestion]:
        """Up to ``n`` suggestions; fewer when the optimiser waits on ``tell``."""

    @abstractmethod
    def tell(self, observations: Sequence[Observation]) -> None:
        """Report results of suggestions from ``ask``."""

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rng": rng_state(self.rng)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ValueError(f"state is for optimiser {state.get('name')!r}, not {self.name!r}")
        self.rng = rng_from_state(state["rng"])

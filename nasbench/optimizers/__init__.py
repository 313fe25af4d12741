"""Optimisers behind one ask/tell interface, and a registry by name."""

from __future__ import annotations

from typing import Any

from ..space import SearchSpace
from .base import Observation, Optimizer, Suggestion
from .evolution import NSGA2, EvolutionConfig, GAConfig, GeneticAlgorithm
from .random_search import RandomSearch

__all__ = ["Optimizer", "Suggestion", "Observation", "NSGA2", "EvolutionConfig", "GeneticAlgorithm", "GAConfig",
           "RandomSearch", "OPTIMIZERS", "make_optimizer"]

OPTIMIZERS: dict[str, type[Optimizer]] = {"nsga2": NSGA2, "ga": GeneticAlgorithm, "random": RandomSearch}


def make_optimizer(name: str, space: SearchSpace, n_objectives: int, *, seed: int | None = 0,
                   **options: Any) -> Optimizer:
    """An optimiser by name (``nsga2``, ``ga``, ``random``) with its options."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; use one of {sorted(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[name](space, n_objectives, seed=seed, **options)
    except TypeError as exc:
        raise ValueError(f"optimizer {name!r}: {exc}") from None

"""Optimisers behind one ask/tell interface, and a registry by name."""

from __future__ import annotations

import inspect
from dataclasses import fields
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
    cls = OPTIMIZERS[name]
    _check_options(name, cls, options)
    return cls(space, n_objectives, seed=seed, **options)


def _option_names(cls: type[Optimizer]) -> set[str] | None:
    """Keyword options of ``cls``'s constructor beyond space, n_objectives and seed (None: any)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # without self
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params[2:] if p.kind is not inspect.Parameter.VAR_POSITIONAL} - {"seed"}


def _check_options(name: str, cls: type[Optimizer], options: dict[str, Any]) -> None:
    """Say where an option belongs instead of letting the constructor raise TypeError."""
    accepted = _option_names(cls)
    if accepted is None:
        return
    settings = getattr(cls, "config_class", None)
    for key, value in options.items():
        if key in accepted:
            continue
        if settings is not None and key in {f.name for f in fields(settings)}:
            article = "an" if settings.__name__[0] in "AEIOU" else "a"
            raise ValueError(f"{key} is {article} {settings.__name__} setting: "
                             f"put it under config={{{key!r}: {value!r}}}")
        raise ValueError(f"optimizer {name!r} has no option {key!r}; its options: {sorted(accepted)}")

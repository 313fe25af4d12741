"""Optimisers behind one ask/tell interface, and a registry by name."""

from __future__ import annotations

import inspect
from dataclasses import fields
from typing import Any

from ..space import SearchSpace
from .base import Observation, Optimizer, Suggestion
from .evolution import NSGA2, EvolutionConfig, GAConfig, GeneticAlgorithm, IslandModel
from .bayesian import BayesianOptimization, BOConfig
from .grid import GridSearch
from .hyperband import BOHB, Hyperband, SuccessiveHalving, hyperband_schedule
from .pbt import PBT, PBTConfig
from .peers import OptunaGP, OptunaNSGA2, OptunaTPE
from .random_search import RandomSearch
from .scalarization import WeightedProduct
from .steady_state import SteadyStateNSGA2
from .stopping import STOPPING_RULES, StoppingRule, make_stopping_rule

__all__ = ["Optimizer", "Suggestion", "Observation", "NSGA2", "EvolutionConfig", "GeneticAlgorithm", "GAConfig",
           "IslandModel", "SteadyStateNSGA2", "RandomSearch", "SuccessiveHalving", "Hyperband", "BOHB", "hyperband_schedule",
           "WeightedProduct", "GridSearch", "BayesianOptimization", "BOConfig", "PBT", "PBTConfig", "OptunaTPE",
           "OptunaNSGA2", "OptunaGP", "StoppingRule", "STOPPING_RULES", "make_stopping_rule", "OPTIMIZERS", "make_optimizer"]

#: Every optimiser by the name studies, the CLI and the notebooks use.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "nsga2": NSGA2, "nsga2_async": SteadyStateNSGA2, "ga": GeneticAlgorithm, "islands": IslandModel, "random": RandomSearch,
    "successive_halving": SuccessiveHalving, "hyperband": Hyperband, "bohb": BOHB,
    "weighted_product": WeightedProduct, "grid": GridSearch, "bo": BayesianOptimization, "pbt": PBT,
    "optuna_tpe": OptunaTPE, "optuna_nsga2": OptunaNSGA2, "optuna_gp": OptunaGP,
}


def make_optimizer(name: str, space: SearchSpace, n_objectives: int, *, seed: int | None = 0,
                   **options: Any) -> Optimizer:
    """An optimiser by name (see :data:`OPTIMIZERS`) with its options."""
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

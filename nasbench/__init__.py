"""nasbench: evolutionary multi-objective NAS + HPO workbench."""

from __future__ import annotations

__version__ = "0.1.0"

from .objectives import DTLZ2, ZDT1, ZDT2, ZDT3, Metric, problem  # noqa: E402
from .space import Boolean, Categorical, Condition, Float, Integer, SearchSpace, preset  # noqa: E402
from .study import Study, create_study, load_study  # noqa: E402

__all__ = ["__version__", "Study", "create_study", "load_study", "SearchSpace", "Integer", "Float", "Categorical",
           "Boolean", "Condition", "preset", "Metric", "problem", "ZDT1", "ZDT2", "ZDT3", "DTLZ2"]

"""nasbench: evolutionary multi-objective NAS + HPO workbench."""

from __future__ import annotations

__version__ = "0.1.0"

import os as _os

# OpenMP threads that wait for work sleep instead of spinning. On a small machine that also
# runs anything else (a Dask worker, a benchmark), spinning threads made training up to 12x
# slower (11,600 vs 138,000 samples/s for a small MLP on 2 busy cores). Takes effect when
# torch is imported after nasbench; a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .objectives import DTLZ2, ZDT1, ZDT2, ZDT3, Metric, problem  # noqa: E402
from .space import Boolean, Categorical, Condition, Float, Integer, SearchSpace, preset  # noqa: E402
from .study import Study, create_study, load_study  # noqa: E402

__all__ = ["__version__", "Study", "create_study", "load_study", "SearchSpace", "Integer", "Float", "Categorical",
           "Boolean", "Condition", "preset", "Metric", "problem", "ZDT1", "ZDT2", "ZDT3", "DTLZ2"]

"""What a trial measures.

An objective is a callable ``objective(config, seed) -> {metric: value}`` with
a tuple of :class:`Metric` saying which values are optimised and in which
direction. This module has the cheap synthetic problems with known Pareto fronts
(ZDT1-3, Zitzler, Deb & Thiele 2000; DTLZ2, Deb et al. 2002) for testing the
optimisers; training-based objectives join them later.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .hypervolume import pareto_front as _nondominated
from .space import Float, SearchSpace

__all__ = ["Metric", "Problem", "ZDT1", "ZDT2", "ZDT3", "DTLZ2", "PROBLEMS", "problem", "objective_from_spec",
           "objective_spec", "parse_metrics"]

DIRECTIONS = ("minimize", "maximize")


@dataclass(frozen=True)
class Metric:
    """An optimised quantity: its name and whether it is minimised or maximised."""

    name: str
    direction: str = "minimize"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a metric needs a non-empty name, got {self.name!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric {self.name!r}: direction must be 'minimize' or 'maximize', got {self.direction!r}")


def parse_metrics(metrics: Any) -> tuple[Metric, ...]:
    """Metrics from ``[Metric, ...]``, ``{"name": "minimize", ...}`` or ``["name", ...]`` (minimised)."""
    if isinstance(metrics, Mapping):
        items = [Metric(n, d) for n, d in metrics.items()]
    elif isinstance(metrics, (list, tuple)):
        items = [m if isinstance(m, Metric) else Metric(**m) if isinstance(m, Mapping) else Metric(m) for m in metrics]
    else:
        raise ValueError("metrics must be a dict {name: 'minimize'|'maximize'} or a list of names")
    if not items:
        raise ValueError("at least one metric is needed, e.g. metrics={'loss': 'minimize'}")
    names = [m.name for m in items]
    if len(set(names)) != len(names):
        raise ValueError(f"metric names must be unique, got {names}")
    return tuple(items)


class Problem:
    """A synthetic benchmark: a space, metrics, a reference point and a known front."""

    name: str = "problem"
    metrics: tuple[Metric, ...] = ()
    space: SearchSpace
    reference_point: tuple[float, ...]

    def __call__(self, config: Mapping[str, Any], seed: int | None = None) -> dict[str, float]:
        x = np.fromiter((config[n] for n in self.space.names), dtype=float, count=len(self.space))
        return dict(zip((m.name for m in self.metrics), map(float, self.evaluate(x))))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        raise NotImplementedError

    def spec(self) -> dict:
        return {"problem": self.name, "params": self.params()}

    def params(self) -> dict:
        return {}


def _unit_space(name: str, n_var: int) -> SearchSpace:
    # polynomial mutation and SBX: the standard operators for these problems
    return SearchSpace(tuple(Float(f"x{i}", 0.0, 1.0, default=0.5, mutation="polynomial") for i in range(n_var)),
                       name=name)


class _ZDT(Problem):
    metrics = (Metric("f1"), Metric("f2"))

    def __init__(self, n_var: int = 30) -> None:
        if int(n_var) != n_var or n_var < 2:
            raise ValueError(f"{self.name}: n_var must be an integer >= 2, got {n_var}")
        self.n_var = int(n_var)
        self.space = _unit_space(self.name, self.n_var)
        self.reference_point = (1.1, 1.1)

    def params(self) -> dict:
        return {"n_var": self.n_var}

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        f1 = x[0]
        g = 1.0 + 9.0 * x[1:].sum() / (len(x) - 1)
        return np.array([f1, g * self._h(f1 / g)])

    def _h(self, r: float) -> float:
        raise NotImplementedError

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        f1 = np.linspace(0, 1, n)
        return _nondominated(np.column_stack([f1, np.vectorize(self._h)(f1)]))


class ZDT1(_ZDT):
    """ZDT1: convex front f2 = 1 - sqrt(f1)."""

    name = "zdt1"

    def _h(self, r: float) -> float:
        return 1.0 - math.sqrt(r)


class ZDT2(_ZDT):
    """ZDT2: concave front f2 = 1 - f1^2."""

    name = "zdt2"

    def _h(self, r: float) -> float:
        return 1.0 - r * r


class ZDT3(_ZDT):
    """ZDT3: disconnected front f2 = 1 - sqrt(f1) - f1 sin(10 pi f1)."""

    name = "zdt3"

    def _h(self, r: float) -> float:
        return 1.0 - math.sqrt(r) - r * math.sin(10 * math.pi * r)

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        return super().pareto_front(20 * n)


class DTLZ2(Problem):
    """DTLZ2 with M objectives: front on the unit sphere's positive orthant."""

    name = "dtlz2"

    def __init__(self, n_obj: int = 3, n_var: int | None = None) -> None:
        if int(n_obj) != n_obj or n_obj < 2:
            raise ValueError(f"dtlz2: n_obj must be an integer >= 2, got {n_obj}")
        self.n_obj = int(n_obj)
        self.n_var = self.n_obj + 9 if n_var is None else int(n_var)
        if self.n_var < self.n_obj:
            raise ValueError(f"dtlz2: n_var must be >= n_obj ({self.n_obj}), got {self.n_var}")
        self.metrics = tuple(Metric(f"f{i + 1}") for i in range(self.n_obj))
        self.space = _unit_space(self.name, self.n_var)
        self.reference_point = (1.1,) * self.n_obj

    def params(self) -> dict:
        return {"n_obj": self.n_obj, "n_var": self.n_var}

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        m = self.n_obj
        g = ((x[m - 1:] - 0.5) ** 2).sum()
        angles = x[: m - 1] * math.pi / 2
        f = np.full(m, 1.0 + g)
        for i in range(m):
            f[i] *= np.prod(np.cos(angles[: m - 1 - i]))
            if i > 0:
                f[i] *= math.sin(angles[m - 1 - i])
        return f

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        rng = np.random.default_rng(0)
        v = np.abs(rng.normal(size=(n, self.n_obj)))
        return v / np.linalg.norm(v, axis=1, keepdims=True)


PROBLEMS: dict[str, Callable[..., Problem]] = {"zdt1": ZDT1, "zdt2": ZDT2, "zdt3": ZDT3, "dtlz2": DTLZ2}


def problem(name: str, **params: Any) -> Problem:
    """A synthetic problem by name: ``zdt1``, ``zdt2``, ``zdt3``, ``dtlz2``."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; use one of {sorted(PROBLEMS)}")
    return PROBLEMS[name](**params)


def objective_spec(objective: Callable) -> dict | None:
    """How to rebuild ``objective`` in another process (``nasbench resume``), or None.

    Problems rebuild from their name and parameters; a module-level function
    from its import path; anything else (a lambda, a notebook function) cannot.
    """
    if isinstance(objective, Problem):
        return objective.spec()
    module, qualname = getattr(objective, "__module__", None), getattr(objective, "__qualname__", "")
    if module and module != "__main__" and "<" not in qualname and "." not in qualname:
        return {"callable": f"{module}:{qualname}"}
    return None


def objective_from_spec(spec: Mapping[str, Any] | None) -> Callable:
    """The objective that :func:`objective_spec` described."""
    if not spec:
        raise ValueError("this study's objective was defined in a notebook or script and cannot be rebuilt; "
                         "pass it again: Study.load(directory, objective=...)")
    if "problem" in spec:
        return problem(spec["problem"], **spec.get("params", {}))
    module, _, name = spec["callable"].partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import the study's objective {spec['callable']!r} ({exc}); "
                         "make it importable or pass objective=... to Study.load") from None

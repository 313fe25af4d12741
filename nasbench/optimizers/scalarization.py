"""MnasNet's weighted-product scalarisation: any single-objective optimiser on two objectives.

MnasNet (Tan et al. 2019; seed 001) maximises ``ACC(m) * [SIZE(m) / T] ** w`` with
``w = alpha`` when ``SIZE(m) <= T`` and ``w = beta`` otherwise; MnasNet's soft
constraint is ``alpha = beta = -0.07``, its hard one ``alpha = 0, beta = -1``. Here the
size is whatever the size objective measures (parameters or MACs, in place of the
paper's latency) and ``T`` is the target in the same unit.

With ``alpha == beta`` the ranking of two models does not depend on ``T``
(``T ** -w`` is a common factor); ``T`` matters when ``alpha != beta``.

Values arrive at ``tell`` **minimised**: a maximised accuracy arrives negated, so the
accuracy is read as ``-value`` (``accuracy_maximized=True``, the default, what a study
does with an ``accuracy`` metric); pass ``accuracy_maximized=False`` when the value told
is the accuracy itself. The inner optimiser is told the minimised scalar
``-ACC * [SIZE / T] ** w``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from ..space import SearchSpace
from .base import Observation, Optimizer, Suggestion
from .evolution import _check, _check_flag, _check_int, _check_real, _got

__all__ = ["weighted_product", "WeightedProduct"]


def weighted_product(accuracy: float, size: float, target: float, alpha: float, beta: float) -> float:
    """MnasNet's reward ``accuracy * (size / target) ** w``, ``w = alpha`` if ``size <= target``
    else ``beta`` (Tan et al. 2019, eq. 2). Larger is better."""
    w = alpha if size <= target else beta
    return accuracy * (size / target) ** w


class WeightedProduct(Optimizer):
    """A two-objective optimiser made of a single-objective one (``inner``: a registered
    name, e.g. ``"ga"``, with ``inner_options``, or an Optimizer instance with one
    objective) told MnasNet's weighted product of the accuracy objective
    ``accuracy_objective`` and the size objective ``size_objective``. Other objectives,
    if the study has more, are ignored. Failed trials are told as failed; a pruned
    trial is told its scalarised last values when it has both."""

    name = "weighted_product"

    def __init__(self, space: SearchSpace, n_objectives: int = 2, *, target: float, inner: str | Optimizer = "ga",
                 inner_options: Mapping[str, Any] | None = None, alpha: float = -0.07, beta: float = -0.07,
                 accuracy_objective: int = 0, size_objective: int = 1, accuracy_maximized: bool = True,
                 seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        _check(self.n_objectives >= 2, f"the weighted product needs 2 objectives (accuracy and size), "
                                       f"got {self.n_objectives}; use a single-objective optimiser directly")
        _check_real("target", target, "> 0 (in the size objective's unit)", lambda v: v > 0)
        _check_real("alpha", alpha, "(MnasNet: -0.07, or 0 for a hard constraint)", lambda v: True)
        _check_real("beta", beta, "(MnasNet: -0.07, or -1 for a hard constraint)", lambda v: True)
        for key, idx in (("accuracy_objective", accuracy_objective), ("size_objective", size_objective)):
            _check_int(key, idx, 0)
            _check(idx < self.n_objectives, f"{key}={idx} is not an objective index in [0, {self.n_objectives - 1}]")
        _check(accuracy_objective != size_objective,
               f"accuracy_objective and size_objective are both {size_objective}; pass two different indices")
        _check_flag("accuracy_maximized", accuracy_maximized)
        self.settings = {"target": float(target), "alpha": float(alpha), "beta": float(beta),
                         "accuracy_objective": int(accuracy_objective), "size_objective": int(size_objective),
                         "accuracy_maximized": accuracy_maximized}
        self.inner = self._make_inner(inner, inner_options, seed)

    def _make_inner(self, inner: str | Optimizer, options: Mapping[str, Any] | None, seed: int | None) -> Optimizer:
        if isinstance(inner, Optimizer):
            _check(options is None, "inner_options are for an inner optimiser given by name; "
                                    "configure the instance itself")
            _check(inner.n_objectives == 1, f"the inner optimiser must be single-objective, "
                                            f"got one with {inner.n_objectives} objectives")
            return inner
        _check(isinstance(inner, str), f"inner must be an optimiser's name or an Optimizer, {_got(inner)}")
        _check(options is None or isinstance(options, Mapping), f"inner_options must be a dict, {_got(options)}")
        from . import make_optimizer  # the registry imports this module

        return make_optimizer(inner, self.space, 1, seed=seed, **dict(options or {}))

    @property
    def generation_size(self) -> int | None:
        return self.inner.generation_size

    @property
    def generation(self) -> int | None:
        """The inner optimiser's generation (None if it has none): what the study records."""
        return getattr(self.inner, "generation", None)

    @property
    def population(self) -> list[dict] | None:
        """The inner optimiser's population, values scalarised (None if it has none)."""
        return getattr(self.inner, "population", None)

    def scalarize(self, values: Sequence[float], trial_id: int = -1) -> float:
        """The minimised scalar told to the inner optimiser: ``-ACC * [SIZE / T] ** w``."""
        s = self.settings
        acc = float(values[s["accuracy_objective"]])
        acc = -acc if s["accuracy_maximized"] else acc
        size = float(values[s["size_objective"]])
        if not (math.isfinite(size) and size > 0):
            raise ValueError(f"trial {trial_id}: the size objective (index {s['size_objective']}) is {size!r}; "
                             "the weighted product needs a positive size (parameters or MACs)")
        if not (math.isfinite(acc) and acc >= 0):
            raise ValueError(f"trial {trial_id}: the accuracy read from objective {s['accuracy_objective']} is "
                             f"{acc!r}; point accuracy_objective at a maximised accuracy, or set accuracy_maximized")
        return -weighted_product(acc, size, s["target"], s["alpha"], s["beta"])

    def ask(self, n: int) -> list[Suggestion]:
        return self.inner.ask(n)

    def tell(self, observations: Sequence[Observation]) -> None:
        self.inner.tell([self._scalar_observation(o) for o in observations])

    def _scalar_observation(self, obs: Observation) -> Observation:
        s = self.settings
        values = obs.values
        usable = values is not None and all(values[s[k]] is not None for k in ("accuracy_objective", "size_objective"))
        scalar = (self.scalarize(values, obs.trial_id),) if usable else None
        status = obs.status if usable or obs.status != "done" else "failed"
        return Observation(obs.trial_id, obs.genome, scalar, obs.generation, obs.parents, status=status,
                           fidelity=obs.fidelity, warm_start=obs.warm_start)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "settings": dict(self.settings), "inner": self.inner.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        inner = state["inner"]
        if inner.get("name") != self.inner.name:
            raise ValueError(f"the saved inner optimiser is {inner.get('name')!r}, this one's is "
                             f"{self.inner.name!r}; build the WeightedProduct with inner={inner.get('name')!r}")
        self.settings = dict(state["settings"])
        self.inner.load_state_dict(inner)

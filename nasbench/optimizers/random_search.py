"""Random search (Bergstra & Bengio 2012): the baseline every optimiser must beat."""

from __future__ import annotations

from typing import Any, Sequence

from ..space import SearchSpace
from .base import Observation, Optimizer, Suggestion

__all__ = ["RandomSearch"]


class RandomSearch(Optimizer):
    """Independent draws, uniform or (``prior=True``) from the parameters' priors."""

    name = "random"

    def __init__(self, space: SearchSpace, n_objectives: int = 1, *, prior: bool = False,
                 seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        self.prior = bool(prior)
        self.n_asked = 0

    def ask(self, n: int) -> list[Suggestion]:
        out = [Suggestion(self.space.sample_genome(self.rng, prior=self.prior), self.n_asked + i) for i in range(n)]
        self.n_asked += n
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        """Random search learns nothing from results."""

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "n_asked": self.n_asked, "prior": self.prior}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.n_asked, self.prior = state["n_asked"], state["prior"]

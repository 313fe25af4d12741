"""Random search (Bergstra & Bengio 2012): the baseline every optimiser must beat."""

from __future__ import annotations

from typing import Any, Sequence

from ..space import SearchSpace
from .base import Observation, Optimizer, Suggestion

__all__ = ["RandomSearch"]


class RandomSearch(Optimizer):
    """Independent draws, uniform or (``prior=True``) from the parameters' priors.

    ``asynchronous=True`` runs it in the study loop's asynchronous mode: one new trial per
    finished one, so no worker waits for the slowest trial of a batch (on 64 simulated
    workers with heavy-tailed trial times: ~99 % busy against ~34 % in batches,
    ``benchmarks/bench_workers.py``). The trials are the same (configurations and seeds by
    trial id) either way, since random search learns nothing from results. It is not the
    default because of what a study adds around the optimiser: with a stopping rule a
    trial is compared with the trials finished when it was asked, and with ``cache=True``
    a repeat reuses a twin only once that twin has finished, and on Dask both depend on
    timing, whereas batches keep them the same on Dask as serially."""

    name = "random"

    def __init__(self, space: SearchSpace, n_objectives: int = 1, *, prior: bool = False,
                 asynchronous: bool = False, seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        if not isinstance(asynchronous, bool):
            raise ValueError(f"asynchronous must be True or False, got {asynchronous!r}")
        self.prior = bool(prior)
        self.asynchronous = asynchronous
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

"""Asynchronous steady-state NSGA-II: each finished trial leads at once to one new offspring.

A generational NSGA-II waits for the slowest trial of each generation before it breeds
the next, so on many workers with trials of uneven length most workers idle at the
barrier. The steady-state variant breeds one child per ask from the population of
trials told so far and lets each told trial compete for a place at once: (mu + 1)
survival by non-dominated rank and crowding distance (Durillo, Nebro, Luna & Alba
2009, "On the effect of the steady-state selection scheme in multi-objective genetic
algorithms"), run asynchronously as regularised evolution (Real et al. 2019) and ASHA
(Li et al. 2020) run their trials, and as Syne Tune and Ray Tune run evolution. The
study loop drives it in its asynchronous mode (:meth:`nasbench.loop.StudyLoop.run_async`):
one trial in flight per worker, one ask per finished trial.

The operators are NSGA-II's: parent selection from
:data:`nasbench.selection.PARENT_SELECTIONS`, per-parameter variation from
:mod:`nasbench.operators`, survival :func:`nasbench.selection.nsga2_survivors`; the
settings are :class:`~nasbench.optimizers.EvolutionConfig`'s.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import selection
from .._deap import cached_individuals, deap_random
from ..operators import crossover_by_parameter, cx_two_point, mutate_by_parameter
from ..space import SearchSpace
from .base import Observation, Optimizer, Suggestion
from .evolution import EvolutionConfig

__all__ = ["SteadyStateNSGA2"]


class SteadyStateNSGA2(Optimizer):
    """NSGA-II, steady state and asynchronous: ``ask`` breeds one child per suggestion from
    the current population; ``tell`` adds each evaluated trial to the population and, once it
    holds more than ``population_size``, drops the worst by NSGA-II rank and crowding.

    The first ``population_size`` suggestions are the initial population (``init``), and
    further ones are random until that many trials have been told (the population is full),
    as regularised evolution starts; only then does breeding begin. A child equal to a
    population member or to a suggestion still being evaluated is mutated again (up to 10
    times, ``avoid_duplicates``). Failed trials never enter the population.
    ``Suggestion.generation`` counts ``population_size`` told trials as one generation
    (:attr:`generation`), so fronts per generation compare with the generational NSGA-II.

    Settings: :class:`~nasbench.optimizers.EvolutionConfig` (``offspring_size`` does not
    apply: each ask is one child). The whole state (population, suggestions in flight, RNG)
    is in :meth:`state_dict`: with the in-process evaluator a study resumed from any point
    ends exactly where an uninterrupted one would; on Dask the order in which trials finish
    depends on timing, and with it the order of ``tell`` and so the search itself.
    """

    name = "nsga2_async"
    config_class = EvolutionConfig
    #: Run by the study loop's asynchronous mode: one ask per finished trial.
    asynchronous = True

    def __init__(self, space: SearchSpace, n_objectives: int, config: EvolutionConfig | dict | None = None,
                 *, seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        config = self.config_class.coerce(config)
        if config.offspring_size is not None:
            raise ValueError(f"offspring_size does not apply to {self.name!r} (each finished trial breeds one "
                             f"child), got {config.offspring_size}; leave it out")
        if config.reference_point is not None and len(config.reference_point) != n_objectives:
            raise ValueError(f"reference_point has {len(config.reference_point)} values for {n_objectives} "
                             "objectives; give one value per objective")
        for label, idx in (("size_objective", config.size_objective),
                           ("performance_objective", config.performance_objective)):
            if idx is not None and not 0 <= idx < n_objectives:
                raise ValueError(f"{label}={idx} is not an objective index in [0, {n_objectives - 1}]")
        self.config = config
        self.n_asked = 0
        self.n_told = 0
        self.population: list[dict] = []   # {"trial_id", "genome", "values"}, the survivors so far
        self.outstanding: list[list] = []  # genomes asked and not yet told
        # derived from the population, not state (see _individuals and _key)
        self._individual_cache: dict = {}
        self._keys: dict[tuple, str] = {}
        self._crowded_members: tuple = ()  # the population whose crowding the individuals carry

    @property
    def generation(self) -> int:
        """Told trials in units of ``population_size``."""
        return self.n_told // self.config.population_size

    # --- ask / tell ---------------------------------------------------------------------------
    def ask(self, n: int) -> list[Suggestion]:
        out = []
        with deap_random(self.rng):  # DEAP's operators draw from the optimiser's stream
            for _ in range(n):
                genome, parents = self._next()
                self.outstanding.append(list(genome))
                self.n_asked += 1
                out.append(Suggestion(list(genome), self.generation, tuple(parents)))
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        for obs in observations:
            genome = list(obs.genome)
            if genome not in self.outstanding:
                raise ValueError(f"tell() got trial {obs.trial_id}, whose genome is not among the "
                                 f"{len(self.outstanding)} outstanding suggestions; tell each result of ask() "
                                 "exactly once")
            self.outstanding.remove(genome)
            self.n_told += 1
            if obs.values is None or obs.status != "done":
                continue
            self.population.append({"trial_id": obs.trial_id, "genome": genome,
                                    "values": [float(v) for v in obs.values]})
            if len(self.population) > self.config.population_size:
                F = np.array([r["values"] for r in self.population], dtype=float)
                rng = self.rng if self.config.survival_tie_break == "random" else None
                keep = selection.nsga2_survivors(F, self.config.population_size, rng)
                self.population = [self.population[i] for i in sorted(keep)]

    # --- breeding -----------------------------------------------------------------------------
    def _next(self) -> tuple[list, list[int]]:
        size = self.config.population_size
        if self.n_asked < size:
            return self._initial(self.n_asked), []
        if self.n_told < size or len(self.population) < 2:  # the population is not full yet
            return self.space.sample_genome(self.rng), []
        return self._child()

    def _initial(self, i: int) -> list:
        """The ``i``-th member of the initial population: with ``init="extremes"`` the default,
        largest and smallest configurations first (seed 000), then random ones."""
        if self.config.init == "extremes" and i < 3:
            return self.space.to_genome((self.space.default, self.space.largest, self.space.smallest)[i]())
        return self.space.sample_genome(self.rng)

    def _child(self) -> tuple[list, list[int]]:
        """One child of two parents chosen by the configured parent selection, mutated with
        probability ``individual_mutation_prob``. A duplicate (of the population or of a trial
        in flight) is, with ``duplicates="mate_again"``, dropped and new parents mated (up to
        100 rounds, as pymoo's duplicate elimination), else mutated again (up to 10 times)."""
        cfg = self.config
        inds = self._individuals()
        select = selection.PARENT_SELECTIONS[cfg.parent_selection]
        seen = ({self._key(r["genome"]) for r in self.population} | {self._key(g) for g in self.outstanding}
                if cfg.avoid_duplicates else set())
        rounds = 100 if cfg.avoid_duplicates and cfg.duplicates == "mate_again" else 1
        for _ in range(rounds):
            a, b = (ind.record for ind in select(inds, 2, self.rng, cfg, self.generation))
            child, other = list(a["genome"]), list(b["genome"])
            if self.rng.random() < cfg.crossover_prob:
                if cfg.crossover == "two_point":
                    cx_two_point(child, other, self.rng)
                else:
                    crossover_by_parameter(child, other, self.space, self.rng, eta=cfg.eta_crossover)
            if cfg.individual_mutation_prob >= 1.0 or self.rng.random() < cfg.individual_mutation_prob:
                mutate_by_parameter(child, self.space, self.rng, indpb=cfg.mutation_prob, eta=cfg.eta_mutation)
            if self._key(child) not in seen:
                break
        if cfg.avoid_duplicates and cfg.duplicates != "mate_again":
            indpb = max(cfg.mutation_prob or 0.0, 1.0 / len(self.space))
            for _ in range(10):
                if self._key(child) not in seen:
                    break
                mutate_by_parameter(child, self.space, self.rng, indpb=indpb, eta=cfg.eta_mutation)
        return child, [a["trial_id"], b["trial_id"]]

    def _individuals(self) -> list:
        """DEAP individuals of the population, each carrying its record. A member keeps its
        individual from one ask to the next (its genome and values never change): building 64
        of them on every ask cost more than the breeding itself (about 1 ms a trial)."""
        out, self._individual_cache = cached_individuals(self.population, self._individual_cache,
                                                         n_objectives=self.n_objectives)
        for ind, r in zip(out, self.population):
            ind.record = r
        if self.config.parent_selection == "crowded_tournament":
            self._attach_crowding(out)
        return out

    def _attach_crowding(self, individuals: list) -> None:
        """Give each member the crowding distance within its front of the population, which
        the crowded tournament would otherwise compute on every ask: the same values, once
        per change of the population. On a busy cluster several trials finish together and
        their successors are asked in one call; computing it for each child was about a fifth
        of the asynchronous driver's time at 64 Dask workers."""
        members = tuple(r["trial_id"] for r in self.population)
        if members == self._crowded_members and selection.survival_crowding(individuals) is not None:
            return
        _, crowd = selection._rank_and_crowding(selection.objective_matrix(individuals))
        for ind, c in zip(individuals, crowd):
            ind.fitness.crowding_dist = float(c)
        self._crowded_members = members

    def _key(self, genome: list) -> str:
        """The configuration's canonical text, what makes two genomes duplicates. Kept per
        genome (derived data, not state): every ask compares a child with the whole population
        and every trial in flight, and validating and dumping those ~130 configurations again
        each time was most of the asynchronous driver's cost (~4 ms of 7 ms a trial)."""
        try:
            index = tuple(genome)
            hash(index)
        except TypeError:  # a gene that is a list: no cache
            return self.space.canonical_json(self.space.to_config(genome))
        keys = self._keys
        key = keys.get(index)
        if key is None:
            if len(keys) > 4 * (len(self.population) + len(self.outstanding)) + 64:
                keys.clear()  # bounded: the genomes still in play come back on the next ask
            key = keys[index] = self.space.canonical_json(self.space.to_config(genome))
        return key

    # --- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "config": self.config.to_dict(), "n_asked": self.n_asked,
                "n_told": self.n_told, "population": self.population, "outstanding": self.outstanding}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.config = self.config_class.from_dict(state["config"])
        self.n_asked, self.n_told = int(state["n_asked"]), int(state["n_told"])
        self.population = [dict(r) for r in state["population"]]
        self.outstanding = [list(g) for g in state["outstanding"]]
        self._crowded_members = ()  # derived data of another population: recomputed on the next ask

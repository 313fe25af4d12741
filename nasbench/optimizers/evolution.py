"""Evolutionary optimisers: NSGA-II (mu + lambda), seed 003's genetic algorithm and its
island model.

NSGA-II and the GA run generation by generation behind the ask/tell interface: a generation's
offspring are made at once and queued; ``ask`` hands them out, ``tell`` collects
results, and when the last result of a generation arrives the survivors are
chosen. The queue, the population and the RNG are all in ``state_dict``, so a
study resumed from any checkpoint continues exactly as it would have. The island
model runs several of either side by side, one archipelago generation per batch.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import selection
from .._deap import cached_individuals, deap_random
from ..operators import (crossover_by_parameter, cx_two_point, gaussian_arrays, mutate_by_parameter,
                         polynomial_arrays, sbx_arrays)
from ..space import SearchSpace
from .base import Observation, Optimizer, Suggestion

__all__ = ["EvolutionConfig", "NSGA2", "GAConfig", "GeneticAlgorithm", "IslandModel"]

_CROSSOVERS = ("per_parameter", "two_point")
_INITS = ("random", "extremes")
_SIZE_WEIGHTINGS = ("rank", "inverse")
_TIE_BREAKS = ("random", "order")
_DUPLICATES = ("mate_again", "mutate_again")
_PARENT_CROWDING = ("survival", "parents")
_UPGRADE = "(or upgrade nasbench if the study was written by a newer version)"


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _got(value: Any, right_type: bool = False) -> str:
    """``got 5``, or with the type when it is the wrong one: ``got '5' (str)``."""
    return f"got {value!r}" if right_type else f"got {value!r} ({type(value).__name__})"


def _check_int(name: str, value: Any, low: int, *, none: str | None = None) -> None:
    """An integer >= ``low`` (bools are not integers here); ``none`` says what None means."""
    if value is None and none is not None:
        return
    ok_type = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok_type or value < low:
        alt = "" if none is None else f" or None{none}"
        fix = "" if ok_type else "; pass an int"
        raise ValueError(f"{name} must be an integer >= {low}{alt}, {_got(value, ok_type)}{fix}")


def _check_real(name: str, value: Any, interval: str, ok: Callable[[float], bool], *, none: str | None = None) -> None:
    """A finite number for which ``ok`` holds, described by ``interval`` (``"in [0, 1]"``)."""
    if value is None and none is not None:
        return
    ok_type = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok_type or not math.isfinite(value) or not ok(value):
        alt = "" if none is None else f" or None{none}"
        fix = "" if ok_type else "; pass a float"
        raise ValueError(f"{name} must be a number {interval}{alt}, {_got(value, ok_type)}{fix}")


def _check_flag(name: str, value: Any) -> None:
    _check(isinstance(value, bool), f"{name} must be True or False, {_got(value)}")


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    _check(value in choices, f"{name} must be one of {tuple(choices)}, got {value!r}")


class _Settings:
    """JSON round trip and the checks shared by the frozen settings dataclasses."""

    def _check_common(self) -> None:
        _check_int("population_size", self.population_size, 2)
        _check_choice("init", self.init, _INITS)
        _check_int("tournament_size", self.tournament_size, 1)
        _check_choice("crossover", self.crossover, _CROSSOVERS)
        _check_real("crossover_prob", self.crossover_prob, "in [0, 1]", lambda v: 0 <= v <= 1)
        _check_real("mutation_prob", self.mutation_prob, "in [0, 1]", lambda v: 0 <= v <= 1,
                    none=" (= 1/number of parameters)")

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        _check(isinstance(data, Mapping), f"config must be a dict, {_got(data)}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        _check(not unknown, f"unknown {cls.__name__} settings {unknown}; known: {sorted(known)} {_UPGRADE}")
        return cls(**data)

    @classmethod
    def coerce(cls, config: Any):
        """``config`` as this class: a dict of settings, an instance, or None for the defaults."""
        if config is None:
            return cls()
        if isinstance(config, Mapping):
            return cls.from_dict(config)
        _check(isinstance(config, cls), f"config must be a dict or {cls.__name__}, {_got(config)}")
        return config


def _reference_point(point: Any) -> tuple[float, ...]:
    ok = isinstance(point, Sequence) and not isinstance(point, str) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in point)
    _check(ok, f"reference_point must be a sequence of numbers, got {point!r}")
    return tuple(float(v) for v in point)


@dataclass(frozen=True)
class EvolutionConfig(_Settings):
    """Settings of :class:`NSGA2`.

    ``init="extremes"`` starts from the default, largest and smallest
    configurations before random ones (seed 000). ``parent_selection`` is one of
    :data:`nasbench.selection.PARENT_SELECTIONS`; ``"alternating"`` is seed 000's
    size tournament every ``alternate_every``-th generation, hypervolume-proportional
    otherwise. ``reference_point`` is in minimised units (the study fills it in).

    Defaults and where they come from:

    - ``crossover_prob=0.9``, ``eta_crossover=15``: SBX as in pymoo's ``NSGA2`` (``SBX(prob=0.9,
      eta=15)``); Deb & Agrawal (1995) for SBX itself.
    - ``mutation_prob=None`` (1/number of parameters per gene) and ``eta_mutation=20``:
      polynomial mutation as in Deb et al. (2002) and pymoo's ``PM(eta=20)``.
    - ``individual_mutation_prob=0.9``: the share of children that are mutated at all,
      pymoo's ``PM(prob=0.9)`` (``Mutation.prob``). 1.0 mutates every child (seed 000).
    - ``survival_tie_break="random"``: points tied in crowding distance at the survival cut
      are kept in random order, as pymoo's ``RankAndCrowding`` (``randomized_argsort``) does;
      ``"order"`` keeps input order, as DEAP's ``selNSGA2`` and seed 000 do.
    - ``avoid_duplicates=True`` with ``duplicates="mate_again"``: a child equal to a
      population member or an earlier child is dropped and new parents are selected and
      mated, as pymoo's ``Mating`` with ``eliminate_duplicates=True`` does (up to 100
      rounds, then the remaining duplicates are kept). ``"mutate_again"`` mutates the
      duplicate again, up to 10 times (seed 000's behaviour in nasbench before this).
    - ``vectorized=True``: where every parameter is a number without a condition, crossed by
      SBX and mutated polynomially or by a Gaussian (ZDT, DTLZ, most HPO spaces), a
      generation is varied as one matrix (:func:`nasbench.operators.sbx_arrays`,
      :func:`~nasbench.operators.polynomial_arrays`), as pymoo's operators do: the same
      distributions as DEAP's per-individual operators (checked by a Kolmogorov-Smirnov
      test) at a fraction of the cost, drawn in another order, so a seed gives another run.
      ``False`` keeps the per-individual DEAP path for every space.
    - ``parent_crowding="survival"``: the crowded tournament compares the crowding distance
      each survivor got at survival, within its front of the whole pool (the cut front's
      before the cut), as Deb et al. (2002), DEAP's ``selNSGA2`` + ``selTournamentDCD`` and
      pymoo's ``RankAndCrowding`` + ``TournamentSelection`` do; ``"parents"`` recomputes it
      among the survivors alone (nasbench before this), where a cut front's points next to
      dropped ones look less crowded than they were.
    """

    population_size: int = 100
    offspring_size: int | None = None
    init: str = "random"
    parent_selection: str = "crowded_tournament"
    tournament_size: int = 2
    selection_pressure: float = 0.75
    size_objective: int | None = None
    performance_objective: int = 0
    size_weighting: str = "rank"
    alternate_every: int = 3
    hypervolume_contribution: bool = False
    reference_point: tuple[float, ...] | None = None
    crossover: str = "per_parameter"
    crossover_prob: float = 0.9
    eta_crossover: float = 15.0
    mutation_prob: float | None = None
    eta_mutation: float = 20.0
    avoid_duplicates: bool = True
    individual_mutation_prob: float = 0.9
    survival_tie_break: str = "random"
    duplicates: str = "mate_again"
    vectorized: bool = True
    parent_crowding: str = "survival"

    def __post_init__(self) -> None:
        self._check_common()
        _check_flag("vectorized", self.vectorized)
        _check_choice("parent_crowding", self.parent_crowding, _PARENT_CROWDING)
        _check_int("offspring_size", self.offspring_size, 1, none=" (= population_size)")
        _check_choice("parent_selection", self.parent_selection, tuple(selection.PARENT_SELECTIONS))
        _check_real("selection_pressure", self.selection_pressure, "in (0, 1]", lambda v: 0 < v <= 1)
        _check_int("size_objective", self.size_objective, 0, none="")
        _check_int("performance_objective", self.performance_objective, 0)
        _check_choice("size_weighting", self.size_weighting, _SIZE_WEIGHTINGS)
        _check_int("alternate_every", self.alternate_every, 1)
        _check_flag("hypervolume_contribution", self.hypervolume_contribution)
        _check_real("eta_crossover", self.eta_crossover, ">= 0", lambda v: v >= 0)
        _check_real("eta_mutation", self.eta_mutation, ">= 0", lambda v: v >= 0)
        _check_flag("avoid_duplicates", self.avoid_duplicates)
        _check_real("individual_mutation_prob", self.individual_mutation_prob, "in [0, 1]", lambda v: 0 <= v <= 1)
        _check_choice("survival_tie_break", self.survival_tie_break, _TIE_BREAKS)
        _check_choice("duplicates", self.duplicates, _DUPLICATES)
        if self.reference_point is not None:
            object.__setattr__(self, "reference_point", _reference_point(self.reference_point))
        self._check_needs()

    def _check_needs(self) -> None:
        hints = {"size_objective": "size_objective: the index of the model-size metric",
                 "reference_point": "a reference_point; give the study one"}
        for need in selection.PARENT_SELECTIONS[self.parent_selection].needs:
            _check(getattr(self, need) is not None,
                   f"parent_selection={self.parent_selection!r} needs {hints.get(need, need)}")

    @property
    def lam(self) -> int:
        """Offspring per generation (lambda)."""
        return int(self.offspring_size or self.population_size)


class _Generational(Optimizer):
    """Queue, population and generation bookkeeping shared by the evolutionary optimisers."""

    def __init__(self, space: SearchSpace, n_objectives: int, config: Any, *, seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        self.config = config
        self.generation = 0
        self.population: list[dict] = []  # {"trial_id", "genome", "values"} of the survivors
        self.queue: list[dict] = []       # {"genome", "parents"} made but not yet asked
        self.outstanding = 0              # asked in this generation, not yet told
        self.received: list[dict] = []    # told in this generation

    @property
    def generation_size(self) -> int:
        return self.config.lam

    # --- ask / tell ---------------------------------------------------------------------------
    def ask(self, n: int) -> list[Suggestion]:
        if not self.queue and self.outstanding == 0:
            with deap_random(self.rng):  # one seeding of DEAP's stream for the whole generation
                self.queue = self._initial() if self.generation == 0 else self._offspring()
        batch, self.queue = self.queue[:n], self.queue[n:]
        self.outstanding += len(batch)
        return [Suggestion(list(b["genome"]), self.generation, tuple(b["parents"])) for b in batch]

    def tell(self, observations: Sequence[Observation]) -> None:
        if len(observations) > self.outstanding:
            raise ValueError(f"tell() got {len(observations)} results but only {self.outstanding} suggestions "
                             "are outstanding; tell each result of ask() exactly once")
        for obs in observations:
            self.received.append({"trial_id": obs.trial_id, "genome": list(obs.genome),
                                  "values": None if obs.values is None or obs.status != "done"
                                  else [float(v) for v in obs.values]})
        self.outstanding -= len(observations)
        if self.outstanding == 0 and not self.queue:
            self._end_generation()

    def _end_generation(self) -> None:
        evaluated = [r for r in self.received if r["values"] is not None]
        pool = self.population + evaluated
        self.population = self._survive(pool) if pool else []
        self.received = []
        self.generation += 1

    # --- shared helpers ----------------------------------------------------------------------
    def _individuals(self, records: Sequence[dict]) -> list:
        """DEAP individuals of population records. Survivors keep theirs from one generation
        to the next (a trial's genome and values never change), since building one costs
        more than varying it; the cache holds only the records asked for last."""
        out, self._individual_cache = cached_individuals(records, self.__dict__.get("_individual_cache", {}),
                                                         n_objectives=self.n_objectives)
        return out

    def _initial(self) -> list[dict]:
        genomes = []
        if getattr(self.config, "init", "random") == "extremes":
            genomes = [self.space.to_genome(c) for c in
                       (self.space.default(), self.space.largest(), self.space.smallest())]
        genomes = genomes[: self.config.population_size]
        while len(genomes) < self.config.population_size:
            genomes.append(self.space.sample_genome(self.rng))
        return [{"genome": g, "parents": []} for g in genomes]

    def _vary_pair(self, g1: list, g2: list) -> tuple[list, list]:
        cfg = self.config
        c1, c2 = list(g1), list(g2)
        if self.rng.random() < cfg.crossover_prob:
            if cfg.crossover == "two_point":
                cx_two_point(c1, c2, self.rng)
            else:
                crossover_by_parameter(c1, c2, self.space, self.rng, eta=getattr(cfg, "eta_crossover", 15.0))
        p_mutant = getattr(cfg, "individual_mutation_prob", 1.0)
        for c in (c1, c2):
            if p_mutant >= 1.0 or self.rng.random() < p_mutant:
                mutate_by_parameter(c, self.space, self.rng, indpb=cfg.mutation_prob,
                                    eta=getattr(cfg, "eta_mutation", 20.0))
        return c1, c2

    def _hash(self, genome: list) -> tuple:
        return tuple(self.space.to_config(genome).items())

    def _make_children(self, parents: list[dict], k: int) -> list[dict]:
        """``k`` children from consecutive pairs of ``parents``; with ``avoid_duplicates``
        a child equal to a population member or an earlier child is mutated again
        (up to 10 times), as pymoo's duplicate elimination does."""
        seen = {self._hash(p["genome"]) for p in self.population} if self.config.avoid_duplicates else set()
        children: list[dict] = []
        for i in range(0, 2 * ((k + 1) // 2), 2):
            a, b = parents[i % len(parents)], parents[(i + 1) % len(parents)]
            for child in self._vary_pair(a["genome"], b["genome"]):
                for _ in range(10 if self.config.avoid_duplicates else 0):
                    if self._hash(child) not in seen:
                        break
                    mutate_by_parameter(child, self.space, self.rng, indpb=max(self.config.mutation_prob or 0,
                                                                                 1.0 / len(self.space)))
                seen.add(self._hash(child))
                children.append({"genome": child, "parents": [a["trial_id"], b["trial_id"]]})
        return children[:k]

    def _offspring(self) -> list[dict]:
        if len(self.population) < 2:  # nothing (or one thing) survived: start afresh
            return [{"genome": self.space.sample_genome(self.rng), "parents": []}
                    for _ in range(self.config.lam)]
        inds = self._individuals(self.population)
        for ind, rec in zip(inds, self.population):
            ind.record = rec
            if "crowding" in rec:  # survival's crowding distance, which the crowded tournament reads
                ind.fitness.crowding_dist = float(rec["crowding"])
            elif hasattr(ind.fitness, "crowding_dist"):
                del ind.fitness.crowding_dist
        if self._arrays():
            return self._mate_arrays(inds, self.config.lam)
        if self.config.avoid_duplicates and getattr(self.config, "duplicates", "mutate_again") == "mate_again":
            return self._mate_until_unique(inds, self.config.lam)
        parents = [ind.record for ind in self._select(inds, self.config.lam + self.config.lam % 2)]
        return self._make_children(parents, self.config.lam)

    def _mate_until_unique(self, inds: list, k: int, rounds: int = 100) -> list[dict]:
        """``k`` children, none equal to a population member or to another child: each
        round selects parents for the children still missing and mates them, dropping
        duplicates (pymoo's ``Mating.do`` with duplicate elimination, ``n_max_iterations=100``).
        After ``rounds`` rounds the last round's duplicates fill what is still missing."""
        seen = {self._hash(p["genome"]) for p in self.population}
        children: list[dict] = []
        spare: list[dict] = []
        for _ in range(rounds):
            missing = k - len(children)
            if missing <= 0:
                break
            parents = [ind.record for ind in self._select(inds, missing + missing % 2)]
            spare = []
            for i in range(0, len(parents), 2):
                a, b = parents[i], parents[i + 1]
                for child in self._vary_pair(a["genome"], b["genome"]):
                    record = {"genome": child, "parents": [a["trial_id"], b["trial_id"]]}
                    key = self._hash(child)
                    if key in seen:
                        spare.append(record)
                    else:
                        seen.add(key)
                        children.append(record)
        children = children[:k]
        return children + spare[: k - len(children)]

    # --- the array path ----------------------------------------------------------------------
    def _arrays(self) -> bool:
        """Whether a generation is varied as one matrix: ``config.vectorized``, an all-numeric
        unconditional space whose genes cross by SBX and mutate polynomially or by a Gaussian,
        per-parameter crossover, and duplicates mated again (or kept)."""
        cfg = self.config
        if not getattr(cfg, "vectorized", False) or cfg.crossover != "per_parameter" or self.space.numeric is None:
            return False
        if cfg.avoid_duplicates and getattr(cfg, "duplicates", "mutate_again") != "mate_again":
            return False
        return all(p.crossover == "sbx" and p.mutation in ("polynomial", "gaussian") for p in self.space.parameters)

    def _mate_arrays(self, inds: list, k: int, rounds: int = 100) -> list[dict]:
        """What :meth:`_mate_until_unique` does (or, without duplicate avoidance, one round of
        :meth:`_make_children`), each round's pairs varied at once on arrays by
        :meth:`_vary_arrays`: the same distributions as the per-individual DEAP path, drawn
        from the optimiser's generator in another order."""
        unique = self.config.avoid_duplicates
        seen = {tuple(p["genome"]) for p in self.population} if unique else set()
        children: list[dict] = []
        spare: list[dict] = []
        for _ in range(rounds if unique else 1):
            missing = k - len(children)
            if missing <= 0:
                break
            parents = [ind.record for ind in self._select(inds, missing + missing % 2)]
            spare = []
            for record in self._vary_arrays(parents[0::2], parents[1::2]):
                key = tuple(record["genome"])
                if unique and key in seen:
                    spare.append(record)
                else:
                    seen.add(key)
                    children.append(record)
        children = children[:k]
        return children + spare[: k - len(children)]

    def _vary_arrays(self, first: list[dict], second: list[dict]) -> list[dict]:
        """Children of the pairs ``(first[i], second[i])``, two per pair in pair order, as
        :meth:`_vary_pair` makes them: SBX with probability ``crossover_prob`` per pair, then
        each child mutated with probability ``individual_mutation_prob``, each of its genes
        with probability ``mutation_prob`` by the gene's own mutation."""
        cfg, codec, rng = self.config, self.space.numeric, self.rng
        genomes = [r["genome"] for pair in zip(first, second) for r in pair]  # parent of each child, in order
        before = codec.encode(genomes)
        X1, X2 = sbx_arrays(before[0::2], before[1::2], codec.low, codec.up, rng, eta=cfg.eta_crossover,
                            rows=rng.random(len(first)) < cfg.crossover_prob)
        X = np.empty_like(before)
        X[0::2], X[1::2] = X1, X2
        n, d = X.shape
        p_mutant = getattr(cfg, "individual_mutation_prob", 1.0)
        mutants = np.ones(n, dtype=bool) if p_mutant >= 1.0 else rng.random(n) < p_mutant
        indpb = 1.0 / d if cfg.mutation_prob is None else cfg.mutation_prob
        genes = (rng.random((n, d)) < indpb) & mutants[:, None]
        polynomial = np.array([p.mutation == "polynomial" for p in self.space.parameters])
        X = polynomial_arrays(X, codec.low, codec.up, genes & polynomial, rng, eta=cfg.eta_mutation)
        if not polynomial.all():
            sigma = np.array([p.gaussian_sigma for p in self.space.parameters])
            X = gaussian_arrays(X, sigma, genes & ~polynomial, rng)
        children = codec.decode(X, before, genomes)
        return [{"genome": child, "parents": [a["trial_id"], b["trial_id"]]}
                for (a, b), pair in zip(zip(first, second), zip(children[0::2], children[1::2])) for child in pair]

    # --- hooks -------------------------------------------------------------------------------
    def _select(self, individuals: list, k: int) -> list:
        raise NotImplementedError

    def _survive(self, pool: list[dict]) -> list[dict]:
        raise NotImplementedError

    # --- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(config=self.config.to_dict(), generation=self.generation, population=self.population,
                     queue=self.queue, outstanding=self.outstanding, received=self.received)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        config = dict(state["config"])
        known = {f.name for f in fields(type(self.config))}
        for key, value in _BEFORE_PYMOO_DEFAULTS.items():  # a state saved before these settings resumes as it ran
            if key in known:
                config.setdefault(key, value)
        self.config = type(self.config).from_dict(config)
        self._individual_cache = {}
        self.generation = state["generation"]
        self.population = state["population"]
        self.queue = state["queue"]
        self.outstanding = state["outstanding"]
        self.received = state["received"]


#: What a saved state without these settings ran with: the behaviour before they took
#: pymoo's defaults (every child mutated, crowding ties in order, duplicates mutated again) and
#: before generations were varied on arrays.
_BEFORE_PYMOO_DEFAULTS = {"individual_mutation_prob": 1.0, "survival_tie_break": "order",
                          "duplicates": "mutate_again", "vectorized": False,
                          "parent_crowding": "parents"}


class NSGA2(_Generational):
    """NSGA-II, (mu + lambda) with non-dominated sorting and crowding distance
    (Deb, Pratap, Agarwal & Meyarivan 2002), with configurable initialisation,
    parent selection and per-parameter variation (seed 000)."""

    name = "nsga2"
    config_class = EvolutionConfig

    def __init__(self, space: SearchSpace, n_objectives: int, config: EvolutionConfig | dict | None = None,
                 *, seed: int | None = 0) -> None:
        config = self.config_class.coerce(config)
        if config.reference_point is not None and len(config.reference_point) != n_objectives:
            raise ValueError(f"reference_point has {len(config.reference_point)} values for {n_objectives} objectives")
        for name, idx in (("size_objective", config.size_objective), ("performance_objective", config.performance_objective)):
            if idx is not None and not 0 <= idx < n_objectives:
                raise ValueError(f"{name}={idx} is not an objective index in [0, {n_objectives - 1}]")
        super().__init__(space, n_objectives, config, seed=seed)

    def _select(self, individuals: list, k: int) -> list:
        select = selection.PARENT_SELECTIONS[self.config.parent_selection]
        return select(individuals, k, self.rng, self.config, self.generation)

    def _survive(self, pool: list[dict]) -> list[dict]:
        F = np.array([r["values"] for r in pool], dtype=float)
        rng = self.rng if self.config.survival_tie_break == "random" else None
        k = min(self.config.population_size, len(pool))
        if getattr(self.config, "parent_crowding", "parents") == "parents":
            return [pool[i] for i in sorted(selection.nsga2_survivors(F, k, rng))]
        keep, crowding = selection.nsga2_survival(F, k, rng)
        # stored with the record (the state is strict JSON: a boundary point's infinity as "inf")
        by_index = {int(i): float(c) if np.isfinite(c) else "inf" for i, c in zip(keep, crowding)}
        return [{**pool[i], "crowding": by_index[i]} for i in sorted(by_index)]


_REPLACEMENTS = ("best", "youngest")


@dataclass(frozen=True)
class GAConfig(_Settings):
    """Settings of :class:`GeneticAlgorithm`; defaults are seed 003's (population 5,
    tournament of 3, two-point crossover, per-parameter mutations).

    ``replacement="best"``: the next population is the best of the offspring and the
    ``elitism`` best parents. ``"youngest"``: age-based replacement, regularised
    ("aging") evolution (Real et al. 2019; seed 001's "selection of youngest
    individuals"): the population keeps its ``population_size`` youngest members,
    whatever their fitness, so ``offspring_size`` new ones push out as many of the
    oldest; it keeps no elite (``elitism=0``). ``offspring_size``: children per
    generation (None: ``population_size``)."""

    population_size: int = 5
    tournament_size: int = 3
    crossover: str = "two_point"
    crossover_prob: float = 0.9
    mutation_prob: float | None = 0.5
    elitism: int = 1
    init: str = "random"
    replacement: str = "best"
    offspring_size: int | None = None

    def __post_init__(self) -> None:
        self._check_common()
        ok = isinstance(self.elitism, numbers.Integral) and not isinstance(self.elitism, bool)
        _check(ok and 0 <= self.elitism < self.population_size,
               f"elitism must be an integer in [0, population_size), {_got(self.elitism, ok)}")
        self._check_replacement()

    def _check_replacement(self) -> None:
        _check_choice("replacement", self.replacement, _REPLACEMENTS)
        _check_int("offspring_size", self.offspring_size, 1, none=" (= population_size)")
        if self.replacement == "youngest":
            _check(self.elitism == 0, "elitism must be 0 with replacement='youngest' (age-based replacement keeps "
                                      f"no elite, Real et al. 2019), got {self.elitism}; pass elitism=0")
            _check(self.lam <= self.population_size, f"offspring_size must be <= population_size "
                                                      f"({self.population_size}) with replacement='youngest', "
                                                      f"got {self.offspring_size}")
        else:
            low = self.population_size - self.elitism
            _check(self.lam >= low, f"offspring_size must be >= population_size - elitism ({low}) with "
                                    f"replacement='best', got {self.offspring_size}; or use replacement='youngest'")

    avoid_duplicates = False  # seed 003 keeps duplicates

    @property
    def lam(self) -> int:
        """Offspring per generation: by default a whole new population."""
        return int(self.offspring_size or self.population_size)


class GeneticAlgorithm(_Generational):
    """Seed 003's single-objective GA: tournament selection, two-point crossover,
    per-parameter mutation (Unif(-2,2) layers, Unif(-16,16) neurons, tree-distance
    activation, N(0,0.15) dropout). Generational: the next population is the best
    ``population_size`` of the offspring and the ``elitism`` best parents, or, with
    ``replacement="youngest"``, the youngest members (regularised evolution)."""

    name = "ga"
    config_class = GAConfig

    def __init__(self, space: SearchSpace, n_objectives: int = 1, config: GAConfig | dict | None = None,
                 *, seed: int | None = 0) -> None:
        if n_objectives != 1:
            raise ValueError(f"the genetic algorithm is single-objective, got {n_objectives} objectives; use NSGA2")
        config = self.config_class.coerce(config)
        super().__init__(space, n_objectives, config, seed=seed)

    def _select(self, individuals: list, k: int) -> list:
        return selection.sel_tournament(individuals, k, self.rng, tournsize=self.config.tournament_size)

    def _end_generation(self) -> None:
        if self.generation > 0 and self.config.replacement == "best":  # the offspring replace all but the elite
            by_value = sorted(self.population, key=lambda r: r["values"][0])
            self.population = by_value[: self.config.elitism]
        super()._end_generation()

    def _survive(self, pool: list[dict]) -> list[dict]:
        if self.config.replacement == "youngest":  # age = trial id: the study numbers trials as it asks them
            return selection.sel_youngest(pool, min(self.config.population_size, len(pool)),
                                          births=[r["trial_id"] for r in pool])
        ranked = sorted(range(len(pool)), key=lambda i: (pool[i]["values"][0], i))
        return [pool[i] for i in sorted(ranked[: self.config.population_size])]


_ISLAND_KINDS: dict[str, type[_Generational]] = {"nsga2": NSGA2, "ga": GeneticAlgorithm}


class IslandModel(Optimizer):
    """Seed 003's island model: ``islands`` populations (``inner``: ``"nsga2"`` or ``"ga"``,
    each with the settings ``config``) evolve apart; after every ``migrate_every``-th
    completed generation (the initial population counts as the first) each island sends
    copies of its best ``migrants`` individuals to the next along a ring (island i to
    i + 1, the last to the first), where they replace the receiver's worst ("best" and
    "worst": by value for one objective, by NSGA-II's rank and crowding for several). An
    immigrant already on the receiving island is not sent again.

    One generation of the archipelago, every island's generation, is one batch
    (:attr:`generation_size` is the sum of the islands' offspring), so a parallel
    evaluator runs all islands' trials together. ``Suggestion.generation`` is the
    generation (the islands move in step); the island of each trial is kept in the state
    (:meth:`island_of`), and each migration in :attr:`migrations`. Results are routed to
    their island by genome, in trial-id order, so the order of ``tell`` does not matter.
    """

    name = "islands"

    def __init__(self, space: SearchSpace, n_objectives: int, *, islands: int = 4, inner: str = "nsga2",
                 config: Any = None, migrate_every: int = 5, migrants: int = 1, seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        _check_int("islands", islands, 2)
        _check_choice("inner", inner, tuple(_ISLAND_KINDS))
        _check_int("migrate_every", migrate_every, 1)
        _check_int("migrants", migrants, 1)
        seeds = self.rng.integers(2**63, size=islands)
        self.islands = [_ISLAND_KINDS[inner](space, n_objectives, config, seed=int(s)) for s in seeds]
        size = self.islands[0].config.population_size
        _check(migrants <= size, f"migrants must be <= the islands' population_size ({size}), got {migrants}")
        self.settings = {"islands": int(islands), "inner": inner, "migrate_every": int(migrate_every),
                         "migrants": int(migrants)}
        self.generation = 0
        self.queue: list[dict] = []        # {"island", "genome", "generation", "parents"} not yet asked
        self.outstanding: list[dict] = []  # {"island", "genome"} asked, not yet told
        self.members: dict[int, int] = {}  # trial id -> island
        self.migrations: list[dict] = []   # {"generation", "from", "to", "trial_ids"}

    @property
    def generation_size(self) -> int:
        return sum(island.generation_size for island in self.islands)

    @property
    def population(self) -> list[dict]:
        """Every island's population, island by island, a migrant once (where it was first)."""
        seen: set[int] = set()
        out = []
        for island in self.islands:
            out += [r for r in island.population if r["trial_id"] not in seen]
            seen.update(r["trial_id"] for r in island.population)
        return out

    def island_of(self, trial_id: int) -> int:
        """The island whose population the trial was made for."""
        return self.members[trial_id]

    # --- ask / tell ---------------------------------------------------------------------------
    def ask(self, n: int) -> list[Suggestion]:
        if not self.queue and not self.outstanding:
            for i, island in enumerate(self.islands):  # each island's whole generation
                everything = island.config.population_size + island.config.lam
                self.queue += [{"island": i, "genome": list(s.genome), "generation": s.generation,
                                "parents": list(s.parents)} for s in island.ask(everything)]
        batch, self.queue = self.queue[:n], self.queue[n:]
        self.outstanding += [{"island": b["island"], "genome": b["genome"]} for b in batch]
        return [Suggestion(list(b["genome"]), b["generation"], tuple(b["parents"])) for b in batch]

    def tell(self, observations: Sequence[Observation]) -> None:
        outstanding, routed = list(self.outstanding), {}
        for obs in sorted(observations, key=lambda o: o.trial_id):
            match = next((j for j, o in enumerate(outstanding) if o["genome"] == list(obs.genome)), None)
            if match is None:
                raise ValueError(f"tell() got trial {obs.trial_id}, whose genome is not among the "
                                 f"{len(outstanding)} outstanding suggestions; tell each result of ask() exactly once")
            routed.setdefault(outstanding.pop(match)["island"], []).append(obs)
        self.outstanding = outstanding
        for i in sorted(routed):
            self.members.update((o.trial_id, i) for o in routed[i])
            self.islands[i].tell(routed[i])
        if not self.queue and not self.outstanding:
            self.generation += 1
            if self.generation % self.settings["migrate_every"] == 0:
                self._migrate()

    # --- migration ----------------------------------------------------------------------------
    def _ranked(self, records: list[dict], k: int) -> list[int]:
        """Indices of the best ``k`` of ``records``, best first."""
        F = np.array([r["values"] for r in records], dtype=float).reshape(len(records), self.n_objectives)
        if self.n_objectives == 1:
            return [int(i) for i in np.argsort(F[:, 0], kind="stable")[:k]]
        return [int(i) for i in selection.nsga2_survivors(F, k)]

    def _migrate(self) -> None:
        m = self.settings["migrants"]
        leaving = [[dict(island.population[i]) for i in self._ranked(island.population, min(m, len(island.population)))]
                   for island in self.islands]  # all chosen before any arrives: the ring moves at once
        for i, emigrants in enumerate(leaving):
            j = (i + 1) % len(self.islands)
            arrived = self._receive(self.islands[j], emigrants)
            self.migrations.append({"generation": self.generation, "from": i, "to": j, "trial_ids": arrived})

    def _receive(self, island: _Generational, immigrants: list[dict]) -> list[int]:
        """Put ``immigrants`` in place of the island's worst; returns the trial ids that arrived."""
        present = {r["trial_id"] for r in island.population}
        # an immigrant's survival crowding was its home island's; without it the island's next
        # tournament recomputes every parent's (selection.survival_crowding: all or none)
        new = [{k: v for k, v in r.items() if k != "crowding"} for r in immigrants if r["trial_id"] not in present]
        room = island.config.population_size - len(island.population)
        keep = len(island.population) - max(0, len(new) - room)
        kept = sorted(self._ranked(island.population, keep))
        island.population = [island.population[i] for i in kept] + new
        return [r["trial_id"] for r in new]

    # --- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "settings": dict(self.settings), "generation": self.generation,
                "islands": [island.state_dict() for island in self.islands], "queue": self.queue,
                "outstanding": self.outstanding, "members": sorted(self.members.items()),
                "migrations": self.migrations}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.settings = dict(state["settings"])
        kind = _ISLAND_KINDS[self.settings["inner"]]
        self.islands = []
        for island_state in state["islands"]:
            island = kind(self.space, self.n_objectives, island_state["config"], seed=0)
            island.load_state_dict(island_state)
            self.islands.append(island)
        self.generation = state["generation"]
        self.queue, self.outstanding = state["queue"], state["outstanding"]
        self.members = {int(t): int(i) for t, i in state["members"]}
        self.migrations = state["migrations"]

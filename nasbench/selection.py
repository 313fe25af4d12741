"""Parent selection and survival, with DEAP's signatures and an explicit RNG.

Individuals carry a DEAP fitness whose ``values`` are minimised objectives
(nasbench converts maximised ones at the boundary, :mod:`nasbench.hypervolume`).
Every function takes ``(individuals, k, ...)`` and returns a list of ``k``
individuals, as DEAP's ``sel*`` functions do. Work on the objective matrix is
vectorised with numpy; non-dominated sorting is moocore's C implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import moocore
import numpy as np
from deap import tools

from ._deap import deap_random
from .hypervolume import box_volumes, hypervolume_contributions

__all__ = [
    "objective_matrix",
    "pareto_ranks",
    "crowding_distance",
    "nsga2_survivors",
    "nsga2_survival",
    "survival_crowding",
    "sel_nsga2",
    "sel_crowded_tournament",
    "sel_size_tournament",
    "sel_hypervolume_proportional",
    "sel_alternating",
    "sel_tournament",
    "sel_tournament_pressure",
    "sel_fitness_proportional",
    "sel_random",
    "sel_youngest",
    "ParentSelection",
    "PARENT_SELECTIONS",
]


def objective_matrix(individuals: Sequence) -> np.ndarray:
    """(n, m) array of the individuals' minimised objective values."""
    if not individuals:
        return np.empty((0, 0))
    # wvalues is a plain tuple attribute; DEAP's ``values`` property divides on every access
    weights = np.asarray(individuals[0].fitness.weights, dtype=float)
    return np.array([ind.fitness.wvalues for ind in individuals], dtype=float) / weights


def pareto_ranks(F: np.ndarray) -> np.ndarray:
    """Non-domination rank of each row, 0 for the first front (Deb et al. 2002).

    moocore's C code: O(n log n) in 2-D (Jensen 2003), front peeling above.
    """
    F = np.asarray(F, dtype=float)
    if len(F) == 0:
        return np.empty(0, dtype=int)
    if F.shape[1] == 1:
        return np.unique(F[:, 0], return_inverse=True)[1].astype(int)
    return np.asarray(moocore.pareto_rank(F), dtype=int)


def crowding_distance(F: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row within its set (Deb et al. 2002).

    Normalised as DEAP's ``assignCrowdingDist`` does (range times the number of
    objectives) and with its tie order (a stable sort by each objective), so the
    two give the same values.
    """
    F = np.asarray(F, dtype=float)
    n, m = F.shape
    dist = np.zeros(n)
    if n == 0:
        return dist
    for j in range(m):
        order = np.argsort(F[:, j], kind="stable")
        col = F[order, j]
        dist[order[0]] = dist[order[-1]] = np.inf
        span = col[-1] - col[0]
        if n < 3 or span == 0:
            continue
        dist[order[1:-1]] += (col[2:] - col[:-2]) / (m * span)
    return dist


def nsga2_survivors(F: np.ndarray, k: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of the ``k`` NSGA-II survivors: whole fronts, then the last front by
    descending crowding distance. Ties in crowding keep input order (as DEAP's sort
    does) without ``rng``; with it they are broken at random, as pymoo's
    ``RankAndCrowding`` does (``randomized_argsort``), so that no region of a front is
    favoured by the order in which its points were evaluated."""
    return _survival(F, k, rng, whole_fronts=False)[0]


def nsga2_survival(F: np.ndarray, k: int,
                   rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The survivors of :func:`nsga2_survivors` (the same indices, the same draws from
    ``rng``) and the crowding distance each one carries into parent selection, assigned
    as in Deb et al. (2002) and pymoo's ``RankAndCrowding`` (its stored ``crowding``):
    within the survivor's front of the whole pool, the cut front's before the cut."""
    return _survival(F, k, rng, whole_fronts=True)


def _survival(F: np.ndarray, k: int, rng: np.random.Generator | None,
              whole_fronts: bool) -> tuple[np.ndarray, np.ndarray]:
    F = np.asarray(F, dtype=float)
    if not 0 <= k <= len(F):
        raise ValueError(f"k must be in [0, {len(F)}], got {k}")
    ranks = pareto_ranks(F)
    order = np.argsort(ranks, kind="stable")
    counts = np.bincount(ranks)
    full = np.searchsorted(np.cumsum(counts), k, side="right")  # fronts that fit whole
    taken = int(counts[:full].sum())
    chosen = order[:taken]
    crowding = np.zeros(len(F))
    for r in range(full if whole_fronts else 0):
        members = np.flatnonzero(ranks == r)
        crowding[members] = crowding_distance(F[members])
    if taken < k:
        last = order[taken:taken + counts[full]]
        crowd = crowding[last] = crowding_distance(F[last])
        by = np.argsort(-crowd, kind="stable") if rng is None else np.lexsort((rng.random(len(last)), -crowd))
        chosen = np.concatenate([chosen, last[by[:k - taken]]])
    return chosen, crowding[chosen]


def sel_nsga2(individuals: Sequence, k: int) -> list:
    """NSGA-II survival (mu + lambda): the same survivors as ``deap.tools.selNSGA2``,
    except among individuals tied in front and crowding distance at the cut, where
    nasbench keeps input order and DEAP its sort's internal order."""
    return [individuals[i] for i in nsga2_survivors(objective_matrix(individuals), k)]


def _rank_and_crowding(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ranks = pareto_ranks(F)
    crowd = np.zeros(len(F))
    for r in np.unique(ranks):
        members = np.flatnonzero(ranks == r)
        crowd[members] = crowding_distance(F[members])
    return ranks, crowd


def _permutation_groups(n: int, k: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` groups of ``size`` indices cut from back-to-back permutations of ``range(n)``,
    so every individual enters about equally many tournaments (as pymoo draws them)."""
    need = k * size
    perms = [rng.permutation(n) for _ in range(-(-need // n))]
    return np.concatenate(perms)[:need].reshape(k, size)


def survival_crowding(individuals: Sequence) -> np.ndarray | None:
    """The crowding distances survival gave the individuals, ``fitness.crowding_dist`` (the
    attribute DEAP's ``selNSGA2`` sets and its ``selTournamentDCD`` reads); None unless
    every individual has one."""
    crowding = [getattr(ind.fitness, "crowding_dist", None) for ind in individuals]
    if not crowding or any(c is None for c in crowding):
        return None
    return np.asarray(crowding, dtype=float)


def sel_crowded_tournament(individuals: Sequence, k: int, rng: np.random.Generator, *,
                           tournsize: int = 2, crowding: Sequence[float] | None = None) -> list:
    """NSGA-II's parent selection (Deb et al. 2002). Binary: the dominating one wins,
    else the larger crowding distance, else a coin flip (pymoo's rule). Larger groups:
    the lowest front wins, then the larger crowding distance.

    ``crowding``: each individual's crowding distance as survival assigned it
    (:func:`nsga2_survival`), which Deb et al. (2002) and pymoo's ``NSGA2`` compare; None
    computes it within the individuals' own fronts."""
    F = objective_matrix(individuals)
    if crowding is None:
        ranks, crowd = _rank_and_crowding(F)
    else:
        ranks, crowd = pareto_ranks(F), np.asarray(crowding, dtype=float)
        if crowd.shape != (len(individuals),):
            raise ValueError(f"crowding has {crowd.size} values for {len(individuals)} individuals; give one each")
    groups = _permutation_groups(len(individuals), k, tournsize, rng)
    if tournsize == 2:
        a, b = groups[:, 0], groups[:, 1]
        a_dom = np.all(F[a] <= F[b], axis=1) & np.any(F[a] < F[b], axis=1)
        b_dom = np.all(F[b] <= F[a], axis=1) & np.any(F[b] < F[a], axis=1)
        by_crowd = np.where(crowd[a] > crowd[b], a, np.where(crowd[b] > crowd[a], b, np.where(rng.random(k) < 0.5, a, b)))
        winners = np.where(a_dom, a, np.where(b_dom, b, by_crowd))
    else:
        key = np.lexsort((-crowd[groups], ranks[groups]), axis=1)[:, 0]
        winners = groups[np.arange(k), key]
    return [individuals[i] for i in winners]


def _size_weights(sizes: np.ndarray, weighting: str) -> np.ndarray:
    if weighting == "rank":
        # seed 000 author's code: weights by size in reverse order, smallest heaviest
        order = np.argsort(np.argsort(sizes, kind="stable"), kind="stable")
        w = (len(sizes) - order).astype(float)
    elif weighting == "inverse":
        w = 1.0 / np.maximum(sizes, np.finfo(float).tiny)
    else:
        raise ValueError(f"weighting must be 'rank' or 'inverse', got {weighting!r}")
    return w / w.sum()


def sel_size_tournament(individuals: Sequence, k: int, rng: np.random.Generator, *,
                        tournsize: int = 3, size_objective: int = 1, performance_objective: int = 0,
                        weighting: str = "rank") -> list:
    """Seed 000's tournament: the group is drawn favouring small models, the best
    performer of the group wins.

    ``weighting="rank"`` weights by size in reverse order (the seed author's code),
    ``"inverse"`` proportional to 1/size. Sizes are minimised objective values.
    """
    F = objective_matrix(individuals)
    n = len(individuals)
    p = _size_weights(F[:, size_objective], weighting)
    group_size = min(tournsize, n)
    chosen = []
    for _ in range(k):
        group = rng.choice(n, size=group_size, replace=False, p=p)
        best = group[np.lexsort((F[group, size_objective], F[group, performance_objective]))[0]]
        chosen.append(individuals[best])
    return chosen


def sel_hypervolume_proportional(individuals: Sequence, k: int, rng: np.random.Generator, *,
                                 reference_point: Sequence[float], contribution: bool = False) -> list:
    """Seed 000's selection with probability proportional to hypervolume.

    By default each individual's weight is the volume of the box its own point
    dominates up to the reference point (the seed author's choice);
    ``contribution=True`` uses the exclusive hypervolume contribution instead.
    When every weight is zero (nothing inside the reference box) the draw is uniform.
    """
    F = objective_matrix(individuals)
    w = hypervolume_contributions(F, reference_point) if contribution else box_volumes(F, reference_point)
    total = w.sum()
    p = w / total if total > 0 else None
    return [individuals[i] for i in rng.choice(len(individuals), size=k, replace=True, p=p)]


def sel_alternating(individuals: Sequence, k: int, rng: np.random.Generator, *, generation: int,
                    reference_point: Sequence[float], every: int = 3, tournsize: int = 3,
                    size_objective: int = 1, performance_objective: int = 0,
                    weighting: str = "rank", contribution: bool = False) -> list:
    """Seed 000's schedule: the size tournament every ``every``-th generation,
    hypervolume-proportional selection otherwise."""
    if every < 1:
        raise ValueError(f"every must be an integer >= 1, got {every!r}")
    if generation % every == 0:
        return sel_size_tournament(individuals, k, rng, tournsize=tournsize, size_objective=size_objective,
                                   performance_objective=performance_objective, weighting=weighting)
    return sel_hypervolume_proportional(individuals, k, rng, reference_point=reference_point,
                                        contribution=contribution)


def sel_tournament(individuals: Sequence, k: int, rng: np.random.Generator, *, tournsize: int = 3) -> list:
    """DEAP's ``selTournament`` (seed 003: size 3); compares fitnesses lexicographically."""
    with deap_random(rng):
        return tools.selTournament(individuals, k, tournsize=tournsize)


def _order(F: np.ndarray) -> np.ndarray:
    """Position of each individual in a best-first order: by value for one objective,
    by (rank, larger crowding) for several."""
    if F.shape[1] == 1:
        keys = np.argsort(F[:, 0], kind="stable")
    else:
        ranks, crowd = _rank_and_crowding(F)
        keys = np.lexsort((-crowd, ranks))
    pos = np.empty(len(F), dtype=int)
    pos[keys] = np.arange(len(F))
    return pos


def sel_tournament_pressure(individuals: Sequence, k: int, rng: np.random.Generator, *,
                            tournsize: int = 3, p: float = 0.75) -> list:
    """Tournament with selection pressure ``p`` (seed 001): the i-th best of the group
    wins with probability p(1-p)^i, the last takes the remainder."""
    if not 0 < p <= 1:
        raise ValueError(f"selection pressure p must be in (0, 1], got {p}")
    pos = _order(objective_matrix(individuals))
    size = min(tournsize, len(individuals))
    law = p * (1 - p) ** np.arange(size)
    law[-1] = 1 - law[:-1].sum()
    chosen = []
    for _ in range(k):
        group = rng.choice(len(individuals), size=size, replace=False)
        ranked = group[np.argsort(pos[group])]
        chosen.append(individuals[ranked[rng.choice(size, p=law)]])
    return chosen


def sel_fitness_proportional(individuals: Sequence, k: int, rng: np.random.Generator, *,
                             objective: int = 0) -> list:
    """Roulette wheel (seed 001: p_i = f_i / sum f_j) for a minimised objective, with
    fitness f_i = worst - value_i (windowing); equal values give a uniform draw."""
    values = objective_matrix(individuals)[:, objective]
    f = values.max() - values
    p = f / f.sum() if f.sum() > 0 else None
    return [individuals[i] for i in rng.choice(len(individuals), size=k, replace=True, p=p)]


def sel_random(individuals: Sequence, k: int, rng: np.random.Generator) -> list:
    """``k`` individuals drawn uniformly with replacement (no selection pressure)."""
    return [individuals[i] for i in rng.integers(len(individuals), size=k)]


def sel_youngest(individuals: Sequence, k: int, births: Sequence[float] | None = None) -> list:
    """The ``k`` youngest individuals, whatever their fitness: the survivor selection of
    regularised ("aging") evolution (Real et al. 2019; seed 001's "selection of youngest
    individuals"). ``births``: each one's birth order (larger is younger; the study's trial
    ids do), by default the input order; equal births: the later one is younger. Returned
    oldest first."""
    n = len(individuals)
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, {n}], got {k}")
    if births is None:
        births = range(n)
    elif len(births) != n:
        raise ValueError(f"births has {len(births)} entries for {n} individuals; give one per individual")
    order = np.lexsort((np.arange(n), np.asarray(births, dtype=float)))  # oldest first
    return [individuals[i] for i in order[n - k:]]


# --- the registry of parent selections, as EvolutionConfig names them -----------------------------

@dataclass(frozen=True)
class ParentSelection:
    """A parent selection behind one signature, ``(individuals, k, rng, config, generation)``,
    reading its settings from ``config`` (an :class:`~nasbench.optimizers.EvolutionConfig`);
    ``needs`` names the settings that must not be None."""

    select: Callable[[Sequence, int, np.random.Generator, Any, int], list]
    needs: tuple[str, ...] = ()

    def __call__(self, individuals: Sequence, k: int, rng: np.random.Generator, config: Any,
                 generation: int) -> list:
        return self.select(individuals, k, rng, config, generation)


def _size_settings(c: Any) -> dict:
    return dict(tournsize=c.tournament_size, size_objective=c.size_objective,
                performance_objective=c.performance_objective, weighting=c.size_weighting)


def _hypervolume_settings(c: Any) -> dict:
    return dict(reference_point=c.reference_point, contribution=c.hypervolume_contribution)


#: Parent selections by name: adding one here is all :class:`~nasbench.optimizers.NSGA2` needs.
PARENT_SELECTIONS: dict[str, ParentSelection] = {
    "crowded_tournament": ParentSelection(
        lambda inds, k, rng, c, gen: sel_crowded_tournament(inds, k, rng, tournsize=c.tournament_size,
                                                            crowding=survival_crowding(inds))),
    "size_tournament": ParentSelection(
        lambda inds, k, rng, c, gen: sel_size_tournament(inds, k, rng, **_size_settings(c)),
        needs=("size_objective",)),
    "hypervolume": ParentSelection(
        lambda inds, k, rng, c, gen: sel_hypervolume_proportional(inds, k, rng, **_hypervolume_settings(c)),
        needs=("reference_point",)),
    "alternating": ParentSelection(
        lambda inds, k, rng, c, gen: sel_alternating(inds, k, rng, generation=gen, every=c.alternate_every,
                                                     **_size_settings(c), **_hypervolume_settings(c)),
        needs=("size_objective", "reference_point")),
    "tournament": ParentSelection(
        lambda inds, k, rng, c, gen: sel_tournament(inds, k, rng, tournsize=c.tournament_size)),
    "tournament_pressure": ParentSelection(
        lambda inds, k, rng, c, gen: sel_tournament_pressure(inds, k, rng, tournsize=c.tournament_size,
                                                             p=c.selection_pressure)),
    "fitness_proportional": ParentSelection(
        lambda inds, k, rng, c, gen: sel_fitness_proportional(inds, k, rng, objective=c.performance_objective)),
    "random": ParentSelection(lambda inds, k, rng, c, gen: sel_random(inds, k, rng)),
}

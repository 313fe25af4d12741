"""Variation operators with DEAP's signatures and an explicit RNG.

Crossovers take two individuals and return them as a pair, mutations take one
and return a one-item tuple; both modify in place, as DEAP's do. Individuals
are genomes (lists of typed values in space order, see :mod:`nasbench.space`).
Numeric operators act on the parameters' continuous encodings and decode back,
so an integer gene stays an integer, a categorical stays one of its choices and
bounds always hold.

Where DEAP has the operator (``cxSimulatedBinaryBounded``, ``cxTwoPoint``,
``cxUniform``, ``mutGaussian``, ``mutPolynomialBounded``, ``mutFlipBit``) it is
called inside :func:`nasbench._deap.deap_random`; the rest (Gaussian
recombination, prior resampling, seed 003's integer perturbation and
tree-distance mutation) DEAP lacks and are written here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Sequence

import numpy as np
from deap import base, tools

from ._deap import deap_random
from .space import Categorical, ChoiceTree, Integer, SearchSpace

__all__ = [
    "cx_sbx",
    "cx_gaussian",
    "resample_uniform_pair",
    "resample_prior_pair",
    "cx_swap",
    "cx_two_point",
    "mut_perturb",
    "mut_gaussian",
    "mut_polynomial",
    "mut_uniform_resample",
    "mut_prior_resample",
    "mut_flip",
    "mut_tree_categorical",
    "tree_mutation_probabilities",
    "crossover_by_parameter",
    "mutate_by_parameter",
    "make_toolbox",
]


def _indices(space: SearchSpace, indices: Sequence[int] | None) -> list[int]:
    return list(range(len(space))) if indices is None else list(indices)


def _encode(ind: Sequence[Any], space: SearchSpace, idx: list[int]) -> list[float]:
    return [space.parameters[i].encode(ind[i]) for i in idx]


def _decode_into(ind: list, space: SearchSpace, idx: list[int], xs: Sequence[float],
                 before: Sequence[float]) -> None:
    """Write back the genes the operator changed (an untouched log-scaled gene would
    otherwise pick up exp(log(x)) round-off)."""
    for i, x, x0 in zip(idx, xs, before):
        if x != x0:
            ind[i] = space.parameters[i].decode(x)


def _bounds(space: SearchSpace, idx: list[int]) -> tuple[list[float], list[float]]:
    lows, highs = zip(*(space.parameters[i].encoded_bounds for i in idx)) if idx else ((), ())
    return list(lows), list(highs)


# --- crossover ---------------------------------------------------------------------------
def cx_sbx(ind1: list, ind2: list, space: SearchSpace, rng: np.random.Generator, *,
           eta: float = 15.0, indices: Sequence[int] | None = None) -> tuple[list, list]:
    """Simulated binary crossover, bounded (Deb & Agrawal 1995; Deb et al. 2002).

    DEAP's ``cxSimulatedBinaryBounded`` on the encoded genes: each gene crosses
    with probability 0.5, children spread around the parents with index ``eta``.
    """
    idx = _indices(space, indices)
    if not idx:
        return ind1, ind2
    x1, x2 = _encode(ind1, space, idx), _encode(ind2, space, idx)
    before1, before2 = list(x1), list(x2)
    low, up = _bounds(space, idx)
    with deap_random(rng):
        tools.cxSimulatedBinaryBounded(x1, x2, eta, low, up)
    _decode_into(ind1, space, idx, x1, before1)
    _decode_into(ind2, space, idx, x2, before2)
    return ind1, ind2


def cx_gaussian(ind1: list, ind2: list, space: SearchSpace, rng: np.random.Generator, *,
                indices: Sequence[int] | None = None) -> tuple[list, list]:
    """Gaussian recombination: each child gene ~ N(mean of parents, |difference| / 2),
    on the encoded scale (seed 000 uses it for numbers of filters)."""
    idx = _indices(space, indices)
    for i in idx:
        p = space.parameters[i]
        a, b = p.encode(ind1[i]), p.encode(ind2[i])
        mean, sd = (a + b) / 2, abs(a - b) / 2
        ind1[i], ind2[i] = (p.decode(x) for x in rng.normal(mean, sd, size=2))
    return ind1, ind2


def _resample(ind: list, space: SearchSpace, rng: np.random.Generator, idx: Sequence[int], prior: bool) -> None:
    for i in idx:
        p = space.parameters[i]
        ind[i] = p.sample_prior(rng) if prior else p.sample_uniform(rng)


def resample_uniform_pair(ind1: list, ind2: list, space: SearchSpace, rng: np.random.Generator, *,
                          indices: Sequence[int] | None = None) -> tuple[list, list]:
    """Both children's genes drawn afresh, uniformly from each parameter's domain,
    whatever the parents held (seed 000's "uniform sampling"; crossover ``"uniform"``).
    Not a recombination: it has a crossover's signature so that it can stand in one's slot."""
    for i in _indices(space, indices):
        _resample(ind1, space, rng, [i], prior=False)
        _resample(ind2, space, rng, [i], prior=False)
    return ind1, ind2


def resample_prior_pair(ind1: list, ind2: list, space: SearchSpace, rng: np.random.Generator, *,
                        indices: Sequence[int] | None = None) -> tuple[list, list]:
    """Both children's genes drawn afresh from each parameter's prior, whatever the
    parents held (seed 000's "prior sampling"; crossover ``"prior"``)."""
    for i in _indices(space, indices):
        _resample(ind1, space, rng, [i], prior=True)
        _resample(ind2, space, rng, [i], prior=True)
    return ind1, ind2


def cx_swap(ind1: list, ind2: list, space: SearchSpace, rng: np.random.Generator, *,
            indpb: float = 0.5, indices: Sequence[int] | None = None) -> tuple[list, list]:
    """Uniform crossover: each gene swapped with probability ``indpb`` (DEAP ``cxUniform``)."""
    idx = _indices(space, indices)
    a, b = [ind1[i] for i in idx], [ind2[i] for i in idx]
    with deap_random(rng):
        tools.cxUniform(a, b, indpb)
    for i, u, v in zip(idx, a, b):
        ind1[i], ind2[i] = u, v
    return ind1, ind2


def cx_two_point(ind1: list, ind2: list, rng: np.random.Generator) -> tuple[list, list]:
    """Two-point crossover (seed 003), DEAP's ``cxTwoPoint``; genes move whole, so types hold."""
    if len(ind1) < 2:
        return ind1, ind2
    with deap_random(rng):
        tools.cxTwoPoint(ind1, ind2)
    return ind1, ind2


_CROSSOVER = {
    "sbx": cx_sbx,
    "gaussian": cx_gaussian,
    "uniform": resample_uniform_pair,  # the names stored spaces use
    "prior": resample_prior_pair,
    "swap": cx_swap,
}


def crossover_by_parameter(ind1: list, ind2: list, space: SearchSpace, rng: np.random.Generator, *,
                           eta: float = 15.0) -> tuple[list, list]:
    """Each parameter crossed by its own operator (``Parameter.crossover``), as seed 000 does."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(space.parameters):
        groups[p.crossover].append(i)
    for name in sorted(groups):  # a fixed order keeps the RNG stream reproducible
        kwargs = {"eta": eta} if name == "sbx" else {}
        _CROSSOVER[name](ind1, ind2, space, rng, indices=groups[name], **kwargs)
    return ind1, ind2


# --- mutation ----------------------------------------------------------------------------
def _chosen(rng: np.random.Generator, idx: list[int], indpb: float) -> list[int]:
    return [i for i, u in zip(idx, rng.random(len(idx))) if u < indpb]


def mut_perturb(ind: list, space: SearchSpace, rng: np.random.Generator, *,
                indpb: float = 1.0, indices: Sequence[int] | None = None) -> tuple[list]:
    """Uniform perturbation: an integer moves by Unif{-w..w} (seed 003: w=2 layers,
    w=16 neurons), any other gene by Unif(-w, w) on its encoding; clipped to the
    bounds. w is the parameter's ``perturb_width``."""
    for i in _chosen(rng, _indices(space, indices), indpb):
        p = space.parameters[i]
        w = p.perturb_width
        if isinstance(p, Integer):
            ind[i] = int(min(max(ind[i] + int(rng.integers(-w, w + 1)), p.low), p.high))
        else:
            ind[i] = p.decode(p.encode(ind[i]) + rng.uniform(-w, w))
    return (ind,)


def mut_gaussian(ind: list, space: SearchSpace, rng: np.random.Generator, *,
                 indpb: float = 1.0, indices: Sequence[int] | None = None) -> tuple[list]:
    """Gaussian mutation, DEAP's ``mutGaussian`` on the encoded genes; sigma is the
    parameter's ``gaussian_sigma`` (seed 003: N(0, 0.15) on dropout; else a tenth of its range)."""
    idx = _indices(space, indices)
    if not idx:
        return (ind,)
    xs = _encode(ind, space, idx)
    before = list(xs)
    sigma = [space.parameters[i].gaussian_sigma for i in idx]
    with deap_random(rng):
        tools.mutGaussian(xs, 0.0, sigma, indpb)
    _decode_into(ind, space, idx, xs, before)
    return (ind,)


def mut_polynomial(ind: list, space: SearchSpace, rng: np.random.Generator, *,
                   eta: float = 20.0, indpb: float = 1.0, indices: Sequence[int] | None = None) -> tuple[list]:
    """Polynomial mutation, bounded (Deb & Goyal 1996), DEAP's ``mutPolynomialBounded``."""
    idx = _indices(space, indices)
    if not idx:
        return (ind,)
    xs = _encode(ind, space, idx)
    before = list(xs)
    low, up = _bounds(space, idx)
    with deap_random(rng):
        tools.mutPolynomialBounded(xs, eta, low, up, indpb)
    _decode_into(ind, space, idx, xs, before)
    return (ind,)


def mut_uniform_resample(ind: list, space: SearchSpace, rng: np.random.Generator, *,
                         indpb: float = 1.0, indices: Sequence[int] | None = None) -> tuple[list]:
    """Genes redrawn uniformly from their domain."""
    _resample(ind, space, rng, _chosen(rng, _indices(space, indices), indpb), prior=False)
    return (ind,)


def mut_prior_resample(ind: list, space: SearchSpace, rng: np.random.Generator, *,
                       indpb: float = 1.0, indices: Sequence[int] | None = None) -> tuple[list]:
    """Genes redrawn from their priors."""
    _resample(ind, space, rng, _chosen(rng, _indices(space, indices), indpb), prior=True)
    return (ind,)


def mut_flip(ind: list, space: SearchSpace, rng: np.random.Generator, *,
             indpb: float = 1.0, indices: Sequence[int] | None = None) -> tuple[list]:
    """Boolean genes flipped with probability ``indpb`` (DEAP's ``mutFlipBit``)."""
    idx = _indices(space, indices)
    bits = [ind[i] for i in idx]
    with deap_random(rng):
        tools.mutFlipBit(bits, indpb)
    for i, b in zip(idx, bits):
        ind[i] = bool(b)
    return (ind,)


def tree_mutation_probabilities(tree: ChoiceTree, current: Any, base: float = 2.0) -> dict[str, float]:
    """Seed 003's categorical mutation law: p_b(l1, l) ∝ 2^(-d_b(l1, l)), d_b = log_b(hops).

    The current leaf is excluded (hops = 0 has no distance): a mutation moves.
    A larger base flattens the law, i.e. explores more.
    """
    if base <= 1:
        raise ValueError(f"tree mutation base must be > 1, got {base}")
    current = str(current)
    others = [leaf for leaf in tree.leaves() if leaf != current]
    weights = np.array([2.0 ** (-math.log(tree.hops(current, leaf), base)) for leaf in others])
    return dict(zip(others, weights / weights.sum()))


def mut_tree_categorical(ind: list, space: SearchSpace, rng: np.random.Generator, *,
                         base: float | None = None, indpb: float = 1.0,
                         indices: Sequence[int] | None = None) -> tuple[list]:
    """Categorical mutation by tree distance (seed 003). ``base`` defaults to the
    parameter's ``tree_base`` (else 2); a categorical without a tree moves uniformly."""
    for i in _chosen(rng, _indices(space, indices), indpb):
        p = space.parameters[i]
        if not isinstance(p, Categorical):
            raise TypeError(f"{p.name}: tree mutation needs a categorical parameter, got {p.kind}")
        if p.tree is None:
            others = [c for c in p.choices if c != ind[i]]
            ind[i] = others[int(rng.integers(len(others)))]
            continue
        law = tree_mutation_probabilities(p.tree, ind[i], p.tree_base if base is None else base)
        leaf = list(law)[int(rng.choice(len(law), p=list(law.values())))]
        ind[i] = next(c for c in p.choices if str(c) == leaf)
    return (ind,)


_MUTATION = {
    "perturb": mut_perturb,
    "gaussian": mut_gaussian,
    "polynomial": mut_polynomial,
    "uniform": mut_uniform_resample,
    "prior": mut_prior_resample,
    "tree": mut_tree_categorical,
    "flip": mut_flip,
}


def mutate_by_parameter(ind: list, space: SearchSpace, rng: np.random.Generator, *,
                        indpb: float | None = None, eta: float = 20.0) -> tuple[list]:
    """Each gene mutated with probability ``indpb`` (default 1/len) by its own
    operator (``Parameter.mutation``)."""
    indpb = 1.0 / len(space) if indpb is None else indpb
    chosen = _chosen(rng, list(range(len(space))), indpb)
    groups: dict[str, list[int]] = defaultdict(list)
    for i in chosen:
        groups[space.parameters[i].mutation].append(i)
    for name in sorted(groups):
        kwargs = {"eta": eta} if name == "polynomial" else {}
        _MUTATION[name](ind, space, rng, indices=groups[name], indpb=1.0, **kwargs)
    return (ind,)


def make_toolbox(space: SearchSpace, rng: np.random.Generator, *, eta_crossover: float = 15.0,
                 eta_mutation: float = 20.0, indpb: float | None = None) -> base.Toolbox:
    """A DEAP ``Toolbox`` with nasbench's per-parameter ``mate`` and ``mutate`` bound to
    ``space`` and ``rng``, plus the seed-003 ``mate_two_point``."""
    toolbox = base.Toolbox()
    toolbox.register("mate", crossover_by_parameter, space=space, rng=rng, eta=eta_crossover)
    toolbox.register("mate_two_point", cx_two_point, rng=rng)
    toolbox.register("mutate", mutate_by_parameter, space=space, rng=rng, indpb=indpb, eta=eta_mutation)
    return toolbox


# --- the same operators on arrays ----------------------------------------------------------
# A generation of an all-numeric genome is varied as one matrix instead of gene by gene
# through DEAP. Neither DEAP (per individual, on Python's ``random``) nor pymoo (whose
# operators take its own ``Problem``/``Population`` objects) offers SBX and polynomial
# mutation on plain arrays with an explicit numpy Generator, so they are written here,
# draw for draw the distributions of DEAP's ``cxSimulatedBinaryBounded`` and
# ``mutPolynomialBounded`` as nasbench calls them (tests/test_operators.py compares
# them with a two-sample Kolmogorov-Smirnov test).
def sbx_arrays(X1: np.ndarray, X2: np.ndarray, low: np.ndarray, up: np.ndarray, rng: np.random.Generator, *,
               eta: float = 15.0, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bounded SBX on pairs of encoded genomes (one pair per row), as DEAP's
    ``cxSimulatedBinaryBounded``: in the ``rows`` chosen (all when None) each gene
    crosses with probability 0.5 when the parents differ by more than 1e-14, the
    children are clipped to ``[low, up]`` and swapped with probability 0.5. Returns
    new arrays; the inputs are not modified."""
    X1, X2 = np.asarray(X1, dtype=float), np.asarray(X2, dtype=float)
    n, d = X1.shape
    cross = rng.random((n, d)) <= 0.5
    if rows is not None:
        cross &= np.asarray(rows, dtype=bool)[:, None]
    cross &= np.abs(X1 - X2) > 1e-14
    rand = rng.random((n, d))
    swap = rng.random((n, d)) <= 0.5
    C1, C2 = X1.copy(), X2.copy()
    if not cross.any():
        return C1, C2
    lo, hi = np.broadcast_to(low, (n, d))[cross], np.broadcast_to(up, (n, d))[cross]
    a, b = X1[cross], X2[cross]
    x1, x2, u = np.minimum(a, b), np.maximum(a, b), rand[cross]
    power = 1.0 / (eta + 1)

    def spread(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - beta ** -(eta + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.where(u <= 1.0 / alpha, u * alpha, 1.0 / (2.0 - u * alpha))
        return inner ** power

    c1 = 0.5 * (x1 + x2 - spread(1.0 + 2.0 * (x1 - lo) / (x2 - x1)) * (x2 - x1))
    c2 = 0.5 * (x1 + x2 + spread(1.0 + 2.0 * (hi - x2) / (x2 - x1)) * (x2 - x1))
    c1, c2 = np.clip(c1, lo, hi), np.clip(c2, lo, hi)
    s = swap[cross]
    C1[cross], C2[cross] = np.where(s, c2, c1), np.where(s, c1, c2)
    return C1, C2


def polynomial_arrays(X: np.ndarray, low: np.ndarray, up: np.ndarray, genes: np.ndarray,
                      rng: np.random.Generator, *, eta: float = 20.0) -> np.ndarray:
    """Bounded polynomial mutation (Deb & Goyal 1996) of the ``genes`` chosen (a boolean
    mask shaped as ``X``), as DEAP's ``mutPolynomialBounded``. Returns a new array."""
    X = np.array(X, dtype=float)
    genes = np.asarray(genes, dtype=bool)
    if not genes.any():
        return X
    n, d = X.shape
    lo, hi = np.broadcast_to(low, (n, d))[genes], np.broadcast_to(up, (n, d))[genes]
    x, u = X[genes], rng.random(int(genes.sum()))
    width = hi - lo
    power = 1.0 / (eta + 1.0)
    low_side = u < 0.5
    xy = np.where(low_side, 1.0 - (x - lo) / width, 1.0 - (hi - x) / width)
    val = np.where(low_side, 2.0 * u + (1.0 - 2.0 * u) * xy ** (eta + 1),
                   2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy ** (eta + 1))
    delta = np.where(low_side, val ** power - 1.0, 1.0 - val ** power)
    X[genes] = np.clip(x + delta * width, lo, hi)
    return X


def gaussian_arrays(X: np.ndarray, sigma: np.ndarray, genes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian mutation of the ``genes`` chosen, N(0, sigma) per gene, unclipped as in
    DEAP's ``mutGaussian`` (decoding clips to the bounds). Returns a new array."""
    X = np.array(X, dtype=float)
    genes = np.asarray(genes, dtype=bool)
    n, d = X.shape
    X[genes] += rng.normal(size=int(genes.sum())) * np.broadcast_to(sigma, (n, d))[genes]
    return X

"""The one place nasbench touches DEAP's global state.

DEAP's operators draw from Python's global :mod:`random`, and its ``creator``
registers classes in a module-global namespace. Both are contained here:
:func:`deap_random` runs DEAP calls on a private ``random.Random`` seeded from
the caller's ``numpy.random.Generator`` (never the global stream, which other
threads such as Dask's scheduler share), and :func:`individual_class` creates
the ``creator`` classes once, on first use.
"""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from deap import base, creator
from deap.tools import crossover, emo, mutation, selection

_LOCK = threading.RLock()
_DEPTH = threading.local()

#: DEAP's modules whose operators nasbench calls. Each does ``import random`` and calls
#: ``random.random()``, ``random.randint()``, ``random.choice()``, ``random.sample()``,
#: ``random.gauss()`` through that module attribute at call time (DEAP 1.4's source),
#: so rebinding the attribute moves every draw onto the private stream. (``emo.selNSGA3``
#: also uses ``numpy.random``: nasbench does not call it.)
_DEAP_MODULES = (crossover, mutation, selection, emo)


@contextmanager
def deap_random(rng: np.random.Generator) -> Iterator[None]:
    """Run DEAP's operators on a private stream seeded from ``rng`` for the block.

    Inside the block the ``random`` attribute of DEAP's operator modules is a
    ``random.Random(seed)`` with the seed drawn from ``rng`` (one draw), so the
    block is deterministic given ``rng``'s state whatever other threads do with
    the global :mod:`random`, whose state is never read or written. The lock keeps
    other threads' blocks out meanwhile. Nested blocks share the outermost one's
    stream (an optimiser wraps a whole generation once).
    """
    with _LOCK:
        depth = getattr(_DEPTH, "value", 0)
        if depth == 0:
            stream = random.Random(int(rng.integers(2**63)))
            saved = [module.random for module in _DEAP_MODULES]
            for module in _DEAP_MODULES:
                module.random = stream
        _DEPTH.value = depth + 1
        try:
            yield
        finally:
            _DEPTH.value = depth
            if depth == 0:
                for module, original in zip(_DEAP_MODULES, saved):
                    module.random = original


def fitness_class(n_objectives: int) -> type:
    """``creator.FitnessMinN``: N minimised objectives (nasbench minimises internally)."""
    name = f"FitnessMin{n_objectives}"
    with _LOCK:
        if not hasattr(creator, name):
            creator.create(name, base.Fitness, weights=(-1.0,) * n_objectives)
    return getattr(creator, name)


def individual_class(n_objectives: int) -> type:
    """``creator.IndividualN``: a list genome with an N-objective minimising fitness."""
    name = f"Individual{n_objectives}"
    fitness = fitness_class(n_objectives)
    with _LOCK:
        if not hasattr(creator, name):
            creator.create(name, list, fitness=fitness)
    return getattr(creator, name)


def make_individual(genome, values=None, *, n_objectives: int):
    """An individual holding ``genome`` and, if given, its minimised objective values."""
    ind = individual_class(n_objectives)(genome)
    if values is not None:
        ind.fitness.values = tuple(float(v) for v in values)
    return ind


def cached_individuals(records, cache: dict, *, n_objectives: int) -> tuple[list, dict]:
    """Individuals of population ``records`` (dicts with ``genome``, ``values`` and
    ``trial_id``), reusing those in ``cache`` (trial id -> individual) whose genome still
    matches: a survivor's genome and values never change, and building an individual costs
    more than varying it. Returns the individuals and the cache for the next call, which
    holds only these records'."""
    out = []
    for r in records:
        ind = cache.get(r.get("trial_id"))
        if ind is None or list(ind) != r["genome"]:
            ind = make_individual(r["genome"], r["values"], n_objectives=n_objectives)
        out.append(ind)
    return out, {r["trial_id"]: ind for r, ind in zip(records, out) if "trial_id" in r}

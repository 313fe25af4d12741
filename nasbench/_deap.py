"""The one place nasbench touches DEAP's global state.

DEAP's operators draw from Python's global :mod:`random`, and its ``creator``
registers classes in a module-global namespace. Both are contained here:
:func:`deap_random` runs DEAP calls on a stream seeded from the caller's
``numpy.random.Generator`` and restores the global state afterwards, and
:func:`individual_class` creates the ``creator`` classes once, on first use.
"""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from deap import base, creator

_LOCK = threading.RLock()
_DEPTH = threading.local()


@contextmanager
def deap_random(rng: np.random.Generator) -> Iterator[None]:
    """Seed :mod:`random` from ``rng`` for the duration of the block, then restore it.

    The block is deterministic given ``rng``'s state, advances ``rng`` by one
    draw, and leaves every other user of :mod:`random` undisturbed. Nested blocks
    share the outermost one's stream (so an optimiser can wrap a whole generation
    once instead of paying the seeding on every operator call).
    """
    with _LOCK:
        depth = getattr(_DEPTH, "value", 0)
        if depth == 0:
            saved = random.getstate()
            random.seed(int(rng.integers(2**63)))
        _DEPTH.value = depth + 1
        try:
            yield
        finally:
            _DEPTH.value = depth
            if depth == 0:
                random.setstate(saved)


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

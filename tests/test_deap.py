"""DEAP's operators run on a stream that belongs to nasbench alone (nasbench._deap)."""

from __future__ import annotations

import inspect
import random
import re
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from deap import tools

import nasbench
from nasbench._deap import _DEAP_MODULES, deap_random
from nasbench.objectives import ZDT1
from nasbench.optimizers import NSGA2, GeneticAlgorithm, Observation
from nasbench.space import preset


def zdt1_run(generations: int = 6, population: int = 10, **config) -> list[list]:
    """Every genome an NSGA2 ask/tell loop on ZDT1 suggests."""
    p = ZDT1(n_var=5)
    opt = NSGA2(p.space, 2, {"population_size": population, "crossover": "per_parameter", **config}, seed=3)
    genomes, next_id = [], 0
    for _ in range(generations):
        batch = opt.ask(population)
        opt.tell([Observation(next_id + i, s.genome, tuple(p.evaluate(np.array(s.genome))), s.generation, s.parents)
                  for i, s in enumerate(batch)])
        next_id += len(batch)
        genomes += [s.genome for s in batch]
    return genomes


class Hammer:
    """A thread that draws from (and reseeds) the global ``random`` in a tight loop,
    as Dask's scheduler thread does in the same process."""

    def __init__(self, reseed: bool = True) -> None:
        self.reseed, self.stop, self.draws = reseed, threading.Event(), []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self.stop.is_set():
            self.draws.append(random.random())
            i += 1
            if self.reseed and i % 7 == 0:
                random.seed(i)

    def __enter__(self) -> "Hammer":
        self.interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # switch threads often, so the two interleave inside every block
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        sys.setswitchinterval(self.interval)


def test_a_thread_drawing_from_global_random_does_not_change_the_suggestions():
    plain = zdt1_run(generations=20, population=20)
    with Hammer():
        hammered = zdt1_run(generations=20, population=20)
    assert len(plain) == 400
    assert hammered == plain  # before the private stream: about 360 of 400 differed


def test_drawing_from_global_random_inside_a_block_does_not_change_deaps_draws():
    """What another thread may do at any moment, done deterministically in the block."""
    def draws(meddle: bool) -> list:
        with deap_random(np.random.default_rng(4)):
            out = [tools.selRandom(list(range(100)), 5)]
            if meddle:
                random.seed(0)
                random.random()
            out.append(tools.selRandom(list(range(100)), 5))
        return out
    assert draws(True) == draws(False)


def test_seed_003_ga_is_unaffected_by_a_thread_drawing_from_global_random():
    def run():
        space = preset("mlp")
        opt = GeneticAlgorithm(space, 1, seed=4)  # two-point crossover and DEAP's selTournament
        out = []
        for gen in range(20):
            batch = opt.ask(5)
            opt.tell([Observation(5 * gen + i, s.genome, (float(s.genome[1]),)) for i, s in enumerate(batch)])
            out += [s.genome for s in batch]
        return out
    plain = run()
    with Hammer():
        assert run() == plain


def test_the_other_threads_stream_is_not_disturbed():
    """A thread that seeds ``random`` once sees exactly that seed's sequence, however
    many DEAP blocks run meanwhile (no reseeding, no rewinding by a restore)."""
    hammer = Hammer(reseed=False)
    random.seed(12345)
    with hammer:
        for _ in range(3):
            zdt1_run(generations=3)
    expected = random.Random(12345)
    assert len(hammer.draws) > 100
    assert hammer.draws == [expected.random() for _ in hammer.draws]


def test_an_ask_leaves_the_global_random_state_untouched():
    random.seed(7)
    before = random.getstate()
    zdt1_run(generations=3)
    assert random.getstate() == before
    with deap_random(np.random.default_rng(0)):
        tools.cxTwoPoint(list(range(10)), list(range(10, 20)))
        assert random.getstate() == before
    assert random.getstate() == before


def test_deap_random_is_deterministic_and_advances_the_generator_once():
    def draw(seed):
        rng = np.random.default_rng(seed)
        with deap_random(rng):
            a, b = list(range(10)), list(range(10, 20))
            tools.cxTwoPoint(a, b)
            tools.mutGaussian(a, 0.0, 1.0, 1.0)
            sel = tools.selTournament([_ind(v) for v in range(6)], 4, tournsize=2)
        return a, b, [s.fitness.values for s in sel], rng.random()
    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    rng = np.random.default_rng(1)
    rng.integers(2**63)
    assert draw(1)[3] == rng.random()  # one draw from the caller's generator


def test_deap_random_stream_equals_a_random_seeded_from_the_generator():
    """The private stream is ``random.Random(seed)``: the same numbers the earlier
    global-seeding wrapper drew, so trials tables of old seeds are unchanged."""
    seed = int(np.random.default_rng(5).integers(2**63))
    expected = random.Random(seed)
    a, b = list(range(10)), list(range(10, 20))
    with deap_random(np.random.default_rng(5)):
        tools.cxTwoPoint(a, b)
    c, d = list(range(10)), list(range(10, 20))
    p1, p2 = expected.randint(1, 10), expected.randint(1, 9)  # DEAP's cxTwoPoint, by hand
    p1, p2 = (p1, p2 + 1) if p2 >= p1 else (p2, p1)
    c[p1:p2], d[p1:p2] = d[p1:p2], c[p1:p2]
    assert (a, b) == (c, d)


def test_nested_blocks_share_the_outer_stream():
    def nested(rng):
        with deap_random(rng):
            x = [tools.selRandom(list(range(100)), 3)]
            with deap_random(rng):  # no reseed: continues the outer stream
                x.append(tools.selRandom(list(range(100)), 3))
            x.append(tools.selRandom(list(range(100)), 3))
        return x, rng.random()
    def flat(rng):
        with deap_random(rng):
            x = [tools.selRandom(list(range(100)), 3) for _ in range(3)]
        return x, rng.random()
    assert nested(np.random.default_rng(9)) == flat(np.random.default_rng(9))
    before = random.getstate()
    nested(np.random.default_rng(9))
    assert random.getstate() == before


def test_deap_random_restores_deaps_modules_after_an_error():
    from deap.tools import crossover, emo, mutation, selection
    with pytest.raises(RuntimeError, match="boom"):
        with deap_random(np.random.default_rng(0)):
            raise RuntimeError("boom")
    assert crossover.random is mutation.random is selection.random is emo.random is random


def _ind(v: float):
    from nasbench._deap import make_individual
    return make_individual([v], (float(v),), n_objectives=1)


NASBENCH = Path(nasbench.__file__).parent


def test_every_deap_operator_nasbench_calls_draws_through_a_contained_module():
    """deap_random rebinds ``random`` in the modules of _DEAP_MODULES only: a DEAP
    function from any other module would draw from the global stream again."""
    called = set()
    for path in [*NASBENCH.glob("*.py"), *NASBENCH.glob("optimizers/*.py")]:
        called |= set(re.findall(r"\btools\.(\w+)\(", path.read_text()))
    assert {"cxSimulatedBinaryBounded", "cxTwoPoint", "selTournament"} <= called
    contained = {m.__name__ for m in _DEAP_MODULES}
    for name in sorted(called):
        function = getattr(tools, name)
        assert function.__module__ in contained, name
        assert "numpy.random" not in inspect.getsource(function), name


def test_nasbenchs_own_variation_and_optimisers_never_use_the_global_streams():
    paths = [NASBENCH / "operators.py", NASBENCH / "selection.py", *NASBENCH.glob("optimizers/*.py")]
    for path in paths:
        text = path.read_text()
        assert not re.search(r"^\s*(import random|from random import)", text, re.M), path.name
        assert not re.search(r"np\.random\.(?!Generator\b|default_rng\b|SeedSequence\b)\w+\(", text), path.name

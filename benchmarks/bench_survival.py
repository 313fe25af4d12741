"""Benchmark NSGA-II survival: DEAP's selNSGA2 vs nasbench's sel_nsga2 / nsga2_survivors.

Run from the repository root:

    python benchmarks/bench_survival.py            # k = n/2 of n = 10,000
    python benchmarks/bench_survival.py --quick    # n = 500, a smoke test
    python benchmarks/bench_survival.py --out benchmarks/results/survival.md

Each case keeps k = n/2 of n minimised points (fixed seed):

* ``uniform``: n points uniform in [0, 1]^m (few, large fronts).
* ``layered``: a noisy linear front: points uniform on the simplex
  sum(f) = 1 (Dirichlet(1, ..., 1)) plus U(0, 0.1) noise per objective, a
  population near convergence (tens of fronts).
* ``chain``: noisy correlated objectives, f_j = t + U(0, 0.05) with
  t ~ U(0, 1): thousands of small fronts, the worst case for front peeling.

The number of fronts is counted in the table.

Timed, best of ``--repeats`` (DEAP fewer when one call is slow):

* ``deap.tools.selNSGA2(inds, k, nd="log")`` on DEAP individuals,
* ``nasbench.selection.sel_nsga2(inds, k)`` on the same individuals
  (includes building the objective matrix from ``ind.fitness.values``),
* ``nasbench.selection.nsga2_survivors(F, k)`` on the (n, m) array,
* pymoo's ``RankAndCrowding`` survival on a prebuilt ``Population`` (its
  last-front ties are broken at random, so its set may differ on ties).

The survivors are compared with DEAP's as sets of individuals (by identity /
index); "same" is reported per implementation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, environment, markdown_table, write_report  # noqa: E402

from nasbench._deap import make_individual  # noqa: E402
from nasbench.selection import crowding_distance, nsga2_survivors, pareto_ranks, sel_nsga2  # noqa: E402

SEED = 20240531


def make_points(kind: str, n: int, m: int, seed: int = SEED) -> np.ndarray:
    """The ``uniform``, ``layered`` or ``chain`` point set described in the module docstring."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.random((n, m))
    if kind == "layered":
        return rng.dirichlet(np.ones(m), size=n) + rng.uniform(0.0, 0.1, size=(n, m))
    if kind == "chain":
        return rng.random((n, 1)) + rng.uniform(0.0, 0.05, size=(n, m))
    raise ValueError(f"kind must be 'uniform', 'layered' or 'chain', got {kind!r}")


def pymoo_survival(F: np.ndarray, k: int):
    """A callable running pymoo's RankAndCrowding on a prebuilt population; returns indices."""
    from pymoo.core.population import Population
    from pymoo.core.problem import Problem
    from pymoo.operators.survival.rank_and_crowding import RankAndCrowding

    problem = Problem(n_var=1, n_obj=F.shape[1])
    pop = Population.new("F", F, "index", np.arange(len(F)))
    survival = RankAndCrowding()

    def run() -> np.ndarray:
        rng = np.random.default_rng(SEED)
        return survival.do(problem, pop, n_survive=k, random_state=rng).get("index").astype(int)

    return run


def run_case(kind: str, m: int, n: int, repeats: int, deap_budget: float) -> dict[str, Any]:
    """Time the implementations on one point set and compare their survivors with DEAP's."""
    from deap import tools

    F = make_points(kind, n, m)
    k = n // 2
    inds = [make_individual([i], row, n_objectives=m) for i, row in enumerate(F.tolist())]
    position = {id(ind): i for i, ind in enumerate(inds)}
    candidates = {
        "DEAP": lambda: [position[id(x)] for x in tools.selNSGA2(inds, k, nd="log")],
        "sel_nsga2": lambda: [position[id(x)] for x in sel_nsga2(inds, k)],
        "nsga2_survivors": lambda: nsga2_survivors(F, k),
        "pymoo": pymoo_survival(F, k),
    }
    times, same = {}, {}
    for name, fn in candidates.items():
        budget = deap_budget if name == "DEAP" else float("inf")
        times[name], chosen, _ = best_of(fn, repeats, budget)
        same[name] = set(int(i) for i in chosen)
        assert len(same[name]) == k, f"{name} returned {len(same[name])} distinct survivors, expected {k}"
    expected = same["DEAP"]
    agree = {name: len(s & expected) for name, s in same.items()}
    ties = {name: only_ties(F, s ^ expected) for name, s in same.items()}
    n_fronts = int(pareto_ranks(F).max()) + 1
    return dict(kind=kind, m=m, n=n, k=k, fronts=n_fronts, times=times, agree=agree, ties=ties)


def only_ties(F: np.ndarray, differ: set[int]) -> bool:
    """Whether the individuals chosen by one implementation and not the other all lie in
    the same front with equal crowding distance (a tie either choice breaks validly)."""
    if not differ:
        return True
    ranks = pareto_ranks(F)
    idx = np.array(sorted(differ))
    if len(set(ranks[idx])) != 1:
        return False
    front = np.flatnonzero(ranks == ranks[idx[0]])
    crowd = dict(zip(front.tolist(), crowding_distance(F[front]).tolist()))
    return len({crowd[i] for i in idx.tolist()}) == 1


def format_rows(rows: list[dict[str, Any]]) -> str:
    names = ["DEAP", "sel_nsga2", "nsga2_survivors", "pymoo"]
    head = ["points", "m", "n", "k", "fronts"] + [f"{x} (ms)" for x in names]
    head += ["DEAP/sel_nsga2", "DEAP/nsga2_survivors", "pymoo/nsga2_survivors"]
    head += ["same set as DEAP: sel_nsga2", "nsga2_survivors", "pymoo"]
    body = []
    for r in rows:
        t, a = r["times"], r["agree"]
        cells = [r["kind"], r["m"], f"{r['n']:,}", f"{r['k']:,}", r["fronts"]]
        cells += [f"{t[x] * 1e3:.2f}" for x in names]
        cells += [f"{t['DEAP'] / t['sel_nsga2']:.1f}x", f"{t['DEAP'] / t['nsga2_survivors']:.1f}x",
                  f"{t['pymoo'] / t['nsga2_survivors']:.1f}x"]
        cells += ["yes" if a[x] == r["k"] else
                  f"no ({r['k'] - a[x]} differ{', crowding ties' if r['ties'][x] else ', NOT ties'})"
                  for x in ("sel_nsga2", "nsga2_survivors", "pymoo")]
        body.append(cells)
    return markdown_table(head, body)


def run(n: int, repeats: int, deap_budget: float) -> str:
    rows = []
    for kind in ("uniform", "layered", "chain"):
        for m in (2, 3):
            row = run_case(kind, m, n, repeats, deap_budget)
            print(f"{kind} m={m} n={n}: {row['times']}", file=sys.stderr, flush=True)
            rows.append(row)
    return "\n\n".join([
        f"Environment: {environment('deap', 'moocore', 'pymoo')}",
        f"### NSGA-II survival, k = n/2 (best of {repeats} wall times; DEAP stops repeating after "
        f"{deap_budget:g} s)",
        format_rows(rows),
        "Goal: DEAP/nasbench >= 25x. 'same set' compares the chosen individuals with DEAP's "
        "`selNSGA2(nd=\"log\")` by identity; 'crowding ties' means the ones that differ all have "
        "the same rank and crowding distance (usually several infinite, boundary, distances in the "
        "last front), so either choice is valid: nasbench keeps input order, DEAP's log sort keeps "
        "its fronts' lexicographic order, pymoo breaks ties at random.",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 500 (smoke test)")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--n", type=int, default=10_000, help="number of individuals (k = n/2)")
    parser.add_argument("--repeats", type=int, default=7, help="best of this many calls")
    parser.add_argument("--deap-budget", type=float, default=20.0,
                        help="stop repeating DEAP once this many seconds are spent")
    args = parser.parse_args(argv)
    n, repeats = (500, 3) if args.quick else (args.n, args.repeats)
    write_report(run(n, repeats, args.deap_budget), args.out)


if __name__ == "__main__":
    main()

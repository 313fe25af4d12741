"""Benchmark exact hypervolume: nasbench vs moocore vs DEAP vs pymoo, side by side.

Run from the repository root:

    python benchmarks/bench_hypervolume.py            # n = 1k, 10k, 100k
    python benchmarks/bench_hypervolume.py --quick    # tiny sizes, a smoke test
    python benchmarks/bench_hypervolume.py --out results/hv.md

Each (case, library) runs in a forked child, best of k ``time.perf_counter``
wall times; a library whose single call exceeds ``--timeout`` seconds is
reported as "skipped". All implementations must agree (asserted) before a
row is written. Point sets (fixed seed, reference point 1.1 per objective):

* ``front``: half mutually nondominated points uniform on the positive
  orthant of the unit sphere (``moocore.generate_ndset(..., "sphere")``),
  half dominated copies of them shifted by U(0, 0.05) per objective, shuffled;
  a population mid-run.
* ``cloud``: n points uniform in [0, 1]^2, mostly dominated (2-D only).

DEAP 1.4.4 and pymoo 0.6.2 both call ``moocore.hypervolume`` internally: DEAP
after building an array from ``ind.fitness.wvalues`` (timed here, as it is part
of every call), pymoo after its ``Indicator`` checks and normalisation hook.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import moocore
import numpy as np

try:
    from nasbench import hypervolume as nb
except ImportError:  # run as a script from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from nasbench import hypervolume as nb

SEED = 20240531
REF = 1.1


def make_points(kind: str, n: int, m: int, seed: int = SEED) -> np.ndarray:
    """The ``front`` or ``cloud`` point set described in the module docstring."""
    rng = np.random.default_rng(seed)
    if kind == "cloud":
        return rng.random((n, m))
    front = moocore.generate_ndset(n - n // 2, m, "sphere", seed=rng)
    worse = front[rng.integers(len(front), size=n // 2)]
    worse = worse + rng.uniform(0.0, 0.05, size=worse.shape)
    return rng.permutation(np.concatenate((front, worse)))


def deap_population(points: np.ndarray) -> list:
    """DEAP individuals with minimised fitness ``points``; creator classes made once."""
    from deap import base, creator

    m = points.shape[1]
    fitness_name, individual_name = f"BenchFitnessMin{m}", f"BenchIndividual{m}"
    if not hasattr(creator, fitness_name):  # the one guarded creator.create
        creator.create(fitness_name, base.Fitness, weights=(-1.0,) * m)
        creator.create(individual_name, list, fitness=getattr(creator, fitness_name))
    individual = getattr(creator, individual_name)
    population = []
    for row in points.tolist():
        ind = individual()
        ind.fitness.values = tuple(row)
        population.append(ind)
    return population


def hv_libraries(points: np.ndarray) -> dict[str, Callable[[], Any]]:
    """Exact-hypervolume callables on the same points, keyed by library."""
    from deap.benchmarks.tools import hypervolume as deap_hypervolume
    from pymoo.indicators.hv import HV

    ref = np.full(points.shape[1], REF)
    population = deap_population(points)
    return {
        "nasbench": lambda: nb.hypervolume(points, ref),
        "moocore": lambda: moocore.hypervolume(points, ref=ref),
        "DEAP": lambda: deap_hypervolume(population, ref),
        "pymoo": lambda: HV(ref_point=ref)(points),
    }


def hvc_libraries(points: np.ndarray) -> dict[str, Callable[[], Any]]:
    """Exclusive-contribution callables; moocore twice, with both dominated-point rules."""
    ref = np.full(points.shape[1], REF)
    return {
        "nasbench": lambda: nb.hypervolume_contributions(points, ref),
        "moocore": lambda: moocore.hv_contributions(points, ref=ref, ignore_dominated=False),
        "moocore default": lambda: moocore.hv_contributions(points, ref=ref),
    }


def _child(fn: Callable[[], Any], repeats: int, budget: float, conn: Any) -> None:
    """Time ``fn`` up to ``repeats`` times; stop early rather than exceed ``budget``."""
    times: list[float] = []
    while len(times) < repeats and sum(times) + (times[-1] if times else 0) < budget:
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        conn.send(("partial", None, None))
    conn.send(("done", times, result))
    conn.close()


def best_time(fn: Callable[[], Any], repeats: int, timeout: float) -> tuple[float | None, Any]:
    """Best wall time of ``fn`` in a forked child, or (None, None) if one call exceeds ``timeout``."""
    parent, child = mp.get_context("fork").Pipe(duplex=False)
    proc = mp.get_context("fork").Process(target=_child, args=(fn, repeats, timeout, child))
    proc.start()
    child.close()
    if not parent.poll(timeout):
        proc.kill()
        proc.join()
        return None, None
    message = parent.recv()
    while message[0] == "partial":
        message = parent.recv()  # each further call was started within budget
    proc.join()
    _, times, result = message
    return min(times), result


def repeats_for(n: int) -> int:
    """Best-of-k: more repeats for small, noisy sizes."""
    return 7 if n <= 1_000 else 5 if n <= 10_000 else 3


def run_case(libraries: dict[str, Callable[[], Any]], n: int, timeout: float) -> dict[str, float | None]:
    """Time every library on one case and assert they agree with moocore."""
    times, results = {}, {}
    for name, fn in libraries.items():
        times[name], results[name] = best_time(fn, repeats_for(n), timeout)
    expected = results["moocore"]
    for name, value in results.items():
        if value is None or expected is None or name == "moocore default":
            continue  # skipped, or a different definition with dominated points
        np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-13, err_msg=name)
    return times


def format_table(rows: list[dict[str, Any]], names: list[str]) -> str:
    """Markdown table: times in ms and each library's ratio to moocore."""
    ratio_names = [x for x in names if x != "moocore"]
    head = ["case", "m", "points", "n"] + [f"{x} (ms)" for x in names]
    head += [f"{x}/moocore" for x in ratio_names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        t = row["times"]
        cells = [row["case"], str(row["m"]), row["kind"], f"{row['n']:,}"]
        skipped = f"skipped (>{row['timeout']:g} s)"
        cells += [skipped if t[x] is None else f"{t[x] * 1e3:.3f}" for x in names]
        base = t["moocore"]
        cells += ["n/a" if t[x] is None or base is None else f"{t[x] / base:.2f}" for x in ratio_names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environment() -> str:
    """One line naming the machine, the nasbench commit and library versions, for the record
    (``_common.environment``, shared with the other scripts)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import environment as common_environment

    return common_environment("deap", "moocore", "pymoo")


def run(sizes: list[int], hvc_size: int, timeout: float) -> str:
    """Run all cases and return the markdown report."""
    hv_rows, hvc_rows = [], []
    hv_cases = [(2, "front"), (2, "cloud"), (3, "front")]
    for (m, kind), n in [(case, n) for case in hv_cases for n in sizes]:
        points = make_points(kind, n, m)
        times = run_case(hv_libraries(points), n, timeout)
        hv_rows.append(dict(case="HV", m=m, kind=kind, n=n, times=times, timeout=timeout))
        print(f"HV m={m} {kind} n={n}: {times}", file=sys.stderr)
    for kind in ("front", "cloud"):
        points = make_points(kind, hvc_size, 2)
        times = run_case(hvc_libraries(points), hvc_size, timeout)
        hvc_rows.append(dict(case="HVC", m=2, kind=kind, n=hvc_size, times=times, timeout=timeout))
    return "\n\n".join([
        f"Environment: {environment()}",
        "### Exact hypervolume (best-of-k wall time)",
        format_table(hv_rows, ["nasbench", "moocore", "DEAP", "pymoo"]),
        "### Exclusive contributions, 2-D (moocore = `ignore_dominated=False`, "
        "the same definition as nasbench; 'moocore default' ignores dominated points)",
        format_table(hvc_rows, ["nasbench", "moocore", "moocore default"]),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per single call")
    args = parser.parse_args(argv)
    sizes, hvc_size = ([100, 1_000], 1_000) if args.quick else ([1_000, 10_000, 100_000], 10_000)
    report = run(sizes, hvc_size, args.timeout)
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
